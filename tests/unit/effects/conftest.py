"""The ledger's tests run on both stores: the table's (moto) and its twin in a dict."""

from __future__ import annotations

import pytest

from entraide.adapters.table import Table
from entraide.effects.ledger_store import DynamoDBLedgerStore
from entraide.effects.memory import MemoryLedgerStore
from entraide.effects.model import LedgerStore
from tests.factories import NOW, Clock


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> LedgerStore:
    if request.param == "memory":
        return MemoryLedgerStore()
    table: Table = request.getfixturevalue("table")
    return DynamoDBLedgerStore(table)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)
