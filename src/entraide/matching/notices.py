"""Match notices: grouped emails about nearby counterparts, at most one per person per hour.

When a post is approved, geomatch finds its counterparts nearby and hands each match to
:meth:`NoticeBook.queue`. Both people concerned get a *pending notice*: the person in
need will hear of the offer, the helper of the need. :meth:`NoticeBook.flush` then sends
each recipient ONE email listing all their pending notices, unless that person already
had one less than ``min_interval`` ago (one hour by default): the notices wait, and the
scheduled flush sends them, grouped, once the hour is over.

The notices, their replay guards, the due hints and the send slot are items of
:mod:`entraide.matching.notice_store`; the email itself is composed by the web side
(``compose``, :func:`entraide.web.match_emails.match_notice` in production).

Stale notices (a post since withdrawn or expired, a contact erased) are dropped at
flush time, not sent. An email lists ``max_per_email`` matches at most; the rest waits
for the next slot.

An email and the deletion of its notices are not atomic: should the function die
between the two, the notices would be sent again an hour later (at-least-once, never
twice within the hour). A failed send releases the slot and keeps the notices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from entraide.intake.post_store import PostReader
from entraide.kernel.model import Contact, Kind, Post, PostStatus
from entraide.kernel.times import utcnow
from entraide.matching.notice_store import NoticeStore, PendingNotice, Role
from entraide.observability import logger

if TYPE_CHECKING:
    from entraide.adapters.mail import EmailMessage, Sender

DEFAULT_MIN_INTERVAL = timedelta(hours=1)
MAX_MATCHES_PER_EMAIL = 20


class MatchView(Protocol):
    """What a notice needs of a match (``entraide.matching.counterparts.Match`` fits)."""

    @property
    def need(self) -> Post: ...

    @property
    def offer(self) -> Post: ...

    @property
    def distance_km(self) -> float: ...


@dataclass(frozen=True, slots=True)
class NoticeLine:
    """One line of an email: the recipient's own post, the counterpart, how far."""

    own: Post
    other: Post
    distance_km: float


class ComposeNotice(Protocol):
    """ONE email to ``to``: the offers near their needs, the needs near their offers."""

    def __call__(
        self, *, to: str, offers: Sequence[NoticeLine], needs: Sequence[NoticeLine]
    ) -> EmailMessage: ...


class NoticeBook:
    """Queues match notices and sends them, grouped, at most once per ``min_interval``.

    ``grouping_delay`` (default none) holds a recipient's first notice that long, so
    that matches arriving together go out in one email; without it, the first match is
    told at once and the following ones wait for the end of the interval.
    """

    def __init__(
        self,
        notices: NoticeStore,
        posts: PostReader,
        mailer: Sender,
        compose: ComposeNotice,
        *,
        min_interval: timedelta = DEFAULT_MIN_INTERVAL,
        grouping_delay: timedelta = timedelta(0),
        max_per_email: int = MAX_MATCHES_PER_EMAIL,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        if min_interval <= timedelta(0) or grouping_delay < timedelta(0) or max_per_email < 1:
            raise ValueError("min_interval > 0, grouping_delay >= 0, max_per_email >= 1")
        self.notices = notices
        self.posts = posts
        self.mailer = mailer
        self.compose = compose
        self.min_interval = min_interval
        self.grouping_delay = grouping_delay
        self.max_per_email = max_per_email
        self.now = now

    # -- reads -----------------------------------------------------------------------
    def last_sent(self, digest: str) -> datetime | None:
        """When ``digest`` was last emailed a notice (within the slot record's life)."""
        return self.notices.last_sent(digest)

    def pending(self, digest: str) -> list[PendingNotice]:
        """The recipient's pending notices, oldest first."""
        return self.notices.pending(digest)

    def due_recipients(self, until: datetime | None = None) -> dict[str, list[str]]:
        """Recipients to look at by ``until`` (default now): digest -> their due hints."""
        return self.notices.due_recipients(until or self.now())

    # -- queue -----------------------------------------------------------------------
    def queue(self, match: MatchView) -> None:
        """Add a pending notice for the need's poster (the offer) and the helper (the need).

        Idempotent: a replayed match adds nothing (conditional puts). A side whose contact
        was erased is skipped; a match between two posts of the same person tells nobody.
        Recipients are named by the pseudonym their contact item carries, never by address.
        """
        self._queue(match)

    def _queue(self, match: MatchView) -> list[str]:
        """:meth:`queue`; returns the digests concerned (queued now or before)."""
        need, offer = match.need, match.offer
        if need.kind is not Kind.NEED or offer.kind is not Kind.OFFER:
            raise ValueError(f"Not a need and an offer: {need.id}, {offer.id}")
        sides: list[tuple[str, Role]] = []
        for post, role in ((need, Role.NEED), (offer, Role.OFFER)):
            contact = self.posts.get_contact(post.id)
            if contact is not None and contact.pseudonym:
                sides.append((contact.pseudonym, role))
        if len(sides) == 2 and sides[0][0] == sides[1][0]:
            logger.info("Match between posts of one person: no notice", extra={"need": need.id})
            return []
        now = self.now()
        for digest, role in sides:
            last = self.last_sent(digest)
            due = now + self.grouping_delay
            if last is not None:
                due = max(due, last + self.min_interval)
            self.notices.queue(
                digest,
                role,
                need_id=need.id,
                offer_id=offer.id,
                distance_km=match.distance_km,
                now=now,
                due_at=due,
            )
        return [digest for digest, _ in sides]

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
        pending = self.pending(digest)
        if not pending:
            self.notices.forget(digest, (), hints)
            return 0
        ready_at = pending[0].queued_at + self.grouping_delay
        if ready_at > now:
            self.notices.put_due(digest, ready_at)
            self.notices.forget(digest, (), hints)
            return 0
        claim = self.notices.claim_slot(digest, now, self.min_interval)
        if isinstance(claim, datetime):  # emailed less than min_interval ago
            self.notices.put_due(digest, claim + self.min_interval)
            self.notices.forget(digest, (), hints)
            return 0
        try:
            # Read again under the claim: notices queued meanwhile join this email.
            batch = self.pending(digest)[: self.max_per_email]
            message, told, stale = self._compose(digest, batch)
            if message is not None:
                self.mailer.send(message)
        except BaseException:
            self.notices.release_slot(digest, claim)
            raise
        if message is None:  # nothing left worth telling: the slot is not used
            self.notices.release_slot(digest, claim)
        self.notices.forget(digest, (*told, *stale), ())
        if self.pending(digest):
            self.notices.put_due(digest, now + self.min_interval if message else now)
        self.notices.forget(digest, (), hints)
        if message is None:
            return 0
        logger.info("Match notice sent", extra={"matches": len(told)})
        return 1

    def _compose(
        self, digest: str, batch: Sequence[PendingNotice]
    ) -> tuple[EmailMessage | None, list[PendingNotice], list[PendingNotice]]:
        """The email of ``batch``, the notices it tells, and the stale ones to drop."""
        posts: dict[str, Post | None] = {}
        contacts: dict[str, Contact | None] = {}

        def post(post_id: str) -> Post | None:
            if post_id not in posts:
                posts[post_id] = self.posts.get_post(post_id)
            return posts[post_id]

        def contact(post_id: str) -> Contact | None:
            if post_id not in contacts:
                contacts[post_id] = self.posts.get_contact(post_id)
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
                and own_contact.pseudonym == digest
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
        return self.compose(to=address, offers=offers, needs=needs), told, stale
