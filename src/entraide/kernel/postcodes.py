"""Offline geocoding: a French postal code (and commune) to a :class:`Place`.

The table ``entraide/data/postcodes.csv.gz`` is derived from La Poste's "Base officielle
des codes postaux" by ``scripts/build_postcodes.py`` (see ``data/README.md``): one row
per (postal code, commune), sorted, columns ``postcode,insee,name,departement,lat,lon,alias``:
the official name with its accents, and La Poste's older spelling when it differs.
Some overseas rows have no coordinates; resolving them raises :class:`NoCoordinates`.

Importing this module reads nothing: :class:`PostcodeDirectory` decompresses the table
(about 1.6 MB of text) on first use, finds a postal code's lines by binary search (the
table is sorted) and parses them only when asked, caching the result.

Every error is a :class:`GeoError` (a :class:`ValueError`) whose message is French and
can be shown to the person filling in the form; ``field`` says which input to fix.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import threading
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from os import PathLike
from pathlib import Path
from typing import ClassVar, Literal

from entraide.kernel.geo import geohash
from entraide.kernel.text import strip_accents

TABLE_HEADER = "postcode,insee,name,departement,lat,lon,alias"

# How many communes an error message names before it only gives their number.
_MAX_LISTED = 8

type GeoField = Literal["postcode", "commune"]


@dataclass(frozen=True, slots=True)
class Place:
    """A located commune: where a post is."""

    postcode: str
    insee: str
    commune: str  # official name, e.g. "Trèbes", "Paris 1er Arrondissement"
    departement: str  # "11", "2A", "974" (see entraide.kernel.departements)
    lat: float
    lon: float
    geohash: str  # precision 7 (about 150 m)


# --- errors -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LocatedCommune:
    """A commune of the table that has a position (its INSEE code, département, WGS84)."""

    insee: str
    departement: str
    lat: float
    lon: float


class GeoError(ValueError):
    """Base of the geocoding errors; ``message`` is French, ``field`` names the input."""

    field: ClassVar[GeoField] = "postcode"

    def __init__(self, message: str, postcode: str) -> None:
        super().__init__(message)
        self.message = message
        self.postcode = postcode


class UnknownPostcode(GeoError):
    """Not 5 digits (``malformed``), or no commune has this postal code."""

    field: ClassVar[GeoField] = "postcode"

    def __init__(self, postcode: str, *, malformed: bool) -> None:
        if malformed:
            shown = postcode.strip()
            shown = shown if len(shown) <= 20 else shown[:20] + "…"
            message = (
                f"« {shown} » n'est pas un code postal valide : "
                "il doit comporter 5 chiffres (par exemple 11000)."
            )
        else:
            message = f"Le code postal {postcode} est inconnu : vérifiez-le."
        super().__init__(message, postcode)
        self.malformed = malformed


class CommuneRequired(GeoError):
    """The postal code covers several communes and none (or several) matched."""

    field: ClassVar[GeoField] = "commune"

    def __init__(self, postcode: str, choices: tuple[str, ...]) -> None:
        super().__init__(
            f"Le code postal {postcode} couvre plusieurs communes : "
            f"{_listing(choices)}. Précisez la vôtre.",
            postcode,
        )
        self.choices = choices


class UnknownCommune(GeoError):
    """The commune given is not one of the postal code's communes."""

    field: ClassVar[GeoField] = "commune"

    def __init__(self, postcode: str, commune: str, choices: tuple[str, ...]) -> None:
        label = "communes" if len(choices) > 1 else "commune"
        super().__init__(
            f"La commune « {commune.strip()} » ne correspond pas au code postal {postcode} "
            f"({label} : {_listing(choices)}). Vérifiez la commune ou le code postal.",
            postcode,
        )
        self.commune = commune
        self.choices = choices


class NoCoordinates(GeoError):
    """The commune is known but the table has no position for it."""

    field: ClassVar[GeoField] = "postcode"

    def __init__(self, postcode: str, commune: str) -> None:
        super().__init__(
            f"Nous ne savons pas encore situer {commune} ({postcode}) sur la carte. "
            "Indiquez le code postal d'une commune voisine.",
            postcode,
        )
        self.commune = commune


def _listing(choices: tuple[str, ...]) -> str:
    if len(choices) <= _MAX_LISTED:
        return ", ".join(choices)
    return ", ".join(choices[:_MAX_LISTED]) + f" et {len(choices) - _MAX_LISTED} autres"


