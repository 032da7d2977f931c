"""Reading a month for the report: each item kind through the module that owns it.

Queries only, never a Scan (see :func:`load_month` for which partitions); what is kept of
each item is its public facts (:class:`~entraide.reporting.figures.PostFacts`...).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from entraide.kernel.model import Post
from entraide.kernel.times import parse_iso
from entraide.reporting.figures import (
    ChannelSnapshots,
    EditorialFacts,
    MatchFacts,
    MonthData,
    MonthlyReport,
    PostFacts,
    TweetFacts,
    month_bounds,
    shift_month,
)
from entraide.reporting.kpi import compute_month, unique

if TYPE_CHECKING:
    from entraide.adapters.table import Table
    from entraide.publishing.relay_store import TweetRecord

ACTIVATION_LOOKBACK_MONTHS: Final = 3
DECISION_LOOKBACK_MONTHS: Final = 1


def post_facts(post: Post) -> PostFacts:
    """The public facts of a post: no text, place name, contact nor moderator."""
    return PostFacts(
        post_id=post.id,
        kind=post.kind,
        category=post.category,
        departement=post.departement,
        status=post.status,
        created_at=post.created_at,
        activation_id=post.activation_id,
        decided_at=post.decided_at,
    )


def match_facts(record: Mapping[str, Any]) -> MatchFacts:
    """A match record of :meth:`~entraide.matching.match_store.MatchStore.matches_of_month`."""
    return MatchFacts(
        need_id=str(record["need_id"]),
        offer_id=str(record["offer_id"]),
        activation_id=str(record["activation_id"]),
        created_at=parse_iso(record["created_at"]),
        distance_km=record["distance_km"],
    )


#: The channels beside X whose publications the report counts.
OTHER_CHANNELS = ("bluesky", "mastodon")


def tweet_facts(record: TweetRecord) -> TweetFacts:
    return TweetFacts(
        tweet_id=record.tweet_id,
        posted_at=record.posted_at,
        kind=record.kind,
        text=record.text,
        post_count=record.post_count,
        activation_id=record.activation_id,
        cost=record.cost,
        author=record.author,
        author_followers=record.author_followers,
    )


def load_month(
    table: Table,
    month: str,
    *,
    now: datetime | None = None,
    activation_lookback_months: int = ACTIVATION_LOOKBACK_MONTHS,
    decision_lookback_months: int = DECISION_LOOKBACK_MONTHS,
    x_budget_usd: float | None = None,
) -> MonthData:
    """Read ``month`` through the indexes only (Query, never Scan).

    - ``by_month`` ``POST#<month>``: the posts created in the month; ``POST#<earlier>``
      (``decision_lookback_months`` back, filtered on ``decided_at``): posts created
      before and decided in the month.
    - ``by_month`` ``MATCH#<month>``, ``TWEET#<month>``, and ``PUBLISHED#<channel>#<month>``
      for Bluesky and Mastodon.
    - activations: ``by_month`` ``ACTIVATION#<month>`` (opened in it), ``ACTIVATION#<m>``
      for the ``activation_lookback_months`` months before (filtered: still open, or closed
      after the month's start), and ``by_status`` ``ACTIVATION#open`` (opened before the
      month's end) for older ones still open. An activation opened more than
      ``activation_lookback_months`` before the month *and* closed since is missed: alerts
      last days, not months; widen the look-back to report on such a month.
    - ``by_month`` ``SNAPSHOT#<month>`` and the 1st of the next month.
    - ``by_month`` ``EDITORIAL#<month>``: the editorial items whose moment falls in it.
    """
    from entraide.activation.activation_store import ActivationStore
    from entraide.editorial.calendar_store import EditorialStore
    from entraide.intake.post_store import PostStore
    from entraide.matching.match_store import MatchStore
    from entraide.publishing.relay_store import DynamoDBRelayStore
    from entraide.reporting.snapshot_store import SnapshotsRead, SnapshotStore

    start, end = month_bounds(month)
    generated = now or datetime.now(UTC)
    post_store, activation_store = PostStore(table), ActivationStore(table)

    posts = [post_facts(post) for post in post_store.created_in(month)]
    decisions = [post for post in posts if post.decided_at and start <= post.decided_at < end]
    for back in range(1, decision_lookback_months + 1):
        earlier = shift_month(month, -back)
        decisions += [post_facts(post) for post in post_store.decided_between(earlier, start, end)]

    matches = [match_facts(record) for record in MatchStore(table).matches_of_month(month)]
    tweets = [tweet_facts(record) for record in DynamoDBRelayStore(table).tweets_of_month(month)]
    channel_messages = tuple(
        (
            channel,
            tuple(
                tweet_facts(record)
                for record in DynamoDBRelayStore(table, channel).tweets_of_month(month)
            ),
        )
        for channel in OTHER_CHANNELS
    )

    found = activation_store.opened_in(month)
    for back in range(1, activation_lookback_months + 1):
        found += activation_store.opened_in(shift_month(month, -back), open_after=start)
    found += activation_store.open_opened_before(end)
    activations = unique(found, key=lambda a: a.id)

    editorial = tuple(
        EditorialFacts(item.id, item.origin, item.state.value, item.at, item.channels)
        for item in EditorialStore(table).of_month(month)
    )
    every_channel = SnapshotStore(table).every_channel_between(start.date(), end.date())
    snapshots = every_channel.get("x", SnapshotsRead())
    channel_snapshots = tuple(
        (channel, ChannelSnapshots(read.followers, read.tweet_metrics))
        for channel in OTHER_CHANNELS
        for read in (every_channel.get(channel, SnapshotsRead()),)
    )
    notes = (
        "Activations : celles ouvertes pendant le mois, celles encore ouvertes, et celles "
        f"ouvertes dans les {activation_lookback_months} mois précédents et fermées "
        "pendant le mois ou après.",
    )
    return MonthData(
        month=month,
        generated_at=generated,
        posts=tuple(posts),
        decisions=tuple(decisions),
        matches=tuple(matches),
        activations=tuple(activations),
        tweets=tuple(tweets),
        tweet_metrics=snapshots.tweet_metrics,
        followers=snapshots.followers,
        channel_snapshots=channel_snapshots,
        notes=notes,
        channel_messages=channel_messages,
        x_budget_usd=x_budget_usd,
        editorial=editorial,
    )


def monthly_report(
    table: Table, month: str, *, now: datetime | None = None, x_budget_usd: float | None = None
) -> MonthlyReport:
    """:func:`load_month` then :func:`compute_month`: what a scheduled run or the CLI calls."""
    return compute_month(month, load_month(table, month, now=now, x_budget_usd=x_budget_usd))
