"""Recorded and made answers of a network, as ``responses`` serves them.

A cassette is a vcrpy recording (Mastodon.py's test suite); a made answer
(``HANDMADE_…json``) is ``{"status", "headers", "body"}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


def cassette_answer(path: Path, index: int = 0) -> dict[str, Any]:
    """The response of a cassette's interaction ``index``, as ``responses.add`` takes it."""
    recorded = yaml.safe_load(path.read_text(encoding="utf-8"))
    response = recorded["interactions"][index]["response"]
    headers = {key: ", ".join(values) for key, values in response["headers"].items()}
    headers.pop("Transfer-Encoding", None)
    return {
        "status": response["status"]["code"],
        "body": response["body"]["string"],
        "headers": headers,
        "content_type": headers.pop("Content-Type"),
    }


def handmade_answer(path: Path) -> dict[str, Any]:
    """A made answer, as ``responses.add`` takes it."""
    answer = json.loads(path.read_text(encoding="utf-8"))
    headers = dict(answer["headers"])
    body = answer["body"]
    return {
        "status": answer["status"],
        "body": body if isinstance(body, str) else json.dumps(body),
        "headers": headers,
        "content_type": headers.pop("Content-Type"),
    }
