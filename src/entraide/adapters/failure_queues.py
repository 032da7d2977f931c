"""The failure queues, for operators: what they hold, and sending it back (``entraide dlq``).

Three queues keep what the platform gave up on, each with enough to do it again:

- ``relay``: the relay's dead-letter queue, messages to X refused as malformed or failing
  in the code (an outage never lands here: the relay defers). Redriven: sent back to the
  relay's queue, whose claims make a message already published a no-op;
- ``scheduled``: scheduled runs that failed after Lambda's two retries, as Lambda's
  on-failure destination records them, with the event (``requestPayload``). Redriven: the
  function is invoked again, asynchronously, with that event;
- ``stream``: stream batches the router gave up on. Lambda's record of them holds only the
  shard and the sequence numbers ("the invocation record contains metadata about the
  failed event batch", Lambda developer guide, "Retaining discarded records"); the records
  themselves stay in the stream for 24 hours. Redriven: read again from the stream and
  handed to the router, synchronously. Older ones are gone from the stream; moderate's
  reconciliation finds, from the table, the posts of the last hour the stream never
  brought, and what the ledger holds is swept whatever its age (an approved post's match
  is in it from the approval on).

Every consumer is idempotent through the effects ledger, so a redrive repeats nothing done.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: queue name -> the stack output naming its URL
OUTPUTS = {
    "relay": "RelayDeadLetterQueueUrl",
    "scheduled": "ScheduledRunFailureQueueUrl",
    "stream": "StreamFailureQueueUrl",
}
#: SQS hands out ten messages at a time at most (ReceiveMessage, MaxNumberOfMessages).
RECEIVE_MAX = 10


@dataclass(frozen=True)
class Held:
    """One message of a failure queue, as an operator sees it (no message content that
    could carry a person's details: identifiers, times, reasons)."""

    message_id: str
    summary: str
    body: dict[str, Any]
    receipt: str


def _summary(queue: str, body: dict[str, Any], attributes: dict[str, Any]) -> str:
    if queue == "relay":
        reason = attributes.get("reason", {}).get("StringValue", "")
        subject = body.get("post_id") or body.get("activation_id") or "?"
        return f"{body.get('event', '?')} {subject} — {reason}"
    context = body.get("requestContext", {})
    function = str(context.get("functionArn", "?")).rsplit(":", 1)[-1]
    if queue == "stream":
        batch = body.get("DDBStreamBatchInfo", {})
        return (
            f"{function}: {batch.get('batchSize', '?')} records "
            f"{batch.get('startSequenceNumber', '?')}…{batch.get('endSequenceNumber', '?')}"
            f" ({context.get('condition', '')}, {body.get('timestamp', '')})"
        )
    return f"{function}: {context.get('condition', '')} ({body.get('timestamp', '')})"


def held(sqs: Any, queue: str, url: str, *, limit: int = 100) -> Iterator[Held]:
    """The messages of ``queue`` (up to ``limit``), each hidden for a minute while shown."""
    seen = 0
    while seen < limit:
        received = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(RECEIVE_MAX, limit - seen),
            VisibilityTimeout=60,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return
        for message in received:
            seen += 1
            try:
                body = json.loads(message["Body"])
            except ValueError:
                body = {}
            summary = _summary(queue, body, message.get("MessageAttributes", {}))
            yield Held(message["MessageId"], summary, body, message["ReceiptHandle"])


def count(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def stream_records(streams: Any, batch: dict[str, Any], region: str) -> list[dict[str, Any]]:
    """The records of a given-up batch, read again from the stream, in the shape Lambda
    gives a function (``eventSourceARN``, creation time in epoch seconds)."""
    arn = batch["streamArn"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn,
        ShardId=batch["shardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=batch["startSequenceNumber"],
    )["ShardIterator"]
    end = int(batch["endSequenceNumber"])
    records: list[dict[str, Any]] = []
    while iterator:
        response = streams.get_records(ShardIterator=iterator, Limit=100)
        for record in response["Records"]:
            if int(record["dynamodb"]["SequenceNumber"]) > end:
                return records
            change = dict(record["dynamodb"])
            created = change.get("ApproximateCreationDateTime")
            if isinstance(created, datetime):
                change["ApproximateCreationDateTime"] = int(created.timestamp())
            records.append(
                {**record, "dynamodb": change, "eventSourceARN": arn, "awsRegion": region}
            )
        if not response["Records"] or len(records) >= int(batch.get("batchSize", 10_000)):
            return records
        iterator = response.get("NextShardIterator")
    return records


@dataclass
class Redrive:
    """Sends back what ``queue`` holds: see the module documentation."""

    sqs: Any
    queue: str
    url: str
    relay_queue_url: str | None = None
    invoke: Callable[[str, dict[str, Any], bool], Any] | None = None  # (function, event, sync)
    read_stream: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None

    def run(self, *, limit: int = 100) -> tuple[int, list[str]]:
        """(messages sent back, problems); a message that could not be is left in place."""
        done, problems = 0, []
        for message in held(self.sqs, self.queue, self.url, limit=limit):
            try:
                self._send_back(message)
            except Exception as error:  # left in the queue, reported to the operator
                problems.append(f"{message.message_id}: {type(error).__name__}: {error}")
                continue
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message.receipt)
            done += 1
        return done, problems

    def _send_back(self, message: Held) -> None:
        if self.queue == "relay":
            if self.relay_queue_url is None:
                raise ValueError("no relay queue")
            self.sqs.send_message(
                QueueUrl=self.relay_queue_url, MessageBody=json.dumps(message.body)
            )
            return
        if self.invoke is None:
            raise ValueError("no way to invoke a function")
        function = str(message.body["requestContext"]["functionArn"])
        if self.queue == "scheduled":
            self.invoke(function, message.body["requestPayload"], False)
            return
        if self.read_stream is None:
            raise ValueError("no stream reader")
        records = self.read_stream(message.body["DDBStreamBatchInfo"])
        if not records:
            raise LookupError("records no longer in the stream (24 h)")
        result = self.invoke(function, {"Records": records}, True)
        if isinstance(result, dict) and result.get("batchItemFailures"):
            raise RuntimeError(f"{len(result['batchItemFailures'])} records failed again")
