"""IAM condition operators, as AWS documents them.

Condition operators (String*, Numeric*, Date*, Bool, BinaryEquals, IpAddress, Arn*, Null and
the `...IfExists` suffix):
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
  "If the key that you specify in a policy condition is not present in the request context,
  the values do not match and the condition is false. If the policy condition requires that
  the key is not matched, such as StringNotLike or ArnNotLike, and the right key is not
  present, the condition is true. This logic applies to all condition operators except
  ...IfExists and Null check."

Several operators, keys and values:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html
  operators are AND-ed, keys under one operator are AND-ed, the values of one key are OR-ed,
  and "if a single negated matching condition operator includes multiple values for a context
  key, those values are evaluated using a logical NOR".

Set operators for multivalued keys:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
  ForAllValues: "The condition returns true if every context key value in the request matches a
  context key value in the policy. It also returns true if there are no context keys in the
  request." ForAnyValue: true if at least one request value matches one policy value; false
  when the key is absent.

Condition key names are case-insensitive; values are compared as the operator says.
Policy variables (`${aws:username}`, `${*}`, `${?}`, `${$}`, a default after a comma) are
replaced in String* and Arn* values:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .patterns import ContextValue, arn_pattern, like_pattern, substitute

_ALL_VALUES = "forallvalues:"
_ANY_VALUE = "foranyvalue:"
_IF_EXISTS = "IfExists"


class PolicyError(ValueError):
    """A policy document that IAM would refuse, or that this evaluator does not model."""


Matcher = Callable[[str, str, Mapping[str, ContextValue]], bool]


def _string_equals(ignore_case: bool) -> Matcher:
    def match(value: str, wanted: str, context: Mapping[str, ContextValue]) -> bool:
        expanded = substitute(wanted, context)
        if expanded is None:
            return False
        return value.lower() == expanded.lower() if ignore_case else value == expanded

    return match


def _string_like(value: str, wanted: str, context: Mapping[str, ContextValue]) -> bool:
    return like_pattern(wanted, context).fullmatch(value) is not None


def _arn_like(value: str, wanted: str, context: Mapping[str, ContextValue]) -> bool:
    # ArnEquals and ArnLike alike: "Each of the six colon-delimited components of the ARN is
    # checked separately and each can include multi-character match wildcards (*) or
    # single-character match wildcards (?)." A value that is not an ARN never matches.
    if wanted != "*" and value.count(":") < 5:
        return False
    return arn_pattern(wanted, context).fullmatch(value) is not None


def _numeric(compare: Callable[[float, float], bool]) -> Matcher:
    def match(value: str, wanted: str, context: Mapping[str, ContextValue]) -> bool:
        try:
            return compare(float(value), float(wanted))
        except ValueError:
            return False

    return match


def _date(compare: Callable[[float, float], bool]) -> Matcher:
    def match(value: str, wanted: str, context: Mapping[str, ContextValue]) -> bool:
        left, right = _epoch(value), _epoch(wanted)
        return left is not None and right is not None and compare(left, right)

    return match


def _epoch(text: str) -> float | None:
    try:
        return float(text)  # epoch seconds are accepted too
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _bool(value: str, wanted: str, context: Mapping[str, ContextValue]) -> bool:
    return value.lower() == wanted.lower()


def _binary(value: str, wanted: str, context: Mapping[str, ContextValue]) -> bool:
    try:
        return base64.b64decode(value, validate=True) == base64.b64decode(wanted, validate=True)
    except (binascii.Error, ValueError):
        return False


def _ip_address(value: str, wanted: str, context: Mapping[str, ContextValue]) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(wanted, strict=False)
    except ValueError:
        return False


@dataclass(frozen=True)
class _Operator:
    matches: Matcher
    negated: bool = False


def _operators() -> dict[str, _Operator]:
    ordered: list[tuple[str, Matcher]] = [
        ("StringEquals", _string_equals(ignore_case=False)),
        ("StringEqualsIgnoreCase", _string_equals(ignore_case=True)),
        ("StringLike", _string_like),
        ("NumericEquals", _numeric(lambda a, b: a == b)),
        ("DateEquals", _date(lambda a, b: a == b)),
        ("BinaryEquals", _binary),
        ("IpAddress", _ip_address),
        ("ArnEquals", _arn_like),
        ("ArnLike", _arn_like),
    ]
    table = {name: _Operator(matcher) for name, matcher in ordered}
    negations = {
        "StringNotEquals": "StringEquals",
        "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
        "StringNotLike": "StringLike",
        "NumericNotEquals": "NumericEquals",
        "DateNotEquals": "DateEquals",
        "NotIpAddress": "IpAddress",
        "ArnNotEquals": "ArnEquals",
        "ArnNotLike": "ArnLike",
    }
    for name, positive in negations.items():
        table[name] = _Operator(table[positive].matches, negated=True)
    comparisons: dict[str, Callable[[float, float], bool]] = {
        "LessThan": lambda a, b: a < b,
        "LessThanEquals": lambda a, b: a <= b,
        "GreaterThan": lambda a, b: a > b,
        "GreaterThanEquals": lambda a, b: a >= b,
    }
    for suffix, compare in comparisons.items():
        table[f"Numeric{suffix}"] = _Operator(_numeric(compare))
        table[f"Date{suffix}"] = _Operator(_date(compare))
    table["Bool"] = _Operator(_bool)
    return table


OPERATORS = _operators()


@dataclass(frozen=True)
class Condition:
    """One `operator: {key: values}` pair of a statement's Condition block."""

    operator: str  # as written, e.g. "ForAllValues:StringLike"
    key: str  # lower-cased
    values: tuple[str, ...]
    qualifier: str  # "", "forallvalues:" or "foranyvalue:"
    base: str  # "StringLike", or "Null"
    if_exists: bool

    def holds(self, context: Mapping[str, ContextValue]) -> bool:
        present = _values(context.get(self.key))
        if self.base == "Null":
            # "true": the key must be absent; "false": present (values OR-ed).
            return any((value.lower() == "true") == (not present) for value in self.values)
        operator = OPERATORS[self.base]
        if not present:
            if self.if_exists or self.qualifier == _ALL_VALUES:
                return True
            if self.qualifier == _ANY_VALUE:
                return False
            return operator.negated

        def matches(value: str) -> bool:
            return any(operator.matches(value, wanted, context) for wanted in self.values)

        if self.qualifier == _ALL_VALUES:
            return all(matches(value) != operator.negated for value in present)
        if self.qualifier == _ANY_VALUE:
            return any(matches(value) != operator.negated for value in present)
        # A single-valued key (several request values without a set operator: any of them).
        if operator.negated:
            return not any(matches(value) for value in present)
        return any(matches(value) for value in present)


