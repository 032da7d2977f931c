"""Moderation: which effects a change calls for, and decisions through signed links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from entraide.activation.activation_store import ActivationStore
from entraide.adapters.table import Check, ConditionFailed, Table, Write
from entraide.effects.ledger import Ledger
from entraide.effects.ledger_store import DynamoDBLedgerStore
from entraide.effects.memory import MemoryLedgerStore
from entraide.effects.model import Policy, State
from entraide.intake.post_store import PostStore
from entraide.kernel.errors import (
    ActivationClosed,
    PostNotFound,
    UnknownDecision,
    WrongPostStatus,
)
from entraide.kernel.model import Activation, Category, Contact, Kind, Post, PostStatus
from entraide.matching.counterparts import GEOMATCH, MATCH, match_due_writes
from entraide.moderation.desk import ModerationDesk
from entraide.moderation.effects import (
    EffectKind,
    ModerationEffects,
    effects_of_change,
    moderator_tag,
)
from entraide.moderation.links import LinkBook
from entraide.moderation.signing import POSTER, ExpiredLink, InvalidLink, LinkAction, LinkSigner
from entraide.web.refusals import describe_refusal
from tests.factories import NOW, Clock, make_activation, make_post

MODERATORS = ("alice@moderation.example", "bob@moderation.example")
PENDING = make_post(kind=Kind.OFFER, category=Category.TRANSPORT, title="Camionnette")


class MemoryStore:
    """The table's post operations, with the same conditional semantics."""

    def __init__(self, *posts: Post) -> None:
        self.posts = {post.id: post for post in posts}
        #: every read: (what, its key, strongly consistent)
        self.reads: list[tuple[str, str, bool]] = []

    def get_post(self, post_id: str, *, consistent: bool = True) -> Post | None:
        self.reads.append(("post", post_id, consistent))
        return self.posts.get(post_id)

    def get_contact(self, post_id: str, *, consistent: bool = True) -> Contact | None:
        self.reads.append(("contact", post_id, consistent))
        return Contact("poster@example.org")

    def get_activation(self, activation_id: str, *, consistent: bool = True) -> Activation | None:
        self.reads.append(("activation", activation_id, consistent))
        return None

    def recent_texts(
        self, email: str, *, since: datetime, exclude_post: str, consistent: bool = True
    ) -> list[str]:
        self.reads.append(("recent texts", exclude_post, consistent))
        return []

    def transition(
        self,
        post: Post,
        to_status: PostStatus,
        *,
        at: datetime,
        by: str,
        reason: str | None = None,
        checks: Sequence[Check] = (),
        also: Sequence[Write] = (),
    ) -> Post:
        if any(check.key.get("closed") for check in checks):
            raise ConditionFailed()
        current = self.posts[post.id]
        if (current.status, current.version) != (post.status, post.version):
            raise WrongPostStatus(current)
        decided = to_status in (PostStatus.APPROVED, PostStatus.REJECTED)
        changed = replace(
            current,
            status=to_status,
            version=current.version + 1,
            decided_by=by if decided else current.decided_by,
            decided_at=at if decided else current.decided_at,
            ended_at=None if decided else at,
            reason=reason,
        )
        self.posts[post.id] = changed
        return changed


def effects_with(moderators: tuple[str, ...]) -> ModerationEffects:
    """The stream side's naming of effects (nothing it is given is called here)."""
    links = LinkBook(signer=lambda: signer_at(NOW), moderators=moderators)
    store = MemoryStore()
    return ModerationEffects(
        store=store,
        activations=store,
        mailer=None,
        emails=lambda: None,
        announcer=None,
        links=links,
        link_ttl_hours=72,
    )


def signer_at(moment: datetime) -> LinkSigner:
    return LinkSigner(b"s" * 32, now=lambda: moment)


class Activations:
    """The activations' condition, with the table's answer: ``closed`` ones fail it."""

    def __init__(self, *closed: str) -> None:
        self.closed = set(closed)

    def open_check(self, activation_id: str, departement: str | None = None) -> Check:
        return Check(key={"id": activation_id, "closed": activation_id in self.closed})


