"""The alert feeds' side of activations: read the sources, plan, apply.

What happens next (announcement, expiry of the posts of a closed activation) follows
from the table's stream, whoever changed the activation (see activation_events).

Another run, or an operator, may change the activations between this run's read and its
writes: the store refuses a second open activation of a family on a département, a
widening onto a covered one, a second closing (conditional writes). The run then reads
the activations again and plans anew, a few times; what it had applied already is seen
as done (a plan applied is empty when made again).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from entraide.activation.alerts.model import Alert, SourceError
from entraide.activation.planner import plan
from entraide.activation.rules import ActivationRules, AlertRecord, Plan, TrackedActivation
from entraide.kernel.errors import ActivationAlreadyClosed, ConcurrentChange
from entraide.kernel.model import Activation, AlertLevel

# Closed activations are looked at this long after their closing, so that an alert an
# operator closed early does not reopen it at the next run.
CLOSED_MEMORY = timedelta(days=7)
# How many times a run plans again after losing a race to another writer.
ATTEMPTS = 3


class FeedStore(Protocol):
    def tracked_activations(self, *, closed_since: datetime) -> list[TrackedActivation]: ...

    def create_feed_activation(
        self, activation: Activation, alerts: tuple[AlertRecord, ...]
    ) -> None: ...

    def update_feed_activation(
        self,
        activation: Activation,
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
    opened: list[str] = []
    for attempt in range(1, ATTEMPTS + 1):
        tracked = store.tracked_activations(closed_since=now - rules.neighbouring - CLOSED_MEMORY)
        decided = plan(readings, tracked, now=now, rules=rules)
        try:
            _apply(store, decided, tracked, now=now, new_id=new_id, opened=opened)
            break
        except (ConcurrentChange, ActivationAlreadyClosed):
            if attempt == ATTEMPTS:
                raise
    failed = tuple(name for name, reading in readings.items() if isinstance(reading, SourceError))
    return FeedRun(decided, tuple(opened), failed)


def _apply(
    store: FeedStore,
    decided: Plan,
    tracked: Sequence[TrackedActivation],
    *,
    now: datetime,
    new_id: Callable[[], str],
    opened: list[str],
) -> None:
    by_id = {t.activation.id: t.activation for t in tracked}
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
            by_id[extend.activation_id],
            alerts=extend.alerts,
            add_departements=extend.add_departements,
            level=extend.level,
            sources=extend.sources,
        )
    for refresh in decided.refreshes:
        store.update_feed_activation(
            by_id[refresh.activation_id], alerts=refresh.alerts, sources=refresh.sources
        )
    for close in decided.closes:
        store.close_activation(close.activation_id, now)
