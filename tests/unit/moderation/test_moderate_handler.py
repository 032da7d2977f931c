"""The moderate handler on real stream records (moto), exactly once under replays."""

from __future__ import annotations

import email
import email.policy
import json
import re
from collections.abc import Mapping
from datetime import timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from entraide.activation.activation_store import ActivationStore
from entraide.effects.ledger_store import DynamoDBLedgerStore
from entraide.intake.post_store import PostStore
from entraide.kernel.model import Contact, PostStatus
from entraide_local.faults import AFTER, BEFORE, FaultPlan
from entraide_local.provision import Deployment
from tests.factories import NOW, Clock, Killed, make_activation, make_post
from tests.unit.conftest import (
    FakeContext,
    PolicedHandler,
    UnderPolicy,
    load_handler,
    stream_events,
    use_function_environment,
)

TITLE = 'Toit <script>alert("x")</script> & abri'
POST = make_post(title=TITLE, description="Contactez-moi au 06 12 34 56 78.")


@pytest.fixture
def moderate(
    monkeypatch: pytest.MonkeyPatch, deployment: Deployment, under_policy: UnderPolicy
) -> PolicedHandler:
    use_function_environment(monkeypatch, deployment, "moderate")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "moderate")
    monkeypatch.setenv("OUTBOX_DIR", "")
    return PolicedHandler(load_handler("moderate", "moderate_app"), under_policy, "moderate")


def sent_mail() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-3"].sent_messages)


