"""Reading the platform's keys and the networks' credentials through powertools parameters.

The two keys the platform generates itself (link signing, pseudonyms) are SecureString
parameters of SSM Parameter Store: a standard parameter has no monthly charge, where a
Secrets Manager secret costs $0.40 a month (see ``entraide.costs.prices``). The networks'
credentials, which operators paste in and may rotate, stay in Secrets Manager.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

# Values are cached this long by powertools parameters: a rotated key is picked up
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


def key_reader() -> Callable[[str], str]:
    """Reads a SecureString parameter, decrypted (``GetParameter`` with ``WithDecryption``),
    through powertools, cached five minutes; its own provider, built on first read, as
    :func:`secret_reader`'s."""

    @functools.cache
    def provider() -> Any:
        from aws_lambda_powertools.utilities.parameters import SSMProvider

        return SSMProvider()

    def read(name: str) -> str:
        return str(provider().get(name, decrypt=True, max_age=SECRET_MAX_AGE_SECONDS))

    return read
