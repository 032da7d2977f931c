"""The ledger in a dict: the table's semantics under a lock, for tests, the bench and one process.

What the two stores decide alike (whether an effect can be claimed, when a subject wakes)
lives on :class:`~entraide.effects.ledger.Entry` and
:class:`~entraide.effects.ledger.Record`; this one only keeps the records.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from entraide.effects.model import OPEN_STATES, Entry, LedgerStore, Record, State, Subject

if TYPE_CHECKING:
    from entraide.adapters.table import Write


def _as_seen(record: Record, seen: Record, names: Sequence[str]) -> bool:
    """Whether each effect of ``names`` is still as ``seen`` shows it (state, attempts)."""
    return all(
        (record.entry(name).state, record.entry(name).attempts)
        == (seen.entry(name).state, seen.entry(name).attempts)
        for name in names
    )


class MemoryLedgerStore(LedgerStore):
    """Records in a dict, changed under a lock with the table's conditions."""

    def __init__(self) -> None:
        self.records: dict[str, Record] = {}
        self._lock = threading.RLock()

    def get(self, key: str) -> Record | None:
        with self._lock:
            return self.records.get(key)

    def peek(self, key: str) -> Record | None:
        return self.get(key)

    def due(self, owner: str, now: datetime, *, limit: int) -> list[str]:
        with self._lock:
            waiting = [
                (record.index_at, key)
                for key, record in self.records.items()
                if record.owner == owner and record.index_at is not None and record.index_at <= now
            ]
        return [key for _, key in sorted(waiting)[:limit]]

    def open(
        self, subject: Subject, *, holder: str, lease_until: datetime, now: datetime
    ) -> Record | None:
        with self._lock:
            existing = self.records.get(subject.key)
            if existing is not None:
                return subject.recognise(existing, holder)
            record = subject.opened(holder=holder, lease_until=lease_until, now=now)
            self.records[subject.key] = record
            return record

    def _change(self, key: str, name: str, entry: Entry) -> Record:
        record = self.records[key]
        entries = tuple(entry if old.name == name else old for old in record.entries)
        changed = replace(record, entries=entries)
        if not changed.open_count:
            changed = replace(changed, index_at=None)
        self.records[key] = changed
        return changed

    def _change_each(
        self, key: str, names: Sequence[str], change: Callable[[Entry], Entry]
    ) -> Record:
        record = self.records[key]
        for name in names:
            record = self._change(key, name, change(record.entry(name)))
        return record

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
        with self._lock:
            record = self.records.get(seen.key)
            if record is None:
                return None
            if set(names) <= set(record.held_by(holder)):
                return record
            if not _as_seen(record, seen, names):
                return None
            return self._change_each(
                seen.key,
                names,
                lambda entry: replace(
                    entry,
                    state=State.CLAIMED,
                    holder=holder,
                    lease_until=lease_until,
                    attempts=entry.attempts + 1,
                    data=dict((data or {}).get(entry.name, entry.data)),
                ),
            )

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
        if state in OPEN_STATES:
            raise ValueError(f"finish() ends a claim, not {state}")
        if also:
            raise ValueError("The memory ledger cannot make another owner's writes.")
        with self._lock:
            record = self.records.get(key)
            if record is None:
                return None
            entry = record.entry(name)
            if entry.state is state and entry.holder == holder:
                return record
            if not entry.held_by(holder):
                return None
            return self._change(key, name, replace(entry, state=state, result=result))

    def settle(self, seen: Record, name: str, state: State) -> Record | None:
        with self._lock:
            record = self.records.get(seen.key)
            if record is None:
                return None
            if not _as_seen(record, seen, [name]):
                return None
            return self._change(seen.key, name, replace(record.entry(name), state=state))

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
        with self._lock:
            record = self.records.get(key)
            if record is None:
                return None
            entry = record.entry(name)
            if entry.state is State.DUE and entry.holder == holder:
                return record
            if not entry.held_by(holder):
                return None
            kept = entry.data if data is None else dict(data)
            return self._change(
                key,
                name,
                replace(entry, state=State.DUE, next_at=retry_at, error=error, data=kept),
            )

    def reschedule(self, record: Record, at: datetime) -> None:
        with self._lock:
            current = self.records.get(record.key)
            if current is not None and current.open_count:
                self.records[record.key] = replace(current, index_at=at)

    def rearm(self, seen: Record, names: Sequence[str], *, now: datetime) -> Record | None:
        with self._lock:
            record = self.records.get(seen.key)
            if record is None:
                return None
            seen.check_rearmable(names)
            if not _as_seen(record, seen, names):
                again = all(record.entry(name).rearmed for name in names)
                return record if again else None  # made due again already: ours
            record = self._change_each(
                seen.key,
                names,
                lambda entry: replace(
                    entry, state=State.DUE, attempts=0, holder=None, lease_until=None, next_at=now
                ),
            )
            if record.indexed:
                record = replace(record, index_at=now)
                self.records[seen.key] = record
            return record

    def every(self, *, read: Callable[[int], None] | None = None) -> Iterator[Record]:
        with self._lock:
            records = list(self.records.values())
        if read is not None:
            read(len(records))
        yield from records
