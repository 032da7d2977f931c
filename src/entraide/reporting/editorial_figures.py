"""The month's editorial section: the calendar's items and blog articles, what each channel
published of them, the ones missed and held, and their engagement on X beside the crisis
messages'.

*Published* is the relay's record (a message of kind ``editorial`` on a channel), not the
item's hand-over; *held* is an item whose moment fell while an activation was open (it went
later, on rhythm, or missed its moment).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from entraide.kernel.model import Activation
from entraide.reporting.figures import (
    EditorialFacts,
    EditorialFigures,
    EngagementFigures,
    MonthData,
    TweetFacts,
)
from entraide.reporting.snapshots import TweetMetrics

EDITORIAL_KIND = "editorial"
CRISIS_KINDS = ("post", "digest", "activation")


def _held(item: EditorialFacts, activations: Sequence[Activation]) -> bool:
    return any(
        activation.opened_at <= item.at
        and (activation.closed_at is None or item.at < activation.closed_at)
        for activation in activations
    )


def _engagement(
    tweets: Sequence[TweetFacts],
    latest: Mapping[str, TweetMetrics],
    rate: Callable[[Sequence[TweetMetrics]], float | None],
) -> EngagementFigures:
    measured = [latest[t.tweet_id] for t in tweets if t.tweet_id in latest]
    return EngagementFigures(
        messages=len(tweets),
        measured=len(measured),
        interactions=sum(m.interactions for m in measured),
        engagement_rate=rate(measured),
    )


def editorial_figures(
    data: MonthData,
    tweets: Sequence[TweetFacts],
    activations: Sequence[Activation],
    in_month: Callable[[datetime], bool],
    latest: Mapping[str, TweetMetrics],
    rate: Callable[[Sequence[TweetMetrics]], float | None],
) -> EditorialFigures:
    """``tweets``: X's messages of the month; ``latest``: their metrics; ``rate``: the
    month's engagement rate of some measured messages (one basis for both kinds)."""
    items = [item for item in data.editorial if in_month(item.at)]
    states = Counter(item.state for item in items)
    live = [item for item in items if item.state != "cancelled"]
    origins = Counter(item.origin for item in live)
    published = [("x", sum(t.kind == EDITORIAL_KIND for t in tweets))]
    for channel, messages in data.channel_messages:
        mine = {m.tweet_id for m in messages if m.kind == EDITORIAL_KIND and in_month(m.posted_at)}
        published.append((channel, len(mine)))
    return EditorialFigures(
        items=len(live),
        from_calendar=origins["calendrier"],
        from_blog=origins["blog"],
        handed=states["sent"],
        missed=states["missed"],
        planned=states["planned"],
        cancelled=states["cancelled"],
        held=sum(_held(item, activations) for item in live),
        published=tuple(published),
        editorial_engagement=_engagement(
            [t for t in tweets if t.kind == EDITORIAL_KIND], latest, rate
        ),
        crisis_engagement=_engagement([t for t in tweets if t.kind in CRISIS_KINDS], latest, rate),
    )
