"""Moderation, stream side: what follows a post's arrival and its moderator's decision.

Function ``moderate``: a new pending post is pre-screened (:mod:`.prescreen`) and each
moderator gets an email with their own signed links (:mod:`.links`); the poster is told
the post awaits moderation. When a post leaves ``pending``, the poster is told the
decision, and an approved post is announced once on the ``approved-posts`` topic
(:mod:`.announce`).

Every side effect is an :class:`Effect`, a small value that names it exactly (post,
version, recipient). The handler runs each one through powertools idempotency keyed on
that value, so that a replayed stream batch repeats none of them. The emails are
composed by the web side (``emails`` gives its composers), handed over by wiring.

The HTTP side (function ``decision``) is :mod:`.desk`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from entraide.kernel.model import Activation, Contact, Post, PostStatus
from entraide.moderation.links import LinkBook
from entraide.moderation.signing import LinkAction

if TYPE_CHECKING:
    from entraide.adapters.mail import Sender

NEAR_DUPLICATE_WINDOW = timedelta(days=7)


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
    """What the stream side reads of posts (a :class:`~entraide.intake.post_store.PostStore`)."""

    def get_contact(self, post_id: str) -> Contact | None: ...

    def recent_texts(self, email: str, *, since: datetime, exclude_post: str) -> list[str]: ...


class ActivationReader(Protocol):
    """The activation of a post (an
    :class:`~entraide.activation.activation_store.ActivationStore`)."""

    def get_activation(self, activation_id: str) -> Activation | None: ...


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


class ModerationEffects:
    """The stream side: carries out the effects of a post's change of status."""

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
        emails = self.emails()  # the composers: imported on the first email (cold start)
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
            message = emails.awaiting_moderation(
                post, to=contact.email, withdraw_url=self.links.withdraw_url(post)
            )
        else:
            approved = post.status is PostStatus.APPROVED
            message = emails.decision_notice(
                post,
                to=contact.email,
                approved=approved,
                reason=post.reason,
                withdraw_url=self.links.withdraw_url(post) if approved else None,
                public_url=self.links.public_url(post) if approved else None,
                form_url=self.links.form_url,
            )
        return {"message_id": self.mailer.send(message)}

    def flags(self, post: Post) -> list[Any]:
        from entraide.moderation.prescreen import prescreen

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
