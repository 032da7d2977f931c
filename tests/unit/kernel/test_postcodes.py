"""Offline geocoding: postal code (+ commune) -> Place, from the packaged La Poste table."""

from __future__ import annotations

import gzip
import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from entraide.kernel.departements import is_departement
from entraide.kernel.geo import geohash
from entraide.kernel.postcodes import (
    CommuneRequired,
    GeoError,
    NoCoordinates,
    Place,
    PostcodeDirectory,
    UnknownCommune,
    UnknownPostcode,
    commune_key,
    normalise_postcode,
    resolve,
)
from tests.paths import ROOT

REPO_ROOT = ROOT
SCRIPT = REPO_ROOT / "scripts" / "build_postcodes.py"
SHIPPED_TABLE = REPO_ROOT / "src" / "entraide" / "data" / "postcodes.csv.gz"


@pytest.fixture(scope="module")
def directory() -> PostcodeDirectory:
    return PostcodeDirectory.default()


@cache
def build_script() -> ModuleType:
    """scripts/build_postcodes.py, imported as a module."""
    spec = importlib.util.spec_from_file_location("build_postcodes", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


# --- départements: Corsica and overseas ---------------------------------------------------


@pytest.mark.parametrize(
    ("postcode", "commune", "insee", "name", "departement"),
    [
        ("20000", None, "2A004", "Ajaccio", "2A"),
        ("20200", "Bastia", "2B033", "Bastia", "2B"),
        ("97100", None, "97105", "Basse-Terre", "971"),
        ("97400", None, "97411", "Saint-Denis", "974"),
        ("97600", "Mamoudzou", "97611", "Mamoudzou", "976"),
        ("11000", "Carcassonne", "11069", "Carcassonne", "11"),
    ],
)
def test_resolve_gives_the_commune_and_its_departement(
    directory: PostcodeDirectory,
    postcode: str,
    commune: str | None,
    insee: str,
    name: str,
    departement: str,
) -> None:
    # Given a postal code (and the commune when the code covers several)
    # When resolving it
    place = directory.resolve(postcode, commune)
    # Then the commune, its INSEE code and its département come back, located
    assert (place.postcode, place.insee, place.commune) == (postcode, insee, name)
    assert place.departement == departement
    assert -90 <= place.lat <= 90
    assert -180 <= place.lon <= 180
    assert place.geohash == geohash(place.lat, place.lon)
    assert len(place.geohash) == 7


def test_the_departement_comes_from_the_insee_code_not_the_postal_code(
    directory: PostcodeDirectory,
) -> None:
    # Given 94390, the postal code of Paray-Vieille-Poste, a commune of Essonne (91)
    assert directory.resolve("94390").departement == "91"
    # And 05110, shared by communes of Hautes-Alpes (05) and Alpes-de-Haute-Provence (04)
    assert directory.resolve("05110", "Claret").departement == "04"
    assert directory.resolve("05110", "La Saulce").departement == "05"


def test_overseas_coordinates_are_in_the_right_ocean(directory: PostcodeDirectory) -> None:
    # Guadeloupe is west of Greenwich and north of the equator, La Réunion and Mayotte
    # east and south.
    basse_terre = directory.resolve("97100")
    saint_denis = directory.resolve("97400", "Saint-Denis")
    mamoudzou = directory.resolve("97600", "mamoudzou")
    assert basse_terre.lat > 0 > basse_terre.lon
    assert saint_denis.lat < 0 < saint_denis.lon
    assert mamoudzou.lat < 0 < mamoudzou.lon


# --- several communes under one postal code ---------------------------------------------


def test_a_code_with_several_communes_requires_the_commune(directory: PostcodeDirectory) -> None:
    # Given 11100, shared by Narbonne, Bages and Montredon-des-Corbières
    # When resolving it without a commune
    with pytest.raises(CommuneRequired) as raised:
        directory.resolve("11100")
    # Then the error lists the communes, sorted, and points at the commune field
    assert raised.value.choices == ("Bages", "Montredon-des-Corbières", "Narbonne")
    assert raised.value.field == "commune"
    assert raised.value.postcode == "11100"
    assert "Narbonne" in str(raised.value)
    assert isinstance(raised.value, GeoError)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    "written",
    [
        "montredon des corbieres",  # lower case, no accents, spaces
        "Montredon-des-Corbières",  # the official spelling, with its accent
        "MONTREDON DES CORBIERES",  # La Poste's spelling
        "  montredon-des-corbieres  ",
    ],
)
def test_the_commune_matches_whatever_its_case_accents_and_hyphens(
    directory: PostcodeDirectory, written: str
) -> None:
    place = directory.resolve("11100", written)
    assert place.insee == "11255"
    assert place.commune == "Montredon-des-Corbières"  # the official name, with its accent


