"""The ledger's values: policies, states, effects, subjects, and the store's interface.

See :mod:`entraide.effects.ledger` for what they mean together; the table's store is
:mod:`entraide.effects.ledger_store`, its twin in a dict :mod:`entraide.effects.memory`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from entraide.adapters.table import Write

#: How long a subject is remembered once recorded: longer than any redelivery (a stream
#: keeps records 24 h, an SQS queue 14 days at most), so that a replay repeats nothing.
DEFAULT_MEMORY = timedelta(days=15)


class Policy(StrEnum):
    """What becomes of an effect whose claim expired without being completed."""

    AT_LEAST_ONCE = "at-least-once"  # done again: a duplicate only where a response was lost
    AT_MOST_ONCE = "at-most-once"  # never again: in doubt, alarmed


class Listing(StrEnum):
    """When a subject is listed in the sweep's index (``by_due``) while an effect is open.

    A listing costs two index writes (entering, leaving); it buys the one way the owner's
    sweep finds a subject nothing else brings back."""

    #: From its opening: nothing else would bring it back (a subject recorded in another
    #: owner's transaction, a person's request answered once).
    OPEN = "open"
    #: Only once a run leaves an effect open (failed, not recorded, no time left): the run
    #: that records it usually finishes it, and one that dies before is redone by its
    #: source (a stream record retried) and found by the owner's reconciliation.
    LEFT = "left"
    #: Never: the owner finds the subject again by itself (its key is derived from what
    #: it reads).
    NEVER = "never"


class State(StrEnum):
    DUE = "due"
    CLAIMED = "claimed"
    DONE = "done"
    IN_DOUBT = "in-doubt"
    GIVEN_UP = "given-up"


OPEN_STATES = frozenset({State.DUE, State.CLAIMED})
#: The states an operator looks at (alarm ``EffectNeedsLook``) and may make due again.
LOOK_STATES = frozenset({State.GIVEN_UP, State.IN_DOUBT})


@dataclass(frozen=True, slots=True)
class Effect:
    """One side effect of a subject: its name in the subject, its policy, and, for an effect
    that must wait (a second pass), how long after the subject is recorded it is due."""

    name: str
    policy: Policy = Policy.AT_LEAST_ONCE
    delay: timedelta = timedelta(0)
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Subject:
    """What the effects are about (``key``, unique in the table), which function finishes
    them (``owner``: its sweep), and what redoing them needs (``data``: ids, never an
    address)."""

    key: str
    owner: str
    effects: tuple[Effect, ...]
    data: Mapping[str, Any] = field(default_factory=dict)
    memory: timedelta = DEFAULT_MEMORY
    listing: Listing = Listing.OPEN

    def __post_init__(self) -> None:
        names = [effect.name for effect in self.effects]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"A subject needs effects of distinct names: {names}")

    def opened(self, *, holder: str, lease_until: datetime, now: datetime) -> Record:
        """The record as first written: each effect claimed by ``holder``, or due after its
        delay; the sweep looks at it first when the earliest of those comes."""
        entries = tuple(
            Entry(
                effect.name, effect.policy, State.DUE, next_at=now + effect.delay, data=effect.data
            )
            if effect.delay
            else Entry(
                effect.name,
                effect.policy,
                State.CLAIMED,
                attempts=1,
                holder=holder,
                lease_until=lease_until,
                data=effect.data,
            )
            for effect in self.effects
        )
        indexed = self.listing is not Listing.NEVER
        record = Record(self.key, self.owner, entries, dict(self.data), indexed=indexed)
        if self.listing is not Listing.OPEN:
            return record
        return replace(record, index_at=record.wake_at() or now)

    def recognise(self, existing: Record, holder: str) -> Record | None:
        """``existing`` when it is this subject as ``holder`` opened it (a write whose
        answer was lost), else None (another run recorded it first)."""
        mine = {effect.name for effect in self.effects if not effect.delay}
        return existing if mine and mine <= set(existing.held_by(holder)) else None


@dataclass(frozen=True, slots=True)
class Entry:
    """One effect as the ledger holds it."""

    name: str
    policy: Policy
    state: State
    attempts: int = 0
    holder: str | None = None
    lease_until: datetime | None = None
    next_at: datetime | None = None
    result: str | None = None
    error: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES

    def expired(self, now: datetime) -> bool:
        """Claimed, and its holder's lease is over: the holder is gone."""
        return (
            self.state is State.CLAIMED and self.lease_until is not None and self.lease_until <= now
        )

    def claimable(self, now: datetime) -> bool:
        if self.state is State.DUE:
            return self.next_at is None or self.next_at <= now
        return self.expired(now) and self.policy is Policy.AT_LEAST_ONCE

    def doubtful(self, now: datetime) -> bool:
        return self.expired(now) and self.policy is Policy.AT_MOST_ONCE

    def held_by(self, holder: str) -> bool:
        return self.state is State.CLAIMED and self.holder == holder

    @property
    def rearmed(self) -> bool:
        """Due and never tried: as an operator's rearm leaves an ended effect
        (:meth:`LedgerStore.rearm`), or as a waiting effect is opened."""
        return self.state is State.DUE and self.attempts == 0

    def wake_at(self) -> datetime | None:
        """When this effect needs looking at again (None once it is finished)."""
        if self.state is State.DUE:
            return self.next_at
        if self.state is State.CLAIMED:
            return self.lease_until
        return None


