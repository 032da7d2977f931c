"""Intake of a need or an offer: read the request body, validate, geocode, store as pending."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl

from entraide.errors import (
    InvalidInput,
    MalformedBody,
    PayloadTooLarge,
    PlatformAsleep,
    SpamSuspected,
    UnsupportedContentType,
)
from entraide.models import (
    HONEYPOT_FIELD,
    Activation,
    Contact,
    FieldError,
    Post,
    PostStatus,
    PostSubmission,
)

if TYPE_CHECKING:
    from entraide.geo import Place


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
    if not isinstance(document, dict):
        raise MalformedBody("Le corps de la requête doit être un objet JSON.")
    return document


class PostSink(Protocol):
    """What intake needs from the table (:class:`entraide.store.EntraideTable`)."""

    def open_activations(self) -> list[Activation]: ...

    def create_post(self, post: Post, contact: Contact) -> None: ...


class Geocoder(Protocol):
    def resolve(self, postcode: str, commune: str | None = None) -> Place: ...


def submit_post(
    fields: Mapping[str, Any],
    *,
    table: PostSink,
    directory: Geocoder,
    new_id: Callable[[], str],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Post:
    """Validate and store a post as ``pending``; raise a DomainError when refused.

    Nothing is written unless every check passed, and the write itself is conditional.
    """
    from entraide.departements import departement_name
    from entraide.geo import GeoError

    fields = dict(fields)
    if fields.pop(HONEYPOT_FIELD, ""):
        raise SpamSuspected("La demande n'a pas pu être enregistrée.")
    submission = PostSubmission.parse(fields)
    try:
        place = directory.resolve(submission.postcode, submission.commune)
    except GeoError as exc:
        raise InvalidInput(
            [FieldError(exc.field, str(exc))], choices=getattr(exc, "choices", ())
        ) from None

    activation = next(
        (act for act in table.open_activations() if act.covers(place.departement)), None
    )
    if activation is None:
        raise PlatformAsleep(place.departement, departement_name(place.departement))

    post = Post(
        id=new_id(),
        kind=submission.kind,
        category=submission.category,
        title=submission.title,
        description=submission.description,
        postcode=place.postcode,
        commune=place.commune,
        insee=place.insee,
        departement=place.departement,
        lat=place.lat,
        lon=place.lon,
        geohash=place.geohash,
        activation_id=activation.id,
        status=PostStatus.PENDING,
        created_at=now(),
    )
    table.create_post(post, Contact(email=submission.email, phone=submission.phone))
    return post
