"""Signed moderation and withdrawal links: bound to post, action, version, actor, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from entraide.moderation.signing import (
    POSTER,
    ExpiredLink,
    InvalidLink,
    LinkAction,
    LinkSigner,
    actor_digest,
)

KEY = b"k" * 32
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
MODERATORS = ("alice@moderation.example", "bob@moderation.example")


def signer(now: datetime = NOW, key: bytes = KEY) -> LinkSigner:
    return LinkSigner(key, now=lambda: now)


def approve_token(post_id: str = "P1", version: int = 1) -> str:
    return signer().sign(post_id, LinkAction.APPROVE, version, MODERATORS[1])


def test_a_link_verifies_for_its_post_and_action_and_names_the_moderator() -> None:
    link = signer().verify(
        approve_token(), post_id="P1", action=LinkAction.APPROVE, actors=MODERATORS
    )
    assert (link.post_id, link.action, link.version, link.actor) == (
        "P1",
        LinkAction.APPROVE,
        1,
        MODERATORS[1],
    )
    assert link.expires_at == NOW + timedelta(hours=72)


def test_the_token_carries_no_address() -> None:
    token = approve_token()
    assert "@" not in token
    assert "bob" not in token
    assert actor_digest(MODERATORS[1]) in token


@pytest.mark.parametrize(
    ("post_id", "action"),
    [
        ("P2", LinkAction.APPROVE),  # a token of another post
        ("P1", LinkAction.REJECT),  # a token for the other decision
        ("P1", LinkAction.WITHDRAW),
    ],
)
def test_a_link_for_another_post_or_action_is_invalid(post_id: str, action: LinkAction) -> None:
    with pytest.raises(InvalidLink):
        signer().verify(approve_token(), post_id=post_id, action=action, actors=MODERATORS)


def test_a_link_signed_with_another_key_is_invalid() -> None:
    forged = signer(key=b"x" * 32).sign("P1", LinkAction.APPROVE, 1, MODERATORS[0])
    with pytest.raises(InvalidLink):
        signer().verify(forged, post_id="P1", action=LinkAction.APPROVE, actors=MODERATORS)


def test_a_moderator_no_longer_listed_cannot_use_an_old_link() -> None:
    with pytest.raises(InvalidLink):
        signer().verify(
            approve_token(), post_id="P1", action=LinkAction.APPROVE, actors=MODERATORS[:1]
        )


@given(position=st.integers(0, 200), replacement=st.characters(codec="ascii"))
def test_any_tampered_character_invalidates_the_link(position: int, replacement: str) -> None:
    token = approve_token()
    position %= len(token)
    tampered = token[:position] + replacement + token[position + 1 :]
    if tampered == token:
        return
    with pytest.raises(InvalidLink):
        signer().verify(tampered, post_id="P1", action=LinkAction.APPROVE, actors=MODERATORS)


@pytest.mark.parametrize("token", ["", "abc", "1.2.3", "a.b.c.d", "1.2..", "..."])
def test_malformed_tokens_are_invalid(token: str) -> None:
    with pytest.raises(InvalidLink):
        signer().verify(token, post_id="P1", action=LinkAction.APPROVE, actors=MODERATORS)


def test_the_version_travels_signed_so_an_old_link_is_recognised() -> None:
    token = signer().sign("P1", LinkAction.WITHDRAW, 3, POSTER)
    link = signer().verify(token, post_id="P1", action=LinkAction.WITHDRAW, actors=[POSTER])
    assert link.version == 3
    raised = token.replace("3.", "4.", 1)
    with pytest.raises(InvalidLink):
        signer().verify(raised, post_id="P1", action=LinkAction.WITHDRAW, actors=[POSTER])


def test_expiry_is_checked_against_the_clock() -> None:
    link = signer().verify(
        approve_token(), post_id="P1", action=LinkAction.APPROVE, actors=MODERATORS
    )
    link.check_not_expired(NOW + timedelta(hours=71, minutes=59))
    with pytest.raises(ExpiredLink) as exc:
        link.check_not_expired(NOW + timedelta(hours=72))
    assert "expiré" in exc.value.message


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        LinkSigner(b"short")


@pytest.mark.parametrize(
    "version",
    ["9" * 5_000, "²", "١"],  # 5,000 digits; a superscript; an Arabic-Indic digit
)
def test_a_token_whose_version_is_not_a_plain_number_is_invalid(version: str) -> None:
    # Given a valid token whose version was replaced
    _, expiry, digest, signature = approve_token().split(".")
    forged = ".".join([version, expiry, digest, signature])
    # When it is verified / Then it is refused as forged, not a crash
    with pytest.raises(InvalidLink):
        signer().verify(forged, post_id="P1", action=LinkAction.APPROVE, actors=MODERATORS)


def test_a_token_whose_expiry_is_past_the_calendar_is_invalid() -> None:
    version, _, digest, signature = approve_token().split(".")
    forged = ".".join([version, "9" * 12, digest, signature])  # the year 31,000 and more
    with pytest.raises(InvalidLink):
        signer().verify(forged, post_id="P1", action=LinkAction.APPROVE, actors=MODERATORS)
