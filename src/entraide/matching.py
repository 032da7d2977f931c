"""Pairing needs and offers: who can help whom, nearby, recorded once per pair.

When a post is approved, :func:`match_new_post` looks for approved posts of the other
kind, of a compatible category, in the same activation and within the radius
(:func:`find_counterparts`, through :class:`~entraide.nearby.NearbySearch`: no Scan), and
records each pair with a conditional put (:class:`MatchStore`). A pair is keyed by
(need, offer), whichever of the two was approved last: when both sides, or a replayed
stream record, find the same pair, only the first write creates it and only that one is
reported ``new``. The caller notifies the people concerned for the new pairs only.

Match items carry ids, categories, départements and the distance: no contact detail.

Importing this module reads nothing and creates no client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from entraide.kernel.model import Category, Kind, Post, PostStatus

if TYPE_CHECKING:
    from entraide.nearby import NearbyPost, NearbySearch
    from entraide.store import EntraideTable

DEFAULT_RADIUS_KM = 20.0
DEFAULT_LIMIT = 50
MATCH_SORT = "MATCH"
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


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


# --- match records --------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("a match time must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def match_key(need_id: str, offer_id: str) -> dict[str, str]:
    return {"pk": f"MATCH#{need_id}#{offer_id}", "sk": MATCH_SORT}


def match_to_item(need: Post, offer: Post, distance_km: float, at: datetime) -> dict[str, Any]:
    created = _iso(at)
    return {
        **match_key(need.id, offer.id),
        "entity": "match",
        "need_id": need.id,
        "offer_id": offer.id,
        "activation_id": need.activation_id,
        "need_category": need.category.value,
        "offer_category": offer.category.value,
        "need_departement": need.departement,
        "offer_departement": offer.departement,
        "distance_km": Decimal(f"{distance_km:.3f}"),
        "created_at": created,
        "gsi2pk": f"MATCH#{created[:7]}",
        "gsi2sk": f"{created}#{need.id}#{offer.id}",
    }


class MatchStore:
    """Match records in the single table: one item per (need, offer) pair, written once."""

    def __init__(self, table: EntraideTable) -> None:
        self.table = table

    def record_match(self, need: Post, offer: Post, distance_km: float, at: datetime) -> bool:
        """Record the pair; False when it was already recorded (nothing is written then)."""
        from boto3.dynamodb.types import TypeSerializer

        if need.kind is not Kind.NEED or offer.kind is not Kind.OFFER:
            raise ValueError("record_match(need, offer): a need first, then an offer")
        if need.activation_id != offer.activation_id:
            raise ValueError("a need and an offer of different activations do not match")
        serializer = TypeSerializer()
        item = match_to_item(need, offer, distance_km, at)
        client = self.table.client
        try:
            client.put_item(
                TableName=self.table.table_name,
                Item={key: serializer.serialize(value) for key, value in item.items()},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def matches_of_month(self, month: str) -> list[dict[str, Any]]:
        """The pairs recorded in ``month`` ("YYYY-MM", UTC), oldest first.

        Each: need_id, offer_id, activation_id, need_category, offer_category,
        need_departement, offer_departement, distance_km (float), created_at (ISO).
        """
        from boto3.dynamodb.types import TypeDeserializer

        if not _MONTH.fullmatch(month):
            raise ValueError(f"month must be YYYY-MM, not {month!r}")
        deserializer = TypeDeserializer()
        pages = self.table.client.get_paginator("query").paginate(
            TableName=self.table.table_name,
            IndexName="by_month",
            KeyConditionExpression="gsi2pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"MATCH#{month}"}},
        )
        records: list[dict[str, Any]] = []
        for page in pages:
            for raw in page["Items"]:
                item = {key: deserializer.deserialize(value) for key, value in raw.items()}
                records.append(
                    {
                        "need_id": item["need_id"],
                        "offer_id": item["offer_id"],
                        "activation_id": item["activation_id"],
                        "need_category": item.get("need_category"),
                        "offer_category": item.get("offer_category"),
                        "need_departement": item.get("need_departement"),
                        "offer_departement": item.get("offer_departement"),
                        "distance_km": float(item["distance_km"]),
                        "created_at": item["created_at"],
                    }
                )
        return records


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
