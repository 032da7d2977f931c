"""The operators' weekly email: what the calendar did last week and what it will do this week.

From Monday at the rhythm's start (08:00 Paris time) the quarter-hourly editorial run finds
the week's email due; it is an effect of the subject ``editorial-week:<ISO week>`` in the
effects ledger (:mod:`entraide.effects.ledger`): recorded before it is sent, sent once,
retried after a failure, never sent twice by a replayed or overlapping run (a lost SES
answer aside). Its content is read when it is sent:

- *published*: the items whose every channel was handed to the relay last week, with
  when each channel was;
- *planned*: the items still to go whose moment falls before next Monday (those already
  due wait for the rhythm), after those already handed to the relay this week;
- *held*: the items due but held because an activation is open or just closed;
- *missed*: every item that missed its moment and waits for the operators (move or
  cancel it: ``entraide editorial move|cancel``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Final, Protocol

from entraide.editorial.calendar import EditorialItem, ItemState, paris
from entraide.effects.model import Effect, Entry, Record, Subject

if TYPE_CHECKING:
    from entraide.adapters.mail import EmailMessage, Sender
    from entraide.editorial.calendar_store import EditorialStore
    from entraide.effects.ledger import Ledger, Report

#: The ledger's owner of the weekly emails' subjects.
WEEKLY_OWNER: Final = "editorial-week"
WEEKLY_EMAIL: Final = "email"
#: The subject is kept a little longer than the week it speaks of.
WEEKLY_MEMORY: Final = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class Week:
    """A Paris week, Monday 00:00 to the next Monday 00:00 (both kept in UTC)."""

    label: str  # ISO week, "2026-W50"
    start: datetime
    end: datetime

    @property
    def previous_start(self) -> datetime:
        return week_of(self.start - timedelta(days=1)).start


def week_of(moment: datetime) -> Week:
    local = moment.astimezone(paris())
    monday = local.date() - timedelta(days=local.weekday())
    year, number, _ = monday.isocalendar()
    start = datetime.combine(monday, time(0), paris())
    end = datetime.combine(monday + timedelta(days=7), time(0), paris())
    return Week(f"{year}-W{number:02d}", start.astimezone(UTC), end.astimezone(UTC))


def weekly_subject_key(week: Week) -> str:
    return f"{WEEKLY_OWNER}:{week.label}"


@dataclass(frozen=True, slots=True)
class WeeklyDigest:
    week: Week
    held_now: bool
    published: Sequence[EditorialItem]
    planned: Sequence[EditorialItem]
    held: Sequence[EditorialItem]
    missed: Sequence[EditorialItem]


def weekly_digest(store: EditorialStore, week: Week, *, now: datetime, held: bool) -> WeeklyDigest:
    """What the week's email tells, read now."""
    sent = store.in_state(ItemState.SENT, since=week.previous_start)
    published = [item for item in sent if max(item.sent.values(), default=now) < week.start]
    gone_this_week = [item for item in sent if item not in published]
    planned = [item for item in store.in_state(ItemState.PLANNED) if item.at < week.end]
    waiting = [item for item in planned if item.at <= now] if held else []
    return WeeklyDigest(
        week=week,
        held_now=held,
        published=published,
        planned=[*gone_this_week, *(item for item in planned if item not in waiting)],
        held=waiting,
        missed=store.in_state(ItemState.MISSED),
    )


class ComposeWeekly(Protocol):
    def __call__(self, digest: WeeklyDigest, to: Sequence[str]) -> EmailMessage: ...


class WeeklyEmail:
    """Sends the week's email once, from Monday at ``from_time`` Paris time."""

    def __init__(
        self,
        store: EditorialStore,
        ledger: Ledger,
        *,
        mailer: Sender,
        compose: ComposeWeekly,
        recipients: Sequence[str],
        held: Callable[[datetime], bool],
        clock: Callable[[], datetime],
        from_time: time = time(8, 0),
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.mailer = mailer
        self.compose = compose
        self.recipients = tuple(recipients)
        self.held = held
        self.clock = clock
        self.from_time = from_time

    def due(self, now: datetime) -> Week | None:
        """This week, once its Monday's ``from_time`` has passed (any later run catches up)."""
        week = week_of(now)
        first = datetime.combine(week.start.astimezone(paris()).date(), self.from_time, paris())
        return week if now >= first else None

    def run(self, *, deadline: datetime) -> Report | None:
        """Record this week's email and send it, or finish it (a replay sends nothing again)."""
        if not self.recipients:
            return None
        week = self.due(self.clock())
        if week is None:
            return None
        subject = Subject(
            key=weekly_subject_key(week),
            owner=WEEKLY_OWNER,
            effects=(Effect(WEEKLY_EMAIL),),
            data={"week": week.label},
            memory=WEEKLY_MEMORY,
        )
        return self.ledger.run(subject, self.perform, deadline=deadline)

    def perform(self, entry: Entry, record: Record) -> str:
        now = self.clock()
        week = week_of(now)
        if week.label != record.data.get("week"):  # a week's email left to the next week
            return "moot: its week is over"
        digest = weekly_digest(self.store, week, now=now, held=self.held(now))
        return self.mailer.send(self.compose(digest, self.recipients))
