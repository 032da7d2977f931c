"""Issue 6 end to end: approving a need and then a matching offer nearby tells both people;
the near-me page and API show the offer; a helper is reached through the platform."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from entraide.cli import main as entraide

from .conftest import RunningStack
from .test_moderation_over_http import body, decide, moderation_links, outbox_mails
from .test_races_over_http import approve_counterparts_at_once_then_check_one_match

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def aude(local_stack: RunningStack) -> None:
    argv = ["activation", "open", "-d", "11", "--state-dir", str(local_stack.state_dir)]
    assert entraide([*argv, "--hazard", "inondation"]) == 0


def publish(stack: RunningStack, **fields: Any) -> str:
    """Post through the API and approve through the moderator's link."""
    response = requests.post(
        stack.api_url + "offers",
        json={"email": f"{fields['kind']}@example.org", "consent": True, **fields},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    post_id: str = response.json()["id"]
    assert decide(moderation_links(stack, post_id)["approve"]).status_code == 200
    stack.stack.drain(timeout=15)
    return post_id


def test_a_need_then_an_offer_nearby_are_matched_and_both_people_told(
    local_stack: RunningStack,
) -> None:
    # Given an approved need in Carcassonne
    need = publish(
        local_stack,
        kind="need",
        category="hebergement",
        title="Besoin d'une chambre",
        description="Deux adultes, maison inondée.",
        postcode="11000",
        commune="Carcassonne",
    )
    # When an offer of lodging is approved in Trèbes (about 8 km away)
    offer = publish(
        local_stack,
        kind="offer",
        category="hebergement",
        title="Chambre d'amis libre",
        description="Au sec, au calme.",
        postcode="11800",
        commune="Trèbes",
    )
    # Then the person in need gets a notice listing the offer, with a contact link
    notices = [m for m in outbox_mails(local_stack) if "près de chez vous" in str(m["Subject"])]
    to_need = [m for m in notices if m["To"] == "need@example.org"]
    to_helper = [m for m in notices if m["To"] == "offer@example.org"]
    assert len(to_need) == 1
    assert len(to_helper) == 1
    text = body(to_need[0], "plain")
    assert "Chambre d'amis libre" in text
    assert "offer@example.org" not in text + body(to_need[0], "html")
    [contact_link] = re.findall(rf"https?://\S+/contact/{offer}\?\S+", text)
    assert f"need={need}" in contact_link
    assert "Besoin d'une chambre" in body(to_helper[0], "plain")

    # And the near-me API and page show the offer near 11000
    found = requests.get(
        local_stack.api_url + "posts",
        params={"postcode": "11000", "commune": "Carcassonne", "kind": "offer"},
        timeout=10,
    )
    assert found.status_code == 200
    items = found.json()["items"]
    assert [item["id"] for item in items] == [offer]
    assert 5 <= items[0]["distance_km"] <= 12
    assert "offer@example.org" not in found.text
    page = requests.get(
        local_stack.api_url + "pres-de-chez-moi",
        params={"postcode": "11000", "commune": "Carcassonne", "kind": "offer"},
        timeout=10,
    )
    assert page.status_code == 200
    assert "Chambre d&#39;amis libre" in page.text or "Chambre d'amis libre" in page.text
    assert requests.get(f"{local_stack.api_url}posts/{offer}", timeout=10).status_code == 200

    # And the person in need writes to the helper through the platform, once
    form = requests.get(contact_link, timeout=10)
    assert form.status_code == 200
    token = parse_qs(urlsplit(contact_link).query)["token"][0]
    sent = requests.post(
        f"{local_stack.api_url}contact/{offer}",
        data={"need": need, "token": token, "message": "Bonjour, merci !", "share_email": "on"},
        timeout=10,
    )
    assert sent.status_code == 200, sent.text
    again = requests.post(
        f"{local_stack.api_url}contact/{offer}",
        data={"need": need, "token": token, "message": "Encore moi"},
        timeout=10,
    )
    assert again.status_code == 429
    messages = [m for m in outbox_mails(local_stack) if "Bonjour, merci !" in body(m, "plain")]
    assert len(messages) == 1
    assert messages[0]["To"] == "offer@example.org"
    assert messages[0]["Reply-To"] == "need@example.org"


def test_a_post_not_approved_has_no_public_page(local_stack: RunningStack) -> None:
    response = requests.post(
        local_stack.api_url + "offers",
        json={
            "kind": "offer",
            "category": "repas",
            "title": "Repas chauds",
            "description": "Tous les soirs.",
            "postcode": "11000",
            "commune": "Carcassonne",
            "email": "cuisine@example.org",
            "consent": True,
        },
        timeout=10,
    )
    post_id = response.json()["id"]
    assert requests.get(f"{local_stack.api_url}posts/{post_id}", timeout=10).status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"postcode": "00000"}, "postcode"),
        ({"postcode": "11000", "radius": "0"}, "radius"),
        ({"postcode": "11000", "radius": "101"}, "radius"),
        ({"postcode": "11000", "kind": "gift"}, "kind"),
        ({"postcode": "11000", "category": "bateau"}, "category"),
    ],
)
def test_bad_near_me_queries_are_400_with_the_field(
    local_stack: RunningStack, params: dict[str, str], field: str
) -> None:
    response = requests.get(local_stack.api_url + "posts", params=params, timeout=10)
    assert response.status_code == 400
    assert field in [error["field"] for error in response.json()["errors"]]


def test_a_replayed_stream_batch_matches_and_emails_nobody_twice(
    local_stack: RunningStack,
) -> None:
    # Given a need and an offer nearby, matched and notified
    need = publish(
        local_stack,
        kind="need",
        category="transport",
        title="Besoin d'un trajet",
        description="Vers la gare.",
        postcode="11000",
        commune="Carcassonne",
    )
    offer = publish(
        local_stack,
        kind="offer",
        category="transport",
        title="Voiture disponible",
        description="Le matin.",
        postcode="11000",
        commune="Carcassonne",
    )
    mails_before = len(outbox_mails(local_stack))
    match = local_stack.get_item(f"MATCH#{need}#{offer}", "MATCH")
    assert match is not None
    # When geomatch gets every batch about these posts again
    batches = [
        event
        for event in local_stack.recorded_events()
        if any(offer in str(record) or need in str(record) for record in event["Records"])
    ]
    assert batches
    for event in batches:
        invocation = local_stack.stack.invoke("geomatch", event)
        assert invocation.ok, invocation.traceback
    # Then no new match record and no new email
    assert local_stack.get_item(f"MATCH#{need}#{offer}", "MATCH") == match
    assert len(outbox_mails(local_stack)) == mails_before


def test_two_counterparts_approved_by_two_moderators_at_once_are_matched_once(
    local_stack: RunningStack,
) -> None:
    # Given functions running at the same time (the local stack's concurrency), and no
    # index lag: the race of the index's lag is the races module's
    approve_counterparts_at_once_then_check_one_match(local_stack, "simultane")
