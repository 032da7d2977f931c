"""DynamoDB's Time to Live, which moto stores but never runs: expired items are deleted.

In AWS, "TTL compares the current time in epoch time format to the time stored in the TTL
attribute of an item. If the epoch time value stored in the attribute is less than the
current time, the item is marked as expired and subsequently deleted", "typically within two
days of expiration" (UpdateTimeToLive, DynamoDB API reference). Here every table whose TTL
is enabled is swept at once (by the stack's sweeper, every few seconds; by tests, with a clock
of their own): each item whose attribute is a number at or before now is deleted, under the
condition that it still is (a write meanwhile that moved or removed it keeps it). An
attribute that is no number, or absent, never expires, as in AWS.

Each deletion reaches the table's stream as a ``REMOVE`` record, as TTL's do in AWS (where
its ``userIdentity`` names the service: moto writes none; nothing here reacts to it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def ttl_attribute(client: Any, table: str) -> str | None:
    """The TTL attribute of ``table`` when its TTL is enabled."""
    description = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    if description.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        return None
    return str(description["AttributeName"])


def expire_items(client: Any, *, now: datetime | None = None) -> dict[str, int]:
    """Delete the expired items of every table with TTL on; how many, per table."""
    moment = int((now or datetime.now(UTC)).timestamp())
    deleted: dict[str, int] = {}
    for page in client.get_paginator("list_tables").paginate():
        for table in page["TableNames"]:
            attribute = ttl_attribute(client, table)
            if attribute is not None:
                deleted[table] = _expire(client, table, attribute, moment)
    return deleted


def _expire(client: Any, table: str, attribute: str, moment: int) -> int:
    keys = [
        attribute_name["AttributeName"]
        for attribute_name in client.describe_table(TableName=table)["Table"]["KeySchema"]
    ]
    expired = {"ExpressionAttributeNames": {"#ttl": attribute}}
    values = {":now": {"N": str(moment)}}
    count = 0
    for page in client.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="#ttl <= :now",
        ExpressionAttributeValues=values,
        **expired,
    ):
        for item in page.get("Items", []):
            if "N" not in item.get(attribute, {}):
                continue  # a string or a set is no TTL (DynamoDB ignores it too)
            try:
                client.delete_item(
                    TableName=table,
                    Key={name: item[name] for name in keys},
                    ConditionExpression="#ttl <= :now",
                    ExpressionAttributeValues=values,
                    **expired,
                )
            except client.exceptions.ConditionalCheckFailedException:
                continue  # written again since the scan: no longer expired
            count += 1
    return count
