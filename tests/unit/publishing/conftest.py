"""Fixtures of the publishing tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from entraide.adapters.table import Table
from entraide.publishing.quota import Budget, MemoryBudget, QuotaLimits
from entraide.publishing.quota_store import DynamoDBBudget

MakeBudget = Callable[[QuotaLimits], Budget]


@pytest.fixture(params=["memory", "dynamodb"])
def make_budget(request: pytest.FixtureRequest) -> MakeBudget:
    """Each budget test runs on both budgets: in memory, and DynamoDB on moto."""
    if request.param == "memory":
        return MemoryBudget
    table: Table = request.getfixturevalue("table")
    return lambda limits: DynamoDBBudget(table, limits)
