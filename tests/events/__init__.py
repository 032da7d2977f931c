"""Real event samples and a loader that changes only what a test names."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).parent


@cache
def _read(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text("utf-8"))
    return document


def load_event(name: str, **changes: Any) -> dict[str, Any]:
    """A fresh copy of ``tests/events/<name>.json`` with top-level keys replaced."""
    event = copy.deepcopy(_read(name))
    event.update(changes)
    return event


def api_request(
    method: str,
    path: str,
    *,
    body: str | None = None,
    content_type: str | None = "application/json",
    accept: str = "application/json",
) -> dict[str, Any]:
    """An API Gateway REST proxy event for ``method path`` built on the recorded sample."""
    event = load_event("apigw_rest_post_offers", httpMethod=method, path=path, resource=path)
    headers = {k: v for k, v in event["headers"].items() if k not in ("Content-Type", "Accept")}
    headers["Accept"] = accept
    if content_type is not None:
        headers["Content-Type"] = content_type
    event["headers"] = headers
    event["multiValueHeaders"] = {key: [value] for key, value in headers.items()}
    event["requestContext"].update(httpMethod=method, resourcePath=path, path=f"/prod{path}")
    event["body"] = body
    return event
