"""Each function's execution-role policy, as the template resolves it for a deployment.

SAM's own transform (aws-sam-translator) turns each `AWS::Serverless::Function` into a role:
inline `Statement` policies, SAM policy templates (`DynamoDBCrudPolicy`...), the permissions
SAM adds itself (event source mappings' managed policies, on-failure destinations), `!If` and
`AWS::NoValue`. The role's documents are then resolved against the local deployment (`!Sub`,
`!GetAtt`, `!Ref`, `!If`, `!Join` to the physical names and ARNs in moto), and the AWS
managed policies it names are replaced by their documents (`managed.py`). The statements of
all the role's policies are merged into one document: for identity-based evaluation only the
set of statements counts.

The transform is `entraide_local.transform`'s (offline, code folders as `s3://` URIs, managed
policies named by ARN); its output is cached per template file and region.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..provision import Deployment
from ..template import Template, TemplateError, intrinsic_call
from ..transform import TransformError, transform_template
from .managed import managed_policy


@dataclass(frozen=True)
class FunctionPolicy:
    """A function's identity: its role's merged policy document and its assumed-role ARN."""

    logical_id: str
    function_name: str
    role_name: str
    account: str
    document: Mapping[str, Any]

    @property
    def principal(self) -> str:
        return f"arn:aws:sts::{self.account}:assumed-role/{self.role_name}/{self.function_name}"

    def install_kwargs(self) -> dict[str, Any]:
        """JSON arguments of `entraide_local.iam.install` (or `acting_as`) for this function."""
        return {"policy": copy.deepcopy(dict(self.document)), "principal": self.principal}


def function_policies(deployment: Deployment) -> dict[str, FunctionPolicy]:
    """The policy of every function of the deployment, by logical id."""
    resources = transformed_resources(deployment.template, deployment.region)
    return {
        logical_id: _function_policy(deployment, resources, logical_id)
        for logical_id in deployment.functions
    }


def function_policy(deployment: Deployment, name: str) -> FunctionPolicy:
    """One function's policy, by logical id or code folder name."""
    logical_id = deployment.function(name).logical_id
    resources = transformed_resources(deployment.template, deployment.region)
    return _function_policy(deployment, resources, logical_id)


def transformed_resources(template: Template, region: str) -> Mapping[str, Any]:
    """The Resources of the template after SAM's transform (cached per file and region)."""
    stat = template.path.stat()
    return _transform(str(template.path), stat.st_mtime_ns, stat.st_size, region)


@functools.cache
def _transform(path: str, mtime_ns: int, size: int, region: str) -> Mapping[str, Any]:
    try:
        output = transform_template(path, region=region)
    except TransformError as error:
        raise TemplateError(f"{path}: {error}") from None
    resources: Mapping[str, Any] = output["Resources"]
    return resources


def _function_policy(
    deployment: Deployment, resources: Mapping[str, Any], logical_id: str
) -> FunctionPolicy:
    where = f"Resources.{logical_id}"
    role = (resources.get(logical_id) or {}).get("Properties", {}).get("Role")
    call = intrinsic_call(role)
    if call is None or call[0] != "Fn::GetAtt":
        raise TemplateError(f"{where}.Role: only a role of the template can be enforced: {role!r}")
    role_id = call[1][0] if isinstance(call[1], list) else str(call[1]).split(".")[0]
    statements = []
    for name, document in _role_documents(deployment, resources, role_id):
        for index, statement in enumerate(_statements(document, f"{name}")):
            statements.append({"Sid": statement.get("Sid") or f"{name}[{index}]", **statement})
    function = deployment.functions[logical_id]
    return FunctionPolicy(
        logical_id=logical_id,
        function_name=function.name,
        role_name=deployment.physical_id(role_id),
        account=deployment.account_id,
        document={"Version": "2012-10-17", "Statement": statements},
    )


def _role_documents(
    deployment: Deployment, resources: Mapping[str, Any], role_id: str
) -> list[tuple[str, Any]]:
    """(name, resolved document) of every policy attached to the role."""
    where = f"Resources.{role_id}"
    role = resources.get(role_id) or {}
    if role.get("Type") != "AWS::IAM::Role":
        raise TemplateError(f"{where}: expected an AWS::IAM::Role")
    properties = role.get("Properties") or {}
    if "PermissionsBoundary" in properties:
        raise TemplateError(f"{where}.PermissionsBoundary: not modelled by the local IAM")
    documents = []
    for index, policy in enumerate(deployment.resolve(properties.get("Policies") or [], where)):
        documents.append((str(policy.get("PolicyName", index)), policy["PolicyDocument"]))
    for arn in properties.get("ManagedPolicyArns") or []:
        documents.append(_managed(deployment, resources, arn, f"{where}.ManagedPolicyArns"))
    for other_id, other in resources.items():  # AWS::IAM::Policy resources naming the role
        if other.get("Type") != "AWS::IAM::Policy":
            continue
        if other.get("Condition") and not deployment.resolver.condition(
            other["Condition"], f"Resources.{other_id}"
        ):
            continue
        roles = (other.get("Properties") or {}).get("Roles") or []
        if {"Ref": role_id} in roles:
            body = deployment.resolve(other["Properties"]["PolicyDocument"], other_id)
            documents.append((other_id, body))
    return documents


def _managed(
    deployment: Deployment, resources: Mapping[str, Any], arn: Any, where: str
) -> tuple[str, Any]:
    call = intrinsic_call(arn)
    if call is not None and call[0] == "Ref" and call[1] in resources:
        managed = resources[call[1]]
        if managed.get("Type") != "AWS::IAM::ManagedPolicy":
            raise TemplateError(f"{where}: {call[1]} is not an AWS::IAM::ManagedPolicy")
        body = deployment.resolve(managed["Properties"]["PolicyDocument"], call[1])
        return str(call[1]), body
    resolved = deployment.resolver.resolve_text(arn, where)
    try:
        return resolved.rsplit("/", 1)[-1], managed_policy(resolved)
    except KeyError as error:
        raise TemplateError(f"{where}: {error.args[0]}") from None


def _statements(document: Any, where: str) -> list[dict[str, Any]]:
    statements = document.get("Statement") if isinstance(document, Mapping) else None
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
        raise TemplateError(f"{where}: expected a policy document with statements")
    return [dict(statement) for statement in statements]
