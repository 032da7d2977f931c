"""The snapshot items: the one module that reads and writes them.

Items (single table, see docs/data-model.md), one per day and kind, replaced when the
same day is taken again:

- ``pk = SNAPSHOT#followers``, ``sk = <YYYY-MM-DD>``: ``entity = follower-snapshot``,
  ``day``, ``taken_at``, ``followers_count``, ``followers_read``, ``top_complete``,
  ``top_followers`` (list of ``{id, username, followers_count}``).
- ``pk = SNAPSHOT#tweets``, ``sk = <YYYY-MM-DD>``: ``entity = tweet-metrics-snapshot``,
  ``day``, ``taken_at``, ``tweet_count``, ``metrics`` (map tweet id ->
  ``{likes, retweets, replies, quotes[, impressions]}``).
- both: ``gsi2pk = SNAPSHOT#YYYY-MM``, ``gsi2sk = <YYYY-MM-DD>#followers|tweets`` (index
  ``by_month``).
- Bluesky's and Mastodon's the same, their channel in the keys and in ``channel``:
  ``pk = SNAPSHOT#<channel>#followers|tweets``, ``gsi2sk = <YYYY-MM-DD>#<channel>#…``
  (X's keys stay as they were, without a channel).

One item per day for all the tweets, rather than one per tweet and day: one write a day
instead of up to 100, 31 items to read for a month instead of thousands, and the report
only needs the latest metrics of each tweet. The item stays far below DynamoDB's 400 KB
(``MAX_TWEETS`` ids, about 80 bytes each).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from entraide.adapters.table import BY_MONTH, Put, Table
from entraide.kernel.times import iso, month_of, months_between
from entraide.reporting.snapshots import (
    MAX_TWEETS,
    FollowerSnapshot,
    TopFollower,
    TweetMetrics,
)

SNAPSHOT_PREFIX: Final = "SNAPSHOT#"


X_CHANNEL: Final = "x"


def _keys(kind: str, day: date, channel: str) -> dict[str, str]:
    """An item's keys: X's without a channel (as they were), the others' with theirs."""
    text = day.isoformat()
    scope = kind if channel == X_CHANNEL else f"{channel}#{kind}"
    keys = {
        "pk": f"{SNAPSHOT_PREFIX}{scope}",
        "sk": text,
        "gsi2pk": f"{SNAPSHOT_PREFIX}{month_of(day)}",
        "gsi2sk": f"{text}#{scope}",
    }
    if channel != X_CHANNEL:
        keys["channel"] = channel
    return keys


def follower_snapshot_item(
    snapshot: FollowerSnapshot, taken_at: datetime, channel: str = X_CHANNEL
) -> dict[str, Any]:
    day = snapshot.day.isoformat()
    return {
        **_keys("followers", snapshot.day, channel),
        "entity": "follower-snapshot",
        "day": day,
        "taken_at": iso(taken_at),
        "followers_count": snapshot.followers_count,
        "followers_read": snapshot.followers_read,
        "top_complete": snapshot.top_complete,
        "top_followers": [
            {"id": user.user_id, "username": user.username, "followers_count": user.followers_count}
            for user in snapshot.top_followers
        ],
    }


def follower_snapshot_from_item(item: Mapping[str, Any]) -> FollowerSnapshot:
    return FollowerSnapshot(
        day=date.fromisoformat(str(item["day"])),
        followers_count=int(item["followers_count"]),
        top_followers=tuple(
            TopFollower(
                user_id=str(user["id"]),
                username=str(user.get("username", "")),
                followers_count=int(user.get("followers_count", 0)),
            )
            for user in item.get("top_followers", ())
        ),
        followers_read=int(item.get("followers_read", 0)),
        top_complete=bool(item.get("top_complete", False)),
    )


