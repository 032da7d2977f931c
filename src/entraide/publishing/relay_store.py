"""What the relay to X remembers: backlog, publications (in the effects ledger) and tweets.

Items (single table, see docs/data-model.md):

- backlog of an activation: ``pk = BACKLOG#<activation>``, ``sk = <approved_at>#<post id>``,
  ``entity = backlog``, ``post_id``, ``kind``, ``category``, ``departement``, ``approved_at``,
  ``queued_at`` (first time the relay saw it), ``expires_at`` (a 30-day safety net). An item
  lives while its post waits for an announcement; digests are counted from these items.
- publication of a subject on X: a subject of the effects ledger (``EFFECT#publish:…``, its
  owner :mod:`entraide.effects.ledger_store`) whose effect ``x`` (the channel) holds what is
  sent: ``publish:post:<id>`` (the post's text, or the digest that covers it),
  ``publish:digest:<id>`` (its text and the posts it covers), ``publish:activation:<id>:
  opened|closed``. Bluesky and Mastodon will be effects of the same subjects.
- tweet: ``pk = TWEET#<tweet id>``, ``sk = TWEET``, ``entity = tweet``, ``text``,
  ``posted_at``, ``kind`` (post/digest/activation), ``post_ids``, ``post_count``,
  ``activation_id``, ``id_known``; ``gsi2pk = TWEET#YYYY-MM``, ``gsi2sk = <posted_at>#<id>``
  for the monthly report (index ``by_month``).

A publication is claimed *before* the call to X, with the text it sends, and completed
*after* it. Its policy is **at least once**: a claim whose lease ran out (the relay was
killed, or timed out waiting for X) is taken over and the *same* text is sent again; X
refuses a text it already has ("duplicate content"), so a tweet that was posted is not
posted twice, and one that was not is posted now. Every text names its subject (a post's
link, a digest's, an activation's), so that a duplicate answer is about this very subject.

Why one module: the relay's memory is one interface (:class:`RelayStore`) and its table
implementation, read together with the items above; the in-memory twin that tests and
the bench use is :mod:`.relay_memory`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from entraide.adapters.table import BY_MONTH, Item, Put, Table, Update
from entraide.effects.ledger_store import DynamoDBLedgerStore
from entraide.effects.model import Effect, LedgerStore, Listing, State, Subject
from entraide.kernel.model import Category, Kind
from entraide.kernel.times import epoch, iso, month_of, months_between, parse_iso

TweetKind = Literal["post", "digest", "activation", "editorial", "repost"]

#: The effect of a publication on X; Bluesky's and Mastodon's are named after them, on
#: subjects of their own (``publish:bluesky:post:<id>``), so that one channel's claim, lease
#: or failure never touches another's.
CHANNEL = "x"
#: The function whose subjects publications are.
RELAY = "relay"
#: A publication is remembered while its post may be withdrawn (an activation lasts weeks)
#: and longer than any message could come back (the dead-letter queue keeps 14 days).
PUBLICATION_MEMORY = timedelta(days=60)
BACKLOG_TTL = timedelta(days=30)
# A DynamoDB item holds 400 KB: a tweet record keeps at most this many post ids
# (``post_count`` stays exact; every post's publication names its tweet anyway).
MAX_RECORDED_POST_IDS = 5_000
BACKLOG_PREFIX = "BACKLOG#"
TWEET_PREFIX = "TWEET#"
#: What Bluesky and Mastodon published: ``PUBLISHED#<channel>#<id>`` (X's stay ``TWEET#``).
PUBLISHED_PREFIX = "PUBLISHED#"
DUPLICATE = "duplicate"


def _publish(channel: str) -> str:
    """``publish:`` for X (the first channel, whose keys stay as they were), else
    ``publish:<channel>:``: each channel's publication of a subject is its own claim."""
    return "publish:" if channel == CHANNEL else f"publish:{channel}:"


def post_publication(post_id: str, channel: str = CHANNEL) -> str:
    return f"{_publish(channel)}post:{post_id}"


def digest_publication(digest_id: str, channel: str = CHANNEL) -> str:
    return f"{_publish(channel)}digest:{digest_id}"


def editorial_publication(item_id: str, channel: str = CHANNEL) -> str:
    """An editorial item (a calendar's row, a blog article) on one channel."""
    return f"{_publish(channel)}editorial:{item_id}"


def activation_publication(activation_id: str, opened: bool, channel: str = CHANNEL) -> str:
    return f"{_publish(channel)}activation:{activation_id}:{'opened' if opened else 'closed'}"


def repost_publication(reference: str, channel: str = CHANNEL) -> str:
    """A repost of what the watch found (``reference``: :mod:`entraide.watch.item_store`)."""
    return f"{_publish(channel)}repost:{reference}"


