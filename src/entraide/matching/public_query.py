"""The "near me" query: where a search starts, how far, what, which page; checked in French.

``postcode`` is required, ``commune`` is optional. Without a commune the search starts
from the centroid of the postal code's communes: a postal code covers neighbouring
communes a few kilometres apart, so its centre is a fair "here" for a radius of 1 to
100 km, and a person need not know which commune La Poste files their street under. A
commune, when given, is resolved like the form does (accents, "St", INSEE code...) and
the search starts from it. Unknown parameters are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from entraide.kernel.errors import FieldError, InvalidInput
from entraide.kernel.model import Category, Kind
from entraide.kernel.postcodes import CommuneRequired, GeoError, PostcodeDirectory, UnknownCommune
from entraide.kernel.postcodes import normalise_postcode as _normalise_postcode
from entraide.kernel.text import fold

RADIUS_DEFAULT_KM = 20
RADIUS_MIN_KM = 1
RADIUS_MAX_KM = 100
CURSOR_MAX_LENGTH = 1024
COORDINATE_DECIMALS = 2

#: Query parameters of a search, in the order of the form.
QUERY_FIELDS: tuple[str, ...] = ("postcode", "commune", "kind", "category", "radius", "cursor")

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
_SHOWN_MAX = 30


def location(lat: float, lon: float) -> dict[str, float]:
    return {"lat": round(lat, COORDINATE_DECIMALS), "lon": round(lon, COORDINATE_DECIMALS)}


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
            "center": location(self.place.lat, self.place.lon),
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
    """The place a search starts from; raises a French
    :class:`~entraide.kernel.postcodes.GeoError`."""
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
