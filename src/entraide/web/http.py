"""HTTP side shared by the API functions: one mapping from domain errors to responses.

JSON callers get ``{"errors": [{"field": …, "message": …}]}``; people using the form
get a French page instead. The domain never sees HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from entraide.kernel.errors import (
    ActivationAlreadyClosed,
    ActivationClosed,
    ActivationNotFound,
    ConcurrentChange,
    ContactClosed,
    ContactTooSoon,
    DomainError,
    ExpiredLink,
    FieldError,
    InvalidInput,
    InvalidLink,
    MalformedBody,
    PayloadTooLarge,
    PlatformAsleep,
    PostNotFound,
    RequestKeyReused,
    SpamSuspected,
    UnknownDecision,
    UnsupportedContentType,
    WatchItemDecided,
    WatchItemGone,
    WrongPostStatus,
)

STATUS_BY_ERROR: dict[type[DomainError], HTTPStatus] = {
    InvalidInput: HTTPStatus.BAD_REQUEST,
    MalformedBody: HTTPStatus.BAD_REQUEST,
    SpamSuspected: HTTPStatus.BAD_REQUEST,
    PayloadTooLarge: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    UnsupportedContentType: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    PlatformAsleep: HTTPStatus.CONFLICT,
    ActivationNotFound: HTTPStatus.NOT_FOUND,
    ActivationAlreadyClosed: HTTPStatus.CONFLICT,
    ActivationClosed: HTTPStatus.CONFLICT,
    RequestKeyReused: HTTPStatus.UNPROCESSABLE_ENTITY,
    ConcurrentChange: HTTPStatus.CONFLICT,
    PostNotFound: HTTPStatus.NOT_FOUND,
    WrongPostStatus: HTTPStatus.CONFLICT,
    InvalidLink: HTTPStatus.FORBIDDEN,
    ExpiredLink: HTTPStatus.GONE,
    UnknownDecision: HTTPStatus.BAD_REQUEST,
    ContactClosed: HTTPStatus.GONE,
    ContactTooSoon: HTTPStatus.TOO_MANY_REQUESTS,
    WatchItemGone: HTTPStatus.GONE,
    WatchItemDecided: HTTPStatus.CONFLICT,
}

# Field that a non-field error is about, for JSON callers.
FIELD_BY_ERROR: dict[type[DomainError], str] = {PlatformAsleep: "postcode"}

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def status_of(error: DomainError) -> HTTPStatus:
    for error_type in type(error).__mro__:
        if error_type in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[error_type]
    return HTTPStatus.BAD_REQUEST


def errors_of(error: DomainError) -> Sequence[FieldError]:
    if isinstance(error, InvalidInput):
        return error.errors
    return [FieldError(FIELD_BY_ERROR.get(type(error), "body"), error.message)]


def json_response(status: int, payload: Any) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(payload, ensure_ascii=False),
        # nosniff: a browser never reads a JSON answer as HTML or script, whatever it holds
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


def html_response(status: int, page: str) -> Response[str]:
    return Response(
        status_code=status,
        content_type="text/html; charset=utf-8",
        body=page,
        headers=dict(SECURITY_HEADERS),
    )


def json_error_response(error: DomainError) -> Response[str]:
    errors = [{"field": item.field, "message": item.message} for item in errors_of(error)]
    return json_response(status_of(error), {"errors": errors})


def wants_html(headers: dict[str, str] | Any) -> bool:
    """A person's browser: a form post, or an Accept header that prefers HTML."""
    content_type = (headers.get("content-type") or "").lower()
    if content_type.startswith("application/x-www-form-urlencoded"):
        return True
    accept = (headers.get("accept") or "").lower()
    return "text/html" in accept and "application/json" not in accept


def public_base_url(configured: str, event: APIGatewayProxyEvent) -> str:
    """Where the public pages live, with a trailing slash: the custom domain if one is set,
    else the URL of the API that received ``event``.

    The template cannot give an API function its own API's URL: the API refers to the
    function (its integration), so the function referring to the API is a circular
    dependency that CloudFormation refuses. The request says where the API is instead.
    """
    if configured:
        return configured.rstrip("/") + "/"
    context = event.request_context
    return f"https://{context.domain_name}/{context.stage}/"


def error_response(
    error: DomainError,
    headers: Any,
    render_page: Callable[[DomainError], str],
) -> Response[str]:
    if wants_html(headers):
        return html_response(status_of(error), render_page(error))
    return json_error_response(error)
