"""A collection run: X's reads paid before they are made, each source a failure of its own."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import responses

from entraide.activation.alerts.model import SourceError
from entraide.publishing.x_answers import XUnavailable
from entraide.publishing.xapi import UserContextClient
from entraide.watch.collect import (
    MemoryXReadState,
    TweepySearcher,
    collect,
    collect_x,
    read_bluesky,
    read_feed,
    read_mastodon,
)
from entraide.watch.config import (
    BlueskySearchSource,
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
    asked = parse_qs(urlparse(str(responses.calls[0].request.url)).query)
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


BLUESKY_SEARCH = json.loads(
    (FIXTURES / "watch" / "HANDMADE_bluesky_search_posts.json").read_text(encoding="utf-8")
)


class AppView:
    """A Bluesky service over httpx: the login, then ``searchPosts`` answered ``answer``."""

    def __init__(self, answer: httpx.Response) -> None:
        self.answer = answer
        self.searches: list[dict[str, list[str]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[-1]
        if method == "com.atproto.server.createSession":
            login = json.loads((FIXTURES / "bluesky" / "HANDMADE_create_session.json").read_text())
            return httpx.Response(200, json=login["body"])
        if method == "app.bsky.feed.searchPosts":
            self.searches.append(parse_qs(request.url.query.decode()))
            return self.answer
        return httpx.Response(404)

    def client(self) -> Any:
        from atproto_client.request import Request

        from entraide.publishing.bluesky import BlueskyCredentials, atproto_client

        credentials = BlueskyCredentials.model_validate(
            {"handle": "shareentraide.bsky.social", "app_password": "abcd-efgh-ijkl-mnop"}
        )
        return atproto_client(credentials, request=Request(transport=httpx.MockTransport(self)))


BLUESKY_SOURCE = next(s for s in CONFIG.sources if isinstance(s, BlueskySearchSource))


def test_a_bluesky_source_searches_each_theme_in_french_through_atproto() -> None:
    # Given Bluesky answering every search with the same two posts
    service = AppView(httpx.Response(200, json=BLUESKY_SEARCH))
    # When the source is read
    items = read_bluesky(BLUESKY_SOURCE, CONFIG, service.client())
    # Then one search per theme, French and newest first, each on the theme's first hashtag
    assert [search["q"] for search in service.searches] == [
        [theme.hashtags[0]] for theme in CONFIG.themes
    ]
    assert {search["lang"][0] for search in service.searches} == {"fr"}
    assert {search["sort"][0] for search in service.searches} == {"latest"}
    # and each post once, with its author, link and engagement
    assert [(item.author, item.reposts, item.likes, item.replies) for item in items] == [
        ("franceinfo.fr", 37, 52, 4),
        ("benevoles-sud.bsky.social", 2, 5, 0),
    ]
    assert items[0].url == "https://bsky.app/profile/franceinfo.fr/post/3ldq2kfzqcs2a"
    assert items[0].published_at == datetime(2026, 12, 7, 4, 12, 31, 114000, tzinfo=UTC)
    # and a reference account is scored as one
    assert CONFIG.is_reference("bluesky", items[0].author)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, json={"posts": [{"uri": "at://x"}]}),  # a post without author
        httpx.Response(502, text="Bad Gateway"),
    ],
)
def test_a_broken_bluesky_answer_fails_that_source_alone(answer: httpx.Response) -> None:
    # Given Bluesky answering with a broken document or an outage, and a feed that reads
    service = AppView(answer)
    client = service.client()
    feed = FeedSource(kind="feed", id="f", url="https://example.org/feed")
    config = CONFIG.model_copy(update={"sources": (BLUESKY_SOURCE, feed)})
    # When a run collects both
    run = collect(
        config,
        {
            "bluesky_search": lambda source: read_bluesky(source, config, client),  # type: ignore[arg-type]
            "feed": lambda source: [],
        },
    )
    # Then Bluesky's failure is recorded and the feed still read
    assert list(run.failures) == [BLUESKY_SOURCE.id]
