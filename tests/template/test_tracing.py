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


def test_the_api_stage_is_sampled_at_a_fixed_rate_without_a_reservoir(
    transformed: dict[str, Any],
) -> None:
    # Given the template as CloudFormation deploys it
    resources = transformed["Resources"]
    [stage_id] = [i for i, r in resources.items() if r["Type"] == "AWS::ApiGateway::Stage"]
    stage = resources[stage_id]["Properties"]
    rules = [
        r["Properties"]["SamplingRule"]
        for r in resources.values()
        if r["Type"] == "AWS::XRay::SamplingRule"
    ]

    # Then one rule of its own samples the API's stage, ahead of X-Ray's default rule
    # (Priority 10000), whose reservoir of one a second would record nearly every request
    [rule] = rules
    assert rule["ServiceType"] == "AWS::ApiGateway::Stage"
    assert 1 <= rule["Priority"] < 10000
    # a trace for one request in twenty, and none recorded beyond that rate
    assert rule["ReservoirSize"] == 0
    assert rule["FixedRate"] == 0.05
    # and it names this API's stage, not every API of the account
    arn = rule["ResourceARN"]["Fn::Sub"]
    assert "/restapis/${" + stage["RestApiId"]["Ref"] + "}/stages/${Stage}" in arn
    assert stage["StageName"] == {"Ref": "Stage"}
    assert all(rule[field] == "*" for field in ("Host", "HTTPMethod", "URLPath", "ServiceName"))
    # its name is unique per API and within RuleName's 32 characters (an API id has 10)
    assert rule["RuleName"] == {"Fn::Sub": "api-${" + stage["RestApiId"]["Ref"] + "}"}
