"""French words of the tweets: a département with its article and preposition, lists, plurals.

"dans l'Aude", "en Gironde", "à La Réunion"; "l'Aude", "le Gard", "Paris". The "near me"
page reuses :func:`in_departement` for the département a digest's link names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Final

from entraide.kernel.departements import UnknownDepartement, departement_name
from entraide.publishing.tweet_text import scrub

# Article and preposition of each département and overseas collectivity, as French
# writes them: "dans l'Aude", "dans le Gard", "dans les Landes", "dans la Somme",
# "en Gironde", "à La Réunion"; "pour l'Aude", "pour la Gironde", "pour Paris".
_L, _LE, _LA, _LES, _NONE = "l'", "le ", "la ", "les ", ""
_DEPARTEMENT_GRAMMAR: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        "01": (_L, "dans"),
        "02": (_L, "dans"),
        "03": (_L, "dans"),
        "04": (_LES, "dans"),
        "05": (_LES, "dans"),
        "06": (_LES, "dans"),
        "07": (_L, "en"),
        "08": (_LES, "dans"),
        "09": (_L, "en"),
        "10": (_L, "dans"),
        "11": (_L, "dans"),
        "12": (_L, "dans"),
        "13": (_LES, "dans"),
        "14": (_LE, "dans"),
        "15": (_LE, "dans"),
        "16": (_LA, "en"),
        "17": (_LA, "en"),
        "18": (_LE, "dans"),
        "19": (_LA, "en"),
        "2A": (_LA, "en"),
        "2B": (_LA, "en"),
        "21": (_LA, "en"),
        "22": (_LES, "dans"),
        "23": (_LA, "dans"),
        "24": (_LA, "en"),
        "25": (_LE, "dans"),
        "26": (_LA, "dans"),
        "27": (_L, "dans"),
        "28": (_L, "en"),
        "29": (_LE, "dans"),
        "30": (_LE, "dans"),
        "31": (_LA, "en"),
        "32": (_LE, "dans"),
        "33": (_LA, "en"),
        "34": (_L, "dans"),
        "35": (_L, "en"),
        "36": (_L, "dans"),
        "37": (_L, "en"),
        "38": (_L, "en"),
        "39": (_LE, "dans"),
        "40": (_LES, "dans"),
        "41": (_LE, "dans"),
        "42": (_LA, "dans"),
        "43": (_LA, "en"),
        "44": (_LA, "en"),
        "45": (_LE, "dans"),
        "46": (_LE, "dans"),
        "47": (_LE, "dans"),
        "48": (_LA, "en"),
        "49": (_LE, "dans"),
        "50": (_LA, "dans"),
        "51": (_LA, "dans"),
        "52": (_LA, "en"),
        "53": (_LA, "en"),
        "54": (_LA, "en"),
        "55": (_LA, "dans"),
        "56": (_LE, "dans"),
        "57": (_LA, "en"),
        "58": (_LA, "dans"),
        "59": (_LE, "dans"),
        "60": (_L, "dans"),
        "61": (_L, "dans"),
        "62": (_LE, "dans"),
        "63": (_LE, "dans"),
        "64": (_LES, "dans"),
        "65": (_LES, "dans"),
        "66": (_LES, "dans"),
        "67": (_LE, "dans"),
        "68": (_LE, "dans"),
        "69": (_LE, "dans"),
        "70": (_LA, "en"),
        "71": (_LA, "en"),
        "72": (_LA, "dans"),
        "73": (_LA, "en"),
        "74": (_LA, "en"),
        "75": (_NONE, "à"),
        "76": (_LA, "en"),
        "77": (_LA, "en"),
        "78": (_LES, "dans"),
        "79": (_LES, "dans"),
        "80": (_LA, "dans"),
        "81": (_LE, "dans"),
        "82": (_LE, "dans"),
        "83": (_LE, "dans"),
        "84": (_LE, "dans"),
        "85": (_LA, "en"),
        "86": (_LA, "dans"),
        "87": (_LA, "en"),
        "88": (_LES, "dans"),
        "89": (_L, "dans"),
        "90": (_LE, "dans"),
        "91": (_L, "en"),
        "92": (_LES, "dans"),
        "93": (_LA, "en"),
        "94": (_LE, "dans"),
        "95": (_LE, "dans"),
        "971": (_LA, "en"),
        "972": (_LA, "en"),
        "973": (_LA, "en"),
        "974": (_NONE, "à"),  # "à La Réunion": the article is part of the name
        "976": (_NONE, "à"),
        "975": (_NONE, "à"),
        "977": (_NONE, "à"),
        "978": (_NONE, "à"),
        "986": (_NONE, "à"),
        "987": (_LA, "en"),
        "988": (_LA, "en"),
        "989": (_NONE, "à"),
    }
)


def departement_with_article(code: str) -> str:
    """ "11" -> "l'Aude", "30" -> "le Gard", "13" -> "les Bouches-du-Rhône", "75" -> "Paris".

    An unknown code gives "le département <code>".
    """
    try:
        name = departement_name(code)
    except UnknownDepartement:
        return f"le département {scrub(str(code))}"
    grammar = _DEPARTEMENT_GRAMMAR.get(code)
    if grammar is None:
        return f"le département {name}"
    return grammar[0] + name


def in_departement(code: str) -> str:
    """ "11" -> "dans l'Aude", "33" -> "en Gironde", "974" -> "à La Réunion"."""
    try:
        name = departement_name(code)
    except UnknownDepartement:
        return f"dans le département {scrub(str(code))}"
    if code not in _DEPARTEMENT_GRAMMAR:
        return f"dans le département {name}"
    article, preposition = _DEPARTEMENT_GRAMMAR[code]
    if preposition == "en":
        return f"en {name}"
    return f"{preposition} {article}{name}"


def enumerate_fr(items: Sequence[str]) -> str:
    """["a"] -> "a"; ["a", "b", "c"] -> "a, b et c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " et " + items[-1]


def plural(count: int, singular: str, plural: str) -> str:
    return singular if count == 1 else plural
