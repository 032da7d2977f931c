"""The French texts of the tweets that relay approved posts, digests and activations.

Every text fits in one tweet *as X counts it*: :func:`weighted_length` is
twitter-text's weighted length (a URL counts 23, most letters and punctuation 1,
emoji, "…" and "➜" 2) and a composition never exceeds :data:`TWEET_MAX`. When a
part of a text must be cut (a long title, a long list), it is cut at a word
boundary and ends with "…"; :class:`TweetTooLong` means that even the shortest form
does not fit, which the fixed parts of these texts make impossible in practice.

A post's public text is typed by a person: before it reaches a tweet, :func:`scrub`
replaces every email address, phone number and link in it by "[…]" (and turns
"@someone" into "someone", so that a tweet mentions nobody). Only the title of a
post is quoted; its description never is. The only link of a tweet is the public
URL given by the caller.

twitter-text is imported on first use (its import costs ~200 ms of a cold start).
"""

from __future__ import annotations

import re
import threading
import unicodedata
import warnings
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from entraide.kernel.departements import UnknownDepartement, departement_name
from entraide.kernel.model import Activation, Category, Kind, Post
from entraide.privacy.detection import EMAIL_PATTERN, PHONE_PATTERN

if TYPE_CHECKING:
    from types import ModuleType

__all__ = [
    "CATEGORY_EMOJI",
    "DIGEST_LABELS",
    "PLATFORM_HASHTAG",
    "SCRUBBED",
    "TWEET_MAX",
    "TweetTooLong",
    "activation_tweet",
    "departement_with_article",
    "digest_tweet",
    "find_links",
    "fits",
    "in_departement",
    "post_tweet",
    "scrub",
    "weighted_length",
]

#: The most weighted characters X accepts in one tweet.
TWEET_MAX: Final = 280
#: The hashtag of every tweet of the platform.
PLATFORM_HASHTAG: Final = "#ShareEntraide"
#: What replaces an email address, a phone number or a link of a poster's text.
SCRUBBED: Final = "[…]"
ELLIPSIS: Final = "…"
ARROW: Final = "➜"

CATEGORY_EMOJI: Final[Mapping[Category, str]] = MappingProxyType(
    {
        Category.HEBERGEMENT: "🏠",
        Category.TRANSPORT: "🚗",
        Category.NETTOYAGE: "🧹",
        Category.MATERIEL: "🧰",
        Category.REPAS: "🍲",
        Category.GARDE: "🧸",
        Category.AUTRE: "🤝",
    }
)

#: Short lower-case names of the categories, for the lists of a digest.
DIGEST_LABELS: Final[Mapping[Category, str]] = MappingProxyType(
    {
        Category.HEBERGEMENT: "hébergement",
        Category.TRANSPORT: "transport",
        Category.NETTOYAGE: "nettoyage",
        Category.MATERIEL: "matériel",
        Category.REPAS: "repas",
        Category.GARDE: "garde",
        Category.AUTRE: "autre",
    }
)

# A commune name is never cut below this weight; the title takes what remains.
_COMMUNE_MAX_WEIGHT: Final = 50


class TweetTooLong(ValueError):
    """Even the shortest form of a composition is over :data:`TWEET_MAX`."""

    def __init__(self, text: str) -> None:
        super().__init__(
            f"Tweet too long even when shortened: {weighted_length(text)} weighted "
            f"characters, at most {TWEET_MAX}."
        )
        self.text = text


# --- twitter-text, imported on first use -------------------------------------------------

_twitter_text: ModuleType | None = None
_import_lock = threading.Lock()


def _tt() -> ModuleType:
    global _twitter_text
    if _twitter_text is None:
        with _import_lock:
            if _twitter_text is None:
                with warnings.catch_warnings():
                    # twitter-text-parser 3.0.0 loads its emoji table through pkg_resources.
                    warnings.filterwarnings(
                        "ignore", message="pkg_resources is deprecated", category=UserWarning
                    )
                    import twitter_text

                _twitter_text = twitter_text
    return _twitter_text


def weighted_length(text: str) -> int:
    """The length of ``text`` as X counts it (twitter-text's ``weightedLength``)."""
    return int(_tt().parse_tweet(text).weightedLength)


def fits(text: str) -> bool:
    """Whether X accepts ``text`` as a tweet: at most 280 weighted, no invalid character."""
    return bool(_tt().parse_tweet(text).valid)


def _x_links(text: str) -> list[str]:
    """What X turns into links in ``text`` (with or without "http://")."""
    return [str(url) for url in _tt().extract_urls(text)]


