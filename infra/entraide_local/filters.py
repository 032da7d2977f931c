"""Event filtering of event source mappings (`FilterCriteria`), as Lambda applies it.

Lambda's filter syntax is EventBridge's event pattern syntax (exact values, `prefix`,
`suffix`, `anything-but`, `exists`, `numeric`, `equals-ignore-case`, `wildcard`, `$or`),
matched against the record's JSON: `{"dynamodb": {"NewImage": {"status": {"S": ["pending"]}}}}`
or, for SQS, `{"body": {...}}` with the body parsed when it is JSON. A record passes when any
of the filters matches. The matching itself is moto's EventBridge `EventPattern`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .template import TemplateError


class FilterCriteria:
    def __init__(self, patterns: Sequence[str], where: str) -> None:
        self.patterns = tuple(patterns)
        self._compiled: list[Any] = []
        if not self.patterns:
            return
        # moto.events pulls in much of moto: imported here, only for functions with filters.
        from moto.events.exceptions import InvalidEventPatternException
        from moto.events.models import EventPattern

        for index, pattern in enumerate(self.patterns):
            try:
                self._compiled.append(EventPattern.load(pattern))
            except InvalidEventPatternException as error:
                raise TemplateError(f"{where}.Filters[{index}].Pattern: {error.message}") from None

    def __bool__(self) -> bool:
        return bool(self._compiled)

    def matches(self, record: Any) -> bool:
        """True when there are no filters or one of them matches."""
        return not self._compiled or any(
            pattern.matches_event(record) for pattern in self._compiled
        )


def sqs_filter_view(record: dict[str, Any]) -> dict[str, Any]:
    """What SQS filters see: the record, with a JSON body parsed into an object."""
    try:
        body = json.loads(record["body"])
    except ValueError:
        return record
    return {**record, "body": body} if isinstance(body, dict) else record
