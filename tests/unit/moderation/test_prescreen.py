"""Pre-screen of a new post: what the moderator email points at, before a person decides."""

from __future__ import annotations

import csv
import gzip
import math
import re
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entraide.kernel.geo import haversine_km
from entraide.kernel.model import Activation, Category, Kind, Post, PostStatus
from entraide.kernel.text import fold
from entraide.moderation.distance import distance_to_departements
from entraide.moderation.insults import find_insults, parse_lexicon
from entraide.moderation.prescreen import FLAG_CODES, FLAG_LABELS, Flag, prescreen
from tests.factories import make_activation
from tests.paths import ROOT

REPO_ROOT = ROOT
INSULTS_FILE = REPO_ROOT / "src" / "entraide" / "data" / "insultes.txt"
POSTCODES_FILE = REPO_ROOT / "src" / "entraide" / "data" / "postcodes.csv.gz"

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
# Commune centroids of the packaged table (postcode, insee, name, département, lat, lon).
CARCASSONNE = ("11000", "11069", "Carcassonne", "11", 43.20938, 2.34399)
LIMOUX = ("11300", "11206", "Limoux", "11", 43.04993, 2.23959)
NARBONNE = ("11100", "11262", "Narbonne", "11", 43.16524, 3.02024)
QUILLAN = ("11500", "11304", "Quillan", "11", 42.87575, 2.19081)
CASTELNAUDARY = ("11400", "11076", "Castelnaudary", "11", 43.32302, 1.96074)
PERPIGNAN = ("66000", "66136", "Perpignan", "66", 42.69660, 2.89937)
STRASBOURG = ("67000", "67482", "Strasbourg", "67", 48.57127, 7.76753)

AUDE = make_activation(id="act-aude", opened_at=NOW)
BAS_RHIN = replace(AUDE, id="act-bas-rhin", departements=("67",), hashtag="#InondationsBasRhin")


def make_post(
    title: str = "Chambre libre pour une famille",
    description: str = "Nous avons une chambre au sec pour deux adultes et un enfant.",
    *,
    where: tuple[str, str, str, str, float, float] = CARCASSONNE,
    category: Category = Category.HEBERGEMENT,
    kind: Kind = Kind.OFFER,
    activation_id: str = "act-aude",
) -> Post:
    postcode, insee, commune, departement, lat, lon = where
    return Post(
        id="01JD0000000000000000000000",
        kind=kind,
        category=category,
        title=title,
        description=description,
        postcode=postcode,
        commune=commune,
        insee=insee,
        departement=departement,
        lat=lat,
        lon=lon,
        geohash="spf0000",
        activation_id=activation_id,
        status=PostStatus.PENDING,
        created_at=NOW,
    )


def screen(
    post: Post,
    *,
    activation: Activation | None = AUDE,
    recent_texts: tuple[str, ...] = (),
    distance_limit_km: float = 50.0,
) -> list[Flag]:
    return prescreen(
        post,
        activation=activation,
        recent_texts=recent_texts,
        distance_limit_km=distance_limit_km,
    )


def codes(flags: list[Flag]) -> list[str]:
    return [flag.code for flag in flags]


def only(flags: list[Flag], code: str) -> Flag:
    found = [flag for flag in flags if flag.code == code]
    assert len(found) == 1, flags
    return found[0]


def km_in(detail: str) -> float:
    """The distance quoted by an "eloigne" detail ("à environ 681 km", "3,4 km")."""
    match = re.search(r"environ ([0-9]+(?:,[0-9])?) km", detail)
    assert match, detail
    return float(match.group(1).replace(",", "."))


# --- clean posts ----------------------------------------------------------------------------

