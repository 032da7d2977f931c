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
from dataclasses import dataclass
from typing import Any

from entraide.adapters.aws import AwsClient, again

Item = dict[str, Any]

BY_STATUS = "by_status"
BY_MONTH = "by_month"
BY_CELL = "by_cell"
BY_PLACE = "by_place"
BY_DUE = "by_due"
#: (partition key, sort key) attributes of each index; their values are overloaded by
#: entity (``POST#pending``, ``ACTIVATION#2026-10``...).
INDEX_KEYS: dict[str, tuple[str, str]] = {
    BY_STATUS: ("gsi1pk", "gsi1sk"),
    BY_MONTH: ("gsi2pk", "gsi2sk"),
    BY_CELL: ("gsi3pk", "gsi3sk"),
    BY_PLACE: ("gsi4pk", "gsi4sk"),
    BY_DUE: ("gsi5pk", "gsi5sk"),
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


@dataclass(frozen=True, kw_only=True)
class Write:
    """One write to the table, done alone (:meth:`Table.write`) or in a transaction
    (:meth:`Table.transact`): its condition, and the attribute names and values that the
    condition and the expression name (``#name``, ``:value``)."""

    condition: str | None = None
    names: Mapping[str, str] | None = None
    values: Mapping[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class Put(Write):
    """Write ``item`` whole."""

    item: Item


@dataclass(frozen=True, kw_only=True)
class Update(Write):
    """Apply the update ``expression`` to the item at ``key``."""

    key: Item
    expression: str


@dataclass(frozen=True, kw_only=True)
class Delete(Write):
    """Delete the item at ``key``."""

    key: Item


@dataclass(frozen=True, kw_only=True)
class Check(Write):
    """In a transaction only: the condition must hold on the item at ``key``."""

    key: Item


def entity_of(record: Any) -> str | None:
    """The ``entity`` of the item a stream record (powertools' DynamoDBRecord) changed."""
    change = record.dynamodb
    image = (change.new_image or change.old_image) if change is not None else None
    entity = (image or {}).get("entity")
    return entity if isinstance(entity, str) else None


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


class Table(AwsClient):
    """The table ``table_name``; ``client`` is a boto3 DynamoDB client, made on first use."""

    service = "dynamodb"

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        super().__init__(client)
        self.table_name = table_name

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
    def get(
        self, key: Item, *, projection: str | None = None, consistent: bool = True
    ) -> Item | None:
        """The item at ``key``, or None: a strongly consistent read unless ``consistent`` is
        False, for a reader that a write of the last second may miss (an eventually
        consistent read costs half: "the responses may not reflect the results of a recently
        completed write operation", DynamoDB Developer Guide, "DynamoDB read consistency")."""
        params: dict[str, Any] = {"TableName": self.table_name, "Key": self.serialise(key)}
        if consistent:
            params["ConsistentRead"] = True
        if projection:
            params["ProjectionExpression"] = projection
        raw = self.client.get_item(**params).get("Item")
        return self.deserialise(raw) if raw else None

    def write(
        self, write: Put | Update | Delete, *, returns: str | None = None, keep_old: bool = False
    ) -> Item | None:
        """Do one write; the item as ``returns`` asks (``ALL_NEW``...) after an update.

        ConditionFailed when its condition does not hold, with the item as it was when
        ``keep_old``.
        """
        request = self._request(write)
        if returns:
            request["ReturnValues"] = returns
        if keep_old:
            request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        operation = {Put: "put_item", Update: "update_item", Delete: "delete_item"}[type(write)]
        try:
            response = getattr(self.client, operation)(**request)
        except self.client.exceptions.ConditionalCheckFailedException as error:
            raise ConditionFailed(self._old(error) if keep_old else None) from error
        attributes = response.get("Attributes")
        return self.deserialise(attributes) if attributes else None

    def _request(self, write: Write) -> dict[str, Any]:
        """The parameters of ``write`` for the client (alone, or as a transaction's action)."""
        request: dict[str, Any] = {"TableName": self.table_name}
        if isinstance(write, Put):
            request["Item"] = self.serialise(write.item)
        elif isinstance(write, Update | Delete | Check):
            request["Key"] = self.serialise(write.key)
        if isinstance(write, Update):
            request["UpdateExpression"] = write.expression
        if write.condition:
            request["ConditionExpression"] = write.condition
        return _expression(request, write.names, write.values)

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
        limit: int | None = None,
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
        if limit is not None:
            params["PaginationConfig"] = {"MaxItems": limit}
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
        limit: int | None = None,
    ) -> Iterator[tuple[list[Item], int]]:
        """Every page of a Query (``limit`` items at most): its items and how many items
        DynamoDB read for it."""
        params = self._query_params(
            condition,
            values,
            names=names,
            index=index,
            filter=filter,
            consistent=consistent,
            forward=forward,
            limit=limit,
        )
        for page in self.client.get_paginator("query").paginate(**params):
            items = [self.deserialise(raw) for raw in page.get("Items", [])]
            yield items, int(page.get("ScannedCount", len(items)))

    def scan_pages(
        self,
        *,
        filter: str | None = None,
        values: Mapping[str, Any] | None = None,
        names: Mapping[str, str] | None = None,
    ) -> Iterator[tuple[list[Item], int]]:
        """Every page of a Scan of the whole table: the items ``filter`` keeps and how many
        items DynamoDB read for it. For operators' commands, never a function's: a Scan
        reads, and bills, every item of the table ("a Scan consumes the same amount of read
        capacity, regardless of whether a filter expression is present", DynamoDB Developer
        Guide, "Scanning tables in DynamoDB")."""
        params = _expression({"TableName": self.table_name}, names, values or {})
        if filter:
            params["FilterExpression"] = filter
        for page in self.client.get_paginator("scan").paginate(**params):
            items = [self.deserialise(raw) for raw in page.get("Items", [])]
            yield items, int(page.get("ScannedCount", len(items)))

    def query_once(
        self,
        condition: str,
        values: Mapping[str, Any],
        *,
        limit: int,
        names: Mapping[str, str] | None = None,
        index: str | None = None,
    ) -> tuple[list[Item], Item | None]:
        """One Query request that reads at most ``limit`` items (no filter: every item
        read is returned), and the key it stopped at when there may be more, else None.

        DynamoDB's ``Limit`` is "the maximum number of items to evaluate"; with it reached,
        the answer carries ``LastEvaluatedKey`` (API_Query.html), even when nothing follows.
        """
        params = self._query_params(
            condition,
            values,
            names=names,
            index=index,
            filter=None,
            consistent=False,
            forward=True,
        )
        params["Limit"] = limit
        page = self.client.query(**params)
        items = [self.deserialise(raw) for raw in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return items, self.deserialise(last) if last else None

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
        limit: int | None = None,
    ) -> Iterator[Item]:
        """Every item a Query finds (``limit`` at most), page after page."""
        for items, _ in self.query_pages(
            condition,
            values,
            names=names,
            index=index,
            filter=filter,
            consistent=consistent,
            forward=forward,
            limit=limit,
        ):
            yield from items

    def query_page(
        self,
        condition: str,
        values: Mapping[str, Any],
        *,
        names: Mapping[str, str] | None = None,
        index: str | None = None,
        filter: str | None = None,
        limit: int,
        start: Item | None = None,
    ) -> tuple[list[Item], Item | None]:
        """One page of a Query: at most ``limit`` items read (before ``filter``), from
        ``start`` (a previous page's last key); the items found and the key to go on from,
        None when the query is over. A caller that stops between pages resumes there."""
        params = self._query_params(
            condition,
            values,
            names=names,
            index=index,
            filter=filter,
            consistent=False,
            forward=True,
        )
        params["Limit"] = limit
        if start:
            params["ExclusiveStartKey"] = self.serialise(start)
        page = self.client.query(**params)
        items = [self.deserialise(raw) for raw in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return items, self.deserialise(last) if last else None

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

    # -- many items --------------------------------------------------------------------
    def transact(self, writes: Sequence[Write]) -> None:
        """All of ``writes`` or none (TransactionCancelled says why, write by write)."""
        actions = {Put: "Put", Update: "Update", Delete: "Delete", Check: "ConditionCheck"}
        items = [{actions[type(write)]: self._request(write)} for write in writes]
        try:
            self.client.transact_write_items(TransactItems=items)
        except self.client.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons") or []
            raise TransactionCancelled([r.get("Code", "None") for r in reasons]) from error

    def transact_each(self, operations: Sequence[Write], *, max_attempts: int = 8) -> set[int]:
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


#: How many times a read of :class:`ReadsRetried` is made before its error is raised.
READ_ATTEMPTS = 3

#: The error codes DynamoDB marks "OK to retry? Yes" (Developer Guide, "Error handling
#: with DynamoDB", Error messages and codes): throttling and the service's own failures.
#: Every other 4xx (ValidationException, AccessDeniedException, ResourceNotFound...) is
#: the request's fault and answers the same however often it is made.
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingException",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


def _missing(found: object) -> bool:
    return found is None


def read_settled[T](
    read: Callable[[bool], T | None], *, lagging: Callable[[T | None], bool] = _missing
) -> T | None:
    """``read(consistent)`` made eventually consistent (half a unit), and made again strongly
    consistent when its answer may be a lag behind a recent write (``lagging``: by default,
    nothing found), for a reader whose decision a stale answer must not make: "the
    responses may not reflect the results of a recently completed write operation"
    (DynamoDB Developer Guide, "DynamoDB read consistency")."""
    found = read(False)
    return read(True) if lagging(found) else found


def transient(error: BaseException) -> bool:
    """Whether ``error`` may not happen again on the same request: a code DynamoDB says to
    retry, any 5xx, or the network (no connection, a timeout, a connection cut)."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in RETRYABLE_CODES or int(status or 0) >= 500
    return isinstance(error, ConnectionError | HTTPClientError)


class ReadsRetried(Table):
    """The table, whose reads (an item, one page of a Query) are made again on a
    :func:`transient` error, a little later: a read changes nothing, so repeating it is
    always safe; a request DynamoDB refuses as such (a bad key, a denied role) fails at
    once. For an effect that reads a lot before its one write (matching a post: its search
    reads a Query per range of places), one failed read then no longer fails the whole
    attempt. A throttled
    request "is eventually successful, unless your retry queue is too large to finish.
    Reduce the frequency of requests and use exponential backoff" (DynamoDB API reference,
    ProvisionedThroughputExceededException): a few tries, each a little later."""

    def __init__(
        self,
        table_name: str,
        client: Any | None = None,
        *,
        attempts: int = READ_ATTEMPTS,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(table_name, client)
        self.attempts = attempts
        self.pause = pause

    def _again[T](self, read: Callable[[], T]) -> T:
        return again(read, attempts=self.attempts, pause=self.pause, only=transient)

    def get(
        self, key: Item, *, projection: str | None = None, consistent: bool = True
    ) -> Item | None:
        return self._again(
            lambda: Table.get(self, key, projection=projection, consistent=consistent)
        )

    def query_once(
        self,
        condition: str,
        values: Mapping[str, Any],
        *,
        limit: int,
        names: Mapping[str, str] | None = None,
        index: str | None = None,
    ) -> tuple[list[Item], Item | None]:
        return self._again(
            lambda: Table.query_once(self, condition, values, limit=limit, names=names, index=index)
        )
