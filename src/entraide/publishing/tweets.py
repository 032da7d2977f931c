"""The French texts of the tweets that relay approved posts, digests and activations.

Every text fits in one message *as its network counts it* (a :class:`~.text_rules.TextRule`,
X's by default: :mod:`.tweet_text`; Bluesky's and Mastodon's: :mod:`.text_rules`, bound
by :class:`ChannelTexts`): when a part of a text
must be cut (a long title, a long list), it is cut at a word boundary and ends with "…";
:class:`~.tweet_text.TweetTooLong` means that even the shortest form does not fit, which
the fixed parts of these texts make impossible in practice.

A post's public text is typed by a person: before it reaches a tweet it is scrubbed of
every email address, phone number and link (:func:`~.tweet_text.scrub`). Only the title
of a post is quoted; its description never is. The only link of a tweet is the public URL
given by the caller. An editorial item's text is the operators' own, checked against each
channel's rule at import (:func:`editorial_tweet`).

Why one module: every kind of message's text shares the same parts (hashtags, the pointer
to the site under the link policy, the cuts), and :class:`ChannelTexts` binds them all to a
channel's rule; split, each kind would import the others' parts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from types import MappingProxyType
from typing import Final
from urllib.parse import parse_qs, urlsplit

from entraide.kernel.departements import UnknownDepartement, departement_name
from entraide.kernel.model import Activation, Category, Kind, Post
from entraide.publishing.french import (
    departement_with_article,
    enumerate_fr,
    in_departement,
    plural,
)
from entraide.publishing.text_rules import X_RULE, TextRule
from entraide.publishing.tweet_text import (
    ARROW,
    ELLIPSIS,
    TweetTooLong,
    fit,
    largest,
    scrub,
    shortened,
    weighted_length,
)

__all__ = [
    "CATEGORY_EMOJI",
    "DIGEST_LABELS",
    "PLATFORM_HASHTAG",
    "activation_tweet",
    "digest_tweet",
    "editorial_tweet",
    "post_tweet",
]

#: The kinds of message (relay's ``TweetKind``) that carry their link, by default.
LINK_KINDS: Final = frozenset({"post", "digest", "activation", "editorial"})

#: The hashtag of every tweet of the platform.
PLATFORM_HASHTAG: Final = "#ShareEntraide"

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


#: The site's name, in plain text: X makes no link of it (a domain name it would link).
SITE_NAME: Final = "ShareEntraide"


def _pointer(public_url: str, linked: bool) -> str:
    """Where a reader finds the rest: ``➜ <url>``, or, without a link (X prices a post
    with a URL 13 times one without), the subject's reference and the site's name in
    plain text — unique to the subject as the URL was, so a repeat is still refused."""
    url = _check_url(public_url)
    if linked:
        return f"{ARROW} {url}"
    return f"Réf. {reference_of(url)} sur {SITE_NAME}"


def reference_of(public_url: str) -> str:
    """The subject a public URL names: a digest's ``lot``, an activation, or a post's id."""
    parts = urlsplit(public_url)
    query = parse_qs(parts.query)
    for name in ("lot", "activation"):
        if query.get(name):
            return query[name][0]
    return parts.path.rstrip("/").rsplit("/", 1)[-1] or parts.netloc


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
    cut = shortened(commune, lambda part: weighted_length(part) <= _COMMUNE_MAX_WEIGHT)
    commune = cut if cut is not None else ""
    try:
        departement = f"{departement_name(post.departement)} ({post.departement})"
    except UnknownDepartement:
        departement = f"département {scrub(str(post.departement))}"
    return f"{commune}, {departement}" if commune else departement


def post_tweet(
    post: Post,
    *,
    activation: Activation | None,
    public_url: str,
    rule: TextRule = X_RULE,
    linked: bool = True,
) -> str:
    """The tweet that relays one approved post::

        🏠 Offre d'aide · Hébergement
        📍 Trebes, Aude (11)
        « Chambre au sec pour une famille »
        ➜ https://shareentraide.fr/posts/01J… #InondationsAude #ShareEntraide

    The title is scrubbed (:func:`scrub`) and cut at a word boundary with "…" to fit.
    """
    url = _pointer(public_url, linked)
    head = f"{CATEGORY_EMOJI[post.category]} {post.kind.label} · {post.category.label}"
    place = f"📍 {_place(post)}"
    title = scrub(post.title)

    def attempt(tags: str) -> Callable[[], str]:
        def compose(excerpt: str) -> str:
            quoted = [f"« {excerpt} »"] if excerpt else []
            return "\n".join([head, place, *quoted, f"{url} {tags}"])

        def run() -> str:
            excerpt = fit(compose, title, rule.fits)
            # A cut can turn a word into a link ("exemple.frites" -> "exemple.fr…"):
            # scrubbing again only ever shortens the excerpt.
            rescrubbed = scrub(excerpt)
            if rescrubbed != excerpt:
                excerpt = fit(compose, rescrubbed, rule.fits)
            return compose(excerpt)

        return run

    return _first_fitting([attempt(tags) for tags in _tag_variants(activation)])


# --- a digest -------------------------------------------------------------------------------


def _digest_subject(needs: int, offers: int) -> str:
    total = needs + offers
    if not offers:
        return f"{total} {plural(total, 'nouveau besoin', 'nouveaux besoins')} d'aide"
    if not needs:
        return f"{total} {plural(total, 'nouvelle offre', 'nouvelles offres')} d'aide"
    return f"{total} nouvelles annonces"


def digest_tweet(
    *,
    activation: Activation | None,
    departement: str,
    counts: Mapping[tuple[Kind, Category], int],
    public_url: str,
    rule: TextRule = X_RULE,
    linked: bool = True,
) -> str:
    """One tweet for several approved posts of a département::

        17 nouvelles offres d'aide dans l'Aude : hébergement 6, transport 4, repas 3,
        matériel 2, garde 1, autre 1 ➜ https://… #InondationsAude #ShareEntraide

        12 nouvelles annonces dans le Gard : 7 besoins, 5 offres — hébergement 6, …

    Categories by decreasing count (then in their usual order); the list is cut with
    "…" when the tweet would not fit. Raises :class:`ValueError` without any post.
    """
    url = _pointer(public_url, linked)
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
            f"{needs} {plural(needs, 'besoin', 'besoins')}, "
            f"{offers} {plural(offers, 'offre', 'offres')}"
        )
        intro = f"{intro} {split} —"

    def attempt(tags: str) -> Callable[[], str]:
        def compose(kept: int) -> str:
            listed = ", ".join(items[:kept]) + (f" {ELLIPSIS}" if kept < len(items) else "")
            return f"{intro} {listed} {url} {tags}"

        def run() -> str:
            kept = largest(len(items), lambda k: rule.fits(compose(k)))
            if kept:
                return compose(kept)
            shortest = f"{intro.rstrip(' :—')} {url} {tags}"
            if rule.fits(shortest):
                return shortest
            raise TweetTooLong(shortest)

        return run

    return _first_fitting([attempt(tags) for tags in _tag_variants(activation)])


# --- an activation ----------------------------------------------------------------------------


def _places(codes: Sequence[str], shown: int) -> str:
    """ "l'Aude, le Gard et l'Hérault"; beyond ``shown``: "l'Aude et 5 autres départements"."""
    names = [departement_with_article(code) for code in codes]
    if shown >= len(names):
        return enumerate_fr(names)
    others = len(names) - shown
    rest = f"{others} {plural(others, 'autre département', 'autres départements')}"
    return enumerate_fr([*names[:shown], rest])


def activation_tweet(
    activation: Activation,
    *,
    opened: bool,
    public_url: str,
    rule: TextRule = X_RULE,
    linked: bool = True,
) -> str:
    """The tweet that announces an activation, or its end::

        ShareEntraide est activé pour l'Aude (inondations) : proposez ou demandez de
        l'aide près de chez vous ➜ https://… #InondationsAude #ShareEntraide

        Fin de l'activation de ShareEntraide pour l'Aude (inondations). Merci à toutes
        celles et à tous ceux qui ont proposé ou demandé de l'aide ! ➜ https://… #…

    Beyond what fits, the list of départements ends with "et N autres départements".
    """
    url = _pointer(public_url, linked)
    codes = list(dict.fromkeys(activation.departements))
    hazard = activation.hazard.label

    def compose(places: str, tags: str) -> str:
        if opened:
            return (
                f"ShareEntraide est activé pour {places} ({hazard}) : proposez ou demandez "
                f"de l'aide près de chez vous {url} {tags}"
            )
        return (
            f"Fin de l'activation de ShareEntraide pour {places} ({hazard}). Merci à toutes "
            f"celles et à tous ceux qui ont proposé ou demandé de l'aide ! {url} {tags}"
        )

    def attempt(tags: str) -> Callable[[], str]:
        def run() -> str:
            if not codes:
                tweet = compose("vos départements", tags)
                if rule.fits(tweet):
                    return tweet
                raise TweetTooLong(tweet)
            if rule.fits(compose(_places(codes, len(codes)), tags)):
                return compose(_places(codes, len(codes)), tags)
            shown = largest(len(codes) - 1, lambda k: rule.fits(compose(_places(codes, k), tags)))
            if shown:
                return compose(_places(codes, shown), tags)
            raise TweetTooLong(compose(_places(codes, 1), tags))

        return run

    return _first_fitting([attempt(tags) for tags in _tag_variants(activation)])


# --- the texts of one channel ------------------------------------------------------------------


def editorial_tweet(text: str, link: str, *, rule: TextRule = X_RULE, linked: bool = True) -> str:
    """An editorial item's text as the operators wrote it, its link on a line of its own
    (none where ``linked`` is off: X's link policy). Never cut: the calendar's import
    refuses a text that does not fit (:mod:`entraide.editorial.calendar_csv`)."""
    body = text.strip()
    if link and linked:
        body = f"{body}\n{_check_url(link)}"
    if not body or not rule.fits(body):
        raise TweetTooLong(body)
    return body


class ChannelTexts:
    """The three texts under one channel's :class:`~.text_rules.TextRule`, with a link in
    the kinds of ``linked`` only (X's link policy; every kind on Bluesky and Mastodon)."""

    def __init__(self, rule: TextRule, linked: Collection[str] = LINK_KINDS) -> None:
        self.rule = rule
        self.linked = frozenset(linked)

    def post_tweet(self, post: Post, *, activation: Activation | None, public_url: str) -> str:
        return post_tweet(
            post,
            activation=activation,
            public_url=public_url,
            rule=self.rule,
            linked="post" in self.linked,
        )

    def digest_tweet(
        self,
        *,
        activation: Activation | None,
        departement: str,
        counts: Mapping[tuple[Kind, Category], int],
        public_url: str,
    ) -> str:
        return digest_tweet(
            activation=activation,
            departement=departement,
            counts=counts,
            public_url=public_url,
            rule=self.rule,
            linked="digest" in self.linked,
        )

    def activation_tweet(self, activation: Activation, *, opened: bool, public_url: str) -> str:
        return activation_tweet(
            activation,
            opened=opened,
            public_url=public_url,
            rule=self.rule,
            linked="activation" in self.linked,
        )

    def editorial_tweet(self, text: str, link: str) -> str:
        return editorial_tweet(text, link, rule=self.rule, linked="editorial" in self.linked)
