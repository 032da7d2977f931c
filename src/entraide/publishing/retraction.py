"""A post that ends (withdrawn, expired, erased) leaves every network it was announced on.

When an approved post leaves the public (see ``functions/retention``), a message
``{"event": "post-retracted", "post_id": …}`` reaches the relay queue, and
:meth:`Retractor.handle` takes the post's own message down from each :class:`Channel`.
Each network is a :class:`RelayedChannel` over its own relay's memory and poster: X
(:class:`XChannel`: the post's tweet, ``DELETE /2/tweets/:id``), Bluesky (the record,
``deleteRecord`` by the key of its URI) and Mastodon (``DELETE /api/v1/statuses/:id``),
all given to the same :class:`Retractor`.

**Exactly once, under redelivery.** For each channel, the deletion is a side effect with
its claim (``<post id>#retracted#<channel>``, a subject of the relay's in the effects
ledger): claimed before the call, completed after it. A redelivered message finds the
claim done and does nothing; a claim held elsewhere defers the message; a crash between the
call and the record leaves a claim whose lease runs out, and the deletion is simply made
again (deleting is idempotent: a tweet already gone answers 404, which counts as deleted).
A rate limit gives the claim back and defers the message to the reset; an outage gives it
back and lets SQS redeliver.

**Never announced later.** A post withdrawn before the relay got to it must never be
tweeted afterwards: :meth:`RelayedChannel.published` takes the relay's own claim on the post's
publication (``publish:post:<id>``) when nobody holds it, and completes it without a
tweet, so that the relay, which claims a post before tweeting it, finds it done and posts
nothing.

**What is not deleted.** A digest ("17 nouvelles offres dans l'Aude…") names no post and
holds no text of one: it stays. A tweet whose id the relay never learnt (X said
"duplicate", or a relay stopped during its call to X) cannot be deleted by id: it is counted
(``RetractionUnknownTweet``) and logged for an operator, without any text of the post.

**Price and pace.** X bills a deletion $0.010 under pay-per-use
(:data:`~entraide.publishing.x_prices.DELETE`) and limits ``DELETE /2/tweets/:id`` to 50
requests per 15 minutes per user (developer.x.com, "Manage Posts"). :class:`XChannel`
spends both in the X relay's own budget before each call (:mod:`.quota`: the month's money,
counted but never refused, and the deletions' own 15-minute window); a deletion the window
refuses waits for it, the message deferred; one X did not make (429, outage) is given back.
Each call made is also counted as a metric (``XDeleteSpendUsd``).
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from entraide.adapters.queue import Queue
from entraide.kernel.model import Post, PostStatus
from entraide.observability import logger
from entraide.publishing.channel_errors import (
    RateLimited,
    Rejected,
    Unavailable,
)
from entraide.publishing.quota import Budget, Denied, Reservation
from entraide.publishing.relay_outcomes import (
    Deferred,
    PermanentFailure,
    RelayOutcome,
    Skipped,
    TemporaryFailure,
)
from entraide.publishing.relay_store import ClaimStatus, RelayStore
from entraide.publishing.x_prices import DELETE, dollars

RETRACTED_EVENT: Final = "post-retracted"
#: How soon to come back when another relay holds a claim we need.
BUSY_RETRY: Final = timedelta(seconds=30)
#: How long a retraction's claim is held when the message brings no deadline: longer than
#: the relay function's run (its timeout, template.yaml) and its last call to X.
DEFAULT_LEASE: Final = timedelta(seconds=60)


def retraction_message(post_id: str) -> dict[str, str]:
    """The relay queue's message asking that ``post_id`` leave every network."""
    return {"event": RETRACTED_EVENT, "post_id": post_id}


