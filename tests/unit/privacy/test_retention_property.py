"""Once the retention has run, nothing of a person is left in the table: a property test.

Random people post random posts (their address or their number sometimes typed into the
text), and each post goes one of the ways a post goes: refused, withdrawn while waiting,
withdrawn once public (after match notices were queued for its author), expired by its
activation's closing (waiting or public), erased on its author's request, or left waiting
too long. The platform's own code moves them (the post store, the daily sweep, the
activation's closing, the erasure, the notice store), on the table of template.yaml in
moto, with a clock the test moves. Then the clock jumps past every lifetime, DynamoDB's
TTL runs (the local stack's, entraide_local.ttl), and no item of the table holds the
address, the number, or any pseudonym of the address.

Scope: the items the stores write (posts, contacts, posters' history and "links sent"
slots, match notices and their guards, slots and due hints); the handlers' own records
(the relay's claims, idempotency records) hold no address and are not written here.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from entraide.activation.activation_store import ActivationStore
from entraide.activation.events import finish_expiries
from entraide.adapters.table import Table
from entraide.intake.post_store import PostStore
from entraide.kernel.errors import WrongPostStatus
from entraide.kernel.model import Contact, Kind, Post, PostStatus
from entraide.matching.notice_store import NoticeStore, Role
from entraide.privacy.erasure import Erasure
from entraide.privacy.retention import expire_waiting_posts
from entraide_local.ttl import expire_items
from tests.factories import NOW, PSEUDONYMS, RETENTION, make_activation, make_post

_numbers = itertools.count()


class Path(StrEnum):
    REFUSED = "refused"
    WITHDRAWN_WAITING = "withdrawn while waiting"
    WITHDRAWN_PUBLIC = "withdrawn once public"
    EXPIRED_WAITING = "expired by the closing, waiting"
    EXPIRED_PUBLIC = "expired by the closing, public"
    ERASED = "erased on request"
    WAITED_TOO_LONG = "waited too long"


@dataclass(frozen=True)
class Person:
    email: str
    phone: str | None


@dataclass(frozen=True)
class Posting:
    author: int  # index of the person
    path: Path
    day: int  # days after the activation opened
    types_contact: bool  # the author typed their address and number into the text


LOCALS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=12)
PHONES = st.builds(
    lambda first, rest, sep: "0" + str(first) + "".join(sep + f"{n:02d}" for n in rest),
    st.integers(6, 7),
    st.lists(st.integers(0, 99), min_size=4, max_size=4),
    st.sampled_from(["", " ", ".", "-"]),
)
PEOPLE = st.lists(
    st.tuples(LOCALS, st.sampled_from(["example.org", "Exemple.FR", "bücher.de"]), PHONES),
    min_size=1,
    max_size=3,
)
POSTINGS = st.lists(
    st.builds(
        Posting,
        author=st.integers(0, 2),
        path=st.sampled_from(list(Path)),
        day=st.integers(0, 20),
        types_contact=st.booleans(),
    ),
    min_size=1,
    max_size=6,
)


def people_of(drawn: list[tuple[str, str, str]]) -> list[Person]:
    number = next(_numbers)  # one table for every example: each its own people
    return [
        Person(f"{local}.{number}@{domain}", phone if index % 2 == 0 else None)
        for index, (local, domain, phone) in enumerate(drawn)
    ]


def text_of(posting: Posting, person: Person) -> str:
    if not posting.types_contact:
        return "Maison inondée, deux adultes."
    return f"Écrivez-moi à {person.email} ou appelez le {person.phone or '07 11 22 33 44'}."


class Platform:
    """The platform's code over one table, at the test's clock."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.posts = PostStore(table, pseudonyms=PSEUDONYMS, retention=RETENTION)
        self.notices = NoticeStore(table, memory=RETENTION.after_end)
        self.activations = ActivationStore(table)
        self.retracted: list[str] = []

    def request(self, post_ids: Any) -> None:  # the retractions' queue
        self.retracted += list(post_ids)

    def erase(self, person: Person, at: datetime) -> None:
        erasure = Erasure(self.posts, self.notices, self, now=lambda: at)
        erasure.erase(PSEUDONYMS.candidates(person.email))

    def approve(self, post: Post, at: datetime, author: Person) -> Post:
        approved = self.posts.transition(post, PostStatus.APPROVED, at=at, by="modo@example.net")
        # a match found for it: notices queued for its author, their slot and "links sent"
        pseudonym = PSEUDONYMS.of(author.email)
        self.notices.queue(
            pseudonym,
            Role.NEED if post.kind is Kind.NEED else Role.OFFER,
            need_id=post.id,
            offer_id=f"O-{post.id}",
            distance_km=2.5,
            now=at,
            due_at=at + timedelta(hours=1),
        )
        self.notices.claim_slot(pseudonym, at, timedelta(hours=1))
        self.posts.claim_links_slot(pseudonym, at, timedelta(minutes=15))
        return approved


def everything(table: Table) -> str:
    pages = table.client.get_paginator("scan").paginate(TableName=table.table_name)
    return json.dumps([item for page in pages for item in page["Items"]], ensure_ascii=False)


