"""Schedule and ScheduleV2 events: fire functions on time, or on demand.

Expressions are EventBridge's: `rate(15 minutes)`, `cron(0 6 1 * ? *)` (six fields with a
year; day of week 1-7 is SUN-SAT), and ScheduleV2's one-off `at(2025-06-01T08:00:00)`. Cron is
evaluated in UTC, or in ScheduleV2's ScheduleExpressionTimezone. A rate fires one period after
the stack starts. The function receives the EventBridge "Scheduled Event", or the event's
`Input` JSON when the template gives one. Time comes from a `Clock`, so tests can move it.

EventBridge invokes Lambda asynchronously ("Amazon EventBridge ... invoke functions
asynchronously", https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html): a run on
time goes through `asynchronous.AsyncInvocations`, with its retries and the function's
on-failure destination. `fire_now` (people, tests) runs at once and returns the outcome.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from .asynchronous import AsyncInvocations
from .invoke import Invocation, Invoker
from .provision import DeployedFunction, Deployment
from .template import ScheduleEvent, TemplateError

log = logging.getLogger("entraide_local")

_RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_CRON = re.compile(r"cron\((.*)\)")
_AT = re.compile(r"at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


# --- Clocks ------------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep_until(self, moment: datetime, wake: threading.Event) -> None:
        """Return at `moment`, or earlier when `wake` is set."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep_until(self, moment: datetime, wake: threading.Event) -> None:
        wake.wait(max(0.0, (moment - self.now()).total_seconds()))


class ManualClock:
    """A clock that moves only when a test calls `advance`, which wakes the scheduler."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()
        self._sleepers: set[threading.Event] = set()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta
            sleepers = list(self._sleepers)
        for wake in sleepers:
            wake.set()

    def sleep_until(self, moment: datetime, wake: threading.Event) -> None:
        with self._lock:
            self._sleepers.add(wake)
        wake.wait(0.5)  # real time is irrelevant here; woken by advance() or stop


# --- Expressions -------------------------------------------------------------------------


class Schedule(Protocol):
    def next_after(self, moment: datetime) -> datetime | None: ...


@dataclass(frozen=True)
class RateSchedule:
    period: timedelta

    def next_after(self, moment: datetime) -> datetime | None:
        return moment + self.period


@dataclass(frozen=True)
class CronSchedule:
    expression: str  # croniter's syntax, see aws_cron_to_croniter
    timezone: str = "UTC"

    def next_after(self, moment: datetime) -> datetime | None:
        from croniter import croniter

        local = moment.astimezone(ZoneInfo(self.timezone))
        following: datetime = croniter(self.expression, local).get_next(datetime)
        return following.astimezone(UTC)


@dataclass(frozen=True)
class OneTimeSchedule:
    moment: datetime

    def next_after(self, moment: datetime) -> datetime | None:
        return self.moment if self.moment > moment else None


def parse_schedule(expression: str, timezone: str | None = None) -> Schedule:
    """The schedule of an EventBridge rate(), cron() or at() expression."""
    if rate := _RATE.fullmatch(expression):
        unit = rate.group(2).removesuffix("s")
        return RateSchedule(timedelta(seconds=int(rate.group(1)) * _UNIT_SECONDS[unit]))
    if cron := _CRON.fullmatch(expression):
        return CronSchedule(aws_cron_to_croniter(cron.group(1)), timezone or "UTC")
    if at := _AT.fullmatch(expression):
        moment = datetime.fromisoformat(at.group(1)).replace(tzinfo=ZoneInfo(timezone or "UTC"))
        return OneTimeSchedule(moment.astimezone(UTC))
    raise TemplateError(f"schedule expression {expression!r}: expected rate(), cron() or at()")


def aws_cron_to_croniter(fields: str) -> str:
    """AWS's `min hour day-of-month month day-of-week year` as croniter's 7-field syntax.

    AWS numbers days of the week 1-7 from Sunday, croniter 0-6; `?` means "any" in both.
    croniter's fields are `min hour dom month dow second year`.
    """
    parts = fields.split()
    if len(parts) != 6:
        raise TemplateError(f"cron({fields}): expected 6 fields, got {len(parts)}")
    minute, hour, day_of_month, month, day_of_week, year = (
        part.replace("?", "*") for part in parts
    )
    # Shift each day number, but not the n of `#n` nor a step after `/`.
    day_of_week = re.sub(
        r"(?<![#/\d])([1-7])(?!\d)", lambda found: str(int(found.group(1)) - 1), day_of_week
    )
    return f"{minute} {hour} {day_of_month} {month} {day_of_week} 0 {year}"


def scheduled_event(
    rule_arn: str, moment: datetime, *, region: str, account: str
) -> dict[str, Any]:
    """The event EventBridge sends to a scheduled target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


