"""Races that only show when indexes lag behind the table, as global secondary indexes do.

The stack runs with an index lag (`LocalStack(index_lag=...)`): a query on an index sees an
item as it was ``INDEX_LAG`` seconds ago, as a GSI may in AWS.
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

# Long enough for both approvals and geomatch's searches of both to fall within it, on a
# loaded machine too (a search makes a Query per place range it reads: a second was not)
INDEX_LAG = 5.0
LOCAL_STACK_OPTIONS = {"index_lag": INDEX_LAG}
# an approval's match is due once the index has caught up
LOCAL_STACK_PARAMETERS = {"MatchDelaySeconds": str(INDEX_LAG)}


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
    approve_counterparts_at_once_then_check_one_match(local_stack, "course")


def approve_counterparts_at_once_then_check_one_match(stack: RunningStack, tag: str) -> None:
    """Two counterparts approved by two moderators at the same moment: one match, one email
    to each person (shared by the tests with and without an index lag)."""
    # Given a need and an offer nearby, both waiting for moderation
    need = submit(
        stack,
        kind="need",
        category="hebergement",
        title="Besoin d'un lit ce soir",
        description="Une personne.",
        postcode="11000",
        commune="Carcassonne",
        email=f"besoin-{tag}@example.org",
    )
    offer = submit(
        stack,
        kind="offer",
        category="hebergement",
        title="Un lit de libre",
        description="Chez nous.",
        postcode="11800",
        commune="Trèbes",
        email=f"offre-{tag}@example.org",
    )
    links = [moderation_links(stack, post)["approve"] for post in (need, offer)]
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
    stack.stack.drain(timeout=30)
    time.sleep(stack.stack.index_lag)
    stack.stack.drain(timeout=30)
    # and the quarter-hour's schedule comes: the approvals' subjects are due (the index has
    # caught up by then)
    run = stack.stack.sources.scheduler.fire_now("GeomatchFunction")
    assert run.ok, run.traceback
    stack.stack.drain(timeout=30)

    # Then the pair is recorded once, and each person gets one email about it
    assert stack.get_item(f"MATCH#{need}#{offer}", "MATCH") is not None
    notices = [m for m in outbox_mails(stack) if "près de chez vous" in str(m["Subject"])]
    to_need = [m for m in notices if m["To"] == f"besoin-{tag}@example.org"]
    to_offer = [m for m in notices if m["To"] == f"offre-{tag}@example.org"]
    assert len(to_need) == 1
    assert len(to_offer) == 1
    assert "Un lit de libre" in body(to_need[0], "plain")


def open_activation(stack: RunningStack, departement: str) -> str:
    argv = ["activation", "open", "-d", departement, "--state-dir", str(stack.state_dir)]
    assert entraide([*argv, "--hazard", "vent-violent"]) == 0
    time.sleep(INDEX_LAG + 0.2)  # the list reads an index
    [found] = [a for a in stack.cli_json("activation", "list") if departement in a["departements"]]
    identifier: str = found["id"]
    return identifier


def close_activation(stack: RunningStack, activation_id: str) -> None:
    argv = ["activation", "close", activation_id, "--state-dir", str(stack.state_dir)]
    assert entraide(argv) == 0


def test_a_post_sent_just_after_its_activation_closed_is_refused(
    local_stack: RunningStack,
) -> None:
    # Given an activation for the Gard, that the form's index shows open
    activation = open_activation(local_stack, "30")
    # When it is closed, and a post for Nîmes comes while the index still shows it open
    close_activation(local_stack, activation)
    response = requests.post(
        local_stack.api_url + "offers",
        json={
            "consent": True,
            "kind": "offer",
            "category": "transport",
            "title": "Voiture disponible",
            "description": "Trajets dans Nîmes.",
            "postcode": "30000",
            "commune": "Nîmes",
            "email": "trop-tard@example.org",
        },
        timeout=10,
    )
    # Then it is refused, and nothing is stored under the closed activation
    assert response.status_code == 409, response.text
    assert "n'est pas activé" in response.json()["errors"][0]["message"]


def test_an_approval_crossing_the_closing_of_its_activation_never_leaves_it_public(
    local_stack: RunningStack,
) -> None:
    # Given a pending post of an activation for the Hérault, and its approval link
    activation = open_activation(local_stack, "34")
    post_id = submit(
        local_stack,
        kind="need",
        category="repas",
        title="Repas pour quatre",
        description="Cuisine inondée.",
        postcode="34000",
        commune="Montpellier",
        email="croisement@example.org",
    )
    link = moderation_links(local_stack, post_id)["approve"]
    time.sleep(INDEX_LAG + 0.2)  # the post is in the status index the closing reads
    # When the activation is closed, and the moderator approves right after
    close_activation(local_stack, activation)
    answer = decide(link)
    local_stack.stack.drain(timeout=30)
    time.sleep(INDEX_LAG)
    local_stack.stack.drain(timeout=30)
    # Then the approval is refused, and the post ends expired, never approved
    assert answer.status_code == 409, answer.text
    item = local_stack.get_item(f"POST#{post_id}", "POST")
    assert item is not None
    assert item["status"] == {"S": "expired"}
