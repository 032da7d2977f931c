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
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol

from entraide.kernel.model import Category, Kind

if TYPE_CHECKING:
    from entraide.store import EntraideTable

TweetKind = Literal["post", "digest", "activation"]

DEFAULT_CLAIM_TIMEOUT = timedelta(seconds=60)
CLAIM_TTL = timedelta(days=30)
BACKLOG_TTL = timedelta(days=30)
# A DynamoDB item holds 400 KB: a tweet record keeps at most this many post ids
# (``post_count`` stays exact; every post item names its tweet anyway).
MAX_RECORDED_POST_IDS = 5_000
_TRANSACTION_SIZE = 100


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
class Announcement:
    at: datetime
    tweet_id: str | None
    digest: bool
    in_doubt: bool = False


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


class RelayStore(Protocol):
    def is_announced(self, post_id: str) -> bool: ...

    def mark_announced(
        self,
        post_ids: Sequence[str],
        tweet_id: str | None,
        at: datetime,
        digest: bool,
        *,
        in_doubt: bool = False,
    ) -> list[str]:
        """Mark posts announced unless they already are; returns those marked now."""
        ...

    def add_backlog(self, entry: BacklogEntry) -> BacklogEntry:
        """Add (idempotent); the stored entry keeps the first ``queued_at``."""
        ...

    def backlog(self, activation_id: str) -> list[BacklogEntry]:
        """The activation's waiting posts, oldest approval first."""
        ...

    def backlog_size(self, activation_id: str, *, at_most: int | None = None) -> int:
        """How many posts wait; with ``at_most``, counting stops there (reads less)."""
        ...

    def remove_backlog(self, entries: Sequence[BacklogEntry]) -> None: ...

    def claim(self, subject: str, now: datetime, *, holder: str | None = None) -> ClaimState: ...

    def claim_many(
        self, subjects: Sequence[str], now: datetime, *, holder: str | None = None
    ) -> dict[str, ClaimState]: ...

    def claim_state(self, subject: str, now: datetime) -> ClaimState:
        """Read without claiming (NEW when nobody claimed ``subject``)."""
        ...

    def complete(self, subject: str, tweet_id: str | None, *, in_doubt: bool = False) -> None: ...

    def complete_many(
        self, subjects: Sequence[str], tweet_id: str | None, *, in_doubt: bool = False
    ) -> None: ...

    def release(self, subject: str) -> None:
        """Drop a pending claim (X did not post); a done claim stays."""
        ...

    def release_many(self, subjects: Sequence[str]) -> None: ...

    def put_tweet(self, record: TweetRecord) -> None: ...

    def tweets_of_month(self, month: str) -> list[TweetRecord]:
        """Tweets posted in ``YYYY-MM`` (UTC), oldest first."""
        ...


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


# ------------------------------------------------------------------------- memory
@dataclass(slots=True)
class _Claim:
    holder: str | None
    claimed_at: datetime
    done: bool = False
    tweet_id: str | None = None
    in_doubt: bool = False


