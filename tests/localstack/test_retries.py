"""Lambda's retry policy for stream batches, with a fake function (no moto)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from entraide_local.invoke import Invocation
from entraide_local.polling import PollerSettings
from entraide_local.provision import DeployedFunction
from entraide_local.streams import StreamPoller
from entraide_local.template import FunctionSpec, StreamEvent

FUNCTION = DeployedFunction(
    FunctionSpec("Consumer", Path("consumer"), "app.handler", None, 3, 128, {}),
    name="stack-Consumer",
    arn="arn:aws:lambda:eu-west-3:123456789012:function:stack-Consumer",
    environment={},
    display_name="consumer",
    log_group_name="/aws/lambda/stack-Consumer",
)


class FakeInvoker:
    """Fails records whose key is in `raising` (exception) or `reported` (batch item failure)."""

    def __init__(
        self, raising: frozenset[str] = frozenset(), reported: frozenset[str] = frozenset()
    ) -> None:
        self.raising, self.reported = raising, reported
        self.batches: list[list[str]] = []

    def invoke(self, logical_id: str, event: Any, *, trigger: str) -> Invocation:
        keys = [record["dynamodb"]["Keys"]["pk"]["S"] for record in event["Records"]]
        self.batches.append(keys)
        if self.raising & set(keys):
            return Invocation(FUNCTION, trigger, "id", 1, error=ValueError("poison"))
        failures = [
            {"itemIdentifier": record["dynamodb"]["SequenceNumber"]}
            for record in event["Records"]
            if record["dynamodb"]["Keys"]["pk"]["S"] in self.reported
        ]
        return Invocation(FUNCTION, trigger, "id", 1, value={"batchItemFailures": failures})


def records(*keys: str) -> list[dict[str, Any]]:
    return [
        {"dynamodb": {"Keys": {"pk": {"S": key}}, "SequenceNumber": str(100 + index)}}
        for index, key in enumerate(keys)
    ]


def poller(invoker: FakeInvoker, **settings: Any) -> StreamPoller:
    event = StreamEvent("Events", stream=None, **settings)
    return StreamPoller(
        FUNCTION,
        event,
        stream_arn="arn:aws:dynamodb:eu-west-3:123456789012:table/t/stream/1",
        destination_arn=None,
        invoker=invoker,  # type: ignore[arg-type]
        clients=lambda service: None,
        region="eu-west-3",
        settings=PollerSettings(retry_delay=0.0),
    )


def test_reported_failure_is_retried_from_the_lowest_failed_record_then_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a record reported as failed every time, two retries allowed
    invoker = FakeInvoker(reported=frozenset("b"))
    stream = poller(invoker, maximum_retry_attempts=2, report_batch_item_failures=True)

    # When the batch is delivered
    stream.deliver("shard", records("a", "b", "c"))

    # Then retries restart at the failed record, and the rest is dropped after the last one
    assert invoker.batches == [["a", "b", "c"], ["b", "c"], ["b", "c"]]
    assert "dropped 2 records after 3 attempts" in caplog.text


def test_function_error_bisects_the_batch_down_to_the_poison_record() -> None:
    invoker = FakeInvoker(raising=frozenset("c"))
    stream = poller(invoker, maximum_retry_attempts=0, bisect_on_error=True)

    stream.deliver("shard", records("a", "b", "c", "d"))

    assert invoker.batches == [["a", "b", "c", "d"], ["a", "b"], ["c", "d"], ["c"], ["d"]]


def test_without_report_batch_item_failures_the_response_is_ignored() -> None:
    invoker = FakeInvoker(reported=frozenset("b"))
    stream = poller(invoker, maximum_retry_attempts=2)

    stream.deliver("shard", records("a", "b"))

    assert invoker.batches == [["a", "b"]]
