"""Approved posts, in public: the "near me" search, a post's page and their JSON view.

Three routes read this module (``functions/public_posts``): ``GET /posts`` answers the
search as JSON, ``GET /pres-de-chez-moi`` is the same search as a French page that works
without JavaScript, and ``GET /posts/{id}`` is a post's page (the link tweets carry).

**What is public.** A :class:`PublicPost` is built from a :class:`~entraide.models.Post`
by an explicit allow-list: id, kind, category, title, description, commune, postal code,
département, date, a position rounded to 2 decimals, the distance to the searched place
when there is one, and the post's URL. The contact item is never read here, and the
moderation fields (``decided_by``, ``reason``...), the INSEE code, the activation and
the version never leave this module. Only approved posts are shown: anything else is
"not found", whatever its status, so that a pending post cannot even be told to exist.

**Positions** are rounded to 2 decimals (about 1.1 km north-south, 0.8 km east-west in
metropolitan France): enough for a pin on a map, and today a post's position is its
commune's centroid anyway. Rounding keeps that promise should an online geocoder one day
refine positions to a street (see DESIGN.md). Distances are whole kilometres for the
same reason: precise distances from chosen places would give the position away.

**The searched place.** ``postcode`` is required, ``commune`` is optional. Without a
commune the search starts from the centroid of the postal code's communes: a postal code
covers neighbouring communes a few kilometres apart, so its centre is a fair "here" for a
radius of 1 to 100 km, and a person need not know which commune La Poste files their
street under. A commune, when given, is resolved like the form does (accents, "St",
INSEE code...) and the search starts from it.

**Which activations.** Every open activation is searched (there are a handful at most,
read with one Query): a place near a département boundary sees the posts of the
neighbouring département's activation too. With none open the platform is asleep: no
search is run, and the page says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from entraide import web
from entraide.departements import UnknownDepartement, departement_name, normalise_departement
from entraide.errors import InvalidInput, PostNotFound
from entraide.geo import CommuneRequired, GeoError, PostcodeDirectory, UnknownCommune
from entraide.geo import normalise_postcode as _normalise_postcode
from entraide.models import Activation, Category, FieldError, Kind, Post, PostStatus
from entraide.settings import PublicUrlSettings
from entraide.text import fold

__all__ = [
    "NEARBY_PATH",
    "PUBLIC_CACHE_CONTROL",
    "RADIUS_DEFAULT_KM",
    "RADIUS_MAX_KM",
    "RADIUS_MIN_KM",
    "NearbyPageView",
    "NearbyQuery",
    "NearbyResults",
    "PostSearch",
    "PublicPost",
    "PublicPosts",
    "PublicSettings",
    "PublicStore",
    "SearchPlace",
    "parse_nearby_query",
    "render_nearby_page",
    "render_not_found_page",
    "render_post_page",
]

RADIUS_DEFAULT_KM = 20
RADIUS_MIN_KM = 1
RADIUS_MAX_KM = 100
PAGE_SIZE = 20
CURSOR_MAX_LENGTH = 1024
COORDINATE_DECIMALS = 2

#: Approved content is public: browsers and caches may keep it a minute. A withdrawn
#: post may thus stay visible up to a minute; error pages are never cached.
PUBLIC_CACHE_CONTROL = "public, max-age=60"

#: The search page and a post's page, relative to the API stage root.
NEARBY_PATH = "pres-de-chez-moi"
POSTS_PATH = "posts"

#: Query parameters of a search, in the order of the form.
QUERY_FIELDS: tuple[str, ...] = ("postcode", "commune", "kind", "category", "radius", "cursor")
FIELD_LABELS: dict[str, str] = {
    "postcode": "Code postal",
    "commune": "Commune",
    "kind": "Type d'annonce",
    "category": "Catégorie",
    "radius": "Distance",
    "cursor": "Page suivante",
}

POSTCODE_MISSING = "Indiquez un code postal à 5 chiffres (par exemple 11000)."
RADIUS_NOT_INTEGER = (
    f"La distance doit être un nombre entier de kilomètres, entre {RADIUS_MIN_KM} "
    f"et {RADIUS_MAX_KM} (par exemple {RADIUS_DEFAULT_KM})."
)
CURSOR_INVALID = "Ce lien vers la page suivante n'est plus valable : relancez la recherche."

_KIND_ALIASES: dict[str, Kind] = {
    "need": Kind.NEED,
    "besoin": Kind.NEED,
    "offer": Kind.OFFER,
    "offre": Kind.OFFER,
}
_INTEGER = re.compile(r"[+-]?[0-9]{1,9}")
_POST_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
_SHOWN_MAX = 30
_NBSP = "\u00a0"


class PublicSettings(PublicUrlSettings):
    """The public_posts function: where the public pages live, for the JSON ``url``."""


# --- what the function reads: the table and the search -----------------------------------


class PublicStore(Protocol):
    """The part of :class:`~entraide.store.EntraideTable` this module reads."""

    def get_post(self, post_id: str) -> Post | None: ...

    def open_activations(self) -> Sequence[Activation]: ...


class SearchHit(Protocol):
    """One post found near a point (``entraide.nearby.NearbyPost``)."""

    @property
    def post(self) -> Post: ...

    @property
    def distance_km(self) -> float: ...


class SearchPage(Protocol):
    """One page of a search (``entraide.nearby.Page``)."""

    @property
    def items(self) -> Sequence[SearchHit]: ...

    @property
    def next_cursor(self) -> str | None: ...

    @property
    def cells_read(self) -> int: ...

    @property
    def items_read(self) -> int: ...


class PostSearch(Protocol):
    """Approved posts near a point, nearest first (``entraide.nearby.NearbySearch``).

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


