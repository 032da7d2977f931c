"""Issue 5 in the local stack: firing activate on a recorded orange flood opens the Aude."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from entraide.cli import main as entraide

from .conftest import RunningStack

pytestmark = pytest.mark.integration

NEED = {
    "kind": "need",
    "category": "nettoyage",
    "title": "Aide pour vider une cave",
    "description": "Cave inondée, besoin de bras et de seaux.",
    "postcode": "11100",
    "commune": "Narbonne",
    "email": "cave@example.org",
    "consent": True,
}


def activation_events(stack: RunningStack) -> list[dict[str, Any]]:
    return [body for body in stack.relay_bodies() if body["event"].startswith("activation-")]


def test_a_recorded_orange_flood_opens_the_aude_once(local_stack: RunningStack) -> None:
    # Given the platform asleep in the Aude
    assert requests.post(local_stack.api_url + "offers", json=NEED, timeout=10).status_code == 409
    # When activate is fired, as `entraide local fire activate` does, twice
    first = local_stack.stack.fire("activate")
    second = local_stack.stack.fire("activate")
    # Then one activation opened from the feed, announced once
    assert first["opened"] == 1
    assert second["opened"] == 0
    assert first["failed_sources"] == []
    [event] = activation_events(local_stack)
    assert event["event"] == "activation-opened"
    assert (event["departements"], event["hazard"], event["hashtag"]) == (
        ["11"],
        "crues",
        "#CruesAude",
    )
    assert event["origin"] == "vigicrues"
    # and tweeted once through the relay (dry run)
    announcements = [t for t in local_stack.tweets() if "est activé pour" in t["text"]]
    assert len(announcements) == 1
    assert "l'Aude" in announcements[0]["text"]
    assert "#CruesAude" in announcements[0]["text"]
    # and the form accepts posts for the Aude
    response = requests.post(local_stack.api_url + "offers", json=NEED, timeout=10)
    assert response.status_code == 201, response.text
    # and the CLI fires it too, through the running stack's control API
    state_dir = str(local_stack.state_dir)
    assert entraide(["local", "fire", "activate", "--state-dir", state_dir]) == 0


def test_manual_activations_are_listed_beside_feed_ones(local_stack: RunningStack) -> None:
    assert (
        entraide(
            [
                "activation",
                "open",
                "-d",
                "34",
                "--hazard",
                "orages",
                "--state-dir",
                str(local_stack.state_dir),
            ]
        )
        == 0
    )
    origins = {a["origin"] for a in local_stack.cli_json("activation", "list")}
    assert {"manual", "vigicrues"} <= origins
    # a feed run leaves the manual activation alone
    assert local_stack.stack.fire("activate")["closed"] == 0
