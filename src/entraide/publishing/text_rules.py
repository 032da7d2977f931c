"""How long a text may be on each network, as each network counts it.

A :class:`TextRule` says whether a text fits in one message of a channel; the texts of
:mod:`.tweets` are composed under the rule of the channel they go to (a title is cut, a
list shortened, until the whole fits):

- **X**: at most 280 *weighted* characters, twitter-text's count (a URL counts 23, an emoji
  2): :func:`.tweet_text.fits`.
- **Bluesky**: at most 300 *graphemes* (user-perceived characters: an emoji with its
  modifiers is one), and at most 3,000 bytes of UTF-8 — the ``app.bsky.feed.post`` lexicon's
  ``maxGraphemes: 300`` and ``maxLength: 3000`` on ``text`` (docs.bsky.app, "Posts",
  "Post record"; read 2026-12). A link counts with every character of its URL: Bluesky has
  no link shortener; the link is a *facet* over the URL's bytes
  (:func:`entraide.publishing.bluesky.facets`).
- **Mastodon**: at most the instance's ``configuration.statuses.max_characters`` (500 on a
  stock instance), every URL counting ``characters_reserved_per_url`` (23), the rest
  counted in grapheme clusters (Mastodon's ``StatusLengthValidator``; docs.joinmastodon.org,
  "Instance" entity, read 2026-12).

Graphemes are counted with ``regex``'s ``\\X`` (Unicode extended grapheme clusters, what
Bluesky's and Mastodon's own counters use).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import regex

from entraide.publishing.tweet_text import fits as x_fits

#: Bluesky's ``app.bsky.feed.post`` text: graphemes, then bytes.
BLUESKY_MAX_GRAPHEMES: Final = 300
BLUESKY_MAX_BYTES: Final = 3000
#: A stock Mastodon instance (``max_characters``), and what a URL counts there.
MASTODON_DEFAULT_MAX_CHARACTERS: Final = 500
MASTODON_URL_LENGTH: Final = 23

_GRAPHEME = regex.compile(r"\X")
_URL = regex.compile(r"https?://\S+")


def graphemes(text: str) -> int:
    """User-perceived characters (extended grapheme clusters) of ``text``."""
    return len(_GRAPHEME.findall(text))


def bluesky_fits(text: str) -> bool:
    return (
        0 < graphemes(text) <= BLUESKY_MAX_GRAPHEMES
        and len(text.encode("utf-8")) <= BLUESKY_MAX_BYTES
    )


def mastodon_length(text: str, *, url_length: int = MASTODON_URL_LENGTH) -> int:
    """The length Mastodon counts: each URL as ``url_length``, the rest in graphemes.

    Mastodon counts only links with their scheme (it extracts URLs without
    ``extract_url_without_protocol``): "exemple.fr" alone is plain text there."""
    urls = len(_URL.findall(text))
    return graphemes(_URL.sub("", text)) + url_length * urls


@dataclass(frozen=True, slots=True)
class TextRule:
    """Whether a text fits in one message of ``channel``."""

    channel: str
    fits: Callable[[str], bool]
    describe: str


X_RULE: Final = TextRule("x", x_fits, "280 weighted characters (twitter-text)")
BLUESKY_RULE: Final = TextRule("bluesky", bluesky_fits, "300 graphemes, 3,000 bytes")


def mastodon_rule(max_characters: int = MASTODON_DEFAULT_MAX_CHARACTERS) -> TextRule:
    """Mastodon's rule for an instance whose ``max_characters`` is given."""

    def fits(text: str) -> bool:
        return bool(text.strip()) and mastodon_length(text) <= max_characters

    return TextRule("mastodon", fits, f"{max_characters} characters, a URL counting 23")
