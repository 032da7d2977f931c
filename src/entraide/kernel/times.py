"""Times, one way: as the table and the messages store them, and as a French reader reads them.

Machine times are UTC, ISO 8601 to the second with a ``Z`` (``2026-11-26T10:00:00Z``):
they sort as text, which the table's sort keys rely on. Months are UTC ``YYYY-MM``, as
the ``by_month`` index is. People read Paris time in French words (``1er décembre 2026 à
9 h 05``); where the tz database is missing, UTC is shown rather than nothing.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, tzinfo

MONTHS_FR: tuple[str, ...] = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """``2026-11-26T10:00:00Z``: UTC, to the second."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """The moment :func:`iso` wrote (any ISO 8601 text; one without an offset is UTC)."""
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def month_of(moment: date) -> str:
    """``2026-11``: the month of a day, or the UTC month of a moment."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC)
    return f"{moment.year:04d}-{moment.month:02d}"


def months_between(first: date, last: date) -> list[str]:
    """``["2026-10", "2026-11"]``: every month from ``first``'s to ``last``'s, included."""
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def epoch(moment: datetime) -> int:
    """Whole seconds since 1970 (DynamoDB's TTL attribute)."""
    return int(moment.timestamp())


@functools.cache
def _paris() -> tzinfo | None:
    """Metropolitan French time, or ``None`` where the tz database is missing."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo("Europe/Paris")
    except ZoneInfoNotFoundError:
        return None


def format_date_fr(day: date) -> str:
    """``26 novembre 2026``; ``1er décembre 2026`` on the first of the month.

    An aware datetime is first converted to Paris time (when the tz database is
    available), so that an alert opened at 23:30 UTC shows the French day.
    """
    if isinstance(day, datetime) and day.tzinfo is not None:
        paris = _paris()
        if paris is not None:
            day = day.astimezone(paris)
    prefix = "1er" if day.day == 1 else str(day.day)
    return f"{prefix} {MONTHS_FR[day.month - 1]} {day.year}"


def format_datetime_fr(moment: datetime) -> str:
    """``26 novembre 2026 à 11 h 00`` in Paris time (a naive datetime is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    paris = _paris()
    if paris is not None:
        moment = moment.astimezone(paris)
    return f"{format_date_fr(moment)} à {moment.hour} h {moment.minute:02d}"
