"""The post item and what travels with it: the one module that reads and writes them.

Intake creates a post; moderation decides it; activation expires it; publishing tweets it;
matching finds it near a place; reporting counts it. Each goes through
:class:`PostStore`, so that one place knows the keys, the attributes and the indexes of
these items (see docs/data-model.md):

- the post: ``pk = POST#<id>``, ``sk = POST``; ``gsi1`` by status, ``gsi2`` by month of
  creation; while it is approved (sparse indexes), ``gsi3`` (index ``by_cell``) by
  activation, kind, category and place, and ``gsi4`` (index ``by_place``) by activation,
  kind and place; ``announced_*`` attributes once the relay has tweeted it;
- its contact details, apart: ``pk = CONTACT#<id>``, ``sk = CONTACT``, written in the same
  transaction, so that the post item, its stream records and every index carry no email
  or phone number; in a partition of their own, so that a role limited to ``POST#*``
  partition keys (``dynamodb:LeadingKeys``: the public function's) cannot read them;
- the poster's history entry (:mod:`.poster_store` owns it): written in the same
  transaction, under the pseudonym of the address.
- the request key of a post: ``pk = INTAKE-KEY#<digest of the key>``, ``sk = KEY``: the
  ``Idempotency-Key`` of a JSON request or the one-time token of a form, with the post it
  created and a digest of the request; written in the post's transaction, so that the same
  request sent again finds its post instead of storing another (7 days).
- the place index's format: ``pk = INDEX#by_cell``, ``sk = FORMAT``, written once every
  approved post carries the keys of :func:`near_keys` (see :meth:`PostStore.move_legacy_cells`).

**Lifetimes.** The contact and history items carry ``expires_at`` (DynamoDB's TTL): set
at creation (:meth:`~entraide.privacy.retention.Retention.at_creation`), removed while the
post is public, set again when it ends; each :meth:`PostStore.transition` changes them in
the same transaction as the post, so that a post never ends with its author's data kept
for good. The same write masks contact details typed into the text of a post that ends:
the post item, kept for the monthly figures, then holds no address or number.

Why one module: a post's status, its contact item and their lifetimes change in one
transaction, as a post, its contact, its history and its request key are written in one;
the write and the keys it touches, the place indexes' included, stay together (the
poster's own items, under their pseudonym, are :mod:`.poster_store`'s).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NoReturn, Protocol

from entraide.adapters.table import (
    BY_CELL,
    BY_MONTH,
    BY_PLACE,
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
    Write,
)
from entraide.intake.poster_store import PosterStore, history_item, history_key
from entraide.kernel.errors import ConcurrentChange, PostNotFound, WrongPostStatus
from entraide.kernel.geo import POSITION_PRECISION, geohash
from entraide.kernel.model import Category, Contact, Kind, Post, PostStatus
from entraide.kernel.times import epoch, iso, month_of, parse_iso
from entraide.privacy.detection import mask_public_text
from entraide.privacy.pseudonyms import Pseudonyms
from entraide.privacy.retention import Retention

POST_PREFIX = "POST#"
CONTACT_PREFIX = "CONTACT#"
INTAKE_KEY_PREFIX = "INTAKE-KEY#"
#: How long a request key is remembered: a client's retries, a person's back button.
INTAKE_KEY_TTL = timedelta(days=7)
#: A transaction cancelled by a conflict with another one is tried again this many times.
CREATE_ATTEMPTS = 3
NEAR_PREFIX = "NEAR#"
LEGACY_CELL_PREFIX = "CELL#"
INDEX_FORMAT_KEY: Item = {"pk": "INDEX#by_cell", "sk": "FORMAT"}
NEAR_FORMAT = 2
#: The text an erased post keeps: its kind, category, place and dates stay for the figures.
ERASED_TITLE = "Annonce effacée à la demande de son auteur"

# Geohash precision of the former by_cell keys (``CELL#<activation>#<geohash4>``): cells
# of about 39 x 20 km, read whole. Posts approved before the place keys keep them until
# they are moved (PostStore.move_legacy_cells).
CELL_PRECISION = 4
# The sort key of the place index ends with the post id; ids are ULIDs or other words
# of [0-9A-Za-z_-], all above the space: the key that follows ``<key>`` among every
# possible one is never below ``<key> `` (a Query resumes after a key with it).
_AFTER = " "
_ABOVE_EVERY_SUFFIX = "~"  # above "#" and every id character: closes a range of places


def cell_key(activation_id: str, geohash: str) -> str:
    """The former by_cell partition of a post (read until every post has moved)."""
    return f"{LEGACY_CELL_PREFIX}{activation_id}#{geohash[:CELL_PRECISION]}"


def near_partition(activation_id: str, kind: Kind, category: Category | None) -> str:
    """A partition of the place indexes: in ``by_cell``, one per activation, kind and
    category, so that a search never reads the posts of another kind or category; in
    ``by_place`` (``category`` None), one per activation and kind, for the searches that
    want every category."""
    partition = f"{NEAR_PREFIX}{activation_id}#{kind.value}"
    return partition if category is None else f"{partition}#{category.value}"


def near_position(post: Post) -> str:
    """A post's place as the place index sorts it: its geohash of 12 characters."""
    return geohash(post.lat, post.lon, POSITION_PRECISION)


