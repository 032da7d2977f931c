"""The blog's feed: its newest article announced once, never a burst of old ones."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses

from entraide.adapters.table import Table
from entraide.editorial.blog import MAX_FEED_BYTES, FeedState, Fetched, Reading, feed_fetcher
from entraide.editorial.calendar import FROM_BLOG, ItemState
from entraide.editorial.calendar_store import EditorialStore
from entraide.editorial.desk import announce_blog
from entraide.publishing.text_rules import BLUESKY_RULE, X_RULE
from entraide.publishing.tweets import editorial_tweet

BLOG = Path(__file__).parents[2] / "fixtures" / "blog"
SAMPLE = (BLOG / "rss2sample.xml").read_bytes()  # RSS 2.0's own sample (SOURCES.md)
URL = "https://blog.example.fr/feed/"
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
NEW_ITEM = b"""<item>
   <title>Crues : ce que nous avons appris en 2018</title>
   <link>https://blog.example.fr/crues-2018/</link>
   <pubDate>Mon, 07 Dec 2026 07:00:00 GMT</pubDate>
   <guid>https://blog.example.fr/?p=42</guid>
</item>"""


def fits(text: str, link: str) -> bool:
    try:
        for rule in (X_RULE, BLUESKY_RULE):
            editorial_tweet(text, link, rule=rule)
    except ValueError:
        return False
    return True


def reading_of(store: EditorialStore, body: bytes | None, *, max_new: int = 3) -> Reading:
    """One hourly reading of a feed answering ``body``."""
    return announce_blog(
        store,
        lambda state: Fetched(body),
        url=URL,
        channels=("x", "bluesky"),
        fits=fits,
        max_new=max_new,
        clock=lambda: NOW,
    )


def read(store: EditorialStore, body: bytes | None) -> list[str]:
    reading = reading_of(store, body)
    assert not reading.failure, reading.failure
    return [item.text for item in reading.announced]


@pytest.fixture
def store(table: Table) -> EditorialStore:
    return EditorialStore(table)


def test_the_first_reading_announces_the_newest_article_only_then_each_new_one_once(
    store: EditorialStore,
) -> None:
    # Given the real RSS sample, read for the first time
    assert read(store, SAMPLE) == ["Nouvel article : Star City"]
    [item] = store.in_state(ItemState.PLANNED)
    assert item.origin == FROM_BLOG
    assert item.link.endswith("news-starcity.asp")
    assert "@" not in item.text  # the feed's e-mail addresses never reach a text
    # When it is read again: Then nothing more
    assert read(store, SAMPLE) == []
    # When a new article appears at the top: Then it alone is announced, once
    grown = SAMPLE.replace(b"<item>", NEW_ITEM + b"<item>", 1)
    assert read(store, grown) == ["Nouvel article : Crues : ce que nous avons appris en 2018"]
    assert read(store, grown) == []
    assert len(store.in_state(ItemState.PLANNED)) == 2


def test_a_feed_whose_every_guid_changed_is_a_source_failure_not_a_burst(
    store: EditorialStore,
) -> None:
    # Given the sample read once
    read(store, SAMPLE)
    # When every guid changes (a migration)
    moved = SAMPLE.replace(b"liftoff.msfc.nasa.gov/2003", b"liftoff.example/2003")
    reading = reading_of(store, moved, max_new=2)
    # Then nothing is announced, the failure is said, and the next reading is quiet
    assert reading.announced == []
    assert "changed" in reading.failure
    assert read(store, moved) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ((BLOG / "HANDMADE_billion_laughs.xml").read_bytes(), "hostile XML"),
        (b"<html><body>maintenance</body></html>", "neither RSS nor Atom"),
        (b"<rss><channel><item><description>x</description></item></channel></rss>", "shape"),
        (b"<rss" + b" " * MAX_FEED_BYTES + b"/>", "larger than"),
    ],
)
def test_a_hostile_reshaped_or_huge_feed_announces_nothing(
    store: EditorialStore, body: bytes, reason: str
) -> None:
    # Given a feed already read
    read(store, SAMPLE)
    before = store.feed_state(URL)
    # When the feed answers a hostile, foreign, reshaped or oversized document
    reading = reading_of(store, body)
    # Then it is a source failure; nothing is announced and what was seen is kept
    assert reason in reading.failure
    assert reading.announced == []
    assert store.feed_state(URL) == before


@responses.activate
def test_the_feed_is_read_with_its_validators_and_a_304_reads_nothing() -> None:
    # Given a blog answering with an ETag and a Last-Modified, then 304 to a conditional GET
    responses.get(
        URL,
        body=SAMPLE,
        headers={"ETag": '"v1"', "Last-Modified": "Mon, 07 Dec 2026 07:00:00 GMT"},
    )
    responses.get(
        URL,
        status=304,
        match=[responses.matchers.header_matcher({"If-None-Match": '"v1"'})],
    )
    fetch = feed_fetcher(URL)
    # When it is read, then read again with what the first answer said
    first = fetch(FeedState())
    second = fetch(FeedState(etag=first.etag, last_modified=first.last_modified))
    # Then the first brings the feed and its validators, the second nothing
    assert first.body == SAMPLE
    assert first.etag == '"v1"'
    assert second.body is None
    sent = responses.calls[1].request.headers
    assert sent["If-Modified-Since"] == "Mon, 07 Dec 2026 07:00:00 GMT"
