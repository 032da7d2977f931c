"""Reading request bodies: JSON or an urlencoded form, refused clearly otherwise."""

from __future__ import annotations

import base64
import json

import pytest

from entraide.kernel.errors import MalformedBody, PayloadTooLarge, UnsupportedContentType
from entraide.web.requests import BodyFormat, read_body, read_form


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


@pytest.mark.parametrize(
    "body",
    [
        "[" * 20_000 + "]" * 20_000,  # nested 20,000 deep: RecursionError in json
        '{"title": ' + "9" * 5_000 + "}",  # 5,000 digits: past int's digit limit
    ],
)
def test_json_that_python_cannot_read_is_a_400_not_a_crash(body: str) -> None:
    # Given a JSON body that json.loads refuses with something other than JSONDecodeError
    # When it is read / Then it is refused as malformed (a 400)
    with pytest.raises(MalformedBody):
        read_body(body, content_type="application/json", is_base64=False, max_bytes=1 << 20)


def test_a_form_of_invalid_utf8_is_a_400() -> None:
    # Given a form whose bytes are not UTF-8 (API Gateway hands them over base64-encoded)
    encoded = base64.b64encode(b"token=\xff\xfe&decision=approve").decode()
    # When it is read / Then it is refused as malformed
    with pytest.raises(MalformedBody):
        read_form(
            encoded,
            content_type="application/x-www-form-urlencoded",
            is_base64=True,
            max_bytes=100,
        )


def test_a_form_is_read_as_text_fields() -> None:
    fields = read_form(
        "token=a.b&reason=Caf%C3%A9",
        content_type="application/x-www-form-urlencoded",
        is_base64=False,
        max_bytes=100,
    )
    assert fields == {"token": "a.b", "reason": "Café"}


def test_a_page_form_posted_as_json_is_a_415() -> None:
    with pytest.raises(UnsupportedContentType):
        read_form('{"token": "x"}', content_type="application/json", is_base64=False, max_bytes=99)
