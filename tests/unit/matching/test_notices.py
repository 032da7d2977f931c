"""Match notices against moto: grouped, capped at one email per person and hour, once."""

from __future__ import annotations

import functools
import html
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from entraide.adapters.mail import EmailMessage, Mailer, Sender
from entraide.adapters.table import Table
from entraide.effects.ledger import Ledger
from entraide.effects.ledger_store import DynamoDBLedgerStore
from entraide.intake.post_store import PostStore
from entraide.kernel.model import Category, Contact, Kind, Post, PostStatus
from entraide.kernel.times import utcnow
from entraide.matching.contact_links import ContactLinks
from entraide.matching.counterparts import Match
from entraide.matching.notice_store import DUE_PARTITION, NoticeStore
from entraide.matching.notices import NoticeBook, NoticeLine
from entraide.moderation.signing import LinkSigner
from entraide.web.match_emails import format_distance, match_notice, notice_subject
from tests.factories import (
    BASE,
    LINK_KEY,
    NOW,
    PRIVACY_URL,
    PSEUDONYMS,
    RETENTION,
    Clock,
    make_post,
    pseudonym_of,
)
from tests.unit.conftest import UnderPolicy

NEEDY = "famille.martin@example.org"
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class FakeMatch:
    """The shape of entraide.matching.counterparts.Match."""

    need: Post
    offer: Post
    distance_km: float
    new: bool = True