def near_sort_key(position: str, created_at: datetime, post_id: str) -> str:
    """``<geohash12>#<created_at>#<id>``: by place along the geohash's z-order curve, then,
    at one place, oldest first: the order of the search's results among equal distances."""
    return f"{position}#{iso(created_at)}#{post_id}"


def near_keys(post: Post) -> Item:
    """The ``by_cell`` and ``by_place`` keys of an approved post."""
    sort = near_sort_key(near_position(post), post.created_at, post.id)
    return {
        "gsi3pk": near_partition(post.activation_id, post.kind, post.category),
        "gsi3sk": sort,
        "gsi4pk": near_partition(post.activation_id, post.kind, None),
        "gsi4sk": sort,
    }


_NEAR_SET = "SET gsi3pk = :gsi3pk, gsi3sk = :gsi3sk, gsi4pk = :gsi4pk, gsi4sk = :gsi4sk"


def _near_values(post: Post) -> Item:
    return {f":{name}": value for name, value in near_keys(post).items()}


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


def contact_to_item(post_id: str, contact: Contact, pseudonym: str, expires: datetime) -> Item:
    item: Item = {
        **contact_key(post_id),
        "entity": "contact",
        "email": contact.email,
        "pseudonym": pseudonym,
        "expires_at": epoch(expires),
    }
    if contact.phone:
        item["phone"] = contact.phone
    return item


def contact_from_item(item: Mapping[str, Any]) -> Contact:
    return Contact(email=item["email"], phone=item.get("phone"), pseudonym=item.get("pseudonym"))


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


@dataclass(frozen=True, slots=True)
class NearRead:
    """One read of the place index: the approved posts found and how many index items
    DynamoDB read for them (the cost); when the read reached its limit (more may follow),
    the sort key it stopped after and that key's place, else None."""

    posts: list[Post]
    read: int
    stopped_after: str | None = None
    stopped_place: str | None = None


@dataclass(frozen=True, slots=True)
class LegacyMove:
    """What :meth:`PostStore.move_legacy_cells` did: posts moved, and whether none is left."""

    moved: int
    done: bool


class PostReader(Protocol):
    """What matching reads of posts to write to people: a post, and its contact item."""

    def get_post(self, post_id: str) -> Post | None: ...

    def get_contact(self, post_id: str) -> Contact | None: ...


def changed_post(
    post: Post, to_status: PostStatus, *, at: datetime, by: str, reason: str | None
) -> Post:
    """The post as :meth:`PostStore.transition` leaves it, from the post it changed: a
    transaction answers no item ("ReturnValues" is not among TransactWriteItems' parameters),
    and a read after it would cost a strongly consistent unit for what the write decided.
    Every change of a post's public fields moves its version, which the write's condition
    holds to ``post.version``: the other fields are the ones it had. Kept next to
    ``_status_update``, whose every ``SET`` it repeats (a test holds both to the item read
    back)."""
    moment = parse_iso(iso(at))  # the item keeps the second
    decided = to_status in (PostStatus.APPROVED, PostStatus.REJECTED)
    ended = to_status not in (PostStatus.PENDING, PostStatus.APPROVED)
    return replace(
        post,
        status=to_status,
        version=post.version + 1,
        decided_by=by if decided else post.decided_by,
        decided_at=moment if decided else post.decided_at,
        ended_at=post.ended_at if decided else moment,
        reason=reason or post.reason,
        title=mask_public_text(post.title) if ended else post.title,
        description=mask_public_text(post.description) if ended else post.description,
    )


