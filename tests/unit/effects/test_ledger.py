"""The ledger: each effect claimed, done and recorded once, whatever fails and whenever."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from entraide.adapters.mail import MailRejected, MailUnavailable
from entraide.effects.ledger import Ledger
from entraide.effects.ledger_store import DynamoDBLedgerStore, effect_key
from entraide.effects.memory import MemoryLedgerStore
from entraide.effects.model import (
    Effect,
    Entry,
    LedgerStore,
    Listing,
    Policy,
    Record,
    State,
    Subject,
)
from tests.factories import NOW, Clock, Killed

DEADLINE = timedelta(seconds=30)


@pytest.fixture
def ledger(store: LedgerStore, clock: Clock) -> Ledger:
    return Ledger(store, clock=clock, pause=lambda seconds: None)


class World:
    """What the effects did to the world, and how each call goes."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.failures: dict[str, list[Exception]] = {}

    def fail(self, name: str, *errors: Exception) -> None:
        self.failures.setdefault(name, []).extend(errors)

    def perform(self, entry: Entry, record: Record) -> str:
        planned = self.failures.get(entry.name)
        if planned:
            error = planned.pop(0)
            if isinstance(error, ReadTimeoutError):  # the call went through, its answer lost
                self.done.append(entry.name)
            raise error
        self.done.append(entry.name)
        return f"id-{entry.name}"


def throttled() -> ClientError:
    return ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "SendEmail")


def lost() -> ReadTimeoutError:
    return ReadTimeoutError(endpoint_url="https://email.eu-west-3.amazonaws.com")


def subject(*effects: Effect, key: str = "post:P1:v1") -> Subject:
    return Subject(key=key, owner="moderate", effects=effects, data={"post_id": "P1"})


EMAILS = subject(
    Effect("moderation-request:a"), Effect("moderation-request:b"), Effect("awaiting-notice")
)


def sweep(ledger: Ledger, clock: Clock, world: World) -> dict[str, int]:
    perform: Callable[[Record], Any] = lambda record: world.perform  # noqa: E731
    return ledger.sweep("moderate", perform, deadline=clock() + DEADLINE).as_dict()


def test_every_effect_is_done_once_and_a_replay_does_nothing(ledger: Ledger, clock: Clock) -> None:
    # Given a subject of three effects
    world = World()
    # When it runs, then runs again (a replayed stream record)
    first = ledger.run(EMAILS, world.perform, deadline=clock() + DEADLINE)
    second = ledger.run(EMAILS, world.perform, deadline=clock() + DEADLINE)
    # Then each effect happened once, in the subject's order, and each is recorded done
    assert world.done == ["moderation-request:a", "moderation-request:b", "awaiting-notice"]
    assert (first.done, second.done, second.busy) == (3, 0, 0)
    record = ledger.store.get(EMAILS.key)
    assert record is not None
    assert [(e.state, e.result) for e in record.entries] == [
        (State.DONE, "id-moderation-request:a"),
        (State.DONE, "id-moderation-request:b"),
        (State.DONE, "id-awaiting-notice"),
    ]
    # and nothing is left for the sweep
    assert ledger.store.due("moderate", clock() + timedelta(days=1), limit=10) == []


@pytest.mark.parametrize(
    ("refusal", "state"),
    [
        (MailRejected("MessageRejected"), State.DUE),  # SES answered: not sent
        (MailUnavailable("TooManyRequestsException"), State.DUE),
        (MailUnavailable("EndpointConnectionError"), State.DUE),  # never reached
        (MailUnavailable("ReadTimeoutError", unsent=False), State.CLAIMED),  # may have gone
    ],
)
def test_an_email_ses_did_not_send_waits_for_the_backoff_and_one_that_may_have_gone_for_its_lease(
    ledger: Ledger, clock: Clock, refusal: Exception, state: State
) -> None:
    # Given the mail adapter's typed error for an email (SES's own text names the address)
    world = World()
    world.fail("awaiting-notice", refusal)
    # When the subject runs
    once = subject(Effect("awaiting-notice"))
    report = ledger.run(once, world.perform, deadline=clock() + DEADLINE)
    # Then an email surely not sent is due again after the backoff, the error kept (a day
    # of attempts before it is given up); one that may have gone waits for its claim's lease
    record = ledger.store.get("post:P1:v1")
    assert record is not None
    entry = record.entry("awaiting-notice")
    assert entry.state is state
    if state is State.DUE:
        assert (report.retried, report.unknown) == (1, 0)
        assert entry.error is not None
        assert entry.error.startswith(type(refusal).__name__)
        assert entry.next_at is not None
        assert entry.next_at > clock()
    else:
        assert (report.retried, report.unknown) == (0, 1)


