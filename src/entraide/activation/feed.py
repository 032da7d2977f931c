"""The alert feeds' side of activations: read the sources, plan, apply.

What happens next (announcement, expiry of the posts of a closed activation) follows
from the table's stream, whoever changed the activation (see activation_events).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from entraide.activation.alerts.model import Alert, SourceError
from entraide.activation.planner import plan
from entraide.activation.rules import ActivationRules, AlertRecord, Plan, TrackedActivation
from entraide.kernel.model import Activation, AlertLevel

# Closed activations are looked at this long after their closing, so that an alert an
# operator closed early does not reopen it at the next run.
CLOSED_MEMORY = timedelta(days=7)


class FeedStore(Protocol):
    def tracked_activations(self, *, closed_since: datetime) -> list[TrackedActivation]: ...

    def create_feed_activation(
        self, activation: Activation, alerts: tuple[AlertRecord, ...]
    ) -> None: ...

    def update_feed_activation(
        self,
        activation_id: str,
        *,
        alerts: tuple[AlertRecord, ...],
        add_departements: tuple[str, ...] = (),
        level: AlertLevel | None = None,
        sources: tuple[str, ...] | None = None,
    ) -> None: ...

    def close_activation(self, activation_id: str, closed_at: datetime) -> Activation: ...


@dataclass(frozen=True, slots=True)
class FeedRun:
    """What one run did, for the logs and the function's result."""

    plan: Plan
    opened: tuple[str, ...]
    failed_sources: tuple[str, ...]


def run_feeds(
    store: FeedStore,
    readings: dict[str, Sequence[Alert] | SourceError],
    *,
    rules: ActivationRules,
    now: datetime,
    new_id: Callable[[], str],
) -> FeedRun:
    tracked = store.tracked_activations(closed_since=now - rules.neighbouring - CLOSED_MEMORY)
    decided = plan(readings, tracked, now=now, rules=rules)
    opened = []
    for decision in decided.opens:
        activation = Activation(
            id=new_id(),
            hazard=decision.hazard,
            departements=decision.departements,
            level=decision.level,
            hashtag=decision.hashtag,
            opened_at=now,
            origin=decision.origin,
            sources=decision.sources,
        )
        store.create_feed_activation(activation, decision.alerts)
        opened.append(activation.id)
    for extend in decided.extends:
        store.update_feed_activation(
            extend.activation_id,
            alerts=extend.alerts,
            add_departements=extend.add_departements,
            level=extend.level,
            sources=extend.sources,
        )
    for refresh in decided.refreshes:
        store.update_feed_activation(
            refresh.activation_id, alerts=refresh.alerts, sources=refresh.sources
        )
    for close in decided.closes:
        store.close_activation(close.activation_id, now)
    failed = tuple(name for name, reading in readings.items() if isinstance(reading, SourceError))
    return FeedRun(decided, tuple(opened), failed)
