"""Moderation: which effects a change calls for, and decisions through signed links."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from entraide.kernel.errors import PostNotFound, UnknownDecision, WrongPostStatus
from entraide.kernel.model import Activation, Category, Contact, Kind, Post, PostStatus
from entraide.moderation.desk import ModerationDesk
from entraide.moderation.effects import Effect, EffectKind, effects_of_change
from entraide.moderation.links import LinkBook
from entraide.moderation.signing import POSTER, ExpiredLink, InvalidLink, LinkAction, LinkSigner
from entraide.web.refusals import describe_refusal
from tests.factories import NOW, make_post

MODERATORS = ("alice@moderation.example", "bob@moderation.example")
PENDING = make_post(kind=Kind.OFFER, category=Category.TRANSPORT, title="Camionnette")


class MemoryStore:
    """The table's post operations, with the same conditional semantics."""

    def __init__(self, *posts: Post) -> None:
        self.posts = {post.id: post for post in posts}

    def get_post(self, post_id: str) -> Post | None:
        return self.posts.get(post_id)

    def get_contact(self, post_id: str) -> Contact | None:
        return Contact("poster@example.org")

    def get_activation(self, activation_id: str) -> Activation | None:
        return None

    def recent_texts(self, email: str, *, since: datetime, exclude_post: str) -> list[str]:
        return []

    def transition(
        self,
        post: Post,
        to_status: PostStatus,
        *,
        at: datetime,
        by: str,
        reason: str | None = None,
    ) -> Post:
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


def signer_at(moment: datetime) -> LinkSigner:
    return LinkSigner(b"s" * 32, now=lambda: moment)


def desk(store: MemoryStore, *, now: datetime = NOW) -> ModerationDesk:
    links = LinkBook(signer=lambda: signer_at(now), moderators=MODERATORS)
    return ModerationDesk(store=store, links=links, now=lambda: now)


def token(action: LinkAction, actor: str = MODERATORS[0], version: int = 1) -> str:
    return signer_at(NOW).sign("P1", action, version, actor)


def test_a_new_pending_post_calls_for_the_awaiting_notice_and_the_moderation_request() -> None:
    assert effects_of_change(None, PENDING) == [
        Effect(EffectKind.AWAITING_NOTICE, "P1", 1),
        Effect(EffectKind.MODERATION_REQUEST, "P1", 1),
    ]


def test_an_approval_calls_for_the_announcement_and_the_notice() -> None:
    approved = replace(PENDING, status=PostStatus.APPROVED, version=2)
    assert effects_of_change(PENDING, approved) == [
        Effect(EffectKind.APPROVED_ANNOUNCEMENT, "P1", 2),
        Effect(EffectKind.DECISION_NOTICE, "P1", 2),
    ]


def test_a_refusal_calls_for_the_notice_only() -> None:
    rejected = replace(PENDING, status=PostStatus.REJECTED, version=2)
    assert effects_of_change(PENDING, rejected) == [Effect(EffectKind.DECISION_NOTICE, "P1", 2)]


def test_other_changes_call_for_nothing() -> None:
    approved = replace(PENDING, status=PostStatus.APPROVED, version=2)
    withdrawn = replace(approved, status=PostStatus.WITHDRAWN, version=3)
    assert effects_of_change(approved, withdrawn) == []
    assert effects_of_change(None, approved) == []


def test_effects_round_trip_through_their_dict_form() -> None:
    effect = Effect(EffectKind.MODERATION_REQUEST, "P1", 1, MODERATORS[1])
    assert Effect.from_dict(effect.to_dict()) == effect


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