def test_a_failure_before_one_effect_stops_none_of_the_others_and_it_is_retried(
    ledger: Ledger, clock: Clock
) -> None:
    # Given the first moderator's email refused by SES (throttled: nothing was sent)
    world = World()
    world.fail("moderation-request:a", throttled())
    # When the subject runs
    report = ledger.run(EMAILS, world.perform, deadline=clock() + DEADLINE)
    # Then the other two went, and the failed one is due again later, not now
    assert world.done == ["moderation-request:b", "awaiting-notice"]
    assert (report.done, report.retried) == (2, 1)
    assert sweep(ledger, clock, world)["done"] == 0
    # When the backoff has passed, the sweep sends it once
    clock.advance(minutes=2)
    assert sweep(ledger, clock, world)["done"] == 1
    assert world.done.count("moderation-request:a") == 1
    assert sweep(ledger, clock.advance(hours=2) and clock, world)["done"] == 0


def test_a_lost_answer_is_done_again_after_the_lease_for_at_least_once(
    ledger: Ledger, clock: Clock
) -> None:
    # Given an email whose answer is lost (sent, but the caller cannot know)
    world = World()
    world.fail("awaiting-notice", lost())
    ledger.run(subject(Effect("awaiting-notice")), world.perform, deadline=clock() + DEADLINE)
    # Then nobody sends it again while the claim's lease runs (the holder may be alive)
    clock.advance(seconds=30)
    assert sweep(ledger, clock, world)["done"] == 0
    assert world.done == ["awaiting-notice"]
    # When the lease is over (the deadline and its margin), it is sent again: at least once
    clock.advance(seconds=10)
    assert sweep(ledger, clock, world)["done"] == 1
    assert world.done == ["awaiting-notice", "awaiting-notice"]


def test_a_lost_answer_is_in_doubt_and_never_repeated_for_at_most_once(
    store: LedgerStore, clock: Clock
) -> None:
    metrics: list[str] = []
    ledger = Ledger(store, clock=clock, metric=lambda name, value: metrics.append(name))
    # Given an effect that must never happen twice, whose answer is lost
    world = World()
    world.fail("post", lost())
    effect = Effect("post", Policy.AT_MOST_ONCE)
    ledger.run(subject(effect), world.perform, deadline=clock() + DEADLINE)
    # When its lease is over and the sweep comes
    clock.advance(minutes=5)
    report = sweep(ledger, clock, world)
    # Then it is in doubt, not done again, and out of the sweep's way
    assert (report["in_doubt"], report["done"]) == (1, 0)
    assert world.done == ["post"]
    record = ledger.store.get("post:P1:v1")
    assert record is not None
    assert record.entry("post").state is State.IN_DOUBT
    assert ledger.store.due("moderate", clock() + timedelta(days=1), limit=10) == []
    # and it is alarmed: its kind, and the one metric of the effects' alarm
    assert (metrics.count("EffectInDoubt"), metrics.count("EffectNeedsLook")) == (1, 1)


def test_a_claim_lasts_until_the_invocation_deadline_and_its_margin(
    ledger: Ledger, clock: Clock
) -> None:
    # Given a run killed in its first effect (a function timeout): its claims stay
    world = World()
    deadline = clock() + timedelta(seconds=10)

    def killed(entry: Entry, record: Record) -> str:
        raise KeyboardInterrupt  # not an Exception: nothing is recorded, as in a kill

    with pytest.raises(KeyboardInterrupt):
        ledger.run(EMAILS, killed, deadline=deadline)
    # Then before the deadline and its margin nothing is taken over, after it everything is
    clock.moment = deadline + ledger.lease_margin - timedelta(milliseconds=1)
    assert sweep(ledger, clock, world)["done"] == 0
    clock.moment = deadline + ledger.lease_margin
    assert sweep(ledger, clock, world)["done"] == 3


def test_effects_after_the_deadline_are_left_to_the_sweep(ledger: Ledger, clock: Clock) -> None:
    # Given a run that has little time left
    world = World()
    report = ledger.run(EMAILS, world.perform, deadline=clock() + ledger.effect_time / 2)
    # Then it starts nothing, and the sweep does all three once the lease is over
    assert (world.done, report.left) == ([], 3)
    clock.advance(minutes=1)
    assert sweep(ledger, clock, world)["done"] == 3


