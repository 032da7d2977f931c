"""The scheduled collection: when it runs, which sources it can read, what it keeps.

The schedule fires every hour; a run collects every ``every_hours`` hours (UTC) while no
activation is open, and at every firing while one is (:func:`collection_due`). A source
whose network has no credentials in this deployment is left out of the run and said so
(the local stack and a new deployment read the feeds and Mastodon's public timelines only);
a source that fails is that source's failure alone (:func:`entraide.watch.collect.collect`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from entraide.watch.collect import CollectionRun, collect
from entraide.watch.config import Source, WatchConfig
from entraide.watch.item_store import WatchItemStore
from entraide.watch.items import WatchItem

Reader = Callable[[Source], list[WatchItem]]


def collection_due(now: datetime, *, activation_open: bool, every_hours: int) -> bool:
    """Whether the firing at ``now`` collects (UTC hours: 00, 03, 06… for 3)."""
    return activation_open or now.hour % every_hours == 0


@dataclass(frozen=True)
class WatchRunResult:
    collected: bool
    kept: int = 0
    #: Sources left out: their network has no credentials here.
    skipped: tuple[str, ...] = ()
    failures: Mapping[str, str] | None = None

    def as_log(self) -> dict[str, object]:
        return {
            "collected": self.collected,
            "kept": self.kept,
            "skipped": list(self.skipped),
            "failed": sorted(self.failures or {}),
        }


def collect_and_keep(
    config: WatchConfig,
    readers: Mapping[str, Reader],
    store: WatchItemStore,
    now: datetime,
) -> tuple[CollectionRun, tuple[str, ...]]:
    """Every source a reader can read, collected; what was read kept with its TTL."""
    readable = tuple(source for source in config.sources if source.kind in readers)
    skipped = tuple(source.id for source in config.sources if source.kind not in readers)
    run = collect(config.model_copy(update={"sources": readable}), readers)
    store.keep(run.items, now)
    return run, skipped
