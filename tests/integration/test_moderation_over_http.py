"""Issue 3 end to end over real HTTP: post → moderator email → link → confirm → decision."""

from __future__ import annotations

import email
import email.policy
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from entraide.cli import main as entraide
from entraide.moderation.signing import LinkAction, LinkSigner

from .conftest import RunningStack

pytestmark = pytest.mark.integration

MODERATOR = "moderation@shareentraide.example"
HOSTILE_TITLE = 'Abri <script>alert("x")</script> & "chaud"'


@pytest.fixture(scope="module", autouse=True)
def aude(local_stack: RunningStack) -> None:
    argv = ["activation", "open", "-d", "11", "--state-dir", str(local_stack.state_dir)]
    assert entraide([*argv, "--hazard", "inondation"]) == 0


def outbox_mails(stack: RunningStack) -> list[email.message.EmailMessage]:
    stack.stack.drain(timeout=15)
    files = sorted(stack.outbox.glob("*.eml")) if stack.outbox.exists() else []
    return [parse_mail(path) for path in files]


def parse_mail(path: Path) -> email.message.EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def body(message: email.message.EmailMessage, kind: str) -> str:
    part = message.get_body(preferencelist=(kind,))
    assert part is not None
    content: str = part.get_content()
    return content


def post_need(stack: RunningStack, title: str = "Besoin d'un toit") -> str:
    response = requests.post(
        stack.api_url + "offers",
        json={
            "kind": "need",
            "category": "hebergement",
            "title": title,
            "description": "Maison inondée.\nDeux adultes, un chat.",
            "postcode": "11000",
            "commune": "Carcassonne",
            "email": "sinistre@example.org",
            "consent": True,
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    post_id: str = response.json()["id"]
    return post_id


def mails_about(stack: RunningStack, post_id: str) -> list[email.message.EmailMessage]:
    return [m for m in outbox_mails(stack) if post_id in body(m, "plain")]


def moderation_links(stack: RunningStack, post_id: str) -> dict[str, str]:
    [request] = [m for m in mails_about(stack, post_id) if m["To"] == MODERATOR]
    links = re.findall(r"https?://\S+/moderation/\S+", body(request, "plain"))
    return {parse_qs(urlsplit(link).query)["decision"][0]: link for link in links}


def status_of(stack: RunningStack, post_id: str) -> dict[str, Any]:
    item = stack.get_item(f"POST#{post_id}", "POST")
    assert item is not None
    return item


def decide(link: str, **form: str) -> requests.Response:
    """What the confirmation page's button does: POST its form to the post's URL."""
    query = parse_qs(urlsplit(link).query)
    data = {"decision": query["decision"][0], "token": query["token"][0], **form}
    return requests.post(link.split("?")[0], data=data, timeout=10)


def test_approval_loop_from_post_to_the_relay_queue(local_stack: RunningStack) -> None:
    # Given a post, the poster and the moderator are emailed
    post_id = post_need(local_stack, HOSTILE_TITLE)
    mails = mails_about(local_stack, post_id)
    assert sorted(str(m["To"]) for m in mails) == [MODERATOR, "sinistre@example.org"]
    [request] = [m for m in mails if m["To"] == MODERATOR]
    assert "<script>" not in body(request, "html")
    assert "&lt;script&gt;" in body(request, "html")
    links = moderation_links(local_stack, post_id)
    assert set(links) == {"approve", "reject"}

    # When the moderator opens the approve link, a confirmation page shows, nothing changes
    page = requests.get(links["approve"], timeout=10)
    assert page.status_code == 200
    assert "Approuver cette annonce" in page.text
    assert "&lt;script&gt;" in page.text
    assert "<script>" not in page.text
    assert status_of(local_stack, post_id)["status"] == {"S": "pending"}

    # When the form is posted, the post is approved by that moderator
    decided = decide(links["approve"])
    assert decided.status_code == 200, decided.text
    item = status_of(local_stack, post_id)
    assert item["status"] == {"S": "approved"}
    assert item["decided_by"] == {"S": MODERATOR}

    # Then exactly one message reaches the relay queue, with filterable attributes
    local_stack.stack.drain(timeout=15)
    announced = [m for m in local_stack.queue_messages() if post_id in m["Body"]]
    assert len(announced) == 1
    attributes = {k: v["StringValue"] for k, v in announced[0]["MessageAttributes"].items()}
    assert attributes["kind"] == "need"
    assert attributes["departement"] == "11"
    assert json.loads(announced[0]["Body"])["title"] == HOSTILE_TITLE
    assert "sinistre@example.org" not in announced[0]["Body"]
    # and the relay tweeted it once (dry run), with the link to its public page
    tweets = [t for t in local_stack.tweets() if f"/posts/{post_id}" in t["text"]]
    assert len(tweets) == 1
    assert "#InondationsAude" in tweets[0]["text"]
    assert "<script>" in tweets[0]["text"]  # a tweet is plain text: nothing to escape
    assert "sinistre@example.org" not in tweets[0]["text"]
    # and once on Bluesky and on Mastodon, each in its own form (dry runs)
    [skeet] = [
        s for s in local_stack.published("bluesky") if f"/posts/{post_id}" in s["record"]["text"]
    ]
    assert skeet["record"]["langs"] == ["fr"]
    assert any(f["features"][0]["$type"].endswith("#link") for f in skeet["record"]["facets"])
    [toot] = [t for t in local_stack.published("mastodon") if f"/posts/{post_id}" in t["status"]]
    assert (toot["visibility"], toot["language"]) == ("public", "fr")
    assert "sinistre@example.org" not in skeet["record"]["text"] + toot["status"]
    # and the poster is told, with a withdrawal link
    [notice] = [m for m in mails_about(local_stack, post_id) if "publiée" in str(m["Subject"])]
    assert "/withdraw?token=" in body(notice, "plain")

    # A second click on a used link says who decided and when, and changes nothing
    again = decide(links["reject"])
    assert again.status_code == 409
    assert "déjà été publiée par moderation@shareentraide.example" in again.text
    assert status_of(local_stack, post_id)["status"] == {"S": "approved"}


def test_refusal_loop_keeps_the_post_off_the_relay_queue(local_stack: RunningStack) -> None:
    post_id = post_need(local_stack, "Besoin d'aide pour vider la cave")
    links = moderation_links(local_stack, post_id)
    page = requests.get(links["reject"], timeout=10)
    assert page.status_code == 200
    assert 'name="reason"' in page.text
    response = decide(links["reject"], reason="Annonce en double")
    assert response.status_code == 200
    assert status_of(local_stack, post_id)["status"] == {"S": "rejected"}
    local_stack.stack.drain(timeout=15)
    assert [m for m in local_stack.queue_messages() if post_id in m["Body"]] == []
    [notice] = [m for m in mails_about(local_stack, post_id) if "retenue" in str(m["Subject"])]
    assert "Annonce en double" in body(notice, "plain")


def test_bad_links_are_refused_with_a_french_page_and_change_nothing(
    local_stack: RunningStack,
) -> None:
    first = post_need(local_stack, "Premier besoin")
    second = post_need(local_stack, "Second besoin")
    links = moderation_links(local_stack, first)
    token = parse_qs(urlsplit(links["approve"]).query)["token"][0]
    base = local_stack.api_url
    cases = {
        "forged": (f"{base}moderation/{first}?decision=approve&token=1.9999999999.abc.def", 403),
        "other post": (f"{base}moderation/{second}?decision=approve&token={token}", 403),
        "other decision": (f"{base}moderation/{first}?decision=reject&token={token}", 403),
        "unknown decision": (f"{base}moderation/{first}?decision=maybe&token={token}", 400),
    }
    for name, (url, status) in cases.items():
        response = requests.get(url, timeout=10)
        assert response.status_code == status, name
        assert '<html lang="fr"' in response.text, name
        forged_post = requests.post(
            url.split("?")[0], data=parse_qs(urlsplit(url).query), timeout=10
        )
        assert forged_post.status_code == status, name
    assert status_of(local_stack, first)["status"] == {"S": "pending"}
    assert status_of(local_stack, second)["status"] == {"S": "pending"}


def test_an_expired_link_is_gone(local_stack: RunningStack) -> None:
    # Given a link signed with the stack's own key three days and a minute ago
    post_id = post_need(local_stack, "Besoin ancien")
    ssm = local_stack.stack.client("ssm")
    environment = local_stack.stack.deployment.function("decision").environment
    name = environment["LINK_SIGNING_KEY_PARAMETER"]
    key = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"].encode()
    long_ago = datetime.now(UTC) - timedelta(hours=72, minutes=1)
    token = LinkSigner(key, now=lambda: long_ago).sign(post_id, LinkAction.APPROVE, 1, MODERATOR)
    url = f"{local_stack.api_url}moderation/{post_id}?decision=approve&token={token}"
    # Then the page says it expired, with 410, and the POST changes nothing
    response = requests.get(url, timeout=10)
    assert response.status_code == 410
    assert "expiré" in response.text
    assert decide(url).status_code == 410
    assert status_of(local_stack, post_id)["status"] == {"S": "pending"}


def test_a_replayed_stream_batch_sends_no_second_mail_or_message(
    local_stack: RunningStack,
) -> None:
    post_id = post_need(local_stack, "Besoin rejoué")
    decide(moderation_links(local_stack, post_id)["approve"])
    mails_before = len(outbox_mails(local_stack))
    relay_before = len(local_stack.queue_messages())
    tweets_before = len(local_stack.tweets())
    # When every batch the table's stream delivered about the post is delivered again
    batches = [
        event
        for event in local_stack.recorded_events()
        if any(post_id in json.dumps(record) for record in event["Records"])
    ]
    assert batches
    for event in batches:
        invocation = local_stack.stack.invoke("moderate", event)
        assert invocation.ok
        assert invocation.value == {"batchItemFailures": []}
    # Then nothing is sent again
    assert len(outbox_mails(local_stack)) == mails_before
    assert len(local_stack.queue_messages()) == relay_before
    assert len(local_stack.tweets()) == tweets_before


def test_a_redelivered_relay_message_tweets_once(local_stack: RunningStack) -> None:
    # Given an approved post the relay already tweeted
    post_id = post_need(local_stack, "Besoin redistribué")
    decide(moderation_links(local_stack, post_id)["approve"])
    [message] = [m for m in local_stack.queue_messages() if post_id in m["Body"]]
    before = [t for t in local_stack.tweets() if post_id in t["text"]]
    assert len(before) == 1
    # When SQS delivers the same message again
    event = {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": "redelivered",
                "body": message["Body"],
                "attributes": {"ApproximateReceiveCount": "2"},
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-3:123456789012:relay",
                "awsRegion": "eu-west-3",
            }
        ]
    }
    invocation = local_stack.stack.invoke("relay", event)
    # Then nothing is tweeted again
    assert invocation.value == {"batchItemFailures": []}
    assert [t for t in local_stack.tweets() if post_id in t["text"]] == before


def test_the_poster_withdraws_an_approved_post(local_stack: RunningStack) -> None:
    post_id = post_need(local_stack, "Besoin bientôt satisfait")
    decide(moderation_links(local_stack, post_id)["approve"])
    [notice] = [m for m in mails_about(local_stack, post_id) if "publiée" in str(m["Subject"])]
    [link] = re.findall(r"https?://\S+/withdraw\?token=\S+", body(notice, "plain"))
    page = requests.get(link, timeout=10)
    assert page.status_code == 200
    assert "Retirer votre annonce" in page.text
    assert status_of(local_stack, post_id)["status"] == {"S": "approved"}
    token = parse_qs(urlsplit(link).query)["token"][0]
    done = requests.post(link.split("?")[0], data={"token": token}, timeout=10)
    assert done.status_code == 200
    assert status_of(local_stack, post_id)["status"] == {"S": "withdrawn"}
    again = requests.post(link.split("?")[0], data={"token": token}, timeout=10)
    assert again.status_code == 409
    assert "moderation@" not in again.text
