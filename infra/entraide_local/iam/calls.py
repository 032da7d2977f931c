"""What IAM sees of an AWS API call: the action(s), resource ARN(s) and condition keys.

`authorisations(call, lookups)` turns a botocore operation and its API parameters (as the
caller passed them) into the `Request`s that IAM authorises; the call goes through only if
every one is allowed. An operation that is not listed here raises `NotModelled`, so that a
new kind of call is refused locally until it is modelled, never let through unchecked.

Each mapping follows the Service Authorization Reference of its service
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html)
and the service's own IAM pages, cited beside it. Resource ARNs are built for the caller's
region and account; names the request does not carry (a table's key schema, a secret's random
suffix) come from `Lookups`, which asks the service itself.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr
from typing import Any, Protocol
from urllib.parse import urlparse

from .evaluate import Request
from .patterns import ContextValue

# Condition keys this module fills in (besides the global ones the hook adds): a policy that
# tests any other key is refused, since its condition would be judged on a missing value.
SERVICE_CONDITION_KEYS = frozenset(
    {
        "dynamodb:leadingkeys",
        "dynamodb:returnvalues",
        "dynamodb:select",
        "dynamodb:enclosingoperation",
        "ses:fromaddress",
        "ses:fromdisplayname",
        "ses:recipients",
        "ses:feedbackaddress",
        "ses:apiversion",
        "secretsmanager:secretid",
        "cloudwatch:namespace",
    }
)


class NotModelled(Exception):
    """An operation (or a shape of its parameters) that the local IAM does not model."""

    def __init__(self, service: str, operation: str, detail: str = "") -> None:
        self.service, self.operation = service, operation
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"the local IAM does not model {service} {operation}{extra}: "
            "add it to entraide_local/iam/calls.py"
        )


@dataclass(frozen=True)
class TableKeys:
    """The partition key attribute of a table and of each of its indexes."""

    partition_key: str
    index_partition_keys: Mapping[str, str] = field(default_factory=dict)


class Lookups(Protocol):
    """Facts IAM knows about resources and the request does not carry."""

    def table_keys(self, table_name: str) -> TableKeys: ...

    def secret_arn(self, secret_id: str) -> str | None: ...


@dataclass(frozen=True)
class Call:
    service: str  # botocore's service name: "dynamodb", "sesv2", "s3"...
    operation: str  # botocore's operation name: "PutItem"
    params: Mapping[str, Any]
    region: str
    account: str

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:aws:{service}:{region}:{self.account}:{resource}"


Mapper = Callable[[Call, Lookups], list[Request]]
_MAPPERS: dict[tuple[str, str], Mapper] = {}


def _maps(service: str, *operations: str) -> Callable[[Mapper], Mapper]:
    def register(mapper: Mapper) -> Mapper:
        for operation in operations:
            _MAPPERS[(service, operation)] = mapper
        return mapper

    return register


def authorisations(call: Call, lookups: Lookups) -> list[Request]:
    """The requests IAM authorises for `call`; raises `NotModelled` for unknown calls."""
    mapper = _MAPPERS.get((call.service, call.operation))
    if mapper is None:
        raise NotModelled(call.service, call.operation)
    return mapper(call, lookups)


def modelled_operations() -> list[tuple[str, str]]:
    return sorted(_MAPPERS)


# -- DynamoDB ------------------------------------------------------------------------------
# Actions, resources and keys: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
# Fine-grained access (LeadingKeys, Select, ReturnValues):
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
#   "dynamodb:LeadingKeys - Represents the first key attribute of a table - in other words,
#   the partition key." A Query of an index carries the index's partition key value (the only
#   partition key the request names); the guide says nothing more precise about indexes.
# Transactions: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html
#   "Permissions for Put, Update, Delete, and Get actions are governed by the permissions
#   used for the underlying PutItem, UpdateItem, DeleteItem, and GetItem operations. For the
#   ConditionCheck action, you can use the dynamodb:ConditionCheckItem permission", with
#   dynamodb:EnclosingOperation naming the transaction.
# BatchWriteItem and BatchGetItem are actions of their own, per table.


def _table_name(table: str) -> str:
    return table.split(":table/", 1)[1].split("/", 1)[0] if table.startswith("arn:") else table


def _table_arn(call: Call, table: str) -> str:
    return table if table.startswith("arn:") else call.arn("dynamodb", f"table/{table}")


def _scalar(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return None
    for kind in ("S", "N", "B"):
        if kind in value:
            raw = value[kind]
            return base64.b64encode(raw).decode() if isinstance(raw, bytes) else str(raw)
    return None


def _leading_keys(item: Any, attribute: str) -> tuple[str, ...]:
    value = _scalar(item.get(attribute)) if isinstance(item, Mapping) else None
    return () if value is None else (value,)


def _dynamodb_request(
    call: Call, action: str, table: str, leading: Sequence[str] | None, **keys: str
) -> Request:
    context: dict[str, ContextValue] = {
        f"dynamodb:{name}": value for name, value in keys.items() if value
    }
    if leading is not None:
        context["dynamodb:LeadingKeys"] = tuple(leading)
    return Request(f"dynamodb:{action}", _table_arn(call, table), context)


@_maps("dynamodb", "GetItem", "DeleteItem", "UpdateItem", "PutItem")
def _dynamodb_item(call: Call, lookups: Lookups) -> list[Request]:
    table = str(call.params["TableName"])
    item = call.params.get("Item" if call.operation == "PutItem" else "Key")
    pk = lookups.table_keys(_table_name(table)).partition_key
    return_values = "" if call.operation == "GetItem" else call.params.get("ReturnValues", "NONE")
    return [
        _dynamodb_request(
            call, call.operation, table, _leading_keys(item, pk), ReturnValues=return_values
        )
    ]


_EQUALITY = re.compile(r"([#\w.\[\]]+)\s*=\s*(:\w+)|(:\w+)\s*=\s*([#\w.\[\]]+)")


def _key_condition_value(params: Mapping[str, Any], attribute: str) -> tuple[str, ...]:
    """The partition key value a Query asks for (KeyConditionExpression or KeyConditions)."""
    names = params.get("ExpressionAttributeNames") or {}
    values = params.get("ExpressionAttributeValues") or {}
    for match in _EQUALITY.finditer(str(params.get("KeyConditionExpression") or "")):
        name, placeholder = (match[1], match[2]) if match[1] else (match[4], match[3])
        if names.get(name, name) == attribute:
            value = _scalar(values.get(placeholder))
            return () if value is None else (value,)
    condition = (params.get("KeyConditions") or {}).get(attribute) or {}
    if condition.get("ComparisonOperator") == "EQ":
        value = _scalar((condition.get("AttributeValueList") or [None])[0])
        return () if value is None else (value,)
    return ()


@_maps("dynamodb", "Query", "Scan")
def _dynamodb_read_many(call: Call, lookups: Lookups) -> list[Request]:
    table = str(call.params["TableName"])
    index = call.params.get("IndexName")
    resource = f"{_table_arn(call, table)}/index/{index}" if index else _table_arn(call, table)
    # The API's default Select: "ALL_ATTRIBUTES when accessing a table, and
    # ALL_PROJECTED_ATTRIBUTES when accessing an index"; SPECIFIC_ATTRIBUTES with a projection.
    select = call.params.get("Select") or (
        "SPECIFIC_ATTRIBUTES"
        if call.params.get("ProjectionExpression") or call.params.get("AttributesToGet")
        else "ALL_PROJECTED_ATTRIBUTES"
        if index
        else "ALL_ATTRIBUTES"
    )
    context: dict[str, ContextValue] = {"dynamodb:Select": select}
    if call.operation == "Query":
        keys = lookups.table_keys(_table_name(table))
        attribute = keys.index_partition_keys.get(index, "") if index else keys.partition_key
        context["dynamodb:LeadingKeys"] = _key_condition_value(call.params, attribute)
    return [Request(f"dynamodb:{call.operation}", resource, context)]


@_maps("dynamodb", "BatchWriteItem")
def _dynamodb_batch_write(call: Call, lookups: Lookups) -> list[Request]:
    requests = []
    for table, writes in (call.params.get("RequestItems") or {}).items():
        pk = lookups.table_keys(_table_name(table)).partition_key
        leading = [
            key
            for write in writes
            for key in _leading_keys(
                (write.get("PutRequest") or {}).get("Item")
                or (write.get("DeleteRequest") or {}).get("Key"),
                pk,
            )
        ]
        requests.append(_dynamodb_request(call, "BatchWriteItem", table, leading))
    return requests


@_maps("dynamodb", "BatchGetItem")
def _dynamodb_batch_get(call: Call, lookups: Lookups) -> list[Request]:
    requests = []
    for table, spec in (call.params.get("RequestItems") or {}).items():
        pk = lookups.table_keys(_table_name(table)).partition_key
        leading = [key for item in spec.get("Keys") or () for key in _leading_keys(item, pk)]
        requests.append(_dynamodb_request(call, "BatchGetItem", table, leading))
    return requests


_TRANSACT_ACTIONS = {
    "Put": ("PutItem", "Item"),
    "Update": ("UpdateItem", "Key"),
    "Delete": ("DeleteItem", "Key"),
    "ConditionCheck": ("ConditionCheckItem", "Key"),
    "Get": ("GetItem", "Key"),
}


@_maps("dynamodb", "TransactWriteItems", "TransactGetItems")
def _dynamodb_transaction(call: Call, lookups: Lookups) -> list[Request]:
    requests = []
    for entry in call.params.get("TransactItems") or ():
        for kind, body in entry.items():
            if kind not in _TRANSACT_ACTIONS:
                raise NotModelled(call.service, call.operation, f"item kind {kind}")
            action, key_field = _TRANSACT_ACTIONS[kind]
            table = str(body["TableName"])
            pk = lookups.table_keys(_table_name(table)).partition_key
            leading = _leading_keys(body.get(key_field), pk)
            requests.append(
                _dynamodb_request(call, action, table, leading, EnclosingOperation=call.operation)
            )
    return requests


@_maps("dynamodb", "DescribeTable")
def _dynamodb_describe_table(call: Call, lookups: Lookups) -> list[Request]:
    return [_dynamodb_request(call, "DescribeTable", str(call.params["TableName"]), None)]


# -- SES, API v1 and v2 --------------------------------------------------------------------
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonses.html and
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsimpleemailservicev2.html
# SES v2 SendEmail is authorised by the action of its content type: raw content needs
# ses:SendRawEmail, as AWS answers such calls ("is not authorized to perform
# `ses:SendRawEmail' on resource `arn:aws:ses:...:identity/...'", reported for SESv2 raw
# sends in github.com/nodemailer/nodemailer/issues/1734 and anymail/django-anymail#384).
# Condition keys (https://docs.aws.amazon.com/ses/latest/dg/control-user-access.html):
# ses:FromAddress (the "From" address, without its display name), ses:FromDisplayName,
# ses:Recipients (To, CC and BCC), ses:FeedbackAddress (Return-Path), ses:ApiVersion.


def _addresses(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(address for _, address in getaddresses(list(values)) if address)


def _raw_headers(data: Any) -> tuple[str, tuple[str, ...]]:
    """The From header and the To/Cc/Bcc addresses of a raw MIME message."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    headers = BytesHeaderParser().parsebytes(raw)
    recipients = [value for name in ("To", "Cc", "Bcc") for value in headers.get_all(name, [])]
    return str(headers.get("From", "")), _addresses(recipients)


