"""SQS event source: receive messages from a queue and invoke a function, like Lambda.

Messages are received up to BatchSize (at most 10 per call), converted to Lambda's SQS record
shape, filtered with the FilterCriteria (messages that do not match are deleted, as Lambda
does), and handed to the function. Messages that succeed are deleted; failed ones stay in the
queue until their visibility timeout ends, and moto moves a message to the queue's
dead-letter queue when it is received again after maxReceiveCount receives, as SQS does.
Receives use no long polling, so that stopping never waits on moto.

Unlike a stream, an SQS mapping runs several batches at once: up to the mapping's
`ScalingConfig.MaximumConcurrency` ("Limits the number of concurrent instances that the Amazon
SQS event source can invoke", https://docs.aws.amazon.com/lambda/latest/api/
API_ScalingConfig.html), and without it up to the function's own concurrency (Lambda's SQS
poller scales out until the function's concurrency is reached:
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html). A batch is received
only when one of these slots is free, so messages do not sit invisible waiting for a slot.

A disabled mapping (`mappings.py`) receives nothing: its messages wait in the queue until it
is enabled again.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .clients import ClientFactory
from .filters import FilterCriteria, sqs_filter_view
from .invoke import Invoker
from .mappings import EventSourceMapping
from .polling import Poller, PollerSettings, PollResult, failed_item_ids
from .provision import DeployedFunction
from .template import QueueEvent

log = logging.getLogger("entraide_local")

_MAX_MESSAGES_PER_RECEIVE = 10  # SQS's limit
_IN_FLIGHT_COUNTS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


def to_lambda_record(message: dict[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """A message from ReceiveMessage (boto3) in the shape Lambda passes to the handler."""
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    attribute["stringListValues"] = list(value.get("StringListValues", []))
    attribute["binaryListValues"] = [
        base64.b64encode(item).decode("ascii") for item in value.get("BinaryListValues", [])
    ]
    attribute["dataType"] = value["DataType"]
    return attribute


class QueuePoller(Poller):
    """One `SQS` event of one function."""

    def __init__(
        self,
        function: DeployedFunction,
        event: QueueEvent,
        *,
        queue_arn: str,
        mapping: EventSourceMapping,
        invoker: Invoker,
        clients: ClientFactory,
        region: str,
        settings: PollerSettings,
    ) -> None:
        super().__init__(f"{function.display_name}/{event.name}", settings)
        self.function = function
        self.event = event
        self.queue_arn = queue_arn
        self.mapping = mapping
        self.queue_name = queue_arn.split(":")[5]
        self.invoker = invoker
        self.region = region
        self.sqs = clients("sqs")
        self.queue_url = ""
        self.filters = FilterCriteria(
            event.filter_patterns,
            f"Resources.{function.logical_id}.Properties.Events.{event.name}.FilterCriteria",
        )
        function_limit = invoker.concurrency.limits[function.logical_id]
        self.concurrency = max(1, min(event.maximum_concurrency or function_limit, function_limit))
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._batches = ThreadPoolExecutor(
            max_workers=self.concurrency, thread_name_prefix=f"batches {self.name}"
        )
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()

    def prepare(self) -> None:
        self.queue_url = self.sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]

    def stop(self) -> None:
        super().stop()
        self._batches.shutdown(wait=False, cancel_futures=True)

    def poll_once(self) -> PollResult:
        if not self.mapping.enabled:
            return PollResult.IDLE  # Lambda does not poll a disabled mapping
        if not self._slots.acquire(timeout=0.2):
            return PollResult.WAITING  # every batch slot of the mapping is busy
        try:
            result = self._receive_and_dispatch()
        except BaseException:
            self._slots.release()
            raise
        return result

    def _receive_and_dispatch(self) -> PollResult:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(self.event.batch_size, _MAX_MESSAGES_PER_RECEIVE),
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not messages:
            self._slots.release()
            with self._in_flight_lock:
                busy = self._in_flight > 0
            return PollResult.WAITING if busy or self._messages_in_flight() else PollResult.IDLE
        records = [
            to_lambda_record(message, queue_arn=self.queue_arn, region=self.region)
            for message in messages
        ]
        matching = [record for record in records if self.filters.matches(sqs_filter_view(record))]
        self._delete([record for record in records if record not in matching])
        if not matching:
            self._slots.release()
            return PollResult.DELIVERED
        with self._in_flight_lock:
            self._in_flight += 1
        self._batches.submit(self._deliver_in_slot, matching)
        return PollResult.DELIVERED

    def _deliver_in_slot(self, records: list[dict[str, Any]]) -> None:
        try:
            self._deliver(records)
        except Exception:
            log.exception("%s: delivering a batch failed", self.name)
        finally:
            with self._in_flight_lock:
                self._in_flight -= 1
            self._slots.release()
            self.kick()

    def _messages_in_flight(self) -> bool:
        """Messages waiting for their visibility timeout or delay count as work to come."""
        counts = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=list(_IN_FLIGHT_COUNTS)
        )["Attributes"]
        return any(int(counts.get(name, 0)) for name in _IN_FLIGHT_COUNTS)

    def _deliver(self, records: list[dict[str, Any]]) -> None:
        trigger = f"sqs {self.queue_name} ({len(records)} messages)"
        invocation = self.invoker.invoke(
            self.function.logical_id, {"Records": records}, trigger=trigger
        )
        message_ids = [record["messageId"] for record in records]
        failed = failed_item_ids(invocation, message_ids, self.event.report_batch_item_failures)
        if failed is None:
            return  # all stay in the queue until their visibility timeout ends
        self._delete([record for record in records if record["messageId"] not in failed])

    def _delete(self, records: Sequence[dict[str, Any]]) -> None:
        if not records:
            return
        response = self.sqs.delete_message_batch(
            QueueUrl=self.queue_url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": record["receiptHandle"]}
                for index, record in enumerate(records)
            ],
        )
        for failure in response.get("Failed", ()):
            log.warning("%s: could not delete a message: %s", self.name, failure.get("Message"))
