"""Create one CloudFormation resource in moto, through ordinary boto3 clients.

One function per resource type, `create(context, resource, properties) -> PhysicalResource`,
with `properties` already resolved (no intrinsics left). Properties that have no local meaning
(encryption at rest, backups, tags...) are listed in the resource's `note` instead of failing.
Why by hand rather than moto's CloudFormation: it silently skips `AWS::SNS::Subscription`, and
the functions, APIs and schedules must stay out of moto anyway (see NOTES-moto-sam.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .clients import ACCOUNT_ID, ClientFactory
from .template import Resource, TemplateError


@dataclass
class PhysicalResource:
    """What a logical id became locally; `ref` is what `!Ref` gives, `attributes` `!GetAtt`."""

    logical_id: str
    type: str
    status: str  # one of the STATUS_* values
    ref: Any
    attributes: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "status": self.status,
            "physical_id": self.ref,
            "attributes": self.attributes,
            "note": self.note,
        }


STATUS_CREATED = "created in moto"
STATUS_LOCAL = "served by the local stack"
# Roles become the functions' enforced policies (entraide_local.iam); resource policies
# (queue, topic, bucket) are not evaluated.
STATUS_IGNORED = "not created (roles: enforced per function; resource policies: not)"
STATUS_SKIPPED = "skipped (not emulated)"
STATUS_EXCLUDED = "excluded by its Condition"


@dataclass(frozen=True)
class CreateContext:
    clients: ClientFactory
    stack_name: str
    region: str

    def physical_name(
        self, resource: Resource, explicit: Any, *, lowercase: bool = False, max_length: int = 255
    ) -> str:
        """The explicit name property if any, else `{stack_name}-{LogicalId}` like CloudFormation
        (without its random suffix, so that names stay predictable locally)."""
        if explicit:
            return str(explicit)
        name = f"{self.stack_name}-{resource.logical_id}"[:max_length]
        return name.lower() if lowercase else name

    def arn(self, service: str, resource_part: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{resource_part}"


Creator = Callable[[CreateContext, Resource, Mapping[str, Any]], PhysicalResource]


def _created(
    resource: Resource,
    ref: Any,
    attributes: dict[str, Any],
    properties: Mapping[str, Any],
    handled: set[str],
) -> PhysicalResource:
    unhandled = sorted(set(properties) - handled)
    note = f"not emulated: {', '.join(unhandled)}" if unhandled else ""
    return PhysicalResource(
        resource.logical_id, resource.type, STATUS_CREATED, ref, attributes, note
    )


def _attribute_text(value: Any) -> str:
    """Queue and topic attributes are strings on the wire."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


# --- DynamoDB ----------------------------------------------------------------------------


_TABLE_HANDLED = {
    "TableName",
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "ProvisionedThroughput",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "StreamSpecification",
    "TimeToLiveSpecification",
}
_DEFAULT_THROUGHPUT = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}


def create_table(
    context: CreateContext, resource: Resource, props: Mapping[str, Any]
) -> PhysicalResource:
    name = context.physical_name(resource, props.get("TableName"))
    billing_mode = props.get("BillingMode", "PROVISIONED")
    provisioned = billing_mode == "PROVISIONED"
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": billing_mode,
    }
    if provisioned:
        request["ProvisionedThroughput"] = props.get("ProvisionedThroughput", _DEFAULT_THROUGHPUT)
    if props.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = [
            _index(index, provisioned) for index in props["GlobalSecondaryIndexes"]
        ]
    if props.get("LocalSecondaryIndexes"):
        request["LocalSecondaryIndexes"] = [
            _index(index, provisioned=False) for index in props["LocalSecondaryIndexes"]
        ]
    stream = props.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream["StreamViewType"],
        }
    dynamodb = context.clients("dynamodb")
    description = dynamodb.create_table(**request)["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled", True) not in (False, "false"):
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )
    attributes = {"Arn": description["TableArn"]}
    if "LatestStreamArn" in description:
        attributes["StreamArn"] = description["LatestStreamArn"]
    return _created(resource, name, attributes, props, _TABLE_HANDLED)


