"""X recent search for the watch: its query, and a day's reads within their budget."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from entraide.watch.config import Theme
from entraide.watch.x_reads import (
    MAX_RESULTS,
    QUERY_MAX_CHARS,
    plan_read,
    read_cost,
    search_query,
)


def theme(keywords: list[str], hashtags: list[str] = []) -> Theme:  # noqa: B006
    return Theme(id="t", label="t", keywords=tuple(keywords), hashtags=tuple(hashtags))


def test_the_query_asks_for_hashtags_then_keywords_in_french_without_reposts() -> None:
    query = search_query([theme(["crue", "vigilance rouge"], ["#Vigicrues"])])
    assert query == '(#Vigicrues OR crue OR "vigilance rouge") lang:fr -is:retweet'


def test_the_query_keeps_what_fits_in_xs_512_characters() -> None:
    many = [f"mot{index:03d}" for index in range(200)]
    query = search_query([theme(many)])
    assert len(query) <= QUERY_MAX_CHARS
    assert "mot000 OR mot001" in query
    assert "mot199" not in query


def test_a_small_budget_asks_for_what_it_can_pay_at_worst() -> None:
    # 15 millidollars a result at worst (a post and its author)
    assert plan_read(1000, 0).max_results == 66  # type: ignore[union-attr]
    assert plan_read(10_000, 0).max_results == MAX_RESULTS  # type: ignore[union-attr]
    assert plan_read(1000, 851) is None  # 149 left: not 10 results
    assert plan_read(1000, 850).max_results == 10  # type: ignore[union-attr]


@given(
    budget=st.integers(min_value=0, max_value=20_000),
    answers=st.lists(
        st.tuples(st.floats(min_value=0, max_value=1), st.floats(min_value=0, max_value=1)),
        max_size=60,
    ),
)
def test_a_days_reads_never_pass_their_budget(
    budget: int, answers: list[tuple[float, float]]
) -> None:
    # Given a day's budget, and X answering each request with any number of posts up to
    # what was asked, by any number of distinct authors up to the posts
    spent = 0
    for post_share, author_share in answers:
        # When the watch plans a request with what is left
        plan = plan_read(budget, spent)
        if plan is None:
            break
        posts = round(plan.max_results * post_share)
        authors = round(posts * author_share)
        spent += read_cost(posts, authors)
        # Then what the day has spent never passes its budget
        assert spent <= budget
