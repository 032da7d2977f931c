"""What the relay to X remembers: backlog, announcements, claims and tweets.

Items (single table, see docs/data-model.md):

- backlog of an activation: ``pk = BACKLOG#<activation>``, ``sk = <approved_at>#<post id>``,
  ``entity = backlog``, ``post_id``, ``kind``, ``category``, ``departement``, ``approved_at``,
  ``queued_at`` (first time the relay saw it), ``expires_at`` (a 30-day safety net). An item
  lives while its post waits for an announcement; digests are counted from these items.
- announcement of a post: attributes of the post item itself (``POST#<id>`` / ``POST``):
  ``announced_at``, ``announced_tweet_id`` (absent when unknown), ``announced_digest``,
  ``announced_in_doubt``; set by one conditional update (``attribute_not_exists
  (announced_at)``): a post is announced once. ``version`` is left alone.
- claim of a side effect: ``pk = CLAIM#<subject>``, ``sk = CLAIM``, ``entity = claim``,
  ``state`` (pending/done), ``holder`` (the digest that claimed a post), ``claimed_at`` /
  ``claimed_epoch``, then ``tweet_id``, ``completed_at``, ``in_doubt``; ``expires_at`` after
  30 days (longer than any SQS redelivery: the queue keeps messages 14 days). The subject is a
  post id, a digest id or ``ACTIVATION#<id>#opened|closed``.
- tweet: ``pk = TWEET#<tweet id>``, ``sk = TWEET``, ``entity = tweet``, ``text``,
  ``posted_at``, ``kind`` (post/digest/activation), ``post_ids``, ``post_count``,
  ``activation_id``, ``id_known``; ``gsi2pk = TWEET#YYYY-MM``, ``gsi2sk = <posted_at>#<id>``
  for the monthly report (index ``by_month``).

A claim is written *before* the call to X and completed *after* it. A pending claim older
than ``claim_timeout`` (set it above the relay function's timeout) can only be a crash
between the call and the record: the relay then never posts again (:attr:`ClaimStatus.IN_DOUBT`).

Why one module: the relay's memory is one interface (:class:`RelayStore`) and its table
implementation, read together with the items above; the in-memory twin that tests and
the bench use is :mod:`.relay_memory`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from entraide.adapters.table import BY_MONTH, Delete, Item, Put, Table, Update
from entraide.intake.post_store import Announcement, PostStore
from entraide.kernel.model import Category, Kind
from entraide.kernel.times import epoch, iso, month_of, months_between, parse_iso, utcnow

TweetKind = Literal["post", "digest", "activation"]

DEFAULT_CLAIM_TIMEOUT = timedelta(seconds=60)
CLAIM_TTL = timedelta(days=30)
BACKLOG_TTL = timedelta(days=30)
# A DynamoDB item holds 400 KB: a tweet record keeps at most this many post ids
# (``post_count`` stays exact; every post item names its tweet anyway).
MAX_RECORDED_POST_IDS = 5_000
BACKLOG_PREFIX = "BACKLOG#"
CLAIM_PREFIX = "CLAIM#"
TWEET_PREFIX = "TWEET#"
PENDING, DONE = "pending", "done"


@dataclass(frozen=True, slots=True)
class BacklogEntry:
    """An approved post waiting for its announcement."""

    activation_id: str
    post_id: str
    approved_at: datetime
    kind: Kind
    category: Category
    departement: str
    queued_at: datetime

    @property
    def sort_key(self) -> str:
        return f"{iso(self.approved_at)}#{self.post_id}"


class ClaimStatus(StrEnum):
    NEW = "new"  # this caller holds the claim now
    DONE = "done"  # the side effect happened (tweet_id when known)
    IN_DOUBT = "in-doubt"  # claimed, never completed, older than the timeout: a crash
    BUSY = "busy"  # another caller holds a fresh claim


@dataclass(frozen=True, slots=True)
class ClaimState:
    status: ClaimStatus
    tweet_id: str | None = None
    holder: str | None = None
    claimed_at: datetime | None = None
    # BUSY: when the claim becomes IN_DOUBT if nobody completes it.
    retry_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TweetRecord:
    tweet_id: str
    text: str
    posted_at: datetime
    kind: TweetKind
    post_ids: tuple[str, ...]
    activation_id: str
    # False for a duplicate answer: X posted it earlier, we never learnt its id.
    id_known: bool = True
    # How many posts it announced; only the first MAX_RECORDED_POST_IDS ids are kept.
    post_count: int = -1

    def __post_init__(self) -> None:
        if self.post_count < 0:
            object.__setattr__(self, "post_count", len(self.post_ids))


class RelayStore(ABC):
    """What the relay remembers; :class:`DynamoDBRelayStore` in the table, and
    :class:`~entraide.publishing.relay_memory.MemoryRelayStore` in dicts (tests, the bench)."""

    claim_timeout: timedelta

    @abstractmethod
    def is_announced(self, post_id: str) -> bool: ...

    @abstractmethod
    def mark_announced(self, post_ids: Sequence[str], announcement: Announcement) -> list[str]:
        """Mark posts announced unless they already are; returns those marked now."""

    @abstractmethod
    def add_backlog(self, entry: BacklogEntry) -> BacklogEntry:
        """Add (idempotent); the stored entry keeps the first ``queued_at``."""

    @abstractmethod
    def backlog(self, activation_id: str) -> list[BacklogEntry]:
        """The activation's waiting posts, oldest approval first."""

    @abstractmethod
    def backlog_size(self, activation_id: str, *, at_most: int | None = None) -> int:
        """How many posts wait; with ``at_most``, counting stops there (reads less)."""

    @abstractmethod
    def remove_backlog(self, entries: Sequence[BacklogEntry]) -> None: ...

    @abstractmethod
    def claim_many(
        self, subjects: Sequence[str], now: datetime, *, holder: str | None = None
    ) -> dict[str, ClaimState]: ...

    @abstractmethod
    def claim_state(self, subject: str, now: datetime) -> ClaimState:
        """Read without claiming (NEW when nobody claimed ``subject``)."""

    @abstractmethod
    def complete_many(
        self, subjects: Sequence[str], tweet_id: str | None, *, in_doubt: bool = False
    ) -> None: ...

    @abstractmethod
    def release_many(self, subjects: Sequence[str]) -> None:
        """Drop pending claims (X did not post); a done claim stays."""

    @abstractmethod
    def put_tweet(self, record: TweetRecord) -> None: ...

    @abstractmethod
    def tweets_of_month(self, month: str) -> list[TweetRecord]:
        """Tweets posted in ``YYYY-MM`` (UTC), oldest first."""

    # -- one subject at a time ---------------------------------------------------------
    def claim(self, subject: str, now: datetime, *, holder: str | None = None) -> ClaimState:
        return self.claim_many([subject], now, holder=holder)[subject]

    def complete(self, subject: str, tweet_id: str | None, *, in_doubt: bool = False) -> None:
        self.complete_many([subject], tweet_id, in_doubt=in_doubt)

    def release(self, subject: str) -> None:
        self.release_many([subject])

    def judge(
        self,
        *,
        done: bool,
        tweet_id: str | None,
        holder: str | None,
        claimed_at: datetime,
        now: datetime,
    ) -> ClaimState:
        """The state of an existing claim at ``now``: a pending claim older than
        ``claim_timeout`` can only be a crash between the call to X and its record."""
        if done:
            return ClaimState(ClaimStatus.DONE, tweet_id, holder, claimed_at)
        deadline = claimed_at + self.claim_timeout
        if deadline <= now:
            return ClaimState(ClaimStatus.IN_DOUBT, None, holder, claimed_at)
        return ClaimState(ClaimStatus.BUSY, None, holder, claimed_at, deadline)


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


