"""Intake of a need or an offer: validate, geocode, check the activation, store as pending.

The request body is read by the web side (:mod:`entraide.web.requests`); this module gets
its fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from entraide.intake.fields import HONEYPOT_FIELD
from entraide.intake.submission import PostSubmission
from entraide.kernel.errors import FieldError, InvalidInput, PlatformAsleep, SpamSuspected
from entraide.kernel.model import Activation, Contact, Post, PostStatus

if TYPE_CHECKING:
    from entraide.kernel.postcodes import Place


class PostSink(Protocol):
    """Where a new post goes (:class:`~entraide.intake.post_store.PostStore`)."""

    def create_post(self, post: Post, contact: Contact) -> None: ...


class OpenActivations(Protocol):
    """Which activations are open (an
    :class:`~entraide.activation.activation_store.ActivationStore`)."""

    def open_activations(self) -> list[Activation]: ...


class Geocoder(Protocol):
    def resolve(self, postcode: str, commune: str | None = None) -> Place: ...


def submit_post(
    fields: Mapping[str, Any],
    *,
    posts: PostSink,
    activations: OpenActivations,
    directory: Geocoder,
    new_id: Callable[[], str],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Post:
    """Validate and store a post as ``pending``; raise a DomainError when refused.

    Nothing is written unless every check passed, and the write itself is conditional.
    """
    from entraide.kernel.departements import departement_name
    from entraide.kernel.postcodes import GeoError

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
        (act for act in activations.open_activations() if act.covers(place.departement)), None
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
    posts.create_post(post, Contact(email=submission.email, phone=submission.phone))
    return post