def parts(mail: Any) -> tuple[str, str, str]:
    """Subject, plain-text part and HTML part of a raw message moto kept."""
    message = email.message_from_string(mail.raw_data, policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return str(message["Subject"]), text.get_content(), html.get_content()


def relay_messages(deployment: Deployment) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    response = sqs.receive_message(
        QueueUrl=deployment.outputs["RelayQueueUrl"],
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
        VisibilityTimeout=0,
    )
    messages: list[dict[str, Any]] = response.get("Messages", [])
    return messages


def new_post_record(
    activations: ActivationStore,
    posts: PostStore,
    deployment: Deployment,
    contact: Contact | None = None,
) -> dict[str, Any]:
    """A new pending post in an open activation (its poster's ``contact``, by default
    ``POSTER``'s), and its stream record for moderation."""
    activations.create_activation(make_activation())
    posts.create_post(POST, contact or Contact(POSTER))
    [event] = stream_events(deployment, "moderate")
    return event


def run(moderate: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = moderate.lambda_handler(event, FakeContext("moderate"))
    return result


def test_a_new_post_emails_each_moderator_and_the_poster_once_even_when_replayed(
    activations: ActivationStore, posts: PostStore, moderate: ModuleType, deployment: Deployment
) -> None:
    # Given a new pending post in an open activation, and its stream record
    event = new_post_record(activations, posts, deployment, Contact("sinistre@example.org"))
    # When the batch is delivered, then delivered again
    assert run(moderate, event) == {"batchItemFailures": []}
    assert run(moderate, event) == {"batchItemFailures": []}
    # Then the poster and the one moderator got one email each
    mails = sent_mail()
    assert sorted(d for m in mails for d in set(m.destinations)) == [
        "moderation@shareentraide.example",
        "sinistre@example.org",
    ]
    [request] = [m for m in mails if "moderation@shareentraide.example" in m.destinations]
    subject, text, html = parts(request)
    assert subject.startswith("[ShareEntraide] À modérer")
    # with the post escaped in HTML, verbatim in text, the phone number flagged
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert TITLE in text
    assert "Coordonnées" in text
    # and signed links to the API, never the poster's address
    assert "moderation/P1?decision=approve&token=" in text
    assert "moderation/P1?decision=reject&token=" in text
    assert "sinistre@example.org" not in text + html


def test_an_approval_is_announced_once_with_filterable_attributes(
    posts: PostStore, moderate: ModuleType, deployment: Deployment
) -> None:
    posts.create_post(POST, Contact("sinistre@example.org"))
    posts.transition(POST, PostStatus.APPROVED, at=NOW, by="moderation@shareentraide.example")
    events = stream_events(deployment, "moderate")
    for event in events + events:  # every batch delivered twice
        assert run(moderate, event) == {"batchItemFailures": []}
    [message] = relay_messages(deployment)
    body = json.loads(message["Body"])
    assert (body["post_id"], body["version"], body["title"]) == ("P1", 2, TITLE)
    assert "sinistre" not in message["Body"]
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes == {
        "event": "post-approved",
        "kind": "need",
        "category": "hebergement",
        "departement": "11",
        "activation": "A1",
    }
    decision_mails = [parts(m) for m in sent_mail() if "publiée" in parts(m)[0]]
    assert len(decision_mails) == 1
    _, text, _ = decision_mails[0]
    assert "posts/P1/withdraw?token=" in text
    # with the link to the post's public page
    assert re.search(r"Voir l'annonce :\s+https?://\S+/posts/P1\s", text)


# -- faults: every effect on its own, nothing waiting on the stream -------------------------

MODERATORS = ("alice@moderation.example", "bob@moderation.example")
POSTER = "sinistre@example.org"
SCHEDULE = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


@pytest.fixture
def two_moderators(
    monkeypatch: pytest.MonkeyPatch, deployment: Deployment, under_policy: UnderPolicy
) -> PolicedHandler:
    use_function_environment(monkeypatch, deployment, "moderate")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "moderate")
    monkeypatch.setenv("OUTBOX_DIR", "")
    monkeypatch.setenv("MODERATOR_EMAILS", ",".join(MODERATORS))
    handler = PolicedHandler(load_handler("moderate", "moderate_app2"), under_policy, "moderate")
    handler.ledger.clock = Clock(NOW + timedelta(minutes=1))
    return handler


def recipients() -> list[str]:
    return sorted(d for m in sent_mail() for d in set(m.destinations))


def to_poster(params: Mapping[str, Any]) -> bool:
    return POSTER in params.get("Destination", {}).get("ToAddresses", [])


def to_alice(params: Mapping[str, Any]) -> bool:
    return MODERATORS[0] in params.get("Destination", {}).get("ToAddresses", [])


def test_a_refused_email_to_the_poster_never_holds_the_moderators_back(
    activations: ActivationStore,
    posts: PostStore,
    two_moderators: PolicedHandler,
    deployment: Deployment,
) -> None:
    # Given a new post, and SES refusing the poster's email (as in the SES sandbox)
    event = new_post_record(activations, posts, deployment)
    plan = FaultPlan()
    plan.fail("sesv2", "SendEmail", BEFORE, where=to_poster)
    # When the stream delivers the new post
    with plan.active():
        assert run(two_moderators, event) == {"batchItemFailures": []}
    # Then both moderators got their email at once; the record is not the stream's to retry
    assert recipients() == sorted(MODERATORS)
    # When the schedule runs after the retry's wait
    two_moderators.ledger.clock.advance(minutes=2)
    run(two_moderators, SCHEDULE)
    run(two_moderators, SCHEDULE)
    # Then the poster got the email, once
    assert recipients() == sorted([*MODERATORS, POSTER])


def test_an_email_whose_answer_was_lost_is_sent_again_once_its_claim_expires(
    activations: ActivationStore,
    posts: PostStore,
    two_moderators: PolicedHandler,
    deployment: Deployment,
) -> None:
    # Given SES sending Alice's email but its answer lost on the way back
    event = new_post_record(activations, posts, deployment)
    plan = FaultPlan()
    plan.fail("sesv2", "SendEmail", AFTER, where=to_alice)
    with plan.active():
        run(two_moderators, event)
    assert recipients() == sorted([*MODERATORS, POSTER])
    # When the schedule runs while the claim could still be alive: nothing is sent again
    run(two_moderators, SCHEDULE)
    assert len(sent_mail()) == 3
    # When it runs after the claim's lease (the invocation's deadline and the margin)
    two_moderators.ledger.clock.advance(minutes=1)
    run(two_moderators, SCHEDULE)
    # Then Alice's email went again: the one duplicate, explained by the lost answer
    assert recipients() == sorted([MODERATORS[0], *MODERATORS, POSTER])
    assert len(plan.lost) == 1


def test_a_read_that_fails_once_does_not_hold_a_moderators_email_back(
    activations: ActivationStore,
    posts: PostStore,
    two_moderators: PolicedHandler,
    deployment: Deployment,
) -> None:
    # Given a new post, and DynamoDB failing the first read of its activation (throttled,
    # a 5xx or no connection: a read to make again, a little later)
    event = new_post_record(activations, posts, deployment)
    plan = FaultPlan()
    plan.fail("dynamodb", "GetItem", BEFORE, where=lambda p: "ACTIVATION#" in str(p.get("Key")))
    # When the stream delivers the new post
    with plan.active():
        assert run(two_moderators, event) == {"batchItemFailures": []}
    # Then the read failed once, and still every email went at once: no moderator's request
    # waits for the ledger's next attempt (each attempt reads the post, its contact, its
    # activation and the poster's recent texts; a fault on any of them used to cost it)
    assert [(f.service, f.operation) for f in plan.injected] == [("dynamodb", "GetItem")]
    assert recipients() == sorted([*MODERATORS, POSTER])


def test_a_post_whose_record_never_reached_moderation_is_moderated_by_the_schedule(
    activations: ActivationStore,
    posts: PostStore,
    two_moderators: PolicedHandler,
    deployment: Deployment,
) -> None:
    # Given a new post whose stream record is never delivered (a batch given up)
    activations.create_activation(make_activation())
    posts.create_post(POST, Contact(POSTER))
    # When the schedule runs
    result = run(two_moderators, SCHEDULE)
    # Then the post is found from the table and moderated
    assert result["reconciled"]["done"] == 3
    assert recipients() == sorted([*MODERATORS, POSTER])
    # and the late stream record repeats nothing
    [event] = stream_events(deployment, "moderate")
    run(two_moderators, event)
    assert len(sent_mail()) == 3


def test_a_refusal_tells_the_poster_where_to_post_again(
    posts: PostStore, moderate: ModuleType, deployment: Deployment
) -> None:
    # Given a refused post
    posts.create_post(POST, Contact("sinistre@example.org"))
    posts.transition(POST, PostStatus.REJECTED, at=NOW, by="moderation@shareentraide.example")
    # When its records are delivered
    for event in stream_events(deployment, "moderate"):
        assert run(moderate, event) == {"batchItemFailures": []}
    # Then the refusal links to the form, in both parts
    [(_, text, html)] = [parts(m) for m in sent_mail() if "retenue" in parts(m)[0]]
    [form_url] = re.findall(r"Publier une nouvelle annonce :\s+(https?://\S+)", text)
    assert form_url.endswith("/")
    assert f'href="{form_url}"' in html


class RefusingRecipient:
    """SES v2 that refuses one recipient as the sandbox does, naming it in its message
    (tests/fixtures/ses/SOURCES.md), and sends the others through moto."""

    def __init__(self, refused: str) -> None:
        self.refused = refused
        self.ses = boto3.client("sesv2")

    def send_email(self, **params: Any) -> Any:
        from botocore.exceptions import ClientError

        if self.refused in params["Destination"]["ToAddresses"]:
            message = (
                "Email address is not verified. The following identities failed the check "
                f"in region EU-WEST-3: {self.refused}"
            )
            raise ClientError(
                {"Error": {"Code": "MessageRejected", "Message": message}}, "SendEmail"
            )
        return self.ses.send_email(**params)


def test_an_address_ses_refuses_reaches_no_log_line_no_metric_and_no_error(
    activations: ActivationStore,
    posts: PostStore,
    moderate: PolicedHandler,
    deployment: Deployment,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import io
    import logging

    from entraide.observability import logger

    # Given a new post whose poster's address SES refuses, naming it
    refused = "refuse.par.ses@example.org"
    event = new_post_record(activations, posts, deployment, Contact(refused, "07 11 22 33 44"))
    moderate.moderation.mailer._client = RefusingRecipient(refused)
    log_handler = logger.registered_handler
    assert isinstance(log_handler, logging.StreamHandler)
    logs = io.StringIO()
    previous = log_handler.setStream(logs)
    # When the batch (its one record: the whole batch fails) is delivered, twice
    try:
        results = [run(moderate, event), run(moderate, event)]
    finally:
        log_handler.setStream(previous)
    # Then the record is done, not raised as an error: the refused email stays due in the
    # effects ledger, for the sweep (the stream holds nothing back for it)
    assert not any(result["batchItemFailures"] for result in results)
    subject = posts.table.get({"pk": f"EFFECT#moderation:{POST.id}:v1", "sk": "EFFECT"})
    assert subject is not None
    assert subject["effects"]["awaiting-notice"]["state"] != "done"
    assert subject["gsi5pk"] == "DUE#moderate"  # listed, under moderate's policy
    assert refused not in json.dumps(subject, default=str)
    # and the failure was logged, by SES's code, without the address
    written = logs.getvalue() + "".join(capsys.readouterr())  # log lines, EMF metrics
    assert "MessageRejected" in written
    assert refused not in written
    assert "refuse.par.ses" not in written
    assert "07 11 22 33 44" not in written
    assert refused not in json.dumps(results)


def test_a_subject_the_reconciliation_misses_in_a_lagging_read_is_not_done_twice(
    activations: ActivationStore,
    posts: PostStore,
    two_moderators: PolicedHandler,
    deployment: Deployment,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a new post moderated from its stream record (three emails)
    event = new_post_record(activations, posts, deployment)
    run(two_moderators, event)
    assert len(sent_mail()) == 3
    # When the schedule's reconciliation reads its subject eventually consistent, and the
    # read lags behind the write (the subject looks unknown)
    monkeypatch.setattr(DynamoDBLedgerStore, "peek", lambda self, key: None)
    result = run(two_moderators, SCHEDULE)
    # Then opening it again is refused by its condition, and nothing is sent twice
    assert result["reconciled"]["done"] == 0
    assert len(sent_mail()) == 3


def test_a_post_whose_run_died_after_recording_its_subject_is_moderated_by_the_schedule(
    activations: ActivationStore,
    posts: PostStore,
    two_moderators: PolicedHandler,
    deployment: Deployment,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a new post whose stream run is killed at its first email, after recording the
    # subject (which a run lists for the sweep only when it leaves something), and whose
    # record is not delivered again (its retries given up)
    event = new_post_record(activations, posts, deployment)
    mailer = two_moderators.moderation.mailer
    send = mailer.send
    kills = [Killed()]

    def killed_once(message: Any) -> str:
        if kills:
            raise kills.pop()
        return str(send(message))

    monkeypatch.setattr(mailer, "send", killed_once)
    with pytest.raises(Killed):
        run(two_moderators, event)
    subject = posts.table.get({"pk": f"EFFECT#moderation:{POST.id}:v1", "sk": "EFFECT"})
    assert subject is not None
    assert "gsi5pk" not in subject
    # When the schedule runs while the dead run's claims last, then once they are over
    clock = two_moderators.ledger.clock
    during = run(two_moderators, SCHEDULE)
    clock.advance(minutes=5)
    after = run(two_moderators, SCHEDULE)
    # Then the reconciliation left it to its holder first, then sent each email once
    assert (during["reconciled"]["done"], after["reconciled"]["done"]) == (0, 3)
    assert recipients() == sorted([*MODERATORS, POSTER])
    # and a later schedule sends nothing more
    assert run(two_moderators, SCHEDULE)["reconciled"]["done"] == 0
    assert len(sent_mail()) == 3


class ShortContext(FakeContext):
    """An invocation with less time left than an effect needs (its sweep took the rest)."""

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 500


def test_a_schedule_without_time_left_reconciles_nothing_and_the_next_one_does(
    activations: ActivationStore,
    posts: PostStore,
    two_moderators: PolicedHandler,
    deployment: Deployment,
) -> None:
    # Given a new post whose stream record is never delivered
    activations.create_activation(make_activation())
    posts.create_post(POST, Contact(POSTER))
    # When the schedule runs with less time left than an effect needs
    short = two_moderators.lambda_handler(SCHEDULE, ShortContext("moderate"))
    # Then it records and claims nothing (a claim is an attempt), and the next run with
    # time sends each email once
    assert short["reconciled"]["subjects"] == 0
    assert posts.table.get({"pk": f"EFFECT#moderation:{POST.id}:v1", "sk": "EFFECT"}) is None
    assert run(two_moderators, SCHEDULE)["reconciled"]["done"] == 3
    assert recipients() == sorted([*MODERATORS, POSTER])


def test_an_email_ses_refused_all_day_goes_once_when_an_operator_rearms_it(
    activations: ActivationStore,
    posts: PostStore,
    two_moderators: PolicedHandler,
    deployment: Deployment,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from entraide.cli import main as entraide
    from entraide.cli_target import Target

    # Given SES refusing the poster's email at each attempt (the account's sending paused)
    # until the ledger gives it up (two attempts here, about a day's thirty deployed)
    ledger = two_moderators.ledger
    monkeypatch.setattr(ledger, "max_attempts", 2)
    key = f"moderation:{POST.id}:v1"
    event = new_post_record(activations, posts, deployment)
    plan = FaultPlan()
    plan.fail("sesv2", "SendEmail", BEFORE, where=to_poster, times=10)
    with plan.active():
        run(two_moderators, event)
        ledger.clock.advance(hours=2)
        run(two_moderators, SCHEDULE)
    record = DynamoDBLedgerStore(posts.table).get(key)
    assert record is not None
    assert len(record.needing_look()) == 1
    assert recipients() == sorted(MODERATORS)
    # When SES takes emails again, and an operator lists, then rearms, what was given up
    target = Target(dict(deployment.outputs), boto3.client, "test stack")
    monkeypatch.setattr("entraide.cli_effects.resolve_target", lambda args: target)
    monkeypatch.setattr("entraide.cli_effects.utcnow", ledger.clock)
    assert entraide(["effects", "list", "--owner", "moderate"]) == 0
    listed = capsys.readouterr().out
    assert entraide(["effects", "rearm", "--all"]) == 0
    rearmed = capsys.readouterr().out
    # Then the list names the subject and its given-up email, never the poster's address
    assert f"[moderate] {key}: " in listed
    assert "=given-up attempts=2" in listed
    assert "1 sujet(s) avec un effet abandonné ou en doute" in listed
    assert POSTER not in listed
    assert f"{key} : relancé (" in rearmed
    assert "1 sujet(s) relancé(s)" in rearmed
    # and the moderation schedule sends the poster's email, once
    run(two_moderators, SCHEDULE)
    run(two_moderators, SCHEDULE)
    assert recipients() == sorted([*MODERATORS, POSTER])
    assert entraide(["effects", "rearm", key]) == 0
    assert f"{key} : rien à relancer" in capsys.readouterr().out
