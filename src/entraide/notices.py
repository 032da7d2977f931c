"""Match notices: grouped emails about nearby counterparts, at most one per person per hour.

When a post is approved, geomatch finds its counterparts nearby and hands each match to
:meth:`NoticeBook.queue`. Both people concerned get a *pending notice*: the person in
need will hear of the offer, the helper of the need. :meth:`NoticeBook.flush` then sends
each recipient ONE email listing all their pending notices, unless that person already
had one less than ``min_interval`` ago (one hour by default): the notices wait, and the
scheduled flush sends them, grouped, once the hour is over.

Items (one table, see docs/data-model.md; a recipient is only ever named by the digest
of their address, :func:`recipient_digest`, never by the address itself):

* ``pk = NOTICE#<digest>``, ``sk = PENDING#<queued at>#<need id>#<offer id>``: a match
  to tell about (``role``, ``need_id``, ``offer_id``, ``distance_km``, ``queued_at``);
  TTL ``expires_at`` 30 days;
* ``pk = NOTICE#<digest>``, ``sk = QUEUED#<need id>#<offer id>``: the replay guard of
  :meth:`NoticeBook.queue`; TTL 30 days;
* ``pk = NOTICE#<digest>``, ``sk = SENT``: the send slot (``sent_at`` of the last
  email, the ``claim`` token); TTL ``min_interval`` + 1 day;
* ``pk = NOTICE-DUE``, ``sk = <due at>#<digest>``: "look at this recipient from
  ``<due at>`` on" (``digest``, ``due_at``); TTL 30 days.

Every item has an ``entity`` (``match-notice``, ``match-notice-queued``,
``match-notice-sent``, ``match-notice-due``) that no stream filter of posts matches.

Access patterns:

* queue a match: ``GetItem SENT`` (when may the recipient hear from us next), then one
  ``TransactWriteItems`` per recipient: ``QUEUED`` with ``attribute_not_exists`` (a
  replayed match cancels the whole transaction: nothing new), the ``PENDING`` item, a
  ``NOTICE-DUE`` item at ``max(now + grouping_delay, last sent + min_interval)``;
* claim the send slot: ``UpdateItem SENT`` with ``attribute_not_exists(sent_at) OR
  sent_at <= now - min_interval``: of two concurrent flushes, one wins, the other sends
  nothing (a sliding window: an email at 10:59 blocks one at 11:00);
* a recipient's pending notices: ``Query pk = NOTICE#<digest> AND begins_with(sk,
  "PENDING#")`` (oldest first), then ``BatchWriteItem`` deletes those sent or stale;
* who is due (the scheduled flush, every 15 min): ``Query pk = NOTICE-DUE AND sk <=
  "<now>#~"``. A ``NOTICE-DUE`` item is a hint, not a promise: flushing a recipient with
  nothing pending, or not yet allowed an email, only deletes it (and in the second case
  writes a new one at the time the recipient may be written to). Every recipient with
  pending notices keeps at least one ``NOTICE-DUE`` item at or before that time.

``NOTICE-DUE`` is one partition: a few writes per match, well under a partition's
1,000 writes per second at the scale of a disaster; shard it (``NOTICE-DUE#<0-f>``,
first hex digit of the digest) if it ever becomes hot.

Stale notices (a post since withdrawn or expired, a contact erased) are dropped at
flush time, not sent. An email lists ``max_per_email`` matches at most; the rest waits
for the next slot.

An email and the deletion of its notices are not atomic: should the function die
between the two, the notices would be sent again an hour later (at-least-once, never
twice within the hour). A failed send releases the slot and keeps the notices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from entraide.kernel.model import Contact, Kind, Post, PostStatus
from entraide.mail import EmailMessage
from entraide.observability import logger
from entraide.store import poster_key

if TYPE_CHECKING:
    from entraide.store import EntraideTable

__all__ = [
    "DEFAULT_MIN_INTERVAL",
    "DUE_PARTITION",
    "MAX_MATCHES_PER_EMAIL",
    "NOTICE_MEMORY",
    "TAG_MATCH_NOTICE",
    "MatchView",
    "NoticeBook",
    "NoticeLine",
    "NoticeLinks",
    "PendingNotice",
    "Role",
    "format_distance",
    "match_notice",
    "notice_subject",
    "recipient_digest",
]

DEFAULT_MIN_INTERVAL = timedelta(hours=1)
#: How long a queued match is remembered (replay guard) and a pending notice kept.
NOTICE_MEMORY = timedelta(days=30)
#: The send slot record outlives its interval by this much, then TTL removes it.
SENT_MEMORY_MARGIN = timedelta(days=1)
MAX_MATCHES_PER_EMAIL = 20
TAG_MATCH_NOTICE = "match-notice"

NOTICE_PREFIX = "NOTICE#"
DUE_PARTITION = "NOTICE-DUE"
PENDING_PREFIX = "PENDING#"
QUEUED_PREFIX = "QUEUED#"
SENT_SK = "SENT"
_POSTER_PREFIX = "POSTER#"
_NBSP = "\u00a0"
_BATCH = 25  # BatchWriteItem's limit


class Role(StrEnum):
    """Which side of the match the recipient is on."""

    NEED = "need"  # posted the need: is told about the offer
    OFFER = "offer"  # posted the offer: is told about the need


class MatchView(Protocol):
    """What a notice needs of a match (``entraide.matching.Match`` fits)."""

    @property
    def need(self) -> Post: ...

    @property
    def offer(self) -> Post: ...

    @property
    def distance_km(self) -> float: ...


class NoticeLinks(Protocol):
    """The links of a notice (``entraide.contact.ContactLinks`` fits)."""

    def contact_url(self, offer: Post, need: Post, *, asker: str) -> str:
        """Signed link for the need's poster (``asker``) to write to the helper."""
        ...

    def post_url(self, post_id: str) -> str:
        """Public page of an approved post."""
        ...


