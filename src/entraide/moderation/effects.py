"""Moderation, stream side: what follows a post's arrival and its moderator's decision.

Function ``moderate``: a new pending post is pre-screened (:mod:`.prescreen`) and each
moderator gets an email with their own signed links (:mod:`.links`); the poster is told
the post awaits moderation. When a post leaves ``pending``, an approved post is announced
once on the ``approved-posts`` topic (:mod:`.announce`) and the poster is told the decision.

Each change of a post is a *subject* of the effects ledger (:mod:`entraide.effects.ledger`),
``moderation:<post>:v<version>``, whose effects are, in this order:

============================  ==============  ============================================
effect                        policy          why
============================  ==============  ============================================
``moderation-request:<tag>``  at least once   a moderator reading a post twice loses a
(one per moderator, first)                    minute; one who never gets it leaves a
                                              person unheard (``tag``: a digest of the
                                              moderator's address, never the address)
``awaiting-notice``           at least once   a second "we read your post" email is
                                              harmless, none leaves a person wondering
``approved-announcement``     at least once   the relay recognises a post it announced
                                              (its own ledger): a second message tweets
                                              nothing
``decision-notice``           at least once   as for the awaiting notice
============================  ==============  ============================================

The stream records the subject and does its effects at once; what fails, or what a killed
run left, is finished by the scheduled sweep (:meth:`ModerationEffects.performer_for`). A
post whose change never reached the stream consumer (a batch given up, a failure queue) is
found by :meth:`ModerationEffects.reconcile`, which reads the posts that entered a status in
the last hour: nothing waits on the stream's memory. The sweep's index lists a subject only
once a run leaves an effect open (``Listing.LEFT``): one whose run died before that is
redone by its stream record's retry, or resumed by the reconciliation.

The emails are composed by the web side (``emails`` gives its composers), handed over by
wiring. The HTTP side (function ``decision``) is :mod:`.desk`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from entraide.adapters.table import read_settled
from entraide.effects.model import Effect, Entry, Listing, Perform, Record, Subject
from entraide.kernel.model import Activation, Contact, Post, PostStatus
from entraide.moderation.links import LinkBook
from entraide.moderation.signing import LinkAction
from entraide.observability import logger

if TYPE_CHECKING:
    from entraide.adapters.mail import Sender
    from entraide.effects.ledger import Ledger, Report

NEAR_DUPLICATE_WINDOW = timedelta(days=7)
#: The function whose sweep finishes moderation's effects.
MODERATE = "moderate"
#: How far back the reconciliation looks for changes the stream consumer never saw.
RECONCILE_WINDOW = timedelta(hours=1)
DECIDED = (PostStatus.APPROVED, PostStatus.REJECTED)


class EffectKind(StrEnum):
    MODERATION_REQUEST = "moderation-request"
    AWAITING_NOTICE = "awaiting-notice"
    DECISION_NOTICE = "decision-notice"
    APPROVED_ANNOUNCEMENT = "approved-announcement"


def moderator_tag(address: str) -> str:
    """A moderator's name in the ledger: a digest of the address, never the address."""
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()[:12]


def subject_key(post_id: str, version: int) -> str:
    return f"moderation:{post_id}:v{version}"


def effects_of_change(old: Post | None, new: Post) -> list[EffectKind]:
    """The kinds of effect a change of a post calls for, in the order they are done.

    The moderation request is named once here; :class:`ModerationEffects` makes one per
    moderator, since each carries links signed for that moderator.
    """
    if old is None and new.status is PostStatus.PENDING:
        return [EffectKind.MODERATION_REQUEST, EffectKind.AWAITING_NOTICE]
    if old is not None and old.status is PostStatus.PENDING and new.status in DECIDED:
        if new.status is PostStatus.APPROVED:
            return [EffectKind.APPROVED_ANNOUNCEMENT, EffectKind.DECISION_NOTICE]
        return [EffectKind.DECISION_NOTICE]
    return []


class ModerationStore(Protocol):
    """What the stream side reads of posts (a :class:`~entraide.intake.post_store.PostStore`):
    the sweep reads a post, the reconciliation those that entered a status lately."""

    def get_post(self, post_id: str, *, consistent: bool = ...) -> Post | None: ...

    def get_contact(self, post_id: str, *, consistent: bool = ...) -> Contact | None: ...

    def recent_texts(
        self, email: str, *, since: datetime, exclude_post: str, consistent: bool = ...
    ) -> list[str]: ...

    def entered_since(self, status: PostStatus, since: datetime) -> list[Post]: ...


class ActivationReader(Protocol):
    """The activation of a post (an
    :class:`~entraide.activation.activation_store.ActivationStore`)."""

    def get_activation(
        self, activation_id: str, *, consistent: bool = ...
    ) -> Activation | None: ...


