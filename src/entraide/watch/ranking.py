"""The watch's score, as an operator reads it: points per reason, the reasons kept.

=====================  ===========================================================
reason                 points
=====================  ===========================================================
relevance              10 a theme keyword or hashtag found in the text (at most 3 themes)
reference author       25 when the author is in the file's reference accounts
reach                  up to 20: 4 per power of ten of followers past 100 (10⁶ and more: 20)
engagement             up to 15: 3 per doubling of reposts×2 + replies + likes
freshness              up to 10: 10 under 3 hours, then one less every 3 hours
activation             15 a département's name or code, or the activation's hashtag
=====================  ===========================================================

Items that share a link, or whose texts are the same once folded (case, accents, links,
spaces), are one story: the best scored is kept, the others counted beside it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from entraide.kernel.departements import DEPARTEMENTS
from entraide.kernel.model import Activation
from entraide.kernel.text import fold
from entraide.watch.config import Theme, WatchConfig
from entraide.watch.items import WatchItem

_LINK: Final = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class ActivationContext:
    """An open activation: what its messages speak of."""

    hashtag: str
    places: tuple[str, ...]  # département codes and names, e.g. ("11", "Aude")

    @classmethod
    def of(cls, activations: Sequence[Activation]) -> ActivationContext | None:
        """What the open activations speak of (their hashtags: the first one's), or None."""
        if not activations:
            return None
        places = tuple(
            place
            for activation in activations
            for code in activation.departements
            for place in (code, DEPARTEMENTS.get(code, code))
        )
        return cls(activations[0].hashtag, places)


@dataclass(frozen=True)
class Scored:
    item: WatchItem
    score: int
    reasons: tuple[str, ...]
    duplicates: tuple[WatchItem, ...] = field(default=())

    def why(self) -> str:
        return " ; ".join(self.reasons)


def _matches(text: str, theme: Theme) -> bool:
    """A keyword or hashtag as whole words (folded: ``#Vigicrues`` is ``vigicrues``)."""
    folded = f" {fold(text)} "
    return any(f" {fold(term)} " in folded for term in (*theme.hashtags, *theme.keywords))


def score(
    item: WatchItem,
    config: WatchConfig,
    now: datetime,
    activation: ActivationContext | None = None,
) -> Scored:
    points = 0
    reasons: list[str] = []
    themes = [theme for theme in config.themes if _matches(item.text, theme)][:3]
    if themes:
        points += 10 * len(themes)
        reasons.append(f"thèmes : {', '.join(t.label for t in themes)} (+{10 * len(themes)})")
    if item.network and config.is_reference(item.network, item.author):
        points += 25
        reasons.append("compte de référence (+25)")
    if item.followers and item.followers > 100:
        reach = min(20, int(4 * math.log10(item.followers / 100)))
        if reach:
            points += reach
            reasons.append(f"{item.followers} abonnés (+{reach})")
    engagement_count = 2 * item.reposts + item.replies + item.likes
    if engagement_count:
        engagement = min(15, 3 * int(math.log2(1 + engagement_count)))
        if engagement:
            points += engagement
            reasons.append(
                f"{item.reposts} partages, {item.replies} réponses, "
                f"{item.likes} j'aime (+{engagement})"
            )
    if item.published_at is not None:
        hours = max(0.0, (now - item.published_at).total_seconds() / 3600)
        freshness = max(0, 10 - int(hours // 3))
        if freshness:
            points += freshness
            reasons.append(f"publié il y a {int(hours)} h (+{freshness})")
    if activation is not None:
        folded = f" {fold(item.text)} "
        named = any(
            f" {fold(term)} " in folded for term in (activation.hashtag, *activation.places)
        )
        if named:
            points += 15
            reasons.append(f"activation {activation.hashtag} (+15)")
    return Scored(item, points, tuple(reasons))


def story_key(item: WatchItem) -> str:
    """The same link, or the same words without their links: one story."""
    links = _LINK.findall(item.text)
    if links:
        return str(links[0]).rstrip(".,;)").lower()
    return " ".join(fold(_LINK.sub("", item.text)).split())


def rank(
    items: Sequence[WatchItem],
    config: WatchConfig,
    now: datetime,
    activation: ActivationContext | None = None,
) -> list[Scored]:
    """The items, one per story, best first (ties: the newest first, then the id)."""
    best: dict[str, Scored] = {}
    others: dict[str, list[WatchItem]] = {}
    for item in items:
        scored = score(item, config, now, activation)
        key = story_key(item)
        kept = best.get(key)
        if kept is None or scored.score > kept.score:
            if kept is not None:
                others.setdefault(key, []).append(kept.item)
            best[key] = scored
        else:
            others.setdefault(key, []).append(item)
    grouped = [
        Scored(s.item, s.score, s.reasons, tuple(others.get(key, ()))) for key, s in best.items()
    ]
    return sorted(
        grouped,
        key=lambda s: (
            -s.score,
            -(s.item.published_at.timestamp() if s.item.published_at else 0),
            s.item.item_id,
        ),
    )