class Sender(Protocol):
    def send(self, message: EmailMessage) -> str: ...


def recipient_digest(email: str) -> str:
    """The recipient's pseudonym in keys: the hex digest of :func:`store.poster_key`."""
    return poster_key(email).removeprefix(_POSTER_PREFIX)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class PendingNotice:
    """One match waiting to be told to ``recipient`` (a digest)."""

    recipient: str
    role: Role
    need_id: str
    offer_id: str
    distance_km: float
    queued_at: datetime
    sk: str

    @property
    def own_id(self) -> str:
        """The recipient's own post."""
        return self.need_id if self.role is Role.NEED else self.offer_id


@dataclass(frozen=True, slots=True)
class NoticeLine:
    """One line of an email: the recipient's own post, the counterpart, how far."""

    own: Post
    other: Post
    distance_km: float


# -- the email ------------------------------------------------------------------------


def format_distance(km: float) -> str:
    """``à 3,2 km`` (non-breaking space); ``à 12 km`` from 10 km; under 1 km, less than one.

    Places are commune centroids: a decimal beyond the first would be false precision.
    """
    if km < 1:
        return f"à moins d'1{_NBSP}km"
    if km < 10:
        return f"à {km:.1f}".replace(".", ",") + f"{_NBSP}km"
    return f"à {round(km)}{_NBSP}km"


def notice_subject(offers: int, needs: int) -> str:
    """``3 offres d'aide près de chez vous``, ``1 personne a besoin d'aide…``, or both."""
    offers_part = f"{offers} offre{'s' if offers > 1 else ''} d'aide"
    if needs == 0:
        return f"{offers_part} près de chez vous"
    if offers == 0:
        if needs == 1:
            return "1 personne a besoin d'aide près de chez vous"
        return f"{needs} personnes ont besoin d'aide près de chez vous"
    needs_part = f"{needs} personne{'s' if needs > 1 else ''} qui {'ont' if needs > 1 else 'a'}"
    return f"{offers_part} et {needs_part} besoin d'aide près de chez vous"