class SubjectReads:
    """What the effects of one subject read, each read once in an invocation: the post (from
    the stream record's image when it is the subject's version), its contact, its activation
    and the pre-screen's flags (the same for every moderator's email).

    Every read is eventually consistent (half the units of a strongly consistent one): "the
    responses may not reflect the results of a recently completed write operation. If you
    repeat your read request after a short time, the response should eventually return the
    more recent item" (DynamoDB Developer Guide, "DynamoDB read consistency"). No decision
    here rests on the last second's write: the stream's image, which the stream side acts
    on, is itself older than any read; a post decided a moment ago at worst brings its
    moderators a request the decision page answers "already decided", as a request sent a
    moment before the decision would; the conditional claims of the ledger, not these
    reads, keep each email from being sent twice. A read that may be lagging never makes an
    effect moot: a post missing or older than the subject's version, or a contact missing,
    is read again strongly consistent before the effect is let go."""

    def __init__(
        self, store: ModerationStore, activations: ActivationReader, image: Post | None
    ) -> None:
        self.store = store
        self.activations = activations
        self.image = image
        self._posts: dict[str, Post | None] = {}
        self._contacts: dict[str, Contact | None] = {}
        self._activations: dict[str, Activation | None] = {}
        self._flags: dict[tuple[str, int], list[Any]] = {}

    def post(self, record: Record) -> Post | None:
        post_id, version = str(record.data["post_id"]), int(record.data["version"])
        image = self.image
        if image is not None and image.id == post_id and image.version == version:
            return image
        if post_id not in self._posts:
            self._posts[post_id] = read_settled(
                lambda consistent: self.store.get_post(post_id, consistent=consistent),
                lagging=lambda post: post is None or post.version < version,
            )
        return self._posts[post_id]

    def contact(self, post_id: str) -> Contact | None:
        if post_id not in self._contacts:  # erased, or a lagging read: read_settled asks again
            self._contacts[post_id] = read_settled(
                lambda consistent: self.store.get_contact(post_id, consistent=consistent)
            )
        return self._contacts[post_id]

    def activation(self, activation_id: str) -> Activation | None:
        if activation_id not in self._activations:
            self._activations[activation_id] = self.activations.get_activation(
                activation_id, consistent=False
            )
        return self._activations[activation_id]

    def flags(self, post: Post) -> list[Any]:
        """What the pre-screen finds in the post (told to each moderator)."""
        from entraide.moderation.prescreen import prescreen

        if (post.id, post.version) not in self._flags:
            contact = self.contact(post.id)
            recent = (
                self.store.recent_texts(
                    contact.email,
                    since=post.created_at - NEAR_DUPLICATE_WINDOW,
                    exclude_post=post.id,
                    consistent=False,
                )
                if contact
                else []
            )
            activation = self.activation(post.activation_id)
            found = prescreen(post, activation=activation, recent_texts=recent)
            self._flags[(post.id, post.version)] = list(found)
        return self._flags[(post.id, post.version)]


class ModerationEmails(Protocol):
    """The emails of moderation, in French (the module :mod:`entraide.web.emails`)."""

    def moderation_request(
        self,
        post: Post,
        *,
        activation: Activation | None,
        flags: Sequence[Any],
        approve_url: str,
        reject_url: str,
        moderators: Sequence[str],
        link_ttl_hours: int = ...,
    ) -> Any: ...

    def awaiting_moderation(self, post: Post, *, to: str, withdraw_url: str) -> Any: ...

    def decision_notice(
        self,
        post: Post,
        *,
        to: str,
        approved: bool,
        reason: str | None,
        withdraw_url: str | None,
        public_url: str | None,
        form_url: str | None = None,
    ) -> Any: ...


class Announcer(Protocol):
    def announce_approved(self, post: Post) -> str: ...