@pytest.mark.parametrize(
    "written", ["St Denis les Bourg", "saint-denis-lès-bourg", "ST-DENIS-LES-BOURG"]
)
def test_saint_and_st_are_the_same(directory: PostcodeDirectory, written: str) -> None:
    # Given 01000: Bourg-en-Bresse and Saint-Denis-lès-Bourg
    assert directory.resolve("01000", written).commune == "Saint-Denis-lès-Bourg"


@pytest.mark.parametrize("written", ["Saint-Denis", "Sainte-Denis-les-Bourg", "Bourg"])
def test_a_partial_or_different_name_is_not_a_match(
    directory: PostcodeDirectory, written: str
) -> None:
    with pytest.raises(UnknownCommune):
        directory.resolve("01000", written)


def test_the_insee_code_selects_a_commune_too(directory: PostcodeDirectory) -> None:
    assert directory.resolve("11000", "11037").commune == "Berriac"


def test_communes_lists_the_places_of_a_code(directory: PostcodeDirectory) -> None:
    places = directory.communes("20200")
    assert [p.commune for p in places] == [
        "Bastia",
        "San-Martino-di-Lota",
        "Santa-Maria-di-Lota",
        "Ville-di-Pietrabugno",
    ]
    assert {p.departement for p in places} == {"2B"}
    assert all(isinstance(p, Place) for p in places)


# --- Paris, Lyon, Marseille -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("postcode", "insee", "name", "city"),
    [
        ("75001", "75101", "Paris 1er Arrondissement", "Paris"),
        ("69001", "69381", "Lyon 1er Arrondissement", "Lyon"),
        ("13001", "13201", "Marseille 1er Arrondissement", "Marseille"),
    ],
)
def test_arrondissements_accept_the_city_name_alone(
    directory: PostcodeDirectory, postcode: str, insee: str, name: str, city: str
) -> None:
    # Given the postal code of a first arrondissement
    for commune in (
        None,
        "",
        city,
        city.lower(),
        name,
        f"{city} 01",  # La Poste's spelling
        f"{city} 1er",
        f"{city} 1er arrondissement",
    ):
        # When resolving it with no commune, the city alone, or the arrondissement
        place = directory.resolve(postcode, commune)
        # Then it is the arrondissement
        assert (place.insee, place.commune) == (insee, name)
    assert directory.resolve(postcode).departement == postcode[:2]


def test_another_arrondissement_is_not_a_match(directory: PostcodeDirectory) -> None:
    with pytest.raises(UnknownCommune) as raised:
        directory.resolve("75001", "Paris 02")
    assert raised.value.choices == ("Paris 1er Arrondissement",)


def test_the_16th_arrondissement_has_two_postal_codes(directory: PostcodeDirectory) -> None:
    assert directory.resolve("75016").insee == directory.resolve("75116").insee == "75116"


# --- bad postal codes and communes ------------------------------------------------------


def test_an_unknown_postal_code_is_refused(directory: PostcodeDirectory) -> None:
    with pytest.raises(UnknownPostcode) as raised:
        directory.resolve("00000")
    assert raised.value.field == "postcode"
    assert not raised.value.malformed
    assert "00000" in raised.value.message