def message_publications(message: Mapping[str, Any], channels: Sequence[str]) -> list[str]:
    """The ledger subjects a relay message is about, one per channel in ``channels`` (an
    operator reads their state beside the message: ``entraide dlq list relay``)."""
    event = str(message.get("event", ""))
    keys: list[Callable[[str], str]] = []
    if event == "post-approved" and isinstance(message.get("post_id"), str):
        keys.append(lambda channel: post_publication(str(message["post_id"]), channel))
    elif event in ("activation-opened", "activation-closed") and message.get("activation_id"):
        opened = event == "activation-opened"
        keys.append(
            lambda channel: activation_publication(str(message["activation_id"]), opened, channel)
        )
    elif event == "editorial" and message.get("item_id"):
        keys.append(lambda channel: editorial_publication(str(message["item_id"]), channel))
    elif event == "watch-repost" and message.get("reference"):
        keys.append(lambda channel: repost_publication(str(message["reference"]), channel))
    named = message.get("channels")
    wanted = named if isinstance(named, list) else list(channels)
    return [key(str(channel)) for key in keys for channel in wanted]


def publication_states(
    ledger: LedgerStore, message: Mapping[str, Any], channels: Sequence[str]
) -> list[str]:
    """The ledger's line on each publication a relay message is about (one per channel):
    done, due again and why, or held until when; "absente du registre" (operators read
    French) when the ledger holds none."""
    lines = []
    for key in message_publications(message, channels):
        record = ledger.get(key)
        missing = f"{key}: absente du registre (jamais réservée)"
        lines.append(record.summary() if record else missing)
    return lines


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


@dataclass(frozen=True, slots=True)
class Announcement:
    """A post's announcement: when, by which tweet (None: X said "duplicate"), in a digest."""

    at: datetime
    tweet_id: str | None
    digest: bool


class ClaimStatus(StrEnum):
    NEW = "new"  # the caller holds the publication now: it sends ``text``
    DONE = "done"  # published (``tweet_id`` when known)
    BUSY = "busy"  # another run holds it, or it waits until ``retry_at``
    FREE = "free"  # nobody holds it (read without claiming)


@dataclass(frozen=True, slots=True)
class ClaimState:
    """A publication as a claim finds it. ``text``, ``digest`` and ``covers`` are what the
    first claim stored: a claim taken over (``taken_over``) sends them again, unchanged."""

    status: ClaimStatus
    tweet_id: str | None = None
    text: str | None = None
    digest: str | None = None
    covers: tuple[str, ...] = ()
    holder: str | None = None
    retry_at: datetime | None = None
    taken_over: bool = False


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
    # What the call was priced at before it was made (millidollars; X's pay-per-usage).
    cost: int = 0
    # A repost: the reposted message's author and followers, as the watch read them.
    author: str = ""
    author_followers: int | None = None

    def __post_init__(self) -> None:
        if self.post_count < 0:
            object.__setattr__(self, "post_count", len(self.post_ids))


def _state_of(data: Mapping[str, Any], **fields: Any) -> ClaimState:
    return ClaimState(
        text=data.get("text"),
        digest=data.get("digest"),
        covers=tuple(data.get("covers") or ()),
        **fields,
    )


def _tweet_of(result: str | None) -> str | None:
    return None if result in (None, DUPLICATE) else result