# ----------------------------------------------------------------------- DynamoDB
def _claim_key(subject: str) -> Item:
    return {"pk": f"{CLAIM_PREFIX}{subject}", "sk": "CLAIM"}


def _backlog_key(entry: BacklogEntry) -> Item:
    return {"pk": f"{BACKLOG_PREFIX}{entry.activation_id}", "sk": entry.sort_key}


def _tweet_key(tweet_id: str) -> Item:
    return {"pk": f"{TWEET_PREFIX}{tweet_id}", "sk": "TWEET"}


def _entry_from_item(item: Item) -> BacklogEntry:
    return BacklogEntry(
        activation_id=item["activation_id"],
        post_id=item["post_id"],
        approved_at=parse_iso(item["approved_at"]),
        kind=Kind(item["kind"]),
        category=Category(item["category"]),
        departement=item["departement"],
        queued_at=parse_iso(item["queued_at"]),
    )


def tweet_to_item(record: TweetRecord) -> Item:
    posted = iso(record.posted_at)
    item: Item = {
        **_tweet_key(record.tweet_id),
        "entity": "tweet",
        "id": record.tweet_id,
        "text": record.text,
        "posted_at": posted,
        "kind": record.kind,
        "post_count": record.post_count,
        "activation_id": record.activation_id,
        "id_known": record.id_known,
        "gsi2pk": f"{TWEET_PREFIX}{month_of(record.posted_at)}",
        "gsi2sk": f"{posted}#{record.tweet_id}",
    }
    if record.post_ids:
        item["post_ids"] = list(record.post_ids[:MAX_RECORDED_POST_IDS])
    return item


