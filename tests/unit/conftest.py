"""Fixtures for tests under moto's in-process mock: resources built from template.yaml."""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
import responses
from moto import mock_aws

from entraide.activation.activation_store import ActivationStore
from entraide.adapters.table import Table
from entraide.intake.post_store import PostStore
from entraide.kernel.model import Activation
from entraide_local.iam.hook import Enforcement, acting_as
from entraide_local.iam.policies import function_policy
from entraide_local.provision import Deployment, provision
from tests.factories import PSEUDONYMS, RETENTION, make_activation

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def template_parameters() -> dict[str, str]:
    """The template's parameters for `deployment`: a test module overrides this fixture
    to deploy with its own (a digest's recipients, a bucket)."""
    return {}


@pytest.fixture
def deployment(
    monkeypatch: pytest.MonkeyPatch, template_parameters: dict[str, str]
) -> Iterator[Deployment]:
    """Every resource of template.yaml, created in moto: schema drift breaks the tests."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield provision(ROOT / "template.yaml", boto3.Session(), parameters=template_parameters)


@pytest.fixture
def table(deployment: Deployment) -> Table:
    return Table(deployment.outputs["TableName"], client=boto3.client("dynamodb"))


@pytest.fixture
def posts(table: Table) -> PostStore:
    """The post store as intake builds it: pseudonyms' key and retention periods given."""
    return PostStore(table, pseudonyms=PSEUDONYMS, retention=RETENTION)


@pytest.fixture
def activations(table: Table) -> ActivationStore:
    return ActivationStore(table)


UnderPolicy = Callable[[str], AbstractContextManager[Enforcement]]


@pytest.fixture
def under_policy(deployment: Deployment) -> UnderPolicy:
    """`with under_policy("ModerateFunction"): ...`: AWS calls inside the block are checked
    against that function's role policy from template.yaml, as IAM checks them in AWS (a
    denied call raises AWS's ClientError); the test's own set-up outside stays unrestricted.

    A call refused inside the block fails the test, even when the code catches the error:
    in AWS it would fail, so a new call without its grant cannot land."""

    @contextmanager
    def enforce(function: str) -> Iterator[Enforcement]:
        policy = function_policy(deployment, function)
        with acting_as(policy.document, policy.principal) as enforcement:
            yield enforcement
        assert not enforcement.denials, "\n".join(enforcement.denials)

    return enforce


class PolicedHandler:
    """A handler module whose `lambda_handler` runs under its function's template policy."""

    def __init__(self, module: ModuleType, under_policy: UnderPolicy, function: str) -> None:
        self.module = module
        self._under_policy = under_policy
        self._function = function

    def lambda_handler(self, event: Any, context: Any) -> Any:
        with self._under_policy(self._function):
            return self.module.lambda_handler(event, context)

    # Everything else is the module's, monkeypatching included.
    def __getattr__(self, name: str) -> Any:
        return getattr(self.module, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("module", "_under_policy", "_function"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.module, name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self.module, name)


def use_function_environment(
    monkeypatch: pytest.MonkeyPatch, deployment: Deployment, function: str
) -> None:
    """Run a handler with the environment the template gives that function."""
    for key, value in deployment.function(function).environment.items():
        monkeypatch.setenv(key, value)


def stream_events(deployment: Deployment, function: str) -> list[dict[str, Any]]:
    """The table's stream so far, as ``function`` receives it from the stream's reader.

    Records in Lambda's shape, kept or dropped by the router's FilterCriteria from
    template.yaml, then the ones the route of ``function`` wants, in batches of the
    router's BatchSize (what `stream_router` hands over).
    """
    from entraide.adapters.stream_router import routed
    from entraide.settings.routing import StreamRouterSettings
    from entraide_local.filters import FilterCriteria
    from entraide_local.streams import to_lambda_record
    from entraide_local.template import StreamEvent

    router = deployment.function("StreamRouterFunction")
    [source] = router.spec.events_of(StreamEvent)
    criteria = FilterCriteria(source.filter_patterns, where=router.logical_id)
    consumers = StreamRouterSettings.model_validate(dict(router.environment)).consumers()
    [route] = [name for name, fn in consumers.items() if fn == deployment.function(function).name]

    table = deployment.outputs["TableName"]
    stream_arn = boto3.client("dynamodb").describe_table(TableName=table)["Table"][
        "LatestStreamArn"
    ]
    streams = boto3.client("dynamodbstreams")
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        response = streams.get_records(ShardIterator=iterator)
        converted = (
            to_lambda_record(record, stream_arn=stream_arn, region=deployment.region)
            for record in response["Records"]
        )
        records += [record for record in converted if criteria.matches(record)]
    handed = [dict(record) for record in routed(records).get(route, [])]
    return [
        {"Records": handed[start : start + source.batch_size]}
        for start in range(0, len(handed), source.batch_size)
    ]


def load_handler(function_dir: str, module_name: str) -> ModuleType:
    """Import ``functions/<function_dir>/app.py`` as a fresh module (each test, a cold start)."""
    spec = importlib.util.spec_from_file_location(
        module_name, ROOT / "functions" / function_dir / "app.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def metric_values(capsys: pytest.CaptureFixture[str], name: str) -> list[float]:
    """The values of the metric ``name`` in what the runs printed since the last capture
    (CloudWatch's embedded metric format: one JSON line per flush)."""
    out = capsys.readouterr().out.splitlines()
    lines = [json.loads(line) for line in out if '"_aws"' in line]
    return [value for line in lines for value in line.get(name, [])]


class FakeContext:
    """The attributes of Lambda's context object that powertools reads."""

    def __init__(self, function_name: str = "test-function") -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            f"arn:aws:lambda:eu-west-3:123456789012:function:{function_name}"
        )
        self.memory_limit_in_mb = 512
        self.aws_request_id = "5f0a1c2e-0000-4000-8000-000000000001"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "2026/11/26/[$LATEST]0001"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


@pytest.fixture
def aude(activations: ActivationStore) -> Activation:
    """An open activation for the Aude (11), in the table: the platform is awake there."""
    activation = make_activation(id="ACT-AUDE", opened_at=datetime(2026, 11, 25, tzinfo=UTC))
    activations.create_activation(activation)
    return activation


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    """HTTP answered by the test (X's API): every answer registered must be asked for."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """The code under test never sleeps (a rate limit is scheduled, not waited for)."""

    def refuse(seconds: float) -> None:
        raise AssertionError(f"slept {seconds} s")

    monkeypatch.setattr(time, "sleep", refuse)
