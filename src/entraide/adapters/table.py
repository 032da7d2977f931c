"""The single DynamoDB table: the one module that calls the DynamoDB client.

Each item kind has one data-access module that knows its keys, its attributes and how
they read back (``docs/data-model.md`` lists them with their owners); they all reach
DynamoDB through :class:`Table`, in plain Python values. What lives here is what each of
them would otherwise write again: typed-JSON (de)serialisation, pagination, a condition
that fails (with the item as it was, when asked), transactions and their cancellation
reasons, retries of conflicting transactions and of unprocessed batch deletes.

Numbers come back as :class:`~decimal.Decimal` (DynamoDB's numbers are decimals); a
float must be given as a Decimal. boto3 is imported, and the client created, on first
use: importing a handler costs nothing here.

Why one module: it is the whole boundary with DynamoDB, and the architecture test holds
every other module to staying off the client (tests/unit/test_architecture.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

Item = dict[str, Any]

BY_STATUS = "by_status"
BY_MONTH = "by_month"
BY_CELL = "by_cell"
#: (partition key, sort key) attributes of each index; their values are overloaded by
#: entity (``POST#pending``, ``ACTIVATION#2026-10``...).
INDEX_KEYS: dict[str, tuple[str, str]] = {
    BY_STATUS: ("gsi1pk", "gsi1sk"),
    BY_MONTH: ("gsi2pk", "gsi2sk"),
    BY_CELL: ("gsi3pk", "gsi3sk"),
}

#: TransactWriteItems takes 100 actions at most, BatchWriteItem 25 requests.
TRANSACTION_SIZE = 100
BATCH_SIZE = 25

CONDITION_FAILED = "ConditionalCheckFailed"


class ConditionFailed(Exception):
    """A conditional write found the item otherwise; ``old`` is the item as it was, when
    the write asked for it (``old_on_failure``), else ``None``."""

    def __init__(self, old: Item | None = None) -> None:
        super().__init__("The condition of a write did not hold.")
        self.old = old


class TransactionCancelled(Exception):
    """A transaction wrote nothing; ``reasons`` has one code per action, in order
    (``"None"`` for an action that was fine, ``"ConditionalCheckFailed"``...)."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__(f"Transaction cancelled: {', '.join(reasons) or 'no reason given'}.")
        self.reasons = tuple(reasons)

    @property
    def condition_failed(self) -> bool:
        return CONDITION_FAILED in self.reasons


def changed_images[T](record: Any, parse: Callable[[Mapping[str, Any]], T]) -> tuple[T | None, T]:
    """``(old, new)`` of the item a stream record (powertools' DynamoDBRecord) changed.

    The template's FilterCriteria deliver only items of the kind ``parse`` reads; a
    record without a new image is an error (the batch reports it as a failure).
    """
    change = record.dynamodb
    if change is None or not change.new_image:
        raise ValueError(f"stream record {record.event_id} carries no new image")
    old = parse(change.old_image) if change.old_image else None
    return old, parse(change.new_image)


def _expression(
    params: dict[str, Any], names: Mapping[str, str] | None, values: Mapping[str, Any] | None
) -> dict[str, Any]:
    if names:
        params["ExpressionAttributeNames"] = dict(names)
    if values:
        params["ExpressionAttributeValues"] = Table.serialise(values)
    return params