@dataclass(slots=True)
class MemoryRelayStore:
    """The same semantics in dicts: for tests, the bench and a single process."""

    claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT
    announced: dict[str, Announcement] = field(default_factory=dict)
    claims: dict[str, _Claim] = field(default_factory=dict)
    tweets: dict[str, TweetRecord] = field(default_factory=dict)
    _backlog: dict[str, dict[str, BacklogEntry]] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def is_announced(self, post_id: str) -> bool:
        return post_id in self.announced

    def mark_announced(
        self,
        post_ids: Sequence[str],
        tweet_id: str | None,
        at: datetime,
        digest: bool,
        *,
        in_doubt: bool = False,
    ) -> list[str]:
        marked: list[str] = []
        with self._lock:
            for post_id in _unique(post_ids):
                if post_id not in self.announced:
                    self.announced[post_id] = Announcement(at, tweet_id, digest, in_doubt)
                    marked.append(post_id)
        return marked

    def add_backlog(self, entry: BacklogEntry) -> BacklogEntry:
        with self._lock:
            lane = self._backlog.setdefault(entry.activation_id, {})
            stored = lane.get(entry.sort_key)
            if stored is None:
                lane[entry.sort_key] = entry
                return entry
            kept = replace(entry, queued_at=stored.queued_at)
            lane[entry.sort_key] = kept
            return kept

    def backlog(self, activation_id: str) -> list[BacklogEntry]:
        with self._lock:
            lane = self._backlog.get(activation_id, {})
            return [lane[key] for key in sorted(lane)]

    def backlog_size(self, activation_id: str, *, at_most: int | None = None) -> int:
        with self._lock:
            size = len(self._backlog.get(activation_id, {}))
        return size if at_most is None else min(size, at_most)

    def remove_backlog(self, entries: Sequence[BacklogEntry]) -> None:
        with self._lock:
            for entry in entries:
                self._backlog.get(entry.activation_id, {}).pop(entry.sort_key, None)

    def _state(self, claim: _Claim, now: datetime) -> ClaimState:
        if claim.done:
            return ClaimState(ClaimStatus.DONE, claim.tweet_id, claim.holder, claim.claimed_at)
        deadline = claim.claimed_at + self.claim_timeout
        if deadline <= now:
            return ClaimState(ClaimStatus.IN_DOUBT, None, claim.holder, claim.claimed_at)
        return ClaimState(ClaimStatus.BUSY, None, claim.holder, claim.claimed_at, deadline)

    def claim(self, subject: str, now: datetime, *, holder: str | None = None) -> ClaimState:
        return self.claim_many([subject], now, holder=holder)[subject]

    def claim_many(
        self, subjects: Sequence[str], now: datetime, *, holder: str | None = None
    ) -> dict[str, ClaimState]:
        states: dict[str, ClaimState] = {}
        with self._lock:
            for subject in _unique(subjects):
                existing = self.claims.get(subject)
                if existing is None:
                    self.claims[subject] = _Claim(holder, now)
                    states[subject] = ClaimState(ClaimStatus.NEW, None, holder, now)
                else:
                    states[subject] = self._state(existing, now)
        return states

    def claim_state(self, subject: str, now: datetime) -> ClaimState:
        with self._lock:
            existing = self.claims.get(subject)
            return ClaimState(ClaimStatus.NEW) if existing is None else self._state(existing, now)

    def complete(self, subject: str, tweet_id: str | None, *, in_doubt: bool = False) -> None:
        self.complete_many([subject], tweet_id, in_doubt=in_doubt)

    def complete_many(
        self, subjects: Sequence[str], tweet_id: str | None, *, in_doubt: bool = False
    ) -> None:
        with self._lock:
            for subject in subjects:
                claim = self.claims.get(subject)
                if claim is not None and not claim.done:
                    claim.done, claim.tweet_id, claim.in_doubt = True, tweet_id, in_doubt

    def release(self, subject: str) -> None:
        self.release_many([subject])

    def release_many(self, subjects: Sequence[str]) -> None:
        with self._lock:
            for subject in subjects:
                claim = self.claims.get(subject)
                if claim is not None and not claim.done:
                    del self.claims[subject]

    def put_tweet(self, record: TweetRecord) -> None:
        with self._lock:
            self.tweets[record.tweet_id] = record

    def tweets_of_month(self, month: str) -> list[TweetRecord]:
        with self._lock:
            found = [
                tweet
                for tweet in self.tweets.values()
                if tweet.posted_at.astimezone(UTC).strftime("%Y-%m") == month
            ]
        return sorted(found, key=lambda tweet: (tweet.posted_at, tweet.tweet_id))


# ----------------------------------------------------------------------- DynamoDB
def _claim_key(subject: str) -> dict[str, Any]:
    return {"pk": {"S": f"CLAIM#{subject}"}, "sk": {"S": "CLAIM"}}


def _post_key(post_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"POST#{post_id}"}, "sk": {"S": "POST"}}


def _backlog_key(entry: BacklogEntry) -> dict[str, Any]:
    return {"pk": {"S": f"BACKLOG#{entry.activation_id}"}, "sk": {"S": entry.sort_key}}


def _tweet_key(tweet_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"TWEET#{tweet_id}"}, "sk": {"S": "TWEET"}}