def _ses_request(
    call: Call,
    action: str,
    sender: str,
    recipients: Sequence[str],
    version: str,
    feedback: str = "",
) -> Request:
    display_name, address = parseaddr(sender)
    context: dict[str, ContextValue] = {
        "ses:FromAddress": address,
        "ses:Recipients": tuple(recipients),
        "ses:ApiVersion": version,
    }
    if display_name:
        context["ses:FromDisplayName"] = display_name
    if feedback:
        context["ses:FeedbackAddress"] = parseaddr(feedback)[1]
    return Request(f"ses:{action}", call.arn("ses", f"identity/{address}"), context)


def _destination(destination: Mapping[str, Any] | None) -> tuple[str, ...]:
    destination = destination or {}
    fields = ("ToAddresses", "CcAddresses", "BccAddresses")
    return _addresses(address for name in fields for address in destination.get(name) or ())


@_maps("sesv2", "SendEmail")
def _sesv2_send_email(call: Call, lookups: Lookups) -> list[Request]:
    content = call.params.get("Content") or {}
    sender = str(call.params.get("FromEmailAddress") or "")
    recipients = _destination(call.params.get("Destination"))
    if "Raw" in content:
        action = "SendRawEmail"
        header_from, header_recipients = _raw_headers((content["Raw"] or {}).get("Data", b""))
        sender = sender or header_from
        recipients = recipients or header_recipients
    elif "Template" in content:
        action = "SendTemplatedEmail"
    elif "Simple" in content:
        action = "SendEmail"
    else:
        raise NotModelled(call.service, call.operation, f"content {sorted(content)}")
    feedback = str(call.params.get("FeedbackForwardingEmailAddress") or "")
    return [_ses_request(call, action, sender, recipients, "2", feedback)]