class RetractionQueue:
    """Asks for posts to be taken down: one message each on the relay's queue (a redelivery,
    or asking twice, deletes nothing twice: see :class:`Retractor`)."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue

    def request(self, post_ids: Sequence[str]) -> None:
        for post_id in dict.fromkeys(post_ids):
            self.queue.send(json.dumps(retraction_message(post_id)))


@dataclass(frozen=True, slots=True)
class Publication:
    """Where a post stands on a channel: its own message there, if any is known."""

    message_id: str | None  # None: nothing of this post to take down there
    reason: str = ""
    lost: bool = False  # a message exists, or may, but its id was never learnt


class Channel(Protocol):
    """A network the platform announces posts on, as a retraction sees it."""

    @property
    def name(self) -> str: ...

    def published(
        self, post_id: str, now: datetime, *, holder: str, lease_until: datetime
    ) -> Publication | Deferred:
        """The post's own message on this network, or why there is none; from now on the
        channel never announces the post (the post has ended: ``holder`` closes the door
        until ``lease_until`` at most). Deferred while a publication of it is under way."""
        ...

    def delete(self, message_id: str) -> None:
        """Take the message down; one already gone counts as deleted. Raises X's typed
        errors (rate limit, outage, refusal) or their equivalents."""
        ...

    def reserve(self) -> Reservation | Denied | None:
        """Spend one deletion in the network's budget before the call (None: nothing to
        spend), or say when one will be free."""
        ...

    def give_back(self, reservation: Reservation | None) -> None:
        """The deletion was not made (a rate limit, an outage): its spending undone."""
        ...


class Deleter(Protocol):
    """What deletes a channel's message (the posters of :mod:`.xapi`, :mod:`.bluesky`,
    :mod:`.mastodon`, and their dry runs)."""

    def delete(self, message_id: str) -> None:
        """Delete one of the account's messages; one already gone counts as deleted."""
        ...


class RelayedChannel:
    """A network the relay announces on: the post's message, as that channel's relay
    recorded its publication (``publish:<channel>:post:<id>``, ``publish:post:<id>`` on X)."""

    def __init__(self, store: RelayStore, poster: Deleter, budget: Budget | None = None) -> None:
        self.store = store
        self.poster = poster
        self.budget = budget  # None: deleting is free and only the network's 429 paces it
        self.deletion_price = 0  # millidollars

    @property
    def name(self) -> str:
        return self.store.channel

    def published(
        self, post_id: str, now: datetime, *, holder: str, lease_until: datetime
    ) -> Publication | Deferred:
        key = self.store.post_key(post_id)
        state = self.store.claim(key, now, holder=holder, lease_until=lease_until)
        if state.status is ClaimStatus.NEW:
            # nobody is announcing it: close the door, the relay will find it done
            self.store.complete(key, holder, None)
            if state.taken_over and not state.digest:
                # a relay stopped during its call: a message may exist, id unknown
                return Publication(None, "message id unknown", lost=True)
            return Publication(None, "never announced")
        if state.digest:
            return Publication(None, "covered by a digest: no text of the post")
        if state.status is not ClaimStatus.DONE:
            return Deferred(state.retry_at or now + BUSY_RETRY, "announcement under way")
        if state.tweet_id is None:
            return Publication(None, "message id unknown", lost=True)
        return Publication(state.tweet_id)

    def delete(self, message_id: str) -> None:
        self.poster.delete(message_id)

    def reserve(self) -> Reservation | Denied | None:
        if self.budget is None:
            return None
        return self.budget.reserve(cost=self.deletion_price, spender="deletion")

    def give_back(self, reservation: Reservation | None) -> None:
        if self.budget is not None and reservation is not None:
            self.budget.release(reservation)


class XChannel(RelayedChannel):
    """X: the post's tweet; each deletion priced :data:`~.x_prices.DELETE` and paced by
    the deletions' window, both in the X relay's budget."""

    def __init__(self, store: RelayStore, poster: Deleter, budget: Budget) -> None:
        super().__init__(store, poster, budget)
        self.deletion_price = DELETE


def _no_metric(name: str, value: float) -> None:
    return None


