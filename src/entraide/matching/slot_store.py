"""Send slots: at most one message per interval, claimed with one conditional write.

A slot is an item whose ``sent_at`` says when the last message went; claiming it sets
``sent_at`` to now under the condition ``attribute_not_exists(sent_at) OR sent_at <= now -
interval``, so that of two senders one wins and the other sends nothing (a sliding
window: a message at 10:59 blocks one at 11:00). A failed send gives the slot back.

Two kinds of slot: the last match notice of a recipient (``NOTICE#<digest>`` / ``SENT``,
keyed by :mod:`entraide.matching.notice_store`, which owns those items) and the last
contact message of a (need, offer) pair, owned here: ``pk =
CONTACT-REQUEST#<offer id>#<need id>``, ``sk = CLAIM``, with ``sent_at``, the claim token
and ``expires_at`` (TTL).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from entraide.adapters.table import ConditionFailed, Delete, Item, Table, Update
from entraide.kernel.times import epoch, iso, parse_iso

CONTACT_REQUEST_PREFIX = "CONTACT-REQUEST#"


def contact_request_key(offer_id: str, need_id: str) -> Item:
    return {"pk": f"{CONTACT_REQUEST_PREFIX}{offer_id}#{need_id}", "sk": "CLAIM"}


class SlotStore:
    """Claims and gives back send slots in the single table."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def claim(
        self,
        key: Item,
        *,
        entity: str,
        now: datetime,
        interval: timedelta,
        memory: timedelta,
        token: str | None = None,
    ) -> str | datetime:
        """Claim the send slot of ``key`` (pk, sk) before sending: a token, or, when the
        slot is taken, when the last message went. One conditional write, so two senders
        never both get it; the item expires ``memory`` after the interval.

        With a ``token`` of the caller's (what it sends), a claim repeated after its lost
        answer is recognised as the caller's own."""
        token = token or uuid.uuid4().hex
        try:
            self.table.write(
                Update(
                    key=key,
                    expression=(
                        "SET #entity = :entity, #sent = :now, #claim = :token, #expires = :expires"
                    ),
                    condition="attribute_not_exists(#sent) OR #sent <= :cutoff",
                    names={
                        "#entity": "entity",
                        "#sent": "sent_at",
                        "#claim": "claim",
                        "#expires": "expires_at",
                    },
                    values={
                        ":entity": entity,
                        ":now": iso(now),
                        ":token": token,
                        ":cutoff": iso(now - interval),
                        ":expires": epoch(now + interval + memory),
                    },
                ),
                keep_old=True,
            )
        except ConditionFailed as exc:
            old = exc.old or {}
            if old.get("claim") == token:
                return token  # ours: the first answer was lost
            return parse_iso(str(old["sent_at"])) if old.get("sent_at") else now
        return token

    def release(self, key: Item, token: str) -> None:
        """Give a claimed slot back (nothing was sent); another claim by now is kept."""
        try:
            self.table.write(
                Delete(
                    key=key,
                    condition="#claim = :token",
                    names={"#claim": "claim"},
                    values={":token": token},
                )
            )
        except ConditionFailed:
            return

    def taken(
        self, key: Item, *, now: datetime, interval: timedelta, token: str
    ) -> datetime | None:
        """When the last message went, if :meth:`claim` would now refuse the slot to
        ``token`` (a message less than ``interval`` ago, under another claim); else None.

        A read, so that a sender who would lose the claim does not pay for it: DynamoDB
        bills a write whose condition fails as one that succeeds, a strongly consistent
        read of an item up to 4 KB one read unit (developer guide,
        read-write-operations.html). The claim stays the guard of two senders."""
        item = self.table.get(key) or {}
        sent = item.get("sent_at")
        if not sent or item.get("claim") == token:
            return None
        last = parse_iso(str(sent))
        # the claim's own comparison: ``sent_at`` against the cutoff, both to the second
        return last if last > parse_iso(iso(now - interval)) else None

    def last_sent(self, key: Item) -> datetime | None:
        """When the last message of this slot went (within the slot item's life)."""
        item = self.table.get(key)
        sent = (item or {}).get("sent_at")
        return parse_iso(str(sent)) if sent else None
