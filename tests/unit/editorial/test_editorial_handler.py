"""The editorial function under its template policy, then the relay under its own: a due
item reaches every channel's outbox once; an open activation holds it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from entraide.activation.activation_store import ActivationStore
from entraide.adapters.table import Table
from entraide.editorial.calendar import EditorialItem, ItemState
from entraide.editorial.calendar_store import EditorialStore
from entraide_local.provision import Deployment
from tests.factories import make_activation
from tests.unit.conftest import (
    FakeContext,
    PolicedHandler,
    UnderPolicy,
    load_handler,
    use_function_environment,
)
from tests.unit.moderation.test_moderate_handler import parts
from tests.unit.publishing.test_relay_handler import outbox_lines, relay, sqs_event

__all__ = ["relay"]  # the relay function's fixture, under its policy

SCHEDULE = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
#: 10:00 in Paris, within the window
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def editorial(
    monkeypatch: pytest.MonkeyPatch, deployment: Deployment, under_policy: UnderPolicy
) -> PolicedHandler:
    use_function_environment(monkeypatch, deployment, "editorial")
    handler = PolicedHandler(
        load_handler("editorial", "editorial_app"), under_policy, "EditorialFunction"
    )
    handler.desk.clock = lambda: NOW
    return handler


def relay_messages(deployment: Deployment) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = deployment.outputs["RelayQueueUrl"]
    found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in found]


def test_a_due_item_reaches_every_outbox_once(
    editorial: PolicedHandler,
    relay: PolicedHandler,
    deployment: Deployment,
    table: Table,
    tmp_path: Path,
) -> None:
    # Given an item of the calendar due at 09:30 Paris time, with a link
    store = EditorialStore(table)
    item = EditorialItem(
        "cal-1",
        "Préparez un sac d'urgence : nos conseils",
        "https://blog.example.fr/sac/",
        ("x", "bluesky", "mastodon"),
        datetime(2026, 12, 7, 8, 30, tzinfo=UTC),
        "prévention",
        "Claire",
    )
    store.add([item], created_at=NOW)
    # When the scheduled run fires, twice (a redelivery)
    first = editorial.lambda_handler(SCHEDULE, FakeContext("editorial"))
    second = editorial.lambda_handler(SCHEDULE, FakeContext("editorial"))
    # Then one message per channel went to the relay queue, once
    assert sorted(first["sent"]) == ["cal-1:bluesky", "cal-1:mastodon", "cal-1:x"]
    assert second["sent"] == []
    messages = relay_messages(deployment)
    assert sorted(m["channels"][0] for m in messages) == ["bluesky", "mastodon", "x"]
    # When the relay handles them, each delivered twice
    for message in [*messages, *messages]:
        relay.lambda_handler(sqs_event(message), FakeContext("relay"))
    # Then each channel's outbox holds it once, X's without the link (X_LINKS leaves
    # editorial items out by default: $0.015 a post, not $0.200); the item is sent
    for channel in ("bluesky", "mastodon"):
        assert len(outbox_lines(tmp_path, channel)) == 1
    [tweet] = outbox_lines(tmp_path, "tweets")
    assert tweet["text"] == "Préparez un sac d'urgence : nos conseils"
    assert store.get("cal-1").state is ItemState.SENT  # type: ignore[union-attr]


def test_an_open_activation_holds_the_calendar(
    editorial: PolicedHandler,
    deployment: Deployment,
    table: Table,
    activations: ActivationStore,
) -> None:
    # Given a due item and an open activation
    store = EditorialStore(table)
    store.add(
        [EditorialItem("cal-2", "Texte", "", ("x",), NOW, "t", "a")],
        created_at=NOW,
    )
    activations.create_activation(make_activation())
    # When the run fires
    result = editorial.lambda_handler(SCHEDULE, FakeContext("editorial"))
    # Then nothing goes, and the item stays planned
    assert {key: result[key] for key in ("held", "sent", "missed")} == {
        "held": True,
        "sent": [],
        "missed": [],
    }
    assert relay_messages(deployment) == []
    assert store.get("cal-2").state is ItemState.PLANNED  # type: ignore[union-attr]


def test_the_weekly_email_goes_once_under_the_functions_policy(
    editorial: PolicedHandler, table: Table
) -> None:
    # Given Monday 10:00 Paris time and an item planned this week
    EditorialStore(table).add(
        [EditorialItem("cal-3", "Semaine de la prévention", "", ("x",), NOW, "t", "a")],
        created_at=NOW,
    )
    sent_before = len(ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-3"].sent_messages)
    # When the quarter-hourly run fires, then is delivered again
    first = editorial.lambda_handler(SCHEDULE, FakeContext("editorial"))
    second = editorial.lambda_handler(SCHEDULE, FakeContext("editorial"))
    # Then the operators' email went once, through SES, under the function's own policy
    assert first["weekly_email"]["done"] == 1
    assert second["weekly_email"]["done"] == 0
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-3"].sent_messages[sent_before:]
    assert len(sent) == 1
    [subject, text, _] = parts(sent[0])
    assert subject == "[ShareEntraide] Calendrier éditorial – semaine du 7 décembre 2026"
    assert "Prévus cette semaine" in text
    assert "Semaine de la prévention" in text
