"""An SQS event source mapping can be disabled and enabled at run time, as in AWS."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from entraide_local.stack import LocalStack
from entraide_local.transform import transform_template

from .conftest import TEMPLATE, read_records

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
STACK_NAME = "localstack-mappings"


def send(stack: LocalStack, marker: str) -> None:
    stack.client("sqs").send_message(
        QueueUrl=stack.deployment.physical_id("EventsQueue"),
        MessageBody=json.dumps({"kind": "need", "key": marker}),
    )


def delivered(record_dir: Path, marker: str) -> list[dict[str, Any]]:
    path = record_dir / "queue-recorder.jsonl"
    return [line for line in read_records(path) if marker in json.dumps(line["event"])]


def waiting(stack: LocalStack) -> int:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.deployment.physical_id("EventsQueue"),
        AttributeNames=["ApproximateNumberOfMessages"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def lambda_client(stack: LocalStack) -> Any:
    return boto3.client(
        "lambda", endpoint_url=stack.lambda_url.rstrip("/"), region_name="eu-west-3"
    )


def switch(stack: LocalStack, function: str, enabled: bool, mapping: str = "") -> Any:
    return stack.invoke(function, {"mapping": {"uuid": mapping, "enabled": enabled}})


def test_the_template_names_the_mapping_as_sam_does_and_ref_gives_its_uuid(
    stack: LocalStack,
) -> None:
    # Given QueueRecorder's SQS event "Messages", which SAM turns into QueueRecorderMessages
    mapping = stack.mappings.of("QueueRecorder", "Messages")
    # Then !Ref QueueRecorderMessages in MappingSwitch's environment is that mapping's UUID
    environment = stack.deployment.function("MappingSwitch").environment
    assert environment["MAPPING_UUID"] == mapping.uuid
    assert mapping.arn.endswith(f":event-source-mapping:{mapping.uuid}")
    # And SAM's own transform names the generated mapping so (what CloudFormation deploys)
    resources = transform_template(TEMPLATE)["Resources"]
    assert resources["QueueRecorderMessages"]["Type"] == "AWS::Lambda::EventSourceMapping"
    switch_variables = resources["MappingSwitch"]["Properties"]["Environment"]["Variables"]
    assert switch_variables["MAPPING_UUID"] == {"Ref": "QueueRecorderMessages"}


def test_a_disabled_mapping_delivers_nothing_and_enabling_it_delivers_what_waited(
    stack: LocalStack, record_dir: Path
) -> None:
    # Given the recorder's mapping disabled through Lambda's API by a function allowed to
    marker = f"waits-{uuid.uuid4().hex[:8]}"
    disabled = switch(stack, "MappingSwitch", False)
    assert disabled.error is None, disabled.traceback
    assert disabled.value["mapping_state"] == "Disabling"
    mapping = stack.mappings.of("QueueRecorder", "Messages")
    assert lambda_client(stack).get_event_source_mapping(UUID=mapping.uuid)["State"] == "Disabled"

    # When a message is sent and the stack settles
    send(stack, marker)
    stack.drain()

    # Then nothing was delivered and the message waits in the queue
    assert delivered(record_dir, marker) == []
    assert waiting(stack) == 1

    # When the mapping is enabled again
    enabled = switch(stack, "MappingSwitch", True)
    assert enabled.error is None, enabled.traceback
    stack.drain()

    # Then the message that waited is delivered, once, and leaves the queue
    assert len(delivered(record_dir, marker)) == 1
    assert waiting(stack) == 0
    assert lambda_client(stack).get_event_source_mapping(UUID=mapping.uuid)["State"] == "Enabled"


def test_the_flip_is_refused_without_the_grant_on_that_mapping(stack: LocalStack) -> None:
    # Given Caller, whose role has no lambda:UpdateEventSourceMapping, and MappingSwitch,
    # whose grant names the recorder's mapping only
    recorder = stack.mappings.of("QueueRecorder", "Messages")
    worker = stack.mappings.of("QueueWorker", "Work")

    # When Caller disables the recorder's mapping, and MappingSwitch the worker's
    without_grant = switch(stack, "Caller", False, recorder.uuid)
    other_mapping = switch(stack, "MappingSwitch", False, worker.uuid)

    # Then both are refused as AWS refuses them, and both mappings stay enabled
    for refused in (without_grant, other_mapping):
        assert refused.error is not None
        assert "AccessDeniedException" in str(refused.error)
        assert "lambda:UpdateEventSourceMapping" in str(refused.error)
    assert recorder.enabled
    assert worker.enabled


def test_an_unknown_mapping_or_another_field_is_refused_by_the_api(stack: LocalStack) -> None:
    client = lambda_client(stack)
    # When a UUID that is no mapping of the stack is read or updated
    with pytest.raises(ClientError) as unknown:
        client.update_event_source_mapping(UUID=str(uuid.uuid4()), Enabled=False)
    # Then Lambda's 404
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # When another setting than Enabled is changed
    mapping = stack.mappings.of("QueueRecorder", "Messages")
    with pytest.raises(ClientError) as other:
        client.update_event_source_mapping(UUID=mapping.uuid, BatchSize=7)
    # Then it is refused, not silently ignored, and the mapping is unchanged
    assert other.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert mapping.enabled
