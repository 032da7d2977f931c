"""The fault run's capacity meter prices an index write by what the index projects: an
update that changes no projected attribute writes nothing to the index (DynamoDB developer
guide, "Provisioned throughput considerations for global secondary indexes")."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore import xform_name
from moto import mock_aws

from entraide_local.faultrun.meter import CapacityMeter, Index

TABLE = "meter-test"


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-3")
        keys = ("pk", "sk", "g1", "g2", "g3")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": name,
                    "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
                    "Projection": projection,
                }
                for name, key, projection in (
                    ("everything", "g1", {"ProjectionType": "ALL"}),
                    ("titles", "g2", {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["title"]}),
                    ("keys", "g3", {"ProjectionType": "KEYS_ONLY"}),
                )
            ],
        )
        yield client


def _meter(client: Any) -> CapacityMeter:
    described = client.describe_table(TableName=TABLE)["Table"]["GlobalSecondaryIndexes"]

    def read_item(key: dict[str, Any]) -> dict[str, Any] | None:
        found: dict[str, Any] | None = client.get_item(TableName=TABLE, Key=key).get("Item")
        return found

    return CapacityMeter(TABLE, [Index.described(index) for index in described], read_item)


def _units_of_update(client: Any, meter: CapacityMeter, expression: str, value: str) -> float:
    """The write units the meter prices for one UpdateItem, as botocore's events give it."""
    params = {
        "TableName": TABLE,
        "Key": {"pk": {"S": "P#1"}, "sk": {"S": "P"}},
        "UpdateExpression": expression,
        "ExpressionAttributeValues": {":v": {"S": value}},
    }
    model = client.meta.service_model.operation_model("UpdateItem")
    context: dict[str, Any] = {}
    before = sum(meter.writes.values())
    with meter.measuring("function"):
        meter.begin(params, model, context)
        client.update_item(**params)
        meter.end(SimpleNamespace(status_code=200), {}, model, context)
    return sum(meter.writes.values()) - before


def test_an_index_is_written_only_when_what_it_projects_changes(client: Any) -> None:
    # Given an item, under 1 KB, in an index of every projection
    client.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": "P#1"},
            "sk": {"S": "P"},
            **{key: {"S": "X"} for key in ("g1", "g2", "g3")},
            "title": {"S": "Hébergement"},
            "note": {"S": "a"},
        },
    )
    meter = _meter(client)

    # When an attribute that only ALL projects changes
    # Then the item and the ALL index are written: two units
    assert _units_of_update(client, meter, "SET note = :v", "b") == 2

    # When the attribute INCLUDE projects changes
    # Then the item, the ALL and the INCLUDE index: three units; KEYS_ONLY never
    assert _units_of_update(client, meter, "SET title = :v", "Repas") == 3

    # When nothing changes that any index holds but the ALL one
    # Then INCLUDE and KEYS_ONLY are not written
    assert _units_of_update(client, meter, "SET note = :v", "c") == 2


def _metered(
    client: Any,
    meter: CapacityMeter,
    operation: str,
    params: dict[str, Any],
    label: str = "decision",
) -> None:
    """One call of the function ``label``, priced from its real answer as botocore's events
    give it to the meter."""
    model = client.meta.service_model.operation_model(operation)
    context: dict[str, Any] = {}
    with meter.measuring(label):
        meter.begin(params, model, context)
        answer = getattr(client, xform_name(operation))(**params)
        meter.end(SimpleNamespace(status_code=200), answer, model, context)


