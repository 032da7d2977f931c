"""The monthly report as data: JSON and CSV, machine values for machines and spreadsheets.

- :func:`to_json`: every figure, machine values (rates as fractions 0..1, delays in
  seconds, UTC ISO 8601 times), under ``"format": "entraide-monthly-report/1"``.
- :func:`to_csv`: one row per figure, columns ``section,indicateur,valeur`` (RFC 4180:
  comma, CRLF, UTF-8 without BOM); for a spreadsheet, rates are in percent and delays in
  minutes (the unit is in the name), decimals with a point.

The French HTML page and the email are the web side's
(:mod:`entraide.web.report_page`); putting the files on S3 is :mod:`.delivery`'s.
Nothing here reads personal data: the report is built from
:class:`~entraide.reporting.figures.MonthData`, which holds none.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import date, datetime
from typing import Any, Final

from entraide.kernel.times import iso
from entraide.reporting.figures import MonthlyReport

FORMAT: Final = "entraide-monthly-report/1"
CSV_HEADER: Final = ("section", "indicateur", "valeur")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def to_dict(report: MonthlyReport) -> dict[str, Any]:
    """The report as JSON-ready data."""
    return {"format": FORMAT, **_plain(dataclasses.asdict(report))}


def to_json(report: MonthlyReport) -> str:
    return json.dumps(to_dict(report), ensure_ascii=False, indent=2) + "\n"


def _csv_number(value: float | None, digits: int = 2) -> str:
    if value is None:
        return ""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _percent(rate: float | None) -> str:
    return _csv_number(rate * 100 if rate is not None else None, 2)


def _minutes(seconds: float | None) -> str:
    return _csv_number(seconds / 60 if seconds is not None else None, 1)


def _iso(moment: datetime | date | None) -> str:
    return "" if moment is None else str(_plain(moment))


CHANNEL_LABELS = {"x": "X", "bluesky": "Bluesky", "mastodon": "Mastodon", "total": "Total"}


def csv_rows(report: MonthlyReport) -> list[tuple[str, str, str]]:
    """``(section, indicateur, valeur)`` for every figure of the report."""
    rows: list[tuple[str, str, str]] = []

    def add(section: str, name: str, value: object) -> None:
        rows.append((section, name, "" if value is None else str(value)))

    section = "Rapport"
    add(section, "Mois", report.month)
    add(section, "Début de la période (UTC)", _iso(report.period_start))
    add(section, "Fin de la période (UTC, exclue)", _iso(report.period_end))
    add(section, "Généré le (UTC)", _iso(report.generated_at))
    add(section, "Mois sans activité", "oui" if report.empty else "non")

    posts = report.posts
    add("Annonces", "Annonces déposées", posts.total)
    for title, figures in (
        ("Annonces par type", posts.by_kind),
        ("Annonces par catégorie", posts.by_category),
        ("Annonces par département", posts.by_departement),
        ("Annonces par statut", posts.by_status),
    ):
        for figure in figures:
            add(title, figure.label, figure.count)

    moderation = report.moderation
    section = "Modération"
    add(section, "Décisions", moderation.decided)
    add(section, "Annonces approuvées", moderation.approved)
    add(section, "Annonces refusées", moderation.rejected)
    add(section, "Taux d'approbation (%)", _percent(moderation.approval_rate))
    add(section, "Délai de modération médian (min)", _minutes(moderation.delay_median_seconds))
    add(section, "Délai de modération, 90e centile (min)", _minutes(moderation.delay_p90_seconds))
    add(
        section,
        "Décisions sur des annonces des mois précédents",
        moderation.decided_from_earlier_months,
    )

    add("Mises en relation", "Mises en relation", report.matches.count)
    add(
        "Mises en relation",
        "Distance médiane (km)",
        _csv_number(report.matches.median_distance_km, 1),
    )

    add("Activations", "Activations du mois", len(report.activations))
    for activation in report.activations:
        name = activation.hashtag or activation.activation_id
        add("Activations", f"{name} : aléa", activation.hazard_label)
        add("Activations", f"{name} : niveau", activation.level)
        add("Activations", f"{name} : départements", " ".join(activation.departements))
        add("Activations", f"{name} : ouverture (UTC)", _iso(activation.opened_at))
        add("Activations", f"{name} : fermeture (UTC)", _iso(activation.closed_at))
        add("Activations", f"{name} : jours actifs dans le mois", activation.days_active)
        add("Activations", f"{name} : annonces du mois", activation.posts)
        add("Activations", f"{name} : tweets du mois", activation.tweets)

    tweets = report.tweets
    section = "Tweets"
    add(section, "Tweets publiés", tweets.total)
    add(section, "Tweets individuels", tweets.individual)
    add(section, "Tweets récapitulatifs", tweets.digests)
    add(section, "Annonces d'activation", tweets.activation_announcements)
    add(section, "Annonces relayées", tweets.posts_announced)
    add(section, "Tweets mesurés", tweets.measured)
    add(section, "J'aime", tweets.likes)
    add(section, "Retweets", tweets.retweets)
    add(section, "Réponses", tweets.replies)
    add(section, "Citations", tweets.quotes)
    add(section, "Interactions", tweets.interactions)
    add(section, "Impressions", tweets.impressions)
    add(section, "Taux d'engagement (%)", _csv_number(_pct(tweets.engagement_rate), 3))
    add(section, "Base du taux d'engagement", _basis_name(tweets.engagement_basis))
    add(section, "Date des métriques", _iso(tweets.metrics_day))

    followers = report.followers
    section = "Abonnés"
    add(section, "Abonnés en début de mois", followers.start)
    add(section, "Date du relevé de début", _iso(followers.start_day))
    add(section, "Abonnés en fin de mois", followers.end)
    add(section, "Date du relevé de fin", _iso(followers.end_day))
    add(section, "Croissance", followers.growth)
    add(section, "Croissance (%)", _percent(followers.growth_rate))
    for rank, user in enumerate(followers.top, start=1):
        add("Abonnés les plus influents", f"{rank}. @{user.username}", user.followers_count)

    for channel in report.channels:
        section = f"Canal {CHANNEL_LABELS.get(channel.channel, channel.channel)}"
        add(section, "Messages", channel.messages)
        add(section, "Annonces relayées", channel.posts_announced)
        add(section, "Messages mesurés", channel.measured)
        add(section, "Interactions", channel.interactions)
        if channel.followers is not None:
            add(section, "Abonnés en fin de mois", channel.followers.end)
            add(section, "Croissance", channel.followers.growth)
            add(section, "Taux d'engagement (%)", _csv_number(_pct(channel.engagement_rate), 3))
            if channel.channel != "x":  # X's are in "Abonnés les plus influents"
                for rank, user in enumerate(channel.followers.top, start=1):
                    add(
                        f"{section} : abonnés les plus influents",
                        f"{rank}. @{user.username}",
                        user.followers_count,
                    )
    if report.x_spend is not None:
        spend = report.x_spend
        section = "Dépenses X (dollars)"
        add(section, "Total du mois", _csv_number(spend.total, 3))
        for kind, amount in spend.by_kind:
            add(section, kind, _csv_number(amount, 3))
        add(section, "Par annonce relayée", _csv_number(spend.per_announced_post, 4))
        add(section, "Budget mensuel", _csv_number(spend.budget, 2))
        add(section, "Part du budget (%)", _csv_number(_pct(spend.share_of_budget), 1))
    if report.editorial is not None:
        editorial = report.editorial
        section = "Calendrier éditorial"
        add(section, "Éléments du mois", editorial.items)
        add(section, "Du calendrier", editorial.from_calendar)
        add(section, "Articles du blog", editorial.from_blog)
        add(section, "Remis à tous leurs canaux", editorial.handed)
        add(section, "Moment passé (non publiés)", editorial.missed)
        add(section, "Encore prévus", editorial.planned)
        add(section, "Annulés", editorial.cancelled)
        add(section, "Retenus pendant une activation", editorial.held)
        for name, count in editorial.published:
            add(section, f"Publiés sur {name}", count)
        for label, engagement in (
            ("éditoriaux", editorial.editorial_engagement),
            ("de crise", editorial.crisis_engagement),
        ):
            add(section, f"Messages {label} sur X", engagement.messages)
            add(section, f"Interactions des messages {label} sur X", engagement.interactions)
            add(
                section,
                f"Taux d'engagement des messages {label} sur X (%)",
                _csv_number(_pct(engagement.engagement_rate), 3),
            )
    if report.watch is not None:
        section = "Veille relayée"
        for name, count in report.watch.per_channel:
            add(section, f"Relayés sur {CHANNEL_LABELS.get(name, name)}", count)
        add(section, "Dépense X (dollars)", _csv_number(report.watch.x_spend, 3))
        add(section, "Abonnés des auteurs relayés", report.watch.authors_reach)
        for relayed in report.watch.relayed:
            name = f"{_iso(relayed.at)} {CHANNEL_LABELS.get(relayed.channel, relayed.channel)}"
            add(section, name, relayed.link or relayed.target)
            add(section, f"{name} : auteur", relayed.author)
            add(section, f"{name} : abonnés de l'auteur", relayed.author_followers)

    for hashtag in report.hashtags:
        add("Hashtags les plus utilisés", hashtag.tag, hashtag.count)
    for day in report.posts_per_day:
        add("Annonces par jour", day.day.isoformat(), day.count)
    for week in report.tweets_per_week:
        span = f"{week.week} ({week.first_day.isoformat()} – {week.last_day.isoformat()})"
        add("Tweets par semaine", span, week.tweets)
        add("Interactions par semaine", span, week.interactions)
        add(
            "Taux d'engagement par semaine (%)",
            span,
            _csv_number(_pct(week.engagement_rate), 3),
        )
    for number, note in enumerate(report.notes, start=1):
        add("Notes", f"Note {number}", note)
    return rows


def _pct(rate: float | None) -> float | None:
    return rate * 100 if rate is not None else None


def _basis_name(basis: str | None) -> str:
    return {"impressions": "impressions", "followers": "abonnés"}.get(basis or "", "")


def to_csv(report: MonthlyReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180: comma, double quotes, CRLF
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_rows(report))
    return buffer.getvalue()
