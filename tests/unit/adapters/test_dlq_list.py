"""``entraide dlq list relay``: each dead letter with where its publications stand."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest

from entraide.adapters.table import Table
from entraide.cli import main as entraide
from entraide.cli_target import Target
from entraide.publishing.relay_store import DynamoDBRelayStore, post_publication
from entraide_local.provision import Deployment
from tests.factories import NOW


def test_a_relay_dead_letter_is_listed_with_its_publications_in_the_ledger(
    deployment: Deployment,
    table: Table,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given P1's publication on X released after X failed, and its message dead-lettered
    store = DynamoDBRelayStore(table)
    key = post_publication("P1")
    store.claim(key, NOW, holder="relay-1", lease_until=NOW + timedelta(seconds=35))
    store.release(key, "relay-1", NOW + timedelta(minutes=10), "X unavailable: 503")
    boto3.client("sqs").send_message(
        QueueUrl=deployment.outputs["RelayDeadLetterQueueUrl"],
        MessageBody=json.dumps({"event": "post-approved", "post_id": "P1"}),
    )
    target = Target(dict(deployment.outputs), boto3.client, "test stack")
    monkeypatch.setattr("entraide.cli_dlq.resolve_target", lambda args: target)
    # When the operator lists the relay's dead letters
    code = entraide(["dlq", "list", "relay"])
    # Then the message is shown with each channel's publication as the ledger holds it
    out = capsys.readouterr().out
    assert code == 0
    assert "relay : 1 message(s)" in out
    assert "post-approved P1" in out
    assert "publish:post:P1: x=due attempts=1 due=" in out
    assert "error=X unavailable: 503" in out
    assert "publish:bluesky:post:P1: absente du registre (jamais réservée)" in out