def test_the_units_are_told_item_by_item(client: Any) -> None:
    # Given a post in two indexes, and an effect subject
    client.put_item(
        TableName=TABLE,
        Item={"pk": {"S": "POST#1"}, "sk": {"S": "POST"}, "g1": {"S": "pending"}},
    )
    meter = _meter(client)

    # When one transaction moves the post's index key and puts a subject, checking an
    # activation, and a lone update touches a notice
    client.put_item(TableName=TABLE, Item={"pk": {"S": "ACTIVATION#a"}, "sk": {"S": "ACTIVATION"}})
    _metered(
        client,
        meter,
        "TransactWriteItems",
        {
            "TransactItems": [
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "POST#1"}, "sk": {"S": "POST"}},
                        "UpdateExpression": "SET g1 = :v, g3 = :v",
                        "ExpressionAttributeValues": {":v": {"S": "approved"}},
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {
                            "pk": {"S": "EFFECT#match:1:2"},
                            "sk": {"S": "EFFECT"},
                            "g3": {"S": "DUE#geomatch"},
                        },
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "ACTIVATION#a"}, "sk": {"S": "ACTIVATION"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        },
    )
    _metered(
        client,
        meter,
        "UpdateItem",
        {
            "TableName": TABLE,
            "Key": {"pk": {"S": "NOTICE#p"}, "sk": {"S": "2026-12-07T10:00#1#2"}},
            "UpdateExpression": "SET n = :v",
            "ExpressionAttributeValues": {":v": {"S": "x"}},
        },
    )

    # Then each kind of item is told apart with its operation, its table's units (twice in
    # the transaction) and each index's: a moved key two, an entry one, a check no index
    post = meter.items[("decision", "POST POST", "Update in tx")]
    assert (post.count, post.table, post.indexes) == (1, 2, {"everything": 2, "keys": 1})
    subject = meter.items[("decision", "EFFECT#match EFFECT", "Put in tx")]
    assert (subject.table, subject.indexes) == (2, {"keys": 1})
    check = meter.items[("decision", "ACTIVATION ACTIVATION", "ConditionCheck in tx")]
    assert (check.table, check.indexes) == (2, {})
    notice = meter.items[("decision", "NOTICE <time>", "Update")]
    assert (notice.count, notice.units) == (1, 1)
    # and the items add up to what the function is billed
    assert sum(item.units for item in meter.items.values()) == meter.writes["decision"] == 11


def test_the_reads_are_told_item_by_item(client: Any) -> None:
    # Given a post of 5 KB (two read units of 4 KB) in the ALL index, and three small
    # backlog items of which one is filtered out
    client.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": "POST#1"},
            "sk": {"S": "POST"},
            "g1": {"S": "STATUS#approved"},
            "text": {"S": "é" * 2560},
        },
    )
    for position, state in enumerate(("queued", "queued", "sent")):
        client.put_item(
            TableName=TABLE,
            Item={
                "pk": {"S": "BACKLOG#x"},
                "sk": {"S": f"2026-12-07T10:0{position}"},
                "state": {"S": state},
            },
        )
    meter = _meter(client)
    post_key = {"pk": {"S": "POST#1"}, "sk": {"S": "POST"}}
    get = {"TableName": TABLE, "Key": post_key}

    # When the post is got strongly consistent, then eventually consistent, in a batch and in
    # a transaction, the backlog queried with a filter, and the index queried by status
    _metered(client, meter, "GetItem", {**get, "ConsistentRead": True}, "relay")
    _metered(client, meter, "GetItem", get, "relay")
    _metered(
        client, meter, "BatchGetItem", {"RequestItems": {TABLE: {"Keys": [post_key]}}}, "relay"
    )
    _metered(client, meter, "TransactGetItems", {"TransactItems": [{"Get": get}]}, "relay")
    _metered(
        client,
        meter,
        "Query",
        {
            "TableName": TABLE,
            "KeyConditionExpression": "#p = :pk",
            "FilterExpression": "#s = :queued",
            "ExpressionAttributeNames": {"#p": "pk", "#s": "state"},
            "ExpressionAttributeValues": {":pk": {"S": "BACKLOG#x"}, ":queued": {"S": "queued"}},
            "ConsistentRead": True,
        },
        "relay",
    )
    _metered(
        client,
        meter,
        "Query",
        {
            "TableName": TABLE,
            "IndexName": "everything",
            "KeyConditionExpression": "g1 = :status",
            "ExpressionAttributeValues": {":status": {"S": "STATUS#approved"}},
        },
        "relay",
    )

    # Then each read is told by its kind of item (a query by its partition's prefix and
    # where it reads) and its way: 5 KB is two units consistent, one eventually, four in a
    # transaction; the filtered query one unit all the same; the index query's units the
    # index's
    reads = {way: (t.count, t.table, t.indexes) for way, t in meter.read_items.items()}
    assert reads == {
        ("relay", "POST POST", "GetItem consistent"): (1, 2.0, {}),
        ("relay", "POST POST", "GetItem eventual"): (1, 1.0, {}),
        ("relay", "POST POST", "BatchGetItem eventual"): (1, 1.0, {}),
        ("relay", "POST POST", "Get in tx"): (1, 4.0, {}),
        ("relay", "BACKLOG table", "Query consistent"): (1, 1.0, {}),
        ("relay", "STATUS everything", "Query eventual"): (1, 0.0, {"everything": 1.0}),
    }
    # and the items add up to what the function is billed
    assert sum(t.units for t in meter.read_items.values()) == meter.reads["relay"] == 10
