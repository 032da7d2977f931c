"""The match item: the one module that reads and writes it.

``pk = MATCH#<need id>#<offer id>``, ``sk = MATCH``, written once with a conditional put
(whichever side was approved last finds the pair; a replayed stream record finds it
again): ids, categories, départements and the distance, no contact detail;
``gsi2pk = MATCH#YYYY-MM`` for the monthly report.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from entraide.adapters.table import (
    BY_MONTH,
    ConditionFailed,
    Put,
    Table,
    TransactionCancelled,
    Write,
)
from entraide.kernel.model import Kind, Post
from entraide.kernel.times import iso, month_of

MATCH_SORT = "MATCH"
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def match_key(need_id: str, offer_id: str) -> dict[str, str]:
    return {"pk": f"MATCH#{need_id}#{offer_id}", "sk": MATCH_SORT}


def match_to_item(need: Post, offer: Post, distance_km: float, at: datetime) -> dict[str, Any]:
    if at.tzinfo is None:
        raise ValueError("a match time must be timezone-aware")
    created = iso(at)
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
        "gsi2pk": f"MATCH#{month_of(at)}",
        "gsi2sk": f"{created}#{need.id}#{offer.id}",
    }


class MatchStore:
    """Match records in the single table: one item per (need, offer) pair, written once."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def record_match(
        self,
        need: Post,
        offer: Post,
        distance_km: float,
        at: datetime,
        *,
        also: Sequence[Write] = (),
    ) -> bool:
        """Record the pair, with ``also`` (the notices it calls for) in the same transaction:
        a recorded match has its notices queued. False when it was already recorded
        (nothing is written then)."""
        if need.kind is not Kind.NEED or offer.kind is not Kind.OFFER:
            raise ValueError("record_match(need, offer): a need first, then an offer")
        if need.activation_id != offer.activation_id:
            raise ValueError("a need and an offer of different activations do not match")
        put = Put(
            item=match_to_item(need, offer, distance_km, at), condition="attribute_not_exists(pk)"
        )
        try:
            if also:
                self.table.transact([put, *also])
            else:
                self.table.write(put)
        except ConditionFailed:
            return False
        except TransactionCancelled as cancelled:
            if cancelled.reasons and cancelled.reasons[0] == "ConditionalCheckFailed":
                return False
            raise
        return True

    def exists(self, need_id: str, offer_id: str) -> bool:
        """Whether the pair is recorded (a read: cheaper than a write that fails)."""
        return self.table.get(match_key(need_id, offer_id), projection="pk") is not None

    def matches_of_month(self, month: str) -> list[dict[str, Any]]:
        """The pairs recorded in ``month`` ("YYYY-MM", UTC), oldest first.

        Each: need_id, offer_id, activation_id, need_category, offer_category,
        need_departement, offer_departement, distance_km (float), created_at (ISO).
        """
        if not _MONTH.fullmatch(month):
            raise ValueError(f"month must be YYYY-MM, not {month!r}")
        items = self.table.query("gsi2pk = :pk", {":pk": f"MATCH#{month}"}, index=BY_MONTH)
        return [
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
            for item in items
        ]
