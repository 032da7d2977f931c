"""Intake of a need or an offer: validate, geocode, check the activation, store as pending.

The request body is read by the web side (:mod:`entraide.web.requests`); this module gets
its fields.

**Once.** A request may carry a key: a JSON client's ``Idempotency-Key``, a form's one-time
token. The key is stored with the post, in its transaction; the same request sent again (a
retry after a timeout, a second click, a reload) finds the post it created and stores
nothing, and a key sent with another request is refused. Without a key, every request is a
new post.

**Open, when written.** The open activations are read from an index, which lags behind the
table: the post is written under the condition that its activation is still open and
covers its département, checked on the activation item in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from entraide.adapters.table import Check, ConditionFailed
from entraide.intake.fields import HELPER_REACH_KM, HONEYPOT_FIELD
from entraide.intake.post_store import KeyedPost, KeyTaken, RequestKey
from entraide.intake.submission import PostSubmission, parse_kind
from entraide.kernel.errors import (
    ConcurrentChange,
    FieldError,
    InvalidInput,
    PlatformAsleep,
    PostNotFound,
    RequestKeyReused,
    SpamSuspected,
)
from entraide.kernel.model import Activation, Contact, Kind, Post, PostStatus

if TYPE_CHECKING:
    from entraide.kernel.postcodes import Place


class PostSink(Protocol):
    """Where a new post goes (:class:`~entraide.intake.post_store.PostStore`)."""

    def create_post(
        self,
        post: Post,
        contact: Contact,
        *,
        checks: Sequence[Check] = ...,
        key: RequestKey | None = ...,
    ) -> None: ...

    def keyed_post(self, key: str, *, consistent: bool = ...) -> KeyedPost | None: ...

    def get_post(self, post_id: str) -> Post | None: ...


class OpenActivations(Protocol):
    """Which activations are open (an
    :class:`~entraide.activation.activation_store.ActivationStore`)."""

    def open_activations(self) -> list[Activation]: ...

    def open_check(self, activation_id: str, departement: str | None = ...) -> Check: ...


@dataclass(frozen=True, slots=True)
class Intake:
    """A post taken in; ``replayed`` when the request had been taken in before."""

    post: Post
    replayed: bool = False


def fingerprint(fields: Mapping[str, Any]) -> str:
    """A digest of what a request asked: the same request sent again has the same."""
    canonical = json.dumps(dict(fields), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def replayed(posts: PostSink, request: RequestKey, *, consistent: bool = True) -> Intake | None:
    """The post ``request``'s key created before, if any (RequestKeyReused when the key
    came with another request); ``consistent``: whether the key is read strongly
    consistent."""
    known = posts.keyed_post(request.key, consistent=consistent)
    if known is None:
        return None
    if known.fingerprint != request.fingerprint:
        raise RequestKeyReused(known.post_id)
    post = posts.get_post(known.post_id)
    if post is None:  # erased since
        raise PostNotFound(known.post_id)
    return Intake(post, replayed=True)


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
    key: str | None = None,
) -> Intake:
    """Validate and store a post as ``pending``; raise a DomainError when refused.

    Nothing is written unless every check passed, and the write itself is conditional.
    With a request ``key``, the same request sent again returns the post it created.
    """
    from entraide.kernel.departements import departement_name

    request = RequestKey(key, fingerprint(fields)) if key else None
    # Read first, eventually consistent (half a strongly consistent read: "the responses
    # may not reflect the results of a recently completed write operation", DynamoDB
    # Developer Guide, "DynamoDB read consistency"): a key written a moment ago and missed
    # here fails the post's transaction on its own condition (KeyTaken), and is read again
    # below, strongly consistent, then. The read spares a repeated request that cancelled
    # transaction.
    earlier = replayed(posts, request, consistent=False) if request is not None else None
    if earlier is not None:
        return earlier
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
    contact = Contact(email=submission.email, phone=submission.phone)
    covered = place.departement if activation.covers(place.departement) else None
    try:
        posts.create_post(
            post,
            contact,
            # A helper's offer may belong to an activation of a nearby département: the
            # activation is checked open, and covering the place only when it did.
            checks=[activations.open_check(activation.id, covered)],
            key=request,
        )
    except ConditionFailed:  # closed since the index said it was open
        raise PlatformAsleep(place.departement, departement_name(place.departement)) from None
    except KeyTaken:  # the same request, taken in meanwhile (or our write's answer lost)
        assert request is not None
        earlier = replayed(posts, request)
        if earlier is None:
            raise ConcurrentChange("La demande est en cours d'enregistrement.") from None
        return earlier
    return Intake(post)


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