# --- the query ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchPlace:
    """Where a search starts: a commune, or the centroid of a postal code's communes."""

    postcode: str
    commune: str | None  # the commune asked for (its name in the table), else None
    lat: float
    lon: float
    departements: tuple[str, ...]
    communes: tuple[str, ...]  # the postal code's located communes, sorted

    @property
    def label(self) -> str:
        """``Carcassonne (11000)`` for one commune, ``11000`` for several."""
        if self.commune is not None:
            return f"{self.commune} ({self.postcode})"
        if len(self.communes) == 1:
            return f"{self.communes[0]} ({self.postcode})"
        return self.postcode


@dataclass(frozen=True, slots=True)
class NearbyQuery:
    """A valid search: where, how far, what, and which page."""

    place: SearchPlace
    kind: Kind | None = None
    category: Category | None = None
    radius_km: int = RADIUS_DEFAULT_KM
    cursor: str | None = None

    def params(self, *, cursor: str | None = None) -> dict[str, str]:
        """The canonical query string of this search, on the page ``cursor``."""
        params = {"postcode": self.place.postcode}
        if self.place.commune is not None:
            params["commune"] = self.place.commune
        if self.kind is not None:
            params["kind"] = self.kind.value
        if self.category is not None:
            params["category"] = self.category.value
        params["radius"] = str(self.radius_km)
        if cursor is not None:
            params["cursor"] = cursor
        return params

    def to_json(self) -> dict[str, Any]:
        return {
            "postcode": self.place.postcode,
            "commune": self.place.commune,
            "kind": self.kind.value if self.kind else None,
            "category": self.category.value if self.category else None,
            "radius_km": self.radius_km,
            "center": _location(self.place.lat, self.place.lon),
        }


