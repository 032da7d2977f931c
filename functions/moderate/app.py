"""Table stream → moderation: pre-screen and email new posts, announce decisions.

The template's FilterCriteria deliver only post records that matter here (a new pending
post; a post leaving pending). Each side effect runs once, whatever the redeliveries,
through powertools idempotency on the effect's own name (see entraide.moderation).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.models import Post
from entraide.moderation import Effect
from entraide.observability import logger, metrics
from entraide.settings import ModerationSettings
from entraide.store import EntraideTable, post_from_item
from entraide.wiring import moderation_effects

settings = ModerationSettings.from_environ(os.environ)
moderation = moderation_effects(settings, EntraideTable(settings.table_name))
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

# Stream records live 24 h; an effect remembered a week is never repeated by a replay.
EFFECT_MEMORY_SECONDS = 7 * 24 * 3600


@functools.cache
def idempotency() -> tuple[Any, Callable[..., dict[str, str]]]:
    """The idempotent ``perform``, built on first use: its DynamoDB client costs cold start."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    persistence = DynamoDBPersistenceLayer(
        table_name=settings.table_name,
        key_attr="pk",
        sort_key_attr="sk",
        expiry_attr="expires_at",
    )
    config = IdempotencyConfig(expires_after_seconds=EFFECT_MEMORY_SECONDS)

    @idempotent_function(
        data_keyword_argument="effect", config=config, persistence_store=persistence
    )
    def perform(effect: dict[str, Any], post: Post) -> dict[str, str]:
        result = moderation.perform(Effect.from_dict(effect), post)
        metrics.add_metric(name=f"Effect.{effect['kind']}", unit=MetricUnit.Count, value=1)
        logger.info("Effect done", extra={"effect": effect["kind"], "post_id": post.id})
        return result

    return config, perform


def record_handler(record: DynamoDBRecord) -> None:
    change = record.dynamodb
    if change is None or not change.new_image:  # the FilterCriteria let only posts through
        raise ValueError(f"stream record {record.event_id} carries no new image")
    new = post_from_item(change.new_image)
    old = post_from_item(change.old_image) if change.old_image else None
    _, perform = idempotency()
    for effect in moderation.effects_of_change(old, new):
        perform(effect=effect.to_dict(), post=new)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    config, _ = idempotency()
    config.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
