"""Inputs that once crashed a function (a 502): each is now a clear 4xx that changes nothing."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from entraide.cli import main as entraide

from .conftest import RunningStack
from .test_moderation_over_http import moderation_links, post_need, status_of

pytestmark = pytest.mark.integration

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module", autouse=True)
def aude(local_stack: RunningStack) -> None:
    argv = ["activation", "open", "-d", "11", "--state-dir", str(local_stack.state_dir)]
    assert entraide([*argv, "--hazard", "inondation"]) == 0


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 20_000 + b"]" * 20_000,  # nested 20,000 deep
        b'{"title": ' + b"7" * 5_000 + b"}",  # a number of 5,000 digits
        b'{"title": "\xff\xfe"}',  # not UTF-8
    ],
    ids=["nested", "long-number", "not-utf8"],
)
def test_json_python_cannot_read_is_a_400(local_stack: RunningStack, body: bytes) -> None:
    # Given a body json.loads cannot take
    items_before = local_stack.item_count()
    # When it is posted
    answer = requests.post(
        local_stack.api_url + "offers",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    # Then it is a French 400 on the body, in JSON that browsers never sniff, nothing written
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["field"] == "body"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert local_stack.item_count() == items_before


@pytest.mark.parametrize("version", ["9" * 5_000, "²"], ids=["5000-digits", "superscript"])
def test_a_moderation_token_with_a_strange_version_is_refused(
    local_stack: RunningStack, version: str
) -> None:
    # Given a pending post and its approval link, whose token's version is replaced
    post_id = post_need(local_stack, "Besoin au jeton trafiqué")
    link = moderation_links(local_stack, post_id)["approve"]
    token = parse_qs(urlsplit(link).query)["token"][0]
    forged = ".".join([version, *token.split(".")[1:]])
    url = link.split("?")[0]

    # When the link is opened and its form posted
    page = requests.get(url, params={"decision": "approve", "token": forged}, timeout=10)
    posted = requests.post(url, data={"decision": "approve", "token": forged}, timeout=10)

    # Then both are refused as a forged link, and the post waits still
    assert (page.status_code, posted.status_code) == (403, 403)
    assert status_of(local_stack, post_id)["status"] == {"S": "pending"}


@pytest.mark.parametrize("path", ["moderation/01KXXXXXXXXXXXXXXXXXXXXXXX", "contact/01KYYYY"])
def test_a_form_of_invalid_utf8_is_a_400(local_stack: RunningStack, path: str) -> None:
    # Given a form body whose bytes are not UTF-8
    body = b"decision=approve&token=\xff\xfe\xfd&need=01K&message=\xc3"
    # When it is posted to a page's form
    answer = requests.post(local_stack.api_url + path, data=body, headers=FORM, timeout=10)
    # Then it is a French page with 400, not a crash
    assert answer.status_code == 400, answer.text
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "UTF-8" in answer.text


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "offers"), ("GET", "wp-login.php"), ("DELETE", ""), ("PUT", "posts/01K")],
)
def test_an_unknown_route_or_method_answers_french_json(
    local_stack: RunningStack, method: str, path: str
) -> None:
    # Given a route the API does not have (GET /offers was one in the history)
    # When it is requested
    answer = requests.request(method, local_stack.api_url + path, timeout=10)
    # Then the gateway's answer comes from the template: French, never sniffed
    assert answer.status_code == 404
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "n'existe pas sur ShareEntraide" in answer.json()["errors"][0]["message"]


def test_a_body_over_api_gateways_limit_answers_french_json(local_stack: RunningStack) -> None:
    # Given a body over API Gateway's 10 MB
    body = b"x" * (10 * 1024 * 1024 + 1)
    # When it is posted
    answer = requests.post(
        local_stack.api_url + "offers",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    # Then the gateway refuses it in French
    assert answer.status_code == 413
    assert "trop volumineuse" in answer.json()["errors"][0]["message"]
