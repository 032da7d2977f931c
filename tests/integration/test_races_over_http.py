"""Races that only show when indexes lag behind the table, as global secondary indexes do.

The stack runs with an index lag (`LocalStack(index_lag=...)`): a query on an index sees an
item as it was a second ago, as a GSI may in AWS.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from entraide.cli import main as entraide

from .conftest import RunningStack
from .test_moderation_over_http import body, decide, moderation_links, outbox_mails

pytestmark = pytest.mark.integration

INDEX_LAG = 1.0
LOCAL_STACK_OPTIONS = {"index_lag": INDEX_LAG}


@pytest.fixture(scope="module", autouse=True)
def aude(local_stack: RunningStack) -> None:
    argv = ["activation", "open", "-d", "11", "--state-dir", str(local_stack.state_dir)]
    assert entraide([*argv, "--hazard", "inondation"]) == 0
    time.sleep(INDEX_LAG + 0.2)  # the form finds open activations through an index


def submit(stack: RunningStack, **fields: Any) -> str:
    response = requests.post(stack.api_url + "offers", json={"consent": True, **fields}, timeout=10)
    assert response.status_code == 201, response.text
    post_id: str = response.json()["id"]
    return post_id


def test_two_counterparts_approved_at_the_same_moment_are_matched_once(
    local_stack: RunningStack,
) -> None:
    # Given a need and an offer nearby, both waiting for moderation
    need = submit(
        local_stack,
        kind="need",
        category="hebergement",
        title="Besoin d'un lit ce soir",
        description="Une personne.",
        postcode="11000",
        commune="Carcassonne",
        email="besoin-course@example.org",
    )
    offer = submit(
        local_stack,
        kind="offer",
        category="hebergement",
        title="Un lit de libre",
        description="Chez nous.",
        postcode="11800",
        commune="Trèbes",
        email="offre-course@example.org",
    )
    links = [moderation_links(local_stack, post)["approve"] for post in (need, offer)]
    start = threading.Barrier(2)
    answers: list[requests.Response] = []

    def approve(link: str) -> None:
        start.wait()
        answers.append(decide(link))

    # When two moderators approve them at the same moment
    threads = [threading.Thread(target=approve, args=(link,)) for link in links]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [answer.status_code for answer in answers] == [200, 200]
    local_stack.stack.drain(timeout=30)
    time.sleep(INDEX_LAG)
    local_stack.stack.drain(timeout=30)
    # and the quarter-hour's schedule comes (the index has caught up by then)
    run = local_stack.stack.sources.scheduler.fire_now("GeomatchFunction")
    assert run.ok, run.traceback
    local_stack.stack.drain(timeout=30)

    # Then the pair is recorded once, and each person gets one email about it
    assert local_stack.get_item(f"MATCH#{need}#{offer}", "MATCH") is not None
    notices = [m for m in outbox_mails(local_stack) if "près de chez vous" in str(m["Subject"])]
    to_need = [m for m in notices if m["To"] == "besoin-course@example.org"]
    to_offer = [m for m in notices if m["To"] == "offre-course@example.org"]
    assert len(to_need) == 1
    assert len(to_offer) == 1
    assert "Un lit de libre" in body(to_need[0], "plain")
