"""Test API handler: echoes the proxy event, writes items, fails on demand."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

# Read at import time: the local stack must set the function's environment during the import.
TABLE_AT_IMPORT = os.environ.get("TABLE_NAME")
_dynamodb = boto3.client("dynamodb")

_ECHOED_VARIABLES = (
    "TABLE_NAME",
    "STAGE",
    "ECHO_NAME",
    "QUEUE_URL",
    "TOPIC_ARN",
    "STREAM_ARN",
    "PROD_ONLY",
    "LOG_GROUP",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_DISABLED",
)


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    path = event["path"]
    if path == "/boom":
        raise RuntimeError("boom on purpose")
    if path == "/malformed":
        if (event.get("queryStringParameters") or {}).get("kind") == "set":
            return {"statusCode": 200, "body": "", "tags": {"a"}}  # not JSON
        return "not a proxy response"
    if path.startswith("/files/"):  # binary round trip
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/octet-stream"},
            "body": event["body"],
            "isBase64Encoded": event["isBase64Encoded"],
        }
    if event["httpMethod"] == "POST" and path == "/items":
        item = json.loads(event["body"])
        _dynamodb.put_item(
            TableName=os.environ["TABLE_NAME"],
            Item={key: {"S": str(value)} for key, value in item.items()},
        )
        return {"statusCode": 201, "body": json.dumps({"created": item["pk"]})}
    status = int((event.get("queryStringParameters") or {}).get("status", 200))
    body = {
        "event": event,
        "environment": {name: os.environ.get(name) for name in _ECHOED_VARIABLES},
        "table_at_import": TABLE_AT_IMPORT,
        "context": {
            "function_name": context.function_name,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "invoked_function_arn": context.invoked_function_arn,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
    }
    return {
        "statusCode": status,
        "headers": {"X-Echo": "yes"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps(body),
    }
