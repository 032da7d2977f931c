"""Provisioning the test template in moto, in-process under `mock_aws`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from entraide_local.provision import Deployment, creation_order, provision
from entraide_local.resources import STATUS_CREATED, STATUS_EXCLUDED
from entraide_local.template import load_template

from .conftest import TEMPLATE

REGION = "eu-west-3"


@pytest.fixture
def deployment() -> Iterator[Deployment]:
    with mock_aws():
        yield provision(TEMPLATE, stack_name="unit")


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def test_table_has_the_indexes_stream_and_ttl_of_the_template(deployment: Deployment) -> None:
    # Given the template provisioned in moto (fixture)
    # When the table is described
    table_name = deployment.physical_id("Table")
    table = client("dynamodb").describe_table(TableName=table_name)["Table"]
    ttl = client("dynamodb").describe_time_to_live(TableName=table_name)

    # Then it is the table of the template
    assert table_name == "unit-Table"
    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == ["gsi1"]
    assert table["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert ttl["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expiresAt",
    }
    assert "SSESpecification" in deployment.resources["Table"].note  # listed, not failed


def test_queue_redrive_points_at_its_dead_letter_queue(deployment: Deployment) -> None:
    queue_url = deployment.physical_id("EventsQueue")
    attributes = client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])

    redrive = json.loads(attributes["Attributes"]["RedrivePolicy"])
    assert redrive == {
        "deadLetterTargetArn": deployment.get_att("EventsDeadLetterQueue", "Arn", "test"),
        "maxReceiveCount": 2,
    }
    assert attributes["Attributes"]["VisibilityTimeout"] == "1"


def test_dead_letter_queue_is_created_before_its_source() -> None:
    order = creation_order(load_template(TEMPLATE))

    assert order.index("EventsDeadLetterQueue") < order.index("EventsQueue")
    assert order.index("EventsQueue") < order.index("TopicToEventsQueue")


def test_topic_subscription_keeps_raw_delivery_and_filter(deployment: Deployment) -> None:
    subscription_arn = deployment.physical_id("TopicToEventsQueue")
    attributes = client("sns").get_subscription_attributes(SubscriptionArn=subscription_arn)

    assert attributes["Attributes"]["RawMessageDelivery"] == "true"
    assert json.loads(attributes["Attributes"]["FilterPolicy"]) == {"kind": ["offer", "need"]}


def test_other_resources_exist_in_moto(deployment: Deployment) -> None:
    log_group = client("logs").describe_log_groups(logGroupNamePrefix="/entraide/unit/app")
    lifecycle = client("s3").get_bucket_lifecycle_configuration(Bucket="unit-reports")
    secret = client("secretsmanager").get_secret_value(
        SecretId=deployment.physical_id("SigningKey")
    )
    parameter = client("ssm").get_parameter(Name="/unit/public-base-url")
    identities = client("sesv2").list_email_identities()["EmailIdentities"]

    assert log_group["logGroups"][0]["retentionInDays"] == 7
    assert lifecycle["Rules"][0]["Expiration"] == {"Days": 30}
    assert lifecycle["Rules"][0]["Filter"] == {"Prefix": "exports/"}
    document = json.loads(secret["SecretString"])
    assert document["kid"] == "local"
    assert len(document["key"]) == 48
    assert parameter["Parameter"]["Value"] == "http://127.0.0.1:3000"
    assert [identity["IdentityName"] for identity in identities] == ["moderation@entraide.example"]


def test_unknown_and_conditional_resources_are_not_created(deployment: Deployment) -> None:
    queues = client("sqs").list_queues().get("QueueUrls", [])

    assert deployment.resources["ProdOnlyQueue"].status == STATUS_EXCLUDED
    assert not any("ProdOnlyQueue" in url for url in queues)
    assert deployment.resources["Dashboard"].status.startswith("skipped")
    assert deployment.resources["EventsQueue"].status == STATUS_CREATED
    assert "ProdOnlyQueueUrl" not in deployment.outputs


def test_alarm_is_created_with_its_metric_and_actions(deployment: Deployment) -> None:
    # Given the test template provisioned (fixture), whose alarm watches the echo function
    # When the alarm is read back from CloudWatch
    [alarm] = client("cloudwatch").describe_alarms(
        AlarmNames=[deployment.physical_id("ErrorsAlarm")]
    )["MetricAlarms"]

    # Then it is the template's alarm, every reference resolved to a physical name
    assert alarm["AlarmName"] == "unit-ErrorsAlarm"
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/Lambda",
        "Errors",
        "Sum",
    )
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": "unit-EchoFunction"}]
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (60, 5, 2)
    assert alarm["Threshold"] == 1.0
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [deployment.physical_id("Topic")]
    assert deployment.resources["ErrorsAlarm"].attributes["Arn"] == (
        "arn:aws:cloudwatch:eu-west-3:123456789012:alarm:unit-ErrorsAlarm"
    )


def test_function_environment_and_outputs_are_resolved(deployment: Deployment) -> None:
    echo = deployment.function("echo")

    assert echo.name == "unit-EchoFunction"
    assert echo.environment["TABLE_NAME"] == "unit-Table"  # from Globals
    assert echo.environment["ECHO_NAME"] == "unit-echo"
    assert echo.environment["QUEUE_URL"] == deployment.physical_id("EventsQueue")
    assert echo.environment["STREAM_ARN"].startswith(
        "arn:aws:dynamodb:eu-west-3:123456789012:table/unit-Table/stream/"
    )
    assert echo.environment["LOG_GROUP"] == "/entraide/unit/app/echo"
    assert "PROD_ONLY" not in echo.environment  # !Ref AWS::NoValue
    assert deployment.outputs["TableName"] == "unit-Table"
    assert deployment.outputs["ApiUrl"].endswith(".execute-api.eu-west-3.amazonaws.com/Prod/")


def test_parameter_override_changes_conditions() -> None:
    with mock_aws():
        deployment = provision(TEMPLATE, stack_name="prod", parameters={"Stage": "prod"})

        assert deployment.resources["ProdOnlyQueue"].status == STATUS_CREATED
        assert deployment.function("echo").environment["PROD_ONLY"] == "yes"
        assert deployment.function("echo").environment["STAGE"] == "prod"
