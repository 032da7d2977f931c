"""Given-up effects made due again by an operator (``entraide effects rearm``): done once
by their owner, nothing else of the subject repeated, in both stores."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from botocore.exceptions import ReadTimeoutError

from entraide.effects.ledger import Ledger
from entraide.effects.memory import MemoryLedgerStore
from entraide.effects.model import Effect, LedgerStore, Listing, Policy, Record, State, Subject
from entraide.kernel.errors import ConcurrentChange
from tests.factories import Clock
from tests.unit.effects.test_ledger import DEADLINE, EMAILS, World, sweep, throttled

MAX_ATTEMPTS = 3


@pytest.fixture
def ledger(store: LedgerStore, clock: Clock) -> Ledger:
    return Ledger(store, clock=clock, max_attempts=MAX_ATTEMPTS, pause=lambda seconds: None)


def give_up(ledger: Ledger, clock: Clock, world: World, subject: Subject, name: str) -> None:
    """Run ``subject`` with its effect ``name`` refused at every attempt, until given up."""
    world.fail(name, *(throttled() for _ in range(MAX_ATTEMPTS)))
    ledger.run(subject, world.perform, deadline=clock() + DEADLINE)
    for _ in range(MAX_ATTEMPTS):
        clock.advance(hours=2)  # the owner's next look (a subject never listed has no sweep)
        ledger.resume(subject.key, lambda record: world.perform, deadline=clock() + DEADLINE)
    record = ledger.store.get(subject.key)
    assert record is not None
    assert record.entry(name).state is State.GIVEN_UP


def test_a_given_up_email_rearmed_is_sent_once_by_the_owners_sweep_and_nothing_else_again(
    ledger: Ledger, clock: Clock
) -> None:
    # Given a subject of three emails whose last one SES refused for its every attempt
    world = World()
    give_up(ledger, clock, world, EMAILS, "awaiting-notice")
    assert world.done == ["moderation-request:a", "moderation-request:b"]
    assert ledger.store.due("moderate", clock() + timedelta(days=1), limit=10) == []
    # When an operator makes it due again, SES taking it now
    rearmed = ledger.rearm(EMAILS.key)
    # Then it is due at once with a fresh count of attempts, listed for the sweep
    assert rearmed is not None
    assert rearmed.names == ("awaiting-notice",)
    entry = rearmed.record.entry("awaiting-notice")
    assert (entry.state, entry.attempts, entry.holder) == (State.DUE, 0, None)
    assert ledger.store.due("moderate", clock(), limit=10) == [EMAILS.key]
    # and the owner's sweep sends it once, the two others never again
    assert sweep(ledger, clock, world)["done"] == 1
    assert sweep(ledger, clock, world)["done"] == 0
    assert world.done == ["moderation-request:a", "moderation-request:b", "awaiting-notice"]
    record = ledger.store.get(EMAILS.key)
    assert record is not None
    assert [e.state for e in record.entries] == [State.DONE] * 3
    assert ledger.store.due("moderate", clock() + timedelta(days=1), limit=10) == []


def test_a_rearmed_email_that_fails_again_gets_its_whole_count_of_attempts(
    ledger: Ledger, clock: Clock
) -> None:
    # Given a given-up email made due again, and SES still refusing it
    world = World()
    give_up(ledger, clock, world, EMAILS, "awaiting-notice")
    ledger.rearm(EMAILS.key)
    world.fail("awaiting-notice", *(throttled() for _ in range(MAX_ATTEMPTS - 1)))
    # When the sweep tries it, as often as the ledger allows but once
    for _ in range(MAX_ATTEMPTS - 1):
        sweep(ledger, clock, world)
        clock.advance(hours=2)
    # Then it was not given up again before its last attempt, which SES took
    assert sweep(ledger, clock, world)["done"] == 1
    assert world.done.count("awaiting-notice") == 1


def test_a_subject_without_a_given_up_effect_is_left_as_it_is(ledger: Ledger, clock: Clock) -> None:
    # Given a subject whose three emails went, and one the ledger never held
    world = World()
    ledger.run(EMAILS, world.perform, deadline=clock() + DEADLINE)
    # When an operator makes them due again
    done = ledger.rearm(EMAILS.key)
    unknown = ledger.rearm("post:P9:v1")
    # Then nothing is, and the sweep sends nothing
    assert done is not None
    assert done.names == ()
    assert unknown is None
    assert sweep(ledger, clock, world)["done"] == 0
    assert len(world.done) == 3


def test_an_effect_in_doubt_is_made_due_again_only_when_the_operator_says_so(
    ledger: Ledger, clock: Clock
) -> None:
    # Given an at-most-once effect whose answer was lost: in doubt, never repeated
    world = World()
    once = Subject("post:P1:v1", "moderate", (Effect("post", Policy.AT_MOST_ONCE),))
    world.fail("post", ReadTimeoutError(endpoint_url="https://api.x.com"))
    ledger.run(once, world.perform, deadline=clock() + DEADLINE)
    clock.advance(minutes=5)
    assert sweep(ledger, clock, world)["in_doubt"] == 1
    # When an operator rearms the subject without saying it did not happen
    assert ledger.rearm(once.key) is not None
    # Then it stays in doubt; said, it is done once more
    assert sweep(ledger, clock, world)["done"] == 0
    rearmed = ledger.rearm(once.key, in_doubt=True)
    assert rearmed is not None
    assert rearmed.names == ("post",)
    assert sweep(ledger, clock, world)["done"] == 1
    assert world.done == ["post", "post"]


def test_a_subject_never_listed_is_rearmed_without_a_listing_and_its_owner_resumes_it(
    ledger: Ledger, clock: Clock
) -> None:
    # Given a notice email (its owner finds it again by itself) given up
    world = World()
    notice = Subject("notice:abc:1", "geomatch", (Effect("email"),), listing=Listing.NEVER)
    give_up(ledger, clock, world, notice, "email")
    # When an operator makes it due again
    ledger.rearm(notice.key)
    # Then the sweep's index does not hold it, and the owner's next look sends it once
    assert ledger.store.due("geomatch", clock() + timedelta(days=1), limit=10) == []
    report = ledger.resume(
        notice.key, lambda record: world.perform, deadline=clock() + DEADLINE
    ).as_dict()
    assert report["done"] == 1
    assert world.done == ["email"]


def test_a_rearm_whose_answer_was_lost_is_recognised_and_a_stale_one_refused(
    ledger: Ledger, clock: Clock
) -> None:
    # Given a given-up email, read by an operator's command
    world = World()
    give_up(ledger, clock, world, EMAILS, "awaiting-notice")
    seen = ledger.store.get(EMAILS.key)
    assert seen is not None
    # When the store's rearm is made twice from that read (its first answer lost)
    first = ledger.store.rearm(seen, ["awaiting-notice"], now=clock())
    again = ledger.store.rearm(seen, ["awaiting-notice"], now=clock())
    # Then the second recognises it, and the effect is counted open once
    assert first is not None
    assert again is not None
    assert again.entry("awaiting-notice").state is State.DUE
    assert again.open_count == 1
    # When the sweep takes it up, a rearm from the old read changes nothing
    sweep(ledger, clock, world)
    assert ledger.store.rearm(seen, ["awaiting-notice"], now=clock()) is None
    record = ledger.store.get(EMAILS.key)
    assert record is not None
    assert record.entry("awaiting-notice").state is State.DONE


def test_a_rearm_refuses_an_effect_that_is_not_given_up_or_in_doubt(
    ledger: Ledger, clock: Clock
) -> None:
    world = World()
    ledger.run(EMAILS, world.perform, deadline=clock() + DEADLINE)
    seen = ledger.store.get(EMAILS.key)
    assert seen is not None
    with pytest.raises(ValueError, match="ended effect"):
        ledger.store.rearm(seen, ["awaiting-notice"], now=clock())


def test_a_subject_that_keeps_changing_under_the_rearm_says_so(clock: Clock) -> None:
    # Given a store whose every rearm loses against another writer
    class Contested(MemoryLedgerStore):
        def rearm(self, seen: Record, names: Sequence[str], *, now: datetime) -> Record | None:
            return None

    store = Contested()
    ledger = Ledger(store, clock=clock, max_attempts=MAX_ATTEMPTS, pause=lambda seconds: None)
    give_up(ledger, clock, World(), EMAILS, "awaiting-notice")
    # When an operator rearms it
    # Then a clear error, in French, rather than a silent success
    with pytest.raises(ConcurrentChange, match="a changé pendant la relance"):
        ledger.rearm(EMAILS.key)


def test_every_lists_each_subject_and_counts_what_it_read(ledger: Ledger, clock: Clock) -> None:
    world = World()
    ledger.run(EMAILS, world.perform, deadline=clock() + DEADLINE)
    give_up(ledger, clock, world, Subject("post:P2:v1", "moderate", (Effect("e"),)), "e")
    counts: list[int] = []
    records = {record.key: record for record in ledger.store.every(read=counts.append)}
    assert set(records) == {EMAILS.key, "post:P2:v1"}
    assert records["post:P2:v1"].needing_look() == ["e"]
    assert records[EMAILS.key].needing_look() == []
    assert counts
    assert counts[-1] >= 2