CLEAN_POSTS = [
    make_post(
        "Chambre libre pour une famille sinistrée",
        "Bonjour, nous avons une chambre au sec à l'étage avec deux lits, à 3,5 km du "
        "centre de Carcassonne. Possible pour une famille avec enfants jusqu'à la fin du "
        "mois, le temps que l'assurance passe. Le chat de la maison est gentil, "
        "prévenez-nous en cas d'allergie.",
        category=Category.HEBERGEMENT,
    ),
    make_post(
        "Trajets vers Narbonne avec un utilitaire",
        "J'ai un utilitaire de 12 m3 et je peux faire des allers-retours Narbonne - Limoux "
        "samedi et dimanche (départ 8h30). Pour déménager des meubles sauvés ou aller "
        "chercher des courses. M. Dupont, mon voisin, peut aider à porter.",
        where=NARBONNE,
        category=Category.TRANSPORT,
    ),
    make_post(
        "Besoin de bras pour déblayer la boue",
        "Le rez-de-chaussée a pris 1,20 m d'eau. Il faut sortir les meubles et la boue, "
        "nettoyer au Kärcher et jeter ce qui est perdu (la déchetterie est ouverte 7j/7). "
        "SOS : EDF doit passer mardi pour le compteur, l'électricité reste coupée. Prévoir "
        "bottes et gants, on fournit les pelles, le café et de quoi manger.",
        where=LIMOUX,
        kind=Kind.NEED,
        category=Category.NETTOYAGE,
    ),
    make_post(
        "Repas chauds pour les familles du quartier",
        "Avec l'association du quartier, nous préparons une quarantaine de repas chauds par "
        "jour : chili con carne, soupe de légumes, pâtes. Distribution à 12h et 19h devant "
        "la salle des fêtes, contre rien du tout. Prévenez-nous des allergies alimentaires "
        "et des régimes sans porc.",
        where=CASTELNAUDARY,
        category=Category.REPAS,
    ),
    make_post(
        "Garde de chiens et chats pendant les travaux",
        "Je peux accueillir deux chiens ou trois chats chez moi pendant deux semaines, "
        "jardin clos. Une chatte et ses chatons, c'est possible aussi. J'ai l'habitude "
        "(ancienne bénévole de la SPA de Concarneau). Amenez croquettes et carnet de santé.",
        where=QUILLAN,
        category=Category.GARDE,
    ),
]


@pytest.mark.parametrize("post", CLEAN_POSTS, ids=[post.category.value for post in CLEAN_POSTS])
def test_given_a_realistic_clean_post_when_prescreened_then_no_flag(post: Post) -> None:
    others = tuple(f"{other.title}\n{other.description}" for other in CLEAN_POSTS if other != post)
    assert screen(post, recent_texts=others) == []


def test_given_the_flag_codes_then_each_has_a_french_label() -> None:
    assert FLAG_CODES == ("coordonnees", "lien", "insulte", "majuscules", "doublon", "eloigne")
    assert set(FLAG_LABELS) == set(FLAG_CODES)
    assert FLAG_LABELS["coordonnees"] == "Coordonnées dans le texte"


def test_given_a_post_with_every_problem_when_prescreened_then_flags_follow_flag_codes() -> None:
    post = make_post(
        "URGENT : AIDEZ-NOUS VITE SVP",
        "Bande de connards, écrivez à jean@exemple.fr ou voyez exemple.fr/aide",
        where=STRASBOURG,
    )
    recent = (f"{post.title.lower()}\n{post.description}",)

    flags = screen(post, recent_texts=recent)

    assert codes(flags) == list(FLAG_CODES)
    assert all(flag.label == FLAG_LABELS[flag.code] for flag in flags)


# --- coordonnees ------------------------------------------------------------------------------


def test_given_email_and_phone_in_description_when_prescreened_then_coordonnees_says_which() -> (
    None
):
    post = make_post(description="Appelez le 06 12 34 56 78 ou écrivez à marie.dupont@exemple.fr")

    flag = only(screen(post), "coordonnees")

    assert flag.label == "Coordonnées dans le texte"
    assert flag.detail.startswith(
        "Une adresse e-mail et un numéro de téléphone figurent dans la description."
    )
    assert "06 12 34 56 78" not in flag.detail
    assert "marie.dupont" not in flag.detail
    # what the moderator can do: refuse with a reason (no one can edit a post)
    assert "refusez-la en l'indiquant dans le motif" in flag.detail
    assert "modifier" not in flag.detail


def test_given_a_phone_in_the_title_when_prescreened_then_coordonnees_names_the_title() -> None:
    post = make_post(title="Hébergement, appeler +33 6 12 34 56 78")

    flag = only(screen(post), "coordonnees")

    assert flag.detail.startswith("Un numéro de téléphone figure dans le titre.")


def test_given_an_email_with_digits_when_prescreened_then_no_phone_is_reported() -> None:
    post = make_post(description="Contact : jean.0612345678@exemple.fr")

    flag = only(screen(post), "coordonnees")

    assert flag.detail.startswith("Une adresse e-mail figure dans la description.")


def test_given_dates_hours_and_postcodes_when_prescreened_then_no_coordonnees() -> None:
    post = make_post(description="Le 12/11/2026 à 18h30, 11000 Carcassonne, lot n° 1234567.")

    assert "coordonnees" not in codes(screen(post))