@pytest.mark.parametrize(
    "text", ["1100", "ABCDE", "", "   ", "110000", "11 00a", "11-000", "１１０００"]
)
def test_a_malformed_postal_code_is_refused(directory: PostcodeDirectory, text: str) -> None:
    # Given something that is not 5 digits (full-width digits included)
    with pytest.raises(UnknownPostcode) as raised:
        directory.resolve(text)
    # Then the error says so, in French, on the postcode field
    assert raised.value.malformed
    assert raised.value.field == "postcode"
    assert "5 chiffres" in str(raised.value)


@pytest.mark.parametrize("text", [" 11 000 ", "11000", "11 000", "\t11000\n", "11\u00a0000"])
def test_spaces_in_a_postal_code_are_tolerated(directory: PostcodeDirectory, text: str) -> None:
    assert normalise_postcode(text) == "11000"
    assert directory.resolve(text, "Carcassonne").postcode == "11000"


def test_an_unknown_commune_for_a_known_code_is_refused(directory: PostcodeDirectory) -> None:
    with pytest.raises(UnknownCommune) as raised:
        directory.resolve("11000", "Lyon")
    assert raised.value.choices == ("Berriac", "Carcassonne")
    assert raised.value.field == "commune"
    assert "Lyon" in str(raised.value)


def test_a_typo_in_the_commune_of_a_single_commune_code_is_refused(
    directory: PostcodeDirectory,
) -> None:
    # Given 20000, Ajaccio only / When the commune is mistyped / Then it is refused
    with pytest.raises(UnknownCommune) as raised:
        directory.resolve("20000", "Ajacio")
    assert raised.value.choices == ("Ajaccio",)


@pytest.mark.parametrize("commune", [None, "", "   "])
def test_no_commune_is_fine_for_a_single_commune_code(
    directory: PostcodeDirectory, commune: str | None
) -> None:
    assert directory.resolve("20000", commune).commune == "Ajaccio"


# --- rows without coordinates -------------------------------------------------------------


def test_a_commune_without_coordinates_cannot_be_resolved(directory: PostcodeDirectory) -> None:
    # Given 55000, whose commune Culey has no coordinates in La Poste's base
    with pytest.raises(NoCoordinates) as raised:
        directory.resolve("55000", "Culey")
    assert raised.value.field == "postcode"
    assert "Culey" in str(raised.value)
    # Then its neighbours under the same code still resolve
    assert directory.resolve("55000", "Bar-le-Duc").departement == "55"
    # And Culey is offered as a choice but not listed among the located places
    assert "Culey" in directory.commune_names("55000")
    assert "Culey" not in [p.commune for p in directory.communes("55000")]


@pytest.mark.parametrize("postcode", ["76420", "97133", "98714"])
def test_a_code_with_no_located_commune_raises_no_coordinates(
    directory: PostcodeDirectory, postcode: str
) -> None:
    # Bihorel (76), Saint-Barthélemy, Bora-Bora: no coordinates in the source
    with pytest.raises(NoCoordinates):
        directory.resolve(postcode)
    with pytest.raises(NoCoordinates):
        directory.communes(postcode)


# --- geohash, keys, loading -----------------------------------------------------------------


def test_geohash_of_a_known_point() -> None:
    # The reference example of the geohash article, and the Eiffel Tower
    assert geohash(57.64911, 10.40744, precision=11) == "u4pruydqqvj"
    assert geohash(57.64911, 10.40744) == "u4pruyd"
    assert geohash(48.85837, 2.29448) == "u09tunq"


def test_commune_key_ignores_case_accents_punctuation_and_saint() -> None:
    assert commune_key("Saint-Étienne") == commune_key("ST ETIENNE") == "SAINTETIENNE"
    assert commune_key("L'Haÿ-les-Roses") == commune_key("L HAY LES ROSES")
    assert commune_key("Cœuvres-et-Valsery") == commune_key("COEUVRES ET VALSERY")
    assert commune_key("Paris 1er") == commune_key("PARIS 01")


def test_the_directory_reads_nothing_before_the_first_lookup(tmp_path: Path) -> None:
    # Given a directory over a file that does not exist / Then creating it is fine
    directory = PostcodeDirectory(tmp_path / "missing.csv.gz")
    # And the first look-up is what reads the file
    with pytest.raises(FileNotFoundError):
        directory.resolve("11000")


