"""The month per channel: what X, Bluesky and Mastodon published, and X's spend.

X's spend is what each call was priced at before it was made
(:mod:`entraide.publishing.x_prices`), by kind of message, per announced post, and against
the monthly budget when X is paid per use.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime

from entraide.reporting.figures import ChannelFigures, MonthData, SpendFigures, TweetFacts


def published(channel: str, messages: Sequence[TweetFacts]) -> ChannelFigures:
    kinds = Counter(m.kind for m in messages)
    return ChannelFigures(
        channel=channel,
        messages=len(messages),
        individual=kinds["post"],
        digests=kinds["digest"],
        activation_announcements=kinds["activation"],
        posts_announced=sum(m.post_count for m in messages if m.kind in ("post", "digest")),
    )


def channel_figures(
    tweets: Sequence[TweetFacts], data: MonthData, in_month: Callable[[datetime], bool]
) -> tuple[tuple[ChannelFigures, ...], SpendFigures | None]:
    """Each channel's messages of the month and the total; X's spend by kind of message,
    per announced post, against the budget (as priced before each call)."""
    per_channel = [published("x", tweets)]
    for channel, messages in data.channel_messages:
        mine = list({m.tweet_id: m for m in messages if in_month(m.posted_at)}.values())
        per_channel.append(published(channel, mine))
    total = ChannelFigures(
        "total",
        *(
            sum(getattr(figures, name) for figures in per_channel)
            for name in (
                "messages",
                "individual",
                "digests",
                "activation_announcements",
                "posts_announced",
            )
        ),
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