class PostStore:
    """Posts, their contact items and their posters' history, in the single table.

    ``pseudonyms`` (the key of the posters' pseudonyms) is needed to take a post in and to
    look a poster up by address; ``retention`` (the lifetimes of personal data) to take a
    post in and to change its status. A function that does neither builds the store
    without them, and a call that needs them then fails at once rather than guess.
    """

    def __init__(
        self,
        table: Table,
        *,
        pseudonyms: Pseudonyms | None = None,
        retention: Retention | None = None,
    ) -> None:
        self.table = table
        self.posters = PosterStore(table, pseudonyms)
        self._retention = retention

    @property
    def retention(self) -> Retention:
        if self._retention is None:
            raise RuntimeError("This post store was built without the retention periods.")
        return self._retention

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
        pseudonym = self.posters.pseudonyms.of(contact.email)
        expires = self.retention.at_creation(post.created_at)
        items = [
            post_to_item(post),
            contact_to_item(post.id, contact, pseudonym, expires),
            history_item(post, pseudonym, expires),
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

    def keyed_post(self, key: str, *, consistent: bool = True) -> KeyedPost | None:
        """The post a request key created, if it did (a strongly consistent read unless
        ``consistent`` is False: see :meth:`Table.get`)."""
        item = self.table.get(intake_key(key), consistent=consistent)
        return KeyedPost(str(item["post_id"]), str(item["fingerprint"])) if item else None

    def get_post(self, post_id: str, *, consistent: bool = True) -> Post | None:
        """The post (``consistent``: see :meth:`Table.get`)."""
        item = self.table.get(post_key(post_id), consistent=consistent)
        return post_from_item(item) if item else None

    def get_contact(self, post_id: str, *, consistent: bool = True) -> Contact | None:
        """The post's contact (``consistent``: see :meth:`Table.get`)."""
        item = self.table.get(contact_key(post_id), consistent=consistent)
        return contact_from_item(item) if item else None

    def recent_texts(
        self, email: str, *, since: datetime, exclude_post: str, consistent: bool = True
    ) -> list[str]:
        """Public texts of the poster's other posts since ``since`` (near-duplicate check)."""
        return self.posters.recent_texts(
            email, since=since, exclude_post=exclude_post, consistent=consistent
        )

    def posts_of(self, pseudonyms: Sequence[str]) -> list[Post]:
        """Every post of the person these pseudonyms name (one per key), oldest first."""
        found = [self.get_post(post_id) for post_id in self.posters.post_ids(pseudonyms)]
        return sorted((post for post in found if post is not None), key=lambda p: p.created_at)

    def claim_links_slot(
        self, pseudonym: str, now: datetime, interval: timedelta
    ) -> str | datetime:
        return self.posters.claim_links_slot(pseudonym, now, interval)

    def release_links_slot(self, pseudonym: str, token: str) -> None:
        self.posters.release_links_slot(pseudonym, token)

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
        also: Sequence[Write] = (),
    ) -> Post:
        """Move ``post`` to ``to_status`` with one conditional write on its status and version
        (a transaction with ``checks``, other owners' conditions, and ``also``, other
        owners' writes that happen exactly when the change does, when there are some).

        The lifetime of the poster's personal data changes in the same transaction (see
        the module's docstring); a post that ends has contact details masked in its text.
        Raises WrongPostStatus (with the current post) when another writer got there first,
        PostNotFound when the post is gone, ConditionFailed when one of ``checks`` fails.
        """
        expires = self.retention.after_change(to_status, at)
        change = self._status_update(post, to_status, at=at, by=by, reason=reason)
        contact = self.table.get(contact_key(post.id))
        lifetime = self._lifetime_updates(post, contact, expires) if contact else []
        if lifetime:
            try:
                self.table.transact([change, *checks, *also, *lifetime])
            except TransactionCancelled as exc:
                self._raise_for_post_or_checks(post, exc, len(checks))
                # the personal data went meanwhile (erased, expired): the post alone changes
            else:
                return changed_post(post, to_status, at=at, by=by, reason=reason)
        if not checks and not also:
            return self._write_status(post, change)
        try:
            self.table.transact([change, *checks, *also])
        except TransactionCancelled as exc:
            self._raise_for_post_or_checks(post, exc, len(checks))
            raise
        return changed_post(post, to_status, at=at, by=by, reason=reason)

    def _raise_for_post_or_checks(self, post: Post, exc: TransactionCancelled, checks: int) -> None:
        """The caller's exception when the post's own condition (the first write) or one of
        the ``checks`` after it failed; a cancellation with no failed condition (a conflict)
        propagates. Returns when only a later write's condition failed."""
        failed = {i for i, reason in enumerate(exc.reasons) if reason == CONDITION_FAILED}
        if 0 in failed:
            current = self.get_post(post.id)
            raise (PostNotFound(post.id) if current is None else WrongPostStatus(current)) from exc
        if failed & set(range(1, 1 + checks)):
            raise ConditionFailed() from exc
        if not failed:
            raise exc

    def _write_status(self, post: Post, change: Update) -> Post:
        try:
            changed = self.table.write(change, returns="ALL_NEW", keep_old=True)
        except ConditionFailed as exc:
            if exc.old is None:
                raise PostNotFound(post.id) from exc
            raise WrongPostStatus(post_from_item(exc.old)) from exc
        assert changed is not None
        return post_from_item(changed)

    @staticmethod
    def _status_update(
        post: Post, to_status: PostStatus, *, at: datetime, by: str, reason: str | None
    ) -> Update:
        """The write of :meth:`transition` (what it makes of the post: :func:`changed_post`)."""
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
        if to_status not in (PostStatus.PENDING, PostStatus.APPROVED):
            # ended: no address or number stays in the text kept for the figures
            changes[":title"] = mask_public_text(post.title)
            changes[":description"] = mask_public_text(post.description)
            update += ", title = :title, description = :description"
        if to_status is PostStatus.APPROVED:
            # public from now on: findable near its place (sparse indexes by_cell, by_place)
            changes.update(_near_values(post))
            update += ", " + _NEAR_SET.removeprefix("SET ")
        elif post.status is PostStatus.APPROVED:
            # withdrawn or expired: out of every search
            update += " REMOVE gsi3pk, gsi3sk, gsi4pk, gsi4sk"
        return Update(
            key=post_key(post.id),
            expression=update,
            condition="#status = :from AND version = :version",
            names={"#status": "status"},
            values=changes,
        )

    @staticmethod
    def _lifetime_updates(post: Post, contact: Item, expires: datetime | None) -> list[Write]:
        """The contact and history items' TTL: kept while public, ``expires`` otherwise."""
        keys = [contact_key(post.id)]
        if contact.get("pseudonym"):
            keys.append(history_key(str(contact["pseudonym"]), post))
        expression, values = (
            ("REMOVE expires_at", None)
            if expires is None
            else ("SET expires_at = :expires", {":expires": epoch(expires)})
        )
        return [
            Update(key=key, expression=expression, condition="attribute_exists(pk)", values=values)
            for key in keys
        ]

    def end_each(
        self, posts: Sequence[Post], to_status: PostStatus, *, at: datetime, by: str
    ) -> list[Post]:
        """Move each post to ``to_status``; a post that changed meanwhile is left as it became."""
        ended = []
        for post in posts:
            try:
                ended.append(self.transition(post, to_status, at=at, by=by))
            except WrongPostStatus:
                continue
        return ended

    def waiting_since_before(self, moment: datetime) -> list[Post]:
        """Posts waiting for moderation since before ``moment`` (the status index, by date)."""
        partition, sort = INDEX_KEYS[BY_STATUS]
        items = self.table.query(
            "#pk = :pk AND #sk < :before",
            {":pk": f"{POST_PREFIX}{PostStatus.PENDING.value}", ":before": iso(moment)},
            names={"#pk": partition, "#sk": sort},
            index=BY_STATUS,
        )
        return [post_from_item(item) for item in items]

    # -- erasure on request ------------------------------------------------------------
    def erase(self, posts: Sequence[Post], pseudonyms: Sequence[str], *, at: datetime) -> int:
        """Erase what the table holds of a person: the contact item of each of their
        ``posts``, their text (the post keeps its kind, category, place and dates, for the
        figures), and every item of their ``pseudonyms``' partitions. The posts must have
        ended (see :meth:`transition`). Returns how many items were deleted."""
        for post in posts:
            try:
                self.table.write(
                    Update(
                        key=post_key(post.id),
                        expression="SET title = :title, description = :empty, erased_at = :at",
                        condition=(
                            "attribute_exists(pk) AND #status IN (:rejected, :withdrawn, :expired)"
                        ),
                        names={"#status": "status"},
                        values={
                            ":title": ERASED_TITLE,
                            ":empty": "",
                            ":at": iso(at),
                            ":rejected": PostStatus.REJECTED.value,
                            ":withdrawn": PostStatus.WITHDRAWN.value,
                            ":expired": PostStatus.EXPIRED.value,
                        },
                    )
                )
            except ConditionFailed as exc:
                raise ConcurrentChange(f"L'annonce {post.id} n'est pas terminée.") from exc
        keys = [contact_key(post.id) for post in posts] + self.posters.keys_of(pseudonyms)
        left = self.table.batch_delete(keys, attempts=5, pause=0.05)
        if left:
            raise ConcurrentChange(f"{left} éléments n'ont pas pu être effacés ; réessayez.")
        return len(keys)

    # -- near a place (matching) -------------------------------------------------------
    def approved_near(
        self,
        activation_id: str,
        kind: Kind,
        category: Category | None,
        *,
        first: str,
        last: str,
        after: str | None,
        limit: int,
    ) -> NearRead:
        """Approved posts of one activation, kind and category (every category when
        ``category`` is None) whose place (geohash of 12 characters) lies from ``first`` to
        ``last``, in sort-key order, after the sort key ``after`` when given; one Query of
        at most ``limit`` items."""
        index = BY_PLACE if category is None else BY_CELL
        partition, sort = INDEX_KEYS[index]
        start = f"{after}{_AFTER}" if after is not None else first
        items, stopped = self.table.query_once(
            "#pk = :pk AND #sk BETWEEN :from AND :to",
            {
                ":pk": near_partition(activation_id, kind, category),
                ":from": start,
                ":to": f"{last}{_ABOVE_EVERY_SUFFIX}",
            },
            names={"#pk": partition, "#sk": sort},
            index=index,
            limit=limit,
        )
        # defensive: only post items are ever in the index
        posts = [post_from_item(item) for item in items if item.get("entity") == "post"]
        if stopped is None:
            return NearRead(posts, len(items))
        key = str(stopped[sort])
        return NearRead(posts, len(items), key, key[:POSITION_PRECISION])

    def approved_in_legacy_cell(
        self, activation_id: str, geohash: str, kind: Kind | None = None
    ) -> tuple[list[Post], int, int]:
        """The approved posts of one former ``by_cell`` partition (optionally of one kind),
        how many index items DynamoDB read for them, and in how many Query requests."""
        partition, sort = INDEX_KEYS[BY_CELL]
        condition = "#pk = :pk"
        names = {"#pk": partition}
        values: Item = {":pk": cell_key(activation_id, geohash)}
        if kind is not None:
            condition += " AND begins_with(#sk, :kind)"
            names["#sk"] = sort
            values[":kind"] = f"{kind.value}#"
        posts: list[Post] = []
        read = requests = 0
        for items, scanned in self.table.query_pages(condition, values, names=names, index=BY_CELL):
            read += scanned
            requests += 1
            # defensive: only post items are ever in the index
            posts += [post_from_item(item) for item in items if item.get("entity") == "post"]
        return posts, read, requests

    def legacy_cells_remain(self) -> bool:
        """Whether approved posts may still carry the former by_cell keys: until
        :meth:`move_legacy_cells` has moved them all and recorded it."""
        item = self.table.get(INDEX_FORMAT_KEY)
        return item is None or int(item.get("format", 0)) < NEAR_FORMAT

    def move_legacy_cells(self, *, now: datetime, out_of_time: Callable[[], bool]) -> LegacyMove:
        """Give every approved post still under a former ``CELL#`` key its place keys.

        Each move is one conditional update (the post still approved and still under its
        former key), so that a post withdrawn or expired meanwhile stays out of the index
        and running it twice moves nothing twice. When a pass finds none left, the index's
        format is recorded and searches stop reading the former partitions. Stops early,
        to go on at the next run, when ``out_of_time()`` says so.
        """
        partition, _ = INDEX_KEYS[BY_STATUS]
        moved = 0
        for item in self.table.query(
            "#pk = :pk",
            {":pk": f"{POST_PREFIX}{PostStatus.APPROVED.value}", ":legacy": LEGACY_CELL_PREFIX},
            names={"#pk": partition},
            index=BY_STATUS,
            filter="begins_with(gsi3pk, :legacy)",
        ):
            if out_of_time():
                return LegacyMove(moved, done=False)
            post = post_from_item(item)
            try:
                self.table.write(
                    Update(
                        key=post_key(post.id),
                        expression=_NEAR_SET,
                        condition="#status = :approved AND gsi3pk = :old",
                        names={"#status": "status"},
                        values={
                            **_near_values(post),
                            ":approved": PostStatus.APPROVED.value,
                            ":old": item["gsi3pk"],
                        },
                    )
                )
                moved += 1
            except ConditionFailed:
                pass  # withdrawn, expired or moved meanwhile: nothing to move
        self.table.write(
            Put(item={**INDEX_FORMAT_KEY, "format": NEAR_FORMAT, "moved_at": iso(now)})
        )
        return LegacyMove(moved, done=True)

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