@_maps("ses", "SendEmail", "SendTemplatedEmail")
def _ses_send_email(call: Call, lookups: Lookups) -> list[Request]:
    recipients = _destination(call.params.get("Destination"))
    feedback = str(call.params.get("ReturnPath") or "")
    source = str(call.params["Source"])
    return [_ses_request(call, call.operation, source, recipients, "1", feedback)]


@_maps("ses", "SendRawEmail")
def _ses_send_raw_email(call: Call, lookups: Lookups) -> list[Request]:
    header_from, header_recipients = _raw_headers((call.params.get("RawMessage") or {})["Data"])
    source = str(call.params.get("Source") or header_from)
    recipients = _addresses(call.params.get("Destinations") or ()) or header_recipients
    return [_ses_request(call, "SendRawEmail", source, recipients, "1")]


# -- SNS -----------------------------------------------------------------------------------
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsns.html
# Publish and PublishBatch are both sns:Publish on the topic; an SMS (PhoneNumber) has no ARN.


@_maps("sns", "Publish", "PublishBatch")
def _sns_publish(call: Call, lookups: Lookups) -> list[Request]:
    target = call.params.get("TopicArn") or call.params.get("TargetArn") or "*"
    return [Request("sns:Publish", str(target))]


# -- SQS -----------------------------------------------------------------------------------
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html
# The batch operations are authorised by the single-message action. A queue URL ends with
# /<account>/<name>; its ARN is arn:aws:sqs:<region>:<account>:<name>.

