"""The ledger in the table: the one module that reads and writes the effect items.

One item per subject (docs/data-model.md)::

    pk = EFFECT#<subject>, sk = EFFECT
    entity = effect, subject, owner, data (ids to redo the effects), names (their order),
    effects = {<name>: {policy, state, attempts, holder, lease, next, result, error, data}},
    open (how many effects are due or claimed), created_at, expires_at (TTL),
    gsi5pk = DUE#<owner>, gsi5sk = <when to look at it next>#<subject>   (while open: see
                                                                         Listing)

Times inside ``effects`` are epoch milliseconds. The ``by_due`` index (``gsi5pk``,
``gsi5sk``) projects the keys only: changing an effect's state writes nothing to it (a write
to an index happens only when an item's projected attributes change), and the item leaves
it when nothing is open — a sparse index that holds only what a sweep has to look at.

Every change is one conditional ``UpdateItem`` on the item: on the effect's state and
attempts as the caller saw them (a claim), or on the caller holding it (done, released).
Writes are plain, not transactional (a transaction costs twice: "DynamoDB performs two
underlying reads or writes of every item in the transaction", developer guide,
"Capacity management for transactions"), except when a completion carries writes of
another owner that must happen with it.

Why one module: it is the whole boundary between the ledger and the table, each write's
condition beside the way it recognises its own earlier success; split, the two would drift.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from entraide.adapters.table import (
    BY_DUE,
    INDEX_KEYS,
    ConditionFailed,
    Item,
    Put,
    Table,
    TransactionCancelled,
    Update,
    Write,
)
from entraide.effects.model import (
    OPEN_STATES,
    Entry,
    LedgerStore,
    Policy,
    Record,
    State,
    Subject,
)
from entraide.kernel.times import epoch, iso, parse_iso

EFFECT_PREFIX = "EFFECT#"
EFFECT_SORT = "EFFECT"
DUE_PREFIX = "DUE#"
#: Sorts after any subject key: ``<time>#~`` bounds every subject due at that time.
_AFTER_ALL = "~"


def effect_key(subject: str) -> Item:
    return {"pk": f"{EFFECT_PREFIX}{subject}", "sk": EFFECT_SORT}


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _moment(ms: Any) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(int(ms) / 1000, UTC)


def _wake_text(moment: datetime) -> str:
    """Milliseconds, fixed width: the index's sort key sorts as time."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def _index_sort(moment: datetime, subject: str) -> str:
    return f"{_wake_text(moment)}#{subject}"


def _entry_item(entry: Entry) -> Item:
    item: Item = {
        "policy": entry.policy.value,
        "state": entry.state.value,
        "attempts": entry.attempts,
    }
    if entry.holder is not None:
        item["holder"] = entry.holder
    if entry.lease_until is not None:
        item["lease"] = _ms(entry.lease_until)
    if entry.next_at is not None:
        item["next"] = _ms(entry.next_at)
    if entry.data:
        item["data"] = dict(entry.data)
    return item


def _entry_from(name: str, item: Mapping[str, Any]) -> Entry:
    return Entry(
        name=name,
        policy=Policy(item["policy"]),
        state=State(item["state"]),
        attempts=int(item.get("attempts", 0)),
        holder=item.get("holder"),
        lease_until=_moment(item.get("lease")),
        next_at=_moment(item.get("next")),
        result=item.get("result"),
        error=item.get("error"),
        data=dict(item.get("data") or {}),
    )


def record_from_item(item: Mapping[str, Any]) -> Record:
    effects = item.get("effects") or {}
    names = list(item.get("names") or effects)
    index_at = None
    sort = item.get(INDEX_KEYS[BY_DUE][1])
    if isinstance(sort, str) and sort:
        index_at = parse_iso(sort.partition("#")[0])
    return Record(
        key=str(item["subject"]),
        owner=str(item["owner"]),
        entries=tuple(_entry_from(name, effects[name]) for name in names if name in effects),
        data=dict(item.get("data") or {}),
        index_at=index_at,
        indexed=bool(item.get("indexed", True)),
    )


