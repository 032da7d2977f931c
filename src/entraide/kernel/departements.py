"""French départements (and the overseas collectivities found in the postal data), as data.

``DEPARTEMENTS`` holds the 101 départements: 01 to 95 with Corsica split into 2A and 2B
(there is no "20"), then the five overseas départements 971, 972, 973, 974 and 976.

``COLLECTIVITES_OUTRE_MER`` holds the overseas collectivities that have no département
but do have postal codes and a three-character INSEE prefix in La Poste's base
(975 Saint-Pierre-et-Miquelon, 977 Saint-Barthélemy, 978 Saint-Martin, 986 Wallis-et-Futuna,
987 Polynésie française, 988 Nouvelle-Calédonie, 989 Clipperton). The postal-code table
(:mod:`entraide.kernel.postcodes`) keeps them, so the helpers below accept both tables: every
``departement`` a :class:`entraide.kernel.postcodes.Place` carries is a code they know. Test
``code in DEPARTEMENTS`` when only the 101 départements will do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from entraide.kernel.text import strip_accents

DEPARTEMENTS: Mapping[str, str] = MappingProxyType(
    {
        "01": "Ain",
        "02": "Aisne",
        "03": "Allier",
        "04": "Alpes-de-Haute-Provence",
        "05": "Hautes-Alpes",
        "06": "Alpes-Maritimes",
        "07": "Ardèche",
        "08": "Ardennes",
        "09": "Ariège",
        "10": "Aube",
        "11": "Aude",
        "12": "Aveyron",
        "13": "Bouches-du-Rhône",
        "14": "Calvados",
        "15": "Cantal",
        "16": "Charente",
        "17": "Charente-Maritime",
        "18": "Cher",
        "19": "Corrèze",
        "2A": "Corse-du-Sud",
        "2B": "Haute-Corse",
        "21": "Côte-d'Or",
        "22": "Côtes-d'Armor",
        "23": "Creuse",
        "24": "Dordogne",
        "25": "Doubs",
        "26": "Drôme",
        "27": "Eure",
        "28": "Eure-et-Loir",
        "29": "Finistère",
        "30": "Gard",
        "31": "Haute-Garonne",
        "32": "Gers",
        "33": "Gironde",
        "34": "Hérault",
        "35": "Ille-et-Vilaine",
        "36": "Indre",
        "37": "Indre-et-Loire",
        "38": "Isère",
        "39": "Jura",
        "40": "Landes",
        "41": "Loir-et-Cher",
        "42": "Loire",
        "43": "Haute-Loire",
        "44": "Loire-Atlantique",
        "45": "Loiret",
        "46": "Lot",
        "47": "Lot-et-Garonne",
        "48": "Lozère",
        "49": "Maine-et-Loire",
        "50": "Manche",
        "51": "Marne",
        "52": "Haute-Marne",
        "53": "Mayenne",
        "54": "Meurthe-et-Moselle",
        "55": "Meuse",
        "56": "Morbihan",
        "57": "Moselle",
        "58": "Nièvre",
        "59": "Nord",
        "60": "Oise",
        "61": "Orne",
        "62": "Pas-de-Calais",
        "63": "Puy-de-Dôme",
        "64": "Pyrénées-Atlantiques",
        "65": "Hautes-Pyrénées",
        "66": "Pyrénées-Orientales",
        "67": "Bas-Rhin",
        "68": "Haut-Rhin",
        "69": "Rhône",
        "70": "Haute-Saône",
        "71": "Saône-et-Loire",
        "72": "Sarthe",
        "73": "Savoie",
        "74": "Haute-Savoie",
        "75": "Paris",
        "76": "Seine-Maritime",
        "77": "Seine-et-Marne",
        "78": "Yvelines",
        "79": "Deux-Sèvres",
        "80": "Somme",
        "81": "Tarn",
        "82": "Tarn-et-Garonne",
        "83": "Var",
        "84": "Vaucluse",
        "85": "Vendée",
        "86": "Vienne",
        "87": "Haute-Vienne",
        "88": "Vosges",
        "89": "Yonne",
        "90": "Territoire de Belfort",
        "91": "Essonne",
        "92": "Hauts-de-Seine",
        "93": "Seine-Saint-Denis",
        "94": "Val-de-Marne",
        "95": "Val-d'Oise",
        "971": "Guadeloupe",
        "972": "Martinique",
        "973": "Guyane",
        "974": "La Réunion",
        "976": "Mayotte",
    }
)

COLLECTIVITES_OUTRE_MER: Mapping[str, str] = MappingProxyType(
    {
        "975": "Saint-Pierre-et-Miquelon",
        "977": "Saint-Barthélemy",
        "978": "Saint-Martin",
        "986": "Wallis-et-Futuna",
        "987": "Polynésie française",
        "988": "Nouvelle-Calédonie",
        "989": "Clipperton",
    }
)

# Every code the helpers accept: the 101 départements, then the collectivities.
_NAMES: Mapping[str, str] = MappingProxyType({**DEPARTEMENTS, **COLLECTIVITES_OUTRE_MER})


class UnknownDepartement(ValueError, KeyError):
    """Not a département code (nor an overseas collectivity). ``message`` is French.

    A :class:`ValueError` for input validation, and a :class:`KeyError` because it is
    also a failed look-up in the table.
    """

    def __init__(self, code: object, message: str | None = None) -> None:
        text = message or f"Département inconnu : « {code} »."
        super().__init__(text)
        self.code = code
        self.message = text

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


def _name_key(text: str) -> str:
    """Accents, case, spaces, hyphens and apostrophes ignored: "Côtes-d'Armor" -> "COTESDARMOR"."""
    return re.sub(r"[^A-Z0-9]+", "", strip_accents(text).upper())


_BY_NAME: Mapping[str, str] = MappingProxyType(
    {_name_key(name): code for code, name in _NAMES.items()} | {"REUNION": "974"}
)


def is_departement(code: str) -> bool:
    """Whether ``code`` is a canonical code: "01".."95" (2A/2B, no "20"), 971-976, 975-989.

    Exact: "1" or "2a" are not canonical (see :func:`normalise_departement`).
    """
    return code in _NAMES


def departement_name(code: str) -> str:
    """French name, with accents: "11" -> "Aude", "974" -> "La Réunion"."""
    try:
        return _NAMES[code]
    except (KeyError, TypeError):
        raise UnknownDepartement(code) from None


def normalise_departement(text: str) -> str:
    """Canonical code from what a person types.

    "11" -> "11", "1" -> "01", "2a" -> "2A", " 974 " -> "974"; the name works too
    ("aude", "Pyrénées-Orientales", "la reunion"). Raises :class:`UnknownDepartement`
    (a :class:`ValueError`) otherwise, with a French message.
    """
    if not isinstance(text, str):
        raise UnknownDepartement(text, "Le département doit être un code ou un nom.")
    code = text.strip().upper()
    if not code:
        raise UnknownDepartement(text, "Le département est obligatoire.")
    if re.fullmatch(r"[1-9]", code):
        code = "0" + code
    if code in _NAMES:
        return code
    if code == "20":
        raise UnknownDepartement(
            text,
            "La Corse n'a plus de département 20 : indiquez 2A (Corse-du-Sud) ou 2B (Haute-Corse).",
        )
    by_name = _BY_NAME.get(_name_key(text))
    if by_name is not None:
        return by_name
    raise UnknownDepartement(text)


def hashtag_name(code: str) -> str:
    """CamelCase name for a hashtag, no accents, spaces, hyphens or apostrophes.

    "11" -> "Aude", "66" -> "PyreneesOrientales", "22" -> "CotesDArmor",
    "974" -> "LaReunion".
    """
    words = re.split(r"[^A-Za-z0-9]+", strip_accents(departement_name(code)))
    return "".join(word[:1].upper() + word[1:] for word in words if word)
