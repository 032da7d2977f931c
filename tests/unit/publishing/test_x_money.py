"""X paid per use: every call priced before it is made, a monthly budget paced over the
month with a reserve for activations, on both budgets (in memory, and DynamoDB on moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from entraide.kernel.model import Category, Kind
from entraide.publishing.quota import Denied, QuotaLimits, Reservation
from entraide.publishing.relay_outcomes import Done
from entraide.publishing.text_rules import X_RULE
from entraide.publishing.tweet_text import find_links
from entraide.publishing.tweets import ChannelTexts, post_tweet
from entraide.publishing.x_prices import (
    CREATE,
    CREATE_WITH_URL,
    DELETE,
    READ_OWNED,
    READ_POST,
    READ_USER,
    affordable_at,
    allowance,
    create_price,
)
from tests.factories import make_activation, make_post
from tests.unit.publishing.conftest import MakeBudget
from tests.unit.publishing.test_relay import BASE_URL, make_world

#: 30 dollars, a quarter kept for activations: $22.50 paced over November (30 days).
THIRTY = QuotaLimits(per_15min=100, per_24h=10_000, usd_per_month=30)
NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)


def test_the_prices_are_xs_pay_per_usage_prices_in_millidollars() -> None:
    assert (CREATE, CREATE_WITH_URL, READ_POST, READ_USER, READ_OWNED, DELETE) == (
        15,
        200,
        5,
        10,
        1,
        10,
    )
    assert create_price(with_url=True) == 200
    assert create_price(with_url=False) == 15


def test_the_pace_lets_one_day_ahead_of_the_month_spend() -> None:
    # $22.50 over 30 days: $0.75 a day, one day ahead
    assert allowance(30_000, 0.25, NOV_1, "post") == 750
    assert allowance(30_000, 0.25, NOV_1 + timedelta(days=14), "post") == 11_250
    assert allowance(30_000, 0.25, NOV_1 + timedelta(days=29, hours=23), "post") == 22_500
    # an activation may spend the reserve too
    assert allowance(30_000, 0.25, NOV_1, "activation") == 750 + 7_500


@settings(max_examples=200, deadline=None)
@given(
    spent=st.integers(min_value=0, max_value=30_000),
    cost=st.sampled_from([CREATE, CREATE_WITH_URL]),
    offset=st.integers(min_value=0, max_value=30 * 24 * 3600 - 1),
    spender=st.sampled_from(["post", "digest", "activation"]),
)
def test_property_affordable_at_is_the_first_moment_the_pace_allows(
    spent: int, cost: int, offset: int, spender: str
) -> None:
    now = NOV_1 + timedelta(seconds=offset)
    at = affordable_at(30_000, 0.25, spent, cost, now, spender)  # type: ignore[arg-type]
    assert at >= now
    december = datetime(2026, 12, 1, tzinfo=UTC)
    if at < december:
        # then, it is affordable; a minute before (when later than now), it was not
        assert spent + cost <= allowance(30_000, 0.25, at, spender)  # type: ignore[arg-type]
        before = at - timedelta(minutes=1)
        if before > now:
            assert spent + cost > allowance(30_000, 0.25, before, spender)  # type: ignore[arg-type]


def test_a_call_is_denied_beyond_the_pace_until_the_pace_allows_it(
    make_budget: MakeBudget,
) -> None:
    # Given $30 a month, on the 1st: $0.75 may be spent today
    budget = make_budget(THIRTY)
    spent = [budget.reserve(NOV_1, cost=CREATE_WITH_URL) for _ in range(4)]
    # Then three posts with a URL ($0.60), not a fourth ($0.80 > $0.75)
    assert [isinstance(r, Reservation) for r in spent] == [True, True, True, False]
    denied = spent[3]
    assert isinstance(denied, Denied)
    assert denied.window == "money"
    # and the fourth is affordable when the pace reaches $0.80: 1h36 later
    assert denied.retry_at == NOV_1 + timedelta(hours=1, minutes=36, seconds=1)
    # and a post without a URL ($0.015) still fits now ($0.615)
    assert isinstance(budget.reserve(NOV_1, cost=CREATE), Reservation)
    again = budget.reserve(denied.retry_at, cost=CREATE_WITH_URL)
    assert isinstance(again, Denied)
    # the $0.015 spent meanwhile is 29 minutes of the pace ($0.75 a day)
    assert again.retry_at == denied.retry_at + timedelta(minutes=28, seconds=48)
    assert isinstance(budget.reserve(again.retry_at, cost=CREATE_WITH_URL), Reservation)


def test_an_activation_announcement_draws_on_the_reserve(make_budget: MakeBudget) -> None:
    budget = make_budget(THIRTY)
    while isinstance(budget.reserve(NOV_1, cost=CREATE_WITH_URL), Reservation):
        pass
    # the posts' pace is spent, an opening still goes out
    assert isinstance(
        budget.reserve(NOV_1, cost=CREATE_WITH_URL, spender="activation"), Reservation
    )


def test_a_released_call_gives_its_money_back(make_budget: MakeBudget) -> None:
    budget = make_budget(THIRTY)
    reservations = [budget.reserve(NOV_1, cost=CREATE_WITH_URL) for _ in range(3)]
    assert budget.remaining(NOV_1, cost=CREATE_WITH_URL) == 0
    last = reservations[-1]
    assert isinstance(last, Reservation)
    budget.release(last)
    assert budget.remaining(NOV_1, cost=CREATE_WITH_URL) == 1
    # the same money counts how many cheaper calls fit: $0.35 left, 23 posts without URL
    assert budget.remaining(NOV_1, cost=CREATE) == 23


def test_the_money_of_a_month_counts_no_more_the_next(make_budget: MakeBudget) -> None:
    budget = make_budget(THIRTY)
    november_end = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    while isinstance(budget.reserve(november_end, cost=CREATE_WITH_URL), Reservation):
        pass
    assert isinstance(
        budget.reserve(datetime(2026, 12, 1, 0, 1, tzinfo=UTC), cost=CREATE_WITH_URL),
        Reservation,
    )


def test_the_tier_presets_are_kept_and_payg_has_the_2026_limits() -> None:
    assert QuotaLimits.parse("basic") == QuotaLimits(per_24h=100, per_month=3_000)
    payg = QuotaLimits.parse("payg,usd_per_month=50")
    assert (payg.per_15min, payg.per_24h, payg.usd_per_month) == (100, 10_000, 50)
    assert payg.money == 50_000


# ------------------------------------------------------------------------- link policy
def test_without_its_link_a_post_names_its_reference_and_the_site_in_plain_text() -> None:
    post = make_post(id="01JDQ4X8Z6Y5W4V3T2S1R0QPNM")
    url = f"{BASE_URL}/posts/{post.id}"
    text = post_tweet(post, activation=make_activation(), public_url=url, linked=False)
    assert f"Réf. {post.id} sur ShareEntraide" in text
    assert find_links(text) == []  # X sees no URL: $0.015, not $0.200
    assert X_RULE.fits(text)


def test_the_relay_prices_each_call_by_the_link_policy_and_records_it() -> None:
    # Given X paid per use, links in digests and activations only
    links = frozenset({"digest", "activation"})
    texts = ChannelTexts(X_RULE, links)
    world = make_world(
        THIRTY,
        texts=lambda: texts,
        price=lambda kind: create_price(with_url=kind in links),
    )
    # When a post is approved
    outcome = world.relay.handle_approved(world.approve("P1"))
    # Then its tweet has no URL, cost $0.015, recorded with it
    assert isinstance(outcome, Done)
    [record] = world.store.tweets.values()
    assert record.cost == CREATE
    assert find_links(record.text) == []
    assert world.budget.spent() == CREATE


def test_over_budget_posts_gather_into_digests_and_none_is_dropped() -> None:
    # Given $30 a month on the 1st ($0.75 today) and posts with links ($0.20 each)
    world = make_world(THIRTY, price=lambda kind: CREATE_WITH_URL, digest_threshold=10)
    world.clock.now = NOV_1 + timedelta(hours=9)
    messages = [world.approve(f"P{i}", kind=Kind.OFFER, category=Category.REPAS) for i in range(12)]
    pending = list(messages)
    # When the messages come back each time they are deferred, for a day
    for _ in range(200):
        if not pending:
            break
        world.clock.advance(minutes=15)
        still = []
        for message in pending:
            outcome = world.relay.handle_approved(message)
            if not isinstance(outcome, Done) and "already" not in str(outcome):
                still.append(message)
        pending = [m for m in still if m["post_id"] not in world.store.announced]
    # Then every post was announced, some in digests, and the spend stayed within the pace
    assert set(world.store.announced) == {f"P{i}" for i in range(12)}
    assert any(record.kind == "digest" for record in world.store.tweets.values())
    spent = sum(record.cost for record in world.store.tweets.values())
    assert spent <= allowance(30_000, 0.25, world.clock(), "post")
