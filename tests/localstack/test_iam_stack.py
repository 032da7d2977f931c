"""The local stack runs each handler under its function's template policy."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

import pytest
from botocore.exceptions import ClientError

from entraide_local.stack import LocalStack


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


def test_a_handler_whose_role_lacks_the_grant_fails_as_in_aws(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the echo function's role without its write grant
    policies = stack.invoker.policies
    echo = stack.deployment.function("echo").logical_id
    read_only = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}],
    }
    monkeypatch.setitem(policies, echo, replace(policies[echo], document=read_only))
    pk = f"refused-{uuid.uuid4().hex}"
    # When it writes an item
    invocation = stack.invoke("echo", post_item(pk))
    # Then the handler fails with AWS's error and nothing is written
    assert isinstance(invocation.error, ClientError)
    assert invocation.error.response["Error"]["Code"] == "AccessDeniedException"
    assert not stored(stack, pk)
