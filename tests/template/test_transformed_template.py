"""The template CloudFormation sees: SAM's transform of template.yaml, linted by cfn-lint.

`make lint` runs the same check (`python -m entraide_local.transform`); these tests prove it
catches what `cfn-lint template.yaml` alone lets through.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from entraide_local.transform import (
    errors_of,
    lint,
    main,
    packaged,
    transform_document,
)

API_URL = "https://${EntraideApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}/"


def with_own_api_url(sam_document: dict[str, Any], function: str) -> dict[str, Any]:
    """A copy of the template where `function` is given its own API's URL (as main did)."""
    document = copy.deepcopy(sam_document)
    properties = document["Resources"][function]["Properties"]
    variables = properties.setdefault("Environment", {}).setdefault("Variables", {})
    variables["PUBLIC_BASE_URL"] = {"Fn::Sub": API_URL}
    return document


def rule_ids(matches: list[Any]) -> set[str]:
    return {str(match.rule.id) for match in matches}


def test_the_transformed_template_has_no_lint_error(transformed: dict[str, Any]) -> None:
    # Given template.yaml through SAM's transform (fixture)
    # When cfn-lint reads what CloudFormation would deploy
    errors = errors_of(lint(transformed))

    # Then nothing in it would fail the deploy
    assert [f"{match.rule.id} {match.message}" for match in errors] == []
    # and it is the whole stack: the functions' roles and the API's deployment are there
    types = {resource["Type"] for resource in transformed["Resources"].values()}
    assert {"AWS::Lambda::Function", "AWS::IAM::Role", "AWS::ApiGateway::RestApi"} <= types


@pytest.mark.parametrize("function", ["PublicPostsFunction", "ContactFunction"])
def test_an_api_function_referring_to_its_own_api_fails_the_lint(
    sam_document: dict[str, Any], function: str
) -> None:
    # Given an API function whose environment names its own API
    document = with_own_api_url(sam_document, function)

    # When the template is transformed and linted
    errors = errors_of(lint(transform_document(document)))

    # Then cfn-lint sees the circular dependency that CloudFormation refuses
    circular = [match.message for match in errors if match.rule.id == "E3004"]
    assert any(function in message and "EntraideApi" in message for message in circular)


def test_cfn_lint_on_the_sam_template_alone_does_not_see_it(
    sam_document: dict[str, Any],
) -> None:
    # Given the same circular reference
    document = packaged(with_own_api_url(sam_document, "PublicPostsFunction"))

    # When cfn-lint reads the SAM template itself (what `make lint` did before)
    matches = lint(document)

    # Then it finds no circular dependency: only the transformed template shows it
    assert "E3004" not in rule_ids(matches)


def test_the_command_fails_the_build_on_a_circular_reference(
    sam_document: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a template file with the circular reference, written as JSON (CloudFormation
    # reads both)
    broken = tmp_path / "template.json"
    broken.write_text(json.dumps(with_own_api_url(sam_document, "PublicPostsFunction")))
    out = tmp_path / "transformed.json"

    # When `make lint` runs the check on it
    status = main([str(broken), "--out", str(out)])

    # Then it exits non-zero and names the resources
    assert status == 1
    report = capsys.readouterr().err
    assert "E3004 Resources.PublicPostsFunction" in report
    assert json.loads(out.read_text())["Resources"]["PublicPostsFunction"]
