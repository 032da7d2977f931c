"""Pure conversions of the local stack: routes, proxy events, records, schedules, filters."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from entraide_local.api import (
    HttpRequest,
    MalformedProxyResponse,
    Route,
    RouteTable,
    http_response,
    proxy_event,
)
from entraide_local.filters import FilterCriteria, sqs_filter_view
from entraide_local.invoke import Invocation
from entraide_local.polling import failed_item_ids
from entraide_local.queues import to_lambda_record as sqs_record
from entraide_local.schedules import (
    aws_cron_to_croniter,
    parse_schedule,
    scheduled_event,
)
from entraide_local.streams import on_failure_record
from entraide_local.streams import to_lambda_record as stream_record
from entraide_local.template import TemplateError

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


def route(path: str, method: str = "GET") -> Route:
    return Route("Fn", method, path, "api0000001", "Prod")


# --- API Gateway ---------------------------------------------------------------------------


def test_routes_prefer_literals_then_parameters_then_greedy_paths() -> None:
    table = RouteTable([route("/files/{proxy+}", "ANY"), route("/items/{id}"), route("/items/new")])

    assert table.find("GET", "/items/new") == (route("/items/new"), {})
    assert table.find("GET", "/items/42/") == (route("/items/{id}"), {"id": "42"})
    assert table.find("PUT", "/files/a/b%20c.txt") == (
        route("/files/{proxy+}", "ANY"),
        {"proxy": "a/b%20c.txt"},  # REST APIs do not decode path parameters
    )
    assert table.find("POST", "/items/42") is None  # API Gateway: 403
    assert table.find("GET", "/files") is None  # {proxy+} needs at least one segment


def request(body: bytes = b"", content_type: str | None = None, target: str = "/") -> HttpRequest:
    headers = [("Host", "127.0.0.1:3000"), ("User-Agent", "pytest")]
    if content_type:
        headers.append(("Content-Type", content_type))
    return HttpRequest("POST", target, headers, body, "127.0.0.1", "127.0.0.1:3000")


def test_proxy_event_has_api_gateway_rest_shape() -> None:
    event = proxy_event(
        route("/items/{id}", "POST"),
        {"id": "7"},
        request(b'{"a": 1}', "application/json", "/items/7?x=1&x=2&y="),
        account_id="123456789012",
        now=NOW,
    )

    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/7"
    assert event["pathParameters"] == {"id": "7"}
    assert event["queryStringParameters"] == {"x": "2", "y": ""}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": [""]}
    assert event["headers"]["Content-Type"] == "application/json"
    assert event["multiValueHeaders"]["X-Forwarded-For"] == ["127.0.0.1"]
    assert event["body"] == '{"a": 1}'
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["path"] == "/Prod/items/7"
    assert context["requestTimeEpoch"] == int(NOW.timestamp() * 1000)
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "pytest"


def test_binary_bodies_are_base64_and_empty_bodies_null() -> None:
    binary = proxy_event(
        route("/"), {}, request(b"\x89PNG\x00", "image/png"), account_id="1", now=NOW
    )
    empty = proxy_event(route("/"), {}, request(), account_id="1", now=NOW)

    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\x89PNG\x00"
    assert (empty["body"], empty["queryStringParameters"], empty["pathParameters"]) == (
        None,
        None,
        None,
    )


def test_proxy_result_becomes_http_response() -> None:
    response = http_response(
        {
            "statusCode": 201,
            "headers": {"Location": "/items/1", "Set-Cookie": "a=1"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }
    )

    assert response.status == 201
    assert response.body == b"\x00\x01"
    assert response.headers == [
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("Location", "/items/1"),
        ("Content-Type", "application/json"),  # API Gateway's default
    ]


@pytest.mark.parametrize(
    "result",
    ["text", {"statusCode": "abc"}, {"body": "no status"}, {"statusCode": 200, "body": {"a": 1}}],
)
def test_malformed_proxy_results_are_rejected(result: Any) -> None:
    with pytest.raises(MalformedProxyResponse):
        http_response(result)


# --- Records ---------------------------------------------------------------------------------


def test_stream_record_is_converted_to_lambda_shape() -> None:
    raw = {
        "eventID": "e1",
        "eventName": "INSERT",
        "eventVersion": "1.0",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": NOW,
            "Keys": {"pk": {"B": b"\x00\x01"}},
            "NewImage": {"pk": {"B": b"\x00\x01"}, "m": {"M": {"bs": {"BS": [b"\xff"]}}}},
            "SequenceNumber": "100",
            "SizeBytes": 10,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }

    record = stream_record(raw, stream_arn="arn:stream", region="eu-west-3")

    assert record["eventVersion"] == "1.1"
    assert record["awsRegion"] == "eu-west-3"
    assert record["eventSourceARN"] == "arn:stream"
    assert record["dynamodb"]["ApproximateCreationDateTime"] == int(NOW.timestamp())
    assert record["dynamodb"]["Keys"] == {"pk": {"B": "AAE="}}
    assert record["dynamodb"]["NewImage"]["m"] == {"M": {"bs": {"BS": ["/w=="]}}}
    json.dumps(record)  # nothing left that JSON cannot carry


def test_sqs_message_is_converted_to_lambda_shape() -> None:
    message = {
        "MessageId": "m1",
        "ReceiptHandle": "r1",
        "MD5OfBody": "md5",
        "Body": '{"kind": "offer"}',
        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1"},
        "MessageAttributes": {
            "kind": {"StringValue": "offer", "DataType": "String"},
            "raw": {"BinaryValue": b"\x01", "DataType": "Binary"},
        },
    }

    record = sqs_record(message, queue_arn="arn:aws:sqs:eu-west-3:1:q", region="eu-west-3")

    assert record["messageAttributes"] == {
        "kind": {
            "stringValue": "offer",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "raw": {
            "binaryValue": "AQ==",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }
    assert (record["eventSource"], record["eventSourceARN"]) == (
        "aws:sqs",
        "arn:aws:sqs:eu-west-3:1:q",
    )
    assert sqs_filter_view(record)["body"] == {"kind": "offer"}


def invocation(value: Any = None, error: BaseException | None = None) -> Invocation:
    return Invocation(None, "test", "request-1", 1, value, error)  # type: ignore[arg-type]


def test_batch_item_failures_follow_lambda_rules() -> None:
    ids = ["1", "2", "3"]

    assert failed_item_ids(invocation(None), ids, True) == set()
    assert failed_item_ids(invocation({"batchItemFailures": []}), ids, True) == set()
    assert failed_item_ids(
        invocation({"batchItemFailures": [{"itemIdentifier": "2"}]}), ids, True
    ) == {"2"}
    assert (
        failed_item_ids(invocation({"batchItemFailures": [{"itemIdentifier": "9"}]}), ids, True)
        is None
    )
    assert (
        failed_item_ids(invocation({"batchItemFailures": [{"itemIdentifier": ""}]}), ids, True)
        is None
    )
    assert failed_item_ids(invocation(error=ValueError()), ids, True) is None
    # Without ReportBatchItemFailures the response is ignored
    assert (
        failed_item_ids(invocation({"batchItemFailures": [{"itemIdentifier": "2"}]}), ids, False)
        == set()
    )


def test_on_failure_record_describes_the_batch() -> None:
    batch = [
        {"dynamodb": {"SequenceNumber": "10", "ApproximateCreationDateTime": 1_700_000_000}},
        {"dynamodb": {"SequenceNumber": "11", "ApproximateCreationDateTime": 1_700_000_001}},
    ]

    record = on_failure_record(
        batch,
        shard_id="shard-1",
        stream_arn="arn:stream",
        function_arn="arn:function",
        last=invocation(error=ValueError("x")),
        invoke_count=3,
    )

    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["DDBStreamBatchInfo"] == {
        "shardId": "shard-1",
        "startSequenceNumber": "10",
        "endSequenceNumber": "11",
        "approximateArrivalOfFirstRecord": "2023-11-14T22:13:20Z",
        "approximateArrivalOfLastRecord": "2023-11-14T22:13:21Z",
        "batchSize": 2,
        "streamArn": "arn:stream",
    }


# --- Filters ---------------------------------------------------------------------------------


def new_image(**attributes: str) -> dict[str, Any]:
    image = {key: {"S": value} for key, value in attributes.items()}
    return {"eventName": "INSERT", "dynamodb": {"NewImage": image}}


def test_filter_patterns_match_like_lambda() -> None:
    criteria = FilterCriteria(
        [
            '{"dynamodb": {"NewImage": {"status": {"S": ["pending"]}}}}',
            '{"dynamodb": {"NewImage": {"title": {"S": [{"prefix": "urgent"}]}}}}',
            '{"dynamodb": {"NewImage": {"status": {"S": [{"anything-but": ["pending"]}]},'
            ' "flag": {"S": [{"exists": true}]}}}}',
        ],
        "test",
    )

    assert criteria.matches(new_image(status="pending"))
    assert criteria.matches(new_image(status="approved", title="urgent: roof"))
    assert criteria.matches(new_image(status="approved", flag="x"))
    assert not criteria.matches(new_image(status="approved"))
    assert FilterCriteria([], "none").matches({"anything": 1})


def test_invalid_filter_pattern_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match=r"^Where.Filters\[0\].Pattern"):
        FilterCriteria(['{"status": "pending"}'], "Where")


# --- Schedules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("aws", "croniter"),
    [
        ("0 6 1 * ? *", "0 6 1 * * 0 *"),
        ("0 12 ? * 2-6 *", "0 12 * * 1-5 0 *"),  # AWS MON-FRI is 2-6
        ("0/15 * ? * MON-FRI *", "0/15 * * * MON-FRI 0 *"),
        ("0 10 ? * 6#3 2027", "0 10 * * 5#3 0 2027"),
        ("0 0 ? * 1,7 *", "0 0 * * 0,6 0 *"),
    ],
)
def test_aws_cron_becomes_croniter_syntax(aws: str, croniter: str) -> None:
    assert aws_cron_to_croniter(aws) == croniter


def test_schedules_give_their_next_time() -> None:
    assert parse_schedule("rate(15 minutes)").next_after(NOW) == NOW + timedelta(minutes=15)
    assert parse_schedule("rate(1 day)").next_after(NOW) == NOW + timedelta(days=1)
    monthly = parse_schedule("cron(0 6 1 * ? *)")
    assert monthly.next_after(NOW) == datetime(2026, 4, 1, 6, 0, tzinfo=UTC)
    weekdays_noon = parse_schedule("cron(0 12 ? * 2-6 *)")
    friday = datetime(2026, 3, 6, 13, 0, tzinfo=UTC)
    assert weekdays_noon.next_after(friday) == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    paris = parse_schedule("cron(0 8 * * ? *)", "Europe/Paris")
    assert paris.next_after(NOW) == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
    once = parse_schedule("at(2026-03-02T12:00:00)")
    assert once.next_after(NOW) == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert once.next_after(NOW + timedelta(hours=3)) is None
    with pytest.raises(TemplateError):
        parse_schedule("every 5 minutes")


def test_scheduled_event_has_eventbridge_shape() -> None:
    event = scheduled_event("arn:rule", NOW, region="eu-west-3", account="123456789012")

    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["time"] == "2026-03-02T10:00:00Z"
    assert event["resources"] == ["arn:rule"]
    assert event["detail"] == {}
