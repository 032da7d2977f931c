"""Wildcards and policy variables in IAM actions, ARNs and string condition values.

- Actions: case-insensitive, `*` and `?` anywhere
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html).
- Resource ARNs: case-sensitive; "you can use wildcard characters (* and ?) within any ARN
  segment (the parts separated by colons) [...] If the * wildcard is the last character of a
  resource ARN segment, it can expand to match beyond the colon boundaries"
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
- Policy variables `${key}`, with `${*}`, `${?}`, `${$}` for the literal characters and a
  default value after a comma (`${aws:username, 'nobody'}`)
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html).
  A variable whose key the request does not carry (or a multivalued key) has no value: the
  pattern then matches nothing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

ContextValue = str | tuple[str, ...]

VARIABLE = re.compile(r"\$\{([^}]*)\}")
NOTHING = re.compile(r"(?!)")
_LITERALS = {"*": "*", "?": "?", "$": "$"}


def variable_value(name: str, context: Mapping[str, ContextValue]) -> str | None:
    if name in _LITERALS:
        return _LITERALS[name]
    key, _, default = name.partition(",")
    value = context.get(key.strip().lower())
    if isinstance(value, str):
        return value
    default = default.strip()
    if len(default) >= 2 and default[0] == default[-1] == "'":
        return default[1:-1]
    return None


def _pieces(text: str, context: Mapping[str, ContextValue]) -> list[tuple[str, str]] | None:
    """(policy text, variable value) pairs in order; None when a variable has no value."""
    pieces: list[tuple[str, str]] = []
    position = 0
    for match in VARIABLE.finditer(text):
        value = variable_value(match.group(1), context)
        if value is None:
            return None
        pieces.append((text[position : match.start()], value))
        position = match.end()
    pieces.append((text[position:], ""))
    return pieces


def substitute(text: str, context: Mapping[str, ContextValue]) -> str | None:
    """`text` with its policy variables replaced; None when one has no value."""
    if "${" not in text:
        return text
    pieces = _pieces(text, context)
    return None if pieces is None else "".join(literal + value for literal, value in pieces)


def _translate(text: str, star: str, question: str) -> str:
    return "".join(
        star if char == "*" else question if char == "?" else re.escape(char) for char in text
    )


def _with_variables(
    text: str, context: Mapping[str, ContextValue], translate: functools.partial[str]
) -> re.Pattern[str]:
    """Wildcards translated in the policy's text, never in a variable's value."""
    pieces = _pieces(text, context)
    if pieces is None:
        return NOTHING
    return re.compile(
        "".join(translate(literal) + re.escape(value) for literal, value in pieces), re.DOTALL
    )


@functools.lru_cache(maxsize=4096)
def action_pattern(action: str) -> re.Pattern[str]:
    return re.compile(_translate(action, ".*", "."), re.IGNORECASE | re.DOTALL)


@functools.lru_cache(maxsize=4096)
def _like(text: str) -> re.Pattern[str]:
    return re.compile(_translate(text, ".*", "."), re.DOTALL)


def like_pattern(text: str, context: Mapping[str, ContextValue]) -> re.Pattern[str]:
    """StringLike's pattern: `*` and `?` are wildcards, except when they come from `${*}`."""
    if "${" not in text:
        return _like(text)
    return _with_variables(text, context, functools.partial(_translate, star=".*", question="."))


@functools.lru_cache(maxsize=4096)
def _arn(pattern: str) -> re.Pattern[str]:
    if pattern == "*":
        return re.compile(".*", re.DOTALL)
    segments = pattern.split(":", 5)
    parts = []
    for index, segment in enumerate(segments):
        if index == len(segments) - 1:
            parts.append(_translate(segment, ".*", "."))
            continue
        # Within a segment `*` stops at colons, unless it ends the segment.
        body, trailing = (segment[:-1], ".*") if segment.endswith("*") else (segment, "")
        parts.append(_translate(body, "[^:]*", "[^:]") + trailing)
    return re.compile(":".join(parts), re.DOTALL)


def arn_pattern(pattern: str, context: Mapping[str, ContextValue]) -> re.Pattern[str]:
    """A regular expression for an ARN pattern, segment by segment as IAM matches ARNs."""
    if "${" not in pattern:
        return _arn(pattern)
    expanded = substitute(pattern, context)
    # Variables in ARNs are rare enough to re-compile; `${*}` would be a wildcard here.
    return NOTHING if expanded is None else _arn(expanded)
