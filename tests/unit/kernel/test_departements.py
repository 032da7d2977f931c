"""The table of départements and its helpers (codes, names, hashtags)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from entraide.kernel.departements import (
    COLLECTIVITES_OUTRE_MER,
    DEPARTEMENTS,
    UnknownDepartement,
    departement_name,
    hashtag_name,
    is_departement,
    normalise_departement,
)

ALL_CODES = (*DEPARTEMENTS, *COLLECTIVITES_OUTRE_MER)


def test_the_table_has_the_101_departements() -> None:
    # Given the table / Then: 01-95 without 20, 2A and 2B, and the five overseas départements
    expected = {f"{n:02d}" for n in range(1, 96) if n != 20} | {"2A", "2B"}
    expected |= {"971", "972", "973", "974", "976"}
    assert set(DEPARTEMENTS) == expected
    assert len(DEPARTEMENTS) == 101


def test_overseas_collectivities_are_apart_from_the_departements() -> None:
    assert set(COLLECTIVITES_OUTRE_MER) == {"975", "977", "978", "986", "987", "988", "989"}
    assert not set(COLLECTIVITES_OUTRE_MER) & set(DEPARTEMENTS)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("01", "Ain"),
        ("11", "Aude"),
        ("2A", "Corse-du-Sud"),
        ("2B", "Haute-Corse"),
        ("13", "Bouches-du-Rhône"),
        ("22", "Côtes-d'Armor"),
        ("66", "Pyrénées-Orientales"),
        ("90", "Territoire de Belfort"),
        ("971", "Guadeloupe"),
        ("972", "Martinique"),
        ("973", "Guyane"),
        ("974", "La Réunion"),
        ("976", "Mayotte"),
        ("987", "Polynésie française"),
    ],
)
def test_departement_name_gives_the_french_name_with_accents(code: str, name: str) -> None:
    # When looking the code up / Then the French name comes back
    assert departement_name(code) == name


@pytest.mark.parametrize("code", ["20", "00", "96", "975 ", "1", "2a", "", "Aude"])
def test_departement_name_rejects_what_is_not_a_canonical_code(code: str) -> None:
    # Given a code that is not canonical / When looking it up
    with pytest.raises(UnknownDepartement) as raised:
        departement_name(code)
    # Then the error is both a KeyError and a ValueError, with a French message
    assert isinstance(raised.value, KeyError)
    assert isinstance(raised.value, ValueError)
    assert "Département inconnu" in str(raised.value)
    assert not is_departement(code)


def test_is_departement_accepts_every_code_of_the_tables() -> None:
    assert all(is_departement(code) for code in ALL_CODES)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("11", "11"),
        ("1", "01"),
        ("9", "09"),
        ("01", "01"),
        ("2a", "2A"),
        ("2B", "2B"),
        (" 974 ", "974"),
        ("976", "976"),
        ("975", "975"),
        ("aude", "11"),
        ("Pyrénées-Orientales", "66"),
        ("pyrenees orientales", "66"),
        ("cotes d'armor", "22"),
        ("la reunion", "974"),
        ("Réunion", "974"),
    ],
)
def test_normalise_departement_accepts_what_people_type(text: str, code: str) -> None:
    assert normalise_departement(text) == code


@pytest.mark.parametrize("text", ["", "   ", "0", "00", "96", "2C", "9711", "abc", "11a", "970"])
def test_normalise_departement_rejects_bad_input_with_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match=r"[Dd]épartement") as raised:
        normalise_departement(text)
    assert isinstance(raised.value, UnknownDepartement)


def test_normalise_departement_explains_that_corsica_is_2a_or_2b() -> None:
    # Given the old Corsican code / Then the message tells which codes to use
    with pytest.raises(UnknownDepartement, match=r"2A .*2B"):
        normalise_departement("20")


@pytest.mark.parametrize(
    ("code", "hashtag"),
    [
        ("11", "Aude"),
        ("66", "PyreneesOrientales"),
        ("22", "CotesDArmor"),
        ("974", "LaReunion"),
        ("90", "TerritoireDeBelfort"),
        ("95", "ValDOise"),
        ("2A", "CorseDuSud"),
        ("93", "SeineSaintDenis"),
        ("987", "PolynesieFrancaise"),
    ],
)
def test_hashtag_name_is_camel_case_without_accents_or_punctuation(code: str, hashtag: str) -> None:
    assert hashtag_name(code) == hashtag


def test_every_hashtag_is_ascii_camel_case_and_unique() -> None:
    hashtags = [hashtag_name(code) for code in ALL_CODES]
    assert all(re.fullmatch(r"[A-Z][A-Za-z0-9]*", tag) for tag in hashtags)
    assert len(set(hashtags)) == len(hashtags)


def test_hashtag_name_of_an_unknown_code_raises() -> None:
    with pytest.raises(UnknownDepartement):
        hashtag_name("20")


@given(st.sampled_from(ALL_CODES))
def test_every_code_and_name_normalises_back_to_its_code(code: str) -> None:
    # Given any code of the tables / When written in lower case, or as its name
    # Then normalisation gives the canonical code back
    assert normalise_departement(code.lower()) == code
    assert normalise_departement(departement_name(code)) == code
    assert normalise_departement(departement_name(code).upper()) == code


@given(st.text(max_size=30))
def test_normalise_departement_gives_a_known_code_or_a_value_error(text: str) -> None:
    # Given any text / When normalised / Then a valid code, or UnknownDepartement
    try:
        code = normalise_departement(text)
    except UnknownDepartement:
        return
    assert is_departement(code)
