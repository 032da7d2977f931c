"""The operators' weekly editorial email (French first; a line of English at the end)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Final

from entraide.adapters.mail import EmailMessage
from entraide.kernel.times import format_date_fr, format_datetime_fr
from entraide.web.emails import link, render_pair

if TYPE_CHECKING:
    from entraide.editorial.calendar import EditorialItem
    from entraide.editorial.weekly import WeeklyDigest

TAG_EDITORIAL_WEEK: Final = "editorial-week"


@dataclass(frozen=True, slots=True)
class _ItemLine:
    id: str
    moment: str
    text: str
    link: str
    channels: str
    theme: str
    origin: str
    sent: str


def _line(item: EditorialItem) -> _ItemLine:
    sent = ", ".join(
        f"{channel} le {format_datetime_fr(moment)}"
        for channel, moment in sorted(item.sent.items())
    )
    return _ItemLine(
        id=item.id,
        moment=format_datetime_fr(item.at),
        text=" ".join(item.text.split()),
        link=item.link,
        channels=", ".join(item.channels),
        theme=item.theme,
        origin=item.origin,
        sent=sent,
    )


def weekly_editorial_email(
    digest: WeeklyDigest, to: Sequence[str], *, privacy_url: str
) -> EmailMessage:
    """To the operators: last week's publications, this week's plan, the held and the missed."""
    week = digest.week
    monday = format_date_fr(week.start)
    sunday = format_date_fr(week.end - timedelta(days=1))
    subject = f"[ShareEntraide] Calendrier éditorial – semaine du {monday}"
    text, html = render_pair(
        "editorial_week",
        subject=subject,
        monday=monday,
        sunday=sunday,
        held_now=digest.held_now,
        published=[_line(item) for item in digest.published],
        planned=[_line(item) for item in digest.planned],
        held=[_line(item) for item in digest.held],
        missed=[_line(item) for item in digest.missed],
        privacy_url=link(privacy_url),
    )
    return EmailMessage(to=tuple(to), subject=subject, text=text, html=html, tag=TAG_EDITORIAL_WEEK)
