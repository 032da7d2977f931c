"""The X posting budget in the table: the one module that reads and writes the quota item.

One item per budget (``pk = QUOTA#<name>``, ``sk = BUDGET``): ``counts``, a map from a
window's bucket (``15m#2026-11-26T10:17:00Z``, ``24h#2026-11-26T10:15:00Z``,
``month#2026-11-01T00:00:00Z``) to the units spent in it; ``until_epoch`` / ``until``
while X's 429 blocks it; ``version``, bumped by every spend and block; the TTL
``expires_at``, after the last bucket stops counting.

Spending is read, decide, write: the item is read (strongly consistent), the windows are
judged (:func:`~entraide.publishing.quota.evaluate`), and one ``UpdateItem`` adds the unit
to the current bucket of every window (and drops the buckets that count no more) under the
condition that ``version`` is still the one read. Any other spend or block in between makes
the condition fail, and the spender reads again, with the clock read again: the moment that
picks a unit's buckets is read inside the spend. Two spenders either side of a bucket
boundary cannot overrun a cap (with one counter item per bucket, a late spender could still
add to a bucket the other had already counted as past). One item is also cheaper: one read
and one write a unit, where a transaction of one update per window cost twice each.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

from entraide.adapters.table import ConditionFailed, Item, Put, Table, Update
from entraide.kernel.times import iso, parse_iso, utcnow
from entraide.publishing.quota import (
    MONEY,
    TTL_MARGIN,
    Counts,
    Denied,
    Money,
    QuotaLimits,
    Reservation,
    blocks,
    evaluate,
    increments,
    is_stale,
    units_left,
)

if TYPE_CHECKING:
    from entraide.publishing.x_prices import Spender

BUDGET = "BUDGET"
QUOTA_PREFIX = "QUOTA#"

#: What a budget holds, as read: its counts, the end of X's block, its version.
State = tuple[Counts, datetime | None, int | None]


def _bucket(name: str, start: datetime) -> str:
    return f"{name}#{iso(start)}"


def _counts(raw: Mapping[str, Any]) -> Counts:
    counts: Counts = {}
    for key, count in raw.items():
        name, _, start = str(key).partition("#")
        counts[(name, parse_iso(start))] = int(count)
    return counts


class DynamoDBBudget:
    """The budget shared by every relay instance, in the single table (see module doc)."""

    max_attempts = 8
    #: How long (seconds) the budget as :meth:`remaining` read it stands for the first read
    #: of the next :meth:`reserve`: a relay asks what is left, then spends a unit, a moment
    #: apart. The spend's write holds it to the version read (and to no block since), so a
    #: unit spent or a block set by another relay meanwhile fails it, and the budget is
    #: read again as before: one strongly consistent read of the item instead of two.
    seen_for = 2.0

    def __init__(
        self,
        table: Table,
        limits: QuotaLimits,
        name: str = "x-posting",
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.table = table
        self._limits = limits
        self._windows = limits.windows()
        self._money = Money.of(limits)
        self.name = name
        self.key: Item = {"pk": f"{QUOTA_PREFIX}{name}", "sk": BUDGET}
        self.clock = clock
        self._seen: tuple[float, State] | None = None  # (monotonic time, what remaining read)

    @property
    def limits(self) -> QuotaLimits:
        return self._limits

    # -- reading -----------------------------------------------------------------------
    def _read(self, now: datetime) -> State:
        item = self.table.get(self.key) or {}
        blocked = (
            datetime.fromtimestamp(int(item["until_epoch"]), UTC) if "until_epoch" in item else None
        )
        version = int(item["version"]) if "version" in item else None
        return _counts(item.get("counts") or {}), blocked, version

    def _first_read(self, now: datetime) -> State:
        """The state :meth:`remaining` read a moment ago (once), else the item read now."""
        seen, self._seen = self._seen, None
        if seen is not None and time.monotonic() - seen[0] < self.seen_for:
            return seen[1]
        return self._read(now)

    def remaining(self, now: datetime | None = None, *, cost: int = 0) -> int:
        state = self._read(now or self.clock())
        self._seen = (time.monotonic(), state)
        counts, blocked, _ = state
        return units_left(
            self._windows, counts, blocked, now or self.clock(), money=self._money, cost=cost
        )

    def spent(self, now: datetime | None = None) -> int:
        """Millidollars spent this month (0 without a money budget)."""
        at = now or self.clock()
        counts, _, _ = self._read(at)
        return self._money.spent(counts, at) if self._money else 0

    # -- spending ----------------------------------------------------------------------
    def reserve(
        self, now: datetime | None = None, *, cost: int = 0, spender: Spender = "post"
    ) -> Reservation | Denied:
        """Spend one unit in every window or in none (and ``cost`` millidollars of a money
        budget); ``now`` only for tests: the budget reads its clock at each attempt, inside
        the spend."""
        by_name = {window.name: window for window in self._limits.all_windows()}
        for attempt in range(self.max_attempts):
            at = now or self.clock()
            counts, blocked, version = self._first_read(at) if attempt == 0 else self._read(at)
            verdict = evaluate(
                self._limits.windows_of(spender),
                counts,
                blocked,
                at,
                money=self._money,
                cost=cost,
                spender=spender,
            )
            if isinstance(verdict, Denied):
                return verdict
            if not verdict:
                return Reservation(at, ())
            buckets = tuple((name, start) for name, (start, _) in verdict.items())
            reservation = Reservation(at, buckets, cost if self._money else 0)
            stale = [
                (name, start) for (name, start) in counts if is_stale(name, start, by_name, at)
            ]
            expires = max(
                int((start + timedelta(days=32) + TTL_MARGIN).timestamp())
                if name == MONEY
                else by_name[name].expires_at(start)
                for name, start in buckets
            )
            try:
                self._spend(reservation, stale, version, at, expires, blocks(spender))
            except ConditionFailed:
                # Another relay spent or blocked meanwhile: read again (and the clock).
                time.sleep(0.01 * attempt)
                continue
            return reservation
        return Denied((now or self.clock()) + timedelta(seconds=5), "contention")

    def _spend(
        self,
        reservation: Reservation,
        stale: list[tuple[str, datetime]],
        version: int | None,
        at: datetime,
        expires: int,
        honour_block: bool = True,
    ) -> None:
        added = increments(reservation)
        if version is None:  # the first unit ever: the item is written whole
            item: Item = {
                **self.key,
                "entity": "quota",
                "counts": {_bucket(name, start): amount for (name, start), amount in added.items()},
                "version": 1,
                "expires_at": expires,
            }
            self.table.write(Put(item=item, condition="attribute_not_exists(pk)"))
            return
        names: dict[str, str] = {"#counts": "counts", "#version": "version"}
        values: Item = {":zero": 0, ":v": version, ":next": version + 1}
        sets = ["#version = :next", "expires_at = :expires"]
        values[":expires"] = expires
        for slot, ((name, start), amount) in enumerate(added.items()):
            names[f"#b{slot}"] = _bucket(name, start)
            values[f":a{slot}"] = amount
            sets.append(f"#counts.#b{slot} = if_not_exists(#counts.#b{slot}, :zero) + :a{slot}")
        removes = []
        for slot, (name, start) in enumerate(stale):
            names[f"#s{slot}"] = _bucket(name, start)
            removes.append(f"#counts.#s{slot}")
        expression = "SET " + ", ".join(sets)
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        if honour_block:  # a value the condition does not use is refused by DynamoDB
            values[":now"] = math.floor(at.timestamp())
        self.table.write(
            Update(
                key=self.key,
                expression=expression,
                condition="#version = :v AND (attribute_not_exists(until_epoch) "
                "OR until_epoch <= :now)"
                if honour_block
                else "#version = :v",
                names=names,
                values=values,
            )
        )

    def release(self, reservation: Reservation) -> None:
        """Give a unit back (X did not post): a release only makes others' checks stricter,
        so it needs no version."""
        for (name, start), amount in increments(reservation).items():
            # nothing to give back when the count is already that low (or the bucket gone)
            with contextlib.suppress(ConditionFailed):
                self.table.write(
                    Update(
                        key=self.key,
                        expression="SET #counts.#b = #counts.#b - :amount",
                        condition="#counts.#b >= :amount",
                        names={"#counts": "counts", "#b": _bucket(name, start)},
                        values={":amount": amount},
                    )
                )

    def block_until(self, at: datetime, now: datetime | None = None) -> None:
        # a failed condition: already blocked for longer
        with contextlib.suppress(ConditionFailed):
            self.table.write(
                Update(
                    key=self.key,
                    expression="SET until_epoch = :until, #until = :iso, entity = :entity, "
                    "#counts = if_not_exists(#counts, :empty), "
                    "#version = if_not_exists(#version, :zero) + :one, blocked_at = :now, "
                    "expires_at = if_not_exists(expires_at, :expires)",
                    condition="attribute_not_exists(until_epoch) OR until_epoch < :until",
                    names={"#until": "until", "#counts": "counts", "#version": "version"},
                    values={
                        ":until": math.ceil(at.timestamp()),
                        ":iso": iso(at),
                        ":entity": "quota",
                        ":empty": {},
                        ":zero": 0,
                        ":one": 1,
                        ":expires": int((at + TTL_MARGIN).timestamp()),
                        ":now": iso(now or self.clock()),
                    },
                )
            )

    @classmethod
    def from_setting(cls, table: Table, setting: str, name: str = "x-posting") -> Self:
        return cls(table, QuotaLimits.parse(setting), name)
