"""Intake of a need or an offer: validate, geocode, check the activation, store as pending.

The request body is read by the web side (:mod:`entraide.web.requests`); this module gets
its fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from entraide.intake.fields import HELPER_REACH_KM, HONEYPOT_FIELD
from entraide.intake.submission import PostSubmission, parse_kind
from entraide.kernel.errors import FieldError, InvalidInput, PlatformAsleep, SpamSuspected
from entraide.kernel.model import Activation, Contact, Kind, Post, PostStatus

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

    fields = dict(fields)
    if fields.pop(HONEYPOT_FIELD, ""):
        raise SpamSuspected("La demande n'a pas pu être enregistrée.")
    # Every problem is reported in one round: the fields, the place, the activation.
    errors: list[FieldError] = []
    try:
        submission: PostSubmission | None = PostSubmission.parse(fields)
    except InvalidInput as invalid:
        submission, errors = None, list(invalid.errors)
    place, choices = _locate(fields, errors, directory)
    activation = None
    if place is not None:
        kind = submission.kind if submission else parse_kind_or_none(fields.get("kind"))
        activation = activation_for(place, kind, activations.open_activations())
        if activation is None:
            asleep = PlatformAsleep(place.departement, departement_name(place.departement))
            if not errors:
                raise asleep
            errors.append(FieldError("postcode", asleep.message))
    if errors or submission is None or place is None or activation is None:
        raise InvalidInput(errors, choices=choices)

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


def parse_kind_or_none(value: Any) -> Kind | None:
    try:
        return parse_kind(value)
    except ValueError:
        return None


def _locate(
    fields: Mapping[str, Any], errors: list[FieldError], directory: Geocoder
) -> tuple[Place | None, tuple[str, ...]]:
    """The place of the postal code and commune typed, when those fields are themselves fine;
    a place that cannot be found joins ``errors`` (with the communes to choose from)."""
    from entraide.kernel.postcodes import GeoError

    if any(error.field in ("postcode", "commune") for error in errors):
        return None, ()
    postcode, commune = fields.get("postcode"), fields.get("commune")
    try:
        return directory.resolve(str(postcode), commune if isinstance(commune, str) else None), ()
    except GeoError as exc:
        errors.append(FieldError(exc.field, str(exc)))
        return None, tuple(getattr(exc, "choices", ()))


def activation_for(
    place: Place, kind: Kind | None, open_activations: list[Activation]
) -> Activation | None:
    """The open activation a post at ``place`` belongs to, if any.

    One that covers its département; for an offer of help, else the nearest one whose
    départements are within :data:`HELPER_REACH_KM`.
    """
    covering = next((act for act in open_activations if act.covers(place.departement)), None)
    if covering is not None or kind is not Kind.OFFER:
        return covering
    from entraide.moderation.distance import distance_to_departements

    reachable: list[tuple[float, Activation]] = []
    for activation in open_activations:
        distance = distance_to_departements(
            place.lat, place.lon, activation.departements, stop_within_km=0.0
        )
        if distance is not None and distance <= HELPER_REACH_KM:
            reachable.append((distance, activation))
    return min(reachable, key=lambda found: found[0])[1] if reachable else None
