"""The post item and what travels with it: the one module that reads and writes them.

Intake creates a post; moderation decides it; activation expires it; publishing tweets it;
matching finds it near a place; reporting counts it. Each goes through
:class:`PostStore`, so that one place knows the keys, the attributes and the indexes of
these items (see docs/data-model.md):

- the post: ``pk = POST#<id>``, ``sk = POST``; ``gsi1`` by status, ``gsi2`` by month of
  creation, ``gsi3`` by activation and geohash cell while it is approved (a sparse
  index); ``announced_*`` attributes once the relay has tweeted it;
- its contact details, apart: ``pk = CONTACT#<id>``, ``sk = CONTACT``, written in the same
  transaction, so that the post item, its stream records and every index carry no email
  or phone number; in a partition of their own, so that a role limited to ``POST#*``
  partition keys (``dynamodb:LeadingKeys``: the public function's) cannot read them;
- the poster's history: ``pk = POSTER#<digest of the address>``, ``sk = <created
  at>#<post id>``: the public texts of their recent posts (near-duplicate check), 30 days;
- the request key of a post: ``pk = INTAKE-KEY#<digest of the key>``, ``sk = KEY``: the
  ``Idempotency-Key`` of a JSON request or the one-time token of a form, with the post it
  created and a digest of the request; written in the post's transaction, so that the same
  request sent again finds its post instead of storing another (7 days).

Why one module: a post, its contact, its poster's history and its request key are written
in one transaction, and every other room reaches the post through here; the keys and
attributes of the four item kinds are read together.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NoReturn, Protocol

from entraide.adapters.table import (
    BY_CELL,
    BY_MONTH,
    BY_STATUS,
    CONDITION_FAILED,
    INDEX_KEYS,
    Check,
    ConditionFailed,
    Item,
    Put,
    Table,
    TransactionCancelled,
    Update,
)
from entraide.kernel.errors import ConcurrentChange, PostNotFound, WrongPostStatus
from entraide.kernel.model import Category, Contact, Kind, Post, PostStatus
from entraide.kernel.times import epoch, iso, month_of, parse_iso

POSTER_HISTORY_TTL = timedelta(days=30)
POST_PREFIX = "POST#"
CONTACT_PREFIX = "CONTACT#"
POSTER_PREFIX = "POSTER#"
INTAKE_KEY_PREFIX = "INTAKE-KEY#"
#: How long a request key is remembered: a client's retries, a person's back button.
INTAKE_KEY_TTL = timedelta(days=7)
#: A transaction cancelled by a conflict with another one is tried again this many times.
CREATE_ATTEMPTS = 3

# Geohash precision of the by_cell index: cells of about 39 x 20 km (20 x 20 km in
# France); a 20 km search reads a handful of cells, a 100 km one a few dozen.
CELL_PRECISION = 4


def cell_key(activation_id: str, geohash: str) -> str:
    return f"CELL#{activation_id}#{geohash[:CELL_PRECISION]}"


def post_key(post_id: str) -> Item:
    return {"pk": f"{POST_PREFIX}{post_id}", "sk": "POST"}


def contact_key(post_id: str) -> Item:
    return {"pk": f"{CONTACT_PREFIX}{post_id}", "sk": "CONTACT"}


def entered_status_at(post: Post) -> datetime:
    """When the post entered its present status: the ``by_status`` index sorts by it."""
    if post.status in (PostStatus.WITHDRAWN, PostStatus.EXPIRED) and post.ended_at:
        return post.ended_at
    if post.status in (PostStatus.APPROVED, PostStatus.REJECTED) and post.decided_at:
        return post.decided_at
    return post.created_at


def post_to_item(post: Post) -> Item:
    created = iso(post.created_at)
    item: Item = {
        **post_key(post.id),
        "entity": "post",
        "id": post.id,
        "kind": post.kind.value,
        "category": post.category.value,
        "title": post.title,
        "description": post.description,
        "postcode": post.postcode,
        "commune": post.commune,
        "insee": post.insee,
        "departement": post.departement,
        # DynamoDB numbers are decimals; str() keeps the 5 decimals of the table.
        "lat": Decimal(str(post.lat)),
        "lon": Decimal(str(post.lon)),
        "geohash": post.geohash,
        "activation_id": post.activation_id,
        "status": post.status.value,
        "version": post.version,
        "created_at": created,
        "gsi1pk": f"{POST_PREFIX}{post.status.value}",
        "gsi1sk": f"{iso(entered_status_at(post))}#{post.id}",
        "gsi2pk": f"{POST_PREFIX}{month_of(post.created_at)}",
        "gsi2sk": f"{created}#{post.id}",
    }
    if post.decided_by is not None:
        item["decided_by"] = post.decided_by
    if post.decided_at is not None:
        item["decided_at"] = iso(post.decided_at)
    if post.reason is not None:
        item["reason"] = post.reason
    if post.ended_at is not None:
        item["ended_at"] = iso(post.ended_at)
    return item


def post_from_item(item: Mapping[str, Any]) -> Post:
    return Post(
        id=item["id"],
        kind=Kind(item["kind"]),
        category=Category(item["category"]),
        title=item["title"],
        description=item["description"],
        postcode=item["postcode"],
        commune=item["commune"],
        insee=item["insee"],
        departement=item["departement"],
        lat=float(item["lat"]),
        lon=float(item["lon"]),
        geohash=item["geohash"],
        activation_id=item["activation_id"],
        status=PostStatus(item["status"]),
        created_at=parse_iso(item["created_at"]),
        version=int(item["version"]),
        decided_by=item.get("decided_by"),
        decided_at=parse_iso(item["decided_at"]) if item.get("decided_at") else None,
        reason=item.get("reason"),
        ended_at=parse_iso(item["ended_at"]) if item.get("ended_at") else None,
    )


def poster_key(email: str) -> str:
    """Pseudonymous key of a poster: a digest of the normalised address, never the address."""
    digest = hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()
    return f"{POSTER_PREFIX}{digest}"


def poster_digest(email: str) -> str:
    """The poster's pseudonym without its prefix (match notices name recipients by it)."""
    return poster_key(email).removeprefix(POSTER_PREFIX)