def find_links(text: str) -> list[str]:
    """Every link of ``text``: those of the pre-screen, and those X would make clickable.

    The pre-screen's detector (:mod:`entraide.prescreen`) finds what a moderator should
    see; X's own (twitter-text) also links names such as "Narbonne.Fr" that the
    pre-screen leaves alone on purpose. A tweet must contain neither.
    """
    # The pre-screen's detector is private there; see the note in this module's report.
    from entraide.privacy.detection import link_domains

    return list(dict.fromkeys([*link_domains(text), *_x_links(text)]))


# --- scrubbing a poster's text -------------------------------------------------------------

# Format characters hide or reorder text (bidi overrides, BOM, soft hyphens) and go;
# the zero-width joiner and the tag characters are parts of emoji and stay; a
# zero-width space separates words and becomes a space.
_KEPT_FORMAT = frozenset({"\u200d"})
_MENTION = re.compile(r"(?<!\w)[@＠](?=\w)")
_REPEATED_MARK = re.compile(r"(?:\[…\][\s,;:/|-]*){2,}")


def _clean_char(ch: str) -> str:
    category = unicodedata.category(ch)
    if category == "Cc" or ch == "\u200b":
        return " "  # tabs, line breaks, other controls: a word boundary
    if category in ("Cs", "Co") or ch in "\ufffe\uffff":
        return ""  # lone surrogates, private use, non-characters
    if category == "Cf" and not (ch in _KEPT_FORMAT or "\U000e0020" <= ch <= "\U000e007f"):
        return ""
    return ch


def _clean(text: str) -> str:
    """One line of NFC text, single-spaced, without control or hidden characters."""
    text = unicodedata.normalize("NFC", text)
    return " ".join("".join(_clean_char(ch) for ch in text).split())


def _is_link(token: str) -> bool:
    return bool(find_links(token))


def _scrub_once(text: str) -> str:
    text = EMAIL_PATTERN.sub(SCRUBBED, text)
    text = PHONE_PATTERN.sub(SCRUBBED, text)
    text = " ".join(SCRUBBED if _is_link(token) else token for token in text.split(" "))
    text = _MENTION.sub("", text)
    return _REPEATED_MARK.sub(lambda match: SCRUBBED + (" " if match[0][-1] == " " else ""), text)


def scrub(text: str) -> str:
    """``text`` on one line, its contact details, links and mentions taken out.

    Email addresses and phone numbers (:mod:`entraide.privacy`) and every word that
    holds a link (:func:`find_links`) become "[…]"; "@nom" becomes "nom". Hidden and
    control characters go, line breaks become spaces.
    """
    text = _clean(text)
    # A replacement may reveal another match. Each one shortens the text (every match
    # is longer than "[…]"), so this ends, in practice after one or two rounds.
    while (scrubbed := _scrub_once(text)) != text:
        text = scrubbed
    return text.strip()


# --- shortening ------------------------------------------------------------------------------

_TRAILING_JUNK = " ,;:.!?-–—/(«\"'"
# Characters that must not end a cut text: joiners, variation selectors, skin tones.
_CLUSTER_TAIL = re.compile(r"[\u200d\ufe0e\ufe0f\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]+$")
_REGIONAL = re.compile(r"[\U0001f1e6-\U0001f1ff]+$")


def _cut_chars(text: str, count: int) -> str:
    """The first ``count`` code points of ``text``, not ending inside an emoji or accent."""
    ends: set[int] = set()
    for entity in _tt().extract_emojis_with_indices(text):
        start, end = entity["indices"]
        if start < count < end:  # inside an emoji sequence (family, flag, skin tone)
            count = start
        ends.add(end)
    if count in ends:
        return text[:count]  # right after a whole emoji
    cut = text[:count]
    while cut:
        before = cut
        cut = _CLUSTER_TAIL.sub("", cut)
        if cut and unicodedata.combining(cut[-1]):
            cut = cut[:-1]
        flags = _REGIONAL.search(cut)
        if flags and len(flags[0]) % 2:  # half a flag
            cut = cut[:-1]
        if cut == before:
            break
    return cut


def _with_ellipsis(prefix: str) -> str:
    prefix = prefix.rstrip(_TRAILING_JUNK)
    return prefix + ELLIPSIS if prefix else ""


