"""What follows an activation's opening or closing, whoever caused it (operator or feed).

The table's stream brings every change of an activation item; an opening or a closing
is announced once on the activations topic (the relay tweets it, operators get it by
email), and a closing expires the posts still open under that activation: page by page,
as many as the invocation's time allows; what is left is finished by the next
``activate`` run (the closing left a job in the table, see ``activation_store``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from entraide.activation.activation_store import ExpiryJob
from entraide.adapters.table import Item
from entraide.adapters.topics import Topic
from entraide.kernel.errors import PostNotFound, WrongPostStatus
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
    try:
        posts.transition(post, PostStatus.EXPIRED, at=at, by=EXPIRED_BY_CLOSING)
    except (WrongPostStatus, PostNotFound):
        return 0
    return 1


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
