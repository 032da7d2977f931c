"""The monthly report's editorial section: the calendar's items and blog articles of the
month, what each channel published of them (the relay's records), the missed and the held,
and their engagement on X beside the crisis messages'."""

from __future__ import annotations

from datetime import UTC, date, datetime

from entraide.activation.activation_store import ActivationStore
from entraide.adapters.table import Table
from entraide.editorial.calendar import FROM_BLOG, EditorialItem
from entraide.editorial.calendar_store import EditorialStore
from entraide.publishing.relay_store import DynamoDBRelayStore, TweetRecord
from entraide.reporting.figures import MonthData, TweetFacts
from entraide.reporting.formats import to_csv
from entraide.reporting.kpi import compute_month
from entraide.reporting.month_loader import load_month
from entraide.reporting.snapshots import TweetMetrics
from entraide.web.report_page import render_all, summary_lines
from tests.factories import make_activation

MONTH = "2026-10"
GENERATED = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
ALL = ("x", "bluesky", "mastodon")


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=UTC)


def item(name: str, moment: datetime, origin: str = "calendrier") -> EditorialItem:
    return EditorialItem(name, f"Texte {name}", "", ALL, moment, "prévention", "Claire", origin)


def seed(table: Table) -> None:
    store = EditorialStore(table)
    store.add(
        [
            item("cal-a", at(2)),
            item("cal-b", at(12)),  # during the activation (10th to 14th)
            item("blog-c", at(20), FROM_BLOG),
            item("cal-d", at(13)),  # during the activation, then missed
            item("cal-e", at(25)),  # cancelled
            item("cal-f", datetime(2026, 11, 2, 9, tzinfo=UTC)),  # November's
        ],
        created_at=at(1),
    )
    for name, moment in (("cal-a", at(2)), ("cal-b", at(15)), ("blog-c", at(20))):
        sent = store.get(name)
        assert sent is not None
        for channel in ALL:
            sent = store.mark_sent(sent, channel, moment)
    store.mark_missed("cal-d")
    store.cancel("cal-e")
    ActivationStore(table).create_activation(make_activation(id="A-OCT", opened_at=at(10)))
    ActivationStore(table).close_activation("A-OCT", at(14))
    x, bluesky = DynamoDBRelayStore(table), DynamoDBRelayStore(table, "bluesky")
    for index, moment in enumerate((at(2), at(15), at(20))):
        x.put_tweet(TweetRecord(f"x-e{index}", "t", moment, "editorial", (), ""))
        bluesky.put_tweet(TweetRecord(f"at://e/{index}", "t", moment, "editorial", (), ""))
    x.put_tweet(TweetRecord("x-p1", "t", at(11), "post", ("P1",), "A-OCT"))
    DynamoDBRelayStore(table, "mastodon").put_tweet(
        TweetRecord("m-e1", "t", at(2), "editorial", (), "")
    )


def test_the_month_counts_the_items_per_state_and_what_each_channel_published(
    table: Table,
) -> None:
    # Given a month of the calendar, an activation in the middle, and the relay's records
    seed(table)
    # When the month is reported
    report = compute_month(MONTH, load_month(table, MONTH, now=GENERATED))
    editorial = report.editorial
    # Then the items of the month (November's aside, the cancelled one apart) are counted
    assert editorial is not None
    assert (editorial.items, editorial.from_calendar, editorial.from_blog) == (4, 3, 1)
    assert (editorial.handed, editorial.missed, editorial.cancelled) == (3, 1, 1)
    assert editorial.held == 2  # cal-b and cal-d fell while A-OCT was open
    # And what each channel published is the relay's record, not the hand-over
    assert dict(editorial.published) == {"x": 3, "bluesky": 3, "mastodon": 1}
    assert editorial.editorial_engagement.messages == 3
    assert editorial.crisis_engagement.messages == 1


def test_the_page_the_email_and_the_csv_carry_the_section(table: Table) -> None:
    seed(table)
    report = compute_month(MONTH, load_month(table, MONTH, now=GENERATED))
    page = render_all(report)["html"]
    assert 'id="editorial"' in page
    assert "Publiés sur Mastodon" in page
    summary = dict(summary_lines(report))
    assert summary["Calendrier éditorial"].startswith("4 éléments, publiés : X 3, Bluesky 3")
    assert "Calendrier éditorial,Retenus pendant une activation,2" in to_csv(report)


def test_editorial_engagement_stands_beside_the_crisis_messages() -> None:
    # Given two editorial tweets and one crisis tweet on X, measured with impressions
    tweets = (
        TweetFacts("e1", at(2), "editorial"),
        TweetFacts("e2", at(3), "editorial"),
        TweetFacts("p1", at(4), "post", post_count=1),
    )
    metrics = (
        TweetMetrics("e1", date(2026, 10, 5), 4, 1, 0, 0, impressions=100),
        TweetMetrics("e2", date(2026, 10, 5), 1, 0, 0, 0, impressions=100),
        TweetMetrics("p1", date(2026, 10, 5), 30, 10, 5, 5, impressions=200),
    )
    # When the month is computed
    report = compute_month(MONTH, MonthData(MONTH, GENERATED, tweets=tweets, tweet_metrics=metrics))
    # Then each kind has its interactions and its rate, on the month's basis (impressions)
    assert report.editorial is not None
    editorial, crisis = report.editorial.editorial_engagement, report.editorial.crisis_engagement
    assert (editorial.measured, editorial.interactions) == (2, 6)
    assert editorial.engagement_rate == 6 / 200
    assert (crisis.measured, crisis.interactions, crisis.engagement_rate) == (1, 50, 50 / 200)
