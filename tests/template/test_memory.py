"""Memory sizes: Lambda gives CPU in proportion to memory and bills GB-seconds, so a
function that mostly waits on calls costs half as much with half the memory, while the
functions behind the API keep theirs for their cold starts (see the comment beside
``Globals.Function.MemorySize`` in template.yaml, and bench/cost.py)."""

from __future__ import annotations

from typing import Any

Document = dict[str, Any]


def _memory(sam_document: Document) -> dict[str, int]:
    default = sam_document["Globals"]["Function"]["MemorySize"]
    return {
        logical_id: resource["Properties"].get("MemorySize", default)
        for logical_id, resource in sam_document["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def _behind_the_api(sam_document: Document) -> set[str]:
    return {
        logical_id
        for logical_id, resource in sam_document["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
        and any(
            event.get("Type") == "Api"
            for event in (resource["Properties"].get("Events") or {}).values()
        )
    }


def test_the_functions_people_wait_for_keep_their_memory(sam_document: Document) -> None:
    # Given the template's functions and those an API route invokes
    memory = _memory(sam_document)
    api = _behind_the_api(sam_document)

    # Then each function behind the API has 512 MB at least (its cold start is a person's wait)
    assert api
    assert all(memory[logical_id] >= 512 for logical_id in api), memory


def test_the_functions_that_wait_on_calls_have_half_of_it(sam_document: Document) -> None:
    # Given the functions of a post's way that spend their time waiting on other services
    memory = _memory(sam_document)
    waiting = {"ModerateFunction", "GeomatchFunction", "RelayFunction"}

    # Then they have 256 MB: half the GB-seconds of their waits, the same CPU cost
    assert not waiting & _behind_the_api(sam_document)
    assert {logical_id: memory[logical_id] for logical_id in waiting} == dict.fromkeys(waiting, 256)
