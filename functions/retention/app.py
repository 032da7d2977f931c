"""Personal data kept only as long as needed: what the table's TTL cannot do alone.

- From the table's stream (through stream_router): an approved post withdrawn or expired
  is taken down from every network (a ``post-retracted`` message to the relay's queue).
- Every day (schedule): a post still waiting for moderation after ``PendingPostMaxDays``
  expires, so that its author's data goes ``RetentionDays`` later (entraide.privacy.retention).

The lifetimes themselves are DynamoDB's TTL on each item (``expires_at``); this function
never deletes personal data.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.adapters.queue import Queue
from entraide.adapters.table import Table, changed_images
from entraide.intake.post_store import PostStore, post_from_item
from entraide.observability import batch_processor, count, logger, metrics_when_any, redacted_errors
from entraide.privacy.retention import expire_waiting_posts
from entraide.publishing.retraction import RetractionQueue
from entraide.settings.retention import RetentionSettings

settings = RetentionSettings.from_environ(os.environ)
posts = PostStore(Table(settings.table_name), retention=settings.retention())
retractions = RetractionQueue(Queue(settings.relay_queue_url))
processor = batch_processor(EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord) -> None:
    _, post = changed_images(record, post_from_item)
    retractions.request([post.id])
    count("RetractionRequested")
    logger.info("Post left the public", extra={"post_id": post.id, "status": post.status.value})


@logger.inject_lambda_context(clear_state=True)
@metrics_when_any
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if event.get("source") == "aws.events":  # the daily schedule
        expired = expire_waiting_posts(posts, settings.retention(), now=lambda: datetime.now(UTC))
        count("PostExpiredWaiting", len(expired))
        logger.info("Waiting posts expired", extra={"count": len(expired)})
        return {"expired": [post.id for post in expired]}
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
