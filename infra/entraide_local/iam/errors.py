"""The error a denied call gets, as each AWS service answers it.

The answer is built as the service's HTTP response (status, headers, body in its protocol) and
parsed by botocore's own parser, so that the `ClientError` raised is the one AWS would give:
code, message, HTTP status, request id. Error codes per service, as AWS returns them to a
caller without permission:

- DynamoDB, Secrets Manager, SSM, CloudWatch Logs (JSON): `AccessDeniedException`, HTTP 400.
- Lambda, SES v2, X-Ray (REST-JSON): `AccessDeniedException`, HTTP 403.
- S3 (REST-XML): `AccessDenied`, HTTP 403.
- SNS (query): `AuthorizationError`, HTTP 403
  (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html#API_Publish_Errors).
- SES v1, STS (query): `AccessDenied`, HTTP 403.
- SQS (JSON protocol): `AccessDenied` through the `x-amzn-query-error` header, which "contains
  two pieces of information: the type of error, and whether the error was a producer or
  consumer error" and which botocore reads as the error code, HTTP 403
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html).
- CloudWatch (Smithy RPC v2 CBOR, query-compatible): `AccessDenied`, HTTP 403.
"""

from __future__ import annotations

import json
import struct
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class _ErrorSpec:
    code: str
    status: int
    query_error: str = ""  # the x-amzn-query-error header, for query-compatible services


_SPECS = {
    "dynamodb": _ErrorSpec("com.amazonaws.dynamodb.v20120810#AccessDeniedException", 400),
    "dynamodbstreams": _ErrorSpec("com.amazonaws.dynamodb.v20120810#AccessDeniedException", 400),
    "secretsmanager": _ErrorSpec("AccessDeniedException", 400),
    "ssm": _ErrorSpec("AccessDeniedException", 400),
    "logs": _ErrorSpec("AccessDeniedException", 400),
    "sqs": _ErrorSpec("com.amazon.coral.service#AccessDeniedException", 403, "AccessDenied;Sender"),
    "cloudwatch": _ErrorSpec("com.amazonaws.cloudwatch#AccessDenied", 403, "AccessDenied;Sender"),
    "sns": _ErrorSpec("AuthorizationError", 403),
    "s3": _ErrorSpec("AccessDenied", 403),
}
_BY_PROTOCOL = {
    "json": _ErrorSpec("AccessDeniedException", 400),
    "rest-json": _ErrorSpec("AccessDeniedException", 403),
    "query": _ErrorSpec("AccessDenied", 403),
    "rest-xml": _ErrorSpec("AccessDenied", 403),
    "smithy-rpc-v2-cbor": _ErrorSpec("AccessDeniedException", 403),
}


class ResponseBody:
    """The `raw` of an AWSResponse: botocore reads it through `stream()`."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs: Any) -> list[bytes]:
        return [self._body]


def denial_response(operation_model: Any, message: str, url: str = "") -> tuple[Any, Any]:
    """`(http_response, parsed)` for botocore's `before-call` hook: the call fails as in AWS."""
    from botocore.awsrequest import AWSResponse, HeadersDict
    from botocore.parsers import create_parser

    service_model = operation_model.service_model
    protocol = service_model.protocol
    spec = _SPECS.get(service_model.service_name) or _BY_PROTOCOL.get(protocol)
    if spec is None:
        raise ValueError(f"no error format for protocol {protocol}")
    request_id = str(uuid.uuid4())
    headers = {"x-amzn-requestid": request_id}
    if spec.query_error:
        headers["x-amzn-query-error"] = spec.query_error
    body = _body(protocol, spec, message, request_id, headers)
    header_map = HeadersDict(headers)
    parsed = create_parser(protocol).parse(
        {"status_code": spec.status, "headers": header_map, "body": body},
        operation_model.output_shape,
    )
    # What botocore's endpoint adds to every parsed response.
    parsed.setdefault("ResponseMetadata", {}).update(
        {
            "RequestId": request_id,
            "HTTPStatusCode": spec.status,
            "HTTPHeaders": dict(headers),
            "RetryAttempts": 0,
        }
    )
    return AWSResponse(url, spec.status, header_map, ResponseBody(body)), parsed


def _body(
    protocol: str, spec: _ErrorSpec, message: str, request_id: str, headers: dict[str, str]
) -> bytes:
    code = spec.code
    if protocol == "json":
        headers["content-type"] = "application/x-amz-json-1.0"
        return json.dumps({"__type": code, "message": message}).encode()
    if protocol == "rest-json":
        headers["content-type"] = "application/json"
        headers["x-amzn-errortype"] = code
        return json.dumps({"message": message, "Message": message}).encode()
    if protocol == "smithy-rpc-v2-cbor":
        headers["content-type"] = "application/cbor"
        headers["smithy-protocol"] = "rpc-v2-cbor"
        return _cbor_text_map({"__type": code, "message": message})
    if protocol == "query":
        headers["content-type"] = "text/xml"
        return (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{_xml(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
    if protocol == "rest-xml":
        headers["content-type"] = "application/xml"
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{_xml(message)}</Message>"
            f"<RequestId>{request_id}</RequestId><HostId>local</HostId></Error>"
        ).encode()
    raise ValueError(f"no error format for protocol {protocol}")


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cbor_text_map(items: Mapping[str, str]) -> bytes:
    """A CBOR map of text strings (RFC 8949: major types 5 and 3)."""

    def head(major: int, length: int) -> bytes:
        if length < 24:
            return bytes([major << 5 | length])
        for info, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
            if length < 1 << (8 * struct.calcsize(fmt)):
                return bytes([major << 5 | info]) + struct.pack(fmt, length)
        raise ValueError("too long")

    def text(value: str) -> bytes:
        encoded = value.encode()
        return head(3, len(encoded)) + encoded

    return head(5, len(items)) + b"".join(text(k) + text(v) for k, v in items.items())