def poster_history_item(post: Post, contact: Contact) -> Item:
    """What the near-duplicate check reads: the poster's recent public texts, for 30 days."""
    return {
        "pk": poster_key(contact.email),
        "sk": f"{iso(post.created_at)}#{post.id}",
        "entity": "poster-history",
        "post_id": post.id,
        "text": f"{post.title}\n{post.description}",
        "expires_at": epoch(post.created_at + POSTER_HISTORY_TTL),
    }


def contact_to_item(post_id: str, contact: Contact) -> Item:
    item: Item = {**contact_key(post_id), "entity": "contact", "email": contact.email}
    if contact.phone:
        item["phone"] = contact.phone
    return item


@dataclass(frozen=True, slots=True)
class RequestKey:
    """What names a request to create a post (``key``, scoped by where it comes from:
    ``json:<Idempotency-Key>``, ``form:<token>``) and what it asked (``fingerprint``)."""

    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class KeyedPost:
    """The post a request key created."""

    post_id: str
    fingerprint: str


class KeyTaken(Exception):
    """The request key names another post already (a request sent again)."""


def intake_key(key: str) -> Item:
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return {"pk": f"{INTAKE_KEY_PREFIX}{digest}", "sk": "KEY"}


class PostReader(Protocol):
    """What matching reads of posts to write to people: a post, and its contact item."""

    def get_post(self, post_id: str) -> Post | None: ...

    def get_contact(self, post_id: str) -> Contact | None: ...


