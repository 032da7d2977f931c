"""moto inside the local stack: transactions undone in place, no instance tracking, index lag."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from entraide_local import moto_fixes
from entraide_local.stack import LocalStack

REGION = "eu-west-3"

TABLE_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - { AttributeName: pk, AttributeType: S }
        - { AttributeName: sk, AttributeType: S }
        - { AttributeName: gsi1pk, AttributeType: S }
        - { AttributeName: gsi1sk, AttributeType: S }
      KeySchema:
        - { AttributeName: pk, KeyType: HASH }
        - { AttributeName: sk, KeyType: RANGE }
      GlobalSecondaryIndexes:
        - IndexName: gsi1
          KeySchema:
            - { AttributeName: gsi1pk, KeyType: HASH }
            - { AttributeName: gsi1sk, KeyType: RANGE }
          Projection: { ProjectionType: ALL }
      StreamSpecification:
        StreamViewType: NEW_AND_OLD_IMAGES
"""


def item(pk: str, **attributes: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "x"}, **{k: {"S": v} for k, v in attributes.items()}}


@pytest.fixture
def table() -> Iterator[tuple[Any, Any, str]]:
    """A table with a stream in moto's in-process mock, the fixes installed."""
    moto_fixes.install()
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        description = dynamodb.create_table(
            TableName="fixes",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        streams = boto3.client("dynamodbstreams", region_name=REGION)
        yield dynamodb, streams, description["LatestStreamArn"]


def iterator_at_end(streams: Any, stream_arn: str) -> str:
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    return str(
        streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
        )["ShardIterator"]
    )


def failing_transaction(dynamodb: Any, *writes: dict[str, Any]) -> ClientError:
    """Run `writes` plus a condition that fails; the error moto answered."""
    check = {
        "ConditionCheck": {
            "TableName": "fixes",
            "Key": {"pk": {"S": "absent"}, "sk": {"S": "x"}},
            "ConditionExpression": "attribute_exists(pk)",
        }
    }
    with pytest.raises(ClientError) as failure:
        dynamodb.transact_write_items(TransactItems=[*writes, check])
    return failure.value


