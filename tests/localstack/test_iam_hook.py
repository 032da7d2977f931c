"""The local IAM hook under moto: a denied call fails as in AWS and changes nothing."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from entraide_local.iam.conditions import PolicyError
from entraide_local.iam.hook import acting_as

REGION = "eu-west-3"
ROLE = "arn:aws:sts::123456789012:assumed-role/entraide-local-TestRole/entraide-local-TestFunction"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:123456789012:table/t"
SENDER = "ne-pas-repondre@shareentraide.example"
ROOT = Path(__file__).resolve().parents[2]


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


NOTHING = policy(allow("xray:PutTraceSegments"))


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def table(aws: None) -> Any:
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(
        TableName="t",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def item(pk: str, sk: str = "S") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def refused(call: Callable[[], Any]) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value


def code_and_status(error: ClientError) -> tuple[str, int]:
    return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]


# -- DynamoDB -----------------------------------------------------------------------------------


def test_a_denied_put_raises_awss_error_and_writes_nothing(table: Any) -> None:
    # Given a role that may only read the table
    with acting_as(policy(allow("dynamodb:GetItem", TABLE_ARN)), ROLE):
        # When it writes an item
        error = refused(lambda: table.put_item(TableName="t", Item=item("POST#1")))
        # Then botocore raises DynamoDB's AccessDeniedException, in AWS's words
        assert code_and_status(error) == ("AccessDeniedException", 400)
        assert error.response["Error"]["Message"] == (
            f"User: {ROLE} is not authorized to perform: dynamodb:PutItem on resource: "
            f"{TABLE_ARN} because no identity-based policy allows the dynamodb:PutItem action"
        )
        # and a granted call goes through
        assert "Item" not in table.get_item(TableName="t", Key=item("POST#1"))
    # and nothing reached moto
    assert table.scan(TableName="t")["Count"] == 0


def test_a_granted_call_goes_through_and_calls_outside_the_block_are_free(table: Any) -> None:
    with acting_as(policy(allow("dynamodb:PutItem", TABLE_ARN)), ROLE):
        table.put_item(TableName="t", Item=item("POST#1"))
    table.delete_item(TableName="t", Key=item("POST#1"))  # the test's own clean-up
    assert table.scan(TableName="t")["Count"] == 0


def test_an_explicit_deny_is_said_so(table: Any) -> None:
    deny = {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"}
    with acting_as(policy(allow("dynamodb:*", "*"), deny), ROLE):
        error = refused(lambda: table.delete_item(TableName="t", Key=item("POST#1")))
    assert error.response["Error"]["Message"].endswith(
        "with an explicit deny in an identity-based policy"
    )


def test_leading_keys_keep_a_role_to_its_partitions(table: Any) -> None:
    # Given the public function's statement: GetItem on post partitions only
    statement = allow(
        "dynamodb:GetItem",
        TABLE_ARN,
        Condition={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["POST#*"]}},
    )
    with acting_as(policy(statement), ROLE):
        # Then a post partition is read, an activation's is refused
        table.get_item(TableName="t", Key=item("POST#1"))
        error = refused(lambda: table.get_item(TableName="t", Key=item("ACTIVATION#1")))
    assert code_and_status(error) == ("AccessDeniedException", 400)


def test_one_refused_item_refuses_the_whole_transaction(table: Any) -> None:
    # Given a role that may put items but not delete them
    with acting_as(policy(allow("dynamodb:PutItem", TABLE_ARN)), ROLE):
        # When a transaction puts one item and deletes another
        error = refused(
            lambda: table.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": "t", "Item": item("A")}},
                    {"Delete": {"TableName": "t", "Key": item("B")}},
                ]
            )
        )
    # Then it fails on the delete's own action, and the put did not happen
    assert "dynamodb:DeleteItem" in error.response["Error"]["Message"]
    assert table.scan(TableName="t")["Count"] == 0


def test_an_operation_that_is_not_modelled_is_refused_with_a_clear_message(table: Any) -> None:
    with acting_as(policy(allow("dynamodb:*")), ROLE):
        error = refused(lambda: table.execute_statement(Statement='SELECT * FROM "t"'))
    assert code_and_status(error) == ("AccessDeniedException", 400)
    assert "does not model dynamodb ExecuteStatement" in error.response["Error"]["Message"]


def test_sessions_made_inside_the_block_are_checked_too(table: Any) -> None:
    # Given a role without DynamoDB access, When code makes its own session (as powertools'
    # idempotency layer does)
    with acting_as(NOTHING, ROLE):
        client = boto3.session.Session(region_name=REGION).client("dynamodb")
        error = refused(lambda: client.get_item(TableName="t", Key=item("P")))
    # Then its calls are checked all the same
    assert code_and_status(error)[0] == "AccessDeniedException"


def test_each_denial_prints_one_line_naming_function_action_and_resource(
    table: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="entraide_local"), acting_as(NOTHING, ROLE):
        refused(lambda: table.put_item(TableName="t", Item=item("POST#1")))
    [line] = [r.getMessage() for r in caplog.records if r.name == "entraide_local"]
    assert line == (
        f"IAM DENIED  entraide-local-TestFunction: dynamodb:PutItem on {TABLE_ARN}"
        "  (no statement of its policy allows it)"
    )


def test_a_policy_testing_a_key_that_is_not_filled_in_is_refused() -> None:
    # Given a condition on dynamodb:Attributes, which the local IAM does not fill in
    statement = allow(
        "dynamodb:GetItem",
        Condition={"ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk"]}},
    )
    # Then it is refused at once rather than judged on a missing value (ForAllValues: true)
    with (
        pytest.raises(PolicyError, match="dynamodb:attributes"),
        acting_as(policy(statement), ROLE),
    ):
        pass


# -- the other services ------------------------------------------------------------------------


def test_s3_answers_access_denied_403_and_stores_nothing(aws: None) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="reports", CreateBucketConfiguration={"LocationConstraint": REGION})
    grant = allow(["s3:PutObject"], "arn:aws:s3:::reports/reports/*")
    with acting_as(policy(grant), ROLE):
        s3.put_object(Bucket="reports", Key="reports/2026-11/kpi.json", Body=b"{}")
        error = refused(lambda: s3.put_object(Bucket="reports", Key="elsewhere.json", Body=b"{}"))
    assert code_and_status(error) == ("AccessDenied", 403)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="reports").get("Contents", [])]
    assert keys == ["reports/2026-11/kpi.json"]


def test_sns_answers_authorization_error_403_and_delivers_nothing(aws: None) -> None:
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="approved")["TopicArn"]
    queue = sqs.create_queue(QueueName="probe")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    with acting_as(policy(allow("sns:Publish", topic + "-other")), ROLE):
        error = refused(lambda: sns.publish(TopicArn=topic, Message="m"))
    assert code_and_status(error) == ("AuthorizationError", 403)
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []


def test_sqs_answers_access_denied_and_queues_nothing(aws: None) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="relay")["QueueUrl"]
    with acting_as(policy(allow("sqs:ReceiveMessage", "*")), ROLE):
        error = refused(lambda: sqs.send_message(QueueUrl=queue, MessageBody="b"))
    assert code_and_status(error) == ("AccessDenied", 403)
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []


def sent_count() -> int:
    return len(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


@pytest.fixture
def verified_sender(aws: None) -> None:
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=SENDER)


FROM_SENDER = allow(
    "ses:SendRawEmail", "*", Condition={"StringEquals": {"ses:FromAddress": SENDER}}
)


def test_sesv2_raw_mail_needs_send_raw_email_from_the_granted_address(
    verified_sender: None,
) -> None:
    sesv2 = boto3.client("sesv2", region_name=REGION)
    raw = f"From: {SENDER}\r\nTo: x@example.org\r\nSubject: s\r\n\r\nb".encode()

    def send(sender: str) -> Any:
        return sesv2.send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": ["x@example.org"]},
            Content={"Raw": {"Data": raw}},
        )

    # Given the functions' statement: SendRawEmail only from the platform's address
    with acting_as(policy(FROM_SENDER), ROLE):
        send(SENDER)
        error = refused(lambda: send("other@shareentraide.example"))
    # Then the platform's address sends, another is refused with SES v2's error
    assert code_and_status(error) == ("AccessDeniedException", 403)
    assert sent_count() == 1
    # and ses:SendEmail alone does not cover raw content
    with acting_as(policy(allow("ses:SendEmail")), ROLE):
        assert code_and_status(refused(lambda: send(SENDER)))[0] == "AccessDeniedException"
    assert sent_count() == 1


def test_ses_v1_answers_access_denied_403(verified_sender: None) -> None:
    ses = boto3.client("ses", region_name=REGION)
    with acting_as(NOTHING, ROLE):
        error = refused(
            lambda: ses.send_email(
                Source=SENDER,
                Destination={"ToAddresses": ["x@example.org"]},
                Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
            )
        )
    assert code_and_status(error) == ("AccessDenied", 403)
    assert sent_count() == 0


def test_a_secret_read_by_name_is_matched_on_its_full_arn(aws: None) -> None:
    # Given a secret created by name: Secrets Manager adds a random suffix to its ARN
    secrets = boto3.client("secretsmanager", region_name=REGION)
    arn = secrets.create_secret(Name="x-credentials", SecretString="{}")["ARN"]
    prefix = arn.rsplit(":", 1)[0]
    # When the relay's grant (`name-*`) reads it by name, Then it is allowed
    with acting_as(
        policy(allow("secretsmanager:GetSecretValue", f"{prefix}:x-credentials-*")), ROLE
    ):
        assert secrets.get_secret_value(SecretId="x-credentials")["SecretString"] == "{}"
    # and a grant on the bare name does not match the real ARN, as in AWS
    with acting_as(policy(allow("secretsmanager:GetSecretValue", f"{prefix}:x-credentials")), ROLE):
        error = refused(lambda: secrets.get_secret_value(SecretId="x-credentials"))
    assert code_and_status(error) == ("AccessDeniedException", 400)
    assert arn in error.response["Error"]["Message"]


def test_ssm_lambda_and_cloudwatch_answer_their_own_errors(aws: None) -> None:
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(Name="/entraide/key", Value="v", Type="String")
    lambda_ = boto3.client("lambda", region_name=REGION)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    with acting_as(NOTHING, ROLE):
        parameter = refused(lambda: ssm.get_parameter(Name="/entraide/key"))
        invoke = refused(lambda: lambda_.invoke(FunctionName="relay", Payload=b"{}"))
        metric = refused(
            lambda: cloudwatch.put_metric_data(
                Namespace="ShareEntraide", MetricData=[{"MetricName": "M", "Value": 1.0}]
            )
        )
    assert code_and_status(parameter) == ("AccessDeniedException", 400)
    assert code_and_status(invoke) == ("AccessDeniedException", 403)
    assert code_and_status(metric) == ("AccessDenied", 403)
    assert cloudwatch.list_metrics(Namespace="ShareEntraide")["Metrics"] == []


def test_get_caller_identity_needs_no_grant(aws: None) -> None:
    with acting_as(NOTHING, ROLE):
        assert boto3.client("sts", region_name=REGION).get_caller_identity()["Account"]


# -- a whole process ------------------------------------------------------------------------------


def test_install_covers_the_whole_process_even_clients_made_before(tmp_path: Path) -> None:
    # Given a process whose client exists before `install` is called with JSON arguments
    arguments = json.dumps(json.dumps({"policy": NOTHING, "principal": ROLE}))
    script = textwrap.dedent(
        f"""
        import json, boto3
        from moto import mock_aws
        with mock_aws():
            early = boto3.client("sqs", region_name="{REGION}")
            url = early.create_queue(QueueName="q")["QueueUrl"]
            import entraide_local.iam as iam
            iam.install(**json.loads({arguments}))
            for client in (early, boto3.client("sqs", region_name="{REGION}")):
                try:
                    client.send_message(QueueUrl=url, MessageBody="b")
                    print("sent")
                except client.exceptions.ClientError as error:
                    print(error.response["Error"]["Code"])
        """
    )
    # When both that client and a new one send a message
    result = subprocess.run(  # noqa: S603 - this test's own script
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={"PATH": "", "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"},
        check=True,
    )
    # Then both are refused
    assert result.stdout.split() == ["AccessDenied", "AccessDenied"]
