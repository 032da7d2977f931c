"""The relay to X: every approved post announced once, within X's posting quotas.

One message of the ``approved-posts`` topic (see
:func:`entraide.moderation.announce.approved_message`) goes through
:meth:`Relay.handle_approved`:

1. a post already announced is skipped (a redelivery, or a digest covered it);
2. the post joins its activation's backlog;
3. *individual or digest*: the post is tweeted alone while the activation's backlog fits in
   what the budget can still afford (``budget.remaining(now)`` minus a reserve kept for
   digests, by default a quarter of the smallest cap) and stays under ``digest_threshold``.
   Otherwise the relay waits ``digest_wait`` after the post joined the backlog (so that one
   digest gathers the posts arriving meanwhile; by default 15 minutes, or longer when the
   quota cannot sustain one post per 15 minutes: 31 days / 500 ≈ 89 minutes on the free tier),
   then tweets one digest for every post of the same activation and département still
   waiting ("17 nouvelles offres d'aide dans l'Aude : …");
4. one unit of the budget is spent (or the message is deferred to when one is free);
5. a claim is written for each subject (the post, or the digest and each post it covers);
6. X is called; then the tweet is recorded, the claims completed, the posts marked announced
   and removed from the backlog.

What X answers decides the outcome (see the handler's duties in :class:`Relay`):
success or "duplicate content" (X already has this text: it was posted) → :class:`Done`;
429 → the unit is given back, the budget blocked until X's reset, :class:`Deferred` to it;
5xx/timeout → unit and claims given back, :class:`TemporaryFailure`; 401/403/other 4xx →
claims given back, :class:`PermanentFailure` (the DLQ). Any other exception escapes with the
claims kept: X may have posted, and a pending claim older than the store's ``claim_timeout``
is *in doubt*: the posts are marked announced (``announced_in_doubt``), never tweeted again.
A timeout is an :class:`~.x_answers.XUnavailable` although X may have posted: the retry
of a single post sends the same text and meets "duplicate" (counted as posted); the retry of
a digest gathers the backlog anew, so a post may then appear in two digests, never in none.

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

from entraide.activation.activation_store import activation_pk
from entraide.intake.post_store import Announcement
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
    BacklogEntry,
    ClaimState,
    ClaimStatus,
    RelayStore,
    TweetKind,
    TweetRecord,
)

if TYPE_CHECKING:
    from entraide.publishing.xapi import XPoster


DEFAULT_DIGEST_THRESHOLD = 10
DEFAULT_DIGEST_WAIT = timedelta(minutes=15)


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


def _tweet_texts() -> TweetTexts:
    """:mod:`entraide.publishing.tweets`, imported on the first tweet (cold start)."""
    from entraide.publishing import tweets

    return tweets


def _no_metric(name: str, value: float) -> None:
    return None


def _default_new_id() -> str:
    from entraide.kernel.ids import new_id

    return new_id()


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

    # -- public URLs ---------------------------------------------------------
    def post_url(self, post_id: str) -> str:
        """The post's public page (``GET /posts/{id}``)."""
        return f"{self.base_url}/posts/{quote(post_id)}"

    def digest_url(self, activation_id: str, departement: str) -> str:
        """The "near me" page for the département the digest speaks of."""
        query = urlencode({"activation": activation_id, "departement": departement})
        return f"{self.base_url}/pres-de-chez-moi?{query}"

    def activation_url(self, activation_id: str) -> str:
        return f"{self.base_url}/"

    # -- approved posts ------------------------------------------------------
    def handle_approved(self, message: Mapping[str, Any]) -> RelayOutcome:
        post_id = message.get("post_id")
        if not isinstance(post_id, str) or not post_id:
            raise PermanentFailure("Approved-post message without a post_id.")
        now = self.clock()
        if self.store.is_announced(post_id):
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

        remaining = self.budget.remaining(now)
        if remaining <= 0:
            # Spent or blocked: say until when, without reading the backlog (a message may
            # come back every 15 minutes for a day).
            verdict = self.budget.reserve(now)
            if isinstance(verdict, Denied):
                return self._defer(verdict.retry_at, f"budget spent ({verdict.window})")
            self.budget.release(verdict)  # a unit came free meanwhile: decide as usual
            remaining = 1
        # Tweeted alone while the backlog fits in what the budget affords beyond the reserve
        # (and under the threshold); only whether it does matters, not the exact size.
        bound = max(0, min(remaining - self.digest_reserve, self.digest_threshold))
        if self.store.backlog_size(post.activation_id, at_most=bound + 1) <= bound:
            return self._post_single(post, activation, entry, now)
        ready = entry.queued_at + self.digest_wait
        if ready > now:
            return self._defer(ready, "gathering a digest")
        return self._post_digest(activation, entry, now)

    def _forget(self, message: Mapping[str, Any], post_id: str) -> None:
        """Drop a withdrawn or expired post from the backlog (when the message tells where)."""
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

    def _reserve(self, now: datetime) -> Reservation | Deferred:
        verdict = self.budget.reserve(now)
        if isinstance(verdict, Denied):
            return self._defer(verdict.retry_at, f"budget spent ({verdict.window})")
        return verdict

    def _post_single(
        self, post: Post, activation: Activation, entry: BacklogEntry, now: datetime
    ) -> RelayOutcome:
        text = self._compose(
            lambda: self._texts().post_tweet(
                post, activation=activation, public_url=self.post_url(post.id)
            ),
            subject=post.id,
        )
        reservation = self._reserve(now)
        if isinstance(reservation, Deferred):
            return reservation
        state = self.store.claim(post.id, now)
        if state.status is not ClaimStatus.NEW:
            self.budget.release(reservation)
            return self._settle(entry, state, now)
        return self._publish(
            subjects=[post.id],
            entries=[entry],
            text=text,
            kind="post",
            activation_id=activation.id,
            reservation=reservation,
        )

    def _post_digest(
        self, activation: Activation, trigger: BacklogEntry, now: datetime
    ) -> RelayOutcome:
        reservation = self._reserve(now)
        if isinstance(reservation, Deferred):
            return reservation
        lane = [
            entry
            for entry in self.store.backlog(activation.id)
            if entry.departement == trigger.departement
        ]
        digest_id = f"digest:{activation.id}:{trigger.departement}:{self.new_id()}"
        states = self.store.claim_many([entry.post_id for entry in lane], now, holder=digest_id)
        covered: list[BacklogEntry] = []
        for entry in lane:
            state = states[entry.post_id]
            if state.status is ClaimStatus.NEW:
                covered.append(entry)
            elif state.status is not ClaimStatus.BUSY:
                self._settle(entry, state, now)  # done or in doubt: bookkeeping only
        trigger_state = states.get(trigger.post_id)
        if trigger_state is None:  # announced and removed by another relay meanwhile
            trigger_outcome: RelayOutcome = Skipped("announced meanwhile")
        elif trigger_state.status is ClaimStatus.BUSY:
            trigger_outcome = self._settle(trigger, trigger_state, now)
        elif trigger_state.status is not ClaimStatus.NEW:
            trigger_outcome = Skipped(f"already {trigger_state.status.value}")
        else:
            trigger_outcome = Skipped("covered")  # replaced by the publication's Done

        if not covered:
            self.budget.release(reservation)
            return trigger_outcome
        subjects = [entry.post_id for entry in covered]
        if len(covered) == 1:
            only = covered[0]
            post = self.load_post(only.post_id)
            if post is None or post.status is not PostStatus.APPROVED:
                self.budget.release(reservation)
                self.store.release_many(subjects)
                self.store.remove_backlog(covered)
                if only.post_id == trigger.post_id:
                    return Skipped("no longer approved")
                return trigger_outcome
            text = self._compose(
                lambda: self._texts().post_tweet(
                    post, activation=activation, public_url=self.post_url(post.id)
                ),
                subject=post.id,
                on_error=lambda: self._give_back(reservation, subjects),
            )
            kind: TweetKind = "post"
        else:
            counts = Counter((entry.kind, entry.category) for entry in covered)
            text = self._compose(
                lambda: self._texts().digest_tweet(
                    activation=activation,
                    departement=trigger.departement,
                    counts=counts,
                    public_url=self.digest_url(activation.id, trigger.departement),
                ),
                subject=digest_id,
                on_error=lambda: self._give_back(reservation, subjects),
            )
            self.store.claim(digest_id, now)
            subjects = [digest_id, *subjects]
            kind = "digest"
        outcome = self._publish(
            subjects=subjects,
            entries=covered,
            text=text,
            kind=kind,
            activation_id=activation.id,
            reservation=reservation,
        )
        if isinstance(outcome, Done) and trigger.post_id not in outcome.covered:
            return trigger_outcome
        return outcome

    # -- activations -----------------------------------------------------------
    def handle_activation_event(self, message: Mapping[str, Any]) -> RelayOutcome:
        """Announce an activation's opening or closing (``activation-opened|closed``)."""
        event = message.get("event")
        activation_id = message.get("activation_id")
        if event not in ("activation-opened", "activation-closed") or not isinstance(
            activation_id, str
        ):
            raise PermanentFailure(f"Not an activation event: {event!r}.")
        opened = event == "activation-opened"
        subject = f"{activation_pk(activation_id)}#{'opened' if opened else 'closed'}"
        now = self.clock()
        known = self.store.claim_state(subject, now)
        if known.status is not ClaimStatus.NEW:
            return self._settle(None, known, now, subject=subject)
        activation = self.load_activation(activation_id)
        if activation is None:
            raise PermanentFailure(f"Activation {activation_id} not found.")
        text = self._compose(
            lambda: self._texts().activation_tweet(
                activation, opened=opened, public_url=self.activation_url(activation.id)
            ),
            subject=subject,
        )
        reservation = self._reserve(now)
        if isinstance(reservation, Deferred):
            return reservation
        state = self.store.claim(subject, now)
        if state.status is not ClaimStatus.NEW:
            self.budget.release(reservation)
            return self._settle(None, state, now, subject=subject)
        return self._publish(
            subjects=[subject],
            entries=[],
            text=text,
            kind="activation",
            activation_id=activation.id,
            reservation=reservation,
        )

    # -- shared steps ------------------------------------------------------------
    def _defer(self, until: datetime, reason: str) -> Deferred:
        self.metric("RelayDeferred", 1)
        return Deferred(until, reason)

    def _give_back(self, reservation: Reservation, subjects: Sequence[str]) -> None:
        self.budget.release(reservation)
        self.store.release_many(subjects)

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
        self,
        entry: BacklogEntry | None,
        state: ClaimState,
        now: datetime,
        *,
        subject: str | None = None,
    ) -> RelayOutcome:
        """Bookkeeping for a subject someone else claimed (never posts)."""
        subject = subject or (entry.post_id if entry else "?")
        digest = bool(state.holder and state.holder.startswith("digest:"))
        if state.status is ClaimStatus.BUSY:
            until = state.retry_at or now + timedelta(seconds=60)
            return self._defer(until, "claimed by another relay")
        if state.status is ClaimStatus.IN_DOUBT:
            logger.warning(
                "Relay: claim of %s (by %s at %s) was never completed: a crash between the "
                "call to X and its record. Not posting again; announced in doubt.",
                subject,
                state.holder or subject,
                state.claimed_at.isoformat() if state.claimed_at else "?",
            )
            self.metric("RelayInDoubt", 1)
            if entry is not None:
                self.store.mark_announced([entry.post_id], Announcement(now, None, digest, True))
            self.store.complete(subject, None, in_doubt=True)
            if entry is not None:
                self.store.remove_backlog([entry])
            return Skipped("in doubt: claimed, never completed")
        # DONE: finish what a crashed relay left (idempotent)
        if entry is not None:
            self.store.mark_announced([entry.post_id], Announcement(now, state.tweet_id, digest))
            self.store.remove_backlog([entry])
        return Skipped("already posted")

    def _publish(
        self,
        *,
        subjects: Sequence[str],
        entries: Sequence[BacklogEntry],
        text: str,
        kind: TweetKind,
        activation_id: str,
        reservation: Reservation,
    ) -> Done | Deferred:
        from entraide.publishing.x_answers import XDuplicate, XRateLimited, XRejected, XUnavailable

        try:
            posted = self.poster.post(text)
        except XRateLimited as exc:
            now = self.clock()
            until = max(exc.reset_at, now + timedelta(seconds=1))
            self.budget.release(reservation)
            self.budget.block_until(until, now)
            self.store.release_many(subjects)
            logger.warning(
                "Relay: X rate limit (%s) until %s; %s deferred.",
                exc.scope,
                until.isoformat(),
                subjects[0],
            )
            self.metric("XRateLimited", 1)
            return Deferred(until, f"X rate limit ({exc.scope})")
        except XUnavailable as exc:
            self._give_back(reservation, subjects)
            logger.warning("Relay: X unavailable for %s: %s", subjects[0], exc.detail)
            self.metric("XUnavailable", 1)
            raise TemporaryFailure(f"X unavailable: {exc.detail}") from exc
        except XDuplicate:
            # X already has this text: an earlier attempt posted it (a timeout, a crash).
            tweet_id, known, final_text = f"unknown:{subjects[0]}", False, text
            logger.info("Relay: X says %s was already posted; counted as posted.", subjects[0])
            self.metric("XDuplicate", 1)
        except XRejected as exc:
            self.store.release_many(subjects)
            logger.error(
                "Relay: X refused the tweet for %s (%s %s); message goes to the DLQ.",
                subjects[0],
                exc.status,
                exc.detail,
            )
            self.metric("XRejected", 1)
            raise PermanentFailure(f"X refused: {exc.status} {exc.detail}", exc.status) from exc
        else:
            tweet_id, known, final_text = posted.id, True, posted.text

        at = self.clock().astimezone(UTC)
        post_ids = tuple(entry.post_id for entry in entries)
        recorded_id = tweet_id if known else None
        self.store.put_tweet(
            TweetRecord(tweet_id, final_text, at, kind, post_ids, activation_id, known)
        )
        self.store.complete_many(subjects, recorded_id)
        if post_ids:
            self.store.mark_announced(post_ids, Announcement(at, recorded_id, kind == "digest"))
            self.store.remove_backlog(entries)
        self.metric("TweetsPosted", 1)
        if kind == "digest":
            self.metric("DigestsPosted", 1)
        self.metric("PostsAnnounced", len(post_ids))
        return Done(recorded_id, post_ids, kind)