def desk(
    store: MemoryStore, *, now: datetime = NOW, activations: Activations | None = None
) -> ModerationDesk:
    links = LinkBook(signer=lambda: signer_at(now), moderators=MODERATORS)
    return ModerationDesk(
        store=store, links=links, activations=activations or Activations(), now=lambda: now
    )


def token(action: LinkAction, actor: str = MODERATORS[0], version: int = 1) -> str:
    return signer_at(NOW).sign("P1", action, version, actor)


def test_a_new_pending_post_calls_for_the_moderation_requests_first_then_the_notice() -> None:
    # Given the moderation of two moderators
    moderation = effects_with(MODERATORS)
    # When a new pending post arrives
    subject = moderation.subject_of_change(None, PENDING)
    # Then one request per moderator comes first, named by a digest of the address, and the
    # poster's notice after them, all as one subject of the post's version
    assert subject is not None
    assert subject.key == "moderation:P1:v1"
    assert [effect.name for effect in subject.effects] == [
        f"moderation-request:{moderator_tag(MODERATORS[0])}",
        f"moderation-request:{moderator_tag(MODERATORS[1])}",
        "awaiting-notice",
    ]
    assert not any("@" in effect.name for effect in subject.effects)
    assert {effect.policy for effect in subject.effects} == {Policy.AT_LEAST_ONCE}


def test_an_approval_calls_for_the_announcement_and_the_notice() -> None:
    approved = replace(PENDING, status=PostStatus.APPROVED, version=2)
    assert effects_of_change(PENDING, approved) == [
        EffectKind.APPROVED_ANNOUNCEMENT,
        EffectKind.DECISION_NOTICE,
    ]
    subject = effects_with(MODERATORS).subject_of_change(PENDING, approved)
    assert subject is not None
    assert (subject.key, subject.data["status"]) == ("moderation:P1:v2", "approved")


def test_a_refusal_calls_for_the_notice_only() -> None:
    rejected = replace(PENDING, status=PostStatus.REJECTED, version=2)
    assert effects_of_change(PENDING, rejected) == [EffectKind.DECISION_NOTICE]


def test_other_changes_call_for_nothing() -> None:
    approved = replace(PENDING, status=PostStatus.APPROVED, version=2)
    withdrawn = replace(approved, status=PostStatus.WITHDRAWN, version=3)
    assert effects_of_change(approved, withdrawn) == []
    assert effects_of_change(None, approved) == []
    assert effects_with(MODERATORS).subject_of_change(approved, withdrawn) is None


def test_the_subject_of_a_post_is_found_again_from_its_present_status() -> None:
    # Given a post decided an hour ago whose stream record never reached moderation
    moderation = effects_with(MODERATORS)
    approved = replace(
        PENDING, status=PostStatus.APPROVED, version=2, decided_at=NOW, decided_by="alice"
    )
    # Then the reconciliation names the subject the stream would have named
    assert moderation.subject_of_post(approved) == moderation.subject_of_change(PENDING, approved)
    assert moderation.subject_of_post(PENDING) == moderation.subject_of_change(None, PENDING)
    withdrawn = replace(approved, status=PostStatus.WITHDRAWN, version=3)
    assert moderation.subject_of_post(withdrawn) is None


def test_approval_through_a_valid_link_records_who_and_when() -> None:
    store = MemoryStore(PENDING)
    post = desk(store).decide("P1", LinkAction.APPROVE, token(LinkAction.APPROVE))
    assert (post.status, post.version, post.decided_by, post.decided_at) == (
        PostStatus.APPROVED,
        2,
        MODERATORS[0],
        NOW,
    )


def test_refusal_keeps_the_reason_trimmed() -> None:
    store = MemoryStore(PENDING)
    post = desk(store).decide(
        "P1", LinkAction.REJECT, token(LinkAction.REJECT), "  Coordonnées dans le texte  "
    )
    assert (post.status, post.reason) == (PostStatus.REJECTED, "Coordonnées dans le texte")


