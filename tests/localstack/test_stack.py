"""The local stack running the test template: HTTP, streams, queues, topics, schedules."""

from __future__ import annotations

import base64
import json
import logging
import os
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from entraide_local.schedules import ManualClock
from entraide_local.stack import LocalStack

from .conftest import read_records, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def records_with(path: Path, marker: str) -> list[dict[str, Any]]:
    """Invocations recorded in `path` whose event mentions `marker`."""
    return [line for line in read_records(path) if marker in json.dumps(line["event"])]


def put_item(stack: LocalStack, **attributes: Any) -> None:
    item = {
        key: {"B": value} if isinstance(value, bytes) else {"S": value}
        for key, value in attributes.items()
    }
    stack.client("dynamodb").put_item(TableName=stack.deployment.physical_id("Table"), Item=item)


# --- API -------------------------------------------------------------------------------------


def test_get_with_path_and_query_parameters(stack: LocalStack) -> None:
    # Given the stack serving GET /items/{id}
    # When a client calls it with a query string
    response = requests.get(stack.api_url + "items/42?status=202&tag=a&tag=b", timeout=10)

    # Then the handler got API Gateway's proxy event and its response came back
    assert response.status_code == 202
    event = response.json()["event"]
    assert event["resource"] == "/items/{id}"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"status": "202", "tag": "b"}
    assert event["multiValueQueryStringParameters"]["tag"] == ["a", "b"]
    assert event["requestContext"]["stage"] == "Prod"
    assert event["requestContext"]["path"] == "/Prod/items/42"
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert event["body"] is None
    assert response.headers["X-Echo"] == "yes"
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert response.headers["x-amzn-RequestId"] == event["requestContext"]["requestId"]


def test_route_of_an_explicit_api_uses_its_stage(stack: LocalStack) -> None:
    event = requests.get(stack.api_url + "public/hello", timeout=10).json()["event"]

    assert event["requestContext"]["stage"] == "v1"
    assert event["requestContext"]["path"] == "/v1/public/hello"
    assert event["requestContext"]["apiId"] == stack.deployment.physical_id("PublicApi")


def test_literal_path_wins_over_path_parameter(stack: LocalStack) -> None:
    response = requests.get(stack.api_url + "items/new", timeout=10)

    assert response.json()["event"]["resource"] == "/items/new"


def test_handler_sees_its_resolved_environment(stack: LocalStack) -> None:
    # When the echo function runs
    body = requests.get(stack.api_url + "items/1", timeout=10).json()

    # Then it saw Globals merged with its own variables, resolved, plus Lambda's
    environment = body["environment"]
    deployment = stack.deployment
    assert environment["TABLE_NAME"] == "localstack-test-Table"
    assert environment["STAGE"] == "dev"
    assert environment["ECHO_NAME"] == "localstack-test-echo"
    assert environment["QUEUE_URL"] == deployment.physical_id("EventsQueue")
    assert environment["STREAM_ARN"] == deployment.get_att("Table", "StreamArn", "test")
    assert environment["PROD_ONLY"] is None
    assert environment["AWS_LAMBDA_FUNCTION_NAME"] == "localstack-test-EchoFunction"
    assert environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert environment["AWS_ENDPOINT_URL"] == stack.endpoint_url
    assert body["table_at_import"] == "localstack-test-Table"  # set during the import too
    assert body["context"]["function_name"] == "localstack-test-EchoFunction"
    assert 0 < body["context"]["remaining_ms"] <= 5000
    assert body["context"]["log_group_name"] == "/entraide/localstack-test/app"  # LoggingConfig
    # and the test process does not keep the function's variables
    assert "ECHO_NAME" not in os.environ


def test_json_and_urlencoded_bodies_are_text(stack: LocalStack) -> None:
    as_json = requests.put(stack.api_url + "echo", json={"title": "Abri"}, timeout=10).json()
    as_form = requests.post(stack.api_url + "echo", data={"nom": "Zoé"}, timeout=10).json()

    assert as_json["event"]["httpMethod"] == "PUT"
    assert json.loads(as_json["event"]["body"]) == {"title": "Abri"}
    assert as_json["event"]["isBase64Encoded"] is False
    assert as_form["event"]["body"] == "nom=Zo%C3%A9"
    assert as_form["event"]["isBase64Encoded"] is False


def test_binary_body_round_trips_base64(stack: LocalStack) -> None:
    photo = b"\x89PNG\r\n\x1a\n\x00\xff" * 100

    response = requests.post(
        stack.api_url + "files/photos/a.png",
        data=photo,
        headers={"Content-Type": "image/png"},
        timeout=10,
    )

    assert response.status_code == 200
    assert response.content == photo
    assert response.headers["Content-Type"] == "application/octet-stream"


