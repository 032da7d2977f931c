"""Faults the local stack must survive or expose as AWS would, against the real template."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests

from entraide.cli import main as entraide
from entraide_local.template import ScheduleEvent

from .conftest import RunningStack
from .test_moderation_over_http import (
    MODERATOR,
    decide,
    mails_about,
    moderation_links,
    post_need,
    status_of,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def aude(local_stack: RunningStack) -> None:
    argv = ["activation", "open", "-d", "11", "--state-dir", str(local_stack.state_dir)]
    assert entraide([*argv, "--hazard", "inondation"]) == 0


def test_a_title_with_a_lone_surrogate_is_refused_on_its_field_and_nothing_is_written(
    local_stack: RunningStack,
) -> None:
    # Given a post whose title holds a lone surrogate (valid JSON "\\ud800", not storable)
    items_before = local_stack.item_count()
    refused = requests.post(
        local_stack.api_url + "offers",
        json={
            "kind": "need",
            "category": "hebergement",
            "title": "Abri \ud800 cassé",
            "description": "Texte.",
            "postcode": "11000",
            "commune": "Carcassonne",
            "email": "surrogate@example.org",
            "consent": True,
        },
        timeout=10,
    )
    items_after_refusal = local_stack.item_count()

    # When a valid post follows
    post_id = post_need(local_stack, "Besoin après la panne")

    # Then the first was refused on its title, with nothing written for it
    assert refused.status_code == 400
    assert [error["field"] for error in refused.json()["errors"]] == ["title"]
    assert items_after_refusal == items_before
    # and the stream consumers still run: the moderator got the valid post
    assert [m["To"] for m in mails_about(local_stack, post_id) if m["To"] == MODERATOR] == [
        MODERATOR
    ]


def test_two_clicks_on_one_moderation_link_at_once_give_one_decision(
    local_stack: RunningStack,
) -> None:
    # Given a pending post and its approval link
    post_id = post_need(local_stack, "Besoin cliqué deux fois")
    link = moderation_links(local_stack, post_id)["approve"]
    start = threading.Barrier(2)
    answers: list[Any] = []

    def click() -> None:
        start.wait()
        answers.append(decide(link))

    # When the confirmation is posted twice at the same moment
    clicks = [threading.Thread(target=click) for _ in range(2)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join(timeout=30)

    # Then one click decided, the other was told it was already decided
    assert sorted(answer.status_code for answer in answers) == [200, 409]
    assert status_of(local_stack, post_id)["status"] == {"S": "approved"}
    # and the post was announced once and its poster told once
    local_stack.stack.drain(timeout=15)
    assert len([m for m in local_stack.queue_messages() if post_id in m["Body"]]) == 1
    told = [m for m in mails_about(local_stack, post_id) if "publiée" in str(m["Subject"])]
    assert len(told) == 1


def test_every_scheduled_function_completes_as_deployed_by_default(
    local_stack: RunningStack,
) -> None:
    # Given the stack as deployed by default: no X credentials (the relay's dry run)
    stack = local_stack.stack
    scheduled = [
        function
        for function in stack.deployment.functions.values()
        if function.spec.events_of(ScheduleEvent)
    ]
    assert len(scheduled) >= 4

    # When each scheduled function is fired with the event EventBridge sends
    outcomes = {
        function.display_name: stack.sources.scheduler.fire_now(function.logical_id)
        for function in scheduled
    }

    # Then every run completed without error
    failures = {name: run.traceback for name, run in outcomes.items() if not run.ok}
    assert failures == {}
