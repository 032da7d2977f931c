"""Tweet texts: French wording, 280 characters as X counts them, nothing private inside."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from entraide.kernel.departements import COLLECTIVITES_OUTRE_MER, DEPARTEMENTS
from entraide.kernel.model import Category, Hazard, Kind, Post, PostStatus
from entraide.privacy.detection import EMAIL_PATTERN, PHONE_PATTERN, link_domains
from entraide.publishing.french import departement_with_article, in_departement
from entraide.publishing.tweet_text import (
    SCRUBBED,
    TWEET_MAX,
    TweetTooLong,
    find_links,
    fits,
    scrub,
    weighted_length,
)
from entraide.publishing.tweets import (
    CATEGORY_EMOJI,
    DIGEST_LABELS,
    activation_tweet,
    digest_tweet,
    post_tweet,
)
from tests.factories import make_activation

URL = "https://shareentraide.fr/annonces/01JD7Q3ZC9K2M4N6P8R0S2T4V6"
HOME = "https://shareentraide.fr/"
NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)

AUDE = make_activation(id="01JACT0000000000000000AUDE", opened_at=NOW)


def make_post(**changes: object) -> Post:
    post = Post(
        id="01JD7Q3ZC9K2M4N6P8R0S2T4V6",
        kind=Kind.OFFER,
        category=Category.HEBERGEMENT,
        title="Chambre au sec pour une famille",
        description="Deux lits, accès facile. Appelez le 06 12 34 56 78.",
        postcode="11800",
        commune="Trèbes",
        insee="11397",
        departement="11",
        lat=43.20546,
        lon=2.45954,
        geohash="sp9tzcq",
        activation_id=AUDE.id,
        status=PostStatus.APPROVED,
        created_at=NOW,
    )
    return replace(post, **changes)  # type: ignore[arg-type]


def excerpt_of(tweet: str) -> str:
    """The quoted title of a post tweet (third line, between « and »)."""
    line = tweet.split("\n")[2]
    assert line.startswith("« ")
    assert line.endswith(" »")
    return line[2:-2]


def assert_clean(tweet: str, url: str = URL) -> None:
    """Fits, and its only link is ``url``: no email, phone number, other link or mention."""
    parsed_ok = fits(tweet)
    assert parsed_ok, (weighted_length(tweet), tweet)
    assert weighted_length(tweet) <= TWEET_MAX
    assert EMAIL_PATTERN.search(tweet) is None, tweet
    assert PHONE_PATTERN.search(tweet) is None, tweet
    assert link_domains(tweet) == ["shareentraide.fr"], tweet
    assert find_links(tweet) == ["shareentraide.fr", url], tweet
    assert re.search(r"(?<!\w)[@＠]\w", tweet) is None, tweet


# --- counting ------------------------------------------------------------------------------


def test_weighted_length_counts_as_x_does() -> None:
    assert weighted_length("Trèbes") == 6  # accented letters count 1
    assert weighted_length("…") == 2  # U+2026 is outside X's light ranges
    assert weighted_length("➜") == 2
    assert weighted_length("—") == 1
    assert weighted_length("🏠") == 2
    assert weighted_length("👨‍👩‍👧") == 2  # one emoji, several code points
    assert weighted_length(URL) == 23
    assert weighted_length(f"voir {URL}") == 28
    assert fits("é" * 280)
    assert not fits("é" * 281)
    assert not fits("🏠" * 141)


def test_importing_loads_neither_twitter_text_nor_tweepy() -> None:
    code = (
        "import sys, entraide.publishing.tweets, entraide.publishing.xapi; "
        "bad = [m for m in ('twitter_text', 'tweepy', 'requests_oauthlib') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603 (our own code)


# --- scrub -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Chambre au sec", "Chambre au sec"),
        ("Écrire à jean.dupont@gmail.com svp", f"Écrire à {SCRUBBED} svp"),
        ("Tél. 06 12 34 56 78 ou +33 6 12 34 56 78", f"Tél. {SCRUBBED} ou {SCRUBBED}"),
        ("Voir https://www.leboncoin.fr/annonce/123?x=1 vite", f"Voir {SCRUBBED} vite"),
        ("Infos sur mairie-trebes.fr/crue", f"Infos sur {SCRUBBED}"),
        ("www.exemple.org, merci", f"{SCRUBBED} merci"),
        # X links "Narbonne.Fr" although the pre-screen does not: it goes too.
        ("Sinistrés à Narbonne.Fr", f"Sinistrés à {SCRUBBED}"),
        ("mail: a@b.fr / tél: 0612345678", f"mail: {SCRUBBED} / tél: {SCRUBBED}"),
        ("Joindre a@b.fr, 0612345678 / x.fr le soir", f"Joindre {SCRUBBED} le soir"),
        ("Contactez @MairieTrebes ou ＠jean", "Contactez MairieTrebes ou jean"),
        ("Ligne 1\nligne 2\t\u200bcachée\u202e", "Ligne 1 ligne 2 cachée"),
        ("dé\u00adblaie\ufeffment \ue000", "déblaiement"),
        ("3,5 km de Trèbes, le 12.11.2026 à 14h", "3,5 km de Trèbes, le 12.11.2026 à 14h"),
        ("Famille 👨‍👩‍👧 sinistrée 🇫🇷", "Famille 👨‍👩‍👧 sinistrée 🇫🇷"),
    ],
)
def test_scrub(text: str, expected: str) -> None:
    assert scrub(text) == expected


# --- a post ----------------------------------------------------------------------------------


def test_post_tweet_sample() -> None:
    tweet = post_tweet(make_post(), activation=AUDE, public_url=URL)
    assert tweet == (
        "🏠 Offre d'aide · Hébergement\n"
        "📍 Trèbes, Aude (11)\n"
        "« Chambre au sec pour une famille »\n"
        f"➜ {URL} #InondationsAude #ShareEntraide"
    )
    assert_clean(tweet)


def test_post_tweet_scrubs_the_title_and_never_quotes_the_description() -> None:
    post = make_post(
        kind=Kind.NEED,
        category=Category.TRANSPORT,
        title=(
            "Voiture pour Carcassonne, appelez le 06.12.34.56.78 ou paul@orange.fr (voir bit.ly/x2)"
        ),
        description="Secret : rue des Lilas, https://exemple.fr, 07 11 22 33 44",
    )
    tweet = post_tweet(post, activation=AUDE, public_url=URL)
    assert excerpt_of(tweet) == (
        f"Voiture pour Carcassonne, appelez le {SCRUBBED} ou {SCRUBBED} (voir {SCRUBBED}"
    )
    assert "Lilas" not in tweet
    assert_clean(tweet)


def test_post_tweet_without_activation_has_the_platform_hashtag_only() -> None:
    tweet = post_tweet(make_post(), activation=None, public_url=URL)
    assert tweet.endswith(f"➜ {URL} #ShareEntraide")
    assert tweet.count("#") == 1


def test_hashtag_of_an_activation_is_normalised_and_never_repeated() -> None:
    odd = replace(AUDE, hashtag=" InondationsAude ")
    assert post_tweet(make_post(), activation=odd, public_url=URL).endswith(
        "#InondationsAude #ShareEntraide"
    )
    same = replace(AUDE, hashtag="#shareentraide")
    assert post_tweet(make_post(), activation=same, public_url=URL).endswith(
        f"{URL} #shareentraide"
    )


@pytest.mark.parametrize("category", list(Category))
@pytest.mark.parametrize("kind", list(Kind))
def test_every_category_and_kind_has_its_emoji_and_label(kind: Kind, category: Category) -> None:
    tweet = post_tweet(make_post(kind=kind, category=category), activation=AUDE, public_url=URL)
    head = tweet.split("\n")[0]
    assert head == f"{CATEGORY_EMOJI[category]} {kind.label} · {category.label}"
    assert_clean(tweet)


def test_emoji_per_category() -> None:
    assert dict(CATEGORY_EMOJI) == {
        Category.HEBERGEMENT: "🏠",
        Category.TRANSPORT: "🚗",
        Category.NETTOYAGE: "🧹",
        Category.MATERIEL: "🧰",
        Category.REPAS: "🍲",
        Category.GARDE: "🧸",
        Category.AUTRE: "🤝",
    }
    assert set(DIGEST_LABELS) == set(Category)


def test_long_title_is_cut_at_a_word_boundary() -> None:
    words = [f"mot{number}" for number in range(100)]
    title = " ".join(words)
    tweet = post_tweet(make_post(title=title), activation=AUDE, public_url=URL)
    assert_clean(tweet)
    excerpt = excerpt_of(tweet)
    assert excerpt.endswith("…")
    kept = excerpt.removesuffix("…").split(" ")
    assert kept == words[: len(kept)]
    assert len(kept) > 20
    # The longest cut: one more word would not fit.
    longer = tweet.replace(excerpt, " ".join(words[: len(kept) + 1]) + "…")
    assert not fits(longer)


def test_cut_drops_dangling_punctuation_before_the_ellipsis() -> None:
    title = "Hébergement, " * 40
    excerpt = excerpt_of(post_tweet(make_post(title=title), activation=AUDE, public_url=URL))
    assert excerpt.endswith("Hébergement…")


def test_title_full_of_emoji_still_fits() -> None:
    for emoji in ("🏠", "👨‍👩‍👧", "🇫🇷", "👍🏽"):
        tweet = post_tweet(make_post(title=emoji * 200), activation=AUDE, public_url=URL)
        assert_clean(tweet)
        excerpt = excerpt_of(tweet)
        assert excerpt.endswith("…")
        # No emoji is cut in half: the excerpt is whole emoji followed by "…".
        body = excerpt.removesuffix("…")
        assert body == emoji * (len(body) // len(emoji))
        assert weighted_length(tweet) >= TWEET_MAX - 2


def test_a_cut_that_would_make_a_link_is_scrubbed_again() -> None:
    # "exemple.frites" is no link, but cut as "exemple.fr…" it would be one.
    post = make_post(title="exemple.frites" + "s" * 200)
    assert_clean(post_tweet(post, activation=AUDE, public_url=URL))


def test_long_commune_is_cut_and_the_title_keeps_some_room() -> None:
    post = make_post(commune="Saint-Rémy-de-Provence " * 8, title="Repas chauds " * 20)
    tweet = post_tweet(post, activation=AUDE, public_url=URL)
    assert_clean(tweet)
    place = tweet.split("\n")[1]
    assert "…, Aude (11)" in place
    assert len(excerpt_of(tweet)) > 40


def test_local_public_url_counts_its_full_length() -> None:
    local = "http://127.0.0.1:3000/Prod/annonces/01JD7Q3ZC9K2M4N6P8R0S2T4V6"
    tweet = post_tweet(make_post(title="Lit " * 200), activation=AUDE, public_url=local)
    assert fits(tweet)
    assert local in tweet


def test_impossible_fit_raises_tweet_too_long() -> None:
    huge = "http://localhost/" + "a" * 300  # not a link for X: counted in full
    with pytest.raises(TweetTooLong):
        post_tweet(make_post(), activation=AUDE, public_url=huge)
    assert issubclass(TweetTooLong, ValueError)


def test_public_url_must_be_a_url() -> None:
    with pytest.raises(ValueError, match="http"):
        post_tweet(make_post(), activation=AUDE, public_url="shareentraide.fr/a b")


# --- property: nothing private ever reaches a tweet ------------------------------------------

WORDS = st.sampled_from(
    [
        "Chambre",
        "au",
        "sec",
        "pour",
        "famille",
        "Trèbes",
        "véhicule",
        "4x4",
        "dispo",
        "ce",
        "soir",
        "déblaiement",
        "d'urgence",
        "n°12",
        "3,5",
        "km",
        "M.",
        "Dupont",
        "11000",
        "2026",
        "(urgent)",
        "!",
        "?",
        ",",
        "—",
        "«",
        "»",
        "#entraide",
        "@mairie",
        "🏠",
        "👨‍👩‍👧",
        "🇫🇷",
        "💧💧",
        "ÉÇÀÔ",
        "l'Œuvre",
    ]
)
NAME = st.from_regex(r"[a-z][a-z0-9]{1,11}", fullmatch=True)
EMAILS = st.builds(
    lambda user, sep, domain, tld: f"{user}{sep}@{domain}.{tld}",
    NAME,
    st.sampled_from(["", ".secours", "+crue", "_92"]),
    NAME,
    st.sampled_from(["fr", "com", "org", "net", "re", "co.uk"]),
)


@st.composite
def phones(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(["0", "+33", "+33 ", "0033 ", "+33 (0)"]))
    first = str(draw(st.integers(1, 9)))
    pairs = draw(st.lists(st.integers(0, 99), min_size=4, max_size=4))
    sep = draw(st.sampled_from(["", " ", ".", "-"]))
    return prefix + first + "".join(f"{sep}{pair:02d}" for pair in pairs)


URLS = st.builds(
    lambda scheme, name, tld, path: f"{scheme}{name}.{tld}{path}",
    st.sampled_from(["https://", "http://", "https://www.", "www.", "", "HTTPS://"]),
    NAME,
    st.sampled_from(["fr", "com", "org", "io", "ly", "re", "net", "info", "eu", "bzh"]),
    st.sampled_from(["", "/", "/annonce/123", "/p?id=4&x=y", "/a#b"]),
)
SECRETS = st.one_of(EMAILS, phones(), URLS)


@st.composite
def texts_with_secrets(draw: st.DrawFn) -> tuple[str, list[str]]:
    parts = draw(
        st.lists(st.one_of(WORDS, SECRETS.map(lambda s: "\x00" + s)), min_size=1, max_size=40)
    )
    secrets = [part[1:] for part in parts if part.startswith("\x00")]
    glue = draw(st.sampled_from([" ", "  ", " ; ", "\n", " : "]))
    return glue.join(part.removeprefix("\x00") for part in parts), secrets


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=texts_with_secrets(),
    description=texts_with_secrets(),
    kind=st.sampled_from(list(Kind)),
    category=st.sampled_from(list(Category)),
    with_activation=st.booleans(),
)
def test_property_post_tweet_keeps_contacts_and_links_out(
    title: tuple[str, list[str]],
    description: tuple[str, list[str]],
    kind: Kind,
    category: Category,
    with_activation: bool,
) -> None:
    post = make_post(title=title[0], description=description[0], kind=kind, category=category)
    tweet = post_tweet(post, activation=AUDE if with_activation else None, public_url=URL)
    assert_clean(tweet)
    outside_link = tweet.replace(URL, " ")
    for secret in title[1] + description[1]:
        assert secret not in outside_link, (secret, tweet)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=st.text(min_size=0, max_size=400), commune=st.text(max_size=120))
def test_property_any_text_gives_a_valid_tweet(title: str, commune: str) -> None:
    tweet = post_tweet(make_post(title=title, commune=commune), activation=AUDE, public_url=URL)
    assert_clean(tweet)


# --- a digest --------------------------------------------------------------------------------


def test_digest_of_offers_sample() -> None:
    counts = {
        (Kind.OFFER, Category.HEBERGEMENT): 6,
        (Kind.OFFER, Category.TRANSPORT): 4,
        (Kind.OFFER, Category.REPAS): 3,
        (Kind.OFFER, Category.MATERIEL): 2,
        (Kind.OFFER, Category.GARDE): 1,
        (Kind.OFFER, Category.AUTRE): 1,
    }
    tweet = digest_tweet(activation=AUDE, departement="11", counts=counts, public_url=HOME)
    assert tweet == (
        "17 nouvelles offres d'aide dans l'Aude : hébergement 6, transport 4, repas 3, "
        f"matériel 2, garde 1, autre 1 ➜ {HOME} #InondationsAude #ShareEntraide"
    )
    assert_clean(tweet, HOME)


def test_digest_mixing_needs_and_offers() -> None:
    counts = {
        (Kind.NEED, Category.HEBERGEMENT): 4,
        (Kind.OFFER, Category.HEBERGEMENT): 2,
        (Kind.NEED, Category.TRANSPORT): 3,
        (Kind.OFFER, Category.TRANSPORT): 1,
        (Kind.OFFER, Category.REPAS): 2,
    }
    tweet = digest_tweet(activation=None, departement="30", counts=counts, public_url=HOME)
    assert tweet == (
        "12 nouvelles annonces dans le Gard : 7 besoins, 5 offres — hébergement 6, "
        f"transport 4, repas 2 ➜ {HOME} #ShareEntraide"
    )


@pytest.mark.parametrize(
    ("counts", "start"),
    [
        (
            {(Kind.NEED, Category.REPAS): 1},
            "1 nouveau besoin d'aide dans les Bouches-du-Rhône : repas ➜",
        ),
        (
            {(Kind.OFFER, Category.GARDE): 1},
            "1 nouvelle offre d'aide dans les Bouches-du-Rhône : garde ➜",
        ),
        (
            {(Kind.NEED, Category.REPAS): 1, (Kind.OFFER, Category.REPAS): 1},
            "2 nouvelles annonces dans les Bouches-du-Rhône : 1 besoin, 1 offre — repas ➜",
        ),
        (
            {(Kind.NEED, Category.REPAS): 1, (Kind.NEED, Category.AUTRE): 1},
            "2 nouveaux besoins d'aide dans les Bouches-du-Rhône : repas 1, autre 1 ➜",
        ),
    ],
)
def test_digest_of_one_and_two_posts(
    counts: Mapping[tuple[Kind, Category], int], start: str
) -> None:
    tweet = digest_tweet(activation=AUDE, departement="13", counts=counts, public_url=HOME)
    assert tweet.startswith(start)
    assert_clean(tweet, HOME)


def test_digest_of_300_posts_in_every_category_and_kind() -> None:
    counts = {
        (kind, category): 1 + (index * 7 + position * 13) % 37
        for index, category in enumerate(Category)
        for position, kind in enumerate(Kind)
    }
    counts[(Kind.NEED, Category.HEBERGEMENT)] += 300 - sum(counts.values())
    assert sum(counts.values()) == 300
    tweet = digest_tweet(activation=AUDE, departement="974", counts=counts, public_url=URL)
    assert_clean(tweet)
    assert tweet.startswith("300 nouvelles annonces à La Réunion : ")
    listed = re.findall(r"([a-zé]+) (\d+)", tweet.split("—")[1])
    numbers = [int(number) for _, number in listed]
    assert numbers == sorted(numbers, reverse=True)
    assert {label for label, _ in listed} == set(DIGEST_LABELS.values())


def test_digest_list_is_cut_with_an_ellipsis_when_it_cannot_fit() -> None:
    long_tag = replace(AUDE, hashtag="#" + "Tempete" * 18)
    counts = {(Kind.OFFER, category): 10 + i for i, category in enumerate(Category)}
    tweet = digest_tweet(activation=long_tag, departement="2A", counts=counts, public_url=URL)
    assert_clean(tweet)
    assert " … ➜" in tweet
    assert "en Corse-du-Sud" in tweet
    assert tweet.endswith(long_tag.hashtag + " #ShareEntraide")


def test_digest_drops_the_activation_hashtag_before_giving_up() -> None:
    absurd = replace(AUDE, hashtag="#" + "X" * 400)
    tweet = digest_tweet(
        activation=absurd, departement="11", counts={(Kind.NEED, Category.AUTRE): 3}, public_url=URL
    )
    assert tweet.endswith(f"➜ {URL} #ShareEntraide")
    assert_clean(tweet)


def test_digest_needs_posts() -> None:
    with pytest.raises(ValueError, match="at least one"):
        digest_tweet(activation=AUDE, departement="11", counts={}, public_url=URL)
    with pytest.raises(ValueError, match="negative"):
        digest_tweet(
            activation=AUDE,
            departement="11",
            counts={(Kind.NEED, Category.AUTRE): -1},
            public_url=URL,
        )


# --- an activation ---------------------------------------------------------------------------


def test_activation_opened_sample() -> None:
    tweet = activation_tweet(AUDE, opened=True, public_url=HOME)
    assert tweet == (
        "ShareEntraide est activé pour l'Aude (inondations) : proposez ou demandez de l'aide "
        f"près de chez vous ➜ {HOME} #InondationsAude #ShareEntraide"
    )
    assert_clean(tweet, HOME)


def test_activation_closed_sample() -> None:
    tweet = activation_tweet(AUDE, opened=False, public_url=HOME)
    assert tweet == (
        "Fin de l'activation de ShareEntraide pour l'Aude (inondations). Merci à toutes "
        "celles et à tous ceux qui ont proposé ou demandé de l'aide ! "
        f"➜ {HOME} #InondationsAude #ShareEntraide"
    )
    assert_clean(tweet, HOME)


def test_activation_of_several_departements() -> None:
    storm = replace(
        AUDE,
        hazard=Hazard.VENT_VIOLENT,
        departements=("29", "56", "13", "2B", "974"),
        hashtag="#TempeteFinistereMorbihan",
    )
    tweet = activation_tweet(storm, opened=True, public_url=URL)
    assert tweet.startswith(
        "ShareEntraide est activé pour le Finistère, le Morbihan, les Bouches-du-Rhône, "
        "la Haute-Corse et La Réunion (vent violent) : "
    )
    assert_clean(tweet)


@pytest.mark.parametrize("opened", [True, False])
def test_activation_of_every_departement_names_the_first_ones(opened: bool) -> None:
    everywhere = replace(AUDE, hazard=Hazard.ORAGES, departements=tuple(DEPARTEMENTS))
    tweet = activation_tweet(everywhere, opened=opened, public_url=URL)
    assert_clean(tweet)
    match = re.search(r"et (\d+) autres départements \(orages\)", tweet)
    assert match is not None, tweet
    named = tweet.split(" pour ", 1)[1].split(" et ")[0].count(",") + 1
    assert named + int(match[1]) == len(DEPARTEMENTS)
    assert tweet.split(" pour ", 1)[1].startswith("l'Ain, l'Aisne, l'Allier")


# --- French grammar of the départements ------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "article", "inside"),
    [
        ("11", "l'Aude", "dans l'Aude"),
        ("30", "le Gard", "dans le Gard"),
        ("13", "les Bouches-du-Rhône", "dans les Bouches-du-Rhône"),
        ("80", "la Somme", "dans la Somme"),
        ("33", "la Gironde", "en Gironde"),
        ("2A", "la Corse-du-Sud", "en Corse-du-Sud"),
        ("38", "l'Isère", "en Isère"),
        ("90", "le Territoire de Belfort", "dans le Territoire de Belfort"),
        ("75", "Paris", "à Paris"),
        ("974", "La Réunion", "à La Réunion"),
        ("976", "Mayotte", "à Mayotte"),
        ("971", "la Guadeloupe", "en Guadeloupe"),
        ("988", "la Nouvelle-Calédonie", "en Nouvelle-Calédonie"),
        ("99", "le département 99", "dans le département 99"),
    ],
)
def test_departement_grammar(code: str, article: str, inside: str) -> None:
    assert departement_with_article(code) == article
    assert in_departement(code) == inside


def test_grammar_table_covers_every_code() -> None:
    for code, name in {**DEPARTEMENTS, **COLLECTIVITES_OUTRE_MER}.items():
        inside = in_departement(code)
        assert inside.endswith(name), code
        assert inside.split(" ")[0] in {"dans", "en", "à"}, code
        assert "département" not in inside, code
        article = departement_with_article(code)
        assert article.endswith(name)
        assert article.removesuffix(name) in {"", "l'", "le ", "la ", "les "}, code
        if article.startswith("l'"):
            assert name[0] in "AEÉIOUYH", code
