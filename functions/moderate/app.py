"""Table stream → moderation: pre-screen and email new posts, announce decisions.

The template's FilterCriteria deliver only post records that matter here (a new pending
post; a post leaving pending). Each change is a subject of the effects ledger, recorded
before its effects are done (see entraide.moderation.effects); a record fails only when it
could not be recorded. On its schedule, the function finishes what is due (the ledger's
sweep) and records what the stream never brought (the reconciliation).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.adapters.table import ReadsRetried, Table, changed_images, entity_of
from entraide.effects.ledger import scheduled
from entraide.intake.post_store import post_from_item
from entraide.moderation.effects import MODERATE
from entraide.observability import batch_processor, count, logger, metrics_when_any, redacted_errors
from entraide.settings.moderation import ModerationSettings
from entraide.wiring import effect_ledger, moderation_effects

settings = ModerationSettings.from_environ(os.environ)
table = Table(settings.table_name)
# An effect's attempt reads the post, its contact, its activation and the poster's recent
# texts before its one send: each read is made again on a transient error (as geomatch's
# are), so that one failed read no longer costs the attempt (given up after the ledger's
# 30, the moderator's email was lost and the post never decided).
moderation = moderation_effects(settings, ReadsRetried(settings.table_name))
ledger = effect_ledger(settings, table)
processor = batch_processor(EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord, lambda_context: LambdaContext) -> None:
    if entity_of(record) != "post":  # a record of another item (a redrive sends them all)
        return
    old, new = changed_images(record, post_from_item)
    subject = moderation.subject_of_change(old, new)
    if subject is None:
        return
    deadline = ledger.deadline_of(lambda_context)
    report = ledger.run(subject, moderation.performer(new), deadline=deadline)
    count("EffectDone", report.done)
    logger.info("Moderation effects", extra={"post_id": new.id, **report.as_dict()})


def sweep(context: LambdaContext) -> dict[str, Any]:
    deadline = ledger.deadline_of(context)
    swept = ledger.sweep(MODERATE, moderation.performer_for, deadline=deadline)
    reconciled = moderation.reconcile(ledger, now=ledger.clock(), deadline=deadline)
    logger.info("Moderation sweep", extra={"swept": swept.as_dict(), "found": reconciled.subjects})
    return {"swept": swept.as_dict(), "reconciled": reconciled.as_dict()}


@logger.inject_lambda_context(clear_state=True)
@metrics_when_any
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if scheduled(event):
        return sweep(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
