"""The ingest_offer handler under mock_aws, with the table built from template.yaml."""

from __future__ import annotations

import importlib.util
import io
import json
import logging
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest

from entraide.adapters.table import Table
from entraide.intake.post_store import PostStore
from entraide.kernel.model import Activation
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
