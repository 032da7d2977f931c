"""The monthly report written out: JSON, CSV and a French HTML page, on S3, and its email.

- :func:`to_json`: every figure, machine values (rates as fractions 0..1, delays in
  seconds, UTC ISO 8601 times), under ``"format": "entraide-monthly-report/1"``.
- :func:`to_csv`: one row per figure, columns ``section,indicateur,valeur`` (RFC 4180:
  comma, CRLF, UTF-8 without BOM); for a spreadsheet, rates are in percent and delays in
  minutes (the unit is in the name), decimals with a point.
- :func:`to_html`: a standalone French page (Jinja2, autoescape on): inline CSS, two
  charts as inline SVG (:mod:`entraide.charts`), no script, no external resource (its
  Content-Security-Policy forbids any).
- :func:`publish` puts the three under ``reports/YYYY-MM/`` (the same keys on every run:
  a re-run replaces them), encrypted (SSE-S3, AES256), :func:`presigned_link` makes the
  link that :func:`report_email` sends.

Nothing here reads personal data: the report is built from :class:`~entraide.kpi.MonthData`
which holds none.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import urlsplit

from entraide.adapters.mail import EmailMessage
from entraide.kernel.times import MONTHS_FR
from entraide.kpi import MonthlyReport, month_bounds

if TYPE_CHECKING:
    import jinja2

__all__ = [
    "CONTENT_TYPES",
    "FORMAT",
    "LINK_DAYS",
    "TAG_MONTHLY_REPORT",
    "Delivery",
    "Sender",
    "deliver",
    "presigned_link",
    "publish",
    "render_all",
    "report_email",
    "report_keys",
    "summary_lines",
    "to_csv",
    "to_dict",
    "to_html",
    "to_json",
    "write_files",
]

FORMAT: Final = "entraide-monthly-report/1"
#: SigV4 presigned URLs live 7 days at most.
LINK_DAYS: Final = 7
TAG_MONTHLY_REPORT: Final = "monthly-report"
CONTENT_TYPES: Final = {
    "json": "application/json; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}
CSV_HEADER: Final = ("section", "indicateur", "valeur")
_NBSP = "\u00a0"
_DASH = "—"
ANNOUNCEMENT = "annonce d'activation"
ANNOUNCEMENTS = "annonces d'activation"


# --- formats -----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
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


# --- French formatting -------------------------------------------------------------------


def fr_number(value: float | None, digits: int = 0) -> str:
    """``1 234`` or ``12,5`` (non-breaking spaces); ``—`` for nothing."""
    if value is None:
        return _DASH
    return f"{value:,.{digits}f}".replace(",", _NBSP).replace(".", ",")


def fr_percent(rate: float | None, digits: int = 1) -> str:
    """``0.756`` -> ``75,6 %``."""
    if rate is None:
        return _DASH
    return f"{fr_number(rate * 100, digits)}{_NBSP}%"


def fr_signed(value: int | None) -> str:
    if value is None:
        return _DASH
    return f"+{fr_number(value)}" if value > 0 else fr_number(value).replace("-", "−")


def fr_signed_percent(rate: float | None) -> str:
    if rate is None:
        return _DASH
    text = fr_percent(abs(rate))
    return f"+{text}" if rate > 0 else (f"−{text}" if rate < 0 else text)


def fr_duration(seconds: float | None) -> str:
    """``45 min``, ``2 h 05``, ``3 j 4 h``; under a minute, ``moins d'une minute``."""
    if seconds is None:
        return _DASH
    minutes = round(seconds / 60)
    if minutes < 1:
        return "moins d'une minute"
    if minutes < 60:
        return f"{minutes}{_NBSP}min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}{_NBSP}h{_NBSP}{minutes:02d}"
    days, hours = divmod(hours, 24)
    return f"{days}{_NBSP}j{_NBSP}{hours}{_NBSP}h"


