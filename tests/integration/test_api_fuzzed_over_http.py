"""The API fuzzed from its own OpenAPI document against the local stack: no input gets a 5xx.

schemathesis generates requests from ``src/entraide/web/openapi.json`` (valid and invalid
bodies, query strings and paths, within what the document declares and beyond it) and sends
them over HTTP to the stack as ``make run`` starts it. Bounded: ``EXAMPLES`` per operation
and generation mode, so that the run stays within a few minutes on a shared machine.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from entraide.cli import main as entraide
from tests.paths import ROOT

from .conftest import RunningStack

pytestmark = pytest.mark.integration

EXAMPLES = 150
DOCUMENT = ROOT / "src" / "entraide" / "web" / "openapi.json"


@pytest.fixture(scope="module", autouse=True)
def aude(local_stack: RunningStack) -> None:
    argv = ["activation", "open", "-d", "11", "--state-dir", str(local_stack.state_dir)]
    assert entraide([*argv, "--hazard", "inondation"]) == 0


schema = schemathesis.openapi.from_path(DOCUMENT)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure is reproducible
    suppress_health_check=list(HealthCheck),
)
def test_no_input_gets_a_server_error(case: schemathesis.Case, local_stack: RunningStack) -> None:
    # Given any request the document allows, or nearly allows
    # When it is sent / Then the answer is never a 5xx, and is what the document says
    case.call_and_validate(
        base_url=local_stack.api_url,
        timeout=30,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
