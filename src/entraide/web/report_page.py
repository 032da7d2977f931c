"""The monthly report for people: a standalone French HTML page, and the operators' email.

:func:`to_html` is a standalone French page (Jinja2, autoescape on): inline CSS, two
charts as inline SVG (:mod:`entraide.web.charts`), no script, no external resource (its
Content-Security-Policy forbids any). :func:`render_all` gives the three files that
:mod:`entraide.reporting.delivery` archives; :func:`report_email` the email that carries
the report itself: the page as its HTML body, the CSV attached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Final

from entraide.adapters.mail import Attachment, EmailMessage
from entraide.kernel.times import format_date_fr, format_datetime_fr
from entraide.reporting.delivery import download_name
from entraide.reporting.figures import MonthlyReport, WatchFigures, month_bounds
from entraide.reporting.formats import CHANNEL_LABELS, to_csv, to_json
from entraide.web.emails import link
from entraide.web.pages import page_environment

TAG_MONTHLY_REPORT: Final = "monthly-report"
_NBSP = "\u00a0"
_DASH = "—"
ANNOUNCEMENT = "annonce d'activation"
ANNOUNCEMENTS = "annonces d'activation"


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


CHANNEL_NAMES = CHANNEL_LABELS
KIND_NAMES = {
    "post": "Tweets individuels",
    "digest": "Tweets récapitulatifs",
    "activation": "Annonces d'activation",
}


def fr_dollars(amount: float | None) -> str:
    """ "12,35 $" (X bills in dollars); "–" when unknown."""
    if amount is None:
        return "–"
    return f"{fr_number(amount, 2)} $"


def fr_date(day: date | datetime | None) -> str:
    if day is None:
        return _DASH
    return format_date_fr(day)


def fr_datetime(moment: datetime | None) -> str:
    if moment is None:
        return _DASH
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
        *[
            (
                f"Publications {CHANNEL_NAMES[channel.channel]}",
                f"{fr_number(channel.messages)} messages, "
                f"{fr_number(channel.posts_announced)} annonces relayées"
                + (
                    f", {fr_number(channel.followers.end)} abonnés en fin de mois, "
                    f"{fr_number(channel.interactions)} interactions"
                    if channel.followers is not None and channel.followers.end is not None
                    else ""
                ),
            )
            for channel in report.channels
            if channel.channel != "x"
        ],
        *(
            [
                (
                    "Calendrier éditorial",
                    f"{fr_number(report.editorial.items)} éléments, publiés : "
                    + ", ".join(
                        f"{CHANNEL_NAMES[channel]} {fr_number(count)}"
                        for channel, count in report.editorial.published
                    )
                    + f" ; {fr_number(report.editorial.missed)} moment passé, "
                    f"{fr_number(report.editorial.held)} retenus pendant une activation",
                )
            ]
            if report.editorial and report.editorial.items
            else []
        ),
        *([("Veille relayée", _watch_line(report.watch))] if report.watch else []),
        *(
            [
                (
                    "Dépenses X",
                    f"{fr_dollars(report.x_spend.total)} "
                    f"({fr_dollars(report.x_spend.per_announced_post)} par annonce ; "
                    f"{fr_percent(report.x_spend.share_of_budget)} du budget)",
                )
            ]
            if report.x_spend
            else []
        ),
    ]


def _watch_line(watch: WatchFigures) -> str:
    if not watch.relayed:
        return "aucun message relayé ce mois-ci"
    counts = ", ".join(f"{CHANNEL_NAMES[c]} {fr_number(n)}" for c, n in watch.per_channel)
    reach = f"{fr_number(watch.authors_reach)} abonnés chez leurs auteurs"
    relayed, spent = fr_number(len(watch.relayed)), fr_dollars(watch.x_spend)
    return f"{relayed} ({counts}), {reach} ; {spent} sur X"


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


def is_partial(report: MonthlyReport) -> bool:
    """A report of a month still under way (from the CLI, or run before the month ended)."""
    return report.generated_at < month_bounds(report.month)[1]


def _context(report: MonthlyReport, privacy_url: str | None = None) -> dict[str, Any]:
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
        "partial": is_partial(report),
        "summary": summary_lines(report),
        "activations": activations,
        "basis": engagement_basis_label(report),
        "charts": _charts(report),
        "privacy_url": link(privacy_url) if privacy_url else None,
        "n": fr_number,
        "pct": fr_percent,
        "duration": fr_duration,
        "day": fr_date,
        "moment": fr_datetime,
        "signed": fr_signed,
        "signed_pct": fr_signed_percent,
        "usd": fr_dollars,
        "channel_names": CHANNEL_NAMES,
        "kind_names": KIND_NAMES,
    }


def to_html(report: MonthlyReport, *, privacy_url: str | None = None) -> str:
    """The report's page; with ``privacy_url``, its footer links to the privacy page (the
    emailed copy: every email of the platform does)."""
    return page_environment().get_template("report.html").render(**_context(report, privacy_url))


def render_all(report: MonthlyReport) -> dict[str, str]:
    """``{"json": …, "csv": …, "html": …}``."""
    return {"json": to_json(report), "csv": to_csv(report), "html": to_html(report)}


def report_email(
    report: MonthlyReport,
    files: Mapping[str, str],
    to: Sequence[str],
    *,
    archive: str,
    privacy_url: str,
) -> EmailMessage:
    """To the operators: the report itself, nothing to click that could expire.

    The HTML part is the report's page, charts included; the text part its key figures;
    the CSV of ``files`` is attached; ``archive`` says where S3 keeps the three files.
    """
    partial = " (mois en cours, chiffres partiels)" if is_partial(report) else ""
    subject = f"[ShareEntraide] Rapport mensuel – {report.label}{partial}"
    context = {
        "subject": subject,
        "report": report,
        "summary": summary_lines(report),
        "of_month": of_month(report),
        "archive": archive,
        "csv_name": download_name(report.month, "csv"),
        "privacy_url": link(privacy_url),
    }
    text = page_environment().get_template("email/report.txt").render(**context)
    csv = Attachment(download_name(report.month, "csv"), "text/csv", files["csv"].encode("utf-8"))
    return EmailMessage(
        to=tuple(to),
        subject=subject,
        text=text,
        html=to_html(report, privacy_url=privacy_url),
        tag=TAG_MONTHLY_REPORT,
        attachments=(csv,),
    )