class PostStore:
    """Posts, their contact items and their posters' history, in the single table."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def _by_status(self, status: PostStatus, activation_id: str) -> list[Post]:
        partition, _ = INDEX_KEYS[BY_STATUS]
        items = self.table.query(
            "#pk = :pk",
            {":pk": f"{POST_PREFIX}{status.value}", ":only": activation_id},
            names={"#pk": partition, "#only": "activation_id"},
            index=BY_STATUS,
            filter="#only = :only",
        )
        return [post_from_item(item) for item in items]

    # -- a post and its contact --------------------------------------------------------
    def create_post(
        self,
        post: Post,
        contact: Contact,
        *,
        checks: Sequence[Check] = (),
        key: RequestKey | None = None,
    ) -> None:
        """Write a new post, its contact item, the poster's history entry and its request
        key at once, if every one of ``checks`` (other owners' conditions) holds.

        None of them may exist already: a replayed request cannot overwrite anything.
        Raises ConditionFailed when a check fails, KeyTaken when the key names a post.
        """
        items = [
            post_to_item(post),
            contact_to_item(post.id, contact),
            poster_history_item(post, contact),
        ]
        if key is not None:
            items.append(
                {
                    **intake_key(key.key),
                    "entity": "intake-key",
                    "post_id": post.id,
                    "fingerprint": key.fingerprint,
                    "created_at": iso(post.created_at),
                    "expires_at": epoch(post.created_at + INTAKE_KEY_TTL),
                }
            )
        puts = [Put(item=item, condition="attribute_not_exists(pk)") for item in items]
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                self.table.transact([*puts, *checks])
                return
            except TransactionCancelled as exc:
                if exc.condition_failed or attempt == CREATE_ATTEMPTS:
                    self._refused(exc, len(puts), len(checks), key is not None, post.id)
                # a conflict with another transaction on one of the items: nothing was
                # written, and trying again is what DynamoDB advises
                time.sleep(0.02 * attempt)

    @staticmethod
    def _refused(
        exc: TransactionCancelled, puts: int, checks: int, keyed: bool, post_id: str
    ) -> NoReturn:
        """Why a post's transaction was cancelled, as the caller's exception."""
        failed = {i for i, reason in enumerate(exc.reasons) if reason == CONDITION_FAILED}
        if failed & set(range(puts, puts + checks)):
            raise ConditionFailed() from exc
        # With a key, an item already there is the key's post (this very write, whose first
        # answer was lost, or the same request sent twice): the caller reads the key to
        # tell. DynamoDB may name only some of the items whose condition failed.
        if keyed and failed:
            raise KeyTaken() from exc
        if failed:
            raise ConcurrentChange(f"Le message {post_id} existe déjà.") from exc
        raise exc  # conflicts still: a 5xx, and the client sends the request again

    def keyed_post(self, key: str) -> KeyedPost | None:
        """The post a request key created, if it did (a strongly consistent read)."""
        item = self.table.get(intake_key(key))
        return KeyedPost(str(item["post_id"]), str(item["fingerprint"])) if item else None

    def get_post(self, post_id: str) -> Post | None:
        item = self.table.get(post_key(post_id))
        return post_from_item(item) if item else None

    def get_contact(self, post_id: str) -> Contact | None:
        item = self.table.get(contact_key(post_id))
        return Contact(email=item["email"], phone=item.get("phone")) if item else None

    def recent_texts(self, email: str, *, since: datetime, exclude_post: str) -> list[str]:
        """Public texts of the poster's other posts since ``since`` (near-duplicate check)."""
        items = self.table.query(
            "pk = :pk AND sk >= :since", {":pk": poster_key(email), ":since": iso(since)}
        )
        return [str(item["text"]) for item in items if item["post_id"] != exclude_post]

    # -- status ------------------------------------------------------------------------
    def entered_since(self, status: PostStatus, since: datetime) -> list[Post]:
        """Posts that entered ``status`` at ``since`` or later (``by_status``, by sort key)."""
        partition, sort = INDEX_KEYS[BY_STATUS]
        items = self.table.query(
            "#pk = :pk AND #sk >= :since",
            {":pk": f"{POST_PREFIX}{status.value}", ":since": iso(since)},
            names={"#pk": partition, "#sk": sort},
            index=BY_STATUS,
        )
        return [post_from_item(item) for item in items]

    def open_posts_of(self, activation_id: str) -> list[Post]:
        """Pending and approved posts of an activation (the status index, filtered)."""
        return [
            post
            for status in (PostStatus.PENDING, PostStatus.APPROVED)
            for post in self._by_status(status, activation_id)
        ]

    def open_posts_page(
        self, activation_id: str, status: PostStatus, *, limit: int, start: Item | None = None
    ) -> tuple[list[Post], Item | None]:
        """One page of an activation's posts in ``status`` (the status index, filtered):
        at most ``limit`` posts read, from ``start``; and where to go on from (None: done).
        Closing an activation expires its posts page by page, resuming where it stopped."""
        partition, _ = INDEX_KEYS[BY_STATUS]
        items, last = self.table.query_page(
            "#pk = :pk",
            {":pk": f"{POST_PREFIX}{status.value}", ":only": activation_id},
            names={"#pk": partition, "#only": "activation_id"},
            index=BY_STATUS,
            filter="#only = :only",
            limit=limit,
            start=start,
        )
        return [post_from_item(item) for item in items], last

    def transition(
        self,
        post: Post,
        to_status: PostStatus,
        *,
        at: datetime,
        by: str,
        reason: str | None = None,
        checks: Sequence[Check] = (),
    ) -> Post:
        """Move ``post`` to ``to_status`` with one conditional write on its status and version
        (a transaction with ``checks``, other owners' conditions, when there are some).

        Raises WrongPostStatus (with the current post) when another writer got there first,
        PostNotFound when the post is gone, ConditionFailed when one of ``checks`` fails.
        """
        changes: Item = {
            ":to": to_status.value,
            ":from": post.status.value,
            ":version": post.version,
            ":next": post.version + 1,
            ":at": iso(at),
            ":gsi1pk": f"{POST_PREFIX}{to_status.value}",
            # the index sorts a status by when posts entered it (moving gsi1pk rewrites the
            # index entry anyway: the sort key changes for free)
            ":gsi1sk": f"{iso(at)}#{post.id}",
        }
        update = "SET #status = :to, version = :next, gsi1pk = :gsi1pk, gsi1sk = :gsi1sk"
        if to_status in (PostStatus.APPROVED, PostStatus.REJECTED):
            # the moderation decision stays on record when the post later ends
            changes[":by"] = by
            update += ", decided_by = :by, decided_at = :at"
        else:
            update += ", ended_at = :at"
        if reason:
            changes[":reason"] = reason
            update += ", reason = :reason"
        if to_status is PostStatus.APPROVED:
            # public from now on: findable near its place (sparse index by_cell)
            changes[":cell"] = cell_key(post.activation_id, post.geohash)
            changes[":cellsort"] = f"{post.kind.value}#{iso(post.created_at)}#{post.id}"
            update += ", gsi3pk = :cell, gsi3sk = :cellsort"
        elif post.status is PostStatus.APPROVED:
            update += " REMOVE gsi3pk, gsi3sk"  # withdrawn or expired: out of every search
        write = Update(
            key=post_key(post.id),
            expression=update,
            condition="#status = :from AND version = :version",
            names={"#status": "status"},
            values=changes,
        )
        if checks:
            return self._transition_checked(post, write, checks)
        try:
            changed = self.table.write(write, returns="ALL_NEW", keep_old=True)
        except ConditionFailed as exc:
            if exc.old is None:
                raise PostNotFound(post.id) from exc
            raise WrongPostStatus(post_from_item(exc.old)) from exc
        assert changed is not None
        return post_from_item(changed)

    def _transition_checked(self, post: Post, write: Update, checks: Sequence[Check]) -> Post:
        try:
            self.table.transact([write, *checks])
        except TransactionCancelled as exc:
            if exc.reasons and exc.reasons[0] == CONDITION_FAILED:
                current = self.get_post(post.id)
                if current is None:
                    raise PostNotFound(post.id) from exc
                raise WrongPostStatus(current) from exc
            if exc.condition_failed:
                raise ConditionFailed() from exc
            raise
        changed = self.get_post(post.id)
        assert changed is not None
        return changed

    # -- near a place (matching) -------------------------------------------------------
    def approved_in_cell(
        self, activation_id: str, geohash: str, kind: Kind | None = None
    ) -> tuple[list[Post], int]:
        """The approved posts of one ``by_cell`` partition (optionally of one kind), and
        how many index items DynamoDB read for them (the cost of the read)."""
        partition, sort = INDEX_KEYS[BY_CELL]
        condition = "#pk = :pk"
        names = {"#pk": partition}
        values: Item = {":pk": cell_key(activation_id, geohash)}
        if kind is not None:
            condition += " AND begins_with(#sk, :kind)"
            names["#sk"] = sort
            values[":kind"] = f"{kind.value}#"
        posts: list[Post] = []
        read = 0
        for items, scanned in self.table.query_pages(condition, values, names=names, index=BY_CELL):
            read += scanned
            # defensive: only post items are ever in the index
            posts += [post_from_item(item) for item in items if item.get("entity") == "post"]
        return posts, read

    # -- a month (reporting) -----------------------------------------------------------
    def created_in(self, month: str) -> list[Post]:
        """Posts created in ``YYYY-MM`` (UTC), through ``by_month``."""
        return [post_from_item(item) for item in self._month(month)]

    def decided_between(self, month: str, start: datetime, end: datetime) -> list[Post]:
        """Posts created in ``month`` and decided in ``[start, end)``."""
        items = self._month(
            month,
            filter="decided_at >= :start AND decided_at < :end",
            values={":start": iso(start), ":end": iso(end)},
        )
        return [post_from_item(item) for item in items]

    def _month(
        self, month: str, *, filter: str | None = None, values: Mapping[str, Any] | None = None
    ) -> list[Item]:
        partition, _ = INDEX_KEYS[BY_MONTH]
        return list(
            self.table.query(
                "#pk = :pk",
                {":pk": f"{POST_PREFIX}{month}", **(values or {})},
                names={"#pk": partition},
                index=BY_MONTH,
                filter=filter,
            )
        )
