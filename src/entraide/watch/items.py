"""What a source answered, as the watch's items: one shape for every network and feed.

Each reader takes the answer's document (JSON already decoded, or a feed's bytes) and gives
:class:`WatchItem` values; a document that is not what the source promises raises
:class:`SourceDocumentError`, which fails that source alone.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from entraide.watch.config import Network

ATOM: Final = "{http://www.w3.org/2005/Atom}"
#: Mastodon's HTML: paragraphs and line breaks part words, links and spans do not.
_BREAK: Final = re.compile(r"<br\s*/?>|</p>", re.IGNORECASE)
_TAG: Final = re.compile(r"<[^>]+>")


class SourceDocumentError(ValueError):
    """A source's answer that cannot be read: that source fails this run, no other."""


@dataclass(frozen=True)
class WatchItem:
    network: Network | None  # None: an institutional feed
    source_id: str
    item_id: str
    author: str
    text: str
    url: str
    published_at: datetime | None
    followers: int | None = None
    reposts: int = 0
    likes: int = 0
    replies: int = 0


def x_search_items(source_id: str, body: Mapping[str, Any]) -> list[WatchItem]:
    """Posts of a ``GET /2/tweets/search/recent`` answer (``data``, ``includes.users``)."""
    try:
        users = {user["id"]: user for user in body.get("includes", {}).get("users", [])}
        items = []
        for post in body.get("data", []):
            author = users.get(post.get("author_id"), {})
            metrics = post.get("public_metrics", {})
            handle = str(author.get("username", ""))
            items.append(
                WatchItem(
                    network="x",
                    source_id=source_id,
                    item_id=str(post["id"]),
                    author=handle,
                    text=str(post["text"]),
                    url=f"https://x.com/{handle or 'i'}/status/{post['id']}",
                    published_at=_instant(post.get("created_at")),
                    followers=author.get("public_metrics", {}).get("followers_count"),
                    reposts=int(metrics.get("retweet_count", 0)),
                    likes=int(metrics.get("like_count", 0)),
                    replies=int(metrics.get("reply_count", 0)),
                )
            )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise SourceDocumentError(f"réponse de X illisible : {exc!r}") from None
    return items


def newest_x_id(body: Mapping[str, Any]) -> str | None:
    """The ``since_id`` of the next search: the newest post this answer held."""
    newest = body.get("meta", {}).get("newest_id")
    return str(newest) if newest else None


def mastodon_items(source_id: str, statuses: Sequence[Mapping[str, Any]]) -> list[WatchItem]:
    """Statuses of a hashtag timeline (``GET /api/v1/timelines/tag/:hashtag``)."""
    try:
        return [
            WatchItem(
                network="mastodon",
                source_id=source_id,
                item_id=str(status["id"]),
                author=str(status["account"]["acct"]),
                text=_plain(str(status["content"])),
                url=str(status["url"] or status["uri"]),
                published_at=_instant(status["created_at"]),
                followers=int(status["account"]["followers_count"]),
                reposts=int(status["reblogs_count"]),
                likes=int(status["favourites_count"]),
                replies=int(status["replies_count"]),
            )
            for status in statuses
            if status.get("reblog") is None
        ]
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise SourceDocumentError(f"fil Mastodon illisible : {exc!r}") from None


def bluesky_items(source_id: str, body: Mapping[str, Any]) -> list[WatchItem]:
    """Posts of an ``app.bsky.feed.searchPosts`` answer (``posts``: ``postView``s whose
    ``record`` is the ``app.bsky.feed.post``). A ``postView``'s author is a
    ``profileViewBasic``, without followers: Bluesky's reach is left unknown."""
    try:
        items = []
        for post in body["posts"]:
            handle = str(post["author"]["handle"])
            record = post["record"]
            items.append(
                WatchItem(
                    network="bluesky",
                    source_id=source_id,
                    item_id=str(post["uri"]),
                    author=handle,
                    text=str(record["text"]),
                    url=f"https://bsky.app/profile/{handle}/post/{post['uri'].rsplit('/', 1)[-1]}",
                    published_at=_instant(record.get("createdAt") or post.get("indexedAt")),
                    reposts=int(post.get("repostCount") or 0),
                    likes=int(post.get("likeCount") or 0),
                    replies=int(post.get("replyCount") or 0),
                )
            )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise SourceDocumentError(f"réponse de Bluesky illisible : {exc!r}") from None
    return items


def feed_items(source_id: str, document: bytes, *, max_bytes: int) -> list[WatchItem]:
    """Entries of an RSS 2.0 or Atom feed, read with defusedxml (no entity expansion, no
    external entity) and refused past ``max_bytes``."""
    if len(document) > max_bytes:
        raise SourceDocumentError(f"flux trop long : {len(document)} octets (> {max_bytes})")
    try:
        root = fromstring(document)
    except (ParseError, DefusedXmlException) as exc:
        raise SourceDocumentError(f"flux illisible : {exc!r}") from None
    if root.tag == f"{ATOM}feed":
        return [_atom_entry(source_id, entry) for entry in root.iter(f"{ATOM}entry")]
    if root.tag == "rss":
        return [_rss_item(source_id, item) for item in root.iter("item")]
    raise SourceDocumentError(f"ni RSS ni Atom : élément racine {root.tag!r}")


def _atom_entry(source_id: str, entry: Element) -> WatchItem:
    link = next(
        (
            element.get("href", "")
            for element in entry.iter(f"{ATOM}link")
            if element.get("rel", "alternate") == "alternate"
        ),
        "",
    )
    return WatchItem(
        network=None,
        source_id=source_id,
        item_id=entry.findtext(f"{ATOM}id") or link,
        author=entry.findtext(f"{ATOM}author/{ATOM}name") or source_id,
        text=_plain(entry.findtext(f"{ATOM}title") or ""),
        url=link,
        published_at=_instant(
            entry.findtext(f"{ATOM}updated") or entry.findtext(f"{ATOM}published")
        ),
    )


def _rss_item(source_id: str, item: Element) -> WatchItem:
    link = item.findtext("link") or ""
    published = item.findtext("pubDate")
    return WatchItem(
        network=None,
        source_id=source_id,
        item_id=item.findtext("guid") or link,
        author=item.findtext("author") or source_id,
        text=_plain(item.findtext("title") or ""),
        url=link,
        published_at=_rfc822(published),
    )


def _rfc822(text: str | None) -> datetime | None:
    """RSS's ``pubDate``; one that cannot be read is left out rather than the entry."""
    from email.utils import parsedate_to_datetime

    if not text:
        return None
    try:
        return parsedate_to_datetime(text).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def _plain(markup: str) -> str:
    return " ".join(html.unescape(_TAG.sub("", _BREAK.sub(" ", markup))).split())


def _instant(text: object) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise SourceDocumentError(f"date illisible : {text!r}") from None
