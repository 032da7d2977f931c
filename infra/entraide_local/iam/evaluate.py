"""IAM identity-based policy evaluation, with AWS's documented logic.

A `Policy` is one JSON policy document (several identity policies of a role can be merged
into one: only the statements count). `Policy.evaluate(request)` answers for one
`Request` (action, resource ARN, condition keys):

- an applicable `Deny` statement wins, then an applicable `Allow`, else the request is
  implicitly denied. "If policies that apply to a request include an Allow statement and a
  Deny statement, the Deny statement trumps the Allow statement. [...] An implicit denial
  occurs when there is no applicable Deny statement but also no applicable Allow statement."
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
- A statement applies when its Action (or NotAction), its Resource (or NotResource) and all
  its conditions match. Actions are case-insensitive and take `*` and `?`
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html);
  resource ARNs are case-sensitive, and "you can use wildcard characters (* and ?) within any
  ARN segment (the parts separated by colons) [...] If the * wildcard is the last character of
  a resource ARN segment, it can expand to match beyond the colon boundaries"
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).

Condition operators (`conditions.py`) follow the condition operator and multi-value pages.
Only identity-based policies are evaluated: resource policies, permissions boundaries, SCPs
and session policies are not modelled (the template uses none on the functions' side).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .conditions import Condition, PolicyError, compile_conditions
from .patterns import ContextValue, action_pattern, arn_pattern


class Decision(enum.Enum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicitly denied"
    IMPLICIT_DENY = "implicitly denied"


@dataclass(frozen=True)
class Request:
    """One authorisation: an IAM action on one resource, with the request's condition keys.

    Condition key names are not case-sensitive in IAM; they are kept lower-cased here.
    """

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        lowered = {key.lower(): value for key, value in self.context.items()}
        object.__setattr__(self, "context", lowered)


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    request: Request
    statement: str = ""  # Sid, or the index of the deciding statement

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOWED


@dataclass(frozen=True)
class _Statement:
    label: str
    allow: bool
    actions: tuple[re.Pattern[str], ...]
    actions_negated: bool
    resources: tuple[str, ...]  # raw patterns: they may hold policy variables
    resources_negated: bool
    conditions: tuple[Condition, ...]

    def applies(self, request: Request) -> bool:
        action_matches = any(pattern.fullmatch(request.action) for pattern in self.actions)
        if action_matches == self.actions_negated:
            return False
        resource_matches = any(
            arn_pattern(pattern, request.context).fullmatch(request.resource)
            for pattern in self.resources
        )
        if resource_matches == self.resources_negated:
            return False
        return all(condition.holds(request.context) for condition in self.conditions)


class Policy:
    """A parsed identity-based policy document; raises `PolicyError` when it is malformed."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        if not isinstance(document, Mapping):
            raise PolicyError("a policy document is a JSON object")
        statements = document.get("Statement")
        if isinstance(statements, Mapping):
            statements = [statements]
        if not isinstance(statements, list):
            raise PolicyError("Statement: expected a list of statements")
        self.document = document
        self.statements = tuple(_statement(body, index) for index, body in enumerate(statements))

    def evaluate(self, request: Request) -> Outcome:
        allowed_by = ""
        for statement in self.statements:
            if not statement.applies(request):
                continue
            if not statement.allow:
                return Outcome(Decision.EXPLICIT_DENY, request, statement.label)
            allowed_by = allowed_by or statement.label
        if allowed_by:
            return Outcome(Decision.ALLOWED, request, allowed_by)
        return Outcome(Decision.IMPLICIT_DENY, request)

    def condition_keys(self) -> set[str]:
        """Every condition key the policy tests (lower-cased)."""
        return {c.key for statement in self.statements for c in statement.conditions}


def _statement(body: Any, index: int) -> _Statement:
    where = f"Statement[{index}]"
    if not isinstance(body, Mapping):
        raise PolicyError(f"{where}: expected an object")
    label = str(body.get("Sid") or index)
    effect = body.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"{where}.Effect: expected Allow or Deny, got {effect!r}")
    if "Principal" in body or "NotPrincipal" in body:
        raise PolicyError(f"{where}: an identity-based policy has no Principal")
    actions, actions_negated = _one_of(body, "Action", "NotAction", where)
    # Identity-based policies must name their resources.
    resources, resources_negated = _one_of(body, "Resource", "NotResource", where)
    conditions = body.get("Condition") or {}
    if not isinstance(conditions, Mapping):
        raise PolicyError(f"{where}.Condition: expected an object")
    return _Statement(
        label=label,
        allow=effect == "Allow",
        actions=tuple(_action_pattern(action, where) for action in actions),
        actions_negated=actions_negated,
        resources=tuple(resources),
        resources_negated=resources_negated,
        conditions=compile_conditions(conditions, f"{where}.Condition"),
    )


def _one_of(body: Mapping[str, Any], name: str, negated: str, where: str) -> tuple[list[str], bool]:
    if (name in body) == (negated in body):
        raise PolicyError(f"{where}: exactly one of {name} and {negated} is required")
    key = name if name in body else negated
    values = body[key]
    values = [values] if isinstance(values, str) else values
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise PolicyError(f"{where}.{key}: expected a string or a list of strings")
    return values, key == negated


def _action_pattern(action: str, where: str) -> re.Pattern[str]:
    if action != "*" and ":" not in action:
        raise PolicyError(f"{where}: action {action!r} is not service:Action")
    return action_pattern(action)


def evaluate_all(policy: Policy, requests: Iterable[Request]) -> list[Outcome]:
    """The outcome of each request; the call is allowed only when every one is."""
    return [policy.evaluate(request) for request in requests]


def first_denial(outcomes: Sequence[Outcome]) -> Outcome | None:
    """The explicit denial if any (AWS reports it first), else the first implicit one."""
    denials = [outcome for outcome in outcomes if not outcome.allowed]
    explicit = [o for o in denials if o.decision is Decision.EXPLICIT_DENY]
    chosen = explicit or denials
    return chosen[0] if chosen else None
