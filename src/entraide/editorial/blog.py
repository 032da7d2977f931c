"""The blog's feed: each new article announced once, as an editorial item.

The feed (RSS 2.0 — a WordPress blog serves it at ``/feed/`` — or Atom) is read every hour
with a conditional request (``If-None-Match`` / ``If-Modified-Since`` from the last answer:
a 304 reads nothing), at most :data:`MAX_FEED_BYTES`, and parsed with defusedxml: a
document with a DTD or entities (billion laughs, external entities) is refused.

**Never a burst of old articles.** The first reading announces the newest article only
and remembers the others as seen; later, the articles not seen yet are announced, newest
first, at most ``max_new`` of them. More unseen articles than that at once means the feed
changed (a migration renumbering every guid, another feed behind the URL): a source
failure — nothing announced, everything remembered as seen, the operators told by the
metric. A feed that cannot be read or parsed, or whose items have no title or link, is a
source failure too; what was seen stays as it was.

An announcement is an editorial item (``blog-<digest of the article's key>``: stored once,
whatever the readings) on every channel, "Nouvel article : <titre>" with the article's
link, published on the calendar's rhythm and held like it during an activation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final
from urllib.parse import urljoin
from xml.etree.ElementTree import Element

from entraide.editorial.calendar import FROM_BLOG, EditorialItem

#: A blog's feed is tens of kilobytes; a document larger than this is not one.
MAX_FEED_BYTES: Final = 2_000_000
#: The guids remembered (a feed lists its 10 to 50 latest articles).
SEEN_KEPT: Final = 500
ATOM: Final = "{http://www.w3.org/2005/Atom}"
PREFIX: Final = "Nouvel article : "


class FeedFailure(Exception):
    """The feed could not be read, or is no longer what it was: nothing is announced."""


@dataclass(frozen=True, slots=True)
class Article:
    key: str
    title: str
    link: str
    published: datetime | None


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the last good reading left: validators for the next request, the articles seen."""

    etag: str = ""
    last_modified: str = ""
    seen: tuple[str, ...] = ()
    read_once: bool = False


@dataclass(frozen=True, slots=True)
class Fetched:
    """A feed's answer: ``body`` None when the server said 304 (nothing new)."""

    body: bytes | None
    etag: str = ""
    last_modified: str = ""


@dataclass(slots=True)
class Reading:
    announced: list[EditorialItem] = field(default_factory=list)
    failure: str = ""
    unchanged: bool = False


def _text(element: Element | None) -> str:
    return " ".join((element.text or "").split()) if element is not None else ""


def _date(text: str) -> datetime | None:
    if not text:
        return None
    try:
        return parsedate_to_datetime(text)  # RSS: RFC 822
    except (TypeError, ValueError):
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))  # Atom: RFC 3339
    except ValueError:
        return None


def _rss(root: Element, base: str) -> list[Article]:
    articles = []
    for item in root.iter("item"):
        title, link = _text(item.find("title")), _text(item.find("link"))
        if not (title and link):
            continue  # RSS allows an item without them; it cannot be announced
        key = _text(item.find("guid")) or link
        articles.append(
            Article(key, title, urljoin(base, link), _date(_text(item.find("pubDate"))))
        )
    return articles


def _atom(root: Element, base: str) -> list[Article]:
    articles = []
    for entry in root.iter(f"{ATOM}entry"):
        links = [
            link.get("href", "")
            for link in entry.findall(f"{ATOM}link")
            if link.get("rel", "alternate") == "alternate"
        ]
        title = _text(entry.find(f"{ATOM}title"))
        if not (title and links and links[0]):
            continue
        when = _text(entry.find(f"{ATOM}published")) or _text(entry.find(f"{ATOM}updated"))
        key = _text(entry.find(f"{ATOM}id")) or links[0]
        articles.append(Article(key, title, urljoin(base, links[0]), _date(when)))
    return articles


