"""The table stream's one reader: which change goes to whom, and what a failure does."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer
from botocore.response import StreamingBody
from botocore.stub import Stubber

from entraide.activation.activation_store import activation_to_item
from entraide.adapters.stream_router import (
    ROUTES,
    ConsumerFailed,
    LambdaConsumer,
    dispatch,
    routed,
)
from entraide.intake.post_store import contact_to_item, post_to_item
from entraide.kernel.model import Contact, PostStatus
from entraide_local.filters import FilterCriteria
from entraide_local.template import StreamEvent, load_template
from tests.factories import NOW, make_activation, make_post
from tests.paths import ROOT

_serialise = TypeSerializer().serialize
_sequence = itertools.count(100)


def image(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serialise(value) for name, value in item.items()}


def record(event_name: str, new: Mapping[str, Any] | None, old: Mapping[str, Any] | None = None):
    """A stream record as Lambda delivers it (NEW_AND_OLD_IMAGES) for the table's items."""
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": 1764151200,
        "Keys": image({"pk": (new or old or {})["pk"], "sk": (new or old or {})["sk"]}),
        "SequenceNumber": str(next(_sequence)),
        "SizeBytes": 512,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        dynamodb["NewImage"] = image(new)
    if old is not None:
        dynamodb["OldImage"] = image(old)
    return {
        "eventID": f"e{dynamodb['SequenceNumber']}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-3",
        "dynamodb": dynamodb,
        "eventSourceARN": "arn:aws:dynamodb:eu-west-3:123456789012:table/t/stream/2026",
    }


def post(status: PostStatus) -> dict[str, Any]:
    return post_to_item(make_post(status=status))


def activation(closed: bool) -> dict[str, Any]:
    closed_at = NOW + timedelta(days=2) if closed else None
    return activation_to_item(make_activation(closed_at=closed_at))


def router_filters() -> FilterCriteria:
    template = load_template(ROOT / "template.yaml")
    [source] = template.functions["StreamRouterFunction"].events_of(StreamEvent)
    return FilterCriteria(source.filter_patterns, where="StreamRouterFunction")


def every_kind_of_change() -> list[dict[str, Any]]:
    """Inserts, changes and removals of posts (each status to each), activations and an
    item no one acts on (a contact item)."""
    posts = [post(status) for status in PostStatus]
    activations = [activation(closed=False), activation(closed=True)]
    contact = contact_to_item("P1", Contact("x@example.org", None), "f" * 64, NOW)
    items = [*posts, *activations, contact]
    changes = [record("INSERT", item) for item in items]
    changes += [record("REMOVE", None, item) for item in items]
    changes += [record("MODIFY", new, old) for old, new in itertools.product(posts, posts)]
    changes += [
        record("MODIFY", new, old) for old, new in itertools.product(activations, activations)
    ]
    return changes


def test_the_routes_want_exactly_what_the_routers_filter_criteria_let_through() -> None:
    # Given every kind of change the table makes, and the router's FilterCriteria
    criteria = router_filters()
    for change in every_kind_of_change():
        # When Lambda filters it and the routes look at it
        wanted = any(route.wants(change) for route in ROUTES)
        # Then a record reaches the router if and only if some function acts on it
        assert criteria.matches(change) == wanted, json.dumps(change)[:300]


def test_each_function_gets_the_changes_it_acts_on_in_stream_order() -> None:
    # Given a batch: a new post, its approval, another's refusal, an activation opened,
    # a contact item written with the post, a public post withdrawn, one expired
    new = record("INSERT", post(PostStatus.PENDING))
    approved = record("MODIFY", post(PostStatus.APPROVED), post(PostStatus.PENDING))
    rejected = record("MODIFY", post(PostStatus.REJECTED), post(PostStatus.PENDING))
    opened = record("INSERT", activation(closed=False))
    contact = record("INSERT", contact_to_item("P1", Contact("x@example.org", None), "f" * 64, NOW))
    withdrawn = record("MODIFY", post(PostStatus.WITHDRAWN), post(PostStatus.APPROVED))
    expired = record("MODIFY", post(PostStatus.EXPIRED), post(PostStatus.APPROVED))
    waited = record("MODIFY", post(PostStatus.EXPIRED), post(PostStatus.PENDING))
    # When the batch is routed
    batches = routed([new, contact, approved, opened, rejected, withdrawn, expired, waited])
    # Then moderation sees the new post and both decisions, matching the approval only,
    # activation events the opening, retention the public posts that ended (to take them
    # down from X: a post that never was public has nothing to take down), and no one the
    # contact item
    assert batches == {
        "moderate": [new, approved, rejected],
        "geomatch": [approved],
        "activation_events": [opened],
        "retention": [withdrawn, expired],
    }


