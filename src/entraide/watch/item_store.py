"""What the watch read, in the table: the one module that reads and writes it.

One item per thing read and day of collection (``pk = WATCH-ITEMS#<date>``,
``sk = <network or feed>#<source>#<id>``): read again the same day, it is written over
(its engagement is the newest); the digest reads the last two days' partitions. Each item
lives ``KEPT_FOR`` (the table's TTL ``expires_at``): long enough for a digest and the
*Relayer* links of its items, no longer — the watch keeps public posts, not an archive.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from entraide.adapters.table import Put, Table
from entraide.watch.items import WatchItem

WATCH_ITEMS_PREFIX: Final = "WATCH-ITEMS#"
ENTITY: Final = "watch-item"
#: As long as a digest's links live (a day) and a day more.
KEPT_FOR: Final = timedelta(days=3)
_REFERENCE: Final = re.compile(r"[A-Za-z0-9_-]{4,600}")


def _partition(day: str) -> str:
    return f"{WATCH_ITEMS_PREFIX}{day}"


def _sort_key(item: WatchItem) -> str:
    return f"{item.network or 'feed'}#{item.source_id}#{item.item_id}"


def item_reference(item: WatchItem) -> str:
    """The item's name in a link (its sort key, URL-safe base64 without padding): the
    same thing read on two days has one reference."""
    return base64.urlsafe_b64encode(_sort_key(item).encode("utf-8")).rstrip(b"=").decode()


def _sort_key_of(reference: str) -> str | None:
    if not _REFERENCE.fullmatch(reference):
        return None
    try:
        return base64.urlsafe_b64decode(reference + "=" * (-len(reference) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def _to_item(item: WatchItem, collected_at: datetime) -> dict[str, Any]:
    stored: dict[str, Any] = {
        "pk": _partition(collected_at.date().isoformat()),
        "sk": _sort_key(item),
        "entity": ENTITY,
        "network": item.network or "feed",
        "source_id": item.source_id,
        "item_id": item.item_id,
        "author": item.author,
        "text": item.text,
        "url": item.url,
        "reposts": item.reposts,
        "likes": item.likes,
        "replies": item.replies,
        "collected_at": collected_at.isoformat(),
        "expires_at": int((collected_at + KEPT_FOR).timestamp()),
    }
    if item.published_at is not None:
        stored["published_at"] = item.published_at.isoformat()
    if item.followers is not None:
        stored["followers"] = item.followers
    return stored


def _from_item(stored: dict[str, Any]) -> WatchItem:
    network = stored["network"]
    published = stored.get("published_at")
    followers = stored.get("followers")
    return WatchItem(
        network=None if network == "feed" else network,
        source_id=str(stored["source_id"]),
        item_id=str(stored["item_id"]),
        author=str(stored["author"]),
        text=str(stored["text"]),
        url=str(stored["url"]),
        published_at=datetime.fromisoformat(published) if published else None,
        followers=int(followers) if followers is not None else None,
        reposts=int(stored["reposts"]),
        likes=int(stored["likes"]),
        replies=int(stored["replies"]),
    )


class WatchItemStore:
    """The watch's items read by the collection runs (see module doc)."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def keep(self, items: Iterable[WatchItem], collected_at: datetime) -> int:
        """Each item written (over the same day's copy); how many."""
        count = 0
        for item in items:
            self.table.write(Put(item=_to_item(item, collected_at.astimezone(UTC))))
            count += 1
        return count

    def recent(self, now: datetime, *, days: int = 2) -> list[WatchItem]:
        """What the last ``days`` days' runs kept, once each (the newest copy)."""
        found: dict[str, WatchItem] = {}
        for back in range(days - 1, -1, -1):  # oldest first: a newer copy replaces it
            day = (now.astimezone(UTC).date() - timedelta(days=back)).isoformat()
            for stored in self.table.query("pk = :pk", {":pk": _partition(day)}):
                item = _from_item(stored)
                found[_sort_key(item)] = item
        return list(found.values())

    def find(self, reference: str, now: datetime) -> WatchItem | None:
        """The item a link names, as last read (None: unknown, or gone with its TTL)."""
        sort_key = _sort_key_of(reference)
        if sort_key is None:
            return None
        for back in range(KEPT_FOR.days + 1):
            day = (now.astimezone(UTC).date() - timedelta(days=back)).isoformat()
            stored = self.table.get({"pk": _partition(day), "sk": sort_key})
            if stored is not None:
                return _from_item(stored)
        return None