def test_the_default_directory_is_shared_and_backs_resolve() -> None:
    assert PostcodeDirectory.default() is PostcodeDirectory.default()
    assert resolve("11000", "carcassonne") == PostcodeDirectory.default().resolve(
        "11000", "Carcassonne"
    )


def test_a_directory_over_a_small_table(tmp_path: Path) -> None:
    # Given a table of three postal codes written by the build script
    script = build_script()
    rows = [
        script.Row("01000", "01053", "Bourg-en-Bresse", "01", (46.20515, 5.24602)),
        script.Row("11000", "11037", "Berriac", "11", (43.2141, 2.40773)),
        script.Row("11000", "11069", "Carcassonne", "11", (43.20938, 2.34399)),
        script.Row("98714", "98735", "Papeete", "987", None),
    ]
    table = tmp_path / "postcodes.csv.gz"
    table.write_bytes(script.encode(rows))
    directory = PostcodeDirectory(table)
    # Then the first and last codes are found, and codes in between are unknown
    assert directory.postcodes() == ("01000", "11000", "98714")
    assert directory.resolve("01000").commune == "Bourg-en-Bresse"
    assert directory.commune_names("11000") == ("Berriac", "Carcassonne")
    with pytest.raises(NoCoordinates):
        directory.resolve("98714")
    for unknown in ("00000", "05000", "11001", "99999"):
        with pytest.raises(UnknownPostcode):
            directory.resolve(unknown)


def test_a_table_with_another_header_is_refused(tmp_path: Path) -> None:
    table = tmp_path / "bad.csv.gz"
    table.write_bytes(gzip.compress(b"code,name\n11000,Carcassonne\n"))
    with pytest.raises(ValueError, match="header"):
        PostcodeDirectory(table).resolve("11000")


# --- the shipped table ----------------------------------------------------------------------


def test_the_shipped_table_is_what_the_script_derives(tmp_path: Path) -> None:
    # Given La Poste's base (outside the repository)
    script = build_script()
    source: Path = script.DEFAULT_SOURCE
    if not source.is_file():
        pytest.skip(f"La Poste source {source} absent: cannot rebuild the table to compare")
    if not script.DEFAULT_COMMUNES.is_file():  # make test installs it (npm ci)
        pytest.skip(f"official names {script.DEFAULT_COMMUNES} absent: run npm ci")
    # When rebuilding the table into a temporary file
    out = tmp_path / "postcodes.csv.gz"
    stats = script.build(source, out)
    # Then its content is the shipped table's, byte for byte
    shipped = gzip.decompress(SHIPPED_TABLE.read_bytes())
    assert gzip.decompress(out.read_bytes()) == shipped
    assert stats.rows == shipped.count(b"\n") - 1
    # And so are the compressed bytes: the build is deterministic (gzip mtime 0)
    assert out.read_bytes() == SHIPPED_TABLE.read_bytes(), (
        "same CSV, different gzip bytes: this zlib compresses differently from the one "
        "that built the shipped file; rerun scripts/build_postcodes.py"
    )


def test_the_build_is_deterministic(tmp_path: Path) -> None:
    script = build_script()
    rows = [script.Row("11000", "11069", "Carcassonne", "11", (43.20938, 2.34399))]
    first, second = script.encode(rows), script.encode(rows)
    assert first == second
    assert first[4:8] == b"\0\0\0\0"  # gzip mtime 0


@pytest.mark.parametrize(
    ("laposte", "display"),
    [
        ("ST ETIENNE", "Saint-Etienne"),
        ("LE HAVRE", "Le Havre"),
        ("LA HAYE PESNEL", "La Haye-Pesnel"),
        ("VILLENEUVE D ASCQ", "Villeneuve-d'Ascq"),
        ("L ILE D YEU", "L'Ile-d'Yeu"),
        ("PONT A MOUSSON", "Pont-à-Mousson"),
        ("PLOUEZOC H", "Plouezoc'h"),
        ("ST M HERVE", "Saint-M'Herve"),
        ("PARIS 01", "Paris 01"),
        ("HAUTEVILLE SUR MER", "Hauteville-sur-Mer"),
        ("Y", "Y"),
    ],
)
def test_display_names_are_readable(laposte: str, display: str) -> None:
    name = build_script().display_name(laposte)
    assert name == display
    assert commune_key(name) == commune_key(laposte)


