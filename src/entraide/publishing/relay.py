"""The relay to X: every approved post announced once, within X's posting quotas.

One message of the ``approved-posts`` topic (see
:func:`entraide.moderation.announce.approved_message`) goes through
:meth:`Relay.handle_approved`:

1. a post already announced is skipped (a redelivery, or a digest covered it);
2. the post joins its activation's backlog;
3. *individual or digest*: the post is tweeted alone while the activation's backlog fits in
   what the budget can still afford (``budget.remaining()`` minus a reserve kept for
   digests, by default a quarter of the smallest cap) and stays under ``digest_threshold``.
   Otherwise the relay waits ``digest_wait`` after the post joined the backlog (so that one
   digest gathers the posts arriving meanwhile; by default 15 minutes, or longer when the
   quota cannot sustain one post per 15 minutes: 31 days / 500 ≈ 89 minutes on the free tier),
   then tweets one digest for every post of the same activation and département still
   waiting ("17 nouvelles offres d'aide dans l'Aude : …");
4. one unit of the budget is spent (or the message is deferred to when one is free);
5. the publication is claimed in the effects ledger with the very text it sends (for a
   digest: each post it covers, then the digest with its text and its posts);
6. X is called; then the tweet is recorded, the publications completed, the posts removed
   from the backlog.

What X answers decides the outcome: success or "duplicate content" (X already has this
text: it was posted) → :class:`Done`; 429 → the unit given back, the budget blocked until
X's reset, the claim released to then, :class:`Deferred` to it; 5xx/timeout → unit and
claim given back, :class:`TemporaryFailure` (the handler defers the message with a
backoff: an X outage burns no receive); 401/403/other 4xx → claim given back,
:class:`PermanentFailure` (the DLQ, redriven by an operator). Any other exception escapes
with the claim kept: its lease ends with the invocation's deadline, and whoever comes next
takes it over and sends the *same* text again — a publication is **at least once**, and X
refuses a text it already has, so a tweet posted before the crash is not posted twice.
Every text names its subject (a post's, a digest's or an activation's link), so that X's
"duplicate" is about this very subject and never hides another one.

Dry run: give the relay :class:`entraide.publishing.xapi.DryRunPoster` instead of the
tweepy poster; the budget, claims and records are the same.

Why one module: the relay is one sequence (backlog, budget, claim, one call to X, its
record) whose order makes each announcement happen once; its outcomes
(:mod:`.relay_outcomes`), memory (:mod:`.relay_store`), budget (:mod:`.quota`) and
texts (:mod:`.tweets`) live apart, the sequence stays whole here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlencode

from entraide.effects.ledger import new_holder
from entraide.kernel.model import Activation, Category, Kind, Post, PostStatus
from entraide.kernel.times import parse_iso
from entraide.observability import logger
from entraide.publishing.quota import Budget, Denied, Reservation
from entraide.publishing.relay_outcomes import (
    Deferred,
    Done,
    PermanentFailure,
    RelayOutcome,
    Skipped,
    TemporaryFailure,
)
from entraide.publishing.relay_store import (
    Announcement,
    BacklogEntry,
    ClaimState,
    ClaimStatus,
    RelayStore,
    TweetKind,
    TweetRecord,
)

if TYPE_CHECKING:
    from entraide.publishing.x_answers import PostedTweet
    from entraide.publishing.xapi import XPoster


DEFAULT_DIGEST_THRESHOLD = 10
DEFAULT_DIGEST_WAIT = timedelta(minutes=15)
#: What a claim outlives the invocation's deadline by, and the deadline assumed when none
#: is given (the relay function's timeout).
LEASE_MARGIN = timedelta(seconds=5)
DEFAULT_RUN = timedelta(seconds=30)

#: A claim to release, or complete: the publication and who holds it.
Held = tuple[str, str]


# ------------------------------------------------------------------------------ texts
class TweetTexts(Protocol):
    def post_tweet(self, post: Post, *, activation: Activation | None, public_url: str) -> str: ...

    def digest_tweet(
        self,
        *,
        activation: Activation | None,
        departement: str,
        counts: Mapping[tuple[Kind, Category], int],
        public_url: str,
    ) -> str: ...

    def activation_tweet(self, activation: Activation, *, opened: bool, public_url: str) -> str: ...

    def editorial_tweet(self, text: str, link: str) -> str: ...


def _tweet_texts() -> TweetTexts:
    """:mod:`entraide.publishing.tweets`, imported on the first tweet (cold start)."""
    from entraide.publishing import tweets

    return tweets


def _no_metric(name: str, value: float) -> None:
    return None


def _free(kind: TweetKind) -> int:
    return 0


def _default_new_id() -> str:
    from entraide.kernel.ids import new_id

    return new_id()


def _reposted_author(message: Mapping[str, Any]) -> tuple[str, int | None]:
    """The reposted message's author and followers, as the watch read them (for the
    monthly report); what is missing or malformed is left out, the repost still made."""
    author, followers = message.get("author"), message.get("followers")
    return (
        author if isinstance(author, str) else "",
        followers if isinstance(followers, int) and not isinstance(followers, bool) else None,
    )


def _approved_at(message: Mapping[str, Any], post: Post, now: datetime) -> datetime:
    raw = message.get("approved_at")
    if isinstance(raw, str) and raw:
        try:
            return parse_iso(raw)
        except ValueError:
            pass
    return post.decided_at or now


# ------------------------------------------------------------------------------ relay
class Relay:
    """Turns ``approved-posts`` and activation messages into tweets, once each, within quota.

    What the SQS handler does with each result of :meth:`handle_approved` and
    :meth:`handle_activation_event` is said in :mod:`.relay_outcomes`.
    """

    def __init__(
        self,
        store: RelayStore,
        budget: Budget,
        poster: XPoster,
        *,
        clock: Callable[[], datetime],
        public_base_url: str,
        load_post: Callable[[str], Post | None],
        load_activation: Callable[[str], Activation | None],
        digest_threshold: int = DEFAULT_DIGEST_THRESHOLD,
        digest_reserve: int | None = None,
        digest_wait: timedelta | None = None,
        texts: Callable[[], TweetTexts] = _tweet_texts,
        metric: Callable[[str, float], None] = _no_metric,
        new_id: Callable[[], str] = _default_new_id,
        lease_margin: timedelta = LEASE_MARGIN,
        holder: Callable[[], str] = new_holder,
        price: Callable[[TweetKind], int] = _free,
    ) -> None:
        self.store = store
        self.budget = budget
        self.poster = poster
        self.clock = clock
        self.base_url = public_base_url.rstrip("/")
        self.load_post = load_post
        self.load_activation = load_activation
        self.digest_threshold = digest_threshold
        self.digest_reserve = (
            budget.limits.default_reserve() if digest_reserve is None else digest_reserve
        )
        # Digests no more often than the quota sustains (at least DEFAULT_DIGEST_WAIT apart):
        # the reserve then lasts hours into a surge instead of one hour.
        self.digest_wait = (
            max(DEFAULT_DIGEST_WAIT, budget.limits.sustainable_interval())
            if digest_wait is None
            else digest_wait
        )
        self._texts = texts
        self.metric = metric
        self.new_id = new_id
        self.lease_margin = lease_margin
        self.new_holder = holder
        #: What a call of each kind costs, in millidollars (X: :mod:`.x_prices`).
        self.price = price

    # -- public URLs: each names its subject, so that every text is unique to it ---------
    def post_url(self, post_id: str) -> str:
        """The post's public page (``GET /posts/{id}``)."""
        return f"{self.base_url}/posts/{quote(post_id)}"

    def digest_url(self, activation_id: str, departement: str, digest_id: str = "") -> str:
        """The "near me" page for the département the digest speaks of; ``lot`` names the
        digest (two digests of equal counts are two texts)."""
        query = {"activation": activation_id, "departement": departement}
        if digest_id:
            query["lot"] = digest_id
        return f"{self.base_url}/pres-de-chez-moi?{urlencode(query)}"

    def activation_url(self, activation_id: str) -> str:
        """The form, named by the activation (a new activation of the same hazard and
        départements is another text)."""
        return f"{self.base_url}/?{urlencode({'activation': activation_id})}"

    def _lease(self, deadline: datetime | None, now: datetime) -> datetime:
        return (deadline or now + DEFAULT_RUN) + self.lease_margin

    # -- approved posts ------------------------------------------------------
    def handle_approved(
        self, message: Mapping[str, Any], *, deadline: datetime | None = None
    ) -> RelayOutcome:
        post_id = message.get("post_id")
        if not isinstance(post_id, str) or not post_id:
            raise PermanentFailure("Approved-post message without a post_id.")
        now = self.clock()
        lease = self._lease(deadline, now)
        known = self.store.publication(self.store.post_key(post_id), now)
        if known.status is ClaimStatus.DONE:
            self._forget(message, post_id)
            return Skipped("already announced")
        post = self.load_post(post_id)
        if post is None or post.status is not PostStatus.APPROVED:
            self._forget(message, post_id)
            return Skipped("no longer approved")
        activation = self.load_activation(post.activation_id)
        if activation is None:
            raise PermanentFailure(f"Activation {post.activation_id} of post {post_id} not found.")
        entry = self.store.add_backlog(
            BacklogEntry(
                activation_id=post.activation_id,
                post_id=post.id,
                approved_at=_approved_at(message, post, now),
                kind=post.kind,
                category=post.category,
                departement=post.departement,
                queued_at=now,
            )
        )
        if known.status is ClaimStatus.BUSY:
            return self._defer(known.retry_at or now, "claimed by another relay")
        if known.digest:  # a digest covers it: finish that digest
            return self._resolve_digest(known.digest, entry, now, lease)
        if known.text:  # claimed before and free again: the same text, again
            return self._send_post(post, activation, entry, now, lease)

        remaining = self.budget.remaining(cost=self.price("post"))
        if remaining <= 0:
            # Spent or blocked: say until when, without reading the backlog (a message may
            # come back every 15 minutes for a day).
            verdict = self.budget.reserve(cost=self.price("post"))
            if isinstance(verdict, Denied):
                return self._defer(verdict.retry_at, f"budget spent ({verdict.window})")
            self.budget.release(verdict)  # a unit came free meanwhile: decide as usual
            remaining = 1
        # Tweeted alone while the backlog fits in what the budget affords beyond the reserve
        # (and under the threshold); only whether it does matters, not the exact size.
        bound = max(0, min(remaining - self.digest_reserve, self.digest_threshold))
        if self.store.backlog_size(post.activation_id, at_most=bound + 1) <= bound:
            return self._send_post(post, activation, entry, now, lease)
        ready = entry.queued_at + self.digest_wait
        if ready > now:
            return self._defer(ready, "gathering a digest")
        return self._post_digest(activation, entry, now, lease)

    def _forget(self, message: Mapping[str, Any], post_id: str) -> None:
        """Drop a post from the backlog (when the message tells where)."""
        activation_id, raw = message.get("activation_id"), message.get("approved_at")
        if not (isinstance(activation_id, str) and isinstance(raw, str)):
            return
        try:
            approved = parse_iso(raw)
        except ValueError:
            return
        placeholder = BacklogEntry(
            activation_id, post_id, approved, Kind.NEED, Category.AUTRE, "", approved
        )
        self.store.remove_backlog([placeholder])

    def _reserve(self, kind: TweetKind) -> Reservation | Deferred:
        """One call of ``kind``, priced before it is made (X's money budget; free elsewhere);
        the budget reads its clock inside the spend."""
        cost = self.price(kind)
        verdict = self.budget.reserve(cost=cost, spender=kind)
        if isinstance(verdict, Denied):
            return self._defer(verdict.retry_at, f"budget spent ({verdict.window})")
        return verdict

    def _claim(
        self,
        key: str,
        now: datetime,
        lease: datetime,
        *,
        holder: str | None = None,
        send: Mapping[str, Any] | None = None,
        about: Mapping[str, Any] | None = None,
        unheld_only: bool = False,
    ) -> tuple[ClaimState, str]:
        holder = holder or self.new_holder()
        state = self.store.claim(
            key,
            now,
            holder=holder,
            lease_until=lease,
            send=send,
            about=about,
            unheld_only=unheld_only,
        )
        if state.taken_over:
            logger.warning(
                "Relay: %s was claimed and never completed (a relay stopped during its call "
                "to X); sending the same text again, which X refuses if it has it already.",
                key,
            )
            self.metric("RelayTakenOver", 1)
        return state, holder

    def _send_post(
        self,
        post: Post,
        activation: Activation,
        entry: BacklogEntry,
        now: datetime,
        lease: datetime,
    ) -> RelayOutcome:
        key = self.store.post_key(post.id)
        text = self._compose(
            lambda: self._texts().post_tweet(
                post, activation=activation, public_url=self.post_url(post.id)
            ),
            subject=post.id,
        )
        reservation = self._reserve("post")
        if isinstance(reservation, Deferred):
            return reservation
        state, holder = self._claim(
            key,
            now,
            lease,
            send={"text": text},
            about={"post_id": post.id, "activation_id": activation.id},
        )
        if state.status is not ClaimStatus.NEW:
            self.budget.release(reservation)
            if state.digest and state.status is ClaimStatus.FREE:
                return self._resolve_digest(state.digest, entry, now, lease)
            return self._settle([entry], state, now)
        return self._publish(
            held=[(key, holder)],
            entries=[entry],
            text=state.text or text,
            kind="post",
            activation_id=activation.id,
            reservation=reservation,
        )

    def _post_digest(
        self, activation: Activation, trigger: BacklogEntry, now: datetime, lease: datetime
    ) -> RelayOutcome:
        reservation = self._reserve("digest")
        if isinstance(reservation, Deferred):
            return reservation
        lane = [
            entry
            for entry in self.store.backlog(activation.id)
            if entry.departement == trigger.departement
        ]
        digest_id = f"{activation.id}:{trigger.departement}:{self.new_id()}"
        digest_key = self.store.digest_key(digest_id)
        # Each post the digest covers points to it (held by the digest itself): whoever
        # finds one later finishes this digest, never tweets the post alone as well.
        covered: list[BacklogEntry] = []
        trigger_outcome: RelayOutcome = Skipped("covered")
        for entry in lane:
            state, _ = self._claim(
                self.store.post_key(entry.post_id),
                now,
                lease,
                holder=digest_key,
                send={"digest": digest_key},
                about={"post_id": entry.post_id, "activation_id": activation.id},
                unheld_only=True,
            )
            if state.status is ClaimStatus.NEW:
                covered.append(entry)
                continue
            outcome = self._settle([entry], state, now)
            if entry.post_id == trigger.post_id:
                trigger_outcome = outcome
        if not covered:
            self.budget.release(reservation)
            return trigger_outcome
        held = [(self.store.post_key(entry.post_id), digest_key) for entry in covered]
        if len(covered) == 1:
            only = covered[0]
            post = self.load_post(only.post_id)
            if post is None or post.status is not PostStatus.APPROVED:
                self.budget.release(reservation)
                self._give_back(held, now, "no longer approved", forget=True)
                self.store.remove_backlog(covered)
                return Skipped("no longer approved") if only is trigger else trigger_outcome
            text = self._compose(
                lambda: self._texts().post_tweet(
                    post, activation=activation, public_url=self.post_url(post.id)
                ),
                subject=post.id,
                on_error=lambda: self._give_back(held, now, "no text", forget=True),
            )
            kind: TweetKind = "post"
        else:
            counts = Counter((entry.kind, entry.category) for entry in covered)
            text = self._compose(
                lambda: self._texts().digest_tweet(
                    activation=activation,
                    departement=trigger.departement,
                    counts=counts,
                    public_url=self.digest_url(activation.id, trigger.departement, digest_id),
                ),
                subject=digest_id,
                on_error=lambda: self._give_back(held, now, "no text", forget=True),
            )
            kind = "digest"
        state, holder = self._claim(
            digest_key,
            now,
            lease,
            send={"text": text, "covers": [entry.post_id for entry in covered], "kind": kind},
            about={"activation_id": activation.id, "departement": trigger.departement},
        )
        outcome = self._publish(
            held=[(digest_key, holder), *held],
            entries=covered,
            text=state.text or text,
            kind=kind,
            activation_id=activation.id,
            reservation=reservation,
        )
        if isinstance(outcome, Done) and trigger.post_id not in outcome.covered:
            return trigger_outcome
        return outcome

    def _resolve_digest(
        self, digest_key: str, trigger: BacklogEntry, now: datetime, lease: datetime
    ) -> RelayOutcome:
        """Finish the digest that covers ``trigger``'s post: record it if it went, send its
        text again if it may not have, or free its posts if it never was."""
        known = self.store.publication(digest_key, now)
        if known.status is ClaimStatus.BUSY:
            return self._defer(known.retry_at or now, "its digest is being posted")
        covers = list(known.covers)
        entries = [e for e in self.store.backlog(trigger.activation_id) if e.post_id in covers]
        if known.status is ClaimStatus.DONE:
            held = self._hold_covered(digest_key, covers, now, lease)
            for key, holder in held:
                self.store.complete(key, holder, known.tweet_id)
            self._announced(covers, known.tweet_id, digest=True)
            self.store.remove_backlog(entries)
            return Skipped("covered by a digest")
        if not known.text:
            # The run that gathered it stopped before writing it, so before calling X: the
            # post is free again, to be announced afresh.
            held = self._hold_covered(digest_key, [trigger.post_id], now, lease)
            self._give_back(held, now, "its digest was never written", forget=True)
            return self._defer(now, "its digest was never sent")
        reservation = self._reserve("digest")
        if isinstance(reservation, Deferred):
            return reservation
        state, holder = self._claim(digest_key, now, lease)
        if state.status is not ClaimStatus.NEW:
            self.budget.release(reservation)
            return self._defer(state.retry_at or now, "its digest is being posted")
        held = self._hold_covered(digest_key, covers, now, lease)
        kind: TweetKind = "digest" if len(covers) > 1 else "post"
        return self._publish(
            held=[(digest_key, holder), *held],
            entries=entries,
            text=state.text or known.text,
            kind=kind,
            activation_id=trigger.activation_id,
            reservation=reservation,
            covers=covers,
        )

    def _hold_covered(
        self, digest_key: str, covers: Sequence[str], now: datetime, lease: datetime
    ) -> list[Held]:
        """The digest's hold on each post it covers, taken again where it lapsed (a post
        released when X failed is the digest's again, never another's)."""
        held: list[Held] = []
        for post_id in covers:
            key = self.store.post_key(post_id)
            state, _ = self._claim(key, now, lease, holder=digest_key)
            if state.status is ClaimStatus.NEW or (
                state.status is ClaimStatus.BUSY and state.holder == digest_key
            ):
                held.append((key, digest_key))
        return held

    # -- activations -----------------------------------------------------------
    def handle_activation_event(
        self, message: Mapping[str, Any], *, deadline: datetime | None = None
    ) -> RelayOutcome:
        """Announce an activation's opening or closing (``activation-opened|closed``)."""
        event = message.get("event")
        activation_id = message.get("activation_id")
        if event not in ("activation-opened", "activation-closed") or not isinstance(
            activation_id, str
        ):
            raise PermanentFailure(f"Not an activation event: {event!r}.")
        opened = event == "activation-opened"

        def compose() -> str:
            activation = self.load_activation(str(activation_id))
            if activation is None:
                raise PermanentFailure(f"Activation {activation_id} not found.")
            return self._texts().activation_tweet(
                activation, opened=opened, public_url=self.activation_url(activation.id)
            )

        return self._announce_once(
            self.store.activation_key(activation_id, opened),
            compose,
            kind="activation",
            activation_id=activation_id,
            about={"activation_id": activation_id, "event": event},
            deadline=deadline,
        )

    # -- editorial items -----------------------------------------------------------------
    def handle_editorial(
        self, message: Mapping[str, Any], *, deadline: datetime | None = None
    ) -> RelayOutcome:
        """Publish an editorial item (``editorial``: a calendar's row, a blog article) once
        on this channel; its text was checked against every channel's rule at import."""
        item_id, text, link = (message.get(name) for name in ("item_id", "text", "link"))
        if not (isinstance(item_id, str) and item_id and isinstance(text, str) and text):
            raise PermanentFailure("Editorial message without an item_id or a text.")
        linked = link if isinstance(link, str) else ""
        return self._announce_once(
            self.store.editorial_key(item_id),
            lambda: self._texts().editorial_tweet(text, linked),
            kind="editorial",
            activation_id="",
            about={"editorial_id": item_id},
            deadline=deadline,
        )

    def _announce_once(
        self,
        key: str,
        compose: Callable[[], str],
        *,
        kind: TweetKind,
        activation_id: str,
        about: Mapping[str, Any],
        deadline: datetime | None,
    ) -> RelayOutcome:
        """One publication of its own (an activation's news, an editorial item): skipped
        when done, its first text sent again when taken over, else composed, priced,
        claimed and published."""
        now = self.clock()
        known = self.store.publication(key, now)
        if known.status is ClaimStatus.DONE:
            return Skipped("already posted")
        if known.status is ClaimStatus.BUSY:
            return self._defer(known.retry_at or now, "claimed by another relay")
        text = known.text or self._compose(compose, subject=key)
        reservation = self._reserve(kind)
        if isinstance(reservation, Deferred):
            return reservation
        state, holder = self._claim(
            key, now, self._lease(deadline, now), send={"text": text}, about=about
        )
        if state.status is not ClaimStatus.NEW:
            self.budget.release(reservation)
            return self._settle([], state, now)
        return self._publish(
            held=[(key, holder)],
            entries=[],
            text=state.text or text,
            kind=kind,
            activation_id=activation_id,
            reservation=reservation,
        )

    def handle_repost(
        self, message: Mapping[str, Any], *, deadline: datetime | None = None
    ) -> RelayOutcome:
        """Repost what the watch found (``watch-repost``: ``reference`` names it once,
        ``target`` is what the network reposts) — once per reference, priced, as a post."""
        reference, target = message.get("reference"), message.get("target")
        if not (isinstance(reference, str) and reference and isinstance(target, str) and target):
            raise PermanentFailure("Repost message without a reference or a target.")
        key = self.store.repost_key(reference)
        now = self.clock()
        known = self.store.publication(key, now)
        if known.status is ClaimStatus.DONE:
            return Skipped("already reposted")
        if known.status is ClaimStatus.BUSY:
            return self._defer(known.retry_at or now, "claimed by another relay")
        from entraide.publishing.xapi import Reposter

        poster = self.poster
        if not isinstance(poster, Reposter):
            raise PermanentFailure("This channel's poster cannot repost.")
        reservation = self._reserve("repost")
        if isinstance(reservation, Deferred):
            return reservation
        text = f"repost {target}"
        state, holder = self._claim(
            key, now, self._lease(deadline, now), send={"text": text}, about={"target": target}
        )
        if state.status is not ClaimStatus.NEW:
            self.budget.release(reservation)
            return self._settle([], state, now)
        return self._publish(
            held=[(key, holder)],
            entries=[],
            text=text,
            kind="repost",
            activation_id="",
            reservation=reservation,
            send=lambda: poster.repost(target),
            author=_reposted_author(message),
        )

    # -- shared steps ------------------------------------------------------------
    def _defer(self, until: datetime, reason: str) -> Deferred:
        self.metric("RelayDeferred", 1)
        return Deferred(until, reason)

    def _give_back(
        self, held: Sequence[Held], retry_at: datetime, reason: str, *, forget: bool = False
    ) -> None:
        for key, holder in held:
            self.store.release(key, holder, retry_at, reason, forget=forget)

    def _compose(
        self,
        compose: Callable[[], str],
        *,
        subject: str,
        on_error: Callable[[], None] | None = None,
    ) -> str:
        try:
            return compose()
        except ValueError as exc:  # TweetTooLong, a bad URL: the same input fails again
            if on_error is not None:
                on_error()
            logger.error("Relay: no tweet text for %s: %s", subject, exc)
            self.metric("RelayTextError", 1)
            raise PermanentFailure(f"No tweet text for {subject}: {exc}") from exc

    def _settle(
        self, entries: Sequence[BacklogEntry], state: ClaimState, now: datetime
    ) -> RelayOutcome:
        """Bookkeeping for a publication someone else holds or has done (never posts)."""
        if state.status is ClaimStatus.DONE:
            self._announced([entry.post_id for entry in entries], state.tweet_id, digest=False)
            self.store.remove_backlog(entries)
            return Skipped("already posted")
        return self._defer(state.retry_at or now + timedelta(seconds=1), "claimed by another relay")

    def _announced(self, post_ids: Sequence[str], tweet_id: str | None, *, digest: bool) -> None:
        if post_ids:
            at = self.clock().astimezone(UTC)
            self.store.note_announced(post_ids, Announcement(at, tweet_id, digest))

    def _publish(
        self,
        *,
        held: Sequence[Held],
        entries: Sequence[BacklogEntry],
        text: str,
        kind: TweetKind,
        activation_id: str,
        reservation: Reservation,
        covers: Sequence[str] | None = None,
        send: Callable[[], PostedTweet] | None = None,
        author: tuple[str, int | None] = ("", None),
    ) -> Done | Deferred:
        from entraide.publishing.channel_errors import (
            DuplicateText,
            RateLimited,
            Rejected,
            Unavailable,
        )

        subject = held[0][0]
        try:
            posted = send() if send is not None else self.poster.post(text)
        except RateLimited as exc:
            now = self.clock()
            until = max(exc.reset_at, now + timedelta(seconds=1))
            self.budget.release(reservation)
            self.budget.block_until(until, now)
            # X posted nothing: what the claim held no longer stands (a digest may take it)
            self._give_back(held, until, f"X rate limit ({exc.scope})", forget=True)
            logger.warning(
                "Relay: X rate limit (%s) until %s; %s deferred.",
                exc.scope,
                until.isoformat(),
                subject,
            )
            self.metric("XRateLimited", 1)
            return Deferred(until, f"X rate limit ({exc.scope})")
        except Unavailable as exc:
            self.budget.release(reservation)
            # a timeout may have posted: then the same text must go again (X refuses it)
            self._give_back(
                held, self.clock(), f"X unavailable: {exc.detail}", forget=not exc.maybe_posted
            )
            logger.warning("Relay: X unavailable for %s: %s", subject, exc.detail)
            self.metric("XUnavailable", 1)
            raise TemporaryFailure(f"X unavailable: {exc.detail}") from exc
        except DuplicateText:
            # X already has this text: an earlier attempt posted it (a timeout, a crash).
            tweet_id, known, final_text = None, False, text
            logger.info("Relay: X says %s was already posted; counted as posted.", subject)
            self.metric("XDuplicate", 1)
        except Rejected as exc:
            self._give_back(held, self.clock(), f"X refused: {exc.status}", forget=True)
            logger.error(
                "Relay: X refused the tweet for %s (%s %s); message goes to the DLQ.",
                subject,
                exc.status,
                exc.detail,
            )
            self.metric("XRejected", 1)
            raise PermanentFailure(f"X refused: {exc.status} {exc.detail}", exc.status) from exc
        else:
            tweet_id, known, final_text = posted.id, True, posted.text

        at = self.clock().astimezone(UTC)
        post_ids = tuple(covers if covers is not None else (entry.post_id for entry in entries))
        record_id = tweet_id if known and tweet_id else f"unknown:{subject}"
        self.store.put_tweet(
            TweetRecord(
                record_id,
                final_text,
                at,
                kind,
                post_ids,
                activation_id,
                known,
                cost=reservation.cost,
                author=author[0],
                author_followers=author[1],
            )
        )
        for key, holder in held:
            self.store.complete(key, holder, tweet_id)
        self._announced(post_ids, tweet_id, digest=kind == "digest")
        if entries:
            self.store.remove_backlog(entries)
        self.metric("TweetsPosted", 1)
        if reservation.cost:
            self.metric("XSpendMillidollars", reservation.cost)
        if kind == "digest":
            self.metric("DigestsPosted", 1)
        self.metric("PostsAnnounced", len(post_ids))
        return Done(tweet_id, post_ids, kind)
