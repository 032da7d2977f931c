"""One collection run of the watch: every source read, each a failure of its own.

X's reads are paid for before they are made: the run reserves a request's worst cost
against the day's budget (:class:`XReadState.reserve`, one conditional step), then gives back
what the answer did not cost. A request that fails after it was sent keeps its reservation,
since X may have charged it: the day's spending is never under-counted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Final, Protocol

from entraide.publishing.xapi import UserContextClient
from entraide.watch.config import (
    BlueskySearchSource,
    FeedSource,
    MastodonHashtagsSource,
    Source,
    WatchConfig,
    XSearchSource,
)
from entraide.watch.items import (
    WatchItem,
    bluesky_items,
    feed_items,
    mastodon_items,
    newest_x_id,
    x_search_items,
)
from entraide.watch.x_reads import bluesky_query, plan_read, read_cost, search_query

if TYPE_CHECKING:
    import requests

#: Fields asked of X with each post: what the score reads (docs.x.com, "Search Posts":
#: ``tweet.fields``, ``user.fields``, ``expansions=author_id``).
TWEET_FIELDS = ("created_at", "public_metrics", "lang")
USER_FIELDS = ("username", "public_metrics")


class XSearcher(Protocol):
    def search(self, query: str, *, max_results: int, since_id: str | None) -> Mapping[str, Any]:
        """The JSON body of ``GET /2/tweets/search/recent``."""


class TweepySearcher:
    """X recent search through the channels' own X client (``publishing.xapi``)."""

    def __init__(self, client: UserContextClient) -> None:
        self._client = client

    def search(self, query: str, *, max_results: int, since_id: str | None) -> Mapping[str, Any]:
        body: Mapping[str, Any] = self._client.call(
            "search_recent_tweets",
            query,
            max_results=max_results,
            since_id=since_id,
            expansions=["author_id"],
            tweet_fields=list(TWEET_FIELDS),
            user_fields=list(USER_FIELDS),
            read=lambda response: response.json(),
        )
        return body


class XReadState(Protocol):
    def reserve(self, source_id: str, day: date, amount: int, budget: int) -> int | None:
        """Add ``amount`` to the day's spending if it stays within ``budget``; the spending
        before it, or ``None`` when it would not fit."""

    def settle(self, source_id: str, day: date, refund: int, since_id: str | None) -> None:
        """Give back what the answer did not cost; remember the newest post read."""

    def spent(self, source_id: str, day: date) -> int: ...

    def since_id(self, source_id: str) -> str | None: ...


@dataclass
class MemoryXReadState:
    """The read state in dicts (tests, one process)."""

    spent_by_day: dict[tuple[str, date], int] = field(default_factory=dict)
    newest: dict[str, str] = field(default_factory=dict)

    def reserve(self, source_id: str, day: date, amount: int, budget: int) -> int | None:
        before = self.spent_by_day.get((source_id, day), 0)
        if before + amount > budget:
            return None
        self.spent_by_day[(source_id, day)] = before + amount
        return before

    def settle(self, source_id: str, day: date, refund: int, since_id: str | None) -> None:
        self.spent_by_day[(source_id, day)] -= refund
        if since_id:
            self.newest[source_id] = since_id

    def spent(self, source_id: str, day: date) -> int:
        return self.spent_by_day.get((source_id, day), 0)

    def since_id(self, source_id: str) -> str | None:
        return self.newest.get(source_id)


def collect_x(
    source: XSearchSource,
    config: WatchConfig,
    searcher: XSearcher,
    state: XReadState,
    now: datetime,
) -> list[WatchItem]:
    """One request, if the day's budget pays it at its worst (else nothing this run)."""
    day = now.date()
    budget = source.daily_read_budget_millidollars
    # Planned on the spending read now; the conditional reservation refuses the request if
    # another run spent meanwhile.
    plan = plan_read(budget, state.spent(source.id, day))
    if plan is None or state.reserve(source.id, day, plan.worst_cost, budget) is None:
        return []
    body = searcher.search(
        search_query(config.themes_of(source)),
        max_results=plan.max_results,
        since_id=state.since_id(source.id),
    )
    items = x_search_items(source.id, body)
    authors = len(body.get("includes", {}).get("users", []))
    cost = read_cost(len(items), authors)
    state.settle(source.id, day, max(0, plan.worst_cost - cost), newest_x_id(body))
    return items


@dataclass(frozen=True)
class CollectionRun:
    items: tuple[WatchItem, ...]
    #: Each failed source and why (the exception's kind and message, no document).
    failures: Mapping[str, str]


def collect(
    config: WatchConfig, readers: Mapping[str, Callable[[Source], list[WatchItem]]]
) -> CollectionRun:
    """Every source of the file through the reader of its kind; a source that fails (or
    whose kind has no reader in this run) is recorded and the others go on."""
    items: list[WatchItem] = []
    failures: dict[str, str] = {}
    for source in config.sources:
        reader = readers.get(source.kind)
        if reader is None:
            failures[source.id] = f"aucun lecteur pour {source.kind}"
            continue
        try:
            items += reader(source)
        except Exception as exc:  # one source's fault is that source's alone
            failures[source.id] = f"{type(exc).__name__}: {str(exc)[:200]}"
    return CollectionRun(tuple(items), failures)


def read_feed(source: FeedSource, *, session: requests.Session | None = None) -> list[WatchItem]:
    """An institutional feed through the alert sources' HTTP reader (retries, timeouts, the
    size limit counted on the bytes received, not on what the server announces)."""
    from entraide.activation.alerts.http import fetch_document

    document = fetch_document(
        source.url, session=session, max_bytes=source.max_bytes, source=source.id
    )
    return feed_items(source.id, document, max_bytes=source.max_bytes)


def read_mastodon(source: MastodonHashtagsSource, client: Any) -> list[WatchItem]:
    """Each hashtag's public timeline on the instance (``Mastodon.timeline_hashtag``: the
    hashtag without its ``#``, local and remote statuses, 20 a page by default)."""
    items: list[WatchItem] = []
    seen: set[str] = set()
    for tag in source.hashtags:
        statuses = client.timeline_hashtag(tag.removeprefix("#"))
        for item in mastodon_items(source.id, [dict(status) for status in statuses]):
            if item.item_id not in seen:  # a status under two of the hashtags
                seen.add(item.item_id)
                items.append(item)
    return items


#: Posts asked of Bluesky per theme (the lexicon's ``limit``: 1 to 100, 25 by default).
BLUESKY_LIMIT: Final = 50


def read_bluesky(source: BlueskySearchSource, config: WatchConfig, client: Any) -> list[WatchItem]:
    """One ``app.bsky.feed.searchPosts`` per theme through ``atproto`` (the channels' Bluesky
    client), French posts, newest first. The lexicon leaves ``q``'s syntax unspecified, so
    each request asks one term (:func:`bluesky_query`). Bluesky counts API reads per IP,
    3,000 per 5 minutes (docs.bsky.app "Rate Limits"): a run's handful is far below."""
    items: list[WatchItem] = []
    seen: set[str] = set()
    for theme in config.themes_of(source):
        answer = client.app.bsky.feed.search_posts(
            params={
                "q": bluesky_query(theme),
                "lang": "fr",
                "sort": "latest",
                "limit": BLUESKY_LIMIT,
            }
        )
        body = answer.model_dump(mode="json", by_alias=True)
        for item in bluesky_items(source.id, body):
            if item.item_id not in seen:  # a post under two themes
                seen.add(item.item_id)
                items.append(item)
    return items
