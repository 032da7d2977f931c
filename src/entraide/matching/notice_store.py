"""The match-notice items: the one module that reads and writes them.

A recipient is only ever named by their pseudonym (the HMAC of their address that their
contact item carries: :mod:`entraide.privacy.pseudonyms`), never by the address itself:

* ``pk = NOTICE#<digest>``, ``sk = PENDING#<queued at>#<need id>#<offer id>``: a match
  to tell about (``role``, ``need_id``, ``offer_id``, ``distance_km``, ``queued_at``);
  TTL ``expires_at`` after ``memory`` (the retention of personal data after a post ends,
  30 days by default: a notice is queued while both posts are public, so it goes no later
  than that after they end);
* ``pk = NOTICE#<digest>``, ``sk = SENT``: the send slot (``sent_at`` of the last
  email, the ``claim`` token; see :mod:`entraide.matching.slot_store`); TTL
  ``min_interval`` + 1 day;
* ``pk = NOTICE-DUE``, ``sk = <due at>#<digest>``: "look at this recipient from
  ``<due at>`` on" (``digest``, ``due_at``); TTL ``memory``.

Every item has an ``entity`` (``match-notice``, ``match-notice-sent``,
``match-notice-due``) that no stream filter of posts matches.

Access patterns:

* queue a match: the ``PENDING`` item and a ``NOTICE-DUE`` item for each recipient, in the
  transaction that records the match itself (geomatch). Its replay guard is the match item
  (``MATCH#<need>#<offer>``, ``attribute_not_exists``, never deleted): a replayed match
  cancels the whole transaction, so a pair's notices are queued once, for ever. A replay
  guard per recipient (``QUEUED#<need>#<offer>``, once written in the same transaction)
  guarded nothing more and cost two write units per side;
* a recipient's pending notices: ``Query pk = NOTICE#<digest> AND begins_with(sk,
  "PENDING#")`` (oldest first), then ``BatchWriteItem`` deletes those sent or stale;
* who is due (the scheduled flush, every 15 min): ``Query pk = NOTICE-DUE AND sk <=
  "<now>#~"``.

``NOTICE-DUE`` is one partition: a few writes per match, well under a partition's
1,000 writes per second at the scale of a disaster; shard it (``NOTICE-DUE#<0-f>``,
first hex digit of the digest) if it ever becomes hot.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from entraide.adapters.table import Item, Put, Table, Write
from entraide.kernel.times import epoch, iso, parse_iso
from entraide.matching.slot_store import SlotStore
from entraide.observability import logger

#: How long a pending notice and its due hint are kept, by
#: default: the retention of personal data after a post ends (settings: RETENTION_DAYS).
NOTICE_MEMORY = timedelta(days=30)
#: A due hint further ahead than this is read before it is written (``move_due``): no
#: flush sees it due before the read is over. It covers the read's own time and the
#: difference between two functions' clocks, which the ledger's leases already take to be
#: well under their 5 s margin.
HINT_READ_AHEAD = timedelta(seconds=5)
#: The send slot record outlives its interval by this much, then TTL removes it.
SENT_MEMORY_MARGIN = timedelta(days=1)

NOTICE_PREFIX = "NOTICE#"
DUE_PARTITION = "NOTICE-DUE"
PENDING_PREFIX = "PENDING#"
SENT_SK = "SENT"


class Role(StrEnum):
    """Which side of the match the recipient is on."""

    NEED = "need"  # posted the need: is told about the offer
    OFFER = "offer"  # posted the offer: is told about the need


@dataclass(frozen=True, slots=True)
class PendingNotice:
    """One match waiting to be told to ``recipient`` (a digest)."""

    recipient: str
    role: Role
    need_id: str
    offer_id: str
    distance_km: float
    queued_at: datetime
    sk: str

    @property
    def own_id(self) -> str:
        """The recipient's own post."""
        return self.need_id if self.role is Role.NEED else self.offer_id


def _notice_pk(digest: str) -> str:
    return f"{NOTICE_PREFIX}{digest}"


def _slot_key(digest: str) -> Item:
    return {"pk": _notice_pk(digest), "sk": SENT_SK}