def test_unknown_route_or_method_is_403_like_api_gateway(stack: LocalStack) -> None:
    for method, path in (("GET", "nowhere"), ("DELETE", "items/42")):
        response = requests.request(method, stack.api_url + path, timeout=10)

        assert response.status_code == 403
        assert response.json() == {"message": "Missing Authentication Token"}


def test_handler_exception_is_502_with_traceback_on_console(
    stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    failing = requests.get(stack.api_url + "boom", timeout=10)
    malformed = requests.get(stack.api_url + "malformed", timeout=10)
    unserialisable = requests.get(stack.api_url + "malformed?kind=set", timeout=10)

    assert failing.status_code == 502
    assert failing.json() == {"message": "Internal server error"}
    assert "RuntimeError: boom on purpose" in caplog.text
    assert "Traceback" in caplog.text
    assert malformed.status_code == 502
    assert unserialisable.status_code == 502  # Lambda cannot marshal a set
    assert "Runtime.MarshalError" in caplog.text


def test_body_over_ten_megabytes_is_413(stack: LocalStack) -> None:
    response = requests.post(stack.api_url + "echo", data=b"x" * (10 * 1024 * 1024 + 1), timeout=30)

    assert response.status_code == 413


def test_control_api_health(stack: LocalStack) -> None:
    response = requests.get(stack.api_url + "_local/health", timeout=10)

    assert response.json() == {"status": "ok", "stack_name": "localstack-test"}


# --- DynamoDB streams ----------------------------------------------------------------------


def test_stream_record_is_delivered_in_lambda_shape(stack: LocalStack, record_dir: Path) -> None:
    # Given an item written through boto3, as a handler would
    key = unique("stream")
    put_item(stack, pk=key, sk="v1", kind="recorded", photo=b"\x00\x01")

    # When the stack has settled
    stack.drain()

    # Then the subscribed function got one record in Lambda's shape
    [invocation] = records_with(record_dir / "stream-recorder.jsonl", key)
    [record] = invocation["event"]["Records"]
    assert record["eventName"] == "INSERT"
    assert record["eventVersion"] == "1.1"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["awsRegion"] == "eu-west-3"
    assert record["eventSourceARN"] == stack.deployment.get_att("Table", "StreamArn", "test")
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
    assert record["dynamodb"]["NewImage"]["photo"] == {"B": base64.b64encode(b"\x00\x01").decode()}
    assert record["dynamodb"]["Keys"] == {"pk": {"S": key}, "sk": {"S": "v1"}}


def test_stream_records_that_do_not_match_the_filter_are_dropped(
    stack: LocalStack, record_dir: Path
) -> None:
    # Given a matching insert, a modification of it, an unrelated kind and the other pattern
    key = unique("filter")
    put_item(stack, pk=key, sk="recorded", kind="recorded")
    put_item(stack, pk=key, sk="recorded", kind="recorded", note="changed")  # MODIFY
    put_item(stack, pk=key, sk="other", kind="other")
    put_item(stack, pk=key, sk="also", kind="also-this")

    stack.drain()

    # Then only the INSERT of "recorded" and the "also-" prefix were delivered
    delivered = [
        (record["eventName"], record["dynamodb"]["Keys"]["sk"]["S"])
        for invocation in records_with(record_dir / "stream-recorder.jsonl", key)
        for record in invocation["event"]["Records"]
    ]
    assert delivered == [("INSERT", "recorded"), ("INSERT", "also")]


def test_api_write_reaches_the_stream_consumer(stack: LocalStack, record_dir: Path) -> None:
    key = unique("api")

    response = requests.post(
        stack.api_url + "items", json={"pk": key, "sk": "x", "kind": "recorded"}, timeout=10
    )
    stack.drain()

    assert response.status_code == 201
    assert len(records_with(record_dir / "stream-recorder.jsonl", key)) == 1


def test_batch_item_failure_is_retried_from_the_failed_record(
    stack: LocalStack, record_dir: Path
) -> None:
    # Given three records in one batch, the second failing once
    key = unique("retry")
    table = stack.deployment.physical_id("Table")
    items = [("1", "ok"), ("2", "FAIL_ONCE"), ("3", "ok")]
    stack.client("dynamodb").batch_write_item(
        RequestItems={
            table: [
                {
                    "PutRequest": {
                        "Item": {
                            "pk": {"S": key},
                            "sk": {"S": sk},
                            "kind": {"S": "retry-test"},
                            "mode": {"S": mode},
                        }
                    }
                }
                for sk, mode in items
            ]
        }
    )

    # When the stack has settled
    stack.drain()

    # Then the batch was retried from the failed record on, and not delivered again after
    batches = [
        [record["dynamodb"]["Keys"]["sk"]["S"] for record in invocation["event"]["Records"]]
        for invocation in records_with(record_dir / "retry-consumer.jsonl", key)
    ]
    assert batches == [["1", "2", "3"], ["2", "3"]]


def test_exhausted_retries_go_to_the_on_failure_destination(
    stack: LocalStack, record_dir: Path
) -> None:
    # Given a record whose handler raises every time (MaximumRetryAttempts: 1)
    key = unique("poison")
    put_item(stack, pk=key, sk="x", kind="retry-test", mode="FAIL_RAISE")

    stack.drain()

    # Then it was tried twice, then described on the StreamFailures queue
    assert len(records_with(record_dir / "retry-consumer.jsonl", key)) == 2
    sqs = stack.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=stack.deployment.physical_id("StreamFailures"), MaxNumberOfMessages=10
    ).get("Messages", [])
    failures = [json.loads(message["Body"]) for message in messages]
    [failure] = [f for f in failures if f["requestContext"]["approximateInvokeCount"] == 2]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["functionArn"].endswith(
        ":function:localstack-test-RetryConsumer"
    )
    assert failure["responseContext"]["functionError"] == "Unhandled"
    info = failure["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    assert info["streamArn"] == stack.deployment.get_att("Table", "StreamArn", "test")


def test_sweeping_old_stream_iterators_keeps_the_pollers_working(
    stack: LocalStack, record_dir: Path
) -> None:
    # Given pollers that have polled for a while, then two sweeps
    put_item(stack, pk=unique("before-sweep"), sk="x", kind="other")
    stack.drain()
    stack.sweep_stream_iterators()
    forgotten = stack.sweep_stream_iterators()

    # When an item is written afterwards
    key = unique("after-sweep")
    put_item(stack, pk=key, sk="x", kind="recorded")
    stack.drain()

    # Then old iterators were dropped and the record was still delivered
    assert forgotten > 0
    assert len(records_with(record_dir / "stream-recorder.jsonl", key)) == 1


def test_poller_resumes_after_its_stream_iterator_expires(
    stack: LocalStack, record_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="entraide_local")
    # Given a record already delivered, then every stream iterator forgotten by moto
    first = unique("before-expiry")
    put_item(stack, pk=first, sk="x", kind="recorded")
    stack.drain()
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    dynamodbstreams_backends["123456789012"]["eu-west-3"].shard_iterators.clear()

    # When another item is written
    second = unique("after-expiry")
    put_item(stack, pk=second, sk="x", kind="recorded")
    stack.drain()

    # Then the poller resumed after its last record: the new one once, the old one not again
    recorded = record_dir / "stream-recorder.jsonl"
    assert len(records_with(recorded, second)) == 1
    assert len(records_with(recorded, first)) == 1
    assert "resuming after" in caplog.text


# --- SQS and SNS -------------------------------------------------------------------------------


def queue_depth(stack: LocalStack, logical_id: str) -> int:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.deployment.physical_id(logical_id),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def send(stack: LocalStack, body: dict[str, Any], **attributes: str) -> None:
    stack.client("sqs").send_message(
        QueueUrl=stack.deployment.physical_id("EventsQueue"),
        MessageBody=json.dumps(body),
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
        },
    )


