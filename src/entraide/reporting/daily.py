"""The daily step: the account's followers and the metrics of the last 30 days' tweets, stored.

The tweets come from the relay's records (:mod:`entraide.publishing.relay_store`), the
reads from X (:mod:`.x_reader`), the items go to :mod:`.snapshot_store`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from entraide.adapters.table import Table
from entraide.publishing.relay_store import DynamoDBRelayStore
from entraide.reporting.snapshot_store import SnapshotStore
from entraide.reporting.snapshots import (
    SKIPPED_NO_CREDENTIALS,
    TWEET_WINDOW,
    SnapshotLimits,
    SnapshotResult,
    XReader,
    measurable,
    take_snapshot,
)


def recent_tweet_ids(table: Table, today: date, *, window: timedelta = TWEET_WINDOW) -> list[str]:
    """Ids of the tweets posted in the ``window`` before the end of ``today``, newest first.

    The relay's tweet records
    (:meth:`~entraide.publishing.relay_store.DynamoDBRelayStore.tweets_between`).
    Dry-run tweets (``dry-…`` ids) and tweets whose id was never learnt are left out: X
    has no metrics for them.
    """
    end = datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)
    tweets = DynamoDBRelayStore(table).tweets_between(end - window, end)
    return measurable(tweet.tweet_id for tweet in tweets if tweet.id_known)


def daily_snapshot(
    table: Table,
    reader: XReader | None,
    *,
    now: datetime | None = None,
    limits: SnapshotLimits | None = None,
) -> SnapshotResult:
    """Today's snapshot (UTC day of ``now``): the tweets of the last 30 days, newest first.

    ``reader`` is ``None`` without X credentials: the result is ``skipped`` and nothing
    is read, not even the table.
    """
    moment = now or datetime.now(UTC)
    today = moment.astimezone(UTC).date()
    if reader is None:
        return SnapshotResult(status="skipped", message=SKIPPED_NO_CREDENTIALS, day=today)
    tweet_ids = recent_tweet_ids(table, today)
    return take_snapshot(reader, SnapshotStore(table), tweet_ids, today, limits=limits, now=moment)