class ModerationEffects:
    """The stream side: the effects of a post's change of status, through the ledger."""

    def __init__(
        self,
        *,
        store: ModerationStore,
        activations: ActivationReader,
        mailer: Sender,
        emails: Callable[[], ModerationEmails],
        announcer: Announcer,
        links: LinkBook,
        link_ttl_hours: int,
    ) -> None:
        self.store = store
        self.activations = activations
        self.mailer = mailer
        self.emails = emails
        self.announcer = announcer
        self.links = links
        self.link_ttl_hours = link_ttl_hours  # said in the moderators' email

    # -- what is due -------------------------------------------------------------------
    def subject_of_change(self, old: Post | None, new: Post) -> Subject | None:
        """The ledger subject a stream record calls for (None: nothing to do)."""
        kinds = effects_of_change(old, new)
        if not kinds:
            return None
        effects: list[Effect] = []
        for kind in kinds:
            if kind is EffectKind.MODERATION_REQUEST:
                tags = dict.fromkeys(moderator_tag(m) for m in self.links.moderators)
                effects += [Effect(f"{kind.value}:{tag}") for tag in tags]
            else:
                effects.append(Effect(kind.value))
        return Subject(
            key=subject_key(new.id, new.version),
            owner=MODERATE,
            effects=tuple(effects),
            data={"post_id": new.id, "version": new.version, "status": new.status.value},
            # Listed for the sweep only when a run leaves an effect open: the run that
            # records it usually does them all, and one that dies first is brought back by
            # the stream (its record retried) and by the reconciliation (stranded). Two index
            # writes saved on each subject, four a post.
            listing=Listing.LEFT,
        )

    def subject_of_post(self, post: Post) -> Subject | None:
        """The subject the post's present status called for when it entered it."""
        if post.status is PostStatus.PENDING and post.version == 1:
            return self.subject_of_change(None, post)
        if post.status in DECIDED and post.decided_at is not None:
            return self.subject_of_change(replace(post, status=PostStatus.PENDING), post)
        return None

    # -- doing it ----------------------------------------------------------------------
    def performer(self, image: Post | None = None) -> Perform:
        """What does the effects of a subject: ``image`` is the post as the stream record
        shows it; without one (the sweep), the post is read from the table, once for all
        the effects of the subject (as its contact and its activation: :class:`SubjectReads`)."""
        reads = SubjectReads(self.store, self.activations, image)

        def perform(entry: Entry, record: Record) -> str:
            return self.perform(entry, record, reads)

        return perform

    def performer_for(self, record: Record) -> Perform | None:
        """The sweep's performer for a subject of this function."""
        return self.performer() if record.key.startswith("moderation:") else None

    def perform(self, entry: Entry, record: Record, reads: SubjectReads) -> str:
        """Carry out one effect; an effect the post has outgrown is ``moot`` (done)."""
        post = reads.post(record)
        if post is None:
            return "moot: the post is gone"
        version = int(record.data["version"])
        kind, _, tag = entry.name.partition(":")
        if kind == EffectKind.APPROVED_ANNOUNCEMENT:
            if post.status is not PostStatus.APPROVED:
                return "moot: no longer approved"
            return self.announcer.announce_approved(post)
        if kind == EffectKind.MODERATION_REQUEST:
            moderator = next((m for m in self.links.moderators if moderator_tag(m) == tag), None)
            if moderator is None:
                return "moot: no longer a moderator"
            if post.status is not PostStatus.PENDING or post.version != version:
                return "moot: already decided"
            return self.mailer.send(self.moderation_request(post, moderator, reads))
        emails = self.emails()
        contact = reads.contact(post.id)
        if contact is None:  # the poster's data was erased: nobody to tell
            return "moot: no contact"
        if kind == EffectKind.AWAITING_NOTICE:
            if post.version != version:
                return "moot: already decided"
            return self.mailer.send(
                emails.awaiting_moderation(
                    post, to=contact.email, withdraw_url=self.links.withdraw_url(post)
                )
            )
        approved = record.data.get("status") == PostStatus.APPROVED.value
        still_approved = approved and post.status is PostStatus.APPROVED
        message = emails.decision_notice(
            post,
            to=contact.email,
            approved=approved,
            reason=post.reason,
            withdraw_url=self.links.withdraw_url(post) if still_approved else None,
            public_url=self.links.public_url(post) if still_approved else None,
            form_url=self.links.form_url,
        )
        return self.mailer.send(message)

    def moderation_request(self, post: Post, moderator: str, reads: SubjectReads) -> Any:
        """The email of one moderator, with links signed for them."""
        return self.emails().moderation_request(
            post,
            activation=reads.activation(post.activation_id),
            flags=reads.flags(post),
            approve_url=self.links.moderation_url(post, LinkAction.APPROVE, moderator),
            reject_url=self.links.moderation_url(post, LinkAction.REJECT, moderator),
            moderators=[moderator],
            link_ttl_hours=self.link_ttl_hours,
        )

    # -- what the stream never brought -------------------------------------------------
    def reconcile(self, ledger: Ledger, *, now: datetime, deadline: datetime) -> Report:
        """The subjects of posts that entered a status in the last hour: recorded and done
        when the ledger does not know them (their stream record never reached this
        function), resumed when stranded (their run died before it could list what it
        left for the sweep, and the stream did not bring them back)."""
        from entraide.effects.ledger import Report, describe

        report = Report()
        since = now - RECONCILE_WINDOW
        for status in (PostStatus.PENDING, *DECIDED):
            for post in self.store.entered_since(status, since):
                subject = self.subject_of_post(post)
                if subject is None:
                    continue
                if not ledger.has_time(deadline):
                    return report
                try:  # one post's trouble never stops the others
                    # read at every run of the hour for every post: half a unit each
                    seen = ledger.store.peek(subject.key)
                    if seen is None:
                        report.add(ledger.run(subject, self.performer(post), deadline=deadline))
                    elif seen.stranded(ledger.clock()):  # as the sweep would, had it been listed
                        report.add(
                            ledger.resume(subject.key, self.performer_for, deadline=deadline)
                        )
                except Exception as error:
                    logger.warning(
                        "Reconciliation of a post failed; tried again next time",
                        extra={"post_id": post.id, "error": describe(error)},
                    )
                    report.failed += 1
        return report
