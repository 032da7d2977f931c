"""Table stream → activations opened or closed: announce once, expire the posts of a closing.

The FilterCriteria of the template deliver activation items only: a new open one, or
one going from open to closed, whether an operator (CLI) or the alert feeds did it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.activation.activation_store import ActivationStore, activation_from_item
from entraide.activation.events import (
    ActivationEvent,
    ActivationTopic,
    events_of_change,
    expire_posts,
)
from entraide.adapters.once import OnceOnly
from entraide.adapters.table import Table, changed_images
from entraide.intake.post_store import PostStore
from entraide.kernel.model import Activation
from entraide.observability import batch_processor, logger, metrics, redacted_errors
from entraide.settings.activation import ActivationEventsSettings

# Margin before the function's timeout when expiring the posts of a closing: what is left
# then is finished by the next activate run (the closing left a job in the table).
EXPIRY_MARGIN_SECONDS = 10.0

settings = ActivationEventsSettings.from_environ(os.environ)
table = Table(settings.table_name)
posts = PostStore(table, retention=settings.retention())
jobs = ActivationStore(table)
topic = ActivationTopic(settings.activation_events_topic_arn)
processor = batch_processor(EventType.DynamoDBStreams)


def announce(effect: dict[str, Any], activation: Activation) -> dict[str, str]:
    message_id = topic.announce(activation, ActivationEvent(effect["event"]))
    metrics.add_metric(name=f"Effect.{effect['event']}", unit=MetricUnit.Count, value=1)
    logger.info("Activation announced", extra={**effect, "hashtag": activation.hashtag})
    return {"message_id": message_id}


announce_once = OnceOnly(settings.table_name, announce)


def record_handler(record: DynamoDBRecord, lambda_context: LambdaContext) -> None:
    """One activation change; powertools passes the invocation's context (its name)."""
    old, new = changed_images(record, activation_from_item)
    for event in events_of_change(old, new):
        announce_once(effect={"event": event.value, "activation_id": new.id}, activation=new)
        if event is ActivationEvent.CLOSED and new.closed_at is not None:
            job = next(
                (j for j in jobs.pending_expiries() if j.activation_id == new.id),
                None,
            )
            if job is None:
                continue  # expired already (a replayed record), or by the activate run
            done = expire_posts(
                posts,
                jobs,
                job,
                now=lambda: datetime.now(UTC),
                time_left=lambda: (
                    lambda_context.get_remaining_time_in_millis() / 1000 - EXPIRY_MARGIN_SECONDS
                ),
            )
            metrics.add_metric(
                name="PostExpired", unit=MetricUnit.Count, value=done.expired - job.expired
            )
            logger.info(
                "Posts expired",
                extra={
                    "activation_id": new.id,
                    "count": done.expired - job.expired,
                    "finished": done.status is None,
                },
            )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    announce_once.register_lambda_context(context)
    return process_partial_response(
        event=event,
        record_handler=record_handler,
        processor=processor,
        context=context,
    )
