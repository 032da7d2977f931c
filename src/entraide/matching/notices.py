"""Match notices: grouped emails about nearby counterparts, at most one per person per hour.

When a post is approved, geomatch finds its counterparts nearby and hands each match to
:meth:`NoticeBook.queue`. Both people concerned get a *pending notice*: the person in
need will hear of the offer, the helper of the need. :meth:`NoticeBook.flush` then sends
each recipient ONE email listing all their pending notices, unless that person already
had one less than ``min_interval`` ago (one hour by default): the notices wait, and the
scheduled flush sends them, grouped, once the hour is over.

The notices, the due hints and the send slot are items of
:mod:`entraide.matching.notice_store`; the email itself is composed by the web side
(``compose``, :func:`entraide.web.match_emails.match_notice` in production).

Stale notices (a post since withdrawn or expired, a contact erased) are dropped at
flush time, not sent. An email lists ``max_per_email`` matches at most; the rest waits
for the next slot.

Each email is an effect of the ledger (:mod:`entraide.effects.ledger`): its subject,
``notice:<recipient>:<digest of its first notice>``, is named by what it tells, so that a
run that finds the same notices pending finds the same subject. The effect ``email`` is
**at least once**: an email twice (after a lost answer, or a run killed between sending and
recording) repeats a list of offers; an email never sent leaves a person alone with their
need. Once the email is recorded done, its notices are deleted; if that deletion fails, the
next run finds the done subject of those notices and deletes them without a second email.
A failed send keeps the slot and the notices: the email goes once SES takes it, after the
ledger's backoff (the due hint says when); a send whose outcome is unknown goes again only
once its claim's lease is over. The owner finds its subjects again from the pending
notices, so they need no place in the sweep's index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from entraide.effects.model import Done, Effect, Entry, Listing, Record, State, Subject
from entraide.intake.post_store import PostReader
from entraide.kernel.model import Contact, Kind, Post, PostStatus
from entraide.kernel.times import utcnow
from entraide.matching.counterparts import GEOMATCH
from entraide.matching.match_store import MatchStore
from entraide.matching.notice_store import NoticeStore, PendingNotice, Role
from entraide.observability import logger

if TYPE_CHECKING:
    from entraide.adapters.mail import EmailMessage, Sender
    from entraide.adapters.table import Write
    from entraide.effects.ledger import Ledger

DEFAULT_MIN_INTERVAL = timedelta(hours=1)
MAX_MATCHES_PER_EMAIL = 20
#: The result of an email that had nothing left to tell.
MOOT = "moot"
#: What one flush may spend of its invocation when the caller gives no deadline.
DEFAULT_RUN_TIME = timedelta(seconds=20)


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


def email_subject(digest: str, first: PendingNotice) -> str:
    """The ledger's name of the email that tells ``digest`` its notices from ``first`` on."""
    return f"notice:{digest}:{hashlib.sha256(first.sk.encode()).hexdigest()[:16]}"


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
        ledger: Ledger,
        min_interval: timedelta = DEFAULT_MIN_INTERVAL,
        grouping_delay: timedelta = timedelta(0),
        max_per_email: int = MAX_MATCHES_PER_EMAIL,
        now: Callable[[], datetime] = utcnow,
        matches: MatchStore | None = None,
    ) -> None:
        if min_interval <= timedelta(0) or grouping_delay < timedelta(0) or max_per_email < 1:
            raise ValueError("min_interval > 0, grouping_delay >= 0, max_per_email >= 1")
        self.notices = notices
        self.posts = posts
        self.mailer = mailer
        self.compose = compose
        self.ledger = ledger
        self.min_interval = min_interval
        self.grouping_delay = grouping_delay
        self.max_per_email = max_per_email
        self.now = now
        self.matches = matches or MatchStore(notices.table)

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
        """Record ``match`` with a pending notice for the need's poster (the offer) and the
        helper (the need), in one transaction, as geomatch does.

        Idempotent: a replayed match adds nothing (the match item's condition cancels the
        transaction). A side whose contact was erased is skipped; a match between two posts
        of the same person tells nobody. Recipients are named by the pseudonym their
        contact item carries, never by address.
        """
        self._queue(match)

    def _queue(self, match: MatchView) -> list[str]:
        """:meth:`queue`; returns the digests concerned (queued now or before)."""
        sides = self._sides(match)
        writes = [write for _, side in sides for write in side]
        self.matches.record_match(
            match.need, match.offer, match.distance_km, self.now(), also=writes
        )
        return [digest for digest, _ in sides]

    def queue_writes(self, match: MatchView) -> list[Write]:
        """The writes that queue the notices of ``match``, for the transaction that records
        the match itself: a recorded match has its notices queued, whatever happens next."""
        return [write for _, writes in self._sides(match) for write in writes]

    def _sides(self, match: MatchView) -> list[tuple[str, list[Write]]]:
        """For each person to tell of ``match``: their digest and the writes that queue it."""
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
        queued = []
        for digest, role in sides:
            last = self.last_sent(digest)
            due = now + self.grouping_delay
            if last is not None:
                due = max(due, last + self.min_interval)
            writes = self.notices.queue_writes(
                digest,
                role,
                need_id=need.id,
                offer_id=offer.id,
                distance_km=match.distance_km,
                now=now,
                due_at=due,
            )
            queued.append((digest, writes))
        return queued

    # -- flush -----------------------------------------------------------------------
    def notify(self, matches: Iterable[MatchView], *, deadline: datetime | None = None) -> int:
        """Queue every match, then flush the people concerned.

        Queueing errors propagate (the stream record is retried; queueing is idempotent).
        A failed send is left to the ledger and the scheduled flush, which finish it.
        """
        digests: dict[str, None] = {}
        for match in matches:
            digests.update(dict.fromkeys(self._queue(match)))
        return self._flush_many({digest: [] for digest in digests}, deadline)

    def flush_for(self, matches: Iterable[MatchView], *, deadline: datetime | None = None) -> int:
        """Flush the people concerned by ``matches`` (their notices queued with them)."""
        digests: dict[str, None] = {}
        for match in matches:
            for post in (match.need, match.offer):
                contact = self.posts.get_contact(post.id)
                if contact is not None and contact.pseudonym:
                    digests[contact.pseudonym] = None
        return self._flush_many({digest: [] for digest in digests}, deadline)

    def flush(
        self, recipient_digest: str | None = None, *, deadline: datetime | None = None
    ) -> int:
        """Send each due recipient ONE email of their pending notices; return emails sent.

        With a digest: that recipient only (errors propagate). Without: every recipient
        with a ``NOTICE-DUE`` hint up to now, the scheduled step (a failure is logged and
        retried at the next run, the others go on).
        """
        if recipient_digest is not None:
            return self._flush_one(recipient_digest, (), deadline or self._deadline())
        return self._flush_many(self.due_recipients(), deadline)

    def _deadline(self) -> datetime:
        return self.now() + DEFAULT_RUN_TIME

    def _flush_many(
        self, due: Mapping[str, Sequence[str]], deadline: datetime | None = None
    ) -> int:
        sent = 0
        until = deadline or self._deadline()
        for position, (digest, hints) in enumerate(due.items()):
            if not self.ledger.has_time(until):
                # the rest keep their due hints: the next run takes them up, rather than
                # this one claiming their slots and emails without the time to send them
                logger.info("Match notices left to the next run", extra={"n": len(due) - position})
                break
            try:
                sent += self._flush_one(digest, hints, until)
            except Exception:
                logger.exception("Match notice not sent; retried later", extra={"n": len(hints)})
        return sent

    def _flush_one(self, digest: str, hints: Sequence[str], deadline: datetime) -> int:
        now = self.now()
        pending = self.pending(digest)
        if not pending:
            self.notices.forget(digest, (), hints)
            return 0
        ready_at = pending[0].queued_at + self.grouping_delay
        if ready_at > now:
            self.notices.move_due(digest, ready_at, hints, now=self.now())
            return 0
        batch = pending[: self.max_per_email]
        key = email_subject(digest, batch[0])
        known = self.ledger.store.get(key)
        if known is not None:
            # An email of these notices was started: finish it, or its bookkeeping.
            report = self.ledger.resume(key, self._performer, deadline=deadline)
            return self._after(digest, hints, key, report.done, now)
        # emailed less than min_interval ago: read (another match of the hour), or refused
        # by the claim (a concurrent flush took the slot since)
        claim = self.notices.slot_taken(
            digest, now, self.min_interval, key
        ) or self.notices.claim_slot(digest, now, self.min_interval, token=key)
        if isinstance(claim, datetime):
            self.notices.move_due(digest, claim + self.min_interval, hints, now=self.now())
            return 0
        subject = Subject(
            key=key,
            owner=GEOMATCH,
            effects=(Effect("email"),),
            data={"digest": digest, "notices": [notice.sk for notice in batch]},
            listing=Listing.NEVER,
        )
        try:
            report = self.ledger.run(subject, self.perform, deadline=deadline)
        except BaseException:  # not recorded: nothing was sent, the slot goes back
            self.notices.release_slot(digest, claim)
            raise
        return self._after(digest, hints, key, report.done, now)

    def _after(self, digest: str, hints: Sequence[str], key: str, done: int, now: datetime) -> int:
        """The bookkeeping of an email: what it told leaves the pending list; what waits
        gets a due hint (after the hour, or when the ledger tries the email again)."""
        record = self.ledger.store.get(key)
        email = record.entry("email") if record is not None else None
        if (
            email is not None
            and email.state is State.DONE
            and (email.result or "").startswith(f"{MOOT}:")  # an SES id may begin "moot"
        ):
            done = 0  # nothing was worth telling: the slot is not used
            self.notices.release_slot(digest, key)
        if record is not None and email is not None and email.state is State.DONE:
            told = [n for n in self.pending(digest) if n.sk in set(record.data["notices"])]
            # the first last: while it is pending, the next run names this same email
            if not self.notices.forget(digest, told[1:], ()):
                self.notices.forget(digest, told[:1], ())
        # The next look, when something waits; a retry due within the second of the hint
        # being handled is that same hint, kept (moved, not deleted after being written).
        if record is not None and email is not None and email.open:
            # a run that finds the same email still claimed (the other side of its pair)
            # reads the hint the first wrote at the claim's end, rather than writing it again
            self.notices.move_due(digest, record.wake_at() or now, hints, now=self.now())
        elif self.pending(digest):
            self.notices.move_due(digest, now + self.min_interval, hints)
        else:
            self.notices.forget(digest, (), hints)
        if done:
            logger.info("Match notice sent", extra={"subject": key})
        return done

    def _performer(self, record: Record) -> Callable[[Entry, Record], Done]:
        return self.perform

    def perform(self, entry: Entry, record: Record) -> Done:
        """Send the email of ``record``: the notices it lists that are still pending and
        alive (a stale one is dropped without a word)."""
        digest = str(record.data["digest"])
        listed = set(record.data["notices"])
        batch = [notice for notice in self.pending(digest) if notice.sk in listed]
        message, _, stale = self._compose(digest, batch)
        if stale:
            self.notices.forget(digest, stale, ())
        if message is None:
            return Done(f"{MOOT}: nothing left to tell")
        return Done(self.mailer.send(message))

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