class RelayStore(ABC):
    """What the relay remembers; :class:`DynamoDBRelayStore` in the table, and
    :class:`~entraide.publishing.relay_memory.MemoryRelayStore` in dicts (tests, the bench).

    Publications are the ledger's, the same for both (a :class:`LedgerStore` in the table or
    in a dict); the backlog and the tweets are each store's own.
    """

    ledger: LedgerStore
    #: The channel whose publications, backlog and records this store keeps.
    channel: str = CHANNEL

    def post_key(self, post_id: str) -> str:
        return post_publication(post_id, self.channel)

    def digest_key(self, digest_id: str) -> str:
        return digest_publication(digest_id, self.channel)

    def activation_key(self, activation_id: str, opened: bool) -> str:
        return activation_publication(activation_id, opened, self.channel)

    def editorial_key(self, item_id: str) -> str:
        return editorial_publication(item_id, self.channel)

    def repost_key(self, reference: str) -> str:
        return repost_publication(reference, self.channel)

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
    def put_tweet(self, record: TweetRecord) -> None: ...

    @abstractmethod
    def tweets_of_month(self, month: str) -> list[TweetRecord]:
        """Tweets posted in ``YYYY-MM`` (UTC), oldest first."""

    @abstractmethod
    def note_announced(self, post_ids: Sequence[str], announcement: Announcement) -> None:
        """Posts just announced (the ledger holds that they were; a store may keep more)."""

    # -- publications ------------------------------------------------------------------
    def publication(self, key: str, now: datetime) -> ClaimState:
        """Read without claiming."""
        record = self.ledger.get(key)
        if record is None:
            return ClaimState(ClaimStatus.FREE)
        entry = record.entry(self.channel)
        if not entry.open:
            return _state_of(entry.data, status=ClaimStatus.DONE, tweet_id=_tweet_of(entry.result))
        if entry.claimable(now):
            return _state_of(entry.data, status=ClaimStatus.FREE, holder=entry.holder)
        return _state_of(
            entry.data, status=ClaimStatus.BUSY, holder=entry.holder, retry_at=entry.wake_at()
        )

    def is_announced(self, post_id: str) -> bool:
        return self.publication(self.post_key(post_id), _EPOCH).status is ClaimStatus.DONE

    def claim(
        self,
        key: str,
        now: datetime,
        *,
        holder: str,
        lease_until: datetime,
        send: Mapping[str, Any] | None = None,
        about: Mapping[str, Any] | None = None,
        unheld_only: bool = False,
    ) -> ClaimState:
        """Claim the publication ``key`` for ``holder`` until ``lease_until``, to send
        ``send`` (its text, the digest that covers it, a digest's posts) about ``about``.

        A publication claimed before is taken over when it is free again (released, or
        its holder's lease over): it then keeps what its first claim stored, unless that
        was forgotten. ``unheld_only``: take only a publication that holds nothing (a digest
        gathers posts nobody else is sending, and none that may have been sent).
        """
        subject = Subject(
            key,
            RELAY,
            (Effect(self.channel, data=dict(send or {})),),
            dict(about or {}),
            memory=PUBLICATION_MEMORY,
            listing=Listing.NEVER,
        )
        opened = self.ledger.open(subject, holder=holder, lease_until=lease_until, now=now)
        if opened is not None:
            return _state_of(opened.entry(self.channel).data, status=ClaimStatus.NEW, holder=holder)
        record = self.ledger.get(key)
        if record is None:  # forgotten between the two reads: come back
            return ClaimState(ClaimStatus.BUSY, retry_at=now + timedelta(seconds=1))
        entry = record.entry(self.channel)
        if not entry.open:
            return _state_of(entry.data, status=ClaimStatus.DONE, tweet_id=_tweet_of(entry.result))
        covering = entry.data.get("digest")
        if covering and holder != covering and entry.claimable(now):
            # a post a digest covers is that digest's to finish, never another's to take
            return _state_of(entry.data, status=ClaimStatus.FREE, holder=entry.holder)
        if (unheld_only and entry.data) or not entry.claimable(now):
            retry = entry.wake_at() or now
            return _state_of(
                entry.data, status=ClaimStatus.BUSY, holder=entry.holder, retry_at=retry
            )
        data = None if entry.data else {self.channel: dict(send or {})}
        taken = self.ledger.claim(
            record, [self.channel], holder=holder, lease_until=lease_until, now=now, data=data
        )
        if taken is None:  # another run took it first
            return ClaimState(ClaimStatus.BUSY, retry_at=now + timedelta(seconds=1))
        return _state_of(
            taken.entry(self.channel).data,
            status=ClaimStatus.NEW,
            holder=holder,
            taken_over=entry.state is State.CLAIMED,
        )

    def complete(self, key: str, holder: str, tweet_id: str | None) -> bool:
        """Record the publication done by ``holder``'s claim (``tweet_id`` None: X said
        "duplicate"); False when the claim was no longer ``holder``'s."""
        done = self.ledger.finish(
            key, self.channel, State.DONE, holder=holder, result=tweet_id or DUPLICATE, last=True
        )
        return done is not None

    def release(
        self, key: str, holder: str, retry_at: datetime, reason: str, *, forget: bool = False
    ) -> None:
        """Give the claim back (X did not post): free again at ``retry_at``, with what it
        stored (the same text next time), or without (``forget``: it never stood)."""
        self.ledger.release(
            key,
            self.channel,
            holder=holder,
            retry_at=retry_at,
            error=reason,
            data={} if forget else None,
        )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


# ----------------------------------------------------------------------- DynamoDB
def _lane_key(activation_id: str, channel: str) -> str:
    """An activation's backlog on a channel (X's without the channel, as it was)."""
    lane = activation_id if channel == CHANNEL else f"{channel}#{activation_id}"
    return f"{BACKLOG_PREFIX}{lane}"


def _backlog_key(entry: BacklogEntry, channel: str = CHANNEL) -> Item:
    return {"pk": _lane_key(entry.activation_id, channel), "sk": entry.sort_key}


