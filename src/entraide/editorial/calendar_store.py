"""The editorial items: the one module that reads and writes them.

Item (single table, see docs/data-model.md): ``pk = EDITORIAL#<id>``, ``sk = EDITORIAL``,
``entity = editorial``, ``id``, ``text``, ``link``, ``channels``, ``at`` (ISO UTC), ``theme``,
``author``, ``origin`` (calendrier/blog), ``state``, ``sent`` (channel → when it was handed
to the publishing path), ``created_at``;

- ``gsi1pk = EDITORIAL#<state>``, ``gsi1sk = <at>#<id>`` (index ``by_status``): the
  planned items in order (a calendar holds hundreds, not millions: the scheduled run reads
  them all), the held and missed ones for the weekly email; an item whose every channel
  went is ``EDITORIAL#sent`` with ``gsi1sk = <last send>#<id>``, so that the day's sends
  are one query;
- ``gsi2pk = EDITORIAL#YYYY-MM`` (of ``at``), ``gsi2sk = <at>#<id>`` (index ``by_month``):
  the monthly report.

The blog feed's state: ``pk = BLOG-FEED#<digest of the feed's URL>``, ``sk = STATE``,
``entity = blog-feed``, ``etag``, ``last_modified``, ``seen`` (the articles' keys),
``read_once``, ``read_at``: replaced after each good reading.

Every change is one conditional write on the item's state: a send recorded twice, a
cancel crossing a send, a move of an item already gone change nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from entraide.adapters.table import BY_MONTH, BY_STATUS, ConditionFailed, Item, Put, Table, Update
from entraide.editorial.blog import FeedState
from entraide.editorial.calendar import EditorialItem, ItemState
from entraide.kernel.errors import DomainError
from entraide.kernel.times import iso, month_of, parse_iso

EDITORIAL_PREFIX: Final = "EDITORIAL#"
SK: Final = "EDITORIAL"
BLOG_FEED_PREFIX: Final = "BLOG-FEED#"


class EditorialNotFound(DomainError):
    def __init__(self, item_id: str) -> None:
        super().__init__(f"Aucun élément éditorial {item_id} au calendrier.")


class EditorialNotPlanned(DomainError):
    def __init__(self, item_id: str, state: str) -> None:
        super().__init__(
            f"L'élément éditorial {item_id} n'est plus prévu (état : {state}) : "
            "rien n'a été changé."
        )


def _key(item_id: str) -> Item:
    return {"pk": f"{EDITORIAL_PREFIX}{item_id}", "sk": SK}


def item_of(raw: Mapping[str, Any]) -> EditorialItem:
    return EditorialItem(
        id=str(raw["id"]),
        text=str(raw["text"]),
        link=str(raw.get("link", "")),
        channels=tuple(raw.get("channels") or ()),
        at=parse_iso(str(raw["at"])),
        theme=str(raw.get("theme", "")),
        author=str(raw.get("author", "")),
        origin=str(raw.get("origin", "")),
        state=ItemState(str(raw["state"])),
        sent={channel: parse_iso(str(at)) for channel, at in (raw.get("sent") or {}).items()},
    )


def _item(item: EditorialItem, created_at: datetime) -> Item:
    at = iso(item.at)
    return {
        **_key(item.id),
        "entity": "editorial",
        "id": item.id,
        "text": item.text,
        "link": item.link,
        "channels": list(item.channels),
        "at": at,
        "theme": item.theme,
        "author": item.author,
        "origin": item.origin,
        "state": item.state.value,
        "sent": {channel: iso(moment) for channel, moment in item.sent.items()},
        "created_at": iso(created_at),
        "gsi1pk": f"{EDITORIAL_PREFIX}{item.state.value}",
        "gsi1sk": f"{at}#{item.id}",
        "gsi2pk": f"{EDITORIAL_PREFIX}{month_of(item.at)}",
        "gsi2sk": f"{at}#{item.id}",
    }


class EditorialStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def add(self, items: Iterable[EditorialItem], created_at: datetime) -> list[EditorialItem]:
        """Store each item not stored yet; the ones it stored (a row imported twice, a blog
        article seen twice, is stored once)."""
        added: list[EditorialItem] = []
        for item in items:
            try:
                self.table.write(
                    Put(item=_item(item, created_at), condition="attribute_not_exists(pk)")
                )
            except ConditionFailed:
                continue
            added.append(item)
        return added

    def get(self, item_id: str) -> EditorialItem | None:
        raw = self.table.get(_key(item_id))
        return item_of(raw) if raw else None

    def in_state(self, state: ItemState, *, since: datetime | None = None) -> list[EditorialItem]:
        """Items in ``state`` in their order (``since``: sort key from that moment)."""
        condition, values = "gsi1pk = :pk", {":pk": f"{EDITORIAL_PREFIX}{state.value}"}
        if since is not None:
            condition += " AND gsi1sk >= :since"
            values[":since"] = iso(since)
        return [item_of(raw) for raw in self.table.query(condition, values, index=BY_STATUS)]

    def of_month(self, month: str) -> list[EditorialItem]:
        values = {":pk": f"{EDITORIAL_PREFIX}{month}"}
        return [item_of(raw) for raw in self.table.query("gsi2pk = :pk", values, index=BY_MONTH)]

    def recent_sends(self, since: datetime) -> dict[str, list[datetime]]:
        """Each channel's sends since ``since``: the planned items' and the sent ones'."""
        sends: dict[str, list[datetime]] = {}
        for item in [
            *self.in_state(ItemState.PLANNED),
            *self.in_state(ItemState.SENT, since=since),
        ]:
            for channel, moment in item.sent.items():
                if moment >= since:
                    sends.setdefault(channel, []).append(moment)
        return sends

    def _change(
        self,
        item_id: str,
        expression: str,
        values: Mapping[str, Any],
        *,
        names: Mapping[str, str] | None = None,
        extra: str = "",
    ) -> EditorialItem:
        """One conditional update of a planned item; an item found planned with the change
        already made (a send recorded twice) is returned as it is."""
        condition = "#state = :planned" + (f" AND {extra}" if extra else "")
        try:
            changed = self.table.write(
                Update(
                    key=_key(item_id),
                    expression=expression,
                    condition=condition,
                    names={"#state": "state", **(names or {})},
                    values={**values, ":planned": ItemState.PLANNED.value},
                ),
                returns="ALL_NEW",
                keep_old=True,
            )
        except ConditionFailed as exc:
            if exc.old is None:
                raise EditorialNotFound(item_id) from exc
            old = item_of(exc.old)
            if old.state is ItemState.PLANNED:  # the send was recorded already
                return old
            raise EditorialNotPlanned(item_id, old.state.value) from exc
        assert changed is not None
        return item_of(changed)

    def mark_sent(self, item: EditorialItem, channel: str, at: datetime) -> EditorialItem:
        """Record that ``channel`` was handed the item (once); the last channel makes it sent."""
        rest = [name for name in item.pending() if name != channel]
        expression = "SET sent.#ch = :at"
        values: dict[str, Any] = {":at": iso(at)}
        if not rest:
            expression += ", #state = :sent, gsi1pk = :pk, gsi1sk = :sk"
            values |= {
                ":sent": ItemState.SENT.value,
                ":pk": f"{EDITORIAL_PREFIX}{ItemState.SENT.value}",
                ":sk": f"{iso(at)}#{item.id}",
            }
        return self._change(
            item.id,
            expression,
            values,
            names={"#ch": channel},
            extra="attribute_not_exists(sent.#ch)",
        )

    def _set_state(self, item_id: str, state: ItemState) -> EditorialItem:
        return self._change(
            item_id,
            "SET #state = :to, gsi1pk = :pk",
            {":to": state.value, ":pk": f"{EDITORIAL_PREFIX}{state.value}"},
        )

    def cancel(self, item_id: str) -> EditorialItem:
        return self._set_state(item_id, ItemState.CANCELLED)

    def mark_missed(self, item_id: str) -> EditorialItem:
        return self._set_state(item_id, ItemState.MISSED)

    def move(self, item_id: str, at: datetime) -> EditorialItem:
        """A planned or missed item to a new moment (planned again)."""
        moment = iso(at)
        try:
            changed = self.table.write(
                Update(
                    key=_key(item_id),
                    expression=(
                        "SET #at = :at, #state = :planned, gsi1pk = :pk, gsi1sk = :sk, "
                        "gsi2pk = :month, gsi2sk = :sk"
                    ),
                    condition="#state IN (:planned, :missed)",
                    names={"#at": "at", "#state": "state"},
                    values={
                        ":at": moment,
                        ":planned": ItemState.PLANNED.value,
                        ":missed": ItemState.MISSED.value,
                        ":pk": f"{EDITORIAL_PREFIX}{ItemState.PLANNED.value}",
                        ":sk": f"{moment}#{item_id}",
                        ":month": f"{EDITORIAL_PREFIX}{month_of(at)}",
                    },
                ),
                returns="ALL_NEW",
                keep_old=True,
            )
        except ConditionFailed as exc:
            if exc.old is None:
                raise EditorialNotFound(item_id) from exc
            raise EditorialNotPlanned(item_id, str(exc.old.get("state"))) from exc
        assert changed is not None
        return item_of(changed)

    # -- the blog feed's state -----------------------------------------------------------
    @staticmethod
    def _feed_key(url: str) -> Item:
        digest = hashlib.sha256(url.encode()).hexdigest()[:20]
        return {"pk": f"{BLOG_FEED_PREFIX}{digest}", "sk": "STATE"}

    def feed_state(self, url: str) -> FeedState:
        raw = self.table.get(self._feed_key(url))
        if raw is None:
            return FeedState()
        return FeedState(
            etag=str(raw.get("etag", "")),
            last_modified=str(raw.get("last_modified", "")),
            seen=tuple(raw.get("seen") or ()),
            read_once=bool(raw.get("read_once")),
        )

    def save_feed_state(self, url: str, state: FeedState, read_at: datetime) -> None:
        self.table.write(
            Put(
                item={
                    **self._feed_key(url),
                    "entity": "blog-feed",
                    "etag": state.etag,
                    "last_modified": state.last_modified,
                    "seen": list(state.seen),
                    "read_once": state.read_once,
                    "read_at": iso(read_at),
                }
            )
        )
