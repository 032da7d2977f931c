"""What handling one relay message can come to, and what the SQS handler does with each.

- :class:`Done`, :class:`Skipped`: the message is consumed;
- :class:`Deferred`: send the same body again with
  ``DelaySeconds = defer_delay_seconds(until, now)``, then consume the original;
- :class:`TemporaryFailure`: report the message in ``batchItemFailures`` (SQS redelivers
  it after the visibility timeout; after ``maxReceiveCount`` it lands in the DLQ);
- :class:`PermanentFailure`: send it to the DLQ at once (and consume it), log, metric;
- any other exception: a batch-item failure too (never retried sooner than the claim
  timeout can tell a crash from a slow call).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from entraide.publishing.relay_store import TweetKind

#: SQS accepts at most 15 minutes of ``DelaySeconds``.
MAX_DELAY_SECONDS = 900


@dataclass(frozen=True, slots=True)
class Done:
    """A tweet covers the post(s): ``tweet_id`` is None when X said "duplicate"."""

    tweet_id: str | None
    covered: tuple[str, ...]
    kind: TweetKind = "post"


@dataclass(frozen=True, slots=True)
class Skipped:
    """Nothing to tweet (already announced, no longer approved, in doubt…)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Deferred:
    """Come back at ``until``: the handler re-sends the message with a delay."""

    until: datetime
    reason: str = ""


RelayOutcome = Done | Skipped | Deferred


class RelayFailure(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PermanentFailure(RelayFailure):
    """X refused for good (401, 403 other than duplicate, 400…), or the message is unusable:
    send the message to the dead-letter queue."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TemporaryFailure(RelayFailure):
    """X failed (5xx, timeout) or a claim is held elsewhere: report a batch-item failure,
    SQS redelivers after the queue's visibility timeout."""


def defer_delay_seconds(until: datetime, now: datetime) -> int:
    """``DelaySeconds`` for re-sending a deferred message: the wait, 1 s to 15 min.

    Longer waits take several hops: each return finds the budget still spent and defers again.
    """
    seconds = math.ceil((until - now).total_seconds())
    return max(1, min(MAX_DELAY_SECONDS, seconds))
