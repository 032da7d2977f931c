"""DynamoDB stream event source: read a table's stream and invoke a function, like Lambda.

Records are converted to the shape Lambda delivers (moto's `get_records` differs: eventVersion
"1.0", a datetime for ApproximateCreationDateTime, bytes for binary attributes, no
eventSourceARN, awsRegion always us-east-1), filtered with the FilterCriteria (records that do
not match are dropped), batched by BatchSize within MaximumBatchingWindowInSeconds, and
delivered in order. A failed batch is retried, from the first failed sequence number when the
function reports batch item failures, up to MaximumRetryAttempts (halved first when
BisectBatchOnFunctionError is set); then a record of the failure goes to the OnFailure
destination (SQS queue or SNS topic) and the poller moves on.

One batch at a time per shard and mapping, in order: a mapping's `ParallelizationFactor`
("The number of batches to process from each shard concurrently") defaults to 1
(https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html), and the poller's
thread waits for each invocation, retries included, before the next batch. Different
mappings of the same stream each have a poller, and run at the same time.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from .clients import ClientFactory
from .destinations import send_to_destination
from .filters import FilterCriteria
from .invoke import Invocation, Invoker
from .polling import Poller, PollerSettings, PollResult, failed_item_ids
from .provision import DeployedFunction
from .template import StreamEvent

log = logging.getLogger("entraide_local")

_READ_LIMIT = 1000  # records per GetRecords call, the API's maximum


def to_lambda_record(record: dict[str, Any], *, stream_arn: str, region: str) -> dict[str, Any]:
    """A record from GetRecords (boto3) in the shape Lambda passes to the handler."""
    dynamodb = _base64_binaries(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def _base64_binaries(value: Any) -> Any:
    """Binary attribute values (B, BS, nested in M and L) as Lambda sends them: base64 text."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {key: _base64_binaries(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_base64_binaries(item) for item in value]
    return value


