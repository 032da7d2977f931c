"""The relay's queue polled only while there is work: its event source mapping switched.

While its SQS event source mapping is enabled, Lambda long-polls the relay's queue whether
or not a message comes: with ``MaximumConcurrency`` set, five pollers, about 648,000
receives a month, $0.26 — most of what a sleeping month would cost beside its alarms
(bench/cost.py). A disabled mapping stops polling and the messages stay in the queue until
it is enabled again ("If you disable the event source mapping, Lambda stops polling. If you
enable again, it will resume polling": UpdateEventSourceMapping, Lambda API reference,
https://docs.aws.amazon.com/lambda/latest/api/API_UpdateEventSourceMapping.html). Nothing is
dropped while it sleeps: the queue keeps a message four days (``MessageRetentionPeriod``).

The activation_events function runs this check every five minutes and wakes the mapping at
once when an activation opens. There is work when:

- an activation is open, or was closed less than ``after_close`` ago (the retractions of
  the posts its closing expires come through the queue, a pass at a time);
- the queue holds a message: visible, in flight (a relay working on it) or delayed (a
  deferral: the relay re-sends a message it must come back to with ``DelaySeconds``, up to
  15 minutes; ``ApproximateNumberOfMessagesDelayed`` counts it, so the mapping stays awake
  until it is taken). The three counts are approximate and "may not achieve consistency
  until at least 1 minute after the producers stop sending messages" (GetQueueAttributes,
  SQS API reference): a message sent just before a check may be missed by it and waits,
  in the queue, for the next one.

Hysteresis, so that a trickle of messages does not flip the mapping at every check: an
enabled mapping is disabled only once there has been no work for ``hold`` (15 minutes, three
checks), counted from the later of the last check that saw messages in the queue (kept in
the table, one item: ``RELAY-SWITCH``, written only then) and the mapping's last switch (its
``LastModified``); an activation is its own record (its ``closed_at``: an hour of work after
it closes), so a check during an activation writes nothing. A message sent
while the mapping sleeps waits at most one check (five minutes) plus the time Lambda takes
to start polling (the mapping goes ``Enabling``, then ``Enabled``: UpdateEventSourceMapping
answers 202 at once and applies the change asynchronously).

The mapping is read first and updated only on a change: a check while it sleeps costs one
GetEventSourceMapping and one GetQueueAttributes (Lambda's API calls are not billed; the
SQS request is, $0.40 a million: 8,640 a month).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from entraide.adapters.event_source_mapping import MappingState
from entraide.adapters.table import Put, Table
from entraide.kernel.times import iso, parse_iso


class Mapping(Protocol):
    def state(self) -> MappingState: ...

    def set_enabled(self, enabled: bool) -> None: ...


class QueueDepth(Protocol):
    def messages(self) -> int:
        """Visible, in flight and delayed messages, as the queue counts them."""
        ...


class BusyRecord(Protocol):
    """When a check last saw work (kept between runs)."""

    def busy_at(self) -> datetime | None: ...

    def mark_busy(self, at: datetime) -> None: ...


class Flip(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"


@dataclass
class RelaySwitch:
    """Enables the relay's mapping while there is work, disables it once idle."""

    mapping: Mapping
    queue: QueueDepth
    record: BusyRecord
    clock: Callable[[], datetime]
    hold: timedelta = timedelta(minutes=15)

    def check(self, *, activation_work: bool) -> Flip | None:
        """The scheduled check: ``activation_work`` says whether an activation is open or
        recently closed (the queue is read only when it is not)."""
        state = self.mapping.state()
        if activation_work:
            return self._enable(state)  # the activation itself says so: nothing to keep
        if self.queue.messages() > 0:
            self.record.mark_busy(self.clock())
            return self._enable(state)
        if not state.polling:
            return None
        quiet_since = max(state.last_modified, self.record.busy_at() or state.last_modified)
        if self.clock() - quiet_since < self.hold:
            return None  # idle a moment only: it stays enabled
        self.mapping.set_enabled(False)
        return Flip.DISABLED

    def wake(self) -> Flip | None:
        """An activation opened: poll now rather than at the next check."""
        return self._enable(self.mapping.state())

    def _enable(self, state: MappingState) -> Flip | None:
        if state.polling:
            return None
        self.mapping.set_enabled(True)
        return Flip.ENABLED


#: The item that keeps when a check last saw work.
RELAY_SWITCH_KEY = {"pk": "RELAY-SWITCH", "sk": "RELAY-SWITCH"}


class TableBusyRecord:
    """The ``RELAY-SWITCH`` item: one attribute, ``busy_at``, written by a busy check."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def busy_at(self) -> datetime | None:
        item = self.table.get(RELAY_SWITCH_KEY)
        return parse_iso(str(item["busy_at"])) if item else None

    def mark_busy(self, at: datetime) -> None:
        self.table.write(
            Put(item={**RELAY_SWITCH_KEY, "entity": "relay-switch", "busy_at": iso(at)})
        )