def _values(value: ContextValue | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def compile_conditions(block: Mapping[str, Any], where: str) -> tuple[Condition, ...]:
    conditions = []
    for operator, keys in block.items():
        qualifier, base, if_exists = _parse_operator(str(operator), where)
        if not isinstance(keys, Mapping):
            raise PolicyError(f"{where}.{operator}: expected {{key: values}}")
        for key, raw in keys.items():
            values = [raw] if not isinstance(raw, list) else raw
            if not all(isinstance(v, str | bool | int | float) for v in values):
                raise PolicyError(f"{where}.{operator}.{key}: values must be scalars")
            conditions.append(
                Condition(
                    operator=str(operator),
                    key=str(key).lower(),
                    values=tuple(_text(v) for v in values),
                    qualifier=qualifier,
                    base=base,
                    if_exists=if_exists,
                )
            )
    return tuple(conditions)


def _text(value: str | bool | float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_operator(operator: str, where: str) -> tuple[str, str, bool]:
    qualifier = ""
    base = operator
    for prefix in (_ALL_VALUES, _ANY_VALUE):
        if operator.lower().startswith(prefix):
            qualifier, base = prefix, operator[len(prefix) :]
    if_exists = base.endswith(_IF_EXISTS) and base != _IF_EXISTS
    if if_exists:
        base = base[: -len(_IF_EXISTS)]
    if base != "Null" and base not in OPERATORS:
        raise PolicyError(f"{where}: unknown condition operator {operator!r}")
    if base == "Null" and (qualifier or if_exists):
        raise PolicyError(f"{where}: {operator!r} is not an operator")
    return qualifier, base, if_exists