def _index(index: Mapping[str, Any], provisioned: bool) -> dict[str, Any]:
    # CloudFormation and the API share this shape; only the throughput rules differ.
    request = {key: index[key] for key in ("IndexName", "KeySchema", "Projection") if key in index}
    if provisioned:
        request["ProvisionedThroughput"] = index.get("ProvisionedThroughput", _DEFAULT_THROUGHPUT)
    return request


# --- SQS and SNS -------------------------------------------------------------------------


_QUEUE_ATTRIBUTES = {
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoThroughputLimit",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "VisibilityTimeout",
}


def create_queue(
    context: CreateContext, resource: Resource, props: Mapping[str, Any]
) -> PhysicalResource:
    fifo = _attribute_text(props.get("FifoQueue", False)) == "true"
    default_name = context.physical_name(resource, None, max_length=75)
    name = props.get("QueueName") or (f"{default_name}.fifo" if fifo else default_name)
    attributes = {key: _attribute_text(props[key]) for key in _QUEUE_ATTRIBUTES if key in props}
    if fifo:
        attributes["FifoQueue"] = "true"  # only for FIFO: SQS rejects it on standard queues
    sqs = context.clients("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return _created(
        resource,
        url,
        {"Arn": arn, "QueueName": name, "QueueUrl": url},
        props,
        {"QueueName", "FifoQueue", *_QUEUE_ATTRIBUTES},
    )


def create_topic(
    context: CreateContext, resource: Resource, props: Mapping[str, Any]
) -> PhysicalResource:
    fifo = _attribute_text(props.get("FifoTopic", False)) == "true"
    default_name = context.physical_name(resource, None, max_length=250)
    name = props.get("TopicName") or (f"{default_name}.fifo" if fifo else default_name)
    attributes = {
        key: _attribute_text(props[key])
        for key in ("DisplayName", "ContentBasedDeduplication", "KmsMasterKeyId")
        if key in props
    }
    if fifo:
        attributes["FifoTopic"] = "true"
    sns = context.clients("sns")
    arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
    # Inline subscriptions, [{Protocol, Endpoint}], have no attributes (no raw delivery).
    notes = [_subscribe(sns, arn, inline) for inline in props.get("Subscription", ())]
    created = _created(
        resource,
        arn,
        {"TopicArn": arn, "TopicName": name},
        props,
        {
            "TopicName",
            "FifoTopic",
            "DisplayName",
            "ContentBasedDeduplication",
            "KmsMasterKeyId",
            "Subscription",
        },
    )
    created.note = "; ".join(filter(None, [created.note, *notes]))
    return created


_SUBSCRIPTION_ATTRIBUTES = ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope")


def create_subscription(
    context: CreateContext, resource: Resource, props: Mapping[str, Any]
) -> PhysicalResource:
    attributes = {key: props[key] for key in _SUBSCRIPTION_ATTRIBUTES if key in props}
    if "RedrivePolicy" in props:
        attributes["RedrivePolicy"] = props["RedrivePolicy"]
    sns = context.clients("sns")
    arn = _subscription_arn(sns, props["TopicArn"], props, attributes)
    if arn is None:
        return PhysicalResource(
            resource.logical_id,
            resource.type,
            STATUS_SKIPPED,
            f"{props['TopicArn']}:{resource.logical_id}",
            note=f"protocol {props.get('Protocol')} is not delivered locally",
        )
    created = _created(
        resource,
        arn,
        {},
        props,
        {"TopicArn", "Protocol", "Endpoint", "RedrivePolicy", *_SUBSCRIPTION_ATTRIBUTES},
    )
    if str(props.get("Protocol")).lower().startswith("email"):
        created.note = "; ".join(filter(None, [created.note, "no email is sent locally"]))
    return created