def test_a_run_without_time_for_an_effect_does_not_claim_it(
    store: LedgerStore, clock: Clock
) -> None:
    # Given an effect left to the sweep (its first run had no time), and runs that each
    # come with less time than an effect needs (a schedule whose sweep took its time)
    ledger = Ledger(store, clock=clock, max_attempts=3, pause=lambda seconds: None)
    world = World()
    ledger.run(EMAILS, world.perform, deadline=clock() + ledger.effect_time / 2)
    clock.advance(minutes=1)
    perform: Callable[[Record], Any] = lambda record: world.perform  # noqa: E731
    # When more such runs resume it than the ledger's attempts
    for _ in range(5):
        report = ledger.resume(EMAILS.key, perform, deadline=clock() + ledger.effect_time / 2)
        assert (report.done, report.left) == (0, 3)
        clock.advance(minutes=1)
    # Then none claimed it (a claim is an attempt): it is not given up, and the first run
    # with time does each effect once
    record = store.get(EMAILS.key)
    assert record is not None
    assert [entry.attempts for entry in record.entries] == [1, 1, 1]
    assert sweep(ledger, clock, world)["done"] == 3
    assert world.done == ["moderation-request:a", "moderation-request:b", "awaiting-notice"]


def test_an_effect_failing_every_time_is_given_up_and_alarmed(
    store: LedgerStore, clock: Clock
) -> None:
    metrics: list[str] = []
    ledger = Ledger(
        store, clock=clock, max_attempts=3, metric=lambda name, value: metrics.append(name)
    )
    world = World()
    world.fail("awaiting-notice", *(throttled() for _ in range(10)))
    ledger.run(subject(Effect("awaiting-notice")), world.perform, deadline=clock() + DEADLINE)
    for _ in range(5):
        clock.advance(hours=2)
        sweep(ledger, clock, world)
    record = store.get("post:P1:v1")
    assert record is not None
    assert (record.entry("awaiting-notice").state, record.entry("awaiting-notice").attempts) == (
        State.GIVEN_UP,
        3,
    )
    assert metrics.count("EffectGivenUp") == 1
    assert metrics.count("EffectNeedsLook") == 1  # the one metric of its alarm
    assert store.due("moderate", clock() + timedelta(days=1), limit=10) == []


def test_of_two_runs_claiming_at_once_only_one_does_each_effect(
    store: LedgerStore, clock: Clock
) -> None:
    # Given an effect due (released after a failure) and two sweeps reading it at once
    world = World()
    world.fail("awaiting-notice", throttled())
    ledger = Ledger(store, clock=clock)
    ledger.run(subject(Effect("awaiting-notice")), world.perform, deadline=clock() + DEADLINE)
    clock.advance(hours=2)
    seen = store.get("post:P1:v1")
    assert seen is not None
    # When both claim it from what they read
    lease = clock() + DEADLINE
    first = store.claim(seen, ["awaiting-notice"], holder="one", lease_until=lease, now=clock())
    second = store.claim(seen, ["awaiting-notice"], holder="two", lease_until=lease, now=clock())
    # Then one got it, the other nothing
    assert first is not None
    assert first.entry("awaiting-notice").held_by("one")
    assert second is None


def test_a_write_repeated_after_its_lost_answer_is_recognised(
    store: LedgerStore, clock: Clock
) -> None:
    # Given a subject recorded and an effect done by holder "h"
    lease = clock() + DEADLINE
    opened = store.open(EMAILS, holder="h", lease_until=lease, now=clock())
    assert opened is not None
    # When the same writes are made again (their first answers were lost)
    again = store.open(EMAILS, holder="h", lease_until=lease, now=clock())
    store.finish(EMAILS.key, "awaiting-notice", State.DONE, holder="h", result="m1")
    repeated = store.finish(EMAILS.key, "awaiting-notice", State.DONE, holder="h", result="m1")
    # Then each is taken as done, and the open count moved once
    assert again is not None
    assert repeated is not None
    assert repeated.open_count == 2
    # while another holder is refused
    other = store.open(EMAILS, holder="other", lease_until=lease, now=clock())
    assert other is None


def test_an_effect_with_a_delay_waits_for_it(ledger: Ledger, clock: Clock) -> None:
    # Given a second pass due ten minutes after the subject is recorded
    world = World()
    two_passes = subject(Effect("expire"), Effect("expire-again", delay=timedelta(minutes=10)))
    ledger.run(two_passes, world.perform, deadline=clock() + DEADLINE)
    assert world.done == ["expire"]
    # Then the sweep leaves it until then, and does it once
    clock.advance(minutes=9)
    assert sweep(ledger, clock, world)["done"] == 0
    clock.advance(minutes=2)
    assert sweep(ledger, clock, world)["done"] == 1
    assert world.done == ["expire", "expire-again"]


