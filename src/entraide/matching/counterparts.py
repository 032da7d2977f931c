"""Pairing needs and offers: who can help whom, nearby, recorded once per pair.

When a post is approved, :func:`match_new_post` looks for approved posts of the other
kind, of a compatible category, in the same activation and within the radius
(:func:`find_counterparts`, through :class:`~entraide.matching.nearby.NearbySearch`: no
Scan), and records each pair with a conditional put
(:class:`~entraide.matching.match_store.MatchStore`), in one transaction with the notices it
calls for: a recorded match has its notices queued. A pair is keyed by (need, offer),
whichever of the two was approved last: when both sides, or a replayed stream record,
find the same pair, only the first write creates it and only that one is reported
``new``.

Two counterparts approved within an index's lag never see each other: each query of the
``by_cell`` index still shows the other as pending, and no match is made. So
:func:`reconcile_matches` looks again, on a schedule, at every post approved in the last
hour (``RECONCILE_WINDOW``), once the index has caught up, and records the pairs still
missing (it reads first: a conditional write that fails costs as much as one that
succeeds).

Match items carry ids, categories, départements and the distance: no contact detail.

Importing this module reads nothing and creates no client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from entraide.kernel.model import Category, Kind, Post, PostStatus
from entraide.observability import logger

if TYPE_CHECKING:
    from entraide.adapters.table import Write
    from entraide.matching.match_store import MatchStore
    from entraide.matching.nearby import NearbyPost, NearbySearch

DEFAULT_RADIUS_KM = 20.0
DEFAULT_LIMIT = 50
#: Posts approved this recently are matched again by the schedule.
RECONCILE_WINDOW = timedelta(hours=1)


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


#: The writes that queue a match's notices (``NoticeBook.queue_writes``).
NoticeWrites = Callable[["Match"], Sequence["Write"]]


def match_new_post(
    post: Post,
    *,
    search: NearbySearch,
    matches: MatchStore,
    radius_km: float = DEFAULT_RADIUS_KM,
    now: datetime,
    limit: int = DEFAULT_LIMIT,
    notices: NoticeWrites | None = None,
    known_first: bool = False,
) -> list[Match]:
    """Find the counterparts of a newly approved post and record every pair, nearest first,
    each with its notices (``notices``) in the same transaction.

    A post that is not approved matches nothing (empty list, nothing written). Replaying
    the call records nothing twice: the pairs already recorded come back with
    ``new=False``. With ``known_first``, a recorded pair is read before it is written (and
    left out of the result).
    """
    if post.status is not PostStatus.APPROVED:
        return []
    found = find_counterparts(search, post, radius_km=radius_km, limit=limit)
    results: list[Match] = []
    for hit in found:
        need, offer = (post, hit.post) if post.kind is Kind.NEED else (hit.post, post)
        if known_first and matches.exists(need.id, offer.id):
            continue
        match = Match(need=need, offer=offer, distance_km=hit.distance_km, new=True)
        also = notices(match) if notices is not None else ()
        new = matches.record_match(need, offer, hit.distance_km, now, also=also)
        results.append(Match(need=need, offer=offer, distance_km=hit.distance_km, new=new))
    return results


def reconcile_matches(
    approved: Iterable[Post],
    *,
    search: NearbySearch,
    matches: MatchStore,
    radius_km: float = DEFAULT_RADIUS_KM,
    now: datetime,
    notices: NoticeWrites | None = None,
) -> list[Match]:
    """Record the pairs the approvals of ``approved`` (the last hour's) should have made and
    did not (two counterparts approved within the index's lag, a stream record given up);
    returns the pairs recorded now."""
    recorded: list[Match] = []
    for post in approved:
        try:  # one post's trouble never stops the others: it is looked at again next time
            found = match_new_post(
                post,
                search=search,
                matches=matches,
                radius_km=radius_km,
                now=now,
                notices=notices,
                known_first=True,
            )
        except Exception as error:
            logger.warning(
                "Matching again failed for a post; tried again next time",
                extra={"post_id": post.id, "error": f"{type(error).__name__}"},
            )
            continue
        recorded += [match for match in found if match.new]
    return recorded
