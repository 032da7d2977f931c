"""What follows an activation's opening or closing, whoever caused it (operator or feed).

The table's stream brings every change of an activation item; an opening or a closing
is announced once on the activations topic (the relay tweets it, operators get it by
email), and a closing expires the posts still open under that activation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from entraide.announce import ActivationEvent
from entraide.kernel.errors import WrongPostStatus
from entraide.kernel.model import Activation, Post, PostStatus

# Who "decides" an expiry, as recorded on the post.
EXPIRED_BY_CLOSING = "activation-closed"


def events_of_change(old: Activation | None, new: Activation) -> list[ActivationEvent]:
    if old is None and new.is_open:
        return [ActivationEvent.OPENED]
    if old is not None and old.is_open and not new.is_open:
        return [ActivationEvent.CLOSED]
    return []


class OpenPosts(Protocol):
    def open_posts_of(self, activation_id: str) -> list[Post]: ...

    def transition(
        self, post: Post, to_status: PostStatus, *, at: datetime, by: str, reason: str | None = ...
    ) -> Post: ...


def expire_open_posts(
    store: OpenPosts, activation: Activation, *, now: Callable[[], datetime]
) -> list[Post]:
    """Expire every pending or approved post of a closed activation; safe to repeat.

    A post that changed meanwhile (approved, withdrawn) is left as it became.
    """
    expired = []
    for post in store.open_posts_of(activation.id):
        try:
            expired.append(
                store.transition(post, PostStatus.EXPIRED, at=now(), by=EXPIRED_BY_CLOSING)
            )
        except WrongPostStatus:
            continue
    return expired
