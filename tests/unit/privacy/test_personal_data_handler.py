"""The personal_data handler under its template policy (moto): the privacy page, "my posts"
by email, withdrawal, and erasure on request, until nothing of the person is left."""

from __future__ import annotations

import email
import email.policy
import html
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from entraide.activation.activation_store import ActivationStore
from entraide.adapters.table import Table
from entraide.intake.post_store import PostStore
from entraide.kernel.model import Contact, Kind, PostStatus
from entraide.matching.notice_store import NoticeStore, Role
from entraide.privacy.pseudonyms import Pseudonyms, keys_from_secret
from entraide_local.provision import Deployment
from tests.events import api_request
from tests.factories import RETENTION, make_activation, make_post
from tests.unit.conftest import (
    FakeContext,
    PolicedHandler,
    UnderPolicy,
    load_handler,
    use_function_environment,
)

FUNCTION = "personal_data"
ADDRESS = "Sinistre.Aude@Example.org"
PHONE = "06 12 34 56 78"
OTHER = "voisin@example.org"
BASE = "https://entraide.example/"


@pytest.fixture
def handler(
    monkeypatch: pytest.MonkeyPatch, deployment: Deployment, under_policy: UnderPolicy
) -> PolicedHandler:
    use_function_environment(monkeypatch, deployment, FUNCTION)
    monkeypatch.setenv("OUTBOX_DIR", "")
    monkeypatch.setenv("PUBLIC_BASE_URL", BASE)
    return PolicedHandler(load_handler(FUNCTION, "personal_data_app"), under_policy, FUNCTION)


@pytest.fixture
def keys(handler: PolicedHandler) -> Pseudonyms:
    """The pseudonyms under the deployed key (what intake writes with)."""
    import os

    secret = boto3.client("ssm").get_parameter(
        Name=os.environ["PSEUDONYM_KEY_PARAMETER"], WithDecryption=True
    )["Parameter"]["Value"]
    return Pseudonyms(lambda: keys_from_secret(secret))


def call(handler: PolicedHandler, method: str, path: str, **form: str) -> dict[str, Any]:
    body = urlencode(form) if method == "POST" else None
    event = api_request(
        method,
        path,
        body=body,
        content_type="application/x-www-form-urlencoded" if body is not None else None,
        accept="text/html",
    )
    if method == "GET" and "?" in path:
        path, query = path.split("?", 1)
        params = dict(pair.split("=", 1) for pair in query.split("&"))
        event.update(path=path, resource=path)
        event["queryStringParameters"] = params
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in params.items()}
    response: dict[str, Any] = handler.lambda_handler(event, FakeContext(FUNCTION))
    return response