def _record_prefix(channel: str) -> str:
    return TWEET_PREFIX if channel == CHANNEL else f"{PUBLISHED_PREFIX}{channel}#"


def _tweet_key(tweet_id: str, channel: str = CHANNEL) -> Item:
    return {"pk": f"{_record_prefix(channel)}{tweet_id}", "sk": "TWEET"}


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


def tweet_to_item(record: TweetRecord, channel: str = CHANNEL) -> Item:
    posted = iso(record.posted_at)
    item: Item = {
        **_tweet_key(record.tweet_id, channel),
        "entity": "tweet" if channel == CHANNEL else "published",
        "channel": channel,
        "id": record.tweet_id,
        "text": record.text,
        "posted_at": posted,
        "kind": record.kind,
        "post_count": record.post_count,
        "activation_id": record.activation_id,
        "id_known": record.id_known,
        "cost_millidollars": record.cost,
        "gsi2pk": f"{_record_prefix(channel)}{month_of(record.posted_at)}",
        "gsi2sk": f"{posted}#{record.tweet_id}",
    }
    if record.post_ids:
        item["post_ids"] = list(record.post_ids[:MAX_RECORDED_POST_IDS])
    if record.author:
        item["author"] = record.author
    if record.author_followers is not None:
        item["author_followers"] = record.author_followers
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
        cost=int(item.get("cost_millidollars", 0)),
        author=str(item.get("author", "")),
        author_followers=(
            int(item["author_followers"]) if item.get("author_followers") is not None else None
        ),
    )


class DynamoDBRelayStore(RelayStore):
    """The relay's memory in the single table; see the module doc for the items."""

    max_attempts = 8

    def __init__(self, table: Table, channel: str = CHANNEL) -> None:
        self.table = table
        self.ledger = DynamoDBLedgerStore(table)
        self.channel = channel

    # -- backlog -----------------------------------------------------------
    def add_backlog(self, entry: BacklogEntry) -> BacklogEntry:
        # Read first: a deferred message comes back many times, a read costs less than a
        # write. Eventually consistent (half a unit; "the responses may not reflect the
        # results of a recently completed write operation", DynamoDB Developer Guide,
        # "DynamoDB read consistency"): an entry added a moment ago and missed here is
        # written again by the update below, which keeps when it first joined
        # (``if_not_exists``) and answers the entry as it is.
        known = self.table.get(_backlog_key(entry, self.channel), consistent=False)
        if known:
            return _entry_from_item(known)
        stored = self.table.write(
            Update(
                key=_backlog_key(entry, self.channel),
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
        return "pk = :pk", {":pk": _lane_key(activation_id, self.channel)}

    def backlog(self, activation_id: str) -> list[BacklogEntry]:
        condition, values = self._lane(activation_id)
        return [
            _entry_from_item(item) for item in self.table.query(condition, values, consistent=True)
        ]

    def backlog_size(self, activation_id: str, *, at_most: int | None = None) -> int:
        condition, values = self._lane(activation_id)
        return self.table.count(condition, values, consistent=True, at_most=at_most)

    def remove_backlog(self, entries: Sequence[BacklogEntry]) -> None:
        keys = {
            entry.sort_key + entry.activation_id: _backlog_key(entry, self.channel)
            for entry in entries
        }
        left = self.table.batch_delete(keys.values(), attempts=self.max_attempts, pause=0.05)
        if left:
            raise RuntimeError(f"DynamoDB left {left} backlog deletions unprocessed.")

    def note_announced(self, post_ids: Sequence[str], announcement: Announcement) -> None:
        return  # the publications in the ledger are the announcements

    # -- tweets --------------------------------------------------------------
    def put_tweet(self, record: TweetRecord) -> None:
        self.table.write(Put(item=tweet_to_item(record, self.channel)))

    def tweets_of_month(self, month: str) -> list[TweetRecord]:
        items = self.table.query(
            "gsi2pk = :pk", {":pk": f"{_record_prefix(self.channel)}{month}"}, index=BY_MONTH
        )
        return [tweet_from_item(item) for item in items]

    def tweets_between(self, since: datetime, end: datetime) -> list[TweetRecord]:
        """Tweets posted from ``since`` to ``end``, newest first (one Query per month)."""
        found: list[TweetRecord] = []
        last = (end - timedelta(microseconds=1)).astimezone(UTC).date()
        for month in reversed(months_between(since.astimezone(UTC).date(), last)):
            items = self.table.query(
                "gsi2pk = :pk AND gsi2sk BETWEEN :since AND :end",
                {
                    ":pk": f"{_record_prefix(self.channel)}{month}",
                    ":since": iso(since),
                    ":end": iso(end),
                },
                index=BY_MONTH,
                forward=False,
            )
            found += [tweet_from_item(item) for item in items]
        return found
