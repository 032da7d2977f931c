"""Create a SAM template's resources in moto and describe the result as a `Deployment`.

Unit tests of other modules build their moto resources from template.yaml, so that a schema
change in the template breaks the test that relies on the old schema::

    import boto3
    from moto import mock_aws
    from entraide_local.provision import provision

    with mock_aws():
        deployment = provision("template.yaml")  # stack "entraide-local", region eu-west-3
        table = boto3.resource("dynamodb", region_name="eu-west-3").Table(
            deployment.physical_id("Table")
        )
        environment = deployment.functions["IngestOfferFunction"].environment

`provision(template, clients)` takes a template path (or a loaded `Template`) and optionally a
boto3 `Session` or any callable `clients("sqs") -> client`; with none, it uses a default
session, which `mock_aws` intercepts. The local stack passes clients pointed at its moto
server. Resources are created in dependency order (a dead-letter queue before the queue that
names it). `AWS::Serverless::*` resources are not created in moto: they get names and ARNs, and
the local stack serves them. Unknown types are skipped and listed in `Deployment.summary()`.
"""

from __future__ import annotations

import graphlib
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .clients import ACCOUNT_ID, DEFAULT_REGION, ClientFactory
from .intrinsics import NO_VALUE, Resolver, referenced_ids
from .resources import (
    CREATORS,
    IGNORED_TYPES,
    STATUS_EXCLUDED,
    STATUS_IGNORED,
    STATUS_LOCAL,
    STATUS_SKIPPED,
    CreateContext,
    PhysicalResource,
)
from .template import (
    DEFAULT_API_STAGE,
    IMPLICIT_API_ID,
    SERVERLESS_API,
    SERVERLESS_FUNCTION,
    ApiEvent,
    FunctionSpec,
    QueueEvent,
    Resource,
    Template,
    TemplateError,
    load_template,
)

DEFAULT_STACK_NAME = "entraide-local"
_MAPPING_NAMESPACE = uuid.UUID("6f1d0b7e-5c3a-4d1e-9b7a-2f4c8e9a1d30")


def mapping_uuid(stack_name: str, function_logical_id: str, event_name: str) -> str:
    """A local event source mapping's UUID: the same at every start of the same stack."""
    return str(uuid.uuid5(_MAPPING_NAMESPACE, f"{stack_name}/{function_logical_id}/{event_name}"))


# Properties of an AWS::Serverless::Api that the local API server honours or need not.
_API_HANDLED = {
    "StageName",
    "Name",
    "Description",
    "EndpointConfiguration",
    "TracingEnabled",
    "GatewayResponses",  # answered by the local API (entraide_local.gateway)
}


@dataclass(frozen=True)
class DeployedFunction:
    spec: FunctionSpec
    name: str  # physical function name
    arn: str
    environment: Mapping[str, str]  # resolved: Globals merged with the function's own
    display_name: str  # for people: the code folder's name unless functions share it
    log_group_name: str  # LoggingConfig.LogGroup, else Lambda's /aws/lambda/<name>

    @property
    def logical_id(self) -> str:
        return self.spec.logical_id


