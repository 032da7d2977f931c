"""The month per channel: what X, Bluesky and Mastodon published, their audience, X's spend.

Each channel's audience (followers at the start and end of the month, its most followed
followers, the metrics of its messages) comes from its own daily snapshots, measured by
the same rule as X's (:func:`entraide.reporting.kpi.compute_month` gives it).

X's spend is what each call was priced at before it was made
(:mod:`entraide.publishing.x_prices`), by kind of message, per announced post, and against
the monthly budget when X is paid per use.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime

from entraide.reporting.figures import (
    ChannelFigures,
    ChannelSnapshots,
    FollowerFigures,
    MonthData,
    SpendFigures,
    TweetFacts,
)

#: A channel's audience of the month: its followers, the messages measured, their
#: interactions and the engagement rate.
Audience = tuple[FollowerFigures, int, int, float | None]
AudienceOf = Callable[[Sequence[TweetFacts], ChannelSnapshots], Audience]


def published(channel: str, messages: Sequence[TweetFacts], audience: Audience) -> ChannelFigures:
    kinds = Counter(m.kind for m in messages)
    followers, measured, interactions, engagement = audience
    return ChannelFigures(
        channel=channel,
        messages=len(messages),
        individual=kinds["post"],
        digests=kinds["digest"],
        activation_announcements=kinds["activation"],
        posts_announced=sum(m.post_count for m in messages if m.kind in ("post", "digest")),
        followers=followers,
        measured=measured,
        interactions=interactions,
        engagement_rate=engagement,
    )


def channel_figures(
    tweets: Sequence[TweetFacts],
    data: MonthData,
    in_month: Callable[[datetime], bool],
    audience: AudienceOf,
) -> tuple[tuple[ChannelFigures, ...], SpendFigures | None]:
    """Each channel's messages of the month and audience, and the total; X's spend by kind
    of message, per announced post, against the budget (as priced before each call)."""
    x_snapshots = ChannelSnapshots(data.followers, data.tweet_metrics)
    per_channel = [published("x", tweets, audience(tweets, x_snapshots))]
    snapshots = dict(data.channel_snapshots)
    for channel, messages in data.channel_messages:
        mine = list({m.tweet_id: m for m in messages if in_month(m.posted_at)}.values())
        channel_audience = audience(mine, snapshots.get(channel, ChannelSnapshots()))
        per_channel.append(published(channel, mine, channel_audience))
    summed = (
        "messages",
        "individual",
        "digests",
        "activation_announcements",
        "posts_announced",
        "measured",
        "interactions",
    )
    total = ChannelFigures(
        "total",
        **{name: sum(getattr(figures, name) for figures in per_channel) for name in summed},
    )
    spent = sum(t.cost for t in tweets)
    if not spent and data.x_budget_usd is None:
        return (*per_channel, total), None
    by_kind = Counter[str]()
    for tweet in tweets:
        by_kind[tweet.kind] += tweet.cost
    announced = per_channel[0].posts_announced
    budget = data.x_budget_usd
    spend = SpendFigures(
        total=spent / 1000,
        by_kind=tuple((kind, by_kind[kind] / 1000) for kind in ("post", "digest", "activation")),
        per_announced_post=(spent / 1000 / announced) if announced else None,
        budget=budget,
        share_of_budget=(spent / 1000 / budget) if budget else None,
    )
    return (*per_channel, total), spend
