"""The blog's feed: its newest article announced once, never a burst of old ones."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses

from entraide.adapters.table import Table
from entraide.editorial.blog import (
    MAX_FEED_BYTES,
    FeedState,
    Fetched,
    Reading,
    feed_fetcher,
    parse_feed,
)
from entraide.editorial.calendar import FROM_BLOG, ItemState
from entraide.editorial.calendar_store import EditorialStore
from entraide.editorial.desk import announce_blog
from entraide.publishing.text_rules import BLUESKY_RULE, X_RULE
from entraide.publishing.tweets import editorial_tweet

BLOG = Path(__file__).parents[2] / "fixtures" / "blog"
SAMPLE = (BLOG / "rss2sample.xml").read_bytes()  # RSS 2.0's own sample (SOURCES.md)
WORDPRESS = (BLOG / "wordpress-hunch-net.xml").read_bytes()  # a WordPress blog's /feed/
ATOM = (BLOG / "gulp-releases.atom").read_bytes()  # GitHub's Atom feed of releases
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


def test_a_wordpress_feed_announces_its_newest_post_with_its_permalink(
    store: EditorialStore,
) -> None:
    # Given a WordPress blog's RSS 2.0 feed as WordPress writes it (guid isPermaLink="false",
    # content:encoded, dc:creator, RFC 822 dates with an offset)
    articles = parse_feed(WORDPRESS, "http://hunch.net/?feed=rss2")
    # Then its posts are read newest first, keyed by their guid
    assert [(a.key, a.link) for a in articles] == [
        ("http://hunch.net/?p=524", "http://hunch.net/?p=524"),
        ("http://hunch.net/?p=527", "http://hunch.net/?p=527"),
    ]
    assert articles[0].published == datetime(2009, 1, 21, 23, 57, 19, tzinfo=UTC)
    # When it is read the first time, then again: the newest post only, once
    assert read(store, WORDPRESS) == [
        "Nouvel article : Nearly all natural problems require nonlinearity"
    ]
    assert read(store, WORDPRESS) == []


def test_an_atom_feed_with_relative_links_is_read_newest_first() -> None:
    # Given GitHub's real Atom feed of a project's releases: ten entries, links relative
    # to the feed, times with their own offsets
    articles = parse_feed(ATOM, "https://github.com/gulpjs/gulp/releases.atom")
    # Then every entry is an article, its link made absolute, the newest first
    assert len(articles) == 10
    assert articles[0].title == "v3.9.0"
    assert articles[0].link == "https://github.com/gulpjs/gulp/releases/tag/v3.9.0"
    assert articles[0].key == "tag:github.com,2008:Repository/11167738/v3.9.0"
    assert articles[0].published == datetime(2015, 6, 1, 21, 49, 41, tzinfo=UTC)
    # v3.8.5 and v3.8.4 went out 15 minutes apart on the same morning
    assert [a.title for a in articles[-3:]] == ["v3.8.5", "v3.8.4", "v3.8.3"]


def test_an_atom_feed_grown_by_one_entry_announces_it_once(store: EditorialStore) -> None:
    # Given the Atom feed read once (its newest entry announced)
    assert read(store, ATOM) == ["Nouvel article : v3.9.0"]
    # When an entry appears at the top
    entry = b"""<entry>
    <id>tag:github.com,2008:Repository/11167738/v4.0.0</id>
    <updated>2026-12-07T07:00:00+01:00</updated>
    <link rel="alternate" type="text/html" href="/gulpjs/gulp/releases/tag/v4.0.0"/>
    <title>v4.0.0</title>
  </entry>
  <entry>"""
    grown = ATOM.replace(b"<entry>", entry, 1)
    # Then it alone is announced, once, with its absolute link
    reading = reading_of(store, grown)
    assert [item.text for item in reading.announced] == ["Nouvel article : v4.0.0"]
    assert reading.announced[0].link == "https://blog.example.fr/gulpjs/gulp/releases/tag/v4.0.0"
    assert read(store, grown) == []