@dataclass(frozen=True, slots=True)
class _ItemView:
    reference: str
    title: str
    category_label: str
    commune: str
    postcode: str
    distance: str
    url: str


@dataclass(frozen=True, slots=True)
class _GroupView:
    reference: str
    title: str
    items: tuple[_ItemView, ...]


def _groups(
    lines: Sequence[NoticeLine], url: Callable[[NoticeLine], str]
) -> tuple[_GroupView, ...]:
    """Lines grouped under the recipient's own post, in order of first appearance."""
    from entraide.web.emails import _link

    order: dict[str, Post] = {}
    items: dict[str, list[_ItemView]] = {}
    for line in lines:
        order.setdefault(line.own.id, line.own)
        items.setdefault(line.own.id, []).append(
            _ItemView(
                reference=line.other.id,
                title=line.other.title,
                category_label=line.other.category.label,
                commune=line.other.commune,
                postcode=line.other.postcode,
                distance=format_distance(line.distance_km),
                url=_link(url(line)),
            )
        )
    return tuple(
        _GroupView(reference=own.id, title=own.title, items=tuple(items[own.id]))
        for own in order.values()
    )


def match_notice(
    *,
    to: str,
    offers: Sequence[NoticeLine],
    needs: Sequence[NoticeLine],
    links: NoticeLinks,
) -> EmailMessage:
    """ONE email to ``to``: the offers near their needs, the needs near their offers.

    ``offers`` are lines whose ``own`` is the recipient's need and ``other`` an offer:
    each comes with a signed link to write to the helper through the platform (the
    helper's address is never an input of this function). ``needs`` are lines whose
    ``own`` is the recipient's offer: each links to the need's public page.
    """
    if not offers and not needs:
        raise ValueError("A match notice lists one match at least.")
    from entraide.web.emails import _render

    offer_groups = _groups(offers, lambda line: links.contact_url(line.other, line.own, asker=to))
    need_groups = _groups(needs, lambda line: links.post_url(line.other.id))
    subject = notice_subject(len(offers), len(needs))
    text, html = _render(
        "match_notice",
        subject=subject,
        offer_groups=offer_groups,
        need_groups=need_groups,
        offers_count=len(offers),
        needs_count=len(needs),
    )
    email_links = [
        (f"Contacter : {item.title}", item.url) for group in offer_groups for item in group.items
    ]
    email_links += [
        (f"Voir : {item.title}", item.url) for group in need_groups for item in group.items
    ]
    return EmailMessage(
        to=(to,),
        subject=subject,
        text=text,
        html=html,
        links=tuple(email_links),
        tag=TAG_MATCH_NOTICE,
    )


# -- the table ------------------------------------------------------------------------


def _notice_pk(digest: str) -> str:
    return f"{NOTICE_PREFIX}{digest}"


def _pending_to_item(
    digest: str, role: Role, match: MatchView, queued_at: datetime
) -> dict[str, Any]:
    queued = _iso(queued_at)
    return {
        "pk": _notice_pk(digest),
        "sk": f"{PENDING_PREFIX}{queued}#{match.need.id}#{match.offer.id}",
        "entity": "match-notice",
        "role": role.value,
        "need_id": match.need.id,
        "offer_id": match.offer.id,
        # DynamoDB numbers are decimals; a metre is more precision than a centroid has
        "distance_km": Decimal(f"{match.distance_km:.3f}"),
        "queued_at": queued,
        "expires_at": _epoch(queued_at + NOTICE_MEMORY),
    }


def _pending_from_item(item: Mapping[str, Any]) -> PendingNotice:
    return PendingNotice(
        recipient=str(item["pk"]).removeprefix(NOTICE_PREFIX),
        role=Role(item["role"]),
        need_id=str(item["need_id"]),
        offer_id=str(item["offer_id"]),
        distance_km=float(item["distance_km"]),
        queued_at=_parse_iso(str(item["queued_at"])),
        sk=str(item["sk"]),
    )


