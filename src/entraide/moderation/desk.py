"""Moderation, HTTP side (function ``decision``): a signed link, then one conditional write.

A signed link shows a confirmation page (a GET never changes anything: mail scanners open
links); the form posted from it decides or withdraws the post with one conditional write
on its status and version. An approval is also conditional on the post's activation being
open, checked on the activation item in the same transaction: a closing and an approval
that cross each other never leave a post public in a closed activation. The same
transaction records what an approval makes due (``approval_writes``: that the post must
be matched, a subject of the effects ledger), so that it is due exactly when the post is
approved, whatever becomes of the stream's record of it.

A moderator's link is for one version of a pending post and expires (``LinkTtlHours``).
A poster's withdrawal link works as long as the post is waiting or public, whatever its
version: sent with the "awaiting moderation" email and again with the decision, it lasts
as long as the post does (its signed expiry is not what ends it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from entraide.adapters.table import Check, ConditionFailed, Write, read_settled
from entraide.kernel.errors import ActivationClosed, PostNotFound, UnknownDecision, WrongPostStatus
from entraide.kernel.model import Post, PostStatus
from entraide.moderation.links import LinkBook
from entraide.moderation.signing import POSTER, LinkAction, VerifiedLink

REASON_MAX = 500
#: What a poster may withdraw: a post waiting for moderation, or public.
WITHDRAWABLE = (PostStatus.PENDING, PostStatus.APPROVED)


class DecisionStore(Protocol):
    """What a decision reads and changes (a :class:`~entraide.intake.post_store.PostStore`)."""

    def get_post(self, post_id: str, *, consistent: bool = ...) -> Post | None: ...

    def transition(
        self,
        post: Post,
        to_status: PostStatus,
        *,
        at: datetime,
        by: str,
        reason: str | None = ...,
        checks: Sequence[Check] = ...,
        also: Sequence[Write] = ...,
    ) -> Post: ...


class OpenActivationCheck(Protocol):
    """The condition that an activation is open (an
    :class:`~entraide.activation.activation_store.ActivationStore`)."""

    def open_check(self, activation_id: str, departement: str | None = ...) -> Check: ...


#: The writes an approval makes with the post's change: of the approved post (its new
#: version) at the moment of the decision.
ApprovalWrites = Callable[[str, int, datetime], Sequence[Write]]


def no_writes(post_id: str, version: int, at: datetime) -> Sequence[Write]:
    return ()


class ModerationDesk:
    """The HTTP side: checks a signed link, then decides or withdraws with one write."""

    def __init__(
        self,
        *,
        store: DecisionStore,
        links: LinkBook,
        activations: OpenActivationCheck,
        approval_writes: ApprovalWrites = no_writes,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.links = links
        self.activations = activations
        self.approval_writes = approval_writes
        self.now = now

    def check_link(
        self, post_id: str, action: LinkAction, token: str, *, expected: PostStatus
    ) -> tuple[Post, VerifiedLink]:
        """The post and the verified link, or the DomainError that says why not.

        Only moderation actions (approve, reject): a poster's withdrawal link pasted here is
        refused before anything is read (400). Order matters: a forged link learns nothing
        about the post (403); a link to a post already decided says so, by whom and when
        (409), even once expired (410).
        """
        if action not in (LinkAction.APPROVE, LinkAction.REJECT):
            raise UnknownDecision()
        link = self.links.verify(token, post_id, action)
        post = self._post(post_id)
        if post.status is not expected or post.version != link.version:
            raise WrongPostStatus(post, seen_by_moderator=True)
        link.check_not_expired(self.now())
        return post, link

    def _post(self, post_id: str) -> Post:
        # Eventually consistent (half a unit): "the responses may not reflect the results of
        # a recently completed write operation" (DynamoDB Developer Guide, "DynamoDB read
        # consistency"). A link comes by an email sent well after the post was written; a
        # decision or a withdrawal made a moment ago and missed here fails the transition's
        # own condition on status and version, which then reads the post strongly
        # consistent and answers who decided (WrongPostStatus), as before.
        # gone, or a lagging read: read again strongly consistent, the table says which
        post = read_settled(lambda consistent: self.store.get_post(post_id, consistent=consistent))
        if post is None:
            raise PostNotFound(post_id)
        return post

    def decide(
        self, post_id: str, action: LinkAction, token: str, reason: str | None = None
    ) -> Post:
        post, link = self.check_link(post_id, action, token, expected=PostStatus.PENDING)
        target = PostStatus.APPROVED if action is LinkAction.APPROVE else PostStatus.REJECTED
        kept_reason = (reason or "").strip()[:REASON_MAX] or None
        at = self.now()
        approved = target is PostStatus.APPROVED
        checks = [self.activations.open_check(post.activation_id)] if approved else []
        also = self.approval_writes(post.id, post.version + 1, at) if approved else ()
        try:
            return self.store.transition(
                post,
                target,
                at=at,
                by=link.actor,
                reason=kept_reason if target is PostStatus.REJECTED else None,
                checks=checks,
                also=also,
            )
        except WrongPostStatus as lost:  # another moderator decided meanwhile
            raise WrongPostStatus(lost.post, seen_by_moderator=True) from lost
        except ConditionFailed:  # the activation closed since the post was read
            raise ActivationClosed(post) from None

    def check_withdrawal(self, post_id: str, token: str) -> Post:
        """The post a poster's withdrawal link names, while it is waiting or public."""
        self.links.verify(token, post_id, LinkAction.WITHDRAW)
        post = self._post(post_id)
        if post.status not in WITHDRAWABLE:
            raise WrongPostStatus(post)
        return post

    def withdraw(self, post_id: str, token: str) -> Post:
        post = self.check_withdrawal(post_id, token)
        return self.store.transition(post, PostStatus.WITHDRAWN, at=self.now(), by=POSTER)


def parse_action(value: str | None) -> LinkAction:
    try:
        return LinkAction(value or "")
    except ValueError:
        raise UnknownDecision() from None