def _opening_put(subject: Subject, record: Record, now: datetime) -> Put:
    """The one write that records ``subject`` as ``record`` (its item, see the module
    documentation), if it was never recorded."""
    item: Item = {
        **effect_key(subject.key),
        "entity": "effect",
        "subject": subject.key,
        "owner": subject.owner,
        "data": dict(subject.data),
        "names": [entry.name for entry in record.entries],
        "effects": {entry.name: _entry_item(entry) for entry in record.entries},
        "open": len(record.entries),
        "indexed": record.indexed,
        "created_at": iso(now),
        "expires_at": epoch(now + subject.memory),
    }
    if record.index_at is not None:
        partition, sort = INDEX_KEYS[BY_DUE]
        item[partition] = f"{DUE_PREFIX}{subject.owner}"
        item[sort] = _index_sort(record.index_at, subject.key)
    return Put(item=item, condition="attribute_not_exists(pk)")


def opening_write(subject: Subject, *, now: datetime) -> Put:
    """The write that records ``subject`` inside another owner's transaction (an approval
    records that its post must be matched): the subject then exists exactly when that
    change does. Its effects all wait for their delay, held by nobody; the owner's sweep
    does them. Fails in the transaction if the subject was recorded before."""
    if not all(effect.delay for effect in subject.effects):
        raise ValueError(f"Only effects that wait can be recorded by another: {subject.key}")
    return _opening_put(subject, subject.opened(holder="", lease_until=now, now=now), now)


class _Path:
    """Expression names for the paths of one effect (``#effects.#e0.#state``...), each
    declared when used: DynamoDB refuses a name an expression does not use."""

    FIELDS = frozenset({"state", "attempts", "holder", "lease", "next", "result", "error", "data"})

    def __init__(self, names: dict[str, str], name: str, slot: int) -> None:
        self._names = names
        self.tag = f"#e{slot}"
        names[self.tag] = name
        names["#effects"] = "effects"

    def __getattr__(self, field: str) -> str:
        if field not in _Path.FIELDS:
            raise AttributeError(field)
        self._names[f"#{field}"] = field
        return f"#effects.{self.tag}.#{field}"