def parse_feed(data: bytes, base_url: str) -> list[Article]:
    """The articles of an RSS or Atom document, newest first; :class:`FeedFailure` else."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    if len(data) > MAX_FEED_BYTES:
        raise FeedFailure(f"feed larger than {MAX_FEED_BYTES} bytes ({len(data)})")
    try:
        root = fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise FeedFailure(f"hostile XML refused ({type(exc).__name__})") from exc
    except ParseError as exc:
        raise FeedFailure(f"not XML: {exc}") from exc
    if root.tag == "rss":
        articles, items = _rss(root, base_url), len(list(root.iter("item")))
    elif root.tag == f"{ATOM}feed":
        articles, items = _atom(root, base_url), len(list(root.iter(f"{ATOM}entry")))
    else:
        raise FeedFailure(f"neither RSS nor Atom (root element {root.tag!r})")
    if items and not articles:
        raise FeedFailure("no item has a title and a link: the feed changed shape")
    return sorted(
        articles, key=lambda a: a.published.timestamp() if a.published else 0, reverse=True
    )


def article_item(article: Article, channels: Sequence[str], at: datetime) -> EditorialItem:
    digest = hashlib.sha256(article.key.encode()).hexdigest()[:20]
    return EditorialItem(
        id=f"blog-{digest}",
        text=f"{PREFIX}{article.title}",
        link=article.link,
        channels=tuple(channels),
        at=at,
        theme="blog",
        author="",
        origin=FROM_BLOG,
    )


def fit_title(item: EditorialItem, fits: Callable[[str, str], bool]) -> EditorialItem:
    """The title cut at a word (with "…") until the text and its link fit every channel."""
    title = item.text.removeprefix(PREFIX)
    while title and not fits(f"{PREFIX}{title}", item.link):
        title = title.rsplit(" ", 1)[0] if " " in title else title[:-1]
        title = title.rstrip(" ,;:…") + "…" if title else ""
    return replace(item, text=f"{PREFIX}{title}")


def new_articles(
    articles: Sequence[Article], state: FeedState, *, max_new: int
) -> tuple[list[Article], FeedState, str]:
    """What to announce, the state after, and a failure ("" when none)."""
    keys = tuple(article.key for article in articles)
    seen = set(state.seen)
    remembered = (*[key for key in keys if key not in seen], *state.seen)[:SEEN_KEPT]
    after = replace(state, seen=remembered, read_once=True)
    if not state.read_once:
        return list(articles[:1]), after, ""
    unseen = [article for article in articles if article.key not in seen]
    if len(unseen) > max_new:
        return [], after, f"{len(unseen)} unseen articles at once: the feed changed"
    return unseen, after, ""


def read_blog(
    fetch: Callable[[FeedState], Fetched],
    state: FeedState,
    *,
    base_url: str,
    max_new: int,
) -> tuple[list[Article], FeedState, str]:
    """One hourly reading: the articles to announce, the state to keep, a failure."""
    try:
        fetched = fetch(state)
        if fetched.body is None:
            return [], state, ""
        articles = parse_feed(fetched.body, base_url)
    except FeedFailure as exc:
        return [], state, str(exc)
    chosen, after, failure = new_articles(articles, state, max_new=max_new)
    after = replace(after, etag=fetched.etag, last_modified=fetched.last_modified)
    return chosen, after, failure


def conditional_headers(state: FeedState) -> dict[str, Any]:
    headers = {}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    return headers


def feed_fetcher(
    url: str, *, timeout: float = 20.0, session: Any | None = None
) -> Callable[[FeedState], Fetched]:
    """Reads ``url`` with the state's validators, at most :data:`MAX_FEED_BYTES`; a
    ``file://`` URL is read from disk (the local stack's sample blog)."""

    def fetch(state: FeedState) -> Fetched:
        if url.startswith("file://"):
            from pathlib import Path
            from urllib.parse import urlsplit
            from urllib.request import url2pathname

            path = Path(url2pathname(urlsplit(url).path))
            try:
                with path.open("rb") as source:
                    return Fetched(source.read(MAX_FEED_BYTES + 1))
            except OSError as exc:
                raise FeedFailure(f"cannot read {path.name}: {exc.strerror}") from exc
        import requests

        http = session or requests.Session()
        try:
            with http.get(
                url, headers=conditional_headers(state), timeout=timeout, stream=True
            ) as answer:
                if answer.status_code == 304:
                    return Fetched(None, state.etag, state.last_modified)
                if answer.status_code != 200:
                    raise FeedFailure(f"HTTP {answer.status_code}")
                body = b""
                for chunk in answer.iter_content(65_536):
                    body += chunk
                    if len(body) > MAX_FEED_BYTES:
                        raise FeedFailure(f"feed larger than {MAX_FEED_BYTES} bytes")
                return Fetched(
                    body,
                    answer.headers.get("ETag", ""),
                    answer.headers.get("Last-Modified", ""),
                )
        except requests.RequestException as exc:
            raise FeedFailure(f"cannot read the feed: {type(exc).__name__}") from exc

    return fetch
