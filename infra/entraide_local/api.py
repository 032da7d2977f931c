"""Serve the template's `Api` routes over HTTP like API Gateway REST with Lambda proxy.

Each request becomes the proxy event (payload 1.0) that API Gateway sends to Lambda, and the
handler's `{statusCode, headers, multiValueHeaders, body, isBase64Encoded}` becomes the HTTP
response. As API Gateway REST does: an unknown path or method is a
MISSING_AUTHENTICATION_TOKEN, a handler exception or a malformed response an integration
failure (502), a throttled function a 500, a body over 10 MB a REQUEST_TOO_LARGE; each is
answered with the template's gateway response (:mod:`.gateway`), AWS's own JSON by default.
Paths under `/_local/` go to the local stack's control API instead.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from .invoke import Invoker
from .provision import Deployment
from .template import ApiEvent

log = logging.getLogger("entraide_local")

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
CONTROL_PREFIX = "/_local/"
_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/x-www-form-urlencoded",
    "+json",
    "+xml",
)


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # path and query string as received
    headers: list[tuple[str, str]]
    body: bytes
    client_ip: str
    host: str

    @property
    def path(self) -> str:
        return urlsplit(self.target).path or "/"

    @property
    def query(self) -> str:
        return urlsplit(self.target).query

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return values[-1] if values else None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def json_response(
    status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()
) -> HttpResponse:
    body = json.dumps(payload).encode()
    return HttpResponse(status, [("Content-Type", "application/json"), *headers], body)


# --- Routes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    function: str  # logical id of the function
    method: str  # "ANY" or an HTTP method
    resource: str  # path template, "/offers/{id}" or "/files/{proxy+}"
    api_id: str
    stage: str

    @cached_property
    def _pattern(self) -> tuple[re.Pattern[str], list[str]]:
        parts, names = [], []
        for segment in self.resource.strip("/").split("/"):
            parameter = re.fullmatch(r"\{([^}]+?)(\+?)\}", segment)
            if parameter is None:
                parts.append(re.escape(segment))
                continue
            names.append(parameter.group(1))
            parts.append("(.+)" if parameter.group(2) else "([^/]+)")
        return re.compile("/" + "/".join(parts)), names

    def match(self, path: str) -> dict[str, str] | None:
        """Path parameters if `path` fits the resource, else None.

        Left percent-encoded, as REST APIs deliver them (HTTP APIs decode; REST does not).
        """
        pattern, names = self._pattern
        found = pattern.fullmatch(path)
        if found is None:
            return None
        return dict(zip(names, found.groups(), strict=True))

    @property
    def specificity(self) -> tuple[list[int], bool]:
        """Sort key: literal segments before `{param}` before `{greedy+}`, methods before ANY."""
        ranks = [
            2 if segment.endswith("+}") else 1 if segment.startswith("{") else 0
            for segment in self.resource.strip("/").split("/")
        ]
        return ranks, self.method == "ANY"

    @property
    def resource_id(self) -> str:
        return uuid.uuid5(uuid.NAMESPACE_URL, self.api_id + self.resource).hex[:6]


class RouteTable:
    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = sorted(routes, key=lambda route: route.specificity)

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route API Gateway would pick, with its path parameters."""
        normalised = "/" + path.strip("/")  # API Gateway ignores a trailing slash
        for route in self.routes:
            if route.method in (method, "ANY"):
                parameters = route.match(normalised)
                if parameters is not None:
                    return route, parameters
        return None


def build_routes(deployment: Deployment) -> RouteTable:
    """Every Api event of every function of the deployment."""
    routes = []
    for function in deployment.functions.values():
        for event in function.spec.events_of(ApiEvent):
            api_id, stage = deployment.api_stage(event)
            routes.append(Route(function.logical_id, event.method, event.path, api_id, stage))
    return RouteTable(routes)


# --- Proxy event and response ------------------------------------------------------------


