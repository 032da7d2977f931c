"""Table stream → activations opened or closed: announce once, expire the posts of a closing.

The FilterCriteria of the template deliver activation items only: a new open one, or
one going from open to closed, whether an operator (CLI) or the alert feeds did it. Each is
a subject of the effects ledger (see entraide.activation.events); on its schedule, the
function finishes what is due (a second pass of a closing's expiry, a failed announcement),
then switches the relay's event source mapping: enabled while an activation is open (at
once when one opens) or the relay's queue holds messages, disabled once idle
(entraide.activation.relay_switch). A switch that fails is counted (RelaySwitchFailed) and
logged, never the run's failure: the next check, five minutes later, tries again, and a
message left waiting an hour raises RelayQueueStalledAlarm.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.activation.activation_store import ActivationStore, activation_from_item
from entraide.activation.events import (
    ACTIVATION_EVENTS,
    ActivationEffects,
    ActivationEvent,
    ActivationTopic,
    events_of_change,
)
from entraide.activation.relay_switch import Flip, RelaySwitch, TableBusyRecord
from entraide.adapters.event_source_mapping import EventSourceMapping, QueueCounts
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
relay_switch = (
    RelaySwitch(
        mapping=EventSourceMapping(settings.relay_mapping_uuid),
        queue=QueueCounts(settings.relay_queue_url),
        record=TableBusyRecord(table),
        clock=lambda: datetime.now(UTC),
        hold=timedelta(seconds=settings.relay_idle_hold_seconds),
    )
    if settings.relay_mapping_uuid and settings.relay_queue_url
    else None
)


def switch_relay(flip: Callable[[RelaySwitch], Flip | None]) -> None:
    """Flip the relay's mapping if it must; a failure is counted and logged, not raised."""
    if relay_switch is None:
        return
    try:
        flipped = flip(relay_switch)
    except Exception:
        count("RelaySwitchFailed")
        logger.exception("Relay mapping not switched; the next check tries again")
        return
    if flipped is not None:
        logger.info("Relay mapping switched", extra={"relay_mapping": flipped.value})


def activation_work() -> bool:
    """An activation open, or closed recently enough that its retractions may be coming."""
    since = datetime.now(UTC) - timedelta(seconds=settings.relay_awake_after_close_seconds)
    return bool(activations.tracked_activations(closed_since=since))


def record_handler(record: DynamoDBRecord, lambda_context: LambdaContext) -> None:
    if entity_of(record) != "activation":  # a redrive sends every record of a range
        return
    old, new = changed_images(record, activation_from_item)
    subject = effects.subject_of_change(old, new)
    if subject is None:
        return
    if events_of_change(old, new) == [ActivationEvent.OPENED]:
        switch_relay(RelaySwitch.wake)
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
        switch_relay(lambda switch: switch.check(activation_work=activation_work()))
        return {"swept": swept.as_dict()}
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
