"""The whole pipeline under faults, at a small size (``bench/faults.py`` runs it larger).

Posts go through intake, moderation, approval, announcements, the relay to X, matching,
notices and contact messages, in one process against moto, with every function under its
IAM policy, while a fifth of the AWS calls fail before they reach AWS or lose their answer,
and X fails too (503, 429, timeouts after posting): see ``entraide_local.faultrun``.
"""

from __future__ import annotations

import pytest

from entraide_local.faultrun.census import EMAIL_KINDS, Census, Row, table
from entraide_local.faultrun.pipeline import Pipeline
from entraide_local.faultrun.world import Scenario

# One run of a few minutes, shared by the tests below (pytest-timeout counts it in the first).
pytestmark = [pytest.mark.faults, pytest.mark.timeout(900)]

#: Effects that must happen exactly once, whatever was lost on the way.
EXACTLY_ONCE = ("posts stored", "decisions", "tweets", "matches")


@pytest.fixture(scope="module")
def census() -> tuple[Pipeline, list[Row]]:
    # Given twelve posts (six pairs of a need and an offer), a fifth of the calls failing
    pipeline = Pipeline(Scenario(posts=12, fault_rate=0.2, seed=7))
    # When they go through the whole pipeline, with redeliveries and the schedules
    observed = pipeline.run()
    rows = Census(pipeline, observed).rows()
    print(table(rows))  # shown with -rP, and when a test fails
    return pipeline, rows


def test_faults_were_injected_everywhere(census: tuple[Pipeline, list[Row]]) -> None:
    pipeline, _ = census
    # Then the run did meet faults, before and after calls, on every service that carries
    # an effect (a run without faults would prove nothing). Each service draws its faults
    # from its own stream of the seed: with seed 7, SNS's 4th call fails, SES's 2nd and
    # DynamoDB's 6th, whatever the order the run's calls come in (a dozen posts make a
    # dozen SNS calls at least); the table meets both kinds
    for service in ("dynamodb", "sesv2", "sns"):
        assert pipeline.faults.count(service) > 0, service
    assert pipeline.faults.count("dynamodb", when="before") > 0
    assert pipeline.faults.count("dynamodb", when="after") > 0
    assert pipeline.faults.count(when="after") > 0


def test_no_effect_is_lost(census: tuple[Pipeline, list[Row]]) -> None:
    pipeline, rows = census
    # Then the run stopped because nothing was left to do, not because nothing moved any
    # more while something waited (a notice for its hour, an effect for its backoff)
    assert pipeline.tally.ended == "nothing left to do"
    assert {row.effect: row.lost for row in rows if row.lost} == {}
    assert all(row.delivered == row.expected for row in rows)


def test_posts_decisions_tweets_and_matches_happen_once(
    census: tuple[Pipeline, list[Row]],
) -> None:
    _, rows = census
    duplicated = {row.effect: row.duplicated for row in rows if row.effect in EXACTLY_ONCE}
    assert duplicated == dict.fromkeys(EXACTLY_ONCE, 0)


def test_an_email_is_repeated_only_where_an_answer_about_it_was_lost(
    census: tuple[Pipeline, list[Row]],
) -> None:
    _, rows = census
    unexplained = {row.effect: row.unexplained for row in rows if row.unexplained}
    assert unexplained == {}
    assert {row.effect for row in rows if row.duplicated} <= {*EMAIL_KINDS, "announcements"}


def test_every_call_was_allowed_by_its_function_policy(
    census: tuple[Pipeline, list[Row]],
) -> None:
    pipeline, _ = census
    assert pipeline.tally.iam_denials == []


def test_effects_are_done_by_the_run_that_recorded_them(
    census: tuple[Pipeline, list[Row]],
) -> None:
    pipeline, rows = census
    # Then the moderation stream's own invocations claimed and completed effects (the path
    # most posts take in AWS, where the function has 90 s), at least one a post, rather than
    # leaving every one to its lease and the schedule's sweep; how many the sweep takes over
    # depends on the faults met and on timing (a seed fixes the first, not the second)
    updates = {
        label: tally.count
        for (label, kind, operation), tally in pipeline.meter.items.items()
        if kind == "EFFECT#moderation EFFECT" and operation == "Update"
    }
    posts = next(row.expected for row in rows if row.effect == "posts stored")
    assert updates.get("moderate", 0) >= posts