@pytest.mark.parametrize(
    ("insee", "departement"),
    [("11069", "11"), ("2A004", "2A"), ("2B033", "2B"), ("97411", "974"), ("98735", "987")],
)
def test_the_departement_comes_from_the_insee_code(insee: str, departement: str) -> None:
    assert build_script().departement_of(insee) == departement


# --- property -------------------------------------------------------------------------------


@cache
def all_postcodes() -> tuple[str, ...]:
    return PostcodeDirectory.default().postcodes()


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_every_resolved_departement_is_a_known_code(
    directory: PostcodeDirectory, data: st.DataObject
) -> None:
    # Given any postal code of the table, and each of its communes
    postcode = data.draw(st.sampled_from(all_postcodes()), label="postcode")
    for name in directory.commune_names(postcode):
        # When resolving it
        try:
            place = directory.resolve(postcode, name)
        except NoCoordinates:
            continue
        # Then its département is one the départements module knows
        assert is_departement(place.departement), place
        assert place.postcode == postcode
        assert place.commune == name


# --- official names ---------------------------------------------------------------------------


def test_places_carry_their_official_names_with_accents(directory: PostcodeDirectory) -> None:
    # Given La Poste's "TREBES" and INSEE's "Trèbes" (11397)
    # When the postal code is resolved, however the person typed the commune
    for written in ("Trebes", "TRÈBES", "trèbes"):
        # Then the place is named as the official geography names it
        assert directory.resolve("11800", written).commune == "Trèbes"
    assert directory.resolve("11200", "lezignan corbieres").commune == "Lézignan-Corbières"


def test_a_renamed_commune_still_answers_to_la_postes_name(directory: PostcodeDirectory) -> None:
    # Given 16330: La Poste's "VARS", merged since into "La Boixe" (16393)
    # When the person types either name / Then it is the commune, under its official name
    assert directory.resolve("16330", "Vars").commune == "La Boixe"
    assert directory.resolve("16330", "La Boixe").insee == "16393"


def test_official_names_prefer_the_current_commune_over_a_delegated_one() -> None:
    script = build_script()
    # Given a commune nouvelle and its chef-lieu délégué under one INSEE code
    communes = [
        {"code": "14011", "nom": "Anctoville", "type": "commune-deleguee"},
        {"code": "14011", "nom": "Aurseulles", "type": "commune-actuelle"},
        {"code": "75101", "nom": "Paris 1er Arrondissement", "type": "arrondissement-municipal"},
    ]
    # Then the code is named after the current commune
    assert script.official_names(communes) == {
        "14011": "Aurseulles",
        "75101": "Paris 1er Arrondissement",
    }


def test_a_row_takes_the_official_name_and_keeps_la_postes_when_it_differs() -> None:
    script = build_script()
    source = [
        ["11397", "TREBES", "11800", "", "TREBES", "43.20546,2.45954"],
        ["16393", "VARS", "16330", "", "VARS", "45.7617,0.1277"],
        ["99999", "NOWHERE", "11000", "", "X", ""],  # not a département: left out
        ["11069", "CARCASSONNE", "11000", "", "CARCASSONNE", "43.2,2.3"],
    ]
    official = {"11397": "Trèbes", "16393": "La Boixe"}
    rows = script.derive(source, script.Stats(), official)
    assert [(row.insee, row.name, row.alias) for row in rows] == [
        ("11069", "Carcassonne", ""),  # not in the official list: La Poste's, made readable
        ("11397", "Trèbes", ""),  # folds to La Poste's name: no alias
        ("16393", "La Boixe", "Vars"),
    ]
