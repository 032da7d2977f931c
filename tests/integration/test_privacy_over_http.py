"""Personal data end to end, as `make run` runs it: the privacy page, a person's link by
email (var/outbox), erasure from it, and the operators' `entraide privacy erase` for a
request by letter or phone; then nothing of the person is left in the table."""

from __future__ import annotations

import email
import email.policy
import io
import json
import re
from contextlib import redirect_stdout

import pytest
import requests

from entraide.cli import main as entraide

from .conftest import RunningStack

pytestmark = pytest.mark.integration

PHONE = "07 11 22 33 44"


@pytest.fixture(scope="module", autouse=True)
def aude(local_stack: RunningStack) -> None:
    argv = ["activation", "open", "-d", "11", "--state-dir", str(local_stack.state_dir)]
    assert entraide([*argv, "--hazard", "inondation"]) == 0


def post_need(stack: RunningStack, address: str, title: str) -> str:
    response = requests.post(
        stack.api_url + "offers",
        json={
            "kind": "need",
            "category": "hebergement",
            "title": title,
            "description": f"Maison inondée. Appelez le {PHONE}.",
            "postcode": "11000",
            "commune": "Carcassonne",
            "email": address,
            "phone": PHONE,
            "consent": True,
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    post_id: str = response.json()["id"]
    return post_id


def table_text(stack: RunningStack) -> str:
    stack.stack.drain(timeout=15)
    pages = stack.dynamodb.get_paginator("scan").paginate(TableName=stack.table_name)
    return json.dumps([item for page in pages for item in page["Items"]], ensure_ascii=False)


def my_posts_link(stack: RunningStack, address: str) -> str:
    stack.stack.drain(timeout=15)
    for path in sorted(stack.outbox.glob("*-my-posts-*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        text = message.get_body(preferencelist=("plain",))
        if message["To"] == address and text is not None:
            [link] = re.findall(r"https?://\S+/mes-annonces/\S+", text.get_content())
            return str(link)
    raise AssertionError(f"no my-posts email to {address}")


def test_a_person_erases_their_data_from_the_link_they_receive(
    local_stack: RunningStack,
) -> None:
    address = "efface.moi@example.org"
    # Given a person's post (moderated: its emails went out)
    post_id = post_need(local_stack, address, "Toit pour deux, Trèbes")
    assert address in table_text(local_stack)
    # When they read the privacy page, then ask for their link
    privacy = requests.get(local_stack.api_url + "donnees-personnelles", timeout=10)
    assert privacy.status_code == 200
    assert "donnees-personnelles@" in privacy.text
    asked = requests.post(local_stack.api_url + "mes-annonces", data={"email": address}, timeout=10)
    assert asked.status_code == 200
    # Then an email in the outbox holds it; opening it lists their post
    link = my_posts_link(local_stack, address)
    page = requests.get(link, timeout=10)
    assert page.status_code == 200
    assert "Toit pour deux" in page.text
    # When they erase everything from it
    token = re.search(r"token=([^&\s]+)", link)
    assert token is not None
    erased = requests.post(
        link.split("?")[0],
        data={"token": requests.utils.unquote(token.group(1)), "action": "erase", "confirm": "on"},
        timeout=10,
    )
    assert erased.status_code == 200, erased.text
    # Then the table holds nothing of them: no address, no number, no text
    held = table_text(local_stack)
    assert address not in held
    assert PHONE not in held
    assert "Toit pour deux" not in held
    # and the post is withdrawn (it keeps what the monthly figures count)
    item = local_stack.get_item(f"POST#{post_id}", "POST")
    assert item is not None
    assert item["status"]["S"] == "withdrawn"


def test_an_operator_erases_a_person_on_request_by_letter(local_stack: RunningStack) -> None:
    address = "courrier.postal@example.org"
    # Given a person's two posts
    first = post_need(local_stack, address, "Repas chauds")
    second = post_need(local_stack, address, "Couvertures")
    local_stack.stack.drain(timeout=15)
    # When an operator runs the command
    out = io.StringIO()
    argv = ["privacy", "erase", "--email", address, "--state-dir", str(local_stack.state_dir)]
    with redirect_stdout(out):
        assert entraide(argv) == 0
    printed = out.getvalue()
    # Then it says what it erased, without the address
    assert "Annonces effacées : 2" in printed
    assert first in printed
    assert second in printed
    assert address not in printed
    # and nothing of the person is left
    held = table_text(local_stack)
    assert address not in held
    assert PHONE not in held
    # a second run finds nothing
    again = io.StringIO()
    with redirect_stdout(again):
        assert entraide(argv) == 0
    assert "Rien à effacer" in again.getvalue()
