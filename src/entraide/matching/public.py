"""Approved posts, in public: the "near me" search, a post's page and their JSON view.

Three routes read this module (``functions/public_posts``): ``GET /posts`` answers the
search as JSON, ``GET /pres-de-chez-moi`` is the same search as a French page that works
without JavaScript (:mod:`entraide.web.public_pages`), and ``GET /posts/{id}`` is a
post's page (the link tweets carry). The query is read by :mod:`.public_query`.

**What is public.** A :class:`PublicPost` is built from a :class:`~entraide.kernel.model.Post`
by an explicit allow-list: id, kind, category, title, description, commune, postal code,
département, date, a position rounded to 2 decimals, the distance to the searched place
when there is one, and the post's URL. Email addresses, phone numbers and links typed into
the title or the description are masked (:func:`~entraide.privacy.detection.mask_public_text`),
whatever the moderator decided: the page, the search page and the JSON all read them here.
The contact item is never read here, and the moderation fields (``decided_by``,
``reason``...), the INSEE code, the activation and the version never leave this module.
Only approved posts are shown: anything else is "not found", whatever its status, so that
a pending post cannot even be told to exist.

**Positions** are rounded to 2 decimals (about 1.1 km north-south, 0.8 km east-west in
metropolitan France): enough for a pin on a map, and today a post's position is its
commune's centroid anyway. Rounding keeps that promise should an online geocoder one day
refine positions to a street (see DESIGN.md). Distances are whole kilometres for the
same reason: precise distances from chosen places would give the position away.

**Which activations.** Every open activation is searched (there are a handful at most,
read with one Query): a place near a département boundary sees the posts of the
neighbouring département's activation too. With none open the platform is asleep: no
search is run, and the page says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

from entraide.kernel.departements import (
    UnknownDepartement,
    departement_name,
    normalise_departement,
)
from entraide.kernel.errors import FieldError, InvalidInput, PostNotFound
from entraide.kernel.model import Activation, Category, Kind, Post, PostStatus
from entraide.kernel.postcodes import PostcodeDirectory
from entraide.kernel.times import format_date_fr, iso
from entraide.matching.public_query import (
    COORDINATE_DECIMALS,
    CURSOR_INVALID,
    NearbyQuery,
    form_values,
    parse_nearby_query,
)
from entraide.privacy.detection import mask_public_text

PAGE_SIZE = 20

#: The search page and a post's page, relative to the API stage root.
NEARBY_PATH = "pres-de-chez-moi"
POSTS_PATH = "posts"

_POST_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
_NBSP = "\u00a0"


# --- what the function reads: the table and the search -----------------------------------


class PostReader(Protocol):
    """What this module reads of posts (:class:`~entraide.intake.post_store.PostStore`)."""

    def get_post(self, post_id: str) -> Post | None: ...


class OpenActivations(Protocol):
    """Which activations are open (an
    :class:`~entraide.activation.activation_store.ActivationStore`)."""

    def open_activations(self) -> Sequence[Activation]: ...


class SearchHit(Protocol):
    """One post found near a point (``entraide.matching.nearby.NearbyPost``)."""

    @property
    def post(self) -> Post: ...

    @property
    def distance_km(self) -> float: ...


class SearchPage(Protocol):
    """One page of a search (``entraide.matching.nearby.Page``)."""

    @property
    def items(self) -> Sequence[SearchHit]: ...

    @property
    def next_cursor(self) -> str | None: ...

    @property
    def cells_read(self) -> int: ...

    @property
    def items_read(self) -> int: ...


class PostSearch(Protocol):
    """Approved posts near a point, nearest first (``entraide.matching.nearby.NearbySearch``).

    Raises :class:`ValueError` when ``cursor`` is not one it gave.
    """

    def search(
        self,
        *,
        lat: float,
        lon: float,
        radius_km: int,
        activation_ids: tuple[str, ...],
        kind: Kind | None,
        category: Category | None,
        limit: int,
        cursor: str | None,
    ) -> SearchPage: ...


# --- the public view of a post --------------------------------------------------------------


def _whole_km(distance_km: float) -> int:
    return int(max(distance_km, 0.0) + 0.5)


@dataclass(frozen=True, slots=True)
class PublicPost:
    """What anyone may see of an approved post: an allow-list, nothing else.

    Built only by :meth:`of`, which copies the public fields one by one; the contact
    details live in another item that this module never reads.
    """

    id: str
    kind: Kind
    category: Category
    title: str
    description: str
    commune: str
    postcode: str
    departement: str
    created_at: datetime
    lat: float  # rounded to COORDINATE_DECIMALS
    lon: float
    distance_km: int | None = None  # whole km from the searched place, when searched

    @classmethod
    def of(cls, post: Post, *, distance_km: float | None = None) -> PublicPost:
        return cls(
            id=post.id,
            kind=post.kind,
            category=post.category,
            title=mask_public_text(post.title),
            description=mask_public_text(post.description),
            commune=mask_public_text(post.commune),
            postcode=post.postcode,
            departement=post.departement,
            created_at=post.created_at,
            lat=round(post.lat, COORDINATE_DECIMALS),
            lon=round(post.lon, COORDINATE_DECIMALS),
            distance_km=None if distance_km is None else _whole_km(distance_km),
        )

    @property
    def href(self) -> str:
        """The post's page, relative to the stage root (``posts/<id>``)."""
        return f"{POSTS_PATH}/{quote(self.id, safe='')}"

    def url(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/{self.href}"

    @property
    def kind_label(self) -> str:
        return self.kind.label

    @property
    def category_label(self) -> str:
        return self.category.label

    @property
    def created_on(self) -> str:
        return format_date_fr(self.created_at)

    @property
    def created_iso(self) -> str:
        return iso(self.created_at)

    @property
    def distance_text(self) -> str:
        """``à 3 km``, ``à moins d'1 km``; empty when the post was not searched."""
        if self.distance_km is None:
            return ""
        if self.distance_km == 0:
            return f"à moins d'1{_NBSP}km"
        return f"à {self.distance_km}{_NBSP}km"

    @property
    def departement_label(self) -> str:
        try:
            return f"{departement_name(self.departement)} ({self.departement})"
        except UnknownDepartement:
            return self.departement

    def to_json(self, base_url: str) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": self.id,
            "kind": {"code": self.kind.value, "label": self.kind.label},
            "category": {"code": self.category.value, "label": self.category.label},
            "title": self.title,
            "description": self.description,
            "commune": self.commune,
            "postcode": self.postcode,
            "departement": self.departement,
            "created_at": self.created_iso,
            "location": {"lat": self.lat, "lon": self.lon},
            "url": self.url(base_url),
        }
        if self.distance_km is not None:
            view["distance_km"] = self.distance_km
        return view


