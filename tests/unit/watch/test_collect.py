"""A collection run: X's reads paid before they are made, each source a failure of its own."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from entraide.activation.alerts.model import SourceError
from entraide.publishing.xapi import UserContextClient, XUnavailable
from entraide.watch.collect import (
    MemoryXReadState,
    TweepySearcher,
    collect,
    collect_x,
    read_feed,
    read_mastodon,
)
from entraide.watch.config import (
    FeedSource,
    MastodonHashtagsSource,
    Source,
    XSearchSource,
    load_watch_file,
)
from entraide.watch.items import WatchItem
from tests.factories import X_CREDENTIALS
from tests.paths import FIXTURES

CONFIG = load_watch_file()
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
RECORDED = json.loads(
    (FIXTURES / "watch" / "tweepy_test_client_search_recent_tweets.json").read_text()
)
SEARCH_URL = "https://api.twitter.com/2/tweets/search/recent"
X_SOURCE = next(s for s in CONFIG.sources if isinstance(s, XSearchSource))


class Searcher:
    def __init__(self, *answers: Mapping[str, Any] | Exception) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[int, str | None]] = []

    def search(self, query: str, *, max_results: int, since_id: str | None) -> Mapping[str, Any]:
        self.asked.append((max_results, since_id))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@responses.activate
def test_the_search_goes_through_xs_client_and_reads_the_recorded_answer() -> None:
    # Given X answering the recent search as recorded
    responses.get(SEARCH_URL, json=RECORDED)
    searcher = TweepySearcher(UserContextClient(lambda: X_CREDENTIALS))
    state = MemoryXReadState()
    # When the watch collects from X
    items = collect_x(X_SOURCE, CONFIG, searcher, state, NOW)
    # Then the request asks what the budget pays at worst, for French originals
    asked = parse_qs(urlparse(responses.calls[0].request.url).query)
    assert asked["max_results"] == ["66"]
    assert asked["query"][0].endswith("lang:fr -is:retweet")
    assert asked["expansions"] == ["author_id"]
    assert "since_id" not in asked
    # and the ten posts read (no author expanded) are what the day spent
    assert len(items) == 10
    assert state.spent(X_SOURCE.id, NOW.date()) == 10 * 5
    assert state.since_id(X_SOURCE.id) == "1578516068309794817"


def test_the_next_run_reads_only_newer_posts() -> None:
    state = MemoryXReadState()
    searcher = Searcher(RECORDED, {"meta": {"result_count": 0}})
    collect_x(X_SOURCE, CONFIG, searcher, state, NOW)
    collect_x(X_SOURCE, CONFIG, searcher, state, NOW)
    assert searcher.asked[1][1] == "1578516068309794817"


def test_a_spent_day_asks_nothing_more() -> None:
    state = MemoryXReadState()
    state.reserve(X_SOURCE.id, NOW.date(), 900, X_SOURCE.daily_read_budget_millidollars)
    searcher = Searcher()
    assert collect_x(X_SOURCE, CONFIG, searcher, state, NOW) == []
    assert searcher.asked == []


def test_a_request_lost_on_its_way_keeps_its_worst_cost() -> None:
    # Given X failing after the request was sent (X may have charged it)
    state = MemoryXReadState()
    searcher = Searcher(XUnavailable("timeout", maybe_posted=True))
    # When the watch collects, Then the failure is raised and the reservation kept
    with pytest.raises(XUnavailable):
        collect_x(X_SOURCE, CONFIG, searcher, state, NOW)
    assert state.spent(X_SOURCE.id, NOW.date()) == 66 * 15


def test_each_source_fails_alone() -> None:
    item = WatchItem(None, "meteoalarm-france", "1", "m", "t", "https://m", None)

    def broken(source: Source) -> list[WatchItem]:
        raise ValueError("réponse illisible")

    def feed(source: Source) -> list[WatchItem]:
        return [item]

    run = collect(CONFIG, {"x_search": broken, "feed": feed})
    assert run.items == (item,)
    assert run.failures == {
        "x-recherche": "ValueError: réponse illisible",
        "bluesky-recherche": "aucun lecteur pour bluesky_search",
        "mastodon-piaille": "aucun lecteur pour mastodon_hashtags",
    }


MASTODON_BODY = (FIXTURES / "watch" / "mastodonpy_test_hashtag_tl_body.json").read_text()


@responses.activate
def test_a_mastodon_source_reads_each_hashtag_through_the_official_client() -> None:
    # Given an instance answering every hashtag timeline with the recorded status
    from mastodon import Mastodon

    responses.get(re.compile(r"https://piaille\.fr/api/v1/timelines/tag/\w+"), body=MASTODON_BODY)
    client = Mastodon(api_base_url="https://piaille.fr", version_check_mode="none")
    source = next(s for s in CONFIG.sources if isinstance(s, MastodonHashtagsSource))
    # When the source is read
    items = read_mastodon(source, client)
    # Then each hashtag was asked without its '#', and the status shared by all kept once
    paths = [urlparse(call.request.url).path for call in responses.calls]
    assert [path for path in paths if "/timelines/" in path] == [
        f"/api/v1/timelines/tag/{tag.removeprefix('#')}" for tag in source.hashtags
    ]
    assert [item.item_id for item in items] == ["109440153064280358"]


@responses.activate
def test_a_feed_is_read_within_its_size_limit() -> None:
    document = (FIXTURES / "alerts" / "meteoalarm_france_atom_feed.xml").read_bytes()
    source = next(s for s in CONFIG.sources if isinstance(s, FeedSource))
    responses.get(source.url, body=document, content_type="application/atom+xml")
    assert len(read_feed(source)) == document.count(b"<entry")
    small = source.model_copy(update={"max_bytes": len(document) - 1})
    with pytest.raises(SourceError):
        read_feed(small)