class DynamoDBLedgerStore(LedgerStore):
    """The ledger in the single table (see the module documentation)."""

    def __init__(self, table: Table) -> None:
        self.table = table

    # -- reading -----------------------------------------------------------------------
    def get(self, key: str) -> Record | None:
        item = self.table.get(effect_key(key))
        return record_from_item(item) if item else None

    def peek(self, key: str) -> Record | None:
        # Eventually consistent, half a read unit: "the responses may not reflect the results
        # of a recently completed write operation" (DynamoDB Developer Guide, "DynamoDB read
        # consistency"); a subject missed is opened again, and open's condition refuses it.
        # The whole item costs what its key alone would ("rounded up to the next 4 KB").
        item = self.table.get(effect_key(key), consistent=False)
        return record_from_item(item) if item else None

    def due(self, owner: str, now: datetime, *, limit: int) -> list[str]:
        partition, sort = INDEX_KEYS[BY_DUE]
        items = self.table.query(
            "#pk = :pk AND #sk <= :bound",
            {":pk": f"{DUE_PREFIX}{owner}", ":bound": f"{_wake_text(now)}#{_AFTER_ALL}"},
            names={"#pk": partition, "#sk": sort},
            index=BY_DUE,
            limit=limit,
        )
        return [str(item["pk"]).removeprefix(EFFECT_PREFIX) for item in items]

    # -- writing -----------------------------------------------------------------------
    def open(
        self, subject: Subject, *, holder: str, lease_until: datetime, now: datetime
    ) -> Record | None:
        record = subject.opened(holder=holder, lease_until=lease_until, now=now)
        try:
            self.table.write(_opening_put(subject, record, now))
        except ConditionFailed:
            existing = self.get(subject.key)
            return None if existing is None else subject.recognise(existing, holder)
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
        expression_names: dict[str, str] = {}
        values: Item = {
            ":claimed": State.CLAIMED.value,
            ":holder": holder,
            ":lease": _ms(lease_until),
        }
        sets: list[str] = []
        for slot, name in enumerate(names):
            path = _Path(expression_names, name, slot)
            values[f":n{slot}"] = seen.entry(name).attempts + 1
            sets += [
                f"{path.state} = :claimed",
                f"{path.holder} = :holder",
                f"{path.lease} = :lease",
                f"{path.attempts} = :n{slot}",
            ]
            if data is not None and name in data:
                values[f":d{slot}"] = dict(data[name])
                sets.append(f"{path.data} = :d{slot}")
        return self._change_as_seen(
            seen,
            names,
            "SET " + ", ".join(sets),
            expression_names,
            values,
            ours=lambda current: set(names) <= set(current.held_by(holder)),
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
        names: dict[str, str] = {"#open": "open"}
        path = _Path(names, name, 0)
        values: Item = {
            ":state": state.value,
            ":claimed": State.CLAIMED.value,
            ":holder": holder,
            ":minus": -1,
        }
        sets = [f"{path.state} = :state"]
        if result is not None:
            values[":result"] = result
            sets.append(f"{path.result} = :result")
        condition = f"{path.state} = :claimed AND {path.holder} = :holder"
        expression = "SET " + ", ".join(sets) + " ADD #open :minus"
        if last:
            values[":one"] = 1
            condition += " AND #open = :one"
            expression += " REMOVE " + ", ".join(INDEX_KEYS[BY_DUE])  # nothing if absent
        update = Update(
            key=effect_key(key),
            expression=expression,
            condition=condition,
            names=names,
            values=values,
        )
        try:
            record = self._apply(update, also)
        except (ConditionFailed, TransactionCancelled) as failure:
            if isinstance(failure, TransactionCancelled) and (
                not failure.reasons or failure.reasons[0] != "ConditionalCheckFailed"
            ):
                raise
            current = self.get(key)
            if current is None:
                return None
            entry = current.entry(name)
            if entry.state is state and entry.holder == holder:
                return self._leave_index_if_closed(current)  # ours, answer lost
            if last and entry.held_by(holder):  # not the last open one after all
                return self.finish(key, name, state, holder=holder, result=result, also=also)
            return None
        return self._leave_index_if_closed(record)

    def settle(self, seen: Record, name: str, state: State) -> Record | None:
        entry = seen.entry(name)
        names: dict[str, str] = {"#open": "open"}
        path = _Path(names, name, 0)
        update = Update(
            key=effect_key(seen.key),
            expression=f"SET {path.state} = :state ADD #open :minus",
            condition=f"{path.state} = :seen AND {path.attempts} = :attempts",
            names=names,
            values={
                ":state": state.value,
                ":seen": entry.state.value,
                ":attempts": entry.attempts,
                ":minus": -1,
            },
        )
        try:
            record = self._apply(update, ())
        except ConditionFailed:
            return None
        return self._leave_index_if_closed(record)

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
        names: dict[str, str] = {}
        path = _Path(names, name, 0)
        values: Item = {
            ":due": State.DUE.value,
            ":next": _ms(retry_at),
            ":error": error,
            ":claimed": State.CLAIMED.value,
            ":holder": holder,
        }
        expression = f"SET {path.state} = :due, {path.next} = :next, {path.error} = :error"
        if data is not None:
            values[":data"] = dict(data)
            expression += f", {path.data} = :data"
        update = Update(
            key=effect_key(key),
            expression=expression,
            condition=f"{path.state} = :claimed AND {path.holder} = :holder",
            names=names,
            values=values,
        )
        try:
            return self._apply(update, ())
        except ConditionFailed:
            current = self.get(key)
            if current is not None:
                entry = current.entry(name)
                if entry.state is State.DUE and entry.holder == holder:
                    return current  # ours, answer lost
            return None

    def reschedule(self, record: Record, at: datetime) -> None:
        partition, sort = INDEX_KEYS[BY_DUE]
        try:
            self.table.write(
                Update(
                    key=effect_key(record.key),
                    # the partition too: a subject listed only when left enters the index here
                    expression="SET #partition = :partition, #sort = :sort",
                    condition="#open > :zero",
                    names={"#partition": partition, "#sort": sort, "#open": "open"},
                    values={
                        ":partition": f"{DUE_PREFIX}{record.owner}",
                        ":sort": _index_sort(at, record.key),
                        ":zero": 0,
                    },
                )
            )
        except ConditionFailed:
            return  # nothing open any more: it stays out of the index

    def rearm(self, seen: Record, names: Sequence[str], *, now: datetime) -> Record | None:
        expression_names: dict[str, str] = {"#open": "open"}
        values: Item = {":due": State.DUE.value, ":zero": 0, ":next": _ms(now), ":n": len(names)}
        sets: list[str] = []
        removes: list[str] = []
        seen.check_rearmable(names)
        for slot, name in enumerate(names):
            path = _Path(expression_names, name, slot)
            sets += [f"{path.state} = :due", f"{path.attempts} = :zero", f"{path.next} = :next"]
            removes += [path.holder, path.lease]
        if seen.indexed:  # listed for the owner's sweep, due now
            partition, sort = INDEX_KEYS[BY_DUE]
            expression_names |= {"#partition": partition, "#sort": sort}
            values[":partition"] = f"{DUE_PREFIX}{seen.owner}"
            values[":sort"] = _index_sort(now, seen.key)
            sets += ["#partition = :partition", "#sort = :sort"]
        return self._change_as_seen(
            seen,
            names,
            f"SET {', '.join(sets)} REMOVE {', '.join(removes)} ADD #open :n",
            expression_names,
            values,
            ours=lambda current: all(current.entry(name).rearmed for name in names),
        )

    def every(self, *, read: Callable[[int], None] | None = None) -> Iterator[Record]:
        total = 0
        for items, scanned in self.table.scan_pages(
            filter="begins_with(pk, :effect)", values={":effect": EFFECT_PREFIX}
        ):
            total += scanned
            if read is not None:
                read(total)
            yield from (record_from_item(item) for item in items)

    # -- shared steps --------------------------------------------------------------------
    def _change_as_seen(
        self,
        seen: Record,
        names: Sequence[str],
        expression: str,
        expression_names: dict[str, str],
        values: Item,
        *,
        ours: Callable[[Record], bool],
    ) -> Record | None:
        """Apply ``expression`` if each effect of ``names`` is still as ``seen`` shows it
        (its state and attempts); when it is not, the subject as it now is if ``ours`` says
        the change is there already (a write whose answer was lost), else None."""
        conditions = []
        for slot, name in enumerate(names):
            entry, path = seen.entry(name), _Path(expression_names, name, slot)
            values[f":s{slot}"] = entry.state.value
            values[f":a{slot}"] = entry.attempts
            conditions.append(f"{path.state} = :s{slot} AND {path.attempts} = :a{slot}")
        try:
            changed = self.table.write(
                Update(
                    key=effect_key(seen.key),
                    expression=expression,
                    condition=" AND ".join(conditions),
                    names=expression_names,
                    values=values,
                ),
                returns="ALL_NEW",
            )
        except ConditionFailed:
            current = self.get(seen.key)
            return current if current is not None and ours(current) else None
        assert changed is not None
        return record_from_item(changed)

    def _apply(self, update: Update, also: Sequence[Write]) -> Record:
        if also:
            self.table.transact([update, *also])
            record = self.get(str(update.key["pk"]).removeprefix(EFFECT_PREFIX))
            if record is None:  # expired by TTL in between: nothing to tell
                raise ConditionFailed()
            return record
        changed = self.table.write(update, returns="ALL_NEW")
        assert changed is not None
        return record_from_item(changed)

    def _leave_index_if_closed(self, record: Record) -> Record:
        """Nothing open any more: out of the sweep's index (a sparse index)."""
        if record.open_count or record.index_at is None:
            return record
        try:
            self.table.write(
                Update(
                    key=effect_key(record.key),
                    expression="REMOVE " + ", ".join(INDEX_KEYS[BY_DUE]),
                    condition="#open = :zero",
                    names={"#open": "open"},
                    values={":zero": 0},
                )
            )
        except ConditionFailed:
            return record  # reopened meanwhile: it stays
        return replace(record, index_at=None)
