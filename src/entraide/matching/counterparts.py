"""Pairing needs and offers: who can help whom, nearby, recorded once per pair.

When a post is approved, :func:`match_new_post` looks for approved posts of the other
kind, of a compatible category, in the same activation and within the radius
(:func:`find_counterparts`, through :class:`~entraide.matching.nearby.NearbySearch`: no
Scan), and records each pair with a conditional put
(:class:`~entraide.matching.match_store.MatchStore`). A pair is keyed by (need, offer),
whichever of the two was approved last: when both sides, or a replayed stream record,
find the same pair, only the first write creates it and only that one is reported
``new``. The caller notifies the people concerned for the new pairs only.

Match items carry ids, categories, départements and the distance: no contact detail.

Importing this module reads nothing and creates no client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from entraide.kernel.model import Category, Kind, Post, PostStatus

if TYPE_CHECKING:
    from entraide.matching.match_store import MatchStore
    from entraide.matching.nearby import NearbyPost, NearbySearch

DEFAULT_RADIUS_KM = 20.0
DEFAULT_LIMIT = 50


def counterpart_kind(kind: Kind) -> Kind:
    """Needs are matched with offers, offers with needs."""
    return Kind.OFFER if kind is Kind.NEED else Kind.NEED


def compatible(category_a: Category, category_b: Category) -> bool:
    """Same category; "autre" (other) is compatible with every category."""
    return category_a == category_b or Category.AUTRE in (category_a, category_b)


def compatible_categories(category: Category) -> frozenset[Category]:
    """Every category compatible with ``category``."""
    return frozenset(other for other in Category if compatible(category, other))


def find_counterparts(
    search: NearbySearch,
    post: Post,
    *,
    radius_km: float = DEFAULT_RADIUS_KM,
    limit: int = DEFAULT_LIMIT,
) -> list[NearbyPost]:
    """Approved posts that could pair with ``post``, nearest first.

    Of the other kind, of a compatible category, in the same activation, within
    ``radius_km``; never ``post`` itself. At most ``limit`` of them.
    """
    page = search.search(
        lat=post.lat,
        lon=post.lon,
        radius_km=radius_km,
        activation_ids=(post.activation_id,),
        kind=counterpart_kind(post.kind),
        category=compatible_categories(post.category),
        limit=limit,
        exclude=post.id,
    )
    return list(page.items)


@dataclass(frozen=True)
class Match:
    """A pair found for a new post; ``new`` is False when it was recorded before."""

    need: Post
    offer: Post
    distance_km: float
    new: bool


def match_new_post(
    post: Post,
    *,
    search: NearbySearch,
    matches: MatchStore,
    radius_km: float = DEFAULT_RADIUS_KM,
    now: datetime,
    limit: int = DEFAULT_LIMIT,
) -> list[Match]:
    """Find the counterparts of a newly approved post and record every pair, nearest first.

    A post that is not approved matches nothing (empty list, nothing written). Replaying
    the call records nothing twice: the pairs already recorded come back with
    ``new=False``; notify the people concerned for the ``new`` ones only.
    """
    if post.status is not PostStatus.APPROVED:
        return []
    found = find_counterparts(search, post, radius_km=radius_km, limit=limit)
    results: list[Match] = []
    for hit in found:
        need, offer = (post, hit.post) if post.kind is Kind.NEED else (hit.post, post)
        new = matches.record_match(need, offer, hit.distance_km, now)
        results.append(Match(need=need, offer=offer, distance_km=hit.distance_km, new=new))
    return results