def test_a_failed_transaction_leaves_the_stream_readable(table: tuple[Any, Any, str]) -> None:
    # Given a reader at the end of the table's stream
    dynamodb, streams, stream_arn = table
    dynamodb.put_item(TableName="fixes", Item=item("before"))
    iterator = iterator_at_end(streams, stream_arn)

    # When a transaction fails, then an item is written
    error = failing_transaction(dynamodb, {"Put": {"TableName": "fixes", "Item": item("ghost")}})
    dynamodb.put_item(TableName="fixes", Item=item("after"))

    # Then moto answered as before (cancelled, with its reasons) and wrote nothing of it
    assert error.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [reason["Code"] for reason in error.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    assert "Item" not in dynamodb.get_item(
        TableName="fixes", Key={"pk": {"S": "ghost"}, "sk": {"S": "x"}}
    )
    # and the reader, still on the same stream, sees the next write and nothing else
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == ["after"]


def test_a_failed_transaction_puts_back_what_it_changed(table: tuple[Any, Any, str]) -> None:
    dynamodb, streams, stream_arn = table
    dynamodb.put_item(TableName="fixes", Item=item("updated", v="1"))
    dynamodb.put_item(TableName="fixes", Item=item("deleted", v="1"))
    iterator = iterator_at_end(streams, stream_arn)

    failing_transaction(
        dynamodb,
        {
            "Update": {
                "TableName": "fixes",
                "Key": {"pk": {"S": "updated"}, "sk": {"S": "x"}},
                "UpdateExpression": "SET v = :two",
                "ExpressionAttributeValues": {":two": {"S": "2"}},
            }
        },
        {"Delete": {"TableName": "fixes", "Key": {"pk": {"S": "deleted"}, "sk": {"S": "x"}}}},
    )

    items = dynamodb.scan(TableName="fixes")["Items"]
    assert sorted((i["pk"]["S"], i["v"]["S"]) for i in items) == [
        ("deleted", "1"),
        ("updated", "1"),
    ]
    assert streams.get_records(ShardIterator=iterator)["Records"] == []


def test_moto_models_are_no_longer_tracked(table: tuple[Any, Any, str]) -> None:
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import StreamRecord

    dynamodb, _, _ = table
    for index in range(20):
        dynamodb.put_item(TableName="fixes", Item=item(f"tracked-{index}"))

    assert Item.instances_tracked == []  # type: ignore[attr-defined]
    assert StreamRecord.instances_tracked == []  # type: ignore[attr-defined]


def test_stream_records_past_their_retention_are_dropped(table: tuple[Any, Any, str]) -> None:
    # Given two records in the stream, and a reader at its end
    dynamodb, streams, stream_arn = table
    for key in ("old-1", "old-2"):
        dynamodb.put_item(TableName="fixes", Item=item(key))
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    horizon = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    last = streams.get_records(ShardIterator=horizon)["Records"][-1]["dynamodb"]["SequenceNumber"]
    reader = iterator_at_end(streams, stream_arn)

    # When they are older than the retention (here: any age), then an item is written
    assert moto_fixes.trim_stream_records("123456789012", REGION, timedelta(0)) == 2
    dynamodb.put_item(TableName="fixes", Item=item("new"))

    # Then the stream starts after them, and numbering goes on where it was
    horizon = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert [
        r["dynamodb"]["Keys"]["pk"]["S"]
        for r in streams.get_records(ShardIterator=horizon)["Records"]
    ] == ["new"]
    [record] = streams.get_records(ShardIterator=reader)["Records"]
    assert int(record["dynamodb"]["SequenceNumber"]) == int(last) + 1


# --- 4. a query reads its partition ------------------------------------------------------


def _paged(query: Any, **request: Any) -> list[dict[str, Any]]:
    """Every item a query names, page after page (``Limit`` small, to cross pages)."""
    found: list[dict[str, Any]] = []
    while True:
        page = query(**request)
        found += page["Items"]
        if "LastEvaluatedKey" not in page:
            return found
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_queries_answer_from_their_partition_what_the_whole_table_holds() -> None:
    # Given a table and its index holding 300 items in 12 partitions (a third of them
    # outside the index), and a table keyed by its partition alone, the fixes installed
    moto_fixes.install()
    draw = random.Random(4)
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for n in range(300):
        row = {"pk": f"P{draw.randrange(12)}", "sk": f"{n:04d}"}
        if n % 3:
            row |= {"gsi1pk": f"G{draw.randrange(5)}", "gsi1sk": f"{draw.randrange(50):03d}"}
        rows[row["pk"], row["sk"]] = row
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        keys = [("pk", "S"), ("sk", "S"), ("gsi1pk", "S"), ("gsi1sk", "S")]
        dynamodb.create_table(
            TableName="paged",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in keys],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "gsi1",
                    "KeySchema": [
                        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.create_table(
            TableName="single",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for row in rows.values():
            dynamodb.put_item(TableName="paged", Item={k: {"S": v} for k, v in row.items()})
        for n in range(20):
            dynamodb.put_item(TableName="single", Item={"pk": {"S": f"S{n}"}})

        def key(row: dict[str, str]) -> dict[str, Any]:
            return {"pk": {"S": row["pk"]}, "sk": {"S": row["sk"]}}

        def check() -> None:
            for partition in ("P3", "P7", "P99"):
                expected = sorted(k for k in rows if k[0] == partition)
                assert (
                    answer(
                        KeyConditionExpression="pk = :p",
                        ExpressionAttributeValues={":p": {"S": partition}},
                    )
                    == expected
                )
                assert answer(
                    KeyConditionExpression="pk = :p AND sk > :s",
                    ExpressionAttributeValues={":p": {"S": partition}, ":s": {"S": "0150"}},
                    ScanIndexForward=False,
                ) == sorted((k for k in expected if k[1] > "0150"), reverse=True)
            for partition in ("G0", "G4", "G9"):
                ordered = sorted(
                    (r for r in rows.values() if r.get("gsi1pk") == partition),
                    key=lambda r: (r["gsi1sk"], r["pk"], r["sk"]),
                )
                assert answer(
                    IndexName="gsi1",
                    KeyConditionExpression="gsi1pk = :p",
                    ExpressionAttributeValues={":p": {"S": partition}},
                ) == [(r["pk"], r["sk"]) for r in ordered]
                assert answer(
                    IndexName="gsi1",
                    KeyConditionExpression="gsi1pk = :p AND gsi1sk <= :s",
                    ExpressionAttributeValues={":p": {"S": partition}, ":s": {"S": "020"}},
                    ScanIndexForward=False,
                ) == [(r["pk"], r["sk"]) for r in reversed(ordered) if r["gsi1sk"] <= "020"]

        def answer(**request: Any) -> list[tuple[str, str]]:
            items = _paged(dynamodb.query, TableName="paged", Limit=7, **request)
            return [(i["pk"]["S"], i["sk"]["S"]) for i in items]

        # When the table's partitions and the index's are queried, both ways, in pages
        # Then each answer is what the table holds, in the key's order
        check()
        # ...and again after items moved between index partitions, left the index, were
        # put again and deleted, and after a transaction that failed half-way
        listed = sorted(k for k, r in rows.items() if "gsi1pk" in r)
        for k in listed[:40]:
            dynamodb.update_item(
                TableName="paged",
                Key=key(rows[k]),
                UpdateExpression="SET gsi1pk = :p",
                ExpressionAttributeValues={":p": {"S": "G9"}},
            )
            rows[k]["gsi1pk"] = "G9"
        for k in listed[40:60]:
            dynamodb.update_item(
                TableName="paged", Key=key(rows[k]), UpdateExpression="REMOVE gsi1pk"
            )
            del rows[k]["gsi1pk"]
        for k in listed[60:80]:
            dynamodb.delete_item(TableName="paged", Key=key(rows.pop(k)))
        for k in listed[80:90]:
            rows[k] |= {"gsi1pk": "G4", "gsi1sk": "000"}
            dynamodb.put_item(TableName="paged", Item={a: {"S": v} for a, v in rows[k].items()})
        moved, absent = rows[listed[90]], {"pk": "P0", "sk": "none"}
        with pytest.raises(ClientError, match="TransactionCanceled"):
            dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": "paged",
                            "Key": key(moved),
                            "UpdateExpression": "SET gsi1pk = :p",
                            "ExpressionAttributeValues": {":p": {"S": "G0"}},
                        }
                    },
                    {
                        "Update": {
                            "TableName": "paged",
                            "Key": key(absent),
                            "UpdateExpression": "SET gsi1pk = :p",
                            "ExpressionAttributeValues": {":p": {"S": "G0"}},
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                ]
            )
        check()
        assert dynamodb.query(
            TableName="single",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "S5"}},
        )["Items"] == [{"pk": {"S": "S5"}}]
        assert (
            dynamodb.query(
                TableName="single",
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": "S50"}},
            )["Items"]
            == []
        )


