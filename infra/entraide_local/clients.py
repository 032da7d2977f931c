"""boto3 clients and process environment for talking to the moto server.

Everything the local stack sends to "AWS" goes through ordinary boto3 clients: pointed at a
`ThreadedMotoServer` with an endpoint URL, or at nothing at all under `moto.mock_aws` in unit
tests (moto then intercepts botocore in-process).
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

ACCOUNT_ID = "123456789012"  # moto's default account; Lambda ARNs and events carry it
DEFAULT_REGION = "eu-west-3"
DUMMY_CREDENTIAL = "testing"


class ClientFactory(Protocol):
    """Anything that returns a boto3 client for a service name (`factory("sqs")`)."""

    def __call__(self, service_name: str) -> Any: ...


def aws_environment(endpoint_url: str | None, region: str) -> dict[str, str]:
    """Environment variables that point every boto3 client of a process at moto.

    `AWS_ACCOUNT_ID_ENDPOINT_MODE=disabled`: otherwise botocore sends DynamoDB Streams calls to an
    account-id host that moto does not answer (see NOTES-moto-sam.md).
    """
    environment = {
        "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIAL,
        "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIAL,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }
    if endpoint_url:
        environment["AWS_ENDPOINT_URL"] = endpoint_url
    return environment


class MotoClients:
    """Caches one client per service, created with explicit endpoint, region and credentials.

    Explicit arguments (not the process environment) because the invoker swaps `os.environ`
    while handlers run, and pollers create no clients of their own: all are made up front, in
    one thread, since creating boto3 clients concurrently from one session is not thread-safe.
    """

    def __init__(self, endpoint_url: str | None, region: str) -> None:
        import boto3
        from botocore.config import Config

        self.endpoint_url = endpoint_url
        self.region = region
        self._session = boto3.session.Session(
            aws_access_key_id=DUMMY_CREDENTIAL,
            aws_secret_access_key=DUMMY_CREDENTIAL,
            region_name=region,
        )
        # Few retries: moto answers at once or not at all, and shutdown must not hang.
        self._config = Config(
            account_id_endpoint_mode="disabled",
            retries={"max_attempts": 2, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
        )
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, service_name: str) -> Any:
        with self._lock:
            if service_name not in self._clients:
                self._clients[service_name] = self._session.client(
                    service_name,
                    endpoint_url=self.endpoint_url,
                    config=self._config,
                )
            return self._clients[service_name]