FRENCH_PHONES = st.builds(
    lambda first, rest, sep: "0" + str(first) + "".join(sep + f"{n:02d}" for n in rest),
    st.integers(1, 9),
    st.lists(st.integers(0, 99), min_size=4, max_size=4),
    st.sampled_from(["", " ", ".", "-"]),
)
SAFE_TEXT = st.text(alphabet=st.characters(categories=["L", "Zs"]), max_size=40)


@settings(max_examples=200, deadline=None)
@given(
    before=SAFE_TEXT,
    contact=st.one_of(st.emails(), FRENCH_PHONES),
    after=SAFE_TEXT,
    in_title=st.booleans(),
)
def test_given_any_email_or_french_phone_in_the_text_then_coordonnees_without_quoting_it(
    before: str, contact: str, after: str, in_title: bool
) -> None:
    text = f"{before} {contact} {after}"
    post = make_post(title=text) if in_title else make_post(description=text)

    flags = screen(post)

    flag = only(flags, "coordonnees")
    assert contact not in flag.detail


# --- lien -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "domains"),
    [
        ("Infos sur https://www.mairie-carcassonne.fr/inondations", ["www.mairie-carcassonne.fr"]),
        ("Voir www.leboncoin.fr pour les meubles", ["www.leboncoin.fr"]),
        ("Inscriptions sur exemple.fr/truc merci", ["exemple.fr"]),
        ("Cagnotte : bit.ly/3abc et HTTP://Cagnotte.ORG", ["bit.ly", "cagnotte.org"]),
        ("Article sur clicanoo.re/inondations", ["clicanoo.re"]),
    ],
)
def test_given_a_link_when_prescreened_then_lien_quotes_the_domains(
    text: str, domains: list[str]
) -> None:
    flag = only(screen(make_post(description=text)), "lien")

    assert flag.label == "Lien dans le texte"
    assert re.findall(r"« ([^»]+) »", flag.detail) == domains
    assert flag.detail.endswith("dans la description.")


@pytest.mark.parametrize(
    "text",
    [
        "Code postal 11000, commune de Carcassonne.",
        "M. Dupont habite à 3.5 km, route de Limoux.",
        "Merci à tous.Nous passerons demain.De plus la route est coupée.",
        "Rendez-vous à Limoux.Info : la route de Quillan est coupée.",
        "On arrive vers 14.30, ça va ?",
        "Écrivez-moi : jean@exemple.fr",
        "Prix 2.50 €, version 1.2.3",
    ],
)
def test_given_numbers_names_or_an_email_when_prescreened_then_no_lien(text: str) -> None:
    assert "lien" not in codes(screen(make_post(description=text)))


# --- insulte --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("Quel con ce voisin", ["con"]),
        ("Les CONS de la mairie", ["CONS"]),
        ("Une bande d'enculés", ["enculés"]),
        ("Espèce d'encule", ["encule"]),
        ("Espèce d'ENCULÉ", ["ENCULÉ"]),
        ("Ces connasses et ces abrutis", ["connasses", "abrutis"]),
        ("Nique ta mère", ["Nique ta mère"]),
        ("fils de pute", ["fils de pute"]),
    ],
)
def test_given_an_insult_when_prescreened_then_insulte_quotes_the_words(
    text: str, quoted: list[str]
) -> None:
    flag = only(screen(make_post(description=text)), "insulte")

    assert flag.label == "Insulte ou grossièreté"
    assert re.findall(r"« ([^»]+) »", flag.detail) == quoted


def test_given_an_insult_in_the_title_when_prescreened_then_the_detail_names_the_title() -> None:
    flag = only(screen(make_post(title="Merde, tout est inondé")), "insulte")

    assert flag.detail == "Mot relevé dans le titre : « Merde »."


@pytest.mark.parametrize(
    "text",
    [
        "Contre le mur, le conseil municipal de Concarneau",
        "Un cône de chantier et une console",
        "Chili con carne pour 40 personnes",
        "Du pain bâtard et des croissants",
        "La chatte de la voisine, le ramassage des ordures, un cul-de-sac",
        "Une technique de pompage, des conduites d'eau",
    ],
)
def test_given_words_that_contain_or_resemble_an_insult_then_no_insulte(text: str) -> None:
    assert "insulte" not in codes(screen(make_post(description=text)))


def test_given_the_packaged_list_then_it_is_a_small_lowercase_list_with_a_provenance() -> None:
    text = INSULTS_FILE.read_text("utf-8")
    insults, harmless = parse_lexicon(text)

    assert 40 <= len(insults) <= 100
    assert "Provenance" in text
    assert all(
        line == line.lower() for line in text.splitlines() if line and not line.startswith("#")
    )
    assert ("con",) in insults
    assert ("chili", "con", "carne") in harmless