@dataclass(frozen=True, slots=True)
class Record:
    """A subject as the ledger holds it: its effects in order; ``index_at`` is when the
    sweep looks at it next (None once nothing is open, or while it is not listed);
    ``indexed``: whether it may be listed at all (:class:`Listing`)."""

    key: str
    owner: str
    entries: tuple[Entry, ...]
    data: Mapping[str, Any] = field(default_factory=dict)
    index_at: datetime | None = None
    indexed: bool = True

    def entry(self, name: str) -> Entry:
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise KeyError(name)

    @property
    def open_count(self) -> int:
        return sum(1 for entry in self.entries if entry.open)

    def wake_at(self) -> datetime | None:
        moments = [moment for entry in self.entries if (moment := entry.wake_at()) is not None]
        return min(moments) if moments else None

    def held_by(self, holder: str) -> list[str]:
        return [entry.name for entry in self.entries if entry.held_by(holder)]

    def needing_look(self, *, in_doubt: bool = True) -> list[str]:
        """The effects an operator looks at: given up, and in doubt unless ``in_doubt`` is
        False (those are made due again only once checked not to have happened)."""
        states = LOOK_STATES if in_doubt else {State.GIVEN_UP}
        return [entry.name for entry in self.entries if entry.state in states]

    def check_rearmable(self, names: Sequence[str]) -> None:
        """Refuse to make due again an effect that is not given up or in doubt (a claimed
        one is another run's; a done one was done)."""
        for name in names:
            if (state := self.entry(name).state) not in LOOK_STATES:
                raise ValueError(f"rearm() makes an ended effect due again, not {state}")

    def stranded(self, now: datetime) -> bool:
        """Left open by runs that are gone, and out of the sweep's index: a subject listed
        only when left (:attr:`Listing.LEFT`) whose run died before it could list it."""
        held = any(e.state is State.CLAIMED and not e.expired(now) for e in self.entries)
        return self.indexed and self.index_at is None and self.open_count > 0 and not held

    def summary(self) -> str:
        """One line for an operator: each effect's state, attempts, holder and lease, when
        it is due, its result or last error (identifiers and reasons only, never a text)."""

        def moment(at: datetime | None) -> str:
            return at.strftime("%H:%M:%S") if at else ""

        parts = []
        for entry in self.entries:
            facts = [f"{entry.name}={entry.state.value}", f"attempts={entry.attempts}"]
            if entry.state is State.CLAIMED:
                facts.append(f"holder={entry.holder} lease={moment(entry.lease_until)}")
            if entry.state is State.DUE:
                facts.append(f"due={moment(entry.next_at)}")
            if entry.result:
                facts.append(f"result={entry.result}")
            if entry.error:
                facts.append(f"error={entry.error[:80]}")
            parts.append(" ".join(facts))
        return f"{self.key}: " + "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Done:
    """What a completed effect leaves: a short result (a message id), and writes of the
    effect's owner to make in the same transaction as its completion (``also``)."""

    result: str | None = None
    also: Sequence[Write] = ()