def _shown(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _SHOWN_MAX else text[:_SHOWN_MAX] + "…"


def parse_kind(value: str | None) -> Kind | None:
    """``need``/``offer`` (or ``besoin``/``offre``); empty means both."""
    text = (value or "").strip()
    if not text:
        return None
    kind = _KIND_ALIASES.get(fold(text))
    if kind is None:
        raise ValueError(
            f"Type d'annonce inconnu : « {_shown(text)} ». Choisissez « offer » (offres "
            "d'aide) ou « need » (besoins d'aide), ou rien pour voir les deux."
        )
    return kind


def parse_category(value: str | None) -> Category | None:
    """A category code or its French label (:meth:`Category.parse`); empty means all."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        return Category.parse(text)
    except ValueError:
        known = ", ".join(category.value for category in Category)
        raise ValueError(
            f"Catégorie inconnue : « {_shown(text)} ». Valeurs possibles : {known}."
        ) from None


def parse_radius(value: str | None) -> int:
    """Whole kilometres between 1 and 100 (``20``, ``20 km``); empty means 20."""
    text = (value or "").strip().lower().removesuffix("km").strip()
    if not text:
        return RADIUS_DEFAULT_KM
    if not _INTEGER.fullmatch(text):
        raise ValueError(RADIUS_NOT_INTEGER)
    radius = int(text)
    if not RADIUS_MIN_KM <= radius <= RADIUS_MAX_KM:
        raise ValueError(
            f"La distance doit être comprise entre {RADIUS_MIN_KM} et {RADIUS_MAX_KM} km "
            f"({radius} km demandés)."
        )
    return radius


def parse_cursor(value: str | None) -> str | None:
    """The opaque cursor of the previous page, checked only for its shape here."""
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > CURSOR_MAX_LENGTH or not (text.isascii() and text.isprintable()):
        raise ValueError(CURSOR_INVALID)
    return text


def locate(directory: PostcodeDirectory, postcode: str, commune: str | None) -> SearchPlace:
    """The place a search starts from; raises :class:`~entraide.geo.GeoError` (French)."""
    code = _normalise_postcode(postcode)
    places = directory.communes(code)  # located communes only; NoCoordinates if none
    names = tuple(place.commune for place in places)
    if commune is not None and commune.strip():
        place = directory.resolve(code, commune)
        return SearchPlace(code, place.commune, place.lat, place.lon, (place.departement,), names)
    lat = sum(place.lat for place in places) / len(places)
    lon = sum(place.lon for place in places) / len(places)
    departements = tuple(sorted({place.departement for place in places}))
    return SearchPlace(code, None, lat, lon, departements, names)


def parse_nearby_query(
    params: Mapping[str, str | None], directory: PostcodeDirectory
) -> NearbyQuery:
    """Validate the query string of a search; :class:`InvalidInput` lists every problem.

    Unknown parameters are ignored (links shared on social networks gain tracking ones).
    """
    errors: list[FieldError] = []
    choices: tuple[str, ...] = ()
    place: SearchPlace | None = None
    postcode = (params.get("postcode") or "").strip()
    if not postcode:
        errors.append(FieldError("postcode", POSTCODE_MISSING))
    else:
        try:
            place = locate(directory, postcode, params.get("commune"))
        except GeoError as error:
            errors.append(FieldError(error.field, error.message))
            if isinstance(error, CommuneRequired | UnknownCommune):
                choices = error.choices

    def parsed[T](name: str, parse: Callable[[str | None], T], default: T) -> T:
        try:
            return parse(params.get(name))
        except ValueError as error:
            errors.append(FieldError(name, str(error)))
            return default

    kind = parsed("kind", parse_kind, None)
    category = parsed("category", parse_category, None)
    radius = parsed("radius", parse_radius, RADIUS_DEFAULT_KM)
    cursor = parsed("cursor", parse_cursor, None)
    if errors or place is None:
        raise InvalidInput(errors, choices)
    return NearbyQuery(place, kind, category, radius, cursor)


# --- the public view of a post --------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _location(lat: float, lon: float) -> dict[str, float]:
    return {"lat": round(lat, COORDINATE_DECIMALS), "lon": round(lon, COORDINATE_DECIMALS)}


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
            title=post.title,
            description=post.description,
            commune=post.commune,
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
        return web.format_date_fr(self.created_at)

    @property
    def created_iso(self) -> str:
        return _iso(self.created_at)

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


def form_values(params: Mapping[str, str | None]) -> dict[str, str]:
    """The search form's fields as strings, choices normalised to their codes."""
    values = {name: (params.get(name) or "").strip() for name in QUERY_FIELDS}
    kind = _KIND_ALIASES.get(fold(values["kind"]))
    values["kind"] = kind.value if kind else ""
    try:
        values["category"] = Category.parse(values["category"]).value
    except ValueError:
        values["category"] = ""
    values["radius"] = values["radius"] or str(RADIUS_DEFAULT_KM)
    return values


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
        store: PublicStore,
        finder: PostSearch,
        *,
        directory: PostcodeDirectory | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.store = store
        self.finder = finder
        self._directory = directory
        self.page_size = page_size

    @property
    def directory(self) -> PostcodeDirectory:
        return self._directory or PostcodeDirectory.default()

    def search(self, params: Mapping[str, str | None]) -> NearbyResults:
        """Approved posts near the place ``params`` name; raises :class:`InvalidInput`."""
        query = parse_nearby_query(params, self.directory)
        activation_ids = _open_ids(self.store.open_activations())
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
            asleep = not _open_ids(self.store.open_activations())
            return NearbyPageView(values, asleep=asleep, departement=departement)
        try:
            results = self.search(params)
        except InvalidInput as error:
            asleep = not _open_ids(self.store.open_activations())
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
        post = self.store.get_post(post_id)
        if post is None or post.status is not PostStatus.APPROVED:
            raise PostNotFound(post_id)
        return PublicPost.of(post)


# --- pages --------------------------------------------------------------------------------------


def _what(kind: Kind | None, category: Category | None) -> tuple[str, str]:
    """(``Offres d'aide``, ``Aucune offre d'aide``) for the heading and the empty state."""
    plural, none = {
        None: ("Annonces", "Aucune annonce"),
        Kind.OFFER: ("Offres d'aide", "Aucune offre d'aide"),
        Kind.NEED: ("Besoins d'aide", "Aucun besoin d'aide"),
    }[kind]
    if category is not None:
        plural += f" ({category.label})"
        none += f" dans la catégorie « {category.label} »"
    return plural, none


@dataclass(frozen=True, slots=True)
class _ResultsView:
    heading: str
    empty: str
    posts: tuple[PublicPost, ...]
    next_href: str | None
    first_href: str | None


def _results_view(results: NearbyResults) -> _ResultsView:
    query = results.query
    plural, none = _what(query.kind, query.category)
    where = f"à moins de {query.radius_km}{_NBSP}km de {query.place.label}"
    if query.cursor is not None:
        empty = "Il n'y a pas d'autres résultats."
    else:
        empty = f"{none} {where} pour le moment."
    next_href = (
        f"{NEARBY_PATH}?{urlencode(query.params(cursor=results.next_cursor))}"
        if results.next_cursor
        else None
    )
    first_href = f"{NEARBY_PATH}?{urlencode(query.params())}" if query.cursor else None
    return _ResultsView(f"{plural} {where}", empty, results.posts, next_href, first_href)


def _summary(errors: Sequence[FieldError]) -> tuple[dict[str, list[str]], list[web.SummaryItem]]:
    by_field: dict[str, list[str]] = {}
    summary: list[web.SummaryItem] = []
    order = {name: index for index, name in enumerate(QUERY_FIELDS)}
    for error in sorted(errors, key=lambda e: order.get(e.field, len(order))):
        label = FIELD_LABELS.get(error.field)
        if label is None:
            summary.append(web.SummaryItem(text=error.message, href=None))
            continue
        by_field.setdefault(error.field, []).append(error.message)
        href = None if error.field == "cursor" else f"#field-{error.field}"
        summary.append(web.SummaryItem(text=f"{label}{_NBSP}: {error.message}", href=href))
    return by_field, summary


def render_nearby_page(view: NearbyPageView) -> str:
    field_errors, summary = _summary(view.errors)
    departement_text = None
    if view.departement is not None and view.results is None and not view.errors:
        from entraide.tweets import in_departement

        departement_text = in_departement(view.departement)
    return web.render(
        "nearby.html",
        values=view.values,
        field_errors=field_errors,
        summary=summary,
        commune_choices=list(view.commune_choices),
        categories=[(category.value, category.label) for category in Category],
        results=_results_view(view.results) if view.results and not view.asleep else None,
        asleep=view.asleep,
        departement_text=departement_text,
        form_action=NEARBY_PATH,
        radius={"min": RADIUS_MIN_KM, "max": RADIUS_MAX_KM, "default": RADIUS_DEFAULT_KM},
    )


def render_post_page(post: PublicPost) -> str:
    """A post's page, served at ``posts/<id>``: links climb one level to the stage root.

    No direct contact link: writing to a helper goes through the signed link that a
    matched need's poster receives (``entraide.contact``), so the page of an offer sends
    people to the form to publish their need.
    """
    nearby = {"postcode": post.postcode, "commune": post.commune}
    return web.render(
        "post.html",
        post=post,
        home_href="../",
        nearby_href=f"../{NEARBY_PATH}?{urlencode(nearby)}",
    )


def render_not_found_page() -> str:
    """The same 404 for a post that never existed, is pending, refused, withdrawn or expired."""
    return web.render(
        "message.html",
        title="Annonce introuvable",
        message="Cette annonce n'existe pas, ou elle n'est plus publiée : la personne l'a "
        "peut-être retirée, ou l'alerte est terminée.",
        back_link=True,
        home_href="../",
    )
