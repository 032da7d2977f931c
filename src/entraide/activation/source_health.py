"""Each alert source's health, kept in the table: the one module that reads and writes it.

``pk = SOURCE-HEALTH``, ``sk = <source name>``: when it was last read well (and what that
reading was: produced when, how many alerts), how many reads in a row failed, since when,
and the last error. The ``activate`` function records every run's outcome (one write per
source); operators read it with ``entraide sources status``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from entraide.activation.alerts.model import Reading, SourceError
from entraide.adapters.table import Table, Update
from entraide.kernel.times import iso, parse_iso

HEALTH_PARTITION = "SOURCE-HEALTH"
_ERROR_LENGTH = 500  # an error message is kept whole up to this


@dataclass(frozen=True, slots=True)
class SourceHealth:
    name: str
    last_read_at: datetime | None = None
    last_ok_at: datetime | None = None
    last_produced_at: datetime | None = None
    last_alerts: int | None = None
    consecutive_failures: int = 0
    failing_since: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None


def _moment(item: Mapping[str, Any], name: str) -> datetime | None:
    value = item.get(name)
    return parse_iso(value) if value else None


def health_from_item(item: Mapping[str, Any]) -> SourceHealth:
    return SourceHealth(
        name=str(item["sk"]),
        last_read_at=_moment(item, "last_read_at"),
        last_ok_at=_moment(item, "last_ok_at"),
        last_produced_at=_moment(item, "last_produced_at"),
        last_alerts=int(item["last_alerts"]) if "last_alerts" in item else None,
        consecutive_failures=int(item.get("consecutive_failures", 0)),
        failing_since=_moment(item, "failing_since"),
        last_error=item.get("last_error"),
        last_error_at=_moment(item, "last_error_at"),
    )


class SourceHealthStore:
    """The health of the alert sources, in the single table."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def record(self, name: str, outcome: Reading | SourceError, at: datetime) -> SourceHealth:
        """One read of ``name`` at ``at``: a good reading resets the failures, an error
        adds one (and starts ``failing_since`` if it is the first)."""
        key = {"pk": HEALTH_PARTITION, "sk": name}
        if isinstance(outcome, SourceError):
            update = Update(
                key=key,
                expression=(
                    "SET last_read_at = :at, last_error = :error, last_error_at = :at, "
                    "consecutive_failures = if_not_exists(consecutive_failures, :zero) + :one, "
                    "failing_since = if_not_exists(failing_since, :at)"
                ),
                values={
                    ":at": iso(at),
                    ":error": outcome.message[:_ERROR_LENGTH],
                    ":zero": 0,
                    ":one": 1,
                },
            )
        else:
            values: dict[str, Any] = {":at": iso(at), ":zero": 0, ":alerts": len(outcome.alerts)}
            expression = (
                "SET last_read_at = :at, last_ok_at = :at, consecutive_failures = :zero, "
                "last_alerts = :alerts"
            )
            if outcome.produced_at is not None:
                values[":produced"] = iso(outcome.produced_at)
                expression += ", last_produced_at = :produced"
            update = Update(key=key, expression=expression + " REMOVE failing_since", values=values)
        changed = self.table.write(update, returns="ALL_NEW")
        assert changed is not None
        return health_from_item(changed)

    def all(self) -> list[SourceHealth]:
        """The health of every source ever recorded (one small partition)."""
        items = self.table.query("pk = :pk", {":pk": HEALTH_PARTITION}, consistent=True)
        return [health_from_item(item) for item in items]
