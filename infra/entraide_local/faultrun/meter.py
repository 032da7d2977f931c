"""What the table bills: write and read units of every DynamoDB call a function makes.

moto answers no real consumed capacity, so each call is priced by DynamoDB's published rules
(developer guide, "Read/write capacity mode" and "Item sizes"), from the items as moto holds
them before and after the call:

- a write costs one unit per 1 KB of the larger of the item before and after (at least one),
  even when its condition fails (the item before is priced then);
- a transaction "performs two underlying reads or writes of every item": twice that;
  a ``ConditionCheck`` is priced as a write of the item it checks (an upper bound);
- every global secondary index the write changes costs its own units: an item entering or
  leaving an index one write, an item whose index key changes two (delete and put), an item
  whose projected attributes change one, one whose changes are not projected (``KEYS_ONLY``,
  or ``INCLUDE`` of other attributes) none; each priced by what the index holds of the item;
- a strongly consistent read costs one unit per 4 KB read (a Query or a Scan: of everything
  it read, before its filter; a ``BatchGetItem``: of each item on its own), an eventually
  consistent one half, a transactional one (``TransactGetItems``) twice; an index query prices
  what the index holds.

Every unit is also told item by item (:class:`ItemUnits`): by function, kind of item (its key's
prefixes; for a Query its key condition's partition prefix and index) and operation.

A size is DynamoDB's: attribute names and values in UTF-8 bytes, numbers about one byte per
two digits, one byte for a boolean, three bytes per list or map plus one per element.
"""

from __future__ import annotations

import contextvars
import json
import math
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..botocore_events import ProcessHook

WRITE_UNIT = 1024
READ_UNIT = 4096
_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
_READS = {"GetItem", "BatchGetItem", "TransactGetItems", "Query", "Scan"}
_KEY = "entraide_local.faultrun.meter"


def value_size(value: Mapping[str, Any]) -> int:
    """The size of one typed value (``{"S": "…"}``) as DynamoDB counts it."""
    [(kind, content)] = value.items()
    if kind == "S":
        return len(str(content).encode("utf-8"))
    if kind == "N":
        digits = str(content).lstrip("-").replace(".", "").lstrip("0") or "0"
        return len(digits) // 2 + 1 + 1
    if kind == "B":
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: element}) for element in content)
    if kind == "L":
        return 3 + sum(1 + value_size(element) for element in content)
    if kind == "M":
        return 3 + sum(
            1 + len(name.encode("utf-8")) + value_size(element) for name, element in content.items()
        )
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(attributes: Mapping[str, Mapping[str, Any]]) -> int:
    return sum(len(name.encode("utf-8")) + value_size(v) for name, v in attributes.items())


def _units(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))


