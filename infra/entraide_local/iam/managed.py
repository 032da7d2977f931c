"""The AWS managed policies that the SAM transform attaches to functions' roles.

Their documents, copied from the AWS Managed Policy Reference (default versions):
https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaBasicExecutionRole.html
https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSXrayWriteOnlyAccess.html
https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaDynamoDBExecutionRole.html
https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaSQSQueueExecutionRole.html
They grant logs, X-Ray, and the stream and queue reads that Lambda's pollers make with the
role. Any other managed policy is refused by name until its document is added here.
"""

from __future__ import annotations

from typing import Any

_LOGS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]

MANAGED_POLICIES: dict[str, dict[str, Any]] = {
    "service-role/AWSLambdaBasicExecutionRole": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": _LOGS, "Resource": "*"}],
    },
    "AWSXrayWriteOnlyAccess": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                    "xray:GetSamplingStatisticSummaries",
                ],
                "Resource": ["*"],
            }
        ],
    },
    "service-role/AWSLambdaDynamoDBExecutionRole": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams",
                    *_LOGS,
                ],
                "Resource": "*",
            }
        ],
    },
    "service-role/AWSLambdaSQSQueueExecutionRole": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    *_LOGS,
                ],
                "Resource": "*",
            }
        ],
    },
}


def managed_policy(arn: str) -> dict[str, Any]:
    """The document of an AWS managed policy by ARN (`arn:aws:iam::aws:policy/<path/name>`)."""
    prefix, _, name = arn.partition(":iam::aws:policy/")
    if not prefix.startswith("arn:") or name not in MANAGED_POLICIES:
        known = ", ".join(sorted(MANAGED_POLICIES))
        raise KeyError(
            f"managed policy {arn} is not known to the local IAM (known: {known}); "
            "add its document from the AWS Managed Policy Reference to "
            "entraide_local/iam/managed.py"
        )
    return MANAGED_POLICIES[name]
