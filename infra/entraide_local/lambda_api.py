"""Lambda's Invoke API, served by the local stack, so that functions can invoke each other.

Every function sees the server's URL in `AWS_ENDPOINT_URL_LAMBDA` (botocore's
service-specific endpoint variable), so `boto3.client("lambda").invoke(...)` in a handler
reaches it, while every other service still goes to moto through `AWS_ENDPOINT_URL`.

`POST /2015-03-31/functions/{FunctionName}/invocations` as the Invoke API reference
describes it (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html):

- `X-Amz-Invocation-Type: RequestResponse` (default): the function runs now; 200 with its
  result, or with its error document and `X-Amz-Function-Error: Unhandled`; beyond its
  concurrency 429 `TooManyRequestsException`, Reason
  `ReservedFunctionConcurrentInvocationLimitExceeded` (or `ConcurrentInvocationLimitExceeded`
  without a reserved concurrency);
- `Event`: 202 with an empty body, then Lambda's asynchronous handling (`asynchronous.py`);
- `DryRun`: 204;
- `FunctionName` is a name, an ARN or a partial ARN, with an optional `$LATEST` qualifier;
  an unknown function is 404 `ResourceNotFoundException`; a payload that is not JSON is 400
  `InvalidRequestContentException`; over 6 MB (synchronous) or 1 MB (asynchronous) 413
  `RequestTooLargeException`.

`GET` and `PUT /2015-03-31/event-source-mappings/{UUID}` (GetEventSourceMapping,
UpdateEventSourceMapping: https://docs.aws.amazon.com/lambda/latest/api/
API_UpdateEventSourceMapping.html) read and flip an SQS mapping's `Enabled` (`mappings.py`):
the update answers 202 with the mapping in state `Enabling` or `Disabling` (one of the
states the reference lists; 202 and 200 are the operations' codes in Lambda's service model,
as botocore ships it), a later read says `Enabled` or `Disabled`; an unknown UUID is
404 `ResourceNotFoundException`; any other field than `Enabled` is 400
`InvalidParameterValueException` (not emulated). Who may call is checked in the caller's
process, by the IAM evaluator, as for Invoke.

The request's signature is not checked. `X-Amz-Log-Type: Tail` is not supported (no
`X-Amz-Log-Result`): the function's output is on the stack's console.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from .api import HttpRequest, HttpResponse, json_response
from .asynchronous import AsyncInvocations
from .invoke import Invoker
from .mappings import EventSourceMappings
from .provision import DeployedFunction, Deployment

MAX_SYNCHRONOUS_PAYLOAD = 6 * 1024 * 1024
MAX_ASYNCHRONOUS_PAYLOAD = 1024 * 1024
_INVOKE_PATH = re.compile(r"/2015-03-31/functions/(?P<name>[^/]+)/invocations/?")
_MAPPING_PATH = re.compile(r"/2015-03-31/event-source-mappings/(?P<uuid>[^/]+)/?")


def _error(status: int, error_type: str, message: str, **extra: Any) -> HttpResponse:
    body = {"Type": "User", "message": message, **extra}
    return json_response(status, body, [("X-Amzn-ErrorType", error_type)])


class LambdaApiApplication:
    """Answers the Invoke API for the functions of a deployment."""

    def __init__(
        self,
        deployment: Deployment,
        invoker: Invoker,
        asynchronous: AsyncInvocations,
        mappings: EventSourceMappings,
    ) -> None:
        self.deployment = deployment
        self.invoker = invoker
        self.asynchronous = asynchronous
        self.mappings = mappings

    def function(self, name: str) -> DeployedFunction | None:
        """The function a FunctionName designates: name, ARN or partial ARN."""
        parts = name.split(":")
        if "function" in parts:  # arn:aws:lambda:region:account:function:name[:qualifier]
            parts = parts[parts.index("function") + 1 :]
        wanted, qualifier = parts[0], (parts[1] if len(parts) > 1 else "$LATEST")
        if qualifier != "$LATEST":
            return None  # versions and aliases are not emulated
        for function in self.deployment.functions.values():
            if function.name == wanted:
                return function
        return None

    def handle(self, request: HttpRequest) -> HttpResponse:
        mapping_path = _MAPPING_PATH.fullmatch(request.path)
        if mapping_path is not None and request.method in ("GET", "PUT"):
            return self._event_source_mapping(request, unquote(mapping_path.group("uuid")))
        found = _INVOKE_PATH.fullmatch(request.path)
        if request.method != "POST" or found is None:
            return _error(404, "UnknownOperationException", "Unknown operation")
        name = unquote(found.group("name"))
        function = self.function(name)
        if function is None:
            arn = f"arn:aws:lambda:{self.deployment.region}:{self.deployment.account_id}"
            return _error(
                404, "ResourceNotFoundException", f"Function not found: {arn}:function:{name}"
            )
        invocation_type = request.header("X-Amz-Invocation-Type") or "RequestResponse"
        limit = MAX_ASYNCHRONOUS_PAYLOAD if invocation_type == "Event" else MAX_SYNCHRONOUS_PAYLOAD
        if len(request.body) > limit:
            return _error(
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
            )
        try:
            payload = json.loads(request.body) if request.body.strip() else {}
        except ValueError as error:
            return _error(
                400,
                "InvalidRequestContentException",
                f"Could not parse request body into json: {error}",
            )
        if invocation_type == "DryRun":
            return HttpResponse(204)
        if invocation_type == "Event":
            request_id = self.asynchronous.submit(function, payload, trigger="lambda:Invoke Event")
            return HttpResponse(202, [("x-amzn-RequestId", request_id)])
        if invocation_type != "RequestResponse":
            return _error(
                400,
                "InvalidParameterValueException",
                f"Unsupported invocation type {invocation_type}",
            )
        return self._synchronous(function, payload)

    def _synchronous(self, function: DeployedFunction, payload: Any) -> HttpResponse:
        invocation = self.invoker.invoke(
            function.logical_id, payload, trigger="lambda:Invoke RequestResponse", queued=False
        )
        headers = [("x-amzn-RequestId", invocation.request_id)]
        if invocation.throttled:
            reason = (
                "ReservedFunctionConcurrentInvocationLimitExceeded"
                if function.spec.reserved_concurrency is not None
                else "ConcurrentInvocationLimitExceeded"
            )
            return _error(429, "TooManyRequestsException", "Rate Exceeded.", Reason=reason)
        headers.append(("X-Amz-Executed-Version", "$LATEST"))
        error = invocation.lambda_error
        if error is not None:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
            return json_response(200, error.document(invocation.request_id), headers)
        return json_response(200, invocation.value, headers)

    def _event_source_mapping(self, request: HttpRequest, uuid: str) -> HttpResponse:
        update = None
        if request.method == "PUT":
            try:
                update = json.loads(request.body) if request.body.strip() else {}
            except ValueError as error:
                return _error(400, "InvalidRequestContentException", f"Not JSON: {error}")
        answer = self.mappings.answer(uuid, update)
        if answer.error:
            return _error(answer.status, answer.error, answer.message)
        return json_response(answer.status, answer.document)