def _iso(epoch_seconds: int | None) -> str | None:
    if epoch_seconds is None:
        return None
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def on_failure_record(
    batch: Sequence[dict[str, Any]],
    *,
    shard_id: str,
    stream_arn: str,
    function_arn: str,
    last: Invocation,
    invoke_count: int,
) -> dict[str, Any]:
    """What Lambda sends to a stream mapping's OnFailure destination."""
    first, final = batch[0]["dynamodb"], batch[-1]["dynamodb"]
    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if not last.ok:
        response_context["functionError"] = "Unhandled"
    return {
        "requestContext": {
            "requestId": last.request_id,
            "functionArn": function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": response_context,
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": first["SequenceNumber"],
            "endSequenceNumber": final["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso(first.get("ApproximateCreationDateTime")),
            "approximateArrivalOfLastRecord": _iso(final.get("ApproximateCreationDateTime")),
            "batchSize": len(batch),
            "streamArn": stream_arn,
        },
    }


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None
    last_read: str | None = None  # sequence number of the last record read, to resume after
    pending: list[dict[str, Any]] = field(default_factory=list)  # filtered, not yet delivered
    pending_since: float | None = None


class StreamPoller(Poller):
    """One `DynamoDB` event of one function."""

    def __init__(
        self,
        function: DeployedFunction,
        event: StreamEvent,
        *,
        stream_arn: str,
        destination_arn: str | None,
        invoker: Invoker,
        clients: ClientFactory,
        region: str,
        settings: PollerSettings,
    ) -> None:
        super().__init__(f"{function.display_name}/{event.name}", settings)
        self.function = function
        self.event = event
        self.stream_arn = stream_arn
        self.destination_arn = destination_arn
        self.invoker = invoker
        self.clients = clients
        self.region = region
        self.filters = FilterCriteria(
            event.filter_patterns,
            f"Resources.{function.logical_id}.Properties.Events.{event.name}.FilterCriteria",
        )
        self.table_name = stream_arn.split("/")[1]
        self.shards: list[_Shard] = []

    @property
    def _streams(self) -> Any:
        return self.clients("dynamodbstreams")

    def prepare(self) -> None:
        description = self._streams.describe_stream(StreamArn=self.stream_arn)
        for shard in description["StreamDescription"]["Shards"]:
            self.shards.append(_Shard(shard["ShardId"], self._iterator(shard["ShardId"], None)))

    def _iterator(self, shard_id: str, after: str | None) -> str:
        """An iterator after sequence number `after`, or at the StartingPosition."""
        position: dict[str, str] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
            if after is not None
            else {"ShardIteratorType": self.event.starting_position}
        )
        response = self._streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard_id, **position
        )
        return str(response["ShardIterator"])

    def current_iterators(self) -> set[str]:
        return {shard.iterator for shard in self.shards if shard.iterator}

    def poll_once(self) -> PollResult:
        flush = self.take_flush_request()
        results = [self._poll_shard(shard, flush) for shard in self.shards]
        for outcome in (PollResult.DELIVERED, PollResult.WAITING):
            if outcome in results:
                return outcome
        return PollResult.IDLE

    def _poll_shard(self, shard: _Shard, flush: bool) -> PollResult:
        if shard.iterator is not None:
            self._read(shard)
        if not shard.pending:
            return PollResult.IDLE
        if not (flush or self._batch_ready(shard)):
            return PollResult.WAITING
        batch = shard.pending[: self.event.batch_size]
        del shard.pending[: len(batch)]
        shard.pending_since = time.monotonic() if shard.pending else None
        self.deliver(shard.shard_id, batch)
        return PollResult.DELIVERED

    def _read(self, shard: _Shard) -> None:
        try:
            response = self._streams.get_records(ShardIterator=shard.iterator, Limit=_READ_LIMIT)
        except ClientError as error:
            # Iterators expire (after 15 minutes on AWS; moto's are swept): resume from the
            # last record read, as Lambda resumes from its checkpoint.
            log.info("%s: %s; resuming after %s", self.name, error, shard.last_read)
            shard.iterator = self._iterator(shard.shard_id, shard.last_read)
            return
        shard.iterator = response.get("NextShardIterator")  # None once a shard is closed
        records = [
            to_lambda_record(record, stream_arn=self.stream_arn, region=self.region)
            for record in response.get("Records", ())
        ]
        if records:
            shard.last_read = records[-1]["dynamodb"]["SequenceNumber"]
        matching = [record for record in records if self.filters.matches(record)]
        if matching and not shard.pending:
            shard.pending_since = time.monotonic()
        shard.pending.extend(matching)

    def _batch_ready(self, shard: _Shard) -> bool:
        window = self.event.batching_window_seconds
        waited = time.monotonic() - (shard.pending_since or 0.0)
        return len(shard.pending) >= self.event.batch_size or waited >= window

    # -- delivery and retries ---------------------------------------------------------------

    def deliver(self, shard_id: str, batch: list[dict[str, Any]]) -> None:
        """Invoke the function with `batch`, retrying and giving up as Lambda does."""
        retries = 0
        while batch and not self.stopping:
            invocation = self._invoke(batch)
            failed_from = self._first_failure(invocation, batch)
            if failed_from is None:
                return
            batch = batch[failed_from:]
            if self.event.bisect_on_error and not invocation.ok and len(batch) > 1:
                # Splitting does not use up retry attempts (Lambda's rule).
                half = len(batch) // 2
                self.deliver(shard_id, batch[:half])
                self.deliver(shard_id, batch[half:])
                return
            if 0 <= self.event.maximum_retry_attempts <= retries:
                self._give_up(shard_id, batch, invocation, retries + 1)
                return
            retries += 1
            self.pause(self.retry_delay(retries))

    def _invoke(self, batch: list[dict[str, Any]]) -> Invocation:
        trigger = f"stream {self.table_name} ({len(batch)} records)"
        return self.invoker.invoke(self.function.logical_id, {"Records": batch}, trigger=trigger)

    def _first_failure(self, invocation: Invocation, batch: list[dict[str, Any]]) -> int | None:
        """Index to retry from (Lambda restarts at the lowest failed sequence), or None."""
        sequence_numbers = [record["dynamodb"]["SequenceNumber"] for record in batch]
        failed = failed_item_ids(
            invocation, sequence_numbers, self.event.report_batch_item_failures
        )
        if failed is None:
            return 0
        indexes = [index for index, number in enumerate(sequence_numbers) if number in failed]
        return min(indexes) if indexes else None

    def _give_up(
        self, shard_id: str, batch: list[dict[str, Any]], last: Invocation, invoke_count: int
    ) -> None:
        record = on_failure_record(
            batch,
            shard_id=shard_id,
            stream_arn=self.stream_arn,
            function_arn=self.function.arn,
            last=last,
            invoke_count=invoke_count,
        )
        if self.destination_arn is None:
            log.warning(
                "%s: dropped %d records after %d attempts", self.name, len(batch), invoke_count
            )
            return
        send_to_destination(self.clients, self.destination_arn, json.dumps(record))
        log.warning(
            "%s: %d records sent to %s after %d attempts",
            self.name,
            len(batch),
            self.destination_arn.rsplit(":", 1)[-1],
            invoke_count,
        )