def sent_to(address: str) -> list[email.message.EmailMessage]:
    found = []
    for sent in ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-3"].sent_messages:
        message = email.message_from_string(sent.raw_data, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        if address.lower() in str(message["To"]).lower():
            found.append(message)
    return found


def everything(table: Table) -> str:
    pages = table.client.get_paginator("scan").paginate(TableName=table.table_name)
    return json.dumps([item for page in pages for item in page["Items"]], ensure_ascii=False)


def relay_requests(deployment: Deployment) -> list[dict[str, Any]]:
    response = boto3.client("sqs").receive_message(
        QueueUrl=deployment.outputs["RelayQueueUrl"],
        MaxNumberOfMessages=10,
        VisibilityTimeout=0,
    )
    return [json.loads(message["Body"]) for message in response.get("Messages", [])]


def test_the_privacy_page_states_the_periods_and_whom_to_write_to(
    handler: PolicedHandler,
) -> None:
    response = call(handler, "GET", "/donnees-personnelles")
    assert response["statusCode"] == 200
    page = html.unescape(response["body"]).replace("\xa0", " ")
    assert "30 jours" in page
    assert "14 jours" in page
    assert "donnees-personnelles@shareentraide.example" in page
    assert re.search(r'href="(\./)?mes-annonces"', page)


def test_a_person_receives_their_link_withdraws_a_post_and_erases_everything(
    handler: PolicedHandler, deployment: Deployment, table: Table, keys: Pseudonyms
) -> None:
    # Given a person with a public post (notices queued for them) and a waiting one, typed
    # with their address in its text, and a neighbour's post
    now = datetime.now(UTC)
    posts = PostStore(table, pseudonyms=keys, retention=RETENTION)
    ActivationStore(table).create_activation(make_activation(opened_at=now))
    public = make_post(id="P-PUBLIC", created_at=now, title="Toit pour deux")
    waiting = make_post(
        id="P-WAITING",
        kind=Kind.OFFER,
        created_at=now,
        title="Chambre au sec",
        description=f"Écrivez à {ADDRESS}.",
    )
    neighbour = make_post(id="P-OTHER", created_at=now, title="Repas chauds")
    posts.create_post(public, Contact(ADDRESS, PHONE))
    posts.create_post(waiting, Contact(ADDRESS, PHONE))
    posts.create_post(neighbour, Contact(OTHER))
    posts.transition(public, PostStatus.APPROVED, at=now, by="moderation@shareentraide.example")
    NoticeStore(table, memory=RETENTION.after_end).queue(
        keys.of(ADDRESS),
        Role.NEED,
        need_id=public.id,
        offer_id="P-OTHER",
        distance_km=2.0,
        now=now,
        due_at=now + timedelta(hours=1),
    )

    # When they ask for their link, twice, and a stranger asks for an unknown address
    answer = call(handler, "POST", "/mes-annonces", email=f"  {ADDRESS.lower()} ")
    again = call(handler, "POST", "/mes-annonces", email=ADDRESS)
    stranger = call(handler, "POST", "/mes-annonces", email="inconnu@example.org")

    # Then every answer is the same page, and one email went, to the person only
    assert answer["statusCode"] == again["statusCode"] == stranger["statusCode"] == 200
    assert answer["body"] == again["body"] == stranger["body"]
    [mail] = sent_to(ADDRESS)
    assert sent_to("inconnu@example.org") == []
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    content = text.get_content()
    assert "Toit pour deux" in content
    assert "Chambre au sec" in content
    assert "donnees-personnelles" in content  # the footer's privacy link
    [link] = re.findall(rf"{re.escape(BASE)}mes-annonces/\S+", content)
    assert ADDRESS.lower() not in link.lower()
    path = urlsplit(link).path.removeprefix("/")
    query = urlsplit(link).query
    token = query.removeprefix("token=")

    # When they open it: their two posts, not the neighbour's
    page = call(handler, "GET", f"/{path}?{query}")
    assert page["statusCode"] == 200
    body = html.unescape(page["body"])
    assert "Toit pour deux" in body
    assert "Chambre au sec" in body
    assert "Repas chauds" not in body
    assert ADDRESS not in body

    # When they withdraw the waiting post
    withdrawn = call(handler, "POST", f"/{path}", token=token, action="withdraw", post="P-WAITING")
    assert withdrawn["statusCode"] == 200
    assert posts.get_post("P-WAITING").status is PostStatus.WITHDRAWN

    # When they ask to erase without ticking the box: nothing happens
    unticked = call(handler, "POST", f"/{path}", token=token, action="erase")
    assert unticked["statusCode"] == 400
    assert posts.get_post("P-PUBLIC").status is PostStatus.APPROVED

    # When they erase everything
    erased = call(handler, "POST", f"/{path}", token=token, action="erase", confirm="on")
    assert erased["statusCode"] == 200

    # Then nothing of them is left in the table: address, number, pseudonym, texts
    held = everything(table)
    for trace in (ADDRESS, ADDRESS.lower(), PHONE, *keys.candidates(ADDRESS)):
        assert trace not in held, trace
    assert "Toit pour deux" not in held
    # the neighbour keeps theirs
    assert OTHER in held
    assert "Repas chauds" in held
    # the public post was withdrawn, and its announcement asked down from X
    assert posts.get_post("P-PUBLIC").status is PostStatus.WITHDRAWN
    assert any("P-PUBLIC" in json.dumps(request) for request in relay_requests(deployment))
    # and their page now says nothing is kept
    after = call(handler, "GET", f"/{path}?{query}")
    assert "Nous ne gardons plus aucune annonce" in html.unescape(after["body"])


def test_a_forged_link_is_refused_and_changes_nothing(handler: PolicedHandler) -> None:
    person = "a" * 64
    response = call(handler, "POST", f"/mes-annonces/{person}", token="forged", action="erase",
                    confirm="on")  # fmt: skip
    assert response["statusCode"] in (400, 403)


def test_a_bad_address_is_a_400_page_with_the_form(handler: PolicedHandler) -> None:
    response = call(handler, "POST", "/mes-annonces", email="pas-une-adresse")
    assert response["statusCode"] == 400
    assert 'name="email"' in response["body"]
