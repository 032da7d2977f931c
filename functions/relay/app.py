"""Relay queue → X: approved posts and activation announcements, once each, within quota;
and the tweets of posts that ended, deleted.

Messages come from the approved-posts and activation-events topics (raw delivery), and
from the retention function for posts that left the public (``post-retracted``). A
deferral (budget spent, X's 429, X down, too little time left) re-sends the message with a
delay and consumes the original: an X outage, however long, burns no receive and sends
nothing to the dead-letter queue. Only X's permanent refusal goes there at once (an
operator redrives it: ``entraide dlq redrive relay``), and a message that keeps failing for
another reason (a fault in the code) after the queue's five receives.
"""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.adapters.queue import Queue
from entraide.adapters.table import Table
from entraide.effects.ledger import describe
from entraide.observability import batch_processor, logger, metrics, redacted_errors
from entraide.publishing.relay_outcomes import (
    ATTEMPT,
    Deferred,
    PermanentFailure,
    RelayOutcome,
    TemporaryFailure,
    defer_delay_seconds,
    retry_delay,
)
from entraide.publishing.retraction import RETRACTED_EVENT
from entraide.settings.publishing import RelaySettings
from entraide.wiring import relay_service, retractor, x_poster

settings = RelaySettings.from_environ(os.environ)
table = Table(settings.table_name)
poster = x_poster(settings)
relay = relay_service(settings, table, poster)
retractions = retractor(table, poster)
relay_queue = Queue(settings.relay_queue_url)
dead_letters = Queue(settings.relay_dead_letter_queue_url)
processor = batch_processor(EventType.SQS)
#: A record is started only with this much time left (see RelaySettings); with less, the
#: message is sent again at once, for the next invocation.
RECORD_TIME = timedelta(seconds=settings.relay_record_seconds)


def handle(message: dict[str, Any], deadline: datetime) -> RelayOutcome:
    event = message.get("event", "")
    if event == "post-approved":
        return relay.handle_approved(message, deadline=deadline)
    if event.startswith("activation-"):
        return relay.handle_activation_event(message, deadline=deadline)
    if event == RETRACTED_EVENT:
        return retractions.handle(message, deadline=deadline)
    raise PermanentFailure(f"Unknown relay message event {event!r}.")


def aws_trouble(error: Exception) -> bool:
    """An AWS call failed, or its answer was lost (botocore's errors)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(error, BotoCoreError | ClientError)


def requeue(message: dict[str, Any], until: datetime, reason: str, *, attempt: int) -> None:
    """Send the message again, due at ``until``, then consume this one."""
    now = datetime.now(UTC)
    delay = defer_delay_seconds(until, now)
    relay_queue.send(
        json.dumps({**message, ATTEMPT: attempt}, ensure_ascii=False), delay_seconds=delay
    )
    metrics.add_metric(name="RelayDeferred", unit=MetricUnit.Count, value=1)
    logger.info(
        "Relay deferred", extra={"until": until.isoformat(), "delay": delay, "reason": reason}
    )


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    message: dict[str, Any] = json.loads(record.body)
    event = message.get("event", "")
    attempt = int(message.get(ATTEMPT, 0) or 0)
    remaining = timedelta(milliseconds=lambda_context.get_remaining_time_in_millis())
    now = datetime.now(UTC)
    if remaining < RECORD_TIME:  # not enough time for X: the next invocation takes it
        requeue(message, now, "too little time left", attempt=attempt)
        return
    try:
        outcome = handle(message, now + remaining)
    except PermanentFailure as failure:
        logger.error("Relay refused permanently", extra={"event": event, "error": str(failure)})
        metrics.add_metric(name="RelayDeadLettered", unit=MetricUnit.Count, value=1)
        dead_letters.send(record.body, attributes={"reason": str(failure)[:256]})
        return
    except Exception as error:
        # X down, or an AWS call that failed or whose answer was lost: come back later,
        # with a growing wait, instead of burning the queue's receives (five, then the
        # dead-letter queue). Every step is a claim or a conditional write that a retry
        # recognises, so coming back is safe.
        if not isinstance(error, TemporaryFailure) and not aws_trouble(error):
            raise  # a fault in the code: the queue's retries, then the dead-letter queue
        jitter = random.random()  # noqa: S311 - spreading retries, no secret
        wait = retry_delay(
            attempt,
            base=settings.relay_retry_base_seconds,
            jitter=jitter,
            cap=settings.relay_retry_cap_seconds,
        )
        outcome = Deferred(now + wait, describe(error))
        attempt += 1
    if isinstance(outcome, Deferred):
        requeue(message, outcome.until, outcome.reason, attempt=attempt)
    else:
        logger.info("Relay done", extra={"event": event, "outcome": type(outcome).__name__})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
