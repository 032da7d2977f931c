"""The relay's SQS handler on moto: an X outage defers, never dead-letters; time is checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from entraide.activation.activation_store import ActivationStore
from entraide.intake.post_store import PostStore
from entraide.kernel.model import Contact, PostStatus
from entraide.moderation.announce import approved_message
from entraide.publishing.channel_errors import (
    Unavailable,
)
from entraide.publishing.x_answers import (
    PostedTweet,
)
from entraide_local.faults import AFTER, BEFORE, FaultPlan
from entraide_local.provision import Deployment
from tests.factories import NOW, make_activation, make_post
from tests.unit.conftest import (
    FakeContext,
    PolicedHandler,
    UnderPolicy,
    load_handler,
    use_function_environment,
)


class DownX:
    """X down for ``down`` calls (a 503), then up; records what it posted."""

    def __init__(self, down: int) -> None:
        self.down = down
        self.posted: list[str] = []

    def post(self, text: str) -> PostedTweet:
        if self.down:
            self.down -= 1
            raise Unavailable("503 Service Unavailable")
        self.posted.append(text)
        return PostedTweet(id=str(2000 + len(self.posted)), text=text)


class ShortContext(FakeContext):
    def __init__(self, remaining_ms: int) -> None:
        super().__init__("relay")
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return self.remaining_ms


@pytest.fixture
def relay(
    monkeypatch: pytest.MonkeyPatch,
    deployment: Deployment,
    under_policy: UnderPolicy,
    tmp_path: Path,
) -> PolicedHandler:
    use_function_environment(monkeypatch, deployment, "relay")
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path))  # Bluesky's and Mastodon's dry runs
    return PolicedHandler(load_handler("relay", "relay_app"), under_policy, "relay")


def outbox_lines(tmp_path: Path, channel: str) -> list[dict[str, Any]]:
    path = tmp_path / f"{channel}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def approved(posts: PostStore, activations: ActivationStore) -> dict[str, Any]:
    activations.create_activation(make_activation())
    pending = make_post(id="P1", title="Annonce P1")
    posts.create_post(pending, Contact("p1@example.org"))
    post = posts.transition(pending, PostStatus.APPROVED, at=NOW, by="moderation@example.org")
    return approved_message(post)


def sqs_event(body: dict[str, Any], message_id: str = "m-1") -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": message_id,
                "receiptHandle": "r",
                "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-3:123456789012:relay",
                "awsRegion": "eu-west-3",
            }
        ]
    }


def waiting(deployment: Deployment, output: str) -> list[dict[str, Any]]:
    """Every message of a queue, delayed ones included (moto's own view)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    url = deployment.outputs[output]
    name = url.rsplit("/", 1)[-1]
    queue = sqs_backends[DEFAULT_ACCOUNT_ID]["eu-west-3"].queues[name]
    return [
        {"body": json.loads(m.body), "delay": (m.delayed_until - m.sent_timestamp) // 1000}
        for m in queue._messages
    ]


def test_an_x_outage_defers_with_a_growing_wait_and_never_reaches_the_dlq(
    relay: PolicedHandler, approved: dict[str, Any], deployment: Deployment
) -> None:
    # Given X down for six calls
    x = DownX(down=6)
    relay.relay.poster = x
    message = approved
    delays = []
    # When the message comes back each time it is sent again
    for attempt in range(7):
        result = relay.lambda_handler(sqs_event(message, f"m-{attempt}"), FakeContext("relay"))
        # Then the handler consumes it (no receive burned), and sends it again later
        assert result == {"batchItemFailures": []}
        queued = [
            m for m in waiting(deployment, "RelayQueueUrl") if m["body"].get("channels") == ["x"]
        ]
        if x.posted:
            break
        message = queued[-1]["body"]  # X's own (Bluesky's and Mastodon's come back apart)
        delays.append(queued[-1]["delay"])
    # Then the waits grew (30 s doubling, spread), the post went out once, the DLQ is empty
    assert len(delays) == 6
    assert delays[0] >= 15
    assert delays[-1] > delays[0]
    assert all(delay <= 900 for delay in delays)
    assert len(x.posted) == 1
    assert (
        boto3.client("sqs").get_queue_attributes(
            QueueUrl=deployment.function("relay").environment["RELAY_DLQ_URL"],
            AttributeNames=["ApproximateNumberOfMessages"],
        )["Attributes"]["ApproximateNumberOfMessages"]
        == "0"
    )


def test_a_record_with_too_little_time_left_is_sent_again_not_started(
    relay: PolicedHandler, approved: dict[str, Any], deployment: Deployment
) -> None:
    # Given an invocation with 10 s left (a call to X may take 25)
    x = DownX(down=0)
    relay.relay.poster = x
    # When a record is handled
    result = relay.lambda_handler(sqs_event(approved), ShortContext(10_000))
    # Then X is not called, and the message is sent again at once
    assert result == {"batchItemFailures": []}
    assert x.posted == []
    [again] = waiting(deployment, "RelayQueueUrl")
    assert (again["body"]["post_id"], again["delay"]) == ("P1", 1)


def test_x_down_defers_x_alone_and_bluesky_and_mastodon_announce_once(
    relay: PolicedHandler, approved: dict[str, Any], deployment: Deployment, tmp_path: Path
) -> None:
    # Given X down for one call, Bluesky and Mastodon in dry run
    x = DownX(down=1)
    relay.relay.poster = x
    # When the message is handled
    result = relay.lambda_handler(sqs_event(approved), FakeContext("relay"))
    # Then Bluesky and Mastodon announced the post, and the message comes back for X alone
    assert result == {"batchItemFailures": []}
    assert len(outbox_lines(tmp_path, "bluesky")) == 1
    assert len(outbox_lines(tmp_path, "mastodon")) == 1
    [again] = waiting(deployment, "RelayQueueUrl")
    assert again["body"]["channels"] == ["x"]
    # When it comes back (and the original is delivered again, as SQS may)
    for body, message_id in ((again["body"], "m-2"), (approved, "m-3")):
        assert relay.lambda_handler(sqs_event(body, message_id), FakeContext("relay")) == {
            "batchItemFailures": []
        }
    # Then X posted it once, and nobody posted twice
    assert len(x.posted) == 1
    assert len(outbox_lines(tmp_path, "bluesky")) == 1
    assert len(outbox_lines(tmp_path, "mastodon")) == 1


def dead_lettered(deployment: Deployment) -> int:
    return len(waiting(deployment, "RelayDeadLetterQueueUrl"))


def receive(relay: PolicedHandler, body: dict[str, Any], receives: int) -> dict[str, Any]:
    """The handler's answer to the message's ``receives``-th delivery."""
    event = sqs_event(body, "m-1")
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = str(receives)
    result: dict[str, Any] = relay.lambda_handler(event, FakeContext("relay"))
    return result


def test_a_failed_send_again_is_tried_again_and_burns_no_receive(
    relay: PolicedHandler, approved: dict[str, Any], deployment: Deployment
) -> None:
    # Given X down once (the message must be sent again, deferred), and the relay's own
    # SendMessage failing twice, once before reaching SQS and once with its answer lost
    x = DownX(down=1)
    relay.relay.poster = x
    plan = FaultPlan()
    plan.fail("sqs", "SendMessage", BEFORE)
    plan.fail("sqs", "SendMessage", AFTER)
    # When the message is received
    with plan.active():
        result = receive(relay, {**approved, "channels": ["x"]}, 1)
    # Then the record is consumed (no receive burned): the deferred copy is in the queue,
    # twice where the lost answer made it so, and the DLQ is empty
    assert result == {"batchItemFailures": []}
    copies = waiting(deployment, "RelayQueueUrl")
    assert [copy["body"]["post_id"] for copy in copies] == ["P1", "P1"]
    assert dead_lettered(deployment) == 0
    # When both copies come back, X up again
    for n, copy in enumerate(copies, 2):
        assert relay.lambda_handler(sqs_event(copy["body"], f"m-{n}"), FakeContext("relay")) == {
            "batchItemFailures": []
        }
    # Then the post went out once
    assert len(x.posted) == 1


def test_a_send_again_failing_on_every_receive_ends_in_the_dlq_with_the_ledger_saying_why(
    relay: PolicedHandler, approved: dict[str, Any], deployment: Deployment
) -> None:
    # Given X down, and SQS refusing every SendMessage of the relay (an outage of its own)
    x = DownX(down=100)
    relay.relay.poster = x
    plan = FaultPlan()
    plan.fail("sqs", "SendMessage", BEFORE, times=100)
    # When the message is received five times (the queue's maxReceiveCount)
    with plan.active():
        results = [receive(relay, {**approved, "channels": ["x"]}, n) for n in range(1, 6)]
    # Then each receive failed the record (SQS moves it to the DLQ, whose alarm fires),
    # after three sends each time, and nothing was posted
    assert all(result == {"batchItemFailures": [{"itemIdentifier": "m-1"}]} for result in results)
    assert plan.count("sqs") == 5 * 3
    assert x.posted == []
    # and the ledger says the publication is due again, and why
    record = relay.relay.store.ledger.get(relay.relay.store.post_key("P1"))
    assert record is not None
    [entry] = record.entries
    assert entry.state.value == "due"
    assert "X unavailable" in (entry.error or "")


def test_an_approved_post_reads_its_activation_and_backlog_entry_eventually_consistent(
    relay: PolicedHandler, approved: dict[str, Any]
) -> None:
    # Given the relay's reads of items told by kind and consistency
    reads: dict[str, list[bool]] = {}

    def told(params: dict[str, Any], **_: Any) -> None:
        kind = params["Key"]["pk"]["S"].split("#")[0]
        reads.setdefault(kind, []).append(bool(params.get("ConsistentRead")))

    relay.table.client.meta.events.register("provide-client-params.dynamodb.GetItem", told)
    # When an approved post's message is handled
    assert relay.lambda_handler(sqs_event(approved), FakeContext("relay")) == {
        "batchItemFailures": []
    }
    # Then its activation (older than the approval) and its backlog entry (written again if
    # missed) were read eventually consistent; the post (still approved?) strongly
    # consistent, and each channel's budget (what may be spent) too, once for asking what
    # is left and spending
    assert set(reads["ACTIVATION"]) == {False}
    assert set(reads["BACKLOG"]) == {False}
    assert set(reads["POST"]) == {True}
    channels = len(reads["POST"])
    assert reads["QUOTA"] == [True] * channels