class FakeConsumer:
    def __init__(self, fail: Sequence[str] = (), error: Exception | None = None) -> None:
        self.fail, self.error = set(fail), error
        self.received: list[list[str]] = []

    def __call__(self, records: Sequence[Mapping[str, Any]]) -> set[str]:
        self.received.append([r["dynamodb"]["SequenceNumber"] for r in records])
        if self.error is not None:
            raise self.error
        return self.fail & {r["dynamodb"]["SequenceNumber"] for r in records}


def test_what_a_consumer_fails_or_a_consumer_that_fails_fails_its_records_only() -> None:
    # Given moderation failing the approval, matching down, activation events fine
    new = record("INSERT", post(PostStatus.PENDING))
    approved = record("MODIFY", post(PostStatus.APPROVED), post(PostStatus.PENDING))
    opened = record("INSERT", activation(closed=False))
    number = {id(r): r["dynamodb"]["SequenceNumber"] for r in (new, approved, opened)}
    moderate = FakeConsumer(fail=[number[id(approved)]])
    geomatch = FakeConsumer(error=ConsumerFailed("geomatch: Unhandled"))
    events = FakeConsumer()
    consumers = {"moderate": moderate, "geomatch": geomatch, "activation_events": events}
    # When the batch is dispatched
    failed = dispatch([new, approved, opened], consumers)
    # Then each consumer got its records once, and only the approval fails (the stream
    # retries it, and what follows it)
    assert moderate.received == [[number[id(new)], number[id(approved)]]]
    assert geomatch.received == [[number[id(approved)]]]
    assert events.received == [[number[id(opened)]]]
    assert set(failed) == {number[id(approved)]}


def test_a_batch_no_one_wants_invokes_no_one() -> None:
    contact = record("INSERT", contact_to_item("P1", Contact("x@example.org", None), "f" * 64, NOW))
    consumer = FakeConsumer()
    assert dispatch([contact], {"moderate": consumer}) == {}
    assert consumer.received == []


def _invoke_response(payload: Any, function_error: str | None = None) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    response: dict[str, Any] = {
        "StatusCode": 200,
        "Payload": StreamingBody(io.BytesIO(body), len(body)),
    }
    if function_error:
        response["FunctionError"] = function_error
    return response


@pytest.fixture
def lambda_client() -> Any:
    return boto3.client("lambda", region_name="eu-west-3")


def test_a_function_reports_its_partial_failures_through_invoke(lambda_client: Any) -> None:
    # Given moderation answering with one failed record (Lambda's RequestResponse shape)
    new = record("INSERT", post(PostStatus.PENDING))
    approved = record("MODIFY", post(PostStatus.APPROVED), post(PostStatus.PENDING))
    failure = {"batchItemFailures": [{"itemIdentifier": approved["dynamodb"]["SequenceNumber"]}]}
    consumer = LambdaConsumer("stack-ModerateFunction", timeout_seconds=30, client=lambda_client)
    with Stubber(lambda_client) as stub:
        stub.add_response(
            "invoke",
            _invoke_response(failure),
            {
                "FunctionName": "stack-ModerateFunction",
                "InvocationType": "RequestResponse",
                "Payload": json.dumps({"Records": [new, approved]}).encode(),
            },
        )
        # When the records are handed over
        failed = consumer([new, approved])
    # Then the record the function failed is the one reported
    assert failed == {approved["dynamodb"]["SequenceNumber"]}


@pytest.mark.parametrize(
    ("payload", "function_error"),
    [
        pytest.param({"errorMessage": "boom", "errorType": "KeyError"}, "Unhandled", id="error"),
        pytest.param({"batchItemFailures": [{"itemIdentifier": "999"}]}, None, id="unknown id"),
        pytest.param({"batchItemFailures": [{"itemIdentifier": ""}]}, None, id="empty id"),
    ],
)
def test_a_failed_function_or_a_malformed_answer_fails_the_whole_batch(
    lambda_client: Any, payload: dict[str, Any], function_error: str | None
) -> None:
    # Given a function that fails, or answers with an identifier not in the batch
    new = record("INSERT", post(PostStatus.PENDING))
    consumer = LambdaConsumer("stack-ModerateFunction", timeout_seconds=30, client=lambda_client)
    with Stubber(lambda_client) as stub:
        stub.add_response("invoke", _invoke_response(payload, function_error))
        # When the record is handed over
        if function_error:
            with pytest.raises(ConsumerFailed):
                consumer([new])
            return
        failed = consumer([new])
    # Then every record of the batch counts as failed, as Lambda rules for streams
    assert failed == {new["dynamodb"]["SequenceNumber"]}
