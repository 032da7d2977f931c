"""Reading Secrets Manager secrets (the link-signing key, the X credentials) through powertools."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

# Secrets are cached this long by powertools parameters: a rotated key is picked up
# within five minutes without a cold start.
SECRET_MAX_AGE_SECONDS = 300


def secret_reader() -> Callable[[str], str]:
    """Reads a Secrets Manager secret through powertools, cached five minutes.

    A provider of our own rather than powertools' process-wide default, so that its client
    follows this function's environment (one process runs every function in the local
    stack and in tests). Built on first read.
    """

    @functools.cache
    def provider() -> Any:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        return SecretsProvider()

    def read(secret_id: str) -> str:
        return str(provider().get(secret_id, max_age=SECRET_MAX_AGE_SECONDS))

    return read