def traces_of(person: Person) -> list[str]:
    traces = [person.email, person.email.lower(), *PSEUDONYMS.candidates(person.email)]
    return traces + ([person.phone] if person.phone else [])


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=PEOPLE, postings=POSTINGS)
def test_once_the_retention_has_run_no_item_holds_an_address_a_number_or_a_pseudonym(
    table: Table, drawn: list[tuple[str, str, str]], postings: list[Posting]
) -> None:
    # Given people, an activation, and their posts, each going its way
    people = people_of(drawn)
    platform = Platform(table)
    number = next(_numbers)
    activation = make_activation(id=f"A{number}", opened_at=NOW)
    platform.activations.create_activation(activation)
    created: list[tuple[Post, Posting, Person]] = []
    for index, posting in enumerate(postings):
        person = people[posting.author % len(people)]
        post = make_post(
            id=f"P{number}-{index}",
            activation_id=activation.id,
            kind=Kind.NEED if index % 2 else Kind.OFFER,
            created_at=NOW + timedelta(days=posting.day),
            description=text_of(posting, person),
        )
        platform.posts.create_post(post, Contact(person.email, person.phone))
        created.append((post, posting, person))
    closing = NOW + timedelta(days=25)
    for post, posting, person in created:
        decided = post.created_at + timedelta(hours=5)
        if posting.path is Path.REFUSED:
            platform.posts.transition(post, PostStatus.REJECTED, at=decided, by="modo@example.net")
        elif posting.path is Path.WITHDRAWN_WAITING:
            platform.posts.transition(post, PostStatus.WITHDRAWN, at=decided, by="poster")
        elif posting.path in (Path.WITHDRAWN_PUBLIC, Path.EXPIRED_PUBLIC, Path.ERASED):
            approved = platform.approve(post, decided, person)
            if posting.path is Path.WITHDRAWN_PUBLIC:
                later = decided + timedelta(days=1)
                platform.posts.transition(approved, PostStatus.WITHDRAWN, at=later, by="poster")
    # When the days go by: the daily sweep, the activation's closing, erasure requests
    for day in range(0, 26):
        moment = NOW + timedelta(days=day, hours=3)
        expire_waiting_posts(platform.posts, RETENTION, now=lambda moment=moment: moment)
    platform.activations.close_activation(activation.id, closing)
    finish_expiries(
        platform.posts, platform.activations, now=lambda: closing, time_left=lambda: 60.0
    )
    for _, posting, person in created:
        if posting.path is Path.ERASED:
            platform.erase(person, closing + timedelta(days=1))
    # ... and the retention runs: DynamoDB's TTL once every lifetime is over
    end = closing + RETENTION.after_end + RETENTION.pending_max + timedelta(days=3)
    expire_items(table.client, now=end)

    # Then no item holds the address, the number or a pseudonym of anybody
    left = everything(table)
    for person in people:
        for trace in traces_of(person):
            assert trace not in left, f"{trace!r} still in the table"
    # and every post is still there for the figures, ended, its text free of contact details
    for post, _, _ in created:
        kept = platform.posts.get_post(post.id)
        assert kept is not None
        assert kept.status in (PostStatus.REJECTED, PostStatus.WITHDRAWN, PostStatus.EXPIRED)


def test_a_public_post_keeps_its_authors_data_until_it_ends(table: Table) -> None:
    # Given a post approved and public for months, its activation still open
    platform = Platform(table)
    author = Person("longue.duree@example.org", "06 99 88 77 66")
    post = make_post(id="PUBLIC")
    platform.posts.create_post(post, Contact(author.email, author.phone))
    approved = platform.posts.transition(post, PostStatus.APPROVED, at=NOW, by="modo@example.net")
    # When TTL runs a year later
    expire_items(table.client, now=NOW + timedelta(days=365))
    # Then its author can still be told of a match
    assert platform.posts.get_contact("PUBLIC") == Contact(author.email, author.phone)
    # and once it ends, the data goes after the retention period, not before
    ended_at = NOW + timedelta(days=366)
    platform.posts.transition(approved, PostStatus.WITHDRAWN, at=ended_at, by="poster")
    expire_items(table.client, now=ended_at + RETENTION.after_end - timedelta(minutes=1))
    assert platform.posts.get_contact("PUBLIC") is not None
    expire_items(table.client, now=ended_at + RETENTION.after_end)
    assert platform.posts.get_contact("PUBLIC") is None
    assert author.email not in everything(table)


def test_a_waiting_post_ends_after_its_longest_wait_and_its_text_is_masked(
    table: Table,
) -> None:
    platform = Platform(table)
    post = make_post(id="WAITING", description="Appelez le 06 12 34 56 78 ou a@example.org")
    platform.posts.create_post(post, Contact("a@example.org", "06 12 34 56 78"))
    just_before = NOW + RETENTION.pending_max - timedelta(seconds=1)
    assert expire_waiting_posts(platform.posts, RETENTION, now=lambda: just_before) == []
    at = NOW + RETENTION.pending_max + timedelta(seconds=1)
    [expired] = expire_waiting_posts(platform.posts, RETENTION, now=lambda: at)
    assert expired.status is PostStatus.EXPIRED
    assert expired.description == "Appelez le [masqué] ou [masqué]"
    # a moderator's late decision can no longer publish it
    with pytest.raises(WrongPostStatus):
        platform.posts.transition(post, PostStatus.APPROVED, at=at, by="modo@example.net")
