"""The relay's memory in dicts: the semantics of the table's, for tests, the bench and one process.

What the two stores decide alike (a claim's state, one subject at a time) lives in
:class:`~entraide.publishing.relay_store.RelayStore`; this one only keeps its values under a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from entraide.intake.post_store import Announcement
from entraide.kernel.times import month_of
from entraide.publishing.relay_store import (
    DEFAULT_CLAIM_TIMEOUT,
    BacklogEntry,
    ClaimState,
    ClaimStatus,
    RelayStore,
    TweetRecord,
    unique,
)


@dataclass(slots=True)
class _Claim:
    holder: str | None
    claimed_at: datetime
    done: bool = False
    tweet_id: str | None = None
    in_doubt: bool = False


@dataclass(slots=True)
class MemoryRelayStore(RelayStore):
    """The same semantics in dicts: for tests, the bench and a single process."""

    claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT
    announced: dict[str, Announcement] = field(default_factory=dict)
    claims: dict[str, _Claim] = field(default_factory=dict)
    tweets: dict[str, TweetRecord] = field(default_factory=dict)
    _backlog: dict[str, dict[str, BacklogEntry]] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def is_announced(self, post_id: str) -> bool:
        return post_id in self.announced

    def mark_announced(self, post_ids: Sequence[str], announcement: Announcement) -> list[str]:
        with self._lock:
            marked = [post_id for post_id in unique(post_ids) if post_id not in self.announced]
            self.announced.update(dict.fromkeys(marked, announcement))
        return marked

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

    def _state(self, claim: _Claim, now: datetime) -> ClaimState:
        return self.judge(
            done=claim.done,
            tweet_id=claim.tweet_id,
            holder=claim.holder,
            claimed_at=claim.claimed_at,
            now=now,
        )

    def claim_many(
        self, subjects: Sequence[str], now: datetime, *, holder: str | None = None
    ) -> dict[str, ClaimState]:
        states: dict[str, ClaimState] = {}
        with self._lock:
            for subject in unique(subjects):
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

    def complete_many(
        self, subjects: Sequence[str], tweet_id: str | None, *, in_doubt: bool = False
    ) -> None:
        with self._lock:
            for subject in subjects:
                claim = self.claims.get(subject)
                if claim is not None and not claim.done:
                    claim.done, claim.tweet_id, claim.in_doubt = True, tweet_id, in_doubt

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
            found = [tweet for tweet in self.tweets.values() if month_of(tweet.posted_at) == month]
        return sorted(found, key=lambda tweet: (tweet.posted_at, tweet.tweet_id))
