"""What follows an activation's opening or closing, whoever caused it (operator or feed).

The table's stream brings every change of an activation item. Each opening or closing is a
subject of the effects ledger (``activation:<id>:opened|closed``, owner
``activation_events``) with these effects:

=======================  =============  ==================================================
effect                   policy         why
=======================  =============  ==================================================
``announce``             at least once  the relay recognises an announcement it tweeted
                                        (its ledger); the operators' email may come twice
                                        after a lost answer, never not at all
``expire-posts``         at least once  expiring is a conditional write per post: doing it
                                        again changes nothing
``expire-late-posts``    at least once  the same, :data:`SETTLE_DELAY` later: a post
                                        created or approved just before the closing may
                                        not be in the status index yet when the first pass
                                        reads it (an index lags behind its table)
=======================  =============  ==================================================

An expiry meets posts the index shows as they were: a post approved meanwhile has moved to
a new version, and its expiry is tried again on the post as it is now (a post left
approved in a closed activation would stay public, tweeted and matched).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from entraide.adapters.topics import Topic
from entraide.effects.model import Effect, Entry, Perform, Record, Subject
from entraide.kernel.errors import PostNotFound, WrongPostStatus
from entraide.kernel.model import Activation, Post, PostStatus

#: The function whose sweep finishes the effects of openings and closings.
ACTIVATION_EVENTS = "activation_events"
#: How long after a closing its posts are looked for again: a global secondary index is
#: "eventually consistent ... changes to the table data are propagated to the global
#: secondary indexes within a fraction of a second, under normal conditions" (DynamoDB
#: developer guide, "Read consistency for global secondary indexes"); minutes cover the
#: abnormal ones.
SETTLE_DELAY = timedelta(minutes=5)
#: A post can move a few times while it is expired (approved, then withdrawn...).
MAX_MOVES = 5
OPEN_STATUSES = (PostStatus.PENDING, PostStatus.APPROVED)


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

    def transition(
        self, post: Post, to_status: PostStatus, *, at: datetime, by: str, reason: str | None = ...
    ) -> Post: ...


def expire_open_posts(
    store: OpenPosts, activation: Activation, *, now: Callable[[], datetime]
) -> list[Post]:
    """Expire every pending or approved post of a closed activation; safe to repeat.

    A post that moved since the index showed it (approved meanwhile) is expired as it is
    now; one that ended meanwhile (withdrawn, expired) is left as it became.
    """
    expired = []
    for post in store.open_posts_of(activation.id):
        current = post
        for _ in range(MAX_MOVES):
            try:
                expired.append(
                    store.transition(current, PostStatus.EXPIRED, at=now(), by=EXPIRED_BY_CLOSING)
                )
                break
            except WrongPostStatus as moved:
                current = moved.post
                if current.status not in OPEN_STATUSES:
                    break
            except PostNotFound:
                break
    return expired


class ActivationReader(Protocol):
    def get_activation(self, activation_id: str) -> Activation | None: ...


class ActivationEffects:
    """What follows an opening or a closing, through the effects ledger."""

    def __init__(
        self,
        *,
        topic: ActivationTopic,
        posts: OpenPosts,
        activations: ActivationReader,
        clock: Callable[[], datetime],
    ) -> None:
        self.topic = topic
        self.posts = posts
        self.activations = activations
        self.clock = clock

    def subject_of_change(self, old: Activation | None, new: Activation) -> Subject | None:
        events = events_of_change(old, new)
        if not events:
            return None
        [event] = events
        effects = [Effect("announce")]
        if event is ActivationEvent.CLOSED:
            effects += [Effect("expire-posts"), Effect("expire-late-posts", delay=SETTLE_DELAY)]
        side = "opened" if event is ActivationEvent.OPENED else "closed"
        return Subject(
            key=f"activation:{new.id}:{side}",
            owner=ACTIVATION_EVENTS,
            effects=tuple(effects),
            data={"activation_id": new.id, "event": event.value},
        )

    def performer(self, image: Activation | None = None) -> Perform:
        def perform(entry: Entry, record: Record) -> str:
            return self.perform(entry, record, image)

        return perform

    def performer_for(self, record: Record) -> Perform | None:
        return self.performer() if record.key.startswith("activation:") else None

    def perform(self, entry: Entry, record: Record, image: Activation | None) -> str:
        activation_id = str(record.data["activation_id"])
        activation = (
            image
            if image is not None and image.id == activation_id
            else self.activations.get_activation(activation_id)
        )
        if activation is None:
            return "moot: the activation is gone"
        if entry.name == "announce":
            return self.topic.announce(activation, ActivationEvent(record.data["event"]))
        expired = expire_open_posts(self.posts, activation, now=self.clock)
        return f"expired {len(expired)}"
