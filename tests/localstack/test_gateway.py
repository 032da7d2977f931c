"""API Gateway's own answers, from the template's GatewayResponses (AWS's JSON otherwise)."""

from __future__ import annotations

import json

import pytest

from entraide_local.gateway import GatewayResponses, gateway_responses
from entraide_local.provision import Deployment
from entraide_local.template import TemplateError, load_template
from tests.paths import ROOT


@pytest.fixture(scope="module")
def project_answers() -> GatewayResponses:
    template = load_template(ROOT / "template.yaml")
    return gateway_responses(Deployment(template, stack_name="gw", region="eu-west-3"))


def test_without_gateway_responses_the_answers_are_aws_defaults() -> None:
    # Given an API that customises nothing
    answers = GatewayResponses()
    # When API Gateway refuses an unknown route, a throttled call, a failed integration
    # Then it answers as AWS does by default
    expected = {
        "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
        "THROTTLED": (429, "Too Many Requests"),
        "REQUEST_TOO_LARGE": (413, "Request Too Long"),
        "INTEGRATION_FAILURE": (502, "Internal server error"),
    }
    for response_type, (status, message) in expected.items():
        answer = answers.answer(response_type)
        assert (answer.status, json.loads(answer.body)) == (status, {"message": message})


@pytest.mark.parametrize(
    ("response_type", "status", "words"),
    [
        ("MISSING_AUTHENTICATION_TOKEN", 404, "n'existe pas"),
        ("THROTTLED", 429, "Réessayez dans une minute"),
        ("REQUEST_TOO_LARGE", 413, "trop volumineuse"),
        ("INTEGRATION_FAILURE", 502, "Réessayez dans quelques minutes"),  # DEFAULT_5XX
        ("DEFAULT_5XX", 500, "Réessayez dans quelques minutes"),
    ],
)
def test_the_projects_answers_are_french_json_never_sniffed(
    project_answers: GatewayResponses, response_type: str, status: int, words: str
) -> None:
    # Given template.yaml's gateway responses / When API Gateway answers an error itself
    answer = project_answers.answer(response_type)
    # Then it is French, in the API's error shape, and no browser sniffs it as a page
    headers = dict(answer.headers)
    assert answer.status == status
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Content-Type-Options"] == "nosniff"
    [error] = json.loads(answer.body)["errors"]
    assert words in error["message"]


def test_a_configured_default_4xx_serves_a_type_left_out() -> None:
    # Given only DEFAULT_4XX is configured
    answers = GatewayResponses(
        {"DEFAULT_4XX": {"ResponseTemplates": {"application/json": '{"errors": []}'}}}
    )
    # When the request is too large / Then DEFAULT_4XX's body comes with the type's status
    answer = answers.answer("REQUEST_TOO_LARGE")
    assert (answer.status, answer.body) == (413, b'{"errors": []}')


def test_a_header_taken_from_the_request_is_not_emulated() -> None:
    answers = GatewayResponses(
        {
            "THROTTLED": {
                "ResponseParameters": {"Headers": {"X-Id": "method.request.header.x-id"}},
            }
        }
    )
    with pytest.raises(TemplateError):
        answers.answer("THROTTLED")
