"""``entraide dlq``: what the failure queues hold, and sending it back, against moto's SQS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from entraide.adapters.failure_queues import Redrive, count, held

ROUTER = "arn:aws:lambda:eu-west-3:123456789012:function:stream-router"
MODERATE = "arn:aws:lambda:eu-west-3:123456789012:function:moderate"
#: Lambda's on-failure record of an asynchronous invocation (developer guide, "Adding a
#: destination"): the event is kept in requestPayload.
SCHEDULED_FAILURE = {
    "version": "1.0",
    "timestamp": "2026-12-07T02:00:00.000Z",
    "requestContext": {
        "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
        "functionArn": f"{MODERATE}:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    },
    "requestPayload": {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}},
    "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
}
#: Lambda's on-failure record of a stream batch: metadata only (developer guide).
STREAM_FAILURE = {
    "requestContext": {"functionArn": ROUTER, "condition": "RetryAttemptsExhausted"},
    "timestamp": "2026-12-07T02:00:00.000Z",
    "DDBStreamBatchInfo": {
        "shardId": "shardId-00000001",
        "startSequenceNumber": "100",
        "endSequenceNumber": "102",
        "batchSize": 3,
        "streamArn": "arn:aws:dynamodb:eu-west-3:123456789012:table/t/stream/2026",
    },
}


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="eu-west-3")


def queue(sqs: Any, name: str, *bodies: dict[str, Any]) -> str:
    url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    return url


def test_the_relay_dead_letters_go_back_to_the_relay_queue(sqs: Any) -> None:
    # Given a message to X dead-lettered
    message = {"event": "post-approved", "post_id": "P1"}
    dead, relay = queue(sqs, "relay-dlq", message), queue(sqs, "relay")
    [shown] = list(held(sqs, "relay", dead))
    assert shown.summary.startswith("post-approved P1")
    # When the operator redrives the queue (the message shown is visible again later)
    sqs.change_message_visibility(QueueUrl=dead, ReceiptHandle=shown.receipt, VisibilityTimeout=0)
    done, problems = Redrive(sqs, "relay", dead, relay_queue_url=relay).run()
    # Then it is back in the relay's queue, and gone from the dead letters
    assert (done, problems) == (1, [])
    [back] = sqs.receive_message(QueueUrl=relay)["Messages"]
    assert json.loads(back["Body"]) == message
    assert count(sqs, dead) == 0


def test_a_failed_scheduled_run_is_invoked_again_with_its_event(sqs: Any) -> None:
    url = queue(sqs, "scheduled-failures", SCHEDULED_FAILURE)
    invoked: list[tuple[str, dict[str, Any], bool]] = []
    done, _ = Redrive(sqs, "scheduled", url, invoke=lambda *a: invoked.append(a)).run()
    assert done == 1
    assert invoked == [(f"{MODERATE}:$LATEST", SCHEDULED_FAILURE["requestPayload"], False)]
    assert count(sqs, url) == 0


def test_a_given_up_stream_batch_is_read_again_and_handed_to_the_router(sqs: Any) -> None:
    url = queue(sqs, "stream-failures", STREAM_FAILURE)
    records = [{"eventName": "INSERT", "dynamodb": {"SequenceNumber": str(n)}} for n in (100, 101)]
    asked: list[dict[str, Any]] = []
    invoked: list[tuple[str, dict[str, Any], bool]] = []

    def read(batch: dict[str, Any]) -> list[dict[str, Any]]:
        asked.append(batch)
        return records

    def invoke(function: str, event: dict[str, Any], sync: bool) -> dict[str, Any]:
        invoked.append((function, event, sync))
        return {"batchItemFailures": []}

    done, _ = Redrive(sqs, "stream", url, invoke=invoke, read_stream=read).run()
    assert done == 1
    assert asked == [STREAM_FAILURE["DDBStreamBatchInfo"]]
    assert invoked == [(ROUTER, {"Records": records}, True)]


def test_a_batch_gone_from_the_stream_or_failing_again_stays_in_the_queue(sqs: Any) -> None:
    url = queue(sqs, "stream-failures", STREAM_FAILURE)
    # records older than the stream's 24 hours: nothing to hand over
    done, problems = Redrive(
        sqs, "stream", url, invoke=lambda *a: None, read_stream=lambda batch: []
    ).run()
    assert done == 0
    assert "no longer in the stream" in problems[0]
    assert count(sqs, url) == 1
