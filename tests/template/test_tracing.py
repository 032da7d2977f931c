"""X-Ray records the people's requests, not the schedules' sweeps (see the comment beside
``Globals.Function.Tracing`` in template.yaml)."""

from __future__ import annotations

from typing import Any


def test_functions_trace_only_what_their_caller_sampled(transformed: dict[str, Any]) -> None:
    # Given the template as CloudFormation deploys it
    resources = transformed["Resources"]
    functions = {
        logical_id: resource["Properties"]
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Lambda::Function"
    }

    # Then no function starts traces of its own (Active would trace every scheduled sweep)
    modes = {
        logical_id: p.get("TracingConfig", {}).get("Mode") for logical_id, p in functions.items()
    }
    assert set(modes.values()) == {"PassThrough"}, modes
    # and each may still send the segments of a sampled request (SAM's X-Ray policy)
    roles = [r for r in resources.values() if r["Type"] == "AWS::IAM::Role"]
    with_xray = [
        role
        for role in roles
        if any(
            "AWSXrayWriteOnlyAccess" in str(arn)
            for arn in role["Properties"].get("ManagedPolicyArns", [])
        )
    ]
    assert len(with_xray) >= len(functions)


def test_the_api_samples_the_requests_it_traces(transformed: dict[str, Any]) -> None:
    # Given the template as CloudFormation deploys it, Then the API's stage traces (and so
    # samples) the requests that the functions behind it then trace
    stages = [
        r["Properties"]
        for r in transformed["Resources"].values()
        if r["Type"] == "AWS::ApiGateway::Stage"
    ]
    assert stages
    assert all(stage.get("TracingEnabled") is True for stage in stages)