# Email subscriptions exist in moto like in AWS, and nothing is mailed. Lambda subscriptions
# would make moto consume the messages itself (the local stack invokes the handlers), and
# HTTP ones would make it post to the endpoint: those are left out.
_SUBSCRIBED_PROTOCOLS = ("sqs", "email", "email-json")


def _subscription_arn(
    sns: Any, topic_arn: str, props: Mapping[str, Any], attributes: Mapping[str, Any]
) -> str | None:
    protocol = str(props.get("Protocol")).lower()
    if protocol not in _SUBSCRIBED_PROTOCOLS:
        return None
    response = sns.subscribe(
        TopicArn=topic_arn,
        Protocol=protocol,
        Endpoint=props["Endpoint"],
        Attributes={key: _attribute_text(value) for key, value in attributes.items()},
        ReturnSubscriptionArn=True,
    )
    return str(response["SubscriptionArn"])


def _subscribe(sns: Any, topic_arn: str, inline: Mapping[str, Any]) -> str:
    arn = _subscription_arn(sns, topic_arn, inline, {})
    return "" if arn else f"inline {inline.get('Protocol')} subscription not delivered locally"


# --- S3 ----------------------------------------------------------------------------------


def create_bucket(
    context: CreateContext, resource: Resource, props: Mapping[str, Any]
) -> PhysicalResource:
    name = context.physical_name(resource, props.get("BucketName"), lowercase=True, max_length=63)
    s3 = context.clients("s3")
    if context.region == "us-east-1":  # the one region that refuses a LocationConstraint
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": context.region}
        )
    lifecycle = props.get("LifecycleConfiguration")
    if lifecycle:
        s3.put_bucket_lifecycle_configuration(
            Bucket=name,
            LifecycleConfiguration={"Rules": [_lifecycle_rule(r) for r in lifecycle["Rules"]]},
        )
    encryption = props.get("BucketEncryption")
    if encryption:
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    _encryption_rule(r) for r in encryption["ServerSideEncryptionConfiguration"]
                ]
            },
        )
    versioning = props.get("VersioningConfiguration")
    if versioning:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=dict(versioning))
    cors = props.get("CorsConfiguration")
    if cors:
        s3.put_bucket_cors(
            Bucket=name, CORSConfiguration={"CORSRules": [_cors_rule(r) for r in cors["CorsRules"]]}
        )
    attributes = {
        "Arn": f"arn:aws:s3:::{name}",
        "DomainName": f"{name}.s3.amazonaws.com",
        "RegionalDomainName": f"{name}.s3.{context.region}.amazonaws.com",
        "WebsiteURL": f"http://{name}.s3-website.{context.region}.amazonaws.com",
    }
    handled = {
        "BucketName",
        "LifecycleConfiguration",
        "BucketEncryption",
        "VersioningConfiguration",
        "CorsConfiguration",
    }
    return _created(resource, name, attributes, props, handled)


