"""The local stack runs each handler under its function's template policy."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from entraide_local.iam.hook import denial_count, recent_denials
from entraide_local.stack import LocalStack
from entraide_local.template import parse_yaml
from tests.localstack.conftest import TEMPLATE


def post_item(pk: str) -> dict[str, object]:
    return {"httpMethod": "POST", "path": "/items", "body": json.dumps({"pk": pk, "sk": "x"})}


def stored(stack: LocalStack, pk: str) -> bool:
    table = stack.deployment.physical_id("Table")
    key = {"pk": {"S": pk}, "sk": {"S": "x"}}
    return "Item" in stack.client("dynamodb").get_item(TableName=table, Key=key)


def test_a_handler_writes_what_its_template_policy_grants(stack: LocalStack) -> None:
    # Given the echo function, whose template grants DynamoDBWritePolicy on the table
    pk = f"granted-{uuid.uuid4().hex}"
    # When it writes an item
    invocation = stack.invoke("echo", post_item(pk))
    # Then the write goes through
    assert invocation.error is None
    assert stored(stack, pk)
    assert "each function's template policy enforced" in stack.banner()


@pytest.fixture(scope="module")
def stack_without_write_grant(
    tmp_path_factory: pytest.TempPathFactory, record_dir: Path
) -> Iterator[LocalStack]:
    """The test template with the echo function's role reduced to reading its table."""
    document = parse_yaml(TEMPLATE.read_text("utf-8"))
    echo = document["Resources"]["EchoFunction"]["Properties"]
    echo["CodeUri"] = str(TEMPLATE.parent / echo["CodeUri"])
    echo["Policies"] = [{"DynamoDBReadPolicy": {"TableName": {"Ref": "Table"}}}]
    for name, resource in document["Resources"].items():
        code_uri = resource.get("Properties", {}).get("CodeUri")
        if name != "EchoFunction" and isinstance(code_uri, str):
            resource["Properties"]["CodeUri"] = str(TEMPLATE.parent / code_uri)
    path = tmp_path_factory.mktemp("read-only") / "template.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with LocalStack(
        path, stack_name="localstack-read-only", parameters={"RecordDir": str(record_dir)}
    ) as running:
        yield running


def test_a_handler_whose_role_lacks_the_grant_fails_as_in_aws(
    stack_without_write_grant: LocalStack,
) -> None:
    # Given the echo function, whose role may only read its table
    stack = stack_without_write_grant
    pk = f"refused-{uuid.uuid4().hex}"
    denials_before = denial_count()
    # When it writes an item
    invocation = stack.invoke("echo", post_item(pk))
    # Then the handler fails with AWS's error, nothing is written, and the stack's process
    # counts the denial its worker printed
    assert invocation.error is not None
    assert "AccessDeniedException" in str(invocation.error)
    assert "dynamodb:PutItem" in str(invocation.error)
    assert not stored(stack, pk)
    stack.drain()
    assert denial_count() > denials_before
    assert any("EchoFunction: dynamodb:PutItem" in line for line in recent_denials())