def tweet_from_item(item: Item) -> TweetRecord:
    post_ids = tuple(item.get("post_ids", ()))
    return TweetRecord(
        tweet_id=str(item["id"]),
        text=str(item.get("text", "")),
        posted_at=parse_iso(item["posted_at"]),
        kind=item.get("kind", "post"),
        post_ids=post_ids,
        activation_id=str(item.get("activation_id", "")),
        id_known=bool(item.get("id_known", True)),
        post_count=int(item.get("post_count", len(post_ids))),
    )


class DynamoDBRelayStore(RelayStore):
    """The relay's memory in the single table; see the module doc for the items.

    Announcements are attributes of the post item: they go through its owner,
    :class:`~entraide.intake.post_store.PostStore`.
    """

    max_attempts = 8

    def __init__(self, table: Table, *, claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT) -> None:
        self.table = table
        self.posts = PostStore(table)
        self.claim_timeout = claim_timeout

    # -- announcements -----------------------------------------------------
    def is_announced(self, post_id: str) -> bool:
        return self.posts.is_announced(post_id)

    def mark_announced(self, post_ids: Sequence[str], announcement: Announcement) -> list[str]:
        return self.posts.mark_announced(post_ids, announcement)

    # -- backlog -----------------------------------------------------------
    def add_backlog(self, entry: BacklogEntry) -> BacklogEntry:
        # Read first: a deferred message comes back many times, a read costs less than a write.
        known = self.table.get(_backlog_key(entry))
        if known:
            return _entry_from_item(known)
        stored = self.table.write(
            Update(
                key=_backlog_key(entry),
                expression="SET entity = :entity, activation_id = :activation, "
                "post_id = :post, approved_at = :approved, kind = :kind, category = :category, "
                "departement = :departement, queued_at = if_not_exists(queued_at, :queued), "
                "expires_at = if_not_exists(expires_at, :expires)",
                values={
                    ":entity": "backlog",
                    ":activation": entry.activation_id,
                    ":post": entry.post_id,
                    ":approved": iso(entry.approved_at),
                    ":kind": entry.kind.value,
                    ":category": entry.category.value,
                    ":departement": entry.departement,
                    ":queued": iso(entry.queued_at),
                    ":expires": epoch(entry.queued_at + BACKLOG_TTL),
                },
            ),
            returns="ALL_NEW",
        )
        assert stored is not None
        return _entry_from_item(stored)

    def _lane(self, activation_id: str) -> tuple[str, dict[str, Any]]:
        return "pk = :pk", {":pk": f"{BACKLOG_PREFIX}{activation_id}"}

    def backlog(self, activation_id: str) -> list[BacklogEntry]:
        condition, values = self._lane(activation_id)
        return [
            _entry_from_item(item) for item in self.table.query(condition, values, consistent=True)
        ]

    def backlog_size(self, activation_id: str, *, at_most: int | None = None) -> int:
        condition, values = self._lane(activation_id)
        return self.table.count(condition, values, consistent=True, at_most=at_most)

    def remove_backlog(self, entries: Sequence[BacklogEntry]) -> None:
        keys = {entry.sort_key + entry.activation_id: _backlog_key(entry) for entry in entries}
        left = self.table.batch_delete(keys.values(), attempts=self.max_attempts, pause=0.05)
        if left:
            raise RuntimeError(f"DynamoDB left {left} backlog deletions unprocessed.")

    # -- claims --------------------------------------------------------------
    def _state_of(self, item: Item | None, now: datetime) -> ClaimState:
        if not item:
            return ClaimState(ClaimStatus.NEW)
        return self.judge(
            done=item["state"] == DONE,
            tweet_id=item.get("tweet_id"),
            holder=item.get("holder"),
            claimed_at=datetime.fromtimestamp(int(item["claimed_epoch"]), UTC),
            now=now,
        )

    def claim_many(
        self, subjects: Sequence[str], now: datetime, *, holder: str | None = None
    ) -> dict[str, ClaimState]:
        ordered = unique(subjects)
        operations = []
        for subject in ordered:
            item: Item = {
                **_claim_key(subject),
                "entity": "claim",
                "subject": subject,
                "state": PENDING,
                "claimed_at": iso(now),
                "claimed_epoch": epoch(now),
                "expires_at": epoch(now + CLAIM_TTL),
            }
            if holder is not None:
                item["holder"] = holder
            operations.append(Put(item=item, condition="attribute_not_exists(pk)"))
        failed = self.table.transact_each(operations, max_attempts=self.max_attempts)
        states: dict[str, ClaimState] = {}
        for index, subject in enumerate(ordered):
            if index in failed:
                existing = self.table.get(_claim_key(subject))
                # released between the failed put and this read: someone is on it, come back
                states[subject] = (
                    self._state_of(existing, now)
                    if existing
                    else ClaimState(ClaimStatus.BUSY, retry_at=now + timedelta(seconds=1))
                )
            else:
                states[subject] = ClaimState(ClaimStatus.NEW, None, holder, now)
        return states

    def claim_state(self, subject: str, now: datetime) -> ClaimState:
        return self._state_of(self.table.get(_claim_key(subject)), now)

    def complete_many(
        self, subjects: Sequence[str], tweet_id: str | None, *, in_doubt: bool = False
    ) -> None:
        values: Item = {
            ":done": DONE,
            ":pending": PENDING,
            ":completed": iso(utcnow()),
            ":doubt": in_doubt,
        }
        update = "SET #state = :done, completed_at = :completed, in_doubt = :doubt"
        if tweet_id is not None:
            values[":tweet"] = tweet_id
            update += ", tweet_id = :tweet"
        self.table.transact_each(
            [
                Update(
                    key=_claim_key(subject),
                    expression=update,
                    condition="#state = :pending",
                    names={"#state": "state"},
                    values=values,
                )
                for subject in unique(subjects)
            ],
            max_attempts=self.max_attempts,
        )

    def release_many(self, subjects: Sequence[str]) -> None:
        self.table.transact_each(
            [
                Delete(
                    key=_claim_key(subject),
                    condition="#state = :pending",
                    names={"#state": "state"},
                    values={":pending": PENDING},
                )
                for subject in unique(subjects)
            ],
            max_attempts=self.max_attempts,
        )

    # -- tweets --------------------------------------------------------------
    def put_tweet(self, record: TweetRecord) -> None:
        self.table.write(Put(item=tweet_to_item(record)))

    def tweets_of_month(self, month: str) -> list[TweetRecord]:
        items = self.table.query("gsi2pk = :pk", {":pk": f"{TWEET_PREFIX}{month}"}, index=BY_MONTH)
        return [tweet_from_item(item) for item in items]

    def tweets_between(self, since: datetime, end: datetime) -> list[TweetRecord]:
        """Tweets posted from ``since`` to ``end``, newest first (one Query per month)."""
        found: list[TweetRecord] = []
        last = (end - timedelta(microseconds=1)).astimezone(UTC).date()
        for month in reversed(months_between(since.astimezone(UTC).date(), last)):
            items = self.table.query(
                "gsi2pk = :pk AND gsi2sk BETWEEN :since AND :end",
                {":pk": f"{TWEET_PREFIX}{month}", ":since": iso(since), ":end": iso(end)},
                index=BY_MONTH,
                forward=False,
            )
            found += [tweet_from_item(item) for item in items]
        return found
