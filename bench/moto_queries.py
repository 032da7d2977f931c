"""What a DynamoDB query costs in moto as the tests and benches run it, by table size:
``python bench/moto_queries.py [--items 1000 10000]``.

moto answers a Query from the whole table, listed and sorted on every call, so a big table
makes every query slow (a fault run of 1,000 posts); ``entraide_local.moto_fixes`` makes a
query read its partition. This prints milliseconds per query on the table's key and on a
global secondary index, with moto as it is and with the fixes (each in its own process: the
fixes, once installed, stay for the process).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

from _moto import moto_environment

REPEATS = 20


def measure(items: int, fixed: bool) -> dict[str, float]:
    """Milliseconds per query, in this process, on a table of ``items`` items."""
    import boto3
    from moto import mock_aws

    from entraide_local import moto_fixes

    moto_environment()
    if fixed:
        moto_fixes.install()
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        attributes = ("pk", "sk", "gsi1pk", "gsi1sk")
        dynamodb.create_table(
            TableName="bench",
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in attributes],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by_due",
                    "KeySchema": [
                        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for n in range(items):
            item = {"pk": f"POST#{n}", "sk": "post", "text": "x" * 500}
            if n % 100 == 0:  # a sparse index: one item in a hundred is due
                item |= {"gsi1pk": "DUE#moderate", "gsi1sk": f"{n:08d}"}
            dynamodb.put_item(TableName="bench", Item={k: {"S": v} for k, v in item.items()})
        queries: dict[str, dict[str, Any]] = {
            "table key": {
                "KeyConditionExpression": "pk = :p",
                "ExpressionAttributeValues": {":p": {"S": "POST#7"}},
            },
            "index": {
                "IndexName": "by_due",
                "KeyConditionExpression": "gsi1pk = :p",
                "ExpressionAttributeValues": {":p": {"S": "DUE#moderate"}},
                "Limit": 10,
            },
        }
        figures = {}
        for name, query in queries.items():
            started = time.perf_counter()
            for _ in range(REPEATS):
                dynamodb.query(TableName="bench", **query)
            figures[name] = (time.perf_counter() - started) / REPEATS * 1000
        return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--one", choices=["plain", "fixed"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.items[0], args.one == "fixed")))
        return 0
    print(f"{'items':>7} {'moto':<6} {'table key ms':>13} {'index ms':>9}")
    for items in args.items:
        for mode in ("plain", "fixed"):
            answer = subprocess.run(
                [sys.executable, __file__, "--items", str(items), "--one", mode],
                check=True,
                capture_output=True,
                text=True,
            )
            figures = json.loads(answer.stdout)
            print(f"{items:>7} {mode:<6} {figures['table key']:>13.1f} {figures['index']:>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
