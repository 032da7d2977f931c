"""Lambda's GetEventSourceMapping and UpdateEventSourceMapping answered in this process.

The fault run and the cost bench run the functions in process against moto, not through the
local stack's Lambda API (`lambda_api.py`). moto keeps event source mappings only for the
functions it was given code for, under random UUIDs, while `!Ref <Function><Event>` gives a
function the UUID of the deployment's own mapping (`provision.mapping_uuid`). So the two
calls are answered here, from the same registry the local stack serves (`mappings.py`), with
the same documents and codes: 200 for a read, 202 and `Enabling`/`Disabling` for an update,
404 `ResourceNotFoundException` for a UUID that is not one of the deployment's.

The answer is given at botocore's `before-call`, after the IAM hook's (registered first, on
the same event): a call the function's policy does not allow is refused as in AWS and never
reaches the registry. Only calls made while a registry is served (`serving`) and addressed
to AWS's own endpoint (what moto intercepts) are answered: a client of the local stack's
Lambda API keeps reaching that API.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from .botocore_events import ProcessHook
from .iam.errors import ResponseBody
from .mappings import EventSourceMappings

_KEY = "entraide_local.mappings"
_served: EventSourceMappings | None = None


@contextmanager
def serving(mappings: EventSourceMappings) -> Iterator[EventSourceMappings]:
    """Answer the mapping calls of this process from ``mappings`` meanwhile."""
    global _served
    from .iam.hook import register

    register()  # IAM's handler first, so that it refuses before this one answers
    _HOOK.install()
    _served = mappings
    try:
        yield mappings
    finally:
        _served = None


def _on_call(model: Any, params: Any, **kwargs: Any) -> Any:
    mappings = _served
    operation = model.name
    if mappings is None or model.service_model.service_name != "lambda":
        return None
    if operation not in ("GetEventSourceMapping", "UpdateEventSourceMapping"):
        return None
    if not urlsplit(str(params.get("url", ""))).netloc.endswith(".amazonaws.com"):
        return None  # a local stack's Lambda API, which answers for itself
    # before-call sees the serialized request: the UUID is the last segment of its path
    mapping_id = str(params.get("url_path", "")).rstrip("/").rsplit("/", 1)[-1]
    update = None
    if operation == "UpdateEventSourceMapping":
        update = json.loads(params.get("body") or b"{}")
    answer = mappings.answer(mapping_id, update)
    if answer.error:
        document = {"Type": "User", "Message": answer.message}
        return _response(model, answer.status, document, answer.error)
    return _response(model, answer.status, answer.document)


def _response(
    model: Any, status: int, document: Mapping[str, Any], error: str = ""
) -> tuple[Any, Any]:
    """``(http_response, parsed)`` as botocore would have them from Lambda (REST-JSON)."""
    from botocore.awsrequest import AWSResponse, HeadersDict
    from botocore.parsers import create_parser

    request_id = str(uuid.uuid4())
    headers = {"x-amzn-requestid": request_id, "content-type": "application/json"}
    if error:
        headers["x-amzn-errortype"] = error
    body = json.dumps(document).encode()
    header_map = HeadersDict(headers)
    parsed = create_parser("rest-json").parse(
        {"status_code": status, "headers": header_map, "body": body}, model.output_shape
    )
    parsed.setdefault("ResponseMetadata", {}).update(
        {
            "RequestId": request_id,
            "HTTPStatusCode": status,
            "HTTPHeaders": dict(headers),
            "RetryAttempts": 0,
        }
    )
    return AWSResponse("", status, header_map, ResponseBody(body)), parsed


_HOOK = ProcessHook(_KEY, (("before-call", _on_call),))
