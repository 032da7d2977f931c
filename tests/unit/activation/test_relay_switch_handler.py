"""activation_events switches the relay's mapping, under its template policy, on moto with
Lambda's two mapping calls answered from the deployment's mappings (as the fault run does)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from entraide.activation.activation_store import ActivationStore
from entraide_local.iam.hook import acting_as
from entraide_local.iam.policies import function_policy
from entraide_local.mapping_hook import serving
from entraide_local.mappings import EventSourceMapping, EventSourceMappings
from entraide_local.provision import Deployment
from tests.factories import make_activation
from tests.unit.conftest import (
    FakeContext,
    PolicedHandler,
    UnderPolicy,
    load_handler,
    metric_values,
    stream_events,
    use_function_environment,
)

SCHEDULE = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
DAY = 86_400.0


@pytest.fixture
def mappings(deployment: Deployment) -> Iterator[EventSourceMappings]:
    with serving(EventSourceMappings(deployment)) as registry:
        yield registry


@pytest.fixture
def relay_mapping(mappings: EventSourceMappings) -> EventSourceMapping:
    mapping = mappings.of("RelayFunction", "RelayQueue")
    mapping.last_modified -= DAY  # a deployment that has been running
    return mapping


@pytest.fixture
def activation_events(
    monkeypatch: pytest.MonkeyPatch, deployment: Deployment, under_policy: UnderPolicy
) -> PolicedHandler:
    use_function_environment(monkeypatch, deployment, "activation_events")
    module = load_handler("activation_events", "activation_events_switch_app")
    return PolicedHandler(module, under_policy, "activation_events")


def test_the_template_gives_the_relay_mapping_uuid_and_queue(
    deployment: Deployment, relay_mapping: EventSourceMapping
) -> None:
    environment = deployment.function("activation_events").environment
    assert environment["RELAY_MAPPING_UUID"] == relay_mapping.uuid
    assert environment["RELAY_QUEUE_URL"] == deployment.outputs["RelayQueueUrl"]


def test_an_idle_check_disables_the_mapping_and_a_queued_message_enables_it(
    activation_events: PolicedHandler,
    deployment: Deployment,
    relay_mapping: EventSourceMapping,
    mappings: EventSourceMappings,
) -> None:
    # Given no activation and an empty relay queue, the mapping enabled for a day
    assert relay_mapping.enabled
    # When the schedule runs
    activation_events.lambda_handler(SCHEDULE, FakeContext("activation_events"))
    # Then the relay's mapping is disabled, and no other mapping is touched
    assert not relay_mapping.enabled
    assert all(m.enabled for m in mappings if m is not relay_mapping)

    # When a message is queued for the relay (a retraction sent while it sleeps)
    boto3.client("sqs").send_message(
        QueueUrl=deployment.outputs["RelayQueueUrl"], MessageBody='{"kind": "retract"}'
    )
    activation_events.lambda_handler(SCHEDULE, FakeContext("activation_events"))
    # Then the next check enables it
    assert relay_mapping.enabled


def test_a_delayed_deferral_keeps_the_mapping_awake(
    activation_events: PolicedHandler, deployment: Deployment, relay_mapping: EventSourceMapping
) -> None:
    # Given a message the relay re-sent with a delay (a deferral), not visible yet
    boto3.client("sqs").send_message(
        QueueUrl=deployment.outputs["RelayQueueUrl"], MessageBody="{}", DelaySeconds=900
    )
    # When the schedule runs
    activation_events.lambda_handler(SCHEDULE, FakeContext("activation_events"))
    # Then the mapping stays enabled: the deferred message is not stranded
    assert relay_mapping.enabled


def test_an_opening_wakes_the_mapping_at_once(
    activation_events: PolicedHandler,
    activations: ActivationStore,
    deployment: Deployment,
    relay_mapping: EventSourceMapping,
    mappings: EventSourceMappings,
) -> None:
    # Given the mapping asleep
    mappings.set_enabled(relay_mapping, False)
    # When an activation opens and the stream delivers it
    activations.create_activation(make_activation())
    [event] = stream_events(deployment, "activation_events")
    result = activation_events.lambda_handler(event, FakeContext("activation_events"))
    # Then the opening is handled and the mapping enabled at once, not at the next check
    assert result == {"batchItemFailures": []}
    assert relay_mapping.enabled
    # And while it is open, the checks keep it so
    activation_events.lambda_handler(SCHEDULE, FakeContext("activation_events"))
    assert relay_mapping.enabled


def test_without_the_grant_the_flip_is_refused_counted_and_the_run_still_done(
    monkeypatch: pytest.MonkeyPatch,
    deployment: Deployment,
    relay_mapping: EventSourceMapping,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given activation_events' role without its statement on the relay's mapping
    use_function_environment(monkeypatch, deployment, "activation_events")
    module = load_handler("activation_events", "activation_events_no_grant_app")
    policy = function_policy(deployment, "activation_events")
    document: dict[str, Any] = dict(policy.document)
    document["Statement"] = [
        statement
        for statement in policy.document["Statement"]
        if not any(str(action).startswith("lambda:") for action in _actions(statement))
    ]
    # When the schedule runs
    with acting_as(document, policy.principal) as enforcement:
        result = module.lambda_handler(SCHEDULE, FakeContext("activation_events"))
    # Then IAM refused the read of the mapping, as AWS would, and the mapping is unchanged
    assert any("lambda:GetEventSourceMapping" in denial for denial in enforcement.denials)
    assert relay_mapping.enabled
    # And the sweep's own work was done and returned, the failure counted
    assert "swept" in result
    assert metric_values(capsys, "RelaySwitchFailed") == [1.0]


def _actions(statement: dict[str, Any]) -> list[Any]:
    actions = statement.get("Action", [])
    return actions if isinstance(actions, list) else [actions]