# --- through the local stack ---------------------------------------------------------------


def test_stopping_the_stack_turns_the_lag_off(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(TABLE_TEMPLATE)
    with LocalStack(tmp_path / "template.yaml", stack_name="lag-off", index_lag=5.0):
        assert moto_fixes.INDEX_LAG.seconds == 5.0
    assert moto_fixes.INDEX_LAG.seconds == 0.0


@pytest.fixture(scope="module")
def lagging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    directory = tmp_path_factory.mktemp("lag")
    (directory / "template.yaml").write_text(TABLE_TEMPLATE)
    with LocalStack(directory / "template.yaml", stack_name="lagging", index_lag=0.6) as stack:
        yield stack


def in_index(stack: LocalStack, partition: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = stack.client("dynamodb").query(
        TableName=stack.deployment.physical_id("Table"),
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :p",
        ExpressionAttributeValues={":p": {"S": partition}},
    )["Items"]
    return items


def test_an_index_shows_writes_only_after_the_lag(lagging: LocalStack) -> None:
    dynamodb = lagging.client("dynamodb")
    table = lagging.deployment.physical_id("Table")
    key = {"pk": {"S": "lag"}, "sk": {"S": "x"}}

    # When an item is written, the table has it at once, the index not yet
    dynamodb.put_item(TableName=table, Item={**key, "gsi1pk": {"S": "P"}, "gsi1sk": {"S": "1"}})
    assert "Item" in dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)
    assert in_index(lagging, "P") == []
    time.sleep(0.7)
    assert [i["gsi1sk"]["S"] for i in in_index(lagging, "P")] == ["1"]

    # When it moves to another index partition, the index shows where it was
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET gsi1pk = :q",
        ExpressionAttributeValues={":q": {"S": "Q"}},
    )
    assert [i["gsi1pk"]["S"] for i in in_index(lagging, "P")] == ["P"]
    assert in_index(lagging, "Q") == []
    time.sleep(0.7)
    assert in_index(lagging, "P") == []
    assert len(in_index(lagging, "Q")) == 1

    # When it is deleted, the index still shows it for a while
    dynamodb.delete_item(TableName=table, Key=key)
    assert len(in_index(lagging, "Q")) == 1
    time.sleep(0.7)
    assert in_index(lagging, "Q") == []


def test_concurrent_writes_get_distinct_stream_sequence_numbers(lagging: LocalStack) -> None:
    # Given the stack's moto server and eight writers at once
    table = lagging.deployment.physical_id("Table")
    stream_arn = lagging.deployment.get_att("Table", "StreamArn", "test")
    streams = lagging.client("dynamodbstreams")
    start = iterator_at_end(streams, stream_arn)

    def write(writer: int) -> None:
        client = boto3.client(
            "dynamodb",
            endpoint_url=lagging.endpoint_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        for index in range(25):
            client.put_item(TableName=table, Item=item(f"w{writer}-{index}"))

    writers = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=60)

    # Then every write has its own record and sequence number
    records: list[dict[str, Any]] = []
    iterator: str | None = start
    while iterator and len(records) < 200:
        response = streams.get_records(ShardIterator=iterator)
        if not response["Records"]:
            break
        records += response["Records"]
        iterator = response.get("NextShardIterator")
    numbers = [record["dynamodb"]["SequenceNumber"] for record in records]
    assert len(numbers) == 200
    assert len(set(numbers)) == 200
