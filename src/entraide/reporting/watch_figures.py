"""The month's watch section: what the account relayed of what the watch found, per network.

*Relayed* is the relay's record of a repost (a message of kind ``repost`` on a channel,
text ``repost <target>``, :meth:`entraide.publishing.relay.Relay.handle_repost`), made
once per *Relayer* click; the watch's own items are kept three days only, so the report
reads nothing of them. X's spend is what each repost was priced at before it was made.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from entraide.reporting.figures import MonthData, RelayedItem, TweetFacts, WatchFigures

REPOST_KIND = "repost"
_REPOST_TEXT = "repost "
_BLUESKY_POST = "/app.bsky.feed.post/"


def relayed_link(channel: str, target: str) -> str:
    """The public page of what was reposted: X's post id, Bluesky's ``at://`` URI (its
    author's DID and the post's key), Mastodon's status URL as it is; ``""`` for a target
    that names no web page (a report links to ``https://`` pages only)."""
    if channel == "x" and target.isdigit():
        return f"https://x.com/i/status/{target}"
    if channel == "bluesky" and target.startswith("at://") and _BLUESKY_POST in target:
        author, key = target.removeprefix("at://").split(_BLUESKY_POST, 1)
        return f"https://bsky.app/profile/{author}/post/{key}"
    return target if channel == "mastodon" and target.startswith("https://") else ""


def _relayed(channel: str, message: TweetFacts) -> RelayedItem:
    target = message.text.removeprefix(_REPOST_TEXT)
    return RelayedItem(
        channel=channel,
        at=message.posted_at,
        target=target,
        link=relayed_link(channel, target),
        cost=message.cost / 1000,
        author=message.author,
        author_followers=message.author_followers,
    )


def watch_figures(
    tweets: Sequence[TweetFacts], data: MonthData, in_month: Callable[[datetime], bool]
) -> WatchFigures:
    """``tweets``: X's messages of the month; the other channels' are in ``data``."""
    per_channel: list[tuple[str, list[RelayedItem]]] = [
        ("x", [_relayed("x", t) for t in tweets if t.kind == REPOST_KIND])
    ]
    for channel, messages in data.channel_messages:
        mine = {m.tweet_id: m for m in messages if m.kind == REPOST_KIND and in_month(m.posted_at)}
        per_channel.append((channel, [_relayed(channel, m) for m in mine.values()]))
    relayed = sorted(
        (item for _, items in per_channel for item in items),
        key=lambda item: (item.at, item.channel, item.target),
    )
    reach: dict[tuple[str, str], int] = {}
    for item in relayed:
        if item.author and item.author_followers is not None:
            known = reach.get((item.channel, item.author), 0)
            reach[(item.channel, item.author)] = max(known, item.author_followers)
    return WatchFigures(
        relayed=tuple(relayed),
        per_channel=tuple((channel, len(items)) for channel, items in per_channel),
        x_spend=sum(item.cost for item in per_channel[0][1]),
        authors_reach=sum(reach.values()),
    )