def test_the_sweep_looks_at_its_owner_only(ledger: Ledger, clock: Clock) -> None:
    world = World()
    world.fail("email", lost())
    other = Subject("contact:X", "contact", (Effect("email"),), {})
    ledger.run(other, world.perform, deadline=clock() + DEADLINE)
    clock.advance(minutes=5)
    assert sweep(ledger, clock, world)["subjects"] == 0
    assert ledger.store.due("contact", clock(), limit=10) == ["contact:X"]


LISTED_WHEN_LEFT = Subject(
    key="moderation:P2:v1",
    owner="moderate",
    effects=(Effect("moderation-request:a"), Effect("awaiting-notice")),
    data={"post_id": "P2"},
    listing=Listing.LEFT,
)


def listed(store: LedgerStore, key: str) -> bool:
    """Whether the subject is in the sweep's index: for the table, its item carries the
    index's keys (an index write each time they come or go)."""
    if isinstance(store, DynamoDBLedgerStore):
        item = store.table.get(effect_key(key))
        assert item is not None
        return "gsi5pk" in item or "gsi5sk" in item
    record = store.get(key)
    assert record is not None
    return record.index_at is not None


def test_a_subject_listed_when_left_never_enters_the_index_when_its_run_does_it_all(
    ledger: Ledger, clock: Clock
) -> None:
    # Given a subject listed only when a run leaves something, and a world that notes
    # whether the subject was listed while each effect was being done
    world = World()
    seen_listed: list[bool] = []

    def perform(entry: Entry, record: Record) -> str:
        seen_listed.append(listed(ledger.store, record.key))
        return world.perform(entry, record)

    # When its run does both effects
    report = ledger.run(LISTED_WHEN_LEFT, perform, deadline=clock() + DEADLINE)
    # Then it was never in the sweep's index (recorded without its keys, none written after)
    assert report.done == 2
    assert seen_listed == [False, False]
    assert not listed(ledger.store, LISTED_WHEN_LEFT.key)
    assert ledger.store.due("moderate", clock() + timedelta(days=1), limit=10) == []


def test_a_subject_listed_when_left_is_listed_when_an_effect_fails_and_the_sweep_does_it(
    ledger: Ledger, clock: Clock
) -> None:
    # Given the first effect refused by SES (nothing sent)
    world = World()
    world.fail("moderation-request:a", throttled())
    # When the subject runs
    report = ledger.run(LISTED_WHEN_LEFT, world.perform, deadline=clock() + DEADLINE)
    # Then what is left is listed for the sweep, which does it once its backoff is over
    assert (report.done, report.retried) == (1, 1)
    assert listed(ledger.store, LISTED_WHEN_LEFT.key)
    clock.advance(minutes=2)
    assert sweep(ledger, clock, world)["done"] == 1
    assert world.done == ["awaiting-notice", "moderation-request:a"]
    # and it leaves the index when nothing is open
    assert not listed(ledger.store, LISTED_WHEN_LEFT.key)


def test_a_subject_whose_run_died_before_listing_it_is_stranded_then_resumed(
    ledger: Ledger, clock: Clock
) -> None:
    # Given a run killed during its first effect, after recording the subject
    world = World()

    def dies(entry: Entry, record: Record) -> str:
        raise Killed

    with pytest.raises(Killed):
        ledger.run(LISTED_WHEN_LEFT, dies, deadline=clock() + DEADLINE)
    # Then the subject is out of the sweep's index, and not stranded while its claims last
    assert ledger.store.due("moderate", clock() + timedelta(days=1), limit=10) == []
    seen = ledger.store.peek(LISTED_WHEN_LEFT.key)
    assert seen is not None
    assert not seen.stranded(clock())
    # When the claims' lease is over, it is stranded, and resuming it (the owner's
    # reconciliation) does each effect once
    clock.advance(seconds=DEADLINE.total_seconds() + 10)
    seen = ledger.store.peek(LISTED_WHEN_LEFT.key)
    assert seen is not None
    assert seen.stranded(clock())
    perform: Callable[[Record], Any] = lambda record: world.perform  # noqa: E731
    report = ledger.resume(LISTED_WHEN_LEFT.key, perform, deadline=clock() + DEADLINE)
    assert report.done == 2
    assert world.done == ["moderation-request:a", "awaiting-notice"]
    done = ledger.store.peek(LISTED_WHEN_LEFT.key)
    assert done is not None
    assert not done.stranded(clock())