def _due_sk(due_at: datetime, digest: str) -> str:
    return f"{_iso(due_at)}#{digest}"


class NoticeBook:
    """Queues match notices and sends them, grouped, at most once per ``min_interval``.

    ``grouping_delay`` (default none) holds a recipient's first notice that long, so
    that matches arriving together go out in one email; without it, the first match is
    told at once and the following ones wait for the end of the interval.
    """

    def __init__(
        self,
        table: EntraideTable,
        mailer: Sender,
        links: NoticeLinks,
        *,
        min_interval: timedelta = DEFAULT_MIN_INTERVAL,
        grouping_delay: timedelta = timedelta(0),
        max_per_email: int = MAX_MATCHES_PER_EMAIL,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        if min_interval <= timedelta(0) or grouping_delay < timedelta(0) or max_per_email < 1:
            raise ValueError("min_interval > 0, grouping_delay >= 0, max_per_email >= 1")
        self.table = table
        self.mailer = mailer
        self.links = links
        self.min_interval = min_interval
        self.grouping_delay = grouping_delay
        self.max_per_email = max_per_email
        self.now = now

    # -- low level -------------------------------------------------------------------
    @property
    def _client(self) -> Any:
        return self.table.client

    @property
    def _name(self) -> str:
        return self.table.table_name

    @staticmethod
    def _ser(item: Mapping[str, Any]) -> dict[str, Any]:
        from boto3.dynamodb.types import TypeSerializer

        serializer = TypeSerializer()
        return {key: serializer.serialize(value) for key, value in item.items()}

    @staticmethod
    def _de(item: Mapping[str, Any]) -> dict[str, Any]:
        from boto3.dynamodb.types import TypeDeserializer

        deserializer = TypeDeserializer()
        return {key: deserializer.deserialize(value) for key, value in item.items()}

    def _query(self, pk: str, condition: str, values: Mapping[str, Any]) -> Iterator[Any]:
        pages = self._client.get_paginator("query").paginate(
            TableName=self._name,
            KeyConditionExpression=f"pk = :pk AND {condition}",
            ExpressionAttributeValues=self._ser({":pk": pk, **values}),
            ConsistentRead=True,
        )
        for page in pages:
            for raw in page["Items"]:
                yield self._de(raw)

    def _delete_keys(self, keys: Iterable[tuple[str, str]]) -> None:
        requests = [
            {"DeleteRequest": {"Key": self._ser({"pk": pk, "sk": sk})}} for pk, sk in set(keys)
        ]
        for start in range(0, len(requests), _BATCH):
            pending: dict[str, Any] = {self._name: requests[start : start + _BATCH]}
            for _ in range(5):
                response = self._client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
            if pending:  # leftovers are harmless: stale notices and hints are skipped
                logger.warning("Notice items left undeleted", extra={"count": len(pending)})

    # -- reads -----------------------------------------------------------------------
    def last_sent(self, digest: str) -> datetime | None:
        """When ``digest`` was last emailed a notice (within the slot record's life)."""
        response = self._client.get_item(
            TableName=self._name,
            Key=self._ser({"pk": _notice_pk(digest), "sk": SENT_SK}),
            ConsistentRead=True,
        )
        raw = response.get("Item")
        if not raw:
            return None
        sent = self._de(raw).get("sent_at")
        return _parse_iso(str(sent)) if sent else None

    def pending(self, digest: str) -> list[PendingNotice]:
        """The recipient's pending notices, oldest first."""
        items = self._query(
            _notice_pk(digest), "begins_with(sk, :prefix)", {":prefix": PENDING_PREFIX}
        )
        return [_pending_from_item(item) for item in items]

    def due_recipients(self, until: datetime | None = None) -> dict[str, list[str]]:
        """Recipients to look at by ``until`` (default now): digest -> their due hints."""
        bound = f"{_iso(until or self.now())}#~"  # "~" sorts after every hex digit
        due: dict[str, list[str]] = {}
        for item in self._query(DUE_PARTITION, "sk <= :bound", {":bound": bound}):
            due.setdefault(str(item["digest"]), []).append(str(item["sk"]))
        return due

    # -- queue -----------------------------------------------------------------------
    def queue(self, match: MatchView) -> None:
        """Add a pending notice for the need's poster (the offer) and the helper (the need).

        Idempotent: a replayed match adds nothing (conditional puts). A side whose contact
        was erased is skipped; a match between two posts of the same person tells nobody.
        """
        self._queue(match)

    def _queue(self, match: MatchView) -> list[str]:
        """:meth:`queue`; returns the digests concerned (queued now or before)."""
        need, offer = match.need, match.offer
        if need.kind is not Kind.NEED or offer.kind is not Kind.OFFER:
            raise ValueError(f"Not a need and an offer: {need.id}, {offer.id}")
        sides: list[tuple[str, Role]] = []
        for post, role in ((need, Role.NEED), (offer, Role.OFFER)):
            contact = self.table.get_contact(post.id)
            if contact is not None:
                sides.append((recipient_digest(contact.email), role))
        if len(sides) == 2 and sides[0][0] == sides[1][0]:
            logger.info("Match between posts of one person: no notice", extra={"need": need.id})
            return []
        now = self.now()
        for digest, role in sides:
            self._put_notice(digest, role, match, now)
        return [digest for digest, _ in sides]

    def _put_notice(self, digest: str, role: Role, match: MatchView, now: datetime) -> bool:
        last = self.last_sent(digest)
        due = now + self.grouping_delay
        if last is not None:
            due = max(due, last + self.min_interval)
        pk = _notice_pk(digest)
        queued = {
            "pk": pk,
            "sk": f"{QUEUED_PREFIX}{match.need.id}#{match.offer.id}",
            "entity": "match-notice-queued",
            "queued_at": _iso(now),
            "expires_at": _epoch(now + NOTICE_MEMORY),
        }
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._name,
                            "Item": self._ser(queued),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._name,
                            "Item": self._ser(_pending_to_item(digest, role, match, now)),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {"Put": {"TableName": self._name, "Item": self._ser(self._due(digest, due))}},
                ]
            )
        except self._client.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                return False  # queued before: a replay
            raise
        return True

    def _due(self, digest: str, due_at: datetime) -> dict[str, Any]:
        return {
            "pk": DUE_PARTITION,
            "sk": _due_sk(due_at, digest),
            "entity": "match-notice-due",
            "digest": digest,
            "due_at": _iso(due_at),
            "expires_at": _epoch(due_at + NOTICE_MEMORY),
        }

    def _put_due(self, digest: str, due_at: datetime) -> None:
        self._client.put_item(TableName=self._name, Item=self._ser(self._due(digest, due_at)))

    # -- flush -----------------------------------------------------------------------
    def notify(self, matches: Iterable[MatchView]) -> int:
        """What geomatch calls: queue every match, then flush the people concerned.

        Queueing errors propagate (the stream record is retried; queueing is idempotent).
        A failed send is logged and left to the scheduled flush, which retries it.
        """
        digests: dict[str, None] = {}
        for match in matches:
            digests.update(dict.fromkeys(self._queue(match)))
        return self._flush_many({digest: [] for digest in digests})

    def flush(self, recipient_digest: str | None = None) -> int:
        """Send each due recipient ONE email of their pending notices; return emails sent.

        With a digest: that recipient only (errors propagate). Without: every recipient
        with a ``NOTICE-DUE`` hint up to now, the scheduled step (a failure is logged and
        retried at the next run, the others go on).
        """
        if recipient_digest is not None:
            return self._flush_one(recipient_digest, ())
        return self._flush_many(self.due_recipients())

    def _flush_many(self, due: Mapping[str, Sequence[str]]) -> int:
        sent = 0
        for digest, hints in due.items():
            try:
                sent += self._flush_one(digest, hints)
            except Exception:
                logger.exception("Match notice not sent; retried later", extra={"n": len(hints)})
        return sent

    def _flush_one(self, digest: str, hints: Sequence[str]) -> int:
        now = self.now()
        hint_keys = [(DUE_PARTITION, sk) for sk in hints]
        pending = self.pending(digest)
        if not pending:
            self._delete_keys(hint_keys)
            return 0
        ready_at = pending[0].queued_at + self.grouping_delay
        if ready_at > now:
            self._put_due(digest, ready_at)
            self._delete_keys(hint_keys)
            return 0
        claim = self._claim(digest, now)
        if isinstance(claim, datetime):  # emailed less than min_interval ago
            self._put_due(digest, claim + self.min_interval)
            self._delete_keys(hint_keys)
            return 0
        try:
            # Read again under the claim: notices queued meanwhile join this email.
            batch = self.pending(digest)[: self.max_per_email]
            message, told, stale = self._compose(digest, batch)
            if message is not None:
                self.mailer.send(message)
        except BaseException:
            self._release(digest, claim)
            raise
        if message is None:  # nothing left worth telling: the slot is not used
            self._release(digest, claim)
        pk = _notice_pk(digest)
        self._delete_keys((pk, notice.sk) for notice in (*told, *stale))
        if self.pending(digest):
            self._put_due(digest, now + self.min_interval if message else now)
        self._delete_keys(hint_keys)
        if message is None:
            return 0
        logger.info("Match notice sent", extra={"matches": len(told)})
        return 1

    def _claim(self, digest: str, now: datetime) -> str | datetime:
        """The claim token of the send slot, or when the last email went (slot taken)."""
        return self.table.claim_slot(
            {"pk": _notice_pk(digest), "sk": SENT_SK},
            entity="match-notice-sent",
            now=now,
            interval=self.min_interval,
            memory=SENT_MEMORY_MARGIN,
        )

    def _release(self, digest: str, token: str) -> None:
        """Give the slot back (nothing was sent). The slot was free: forgetting it is exact."""
        self.table.release_slot({"pk": _notice_pk(digest), "sk": SENT_SK}, token)

    def _compose(
        self, digest: str, batch: Sequence[PendingNotice]
    ) -> tuple[EmailMessage | None, list[PendingNotice], list[PendingNotice]]:
        """The email of ``batch``, the notices it tells, and the stale ones to drop."""
        posts: dict[str, Post | None] = {}
        contacts: dict[str, Contact | None] = {}

        def post(post_id: str) -> Post | None:
            if post_id not in posts:
                posts[post_id] = self.table.get_post(post_id)
            return posts[post_id]

        def contact(post_id: str) -> Contact | None:
            if post_id not in contacts:
                contacts[post_id] = self.table.get_contact(post_id)
            return contacts[post_id]

        address: str | None = None
        offers: list[NoticeLine] = []
        needs: list[NoticeLine] = []
        told: list[PendingNotice] = []
        stale: list[PendingNotice] = []
        for notice in batch:
            need, offer = post(notice.need_id), post(notice.offer_id)
            own_contact = contact(notice.own_id)
            alive = (
                need is not None
                and offer is not None
                and need.status is PostStatus.APPROVED
                and offer.status is PostStatus.APPROVED
                and own_contact is not None
                and recipient_digest(own_contact.email) == digest
            )
            if not alive or need is None or offer is None or own_contact is None:
                stale.append(notice)
                continue
            address = address or own_contact.email
            if notice.role is Role.NEED:
                offers.append(NoticeLine(own=need, other=offer, distance_km=notice.distance_km))
            else:
                needs.append(NoticeLine(own=offer, other=need, distance_km=notice.distance_km))
            told.append(notice)
        if address is None:
            return None, [], stale
        message = match_notice(to=address, offers=offers, needs=needs, links=self.links)
        return message, told, stale
