"""What a refused link says: a post that left the site is not a link "already used"."""

from __future__ import annotations

import pytest

from entraide.kernel.errors import WrongPostStatus
from entraide.kernel.model import PostStatus
from entraide.web.refusals import describe_refusal
from tests.factories import NOW, make_post


@pytest.mark.parametrize("seen_by_moderator", [True, False])
@pytest.mark.parametrize(
    ("status", "words"),
    [(PostStatus.EXPIRED, "a expiré"), (PostStatus.WITHDRAWN, "a été retirée")],
)
def test_a_link_to_a_post_that_ended_says_so(
    status: PostStatus, words: str, seen_by_moderator: bool
) -> None:
    # Given a post that expired or was withdrawn, then a link to it is opened
    post = make_post(status=status, decided_by="system", decided_at=NOW)
    title, message = describe_refusal(WrongPostStatus(post, seen_by_moderator=seen_by_moderator))
    # Then the page says what became of the post, not that the link was used
    assert title == "Annonce plus en ligne"
    assert words in message
    assert "déjà utilisé" not in title + message


def test_a_second_click_of_a_moderator_still_says_who_decided() -> None:
    post = make_post(status=PostStatus.APPROVED, decided_by="alice@example.org", decided_at=NOW)
    title, message = describe_refusal(WrongPostStatus(post, seen_by_moderator=True))
    assert title == "Décision déjà prise"
    assert "alice@example.org" in message