def test_given_an_expression_across_the_lines_then_each_word_is_still_found() -> None:
    assert find_insults("salaud\nsalope") == ["salaud", "salope"]


# --- majuscules -----------------------------------------------------------------------------


def test_given_a_title_in_capitals_when_prescreened_then_majuscules() -> None:
    flag = only(screen(make_post(title="URGENT BESOIN DE BRAS POUR DÉBLAYER")), "majuscules")

    assert flag.label == "Texte en majuscules"
    assert flag.detail == "Le titre est écrit en majuscules (100 % des lettres)."


def test_given_a_description_mostly_in_capitals_then_majuscules_with_the_share() -> None:
    # 16 capitals, 5 small letters: 76 %
    flag = only(screen(make_post(description="EAU COUPÉE À LIMOUX, aidez")), "majuscules")

    assert flag.detail == "La description est écrite en majuscules (76 % des lettres)."


@pytest.mark.parametrize(
    "title",
    [
        "SOS EDF",  # an acronym: 6 letters
        "AIDE URGENTE",  # 11 letters
        "EAU COUPÉE À LIMOUX aidez svp",  # 16 capitals of 24 letters: 66 %
        "Coupure EDF et SNCF à Limoux",
    ],
)
def test_given_short_or_mostly_lowercase_text_then_no_majuscules(title: str) -> None:
    assert "majuscules" not in codes(screen(make_post(title=title)))


# --- doublon --------------------------------------------------------------------------------

# Folded, "title description" is exactly 100 characters and holds no digit, so replacing
# its end by digits gives an exact similarity.
DUP_TITLE = "Chambre libre à Limoux"
DUP_DESCRIPTION = (
    "Une chambre au sec avec trois lits, pour une famille, jusqu'à la fin de ce mois !"
)
DUP_FOLDED = fold(f"{DUP_TITLE}\n{DUP_DESCRIPTION}")


def near_copy(kept: int) -> str:
    """A text of 100 folded characters sharing its first ``kept`` ones with the post."""
    return DUP_FOLDED[:kept] + ("0123456789" * 10)[: 100 - kept]


def test_given_the_duplicate_setup_then_the_text_has_100_folded_characters() -> None:
    assert len(DUP_FOLDED) == 100
    assert not re.search(r"[0-9]", DUP_FOLDED)


def test_given_the_same_text_recased_and_unaccented_then_doublon_at_100_percent() -> None:
    post = make_post(DUP_TITLE, DUP_DESCRIPTION)
    recent = (
        "CHAMBRE LIBRE A LIMOUX\nune chambre au sec avec trois lits pour une famille "
        "jusqu'a la fin de ce mois"
    )

    flag = only(screen(post, recent_texts=("Autre chose\nsans rapport", recent)), "doublon")

    assert flag.label == "Doublon probable"
    assert "identique à 100 %" in flag.detail


@pytest.mark.parametrize(("kept", "percent"), [(90, "90 %"), (85, "85 %")])
def test_given_a_recent_text_similar_enough_then_doublon_gives_the_percentage(
    kept: int, percent: str
) -> None:
    flag = only(
        screen(make_post(DUP_TITLE, DUP_DESCRIPTION), recent_texts=(near_copy(kept),)), "doublon"
    )

    assert f"semblable à {percent}" in flag.detail


@pytest.mark.parametrize("kept", [84, 50])
def test_given_a_recent_text_less_similar_then_no_doublon(kept: int) -> None:
    post = make_post(DUP_TITLE, DUP_DESCRIPTION)

    assert "doublon" not in codes(screen(post, recent_texts=(near_copy(kept),)))


def test_given_a_lightly_reworded_repost_then_doublon() -> None:
    post = make_post(DUP_TITLE, DUP_DESCRIPTION)
    recent = (
        "Chambre libre à Limoux\nUne chambre au sec avec 2 lits, pour une famille, "
        "jusqu'à la fin du mois."
    )

    assert "doublon" in codes(screen(post, recent_texts=(recent,)))


def test_given_no_recent_text_or_empty_ones_then_no_doublon() -> None:
    post = make_post(DUP_TITLE, DUP_DESCRIPTION)

    assert "doublon" not in codes(screen(post, recent_texts=()))
    assert "doublon" not in codes(screen(post, recent_texts=("", "\n")))


