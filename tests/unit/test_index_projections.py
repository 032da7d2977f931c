"""The indexes return what template.yaml projects into them, in the tests as in AWS: a query
result holds only the projected attributes, so code that reads an attribute an index does
not project fails here first (docs/data-model.md, "Indexes")."""

from __future__ import annotations

from typing import Any

import boto3

from entraide.adapters.table import INDEX_KEYS, Put, Table
from entraide_local.provision import Deployment


def _projections(deployment: Deployment) -> dict[str, dict[str, Any]]:
    described = boto3.client("dynamodb").describe_table(TableName=deployment.outputs["TableName"])[
        "Table"
    ]
    return {
        index["IndexName"]: index["Projection"] for index in described["GlobalSecondaryIndexes"]
    }


def test_each_index_returns_only_what_it_projects(deployment: Deployment, table: Table) -> None:
    # Given the table as the template defines it, and an item in every index
    projections = _projections(deployment)
    assert set(projections) == set(INDEX_KEYS)
    item: dict[str, Any] = {"pk": "TEST#1", "sk": "TEST", "note": "not a key", "other": "x"}
    for partition, sort in INDEX_KEYS.values():
        item[partition], item[sort] = f"{partition}#TEST", "2026-12-07"
    table.write(Put(item=item))

    for index, (partition, sort) in INDEX_KEYS.items():
        # When the index is queried
        [found] = table.query(
            "#pk = :pk", {":pk": f"{partition}#TEST"}, names={"#pk": partition}, index=index
        )

        # Then it holds the table's keys and its own, and the rest only as projected
        projection = projections[index]
        keys = {"pk", "sk", partition, sort}
        if projection["ProjectionType"] == "ALL":
            assert found == item, index
        elif projection["ProjectionType"] == "KEYS_ONLY":
            assert set(found) == keys, index
        else:
            assert set(found) == keys | (set(projection["NonKeyAttributes"]) & set(item)), index
