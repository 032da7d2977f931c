"""X's read state in the table: the day's budget held by one conditional write."""

from __future__ import annotations

from datetime import date

from entraide.adapters.table import Table
from entraide.watch.collect import MemoryXReadState
from entraide.watch.read_store import TableXReadState

DAY = date(2026, 12, 7)


def test_a_reservation_past_the_budget_is_refused(table: Table) -> None:
    state = TableXReadState(table)
    assert state.reserve("x", DAY, 600, 1000) == 0
    assert state.reserve("x", DAY, 500, 1000) is None
    assert state.reserve("x", DAY, 400, 1000) == 600
    assert state.spent("x", DAY) == 1000
    assert state.reserve("x", DAY, 1, 1000) is None
    # a new day starts from nothing
    assert state.spent("x", date(2026, 12, 8)) == 0
    assert state.reserve("x", DAY, 1001, 1001) is None  # 1000 already spent
    assert state.reserve("y", DAY, 1001, 1000) is None  # the first write too


def test_what_an_answer_did_not_cost_is_given_back_and_the_newest_id_kept(table: Table) -> None:
    state = TableXReadState(table)
    state.reserve("x", DAY, 990, 1000)
    state.settle("x", DAY, 940, "1578516068309794817")
    assert state.spent("x", DAY) == 50
    # an older run ending late does not move since_id back
    state.settle("x", DAY, 0, "1578511538419212288")
    assert state.since_id("x") == "1578516068309794817"
    assert state.since_id("y") is None


def test_the_table_answers_as_the_dicts_do(table: Table) -> None:
    # Given reservations of every size against one budget, in the table and in dicts
    amounts = [300, 0, 450, 400, 250, 1, 1000, 0, 5]
    table_state, memory = TableXReadState(table), MemoryXReadState()
    # When each is asked, Then both answer the same, and neither passes the budget
    for amount in amounts:
        assert table_state.reserve("x", DAY, amount, 1000) == memory.reserve("x", DAY, amount, 1000)
    assert table_state.spent("x", DAY) == memory.spent("x", DAY) == 1000
