"""The monthly report per channel, and X's spend: by kind, per announced post, against the
budget; read back from the table as the relay records it (DynamoDB on moto)."""

from __future__ import annotations

from datetime import UTC, datetime

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