def test_a_subject_listed_from_its_opening_is_never_stranded(ledger: Ledger, clock: Clock) -> None:
    # Given a subject listed from its opening whose run was killed
    def dies(entry: Entry, record: Record) -> str:
        raise Killed

    with pytest.raises(Killed):
        ledger.run(EMAILS, dies, deadline=clock() + DEADLINE)
    clock.advance(hours=1)
    # Then its sweep finds it: it is not the reconciliation's to resume
    seen = ledger.store.peek(EMAILS.key)
    assert seen is not None
    assert not seen.stranded(clock())
    assert ledger.store.due("moderate", clock(), limit=10) == [EMAILS.key]


class RefusingListings(MemoryLedgerStore):
    """A store that refuses to list subjects in the sweep's index (DynamoDB throttling)
    while ``refusing``."""

    refusing = True

    def reschedule(self, record: Record, at: Any) -> None:
        if self.refusing:
            raise throttled()
        super().reschedule(record, at)


def test_a_subject_that_could_not_be_listed_fails_its_run_so_that_its_source_retries(
    clock: Clock,
) -> None:
    # Given an effect refused by SES, and a store refusing every listing
    store = RefusingListings()
    ledger = Ledger(store, clock=clock, pause=lambda seconds: None)
    world = World()
    world.fail("moderation-request:a", throttled())
    # When the subject runs, it cannot list what is left: the run fails (the stream record
    # is retried) rather than leave an effect nobody would come back to
    with pytest.raises(ClientError):
        ledger.run(LISTED_WHEN_LEFT, world.perform, deadline=clock() + DEADLINE)
    assert world.done == ["awaiting-notice"]
    # and the retried record, once the store lists again, leaves it listed for the sweep
    store.refusing = False
    ledger.run(LISTED_WHEN_LEFT, world.perform, deadline=clock() + DEADLINE)
    clock.advance(minutes=2)
    assert sweep(ledger, clock, world)["done"] == 1
    assert world.done == ["awaiting-notice", "moderation-request:a"]


def test_a_subject_needs_distinct_effect_names() -> None:
    with pytest.raises(ValueError, match="distinct"):
        Subject("s", "o", (Effect("a"), Effect("a")))


class RefusingCompletions(MemoryLedgerStore):
    """A store that refuses the first ``refusals`` completions (DynamoDB throttling)."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals
        self.completions: list[Any] = []

    def finish(self, key: str, name: str, state: State, **kwargs: Any) -> Record | None:
        self.completions.append(state)
        if len(self.completions) <= self.refusals:
            raise throttled()
        return super().finish(key, name, state, **kwargs)


def test_a_completion_refused_for_a_while_is_recorded_while_the_run_has_time(
    clock: Clock,
) -> None:
    # Given a store that refuses an effect's completion six times in a row, and a run with
    # time left
    store = RefusingCompletions(refusals=6)
    ledger = Ledger(store, clock=clock, pause=lambda seconds: clock.advance(seconds=seconds))
    world = World()
    # When the effect is done
    report = ledger.run(
        subject(Effect("awaiting-notice")), world.perform, deadline=clock() + DEADLINE
    )
    # Then its completion is recorded on the seventh try, and no sweep does it again
    assert (report.done, report.unknown, len(store.completions)) == (1, 0, 7)
    clock.advance(minutes=10)
    assert sweep(ledger, clock, world)["done"] == 0
    assert world.done == ["awaiting-notice"]


def test_a_completion_refused_until_the_deadline_is_left_to_the_lease(clock: Clock) -> None:
    # Given a store that refuses every completion, and a run with a second left
    store = RefusingCompletions(refusals=1_000)
    ledger = Ledger(
        store,
        clock=clock,
        pause=lambda seconds: clock.advance(seconds=seconds),
        effect_time=timedelta(seconds=0.5),
    )
    deadline = clock() + timedelta(seconds=1)
    world = World()
    # When the effect is done
    report = ledger.run(subject(Effect("awaiting-notice")), world.perform, deadline=deadline)
    # Then the completion is tried while the run has time, never after its deadline, and the
    # effect is left unrecorded (its lease decides)
    assert report.unknown == 1
    assert 4 < len(store.completions) < 12
    assert clock() <= deadline


def test_completions_are_tried_a_bounded_number_of_times() -> None:
    # Given a clock that does not move (a run's pauses not felt), and every completion refused
    refusing = RefusingCompletions(refusals=1_000)
    ledger = Ledger(refusing, clock=Clock(NOW), pause=lambda seconds: None)
    # When an effect is done
    report = ledger.run(
        subject(Effect("awaiting-notice")), World().perform, deadline=NOW + DEADLINE
    )
    # Then its completion was tried twelve times, not for ever
    assert (report.unknown, len(refusing.completions)) == (1, 12)
