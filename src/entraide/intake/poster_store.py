"""A poster's own items, under their pseudonym: the one module that reads and writes them.

- ``pk = POSTER#<pseudonym>``, ``sk = <created at>#<post id>``: one entry per post of the
  person, with its public text (``text``: the pre-screen's near-duplicate check) and its id
  (their "my posts" page, erasure on request). Written with the post
  (:meth:`~entraide.intake.post_store.PostStore.create_post`), its ``expires_at`` follows
  the post's contact item (see :mod:`entraide.privacy.retention`).
- ``pk = POSTER#<pseudonym>``, ``sk = LINKS-SENT``: when the person's last "my posts"
  email went (one per quarter of an hour: nobody can flood a mailbox through our form).

The pseudonym is an HMAC of the address (:mod:`entraide.privacy.pseudonyms`), never the
address: a lookup by address tries each known key.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from entraide.adapters.table import Item, Table
from entraide.kernel.model import Post
from entraide.kernel.times import epoch, iso
from entraide.matching.slot_store import SlotStore
from entraide.privacy.pseudonyms import Pseudonyms

POSTER_PREFIX = "POSTER#"
HISTORY_ENTITY = "poster-history"
LINKS_SENT_SK = "LINKS-SENT"
#: How long the "links sent" slot outlives its interval, then TTL removes it.
LINKS_SLOT_MARGIN = timedelta(days=1)


def poster_key(pseudonym: str) -> str:
    """The partition of a poster's items: their pseudonym, never their address."""
    return f"{POSTER_PREFIX}{pseudonym}"


def _links_key(pseudonym: str) -> Item:
    return {"pk": poster_key(pseudonym), "sk": LINKS_SENT_SK}


def history_key(pseudonym: str, post: Post) -> Item:
    return {"pk": poster_key(pseudonym), "sk": f"{iso(post.created_at)}#{post.id}"}


def history_item(post: Post, pseudonym: str, expires: datetime) -> Item:
    """The poster's entry for ``post``: its public text and its id."""
    return {
        **history_key(pseudonym, post),
        "entity": HISTORY_ENTITY,
        "post_id": post.id,
        "text": f"{post.title}\n{post.description}",
        "expires_at": epoch(expires),
    }


class PosterStore:
    """A poster's history and "links sent" slot; ``pseudonyms`` for lookups by address."""

    def __init__(self, table: Table, pseudonyms: Pseudonyms | None = None) -> None:
        self.table = table
        self._pseudonyms = pseudonyms

    @property
    def pseudonyms(self) -> Pseudonyms:
        if self._pseudonyms is None:
            raise RuntimeError("This store was built without the pseudonyms' key.")
        return self._pseudonyms

    def _partition(
        self, pseudonym: str, since: datetime | None = None, *, consistent: bool = True
    ) -> Iterator[Item]:
        condition, values = "pk = :pk", {":pk": poster_key(pseudonym)}
        if since is not None:
            condition += " AND sk >= :since"
            values[":since"] = iso(since)
        return self.table.query(condition, values, consistent=consistent)

    def _history(
        self, pseudonym: str, since: datetime | None = None, *, consistent: bool = True
    ) -> Iterator[Item]:
        # the LINKS-SENT slot shares the partition (and sorts after every date)
        return (
            item
            for item in self._partition(pseudonym, since, consistent=consistent)
            if item.get("entity") == HISTORY_ENTITY
        )

    def recent_texts(
        self, email: str, *, since: datetime, exclude_post: str, consistent: bool = True
    ) -> list[str]:
        """Public texts of the poster's other posts since ``since`` (near-duplicate check;
        ``consistent``: see :meth:`~entraide.adapters.table.Table.get`)."""
        return [
            str(item["text"])
            for pseudonym in self.pseudonyms.candidates(email)
            for item in self._history(pseudonym, since, consistent=consistent)
            if item["post_id"] != exclude_post
        ]

    def post_ids(self, pseudonyms: Sequence[str]) -> list[str]:
        """The ids of every post of the person these pseudonyms name, oldest first."""
        ids = (str(item["post_id"]) for p in pseudonyms for item in self._history(p))
        return list(dict.fromkeys(ids))

    def keys_of(self, pseudonyms: Sequence[str]) -> list[Item]:
        """The key of every item of these pseudonyms (what an erasure deletes)."""
        return [
            {"pk": item["pk"], "sk": item["sk"]}
            for pseudonym in dict.fromkeys(pseudonyms)
            for item in self._partition(pseudonym)
        ]

    def claim_links_slot(
        self, pseudonym: str, now: datetime, interval: timedelta
    ) -> str | datetime:
        """The slot of a person's "my posts" email: a token, or when the last one went."""
        return SlotStore(self.table).claim(
            _links_key(pseudonym),
            entity="poster-links-sent",
            now=now,
            interval=interval,
            memory=LINKS_SLOT_MARGIN,
        )

    def release_links_slot(self, pseudonym: str, token: str) -> None:
        """Give the slot back (the email did not go)."""
        SlotStore(self.table).release(_links_key(pseudonym), token)
