"""The X posting budget in the table: the one module that reads and writes the quota items.

Items (one partition per budget, ``pk = QUOTA#<name>``): ``sk = <window>#<bucket start>``
(``15m#2026-11-26T10:17:00Z``, ``24h#2026-11-26T10:15:00Z``, ``month#2026-11-01T00:00:00Z``)
with ``count`` and the TTL ``expires_at``; ``sk = blocked`` with ``until`` / ``until_epoch``.

Spending is atomic without summing inside DynamoDB (see :mod:`.quota`): one
``TransactWriteItems`` increments the current bucket of each window under the condition
``count < limit - past buckets`` and checks the "blocked until" item; a unit is spent in
every window or in none.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Self

from entraide.adapters.table import (
    Check,
    ConditionFailed,
    Item,
    Table,
    TransactionCancelled,
    Update,
    Write,
)
from entraide.kernel.times import epoch, iso, parse_iso
from entraide.publishing.quota import (
    TTL_MARGIN,
    Counts,
    Denied,
    QuotaLimits,
    Reservation,
    evaluate,
    units_left,
)

BLOCKED = "blocked"


class DynamoDBBudget:
    """The budget shared by every relay instance, in the single table (see module doc)."""

    max_attempts = 5

    def __init__(self, table: Table, limits: QuotaLimits, name: str = "x-posting") -> None:
        self.table = table
        self._limits = limits
        self._windows = limits.windows()
        self.name = name
        self.pk = f"QUOTA#{name}"

    @property
    def limits(self) -> QuotaLimits:
        return self._limits

    def _key(self, sk: str) -> Item:
        return {"pk": self.pk, "sk": sk}

    # -- reading -----------------------------------------------------------
    def _query(self, low: str, high: str) -> Iterator[Item]:
        return self.table.query(
            "pk = :pk AND sk BETWEEN :low AND :high",
            {":pk": self.pk, ":low": low, ":high": high},
            consistent=True,
        )

    def _read(self, now: datetime) -> tuple[Counts, datetime | None]:
        counts: Counts = {}
        month_key = BLOCKED
        for window in self._windows:
            if window.bucket is None:
                month_key = window.key(window.bucket_of(now))
                continue
            first, current = window.span(now)
            for item in self._query(window.key(first), window.key(current)):
                _, _, start = item["sk"].partition("#")
                counts[(window.name, parse_iso(start))] = int(item.get("count", 0))
        blocked: datetime | None = None
        # "blocked" sorts before "month#…": one query reads both (and any stale month).
        for item in self._query(BLOCKED, month_key):
            sk = item["sk"]
            if sk == BLOCKED and "until_epoch" in item:
                blocked = datetime.fromtimestamp(int(item["until_epoch"]), UTC)
            elif sk == month_key and sk != BLOCKED:
                counts[("month", parse_iso(sk.partition("#")[2]))] = int(item["count"])
        return counts, blocked

    # -- spending ----------------------------------------------------------
    def reserve(self, now: datetime) -> Reservation | Denied:
        by_name = {window.name: window for window in self._windows}
        for attempt in range(self.max_attempts):
            counts, blocked = self._read(now)
            verdict = evaluate(self._windows, counts, blocked, now)
            if isinstance(verdict, Denied):
                return verdict
            if not verdict:
                return Reservation(now, ())
            updates: list[Write] = [
                Update(
                    key=self._key(by_name[name].key(start)),
                    expression="ADD #count :one SET entity = :entity, expires_at = :expires",
                    condition="attribute_not_exists(#count) OR #count < :allowed",
                    names={"#count": "count"},
                    values={
                        ":one": 1,
                        ":allowed": allowed,
                        ":entity": "quota",
                        ":expires": by_name[name].expires_at(start),
                    },
                )
                for name, (start, allowed) in verdict.items()
            ]
            updates.append(
                Check(
                    key=self._key(BLOCKED),
                    condition="attribute_not_exists(until_epoch) OR until_epoch <= :now",
                    values={":now": math.floor(now.timestamp())},
                )
            )
            try:
                self.table.transact(updates)
            except TransactionCancelled:
                # Another relay spent the last unit or blocked the budget meanwhile: read again.
                time.sleep(0.02 * attempt)
                continue
            return Reservation(now, tuple((name, start) for name, (start, _) in verdict.items()))
        return Denied(now + timedelta(seconds=5), "contention")

    def release(self, reservation: Reservation) -> None:
        by_name = {window.name: window for window in self._windows}
        for name, start in reservation.buckets:
            # nothing to give back when the count is already 0
            with contextlib.suppress(ConditionFailed):
                self.table.write(
                    Update(
                        key=self._key(by_name[name].key(start)),
                        expression="ADD #count :minus",
                        condition="#count > :zero",
                        names={"#count": "count"},
                        values={":minus": -1, ":zero": 0},
                    )
                )

    def block_until(self, at: datetime, now: datetime) -> None:
        # a failed condition: already blocked for longer
        with contextlib.suppress(ConditionFailed):
            self.table.write(
                Update(
                    key=self._key(BLOCKED),
                    expression="SET until_epoch = :until, #until = :iso, entity = :entity, "
                    "expires_at = :expires, blocked_at = :now",
                    condition="attribute_not_exists(until_epoch) OR until_epoch < :until",
                    names={"#until": "until"},
                    values={
                        ":until": math.ceil(at.timestamp()),
                        ":iso": iso(at),
                        ":entity": "quota",
                        ":expires": epoch(at + TTL_MARGIN),
                        ":now": iso(now),
                    },
                )
            )

    def remaining(self, now: datetime) -> int:
        counts, blocked = self._read(now)
        return units_left(self._windows, counts, blocked, now)

    @classmethod
    def from_setting(cls, table: Table, setting: str, name: str = "x-posting") -> Self:
        return cls(table, QuotaLimits.parse(setting), name)