class Table:
    """The table ``table_name``; ``client`` is a boto3 DynamoDB client, made on first use."""

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client

    # -- values ------------------------------------------------------------------------
    @staticmethod
    def serialise(values: Mapping[str, Any]) -> dict[str, Any]:
        from boto3.dynamodb.types import TypeSerializer

        serializer = TypeSerializer()
        return {name: serializer.serialize(value) for name, value in values.items()}

    @staticmethod
    def deserialise(raw: Mapping[str, Any]) -> Item:
        from boto3.dynamodb.types import TypeDeserializer

        deserializer = TypeDeserializer()
        return {name: deserializer.deserialize(value) for name, value in raw.items()}

    def _old(self, error: Any) -> Item | None:
        raw = error.response.get("Item")
        return self.deserialise(raw) if raw else None

    # -- one item ----------------------------------------------------------------------
    def get(self, key: Item, *, projection: str | None = None) -> Item | None:
        """The item at ``key`` (a strongly consistent read), or None."""
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": self.serialise(key),
            "ConsistentRead": True,
        }
        if projection:
            params["ProjectionExpression"] = projection
        raw = self.client.get_item(**params).get("Item")
        return self.deserialise(raw) if raw else None

    def put(
        self,
        item: Item,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        """Write ``item`` whole; ConditionFailed when ``condition`` does not hold."""
        params = self.put_op(item, condition=condition, names=names, values=values)["Put"]
        try:
            self.client.put_item(**params)
        except self.client.exceptions.ConditionalCheckFailedException as error:
            raise ConditionFailed() from error

    def update(
        self,
        key: Item,
        expression: str,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        returns: str | None = None,
        old_on_failure: bool = False,
    ) -> Item | None:
        """Apply ``expression``; the item as ``returns`` asks (``ALL_NEW``...), or None.

        ConditionFailed when ``condition`` does not hold (with the old item if
        ``old_on_failure``).
        """
        params = self.update_op(key, expression, condition=condition, names=names, values=values)
        request = params["Update"]
        if returns:
            request["ReturnValues"] = returns
        if old_on_failure:
            request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        try:
            response = self.client.update_item(**request)
        except self.client.exceptions.ConditionalCheckFailedException as error:
            raise ConditionFailed(self._old(error)) from error
        attributes = response.get("Attributes")
        return self.deserialise(attributes) if attributes else None

    def delete(
        self,
        key: Item,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        params = self.delete_op(key, condition=condition, names=names, values=values)["Delete"]
        try:
            self.client.delete_item(**params)
        except self.client.exceptions.ConditionalCheckFailedException as error:
            raise ConditionFailed() from error

    # -- reads -------------------------------------------------------------------------
    def _query_params(
        self,
        condition: str,
        values: Mapping[str, Any],
        *,
        names: Mapping[str, str] | None,
        index: str | None,
        filter: str | None,
        consistent: bool,
        forward: bool,
    ) -> dict[str, Any]:
        params = _expression(
            {"TableName": self.table_name, "KeyConditionExpression": condition}, names, values
        )
        if index:
            params["IndexName"] = index
        if filter:
            params["FilterExpression"] = filter
        if consistent:
            params["ConsistentRead"] = True
        if not forward:
            params["ScanIndexForward"] = False
        return params

    def query_pages(
        self,
        condition: str,
        values: Mapping[str, Any],
        *,
        names: Mapping[str, str] | None = None,
        index: str | None = None,
        filter: str | None = None,
        consistent: bool = False,
        forward: bool = True,
    ) -> Iterator[tuple[list[Item], int]]:
        """Every page of a Query: its items and how many items DynamoDB read for it."""
        params = self._query_params(
            condition,
            values,
            names=names,
            index=index,
            filter=filter,
            consistent=consistent,
            forward=forward,
        )
        for page in self.client.get_paginator("query").paginate(**params):
            items = [self.deserialise(raw) for raw in page.get("Items", [])]
            yield items, int(page.get("ScannedCount", len(items)))

    def query(
        self,
        condition: str,
        values: Mapping[str, Any],
        *,
        names: Mapping[str, str] | None = None,
        index: str | None = None,
        filter: str | None = None,
        consistent: bool = False,
        forward: bool = True,
    ) -> Iterator[Item]:
        """Every item a Query finds, page after page."""
        for items, _ in self.query_pages(
            condition,
            values,
            names=names,
            index=index,
            filter=filter,
            consistent=consistent,
            forward=forward,
        ):
            yield from items

    def count(
        self,
        condition: str,
        values: Mapping[str, Any],
        *,
        consistent: bool = False,
        at_most: int | None = None,
    ) -> int:
        """How many items a Query finds; with ``at_most``, counting stops there (reads less)."""
        params = self._query_params(
            condition,
            values,
            names=None,
            index=None,
            filter=None,
            consistent=consistent,
            forward=True,
        )
        params["Select"] = "COUNT"
        if at_most is not None:
            params["PaginationConfig"] = {"PageSize": max(1, at_most)}
        counted = 0
        for page in self.client.get_paginator("query").paginate(**params):
            counted += int(page["Count"])
            if at_most is not None and counted >= at_most:
                return at_most
        return counted

    # -- actions of a transaction ------------------------------------------------------
    def put_op(
        self,
        item: Item,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        params = {"TableName": self.table_name, "Item": self.serialise(item)}
        if condition:
            params["ConditionExpression"] = condition
        return {"Put": _expression(params, names, values)}

    def update_op(
        self,
        key: Item,
        expression: str,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        params = {
            "TableName": self.table_name,
            "Key": self.serialise(key),
            "UpdateExpression": expression,
        }
        if condition:
            params["ConditionExpression"] = condition
        return {"Update": _expression(params, names, values)}

    def delete_op(
        self,
        key: Item,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        params = {"TableName": self.table_name, "Key": self.serialise(key)}
        if condition:
            params["ConditionExpression"] = condition
        return {"Delete": _expression(params, names, values)}

    def check_op(
        self,
        key: Item,
        condition: str,
        *,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        params = {
            "TableName": self.table_name,
            "Key": self.serialise(key),
            "ConditionExpression": condition,
        }
        return {"ConditionCheck": _expression(params, names, values)}

    # -- many items --------------------------------------------------------------------
    def transact(self, operations: Sequence[Mapping[str, Any]]) -> None:
        """All of ``operations`` or none (TransactionCancelled says why, action by action)."""
        try:
            self.client.transact_write_items(TransactItems=list(operations))
        except self.client.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons") or []
            raise TransactionCancelled([r.get("Code", "None") for r in reasons]) from error

    def transact_each(
        self, operations: Sequence[Mapping[str, Any]], *, max_attempts: int = 8
    ) -> set[int]:
        """Run conditional writes in transactions of 100; returns the indexes whose condition
        failed (the others are written). Conflicts with other writers are retried."""
        failed: set[int] = set()
        for start in range(0, len(operations), TRANSACTION_SIZE):
            pending = list(range(start, min(start + TRANSACTION_SIZE, len(operations))))
            for attempt in range(max_attempts):
                if not pending:
                    break
                try:
                    self.transact([operations[index] for index in pending])
                    pending = []
                except TransactionCancelled as cancelled:
                    if len(cancelled.reasons) != len(pending):
                        raise
                    retry: list[int] = []
                    contended = False
                    for index, code in zip(pending, cancelled.reasons, strict=True):
                        if code == CONDITION_FAILED:
                            failed.add(index)
                        elif code == "None":
                            retry.append(index)  # fine, cancelled with the others
                        elif code in ("TransactionConflict", "ThrottlingError"):
                            retry.append(index)
                            contended = True
                        else:
                            raise
                    if contended:
                        time.sleep(0.02 * (attempt + 1))
                    pending = retry
            if pending:
                raise RuntimeError(
                    f"DynamoDB transaction kept conflicting ({len(pending)} writes)."
                )
        return failed

    def batch_delete(self, keys: Iterable[Item], *, attempts: int, pause: float = 0.0) -> int:
        """Delete ``keys`` by batches of 25, retrying what DynamoDB left unprocessed
        ``attempts`` times (``pause`` x attempt seconds apart); returns how many were left."""
        requests = [{"DeleteRequest": {"Key": self.serialise(key)}} for key in keys]
        left = 0
        for start in range(0, len(requests), BATCH_SIZE):
            pending = requests[start : start + BATCH_SIZE]
            for attempt in range(attempts):
                response = self.client.batch_write_item(RequestItems={self.table_name: pending})
                pending = (response.get("UnprocessedItems") or {}).get(self.table_name, [])
                if not pending:
                    break
                if pause:
                    time.sleep(pause * (attempt + 1))
            left += len(pending)
        return left