def test_sqs_message_is_delivered_in_lambda_shape_and_deleted(
    stack: LocalStack, record_dir: Path
) -> None:
    key = unique("message")

    send(stack, {"kind": "offer", "key": key}, source="test")
    stack.drain()

    [invocation] = records_with(record_dir / "queue-recorder.jsonl", key)
    [record] = invocation["event"]["Records"]
    assert json.loads(record["body"]) == {"kind": "offer", "key": key}
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == stack.deployment.get_att("EventsQueue", "Arn", "test")
    assert record["awsRegion"] == "eu-west-3"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(
        record["attributes"]
    )
    assert record["messageAttributes"]["source"] == {
        "stringValue": "test",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["md5OfBody"]
    assert queue_depth(stack, "EventsQueue") == 0


def test_sqs_message_filtered_out_is_deleted_undelivered(
    stack: LocalStack, record_dir: Path
) -> None:
    key = unique("ignored")

    send(stack, {"kind": "ignored", "key": key})
    stack.drain()

    assert records_with(record_dir / "queue-recorder.jsonl", key) == []
    assert queue_depth(stack, "EventsQueue") == 0


def test_failing_message_is_redriven_to_the_dead_letter_queue(
    stack: LocalStack, record_dir: Path
) -> None:
    # Given a message the function always reports as failed (maxReceiveCount: 2)
    key = unique("dlq")
    send(stack, {"kind": "need", "key": key, "mode": "FAIL_ALWAYS"})

    # When the stack has settled (the visibility timeout is 1 s)
    stack.drain(timeout=20)

    # Then it was received twice, then moved to the dead-letter queue
    receive_counts = [
        invocation["event"]["Records"][0]["attributes"]["ApproximateReceiveCount"]
        for invocation in records_with(record_dir / "queue-recorder.jsonl", key)
    ]
    assert receive_counts == ["1", "2"]
    dead = stack.client("sqs").receive_message(
        QueueUrl=stack.deployment.physical_id("EventsDeadLetterQueue"), MaxNumberOfMessages=10
    )["Messages"]
    assert any(key in message["Body"] for message in dead)


def test_topic_messages_reach_the_queue_through_the_filter_policy(
    stack: LocalStack, record_dir: Path
) -> None:
    # Given a topic whose subscription keeps kind offer and need
    sns = stack.client("sns")
    topic = stack.deployment.physical_id("Topic")
    key = unique("sns")

    # When an offer and something else are published
    for kind in ("offer", "other"):
        sns.publish(
            TopicArn=topic,
            Message=json.dumps({"kind": kind, "key": key}),
            MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}},
        )
    stack.drain()

    # Then only the offer reached the queue's function, raw
    bodies = [
        json.loads(record["body"])
        for invocation in records_with(record_dir / "queue-recorder.jsonl", key)
        for record in invocation["event"]["Records"]
    ]
    assert bodies == [{"kind": "offer", "key": key}]


