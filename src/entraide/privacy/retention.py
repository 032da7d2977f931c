"""How long the platform keeps what it knows of a person, and the sweep that ends waiting posts.

Personal data — the contact item (email, phone), the poster's history (their texts, under
a pseudonym), match notices (under the same pseudonym) — lives as long as the post needs
it, then a set time more, and the table deletes it by itself (DynamoDB's TTL on
``expires_at``):

- while a post waits for moderation: until ``pending_max`` after its creation, plus
  ``after_end`` (the TTL set when the post is created: the data goes even if nothing else
  ever runs);
- while a post is public (approved): no expiry, the person may be put in touch any day;
- once the post ends (refused, withdrawn, expired): ``after_end`` after that moment.

A post still waiting after ``pending_max`` ends: :func:`expire_waiting_posts` (a daily
schedule) expires it, so that a moderator can no longer publish a post whose author's
details are about to go. What ends a post also masks contact details typed into its
public text (see :mod:`entraide.intake.post_store`): the post item, kept for the monthly
figures, then holds no address or number.

The numbers are template parameters (``RetentionDays``, ``PendingPostMaxDays``) and the
privacy page states them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from entraide.kernel.model import Post, PostStatus

DEFAULT_AFTER_END = timedelta(days=30)
DEFAULT_PENDING_MAX = timedelta(days=14)
#: Who "decides" the end of a post that waited too long, as recorded on the post.
EXPIRED_BY_RETENTION = "retention"


@dataclass(frozen=True, slots=True)
class Retention:
    """The lifetimes of personal data; both are template parameters."""

    after_end: timedelta = DEFAULT_AFTER_END
    pending_max: timedelta = DEFAULT_PENDING_MAX

    def __post_init__(self) -> None:
        if self.after_end < timedelta(days=1) or self.pending_max < timedelta(days=1):
            raise ValueError("Retention periods are one day at least.")

    @classmethod
    def of_days(cls, after_end: int, pending_max: int) -> Retention:
        return cls(timedelta(days=after_end), timedelta(days=pending_max))

    def waiting_deadline(self, created_at: datetime) -> datetime:
        """When a post still waiting for moderation ends."""
        return created_at + self.pending_max

    def at_creation(self, created_at: datetime) -> datetime:
        """When a new post's personal data expires if nothing else ever happens to it."""
        return self.waiting_deadline(created_at) + self.after_end

    def after_change(self, to_status: PostStatus, at: datetime) -> datetime | None:
        """When personal data expires once a post moves to ``to_status`` at ``at``:
        ``None`` while it is public (kept), ``at + after_end`` once it ended."""
        if to_status is PostStatus.APPROVED:
            return None
        if to_status is PostStatus.PENDING:
            raise ValueError("A post never goes back to waiting.")
        return at + self.after_end


class WaitingPosts(Protocol):
    """What the sweep reads and changes (a :class:`~entraide.intake.post_store.PostStore`)."""

    def waiting_since_before(self, moment: datetime) -> Sequence[Post]: ...

    def end_each(
        self, posts: Sequence[Post], to_status: PostStatus, *, at: datetime, by: str
    ) -> list[Post]: ...


def expire_waiting_posts(
    store: WaitingPosts, retention: Retention, *, now: Callable[[], datetime]
) -> list[Post]:
    """Expire every post waiting for moderation longer than ``pending_max``; safe to repeat.

    A post decided meanwhile is left as it became.
    """
    moment = now()
    waiting = store.waiting_since_before(moment - retention.pending_max)
    return store.end_each(waiting, PostStatus.EXPIRED, at=moment, by=EXPIRED_BY_RETENTION)