class Deployment:
    """The physical side of a template: names, ARNs and resolved values per logical id."""

    def __init__(self, template: Template, *, stack_name: str, region: str) -> None:
        self.template = template
        self.stack_name = stack_name
        self.region = region
        self.account_id = ACCOUNT_ID
        self.resources: dict[str, PhysicalResource] = {}
        self.functions: dict[str, DeployedFunction] = {}
        self.outputs: dict[str, Any] = {}
        self.resolver = Resolver(template, stack_name=stack_name, region=region, resources=self)

    # -- ResourceLookup for the resolver ------------------------------------------------

    def ref(self, logical_id: str, where: str) -> Any:
        return self._physical(logical_id, where).ref

    def get_att(self, logical_id: str, attribute: str, where: str) -> Any:
        physical = self._physical(logical_id, where)
        if attribute not in physical.attributes:
            known = ", ".join(sorted(physical.attributes)) or "none"
            raise TemplateError(
                f"{where}: {logical_id} ({physical.type}) has no attribute {attribute} "
                f"locally (known: {known})"
            )
        return physical.attributes[attribute]

    def _physical(self, logical_id: str, where: str) -> PhysicalResource:
        physical = self.resources.get(logical_id) or self._implicit(logical_id)
        if physical is None:
            raise TemplateError(f"{where}: no resource named {logical_id}")
        if physical.status == STATUS_EXCLUDED:
            raise TemplateError(f"{where}: {logical_id} is excluded by its Condition")
        return physical

    def _implicit(self, logical_id: str) -> PhysicalResource | None:
        """Resources that SAM generates: the implicit API and each function's role."""
        if logical_id == IMPLICIT_API_ID and any(
            event.rest_api_id is None
            for spec in self.template.functions.values()
            for event in spec.events_of(ApiEvent)
        ):
            return _api(logical_id, SERVERLESS_API, self.stack_name, DEFAULT_API_STAGE)
        owner = logical_id.removesuffix("Role")
        if owner != logical_id and owner in self.template.functions:
            name = f"{self.stack_name}-{logical_id}"[:64]
            arn = f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"
            role = "AWS::IAM::Role"
            return PhysicalResource(logical_id, role, STATUS_IGNORED, name, {"Arn": arn})
        return self._implicit_mapping(logical_id)

    def _implicit_mapping(self, logical_id: str) -> PhysicalResource | None:
        """An `SQS` event's AWS::Lambda::EventSourceMapping, `<function><event>` as SAM names
        it ("CloudFormation resources generated when AWS::Serverless::Function is specified",
        SAM developer guide); `!Ref` gives its UUID, as CloudFormation's Ref does."""
        for function_id, spec in self.template.functions.items():
            for event in spec.events_of(QueueEvent):
                if function_id + event.name == logical_id:
                    ref = mapping_uuid(self.stack_name, function_id, event.name)
                    mapping = "AWS::Lambda::EventSourceMapping"
                    return PhysicalResource(logical_id, mapping, STATUS_LOCAL, ref, {"Id": ref})
        return None

    # -- public helpers ----------------------------------------------------------------

    def resolve(self, value: Any, where: str = "value") -> Any:
        """Evaluate intrinsics in `value` (e.g. an event's `Stream`) against this deployment."""
        return self.resolver.resolve(value, where)

    def physical_id(self, logical_id: str) -> str:
        """What `!Ref LogicalId` gives: table name, queue URL, topic ARN, bucket name..."""
        return str(self.ref(logical_id, f"physical_id({logical_id})"))

    def function(self, name: str) -> DeployedFunction:
        """A function by logical id or code folder name (`activate`), case-insensitive."""
        return self.functions[self.template.function_named(name).logical_id]

    def api_stage(self, event: ApiEvent) -> tuple[str, str]:
        """(API id, stage name) of the REST API that serves an Api event."""
        if event.rest_api_id is None:
            api = self._physical(IMPLICIT_API_ID, "api_stage")
        else:
            api_logical_id = (event.rest_api_id or {}).get("Ref")
            if not isinstance(api_logical_id, str):
                raise TemplateError(f"Events.{event.name}.RestApiId: expected !Ref of an Api")
            api = self._physical(api_logical_id, f"Events.{event.name}.RestApiId")
        return str(api.ref), str(api.attributes.get("StageName", DEFAULT_API_STAGE))

    def summary(self) -> list[str]:
        """One line per resource: logical id, type, what happened locally, physical id."""
        lines = []
        for physical in self.resources.values():
            physical_id = "" if physical.ref is None else f": {physical.ref}"
            note = f"  ({physical.note})" if physical.note else ""
            lines.append(
                f"{physical.logical_id:<28} {physical.type:<30} {physical.status}"
                f"{physical_id}{note}"
            )
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "stack_name": self.stack_name,
            "region": self.region,
            "account_id": self.account_id,
            "template": str(self.template.path),
            "resources": {key: value.to_json() for key, value in self.resources.items()},
            "functions": {
                key: {
                    "name": function.name,
                    "arn": function.arn,
                    "display_name": function.display_name,
                    "environment": dict(function.environment),
                }
                for key, function in self.functions.items()
            },
            "outputs": self.outputs,
        }


