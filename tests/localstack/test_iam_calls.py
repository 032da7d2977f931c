"""What the local IAM sees of each modelled API call: actions, resources, condition keys.

The parameters are botocore's, as the code base passes them (`src/entraide/*.py`).
"""

from __future__ import annotations

from typing import Any

import pytest

from entraide_local.iam.calls import (
    Call,
    NotModelled,
    TableKeys,
    authorisations,
    modelled_operations,
    queue_arn,
)
from entraide_local.iam.evaluate import Request

REGION, ACCOUNT = "eu-west-3", "123456789012"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/entraide"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:x-credentials-AbCdEf"


class FakeLookups:
    """What the service would answer: the table's keys, the secrets' full ARNs."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def table_keys(self, table_name: str) -> TableKeys:
        self.asked.append(table_name)
        return TableKeys("pk", {"by_status": "gsi1pk", "by_cell": "gsi3pk"})

    def secret_arn(self, secret_id: str) -> str | None:
        self.asked.append(secret_id)
        return SECRET_ARN if secret_id == "x-credentials" else None


def requests(service: str, operation: str, **params: Any) -> list[Request]:
    return authorisations(Call(service, operation, params, REGION, ACCOUNT), FakeLookups())


def one(service: str, operation: str, **params: Any) -> tuple[str, str, dict[str, Any]]:
    [request] = requests(service, operation, **params)
    return request.action, request.resource, dict(request.context)


def s(value: str) -> dict[str, str]:
    return {"S": value}


# -- DynamoDB ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "params", "leading"),
    [
        ("GetItem", {"Key": {"pk": s("POST#1"), "sk": s("POST")}}, ("POST#1",)),
        ("DeleteItem", {"Key": {"pk": s("NOTICE#d"), "sk": s("SENT")}}, ("NOTICE#d",)),
        ("UpdateItem", {"Key": {"pk": s("POST#1"), "sk": s("POST")}}, ("POST#1",)),
        (
            "PutItem",
            {"Item": {"pk": s("idempotency#f"), "sk": s("x"), "v": {"N": "1"}}},
            ("idempotency#f",),
        ),
    ],
)
def test_an_item_call_is_its_own_action_on_the_table_with_the_items_partition_key(
    operation: str, params: dict[str, Any], leading: tuple[str, ...]
) -> None:
    # Given a single-item call on the table by name
    action, resource, context = one("dynamodb", operation, TableName="entraide", **params)
    # Then IAM sees the action of the same name on the table's ARN and the partition key
    assert (action, resource) == (f"dynamodb:{operation}", TABLE)
    assert context["dynamodb:leadingkeys"] == leading


def test_writes_carry_return_values_and_reads_do_not() -> None:
    key = {"pk": s("POST#1"), "sk": s("POST")}
    _, _, update = one(
        "dynamodb", "UpdateItem", TableName="entraide", Key=key, ReturnValues="ALL_NEW"
    )
    _, _, delete = one("dynamodb", "DeleteItem", TableName="entraide", Key=key)
    _, _, get = one("dynamodb", "GetItem", TableName="entraide", Key=key)
    assert update["dynamodb:returnvalues"] == "ALL_NEW"
    assert delete["dynamodb:returnvalues"] == "NONE"  # the API's default
    assert "dynamodb:returnvalues" not in get


def test_a_table_named_by_arn_is_that_arn() -> None:
    _, resource, _ = one("dynamodb", "GetItem", TableName=TABLE, Key={"pk": s("P")})
    assert resource == TABLE


def test_a_query_of_an_index_is_on_the_index_with_the_indexs_partition_key() -> None:
    # Given the by_status query of the web form (store.py): an alias and a placeholder
    action, resource, context = one(
        "dynamodb",
        "Query",
        TableName="entraide",
        IndexName="by_status",
        KeyConditionExpression="#pk = :pk AND begins_with(gsi1sk, :prefix)",
        ExpressionAttributeNames={"#pk": "gsi1pk"},
        ExpressionAttributeValues={":pk": s("ACTIVATION#open"), ":prefix": s("2026")},
    )
    # Then IAM sees a Query on the index's ARN, the index's partition key value and Select
    assert (action, resource) == ("dynamodb:Query", f"{TABLE}/index/by_status")
    assert context["dynamodb:leadingkeys"] == ("ACTIVATION#open",)
    assert context["dynamodb:select"] == "ALL_PROJECTED_ATTRIBUTES"


def test_a_query_of_the_table_takes_the_partition_key_whichever_side_and_between() -> None:
    # Given a reversed equality, and a BETWEEN whose AND is not a separator
    _, resource, context = one(
        "dynamodb",
        "Query",
        TableName="entraide",
        KeyConditionExpression="sk BETWEEN :a AND :b AND :p = pk",
        ExpressionAttributeValues={":p": s("NOTICE#d"), ":a": s("A"), ":b": s("B")},
        Select="COUNT",
    )
    assert resource == TABLE
    assert context["dynamodb:leadingkeys"] == ("NOTICE#d",)
    assert context["dynamodb:select"] == "COUNT"


def test_a_legacy_key_conditions_query_is_read_too() -> None:
    _, _, context = one(
        "dynamodb",
        "Query",
        TableName="entraide",
        KeyConditions={"pk": {"AttributeValueList": [s("POST#1")], "ComparisonOperator": "EQ"}},
        ProjectionExpression="title",
    )
    assert context["dynamodb:leadingkeys"] == ("POST#1",)
    assert context["dynamodb:select"] == "SPECIFIC_ATTRIBUTES"


def test_a_scan_has_no_leading_keys() -> None:
    action, resource, context = one("dynamodb", "Scan", TableName="entraide")
    assert (action, resource) == ("dynamodb:Scan", TABLE)
    assert "dynamodb:leadingkeys" not in context


def test_a_batch_write_is_one_batch_action_per_table_with_every_items_partition_key() -> None:
    # Given the notice flush's deletes (notices.py) and a put, on two tables
    result = requests(
        "dynamodb",
        "BatchWriteItem",
        RequestItems={
            "entraide": [
                {"DeleteRequest": {"Key": {"pk": s("NOTICE#d"), "sk": s("PENDING#1")}}},
                {"DeleteRequest": {"Key": {"pk": s("NOTICE-DUE"), "sk": s("QUEUED#1")}}},
            ],
            "other": [{"PutRequest": {"Item": {"pk": s("X"), "sk": s("Y")}}}],
        },
    )
    # Then BatchWriteItem (not DeleteItem) is asked on each table
    assert [(r.action, r.resource, r.context["dynamodb:leadingkeys"]) for r in result] == [
        ("dynamodb:BatchWriteItem", TABLE, ("NOTICE#d", "NOTICE-DUE")),
        ("dynamodb:BatchWriteItem", TABLE.replace("entraide", "other"), ("X",)),
    ]


def test_a_batch_get_is_its_own_action() -> None:
    [request] = requests(
        "dynamodb",
        "BatchGetItem",
        RequestItems={"entraide": {"Keys": [{"pk": s("POST#1"), "sk": s("POST")}]}},
    )
    assert (request.action, request.context["dynamodb:leadingkeys"]) == (
        "dynamodb:BatchGetItem",
        ("POST#1",),
    )


def test_a_transaction_is_authorised_item_by_item_with_each_items_own_action() -> None:
    # Given the post creation transaction's shape (store.py): put, condition check, update,
    # delete
    result = requests(
        "dynamodb",
        "TransactWriteItems",
        TransactItems=[
            {"Put": {"TableName": "entraide", "Item": {"pk": s("POST#1"), "sk": s("POST")}}},
            {
                "ConditionCheck": {
                    "TableName": "entraide",
                    "Key": {"pk": s("ACT#1"), "sk": s("A")},
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": "entraide",
                    "Key": {"pk": s("Q#1"), "sk": s("Q")},
                    "UpdateExpression": "SET n = :n",
                }
            },
            {"Delete": {"TableName": "entraide", "Key": {"pk": s("D#1"), "sk": s("D")}}},
        ],
    )
    # Then each item is asked with its own action, key and the enclosing operation
    assert [(r.action, r.context["dynamodb:leadingkeys"]) for r in result] == [
        ("dynamodb:PutItem", ("POST#1",)),
        ("dynamodb:ConditionCheckItem", ("ACT#1",)),
        ("dynamodb:UpdateItem", ("Q#1",)),
        ("dynamodb:DeleteItem", ("D#1",)),
    ]
    assert {r.context["dynamodb:enclosingoperation"] for r in result} == {"TransactWriteItems"}
    assert {r.resource for r in result} == {TABLE}


def test_a_transactional_get_is_get_item() -> None:
    [request] = requests(
        "dynamodb",
        "TransactGetItems",
        TransactItems=[{"Get": {"TableName": "entraide", "Key": {"pk": s("P"), "sk": s("S")}}}],
    )
    assert (request.action, request.context["dynamodb:enclosingoperation"]) == (
        "dynamodb:GetItem",
        "TransactGetItems",
    )


# -- SES --------------------------------------------------------------------------------------

RAW = (
    b"From: ShareEntraide <ne-pas-repondre@shareentraide.example>\r\n"
    b"To: famille.martin@example.org\r\nCc: aidant@example.net\r\n"
    b"Subject: test\r\n\r\nbody\r\n"
)


def test_sesv2_raw_content_needs_send_raw_email_on_the_senders_identity() -> None:
    # Given the mailer's call (mail.py): SES v2 SendEmail with raw content
    action, resource, context = one(
        "sesv2",
        "SendEmail",
        FromEmailAddress="ne-pas-repondre@shareentraide.example",
        Destination={"ToAddresses": ["famille.martin@example.org"]},
        Content={"Raw": {"Data": RAW}},
    )
    # Then IAM sees ses:SendRawEmail, the From address and the recipients
    assert action == "ses:SendRawEmail"
    assert (
        resource == f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/ne-pas-repondre@shareentraide.example"
    )
    assert context["ses:fromaddress"] == "ne-pas-repondre@shareentraide.example"
    assert context["ses:recipients"] == ("famille.martin@example.org",)
    assert context["ses:apiversion"] == "2"


def test_sesv2_raw_content_without_a_from_parameter_takes_the_headers() -> None:
    _, _, context = one("sesv2", "SendEmail", Content={"Raw": {"Data": RAW}})
    assert context["ses:fromaddress"] == "ne-pas-repondre@shareentraide.example"
    assert context["ses:fromdisplayname"] == "ShareEntraide"
    assert context["ses:recipients"] == ("famille.martin@example.org", "aidant@example.net")


@pytest.mark.parametrize(
    ("content", "action"),
    [
        ({"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}}, "ses:SendEmail"),
        ({"Template": {"TemplateName": "t", "TemplateData": "{}"}}, "ses:SendTemplatedEmail"),
    ],
)
def test_sesv2_other_contents_have_their_own_actions(content: dict[str, Any], action: str) -> None:
    got, _, _ = one("sesv2", "SendEmail", FromEmailAddress="a@b.example", Content=content)
    assert got == action


def test_ses_v1_send_email_and_send_raw_email() -> None:
    action, _, context = one(
        "ses",
        "SendEmail",
        Source="Equipe <a@b.example>",
        Destination={"ToAddresses": ["x@y.example"], "BccAddresses": ["z@y.example"]},
        Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
        ReturnPath="bounces@b.example",
    )
    assert (action, context["ses:fromaddress"], context["ses:apiversion"]) == (
        "ses:SendEmail",
        "a@b.example",
        "1",
    )
    assert context["ses:recipients"] == ("x@y.example", "z@y.example")
    assert context["ses:feedbackaddress"] == "bounces@b.example"
    raw_action, _, raw = one("ses", "SendRawEmail", RawMessage={"Data": RAW})
    assert (raw_action, raw["ses:fromaddress"]) == (
        "ses:SendRawEmail",
        "ne-pas-repondre@shareentraide.example",
    )


# -- SNS, SQS, S3, Secrets Manager, SSM, Lambda, CloudWatch, STS ------------------------------


def test_sns_publish_is_on_the_topic() -> None:
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:approved-posts"
    assert one("sns", "Publish", TopicArn=topic, Message="m")[:2] == ("sns:Publish", topic)
    batch = one("sns", "PublishBatch", TopicArn=topic, PublishBatchRequestEntries=[])
    assert batch[:2] == ("sns:Publish", topic)


@pytest.mark.parametrize(
    "url",
    [
        f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/relay",
        f"http://127.0.0.1:5000/{ACCOUNT}/relay",  # moto's server
    ],
)
def test_sqs_calls_are_on_the_queue_arn_from_its_url(url: str) -> None:
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:relay"
    assert queue_arn(url, REGION) == queue
    assert one("sqs", "SendMessage", QueueUrl=url, MessageBody="b")[:2] == (
        "sqs:SendMessage",
        queue,
    )
    assert one("sqs", "SendMessageBatch", QueueUrl=url, Entries=[])[0] == "sqs:SendMessage"
    assert one("sqs", "DeleteMessageBatch", QueueUrl=url, Entries=[])[0] == "sqs:DeleteMessage"
    assert one("sqs", "GetQueueUrl", QueueName="relay")[:2] == ("sqs:GetQueueUrl", queue)


@pytest.mark.parametrize(
    ("operation", "action"),
    [("PutObject", "s3:PutObject"), ("GetObject", "s3:GetObject"), ("HeadObject", "s3:GetObject")],
)
def test_s3_object_calls_are_on_the_object(operation: str, action: str) -> None:
    got = one("s3", operation, Bucket="reports", Key="reports/2026-11/kpi.json")
    assert got[:2] == (action, "arn:aws:s3:::reports/reports/2026-11/kpi.json")
    assert one("s3", "ListObjectsV2", Bucket="reports")[:2] == (
        "s3:ListBucket",
        "arn:aws:s3:::reports",
    )


def test_a_secret_named_without_its_suffix_is_authorised_on_its_full_arn() -> None:
    # Given the relay's X credentials, read by name (a parameter of the template)
    action, resource, context = one("secretsmanager", "GetSecretValue", SecretId="x-credentials")
    # Then IAM sees the secret's full ARN, with Secrets Manager's six random characters
    assert (action, resource) == ("secretsmanager:GetSecretValue", SECRET_ARN)
    assert context["secretsmanager:secretid"] == "x-credentials"


def test_a_secret_given_by_full_arn_is_not_looked_up_and_an_unknown_one_keeps_its_name() -> None:
    lookups = FakeLookups()
    call = Call("secretsmanager", "GetSecretValue", {"SecretId": SECRET_ARN}, REGION, ACCOUNT)
    [request] = authorisations(call, lookups)
    assert (request.resource, lookups.asked) == (SECRET_ARN, [])
    unknown = one("secretsmanager", "GetSecretValue", SecretId="nope")[1]
    assert unknown == f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:nope"


def test_ssm_parameters_lambda_cloudwatch() -> None:
    parameter = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/entraide/key"
    assert one("ssm", "GetParameter", Name="/entraide/key")[:2] == ("ssm:GetParameter", parameter)
    assert [r.resource for r in requests("ssm", "GetParameters", Names=["/a", "b"])] == [
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/a",
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/b",
    ]
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:relay"
    assert one("lambda", "Invoke", FunctionName="relay")[:2] == ("lambda:InvokeFunction", function)
    assert one("lambda", "Invoke", FunctionName="relay", Qualifier="live")[1] == f"{function}:live"
    mapping = f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:1b2c"
    for operation in ("UpdateEventSourceMapping", "GetEventSourceMapping"):
        flip = one("lambda", operation, UUID="1b2c", Enabled=False)
        assert flip[:2] == (f"lambda:{operation}", mapping)
    metric = one("cloudwatch", "PutMetricData", Namespace="ShareEntraide", MetricData=[])
    assert metric == ("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "ShareEntraide"})


def test_get_caller_identity_needs_no_permission() -> None:
    # "No permissions are required to perform this operation" (STS API reference)
    assert requests("sts", "GetCallerIdentity") == []


def test_an_operation_that_is_not_modelled_is_refused_by_name() -> None:
    # Given an operation nobody modelled (PartiQL)
    with pytest.raises(NotModelled, match="does not model dynamodb ExecuteStatement"):
        requests("dynamodb", "ExecuteStatement", Statement="SELECT * FROM entraide")


def test_every_operation_the_functions_call_is_modelled() -> None:
    # Given the operations the functions call, themselves or through powertools (idempotency:
    # DynamoDB items; parameters: GetSecretValue, GetParameter). A call missing here is
    # refused at run time anyway ("not modelled"); this lists what must work.
    dynamodb = ["GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "BatchWriteItem"]
    called = {("dynamodb", name) for name in [*dynamodb, "TransactWriteItems"]} | {
        ("sesv2", "SendEmail"),
        ("sns", "Publish"),
        ("sqs", "SendMessage"),
        ("s3", "PutObject"),
        ("secretsmanager", "GetSecretValue"),
        ("ssm", "GetParameter"),
    }
    # Then each has a mapping
    assert called <= set(modelled_operations())
