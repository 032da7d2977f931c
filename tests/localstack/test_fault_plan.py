"""The fault plan's draws: a service's n-th call fails or not by the seed alone."""

from __future__ import annotations

from entraide_local.faults import FaultPlan


def fates(plan: FaultPlan, calls: list[str], service: str) -> list[str | None]:
    """What the plan decides for each call of ``service`` in ``calls`` (in order)."""
    decided = [(name, plan.decide(name, "Operation", {})) for name in calls]
    return [when for name, when in decided if name == service]


def test_a_service_meets_the_same_faults_however_its_calls_interleave_with_others() -> None:
    # Given two runs of the same seed whose SNS calls come between different numbers of
    # DynamoDB calls (threads and timing decide that in a fault run)
    first = ["sns", "dynamodb", "sns", "dynamodb", "dynamodb", "sns"] * 10
    second = ["dynamodb"] * 7 + ["sns"] * 30 + ["dynamodb"] * 3
    # When each plan decides its calls
    sns_first = fates(FaultPlan(rate=0.2, seed=7), first, "sns")
    sns_second = fates(FaultPlan(rate=0.2, seed=7), second, "sns")
    # Then SNS's thirty calls meet the same faults, at the same calls, in both runs
    assert sns_first == sns_second
    assert any(sns_first)
    assert not all(sns_first)
    # ...and another seed draws other ones
    assert fates(FaultPlan(rate=0.2, seed=8), second, "sns") != sns_second
