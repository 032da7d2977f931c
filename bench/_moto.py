"""The template's table in moto's in-process mock, for the benchmarks that need one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from entraide.adapters.table import Table

ROOT = Path(__file__).resolve().parents[1]


def moto_environment() -> None:
    """Dummy credentials and a region for moto; nothing points at a real endpoint."""
    os.environ["AWS_DEFAULT_REGION"] = "eu-west-3"
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"  # noqa: S105 - moto's dummy key
    os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
    os.environ.pop("AWS_ENDPOINT_URL", None)


@contextmanager
def moto_table(table_class: type[Table] = Table) -> Iterator[Table]:
    """The table of template.yaml, provisioned in moto (in process) for the block."""
    import boto3
    from moto import mock_aws

    from entraide_local.provision import provision

    moto_environment()
    with mock_aws():
        deployment = provision(ROOT / "template.yaml", boto3.Session(), stack_name="bench")
        yield table_class(deployment.outputs["TableName"], boto3.client("dynamodb"))
