"""The monthly report per channel, and X's spend: by kind, per announced post, against the
budget; read back from the table as the relay records it (DynamoDB on moto)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from entraide.adapters.table import Table
from entraide.publishing.relay_store import DynamoDBRelayStore, TweetRecord
from entraide.reporting.kpi import compute_month
from entraide.reporting.month_loader import load_month
from entraide.web.report_page import render_all

MONTH = "2026-10"
GENERATED = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=UTC)


def seed(table: Table) -> None:
    x = DynamoDBRelayStore(table)
    for record in (
        TweetRecord("t1", "a", at(2), "post", ("P1",), "A1", cost=15),
        TweetRecord("t2", "b", at(3), "post", ("P2",), "A1", cost=15),
        TweetRecord("t3", "c", at(4), "digest", ("P3", "P4", "P5"), "A1", cost=200),
        TweetRecord("t4", "d", at(1), "activation", (), "A1", cost=200),
        TweetRecord(
            "t9", "e", datetime(2026, 9, 30, 23, tzinfo=UTC), "post", ("P0",), "A1", cost=15
        ),
    ):
        x.put_tweet(record)
    bluesky = DynamoDBRelayStore(table, "bluesky")
    for index in range(5):
        bluesky.put_tweet(
            TweetRecord(f"at://b/{index}", "f", at(2 + index), "post", (f"P{index + 1}",), "A1")
        )
    bluesky.put_tweet(TweetRecord("at://b/a", "g", at(1), "activation", (), "A1"))
    mastodon = DynamoDBRelayStore(table, "mastodon")
    mastodon.put_tweet(
        TweetRecord("m1", "h", at(5), "digest", ("P1", "P2", "P3", "P4", "P5"), "A1")
    )


def test_each_channel_has_its_figures_and_the_total(table: Table) -> None:
    # Given a month published on X, Bluesky and Mastodon
    seed(table)
    # When the month is reported
    report = compute_month(MONTH, load_month(table, MONTH, now=GENERATED, x_budget_usd=30))
    # Then each channel counts its own messages, and the total all of them
    figures = {c.channel: c for c in report.channels}
    assert (figures["x"].messages, figures["x"].posts_announced) == (4, 5)
    assert (figures["bluesky"].messages, figures["bluesky"].individual) == (6, 5)
    assert figures["bluesky"].activation_announcements == 1
    assert (figures["mastodon"].digests, figures["mastodon"].posts_announced) == (1, 5)
    assert figures["total"].messages == 4 + 6 + 1
    assert figures["total"].posts_announced == 15


def test_xs_spend_by_kind_per_announced_post_and_against_the_budget(table: Table) -> None:
    seed(table)
    report = compute_month(MONTH, load_month(table, MONTH, now=GENERATED, x_budget_usd=30))
    spend = report.x_spend
    assert spend is not None
    assert spend.total == 0.430  # September's tweet is not October's
    assert dict(spend.by_kind) == {"post": 0.030, "digest": 0.200, "activation": 0.200}
    assert spend.per_announced_post == 0.430 / 5
    assert spend.budget == 30
    assert spend.share_of_budget == 0.430 / 30


def test_the_report_page_has_a_section_per_channel_and_xs_spend(table: Table) -> None:
    seed(table)
    report = compute_month(MONTH, load_month(table, MONTH, now=GENERATED, x_budget_usd=30))
    page = render_all(report)["html"]
    assert 'id="canaux"' in page
    for name in ("Bluesky", "Mastodon", "Total"):
        assert f'<th scope="row">{name}</th>' in page
    assert "Dépenses sur X" in page
    assert "0,43 $" in page
    assert "30,00 $" in page


def test_without_money_nor_costs_there_is_no_spend(table: Table) -> None:
    DynamoDBRelayStore(table).put_tweet(TweetRecord("t1", "a", at(2), "post", ("P1",), "A1"))
    report = compute_month(MONTH, load_month(table, MONTH, now=GENERATED))
    assert report.x_spend is None
    assert [c.channel for c in report.channels] == ["x", "bluesky", "mastodon", "total"]


def snapshots(table: Table) -> None:
    """Bluesky's and Mastodon's daily snapshots of the month, as the snapshot stores them."""
    from datetime import date

    from entraide.reporting.snapshot_store import SnapshotStore
    from entraide.reporting.snapshots import FollowerSnapshot, TopFollower, TweetMetrics

    taken = GENERATED
    bluesky = SnapshotStore(table, "bluesky")
    bluesky.put_followers(FollowerSnapshot(date(2026, 10, 1), 1200), taken_at=taken)
    top = (TopFollower("did:plc:a", "lamontagne.fr", 90000), TopFollower("did:plc:b", "x.fr", 12))
    bluesky.put_followers(
        FollowerSnapshot(date(2026, 11, 1), 1500, top, followers_read=1500, top_complete=True),
        taken_at=taken,
    )
    bluesky.put_tweet_metrics(
        date(2026, 11, 1),
        [TweetMetrics("at://b/0", date(2026, 11, 1), 10, 4, 1, 1)],
        taken_at=taken,
    )
    mastodon = SnapshotStore(table, "mastodon")
    mastodon.put_followers(FollowerSnapshot(date(2026, 10, 31), 300), taken_at=taken)
    mastodon.put_tweet_metrics(
        date(2026, 10, 31), [TweetMetrics("m1", date(2026, 10, 31), 3, 2, 0, 0)], taken_at=taken
    )


def test_each_channel_has_its_followers_and_interactions_from_its_own_snapshots(
    table: Table,
) -> None:
    # Given a month published on every channel, and Bluesky's and Mastodon's snapshots
    seed(table)
    snapshots(table)
    # When the month is reported
    report = compute_month(MONTH, load_month(table, MONTH, now=GENERATED))
    figures = {c.channel: c for c in report.channels}
    # Then Bluesky's section has its followers (start of month to the 1st of the next),
    # its top followers and its post's interactions; Mastodon's its own
    bluesky = figures["bluesky"]
    assert bluesky.followers is not None
    assert (bluesky.followers.start, bluesky.followers.end) == (1200, 1500)
    assert bluesky.followers.growth == 300
    assert [u.username for u in bluesky.followers.top] == ["lamontagne.fr", "x.fr"]
    assert (bluesky.measured, bluesky.interactions) == (1, 16)
    assert bluesky.engagement_rate == pytest.approx(16 / 1500, abs=1e-4)  # per follower
    mastodon = figures["mastodon"]
    assert mastodon.followers is not None
    assert mastodon.followers.end == 300
    assert (mastodon.measured, mastodon.interactions) == (1, 5)
    # And X, without snapshots, has none; the total adds the interactions
    x_followers = figures["x"].followers
    assert x_followers is not None
    assert x_followers.end is None
    assert figures["total"].interactions == 16 + 5
    # And the page and the CSV show them, Bluesky's most followed included
    rendered = render_all(report)
    assert "Les abonnés les plus influents sur Bluesky" in rendered["html"]
    assert "@lamontagne.fr" in rendered["html"]
    assert "Canal Bluesky,Abonnés en fin de mois,1500" in rendered["csv"]
    assert "Canal Mastodon,Interactions,5" in rendered["csv"]