def test_a_second_click_says_who_decided_and_changes_nothing() -> None:
    store = MemoryStore(PENDING)
    desk(store).decide("P1", LinkAction.APPROVE, token(LinkAction.APPROVE))
    decided = store.posts["P1"]
    with pytest.raises(WrongPostStatus) as exc:
        desk(store).decide("P1", LinkAction.REJECT, token(LinkAction.REJECT, MODERATORS[1]))
    assert store.posts["P1"] == decided
    title, message = describe_refusal(exc.value)
    assert title == "Décision déjà prise"
    assert (
        "publiée par alice@moderation.example le 26 novembre 2026 à 11 h 00 (heure de Paris)"
        in message
    )


def test_a_poster_is_never_shown_the_moderator() -> None:
    store = MemoryStore(PENDING)
    desk(store).decide("P1", LinkAction.APPROVE, token(LinkAction.APPROVE))
    # a poster's withdrawal of a post that ended
    withdrawn = desk(store).withdraw("P1", token(LinkAction.WITHDRAW, POSTER, version=2))
    with pytest.raises(WrongPostStatus) as exc:
        desk(store).withdraw("P1", token(LinkAction.WITHDRAW, POSTER, version=2))
    assert exc.value.post == withdrawn
    _, message = describe_refusal(exc.value)
    assert "alice" not in message


def test_a_withdrawal_link_sent_to_the_decision_page_learns_nothing_of_the_moderator() -> None:
    # Given an approved post, and its poster's withdrawal link pasted into the decision page
    store = MemoryStore(PENDING)
    desk(store).decide("P1", LinkAction.APPROVE, token(LinkAction.APPROVE))
    poster_token = token(LinkAction.WITHDRAW, POSTER, version=2)
    # When the decision page checks it (the GET, and the POST)
    for check in (
        lambda: desk(store).check_link(
            "P1", LinkAction.WITHDRAW, poster_token, expected=PostStatus.PENDING
        ),
        lambda: desk(store).decide("P1", LinkAction.WITHDRAW, poster_token),
    ):
        with pytest.raises(UnknownDecision) as exc:
            check()
        # Then it is refused as no decision at all: no post read, no moderator named
        assert "alice" not in describe_refusal(exc.value)[1]


def test_a_refusal_names_the_moderator_only_to_a_moderator() -> None:
    decided = replace(PENDING, status=PostStatus.APPROVED, version=2, decided_by=MODERATORS[0])
    decided = replace(decided, decided_at=NOW)
    assert MODERATORS[0] in describe_refusal(WrongPostStatus(decided, seen_by_moderator=True))[1]
    assert MODERATORS[0] not in describe_refusal(WrongPostStatus(decided))[1]


def test_an_expired_link_is_refused_but_a_decided_post_is_reported_first() -> None:
    later = NOW + timedelta(hours=73)
    store = MemoryStore(PENDING)
    with pytest.raises(ExpiredLink):
        desk(store, now=later).decide("P1", LinkAction.APPROVE, token(LinkAction.APPROVE))
    assert store.posts["P1"] == PENDING
    desk(store).decide("P1", LinkAction.APPROVE, token(LinkAction.APPROVE))
    with pytest.raises(WrongPostStatus):
        desk(store, now=later).decide("P1", LinkAction.APPROVE, token(LinkAction.APPROVE))


def test_a_link_for_another_post_is_invalid_and_says_nothing_of_the_post() -> None:
    other = replace(PENDING, id="P2")
    store = MemoryStore(PENDING, other)
    with pytest.raises(InvalidLink):
        desk(store).decide("P2", LinkAction.APPROVE, token(LinkAction.APPROVE))
    assert store.posts["P2"] == other


def test_a_valid_link_to_a_missing_post_is_404() -> None:
    with pytest.raises(PostNotFound):
        desk(MemoryStore()).decide("P1", LinkAction.APPROVE, token(LinkAction.APPROVE))


def test_withdraw_is_not_a_moderation_decision() -> None:
    with pytest.raises(UnknownDecision):
        desk(MemoryStore(PENDING)).decide("P1", LinkAction.WITHDRAW, token(LinkAction.WITHDRAW))