def fr_date(day: date | datetime | None) -> str:
    if day is None:
        return _DASH
    if isinstance(day, datetime):
        from entraide.kernel.times import format_date_fr

        return format_date_fr(day)
    prefix = "1er" if day.day == 1 else str(day.day)
    return f"{prefix} {MONTHS_FR[day.month - 1]} {day.year}"


def fr_datetime(moment: datetime | None) -> str:
    if moment is None:
        return _DASH
    from entraide.kernel.times import format_datetime_fr

    return format_datetime_fr(moment)


MONTHS_FR_SHORT: Final = (
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
)


def _short_day(day: date) -> str:
    """``4 oct.``"""
    return f"{day.day}{_NBSP}{MONTHS_FR_SHORT[day.month - 1]}"


def _departement(code: str) -> str:
    from entraide.kernel.departements import departement_name

    try:
        return f"{departement_name(code)} ({code})"
    except ValueError:
        return code


def _plural(count: int | None, singular: str, plural: str | None = None) -> str:
    word = singular if (count or 0) <= 1 else (plural or singular + "s")
    return f"{fr_number(count)} {word}"


def of_month(report: MonthlyReport) -> str:
    """``d'octobre 2026``, ``de novembre 2026``: French elides "de" before a vowel."""
    label = report.label
    return f"d'{label}" if label[:1] in "aeiouyéèâ" else f"de {label}"


def engagement_basis_label(report: MonthlyReport) -> str:
    basis = report.tweets.engagement_basis
    if basis == "impressions":
        return "interactions ÷ impressions"
    if basis == "followers":
        return "interactions ÷ (tweets mesurés × abonnés), faute d'impressions"
    return "non calculable"


def summary_lines(report: MonthlyReport) -> list[tuple[str, str]]:
    """The key figures, ``(label, value)`` in French: the email's body, the page's top."""
    posts, moderation, tweets, followers = (
        report.posts,
        report.moderation,
        report.tweets,
        report.followers,
    )
    kinds = {figure.key: figure.count for figure in posts.by_kind}
    return [
        (
            "Annonces déposées",
            f"{fr_number(posts.total)} ({_plural(kinds.get('need', 0), 'besoin')}, "
            f"{_plural(kinds.get('offer', 0), 'offre')})",
        ),
        (
            "Décisions de modération",
            f"{fr_number(moderation.decided)}, taux d'approbation "
            f"{fr_percent(moderation.approval_rate)}",
        ),
        (
            "Délai de modération",
            f"médiane {fr_duration(moderation.delay_median_seconds)}, "
            f"90e centile {fr_duration(moderation.delay_p90_seconds)}",
        ),
        ("Mises en relation", fr_number(report.matches.count)),
        (
            "Activations",
            fr_number(len(report.activations))
            + (
                " (" + ", ".join(a.hashtag or a.activation_id for a in report.activations) + ")"
                if report.activations
                else ""
            ),
        ),
        (
            "Tweets publiés",
            f"{fr_number(tweets.total)} ({_plural(tweets.individual, 'individuel')}, "
            f"{_plural(tweets.digests, 'récapitulatif')}, "
            f"{_plural(tweets.activation_announcements, ANNOUNCEMENT, ANNOUNCEMENTS)})",
        ),
        (
            "Engagement",
            f"{fr_percent(tweets.engagement_rate, 2)} ({engagement_basis_label(report)})",
        ),
        (
            "Abonnés",
            f"{fr_number(followers.end)} en fin de mois ({fr_signed(followers.growth)}, "
            f"{fr_signed_percent(followers.growth_rate)})",
        ),
    ]


# --- HTML --------------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    """The report page and email share the pages' environment (see entraide.templating)."""
    from entraide.web.pages import _environment as pages_environment

    return pages_environment()


