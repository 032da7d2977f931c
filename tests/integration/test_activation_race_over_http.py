"""One open activation per hazard family and département, under the local stack's concurrency.

Two `activate` runs overlap (a quarter-hour's run still going when the next one, or an
operator's `entraide local fire`, starts) while an operator opens the Aude by hand: all
three read before any of them writes. The alert source is a server that holds its answer
until both runs have asked for it, so that they plan from the same empty table at the
same moment; the operator's command starts as the answers go out.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from entraide.cli import main as entraide
from entraide.kernel.model import Hazard, HazardFamily
from tests.local_http import Answer, serving

from .conftest import ROOT, RunningStack, free_port

pytestmark = pytest.mark.integration

PORT = free_port()
# The recorded orange flood level on the Aude that `make run` replays.
DOCUMENT = (ROOT / "infra/replay/HANDMADE_vigicrues_orange_aude.json").read_bytes()
LOCAL_STACK_PARAMETERS = {
    "AlertSources": json.dumps(
        [{"name": "vigicrues", "url": f"http://127.0.0.1:{PORT}/InfoVigiCru", "replay": True}]
    )
}

both_asked = threading.Barrier(2, timeout=30)
answered = threading.Event()


@pytest.fixture(scope="module", autouse=True)
def source() -> Iterator[None]:
    """Vigicrues, answering only once two runs are waiting for it."""

    def answer(path: str) -> Answer:
        both_asked.wait()
        answered.set()
        return 200, {"Content-Type": "application/ld+json"}, DOCUMENT

    with serving(answer, port=PORT):
        yield


def test_two_overlapping_runs_and_an_operator_open_the_aude_once(local_stack: RunningStack) -> None:
    results: list[Any] = []
    codes: list[int] = []

    def run() -> None:
        try:
            results.append(local_stack.stack.fire("activate"))
        except Exception as error:  # a run that fails is retried by Lambda; kept to look at
            results.append(error)

    def operator() -> None:
        answered.wait(timeout=30)
        argv = ["activation", "open", "-d", "11", "--hazard", "inondation"]
        codes.append(entraide([*argv, "--state-dir", str(local_stack.state_dir)]))

    # When two activate runs and an operator's opening overlap
    threads = [threading.Thread(target=run) for _ in range(2)]
    threads.append(threading.Thread(target=operator))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    local_stack.stack.drain(timeout=30)

    # Then the Aude has one open activation for water, whoever won
    water = [
        activation
        for activation in local_stack.cli_json("activation", "list")
        if Hazard(activation["hazard"]).family is HazardFamily.EAU
        and "11" in activation["departements"]
    ]
    assert len(water) == 1, water
    # and one opening was announced
    openings = [
        body
        for body in local_stack.relay_bodies()
        if body["event"] == "activation-opened" and "11" in body["departements"]
    ]
    assert len(openings) == 1
    # and every run ended well: the losers saw the winner's activation
    assert all(isinstance(result, dict) for result in results), results
    assert sum(result["opened"] for result in results) + codes.count(0) == 1
