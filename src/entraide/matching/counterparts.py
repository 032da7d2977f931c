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
``by_cell`` index still shows the other as pending, and no match is made. And a stream
record the router gave up never reaches geomatch. So the approval itself records, in its
transaction, that the post must be matched: a subject of the effects ledger
(:func:`match_subject`, one effect ``match``), due once the index has caught up (its
delay) and swept by geomatch's schedule (:class:`MatchDue`), retried like every effect
until it is done (given up and alarmed after the ledger's attempts). The stream stays the
fast path, which people hear of within seconds.

Both paths read a pair before writing it (:func:`match_new_post`): two counterparts
approved close together each find the other, and the second transaction would be cancelled
by the match item's condition, billed all the same. A cancelled transaction of a match and
its notices costs about 10 write units; the read of the missing pair, one read unit.

Match items carry ids, categories, départements and the distance: no contact detail.

Importing this module reads nothing and creates no client.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from entraide.effects.model import Effect, Entry, Perform, Record, Subject
from entraide.kernel.model import Category, Kind, Post, PostStatus

if TYPE_CHECKING:
    from entraide.adapters.table import Write
    from entraide.intake.post_store import PostReader
    from entraide.matching.match_store import MatchStore
    from entraide.matching.nearby import NearbyPost, NearbySearch

DEFAULT_RADIUS_KM = 20.0
DEFAULT_LIMIT = 50
#: The function whose sweep matches approved posts (and sends the match notices).
GEOMATCH = "geomatch"
#: The effect of an approved post's subject: its pairs recorded, with their notices.
MATCH = "match"
MATCH_PREFIX = "match:"


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
) -> list[Match]:
    """Find the counterparts of a newly approved post and record every pair, nearest first,
    each with its notices (``notices``) in the same transaction.

    A post that is not approved matches nothing (empty list, nothing written). Replaying
    the call records nothing twice: the pairs already recorded come back with
    ``new=False``.

    Each pair is read before it is written. DynamoDB bills a write whose condition fails
    as it bills one that succeeds, and a transaction twice per item ("DynamoDB performs two
    underlying reads or writes of every item in the transaction", developer guide,
    transaction-apis.html, "Capacity management for transactions"): the second side's
    transaction of a pair (the match, and each side's pending notice and due hint) would
    cost about 10 write units for nothing. A strongly consistent read "of an item up to
    4 KB requires one read unit" (read-write-operations.html, "Capacity unit consumption
    for read operations"), a missing item included: one read request unit ($0.1485 a
    million in eu-west-3) against 10 write request units ($0.7423 a million each,
    ``entraide.costs.prices``). The read is consistent so that a pair written a moment
    ago by the other side's run is seen; two runs that read at the same instant still both
    write, and the match item's condition keeps one.
    """
    if post.status is not PostStatus.APPROVED:
        return []
    found = find_counterparts(search, post, radius_km=radius_km, limit=limit)
    results: list[Match] = []
    for hit in found:
        need, offer = (post, hit.post) if post.kind is Kind.NEED else (hit.post, post)
        if matches.exists(need.id, offer.id):
            results.append(Match(need=need, offer=offer, distance_km=hit.distance_km, new=False))
            continue
        match = Match(need=need, offer=offer, distance_km=hit.distance_km, new=True)
        also = notices(match) if notices is not None else ()
        new = matches.record_match(need, offer, hit.distance_km, now, also=also)
        results.append(Match(need=need, offer=offer, distance_km=hit.distance_km, new=new))
    return results


def match_subject(post_id: str, version: int, *, delay: timedelta) -> Subject:
    """The ledger's subject that says the approved ``version`` of a post must be matched.

    At least once: recording a pair is a conditional write, so matching again records
    nothing twice. ``delay``: the sweep first looks at it once the index shows the posts
    approved about the same time (see ``MatchDueSettings``)."""
    return Subject(
        key=f"{MATCH_PREFIX}{post_id}:{version}",
        owner=GEOMATCH,
        effects=(Effect(MATCH, delay=delay),),
        data={"post_id": post_id, "version": version},
    )


def match_due_writes(delay: timedelta) -> Callable[[str, int, datetime], list[Write]]:
    """What an approval writes in its transaction (``ModerationDesk``'s
    ``approval_writes``): the subject of :func:`match_subject`, recorded as the ledger
    records every subject."""
    from entraide.effects.ledger_store import opening_write

    def writes(post_id: str, version: int, at: datetime) -> list[Write]:
        return [opening_write(match_subject(post_id, version, delay=delay), now=at)]

    return writes


class MatchDue:
    """geomatch's sweep of approved posts to match: each due subject is matched with the
    post as it is now (a post no longer approved: done, nothing to do)."""

    def __init__(
        self,
        *,
        posts: PostReader,
        search: NearbySearch,
        matches: MatchStore,
        radius_km: float = DEFAULT_RADIUS_KM,
        now: Callable[[], datetime],
        notices: NoticeWrites | None = None,
    ) -> None:
        self.posts = posts
        self.search = search
        self.matches = matches
        self.radius_km = radius_km
        self.now = now
        self.notices = notices

    def performer_for(self, record: Record) -> Perform | None:
        """The sweep's performer for a subject of this function."""
        return self.perform if record.key.startswith(MATCH_PREFIX) else None

    def perform(self, entry: Entry, record: Record) -> str:
        post = self.posts.get_post(str(record.data["post_id"]))
        if post is None:
            return "moot: the post is gone"
        if post.status is not PostStatus.APPROVED:
            return f"moot: the post is {post.status.value}"
        recorded = match_new_post(
            post,
            search=self.search,
            matches=self.matches,
            radius_km=self.radius_km,
            now=self.now(),
            notices=self.notices,
        )
        return f"{sum(1 for match in recorded if match.new)} new"