class Retractor:
    """Takes an ended post's messages down from every channel, once each."""

    def __init__(
        self,
        store: RelayStore,
        channels: Sequence[Channel],
        *,
        clock: Callable[[], datetime],
        load_post: Callable[[str], Post | None],
        metric: Callable[[str, float], None] = _no_metric,
    ) -> None:
        self.store = store
        self.channels = tuple(channels)
        self.clock = clock
        self.load_post = load_post
        self.metric = metric

    def handle(
        self, message: Mapping[str, Any], *, deadline: datetime | None = None
    ) -> RelayOutcome:
        """Take the post of ``message`` down; claims are held until ``deadline`` (the
        invocation's end) and a margin, else :data:`DEFAULT_LEASE`."""
        post_id = message.get("post_id")
        if not isinstance(post_id, str) or not post_id:
            raise PermanentFailure("Retraction message without a post_id.")
        post = self.load_post(post_id)
        if post is None:
            return Skipped("post unknown")
        if post.status in (PostStatus.PENDING, PostStatus.APPROVED):
            return Skipped(f"post still {post.status.value}")  # not ended: nothing to take down
        waits: list[Deferred] = []
        errors: list[Exception] = []
        for channel in self.channels:
            # a network down, or refusing, never holds back the others: each is tried,
            # then the first error decides (the message comes back; what is done is skipped)
            try:
                outcome = self._retract(channel, post_id, deadline)
            except Exception as error:
                errors.append(error)
                continue
            if outcome is not None:
                waits.append(outcome)
        if errors:
            raise errors[0]
        if waits:
            return min(waits, key=lambda wait: wait.until)
        return Skipped("retracted")

    def _retract(
        self, channel: Channel, post_id: str, deadline: datetime | None
    ) -> Deferred | None:
        subject = f"{post_id}#retracted#{channel.name}"
        now = self.clock()
        holder = f"retraction:{uuid.uuid4().hex}"
        lease_until = deadline + BUSY_RETRY if deadline else now + DEFAULT_LEASE
        claim = self.store.claim(subject, now, holder=holder, lease_until=lease_until)
        if claim.status is ClaimStatus.DONE:
            return None
        if claim.status is not ClaimStatus.NEW:
            return Deferred(claim.retry_at or now + BUSY_RETRY, f"{channel.name}: claimed")
        # NEW, or taken over (a crash after the call, maybe): deleting again is harmless
        give_back = functools.partial(self.store.release, subject, holder)
        try:
            publication = channel.published(post_id, now, holder=holder, lease_until=lease_until)
        except BaseException as error:
            give_back(now, type(error).__name__)
            raise
        if isinstance(publication, Deferred):
            give_back(now, publication.reason)
            return publication
        if publication.message_id is None:
            if publication.lost:
                self.metric("RetractionUnknownTweet", 1)
                logger.warning(
                    "A post's message cannot be deleted: its id is unknown",
                    extra={"post_id": post_id, "channel": channel.name},
                )
            self.store.complete(subject, holder, None)
            return None
        return self._delete(channel, subject, holder, post_id, publication.message_id)

    def _delete(
        self, channel: Channel, subject: str, holder: str, post_id: str, message_id: str
    ) -> Deferred | None:
        now = self.clock()
        reservation = channel.reserve()
        if isinstance(reservation, Denied):
            self.store.release(subject, holder, reservation.retry_at, "budget")
            return Deferred(reservation.retry_at, f"{channel.name}: budget ({reservation.window})")
        try:
            channel.delete(message_id)
        except RateLimited as limited:
            channel.give_back(reservation)
            self.store.release(subject, holder, limited.reset_at, "rate limit")
            self.metric("XRateLimited", 1)
            return Deferred(limited.reset_at, f"{channel.name}: rate limit ({limited.scope})")
        except Unavailable as down:
            if not down.maybe_posted:  # a timeout may have deleted it: the call is billed
                channel.give_back(reservation)
            self.store.release(subject, holder, now, "unavailable")
            raise TemporaryFailure(f"{channel.name} unavailable: {down.detail}") from down
        except Rejected as refused:
            channel.give_back(reservation)
            self.store.release(subject, holder, now, f"refused {refused.status}")
            raise PermanentFailure(
                f"{channel.name} refused the deletion: {refused.status} {refused.detail}",
                refused.status,
            ) from refused
        self.store.complete(subject, holder, message_id)
        self.metric("PostMessageDeleted", 1)
        spent = reservation.cost if reservation is not None else 0
        self.metric(f"{channel.name.upper()}DeleteSpendUsd", dollars(spent))
        logger.info("Post message deleted", extra={"post_id": post_id, "channel": channel.name})
        return None
