"""API Gateway's own answers (gateway responses), read from the template's `GatewayResponses`.

An error API Gateway makes itself (no route, throttled, too large, a broken integration) is
answered with the template's gateway response of that type when there is one; otherwise with
`DEFAULT_4XX` or `DEFAULT_5XX` (their headers and templates, the type's own status code);
otherwise with what AWS sends by default, `{"message": "..."}` (docs.aws.amazon.com/apigateway/
latest/developerguide/supported-gateway-response-types.html and
api-gateway-gatewayResponse-definition.html). The templates are static text: API Gateway runs
no VTL on them, and none of ours uses `$context` variables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .api import HttpResponse
from .provision import Deployment
from .template import SERVERLESS_API, TemplateError

# Response type -> (status code, AWS's default message) for the types the local API makes.
DEFAULTS: Mapping[str, tuple[int, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "THROTTLED": (429, "Too Many Requests"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    # A Lambda proxy integration that failed or answered something API Gateway refuses.
    "INTEGRATION_FAILURE": (502, "Internal server error"),
    # A Lambda integration refused for concurrency reaches the client as 500 (AWS knowledge
    # center, "api-gateway-internal-server-error": throttling issues); no type of its own.
    "DEFAULT_5XX": (500, "Internal server error"),
}


@dataclass(frozen=True)
class GatewayResponses:
    """The `GatewayResponses` of an `AWS::Serverless::Api`, resolved (SAM's shape)."""

    configured: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def answer(self, response_type: str) -> HttpResponse:
        """What API Gateway sends for an error of ``response_type`` (a key of DEFAULTS)."""
        default_status, message = DEFAULTS[response_type]
        fallback = "DEFAULT_4XX" if default_status < 500 else "DEFAULT_5XX"
        spec = self.configured.get(response_type) or self.configured.get(fallback) or {}
        status = int(spec.get("StatusCode") or default_status)
        headers = [
            (name, _static(value, f"{response_type}.ResponseParameters.Headers.{name}"))
            for name, value in spec.get("ResponseParameters", {}).get("Headers", {}).items()
        ]
        templates: Mapping[str, str] = spec.get("ResponseTemplates") or {}
        content_type = "application/json" if "application/json" in templates else None
        content_type = content_type or next(iter(templates), "application/json")
        body = templates.get(content_type, json.dumps({"message": message}))
        return HttpResponse(status, [("Content-Type", content_type), *headers], body.encode())


def _static(value: Any, where: str) -> str:
    """A static header value: SAM wants it quoted ("'nosniff'")."""
    text = str(value)
    if len(text) < 2 or text[0] != "'" or text[-1] != "'":
        raise TemplateError(
            f"GatewayResponses.{where}: only static values ('text') are emulated, got {text!r}"
        )
    return text[1:-1]


def gateway_responses(deployment: Deployment) -> GatewayResponses:
    """The gateway responses of the template's API (one API: the local server serves one)."""
    configured: list[Mapping[str, Any]] = []
    for resource in deployment.template.resources.values():
        if resource.type == SERVERLESS_API and "GatewayResponses" in resource.properties:
            where = f"Resources.{resource.logical_id}.Properties.GatewayResponses"
            configured.append(deployment.resolve(resource.properties["GatewayResponses"], where))
    if len(configured) > 1:
        raise TemplateError("GatewayResponses on several APIs: the local stack serves one")
    return GatewayResponses(configured[0] if configured else {})
