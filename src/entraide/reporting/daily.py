"""The daily step: each channel's followers and the metrics of its last 30 days' messages.

The messages come from the relay's records of each channel
(:mod:`entraide.publishing.relay_store`), the reads from each network (:mod:`.x_reader`,
:mod:`.channel_readers`), the items go to :mod:`.snapshot_store`. X's reads are paid
before they are made from X's own budget (:class:`XReadPurse`).

**What X's reads cost.** Each resource read of the account's own data (itself, its
followers, its posts) is $0.001 (:data:`~entraide.publishing.x_prices.READ_OWNED`), priced
at the most a call may return: with a money budget the snapshot reads one page of 100
followers and the last 100 tweets (:data:`X_PAID_LIMITS`), at most $0.201 a day, about
$6 a month, paced as posts are (never from the activations' reserve). Without a money
budget (a tier), the tier's own limits (:class:`~.snapshots.SnapshotLimits`) apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Final

from entraide.adapters.table import Table
from entraide.publishing.quota import Budget, Denied
from entraide.publishing.relay_store import DynamoDBRelayStore
from entraide.publishing.x_prices import READ_OWNED
from entraide.reporting.snapshot_store import SnapshotStore
from entraide.reporting.snapshots import (
    SKIPPED_NO_CREDENTIALS,
    TWEET_WINDOW,
    AccountReader,
    ReadPurse,
    SnapshotLimits,
    SnapshotResult,
    measurable,
    take_snapshot,
)

#: The snapshot's reads when X bills them: one page of 100 followers, the last 100 tweets.
X_PAID_LIMITS: Final = SnapshotLimits(max_follower_pages=1, follower_page_size=100)
#: Bluesky's message ids are URIs (``at://<did>/app.bsky.feed.post/<key>``); X's and
#: Mastodon's are numbers.
URI_PREFIXES: Final = {"bluesky": "at://"}


class XReadPurse:
    """Pays X's reads from the X relay's budget: each resource read of the account's own
    data at :data:`~entraide.publishing.x_prices.READ_OWNED`, paced as posts are."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget

    def pay(self, resources: int) -> bool:
        cost = resources * READ_OWNED
        return not isinstance(self.budget.reserve(cost=cost, spender="read"), Denied)


def recent_tweet_ids(
    table: Table, today: date, *, window: timedelta = TWEET_WINDOW, channel: str = "x"
) -> list[str]:
    """Ids of the messages ``channel`` posted in the ``window`` before the end of ``today``,
    newest first.

    The relay's tweet records
    (:meth:`~entraide.publishing.relay_store.DynamoDBRelayStore.tweets_between`).
    Dry-run tweets (``dry-…`` ids) and tweets whose id was never learnt are left out: X
    has no metrics for them.
    """
    end = datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)
    tweets = DynamoDBRelayStore(table, channel).tweets_between(end - window, end)
    return measurable(
        (tweet.tweet_id for tweet in tweets if tweet.id_known),
        uri_prefix=URI_PREFIXES.get(channel, ""),
    )


def daily_snapshot(
    table: Table,
    reader: AccountReader | None,
    *,
    now: datetime | None = None,
    limits: SnapshotLimits | None = None,
    channel: str = "x",
    purse: ReadPurse | None = None,
) -> SnapshotResult:
    """Today's snapshot of ``channel`` (UTC day of ``now``): its messages of the last 30
    days, newest first.

    ``reader`` is ``None`` without the channel's credentials: the result is ``skipped``
    and nothing is read, not even the table.
    """
    moment = now or datetime.now(UTC)
    today = moment.astimezone(UTC).date()
    if reader is None:
        return SnapshotResult(status="skipped", message=SKIPPED_NO_CREDENTIALS, day=today)
    tweet_ids = recent_tweet_ids(table, today, channel=channel)
    return take_snapshot(
        reader,
        SnapshotStore(table, channel),
        tweet_ids,
        today,
        limits=limits,
        now=moment,
        purse=purse,
        uri_prefix=URI_PREFIXES.get(channel, ""),
    )


def daily_snapshots(
    table: Table,
    readers: Mapping[str, AccountReader | None],
    *,
    now: datetime | None = None,
    x_budget: Budget | None = None,
) -> dict[str, SnapshotResult]:
    """Today's snapshot of every channel; one channel's failure never stops the others
    (each result says what was read). X's reads are paid from ``x_budget`` when it holds
    money (then within :data:`X_PAID_LIMITS`)."""
    paid = x_budget is not None and x_budget.limits.money is not None
    results: dict[str, SnapshotResult] = {}
    for channel, reader in readers.items():
        if channel == "x" and paid and x_budget is not None:
            purse: ReadPurse | None = XReadPurse(x_budget)
            limits: SnapshotLimits | None = X_PAID_LIMITS
        else:
            purse, limits = None, None
        results[channel] = daily_snapshot(
            table, reader, now=now, limits=limits, channel=channel, purse=purse
        )
    return results
