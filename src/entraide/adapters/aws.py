"""One boto3 client per adapter, made on first use: importing boto3 costs a cold start.

Every AWS adapter takes its client as an argument (tests and the CLI pass their own);
without one, :attr:`AwsClient.client` makes the service's default client when first read.
"""

from __future__ import annotations

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