@dataclass(frozen=True)
class Index:
    name: str
    partition: str
    sort: str
    #: the non-key attributes it holds: None for ``ALL``, none for ``KEYS_ONLY``, the
    #: ``NonKeyAttributes`` of ``INCLUDE``
    projected: frozenset[str] | None

    @classmethod
    def described(cls, index: Mapping[str, Any]) -> Index:
        """The index as ``DescribeTable`` answers it."""
        keys = {key["KeyType"]: key["AttributeName"] for key in index["KeySchema"]}
        projection = index["Projection"]
        kind = projection["ProjectionType"]
        projected = (
            None
            if kind == "ALL"
            else frozenset(projection.get("NonKeyAttributes", ()) if kind == "INCLUDE" else ())
        )
        return cls(index["IndexName"], keys["HASH"], keys.get("RANGE", ""), projected)

    @property
    def keys(self) -> tuple[str, ...]:
        """Its key attributes (an index may have no sort key)."""
        return tuple(key for key in (self.partition, self.sort) if key)

    def image(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """What the index holds of an item: the table's and its own keys, and what it
        projects."""
        if self.projected is None:
            return dict(attributes)
        kept = {"pk", "sk", *self.keys} | self.projected
        return {name: value for name, value in attributes.items() if name in kept}


def partition_kind(pk: str) -> str:
    """The kind of a partition: its key's prefix (for an effect subject, the subject's kind
    too)."""
    head, _, rest = pk.partition("#")
    if head == "EFFECT":
        # a subject ``<kind>:…``, or a retraction ``<post id>#retracted#<channel>``
        subject = rest.split(":", 1)[0] if ":" in rest else "retracted" * ("#retracted#" in rest)
        head = f"EFFECT#{subject or '…'}"
    return head


def item_kind(key: Mapping[str, Any]) -> str:
    """The kind of an item, from its typed key: the partition key's prefix (for an effect
    subject, the subject's kind too) and the sort key's (a time, ``<time>``)."""
    pk, sk = str(key["pk"].get("S", "")), str(key["sk"].get("S", ""))
    sort = sk.split("#", 1)[0]
    return f"{partition_kind(pk)} {'<time>' if sort[:1].isdigit() else sort}"


def query_kind(params: Mapping[str, Any], partition: str) -> str:
    """The kind of what a Query reads: its key condition's partition (``partition`` is the
    name of the table's or the index's partition key) and where it reads, the index or the
    table."""
    names = params.get("ExpressionAttributeNames", {})
    values = params.get("ExpressionAttributeValues", {})
    value = "?"
    for term in re.split(r"\s+and\s+", str(params.get("KeyConditionExpression", "")), flags=re.I):
        left, equals, right = term.partition("=")
        if equals and names.get(left.strip(), left.strip()) == partition:
            value = str(values.get(right.strip(), {}).get("S", "?"))
            break
    return f"{partition_kind(value)} {params.get('IndexName', 'table')}"


@dataclass
class ItemUnits:
    """The writes or the reads of one kind of item by one way (a function, an operation): how
    many (items written; items got, or requests of a Query or a Scan), and the units of the
    table and of each index."""

    count: int = 0
    table: float = 0.0
    indexes: dict[str, float] = field(default_factory=dict)

    @property
    def units(self) -> float:
        return self.table + sum(self.indexes.values())


@dataclass
class _Snapshot:
    attributes: dict[str, Any] | None  # typed JSON, None when absent

    @property
    def size(self) -> int:
        return item_size(self.attributes) if self.attributes else 0


class CapacityMeter:
    """Prices the DynamoDB calls made inside :meth:`measuring` (this thread or task)."""

    def __init__(self, table: str, indexes: list[Index], read_item: Any) -> None:
        self.table = table
        self.indexes = indexes
        self._read_item = read_item  # (key typed JSON) -> typed attributes or None
        self.writes: dict[str, float] = {}
        self.reads: dict[str, float] = {}
        #: (label, item kind, operation) -> its writes: where the units go, item by item
        self.items: dict[tuple[str, str, str], ItemUnits] = {}
        #: the same for the reads
        self.read_items: dict[tuple[str, str, str], ItemUnits] = {}
        self._lock = threading.Lock()
        self._active: contextvars.ContextVar[str | None] = contextvars.ContextVar(
            "meter_label", default=None
        )

    @contextmanager
    def measuring(self, label: str) -> Iterator[None]:
        token = self._active.set(label)
        try:
            yield
        finally:
            self._active.reset(token)

    def total(self) -> tuple[float, float]:
        return sum(self.writes.values()), sum(self.reads.values())

    # -- botocore handlers -----------------------------------------------------------
    def begin(self, params: Mapping[str, Any], model: Any, context: Any = None, **_: Any) -> None:
        """``before-parameter-build``: the call's parameters, and its items as they were."""
        label = self._active.get()
        if label is None or context is None or _KEY in context:
            return
        name = str(model.name)
        snapshots = (
            {key: self._snapshot(key) for key in self._keys(name, params)}
            if name in _WRITES
            else {}
        )
        context[_KEY] = (label, dict(params), snapshots)

    def end(
        self, http_response: Any, parsed: Any, model: Any, context: Any = None, **_: Any
    ) -> None:
        """``after-call`` (registered first: before a fault can hide the answer)."""
        state = context.get(_KEY) if context else None
        if state is None:
            return
        label, params, snapshots = state
        fault = context.get("entraide_local.faults")
        if fault is not None and getattr(fault.fault, "when", "") == "before":
            return  # refused before reaching DynamoDB: nothing billed
        name = str(model.name)
        failed = getattr(http_response, "status_code", 200) >= 300
        with self._lock:
            if name in _WRITES:
                units = self._write_units(label, name, params, snapshots, failed)
                self.writes[label] = self.writes.get(label, 0.0) + units
            elif name in _READS and not failed:
                units = self._read_units(label, name, params, parsed or {})
                self.reads[label] = self.reads.get(label, 0.0) + units

    def install(self) -> None:
        """Register the handlers on every botocore session and client, present and future;
        the pricing of an answer runs first (before a fault makes it lost)."""
        ProcessHook(
            f"{_KEY}.{id(self)}",  # one meter per run: its own handlers
            [("before-parameter-build.dynamodb", self.begin)],
            first=[("after-call.dynamodb", self.end)],
        ).install()

    # -- pricing -----------------------------------------------------------------------
    def _keys(self, operation: str, params: Mapping[str, Any]) -> list[str]:
        def key_of(attributes: Mapping[str, Any]) -> str:
            return json.dumps({"pk": attributes["pk"], "sk": attributes["sk"]}, sort_keys=True)

        if operation == "PutItem":
            return [key_of(params["Item"])]
        if operation in ("UpdateItem", "DeleteItem"):
            return [key_of(params["Key"])]
        if operation == "TransactWriteItems":
            keys = []
            for action in params.get("TransactItems", []):
                [(kind, body)] = action.items()
                keys.append(key_of(body["Item"] if kind == "Put" else body["Key"]))
            return keys
        requests = params.get("RequestItems", {}).get(self.table, [])
        return [
            key_of(r["PutRequest"]["Item"] if "PutRequest" in r else r["DeleteRequest"]["Key"])
            for r in requests
        ]

    def _snapshot(self, key: str) -> _Snapshot:
        return _Snapshot(self._read_item(json.loads(key)))

    def _write_units(
        self,
        label: str,
        operation: str,
        params: Mapping[str, Any],
        before: Mapping[str, _Snapshot],
        failed: bool,
    ) -> float:
        factor = 2 if operation == "TransactWriteItems" else 1
        checks: set[str] = set()
        if operation == "TransactWriteItems":
            for action in params.get("TransactItems", []):
                [(kind, body)] = action.items()
                if kind == "ConditionCheck":
                    checked = {"pk": body["Key"]["pk"], "sk": body["Key"]["sk"]}
                    checks.add(json.dumps(checked, sort_keys=True))
        actions = self._actions(operation, params)
        units = 0.0
        for key, old in before.items():
            new = old if failed or key in checks else self._snapshot(key)
            table = factor * _units(max(old.size, new.size), WRITE_UNIT)
            indexes = (
                self._index_units(old.attributes, new.attributes)
                if not failed and key not in checks
                else {}
            )
            units += table + sum(indexes.values())
            action = actions.get(key, operation.removesuffix("Item")) + (
                " (failed)" if failed else ""
            )
            _tally(self.items, (label, item_kind(json.loads(key)), action), table, indexes)
        return units

    def _actions(self, operation: str, params: Mapping[str, Any]) -> dict[str, str]:
        """How each item is written: Put, Update, Delete, ConditionCheck, in a transaction
        (``tx``) or a batch, or alone."""
        if operation == "TransactWriteItems":
            kinds = [next(iter(action.items())) for action in params.get("TransactItems", [])]
            keys = self._keys(operation, params)
            return {key: f"{kind} in tx" for key, (kind, _) in zip(keys, kinds, strict=True)}
        if operation == "BatchWriteItem":
            requests = params.get("RequestItems", {}).get(self.table, [])
            keys = self._keys(operation, params)
            return {
                key: ("Put" if "PutRequest" in r else "Delete") + " in batch"
                for key, r in zip(keys, requests, strict=True)
            }
        return {}

    def _index_units(
        self, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> dict[str, float]:
        units: dict[str, float] = {}
        for index in self.indexes:
            old_in = old is not None and all(key in old for key in index.keys)
            new_in = new is not None and all(key in new for key in index.keys)
            if not (old_in or new_in):
                continue
            size = _units(self._index_size(index, new if new_in else old), WRITE_UNIT)
            if old_in and new_in:
                assert old is not None
                assert new is not None
                keys_moved = any(old[key] != new[key] for key in index.keys)
                if keys_moved:
                    units[index.name] = 2.0 * size
                elif index.image(old) != index.image(new):
                    units[index.name] = float(size)
            else:
                units[index.name] = float(size)
        return units

    def _index_size(self, index: Index, attributes: dict[str, Any] | None) -> int:
        return item_size(index.image(attributes or {}))

    def _read_units(
        self, label: str, operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any]
    ) -> float:
        """The units of one read call, each told in :attr:`read_items`."""
        if operation == "GetItem":
            found = parsed.get("Item") or {}
            reads = [(item_kind(params["Key"]), item_size(found), None)]
            strong = bool(params.get("ConsistentRead"))
        elif operation == "BatchGetItem":
            # "each item in the batch is read separately": each rounded up to 4 KB on its own
            asked = params.get("RequestItems", {}).get(self.table, {})
            strong = bool(asked.get("ConsistentRead"))
            found = {
                json.dumps({"pk": item["pk"], "sk": item["sk"]}, sort_keys=True): item
                for item in parsed.get("Responses", {}).get(self.table, [])
            }
            reads = [
                (
                    item_kind(key),
                    item_size(
                        found.get(
                            json.dumps({"pk": key["pk"], "sk": key["sk"]}, sort_keys=True), {}
                        )
                    ),
                    None,
                )
                for key in asked.get("Keys", [])
            ]
        elif operation == "TransactGetItems":
            answers = parsed.get("Responses") or []
            reads = []
            for position, action in enumerate(params.get("TransactItems", [])):
                answer = answers[position] if position < len(answers) else {}
                reads.append(
                    (item_kind(action["Get"]["Key"]), item_size(answer.get("Item") or {}), None)
                )
            strong = True
        else:  # Query, Scan: one request, billed for everything it read before its filter
            index = params.get("IndexName")
            partition = next((i.partition for i in self.indexes if i.name == index), "pk")
            kind = (
                query_kind(params, partition)
                if operation == "Query"
                else f"<scan> {index or 'table'}"
            )
            items = parsed.get("Items") or []
            size = sum(item_size(item) for item in items)
            returned, scanned = len(items), int(parsed.get("ScannedCount", len(items)) or 0)
            if returned and scanned > returned:  # filtered out, read all the same
                size = size * scanned // returned
            reads = [(kind, size, index)]
            strong = bool(params.get("ConsistentRead"))
        factor = 2.0 if operation == "TransactGetItems" else 1.0 if strong else 0.5
        way = (
            "Get in tx"
            if operation == "TransactGetItems"
            else f"{operation} {'consistent' if strong else 'eventual'}"
        )
        if params.get("Select") == "COUNT":
            # its answer carries no item to size: priced as one unit at least, a lower bound
            way += " count"
        total = 0.0
        for kind, size, index in reads:
            units = factor * _units(size, READ_UNIT)
            total += units
            indexes: dict[str, float] = {index: units} if index else {}
            _tally(self.read_items, (label, kind, way), 0.0 if index else units, indexes)
        return total


def _tally(
    tallies: dict[tuple[str, str, str], ItemUnits],
    way: tuple[str, str, str],
    table: float,
    indexes: Mapping[str, float],
) -> None:
    """Tell one write or read of an item (or one Query's request) under its way (function,
    kind of item, operation)."""
    tally = tallies.setdefault(way, ItemUnits())
    tally.count += 1
    tally.table += table
    for name, units in indexes.items():
        tally.indexes[name] = tally.indexes.get(name, 0.0) + units
