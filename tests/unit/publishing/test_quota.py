"""The X posting budget: limits as settings, sliding windows, atomic spending, blocks.

Every behaviour is checked on both implementations (in memory, and DynamoDB on moto with
the table of template.yaml), so that the bench and the tests measure what runs in AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from entraide.adapters.table import Table
from entraide.publishing.quota import Budget, Denied, QuotaLimits, Reservation
from entraide.publishing.quota_store import DynamoDBBudget

NOW = datetime(2026, 11, 26, 10, 0, 30, tzinfo=UTC)
MakeBudget = Callable[[QuotaLimits], Budget]


def spend(budget: Budget, at: datetime, times: int = 1) -> list[Reservation | Denied]:
    return [budget.reserve(at) for _ in range(times)]


# ----------------------------------------------------------------------- limits as settings
def test_presets_follow_x_tiers_for_posting() -> None:
    # Given the documented tiers of POST /2/tweets (user context)
    # Then the free tier is 17 a day, basic 100 a day with no 15-minute cap
    assert QuotaLimits.preset("free") == QuotaLimits(per_24h=17, per_month=500)
    assert QuotaLimits.preset("basic") == QuotaLimits(per_24h=100, per_month=3000)
    assert QuotaLimits.preset("Basic").per_15min is None
    assert QuotaLimits.preset("pro").per_15min == 100


def test_an_empty_setting_means_the_default_100_a_day() -> None:
    assert QuotaLimits.parse("") == QuotaLimits.preset("basic")
    assert QuotaLimits.parse("  ").per_24h == 100


def test_a_setting_of_pairs_gives_exactly_those_caps() -> None:
    limits = QuotaLimits.parse("per_24h=50, per_15min=10")
    assert limits == QuotaLimits(per_15min=10, per_24h=50, per_month=None)


def test_a_preset_can_be_adjusted_by_pairs() -> None:
    assert QuotaLimits.parse("free,per_15min=5") == QuotaLimits(
        per_15min=5, per_24h=17, per_month=500
    )
    assert QuotaLimits.parse("basic,per_month=none").per_month is None


@pytest.mark.parametrize(
    "setting",
    ["gold", "per_day=5", "per_24h=lots", "per_24h=0", "per_24h=5,free", "per_15min=-1"],
)
def test_a_wrong_setting_is_refused(setting: str) -> None:
    with pytest.raises((ValueError, ValidationError)):
        QuotaLimits.parse(setting)


def test_limits_are_frozen() -> None:
    limits = QuotaLimits.preset("free")
    with pytest.raises(ValidationError):
        limits.per_24h = 1000  # type: ignore[misc]


def test_the_digest_reserve_is_a_quarter_of_the_smallest_cap() -> None:
    assert QuotaLimits.preset("basic").default_reserve() == 25
    assert QuotaLimits.preset("free").default_reserve() == 4
    assert QuotaLimits(per_24h=2).default_reserve() == 1
    assert QuotaLimits().default_reserve() == 0


def test_the_sustainable_interval_is_the_slowest_window_per_unit() -> None:
    assert QuotaLimits(per_24h=100).sustainable_interval() == timedelta(minutes=14, seconds=24)
    assert QuotaLimits.preset("free").sustainable_interval() == timedelta(days=31) / 500
    assert QuotaLimits(per_15min=5, per_24h=1000).sustainable_interval() == timedelta(minutes=3)
    assert QuotaLimits().sustainable_interval() == timedelta(0)


# ----------------------------------------------------------------------------- windows
def test_the_24h_cap_denies_the_next_unit_until_the_oldest_bucket_slides_out(
    make_budget: MakeBudget,
) -> None:
    # Given a budget of 3 a day, spent at 10:00:30 (bucket 10:00-10:15)
    budget = make_budget(QuotaLimits(per_24h=3))
    assert all(isinstance(result, Reservation) for result in spend(budget, NOW, 3))
    # When a fourth unit is asked for
    denied = budget.reserve(NOW + timedelta(minutes=1))
    # Then it is refused until that bucket has left the 24-hour window (24 h after its end)
    assert denied == Denied(datetime(2026, 11, 27, 10, 15, tzinfo=UTC), "24h")
    assert isinstance(budget.reserve(datetime(2026, 11, 27, 10, 14, 59, tzinfo=UTC)), Denied)
    assert isinstance(budget.reserve(datetime(2026, 11, 27, 10, 15, tzinfo=UTC)), Reservation)


def test_the_24h_window_is_sliding_not_a_utc_day(make_budget: MakeBudget) -> None:
    # Given 3 a day, all spent ten minutes before midnight UTC
    budget = make_budget(QuotaLimits(per_24h=3))
    evening = datetime(2026, 11, 26, 23, 50, tzinfo=UTC)
    spend(budget, evening, 3)
    # When the UTC day changes, the units are still spent (X's window is not a UTC day)
    after_midnight = datetime(2026, 11, 27, 0, 10, tzinfo=UTC)
    assert budget.remaining(after_midnight) == 0
    assert isinstance(budget.reserve(after_midnight), Denied)
    # Then they come back 24 h after the end of their 15-minute bucket
    assert budget.remaining(datetime(2026, 11, 28, 0, 0, tzinfo=UTC)) == 3


def test_the_24h_window_frees_units_bucket_by_bucket(make_budget: MakeBudget) -> None:
    # Given 4 a day: two spent at 10:00, two at 12:00
    budget = make_budget(QuotaLimits(per_24h=4))
    spend(budget, NOW, 2)
    spend(budget, NOW + timedelta(hours=2), 2)
    # Then the first two come back at 10:15 the next day, the others at 12:15
    next_day = NOW.replace(day=27)
    assert budget.remaining(next_day + timedelta(minutes=14)) == 0
    assert budget.remaining(next_day.replace(minute=15, second=0)) == 2
    assert budget.remaining(next_day.replace(hour=12, minute=15, second=0)) == 4


def test_the_15min_cap_is_sliding_in_minutes(make_budget: MakeBudget) -> None:
    # Given 2 per 15 minutes, both spent at 10:00:30
    budget = make_budget(QuotaLimits(per_15min=2))
    spend(budget, NOW, 2)
    # Then the next unit is free 15 minutes after the end of that minute: 10:16
    assert budget.reserve(NOW + timedelta(minutes=5)) == Denied(
        datetime(2026, 11, 26, 10, 16, tzinfo=UTC), "15m"
    )
    assert isinstance(budget.reserve(datetime(2026, 11, 26, 10, 16, tzinfo=UTC)), Reservation)


def test_the_monthly_cap_is_the_utc_calendar_month(make_budget: MakeBudget) -> None:
    # Given 2 a month, spent on the last evening of November
    budget = make_budget(QuotaLimits(per_month=2))
    spend(budget, datetime(2026, 11, 30, 23, 0, tzinfo=UTC), 2)
    # Then nothing more in November; December starts afresh
    assert budget.reserve(datetime(2026, 11, 30, 23, 59, tzinfo=UTC)) == Denied(
        datetime(2026, 12, 1, tzinfo=UTC), "month"
    )
    assert budget.remaining(datetime(2026, 12, 1, tzinfo=UTC)) == 2


def test_a_unit_is_spent_in_every_window_or_in_none(make_budget: MakeBudget) -> None:
    # Given 1 per 15 minutes and 3 a day
    budget = make_budget(QuotaLimits(per_15min=1, per_24h=3))
    assert isinstance(budget.reserve(NOW), Reservation)
    # When many reservations are refused by the 15-minute cap
    for second in range(1, 30):
        assert isinstance(budget.reserve(NOW + timedelta(seconds=second)), Denied)
    # Then none of them spent a unit of the day: two more fit, 16 minutes apart
    assert isinstance(budget.reserve(NOW + timedelta(minutes=16)), Reservation)
    assert isinstance(budget.reserve(NOW + timedelta(minutes=32)), Reservation)
    assert budget.reserve(NOW + timedelta(minutes=48)) == Denied(
        datetime(2026, 11, 27, 10, 15, tzinfo=UTC), "24h"
    )


def test_remaining_is_the_smallest_window(make_budget: MakeBudget) -> None:
    # Given 3 per 15 minutes, 4 a day, 20 a month
    budget = make_budget(QuotaLimits(per_15min=3, per_24h=4, per_month=20))
    assert budget.remaining(NOW) == 3
    # When 2 are spent
    spend(budget, NOW, 2)
    # Then 1 is left now (15 minutes), 2 once the 15 minutes are over (the day)
    assert budget.remaining(NOW) == 1
    assert budget.remaining(NOW + timedelta(minutes=20)) == 2


def test_without_caps_the_budget_never_denies(make_budget: MakeBudget) -> None:
    budget = make_budget(QuotaLimits())
    assert all(isinstance(result, Reservation) for result in spend(budget, NOW, 5))
    assert budget.remaining(NOW) > 1000


# ------------------------------------------------------------------ release and blocks
def test_a_released_unit_can_be_spent_again(make_budget: MakeBudget) -> None:
    # Given 2 a day, both spent
    budget = make_budget(QuotaLimits(per_15min=5, per_24h=2))
    first, _ = spend(budget, NOW, 2)
    assert isinstance(first, Reservation)
    assert isinstance(budget.reserve(NOW), Denied)
    # When X did not post (a 503) and the unit is given back
    budget.release(first)
    # Then one unit is free again, in every window
    assert budget.remaining(NOW) == 1
    assert isinstance(budget.reserve(NOW + timedelta(minutes=1)), Reservation)
    assert budget.remaining(NOW + timedelta(minutes=1)) == 0


def test_a_released_unit_of_a_past_bucket_counts_no_more(make_budget: MakeBudget) -> None:
    budget = make_budget(QuotaLimits(per_24h=2))
    old = budget.reserve(NOW)
    spend(budget, NOW + timedelta(hours=1))
    assert isinstance(old, Reservation)
    budget.release(old)
    assert budget.remaining(NOW + timedelta(hours=2)) == 1


def test_a_block_denies_until_its_time(make_budget: MakeBudget) -> None:
    # Given a budget with plenty left, and X answering 429 until 10:30
    budget = make_budget(QuotaLimits(per_24h=100))
    reset = datetime(2026, 11, 26, 10, 30, tzinfo=UTC)
    budget.block_until(reset, NOW)
    # Then nothing is spent before 10:30, and the refusal says when to come back
    assert budget.reserve(NOW + timedelta(minutes=5)) == Denied(reset, "blocked")
    assert budget.remaining(NOW + timedelta(minutes=5)) == 0
    assert isinstance(budget.reserve(reset), Reservation)
    assert budget.remaining(reset) == 99


def test_a_block_is_never_shortened(make_budget: MakeBudget) -> None:
    budget = make_budget(QuotaLimits(per_24h=100))
    budget.block_until(NOW + timedelta(hours=2), NOW)
    budget.block_until(NOW + timedelta(minutes=10), NOW)
    assert budget.reserve(NOW + timedelta(minutes=30)) == Denied(
        NOW + timedelta(hours=2), "blocked"
    )


def test_a_block_blocks_every_window(make_budget: MakeBudget) -> None:
    budget = make_budget(QuotaLimits())
    budget.block_until(NOW + timedelta(minutes=15), NOW)
    assert isinstance(budget.reserve(NOW), Denied)


def test_deletions_count_in_their_own_window_and_pass_a_posting_block(
    make_budget: MakeBudget,
) -> None:
    # Given X's limits (2 posts a day here) and DELETE /2/tweets/:id's 50 per 15 minutes,
    # both posts spent and X blocking posts after a 429
    budget = make_budget(QuotaLimits(per_24h=2, deletes_per_15min=50))
    spend(budget, NOW, 2)
    budget.block_until(NOW + timedelta(hours=1), NOW)
    # When 51 deletions are asked within the minute
    deletions = [budget.reserve(NOW, spender="deletion") for _ in range(51)]
    # Then 50 pass (the posting block and the spent posts stop none of them), the 51st
    # waits for the deletions' window, and a read spends no window at all
    assert all(isinstance(d, Reservation) for d in deletions[:50])
    assert isinstance(deletions[50], Denied)
    assert deletions[50].window == "delete-15m"
    assert deletions[50].retry_at > NOW + timedelta(minutes=14)
    assert isinstance(budget.reserve(NOW, spender="read"), Reservation)
    assert isinstance(budget.reserve(NOW), Denied)  # posting still blocked


def test_a_deletion_spends_money_that_posts_then_lack(make_budget: MakeBudget) -> None:
    # Given $1 a month, no reserve, on the last day (the whole month's pace available),
    # deletions without a window here
    end = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    budget = make_budget(QuotaLimits(usd_per_month=1, activation_reserve=0, deletes_per_15min=None))
    # When 99 deletions at $0.010 are made
    for _ in range(99):
        assert isinstance(budget.reserve(end, cost=10, spender="deletion"), Reservation)
    # Then $0.99 is spent: one post at $0.015 no longer fits, one read at $0.005 does
    assert isinstance(budget.reserve(end, cost=15), Denied)
    assert isinstance(budget.reserve(end, cost=5, spender="read"), Reservation)
    assert isinstance(budget.reserve(end, cost=10, spender="deletion"), Reservation)


# ------------------------------------------------------------------- DynamoDB specifics
def raw_items(table: Table, pk: str) -> dict[str, dict[str, Any]]:
    response = table.client.query(
        TableName=table.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ConsistentRead=True,
    )
    return {item["sk"]["S"]: item for item in response["Items"]}


def counts_of(table: Table, pk: str = "QUOTA#x-posting") -> dict[str, int]:
    item = raw_items(table, pk).get("BUDGET")
    return {} if item is None else {k: int(v["N"]) for k, v in item["counts"]["M"].items()}


def test_the_budget_is_one_item_of_bucket_counts_with_a_ttl(table: Table) -> None:
    # Given a DynamoDB budget named x-posting with all three windows
    budget = DynamoDBBudget(table, QuotaLimits(per_15min=5, per_24h=50, per_month=500))
    # When two units are spent at 10:00:30 and X blocks it
    spend(budget, NOW, 2)
    budget.block_until(NOW + timedelta(minutes=30), NOW)
    # Then one item counts each window's bucket, and keeps the block; its TTL comes after
    # the last bucket stops counting (the month's)
    items = raw_items(table, "QUOTA#x-posting")
    assert set(items) == {"BUDGET"}
    assert counts_of(table) == {
        "15m#2026-11-26T10:00:00Z": 2,
        "24h#2026-11-26T10:00:00Z": 2,
        "month#2026-11-01T00:00:00Z": 2,
    }
    budget_item = items["BUDGET"]
    assert budget_item["until_epoch"] == {"N": str(int((NOW + timedelta(minutes=30)).timestamp()))}
    freed = datetime(2026, 12, 1, tzinfo=UTC)
    assert int(budget_item["expires_at"]["N"]) == int((freed + timedelta(days=1)).timestamp())


def test_buckets_that_count_no_more_leave_the_item(table: Table) -> None:
    budget = DynamoDBBudget(table, QuotaLimits(per_15min=5, per_24h=50))
    spend(budget, NOW)
    spend(budget, NOW + timedelta(hours=25))
    assert counts_of(table) == {"15m#2026-11-27T11:00:00Z": 1, "24h#2026-11-27T11:00:00Z": 1}


class RacingBudget(DynamoDBBudget):
    """A relay that reads the counters, then loses the race to another one once."""

    def __init__(self, *args: Any, rival: Callable[[], object], **options: Any) -> None:
        super().__init__(*args, **options)
        self.rival: Callable[[], object] | None = rival
        self.reads = 0

    def _read(self, now: datetime) -> Any:
        state = super()._read(now)
        self.reads += 1
        if self.rival is not None:
            rival, self.rival = self.rival, None
            rival()  # spends between our read and our conditional write
        return state


def test_a_unit_spent_by_another_relay_between_read_and_write_is_not_spent_twice(
    table: Table,
) -> None:
    # Given 2 a day, one already spent, and two relays sharing the table
    limits = QuotaLimits(per_24h=2)
    other = DynamoDBBudget(table, limits)
    spend(other, NOW)
    racing = RacingBudget(table, limits, rival=lambda: other.reserve(NOW))
    # When the other relay takes the last unit after our read
    result = racing.reserve(NOW)
    # Then our conditional write fails, we read again, and we are refused
    assert isinstance(result, Denied)
    assert racing.reads == 2
    assert counts_of(table) == {"24h#2026-11-26T10:00:00Z": 2}


def test_a_race_on_one_window_spends_nothing_in_the_others(table: Table) -> None:
    # Given 1 per 15 minutes and 10 a day
    limits = QuotaLimits(per_15min=1, per_24h=10)
    other = DynamoDBBudget(table, limits)
    racing = RacingBudget(table, limits, rival=lambda: other.reserve(NOW))
    # When the other relay takes the 15-minute unit between our read and our write
    assert isinstance(racing.reserve(NOW), Denied)
    # Then the day counts only the other relay's unit: one write, all or nothing
    assert counts_of(table) == {"24h#2026-11-26T10:00:00Z": 1, "15m#2026-11-26T10:00:00Z": 1}


def test_a_block_set_by_another_relay_after_our_read_wins(table: Table) -> None:
    limits = QuotaLimits(per_24h=10)
    other = DynamoDBBudget(table, limits)
    racing = RacingBudget(
        table, limits, rival=lambda: other.block_until(NOW + timedelta(minutes=5), NOW)
    )
    assert racing.reserve(NOW) == Denied(NOW + timedelta(minutes=5), "blocked")
    assert counts_of(table) == {}


def test_two_spenders_either_side_of_a_bucket_boundary_never_overrun_the_cap(
    table: Table,
) -> None:
    # Given 2 a day, one unit spent at 10:14, and two relays: one whose clock says 10:14:59
    # (bucket 10:00), one whose clock says 10:15:00 (a new bucket)
    limits = QuotaLimits(per_24h=2)
    before = NOW.replace(minute=14, second=59)
    late = DynamoDBBudget(table, limits)
    spend(late, NOW.replace(minute=14))
    boundary = NOW.replace(minute=15, second=0)
    # When the 10:14:59 spender writes into bucket 10:00 after the 10:15 one read the item
    racing = RacingBudget(table, limits, rival=lambda: late.reserve(before))
    result = racing.reserve(boundary)
    # Then the 10:15 spender reads again and is refused: two units, never three
    assert isinstance(result, Denied)
    assert counts_of(table) == {"24h#2026-11-26T10:00:00Z": 2}


def test_the_budget_reads_its_clock_inside_the_spend(table: Table) -> None:
    # Given a budget whose clock moves on while another relay spends (a slow read)
    clock = [NOW]
    budget = RacingBudget(
        table,
        QuotaLimits(per_15min=5),
        rival=lambda: clock.append(NOW + timedelta(minutes=1)),
        clock=lambda: clock[-1],
    )
    other = DynamoDBBudget(table, QuotaLimits(per_15min=5))
    budget.rival = lambda: (clock.append(NOW + timedelta(minutes=1)), other.reserve(NOW))
    # When it spends
    reservation = budget.reserve()
    # Then the unit lands in the bucket of the moment of the spend that succeeded
    assert isinstance(reservation, Reservation)
    assert reservation.at == NOW + timedelta(minutes=1)
    assert counts_of(table) == {"15m#2026-11-26T10:00:00Z": 1, "15m#2026-11-26T10:01:00Z": 1}


def test_two_budgets_with_different_names_do_not_share_units(table: Table) -> None:
    limits = QuotaLimits(per_24h=1)
    assert isinstance(DynamoDBBudget(table, limits, name="a").reserve(NOW), Reservation)
    assert isinstance(DynamoDBBudget(table, limits, name="b").reserve(NOW), Reservation)
    assert isinstance(DynamoDBBudget(table, limits, name="a").reserve(NOW), Denied)


def test_a_spend_right_after_asking_what_is_left_reads_the_budget_once(table: Table) -> None:
    # Given 2 a day, and the budget's reads told
    budget = RacingBudget(table, QuotaLimits(per_24h=2), rival=lambda: None)
    # When a relay asks what is left, then spends a unit
    assert budget.remaining(NOW) == 2
    assert not isinstance(budget.reserve(NOW), Denied)
    # Then the budget item was read once, and the unit is spent
    assert budget.reads == 1
    assert counts_of(table) == {"24h#2026-11-26T10:00:00Z": 1}


def test_a_unit_spent_by_another_relay_after_asking_what_is_left_is_not_spent_twice(
    table: Table,
) -> None:
    # Given 2 a day, one spent, and two relays sharing the table
    limits = QuotaLimits(per_24h=2)
    ours, other = DynamoDBBudget(table, limits), DynamoDBBudget(table, limits)
    spend(other, NOW)
    # When ours sees one unit left, and the other relay takes it before ours spends
    assert ours.remaining(NOW) == 1
    assert not isinstance(other.reserve(NOW), Denied)
    result = ours.reserve(NOW)
    # Then our write, held to the version we read, fails; we read again and are refused
    assert isinstance(result, Denied)
    assert counts_of(table) == {"24h#2026-11-26T10:00:00Z": 2}