_SQS_ACTIONS = {
    "SendMessage": "SendMessage",
    "SendMessageBatch": "SendMessage",
    "ReceiveMessage": "ReceiveMessage",
    "DeleteMessage": "DeleteMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibility": "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
    "GetQueueAttributes": "GetQueueAttributes",
    "PurgeQueue": "PurgeQueue",
}


def queue_arn(url: str, region: str) -> str:
    account, name = urlparse(url).path.strip("/").split("/")[-2:]
    return f"arn:aws:sqs:{region}:{account}:{name}"


@_maps("sqs", *_SQS_ACTIONS)
def _sqs_queue(call: Call, lookups: Lookups) -> list[Request]:
    resource = queue_arn(str(call.params["QueueUrl"]), call.region)
    return [Request(f"sqs:{_SQS_ACTIONS[call.operation]}", resource)]


@_maps("sqs", "GetQueueUrl")
def _sqs_get_queue_url(call: Call, lookups: Lookups) -> list[Request]:
    account = str(call.params.get("QueueOwnerAWSAccountId") or call.account)
    resource = f"arn:aws:sqs:{call.region}:{account}:{call.params['QueueName']}"
    return [Request("sqs:GetQueueUrl", resource)]


# -- S3 ------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
# HeadObject needs s3:GetObject, listing a bucket s3:ListBucket on the bucket itself.

_S3_OBJECT_ACTIONS = {
    "PutObject": "PutObject",
    "GetObject": "GetObject",
    "HeadObject": "GetObject",
    "DeleteObject": "DeleteObject",
}


@_maps("s3", *_S3_OBJECT_ACTIONS)
def _s3_object(call: Call, lookups: Lookups) -> list[Request]:
    resource = f"arn:aws:s3:::{call.params['Bucket']}/{call.params['Key']}"
    return [Request(f"s3:{_S3_OBJECT_ACTIONS[call.operation]}", resource)]


@_maps("s3", "ListObjects", "ListObjectsV2", "HeadBucket")
def _s3_bucket(call: Call, lookups: Lookups) -> list[Request]:
    return [Request("s3:ListBucket", f"arn:aws:s3:::{call.params['Bucket']}")]