def _largest(candidates: int, fits_at: Callable[[int], bool]) -> int:
    """The largest ``k`` in ``1..candidates`` with ``fits_at(k)``, else 0 (binary search)."""
    low, high = 0, candidates
    while low < high:
        middle = (low + high + 1) // 2
        if fits_at(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _shortened(text: str, accept: Callable[[str], bool]) -> str | None:
    """The longest form of ``text`` that ``accept`` takes, cut at a word boundary.

    ``text`` itself first; then its first words followed by "…"; then, when even the
    first word is too long, its first characters followed by "…". ``None`` if nothing
    does, not even "…".
    """
    if accept(text):
        return text
    words = text.split(" ")

    def by_words(k: int) -> str:
        return _with_ellipsis(" ".join(words[:k]))

    count = _largest(len(words) - 1, lambda k: bool(by_words(k)) and accept(by_words(k)))
    if count:
        return by_words(count)

    def by_chars(k: int) -> str:
        return _with_ellipsis(_cut_chars(words[0], k))

    count = _largest(len(words[0]) - 1, lambda k: bool(by_chars(k)) and accept(by_chars(k)))
    if count:
        return by_chars(count)
    return ELLIPSIS if accept(ELLIPSIS) else None


def _fit(compose: Callable[[str], str], text: str) -> str:
    """The longest form of ``text`` whose ``compose(...)`` fits in a tweet."""
    chosen = _shortened(text, lambda part: fits(compose(part)))
    if chosen is None:
        raise TweetTooLong(compose(ELLIPSIS))
    return chosen


# --- French: départements and numbers --------------------------------------------------------

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


def _enumerate(items: Sequence[str]) -> str:
    """["a"] -> "a"; ["a", "b", "c"] -> "a, b et c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " et " + items[-1]


def _plural(count: int, singular: str, plural: str) -> str:
    return singular if count == 1 else plural


# --- common parts -----------------------------------------------------------------------------


def _hashtags(activation: Activation | None) -> list[str]:
    """The activation's hashtag (with its "#") then #ShareEntraide, each once."""
    tags: list[str] = []
    if activation is not None:
        tag = "".join(activation.hashtag.split()).lstrip("#＃")
        if tag:
            tags.append("#" + tag)
    tags.append(PLATFORM_HASHTAG)
    return list({tag.casefold(): tag for tag in reversed(tags)}.values())[::-1]


def _tag_variants(activation: Activation | None) -> list[str]:
    """Hashtag lines to try in turn: all of them, then #ShareEntraide alone."""
    full = " ".join(_hashtags(activation))
    return list(dict.fromkeys([full, PLATFORM_HASHTAG]))


def _check_url(public_url: str) -> str:
    url = public_url.strip()
    if not re.fullmatch(r"https?://\S+", url):
        raise ValueError(f"A tweet's link must be an http(s) URL, not {public_url!r}.")
    return url


def _first_fitting(attempts: Sequence[Callable[[], str]]) -> str:
    """The first attempt that does not raise :class:`TweetTooLong`."""
    error: TweetTooLong | None = None
    for attempt in attempts:
        try:
            return attempt()
        except TweetTooLong as exc:
            error = exc
    assert error is not None
    raise error


# --- a post ---------------------------------------------------------------------------------


def _place(post: Post) -> str:
    """ "Trebes, Aude (11)": the commune (cut if very long) and the département."""
    commune = scrub(post.commune)
    shortened = _shortened(commune, lambda part: weighted_length(part) <= _COMMUNE_MAX_WEIGHT)
    commune = shortened if shortened is not None else ""
    try:
        departement = f"{departement_name(post.departement)} ({post.departement})"
    except UnknownDepartement:
        departement = f"département {scrub(str(post.departement))}"
    return f"{commune}, {departement}" if commune else departement


def post_tweet(post: Post, *, activation: Activation | None, public_url: str) -> str:
    """The tweet that relays one approved post::

        🏠 Offre d'aide · Hébergement
        📍 Trebes, Aude (11)
        « Chambre au sec pour une famille »
        ➜ https://shareentraide.fr/posts/01J… #InondationsAude #ShareEntraide

    The title is scrubbed (:func:`scrub`) and cut at a word boundary with "…" to fit.
    """
    url = _check_url(public_url)
    head = f"{CATEGORY_EMOJI[post.category]} {post.kind.label} · {post.category.label}"
    place = f"📍 {_place(post)}"
    title = scrub(post.title)

    def attempt(tags: str) -> Callable[[], str]:
        def compose(excerpt: str) -> str:
            quoted = [f"« {excerpt} »"] if excerpt else []
            return "\n".join([head, place, *quoted, f"{ARROW} {url} {tags}"])

        def run() -> str:
            excerpt = _fit(compose, title)
            # A cut can turn a word into a link ("exemple.frites" -> "exemple.fr…"):
            # scrubbing again only ever shortens the excerpt.
            rescrubbed = scrub(excerpt)
            if rescrubbed != excerpt:
                excerpt = _fit(compose, rescrubbed)
            return compose(excerpt)

        return run

    return _first_fitting([attempt(tags) for tags in _tag_variants(activation)])


# --- a digest -------------------------------------------------------------------------------


def _digest_subject(needs: int, offers: int) -> str:
    total = needs + offers
    if not offers:
        return f"{total} {_plural(total, 'nouveau besoin', 'nouveaux besoins')} d'aide"
    if not needs:
        return f"{total} {_plural(total, 'nouvelle offre', 'nouvelles offres')} d'aide"
    return f"{total} nouvelles annonces"


def digest_tweet(
    *,
    activation: Activation | None,
    departement: str,
    counts: Mapping[tuple[Kind, Category], int],
    public_url: str,
) -> str:
    """One tweet for several approved posts of a département::

        17 nouvelles offres d'aide dans l'Aude : hébergement 6, transport 4, repas 3,
        matériel 2, garde 1, autre 1 ➜ https://… #InondationsAude #ShareEntraide

        12 nouvelles annonces dans le Gard : 7 besoins, 5 offres — hébergement 6, …

    Categories by decreasing count (then in their usual order); the list is cut with
    "…" when the tweet would not fit. Raises :class:`ValueError` without any post.
    """
    url = _check_url(public_url)
    if any(count < 0 for count in counts.values()):
        raise ValueError("A digest count cannot be negative.")
    needs = sum(count for (kind, _), count in counts.items() if kind is Kind.NEED)
    offers = sum(count for (kind, _), count in counts.items() if kind is Kind.OFFER)
    if needs + offers == 0:
        raise ValueError("A digest needs at least one post.")
    by_category: dict[Category, int] = {}
    for (_, category), count in counts.items():
        if count:
            by_category[category] = by_category.get(category, 0) + count
    order = list(Category)
    ranked = sorted(by_category.items(), key=lambda item: (-item[1], order.index(item[0])))
    if len(ranked) == 1:
        items = [DIGEST_LABELS[ranked[0][0]]]
    else:
        items = [f"{DIGEST_LABELS[category]} {count}" for category, count in ranked]

    intro = f"{_digest_subject(needs, offers)} {in_departement(departement)} :"
    if needs and offers:
        split = (
            f"{needs} {_plural(needs, 'besoin', 'besoins')}, "
            f"{offers} {_plural(offers, 'offre', 'offres')}"
        )
        intro = f"{intro} {split} —"

    def attempt(tags: str) -> Callable[[], str]:
        def compose(kept: int) -> str:
            listed = ", ".join(items[:kept]) + (f" {ELLIPSIS}" if kept < len(items) else "")
            return f"{intro} {listed} {ARROW} {url} {tags}"

        def run() -> str:
            kept = _largest(len(items), lambda k: fits(compose(k)))
            if kept:
                return compose(kept)
            shortest = f"{intro.rstrip(' :—')} {ARROW} {url} {tags}"
            if fits(shortest):
                return shortest
            raise TweetTooLong(shortest)

        return run

    return _first_fitting([attempt(tags) for tags in _tag_variants(activation)])


# --- an activation ----------------------------------------------------------------------------


def _places(codes: Sequence[str], shown: int) -> str:
    """ "l'Aude, le Gard et l'Hérault"; beyond ``shown``: "l'Aude et 5 autres départements"."""
    names = [departement_with_article(code) for code in codes]
    if shown >= len(names):
        return _enumerate(names)
    others = len(names) - shown
    rest = f"{others} {_plural(others, 'autre département', 'autres départements')}"
    return _enumerate([*names[:shown], rest])


def activation_tweet(activation: Activation, *, opened: bool, public_url: str) -> str:
    """The tweet that announces an activation, or its end::

        ShareEntraide est activé pour l'Aude (inondations) : proposez ou demandez de
        l'aide près de chez vous ➜ https://… #InondationsAude #ShareEntraide

        Fin de l'activation de ShareEntraide pour l'Aude (inondations). Merci à toutes
        celles et à tous ceux qui ont proposé ou demandé de l'aide ! ➜ https://… #…

    Beyond what fits, the list of départements ends with "et N autres départements".
    """
    url = _check_url(public_url)
    codes = list(dict.fromkeys(activation.departements))
    hazard = activation.hazard.label

    def compose(places: str, tags: str) -> str:
        if opened:
            return (
                f"ShareEntraide est activé pour {places} ({hazard}) : proposez ou demandez "
                f"de l'aide près de chez vous {ARROW} {url} {tags}"
            )
        return (
            f"Fin de l'activation de ShareEntraide pour {places} ({hazard}). Merci à toutes "
            f"celles et à tous ceux qui ont proposé ou demandé de l'aide ! {ARROW} {url} {tags}"
        )

    def attempt(tags: str) -> Callable[[], str]:
        def run() -> str:
            if not codes:
                tweet = compose("vos départements", tags)
                if fits(tweet):
                    return tweet
                raise TweetTooLong(tweet)
            if fits(compose(_places(codes, len(codes)), tags)):
                return compose(_places(codes, len(codes)), tags)
            shown = _largest(len(codes) - 1, lambda k: fits(compose(_places(codes, k), tags)))
            if shown:
                return compose(_places(codes, shown), tags)
            raise TweetTooLong(compose(_places(codes, 1), tags))

        return run

    return _first_fitting([attempt(tags) for tags in _tag_variants(activation)])