def _pending_to_item(
    digest: str,
    role: Role,
    need_id: str,
    offer_id: str,
    distance_km: float,
    queued_at: datetime,
    memory: timedelta,
) -> Item:
    queued = iso(queued_at)
    return {
        "pk": _notice_pk(digest),
        "sk": f"{PENDING_PREFIX}{queued}#{need_id}#{offer_id}",
        "entity": "match-notice",
        "role": role.value,
        "need_id": need_id,
        "offer_id": offer_id,
        # DynamoDB numbers are decimals; a metre is more precision than a centroid has
        "distance_km": Decimal(f"{distance_km:.3f}"),
        "queued_at": queued,
        "expires_at": epoch(queued_at + memory),
    }


def _pending_from_item(item: Mapping[str, Any]) -> PendingNotice:
    return PendingNotice(
        recipient=str(item["pk"]).removeprefix(NOTICE_PREFIX),
        role=Role(item["role"]),
        need_id=str(item["need_id"]),
        offer_id=str(item["offer_id"]),
        distance_km=float(item["distance_km"]),
        queued_at=parse_iso(str(item["queued_at"])),
        sk=str(item["sk"]),
    )


def _due_item(digest: str, due_at: datetime, memory: timedelta) -> Item:
    return {
        "pk": DUE_PARTITION,
        "sk": f"{iso(due_at)}#{digest}",
        "entity": "match-notice-due",
        "digest": digest,
        "due_at": iso(due_at),
        "expires_at": epoch(due_at + memory),
    }