def _charts(report: MonthlyReport) -> dict[str, Any]:
    from markupsafe import Markup

    from entraide.web.charts import Bar, bar_chart, bars_and_line_chart

    per_day = bar_chart(
        [
            Bar(
                label=str(point.day.day),
                value=point.count,
                tooltip=f"{fr_date(point.day)} : {_plural(point.count, 'annonce')}",
            )
            for point in report.posts_per_day
        ],
        chart_id="chart-posts",
        title=f"Annonces déposées par jour, {report.label}",
        description=(
            f"{fr_number(report.posts.total)} annonces sur le mois ; "
            f"le jour le plus chargé en compte "
            f"{fr_number(max((p.count for p in report.posts_per_day), default=0))}."
        ),
        axis_label="Jour du mois (UTC)",
        empty_text="Aucune annonce ce mois-ci",
    )
    weeks = report.tweets_per_week
    per_week = bars_and_line_chart(
        [
            Bar(
                label=f"{_short_day(week.first_day)}–{_short_day(week.last_day)}",
                value=week.tweets,
                tooltip=(
                    f"Semaine {week.week} ({fr_date(week.first_day)} – {fr_date(week.last_day)})"
                    f" : {_plural(week.tweets, 'tweet')}, "
                    f"{_plural(week.interactions, 'interaction')}"
                ),
            )
            for week in weeks
        ],
        [week.engagement_rate for week in weeks],
        chart_id="chart-tweets",
        title=f"Tweets et taux d'engagement par semaine, {report.label}",
        description=(
            f"{fr_number(report.tweets.total)} tweets sur le mois ; taux d'engagement "
            f"{fr_percent(report.tweets.engagement_rate, 2)} ({engagement_basis_label(report)})."
        ),
        bar_legend="Tweets publiés",
        line_legend="Taux d'engagement",
        line_format=lambda rate: fr_percent(rate, 2),
        empty_text="Aucun tweet ce mois-ci",
    )
    return {"posts_per_day": Markup(per_day), "tweets_per_week": Markup(per_week)}  # noqa: S704


def _context(report: MonthlyReport) -> dict[str, Any]:
    start, end = month_bounds(report.month)
    activations = [
        {
            "name": activation.hashtag or activation.activation_id,
            "hazard": activation.hazard_label,
            "level": activation.level,
            "departements": ", ".join(_departement(code) for code in activation.departements),
            "opened": fr_datetime(activation.opened_at),
            "closed": fr_datetime(activation.closed_at) if activation.closed_at else "en cours",
            "started_before": activation.started_before_month,
            "days": activation.days_active,
            "posts": activation.posts,
            "tweets": activation.tweets,
        }
        for activation in report.activations
    ]
    return {
        "report": report,
        "title": f"Rapport mensuel ShareEntraide – {report.label}",
        "period": f"du {fr_date(start.date())} au {fr_date((end - timedelta(days=1)).date())}",
        "generated": fr_datetime(report.generated_at),
        "summary": summary_lines(report),
        "activations": activations,
        "basis": engagement_basis_label(report),
        "charts": _charts(report),
        "n": fr_number,
        "pct": fr_percent,
        "duration": fr_duration,
        "day": fr_date,
        "signed": fr_signed,
        "signed_pct": fr_signed_percent,
    }


def to_html(report: MonthlyReport) -> str:
    return _environment().get_template("report.html").render(**_context(report))


def render_all(report: MonthlyReport) -> dict[str, str]:
    """``{"json": …, "csv": …, "html": …}``."""
    return {"json": to_json(report), "csv": to_csv(report), "html": to_html(report)}


# --- delivery ----------------------------------------------------------------------------


def report_keys(month: str) -> dict[str, str]:
    """``{"json": "reports/2026-10/report.json", "csv": …, "html": …}``."""
    month_bounds(month)  # refuses anything but YYYY-MM: no odd key
    return {fmt: f"reports/{month}/report.{fmt}" for fmt in CONTENT_TYPES}


