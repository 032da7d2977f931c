"""The scheduled run: due editorial items handed to the publishing path, on rhythm.

Each run reads the planned items, whether the platform is held (an activation open, or
closed less than the quiet period ago) and the recent sends, and follows
:func:`~.calendar.plan`: each item it picks goes to the relay queue as an ``editorial``
message *for one channel* (``"channels": [name]``), where the relay publishes it once on
that channel, within that channel's budget (:meth:`entraide.publishing.relay.Relay
.handle_editorial`); then the send is recorded on the item. A run stopped between the two
sends the message again next time: the relay's claim on ``publish:<channel>:editorial:<id>``
makes the second one a no-op. Items that missed their moment are marked and reported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from entraide.editorial.blog import (
    FeedState,
    Fetched,
    Reading,
    article_item,
    fit_title,
    read_blog,
)
from entraide.editorial.calendar import EditorialItem, ItemState, Rhythm, plan
from entraide.editorial.calendar_store import EditorialNotPlanned, EditorialStore
from entraide.observability import logger
from entraide.publishing.channels import EDITORIAL, FOR_CHANNELS

if TYPE_CHECKING:
    from entraide.activation.activation_store import ActivationStore


def editorial_message(item: EditorialItem, channel: str) -> dict[str, Any]:
    """The relay queue's message for one item on one channel."""
    return {
        "event": EDITORIAL,
        "item_id": item.id,
        "text": item.text,
        "link": item.link,
        FOR_CHANNELS: [channel],
    }


@dataclass(slots=True)
class RunReport:
    held: bool
    sent: list[tuple[str, str]] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)


def _no_metric(name: str, value: float) -> None:
    return None


class EditorialDesk:
    def __init__(
        self,
        store: EditorialStore,
        *,
        send: Callable[[Mapping[str, Any]], None],
        held: Callable[[datetime], bool],
        rhythm: Rhythm,
        clock: Callable[[], datetime],
        metric: Callable[[str, float], None] = _no_metric,
    ) -> None:
        self.store = store
        self.send = send
        self.held = held
        self.rhythm = rhythm
        self.clock = clock
        self.metric = metric

    def run(self) -> RunReport:
        now = self.clock()
        items = {item.id: item for item in self.store.in_state(ItemState.PLANNED)}
        held = self.held(now)
        decided = plan(
            items.values(),
            now=now,
            sends=self.store.recent_sends(self.rhythm.lookback(now)),
            held=held,
            rhythm=self.rhythm,
        )
        report = RunReport(held=held)
        for item in decided.missed:
            try:
                self.store.mark_missed(item.id)
            except EditorialNotPlanned:  # cancelled or moved meanwhile
                continue
            logger.warning(
                "Editorial item missed its moment", extra={"item": item.id, "at": item.at}
            )
            self.metric("EditorialMissed", 1)
            report.missed.append(item.id)
        for picked, channel in decided.send:
            item = items[picked.id]
            self.send(editorial_message(item, channel))
            items[item.id] = self.store.mark_sent(item, channel, now)
            self.metric("EditorialSent", 1)
            report.sent.append((item.id, channel))
        return report


def held_by_activations(
    activations: ActivationStore, quiet: timedelta
) -> Callable[[datetime], bool]:
    """Held while an activation is open, and for ``quiet`` after the last one closed."""

    def held(now: datetime) -> bool:
        return bool(activations.tracked_activations(closed_since=now - quiet))

    return held


def announce_blog(
    store: EditorialStore,
    fetch: Callable[[FeedState], Fetched],
    *,
    url: str,
    channels: Sequence[str],
    fits: Callable[[str, str], bool],
    max_new: int,
    clock: Callable[[], datetime],
    metric: Callable[[str, float], None] = _no_metric,
) -> Reading:
    """One hourly reading of the blog's feed: its new articles become editorial items (once
    each: their ids are their keys' digests), due now, on the calendar's rhythm."""
    now = clock()
    state = store.feed_state(url)
    chosen, after, failure = read_blog(fetch, state, base_url=url, max_new=max_new)
    items = [fit_title(article_item(article, channels, now), fits) for article in chosen]
    reading = Reading(announced=store.add(items, created_at=now), failure=failure)
    if after is not state:
        store.save_feed_state(url, after, now)
    else:
        reading.unchanged = not failure
    if failure:
        logger.warning("Blog feed failed", extra={"reason": failure})
        metric("BlogFeedFailed", 1)
    metric("BlogArticlesAnnounced", len(reading.announced))
    return reading
