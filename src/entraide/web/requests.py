"""Reading a request body: JSON or an urlencoded form, refused clearly when it cannot be one.

Shared by the API functions: ``POST /offers`` (JSON or form), and the forms posted from
the pages (moderation decisions, contact messages), which must be urlencoded.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl

from entraide.kernel.errors import (
    FieldError,
    InvalidInput,
    MalformedBody,
    PayloadTooLarge,
    UnsupportedContentType,
)

#: The hidden field of the form that carries its one-time token.
FORM_TOKEN_FIELD = "form_token"  # noqa: S105 - a field name, not a secret
IDEMPOTENCY_HEADER = "idempotency-key"
_KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no space
_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")


class BodyFormat(StrEnum):
    JSON = "json"
    FORM = "form"


@dataclass(frozen=True, slots=True)
class SubmittedBody:
    format: BodyFormat
    fields: dict[str, Any]

    def form_values(self) -> dict[str, str]:
        """The fields as strings, to fill the form in again after an error."""
        return {key: str(value) for key, value in self.fields.items() if isinstance(value, str)}


def request_key(submitted: SubmittedBody, headers: Any) -> tuple[str | None, str | None]:
    """The key that makes a post request once (``json:<Idempotency-Key>`` for JSON,
    ``form:<token>`` for the form, whose token field is taken out of the fields) and the
    form's token; ``(None, None)`` without one. A malformed key is refused (400)."""
    if submitted.format is BodyFormat.FORM:
        token = str(submitted.fields.pop(FORM_TOKEN_FIELD, "") or "")
        if not token:
            return None, None
        if not _TOKEN_PATTERN.fullmatch(token):
            raise InvalidInput([FieldError("body", "Formulaire invalide : rechargez la page.")])
        return f"form:{token}", token
    key = (headers.get(IDEMPOTENCY_HEADER) or headers.get("Idempotency-Key") or "").strip()
    if not key:
        return None, None
    if not _KEY_PATTERN.fullmatch(key):
        raise InvalidInput(
            [FieldError("Idempotency-Key", "1 à 255 caractères ASCII visibles, sans espace.")]
        )
    return f"json:{key}", None


def form_token_key(token: str) -> str | None:
    """The request key of a form's token read back from a URL (None when malformed)."""
    return f"form:{token}" if _TOKEN_PATTERN.fullmatch(token) else None


def body_format(content_type: str | None) -> BodyFormat:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return BodyFormat.JSON
    if media_type == "application/x-www-form-urlencoded":
        return BodyFormat.FORM
    raise UnsupportedContentType(
        "Type de contenu non pris en charge : envoyez du JSON (application/json) "
        "ou un formulaire (application/x-www-form-urlencoded)."
    )


def read_body(
    body: str | None,
    *,
    content_type: str | None,
    is_base64: bool,
    max_bytes: int,
) -> SubmittedBody:
    """Decode the raw request body into fields, refusing what cannot be a post."""
    fmt = body_format(content_type)
    raw = _raw_bytes(body or "", is_base64)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(
            f"La demande est trop volumineuse ({len(raw)} octets ; {max_bytes} au maximum)."
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedBody("Le corps de la requête doit être encodé en UTF-8.") from None
    if fmt is BodyFormat.JSON:
        return SubmittedBody(fmt, _json_object(text))
    # A repeated field keeps its last value, as most form readers do.
    return SubmittedBody(fmt, dict(parse_qsl(text, keep_blank_values=True)))


def read_form(
    body: str | None, *, content_type: str | None, is_base64: bool, max_bytes: int
) -> dict[str, str]:
    """The fields of a form posted from one of our pages (urlencoded, UTF-8), else refused.

    The pages behind signed links (moderation, withdrawal, contact) post forms only: any
    other content type gets 415, bytes that are not UTF-8 a 400, never a crash.
    """
    if body_format(content_type) is not BodyFormat.FORM:
        raise UnsupportedContentType("Type de contenu non pris en charge : envoyez le formulaire.")
    submitted = read_body(body, content_type=content_type, is_base64=is_base64, max_bytes=max_bytes)
    return {key: str(value) for key, value in submitted.fields.items()}


def _raw_bytes(body: str, is_base64: bool) -> bytes:
    if not is_base64:
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedBody("Le corps de la requête est mal encodé.") from None


def _json_object(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedBody(
            f"JSON invalide (ligne {exc.lineno}, colonne {exc.colno}) : {exc.msg}."
        ) from None
    except RecursionError:  # arrays or objects nested thousands deep
        raise MalformedBody("JSON invalide : imbrication trop profonde.") from None
    except ValueError:  # an integer of more than 4,300 digits (sys.get_int_max_str_digits)
        raise MalformedBody("JSON invalide : nombre trop long.") from None
    if not isinstance(document, dict):
        raise MalformedBody("Le corps de la requête doit être un objet JSON.")
    return document
