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

from entraide.activation.activation_store import activation_from_item
from entraide.activation.events import (
    ActivationEvent,
    ActivationTopic,
    events_of_change,
    expire_open_posts,
)
from entraide.adapters.once import OnceOnly
from entraide.adapters.table import Table, changed_images
from entraide.intake.post_store import PostStore
from entraide.kernel.model import Activation
from entraide.observability import batch_processor, logger, metrics, redacted_errors
from entraide.settings.activation import ActivationEventsSettings

settings = ActivationEventsSettings.from_environ(os.environ)
posts = PostStore(Table(settings.table_name), retention=settings.retention())
topic = ActivationTopic(settings.activation_events_topic_arn)
processor = batch_processor(EventType.DynamoDBStreams)


def announce(effect: dict[str, Any], activation: Activation) -> dict[str, str]:
    message_id = topic.announce(activation, ActivationEvent(effect["event"]))
    metrics.add_metric(name=f"Effect.{effect['event']}", unit=MetricUnit.Count, value=1)
    logger.info("Activation announced", extra={**effect, "hashtag": activation.hashtag})
    return {"message_id": message_id}


announce_once = OnceOnly(settings.table_name, announce)


def record_handler(record: DynamoDBRecord) -> None:
    old, new = changed_images(record, activation_from_item)
    for event in events_of_change(old, new):
        announce_once(effect={"event": event.value, "activation_id": new.id}, activation=new)
        if event is ActivationEvent.CLOSED:
            expired = expire_open_posts(posts, new, now=lambda: datetime.now(UTC))
            metrics.add_metric(name="PostExpired", unit=MetricUnit.Count, value=len(expired))
            logger.info("Posts expired", extra={"activation_id": new.id, "count": len(expired)})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    announce_once.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