# -- Secrets Manager -----------------------------------------------------------------------
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html
# A secret's ARN ends with "the final hyphen and six random characters that Secrets Manager
# adds at the end of the ARN when you created the secret" (CreateSecret and GetSecretValue API
# reference, SecretId), and IAM matches the policy against that full ARN whatever the caller
# passed as SecretId (a name, or a partial ARN): hence `name-*` in policies.

_FULL_SECRET_ARN = re.compile(r"^arn:[^:]+:secretsmanager:[^:]*:\d{12}:secret:.+-[A-Za-z0-9]{6}$")


@_maps("secretsmanager", "GetSecretValue", "DescribeSecret")
def _secret(call: Call, lookups: Lookups) -> list[Request]:
    secret_id = str(call.params["SecretId"])
    arn = secret_id if _FULL_SECRET_ARN.match(secret_id) else lookups.secret_arn(secret_id)
    if arn is None:  # no such secret: the name alone, as the request gives it
        name = secret_id.split(":secret:", 1)[-1]
        arn = call.arn("secretsmanager", f"secret:{name}")
    context: dict[str, ContextValue] = {"secretsmanager:SecretId": secret_id}
    return [Request(f"secretsmanager:{call.operation}", arn, context)]


# -- SSM Parameter Store ---------------------------------------------------------------------
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html
# A parameter's ARN is ...:parameter/<name without its leading slash>.


def _parameter_arn(call: Call, name: str) -> str:
    return name if name.startswith("arn:") else call.arn("ssm", f"parameter/{name.lstrip('/')}")


@_maps("ssm", "GetParameter")
def _ssm_parameter(call: Call, lookups: Lookups) -> list[Request]:
    return [Request("ssm:GetParameter", _parameter_arn(call, str(call.params["Name"])))]


@_maps("ssm", "GetParameters")
def _ssm_parameters(call: Call, lookups: Lookups) -> list[Request]:
    names = call.params.get("Names") or ()
    return [Request("ssm:GetParameters", _parameter_arn(call, str(name))) for name in names]


@_maps("ssm", "GetParametersByPath")
def _ssm_parameters_by_path(call: Call, lookups: Lookups) -> list[Request]:
    return [Request("ssm:GetParametersByPath", _parameter_arn(call, str(call.params["Path"])))]


# -- Lambda --------------------------------------------------------------------------------
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html
# Invoke is lambda:InvokeFunction on the function (qualified ARN when a Qualifier is given).


@_maps("lambda", "Invoke", "InvokeAsync")
def _lambda_invoke(call: Call, lookups: Lookups) -> list[Request]:
    name = str(call.params["FunctionName"])
    arn = name if name.startswith("arn:") else call.arn("lambda", f"function:{name}")
    qualifier = call.params.get("Qualifier")
    return [Request("lambda:InvokeFunction", f"{arn}:{qualifier}" if qualifier else arn)]


# UpdateEventSourceMapping and GetEventSourceMapping are lambda:UpdateEventSourceMapping and
# lambda:GetEventSourceMapping on the mapping, resource type eventSourceMapping:
# arn:${Partition}:lambda:${Region}:${Account}:event-source-mapping:${UUID}.
@_maps("lambda", "UpdateEventSourceMapping", "GetEventSourceMapping")
def _lambda_event_source_mapping(call: Call, lookups: Lookups) -> list[Request]:
    uuid = str(call.params["UUID"])
    return [Request(f"lambda:{call.operation}", call.arn("lambda", f"event-source-mapping:{uuid}"))]


# -- CloudWatch ------------------------------------------------------------------------------
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
# PutMetricData has no resource type ("*") and the cloudwatch:namespace condition key.


@_maps("cloudwatch", "PutMetricData")
def _put_metric_data(call: Call, lookups: Lookups) -> list[Request]:
    context: dict[str, ContextValue] = {"cloudwatch:namespace": str(call.params["Namespace"])}
    return [Request("cloudwatch:PutMetricData", "*", context)]


# -- STS -----------------------------------------------------------------------------------
# GetCallerIdentity: "No permissions are required to perform this operation. If an
# administrator attaches a policy to your identity that explicitly denies access to the
# sts:GetCallerIdentity action, you can still perform this operation."
# https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html


@_maps("sts", "GetCallerIdentity")
def _get_caller_identity(call: Call, lookups: Lookups) -> list[Request]:
    return []