def publish(report: MonthlyReport, s3_client: Any, bucket: str) -> dict[str, str]:
    """Put the three files (same keys every run: a re-run replaces them); return the keys."""
    keys = report_keys(report.month)
    for fmt, body in render_all(report).items():
        params: dict[str, Any] = {
            "Bucket": bucket,
            "Key": keys[fmt],
            "Body": body.encode("utf-8"),
            "ContentType": CONTENT_TYPES[fmt],
            "ServerSideEncryption": "AES256",
            "CacheControl": "no-store",
            "Metadata": {"month": report.month, "format": FORMAT},
        }
        if fmt != "html":
            params["ContentDisposition"] = (
                f'attachment; filename="shareentraide-{report.month}.{fmt}"'
            )
        s3_client.put_object(**params)
    return keys


def presigned_link(s3_client: Any, bucket: str, key: str, days: int = LINK_DAYS) -> str:
    """A GET link to ``key`` valid ``days`` days (1 to 7, SigV4's limit).

    A presigned URL is only valid while the credentials that signed it are: one signed
    with a Lambda role's session credentials stops working when that session ends, well
    before 7 days. Pass a client with long-lived credentials for a 7-day link.
    """
    if not 1 <= days <= LINK_DAYS:
        raise ValueError(f"A presigned link lives 1 to {LINK_DAYS} days.")
    url: str = s3_client.generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": key},
        ExpiresIn=days * 86_400,
    )
    return url


def write_files(report: MonthlyReport, directory: Path) -> dict[str, Path]:
    """Write the three files under ``directory`` with the bucket's layout; return the paths."""
    paths: dict[str, Path] = {}
    rendered = render_all(report)
    for fmt, key in report_keys(report.month).items():
        path = Path(directory) / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered[fmt], encoding="utf-8", newline="")
        paths[fmt] = path
    return paths


def _link(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc or url != url.strip():
        raise ValueError("Not an absolute http(s) URL.")
    return url


def report_email(
    report: MonthlyReport,
    link: str,
    to: Sequence[str],
    *,
    link_days: int = LINK_DAYS,
) -> EmailMessage:
    """To the operators: the key figures and the link to the HTML report."""
    subject = f"[ShareEntraide] Rapport mensuel – {report.label}"
    expires = report.generated_at + timedelta(days=link_days)
    context = {
        "subject": subject,
        "report": report,
        "summary": summary_lines(report),
        "link": _link(link),
        "link_days": link_days,
        "expires": fr_date(expires),
        "of_month": of_month(report),
    }
    env = _environment()
    text = env.get_template("email/report.txt").render(**context)
    html = env.get_template("email/report.html").render(**context)
    return EmailMessage(
        to=tuple(to),
        subject=subject,
        text=text,
        html=html,
        links=(("Rapport du mois", link),),
        tag=TAG_MONTHLY_REPORT,
    )


class Sender(Protocol):
    """What :func:`deliver` needs of :class:`~entraide.mail.Mailer`."""

    def send(self, message: EmailMessage) -> str: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    keys: dict[str, str]
    link: str
    message_id: str | None


def deliver(
    report: MonthlyReport,
    *,
    s3_client: Any,
    bucket: str,
    mailer: Sender | None,
    recipients: Sequence[str],
    link_days: int = LINK_DAYS,
    signing_client: Any | None = None,
) -> Delivery:
    """Publish the three files, sign a link to the HTML page, email it to ``recipients``.

    ``signing_client`` signs the link (default ``s3_client``; see :func:`presigned_link`
    for why a 7-day link wants long-lived credentials). Without ``mailer`` or recipients,
    nothing is sent (``message_id`` is ``None``). A re-run replaces the files and sends
    the email again.
    """
    keys = publish(report, s3_client, bucket)
    link = presigned_link(signing_client or s3_client, bucket, keys["html"], link_days)
    message_id = None
    if mailer is not None and recipients:
        message = report_email(report, link, recipients, link_days=link_days)
        message_id = mailer.send(message)
    return Delivery(keys=keys, link=link, message_id=message_id)
