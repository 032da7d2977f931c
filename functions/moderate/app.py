"""Table stream → moderation: pre-screen and email new posts, announce decisions.

The template's FilterCriteria deliver only post records that matter here (a new pending
post; a post leaving pending). Each side effect runs once, whatever the redeliveries,
through powertools idempotency on the effect's own name (see entraide.moderation.effects).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.adapters.once import OnceOnly
from entraide.adapters.table import Table, changed_images
from entraide.intake.post_store import post_from_item
from entraide.kernel.model import Post
from entraide.moderation.effects import Effect
from entraide.observability import batch_processor, logger, metrics, redacted_errors
from entraide.settings.moderation import ModerationSettings
from entraide.wiring import moderation_effects

settings = ModerationSettings.from_environ(os.environ)
moderation = moderation_effects(settings, Table(settings.table_name))
processor = batch_processor(EventType.DynamoDBStreams)


def perform(effect: dict[str, Any], post: Post) -> dict[str, str]:
    result = moderation.perform(Effect.from_dict(effect), post)
    metrics.add_metric(name=f"Effect.{effect['kind']}", unit=MetricUnit.Count, value=1)
    logger.info("Effect done", extra={"effect": effect["kind"], "post_id": post.id})
    return result


perform_once = OnceOnly(settings.table_name, perform)


def record_handler(record: DynamoDBRecord) -> None:
    old, new = changed_images(record, post_from_item)
    for effect in moderation.effects_of_change(old, new):
        perform_once(effect=effect.to_dict(), post=new)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    perform_once.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