def _lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """CloudFormation's flat lifecycle rule to the S3 API's nested one (common fields)."""
    converted: dict[str, Any] = {
        "Status": rule.get("Status", "Enabled"),
        "Filter": {"Prefix": rule.get("Prefix", "")},
    }
    if "Id" in rule:
        converted["ID"] = rule["Id"]
    if "ExpirationInDays" in rule:
        converted["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    elif "ExpirationDate" in rule:
        converted["Expiration"] = {"Date": rule["ExpirationDate"]}
    if "NoncurrentVersionExpirationInDays" in rule:
        days = int(rule["NoncurrentVersionExpirationInDays"])
        converted["NoncurrentVersionExpiration"] = {"NoncurrentDays": days}
    if "AbortIncompleteMultipartUpload" in rule:
        converted["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    if "Transitions" in rule:
        converted["Transitions"] = [
            {"StorageClass": item["StorageClass"], "Days": int(item["TransitionInDays"])}
            for item in rule["Transitions"]
            if "TransitionInDays" in item
        ]
    return converted


def _encryption_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """CloudFormation's ServerSideEncryptionByDefault is the API's ApplyServerSide…."""
    api_rule = {key: value for key, value in rule.items() if key != "ServerSideEncryptionByDefault"}
    if "ServerSideEncryptionByDefault" in rule:
        api_rule["ApplyServerSideEncryptionByDefault"] = dict(rule["ServerSideEncryptionByDefault"])
    return api_rule


def _cors_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    renamed = {"Id": "ID", "MaxAge": "MaxAgeSeconds", "ExposedHeaders": "ExposeHeaders"}
    return {renamed.get(key, key): value for key, value in rule.items()}


# --- SSM, Secrets Manager, Logs ----------------------------------------------------------


def create_parameter(
    context: CreateContext, resource: Resource, props: Mapping[str, Any]
) -> PhysicalResource:
    name = context.physical_name(resource, props.get("Name"))
    parameter_type = props.get("Type", "String")
    value = props["Value"]
    context.clients("ssm").put_parameter(
        Name=name,
        Value=",".join(value) if isinstance(value, list) else str(value),
        Type=parameter_type,
        Description=props.get("Description", ""),
        Overwrite=True,
    )
    attributes = {"Type": parameter_type, "Value": value}
    return _created(resource, name, attributes, props, {"Name", "Type", "Value", "Description"})


_PASSWORD_OPTIONS = (
    "ExcludeCharacters",
    "ExcludeLowercase",
    "ExcludeNumbers",
    "ExcludePunctuation",
    "ExcludeUppercase",
    "IncludeSpace",
    "PasswordLength",
    "RequireEachIncludedType",
)


def create_secret(
    context: CreateContext, resource: Resource, props: Mapping[str, Any]
) -> PhysicalResource:
    name = context.physical_name(resource, props.get("Name"))
    secrets = context.clients("secretsmanager")
    secret_string = props.get("SecretString")
    if secret_string is None:
        secret_string = _generated_secret(secrets, props.get("GenerateSecretString") or {})
    arn = secrets.create_secret(
        Name=name, SecretString=str(secret_string), Description=props.get("Description", "")
    )["ARN"]
    return _created(
        resource,
        arn,
        {"Id": arn},
        props,
        {"Name", "SecretString", "GenerateSecretString", "Description"},
    )


def _generated_secret(secrets: Any, options: Mapping[str, Any]) -> str:
    """GenerateSecretString: a random password, alone or put in SecretStringTemplate."""
    # GetRandomPassword takes the same option names as GenerateSecretString.
    password = str(
        secrets.get_random_password(
            **{key: options[key] for key in _PASSWORD_OPTIONS if key in options}
        )["RandomPassword"]
    )
    template_text = options.get("SecretStringTemplate")
    if template_text is None:
        return password
    key = options.get("GenerateStringKey")
    if not key:
        raise TemplateError("GenerateSecretString: SecretStringTemplate needs GenerateStringKey")
    document = json.loads(template_text)
    document[key] = password
    return json.dumps(document)


def create_log_group(
    context: CreateContext, resource: Resource, props: Mapping[str, Any]
) -> PhysicalResource:
    name = context.physical_name(resource, props.get("LogGroupName"), max_length=512)
    logs = context.clients("logs")
    logs.create_log_group(logGroupName=name)
    if "RetentionInDays" in props:
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
    arn = context.arn("logs", f"log-group:{name}:*")
    return _created(resource, name, {"Arn": arn}, props, {"LogGroupName", "RetentionInDays"})


def create_email_identity(
    context: CreateContext, resource: Resource, props: Mapping[str, Any]
) -> PhysicalResource:
    # moto then lets the handlers send from it: SES refuses unverified senders, as in AWS.
    identity = str(props["EmailIdentity"])
    context.clients("sesv2").create_email_identity(EmailIdentity=identity)
    return _created(resource, identity, {}, props, {"EmailIdentity"})


# --- KMS and CloudWatch ------------------------------------------------------------------


_KEY_HANDLED = {"Description", "KeyPolicy", "KeyUsage", "KeySpec", "EnableKeyRotation", "Enabled"}


def create_key(
    context: CreateContext, resource: Resource, props: Mapping[str, Any]
) -> PhysicalResource:
    kms = context.clients("kms")
    request: dict[str, Any] = {
        "Description": str(props.get("Description", "")),
        "KeyUsage": str(props.get("KeyUsage", "ENCRYPT_DECRYPT")),
        "KeySpec": str(props.get("KeySpec", "SYMMETRIC_DEFAULT")),
    }
    if "KeyPolicy" in props:
        request["Policy"] = _attribute_text(props["KeyPolicy"])
    metadata = kms.create_key(**request)["KeyMetadata"]
    key_id = metadata["KeyId"]
    if _attribute_text(props.get("EnableKeyRotation", False)) == "true":
        kms.enable_key_rotation(KeyId=key_id)
    if _attribute_text(props.get("Enabled", True)) == "false":
        kms.disable_key(KeyId=key_id)
    attributes = {"Arn": metadata["Arn"], "KeyId": key_id}
    return _created(resource, key_id, attributes, props, _KEY_HANDLED)


# CloudFormation's AWS::CloudWatch::Alarm properties are PutMetricAlarm's parameters.
_ALARM_TEXT = (
    "AlarmDescription",
    "ComparisonOperator",
    "EvaluateLowSampleCountPercentile",
    "ExtendedStatistic",
    "MetricName",
    "Namespace",
    "Statistic",
    "ThresholdMetricId",
    "TreatMissingData",
    "Unit",
)
_ALARM_INTEGERS = ("DatapointsToAlarm", "EvaluationPeriods", "Period")
_ALARM_LISTS = ("AlarmActions", "Dimensions", "InsufficientDataActions", "Metrics", "OKActions")


def create_alarm(
    context: CreateContext, resource: Resource, props: Mapping[str, Any]
) -> PhysicalResource:
    name = context.physical_name(resource, props.get("AlarmName"))
    request: dict[str, Any] = {"AlarmName": name}
    request.update({key: str(props[key]) for key in _ALARM_TEXT if key in props})
    request.update({key: int(props[key]) for key in _ALARM_INTEGERS if key in props})
    request.update({key: list(props[key]) for key in _ALARM_LISTS if key in props})
    if "Threshold" in props:
        request["Threshold"] = float(props["Threshold"])
    if "ActionsEnabled" in props:
        request["ActionsEnabled"] = _attribute_text(props["ActionsEnabled"]) == "true"
    context.clients("cloudwatch").put_metric_alarm(**request)
    attributes = {"Arn": context.arn("cloudwatch", f"alarm:{name}")}
    handled = {"AlarmName", "Threshold", "ActionsEnabled"}
    handled.update(_ALARM_TEXT, _ALARM_INTEGERS, _ALARM_LISTS)
    return _created(resource, name, attributes, props, handled)


CREATORS: dict[str, Creator] = {
    "AWS::DynamoDB::Table": create_table,
    "AWS::SQS::Queue": create_queue,
    "AWS::SNS::Topic": create_topic,
    "AWS::SNS::Subscription": create_subscription,
    "AWS::S3::Bucket": create_bucket,
    "AWS::SSM::Parameter": create_parameter,
    "AWS::SecretsManager::Secret": create_secret,
    "AWS::Logs::LogGroup": create_log_group,
    "AWS::SES::EmailIdentity": create_email_identity,
    "AWS::KMS::Key": create_key,
    "AWS::CloudWatch::Alarm": create_alarm,
}

# Not created in moto, which enforces no IAM: roles and policies are enforced per function by
# entraide_local.iam instead; resource policies only grant access.
IGNORED_TYPES = frozenset(
    {
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::S3::BucketPolicy",
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::Lambda::Permission",
    }
)
