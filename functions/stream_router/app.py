"""Table stream → the functions that act on its changes (the stream's one reader).

Each record goes, synchronously, to every function whose route wants it (see
entraide.adapters.stream_router); what a function reports as failed, or a function that
fails, fails the record here, and the stream retries it from there, in order.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.adapters.stream_router import ConsumerFailed, LambdaConsumer, dispatch
from entraide.observability import batch_processor, logger, metrics_when_any, redacted_errors
from entraide.settings.routing import StreamRouterSettings

settings = StreamRouterSettings.from_environ(os.environ)
consumers = {
    route: LambdaConsumer(function, timeout_seconds=settings.consumer_timeout_seconds)
    for route, function in settings.consumers().items()
}
processor = batch_processor(EventType.DynamoDBStreams)


@logger.inject_lambda_context(clear_state=True)
@metrics_when_any
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    failed = dispatch(event.get("Records", []), consumers)

    def record_handler(record: DynamoDBRecord) -> None:
        consumer = failed.get(str(record.dynamodb.sequence_number if record.dynamodb else ""))
        if consumer is not None:
            raise ConsumerFailed(f"not taken by {consumer}")

    if failed:
        logger.warning("Records not taken", extra={"failed": len(failed)})
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
