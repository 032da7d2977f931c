"""Tweet text as X counts it, and a poster's text made fit to be quoted in one.

:func:`weighted_length` is twitter-text's weighted length (a URL counts 23, most letters
and punctuation 1, emoji, "…" and "➜" 2); :func:`fit` shortens a part of a composition at
a word boundary, with "…", until the whole is at most :data:`TWEET_MAX`.

A post's public text is typed by a person: before it reaches a tweet, :func:`scrub`
replaces every email address, phone number and link in it by "[…]" (and turns
"@someone" into "someone", so that a tweet mentions nobody).

twitter-text is imported on first use (its import costs ~200 ms of a cold start).
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from entraide.kernel.once import Once
from entraide.privacy.detection import EMAIL_PATTERN, PHONE_PATTERN, link_domains

if TYPE_CHECKING:
    from types import ModuleType

#: The most weighted characters X accepts in one tweet.
TWEET_MAX: Final = 280
#: What replaces an email address, a phone number or a link of a poster's text.
SCRUBBED: Final = "[…]"
ELLIPSIS: Final = "…"
ARROW: Final = "➜"


class TweetTooLong(ValueError):
    """Even the shortest form of a composition is over :data:`TWEET_MAX`."""

    def __init__(self, text: str) -> None:
        super().__init__(
            f"Tweet too long even when shortened: {weighted_length(text)} weighted "
            f"characters, at most {TWEET_MAX}."
        )
        self.text = text


# --- twitter-text, imported on first use -------------------------------------------------


def _import_twitter_text() -> ModuleType:
    with warnings.catch_warnings():
        # twitter-text-parser 3.0.0 loads its emoji table through pkg_resources.
        warnings.filterwarnings(
            "ignore", message="pkg_resources is deprecated", category=UserWarning
        )
        import twitter_text

    module: ModuleType = twitter_text
    return module


_twitter_text = Once(_import_twitter_text)


def _tt() -> ModuleType:
    return _twitter_text.get()


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

    The pre-screen's detector (:func:`entraide.privacy.detection.link_domains`) finds
    what a moderator should see; X's own (twitter-text) also links names such as
    "Narbonne.Fr" that the pre-screen leaves alone on purpose. A tweet must contain neither.
    """
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

    Email addresses and phone numbers (:mod:`entraide.privacy.detection`) and every word that
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


def largest(candidates: int, fits_at: Callable[[int], bool]) -> int:
    """The largest ``k`` in ``1..candidates`` with ``fits_at(k)``, else 0 (binary search)."""
    low, high = 0, candidates
    while low < high:
        middle = (low + high + 1) // 2
        if fits_at(middle):
            low = middle
        else:
            high = middle - 1
    return low


def shortened(text: str, accept: Callable[[str], bool]) -> str | None:
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

    count = largest(len(words) - 1, lambda k: bool(by_words(k)) and accept(by_words(k)))
    if count:
        return by_words(count)

    def by_chars(k: int) -> str:
        return _with_ellipsis(_cut_chars(words[0], k))

    count = largest(len(words[0]) - 1, lambda k: bool(by_chars(k)) and accept(by_chars(k)))
    if count:
        return by_chars(count)
    return ELLIPSIS if accept(ELLIPSIS) else None


def fit(
    compose: Callable[[str], str], text: str, accept: Callable[[str], bool] | None = None
) -> str:
    """The longest form of ``text`` whose ``compose(...)`` fits in a tweet (or is taken by
    ``accept``: another network's rule)."""
    judge = accept or fits
    chosen = shortened(text, lambda part: judge(compose(part)))
    if chosen is None:
        raise TweetTooLong(compose(ELLIPSIS))
    return chosen
