"""The post store against moto, with the table of template.yaml: conditional writes hold."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from entraide.adapters.table import Table
from entraide.intake.post_store import PostStore
from entraide.kernel.errors import (
    ConcurrentChange,
    PostNotFound,
    WrongPostStatus,
)
from entraide.kernel.geo import geohash
from entraide.kernel.model import Category, Contact, PostStatus
from tests.factories import NOW, make_post

POST = make_post(
    category=Category.REPAS, title="Repas chauds", description="Pour quatre personnes."
)
CONTACT = Contact("famille@example.org", "06 12 34 56 78")


def test_a_post_round_trips_and_its_contact_lives_apart(posts: PostStore, table: Table) -> None:
    posts.create_post(POST, CONTACT)
    assert posts.get_post("P1") == POST
    assert posts.get_contact("P1") == CONTACT
    raw = table.client.get_item(
        TableName=table.table_name, Key={"pk": {"S": "POST#P1"}, "sk": {"S": "POST"}}
    )["Item"]
    assert "famille@example.org" not in str(raw)


def test_a_post_is_never_overwritten(posts: PostStore) -> None:
    posts.create_post(POST, CONTACT)
    with pytest.raises(ConcurrentChange):
        posts.create_post(replace(POST, title="Autre titre"), Contact("x@example.org"))
    assert posts.get_post("P1") == POST
    assert posts.get_contact("P1") == CONTACT


def test_a_transition_is_one_conditional_write_on_status_and_version(posts: PostStore) -> None:
    posts.create_post(POST, CONTACT)
    approved = posts.transition(POST, PostStatus.APPROVED, at=NOW, by="alice@mod.example")
    assert (approved.status, approved.version, approved.decided_by, approved.decided_at) == (
        PostStatus.APPROVED,
        2,
        "alice@mod.example",
        NOW,
    )
    # the same transition again (a second click, a replay) loses and reports the current post
    with pytest.raises(WrongPostStatus) as exc:
        posts.transition(POST, PostStatus.REJECTED, at=NOW, by="bob@mod.example")
    assert exc.value.post == approved
    assert posts.get_post("P1") == approved


def test_withdrawal_keeps_the_moderation_decision(posts: PostStore) -> None:
    posts.create_post(POST, CONTACT)
    approved = posts.transition(POST, PostStatus.APPROVED, at=NOW, by="alice@mod.example")
    later = NOW + timedelta(days=2)
    withdrawn = posts.transition(approved, PostStatus.WITHDRAWN, at=later, by="poster")
    assert (withdrawn.decided_by, withdrawn.decided_at, withdrawn.ended_at) == (
        "alice@mod.example",
        NOW,
        later,
    )


def test_a_transition_of_a_missing_post_says_so(posts: PostStore) -> None:
    with pytest.raises(PostNotFound):
        posts.transition(POST, PostStatus.APPROVED, at=NOW, by="alice@mod.example")


def test_recent_texts_of_a_poster_exclude_the_post_itself_and_older_ones(posts: PostStore) -> None:
    old = replace(POST, id="P0", title="Ancien", created_at=NOW - timedelta(days=10))
    sibling = replace(POST, id="P2", title="Repas chauds bis", created_at=NOW - timedelta(days=1))
    stranger = replace(POST, id="P3", title="Autre personne")
    posts.create_post(old, CONTACT)
    posts.create_post(sibling, Contact("FAMILLE@example.org"))  # same address, other case
    posts.create_post(stranger, Contact("autre@example.org"))
    posts.create_post(POST, CONTACT)
    texts = posts.recent_texts(
        "famille@example.org", since=NOW - timedelta(days=7), exclude_post="P1"
    )
    assert texts == ["Repas chauds bis\nPour quatre personnes."]


def test_an_approved_post_enters_the_cell_index_and_leaves_it_when_withdrawn(
    posts: PostStore, table: Table
) -> None:
    posts.create_post(POST, CONTACT)

    def cell_of(post_id: str) -> dict[str, Any] | None:
        item = table.client.get_item(
            TableName=table.table_name, Key={"pk": {"S": f"POST#{post_id}"}, "sk": {"S": "POST"}}
        )["Item"]
        keys = ("gsi3pk", "gsi3sk", "gsi4pk", "gsi4sk")
        return {key: item[key]["S"] for key in keys if key in item} or None

    assert cell_of("P1") is None  # pending: not public
    approved = posts.transition(POST, PostStatus.APPROVED, at=NOW, by="alice@mod.example")
    # by activation, kind and category (by_cell), by activation and kind (by_place),
    # sorted by place (the geohash of 12 characters), then oldest first
    place = geohash(POST.lat, POST.lon, 12)
    assert cell_of("P1") == {
        "gsi3pk": f"NEAR#A1#need#{POST.category.value}",
        "gsi3sk": f"{place}#2026-11-26T10:00:00Z#P1",
        "gsi4pk": "NEAR#A1#need",
        "gsi4sk": f"{place}#2026-11-26T10:00:00Z#P1",
    }
    posts.transition(approved, PostStatus.WITHDRAWN, at=NOW, by="poster")
    assert cell_of("P1") is None


def test_a_transition_answers_the_post_as_the_table_holds_it_without_reading_it_back(
    posts: PostStore, table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a post with its contact, whose every read of the table is told
    posts.create_post(POST, CONTACT)
    reads: list[str] = []
    get = table.get

    def told(key: dict[str, Any], **options: Any) -> Any:
        reads.append(str(key["pk"]).split("#")[0])
        return get(key, **options)

    monkeypatch.setattr(table, "get", told)
    current = posts.get_post("P1")
    assert current is not None
    # When it is approved, then withdrawn (ended: its text masked), each in a transaction
    # with its contact's lifetime, a few seconds and microseconds apart
    at = NOW + timedelta(seconds=3, microseconds=400)
    steps = [
        (PostStatus.APPROVED, at, "moderation@example.org", None),
        (PostStatus.WITHDRAWN, at + timedelta(hours=2), "poster", "Trouvé ailleurs"),
    ]
    for status, moment, by, reason in steps:
        reads.clear()
        answered = posts.transition(current, status, at=moment, by=by, reason=reason)
        # Then each reads the contact alone (its lifetime), never the post it wrote
        assert reads == ["CONTACT"]
        # and answers the post exactly as the table now holds it
        assert answered == posts.get_post("P1")
        current = answered