class NoticeStore:
    """Pending notices, due hints and send slots, in the single table.

    ``memory``: how long notices and due hints live (see the module).
    """

    def __init__(self, table: Table, *, memory: timedelta = NOTICE_MEMORY) -> None:
        self.table = table
        self.slots = SlotStore(table)
        self.memory = memory

    def _query(self, pk: str, condition: str, values: Mapping[str, Any]) -> Iterator[Item]:
        return self.table.query(f"pk = :pk AND {condition}", {":pk": pk, **values}, consistent=True)

    # -- reads -------------------------------------------------------------------------
    def last_sent(self, digest: str) -> datetime | None:
        """When ``digest`` was last emailed a notice (within the slot record's life)."""
        return self.slots.last_sent(_slot_key(digest))

    def pending(self, digest: str) -> list[PendingNotice]:
        """The recipient's pending notices, oldest first."""
        items = self._query(
            _notice_pk(digest), "begins_with(sk, :prefix)", {":prefix": PENDING_PREFIX}
        )
        return [_pending_from_item(item) for item in items]

    def due_recipients(self, until: datetime) -> dict[str, list[str]]:
        """Recipients to look at by ``until``: digest -> the sort keys of their due hints."""
        bound = f"{iso(until)}#~"  # "~" sorts after every hex digit
        due: dict[str, list[str]] = {}
        for item in self._query(DUE_PARTITION, "sk <= :bound", {":bound": bound}):
            due.setdefault(str(item["digest"]), []).append(str(item["sk"]))
        return due

    # -- writes ------------------------------------------------------------------------
    def queue(
        self,
        digest: str,
        role: Role,
        *,
        need_id: str,
        offer_id: str,
        distance_km: float,
        now: datetime,
        due_at: datetime,
    ) -> None:
        """Queue one notice for ``digest``, due at ``due_at``, in a transaction of its own.
        No replay guard of its own: geomatch queues in the transaction of the match, whose
        item is the guard (:meth:`queue_writes`)."""
        self.table.transact(
            self.queue_writes(
                digest,
                role,
                need_id=need_id,
                offer_id=offer_id,
                distance_km=distance_km,
                now=now,
                due_at=due_at,
            )
        )

    def queue_writes(
        self,
        digest: str,
        role: Role,
        *,
        need_id: str,
        offer_id: str,
        distance_km: float,
        now: datetime,
        due_at: datetime,
    ) -> list[Write]:
        """The writes that queue one notice: the pending notice (never over another) and
        the due hint that brings the scheduled flush to it, for the transaction that
        records the match they tell of (the match item's condition is their replay
        guard)."""
        pending = _pending_to_item(digest, role, need_id, offer_id, distance_km, now, self.memory)
        return [
            Put(item=pending, condition="attribute_not_exists(pk)"),
            Put(item=_due_item(digest, due_at, self.memory)),
        ]

    def move_due(
        self,
        digest: str,
        due_at: datetime,
        hints: Iterable[str],
        *,
        now: datetime | None = None,
    ) -> None:
        """Look at ``digest`` again at ``due_at``, instead of at its old ``hints``: the new
        hint is written first (a failure in between leaves both, never neither), then the
        old ones are deleted, except the new one when it falls in the second of an old one
        (a hint's key is to the second: it is the same item, written again).

        With ``now`` (the clock read just before), a hint due more than
        :data:`HINT_READ_AHEAD` later is read first, and not written again when it is there:
        written at that very second by the match's transaction (the end of the hour of a
        person emailed less than an hour ago, the end of the grouping delay) or by the run
        that left an email claimed (its lease's end), so a further match costs no write
        here. Safe only for a hint not yet due: a flush deletes a hint after it has found it
        due and handled its recipient (whose notices were queued before this read), never
        before, so a hint read there stays until its time.
        """
        item = _due_item(digest, due_at, self.memory)
        kept = str(item["sk"])
        there = (
            now is not None
            and due_at > now + HINT_READ_AHEAD
            and self.table.get({"pk": DUE_PARTITION, "sk": kept}, projection="pk") is not None
        )
        if not there:
            self.table.write(Put(item=item))
        self.forget(digest, (), [hint for hint in hints if hint != kept])

    def forget(self, digest: str, notices: Iterable[PendingNotice], hints: Iterable[str]) -> int:
        """Delete notices (sent or stale) and due hints (their sort keys); returns how many
        were left undeleted."""
        keys = {(_notice_pk(digest), notice.sk) for notice in notices}
        keys |= {(DUE_PARTITION, sk) for sk in hints}
        left = self.table.batch_delete(({"pk": pk, "sk": sk} for pk, sk in keys), attempts=5)
        if left:  # a leftover told notice is recognised by its email's subject next time
            logger.warning("Notice items left undeleted", extra={"count": left})
        return left

    def forget_recipients(self, digests: Iterable[str]) -> int:
        """Delete every item of these recipients (erasure on request): their notices (and
        the replay guards earlier releases wrote), send slot and due hints. Returns how
        many items were deleted."""
        wanted = set(digests)

        def partition(pk: str) -> Iterator[Item]:
            return self.table.query("pk = :pk", {":pk": pk}, consistent=True)

        keys = [
            {"pk": item["pk"], "sk": item["sk"]}
            for digest in sorted(wanted)
            for item in partition(_notice_pk(digest))
        ]
        keys += [
            {"pk": DUE_PARTITION, "sk": item["sk"]}
            for item in partition(DUE_PARTITION)
            if item.get("digest") in wanted
        ]
        left = self.table.batch_delete(keys, attempts=5, pause=0.05)
        if left:
            raise RuntimeError(f"{left} notice items could not be deleted; try again.")
        return len(keys)

    # -- the send slot -----------------------------------------------------------------
    def claim_slot(
        self, digest: str, now: datetime, interval: timedelta, token: str | None = None
    ) -> str | datetime:
        """The claim token of the send slot, or when the last email went (slot taken).
        With the caller's ``token``, a claim repeated after its lost answer is its own."""
        return self.slots.claim(
            _slot_key(digest),
            entity="match-notice-sent",
            now=now,
            interval=interval,
            memory=SENT_MEMORY_MARGIN,
            token=token,
        )

    def slot_taken(
        self, digest: str, now: datetime, interval: timedelta, token: str
    ) -> datetime | None:
        """When the last email went, if the slot would be refused to ``token`` now (read,
        not claimed: see :meth:`SlotStore.taken`); None when it may be claimed."""
        return self.slots.taken(_slot_key(digest), now=now, interval=interval, token=token)

    def release_slot(self, digest: str, token: str) -> None:
        """Give the slot back (nothing was sent). The slot was free: forgetting it is exact."""
        self.slots.release(_slot_key(digest), token)