# --- normalisation ----------------------------------------------------------------------

_POSTCODE = re.compile(r"[0-9]{5}")
_ROW_START = re.compile(r"^([0-9]{5}),", re.MULTILINE)
_SPACES = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[^A-Z0-9]+")
_ORDINAL = re.compile(r"([0-9]+)(?:ER|RE|E|EME|ND|NDE)")
_SAINTS = {"ST": "SAINT", "STE": "SAINTE"}
_NOISE = frozenset({"ARRONDISSEMENT", "ARR", "ARRT"})
# Paris, Lyon and Marseille: the table has one commune per arrondissement
# ("Paris 1er Arrondissement", "Marseille 16e Arrondissement").
_ARRONDISSEMENT = re.compile(r"(Paris|Lyon|Marseille) [0-9]{1,2}(?:er|e) Arrondissement")


def normalise_postcode(text: str) -> str:
    """``" 11 000 "`` -> ``"11000"``; :class:`UnknownPostcode` unless exactly 5 digits."""
    code = _SPACES.sub("", text) if isinstance(text, str) else ""
    if not _POSTCODE.fullmatch(code):
        raise UnknownPostcode(str(text), malformed=True)
    return code


def commune_key(text: str) -> str:
    """Comparison key of a commune name.

    Case, accents, spaces, hyphens and apostrophes are ignored, "St"/"Ste" mean
    "Saint"/"Sainte", and arrondissement numbers are read as numbers ("Paris 1er",
    "Paris 01" and "paris 1 arrondissement" give the same key).
    """
    plain = strip_accents(text).upper()
    parts: list[str] = []
    for token in _NON_ALNUM.split(plain):
        if not token or token in _NOISE:
            continue
        ordinal = _ORDINAL.fullmatch(token)
        if ordinal:
            token = ordinal.group(1)
        if token.isdigit():
            token = str(int(token))
        parts.append(_SAINTS.get(token, token))
    return "".join(parts)


def _sort_key(name: str) -> tuple[str, str]:
    return strip_accents(name).casefold(), name


# --- the directory ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Commune:
    """One row of the table: a commune under one postal code, maybe without a position."""

    postcode: str
    insee: str
    name: str
    keys: frozenset[str]
    place: Place | None  # None when the table has no coordinates


type Source = str | PathLike[str] | Traversable


def _packaged_table() -> Traversable:
    return resources.files("entraide") / "data" / "postcodes.csv.gz"


class PostcodeDirectory:
    """Postal code -> communes, from the packaged table (or ``source``, for tests).

    Nothing is read before the first look-up. Use :meth:`default` for the process-wide
    instance over the packaged table.
    """

    _default: ClassVar[PostcodeDirectory | None] = None
    _default_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, source: Source | None = None) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._table: str | None = None  # the decompressed CSV, once read
        self._parsed: dict[str, tuple[_Commune, ...]] = {}

    @classmethod
    def default(cls) -> PostcodeDirectory:
        """The shared directory over the packaged table (loaded on first look-up)."""
        if cls._default is None:
            with cls._default_lock:
                if cls._default is None:
                    cls._default = cls()
        return cls._default

    # -- public API --

    def rows(self) -> Iterator[list[str]]:
        """Every row of the table (``TABLE_HEADER`` columns, as text), in postal-code order."""
        rows = csv.reader(io.StringIO(self._text()))
        next(rows)  # the header, checked when the table was read
        return rows

    def located_communes(self) -> Iterator[LocatedCommune]:
        """Each commune with a position, once (by INSEE code), in postal-code order."""
        seen: set[str] = set()
        for _postcode, insee, _name, departement, lat, lon, _alias in self.rows():
            if not lat or not lon or insee in seen:
                continue
            seen.add(insee)
            yield LocatedCommune(insee, departement, float(lat), float(lon))

    def postcodes(self) -> tuple[str, ...]:
        """Every postal code of the table, sorted."""
        return tuple(dict.fromkeys(_ROW_START.findall(self._text())))

    def commune_names(self, postcode: str) -> tuple[str, ...]:
        """Display names of the postal code's communes, sorted (located or not)."""
        return tuple(commune.name for commune in self._communes(postcode))

    def communes(self, postcode: str) -> tuple[Place, ...]:
        """The postal code's communes that have a position, sorted by name.

        Raises :class:`UnknownPostcode`, or :class:`NoCoordinates` when none of its
        communes has a position (never an empty tuple).
        """
        communes = self._communes(postcode)
        places = tuple(commune.place for commune in communes if commune.place is not None)
        if not places:
            names = tuple(commune.name for commune in communes)
            raise NoCoordinates(communes[0].postcode, _listing(names))
        return places

    def resolve(self, postcode: str, commune: str | None = None) -> Place:
        """The place of ``commune`` under ``postcode``.

        ``commune`` may be omitted (``None`` or blank) when the postal code covers a
        single commune; it is compared with :func:`commune_key`, an INSEE code is
        accepted too, and the city alone ("Paris") matches an arrondissement
        ("Paris 01"). Raises :class:`UnknownPostcode`, :class:`CommuneRequired`,
        :class:`UnknownCommune` or :class:`NoCoordinates`.
        """
        code = normalise_postcode(postcode)
        communes = self._communes(code)
        choices = tuple(c.name for c in communes)
        if commune is None or not commune.strip():
            if len(communes) > 1:
                raise CommuneRequired(code, choices)
            return _located(communes[0])
        key = commune_key(commune)
        wanted = commune.strip().upper()
        matches = [c for c in communes if key in c.keys or c.insee == wanted]
        if not matches:
            raise UnknownCommune(code, commune, choices)
        if len(matches) > 1:
            raise CommuneRequired(code, tuple(c.name for c in matches))
        return _located(matches[0])

    # -- loading --

    def _text(self) -> str:
        if self._table is None:
            with self._lock:
                if self._table is None:
                    self._table = _read_table(self._source)
        return self._table

    def _communes(self, postcode: str) -> tuple[_Commune, ...]:
        code = normalise_postcode(postcode)
        parsed = self._parsed.get(code)
        if parsed is None:
            lines = _lines_of(self._text(), code)
            if not lines:
                raise UnknownPostcode(code, malformed=False)
            parsed = _parse(lines)
            self._parsed[code] = parsed
        return parsed


