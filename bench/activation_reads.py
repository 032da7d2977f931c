"""What one activate run reads, against the number of activations closed in the past.

A run reads the open activations and those closed within the last days (to keep an
operator's early closing from being reopened at the same version). The status index sorts
closed activations by their closing, so the run asks only for those closed since then;
before, it read every closed activation ever and filtered them in code.

For 0, 1,000 and 5,000 activations closed long ago (each with three alert records, as the
feeds leave them), plus a handful open and recently closed, this prints, per run:

* items read and the read units they cost: a Query costs the size of the items it reads,
  summed and rounded up to the next 4 KB, half a unit per 4 KB when eventually consistent
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html);
  item sizes are estimated from DynamoDB's sizing rules (names and values in bytes);
* the CPU time of the run's planning (the read, the plan; no source is read);
* the same for the read of every closed activation, as the code did before.

Moto, in process, with the table of template.yaml. Figures are items and units, which do
not depend on the machine; the CPU times do.

    .venv/bin/python bench/activation_reads.py [--closed 0,1000,5000]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from _moto import moto_table

from entraide.activation.activation_store import (
    ActivationStore,
    activation_to_item,
    alert_record_from_item,
    alert_record_to_item,
)
from entraide.activation.feed import CLOSED_MEMORY
from entraide.activation.planner import plan
from entraide.activation.rules import ActivationRules, AlertRecord
from entraide.adapters.table import BATCH_SIZE, BY_STATUS, Item, Table
from entraide.kernel.model import Activation, AlertLevel, Hazard
from entraide.kernel.times import parse_iso

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
RULES = ActivationRules()
DEPARTEMENTS = ("11", "34", "66", "30", "13", "83", "06", "2A", "2B", "84")


def item_size(value: Any) -> int:
    """Bytes DynamoDB counts for a value (strings UTF-8, numbers about 1 byte per two
    digits plus one, lists and maps 3 bytes plus 1 per element)."""
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float | Decimal):
        return math.ceil(len(str(value).lstrip("-").replace(".", "")) / 2) + 1
    if isinstance(value, Mapping):
        return 3 + sum(len(k.encode()) + item_size(v) + 1 for k, v in value.items())
    if isinstance(value, list | tuple):
        return 3 + sum(item_size(v) + 1 for v in value)
    return len(str(value))


def read_units(items: list[Item]) -> float:
    size = sum(item_size(item) for item in items)
    return math.ceil(size / 4096) * 0.5 if size else 0.5


class Counting(Table):
    """The table, counting the items every Query reads and what they cost."""

    def __init__(self, table_name: str, client: Any) -> None:
        super().__init__(table_name, client)
        self.items = 0
        self.units = 0.0

    def query_pages(self, *args: Any, **kwargs: Any) -> Iterator[tuple[list[Item], int]]:
        for items, scanned in super().query_pages(*args, **kwargs):
            self.items += scanned
            self.units += read_units(items)
            yield items, scanned


def records(n: int, at: datetime) -> tuple[AlertRecord, ...]:
    return tuple(
        AlertRecord(
            key=f"meteofrance:mf:{DEPARTEMENTS[(n + k) % 10]}:2",
            source="meteofrance",
            version=at.isoformat(),
            level=AlertLevel.ORANGE,
            departements=(DEPARTEMENTS[(n + k) % 10],),
            onset=at,
            expires=at + timedelta(hours=18),
            ended_at=at + timedelta(hours=12),
            headline="Vigilance orange pluie-inondation : Aude",
            hazard=Hazard.PLUIE_INONDATION,
        )
        for k in range(3)
    )


def closed_item(n: int) -> Item:
    opened = NOW - timedelta(days=30 + n % 900)
    activation = Activation(
        id=f"OLD{n:06d}",
        hazard=Hazard.PLUIE_INONDATION,
        departements=(DEPARTEMENTS[n % 10],),
        level=AlertLevel.ORANGE,
        hashtag="#InondationsAude",
        opened_at=opened,
        closed_at=opened + timedelta(days=3),
        origin="meteofrance",
        sources=("meteofrance",),
    )
    item = activation_to_item(activation)
    item["alerts"] = [alert_record_to_item(record) for record in records(n, opened)]
    return item


def fill(table: Table, closed: int) -> None:
    store = ActivationStore(table)
    for n in range(3):  # a few open feed activations and one closed yesterday
        activation = Activation(
            id=f"OPEN{n}",
            hazard=Hazard.PLUIE_INONDATION,
            departements=(DEPARTEMENTS[n],),
            level=AlertLevel.ORANGE,
            hashtag="#InondationsAude",
            opened_at=NOW - timedelta(hours=6),
            origin="meteofrance",
            sources=("meteofrance",),
        )
        store.create_feed_activation(activation, records(n, NOW - timedelta(hours=6)))
    store.close_activation("OPEN2", NOW - timedelta(days=1))
    requests = [{"PutRequest": {"Item": table.serialise(closed_item(n))}} for n in range(closed)]
    for start in range(0, len(requests), BATCH_SIZE):
        table.client.batch_write_item(
            RequestItems={table.table_name: requests[start : start + BATCH_SIZE]}
        )


def measure(table: Counting) -> tuple[int, float, float, int]:
    """The run's read and plan: items, read units, CPU ms, activations looked at."""
    table.items, table.units = 0, 0.0
    started = time.process_time()
    since = NOW - RULES.neighbouring - CLOSED_MEMORY
    tracked = ActivationStore(table).tracked_activations(closed_since=since)
    plan({"meteofrance": []}, tracked, now=NOW, rules=RULES)
    return table.items, table.units, (time.process_time() - started) * 1000, len(tracked)


def measure_before(table: Counting) -> tuple[int, float, float]:
    """What the run read before: the open ones and every closed one, kept if recent."""
    table.items, table.units = 0, 0.0
    started = time.process_time()
    since = NOW - RULES.neighbouring - CLOSED_MEMORY
    for state in ("open", "closed"):
        items = table.query("gsi1pk = :pk", {":pk": f"ACTIVATION#{state}"}, index=BY_STATUS)
        [
            (item, [alert_record_from_item(a) for a in item.get("alerts", ())])
            for item in items
            if state == "open" or parse_iso(item["closed_at"]) >= since
        ]
    return table.items, table.units, (time.process_time() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--closed", default="0,1000,5000")
    args = parser.parse_args()

    print("closed long ago | a run now: items read, read units, CPU | before: items, units, CPU")
    for closed in (int(n) for n in args.closed.split(",")):
        with moto_table(Counting) as table:
            assert isinstance(table, Counting)
            fill(table, closed)
            items, units, cpu, tracked = measure(table)
            before_items, before_units, before_cpu = measure_before(table)
        print(
            f"{closed:>15,} | {items:>5} items {units:>6.1f} RU {cpu:>7.1f} ms "
            f"({tracked} activations looked at) | {before_items:>5} items "
            f"{before_units:>6.1f} RU {before_cpu:>7.1f} ms"
        )


if __name__ == "__main__":
    main()