def _entry_from_item(item: dict[str, Any]) -> BacklogEntry:
    return BacklogEntry(
        activation_id=item["activation_id"]["S"],
        post_id=item["post_id"]["S"],
        approved_at=parse_iso(item["approved_at"]["S"]),
        kind=Kind(item["kind"]["S"]),
        category=Category(item["category"]["S"]),
        departement=item["departement"]["S"],
        queued_at=parse_iso(item["queued_at"]["S"]),
    )


class DynamoDBRelayStore:
    """The relay's memory in the single table; see the module doc for the items."""

    max_attempts = 8

    def __init__(
        self, table: EntraideTable, *, claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT
    ) -> None:
        self.table = table
        self.claim_timeout = claim_timeout

    @property
    def _client(self) -> Any:
        return self.table.client

    @property
    def _name(self) -> str:
        return self.table.table_name

    def _transact(self, operations: Sequence[dict[str, Any]]) -> set[int]:
        """Run conditional writes in transactions of 100; returns the indexes whose condition
        failed (the others are written). Conflicts with other writers are retried."""
        failed: set[int] = set()
        client = self._client
        for start in range(0, len(operations), _TRANSACTION_SIZE):
            pending = list(range(start, min(start + _TRANSACTION_SIZE, len(operations))))
            for attempt in range(self.max_attempts):
                if not pending:
                    break
                try:
                    client.transact_write_items(
                        TransactItems=[operations[index] for index in pending]
                    )
                    pending = []
                except client.exceptions.TransactionCanceledException as exc:
                    reasons = exc.response.get("CancellationReasons", [])
                    if len(reasons) != len(pending):
                        raise
                    retry: list[int] = []
                    contended = False
                    for index, reason in zip(pending, reasons, strict=True):
                        code = reason.get("Code", "None")
                        if code == "ConditionalCheckFailed":
                            failed.add(index)
                        elif code == "None":
                            retry.append(index)  # fine, cancelled with the others
                        elif code in ("TransactionConflict", "ThrottlingError"):
                            retry.append(index)
                            contended = True
                        else:
                            raise
                    if contended:
                        time.sleep(0.02 * (attempt + 1))
                    pending = retry
            if pending:
                raise RuntimeError(
                    f"DynamoDB transaction kept conflicting ({len(pending)} writes)."
                )
        return failed

    # -- announcements -----------------------------------------------------
    def is_announced(self, post_id: str) -> bool:
        response = self._client.get_item(
            TableName=self._name,
            Key=_post_key(post_id),
            ProjectionExpression="announced_at",
            ConsistentRead=True,
        )
        return "announced_at" in response.get("Item", {})

    def mark_announced(
        self,
        post_ids: Sequence[str],
        tweet_id: str | None,
        at: datetime,
        digest: bool,
        *,
        in_doubt: bool = False,
    ) -> list[str]:
        ids = _unique(post_ids)
        values: dict[str, Any] = {
            ":at": {"S": iso(at)},
            ":digest": {"BOOL": digest},
            ":doubt": {"BOOL": in_doubt},
        }
        update = "SET announced_at = :at, announced_digest = :digest, announced_in_doubt = :doubt"
        if tweet_id is not None:
            values[":tweet"] = {"S": tweet_id}
            update += ", announced_tweet_id = :tweet"
        operations = [
            {
                "Update": {
                    "TableName": self._name,
                    "Key": _post_key(post_id),
                    "UpdateExpression": update,
                    # never creates a stub post, never announces twice
                    "ConditionExpression": "attribute_exists(pk) "
                    "AND attribute_not_exists(announced_at)",
                    "ExpressionAttributeValues": values,
                }
            }
            for post_id in ids
        ]
        failed = self._transact(operations)
        return [post_id for index, post_id in enumerate(ids) if index not in failed]

    # -- backlog -----------------------------------------------------------
    def add_backlog(self, entry: BacklogEntry) -> BacklogEntry:
        # Read first: a deferred message comes back many times, a read costs less than a write.
        known = self._client.get_item(
            TableName=self._name, Key=_backlog_key(entry), ConsistentRead=True
        ).get("Item")
        if known:
            return _entry_from_item(known)
        response = self._client.update_item(
            TableName=self._name,
            Key=_backlog_key(entry),
            UpdateExpression="SET entity = :entity, activation_id = :activation, "
            "post_id = :post, approved_at = :approved, kind = :kind, category = :category, "
            "departement = :departement, queued_at = if_not_exists(queued_at, :queued), "
            "expires_at = if_not_exists(expires_at, :expires)",
            ExpressionAttributeValues={
                ":entity": {"S": "backlog"},
                ":activation": {"S": entry.activation_id},
                ":post": {"S": entry.post_id},
                ":approved": {"S": iso(entry.approved_at)},
                ":kind": {"S": entry.kind.value},
                ":category": {"S": entry.category.value},
                ":departement": {"S": entry.departement},
                ":queued": {"S": iso(entry.queued_at)},
                ":expires": {"N": str(int((entry.queued_at + BACKLOG_TTL).timestamp()))},
            },
            ReturnValues="ALL_NEW",
        )
        return _entry_from_item(response["Attributes"])

    def _backlog_pages(self, activation_id: str, **extra: Any) -> Iterable[dict[str, Any]]:
        return self._client.get_paginator("query").paginate(  # type: ignore[no-any-return]
            TableName=self._name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"BACKLOG#{activation_id}"}},
            ConsistentRead=True,
            **extra,
        )

    def backlog(self, activation_id: str) -> list[BacklogEntry]:
        return [
            _entry_from_item(item)
            for page in self._backlog_pages(activation_id)
            for item in page["Items"]
        ]

    def backlog_size(self, activation_id: str, *, at_most: int | None = None) -> int:
        counted = 0
        extra: dict[str, Any] = {"Select": "COUNT"}
        if at_most is not None:
            extra["PaginationConfig"] = {"PageSize": max(1, at_most)}
        for page in self._backlog_pages(activation_id, **extra):
            counted += int(page["Count"])
            if at_most is not None and counted >= at_most:
                return at_most
        return counted

    def remove_backlog(self, entries: Sequence[BacklogEntry]) -> None:
        keys = list({entry.sort_key + entry.activation_id: entry for entry in entries}.values())
        for start in range(0, len(keys), 25):
            requests: list[dict[str, Any]] = [
                {"DeleteRequest": {"Key": _backlog_key(entry)}}
                for entry in keys[start : start + 25]
            ]
            for attempt in range(self.max_attempts):
                response = self._client.batch_write_item(RequestItems={self._name: requests})
                requests = response.get("UnprocessedItems", {}).get(self._name, [])
                if not requests:
                    break
                time.sleep(0.05 * (attempt + 1))
            if requests:
                raise RuntimeError(f"DynamoDB left {len(requests)} backlog deletions unprocessed.")

    # -- claims --------------------------------------------------------------
    def _state_of(self, item: dict[str, Any] | None, now: datetime) -> ClaimState:
        if not item:
            return ClaimState(ClaimStatus.NEW)
        holder = item["holder"]["S"] if "holder" in item else None
        claimed_at = datetime.fromtimestamp(int(item["claimed_epoch"]["N"]), UTC)
        if item["state"]["S"] == "done":
            tweet_id = item["tweet_id"]["S"] if "tweet_id" in item else None
            return ClaimState(ClaimStatus.DONE, tweet_id, holder, claimed_at)
        deadline = claimed_at + self.claim_timeout
        if deadline <= now:
            return ClaimState(ClaimStatus.IN_DOUBT, None, holder, claimed_at)
        return ClaimState(ClaimStatus.BUSY, None, holder, claimed_at, deadline)

    def _get_claim(self, subject: str) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self._name, Key=_claim_key(subject), ConsistentRead=True
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def claim(self, subject: str, now: datetime, *, holder: str | None = None) -> ClaimState:
        return self.claim_many([subject], now, holder=holder)[subject]

    def claim_many(
        self, subjects: Sequence[str], now: datetime, *, holder: str | None = None
    ) -> dict[str, ClaimState]:
        ordered = _unique(subjects)
        expires = str(int((now + CLAIM_TTL).timestamp()))
        operations: list[dict[str, Any]] = []
        for subject in ordered:
            item: dict[str, Any] = {
                **_claim_key(subject),
                "entity": {"S": "claim"},
                "subject": {"S": subject},
                "state": {"S": "pending"},
                "claimed_at": {"S": iso(now)},
                "claimed_epoch": {"N": str(int(now.timestamp()))},
                "expires_at": {"N": expires},
            }
            if holder is not None:
                item["holder"] = {"S": holder}
            operations.append(
                {
                    "Put": {
                        "TableName": self._name,
                        "Item": item,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        failed = self._transact(operations)
        states: dict[str, ClaimState] = {}
        for index, subject in enumerate(ordered):
            if index in failed:
                existing = self._get_claim(subject)
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
        return self._state_of(self._get_claim(subject), now)

    def complete(self, subject: str, tweet_id: str | None, *, in_doubt: bool = False) -> None:
        self.complete_many([subject], tweet_id, in_doubt=in_doubt)

    def complete_many(
        self, subjects: Sequence[str], tweet_id: str | None, *, in_doubt: bool = False
    ) -> None:
        values: dict[str, Any] = {
            ":done": {"S": "done"},
            ":pending": {"S": "pending"},
            ":completed": {"S": iso(datetime.now(UTC))},
            ":doubt": {"BOOL": in_doubt},
        }
        update = "SET #state = :done, completed_at = :completed, in_doubt = :doubt"
        if tweet_id is not None:
            values[":tweet"] = {"S": tweet_id}
            update += ", tweet_id = :tweet"
        self._transact(
            [
                {
                    "Update": {
                        "TableName": self._name,
                        "Key": _claim_key(subject),
                        "UpdateExpression": update,
                        "ConditionExpression": "#state = :pending",
                        "ExpressionAttributeNames": {"#state": "state"},
                        "ExpressionAttributeValues": values,
                    }
                }
                for subject in _unique(subjects)
            ]
        )

    def release(self, subject: str) -> None:
        self.release_many([subject])

    def release_many(self, subjects: Sequence[str]) -> None:
        self._transact(
            [
                {
                    "Delete": {
                        "TableName": self._name,
                        "Key": _claim_key(subject),
                        "ConditionExpression": "#state = :pending",
                        "ExpressionAttributeNames": {"#state": "state"},
                        "ExpressionAttributeValues": {":pending": {"S": "pending"}},
                    }
                }
                for subject in _unique(subjects)
            ]
        )

    # -- tweets --------------------------------------------------------------
    def put_tweet(self, record: TweetRecord) -> None:
        posted = iso(record.posted_at)
        item: dict[str, Any] = {
            **_tweet_key(record.tweet_id),
            "entity": {"S": "tweet"},
            "id": {"S": record.tweet_id},
            "text": {"S": record.text},
            "posted_at": {"S": posted},
            "kind": {"S": record.kind},
            "post_count": {"N": str(len(record.post_ids))},
            "activation_id": {"S": record.activation_id},
            "id_known": {"BOOL": record.id_known},
            "gsi2pk": {"S": f"TWEET#{record.posted_at.astimezone(UTC).strftime('%Y-%m')}"},
            "gsi2sk": {"S": f"{posted}#{record.tweet_id}"},
        }
        if record.post_ids:
            item["post_ids"] = {"L": [{"S": p} for p in record.post_ids[:MAX_RECORDED_POST_IDS]]}
        self._client.put_item(TableName=self._name, Item=item)

    def tweets_of_month(self, month: str) -> list[TweetRecord]:
        from boto3.dynamodb.types import TypeDeserializer

        deserializer = TypeDeserializer()
        pages = self._client.get_paginator("query").paginate(
            TableName=self._name,
            IndexName="by_month",
            KeyConditionExpression="gsi2pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"TWEET#{month}"}},
        )
        records: list[TweetRecord] = []
        for page in pages:
            for raw in page["Items"]:
                item = {key: deserializer.deserialize(value) for key, value in raw.items()}
                records.append(
                    TweetRecord(
                        tweet_id=str(item["id"]),
                        text=str(item["text"]),
                        posted_at=parse_iso(item["posted_at"]),
                        kind=item["kind"],
                        post_ids=tuple(item.get("post_ids", ())),
                        activation_id=str(item["activation_id"]),
                        id_known=bool(item.get("id_known", True)),
                    )
                )
        return records
