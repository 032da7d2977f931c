"""Activations opened and closed by an operator: announced once, posts expired on closing."""

from __future__ import annotations

import pytest
import requests

from entraide.cli import main as entraide

from .conftest import RunningStack

pytestmark = pytest.mark.integration


def cli(stack: RunningStack, *args: str) -> int:
    return entraide([*args, "--state-dir", str(stack.state_dir)])


def test_opening_and_closing_are_announced_once_and_closing_expires_posts(
    local_stack: RunningStack,
) -> None:
    # Given an activation opened by an operator, and a post under it
    assert cli(local_stack, "activation", "open", "-d", "30", "--hazard", "crues") == 0
    [opened] = [m for m in local_stack.relay_bodies() if m["event"] == "activation-opened"]
    assert (opened["departements"], opened["hashtag"], opened["origin"]) == (
        ["30"],
        "#CruesGard",
        "manual",
    )
    response = requests.post(
        local_stack.api_url + "offers",
        json={
            "kind": "offer",
            "category": "transport",
            "title": "Voiture disponible",
            "description": "Trajets vers Alès.",
            "postcode": "30100",
            "email": "aide@example.org",
            "consent": True,
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    post_id = response.json()["id"]
    # When the operator closes it
    assert cli(local_stack, "activation", "close", opened["activation_id"]) == 0
    messages = local_stack.relay_bodies()
    # Then one closing message, the opening still announced once, and the post expired
    assert [m["event"] for m in messages if m["activation_id"] == opened["activation_id"]] == [
        "activation-opened",
        "activation-closed",
    ]
    item = local_stack.get_item(f"POST#{post_id}", "POST")
    assert item is not None
    assert item["status"] == {"S": "expired"}
    assert item["gsi1pk"] == {"S": "POST#expired"}