# --- eloigne --------------------------------------------------------------------------------


def test_given_a_post_in_carcassonne_for_an_aude_activation_then_no_eloigne() -> None:
    assert "eloigne" not in codes(screen(make_post(where=CARCASSONNE), activation=AUDE))


def test_given_carcassonne_for_a_bas_rhin_activation_then_eloigne_about_700_km() -> None:
    flag = only(screen(make_post(where=CARCASSONNE), activation=BAS_RHIN), "eloigne")

    assert flag.label == "Hors de la zone de l'activation"
    assert 650 <= km_in(flag.detail) <= 750
    assert "Bas-Rhin (67)" in flag.detail
    assert "Aude (11)" in flag.detail


def test_given_no_activation_then_eloigne() -> None:
    flag = only(screen(make_post(), activation=None), "eloigne")

    assert "aucune activation" in flag.detail
    assert "act-aude" in flag.detail


def test_given_a_post_just_across_the_border_then_eloigne_with_a_short_distance() -> None:
    # Perpignan (66) is about 23 km from the nearest commune of the Aude.
    flag = only(screen(make_post(where=PERPIGNAN), activation=AUDE), "eloigne")

    assert 15 <= km_in(flag.detail) <= 30
    assert "Pyrénées-Orientales (66)" in flag.detail


def test_given_a_post_of_the_zone_whose_position_is_far_then_eloigne() -> None:
    post = replace(make_post(where=STRASBOURG), departement="11", postcode="11000")

    flag = only(screen(post, activation=AUDE), "eloigne")

    assert km_in(flag.detail) > 600
    assert "limite : 50 km" in flag.detail


def test_given_a_smaller_limit_then_a_post_far_inside_the_zone_is_flagged() -> None:
    # Narbonne is in the Aude: a commune of the Aude is always within 0 km of it.
    post = make_post(where=NARBONNE)

    assert "eloigne" not in codes(screen(post, activation=AUDE, distance_limit_km=0.5))
    assert "eloigne" in codes(
        screen(post, activation=replace(AUDE, departements=("66",)), distance_limit_km=50.0)
    )


def test_given_an_activation_on_several_departements_then_the_nearest_counts() -> None:
    two = replace(AUDE, departements=("67", "11"))

    assert "eloigne" not in codes(screen(make_post(where=CARCASSONNE), activation=two))


def test_given_known_points_then_haversine_gives_the_great_circle_distance() -> None:
    # Carcassonne - Strasbourg: about 729 km as the crow flies.
    assert haversine_km(*CARCASSONNE[4:], *STRASBOURG[4:]) == pytest.approx(728.7, abs=1)
    assert haversine_km(43.0, 2.0, 43.0, 2.0) == 0.0
    # A degree of latitude is about 111.2 km.
    assert haversine_km(0.0, 0.0, 1.0, 0.0) == pytest.approx(111.2, abs=0.1)


@cache
def communes_by_departement() -> dict[str, list[tuple[float, float]]]:
    """Brute-force reference: every located row of the shipped table, by département."""
    found: dict[str, list[tuple[float, float]]] = {}
    with gzip.open(POSTCODES_FILE, "rt", encoding="utf-8") as table:
        for row in csv.DictReader(table):
            if row["lat"] and row["lon"]:
                found.setdefault(row["departement"], []).append(
                    (float(row["lat"]), float(row["lon"]))
                )
    return found


@settings(max_examples=60, deadline=None)
@given(
    lat=st.floats(-25.0, 55.0),
    lon=st.floats(-65.0, 60.0),
    departements=st.lists(
        st.sampled_from(["11", "66", "67", "2A", "29", "974", "971", "75"]),
        min_size=1,
        max_size=3,
    ),
)
def test_given_any_point_then_the_pruned_search_finds_the_brute_force_nearest_commune(
    lat: float, lon: float, departements: list[str]
) -> None:
    table = communes_by_departement()
    expected = min(
        haversine_km(lat, lon, c_lat, c_lon)
        for code in departements
        for c_lat, c_lon in table[code]
    )

    found = distance_to_departements(lat, lon, departements)

    assert found is not None
    assert math.isclose(found, expected, rel_tol=1e-9, abs_tol=1e-6)


def test_given_an_unknown_departement_then_the_distance_is_unknown_and_flagged() -> None:
    assert distance_to_departements(43.2, 2.3, ["99"]) is None
    activation = replace(AUDE, departements=("99",))

    flag = only(screen(make_post(), activation=activation), "eloigne")

    assert "Distance inconnue" in flag.detail
