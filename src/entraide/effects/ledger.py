"""Side effects done once: claim, do the effect, record it done — the one mechanism.

Every effect the platform has on the world outside its table (an email, a message on a
topic, a post on X) belongs to a *subject* (a post's version, an activation's opening, a
contact message…) and is named within it. The subject and its effects are recorded in the
table before anything is done (:class:`LedgerStore`, in the table :mod:`.ledger_store`),
so that nothing waits on a stream's or a queue's memory: a scheduled sweep
(:meth:`Ledger.sweep`) finishes what a run left.

The life of one effect::

    due ──claim──▶ claimed (holder, lease) ──done──▶ done
     ▲ ▲              │ │
     │ └──release─────┘ └── lease over, never completed ──▶ claimed again (at least once)
     │   (failed before the effect;                      ──▶ in doubt (at most once)
     │    at its last attempt: given up)
     └──rearm (an operator, the cause fixed: Ledger.rearm)── given up, in doubt

- **A claim expires with the function's timeout.** The lease of a claim is the invocation's
  deadline (what Lambda's context says remains) plus a margin: once it is over, the holder
  was killed or is gone, and nobody else could have held it meanwhile. A claim is an
  attempt: a run with less than ``effect_time`` left claims nothing (what it finds due stays
  due), so that runs short of time never bring an effect to its last attempt untried.
- **A failure before the effect releases the claim.** When the service answered with an
  error, or was never reached (:func:`failed_before`), nothing happened: the effect is due
  again after a backoff, and given up (alarmed) after ``max_attempts``.
- **An unknown outcome leaves the claim to its lease.** A timeout reading the answer, a
  connection cut after sending, a crash: the effect may have happened. What follows is the
  effect's *policy*:

  - :attr:`Policy.AT_LEAST_ONCE`: claimed again and done again once the lease is over. A
    duplicate then happens only where a response was lost (an email twice), or where the
    completion could not be recorded while the run had time (it is tried again until the
    deadline, ``COMPLETION_ATTEMPTS`` at most); where the other side refuses a repeat (X
    refuses a text it already has), it is exactly once;
  - :attr:`Policy.AT_MOST_ONCE`: never done again; the effect is *in doubt* (metric and
    alarm ``EffectInDoubt``), for a channel where a repeat would be worse than a loss.

- **What is left is listed for the sweep.** A subject is listed in the owner's index while
  an effect is open, from its opening, or (:attr:`Listing.LEFT`) only once a run leaves an
  effect open: such a subject whose run dies before it could list it is *stranded*
  (:meth:`Record.stranded`), and its owner's reconciliation resumes it.
- **The effects of a subject are independent.** Each is claimed, done and completed on its
  own, in the subject's order (the moderators' emails first): one failing never stops the
  others.

Every step is a conditional write on the subject's one item: of two runs, one wins each
step; a step repeated after its own lost response is recognised by its holder.

Why one module: the rules above are one state machine, and :class:`Ledger` is its every
step (run, resume, sweep, work, complete, release, settle, the retries of a step): read
apart, a step's guarantee would be out of sight of the steps it relies on.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from entraide.effects.model import (
    Done,
    Entry,
    LedgerStore,
    NotDone,
    Perform,
    Record,
    State,
    Subject,
)
from entraide.kernel.errors import ConcurrentChange
from entraide.kernel.times import utcnow
from entraide.observability import logger
from entraide.privacy.detection import redact_contact

#: What a claim outlives its holder's deadline by (clocks of two machines differ a little).
DEFAULT_LEASE_MARGIN = timedelta(seconds=5)
#: An effect is not started with less time left than this before the deadline.
DEFAULT_EFFECT_TIME = timedelta(seconds=3)
DEFAULT_RETRY_BASE = timedelta(minutes=1)
DEFAULT_RETRY_CAP = timedelta(hours=1)
#: 1, 2, 4 … 60 minutes apart: about a day of attempts before an effect is given up.
DEFAULT_MAX_ATTEMPTS = 30
#: Ledger writes are retried this many times in one run (a lost response is recognised).
LEDGER_WRITE_ATTEMPTS = 4
#: An effect's completion is tried again while its run has time, up to this many times:
#: an effect done but not recorded is done again once its lease is over (an email sent
#: twice with no answer lost), so it is worth the run's remaining seconds (0.05 s, 0.1 s …
#: apart: about 3 s in all).
COMPLETION_ATTEMPTS = 12
ERROR_MAX = 200


def failed_before(error: BaseException) -> bool:
    """Whether ``error`` proves the effect did not happen: the service answered with an
    error (a botocore ``ClientError``: throttled, refused, failed) or was never reached
    (no connection). A timeout reading the answer, or a cut connection, proves nothing.
    The mail adapter raises its own errors (SES's text names the address) and says which
    kind each one is."""
    if isinstance(error, NotDone):
        return True
    from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

    from entraide.adapters.mail import MailError

    if isinstance(error, MailError):
        return error.unsent

    return isinstance(error, ClientError | EndpointConnectionError | ConnectTimeoutError)


def describe(error: BaseException) -> str:
    """A short description of an error, with any contact detail masked (it is stored and
    logged: an SES refusal quotes the address it refused)."""
    return redact_contact(f"{type(error).__name__}: {error}")[:ERROR_MAX]


def new_holder() -> str:
    return secrets.token_hex(6)


def scheduled(event: Any) -> bool:
    """Whether an invocation is a schedule's (EventBridge), for functions that sweep."""
    return isinstance(event, dict) and event.get("source") == "aws.events"


@dataclass(slots=True)
class Report:
    """What a run or a sweep did, effect by effect."""

    subjects: int = 0
    done: int = 0
    retried: int = 0  # failed before the effect: due again
    unknown: int = 0  # may have happened: left to the lease
    given_up: int = 0
    in_doubt: int = 0
    busy: int = 0  # held by another run, or not due yet
    left: int = 0  # not started: the deadline was near
    failed: int = 0  # subjects a sweep could not read or claim

    def add(self, other: Report) -> Report:
        for counter in fields(self):
            setattr(self, counter.name, getattr(self, counter.name) + getattr(other, counter.name))
        return self

    def as_dict(self) -> dict[str, int]:
        return {counter.name: getattr(self, counter.name) for counter in fields(self)}


@dataclass(frozen=True, slots=True)
class Rearmed:
    """What :meth:`Ledger.rearm` made due again of a subject (``names``: none when nothing
    of it was given up or in doubt), and the subject as it now stands."""

    record: Record
    names: tuple[str, ...]


def _no_metric(name: str, value: float) -> None:
    return None


class Ledger:
    """Runs effects through a :class:`LedgerStore`: :meth:`run` a new subject's effects,
    :meth:`sweep` what is due of an owner's. See the module documentation for the rules."""

    def __init__(
        self,
        store: LedgerStore,
        *,
        clock: Callable[[], datetime] = utcnow,
        lease_margin: timedelta = DEFAULT_LEASE_MARGIN,
        effect_time: timedelta = DEFAULT_EFFECT_TIME,
        retry_base: timedelta = DEFAULT_RETRY_BASE,
        retry_cap: timedelta = DEFAULT_RETRY_CAP,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        metric: Callable[[str, float], None] = _no_metric,
        holder: Callable[[], str] = new_holder,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.clock = clock
        self.lease_margin = lease_margin
        self.effect_time = effect_time
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.max_attempts = max_attempts
        self.metric = metric
        self.new_holder = holder
        self.pause = pause

    def deadline_of(self, context: Any) -> datetime:
        """When the invocation of ``context`` (Lambda's context object) will be stopped: a
        claim taken in it lasts until then, plus the margin."""
        remaining = timedelta(milliseconds=int(context.get_remaining_time_in_millis()))
        return self.clock() + remaining

    def has_time(self, deadline: datetime) -> bool:
        """Whether a run ending at ``deadline`` has the time to start an effect (and so to
        claim one: a claim is an attempt)."""
        return self.clock() + self.effect_time <= deadline

    # -- a subject's effects, now ----------------------------------------------------
    def run(self, subject: Subject, perform: Perform, *, deadline: datetime) -> Report:
        """Record ``subject`` and do its effects now, in order, each on its own.

        Raises only when the subject could not be recorded (nothing is then kept: the
        caller's source must retry). A subject recorded before (a replay) is resumed:
        what is due of it is done, what is done is not repeated.
        """
        holder = self.new_holder()
        lease = deadline + self.lease_margin
        now = self.clock()
        opened = self._retry(
            lambda: self.store.open(subject, holder=holder, lease_until=lease, now=now)
        )
        if opened is None:
            return self.resume(subject.key, lambda record: perform, deadline=deadline)
        return self._work(opened, holder, perform, deadline)

    def resume(
        self,
        key: str,
        perform_for: Callable[[Record], Perform | None],
        *,
        deadline: datetime,
    ) -> Report:
        """Do what is due of the subject ``key`` now (what the sweep does to each subject)."""
        report = Report(subjects=1)
        record = self._retry(lambda: self.store.get(key))
        if record is None:
            return report
        now = self.clock()
        for entry in record.entries:
            if entry.doubtful(now):
                record = self._settle(record, entry, State.IN_DOUBT, report)
            elif entry.claimable(now) and entry.attempts >= self.max_attempts:
                record = self._settle(record, entry, State.GIVEN_UP, report)
        names = [entry.name for entry in record.entries if entry.claimable(now)]
        if not names:
            report.busy += sum(1 for entry in record.entries if entry.open)
            self._reschedule(record)
            return report
        perform = perform_for(record)
        if perform is None:  # the owner no longer knows this kind of subject
            logger.error("Effects of an unknown subject", extra={"subject": key})
            report.failed += 1
            return report
        if not self.has_time(deadline):
            # A claim is an attempt: one taken without the time to perform would bring the
            # effect to its last attempt, then give it up, without it ever being tried (a
            # schedule whose sweep took its time, a flush of many recipients). Left as it is.
            report.left += len(names)
            return report
        holder = self.new_holder()
        lease = deadline + self.lease_margin
        claimed = self._retry(
            lambda: self.store.claim(record, names, holder=holder, lease_until=lease, now=now)
        )
        if claimed is None:  # another run took them first
            report.busy += len(names)
            return report
        worked = self._work(claimed, holder, perform, deadline)
        worked.subjects = 0  # this one, counted above
        return report.add(worked)

    def sweep(
        self,
        owner: str,
        perform_for: Callable[[Record], Perform | None],
        *,
        deadline: datetime,
        limit: int = 100,
    ) -> Report:
        """Finish what is due of ``owner``'s subjects, until the deadline draws near."""
        report = Report()
        due = self._retry(lambda: self.store.due(owner, self.clock(), limit=limit))
        for key in due or []:
            if not self.has_time(deadline):
                break
            try:
                report.add(self.resume(key, perform_for, deadline=deadline))
            except Exception as error:  # one subject's trouble never stops the sweep
                logger.warning(
                    "Sweep: a subject could not be resumed",
                    extra={"subject": key, "error": describe(error)},
                )
                report.failed += 1
        return report

    # -- an operator's step ------------------------------------------------------------
    def rearm(self, key: str, *, in_doubt: bool = False) -> Rearmed | None:
        """Make the effects of the subject ``key`` that were given up due now, with a fresh
        count of attempts (a day of SES refusals over, say); with ``in_doubt``, those in
        doubt too, once an operator checked that they did not happen. Its owner takes them
        up: its sweep, or its next run for a subject never listed. None when the ledger
        holds no subject ``key``."""
        for _ in range(LEDGER_WRITE_ATTEMPTS):
            record = self._retry(lambda: self.store.get(key))
            if record is None:
                return None
            names = record.needing_look(in_doubt=in_doubt)
            if not names:
                return Rearmed(record, ())
            rearmed = self._retry(partial(self.store.rearm, record, names, now=self.clock()))
            if rearmed is not None:
                return Rearmed(rearmed, tuple(names))
        raise ConcurrentChange(f"Le sujet {key} a changé pendant la relance : la refaire.")

    # -- the steps ---------------------------------------------------------------------
    def _work(self, record: Record, holder: str, perform: Perform, deadline: datetime) -> Report:
        report = Report(subjects=1)
        mine = record.held_by(holder)
        for position, name in enumerate(mine):
            if not self.has_time(deadline):
                report.left += len(mine) - position  # left to the lease, then the sweep
                break
            entry = record.entry(name)
            try:
                outcome = perform(entry, record)
            except Exception as error:
                record = self._failed(record, entry, holder, error, report)
                continue
            done = outcome if isinstance(outcome, Done) else Done(outcome)
            finished = self._complete(record, name, holder, done, deadline)
            if finished is None:
                # Done, but not recorded (or no longer ours): its lease decides what follows.
                report.unknown += 1
                self.metric("EffectUnrecorded", 1)
                continue
            record = finished
            report.done += 1
        self._reschedule(record)
        return report

    def _complete(
        self, record: Record, name: str, holder: str, done: Done, deadline: datetime
    ) -> Record | None:
        last = record.open_count == 1
        return self._retry(
            lambda: self.store.finish(
                record.key,
                name,
                State.DONE,
                holder=holder,
                result=done.result,
                also=done.also,
                last=last,
            ),
            quiet=True,
            until=deadline,
        )

    def _failed(
        self, record: Record, entry: Entry, holder: str, error: Exception, report: Report
    ) -> Record:
        reason = describe(error)
        if not failed_before(error):
            # It may have happened: the claim stays, and its lease and policy decide.
            logger.warning(
                "Effect outcome unknown",
                extra={"subject": record.key, "effect": entry.name, "error": reason},
            )
            self.metric("EffectOutcomeUnknown", 1)
            report.unknown += 1
            return record
        if entry.attempts >= self.max_attempts:
            logger.error(
                "Effect given up",
                extra={"subject": record.key, "effect": entry.name, "error": reason},
            )
            self._needs_look("EffectGivenUp")
            report.given_up += 1
            given_up = self._retry(
                lambda: self.store.finish(record.key, entry.name, State.GIVEN_UP, holder=holder),
                quiet=True,
            )
            return given_up or record
        retry_at = self.clock() + self.backoff(entry.attempts)
        logger.info(
            "Effect failed, retried later",
            extra={
                "subject": record.key,
                "effect": entry.name,
                "attempt": entry.attempts,
                "retry_at": retry_at.isoformat(),
                "error": reason,
            },
        )
        self.metric("EffectRetried", 1)
        report.retried += 1
        released = self._retry(
            lambda: self.store.release(
                record.key, entry.name, holder=holder, retry_at=retry_at, error=reason
            ),
            quiet=True,
        )
        return released or record

    def _needs_look(self, kind: str) -> None:
        """An effect an operator must look at: its kind's own metric (``EffectGivenUp``,
        ``EffectInDoubt``: the detail, emitted only then) and ``EffectNeedsLook``, the one
        metric of their one alarm (``EffectNeedsLookAlarm``); the log line names both the
        kind and the effect."""
        self.metric(kind, 1)
        self.metric("EffectNeedsLook", 1)

    def _settle(self, record: Record, entry: Entry, state: State, report: Report) -> Record:
        settled = self._retry(lambda: self.store.settle(record, entry.name, state), quiet=True)
        if settled is None:
            return record
        if state is State.IN_DOUBT:
            logger.error(
                "Effect in doubt: claimed, never completed, not done again (at most once)",
                extra={"subject": record.key, "effect": entry.name},
            )
            self._needs_look("EffectInDoubt")
            report.in_doubt += 1
        else:
            logger.error("Effect given up", extra={"subject": record.key, "effect": entry.name})
            self._needs_look("EffectGivenUp")
            report.given_up += 1
        return settled

    def _reschedule(self, record: Record) -> None:
        wake = record.wake_at()
        if not record.indexed or wake is None or wake == record.index_at:
            return
        if record.index_at is None:
            # Not listed yet (Listing.LEFT): this write is how the sweep will find what is
            # left. It raises when it cannot be made, so that the run's source brings the
            # subject back (a stream record retried) rather than leaving it unlisted.
            self._retry(lambda: self.store.reschedule(record, wake))
            return
        try:
            self.store.reschedule(record, wake)
        except Exception as error:  # the sweep finds it at its older time anyway
            logger.info(
                "Reschedule failed", extra={"subject": record.key, "error": describe(error)}
            )

    def backoff(self, attempts: int) -> timedelta:
        """The wait before attempt ``attempts + 1``: doubling from ``retry_base`` up to
        ``retry_cap``, with jitter (half to all of it), so that retries spread out."""
        doubling = self.retry_base * (1 << max(0, min(attempts - 1, 30)))
        wait = min(self.retry_cap, doubling)
        return wait * random.uniform(0.5, 1.0)  # noqa: S311 - spreading retries, no secret

    def _retry[T](
        self, step: Callable[[], T], *, quiet: bool = False, until: datetime | None = None
    ) -> T | None:
        """A ledger read or write, tried again on an error (a write's store recognises its
        own success when the first answer was lost). ``quiet``: after the last try, None
        instead of the error (the lease then decides). ``until``: beyond the usual tries,
        tried again while the next try would start before then (``COMPLETION_ATTEMPTS``
        at most)."""
        for attempt in range(1, COMPLETION_ATTEMPTS + 1):
            try:
                return step()
            except Exception as error:
                wait = 0.05 * attempt
                again = attempt < LEDGER_WRITE_ATTEMPTS or (
                    until is not None
                    and attempt < COMPLETION_ATTEMPTS
                    and self.clock() + timedelta(seconds=wait) < until
                )
                if not again:
                    if quiet:
                        logger.warning("Ledger write failed", extra={"error": describe(error)})
                        return None
                    raise
                self.pause(wait)
        return None  # pragma: no cover - the loop returns or raises
