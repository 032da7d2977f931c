"""What each source answered, as the watch's items, from recorded answers
(tests/fixtures/watch/SOURCES.md names where each one comes from)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from entraide.watch.items import (
    SourceDocumentError,
    feed_items,
    mastodon_items,
    newest_x_id,
    x_search_items,
)
from tests.paths import FIXTURES

HERE = FIXTURES / "watch"
METEOALARM = FIXTURES / "alerts" / "meteoalarm_france_atom_feed.xml"


def test_x_recent_search_gives_its_posts_and_the_next_since_id() -> None:
    body = json.loads((HERE / "tweepy_test_client_search_recent_tweets.json").read_text())
    items = x_search_items("x-recherche", body)
    assert len(items) == 10
    assert items[0].item_id == "1578516068309794817"
    assert items[0].text == "2022-10-07 22:42:12.637103 tweepy"
    assert items[0].url == "https://x.com/i/status/1578516068309794817"  # no author expanded
    assert newest_x_id(body) == "1578516068309794817"


def test_an_x_answer_without_posts_gives_none_and_keeps_the_since_id() -> None:
    body = {"meta": {"result_count": 0}}
    assert x_search_items("x", body) == []
    assert newest_x_id(body) is None


def test_a_broken_x_answer_is_a_source_failure() -> None:
    with pytest.raises(SourceDocumentError):
        x_search_items("x", {"data": [{"text": "no id"}]})


def test_a_mastodon_hashtag_timeline_gives_plain_text_and_the_authors_reach() -> None:
    statuses = json.loads((HERE / "mastodonpy_test_hashtag_tl_body.json").read_text())
    [item] = mastodon_items("mastodon-piaille", statuses)
    assert item.author == "mastodonpy_test"
    assert item.text == "#hoot (hashtag toot)"
    assert item.url == "http://localhost:3000/@mastodonpy_test/109440153064280358"
    assert item.published_at == datetime(2022, 12, 1, 19, 50, 10, 577000, tzinfo=UTC)
    assert item.followers == 0


def test_an_institutional_atom_feed_gives_its_entries() -> None:
    document = METEOALARM.read_bytes()
    items = feed_items("meteoalarm-france", document, max_bytes=1_000_000)
    assert len(items) == document.count(b"<entry")
    assert all(item.url.startswith("https://") for item in items)
    assert all(item.published_at is not None for item in items)


def test_a_feed_past_its_size_limit_is_refused_unread() -> None:
    document = METEOALARM.read_bytes()
    with pytest.raises(SourceDocumentError, match="trop long"):
        feed_items("m", document, max_bytes=len(document) - 1)


def test_a_hostile_feed_is_a_source_failure() -> None:
    # an entity bomb: defusedxml refuses entity declarations
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rss>&a;</rss>'
    with pytest.raises(SourceDocumentError):
        feed_items("m", bomb, max_bytes=10_000)
    with pytest.raises(SourceDocumentError, match="ni RSS ni Atom"):
        feed_items("m", b"<html/>", max_bytes=10_000)


def test_an_rss_feed_gives_its_items_an_unreadable_date_left_out() -> None:
    document = (
        b"<rss version='2.0'><channel><title>Pr\xc3\xa9fecture</title>"
        b"<item><title>Vigilance &lt;b&gt;orange&lt;/b&gt; crues</title>"
        b"<link>https://www.example.gouv.fr/actu/1</link>"
        b"<pubDate>Mon, 07 Dec 2026 06:00:00 +0100</pubDate></item>"
        b"<item><title>B</title><link>https://www.example.gouv.fr/actu/2</link>"
        b"<pubDate>hier</pubDate></item></channel></rss>"
    )
    first, second = feed_items("prefecture", document, max_bytes=10_000)
    assert first.text == "Vigilance orange crues"
    assert first.item_id == "https://www.example.gouv.fr/actu/1"
    assert first.published_at == datetime(2026, 12, 7, 5, 0, tzinfo=UTC)
    assert second.published_at is None