# --- Scheduler ---------------------------------------------------------------------------


@dataclass
class _Entry:
    function: DeployedFunction
    event: ScheduleEvent
    schedule: Schedule
    rule_arn: str
    next_fire: datetime | None = None


class Scheduler:
    """Fires the deployment's enabled schedules on time, in a background thread."""

    def __init__(
        self,
        deployment: Deployment,
        invoker: Invoker,
        clock: Clock,
        asynchronous: AsyncInvocations,
    ) -> None:
        self.deployment = deployment
        self.invoker = invoker
        self.clock = clock
        self.asynchronous = asynchronous
        self.entries = [
            _Entry(function, event, self._parse(function, event), self._rule_arn(function, event))
            for function in deployment.functions.values()
            for event in function.spec.events_of(ScheduleEvent)
        ]
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    @staticmethod
    def _parse(function: DeployedFunction, event: ScheduleEvent) -> Schedule:
        try:
            return parse_schedule(event.expression, event.timezone)
        except TemplateError as error:
            where = f"Resources.{function.logical_id}.Properties.Events.{event.name}"
            raise TemplateError(f"{where}: {error}") from None

    def _rule_arn(self, function: DeployedFunction, event: ScheduleEvent) -> str:
        deployment = self.deployment
        name = f"{deployment.stack_name}-{function.logical_id}{event.name}"[:64]
        prefix = f"{deployment.region}:{deployment.account_id}"
        if event.kind == "ScheduleV2":
            return f"arn:aws:scheduler:{prefix}:schedule/default/{name}"
        return f"arn:aws:events:{prefix}:rule/{name}"

    def start(self) -> None:
        now = self.clock.now()
        for entry in self.entries:
            entry.next_fire = entry.schedule.next_after(now) if entry.event.enabled else None
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()  # before looking: a clock moved meanwhile means "look again"
            for entry, moment in self._take_due(self.clock.now()):
                trigger = f"schedule {entry.event.expression}"
                event = self._event(entry, moment)
                self.asynchronous.submit(entry.function, event, trigger=trigger)
            self.clock.sleep_until(self._next_moment(), self._wake)

    def _take_due(self, now: datetime) -> list[tuple[_Entry, datetime]]:
        """Entries due at `now`, each moved to its next time (missed runs are not caught up)."""
        due = []
        with self._lock:
            for entry in self.entries:
                if entry.next_fire is not None and entry.next_fire <= now:
                    due.append((entry, entry.next_fire))
                    following = entry.schedule.next_after(entry.next_fire)
                    if following is not None and following <= now:
                        following = entry.schedule.next_after(now)
                    entry.next_fire = following
        return due

    def _next_moment(self) -> datetime:
        with self._lock:
            upcoming = [entry.next_fire for entry in self.entries if entry.next_fire is not None]
        # Check at least every minute, so that a changed system clock is noticed.
        return min([*upcoming, self.clock.now() + timedelta(minutes=1)])

    def _event(self, entry: _Entry, moment: datetime) -> Any:
        if entry.event.input is not None:
            return json.loads(entry.event.input)
        deployment = self.deployment
        return scheduled_event(
            entry.rule_arn, moment, region=deployment.region, account=deployment.account_id
        )

    def fire_now(self, name: str, fields: Mapping[str, Any] | None = None) -> Invocation:
        """Fire a function's (first) schedule at once, even a disabled one; ``fields`` are
        added to its event (an operator's run)."""
        function = self.deployment.function(name)
        entry = next((e for e in self.entries if e.function is function), None)
        if entry is None:
            raise KeyError(f"{function.display_name} has no Schedule event")
        event = {**self._event(entry, self.clock.now()), **(fields or {})}
        return self.invoker.invoke(entry.function.logical_id, event, trigger="fired on demand")
