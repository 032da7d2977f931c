"""Relay queue → X: approved posts and activation announcements, once each, within quota;
and the tweets of posts that ended, deleted.

Messages come from the approved-posts and activation-events topics (raw delivery), and
from the retention function for posts that left the public (``post-retracted``). A
deferral (budget spent, X's 429) re-sends the message with a delay and consumes the
original: never dropped. A permanent refusal by X goes to the dead-letter queue at once.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.adapters.queue import Queue
from entraide.adapters.table import Table
from entraide.observability import batch_processor, logger, metrics, redacted_errors
from entraide.publishing.relay_outcomes import Deferred, PermanentFailure, defer_delay_seconds
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


def record_handler(record: SQSRecord) -> None:
    message: dict[str, Any] = json.loads(record.body)
    event = message.get("event", "")
    try:
        if event == "post-approved":
            outcome = relay.handle_approved(message)
        elif event.startswith("activation-"):
            outcome = relay.handle_activation_event(message)
        elif event == RETRACTED_EVENT:
            outcome = retractions.handle(message)
        else:
            raise PermanentFailure(f"Unknown relay message event {event!r}.")
    except PermanentFailure as failure:
        logger.error("Relay refused permanently", extra={"event": event, "error": str(failure)})
        metrics.add_metric(name="RelayDeadLettered", unit=MetricUnit.Count, value=1)
        dead_letters.send(record.body, attributes={"reason": str(failure)[:256]})
        return
    if isinstance(outcome, Deferred):
        delay = defer_delay_seconds(outcome.until, datetime.now(UTC))
        relay_queue.send(record.body, delay_seconds=delay)
        metrics.add_metric(name="RelayDeferred", unit=MetricUnit.Count, value=1)
        logger.info("Relay deferred", extra={"until": outcome.until.isoformat(), "delay": delay})
    else:
        logger.info("Relay done", extra={"event": event, "outcome": type(outcome).__name__})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
