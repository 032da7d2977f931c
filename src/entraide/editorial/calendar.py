"""The editorial calendar: what the platform says while it sleeps, and on what rhythm.

An :class:`EditorialItem` is a text (and optionally a link), the channels it goes to, the
moment it is wished for (stored in UTC, read and written in Paris time), a theme and an
author; a calendar's rows and the blog's new articles are items alike (``origin``).

:func:`plan` decides, at one moment, which (item, channel) pairs go now and which items
missed their moment. Its rules (a :class:`Rhythm`):

- nothing while the platform is *held* (an activation is open, or the last one closed
  less than ``quiet`` ago): crisis first, editorial items wait, never dropped;
- only between ``start`` and ``end`` Paris time, at most ``per_day`` a Paris day per
  channel, at least ``gap`` between two on a channel, one per channel per run (a run every
  15 minutes spreads a backlog out instead of sending it at once);
- an item is never sent before its moment, nor more than ``too_late`` after it: then it
  is *missed*, reported to the operators, who move or cancel it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import StrEnum
from functools import cache
from typing import Final

#: Where an item comes from.
FROM_CALENDAR: Final = "calendrier"
FROM_BLOG: Final = "blog"


@cache
def paris() -> tzinfo:
    """Metropolitan French time: the calendar's wall clock."""
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Paris")


class ItemState(StrEnum):
    PLANNED = "planned"  # some channel still to go
    SENT = "sent"  # every channel handed to the publishing path
    CANCELLED = "cancelled"
    MISSED = "missed"  # its moment passed by more than the rhythm's delay


@dataclass(frozen=True, slots=True)
class EditorialItem:
    id: str
    text: str
    link: str
    channels: tuple[str, ...]
    at: datetime
    theme: str
    author: str
    origin: str = FROM_CALENDAR
    state: ItemState = ItemState.PLANNED
    #: When each channel was handed to the publishing path.
    sent: Mapping[str, datetime] = field(default_factory=dict)

    def pending(self) -> tuple[str, ...]:
        return tuple(channel for channel in self.channels if channel not in self.sent)


@dataclass(frozen=True, slots=True)
class Rhythm:
    start: time = time(8, 0)
    end: time = time(21, 0)
    per_day: int = 3
    gap: timedelta = timedelta(hours=2)
    quiet: timedelta = timedelta(hours=24)
    too_late: timedelta = timedelta(hours=48)

    def in_window(self, moment: datetime) -> bool:
        local = moment.astimezone(paris()).time()
        return self.start <= local <= self.end

    def lookback(self, now: datetime) -> datetime:
        """How far back the sends that bound ``now`` go: the Paris day's start, or ``gap``."""
        local = now.astimezone(paris())
        day_start = datetime.combine(local.date(), time(0), paris()).astimezone(UTC)
        return min(day_start, now - self.gap)


@dataclass(frozen=True, slots=True)
class Plan:
    send: list[tuple[EditorialItem, str]]
    missed: list[EditorialItem]


def same_paris_day(first: datetime, second: datetime) -> bool:
    return first.astimezone(paris()).date() == second.astimezone(paris()).date()


def plan(
    items: Iterable[EditorialItem],
    *,
    now: datetime,
    sends: Mapping[str, Sequence[datetime]],
    held: bool,
    rhythm: Rhythm,
) -> Plan:
    """What goes now (one item per channel at most) and what missed its moment.

    ``sends`` are the recent sends of each channel (at least since :meth:`Rhythm.lookback`).
    """
    due: list[EditorialItem] = []
    missed: list[EditorialItem] = []
    for item in sorted(items, key=lambda item: (item.at, item.id)):
        if item.state is not ItemState.PLANNED or not item.pending():
            continue
        if now - item.at > rhythm.too_late:
            missed.append(item)
        elif item.at <= now:
            due.append(item)
    if held or not rhythm.in_window(now):
        return Plan([], missed)
    chosen: list[tuple[EditorialItem, str]] = []
    for channel in sorted({channel for item in due for channel in item.pending()}):
        past = [moment for moment in sends.get(channel, ()) if moment <= now]
        if sum(same_paris_day(moment, now) for moment in past) >= rhythm.per_day:
            continue
        if past and now - max(past) < rhythm.gap:
            continue
        first = next(item for item in due if channel in item.pending())
        chosen.append((first, channel))
    return Plan(chosen, missed)
