"""Side effects that run once, whatever the redeliveries: powertools idempotency.

Stream consumers name each side effect with a small dict (what it is, on what, for
whom) and run it through :func:`run_once`; the record of each effect lives in the table
(``pk = idempotency#<function>``, TTL ``expires_at``), so a replayed batch repeats none.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

# Stream records live 24 h and SQS messages 14 days at most; an effect remembered a
# fortnight is never repeated by a replay.
EFFECT_MEMORY_SECONDS = 15 * 24 * 3600


class EffectRunner(Protocol):
    def __call__(self, *, effect: dict[str, Any], **context: Any) -> dict[str, Any]: ...


class OnceOnly:
    """Wraps ``perform(effect=…, **context)`` so that each distinct effect runs once.

    The persistence layer (and its boto3 client) is built on first use: it costs cold
    start, and tests build the wrapper before moto is up.
    """

    def __init__(self, table_name: str, perform: Callable[..., dict[str, Any]]) -> None:
        self._table_name = table_name
        self._perform = perform

    @functools.cached_property
    def _parts(self) -> tuple[Any, Callable[..., dict[str, Any]]]:
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        persistence = DynamoDBPersistenceLayer(
            table_name=self._table_name,
            key_attr="pk",
            sort_key_attr="sk",
            expiry_attr="expires_at",
        )
        config = IdempotencyConfig(expires_after_seconds=EFFECT_MEMORY_SECONDS)
        wrapped = idempotent_function(
            data_keyword_argument="effect", config=config, persistence_store=persistence
        )(self._perform)
        return config, wrapped

    def register_lambda_context(self, context: Any) -> None:
        """Lets an interrupted effect be retried once the invocation's time is over."""
        config, _ = self._parts
        config.register_lambda_context(context)

    def __call__(self, *, effect: dict[str, Any], **context: Any) -> dict[str, Any]:
        _, wrapped = self._parts
        result: dict[str, Any] = wrapped(effect=effect, **context)
        return result