def provision(
    template: Template | Path | str,
    clients: ClientFactory | Any | None = None,
    *,
    stack_name: str = DEFAULT_STACK_NAME,
    region: str | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> Deployment:
    """Create the template's resources through `clients` and return the deployment.

    `clients`: a callable `clients(service_name) -> boto3 client`, a `boto3.Session`, or None
    for a default session (what `moto.mock_aws` intercepts). `parameters` override Parameter
    Defaults when `template` is a path.
    """
    if not isinstance(template, Template):
        template = load_template(template, parameters)
    elif parameters:
        raise ValueError("parameters apply when loading: pass them to load_template")
    factory, region = _client_factory(clients, region)
    deployment = Deployment(template, stack_name=stack_name, region=region)
    context = CreateContext(factory, stack_name, region)
    for logical_id in creation_order(template):
        resource = template.resources[logical_id]
        deployment.resources[logical_id] = _provision_one(deployment, context, resource)
    _put_platform_keys(deployment, factory)
    for spec in template.functions.values():
        if deployment.resources[spec.logical_id].status != STATUS_EXCLUDED:
            deployment.functions[spec.logical_id] = _deployed_function(deployment, spec)
    deployment.outputs = _outputs(deployment)
    return deployment


def _put_platform_keys(deployment: Deployment, clients: ClientFactory) -> None:
    """What the deploy instructions do before `sam deploy` (`entraide keys init`): the
    SecureString parameters the template names but cannot create, each put only if absent."""
    from entraide.adapters.keys import PLATFORM_KEYS, put_missing_keys

    names = {
        parameter: str(deployment.resolve({"Ref": parameter}, f"Parameters.{parameter}"))
        for parameter in PLATFORM_KEYS
        if parameter in deployment.template.parameters
    }
    if names:
        put_missing_keys(clients("ssm"), names)


def _client_factory(clients: Any, region: str | None) -> tuple[ClientFactory, str]:
    if clients is None:
        import boto3

        clients = boto3.session.Session(region_name=region or DEFAULT_REGION)
    if hasattr(clients, "client"):  # a boto3 Session
        session = clients
        return (lambda service: session.client(service)), (
            region or session.region_name or DEFAULT_REGION
        )
    return clients, region or getattr(clients, "region", None) or DEFAULT_REGION


def creation_order(template: Template) -> list[str]:
    """Logical ids so that every resource comes after those it refers to or DependsOn."""
    graph = {
        resource.logical_id: (
            (referenced_ids(resource.properties) | set(resource.depends_on))
            & set(template.resources)
        )
        for resource in template.resources.values()
    }
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        raise TemplateError(f"Resources: circular references {error.args[1]}") from None


def _provision_one(
    deployment: Deployment, context: CreateContext, resource: Resource
) -> PhysicalResource:
    where = f"Resources.{resource.logical_id}"
    if resource.condition and not deployment.resolver.condition(resource.condition, where):
        return PhysicalResource(resource.logical_id, resource.type, STATUS_EXCLUDED, None)
    creator = CREATORS.get(resource.type)
    if creator is not None:
        properties = deployment.resolve(resource.properties, f"{where}.Properties")
        return creator(context, resource, properties)
    return _uncreated(deployment, resource)


def _uncreated(deployment: Deployment, resource: Resource) -> PhysicalResource:
    """A resource that moto does not hold: still give it a name and an ARN to refer to."""
    stack, logical_id, kind = deployment.stack_name, resource.logical_id, resource.type
    if kind == SERVERLESS_FUNCTION:
        name = _function_name(deployment, resource)
        arn = f"arn:aws:lambda:{deployment.region}:{ACCOUNT_ID}:function:{name}"
        return PhysicalResource(logical_id, kind, STATUS_LOCAL, name, {"Arn": arn})
    if kind == SERVERLESS_API:
        stage = deployment.resolver.resolve_text(
            resource.properties.get("StageName", DEFAULT_API_STAGE),
            f"Resources.{logical_id}.Properties.StageName",
        )
        api = _api(logical_id, kind, stack, stage)
        unhandled = sorted(set(resource.properties) - _API_HANDLED)
        api.note = f"not emulated: {', '.join(unhandled)}" if unhandled else ""
        return api
    if kind == "AWS::Serverless::LayerVersion":
        name = str(resource.properties.get("LayerName") or f"{stack}-{logical_id}")
        arn = f"arn:aws:lambda:{deployment.region}:{ACCOUNT_ID}:layer:{name}:1"
        return PhysicalResource(logical_id, kind, STATUS_LOCAL, arn, {})
    name = f"{stack}-{logical_id}"
    service = kind.split("::")[1].lower() if kind.count("::") == 2 else "unknown"
    arn = f"arn:aws:{service}:{deployment.region}:{ACCOUNT_ID}:{name}"
    status = STATUS_IGNORED if kind in IGNORED_TYPES else STATUS_SKIPPED
    return PhysicalResource(logical_id, kind, status, name, {"Arn": arn})


def _api(logical_id: str, kind: str, stack_name: str, stage: str) -> PhysicalResource:
    # A stable, API-Gateway-looking id (10 lowercase characters) for events and outputs.
    api_id = hashlib.sha256(f"{stack_name}/{logical_id}".encode()).hexdigest()[:10]
    attributes = {"RootResourceId": api_id[:6], "StageName": stage}
    return PhysicalResource(logical_id, kind, STATUS_LOCAL, api_id, attributes)


def _function_name(deployment: Deployment, resource: Resource) -> str:
    explicit = resource.properties.get("FunctionName")
    if explicit is not None:
        where = f"Resources.{resource.logical_id}.Properties.FunctionName"
        return deployment.resolver.resolve_text(explicit, where)
    return f"{deployment.stack_name}-{resource.logical_id}"[:64]


def _deployed_function(deployment: Deployment, spec: FunctionSpec) -> DeployedFunction:
    physical = deployment.resources[spec.logical_id]
    where = f"Resources.{spec.logical_id}.Properties.Environment.Variables"
    environment = {}
    for key, value in spec.environment.items():
        resolved = deployment.resolve(value, f"{where}.{key}")
        if resolved is not NO_VALUE:
            environment[key] = deployment.resolver.resolve_text(resolved, f"{where}.{key}")
    name = str(physical.ref)
    log_group = f"/aws/lambda/{name}"
    if spec.log_group is not None:
        log_group = deployment.resolver.resolve_text(
            spec.log_group, f"Resources.{spec.logical_id}.Properties.LoggingConfig.LogGroup"
        )
    return DeployedFunction(
        spec,
        name=name,
        arn=physical.attributes["Arn"],
        environment=environment,
        display_name=deployment.template.display_name(spec.logical_id),
        log_group_name=log_group,
    )


def _outputs(deployment: Deployment) -> dict[str, Any]:
    outputs = {}
    for name, output in deployment.template.outputs.items():
        where = f"Outputs.{name}"
        condition = output.get("Condition")
        if condition and not deployment.resolver.condition(condition, where):
            continue
        outputs[name] = deployment.resolve(output.get("Value"), f"{where}.Value")
    return outputs
