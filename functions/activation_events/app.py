"""Table stream → activations opened or closed: announce once, expire the posts of a closing.

The FilterCriteria of the template deliver activation items only: a new open one, or
one going from open to closed, whether an operator (CLI) or the alert feeds did it. Each is
a subject of the effects ledger (see entraide.activation.events); on its schedule, the
function finishes what is due (a second pass of a closing's expiry, a failed announcement).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.activation.activation_store import ActivationStore, activation_from_item
from entraide.activation.events import ACTIVATION_EVENTS, ActivationEffects, ActivationTopic
from entraide.adapters.table import Table, changed_images, entity_of
from entraide.effects.ledger import scheduled
from entraide.intake.post_store import PostStore
from entraide.observability import batch_processor, count, logger, metrics_when_any, redacted_errors
from entraide.settings.activation import ActivationEventsSettings
from entraide.wiring import effect_ledger

settings = ActivationEventsSettings.from_environ(os.environ)
table = Table(settings.table_name)
activations = ActivationStore(table)
effects = ActivationEffects(
    topic=ActivationTopic(settings.activation_events_topic_arn),
    posts=PostStore(table, retention=settings.retention()),
    activations=activations,
    jobs=activations,  # the closing's expiry job, which the activate run also finishes
    clock=lambda: datetime.now(UTC),
)
ledger = effect_ledger(settings, table)
processor = batch_processor(EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord, lambda_context: LambdaContext) -> None:
    if entity_of(record) != "activation":  # a redrive sends every record of a range
        return
    old, new = changed_images(record, activation_from_item)
    subject = effects.subject_of_change(old, new)
    if subject is None:
        return
    deadline = effects.deadline = ledger.deadline_of(lambda_context)
    report = ledger.run(subject, effects.performer(new), deadline=deadline)
    count("EffectDone", report.done)
    logger.info("Activation effects", extra={"activation_id": new.id, **report.as_dict()})


@logger.inject_lambda_context(clear_state=True)
@metrics_when_any
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if scheduled(event):
        deadline = effects.deadline = ledger.deadline_of(context)
        swept = ledger.sweep(ACTIVATION_EVENTS, effects.performer_for, deadline=deadline)
        logger.info("Activation effects swept", extra=swept.as_dict())
        return {"swept": swept.as_dict()}
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
