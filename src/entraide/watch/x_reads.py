"""X recent search for the watch: the query from the themes, and what a day's reads may cost.

X charges every post read and every user read (``entraide.publishing.x_prices``: $0.005 a
post, $0.010 a user). A search asks for ``max_results`` posts (10 to 100 per request) and the
authors of the posts it returns (``expansions=author_id``): it may therefore cost up to
``max_results × (READ_POST + READ_USER)``, and the watch asks only for what the day's budget
left can pay at that worst — the day's reads never pass their budget, whatever X answers.
``since_id`` (the newest id already read) keeps a post from being paid for twice.

Limits (docs.x.com, X API v2 "Search Posts", recent search, read 2026-12): a query of 512
characters at most; ``max_results`` from 10 to 100; posts of the last seven days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from entraide.publishing.x_prices import READ_POST, READ_USER
from entraide.watch.config import Theme

QUERY_MAX_CHARS: Final = 512
MIN_RESULTS: Final = 10
MAX_RESULTS: Final = 100
#: The most one post of a search answer may cost: the post and its author.
WORST_COST_PER_RESULT: Final = READ_POST + READ_USER
#: Posts in French, not reposts (the original is what is worth relaying).
QUERY_FILTERS: Final = "lang:fr -is:retweet"


def _term(word: str) -> str:
    return f'"{word}"' if " " in word or "-" in word else word


def search_query(themes: Sequence[Theme]) -> str:
    """``(t1 OR t2 …) lang:fr -is:retweet`` with as many of the themes' hashtags and
    keywords as fit in X's 512 characters (hashtags first: they are the sharpest)."""
    terms: list[str] = []
    for theme in themes:
        terms += [tag for tag in theme.hashtags if tag not in terms]
    for theme in themes:
        terms += [_term(word) for word in theme.keywords if _term(word) not in terms]
    kept: list[str] = []
    for term in terms:
        query = f"({' OR '.join([*kept, term])}) {QUERY_FILTERS}"
        if len(query) > QUERY_MAX_CHARS:
            break
        kept.append(term)
    if not kept:
        raise ValueError("aucun terme de recherche ne tient dans une requête X")
    return f"({' OR '.join(kept)}) {QUERY_FILTERS}"


def bluesky_query(theme: Theme) -> str:
    """Bluesky's search term for a theme: its first hashtag, else its first keyword."""
    return theme.hashtags[0] if theme.hashtags else _term(theme.keywords[0])


@dataclass(frozen=True)
class ReadPlan:
    """One search request the day's budget can pay at its worst."""

    max_results: int

    @property
    def worst_cost(self) -> int:
        return self.max_results * WORST_COST_PER_RESULT


def plan_read(budget: int, spent: int) -> ReadPlan | None:
    """The request to make with ``budget − spent`` millidollars left today, or ``None``
    when not even the smallest request (10 posts) could be paid at its worst."""
    affordable = (budget - spent) // WORST_COST_PER_RESULT
    if affordable < MIN_RESULTS:
        return None
    return ReadPlan(min(MAX_RESULTS, affordable))


def read_cost(posts: int, users: int) -> int:
    """What an answer with ``posts`` posts and ``users`` authors cost, in millidollars."""
    return posts * READ_POST + users * READ_USER
