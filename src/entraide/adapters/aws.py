"""One boto3 client per adapter, made on first use: importing boto3 costs a cold start.

Every AWS adapter takes its client as an argument (tests and the CLI pass their own);
without one, :attr:`AwsClient.client` makes the service's default client when first read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar


class AwsClient:
    """The base of the adapters: ``service`` names the boto3 client they speak to."""

    service: ClassVar[str]

    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client(self.service)
        return self._client


def again[T](
    call: Callable[[], T],
    *,
    attempts: int,
    step: float = 0.05,
    pause: Callable[[float], None] = time.sleep,
    time_left: Callable[[], float] | None = None,
    only: Callable[[BaseException], bool] | None = None,
) -> T:
    """``call``'s answer, the call made again on an error up to ``attempts`` times in all,
    ``step`` × n seconds apart; with ``time_left`` (seconds), no pause that would leave
    less than the call's own ``step`` before the deadline (the last error is raised); with
    ``only``, an error it does not accept is raised at once (a refused request answers the
    same however often it is made).

    For a call that is safe to repeat (a read; a write whose repetition is recognised or
    harmless), after botocore's own retries: see :class:`entraide.adapters.table.ReadsRetried`.
    """
    for attempt in range(1, attempts):
        try:
            return call()
        except Exception as error:
            if only is not None and not only(error):
                raise
            wait = step * attempt
            if time_left is not None and time_left() < wait + step:
                raise
            pause(wait)
    return call()