def test_a_waiting_post_is_withdrawn_with_the_link_of_the_first_mail_even_once_approved() -> None:
    # Given the link of the "awaiting moderation" email (version 1)
    store = MemoryStore(PENDING)
    first_link = token(LinkAction.WITHDRAW, POSTER, version=1)
    # When the post is approved meanwhile, then withdrawn with that link a month later
    desk(store).decide("P1", LinkAction.APPROVE, token(LinkAction.APPROVE))
    later = NOW + timedelta(days=30)
    withdrawn = desk(store, now=later).withdraw("P1", first_link)
    # Then it is withdrawn: the link lasts as long as the post
    assert (withdrawn.status, withdrawn.ended_at) == (PostStatus.WITHDRAWN, later)


def test_a_waiting_post_can_be_withdrawn() -> None:
    store = MemoryStore(PENDING)
    withdrawn = desk(store).withdraw("P1", token(LinkAction.WITHDRAW, POSTER, version=1))
    assert withdrawn.status is PostStatus.WITHDRAWN
    # and the moderators' links then say so
    with pytest.raises(WrongPostStatus):
        desk(store).decide("P1", LinkAction.APPROVE, token(LinkAction.APPROVE))


def test_the_poster_withdraws_an_approved_post_with_the_link_of_the_approval_mail() -> None:
    store = MemoryStore(PENDING)
    approved = desk(store).decide("P1", LinkAction.APPROVE, token(LinkAction.APPROVE))
    withdraw_token = token(LinkAction.WITHDRAW, POSTER, version=approved.version)
    withdrawn = desk(store).withdraw("P1", withdraw_token)
    assert (withdrawn.status, withdrawn.ended_at, withdrawn.decided_by) == (
        PostStatus.WITHDRAWN,
        NOW,
        MODERATORS[0],
    )
    with pytest.raises(WrongPostStatus):
        desk(store).withdraw("P1", withdraw_token)


def test_a_moderator_link_cannot_withdraw() -> None:
    store = MemoryStore(replace(PENDING, status=PostStatus.APPROVED, version=2))
    with pytest.raises(InvalidLink):
        desk(store).withdraw("P1", token(LinkAction.WITHDRAW, MODERATORS[0], version=2))


def test_an_approval_after_the_activation_closed_is_refused_and_changes_nothing() -> None:
    # Given a pending post whose activation closed after the moderator opened the link
    store = MemoryStore(PENDING)
    closed = desk(store, activations=Activations(PENDING.activation_id))
    # When the moderator approves it
    with pytest.raises(ActivationClosed) as refused:
        closed.decide("P1", LinkAction.APPROVE, token(LinkAction.APPROVE))
    # Then nothing changed, and the page says why
    assert store.posts["P1"] == PENDING
    assert describe_refusal(refused.value)[0] == "Alerte terminée"
    # while a refusal is still possible
    rejected = closed.decide("P1", LinkAction.REJECT, token(LinkAction.REJECT))
    assert rejected.status is PostStatus.REJECTED


def test_on_the_table_an_approval_checks_the_activation_item_itself(
    posts: PostStore, activations: ActivationStore
) -> None:
    # Given a pending post, and its activation closed (the closing's expiry not run yet)
    activations.create_activation(make_activation())
    posts.create_post(PENDING, Contact("poster@example.org"))
    activations.close_activation(PENDING.activation_id, NOW)
    links = LinkBook(signer=lambda: signer_at(NOW), moderators=MODERATORS)
    real = ModerationDesk(store=posts, links=links, activations=activations, now=lambda: NOW)
    # When the moderator approves it, then refuses it
    with pytest.raises(ActivationClosed):
        real.decide("P1", LinkAction.APPROVE, token(LinkAction.APPROVE))
    post = posts.get_post("P1")
    assert post is not None
    assert post.status is PostStatus.PENDING
    # and on an open activation the same write goes through
    activations.create_activation(make_activation(id="A2"))
    other = replace(PENDING, id="P2", activation_id="A2")
    posts.create_post(other, Contact("poster@example.org"))
    approved = real.decide(
        "P2", LinkAction.APPROVE, signer_at(NOW).sign("P2", LinkAction.APPROVE, 1, MODERATORS[0])
    )
    assert (approved.status, approved.version) == (PostStatus.APPROVED, 2)


