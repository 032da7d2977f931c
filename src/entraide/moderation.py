"""Moderation: what happens around a person's decision on a post.

Stream side (function ``moderate``): a new pending post is pre-screened and each
moderator gets an email with their own signed links; the poster is told the post
awaits moderation. When a post leaves ``pending``, the poster is told the decision, and
an approved post is announced once on the ``approved-posts`` topic.

Every side effect is an :class:`Effect`, a small value that names it exactly (post,
version, recipient). The handler runs each one through powertools idempotency keyed on
that value, so that a replayed stream batch repeats none of them.

HTTP side (function ``decision``): a signed link shows a confirmation page (a GET never
changes anything: mail scanners open links); the form posted from it changes the post
with one conditional write.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlencode

from entraide.kernel.errors import PostNotFound, UnknownDecision, WrongPostStatus
from entraide.kernel.model import Activation, Contact, Post, PostStatus
from entraide.signing import POSTER, LinkAction, LinkSigner, VerifiedLink

NEAR_DUPLICATE_WINDOW = timedelta(days=7)
REASON_MAX = 500


class EffectKind(StrEnum):
    MODERATION_REQUEST = "moderation-request"
    AWAITING_NOTICE = "awaiting-notice"
    DECISION_NOTICE = "decision-notice"
    APPROVED_ANNOUNCEMENT = "approved-announcement"


@dataclass(frozen=True, slots=True)
class Effect:
    """One side effect, named by everything that makes it unique."""

    kind: EffectKind
    post_id: str
    version: int
    moderator: str = ""  # the recipient of a moderation request

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "kind": self.kind.value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Effect:
        return cls(
            EffectKind(data["kind"]), data["post_id"], int(data["version"]), data["moderator"]
        )


class ModerationStore(Protocol):
    """What moderation reads and changes of posts (a
    :class:`~entraide.intake.post_store.PostStore`)."""

    def get_post(self, post_id: str) -> Post | None: ...

    def get_contact(self, post_id: str) -> Contact | None: ...

    def recent_texts(self, email: str, *, since: datetime, exclude_post: str) -> list[str]: ...

    def transition(
        self, post: Post, to_status: PostStatus, *, at: datetime, by: str, reason: str | None = ...
    ) -> Post: ...


class ActivationReader(Protocol):
    """The activation of a post (:class:`~entraide.activation.activation_store.ActivationStore`)."""

    def get_activation(self, activation_id: str) -> Activation | None: ...


class Mailer(Protocol):
    def send(self, message: Any) -> str: ...


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

    def awaiting_moderation(self, post: Post, *, to: str) -> Any: ...

    def decision_notice(
        self,
        post: Post,
        *,
        to: str,
        approved: bool,
        reason: str | None,
        withdraw_url: str | None,
        public_url: str | None,
    ) -> Any: ...


class Announcer(Protocol):
    def announce_approved(self, post: Post) -> str: ...


def effects_of_change(old: Post | None, new: Post) -> list[Effect]:
    """The side effects a stream record calls for, given the post before and after.

    A moderation request is named here once; :class:`ModerationEffects` makes one per
    moderator, since each carries links signed for that moderator.
    """
    if old is None and new.status is PostStatus.PENDING:
        return [
            Effect(EffectKind.AWAITING_NOTICE, new.id, new.version),
            Effect(EffectKind.MODERATION_REQUEST, new.id, new.version),
        ]
    decided = (PostStatus.APPROVED, PostStatus.REJECTED)
    if old is not None and old.status is PostStatus.PENDING and new.status in decided:
        effects = [Effect(EffectKind.DECISION_NOTICE, new.id, new.version)]
        if new.status is PostStatus.APPROVED:
            effects.insert(0, Effect(EffectKind.APPROVED_ANNOUNCEMENT, new.id, new.version))
        return effects
    return []


class LinkBook:
    """Makes and checks the signed links of the moderation and withdrawal emails."""

    def __init__(
        self,
        *,
        signer: Callable[[], LinkSigner],
        moderators: Sequence[str],
        public_base_url: str = "",
    ) -> None:
        # The key is read on first use (Secrets Manager), not when the module loads.
        self._signer = signer
        self.moderators = tuple(moderators)
        self.base_url = public_base_url.rstrip("/") + "/"

    def moderation_url(self, post: Post, action: LinkAction, moderator: str) -> str:
        token = self._signer().sign(post.id, action, post.version, moderator)
        query = urlencode({"decision": action.value, "token": token})
        return f"{self.base_url}moderation/{post.id}?{query}"

    def withdraw_url(self, post: Post) -> str:
        token = self._signer().sign(post.id, LinkAction.WITHDRAW, post.version, POSTER)
        return f"{self.base_url}posts/{post.id}/withdraw?{urlencode({'token': token})}"

    def verify(self, token: str, post_id: str, action: LinkAction) -> VerifiedLink:
        actors = [POSTER] if action is LinkAction.WITHDRAW else self.moderators
        return self._signer().verify(token, post_id=post_id, action=action, actors=actors)


class ModerationEffects:
    """The stream side: carries out the effects of a post's change of status."""

    def __init__(
        self,
        *,
        store: ModerationStore,
        activations: ActivationReader,
        mailer: Mailer,
        emails: ModerationEmails,
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

    def effects_of_change(self, old: Post | None, new: Post) -> list[Effect]:
        """Every effect a stream record calls for; moderation requests, one per moderator."""
        effects: list[Effect] = []
        for effect in effects_of_change(old, new):
            if effect.kind is EffectKind.MODERATION_REQUEST:
                effects += [
                    Effect(effect.kind, effect.post_id, effect.version, moderator)
                    for moderator in self.links.moderators
                ]
            else:
                effects.append(effect)
        return effects

    def perform(self, effect: Effect, post: Post) -> dict[str, str]:
        """Carry out one effect for ``post`` (the image of the stream record)."""
        emails = self.emails
        if effect.kind is EffectKind.APPROVED_ANNOUNCEMENT:
            return {"message_id": self.announcer.announce_approved(post)}
        if effect.kind is EffectKind.MODERATION_REQUEST:
            message = emails.moderation_request(
                post,
                activation=self.activations.get_activation(post.activation_id),
                flags=self.flags(post),
                approve_url=self.links.moderation_url(post, LinkAction.APPROVE, effect.moderator),
                reject_url=self.links.moderation_url(post, LinkAction.REJECT, effect.moderator),
                moderators=[effect.moderator],
                link_ttl_hours=self.link_ttl_hours,
            )
            return {"message_id": self.mailer.send(message)}
        contact = self.store.get_contact(post.id)
        if contact is None:  # the poster's data was erased: nobody to tell
            return {"skipped": "no contact"}
        if effect.kind is EffectKind.AWAITING_NOTICE:
            message = emails.awaiting_moderation(post, to=contact.email)
        else:
            approved = post.status is PostStatus.APPROVED
            message = emails.decision_notice(
                post,
                to=contact.email,
                approved=approved,
                reason=post.reason,
                withdraw_url=self.links.withdraw_url(post) if approved else None,
                public_url=None,
            )
        return {"message_id": self.mailer.send(message)}

    def flags(self, post: Post) -> list[Any]:
        from entraide.prescreen import prescreen

        contact = self.store.get_contact(post.id)
        recent = (
            self.store.recent_texts(
                contact.email, since=post.created_at - NEAR_DUPLICATE_WINDOW, exclude_post=post.id
            )
            if contact
            else []
        )
        activation = self.activations.get_activation(post.activation_id)
        return list(prescreen(post, activation=activation, recent_texts=recent))


class ModerationDesk:
    """The HTTP side: checks a signed link, then decides or withdraws with one write."""

    def __init__(
        self,
        *,
        store: ModerationStore,
        links: LinkBook,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.links = links
        self.now = now

    def check_link(
        self, post_id: str, action: LinkAction, token: str, *, expected: PostStatus
    ) -> tuple[Post, VerifiedLink]:
        """The post and the verified link, or the DomainError that says why not.

        Order matters: a forged link learns nothing about the post (403); a link to a
        post already decided says so, by whom and when (409), even once expired (410).
        """
        link = self.links.verify(token, post_id, action)
        post = self.store.get_post(post_id)
        if post is None:
            raise PostNotFound(post_id)
        if post.status is not expected or post.version != link.version:
            raise WrongPostStatus(post)
        link.check_not_expired(self.now())
        return post, link

    def decide(
        self, post_id: str, action: LinkAction, token: str, reason: str | None = None
    ) -> Post:
        if action not in (LinkAction.APPROVE, LinkAction.REJECT):
            raise UnknownDecision()
        post, link = self.check_link(post_id, action, token, expected=PostStatus.PENDING)
        target = PostStatus.APPROVED if action is LinkAction.APPROVE else PostStatus.REJECTED
        kept_reason = (reason or "").strip()[:REASON_MAX] or None
        return self.store.transition(
            post,
            target,
            at=self.now(),
            by=link.actor,
            reason=kept_reason if target is PostStatus.REJECTED else None,
        )

    def withdraw(self, post_id: str, token: str) -> Post:
        post, _ = self.check_link(post_id, LinkAction.WITHDRAW, token, expected=PostStatus.APPROVED)
        return self.store.transition(post, PostStatus.WITHDRAWN, at=self.now(), by=POSTER)


def parse_action(value: str | None) -> LinkAction:
    try:
        return LinkAction(value or "")
    except ValueError:
        raise UnknownDecision() from None
