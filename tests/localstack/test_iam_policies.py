"""Each function's policy, as template.yaml resolves it for a local deployment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from entraide.intake.post_store import contact_key, post_key
from entraide_local.iam.evaluate import Decision, Policy, Request
from entraide_local.iam.policies import FunctionPolicy, function_policies, function_policy
from entraide_local.provision import Deployment, provision
from entraide_local.template import TemplateError, parse_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
BASIC = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]


@pytest.fixture
def deployment() -> Iterator[Deployment]:
    with mock_aws():
        yield provision(TEMPLATE, boto3.Session(region_name="eu-west-3"))


def statements(policy: FunctionPolicy) -> list[dict[str, Any]]:
    return list(policy.document["Statement"])


def decide(policy: FunctionPolicy, action: str, resource: str, **context: Any) -> Decision:
    return Policy(policy.document).evaluate(Request(action, resource, context)).decision


def test_every_function_gets_its_roles_policy_with_sams_additions(
    deployment: Deployment,
) -> None:
    # When every function's policy is resolved from template.yaml
    policies = function_policies(deployment)
    # Then each function has one, with the logs and X-Ray grants SAM attaches
    assert set(policies) == set(deployment.functions)
    for policy in policies.values():
        assert decide(policy, "logs:PutLogEvents", "*") is Decision.ALLOWED
        assert decide(policy, "xray:PutTraceSegments", "*") is Decision.ALLOWED
    # and the stream's one reader gets the stream reads and its on-failure queue, the
    # functions it hands changes to do not read the stream
    router = policies["StreamRouterFunction"]
    stream = deployment.resolve({"Fn::GetAtt": ["EntraideTable", "StreamArn"]})
    assert decide(router, "dynamodb:GetRecords", stream) is Decision.ALLOWED
    assert decide(policies["ModerateFunction"], "dynamodb:GetRecords", stream) is not (
        Decision.ALLOWED
    )
    failures = deployment.resolve({"Fn::GetAtt": ["StreamFailureQueue", "Arn"]})
    assert decide(router, "sqs:SendMessage", failures) is Decision.ALLOWED
    moderate = deployment.resolve({"Fn::GetAtt": ["ModerateFunction", "Arn"]})
    assert decide(router, "lambda:InvokeFunction", moderate) is Decision.ALLOWED
    # and a scheduled function may send its failed runs to its on-failure destination
    scheduled = deployment.resolve({"Fn::GetAtt": ["ScheduledRunFailureQueue", "Arn"]})
    activate = policies["ActivateFunction"]
    assert decide(activate, "sqs:SendMessage", scheduled) is Decision.ALLOWED
    assert decide(activate, "sqs:SendMessage", failures) is Decision.IMPLICIT_DENY
    # while the relay, a queue consumer, reads its queue
    relay_queue = deployment.resolve({"Fn::GetAtt": ["RelayQueue", "Arn"]})
    assert decide(policies["RelayFunction"], "sqs:ReceiveMessage", relay_queue) is Decision.ALLOWED
    assert (
        decide(policies["WebFormFunction"], "sqs:ReceiveMessage", relay_queue)
        is Decision.IMPLICIT_DENY
    )


def test_intrinsics_are_resolved_to_the_deployments_names(deployment: Deployment) -> None:
    # Given the moderate function's statements
    policy = function_policy(deployment, "moderate")
    text = json.dumps(policy.document)
    # Then no intrinsic is left, and they name the deployed resources
    assert "Fn::" not in text
    assert '"Ref"' not in text
    topic = deployment.outputs["ApprovedPostsTopicArn"]
    assert decide(policy, "sns:Publish", topic) is Decision.ALLOWED
    key = "arn:aws:ssm:eu-west-3:123456789012:parameter/shareentraide/link-signing-key"
    assert decide(policy, "ssm:GetParameter", key) is Decision.ALLOWED
    sender = deployment.template.parameters["SenderEmail"].default
    raw = {"ses:FromAddress": sender}
    assert decide(policy, "ses:SendRawEmail", "*", **raw) is Decision.ALLOWED
    # and its arguments for a worker process are plain JSON
    assert json.loads(json.dumps(policy.install_kwargs())) == policy.install_kwargs()
    assert policy.principal == (
        "arn:aws:sts::123456789012:assumed-role/"
        f"entraide-local-ModerateFunctionRole/{deployment.function('moderate').name}"
    )


def test_a_condition_of_the_template_adds_or_removes_a_statement() -> None:
    # Given the relay's secret grant behind `!If [HasXCredentials, ..., AWS::NoValue]`
    with mock_aws():
        without = function_policy(provision(TEMPLATE, boto3.Session()), "relay")
    with mock_aws():
        configured = provision(
            TEMPLATE, boto3.Session(), parameters={"XCredentialsSecret": "x-credentials"}
        )
        with_secret = function_policy(configured, "relay")
    # Then without X credentials no secret is readable, with them only `name-*`
    actions = [s["Action"] for s in statements(without)]
    assert "secretsmanager:GetSecretValue" not in actions
    arn = "arn:aws:secretsmanager:eu-west-3:123456789012:secret:x-credentials-AbCdEf"
    assert decide(with_secret, "secretsmanager:GetSecretValue", arn) is Decision.ALLOWED
    other = arn.replace("x-credentials", "y-credentials")
    assert decide(with_secret, "secretsmanager:GetSecretValue", other) is Decision.IMPLICIT_DENY


def test_geomatch_may_batch_delete_its_notices_only(deployment: Deployment) -> None:
    # Given geomatch's policy (the notice flush deletes in batches)
    policy = function_policy(deployment, "geomatch")
    table = deployment.resolve({"Fn::GetAtt": ["EntraideTable", "Arn"]})
    # Then BatchWriteItem is granted on notice partitions, not on posts
    notices = {"dynamodb:LeadingKeys": ("NOTICE#abc", "NOTICE-DUE")}
    posts = {"dynamodb:LeadingKeys": ("NOTICE#abc", "POST#1")}
    assert decide(policy, "dynamodb:BatchWriteItem", table, **notices) is Decision.ALLOWED
    assert decide(policy, "dynamodb:BatchWriteItem", table, **posts) is Decision.IMPLICIT_DENY


def test_the_public_functions_role_reads_posts_but_never_a_posters_contact_item(
    deployment: Deployment,
) -> None:
    # Given the anonymous-facing function's policy, and a post's keys as the store makes them
    policy = function_policy(deployment, "public_posts")
    table = deployment.resolve({"Fn::GetAtt": ["EntraideTable", "Arn"]})
    post_id = "01K0000000000000000000000"
    post = {"dynamodb:LeadingKeys": (post_key(post_id)["pk"],)}
    contact = {"dynamodb:LeadingKeys": (contact_key(post_id)["pk"],)}
    # Then it may read the post, and is refused the contact item (a partition of its own)
    assert decide(policy, "dynamodb:GetItem", table, **post) is Decision.ALLOWED
    assert decide(policy, "dynamodb:GetItem", table, **contact) is not Decision.ALLOWED


def test_a_managed_policy_the_local_iam_does_not_know_is_refused_by_name(tmp_path: Path) -> None:
    # Given a function that names a managed policy whose document is not modelled
    document = parse_yaml(TEMPLATE.read_text("utf-8"))
    web_form = document["Resources"]["WebFormFunction"]["Properties"]
    web_form["Policies"].append("arn:aws:iam::aws:policy/AmazonS3FullAccess")
    web_form["CodeUri"] = str(ROOT / web_form["CodeUri"])
    document["Resources"]["DomainLayer"]["Properties"]["ContentUri"] = str(ROOT / "src")
    for resource in document["Resources"].values():
        uri = (resource.get("Properties") or {}).get("CodeUri")
        if isinstance(uri, str):
            resource["Properties"]["CodeUri"] = str(ROOT / uri)
    path = tmp_path / "template.json"
    path.write_text(json.dumps(document), "utf-8")
    with mock_aws():
        deployment = provision(path, boto3.Session())
        # When its policy is resolved, Then the error names the policy and what to do
        with pytest.raises(TemplateError, match="AmazonS3FullAccess is not known"):
            function_policy(deployment, "WebFormFunction")


def test_each_function_reads_exactly_the_keys_its_environment_names(
    deployment: Deployment,
) -> None:
    # Given the two key parameters' ARNs (ssm:GetParameter is the whole grant: the AWS
    # managed key aws/ssm lets every principal of the account decrypt through SSM)
    prefix = "arn:aws:ssm:eu-west-3:123456789012:parameter"
    keys = {
        "LINK_SIGNING_KEY_PARAMETER": f"{prefix}/shareentraide/link-signing-key",
        "PSEUDONYM_KEY_PARAMETER": f"{prefix}/shareentraide/pseudonym-key",
    }
    readers = 0
    for logical_id, function in deployment.functions.items():
        policy = function_policy(deployment, logical_id)
        # Then a function may read a key if and only if its environment names it, and no
        # other parameter
        for variable, arn in keys.items():
            allowed = decide(policy, "ssm:GetParameter", arn) is Decision.ALLOWED
            assert allowed == (variable in function.environment), (logical_id, variable)
            readers += allowed
        assert decide(policy, "ssm:GetParameter", f"{prefix}/other") is not Decision.ALLOWED
    assert readers >= 7
