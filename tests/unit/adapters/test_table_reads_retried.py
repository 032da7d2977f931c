"""Reads made again on an error: one failed read no longer fails a whole effect."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from entraide.adapters.table import Put, ReadsRetried, Table


class FailingReads:
    """A DynamoDB client whose first ``failures`` reads fail (throttled, then answer lost)."""

    def __init__(self, client: Any, failures: int) -> None:
        self.client = client
        self.failures = failures
        self.reads = 0

    def _fail(self) -> None:
        self.reads += 1
        if self.reads <= self.failures:
            if self.reads % 2:
                error = {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}
                raise ClientError({"Error": error}, "GetItem")
            raise ReadTimeoutError(endpoint_url="https://dynamodb.eu-west-3.amazonaws.com")

    def get_item(self, **params: Any) -> Any:
        self._fail()
        return self.client.get_item(**params)

    def query(self, **params: Any) -> Any:
        self._fail()
        return self.client.query(**params)


def test_a_read_that_fails_twice_is_answered_on_its_third_try(table: Table) -> None:
    # Given an item, and a client whose first two reads fail
    table.write(Put(item={"pk": "POST#P1", "sk": "POST", "entity": "post"}))
    client = FailingReads(table.client, failures=2)
    pauses: list[float] = []
    retried = ReadsRetried(table.table_name, client, pause=pauses.append)
    # When the item is read, then one Query page
    item = retried.get({"pk": "POST#P1", "sk": "POST"})
    client.failures, client.reads = 2, 0
    items, _ = retried.query_once("pk = :pk", {":pk": "POST#P1"}, limit=10)
    # Then both come back, each after two short pauses
    assert item is not None
    assert item["entity"] == "post"
    assert [found["pk"] for found in items] == ["POST#P1"]
    assert pauses == [0.05, 0.1, 0.05, 0.1]


def test_a_read_that_keeps_failing_raises_its_error(table: Table) -> None:
    # Given a client whose reads all fail
    client = FailingReads(table.client, failures=10)
    retried = ReadsRetried(table.table_name, client, pause=lambda seconds: None)
    # When an item is read, Then the last error is raised after three tries
    with pytest.raises(ClientError):
        retried.get({"pk": "POST#P1", "sk": "POST"})
    assert client.reads == 3


class RefusedReads:
    """A DynamoDB client that refuses every read as DynamoDB refuses a bad request."""

    def __init__(self, code: str, status: int) -> None:
        self.code, self.status = code, status
        self.reads = 0

    def get_item(self, **params: Any) -> Any:
        self.reads += 1
        error = {"Code": self.code, "Message": "refused"}
        raise ClientError(
            {"Error": error, "ResponseMetadata": {"HTTPStatusCode": self.status}}, "GetItem"
        )


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ValidationException", 400),
        ("AccessDeniedException", 400),
        ("ResourceNotFoundException", 400),
    ],
)
def test_a_read_refused_for_its_request_is_not_made_again(code: str, status: int) -> None:
    # Given a client that refuses the request itself (a bad key, a denied role)
    client = RefusedReads(code, status)
    pauses: list[float] = []
    retried = ReadsRetried("entraide", client, pause=pauses.append)
    # When an item is read
    with pytest.raises(ClientError) as raised:
        retried.get({"pk": "POST#P1", "sk": "POST"})
    # Then the refusal comes back at once: asked once, no pause
    assert raised.value.response["Error"]["Code"] == code
    assert (client.reads, pauses) == (1, [])


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 400),
        ("RequestLimitExceeded", 400),
        ("InternalServerError", 500),
        ("SomethingNew", 503),
    ],
)
def test_a_read_failed_by_the_service_is_made_again(code: str, status: int) -> None:
    # Given a client whose every read fails on the service's side
    client = RefusedReads(code, status)
    retried = ReadsRetried("entraide", client, pause=lambda seconds: None)
    # When an item is read, Then it is asked three times before the error is raised
    with pytest.raises(ClientError):
        retried.get({"pk": "POST#P1", "sk": "POST"})
    assert client.reads == 3