def _located(commune: _Commune) -> Place:
    if commune.place is None:
        raise NoCoordinates(commune.postcode, commune.name)
    return commune.place


def _read_table(source: Source | None) -> str:
    """The decompressed table, header checked: one line per row, sorted by postal code."""
    if source is None:
        raw = _packaged_table().read_bytes()
    elif isinstance(source, Traversable):
        raw = source.read_bytes()
    else:
        raw = Path(source).read_bytes()
    text = gzip.decompress(raw).decode("utf-8")
    if not text.startswith(TABLE_HEADER + "\n"):
        raise ValueError(f"postal-code table: unexpected header {text[:80]!r}")
    return text


def _lines_of(text: str, code: str) -> list[str]:
    """The rows of ``code`` (5 digits): a binary search over the sorted lines of ``text``."""
    end_of_text = len(text)

    def line_start(position: int) -> int:
        """Start of the first line beginning at or after ``position``."""
        if text[position - 1] == "\n":
            return position
        newline = text.find("\n", position)
        return end_of_text if newline < 0 else newline + 1

    def key(position: int) -> str:
        start = line_start(position)
        return text[start : start + 5] if start < end_of_text else "~"  # "~" sorts last

    positions = range(end_of_text + 1)  # position i is at index i
    start = line_start(bisect_left(positions, code, lo=len(TABLE_HEADER) + 1, key=key))
    prefix = f"{code},"
    end = start
    while text.startswith(prefix, end):
        newline = text.find("\n", end)
        end = end_of_text if newline < 0 else newline + 1
    return text[start:end].splitlines()


def _parse(lines: list[str]) -> tuple[_Commune, ...]:
    communes: list[_Commune] = []
    for postcode, insee, name, departement, lat, lon, alias in csv.reader(lines):
        place = None
        if lat and lon:
            lat_f, lon_f = float(lat), float(lon)
            place = Place(postcode, insee, name, departement, lat_f, lon_f, geohash(lat_f, lon_f))
        keys = {commune_key(name)}
        if alias:
            keys.add(commune_key(alias))
        city = _ARRONDISSEMENT.fullmatch(name)
        if city:
            keys.add(commune_key(city.group(1)))
        communes.append(_Commune(postcode, insee, name, frozenset(keys), place))
    communes.sort(key=lambda c: _sort_key(c.name))
    return tuple(communes)


def resolve(postcode: str, commune: str | None = None) -> Place:
    """:meth:`PostcodeDirectory.resolve` on the packaged table."""
    return PostcodeDirectory.default().resolve(postcode, commune)
