"""What follows an opening or a closing: announced once, every open post expired."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import boto3
import pytest

from entraide.activation.activation_store import ActivationStore, ExpiryJob
from entraide.activation.events import SETTLE_DELAY, ActivationEffects, expire_posts
from entraide.effects.ledger import Ledger
from entraide.effects.memory import MemoryLedgerStore
from entraide.intake.post_store import PostStore
from entraide.kernel.model import Activation, Contact, Post, PostStatus
from entraide_local.faults import BEFORE, FaultPlan
from entraide_local.provision import Deployment
from tests.factories import NOW, Clock, make_activation, make_post
from tests.unit.conftest import (
    FakeContext,
    PolicedHandler,
    UnderPolicy,
    load_handler,
    stream_events,
    use_function_environment,
)

SCHEDULE = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


class LaggingIndex:
    """The post store as a lagging index shows it: ``shown`` are the posts it lists, as
    they were when it was last brought up to date."""

    def __init__(self, posts: PostStore, *shown: Post) -> None:
        self.posts = posts
        self.shown = list(shown)

    def open_posts_page(
        self, activation_id: str, status: PostStatus, *, limit: int, start: Any = None
    ) -> tuple[list[Post], None]:
        return [post for post in self.shown if post.status is status], None

    def transition(self, post: Post, to_status: PostStatus, **change: Any) -> Post:
        return self.posts.transition(post, to_status, **change)


class NoJobs:
    """No expiry job left in the table (each closing's job, done at once here)."""

    def pending_expiries(self) -> list[ExpiryJob]:
        return []

    def save_expiry(self, job: ExpiryJob) -> None:
        raise AssertionError("an expiry of a few posts never runs out of time")

    def finish_expiry(self, job: ExpiryJob) -> None:
        return None


class NoActivations:
    """Nothing to read: the stream's image of the activation is used."""

    def get_activation(self, activation_id: str) -> Activation | None:
        return None


def expire(index: LaggingIndex, activation: Activation, at: Any = NOW) -> int:
    job = ExpiryJob(activation.id, NOW)
    done = expire_posts(index, NoJobs(), job, now=lambda: at, time_left=lambda: 60.0)
    return done.expired


def test_a_post_approved_after_the_index_was_read_is_expired_all_the_same(
    posts: PostStore,
) -> None:
    # Given a pending post, read from the index, then approved before the expiry writes
    pending = make_post()
    posts.create_post(pending, Contact("a@example.org"))
    posts.transition(pending, PostStatus.APPROVED, at=NOW, by="moderator")
    # When the closing expires the posts the index showed
    expired = expire(LaggingIndex(posts, pending), make_activation(), NOW + timedelta(minutes=1))
    # Then the post is expired as it is now: never left approved in a closed activation
    current = posts.get_post(pending.id)
    assert current is not None
    assert (current.status, current.version) == (PostStatus.EXPIRED, 3)
    assert expired == 1


def test_a_post_withdrawn_meanwhile_is_left_as_it_became(posts: PostStore) -> None:
    approved = replace(make_post(), status=PostStatus.APPROVED, version=2, decided_at=NOW)
    posts.create_post(approved, Contact("a@example.org"))
    posts.transition(approved, PostStatus.WITHDRAWN, at=NOW, by="poster")
    expired = expire(LaggingIndex(posts, approved), make_activation())
    current = posts.get_post(approved.id)
    assert current is not None
    assert (expired, current.status) == (0, PostStatus.WITHDRAWN)


class Topic:
    def __init__(self) -> None:
        self.announced: list[str] = []

    def announce(self, activation: Any, event: Any) -> str:
        self.announced.append(f"{activation.id}:{event.value}")
        return "message"


def test_a_closing_looks_again_for_posts_the_index_did_not_show_yet(posts: PostStore) -> None:
    # Given a post created just before the closing, not yet in the lagging index
    clock = Clock(NOW)
    activation = make_activation()
    post = make_post()
    posts.create_post(post, Contact("a@example.org"))
    index = LaggingIndex(posts)
    topic = Topic()
    effects = ActivationEffects(
        topic=topic, posts=index, activations=NoActivations(), jobs=NoJobs(), clock=clock
    )
    ledger = Ledger(MemoryLedgerStore(), clock=clock)
    closed = replace(activation, closed_at=NOW)
    subject = effects.subject_of_change(activation, closed)
    assert subject is not None
    # When the closing runs: announced, nothing to expire yet
    ledger.run(subject, effects.performer(closed), deadline=clock() + timedelta(seconds=30))
    assert topic.announced == ["A1:activation-closed"]
    # and the index catches up; then the sweep after the settling delay
    index.shown = [post]
    clock.advance(seconds=SETTLE_DELAY.total_seconds() + 1)
    ledger.sweep(
        "activation_events",
        lambda record: effects.performer(closed),
        deadline=clock() + timedelta(seconds=30),
    )
    # Then the late post is expired, and the closing was announced once
    current = posts.get_post(post.id)
    assert current is not None
    assert current.status is PostStatus.EXPIRED
    assert topic.announced == ["A1:activation-closed"]


@pytest.fixture
def activation_events(
    monkeypatch: pytest.MonkeyPatch, deployment: Deployment, under_policy: UnderPolicy
) -> PolicedHandler:
    use_function_environment(monkeypatch, deployment, "activation_events")
    module = load_handler("activation_events", "activation_events_app")
    return PolicedHandler(module, under_policy, "activation_events")


def relay_messages(deployment: Deployment) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = deployment.outputs["RelayQueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_an_opening_refused_by_sns_is_announced_by_the_schedule_once(
    activations: ActivationStore, activation_events: PolicedHandler, deployment: Deployment
) -> None:
    # Given an opening, and SNS refusing the first publication
    activation_events.ledger.clock = Clock(NOW)
    activations.create_activation(make_activation())
    [event] = stream_events(deployment, "activation_events")
    plan = FaultPlan()
    plan.fail("sns", "Publish", BEFORE)
    # When the stream delivers it (twice), then the schedule runs after the retry's wait
    with plan.active():
        for _ in range(2):
            result = activation_events.lambda_handler(event, FakeContext("activation_events"))
            assert result == {"batchItemFailures": []}
    assert relay_messages(deployment) == []
    activation_events.ledger.clock.advance(minutes=2)
    activation_events.lambda_handler(SCHEDULE, FakeContext("activation_events"))
    activation_events.lambda_handler(SCHEDULE, FakeContext("activation_events"))
    # Then the opening was announced once
    assert [m["event"] for m in relay_messages(deployment)] == ["activation-opened"]
