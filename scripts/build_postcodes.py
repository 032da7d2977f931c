"""Derive ``src/entraide/data/postcodes.csv.gz`` from La Poste's postal-code base and the
official commune names.

Usage::

    npm ci   # once: the official names come from an npm package (see package.json)
    python scripts/build_postcodes.py [--source PATH] [--communes PATH] [--out PATH]

Sources: La Poste, "Base officielle des codes postaux" (``laposte_hexasmal.csv``, Etalab
Licence Ouverte 2.0), ``;``-separated with the columns Code_commune_INSEE; Nom_commune;
Code_postal; Ligne_5; Libellé_d_acheminement; coordonnees_gps ("lat,lon"); and INSEE's
code officiel géographique as the npm package ``@etalab/decoupage-administratif`` ships it
(``data/communes.json``: code, nom, type; data under the Licence Ouverte), for the names
with their accents ("Trèbes", not La Poste's "TREBES").

Output: a gzip'ed CSV, sorted, byte-for-byte deterministic (gzip mtime 0, no file name),
with one row per (postal code, INSEE code) -- the Ligne_5 localities of a commune
collapse into one row -- and the columns ``postcode,insee,name,departement,lat,lon``:

* ``name``: the official name of the INSEE code ("Trèbes", "Saint-Étienne-du-Rouvray",
  "Paris 1er Arrondissement"): a current commune's, else a municipal arrondissement's, else
  a delegated or associated commune's; for a code the official list lacks, a readable name
  made from La Poste's upper-case one ("VILLENEUVE D ASCQ" -> "Villeneuve-d'Ascq");
* ``alias``: that readable La Poste name when it does not fold to the official one under
  :func:`entraide.kernel.postcodes.commune_key` (a commune renamed or merged since: "Vars"
  is now "La Boixe"), so that either spelling matches; empty otherwise;
* ``departement``: from the INSEE code, its first 2 characters (2A/2B in Corsica) or 3
  overseas (97x, 98x); rows whose code is not a département or overseas collectivity
  known to :mod:`entraide.kernel.departements` are left out (INSEE 99xxx: Monaco);
* ``lat``/``lon``: rounded to 5 decimals; a row without coordinates takes those of another
  row of the same commune when there is one, otherwise both stay empty.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from entraide.kernel.departements import is_departement
from entraide.kernel.postcodes import TABLE_HEADER, commune_key

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO_ROOT / ".." / "shared" / "data" / "laposte_hexasmal.csv"
DEFAULT_COMMUNES = (
    REPO_ROOT / "node_modules" / "@etalab" / "decoupage-administratif" / "data" / "communes.json"
)
DEFAULT_OUT = REPO_ROOT / "src" / "entraide" / "data" / "postcodes.csv.gz"
# Which entry names an INSEE code that several carry (a commune nouvelle and its chef-lieu
# délégué share one): the current commune first.
_OFFICIAL_TYPES = (
    "commune-actuelle",
    "arrondissement-municipal",
    "commune-deleguee",
    "commune-associee",
)

SOURCE_HEADER = (
    "Code_commune_INSEE",
    "Nom_commune",
    "Code_postal",
    "Ligne_5",
    "Libellé_d_acheminement",
    "coordonnees_gps",
)

# Lower-case inside a name (never as its first word).
_SMALL_WORDS = {
    "A": "à",
    "AU": "au",
    "AUX": "aux",
    "DE": "de",
    "DES": "des",
    "DEVANT": "devant",
    "DI": "di",
    "DU": "du",
    "EN": "en",
    "ET": "et",
    "LA": "la",
    "LE": "le",
    "LES": "les",
    "LEZ": "lez",
    "PRES": "pres",
    "SOUS": "sous",
    "SUR": "sur",
}
_ARTICLES = {"LA", "LE", "LES"}
# Elided single letters: "L ILE" -> "L'Ile", "D ASCQ" -> "d'Ascq", "M TSANGAMOUJI".
_ELISIONS = {"L": "l'", "D": "d'", "M": "M'"}
_SAINTS = {"ST": "Saint", "STE": "Sainte"}
_BRETON_H = {"H"}  # after a word ending in C: the Breton c'h

Coordinates = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Row:
    postcode: str
    insee: str
    name: str
    departement: str
    coordinates: Coordinates | None
    alias: str = ""  # La Poste's name, when it does not fold to the official one


@dataclass(slots=True)
class Stats:
    source_rows: int = 0
    source_rows_without_coordinates: int = 0
    coordinates_borrowed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # INSEE code -> source rows
    official_names: int = 0
    aliases: int = 0
    rows: int = 0
    postcodes: int = 0
    communes: int = 0
    rows_without_coordinates: int = 0
    bytes: int = 0

    def report(self) -> str:
        skipped = ", ".join(f"{code} ({n} rows)" for code, n in sorted(self.skipped.items()))
        return "\n".join(
            [
                f"source rows: {self.source_rows} "
                f"({self.source_rows_without_coordinates} without coordinates)",
                f"left out (not a French département or collectivity): {skipped or 'none'}",
                f"rows (postcode, commune): {self.rows}",
                f"rows named officially: {self.official_names} "
                f"(the others: from La Poste's name); with La Poste's name as alias: "
                f"{self.aliases}",
                f"postcodes: {self.postcodes}",
                f"communes (INSEE codes): {self.communes}",
                f"rows given the coordinates of another row of their commune: "
                f"{self.coordinates_borrowed}",
                f"rows still without coordinates: {self.rows_without_coordinates}",
                f"table: {self.bytes} bytes",
            ]
        )


def departement_of(insee: str) -> str:
    """Département of an INSEE code: "11069" -> "11", "2A004" -> "2A", "97411" -> "974"."""
    return insee[:3] if insee.startswith(("97", "98")) else insee[:2]


def display_name(laposte_name: str) -> str:
    """Readable name from La Poste's upper-case one (good enough, not the official one).

    Words are capitalised and joined with hyphens, except after a leading article
    ("Le Havre", "La Haye-Pesnel") and before a number ("Paris 01"); "ST"/"STE" become
    "Saint"/"Sainte"; small words are lower-cased inside a name; elided letters get their
    apostrophe ("Villeneuve-d'Ascq", "L'Ile-d'Yeu", "Plouezoc'h").
    """
    tokens = laposte_name.split()
    words: list[str] = []
    pending = ""  # an elided letter waiting for the next word
    for index, token in enumerate(tokens):
        if token in _ELISIONS and index + 1 < len(tokens):
            elided = _ELISIONS[token]
            pending = elided.capitalize() if index == 0 else elided
            continue
        if token in _BRETON_H and words and words[-1].endswith("c") and not pending:
            words[-1] += "'h"  # Breton c'h: "PLOUEZOC H" -> "Plouezoc'h"
            continue
        if index == 0 or pending:
            word = _SAINTS.get(token, token[:1] + token[1:].lower())
        else:
            word = _SAINTS.get(token) or _SMALL_WORDS.get(token) or token[:1] + token[1:].lower()
        words.append(pending + word)
        pending = ""
    name = words[0]
    for index, word in enumerate(words[1:], start=1):
        after_article = index == 1 and tokens[0] in _ARTICLES
        name += (" " if after_article or word.isdigit() else "-") + word
    return name


def _coordinates(text: str, where: str) -> Coordinates | None:
    if not text.strip():
        return None
    lat_text, lon_text = text.split(",")
    lat, lon = round(float(lat_text), 5), round(float(lon_text), 5)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"{where}: coordinates out of range: {text!r}")
    return lat, lon


def official_names(communes: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """INSEE code -> official name, from ``communes.json`` entries (code, nom, type)."""
    ranked: dict[str, tuple[int, str]] = {}
    for commune in communes:
        kind = commune.get("type")
        if kind not in _OFFICIAL_TYPES:
            raise ValueError(f"communes.json: unexpected type {kind!r} for {commune.get('code')}")
        rank, name = _OFFICIAL_TYPES.index(kind), str(commune["nom"])
        code = str(commune["code"])
        if code not in ranked or rank < ranked[code][0]:
            ranked[code] = (rank, name)
    return {code: name for code, (_, name) in ranked.items()}


def derive(
    source_rows: Iterable[Sequence[str]],
    stats: Stats,
    official: Mapping[str, str] | None = None,
) -> list[Row]:
    """Table rows from the source rows (header excluded), sorted by (postcode, INSEE).

    ``official`` maps INSEE codes to official names (:func:`official_names`).
    """
    official = official or {}
    names: dict[tuple[str, str], str] = {}
    coordinates: dict[tuple[str, str], Coordinates | None] = {}
    by_insee: dict[str, Coordinates] = {}
    for number, fields in enumerate(source_rows, start=2):
        where = f"line {number}"
        if len(fields) != len(SOURCE_HEADER):
            raise ValueError(f"{where}: expected {len(SOURCE_HEADER)} fields, got {fields!r}")
        insee, laposte_name, postcode, _ligne5, _label, gps = (f.strip() for f in fields)
        stats.source_rows += 1
        point = _coordinates(gps, where)
        if point is None:
            stats.source_rows_without_coordinates += 1
        if len(postcode) != 5 or not postcode.isdigit() or len(insee) != 5:
            raise ValueError(f"{where}: bad postal or INSEE code: {fields!r}")
        if not is_departement(departement_of(insee)):
            stats.skipped[insee] = stats.skipped.get(insee, 0) + 1
            continue
        key = (postcode, insee)
        if names.setdefault(key, laposte_name) != laposte_name:
            raise ValueError(f"{where}: INSEE {insee} named {names[key]!r} and {laposte_name!r}")
        if coordinates.get(key) is None:
            coordinates[key] = point
        if point is not None:
            by_insee.setdefault(insee, point)
    rows: list[Row] = []
    for (postcode, insee), laposte_name in names.items():
        point = coordinates[(postcode, insee)]
        if point is None and insee in by_insee:
            point = by_insee[insee]
            stats.coordinates_borrowed += 1
        readable = display_name(laposte_name)
        if commune_key(readable) != commune_key(laposte_name):
            raise AssertionError(f"display name {readable!r} does not fold to {laposte_name!r}")
        name = official.get(insee, readable)
        alias = readable if commune_key(readable) != commune_key(name) else ""
        stats.official_names += insee in official
        stats.aliases += bool(alias)
        rows.append(Row(postcode, insee, name, departement_of(insee), point, alias))
    rows.sort(key=lambda row: (row.postcode, row.insee))
    stats.rows = len(rows)
    stats.postcodes = len({row.postcode for row in rows})
    stats.communes = len({row.insee for row in rows})
    stats.rows_without_coordinates = sum(1 for row in rows if row.coordinates is None)
    return rows


def encode(rows: Iterable[Row]) -> bytes:
    """The gzip'ed CSV: the same rows always give the same bytes (mtime 0, no file name)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(TABLE_HEADER.split(","))
    for row in rows:
        lat, lon = (
            (f"{row.coordinates[0]:.5f}", f"{row.coordinates[1]:.5f}")
            if row.coordinates
            else ("", "")
        )
        writer.writerow([row.postcode, row.insee, row.name, row.departement, lat, lon, row.alias])
    compressed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, compresslevel=9, mtime=0) as gz:
        gz.write(text.getvalue().encode("utf-8"))
    return compressed.getvalue()


def read_source(source: Path) -> list[list[str]]:
    with source.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != SOURCE_HEADER:
            raise ValueError(f"{source}: unexpected header {header!r}")
        return list(reader)


def read_communes(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8") as handle:
        return official_names(json.load(handle))


def build(source: Path, out: Path, communes: Path = DEFAULT_COMMUNES) -> Stats:
    """Read ``source`` and ``communes``, write the table to ``out`` (atomically), return the
    counts."""
    stats = Stats()
    data = encode(derive(read_source(source), stats, read_communes(communes)))
    stats.bytes = len(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, out)
    return stats


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="laposte_hexasmal.csv")
    parser.add_argument(
        "--communes", type=Path, default=DEFAULT_COMMUNES, help="decoupage-administratif's"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="postcodes.csv.gz to write")
    args = parser.parse_args(argv)
    source: Path = args.source
    communes: Path = args.communes
    out: Path = args.out
    for path, hint in ((source, ""), (communes, " (run npm ci)")):
        if not path.is_file():
            print(f"source not found: {path}{hint}", file=sys.stderr)
            return 2
    stats = build(source, out, communes)
    print(f"wrote {out}")
    print(stats.report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
