"""Reading request bodies: JSON or an urlencoded form, refused clearly otherwise."""

from __future__ import annotations

import base64
import json

import pytest

from entraide.kernel.errors import MalformedBody, PayloadTooLarge, UnsupportedContentType
from entraide.web.requests import BodyFormat, read_body


def test_json_body_is_read_as_an_object() -> None:
    body = read_body(
        json.dumps({"title": "x"}),
        content_type="application/json; charset=utf-8",
        is_base64=False,
        max_bytes=100,
    )
    assert (body.format, body.fields) == (BodyFormat.JSON, {"title": "x"})


def test_form_body_is_read_with_utf8_values() -> None:
    body = read_body(
        "title=Caf%C3%A9+chaud&consent=on",
        content_type="application/x-www-form-urlencoded",
        is_base64=False,
        max_bytes=100,
    )
    assert body.format is BodyFormat.FORM
    assert body.fields == {"title": "Café chaud", "consent": "on"}


def test_base64_body_is_decoded() -> None:
    encoded = base64.b64encode(b"title=abc").decode()
    body = read_body(
        encoded, content_type="application/x-www-form-urlencoded", is_base64=True, max_bytes=100
    )
    assert body.fields == {"title": "abc"}


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        ("{not json", "application/json", MalformedBody),
        ("[1, 2]", "application/json", MalformedBody),
        ("title=x", "text/plain", UnsupportedContentType),
        ("title=x", None, UnsupportedContentType),
        ("x" * 101, "application/json", PayloadTooLarge),
    ],
)
def test_unreadable_bodies_are_refused(
    body: str, content_type: str | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        read_body(body, content_type=content_type, is_base64=False, max_bytes=100)


def test_size_limit_counts_bytes_not_characters() -> None:
    with pytest.raises(PayloadTooLarge):
        read_body(
            '"' + "é" * 30 + '"', content_type="application/json", is_base64=False, max_bytes=60
        )
