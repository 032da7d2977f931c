"""template.yaml's alarms, their topic and its key, created in moto by the local stack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from entraide_local.provision import Deployment, provision
from entraide_local.resources import STATUS_CREATED, STATUS_EXCLUDED

TEMPLATE = Path(__file__).parents[2] / "template.yaml"
OPERATOR = "astreinte@shareentraide.example"


def client(service: str) -> Any:
    return boto3.client(service, region_name="eu-west-3")


@pytest.fixture
def deployment() -> Iterator[Deployment]:
    with mock_aws():
        yield provision(
            TEMPLATE, stack_name="shareentraide", parameters={"OperatorEmail": OPERATOR}
        )


def alarm_ids(deployment: Deployment) -> list[str]:
    return [
        logical_id
        for logical_id, resource in deployment.template.resources.items()
        if resource.type == "AWS::CloudWatch::Alarm"
    ]


def test_every_alarm_exists_in_cloudwatch_and_tells_the_operators(
    deployment: Deployment,
) -> None:
    # Given template.yaml provisioned in moto (fixture)
    topic_arn = deployment.physical_id("OperatorsAlarmTopic")

    # When CloudWatch lists its alarms
    alarms = {
        alarm["AlarmName"]: alarm
        for alarm in client("cloudwatch").describe_alarms()["MetricAlarms"]
    }

    # Then each alarm of the template is there, created rather than skipped, and tells the
    # operators' topic when it fires and when it clears
    # (three failure queues: the stream's, the relay's DLQ, scheduled runs; relay stalled,
    # relay in doubt, alert source failing)
    assert len(alarm_ids(deployment)) >= 6
    for logical_id in alarm_ids(deployment):
        assert deployment.resources[logical_id].status == STATUS_CREATED
        alarm = alarms[deployment.physical_id(logical_id)]
        assert alarm["AlarmActions"] == [topic_arn], logical_id
        assert alarm["OKActions"] == [topic_arn], logical_id
        assert alarm["TreatMissingData"] == "notBreaching", logical_id


def test_queue_alarms_watch_queues_that_exist(deployment: Deployment) -> None:
    # Given the alarms on AWS/SQS metrics
    alarms = client("cloudwatch").describe_alarms()["MetricAlarms"]
    on_queues = [alarm for alarm in alarms if alarm["Namespace"] == "AWS/SQS"]

    # When their QueueName dimensions are looked up in SQS
    watched = {alarm["Dimensions"][0]["Value"] for alarm in on_queues}
    urls = {client("sqs").get_queue_url(QueueName=name)["QueueUrl"] for name in watched}

    # Then each names a queue of the stack (not a logical id, not an unresolved reference)
    assert urls == {
        deployment.physical_id(queue)
        for queue in (
            "StreamFailureQueue",
            "RelayDeadLetterQueue",
            "ScheduledRunFailureQueue",
            "RelayQueue",
        )
    }


def test_the_operator_is_subscribed_by_email_to_alarms_and_activations(
    deployment: Deployment,
) -> None:
    # Given OperatorEmail set (fixture)
    sns = client("sns")

    # When the subscriptions of the two operator topics are listed
    def subscribers(topic: str) -> list[tuple[str, str]]:
        arn = deployment.physical_id(topic)
        listed = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
        return [
            (item["Protocol"], item["Endpoint"]) for item in listed if item["Protocol"] != "sqs"
        ]

    # Then the operator gets alarms and activation news by email, created in moto
    assert subscribers("OperatorsAlarmTopic") == [("email", OPERATOR)]
    assert subscribers("ActivationEventsTopic") == [("email", OPERATOR)]
    assert deployment.resources["OperatorsAlarmSubscription"].status == STATUS_CREATED


def test_without_an_operator_email_nobody_is_subscribed() -> None:
    # Given the template's defaults (OperatorEmail empty)
    with mock_aws():
        deployment = provision(TEMPLATE, stack_name="shareentraide")

        # When the alarm topic's subscriptions are listed
        arn = deployment.physical_id("OperatorsAlarmTopic")
        listed = client("sns").list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]

    # Then there is none, and the subscription resource is left out by its Condition
    assert listed == []
    assert deployment.resources["OperatorsAlarmSubscription"].status == STATUS_EXCLUDED


def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(
    deployment: Deployment,
) -> None:
    # Given the operators' topic and its key
    kms = client("kms")
    key_id = deployment.physical_id("OperatorsAlarmKey")

    # When the topic's attributes and the key's policy are read
    topic = client("sns").get_topic_attributes(
        TopicArn=deployment.physical_id("OperatorsAlarmTopic")
    )["Attributes"]
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    rotation = kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]

    # Then the topic is under that key (not alias/aws/sns, which CloudWatch cannot use),
    # the key rotates, and its policy lets CloudWatch encrypt notifications with it
    assert topic["KmsMasterKeyId"] == key_id
    assert rotation is True
    [cloudwatch] = [
        statement
        for statement in policy["Statement"]
        if statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