# --- Schedules ---------------------------------------------------------------------------------


def test_schedule_fired_on_demand_through_the_control_api(
    stack: LocalStack, record_dir: Path
) -> None:
    # When the ticker and the (disabled) monthly report are fired by name
    ticker = requests.post(stack.api_url + "_local/fire/ticker", timeout=10)
    report = requests.post(stack.api_url + "_local/fire/MONTHLYREPORT", timeout=10)
    unknown = requests.post(stack.api_url + "_local/fire/nothing", timeout=10)

    # Then each handler ran with its event and its result came back
    assert ticker.status_code == 200
    assert ticker.json() == {"recorded": True, "function": "localstack-test-Ticker"}
    event = read_records(record_dir / "ticker.jsonl")[-1]["event"]
    assert event["detail-type"] == "Scheduled Event"
    assert event["resources"] == [
        "arn:aws:events:eu-west-3:123456789012:rule/localstack-test-TickerEveryMinute"
    ]
    assert report.status_code == 200
    assert read_records(record_dir / "monthly-report.jsonl")[-1]["event"] == {"report": "monthly"}
    assert unknown.status_code == 404


def test_schedule_fires_on_time(stack: LocalStack, record_dir: Path, clock: ManualClock) -> None:
    # Given the clock 30 s before 06:00 on the 1st of the month, the stack started then
    started = clock.now()
    monthly_reports = len(read_records(record_dir / "monthly-report.jsonl"))
    expected_time = (started + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def fired_on_time() -> list[dict[str, Any]]:
        lines = read_records(record_dir / "ticker.jsonl")
        return [line for line in lines if line["event"].get("time") == expected_time]

    # When a minute passes
    clock.advance(timedelta(seconds=61))

    # Then the rate(1 minute) ticker fired for its first period, the disabled cron did not
    assert len(wait_for(fired_on_time)) == 1
    stack.drain()
    assert len(read_records(record_dir / "monthly-report.jsonl")) == monthly_reports


def test_the_banner_gives_the_outbox_pages_address(stack: LocalStack) -> None:
    # Given the running stack / Then its banner says where to read the emails it sent
    assert f"emails sent        {stack.api_url}_local/outbox" in stack.banner()
    page = requests.get(stack.api_url + "_local/outbox", timeout=10)
    assert page.status_code == 200
    assert "Boîte d'envoi" in page.text


def test_the_banner_says_which_function_invokes_one_without_events(stack: LocalStack) -> None:
    # Given Sleeper, with no event of its own, named in Caller's environment
    banner_lines = stack.banner().splitlines()

    # Then the banner says who invokes it, and "no events" only where nothing does
    assert any(line.split() == ["Sleeper", "invoked", "by", "Caller"] for line in banner_lines)
    assert any(line.split() == ["Napper", "no", "events"] for line in banner_lines)
