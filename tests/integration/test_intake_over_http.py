"""Issue 2 end to end: the form and POST /offers over real HTTP against the local stack."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from entraide.cli import main as entraide

from .conftest import RunningStack

pytestmark = pytest.mark.integration

JSON_POST = {
    "kind": "need",
    "category": "hébergement",
    "title": "Besoin d'un toit pour trois nuits",
    "description": "Maison inondée au rez-de-chaussée, deux adultes et un chat.",
    "postcode": "11000",
    "commune": "Carcassonne",
    "email": "sinistre@example.org",
    "phone": "06 12 34 56 78",
    "consent": True,
}


def cli(stack: RunningStack, *args: str) -> int:
    return entraide([*args, "--state-dir", str(stack.state_dir)])


@pytest.fixture(scope="module")
def aude(local_stack: RunningStack) -> str:
    """An activation for the Aude (11), opened and closed through the CLI."""
    assert (
        cli(local_stack, "activation", "open", "--departement", "11", "--hazard", "inondation") == 0
    )
    opened = _open_activations(local_stack)
    assert [activation["departements"] for activation in opened] == [["11"]]
    activation_id: str = opened[0]["id"]
    return activation_id


def _open_activations(stack: RunningStack) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = stack.cli_json("activation", "list")
    return result


def post_json(stack: RunningStack, payload: Any, **kwargs: Any) -> requests.Response:
    return requests.post(stack.api_url + "offers", json=payload, timeout=10, **kwargs)


def test_form_page_is_served_in_french_with_the_open_activation(
    local_stack: RunningStack, aude: str
) -> None:
    response = requests.get(local_stack.api_url, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert '<html lang="fr"' in response.text
    assert "#InondationsAude" in response.text
    assert 'name="postcode"' in response.text


def test_json_post_is_stored_pending_and_its_stream_record_reaches_the_consumer(
    local_stack: RunningStack, aude: str
) -> None:
    # When a need is posted as JSON for Carcassonne
    response = post_json(local_stack, JSON_POST)
    # Then it is accepted as pending
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "pending"
    post_id = body["id"]
    # and the item is in the table, pending, geocoded, linked to the activation
    item = local_stack.get_item(f"POST#{post_id}", "POST")
    assert item is not None
    assert item["status"] == {"S": "pending"}
    assert item["departement"] == {"S": "11"}
    assert item["activation_id"] == {"S": aude}
    assert item["commune"] == {"S": "Carcassonne"}
    # and the contact details are only in the separate contact item
    assert "sinistre@example.org" not in json.dumps(item)
    contact = local_stack.get_item(f"CONTACT#{post_id}", "CONTACT")
    assert contact is not None
    assert contact["email"] == {"S": "sinistre@example.org"}
    # and the stream record was delivered in Lambda's shape, filtered to the post item
    records = [
        record
        for event in local_stack.recorded_events()
        for record in event["Records"]
        if record["dynamodb"]["Keys"]["pk"]["S"] == f"POST#{post_id}"
    ]
    assert len(records) == 1
    record = records[0]
    assert record["eventName"] == "INSERT"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventVersion"] == "1.1"
    assert record["eventSourceARN"].startswith("arn:aws:dynamodb:")
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
    assert record["dynamodb"]["NewImage"]["status"] == {"S": "pending"}
    assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"


def test_form_post_gets_a_french_confirmation_page(local_stack: RunningStack, aude: str) -> None:
    form = {**JSON_POST, "consent": "on", "category": "repas", "website": ""}
    response = requests.post(
        local_stack.api_url + "offers",
        data=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert response.status_code == 201
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Carcassonne" in response.text
    assert "sinistre@example.org" not in response.text


def test_post_where_the_platform_sleeps_is_refused_with_409(
    local_stack: RunningStack, aude: str
) -> None:
    before = local_stack.item_count()
    response = post_json(local_stack, {**JSON_POST, "postcode": "34000", "commune": None})
    assert response.status_code == 409
    [error] = response.json()["errors"]
    assert error["field"] == "postcode"
    assert "n'est pas activé" in error["message"]
    assert "Hérault (34)" in error["message"]
    assert local_stack.item_count() == before


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field", "message"),
    [
        ("{not json", "application/json", 400, "body", "JSON invalide"),
        ("[]", "application/json", 400, "body", "objet JSON"),
        ("kind=need", "text/plain", 415, "body", "Type de contenu non pris en charge"),
        (json.dumps({**JSON_POST, "title": ""}), "application/json", 400, "title", "obligatoire"),
        (
            json.dumps({**JSON_POST, "description": "x" * 1001}),
            "application/json",
            400,
            "description",
            "1000 caractères au maximum",
        ),
        (
            json.dumps({**JSON_POST, "postcode": "00000"}),
            "application/json",
            400,
            "postcode",
            "00000",
        ),
        (
            json.dumps({**JSON_POST, "commune": None}),
            "application/json",
            400,
            "commune",
            "Berriac, Carcassonne",
        ),
        (json.dumps({**JSON_POST, "email": "nope"}), "application/json", 400, "email", "invalide"),
        (
            json.dumps({**JSON_POST, "consent": False}),
            "application/json",
            400,
            "consent",
            "conditions",
        ),
        (
            json.dumps({**JSON_POST, "website": "http://spam.example"}),
            "application/json",
            400,
            "body",
            "pas pu être enregistrée",
        ),
        (
            json.dumps({**JSON_POST, "description": "x" * 70_000}),
            "application/json",
            413,
            "body",
            "trop volumineuse",
        ),
    ],
)
def test_bad_input_gets_a_4xx_with_a_field_message_and_writes_nothing(
    local_stack: RunningStack,
    aude: str,
    body: str,
    content_type: str,
    status: int,
    field: str,
    message: str,
) -> None:
    before = local_stack.item_count()
    response = requests.post(
        local_stack.api_url + "offers",
        data=body.encode(),
        headers={"Content-Type": content_type},
        timeout=10,
    )
    assert response.status_code == status, response.text
    errors = response.json()["errors"]
    assert any(e["field"] == field and message in e["message"] for e in errors), errors
    assert local_stack.item_count() == before


def test_form_with_errors_is_shown_again_with_values_kept(
    local_stack: RunningStack, aude: str
) -> None:
    before = local_stack.item_count()
    form = {**JSON_POST, "consent": "on", "email": "pas-un-email", "title": "Un <b>toit</b>"}
    response = requests.post(
        local_stack.api_url + "offers",
        data=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert response.status_code == 400
    assert "Adresse e-mail invalide." in response.text
    assert 'value="Un &lt;b&gt;toit&lt;/b&gt;"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert local_stack.item_count() == before


def test_closing_an_activation_puts_its_departement_back_to_sleep(
    local_stack: RunningStack,
) -> None:
    # Given an activation for the Hérault, opened by an operator
    assert cli(local_stack, "activation", "open", "-d", "34", "--hazard", "crues") == 0
    [herault] = [a for a in _open_activations(local_stack) if a["departements"] == ["34"]]
    montpellier = {**JSON_POST, "postcode": "34000", "commune": "Montpellier"}
    assert post_json(local_stack, montpellier).status_code == 201
    # When it is closed
    assert cli(local_stack, "activation", "close", herault["id"]) == 0
    # Then posts there are refused again, and closing twice says so and changes nothing
    assert herault["id"] not in [a["id"] for a in _open_activations(local_stack)]
    assert post_json(local_stack, montpellier).status_code == 409
    assert cli(local_stack, "activation", "close", herault["id"]) == 1
