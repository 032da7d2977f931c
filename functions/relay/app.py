"""Relay queue → X, Bluesky, Mastodon: approved posts and activation announcements, once
each on every enabled channel, each within its budget; and the messages of posts that
ended, deleted from every channel.

Messages come from the approved-posts and activation-events topics (raw delivery), and
from the retention function for posts that left the public (``post-retracted``: one
:class:`~entraide.publishing.retraction.Retractor` over every channel). Each
enabled channel handles the message on its own (:mod:`entraide.publishing.channels`). A
channel's deferral (budget spent, a 429, the network down, too little time left) re-sends
the message *for that channel only* (``"channels": [name]``), with a delay, and the
original is consumed: an outage of one network, however long, burns no receive, sends
nothing to the dead-letter queue and holds back no other channel. Only a network's
permanent refusal goes there at once, for that channel (an operator redrives it:
``entraide dlq redrive relay``); a fault in the code fails the record, whose next receive
finds the channels already done skipping it, and goes to the dead-letter queue after the
queue's five receives.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.adapters.aws import again
from entraide.adapters.queue import Queue
from entraide.adapters.table import ReadsRetried
from entraide.effects.ledger import describe
from entraide.observability import batch_processor, count, logger, metrics_when_any, redacted_errors
from entraide.publishing.channels import FOR_CHANNELS, ChannelResult, X
from entraide.publishing.relay_outcomes import (
    ATTEMPT,
    Deferred,
    PermanentFailure,
    TemporaryFailure,
    defer_delay_seconds,
    retry_delay,
)
from entraide.publishing.retraction import RETRACTED_EVENT
from entraide.settings.publishing import RelaySettings
from entraide.wiring_channels import relay_channels, retractor

settings = RelaySettings.from_environ(os.environ)
#: The relay's reads (the post, its publication, the budget) made again on an error, a
#: little later: a failed read would otherwise defer the whole message.
table = ReadsRetried(settings.table_name)
channels = relay_channels(settings, table)
retractions = retractor(table, channels)
#: X's relay (always enabled: a dry run without credentials).
relay = channels.relays[X]
relay_queue = Queue(settings.relay_queue_url)
dead_letters = Queue(settings.relay_dead_letter_queue_url)
processor = batch_processor(EventType.SQS)
#: A record, and each channel within it, is started only with this much time left (see
#: RelaySettings: one call to a network may take its poster's whole timeout); with less,
#: the message is sent again at once, for what is left.
RECORD_TIME = timedelta(seconds=settings.relay_record_seconds)
#: The name a retraction's outcome goes by: it is every channel's at once (each (post,
#: channel) deletion is its own claim, so a message sent again redoes none that is done).
RETRACTION = "retraction"
#: A message is sent again (deferred, or dead-lettered) up to this many times in one
#: invocation, while time is left, before its record fails: the relay's own SendMessage
#: failing is a temporary failure like the rest, and a record that fails burns one of the
#: queue's receives ("the number of times a message can be unsuccessfully dequeued before
#: being moved to the dead-letter queue", SQS RedrivePolicy ``maxReceiveCount``). Sending a
#: message twice (an answer lost) is harmless: its publications are claims in the ledger.
SEND_ATTEMPTS = 3
#: Seconds between those attempts (times the attempt), after botocore's own retries.
SEND_PAUSE = 0.1


def aws_trouble(error: Exception) -> bool:
    """An AWS call failed, or its answer was lost (botocore's errors)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(error, BotoCoreError | ClientError)


TimeLeft = Callable[[], float]


def send_surely(queue: Queue, body: str, time_left: TimeLeft, **options: Any) -> None:
    """Send ``body`` to ``queue``, again on failure (see :data:`SEND_ATTEMPTS`)."""
    again(
        lambda: queue.send(body, **options),
        attempts=SEND_ATTEMPTS,
        step=SEND_PAUSE,
        time_left=time_left,
    )


def requeue(
    message: dict[str, Any], until: datetime, reason: str, *, attempt: int, time_left: TimeLeft
) -> None:
    """Send the message again, due at ``until`` (the original is consumed)."""
    now = datetime.now(UTC)
    delay = defer_delay_seconds(until, now)
    body = json.dumps({**message, ATTEMPT: attempt}, ensure_ascii=False)
    send_surely(relay_queue, body, time_left, delay_seconds=delay)
    count("RelayDeferred")
    logger.info(
        "Relay deferred",
        extra={
            "until": until.isoformat(),
            "delay": delay,
            "reason": reason,
            "channels": message.get(FOR_CHANNELS),
        },
    )


def settle(
    message: dict[str, Any],
    result: ChannelResult,
    now: datetime,
    attempt: int,
    time_left: TimeLeft,
) -> None:
    """What one channel's outcome asks of the queues: nothing, the message again later for
    this channel, or the dead-letter queue for this channel."""
    mine = message if result.channel == RETRACTION else {**message, FOR_CHANNELS: [result.channel]}
    outcome, error = result.outcome, result.error
    if isinstance(error, PermanentFailure):
        logger.error(
            "Relay refused permanently",
            extra={"event": message.get("event"), "channel": result.channel, "error": str(error)},
        )
        count("RelayDeadLettered")
        send_surely(
            dead_letters,
            json.dumps(mine, ensure_ascii=False),
            time_left,
            attributes={"reason": str(error)[:256]},
        )
        return
    if error is not None:
        # The network down, or an AWS call that failed or whose answer was lost: come back
        # later, with a growing wait, instead of burning the queue's receives. Every step
        # is a claim or a conditional write that a retry recognises, so coming back is safe.
        jitter = random.random()  # noqa: S311 - spreading retries, no secret
        wait = retry_delay(
            attempt,
            base=settings.relay_retry_base_seconds,
            jitter=jitter,
            cap=settings.relay_retry_cap_seconds,
        )
        requeue(
            mine,
            now + wait,
            f"{result.channel}: {describe(error)}",
            attempt=attempt + 1,
            time_left=time_left,
        )
        return
    if isinstance(outcome, Deferred):
        requeue(
            mine,
            outcome.until,
            f"{result.channel}: {outcome.reason}",
            attempt=attempt,
            time_left=time_left,
        )
        return
    logger.info(
        "Relay done",
        extra={
            "event": message.get("event"),
            "channel": result.channel,
            "outcome": type(outcome).__name__,
        },
    )


def outcomes(message: dict[str, Any], deadline: datetime) -> list[ChannelResult]:
    """Each channel's outcome for an announcement; the retraction's for a post that ended."""
    if message.get("event") != RETRACTED_EVENT:
        return channels.handle(
            message, deadline=deadline, clock=lambda: datetime.now(UTC), min_time=RECORD_TIME
        )
    try:
        return [ChannelResult(RETRACTION, outcome=retractions.handle(message, deadline=deadline))]
    except Exception as error:
        return [ChannelResult(RETRACTION, error=error)]


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    message: dict[str, Any] = json.loads(record.body)
    attempt = int(message.get(ATTEMPT, 0) or 0)
    remaining = timedelta(milliseconds=lambda_context.get_remaining_time_in_millis())
    now = datetime.now(UTC)

    def time_left() -> float:
        return lambda_context.get_remaining_time_in_millis() / 1000

    if remaining < RECORD_TIME:  # not enough time for a network: the next invocation takes it
        requeue(message, now, "too little time left", attempt=attempt, time_left=time_left)
        return
    deadline = now + remaining
    results = outcomes(message, deadline)
    faults = [
        result.error
        for result in results
        if result.error is not None
        and not isinstance(result.error, PermanentFailure | TemporaryFailure)
        and not aws_trouble(result.error)
    ]
    if faults:
        # A fault in the code: the queue's retries, then the dead-letter queue. The channels
        # that are done skip the message when it comes back.
        raise faults[0]
    for result in results:
        settle(message, result, now, attempt, time_left)


@logger.inject_lambda_context(clear_state=True)
@metrics_when_any
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
