"""What handling one relay message can come to, and what the SQS handler does with each.

- :class:`Done`, :class:`Skipped`: the message is consumed;
- :class:`Deferred`: send the same body again with
  ``DelaySeconds = defer_delay_seconds(until, now)``, then consume the original;
- :class:`TemporaryFailure` (X down), or AWS refusing a call: send the message again after
  :func:`retry_delay` (growing with the message's ``relay_attempt``) and consume the
  original: an outage burns no receive, and never reaches the DLQ;
- :class:`PermanentFailure`: send it to the DLQ at once (and consume it), log, metric;
- any other exception: a batch-item failure (SQS redelivers it after the visibility
  timeout, longer than a claim's lease; after ``maxReceiveCount`` it lands in the DLQ).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from entraide.publishing.relay_store import TweetKind

#: SQS accepts at most 15 minutes of ``DelaySeconds``.
MAX_DELAY_SECONDS = 900
#: How many times a message came back after a temporary failure (a key of its body).
ATTEMPT = "relay_attempt"


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


def retry_delay(
    attempt: int, *, base: float, jitter: float, cap: float = MAX_DELAY_SECONDS
) -> timedelta:
    """The wait before a message's next try after ``attempt`` temporary failures: doubling
    from ``base`` seconds up to ``cap`` (SQS's 15 minutes), spread by ``jitter`` (0 to 1:
    half to all of it), so that messages held by an outage do not all come back at once."""
    seconds = min(cap, MAX_DELAY_SECONDS, base * (1 << max(0, min(attempt, 20))))
    return timedelta(seconds=max(1.0, seconds * (0.5 + jitter / 2)))


def defer_delay_seconds(until: datetime, now: datetime) -> int:
    """``DelaySeconds`` for re-sending a deferred message: the wait, 1 s to 15 min.

    Longer waits take several hops: each return finds the budget still spent and defers again.
    """
    seconds = math.ceil((until - now).total_seconds())
    return max(1, min(MAX_DELAY_SECONDS, seconds))