def proxy_event(
    route: Route,
    path_parameters: Mapping[str, str],
    request: HttpRequest,
    *,
    account_id: str,
    now: datetime,
) -> dict[str, Any]:
    """The event API Gateway REST sends to a Lambda proxy integration (payload 1.0)."""
    headers = _forwarded_headers(request)
    multi_headers: dict[str, list[str]] = {}
    for key, value in headers:
        multi_headers.setdefault(key, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for key, value in parse_qsl(request.query, keep_blank_values=True):
        multi_query.setdefault(key, []).append(value)
    body, is_base64 = _event_body(request)
    request_id = str(uuid.uuid4())
    return {
        "resource": route.resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": {key: values[-1] for key, values in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": account_id,
            "apiId": route.api_id,
            "domainName": request.host,
            "domainPrefix": request.host.split(".")[0].split(":")[0],
            "extendedRequestId": base64.b64encode(uuid.uuid4().bytes[:10]).decode(),
            "httpMethod": request.method,
            "identity": _identity(request),
            "path": f"/{route.stage}{request.path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "resourceId": route.resource_id,
            "resourcePath": route.resource,
            "stage": route.stage,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _forwarded_headers(request: HttpRequest) -> list[tuple[str, str]]:
    # API Gateway adds these; handlers use X-Forwarded-For for the client's address.
    added = {
        "X-Forwarded-For": request.client_ip,
        "X-Forwarded-Proto": "http",
        "X-Forwarded-Port": request.host.rsplit(":", 1)[-1] if ":" in request.host else "80",
    }
    present = {key.lower() for key, _ in request.headers}
    return request.headers + [(k, v) for k, v in added.items() if k.lower() not in present]


# Identity fields API Gateway sends as null for an unauthenticated request.
_UNKNOWN_IDENTITY = (
    "accessKey",
    "accountId",
    "caller",
    "cognitoAuthenticationProvider",
    "cognitoAuthenticationType",
    "cognitoIdentityId",
    "cognitoIdentityPoolId",
    "principalOrgId",
    "user",
    "userArn",
)


def _identity(request: HttpRequest) -> dict[str, Any]:
    identity: dict[str, Any] = dict.fromkeys(_UNKNOWN_IDENTITY)
    identity.update(sourceIp=request.client_ip, userAgent=request.header("User-Agent"))
    return identity


def _event_body(request: HttpRequest) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    if not content_type or any(kind in content_type for kind in _TEXT_TYPES):
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode("ascii"), True


class MalformedProxyResponse(ValueError):
    """The handler returned something API Gateway would refuse (it answers 502)."""


def http_response(result: Any) -> HttpResponse:
    """The HTTP response API Gateway makes of a Lambda proxy result."""
    if not isinstance(result, dict):
        raise MalformedProxyResponse(f"expected a dict, got {type(result).__name__}")
    try:
        status = int(result["statusCode"])
    except (KeyError, TypeError, ValueError):
        raise MalformedProxyResponse(f"statusCode {result.get('statusCode')!r}") from None
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedProxyResponse(f"body must be a string, got {type(body).__name__}")
    payload = (
        base64.b64decode(body or "")
        if result.get("isBase64Encoded")
        else (body or "").encode("utf-8")
    )
    headers = _merged_headers(result.get("headers") or {}, result.get("multiValueHeaders") or {})
    if not any(key.lower() == "content-type" for key, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(status, headers, payload)


def _merged_headers(
    single: Mapping[str, Any], multi: Mapping[str, list[Any]]
) -> list[tuple[str, str]]:
    # API Gateway merges both; a pair present in both is sent once.
    pairs = [(key, str(value)) for key, values in multi.items() for value in values]
    pairs += [(key, str(value)) for key, value in single.items() if (key, str(value)) not in pairs]
    return pairs


# --- HTTP server ---------------------------------------------------------------------------


ControlHandler = Callable[[HttpRequest], HttpResponse]


class HttpApplication(Protocol):
    """What an `ApiServer` serves: one response per request."""

    def handle(self, request: HttpRequest) -> HttpResponse: ...


class GatewayAnswers(Protocol):
    """API Gateway's own answer to an error of a type (see :mod:`.gateway`)."""

    def answer(self, response_type: str) -> HttpResponse: ...


class ApiApplication:
    """Turns HTTP requests into invocations of the routed functions."""

    def __init__(
        self,
        routes: RouteTable,
        invoker: Invoker,
        *,
        account_id: str,
        gateway: GatewayAnswers,
        control: ControlHandler | None = None,
    ) -> None:
        self.routes = routes
        self.invoker = invoker
        self.account_id = account_id
        self.control = control
        self.gateway = gateway

    def _gateway_answer(self, response_type: str, request_id: str | None = None) -> HttpResponse:
        answer = self.gateway.answer(response_type)
        if request_id is None:
            return answer
        return HttpResponse(
            answer.status, [*answer.headers, ("x-amzn-RequestId", request_id)], answer.body
        )

    def too_large(self) -> HttpResponse:
        return self._gateway_answer("REQUEST_TOO_LARGE")

    def handle(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(CONTROL_PREFIX) and self.control is not None:
            return self.control(request)
        found = self.routes.find(request.method, request.path)
        if found is None:
            return self._gateway_answer("MISSING_AUTHENTICATION_TOKEN")
        route, parameters = found
        event = proxy_event(
            route, parameters, request, account_id=self.account_id, now=datetime.now(UTC)
        )
        trigger = f"{request.method} {request.path}"
        # API Gateway invokes synchronously: beyond the function's concurrency it is throttled,
        # and a Lambda throttle (429) reaches the client as 500 "Internal server error"
        # (AWS knowledge center, "api-gateway-internal-server-error": throttling issues).
        invocation = self.invoker.invoke(route.function, event, trigger=trigger, queued=False)
        request_id = event["requestContext"]["requestId"]
        if invocation.throttled:
            return self._gateway_answer("DEFAULT_5XX", request_id)
        if not invocation.ok:
            return self._gateway_answer("INTEGRATION_FAILURE", request_id)
        try:
            response = http_response(invocation.value)
        except MalformedProxyResponse as problem:
            log.error("%s: malformed Lambda proxy response: %s", route.function, problem)
            return self._gateway_answer("INTEGRATION_FAILURE", request_id)
        headers = [*response.headers, ("x-amzn-RequestId", request_id)]
        return HttpResponse(response.status, headers, response.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    application: HttpApplication

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client that closed its kept-alive connection: nothing to report
        super().handle_error(request, client_address)

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"{host!s}:{port}"


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as browsers and requests.Session expect
    server: _Server

    def _dispatch(self) -> None:
        body = self._read_body()
        if body is None:
            too_large = getattr(self.server.application, "too_large", None)
            answer = (
                too_large() if too_large else json_response(413, {"message": "Request Too Long"})
            )
            self._write(answer, close=True)
            return
        request = HttpRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            client_ip=self.client_address[0],
            host=self.headers.get("Host") or self.server.address,
        )
        try:
            response = self.server.application.handle(request)
        except Exception:  # a bug of the local stack itself: say so, keep serving
            log.exception("local API: cannot handle %s %s", self.command, self.path)
            response = json_response(500, {"message": "local stack error, see its console"})
        self._write(response)

    def _read_body(self) -> bytes | None:
        """The request body, or None when it exceeds API Gateway's limit."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._discard(length)
            return None
        return self.rfile.read(length)

    def _discard(self, length: int) -> None:
        # Read what the client sends before answering 413: closing on a client still sending
        # gives it a connection reset instead of the response. Huge bodies are not worth it.
        remaining = length if length <= 4 * MAX_BODY_BYTES else 0
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)

    def _read_chunked(self) -> bytes | None:
        chunks, total = [], 0
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            total += size
            if total > MAX_BODY_BYTES:
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF after each chunk
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(chunks)

    def _write(self, response: HttpResponse, *, close: bool = False) -> None:
        self.send_response(response.status)
        for key, value in response.headers:
            if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, QUERY...) has no route: the gateway's "no route" answer,
        # not http.server's 501.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the invoker prints one line per invocation instead


class ApiServer:
    """A ThreadingHTTPServer on 127.0.0.1 in a background thread."""

    def __init__(self, application: HttpApplication, *, port: int = 0, name: str = "local-api"):
        self._server = _Server(("127.0.0.1", port), _RequestHandler)
        self._server.application = application
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name=name
        )

    @property
    def url(self) -> str:
        return f"http://{self._server.address}/"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
