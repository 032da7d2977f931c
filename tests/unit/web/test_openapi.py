"""The API's OpenAPI document: generated from the handlers' routes, committed, valid."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType

import pytest
from openapi_spec_validator import validate

from entraide.web.api_doc import packaged_openapi
from tests.paths import ROOT


def build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_openapi", ROOT / "scripts/build_openapi.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated() -> str:
    return str(build_script().build_document())


def test_the_committed_document_is_what_the_handlers_describe(generated: str) -> None:
    # Given the handlers' routes / When the document is generated again
    # Then the committed file is the same, byte for byte
    assert packaged_openapi() == generated, "run: python scripts/build_openapi.py"


def test_the_document_is_valid_openapi_and_covers_every_templated_route(generated: str) -> None:
    from entraide_local.template import ApiEvent, load_template

    document = json.loads(generated)
    validate(document)
    # Given every Api event of the template / Then each path and method is described
    described = {
        (path.replace("{post_id}", "{id}").replace("{offer_id}", "{id}"), method.upper())
        for path, operations in document["paths"].items()
        for method in operations
    }
    template = load_template(ROOT / "template.yaml")
    routes = {
        (event.path, event.method)
        for spec in template.functions.values()
        for event in spec.events_of(ApiEvent)
    }
    assert described == routes


def test_a_post_is_described_as_json_or_form_with_its_limits(generated: str) -> None:
    document = json.loads(generated)
    operation = document["paths"]["/offers"]["post"]
    content = operation["requestBody"]["content"]
    assert set(content) == {"application/json", "application/x-www-form-urlencoded"}
    reference = content["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][reference.rsplit("/", 1)[1]]
    title = schema["properties"]["title"]
    assert (title["minLength"], title["maxLength"]) == (3, 120)
    # 303: the form's answer (Post/Redirect/Get); 422: an Idempotency-Key sent with another
    # request than the one it first came with
    assert set(operation["responses"]) == {"201", "303", "400", "409", "413", "415", "422"}
    headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
    assert headers == ["Idempotency-Key"]


def test_importing_the_description_builds_no_model_at_a_cold_start() -> None:
    import subprocess
    import sys

    # Given a fresh interpreter / When a handler's description helpers are imported
    code = "import sys, entraide.web.api_doc; print('entraide.web.api_models' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)  # noqa: S603
    # Then the models wait for the document to be built
    assert result.stdout.strip() == "False"