# --- the search and its page ------------------------------------------------------------------


_ASLEEP = (
    "La plateforme est en veille : aucune alerte n'est en cours, aucune annonce n'est "
    "publiée pour le moment."
)


@dataclass(frozen=True, slots=True)
class NearbyResults:
    query: NearbyQuery
    posts: tuple[PublicPost, ...]
    next_cursor: str | None
    asleep: bool  # no open activation anywhere: nothing was searched
    cells_read: int = 0
    items_read: int = 0

    def to_json(self, base_url: str) -> dict[str, Any]:
        document: dict[str, Any] = {
            "query": self.query.to_json(),
            "items": [post.to_json(base_url) for post in self.posts],
            "next_cursor": self.next_cursor,
            "asleep": self.asleep,
        }
        if self.asleep:
            document["message"] = _ASLEEP
        return document


@dataclass(frozen=True, slots=True)
class NearbyPageView:
    """Everything ``/pres-de-chez-moi`` shows: the form, then results or errors."""

    values: Mapping[str, str]
    results: NearbyResults | None = None
    errors: tuple[FieldError, ...] = ()
    commune_choices: tuple[str, ...] = ()
    asleep: bool = False
    departement: str | None = None  # from a digest tweet's link: "?departement=11"

    @property
    def status(self) -> int:
        return 400 if self.errors else 200


def _departement_hint(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return normalise_departement(value)
    except UnknownDepartement:
        return None


def _open_ids(activations: Sequence[Activation]) -> tuple[str, ...]:
    return tuple(activation.id for activation in activations if activation.is_open)


class PublicPosts:
    """The public reads: a search near a place, and one approved post."""

    def __init__(
        self,
        posts: PostReader,
        activations: OpenActivations,
        finder: PostSearch,
        *,
        directory: PostcodeDirectory | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.posts = posts
        self.activations = activations
        self.finder = finder
        self._directory = directory
        self.page_size = page_size

    @property
    def directory(self) -> PostcodeDirectory:
        return self._directory or PostcodeDirectory.default()

    def search(self, params: Mapping[str, str | None]) -> NearbyResults:
        """Approved posts near the place ``params`` name; raises :class:`InvalidInput`."""
        query = parse_nearby_query(params, self.directory)
        activation_ids = _open_ids(self.activations.open_activations())
        if not activation_ids:
            return NearbyResults(query, (), None, asleep=True)
        try:
            page = self.finder.search(
                lat=query.place.lat,
                lon=query.place.lon,
                radius_km=query.radius_km,
                activation_ids=activation_ids,
                kind=query.kind,
                category=query.category,
                limit=self.page_size,
                cursor=query.cursor,
            )
        except ValueError:
            if query.cursor is None:
                raise  # not the person's doing
            raise InvalidInput([FieldError("cursor", CURSOR_INVALID)]) from None
        posts = tuple(
            PublicPost.of(hit.post, distance_km=hit.distance_km)
            for hit in page.items
            if hit.post.status is PostStatus.APPROVED  # the index holds only those; belt
        )
        return NearbyResults(
            query,
            posts,
            page.next_cursor,
            asleep=False,
            cells_read=page.cells_read,
            items_read=page.items_read,
        )

    def nearby_page(self, params: Mapping[str, str | None]) -> NearbyPageView:
        """The search page: a blank form until a postal code is sent, then results/errors."""
        values = form_values(params)
        departement = _departement_hint(params.get("departement"))
        if "postcode" not in params:  # a first visit, or a digest tweet's link
            asleep = not _open_ids(self.activations.open_activations())
            return NearbyPageView(values, asleep=asleep, departement=departement)
        try:
            results = self.search(params)
        except InvalidInput as error:
            asleep = not _open_ids(self.activations.open_activations())
            return NearbyPageView(
                values,
                errors=tuple(error.errors),
                commune_choices=error.choices,
                asleep=asleep,
                departement=departement,
            )
        communes = results.query.place.communes
        return NearbyPageView(
            values,
            results=results,
            commune_choices=communes if len(communes) > 1 else (),
            asleep=results.asleep,
            departement=departement,
        )

    def approved_post(self, post_id: str) -> PublicPost:
        """The public view of an approved post; :class:`PostNotFound` for anything else."""
        if not _POST_ID.fullmatch(post_id):
            raise PostNotFound(post_id)
        post = self.posts.get_post(post_id)
        if post is None or post.status is not PostStatus.APPROVED:
            raise PostNotFound(post_id)
        return PublicPost.of(post)