class RecordingMailer:
    """Records messages; ``during_send`` runs inside send (another flusher, a failure)."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self.during_send: Callable[[EmailMessage], None] | None = None

    def send(self, message: EmailMessage) -> str:
        if self.during_send is not None:
            hook, self.during_send = self.during_send, None
            hook(message)
        self.sent.append(message)
        return f"msg-{len(self.sent)}"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.sent if address in message.to]


_ids = itertools.count(1)


def approved(kind: Kind, **changes: Any) -> Post:
    number = next(_ids)
    defaults: dict[str, Any] = {
        "id": f"{'N' if kind is Kind.NEED else 'O'}{number:04d}",
        "kind": kind,
        "status": PostStatus.APPROVED,
        "version": 2,
        "decided_at": NOW,
        "decided_by": "alice@moderation.example",
        "title": f"{'Besoin' if kind is Kind.NEED else 'Offre'} numéro {number}",
    }
    defaults.update(changes)
    return make_post(**defaults)


def add(posts: PostStore, post: Post, email: str) -> Post:
    posts.create_post(post, Contact(email))
    return post


@pytest.fixture
def mailer() -> RecordingMailer:
    return RecordingMailer()


@pytest.fixture
def book(table: Table, mailer: RecordingMailer, links: ContactLinks, clock: Clock) -> NoticeBook:
    return book_for(table, mailer, links, now=clock)


def book_for(table: Table, mailer: Sender, links: ContactLinks, **options: Any) -> NoticeBook:
    """The notice book as wiring builds it, over ``table`` (its ledger on its clock)."""
    compose = functools.partial(match_notice, links=links, privacy_url=PRIVACY_URL)
    retry_base = options.pop("retry_base", timedelta(minutes=1))
    ledger = Ledger(
        DynamoDBLedgerStore(table),
        clock=options.get("now", utcnow),
        pause=lambda seconds: None,
        retry_base=retry_base,
    )
    return NoticeBook(
        NoticeStore(table),
        PostStore(table, pseudonyms=PSEUDONYMS, retention=RETENTION),
        mailer,
        compose,
        ledger=ledger,
        **options,
    )


def all_items(table: Table) -> list[dict[str, Any]]:
    pages = table.client.get_paginator("scan").paginate(TableName=table.table_name)
    return [item for page in pages for item in page["Items"]]


def notice_items(table: Table) -> list[dict[str, Any]]:
    return [
        item
        for item in all_items(table)
        if item["pk"]["S"].startswith("NOTICE") or item["pk"]["S"] == DUE_PARTITION
    ]


def need_and_offers(posts: PostStore, count: int) -> tuple[Post, list[Post]]:
    need = add(posts, approved(Kind.NEED, title="Besoin d'un toit"), NEEDY)
    offers = [
        add(
            posts,
            approved(Kind.OFFER, title=f"Chambre libre n°{n}", category=Category.HEBERGEMENT),
            f"aidant{n}@example.net",
        )
        for n in range(1, count + 1)
    ]
    return need, offers


# -- grouping and the hourly cap -----------------------------------------------------


def test_three_matches_in_ten_minutes_make_one_email_listing_three(
    posts: PostStore, book: NoticeBook, mailer: RecordingMailer, clock: Clock
) -> None:
    need, offers = need_and_offers(posts, 3)
    for offer, km in zip(offers, (3.2, 0.4, 14.6), strict=True):
        book.queue(FakeMatch(need, offer, km))
        clock.advance(minutes=5)

    assert book.flush(pseudonym_of(NEEDY)) == 1

    [email] = mailer.to(NEEDY)
    assert email.subject == "3 offres d'aide près de chez vous"
    assert email.tag == "match-notice"
    for offer in offers:
        assert offer.title in email.text
        assert html.escape(offer.title) in email.html
    assert "à 3,2\u00a0km" in email.text
    assert "à moins d'1\u00a0km" in email.text
    assert "à 15\u00a0km" in email.text
    assert "Hébergement" in email.text
    assert "Carcassonne" in email.text
    assert email.text.count("Contacter cette personne :") == 3
    contact_links = [url for label, url in email.links if label.startswith("Contacter")]
    assert len(contact_links) == 3
    for offer, url in zip(offers, contact_links, strict=True):
        assert url.startswith(f"{BASE}contact/{offer.id}?need={need.id}&token=")
        assert url in email.text
        assert html.escape(url) in email.html
    assert book.pending(pseudonym_of(NEEDY)) == []


def test_the_helper_is_told_of_the_needs_near_them_with_public_links(
    posts: PostStore, book: NoticeBook, mailer: RecordingMailer
) -> None:
    offer = add(posts, approved(Kind.OFFER, title="Camionnette"), "aidant@example.net")
    needs = [add(posts, approved(Kind.NEED), f"famille{n}@example.org") for n in range(2)]
    book.notify(FakeMatch(need, offer, 2.0) for need in needs)

    [email] = mailer.to("aidant@example.net")
    assert email.subject == "2 personnes ont besoin d'aide près de chez vous"
    for need in needs:
        assert f"{BASE}posts/{need.id}" in email.text
        assert need.title in email.text
    assert "contact/" not in email.text  # the helper does not get contact links
    assert "Près de votre offre « Camionnette »" in email.text


def test_a_fourth_match_twenty_minutes_later_waits_for_the_end_of_the_hour(
    posts: PostStore, table: Table, book: NoticeBook, mailer: RecordingMailer, clock: Clock
) -> None:
    need, offers = need_and_offers(posts, 4)
    for offer in offers[:3]:
        book.queue(FakeMatch(need, offer, 3.0))
        clock.advance(minutes=5)
    assert book.flush(pseudonym_of(NEEDY)) == 1
    sent_at = clock()

    clock.advance(minutes=20)
    book.notify([FakeMatch(need, offers[3], 5.5)])  # what geomatch calls
    assert len(mailer.to(NEEDY)) == 1  # capped: the fourth waits
    assert len(mailer.to("aidant4@example.net")) == 1  # the helper had no email yet

    clock.moment = sent_at + timedelta(minutes=59)
    book.flush()  # the scheduled step, too early
    assert len(mailer.to(NEEDY)) == 1

    clock.moment = sent_at + HOUR
    assert book.flush() == 1  # the scheduled step finds the recipient by the due index
    _, second = mailer.to(NEEDY)
    assert second.subject == "1 offre d'aide près de chez vous"
    assert offers[3].title in second.text
    assert all(offer.title not in second.text for offer in offers[:3])

    clock.advance(minutes=15)
    assert book.flush() == 0  # nothing left, the due index is empty again
    assert [i for i in notice_items(table) if i["pk"]["S"] == DUE_PARTITION] == []


class CountingWrites(Table):
    """The table, naming every write it is asked for (billed, whether its condition holds
    or not)."""

    def __init__(self, table: Table) -> None:
        super().__init__(table.table_name, client=table.client)
        self.writes: list[str] = []

    def write(self, write: Any, **options: Any) -> Any:
        self.writes.append(type(write).__name__)
        return super().write(write, **options)

    def transact(self, writes: Any) -> None:
        self.writes += [f"{type(write).__name__} in tx" for write in writes]
        super().transact(writes)

    def batch_delete(self, keys: Any, **options: Any) -> int:
        keys = list(keys)
        self.writes += ["Delete in batch"] * len(keys)
        return super().batch_delete(keys, **options)


def test_a_further_match_within_the_hour_is_flushed_without_a_write(
    posts: PostStore,
    table: Table,
    mailer: RecordingMailer,
    links: ContactLinks,
    clock: Clock,
    under_policy: UnderPolicy,
) -> None:
    # Given a person in need emailed of a first offer ten minutes ago
    counting = CountingWrites(table)
    book = book_for(counting, mailer, links, now=clock)
    need, offers = need_and_offers(posts, 2)
    book.notify([FakeMatch(need, offers[0], 3.0)])
    sent_at = clock()
    clock.advance(minutes=10)
    # When a second offer is matched with them (its transaction queues the notice and the
    # due hint at the end of the hour) and geomatch flushes them under its role
    book.queue(FakeMatch(need, offers[1], 2.0))
    counting.writes.clear()
    with under_policy("GeomatchFunction"):
        flushed = book.flush(pseudonym_of(NEEDY))
    # Then nothing is sent and nothing written: the slot is read as taken (no claim that
    # fails, billed all the same), the hour's due hint is read, not written again
    assert flushed == 0
    assert counting.writes == []
    assert pseudonym_of(NEEDY) in book.due_recipients(sent_at + HOUR)
    # and at the end of the hour the scheduled flush tells them of the second offer (and
    # the second helper of their need)
    clock.moment = sent_at + HOUR
    assert book.flush() == 2
    _, second = mailer.to(NEEDY)
    assert offers[1].title in second.text
    assert offers[0].title not in second.text
    assert book.due_recipients(clock() + 2 * HOUR) == {}


def test_with_a_grouping_delay_matches_arriving_together_share_the_first_email(
    posts: PostStore, table: Table, mailer: RecordingMailer, links: ContactLinks, clock: Clock
) -> None:
    book = book_for(table, mailer, links, now=clock, grouping_delay=timedelta(minutes=15))
    need, offers = need_and_offers(posts, 3)
    for offer in offers:
        book.notify([FakeMatch(need, offer, 1.5)])  # geomatch flushes after each match
        clock.advance(minutes=5)
    assert mailer.to(NEEDY) == []

    clock.moment = NOW + timedelta(minutes=15)
    assert book.flush() == 2  # the needy person, and the first helper
    [email] = mailer.to(NEEDY)
    assert email.subject == "3 offres d'aide près de chez vous"
    clock.moment = NOW + timedelta(minutes=25)
    assert book.flush() == 2  # the helpers matched at +5 and +10 min
    assert len(mailer.sent) == 4


def test_needs_and_offers_of_one_person_come_in_one_email(
    posts: PostStore, book: NoticeBook, mailer: RecordingMailer
) -> None:
    both = "les.deux@example.org"
    own_need = add(posts, approved(Kind.NEED, title="Besoin de bottes"), both)
    own_offer = add(posts, approved(Kind.OFFER, title="Je prête une pompe"), both)
    other_offer = add(posts, approved(Kind.OFFER), "aidant@example.net")
    other_need = add(posts, approved(Kind.NEED), "voisin@example.org")
    book.queue(FakeMatch(own_need, other_offer, 1.0))
    book.queue(FakeMatch(other_need, own_offer, 2.0))
    assert book.flush(pseudonym_of(both)) == 1
    [email] = mailer.to(both)
    assert email.subject == "1 offre d'aide et 1 personne qui a besoin d'aide près de chez vous"
    assert "Pour votre annonce « Besoin de bottes »" in email.text
    assert "Près de votre offre « Je prête une pompe »" in email.text


def test_the_matches_of_geomatch_are_notified_as_they_come(
    posts: PostStore, book: NoticeBook, mailer: RecordingMailer
) -> None:
    need, [offer] = need_and_offers(posts, 1)
    assert book.notify([Match(need=need, offer=offer, distance_km=3.2, new=True)]) == 2
    assert [message.to for message in mailer.sent] == [(NEEDY,), ("aidant1@example.net",)]


# -- once only -----------------------------------------------------------------------


def test_a_replayed_queue_adds_nothing(
    posts: PostStore, table: Table, book: NoticeBook, mailer: RecordingMailer, clock: Clock
) -> None:
    need, [offer] = need_and_offers(posts, 1)
    match = FakeMatch(need, offer, 3.0)
    book.queue(match)
    before = notice_items(table)
    assert len(book.pending(pseudonym_of(NEEDY))) == 1

    clock.advance(minutes=3)
    book.queue(match)  # a redelivered stream record
    assert notice_items(table) == before

    assert book.flush() == 2  # the person in need and the helper
    clock.advance(hours=2)
    book.queue(match)  # replayed after the emails went: still nothing new
    assert book.pending(pseudonym_of(NEEDY)) == []
    assert book.flush() == 0
    assert len(mailer.sent) == 2


def test_two_concurrent_flushes_send_one_email(
    posts: PostStore,
    table: Table,
    book: NoticeBook,
    mailer: RecordingMailer,
    links: ContactLinks,
    clock: Clock,
) -> None:
    need, offers = need_and_offers(posts, 2)
    for offer in offers:
        book.queue(FakeMatch(need, offer, 3.0))
    other = book_for(table, mailer, links, now=clock)
    results: list[int] = []
    # The second flusher runs while the first one holds the slot and is sending.
    mailer.during_send = lambda _: results.append(other.flush(pseudonym_of(NEEDY)))

    assert book.flush(pseudonym_of(NEEDY)) == 1
    assert results == [0]
    assert len(mailer.to(NEEDY)) == 1
    assert other.flush(pseudonym_of(NEEDY)) == 0  # and after it: nothing pending
    assert len(mailer.to(NEEDY)) == 1


def test_a_flusher_that_read_before_the_other_sent_cannot_claim_the_slot(
    posts: PostStore, table: Table, mailer: RecordingMailer, links: ContactLinks, clock: Clock
) -> None:
    need, offers = need_and_offers(posts, 1)
    first = book_for(table, mailer, links, now=clock)
    second = book_for(table, mailer, links, now=clock)
    first.queue(FakeMatch(need, offers[0], 3.0))
    due = second.due_recipients()  # the scheduled step reads the due index...
    assert pseudonym_of(NEEDY) in due
    assert first.flush(pseudonym_of(NEEDY)) == 1  # ...geomatch flushes meanwhile...
    late = add(posts, approved(Kind.OFFER), "tardif@example.net")
    first.queue(FakeMatch(need, late, 1.0))
    # ...and the scheduled step then sends nothing to the person already written to.
    second._flush_many({pseudonym_of(NEEDY): due[pseudonym_of(NEEDY)]})
    assert len(mailer.to(NEEDY)) == 1
    [waiting] = first.pending(pseudonym_of(NEEDY))
    assert waiting.offer_id == late.id


def throttled(_: EmailMessage) -> None:
    raise ClientError({"Error": {"Code": "TooManyRequestsException"}}, "SendEmail")


def test_a_send_refused_by_ses_keeps_the_notices_and_goes_once_ses_takes_it(
    posts: PostStore, book: NoticeBook, mailer: RecordingMailer, clock: Clock
) -> None:
    # Given two notices for a person, and SES refusing the first send (nothing went)
    need, offers = need_and_offers(posts, 2)
    for offer in offers:
        book.queue(FakeMatch(need, offer, 3.0))
    mailer.during_send = throttled
    # When the flush runs
    assert book.flush(pseudonym_of(NEEDY)) == 0
    # Then the notices wait, with a due hint at the ledger's retry
    assert len(book.pending(pseudonym_of(NEEDY))) == 2
    assert book.due_recipients(clock() + timedelta(minutes=2)) != {}
    # When the scheduled flush comes after the retry's wait, then again
    clock.advance(minutes=2)
    assert book.flush() == 3  # the person, and the two helpers not flushed yet
    clock.advance(hours=2)
    assert book.flush() == 0
    # Then one email told both, and nothing is left
    [email] = mailer.to(NEEDY)
    assert email.subject == "2 offres d'aide près de chez vous"
    assert book.pending(pseudonym_of(NEEDY)) == []


def test_a_send_whose_outcome_is_unknown_goes_again_only_after_its_claim(
    posts: PostStore, book: NoticeBook, mailer: RecordingMailer, clock: Clock
) -> None:
    # Given a send that may have gone (a timeout reading SES's answer)
    need, [offer] = need_and_offers(posts, 1)
    book.queue(FakeMatch(need, offer, 3.0))

    def lost(message: EmailMessage) -> None:
        mailer.sent.append(message)  # it went...
        raise ReadTimeoutError(endpoint_url="https://email.eu-west-3.amazonaws.com")

    mailer.during_send = lost
    book.flush(pseudonym_of(NEEDY))
    # When the scheduled flush runs while the claim's lease could still run: nothing again
    clock.advance(seconds=10)
    book.flush()
    assert len(mailer.to(NEEDY)) == 1
    # When it runs after the lease: the email goes again (the duplicate a lost answer makes)
    clock.advance(minutes=1)
    book.flush()
    assert len(mailer.to(NEEDY)) == 2
    clock.advance(hours=2)
    assert book.flush() == 0


def test_a_retry_due_within_the_second_of_its_hint_keeps_the_recipient_due(
    table: Table, posts: PostStore, mailer: RecordingMailer, links: ContactLinks, clock: Clock
) -> None:
    # Given a ledger that tries a refused send again within the second (a due hint's key
    # is to the second), and a match whose notices are due now
    book = book_for(table, mailer, links, now=clock, retry_base=timedelta(milliseconds=100))
    need, [offer] = need_and_offers(posts, 1)
    book.queue(FakeMatch(need, offer, 3.0))
    # When the scheduled flush runs and SES refuses the first email
    mailer.during_send = throttled
    assert book.flush() == 1
    # Then the refused recipient is still due: the hint written for the retry is the one
    # the flush was handling, and it was kept, not deleted after being written again
    assert len(book.due_recipients(clock() + timedelta(seconds=1))) == 1
    clock.advance(seconds=1)
    assert book.flush() == 1
    assert len(mailer.sent) == 2
    assert book.due_recipients(clock() + 2 * HOUR) == {}


def test_the_scheduled_flush_goes_on_after_a_recipient_fails(
    posts: PostStore, book: NoticeBook, mailer: RecordingMailer, clock: Clock
) -> None:
    need, [offer] = need_and_offers(posts, 1)
    book.queue(FakeMatch(need, offer, 3.0))
    mailer.during_send = throttled
    assert book.flush() == 1  # one of the two recipients failed, the other was sent
    clock.advance(minutes=2)
    assert book.flush() == 1  # the failed one is retried (its due hint is still there)
    assert len(mailer.sent) == 2


# -- stale notices and privacy ---------------------------------------------------------


def test_a_withdrawn_offer_is_not_told_and_does_not_use_the_slot(
    posts: PostStore, book: NoticeBook, mailer: RecordingMailer, clock: Clock
) -> None:
    need, [offer] = need_and_offers(posts, 1)
    book.queue(FakeMatch(need, offer, 3.0))
    posts.transition(offer, PostStatus.WITHDRAWN, at=clock(), by="poster")

    assert book.flush(pseudonym_of(NEEDY)) == 0
    assert mailer.to(NEEDY) == []
    assert book.pending(pseudonym_of(NEEDY)) == []
    assert book.last_sent(pseudonym_of(NEEDY)) is None  # the next match goes at once

    fresh = add(posts, approved(Kind.OFFER), "nouvel.aidant@example.net")
    book.notify([FakeMatch(need, fresh, 1.0)])
    assert len(mailer.to(NEEDY)) == 1


def test_a_flush_without_time_left_leaves_every_recipient_to_the_next(
    posts: PostStore, table: Table, book: NoticeBook, mailer: RecordingMailer, clock: Clock
) -> None:
    # Given a person in need told of nothing yet, and many runs of the scheduled flush with
    # less time left than an email needs (its sweep took the rest)
    need, [offer] = need_and_offers(posts, 1)
    book.queue(FakeMatch(need, offer, 3.0))
    short = clock() + book.ledger.effect_time / 2
    # When they flush, more of them than the ledger's attempts at an email
    for _ in range(book.ledger.max_attempts + 2):
        assert book.flush(deadline=short) == 0
        clock.advance(minutes=1)
        short = clock() + book.ledger.effect_time / 2
    # Then none claimed the hour's slot or started the email, and the next run with time
    # sends it once
    assert mailer.sent == []
    assert book.last_sent(pseudonym_of(NEEDY)) is None
    assert not [item for item in all_items(table) if item["pk"]["S"].startswith("EFFECT#notice")]
    assert book.flush(deadline=clock() + timedelta(seconds=30)) == 2
    assert len(mailer.to(NEEDY)) == 1


class MootLikeIds(RecordingMailer):
    """SES's message ids are opaque (moto's are random lowercase letters): this one begins
    as the result of an email with nothing to tell does."""

    def send(self, message: EmailMessage) -> str:
        return "mootzqfhwxyabcde-" + super().send(message)


def test_an_email_whose_message_id_begins_like_moot_keeps_its_slot(
    posts: PostStore, table: Table, links: ContactLinks, clock: Clock
) -> None:
    # Given SES answers a message id that begins with "moot"
    mailer = MootLikeIds()
    book = book_for(table, mailer, links, now=clock)
    need, [offer] = need_and_offers(posts, 1)
    # When the person in need is told of an offer
    book.notify([FakeMatch(need, offer, 3.0)])
    # Then it counts as sent: the hour's slot is used, a further match waits for it
    assert len(mailer.to(NEEDY)) == 1
    assert book.last_sent(pseudonym_of(NEEDY)) == clock()
    book.notify([FakeMatch(need, add(posts, approved(Kind.OFFER), "autre@example.net"), 1.0)])
    assert len(mailer.to(NEEDY)) == 1


def test_a_match_between_two_posts_of_one_person_tells_nobody(
    posts: PostStore, table: Table, book: NoticeBook, mailer: RecordingMailer
) -> None:
    need = add(posts, approved(Kind.NEED), NEEDY)
    offer = add(posts, approved(Kind.OFFER), NEEDY.upper())
    book.notify([FakeMatch(need, offer, 0.0)])
    assert mailer.sent == []
    assert notice_items(table) == []


def test_no_address_in_any_notice_key_or_item(
    posts: PostStore, table: Table, book: NoticeBook
) -> None:
    need, offers = need_and_offers(posts, 2)
    for offer in offers:
        book.queue(FakeMatch(need, offer, 3.0))
    book.flush(pseudonym_of(NEEDY))
    book.queue(FakeMatch(need, add(posts, approved(Kind.OFFER), "zorro.aidant@example.net"), 1.0))
    items = str(notice_items(table)).lower()
    assert notice_items(table)
    for address in (
        NEEDY,
        "aidant1@example.net",
        "aidant2@example.net",
        "zorro.aidant@example.net",
    ):
        assert address.lower() not in items
        assert address.split("@")[0].lower() not in items


@st.composite
def distinct_addresses(draw: st.DrawFn) -> tuple[str, str]:
    needy = draw(st.emails())
    helper = draw(st.emails().filter(lambda a: a.lower() != needy.lower()))
    return needy, helper


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(addresses=distinct_addresses(), km=st.floats(0, 200, allow_nan=False))
def test_the_helpers_address_never_reaches_the_person_in_need(
    posts: PostStore,
    book: NoticeBook,
    mailer: RecordingMailer,
    clock: Clock,
    addresses: tuple[str, str],
    km: float,
) -> None:
    needy, helper = addresses
    clock.advance(hours=2)  # every example starts with free slots
    mailer.sent.clear()
    need = add(posts, approved(Kind.NEED), needy)
    offer = add(posts, approved(Kind.OFFER), helper)
    book.notify([FakeMatch(need, offer, km)])

    [to_needy] = [m for m in mailer.sent if m.to == (needy,)]
    [to_helper] = [m for m in mailer.sent if m.to == (helper,)]
    for message, hidden in ((to_needy, helper), (to_helper, needy)):
        parts = [message.subject, message.text, html.unescape(message.html), str(message.links)]
        for part in parts:
            assert hidden.lower() not in part.lower()


# -- the email itself ------------------------------------------------------------------


def test_typed_texts_are_escaped_in_html_and_verbatim_in_text(links: ContactLinks) -> None:
    need = approved(Kind.NEED, title="Toit <b>urgent</b> & chaud")
    offer = approved(Kind.OFFER, title='<script>alert("x")</script>', commune="Trèbes & Cie")
    message = match_notice(
        to=NEEDY,
        offers=[NoticeLine(need, offer, 3.25)],
        needs=[],
        links=links,
        privacy_url=PRIVACY_URL,
    )
    assert "<script>" not in message.html
    assert "&lt;script&gt;" in message.html
    assert "Trèbes &amp; Cie" in message.html
    assert "Toit &lt;b&gt;urgent&lt;/b&gt; &amp; chaud" in message.html
    assert '<script>alert("x")</script>' in message.text
    assert "« Toit <b>urgent</b> & chaud »" in message.text


def test_a_notice_needs_one_match() -> None:
    with pytest.raises(ValueError, match="one match"):
        match_notice(
            to=NEEDY,
            offers=[],
            needs=[],
            links=ContactLinks(signer=lambda: LinkSigner(LINK_KEY), public_base_url=BASE),
            privacy_url=PRIVACY_URL,
        )


@pytest.mark.parametrize(
    ("km", "text"),
    [
        (0.0, "à moins d'1\u00a0km"),
        (1.0, "à 1,0\u00a0km"),
        (3.24, "à 3,2\u00a0km"),
        (12.6, "à 13\u00a0km"),
    ],
)
def test_distances_read_the_french_way(km: float, text: str) -> None:
    assert format_distance(km) == text


@pytest.mark.parametrize(
    ("offers", "needs", "subject"),
    [
        (1, 0, "1 offre d'aide près de chez vous"),
        (3, 0, "3 offres d'aide près de chez vous"),
        (0, 1, "1 personne a besoin d'aide près de chez vous"),
        (0, 4, "4 personnes ont besoin d'aide près de chez vous"),
        (2, 3, "2 offres d'aide et 3 personnes qui ont besoin d'aide près de chez vous"),
    ],
)
def test_subjects(offers: int, needs: int, subject: str) -> None:
    assert notice_subject(offers, needs) == subject


def test_a_notice_goes_through_ses(
    posts: PostStore, table: Table, links: ContactLinks, clock: Clock
) -> None:
    """The same flush with the real adapter, against moto's SES."""
    sender = "alertes@shareentraide.example"
    client = boto3.client("sesv2")
    client.create_email_identity(EmailIdentity=sender)
    book = book_for(table, Mailer(sender, client=client), links, now=clock)
    need, [offer] = need_and_offers(posts, 1)
    book.notify([FakeMatch(need, offer, 3.2)])
    region = client.meta.region_name
    raw = [m.raw_data for m in ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages]
    assert len(raw) == 2
    assert all("aidant1@example.net" not in data for data in raw if NEEDY in data)


def test_under_geomatchs_role_a_sent_notice_is_deleted_and_never_sent_again(
    posts: PostStore,
    book: NoticeBook,
    mailer: RecordingMailer,
    clock: Clock,
    under_policy: UnderPolicy,
) -> None:
    # Given a match queued for a person in need and a helper
    need, [offer] = need_and_offers(posts, 1)
    book.queue(FakeMatch(need, offer, 3.0))
    with under_policy("GeomatchFunction"):
        # When geomatch's flush runs under its own role, then in the next hourly slots
        flushed = [book.flush()]
        for _ in range(2):
            clock.advance(hours=1)
            flushed.append(book.flush())
        # Then each person got one email, and the sent notices are gone (in AWS a refused
        # BatchWriteItem left them due: the same email went again every hour for 30 days)
        assert len(mailer.sent) == 2
        assert book.pending(pseudonym_of(NEEDY)) == []
        assert flushed == [2, 0, 0]