def test_an_approval_records_in_its_transaction_that_the_post_must_be_matched(
    posts: PostStore, activations: ActivationStore, table: Table
) -> None:
    # Given two pending posts of an open activation, and the decision's desk on the table
    activations.create_activation(make_activation())
    posts.create_post(PENDING, Contact("poster@example.org"))
    other = replace(PENDING, id="P2")
    posts.create_post(other, Contact("poster@example.org"))
    links = LinkBook(signer=lambda: signer_at(NOW), moderators=MODERATORS)
    delay = timedelta(minutes=1)
    real = ModerationDesk(
        store=posts,
        links=links,
        activations=activations,
        approval_writes=match_due_writes(delay),
        now=lambda: NOW,
    )
    ledger = DynamoDBLedgerStore(table)
    # When a moderator approves the first and refuses the second
    approved = real.decide("P1", LinkAction.APPROVE, token(LinkAction.APPROVE))
    real.decide(
        "P2", LinkAction.REJECT, signer_at(NOW).sign("P2", LinkAction.REJECT, 1, MODERATORS[0])
    )
    # Then the approved version has its subject, due for geomatch's sweep after the delay,
    # claimed by nobody; the refused post has none
    subject = ledger.get(f"match:P1:{approved.version}")
    assert subject is not None
    assert (subject.owner, subject.data) == (GEOMATCH, {"post_id": "P1", "version": 2})
    match = subject.entry(MATCH)
    assert (match.state, match.policy, match.next_at, match.holder) == (
        State.DUE,
        Policy.AT_LEAST_ONCE,
        NOW + delay,
        None,
    )
    assert ledger.due(GEOMATCH, NOW, limit=10) == []
    assert ledger.due(GEOMATCH, NOW + delay, limit=10) == [f"match:P1:{approved.version}"]
    assert ledger.get("match:P2:2") is None


def test_an_approval_refused_by_a_closed_activation_records_nothing_to_match(
    posts: PostStore, activations: ActivationStore, table: Table
) -> None:
    # Given a pending post whose activation closed
    activations.create_activation(make_activation())
    posts.create_post(PENDING, Contact("poster@example.org"))
    activations.close_activation(PENDING.activation_id, NOW)
    links = LinkBook(signer=lambda: signer_at(NOW), moderators=MODERATORS)
    real = ModerationDesk(
        store=posts,
        links=links,
        activations=activations,
        approval_writes=match_due_writes(timedelta(minutes=1)),
        now=lambda: NOW,
    )
    # When the moderator approves it
    with pytest.raises(ActivationClosed):
        real.decide("P1", LinkAction.APPROVE, token(LinkAction.APPROVE))
    # Then the post is still pending and nothing is due for matching
    assert DynamoDBLedgerStore(table).get("match:P1:2") is None
    assert DynamoDBLedgerStore(table).due(GEOMATCH, NOW + timedelta(days=1), limit=10) == []


