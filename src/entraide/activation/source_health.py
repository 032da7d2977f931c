"""Each source's health, kept in the table: the one module that reads and writes it.

``pk = SOURCE-HEALTH``, ``sk = <source name>``: when it was last read well (and, for an
alert feed, what that reading was: produced when, how many alerts), how many reads in a row
failed, since when, and the last error. The ``activate`` function records every alert
feed's outcome (one write per source and run), ``blog_feed`` the blog's (``blog``), the
watch each collection's (``watch``: failed when any of its sources did); operators read it
with ``entraide sources status``.

**One alarm for every source.** A source that has failed for longer than its own tolerance
(:func:`flag_if_failing`) adds ``SourceFailing = 1`` at each failed read; the template's
``SourceFailingAlarm`` watches that one metric. The tolerance is the source's, not the
alarm's: an hour for an alert feed read every quarter of an hour, three hourly readings
for the blog, four collections for the watch. Which source it is stays in the log line
of each failure and in ``entraide sources status``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from entraide.activation.alerts.model import Reading, SourceError
from entraide.adapters.table import Table, Update
from entraide.kernel.times import iso, parse_iso

HEALTH_PARTITION = "SOURCE-HEALTH"
HEALTH_ENTITY = "source-health"
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


def flag_if_failing(
    health: SourceHealth, *, after: int, metric: Callable[[str, float], None]
) -> bool:
    """Adds ``SourceFailing = 1`` when ``health`` counts ``after`` failed reads in a row or
    more; says whether it did. Nothing is added otherwise: a metric is billed only while
    it is emitted, and the alarm treats missing data as good news."""
    failing = health.consecutive_failures >= after
    if failing:
        metric("SourceFailing", 1)
    return failing


class SourceHealthStore:
    """The health of the sources, in the single table."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def record(self, name: str, outcome: Reading | SourceError, at: datetime) -> SourceHealth:
        """One read of the alert source ``name`` at ``at``: a good reading resets the
        failures, an error adds one (and starts ``failing_since`` if it is the first)."""
        if isinstance(outcome, SourceError):
            return self.failed(name, outcome.message, at)
        return self.read_well(name, at, alerts=len(outcome.alerts), produced_at=outcome.produced_at)

    def failed(self, name: str, error: str, at: datetime) -> SourceHealth:
        """A failed read of ``name``: one more failure in a row, ``failing_since`` kept."""
        update = Update(
            key={"pk": HEALTH_PARTITION, "sk": name},
            expression=(
                "SET entity = :entity, last_read_at = :at, last_error = :error, "
                "last_error_at = :at, "
                "consecutive_failures = if_not_exists(consecutive_failures, :zero) + :one, "
                "failing_since = if_not_exists(failing_since, :at)"
            ),
            values={
                ":entity": HEALTH_ENTITY,
                ":at": iso(at),
                ":error": error[:_ERROR_LENGTH],
                ":zero": 0,
                ":one": 1,
            },
        )
        return self._written(update)

    def read_well(
        self,
        name: str,
        at: datetime,
        *,
        alerts: int | None = None,
        produced_at: datetime | None = None,
    ) -> SourceHealth:
        """A good read of ``name``: the failures reset (with what an alert feed said)."""
        values: dict[str, Any] = {":entity": HEALTH_ENTITY, ":at": iso(at), ":zero": 0}
        expression = (
            "SET entity = :entity, last_read_at = :at, last_ok_at = :at, "
            "consecutive_failures = :zero"
        )
        if alerts is not None:
            values[":alerts"] = alerts
            expression += ", last_alerts = :alerts"
        if produced_at is not None:
            values[":produced"] = iso(produced_at)
            expression += ", last_produced_at = :produced"
        key = {"pk": HEALTH_PARTITION, "sk": name}
        return self._written(
            Update(key=key, expression=expression + " REMOVE failing_since", values=values)
        )

    def _written(self, update: Update) -> SourceHealth:
        changed = self.table.write(update, returns="ALL_NEW")
        assert changed is not None
        return health_from_item(changed)

    def all(self) -> list[SourceHealth]:
        """The health of every source ever recorded (one small partition)."""
        items = self.table.query("pk = :pk", {":pk": HEALTH_PARTITION}, consistent=True)
        return [health_from_item(item) for item in items]
