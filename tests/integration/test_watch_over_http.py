"""Issue 18 end to end in the stack `make run` starts: the watch reads its recorded answers
(X, Bluesky, Mastodon, an institutional feed) through the networks' real clients, the
community manager's digest lands in the outbox, and its *Relayer* link, confirmed, reposts
once into the channel's outbox."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from entraide_local.state import fire_from_state

from .conftest import RunningStack
from .test_moderation_over_http import body, outbox_mails

pytestmark = pytest.mark.integration

MANAGER = "veille@entraide.example"
RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "watch"
LOCAL_STACK_PARAMETERS = {"WatchRecordedAnswers": str(RECORDED), "WatchDigestRecipients": MANAGER}


class ConfirmForm(HTMLParser):
    """The confirmation page's form: where it posts, and its fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = named.get("action") or ""
        if tag == "input" and named.get("name"):
            self.fields[str(named["name"])] = named.get("value") or ""


def confirm_form(page: requests.Response) -> tuple[str, dict[str, str]]:
    form = ConfirmForm()
    form.feed(page.text)
    assert form.action is not None, "the confirmation page has no form"
    return urljoin(page.url, form.action), form.fields


def reposts(stack: RunningStack) -> dict[str, list[dict[str, Any]]]:
    """Every repost the relay wrote in its dry run, by file (``<channel>-reposts.jsonl``)."""
    stack.stack.drain(timeout=15)
    return {
        path.name: [json.loads(line) for line in path.read_text("utf-8").splitlines()]
        for path in sorted(stack.outbox.glob("*-reposts.jsonl"))
    }


def test_recorded_sources_give_a_digest_whose_relayer_reposts_once(
    local_stack: RunningStack,
) -> None:
    # Given the watch fired by an operator (`entraide local fire watch --event …`): collect
    # now, and the digest now
    fired = fire_from_state(
        local_stack.state_dir, "watch", fields={"collect": True, "digest": True}
    )
    result = fired["result"]
    # Then every source was read from its recorded answer, none failed
    assert result["collected"] is True, result
    assert result["failed"] == [], result
    assert result["skipped"] == [], result
    assert result["kept"] > 0, result

    # and the community manager's digest is in the outbox, with a Relayer link per item
    [digest] = [m for m in outbox_mails(local_stack) if str(m["To"]) == MANAGER]
    text = body(digest, "plain")
    relay_links = re.findall(
        r"^ *(\S+)\r?\n *Pourquoi : .*\r?\n *Relayer : (\S+)", text, flags=re.MULTILINE
    )
    assert relay_links, text
    # the first is X's best post (X's group comes first), with its public page
    page_url, link = relay_links[0]
    assert page_url.startswith("https://x.com/"), page_url
    assert reposts(local_stack) == {}

    # When the manager opens the first Relayer link: a confirmation page, nothing reposted
    page = requests.get(link, timeout=10)
    assert page.status_code == 200
    assert "Relayer ce message ?" in page.text
    assert reposts(local_stack) == {}

    # When the manager confirms (the page's form), then confirms again
    action, fields = confirm_form(page)
    first = requests.post(action, data=fields, timeout=10)
    second = requests.post(action, data=fields, timeout=10)

    # Then one repost in the channel's outbox, and the second click refused
    assert first.status_code == 200
    assert second.status_code == 409
    # (X's repost names the post by its id, the last part of its page)
    [repost] = reposts(local_stack).pop("tweets-reposts.jsonl")
    assert repost["repost"] == page_url.rsplit("/", 1)[-1]
    assert reposts(local_stack) == {"tweets-reposts.jsonl": [repost]}


def test_a_fire_whose_event_fields_are_not_an_object_is_refused(local_stack: RunningStack) -> None:
    # When the watch is fired with fields that are not a JSON object
    fired = requests.post(local_stack.api_url + "_local/fire/watch", data=b"[1]", timeout=30)
    # Then a 400, and the function did not run
    assert fired.status_code == 400
    assert "X-Local-Function" not in fired.headers
