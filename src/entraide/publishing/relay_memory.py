"""The relay's memory in dicts: the semantics of the table's, for tests, the bench and one process.

Publications are the ledger's, in its own twin in a dict
(:class:`~entraide.effects.memory.MemoryLedgerStore`): what the two stores decide alike lives
in :class:`~entraide.publishing.relay_store.RelayStore`. This one keeps the backlog, the
tweets and the announcements (when and how each post was announced) under a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from entraide.effects.memory import MemoryLedgerStore
from entraide.kernel.times import month_of
from entraide.publishing.relay_store import (
    CHANNEL,
    Announcement,
    BacklogEntry,
    RelayStore,
    TweetRecord,
    unique,
)


@dataclass(slots=True)
class MemoryRelayStore(RelayStore):
    """The same semantics in dicts: for tests, the bench and a single process."""

    ledger: MemoryLedgerStore = field(default_factory=MemoryLedgerStore)
    channel: str = CHANNEL
    announced: dict[str, Announcement] = field(default_factory=dict)
    tweets: dict[str, TweetRecord] = field(default_factory=dict)
    _backlog: dict[str, dict[str, BacklogEntry]] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def note_announced(self, post_ids: Sequence[str], announcement: Announcement) -> None:
        with self._lock:
            for post_id in unique(post_ids):
                self.announced.setdefault(post_id, announcement)

    def add_backlog(self, entry: BacklogEntry) -> BacklogEntry:
        with self._lock:
            lane = self._backlog.setdefault(entry.activation_id, {})
            stored = lane.get(entry.sort_key)
            kept = entry if stored is None else replace(entry, queued_at=stored.queued_at)
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

    def put_tweet(self, record: TweetRecord) -> None:
        with self._lock:
            self.tweets[record.tweet_id] = record

    def tweets_of_month(self, month: str) -> list[TweetRecord]:
        with self._lock:
            found = [tweet for tweet in self.tweets.values() if month_of(tweet.posted_at) == month]
        return sorted(found, key=lambda tweet: (tweet.posted_at, tweet.tweet_id))