def tweet_metrics_item(
    day: date, metrics: Sequence[TweetMetrics], taken_at: datetime, channel: str = X_CHANNEL
) -> dict[str, Any]:
    if len(metrics) > MAX_TWEETS:
        raise ValueError(f"At most {MAX_TWEETS} tweets per snapshot item.")
    by_id: dict[str, dict[str, int]] = {}
    for metric in metrics:
        entry = {
            "likes": metric.likes,
            "retweets": metric.retweets,
            "replies": metric.replies,
            "quotes": metric.quotes,
        }
        if metric.impressions is not None:
            entry["impressions"] = metric.impressions
        by_id[metric.tweet_id] = entry
    text = day.isoformat()
    return {
        **_keys("tweets", day, channel),
        "entity": "tweet-metrics-snapshot",
        "day": text,
        "taken_at": iso(taken_at),
        "tweet_count": len(by_id),
        "metrics": by_id,
    }


def tweet_metrics_from_item(item: Mapping[str, Any]) -> tuple[TweetMetrics, ...]:
    day = date.fromisoformat(str(item["day"]))
    found = []
    for tweet_id, entry in sorted(dict(item.get("metrics", {})).items()):
        impressions = entry.get("impressions")
        found.append(
            TweetMetrics(
                tweet_id=str(tweet_id),
                day=day,
                likes=int(entry.get("likes", 0)),
                retweets=int(entry.get("retweets", 0)),
                replies=int(entry.get("replies", 0)),
                quotes=int(entry.get("quotes", 0)),
                impressions=int(impressions) if impressions is not None else None,
            )
        )
    return tuple(found)


@dataclass(frozen=True, slots=True)
class SnapshotsRead:
    """Snapshots of a range of days, oldest first."""

    followers: tuple[FollowerSnapshot, ...] = ()
    tweet_metrics: tuple[TweetMetrics, ...] = ()


class SnapshotStore:
    """One channel's snapshot items in the single table (see the module doc)."""

    def __init__(self, table: Table, channel: str = X_CHANNEL) -> None:
        self.table = table
        self.channel = channel

    def put_followers(self, snapshot: FollowerSnapshot, *, taken_at: datetime) -> None:
        self.table.write(Put(item=follower_snapshot_item(snapshot, taken_at, self.channel)))

    def put_tweet_metrics(
        self, day: date, metrics: Sequence[TweetMetrics], *, taken_at: datetime
    ) -> None:
        self.table.write(Put(item=tweet_metrics_item(day, metrics, taken_at, self.channel)))

    def _items(self, first: date, last: date) -> Iterator[dict[str, Any]]:
        for month in months_between(first, last):
            yield from self.table.query(
                "gsi2pk = :pk AND gsi2sk BETWEEN :first AND :last",
                {
                    ":pk": f"SNAPSHOT#{month}",
                    ":first": first.isoformat(),
                    # "#" sorts before every letter: "<last>#tweets" < "<last>#~"
                    ":last": f"{last.isoformat()}#~",
                },
                index=BY_MONTH,
            )

    def between(self, first: date, last: date) -> SnapshotsRead:
        """This channel's snapshots of the days ``first`` to ``last`` (included)."""
        return self.every_channel_between(first, last).get(self.channel, SnapshotsRead())

    def every_channel_between(self, first: date, last: date) -> dict[str, SnapshotsRead]:
        """Every channel's snapshots of the days ``first`` to ``last`` (included), by
        channel: the month's partitions of ``by_month`` read once for all of them."""
        followers: dict[str, list[FollowerSnapshot]] = {}
        metrics: dict[str, list[TweetMetrics]] = {}
        for item in self._items(first, last):
            channel = str(item.get("channel", X_CHANNEL))
            if item.get("entity") == "follower-snapshot":
                followers.setdefault(channel, []).append(follower_snapshot_from_item(item))
            elif item.get("entity") == "tweet-metrics-snapshot":
                metrics.setdefault(channel, []).extend(tweet_metrics_from_item(item))
        return {
            channel: SnapshotsRead(
                tuple(sorted(followers.get(channel, ()), key=lambda snapshot: snapshot.day)),
                tuple(
                    sorted(
                        metrics.get(channel, ()), key=lambda metric: (metric.day, metric.tweet_id)
                    )
                ),
            )
            for channel in {*followers, *metrics}
        }