#: Carries out one effect of a record; raises when it could not.
Perform = Callable[[Entry, Record], "str | Done | None"]


class NotDone(Exception):
    """Raised by a perform that knows its effect did not happen (safe to do again)."""


class LedgerStore(ABC):
    """Where subjects and their effects are kept; every change is conditional on the
    effect being as the caller saw it (its state and attempts) or held by the caller.

    Each method recognises its own earlier success (a write whose response was lost): it
    then answers as if the write had just succeeded.
    """

    @abstractmethod
    def open(
        self, subject: Subject, *, holder: str, lease_until: datetime, now: datetime
    ) -> Record | None:
        """Record ``subject``: its effects without a delay claimed by ``holder``, the others
        due after their delay. None when the subject was recorded before."""

    @abstractmethod
    def get(self, key: str) -> Record | None: ...

    @abstractmethod
    def peek(self, key: str) -> Record | None:
        """The subject ``key`` as a read that may lag a second behind a write tells it (half
        the cost of :meth:`get`): a subject missed is then opened again, which its
        condition refuses (a replay), and resumed; what is claimed is decided on a
        strongly consistent read (:meth:`get`), never on this one."""

    @abstractmethod
    def claim(
        self,
        seen: Record,
        names: Sequence[str],
        *,
        holder: str,
        lease_until: datetime,
        now: datetime,
        data: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Record | None:
        """Claim ``names`` for ``holder`` if each is still as ``seen`` shows it (one more
        attempt each), with new ``data`` for some (what this attempt will do: a text to
        send again if it dies); None when another run changed one first."""

    @abstractmethod
    def finish(
        self,
        key: str,
        name: str,
        state: State,
        *,
        holder: str,
        result: str | None = None,
        also: Sequence[Write] = (),
        last: bool = False,
    ) -> Record | None:
        """End ``holder``'s claim on ``name`` (done, given up), with ``also`` in the same
        transaction; ``last`` says the caller believes nothing else is open. None when the
        claim is no longer ``holder``'s."""

    @abstractmethod
    def settle(self, seen: Record, name: str, state: State) -> Record | None:
        """End an effect nobody holds any more (in doubt, given up), if still as seen."""

    @abstractmethod
    def release(
        self,
        key: str,
        name: str,
        *,
        holder: str,
        retry_at: datetime,
        error: str,
        data: Mapping[str, Any] | None = None,
    ) -> Record | None:
        """Give ``holder``'s claim back: the effect is due again at ``retry_at`` (with new
        ``data`` when given: what it held no longer stands)."""

    @abstractmethod
    def reschedule(self, record: Record, at: datetime) -> None:
        """The sweep looks at the subject next at ``at``, listed in its index if it was not
        (nothing if nothing is open)."""

    @abstractmethod
    def due(self, owner: str, now: datetime, *, limit: int) -> list[str]:
        """Keys of ``owner``'s subjects to look at by ``now``, the most overdue first."""

    @abstractmethod
    def rearm(self, seen: Record, names: Sequence[str], *, now: datetime) -> Record | None:
        """Make ``names`` (ended, given up or in doubt, as ``seen`` shows them) due again at
        ``now`` with a fresh count of attempts, the subject listed for its owner's sweep
        unless it is never listed; None when one of them changed since ``seen``."""

    @abstractmethod
    def every(self, *, read: Callable[[int], None] | None = None) -> Iterator[Record]:
        """Every subject, in no order: for an operator's look, never for a function (a
        Scan of the whole table in DynamoDB). ``read``: told how many items were read so
        far, page after page."""