class Outbox:
    """The mailer and the emails: each message a tuple, each send its message's id."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, ...]] = []

    def send(self, message: tuple[str, ...]) -> str:
        self.sent.append(message)
        return f"m{len(self.sent)}"

    def moderation_request(self, post: Post, **arguments: Any) -> tuple[str, ...]:
        return ("request", post.id, *arguments["moderators"])

    def awaiting_moderation(self, post: Post, *, to: str, withdraw_url: str) -> tuple[str, ...]:
        return ("awaiting", post.id, to)


def mailing_effects(
    moderators: tuple[str, ...],
) -> tuple[MemoryStore, Outbox, ModerationEffects]:
    """The stream side over a store that tells its reads, mailing to an outbox."""
    store = MemoryStore(PENDING)
    outbox = Outbox()
    moderation = ModerationEffects(
        store=store,
        activations=store,
        mailer=outbox,
        emails=lambda: outbox,
        announcer=None,
        links=LinkBook(signer=lambda: signer_at(NOW), moderators=moderators),
        link_ttl_hours=72,
    )
    return store, outbox, moderation


def test_the_sweep_reads_a_subjects_post_contact_and_activation_once_eventually_consistent() -> (
    None
):
    # Given a new pending post whose effects the stream left to the sweep (no image), and
    # two moderators
    store, outbox, moderation = mailing_effects(MODERATORS)
    subject = moderation.subject_of_change(None, PENDING)
    assert subject is not None
    clock = Clock(NOW)
    ledger = Ledger(MemoryLedgerStore(), clock=clock)
    # When its three effects are done in one run
    ledger.run(subject, moderation.performer(), deadline=clock() + timedelta(seconds=30))
    # Then both moderators and the poster got their email
    assert sorted(message[0] for message in outbox.sent) == ["awaiting", "request", "request"]
    # and the post, its contact, its activation and the poster's recent texts were each read
    # once (not once per email), eventually consistent
    assert sorted(store.reads) == [
        ("activation", PENDING.activation_id, False),
        ("contact", "P1", False),
        ("post", "P1", False),
        ("recent texts", "P1", False),
    ]


def test_a_lagging_read_never_lets_an_effect_go() -> None:
    # Given a new pending post left to the sweep, whose eventually consistent reads do not
    # see the post nor its contact yet (written a moment ago)
    store, outbox, moderation = mailing_effects(MODERATORS)

    class Lagging(MemoryStore):
        def get_post(self, post_id: str, *, consistent: bool = True) -> Post | None:
            found = super().get_post(post_id, consistent=consistent)
            return found if consistent else None

        def get_contact(self, post_id: str, *, consistent: bool = True) -> Contact | None:
            found = super().get_contact(post_id, consistent=consistent)
            return found if consistent else None

    lagging = Lagging(*store.posts.values())
    moderation.store = lagging
    subject = moderation.subject_of_change(None, PENDING)
    assert subject is not None
    clock = Clock(NOW)
    ledger = Ledger(MemoryLedgerStore(), clock=clock)
    # When its effects are done
    report = ledger.run(subject, moderation.performer(), deadline=clock() + timedelta(seconds=30))
    # Then nothing was taken for moot: both moderators and the poster got their email, the
    # post and the contact read again strongly consistent, once each
    assert sorted(message[0] for message in outbox.sent) == ["awaiting", "request", "request"]
    assert report.done == 3
    assert lagging.reads.count(("post", "P1", True)) == 1
    assert lagging.reads.count(("contact", "P1", True)) == 1


def test_the_stream_side_reads_no_post_its_record_shows() -> None:
    # Given the moderation of one moderator, and a new pending post's stream image
    store, outbox, moderation = mailing_effects(MODERATORS[:1])
    subject = moderation.subject_of_change(None, PENDING)
    assert subject is not None
    clock = Clock(NOW)
    ledger = Ledger(MemoryLedgerStore(), clock=clock)
    # When its effects are done from the image
    ledger.run(subject, moderation.performer(PENDING), deadline=clock() + timedelta(seconds=30))
    # Then the post itself is never read, its contact once
    assert len(outbox.sent) == 2
    assert [read[0] for read in store.reads].count("post") == 0
    assert [read[0] for read in store.reads].count("contact") == 1


def test_a_decision_reads_its_post_once_eventually_consistent() -> None:
    # Given a waiting post, whose reads are told
    store = MemoryStore(PENDING)
    # When a moderator approves it through their link
    decided = desk(store).decide("P1", LinkAction.APPROVE, token(LinkAction.APPROVE))
    # Then it was read once, eventually consistent (its transition holds it to its version)
    assert decided.status is PostStatus.APPROVED
    assert store.reads == [("post", "P1", False)]


def test_a_decision_on_a_stale_read_still_says_who_decided_first() -> None:
    # Given a post approved a moment ago by Alice, and a read that does not see it yet
    store = MemoryStore(PENDING)
    desk(store).decide("P1", LinkAction.APPROVE, token(LinkAction.APPROVE))

    class Lagging(MemoryStore):
        def get_post(self, post_id: str, *, consistent: bool = True) -> Post | None:
            return PENDING if not consistent else super().get_post(post_id)

    lagging = Lagging(*store.posts.values())
    # When Bob rejects it with his link
    with pytest.raises(WrongPostStatus) as refused:
        desk(lagging).decide("P1", LinkAction.REJECT, token(LinkAction.REJECT, actor=MODERATORS[1]))
    # Then the transition's condition refuses it, naming Alice's approval
    assert refused.value.post.status is PostStatus.APPROVED
    assert lagging.posts["P1"].decided_by == MODERATORS[0]
