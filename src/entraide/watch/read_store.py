"""X's reads for the watch in the table: the one module that reads and writes them.

Per X search source, one item per day (``pk = WATCH-READS#<source>``, ``sk = DAY#<date>``)
holds ``spent`` (millidollars), with the TTL ``expires_at`` two days later; one item
(``sk = SINCE``) holds ``since_id``, the newest post read. A reservation is one
``UpdateItem`` (``ADD spent``) under the condition that the sum stays within the budget:
two runs at once cannot both pass it.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from entraide.adapters.table import ConditionFailed, Table, Update

WATCH_READS_PREFIX: Final = "WATCH-READS#"
SINCE: Final = "SINCE"
KEPT_FOR: Final = timedelta(days=2)


def _day_key(source_id: str, day: date) -> dict[str, str]:
    return {"pk": f"{WATCH_READS_PREFIX}{source_id}", "sk": f"DAY#{day.isoformat()}"}


class TableXReadState:
    """The watch's X read state shared by every run (see module doc)."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def reserve(self, source_id: str, day: date, amount: int, budget: int) -> int | None:
        if amount > budget:  # the condition lets a day's first write through
            return None
        expires = datetime.combine(day, time(), UTC) + KEPT_FOR
        try:
            item = self.table.write(
                Update(
                    key=_day_key(source_id, day),
                    expression="ADD spent :amount SET entity = :entity, expires_at = :expires",
                    condition="attribute_not_exists(spent) OR spent <= :left",
                    values={
                        ":amount": amount,
                        ":left": budget - amount,
                        ":entity": "watch-reads",
                        ":expires": int(expires.timestamp()),
                    },
                ),
                returns="ALL_NEW",
            )
        except ConditionFailed:
            return None
        return int((item or {}).get("spent", amount)) - amount

    def settle(self, source_id: str, day: date, refund: int, since_id: str | None) -> None:
        if refund:
            self.table.write(
                Update(
                    key=_day_key(source_id, day),
                    expression="ADD spent :minus",
                    values={":minus": -refund},
                )
            )
        if since_id:
            # X's ids grow with time: keep the newest, whatever order runs end in.
            with contextlib.suppress(ConditionFailed):
                self.table.write(
                    Update(
                        key={"pk": f"{WATCH_READS_PREFIX}{source_id}", "sk": SINCE},
                        expression="SET since_id = :id, entity = :entity",
                        condition="attribute_not_exists(since_id) OR since_id < :id",
                        values={":id": int(since_id), ":entity": "watch-reads"},
                    )
                )

    def spent(self, source_id: str, day: date) -> int:
        item = self.table.get(_day_key(source_id, day))
        return int(item["spent"]) if item else 0

    def since_id(self, source_id: str) -> str | None:
        item = self.table.get({"pk": f"{WATCH_READS_PREFIX}{source_id}", "sk": SINCE})
        return str(int(item["since_id"])) if item and "since_id" in item else None
