"""What follows an activation's opening or closing, whoever caused it (operator or feed).

The table's stream brings every change of an activation item; an opening or a closing
is announced once on the activations topic (the relay tweets it, operators get it by
email), and a closing expires the posts still open under that activation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from entraide.adapters.topics import Topic
from entraide.kernel.model import Activation, Post, PostStatus


class ActivationEvent(StrEnum):
    OPENED = "activation-opened"
    CLOSED = "activation-closed"


def activation_message(activation: Activation, event: ActivationEvent) -> dict[str, Any]:
    return {
        "event": event.value,
        "activation_id": activation.id,
        "hazard": activation.hazard.value,
        "departements": list(activation.departements),
        "level": activation.level.value,
        "hashtag": activation.hashtag,
        "origin": activation.origin,
        "opened_at": activation.opened_at.isoformat(),
        "closed_at": activation.closed_at.isoformat() if activation.closed_at else None,
    }


def activation_attributes(activation: Activation, event: ActivationEvent) -> dict[str, str]:
    return {"event": event.value, "hazard": activation.hazard.value, "activation": activation.id}


class ActivationTopic(Topic):
    def announce(self, activation: Activation, event: ActivationEvent) -> str:
        return self.publish(
            activation_message(activation, event), activation_attributes(activation, event)
        )


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

    def end_each(
        self, posts: Sequence[Post], to_status: PostStatus, *, at: datetime, by: str
    ) -> list[Post]: ...


def expire_open_posts(
    store: OpenPosts, activation: Activation, *, now: Callable[[], datetime]
) -> list[Post]:
    """Expire every pending or approved post of a closed activation; safe to repeat.

    A post that changed meanwhile (approved, withdrawn) is left as it became.
    """
    open_posts = store.open_posts_of(activation.id)
    return store.end_each(open_posts, PostStatus.EXPIRED, at=now(), by=EXPIRED_BY_CLOSING)
