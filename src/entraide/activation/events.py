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

A closing expires the posts still open under that activation page by page, as many as the
invocation's time allows; what is left is finished by the next ``activate`` run (the
closing left a job in the table, see ``activation_store``). An expiry meets posts as the
index shows them: a post approved meanwhile has moved to a new version, and its expiry is
tried again on the post as it is now (a post left approved in a closed activation would
stay public, tweeted and matched).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from entraide.activation.activation_store import ExpiryJob
from entraide.adapters.table import Item
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
#: What an expiry leaves before the invocation's deadline (the rest: the next activate run).
EXPIRY_MARGIN_SECONDS = 10.0


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


class OpenPostPages(Protocol):
    def open_posts_page(
        self, activation_id: str, status: PostStatus, *, limit: int, start: Item | None = None
    ) -> tuple[list[Post], Item | None]: ...

    def transition(
        self, post: Post, to_status: PostStatus, *, at: datetime, by: str, reason: str | None = ...
    ) -> Post: ...


class ExpiryJobs(Protocol):
    def pending_expiries(self) -> list[ExpiryJob]: ...

    def save_expiry(self, job: ExpiryJob) -> None: ...

    def finish_expiry(self, job: ExpiryJob) -> None: ...


#: The statuses a closing expires, paged in this order.
OPEN_STATUSES = (PostStatus.PENDING, PostStatus.APPROVED)
# A page reads this many posts of the status index; its updates go out this many at a time.
PAGE_SIZE = 200
PARALLEL_UPDATES = 16


def expire_posts(
    posts: OpenPostPages,
    jobs: ExpiryJobs,
    job: ExpiryJob,
    *,
    now: Callable[[], datetime],
    time_left: Callable[[], float],
    page_size: int = PAGE_SIZE,
) -> ExpiryJob:
    """Expire the pending and approved posts of a closed activation, page by page, until
    none is left (the job is deleted) or ``time_left()`` (seconds) falls under what a page
    takes (where it stands is saved: the next call goes on from there). Safe to repeat and
    to run twice at once: each expiry is a conditional write, and a post that changed
    meanwhile (approved, withdrawn, already expired) is left as it became.
    """
    from concurrent.futures import ThreadPoolExecutor

    statuses = [s.value for s in OPEN_STATUSES]
    status = job.status or statuses[0]
    cursor, expired = job.cursor, job.expired
    page_seconds: float = 0.0
    with ThreadPoolExecutor(PARALLEL_UPDATES, thread_name_prefix="expiry") as pool:
        while True:
            if time_left() < max(2.0, 2 * page_seconds):
                job = ExpiryJob(job.activation_id, job.closed_at, status, cursor, expired)
                jobs.save_expiry(job)
                return job
            started = time.monotonic()
            page, cursor = posts.open_posts_page(
                job.activation_id, PostStatus(status), limit=page_size, start=cursor
            )
            expired += sum(pool.map(lambda post: _expire(posts, post, now()), page))
            page_seconds = time.monotonic() - started
            if cursor is None:
                following = statuses.index(status) + 1
                if following == len(statuses):
                    done = ExpiryJob(job.activation_id, job.closed_at, None, None, expired)
                    jobs.finish_expiry(done)
                    return done
                status = statuses[following]


def _expire(posts: OpenPostPages, post: Post, at: datetime) -> int:
    """Expire one post; one that moved since the index showed it (approved meanwhile) is
    expired as it is now, one that ended meanwhile (withdrawn, expired) is left so."""
    current = post
    for _ in range(MAX_MOVES):
        try:
            posts.transition(current, PostStatus.EXPIRED, at=at, by=EXPIRED_BY_CLOSING)
            return 1
        except WrongPostStatus as moved:
            current = moved.post
            if current.status not in OPEN_STATUSES:
                return 0
        except PostNotFound:
            return 0
    return 0


def finish_expiries(
    posts: OpenPostPages,
    jobs: ExpiryJobs,
    *,
    now: Callable[[], datetime],
    time_left: Callable[[], float],
    page_size: int = PAGE_SIZE,
) -> list[ExpiryJob]:
    """Go on with every closed activation whose posts are not all expired yet."""
    return [
        expire_posts(posts, jobs, job, now=now, time_left=time_left, page_size=page_size)
        for job in jobs.pending_expiries()
        if time_left() > 2.0
    ]


class Announcer(Protocol):
    def announce(self, activation: Activation, event: ActivationEvent) -> str: ...


class ActivationReader(Protocol):
    def get_activation(self, activation_id: str) -> Activation | None: ...


class ActivationEffects:
    """What follows an opening or a closing, through the effects ledger. ``deadline`` is
    the running invocation's (set by the handler): an expiry stops before it."""

    def __init__(
        self,
        *,
        topic: Announcer,
        posts: OpenPostPages,
        activations: ActivationReader,
        jobs: ExpiryJobs,
        clock: Callable[[], datetime],
    ) -> None:
        self.topic = topic
        self.posts = posts
        self.activations = activations
        self.jobs = jobs
        self.clock = clock
        self.deadline: datetime | None = None

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

    def time_left(self) -> float:
        if self.deadline is None:
            return 60.0
        return (self.deadline - self.clock()).total_seconds() - EXPIRY_MARGIN_SECONDS

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
        closed_at = activation.closed_at or self.clock()
        job = next(
            (j for j in self.jobs.pending_expiries() if j.activation_id == activation_id),
            ExpiryJob(activation_id, closed_at, None, None, 0),
        )
        done = expire_posts(self.posts, self.jobs, job, now=self.clock, time_left=self.time_left)
        left = "" if done.status is None else ", the rest left to the activate run"
        return f"expired {done.expired - job.expired}{left}"
