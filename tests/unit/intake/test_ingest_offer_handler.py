"""The ingest_offer handler under mock_aws, with the table built from template.yaml: once
only (a request sent again stores nothing more), and only in an open activation."""

from __future__ import annotations

import importlib.util
import io
import json
import logging
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest

from entraide.activation.activation_store import ActivationStore
from entraide.adapters.table import Table
from entraide.intake.post_store import PostStore
from entraide.kernel.model import Activation
from entraide.observability import InvocationFailed
from entraide_local.faults import AFTER, FaultPlan
from entraide_local.provision import Deployment
from tests.events import api_request, load_event
from tests.paths import ROOT
from tests.unit.conftest import PolicedHandler, UnderPolicy, use_function_environment


class FakeContext:
    function_name = "ingest-offer"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-west-3:123456789012:function:ingest-offer"
    memory_limit_in_mb = 512
    aws_request_id = "5f0a1c2e-0000-4000-8000-000000000001"
    log_group_name = "/aws/lambda/ingest-offer"
    log_stream_name = "2026/11/26/[$LATEST]0001"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, deployment: Deployment) -> None:
    use_function_environment(monkeypatch, deployment, "ingest_offer")


@pytest.fixture
def handler(environment: None, under_policy: UnderPolicy) -> PolicedHandler:
    spec = importlib.util.spec_from_file_location(
        "ingest_offer_app", ROOT / "functions" / "ingest_offer" / "app.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return PolicedHandler(module, under_policy, "IngestOfferFunction")


def item_count(table: Table) -> int:
    return int(table.client.scan(TableName=table.table_name, Select="COUNT")["Count"])


def invoke(handler: ModuleType, event: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The handler's response and every log line it wrote."""
    from entraide.observability import logger

    log_handler = logger.registered_handler
    assert isinstance(log_handler, logging.StreamHandler)
    logs = io.StringIO()
    previous = log_handler.setStream(logs)
    try:
        response: dict[str, Any] = handler.lambda_handler(event, FakeContext())
    finally:
        log_handler.setStream(previous)
    return response, logs.getvalue()


def test_recorded_json_post_is_stored_pending(
    posts: PostStore, handler: ModuleType, aude: Activation
) -> None:
    # Given the recorded API Gateway event of a JSON post for Carcassonne... without commune
    event = load_event("apigw_rest_post_offers")
    body = {**json.loads(event["body"]), "commune": "Carcassonne"}
    event["body"] = json.dumps(body)
    # When the handler runs
    response, logs = invoke(handler, event)
    # Then the post is stored pending and its id returned
    assert response["statusCode"] == 201
    created = json.loads(response["body"])
    assert created["status"] == "pending"
    post = posts.get_post(created["id"])
    assert post is not None
    assert (post.activation_id, post.departement, post.commune) == ("ACT-AUDE", "11", "Carcassonne")
    contact = posts.get_contact(created["id"])
    assert contact is not None
    assert (contact.email, contact.phone) == ("sinistre@example.org", "06 12 34 56 78")
    # and the log carries the correlation id but no contact detail
    assert "9d2f5b1e-3c4a-4f6b-8e7d-1a2b3c4d5e6f" in logs
    assert "sinistre@example.org" not in logs
    assert "06 12 34 56 78" not in logs


def test_shared_postcode_without_commune_is_a_400_listing_the_communes(
    handler: ModuleType, table: Table, aude: Activation
) -> None:
    before = item_count(table)
    response, _ = invoke(handler, load_event("apigw_rest_post_offers"))
    assert response["statusCode"] == 400
    [error] = json.loads(response["body"])["errors"]
    assert error["field"] == "commune"
    assert "Berriac, Carcassonne" in error["message"]
    assert item_count(table) == before


def form_post(form: dict[str, str]) -> dict[str, Any]:
    """The event of the web form posted by a browser."""
    return api_request(
        "POST",
        "/offers",
        body=urlencode(form),
        content_type="application/x-www-form-urlencoded",
        accept="text/html",
    )


def test_form_error_page_keeps_values_and_refuses_with_400(
    handler: ModuleType, table: Table, aude: Activation
) -> None:
    before = item_count(table)
    form = {"kind": "offer", "title": "Camionnette", "postcode": "11000", "consent": "on"}
    event = form_post(form)
    response, _ = invoke(handler, event)
    assert response["statusCode"] == 400
    assert response["multiValueHeaders"]["Content-Type"] == ["text/html; charset=utf-8"]
    assert 'value="Camionnette"' in response["body"]
    assert "Ce champ est obligatoire." in response["body"]
    assert item_count(table) == before


def test_a_form_for_a_departement_without_alert_comes_back_filled_in(
    handler: ModuleType, table: Table, aude: Activation
) -> None:
    # Given an alert for the Aude only, and a complete form for Lyon
    form = {
        "kind": "need",
        "category": "repas",
        "title": "Repas pour deux",
        "description": "Cuisine noyée.",
        "postcode": "69001",
        "email": "lyon@example.org",
        "consent": "on",
    }
    event = form_post(form)
    before = item_count(table)
    # When it is posted
    response, _ = invoke(handler, event)
    # Then it is refused with the form as typed, the reason beside the postal code
    assert response["statusCode"] == 409
    page = response["body"]
    assert 'value="Repas pour deux"' in page
    assert 'value="lyon@example.org"' in page
    assert 'id="field-postcode-error"' in page
    assert "Rhône (69)" in page
    assert item_count(table) == before


def test_refusals_are_counted_in_metrics(
    handler: ModuleType, aude: Activation, capsys: pytest.CaptureFixture[str]
) -> None:
    event = api_request("POST", "/offers", body="{", content_type="application/json")
    response, _ = invoke(handler, event)
    assert response["statusCode"] == 400
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    [metrics] = [blob for blob in emitted if "_aws" in blob]
    assert metrics["PostRefused"] == [1.0]
    assert metrics["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ShareEntraide"


# -- once only --------------------------------------------------------------------------

NEED = {
    "kind": "need",
    "category": "hebergement",
    "title": "Besoin d'un toit",
    "description": "Maison inondée, deux adultes.",
    "postcode": "11000",
    "commune": "Carcassonne",
    "email": "sinistre@example.org",
    "consent": True,
}


def post_json(handler: PolicedHandler, body: dict[str, Any], key: str | None) -> dict[str, Any]:
    event = api_request("POST", "/offers", body=json.dumps(body))
    if key is not None:
        event["headers"]["Idempotency-Key"] = key
        event["multiValueHeaders"]["Idempotency-Key"] = [key]
    response, _ = invoke(handler, event)
    return response


def posts_of(table: Table) -> list[str]:
    pages = table.client.get_paginator("scan").paginate(TableName=table.table_name)
    return [
        item["pk"]["S"]
        for page in pages
        for item in page["Items"]
        if item.get("entity", {}).get("S") == "post"
    ]


def test_a_json_request_sent_again_with_its_key_stores_one_post(
    handler: PolicedHandler, table: Table, aude: Activation
) -> None:
    # When a client sends the same request three times with one Idempotency-Key
    answers = [post_json(handler, NEED, "retry-1") for _ in range(3)]
    # Then one post is stored, and every answer names it; the repeats say so
    assert [a["statusCode"] for a in answers] == [201, 201, 201]
    ids = {json.loads(a["body"])["id"] for a in answers}
    assert len(ids) == 1
    assert len(posts_of(table)) == 1
    assert "Idempotent-Replayed" not in answers[0]["multiValueHeaders"]
    assert answers[2]["multiValueHeaders"]["Idempotent-Replayed"] == ["true"]


def test_a_request_whose_answer_was_lost_is_recognised_when_sent_again(
    handler: PolicedHandler, table: Table, aude: Activation
) -> None:
    # Given the post's write taking effect, but its answer lost (the client sees an error)
    plan = FaultPlan()
    plan.fail("dynamodb", "TransactWriteItems", AFTER)
    # (the handler lets only the error's type escape: API Gateway answers 502)
    with plan.active(), pytest.raises(InvocationFailed, match="ReadTimeoutError"):
        post_json(handler, NEED, "timeout-1")
    assert len(posts_of(table)) == 1
    # When the client sends the request again with its key
    again = post_json(handler, NEED, "timeout-1")
    # Then it answers with the post stored by the first attempt, and there is one post
    assert again["statusCode"] == 201
    assert len(posts_of(table)) == 1
    assert f"POST#{json.loads(again['body'])['id']}" in posts_of(table)


def test_a_key_sent_with_another_request_is_refused_and_writes_nothing(
    handler: PolicedHandler, table: Table, aude: Activation
) -> None:
    post_json(handler, NEED, "one-key")
    before = item_count(table)
    other = post_json(handler, {**NEED, "title": "Un autre besoin"}, "one-key")
    assert other["statusCode"] == 422
    assert item_count(table) == before


def test_a_form_answers_with_a_redirect_to_a_confirmation_a_reload_shows_again(
    handler: PolicedHandler, table: Table, aude: Activation
) -> None:
    # Given the form with its one-time token, sent twice (a double click)
    form = {**NEED, "consent": "on", "website": "", "form_token": "tok-" + "x" * 20}
    event = api_request(
        "POST",
        "/offers",
        body=urlencode(form),
        content_type="application/x-www-form-urlencoded",
        accept="text/html",
    )
    answers = [invoke(handler, event)[0] for _ in range(2)]
    # Then each answer sends the browser to the confirmation, and one post is stored
    assert [a["statusCode"] for a in answers] == [303, 303]
    [location] = answers[0]["multiValueHeaders"]["Location"]
    assert location == "offers/confirmation?jeton=tok-" + "x" * 20
    assert len(posts_of(table)) == 1
    # When the browser follows it, then reloads it
    confirmation = api_request(
        "GET", "/offers/confirmation", body=None, content_type=None, accept="text/html"
    )
    confirmation["queryStringParameters"] = {"jeton": "tok-" + "x" * 20}
    confirmation["multiValueQueryStringParameters"] = {"jeton": ["tok-" + "x" * 20]}
    pages = [invoke(handler, confirmation)[0] for _ in range(2)]
    # Then the French confirmation shows each time, and nothing more is stored
    assert [p["statusCode"] for p in pages] == [200, 200]
    assert "Merci, votre annonce est bien reçue" in pages[1]["body"]
    assert "Besoin d&#39;un toit" in pages[1]["body"] or "Besoin d'un toit" in pages[1]["body"]
    assert len(posts_of(table)) == 1


class StaleIndex(ActivationStore):
    """The activations as a lagging index shows them: still open a moment after closing."""

    def __init__(self, table: Table, *shown: Activation) -> None:
        super().__init__(table)
        self.shown = list(shown)

    def open_activations(self) -> list[Activation]:
        return list(self.shown)


def test_a_post_for_an_activation_closed_after_the_index_was_read_is_refused(
    posts: PostStore, activations: ActivationStore, table: Table, aude: Activation
) -> None:
    from datetime import UTC, datetime

    from entraide.intake.posting import submit_post
    from entraide.kernel.errors import PlatformAsleep
    from entraide.kernel.postcodes import PostcodeDirectory

    # Given the Aude's activation closed, while the index still shows it open
    activations.close_activation(aude.id, datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    # When a post for Carcassonne comes
    with pytest.raises(PlatformAsleep):
        submit_post(
            NEED,
            posts=posts,
            activations=StaleIndex(table, aude),
            directory=PostcodeDirectory.default(),
            new_id=lambda: "LATE",
        )
    # Then nothing is stored under the closed activation
    assert posts.get_post("LATE") is None


def test_a_key_read_first_eventually_consistent_and_missed_still_makes_one_post(
    handler: PolicedHandler, table: Table, aude: Activation, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the request keys' reads told, and an eventually consistent read that has not
    # seen yet a key written a moment ago (DynamoDB's replica may lag behind the write)
    store = handler.posts.table
    get = store.get
    reads: list[bool] = []

    def lagging(key: dict[str, Any], **options: Any) -> Any:
        if not str(key["pk"]).startswith("INTAKE-KEY#"):
            return get(key, **options)
        reads.append(options.get("consistent", True))
        return get(key, **options) if options.get("consistent", True) else None

    monkeypatch.setattr(store, "get", lagging)
    # When a request is sent, then again with its key at once
    first = post_json(handler, NEED, "lagging-1")
    # Then the first read its key eventually consistent (half a unit), once
    assert reads == [False]
    again = post_json(handler, NEED, "lagging-1")
    # and the second, missing the key, was stopped by the key's own condition and read it
    # again strongly consistent: the same post, one post stored
    assert reads == [False, False, True]
    assert again["statusCode"] == 201
    assert json.loads(again["body"])["id"] == json.loads(first["body"])["id"]
    assert again["multiValueHeaders"]["Idempotent-Replayed"] == ["true"]
    assert len(posts_of(table)) == 1
