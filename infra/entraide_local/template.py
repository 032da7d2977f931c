"""Read a SAM template into typed descriptions.

`load_template(path)` parses the YAML (CloudFormation short-form tags such as `!Ref`, `!GetAtt`,
`!Sub` become their long forms `{"Ref": ...}`, `{"Fn::GetAtt": [...]}`) and describes:

- every resource by logical id and type (`Template.resources`);
- every `AWS::Serverless::Function` (`Template.functions`) with `Globals.Function` applied:
  code folder, handler, timeout, memory, environment (still unresolved: intrinsics such as
  `!Ref Table` need the physical resources, see `provision.Deployment.resolve`) and its events
  (`ApiEvent`, `StreamEvent`, `QueueEvent`, `ScheduleEvent`; other types become
  `UnsupportedEvent`).

Values that name other resources (a stream, a queue, a destination) stay raw intrinsics here;
numbers and flags must be literals, and anything else is a `TemplateError` naming the resource
and property.

A small PyYAML loader rather than cfn-lint's decoder: importing cfnlint costs about 0.5 s of
the local stack's startup budget, and its node classes are not plain dicts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
SERVERLESS_API = "AWS::Serverless::Api"
IMPLICIT_API_ID = "ServerlessRestApi"  # the API SAM creates for Api events without RestApiId
DEFAULT_API_STAGE = "Prod"  # stage of SAM's implicit API


class TemplateError(ValueError):
    """The template uses something the local stack cannot read; the message says where."""


# --- YAML with CloudFormation tags -------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns `!Tag value` into `{"Fn::Tag": value}` and keeps dates as text."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    name = tag_suffix if tag_suffix in ("Ref", "Condition") else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt":  # short form "Resource.Attribute"
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


def _construct_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    # CloudFormation reads `Default: 2024-01-01` as a string, not a date.
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_CfnLoader.add_multi_constructor("!", _construct_intrinsic)
_CfnLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_text)


def parse_yaml(text: str, source: str = "template") -> dict[str, Any]:
    """Parse CloudFormation YAML (short-form tags allowed) into plain dicts and lists."""
    try:
        document = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise TemplateError(f"{source}: invalid YAML: {error}") from None
    if not isinstance(document, dict):
        raise TemplateError(f"{source}: the document is not a mapping")
    return document


# --- Descriptions ----------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: Any  # None when the template gives no Default
    allowed_values: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    properties: Mapping[str, Any]
    depends_on: tuple[str, ...] = ()
    condition: str | None = None


@dataclass(frozen=True)
class ApiEvent:
    name: str
    path: str
    method: str  # upper case; "ANY" matches every method
    rest_api_id: Any = None  # raw `!Ref MyApi`, None for SAM's implicit API


@dataclass(frozen=True)
class StreamEvent:
    """A `DynamoDB` event: an event source mapping on a table's stream."""

    name: str
    stream: Any  # raw, usually {"Fn::GetAtt": ["Table", "StreamArn"]}
    starting_position: str = "TRIM_HORIZON"
    batch_size: int = 100
    batching_window_seconds: int = 0
    maximum_retry_attempts: int = -1  # Lambda's default: retry until the record expires
    bisect_on_error: bool = False
    report_batch_item_failures: bool = False
    filter_patterns: tuple[str, ...] = ()  # JSON strings, OR-ed
    on_failure_destination: Any = None  # raw ARN expression of an SQS queue or SNS topic
    enabled: bool = True


@dataclass(frozen=True)
class QueueEvent:
    """An `SQS` event: an event source mapping on a queue."""

    name: str
    queue: Any  # raw, usually {"Fn::GetAtt": ["Queue", "Arn"]}
    batch_size: int = 10
    report_batch_item_failures: bool = False
    filter_patterns: tuple[str, ...] = ()
    enabled: bool = True
    maximum_concurrency: int | None = None  # ScalingConfig.MaximumConcurrency


@dataclass(frozen=True)
class ScheduleEvent:
    """A `Schedule` (EventBridge rule) or `ScheduleV2` (EventBridge Scheduler) event."""

    name: str
    kind: str  # "Schedule" or "ScheduleV2"
    expression: str  # rate(...), cron(...) or at(...)
    input: str | None = None  # JSON text sent instead of the "Scheduled Event"
    enabled: bool = True
    timezone: str | None = None  # ScheduleV2's ScheduleExpressionTimezone


@dataclass(frozen=True)
class UnsupportedEvent:
    name: str
    type: str


EventSpec = ApiEvent | StreamEvent | QueueEvent | ScheduleEvent | UnsupportedEvent


@dataclass(frozen=True)
class EventInvokeSpec:
    """A function's `EventInvokeConfig`: what Lambda does with its asynchronous invocations.

    Defaults are Lambda's: two retries, events kept six hours (invocation-async-configuring).
    Destinations stay raw ARN expressions here, like an event's `Stream`.
    """

    maximum_retry_attempts: int = 2
    maximum_event_age_seconds: int = 21600
    on_success: Any = None
    on_failure: Any = None


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str  # "app.lambda_handler"
    runtime: str | None
    timeout: int  # seconds
    memory_size: int  # MB
    environment: Mapping[str, Any]  # unresolved values
    function_name: Any = None  # raw FunctionName property, if any
    log_group: Any = None  # raw LoggingConfig.LogGroup, if any
    layers: tuple[Any, ...] = ()
    events: tuple[EventSpec, ...] = ()
    reserved_concurrency: int | None = None  # ReservedConcurrentExecutions
    event_invoke: EventInvokeSpec = field(default_factory=EventInvokeSpec)

    @property
    def short_name(self) -> str:
        """The code folder's name (`ingest_offer`), as people call the function."""
        return self.code_dir.name

    @property
    def handler_file(self) -> Path:
        module_path = self.handler.rsplit(".", 1)[0]
        return self.code_dir.joinpath(*module_path.split(".")).with_suffix(".py")

    @property
    def handler_function(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    def events_of(self, kind: type[EventSpec]) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]


@dataclass(frozen=True)
class Template:
    path: Path
    document: Mapping[str, Any]
    parameters: Mapping[str, Parameter]
    conditions: Mapping[str, Any]
    mappings: Mapping[str, Any]
    resources: Mapping[str, Resource]
    functions: Mapping[str, FunctionSpec]
    outputs: Mapping[str, Any]
    parameter_overrides: Mapping[str, Any] = field(default_factory=dict)

    @property
    def directory(self) -> Path:
        return self.path.parent

    def display_name(self, logical_id: str) -> str:
        """The code folder's name when no other function shares it, else the logical id."""
        short_name = self.functions[logical_id].short_name
        sharing = [spec for spec in self.functions.values() if spec.short_name == short_name]
        return short_name if len(sharing) == 1 else logical_id

    def function_named(self, name: str) -> FunctionSpec:
        """A function by logical id or code folder name, case-insensitive."""
        wanted = name.lower()
        for spec in self.functions.values():
            if spec.logical_id.lower() == wanted:
                return spec
        by_folder = [spec for spec in self.functions.values() if spec.short_name.lower() == wanted]
        if len(by_folder) == 1:
            return by_folder[0]
        known = ", ".join(sorted(self.display_name(logical_id) for logical_id in self.functions))
        problem = "names several functions" if by_folder else "is not a function of the template"
        raise KeyError(f"{name!r} {problem} (functions: {known})")


# --- Reading ---------------------------------------------------------------------------


def load_template(path: Path | str, parameters: Mapping[str, Any] | None = None) -> Template:
    """Read a SAM template file; `parameters` override the Defaults of its Parameters."""
    template_path = Path(path).resolve()
    document = parse_yaml(template_path.read_text(encoding="utf-8"), str(template_path))
    overrides = dict(parameters or {})
    declared = _read_parameters(_section(document, "Parameters"))
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(f"Parameters: no such parameter(s) {', '.join(unknown)}")
    _check_allowed_values(declared, overrides)
    resources = _read_resources(_section(document, "Resources"))
    function_globals = _section(_section(document, "Globals"), "Function")
    functions = {
        resource.logical_id: read_function(
            resource.logical_id, resource.properties, function_globals, template_path.parent
        )
        for resource in resources.values()
        if resource.type == SERVERLESS_FUNCTION
    }
    return Template(
        path=template_path,
        document=document,
        parameters=declared,
        conditions=_section(document, "Conditions"),
        mappings=_section(document, "Mappings"),
        resources=resources,
        functions=functions,
        outputs=_section(document, "Outputs"),
        parameter_overrides=overrides,
    )


def _section(document: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = document.get(name) or {}
    if not isinstance(value, dict):
        raise TemplateError(f"{name}: expected a mapping")
    return value


def _read_parameters(section: Mapping[str, Any]) -> dict[str, Parameter]:
    return {
        name: Parameter(
            name=name,
            type=str(spec.get("Type", "String")),
            default=spec.get("Default"),
            allowed_values=tuple(spec.get("AllowedValues", ())),
        )
        for name, spec in section.items()
    }


def _check_allowed_values(declared: Mapping[str, Parameter], overrides: Mapping[str, Any]) -> None:
    for name, value in overrides.items():
        allowed = declared[name].allowed_values
        if allowed and str(value) not in {str(item) for item in allowed}:
            raise TemplateError(f"Parameters.{name}: {value!r} is not one of {list(allowed)}")


def _read_resources(section: Mapping[str, Any]) -> dict[str, Resource]:
    resources = {}
    for logical_id, body in section.items():
        if not isinstance(body, dict) or "Type" not in body:
            raise TemplateError(f"Resources.{logical_id}: a resource needs a Type")
        depends_on = body.get("DependsOn", ())
        resources[logical_id] = Resource(
            logical_id=logical_id,
            type=str(body["Type"]),
            properties=body.get("Properties") or {},
            depends_on=(depends_on,) if isinstance(depends_on, str) else tuple(depends_on),
            condition=body.get("Condition"),
        )
    return resources


def merge_globals(properties: Mapping[str, Any], globals_: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals rules: the function's scalars win, maps merge, lists add up."""
    merged = dict(globals_)
    for key, value in properties.items():
        inherited = merged.get(key)
        if (
            isinstance(value, dict)
            and isinstance(inherited, dict)
            and intrinsic_call(value) is None
        ):
            merged[key] = merge_globals(value, inherited)
        elif isinstance(value, list) and isinstance(inherited, list):
            merged[key] = inherited + value
        else:
            merged[key] = value
    return merged


def intrinsic_call(value: Any) -> tuple[str, Any] | None:
    """`("Fn::Sub", args)` when `value` is an intrinsic function call, else None."""
    if isinstance(value, dict) and len(value) == 1:
        name, args = next(iter(value.items()))
        if name in ("Ref", "Condition") or name.startswith("Fn::"):
            return name, args
    return None


def read_function(
    logical_id: str,
    properties: Mapping[str, Any],
    function_globals: Mapping[str, Any],
    template_dir: Path,
) -> FunctionSpec:
    """Describe one AWS::Serverless::Function, Globals.Function applied."""
    where = f"Resources.{logical_id}.Properties"
    merged = merge_globals(properties, function_globals)
    if merged.get("PackageType", "Zip") != "Zip":
        raise TemplateError(f"{where}.PackageType: only Zip functions run locally")
    code_uri = merged.get("CodeUri")
    if not isinstance(code_uri, str) or code_uri.startswith("s3://"):
        raise TemplateError(f"{where}.CodeUri: expected a local folder, got {code_uri!r}")
    handler = merged.get("Handler")
    if not isinstance(handler, str) or "." not in handler:
        raise TemplateError(f"{where}.Handler: expected 'module.function', got {handler!r}")
    environment = _section(merged.get("Environment") or {}, "Variables")
    events = merged.get("Events") or {}
    return FunctionSpec(
        logical_id=logical_id,
        code_dir=(template_dir / code_uri).resolve(),
        handler=handler,
        runtime=merged.get("Runtime"),
        timeout=_literal_int(merged.get("Timeout", 3), f"{where}.Timeout"),
        memory_size=_literal_int(merged.get("MemorySize", 128), f"{where}.MemorySize"),
        environment=environment,
        function_name=merged.get("FunctionName"),
        log_group=(merged.get("LoggingConfig") or {}).get("LogGroup"),
        layers=tuple(merged.get("Layers") or ()),
        events=tuple(
            read_event(name, body, f"{where}.Events.{name}") for name, body in events.items()
        ),
        reserved_concurrency=_optional_int(
            merged.get("ReservedConcurrentExecutions"), f"{where}.ReservedConcurrentExecutions"
        ),
        event_invoke=_read_event_invoke(
            merged.get("EventInvokeConfig") or {}, f"{where}.EventInvokeConfig"
        ),
    )


def _read_event_invoke(props: Mapping[str, Any], where: str) -> EventInvokeSpec:
    destinations = props.get("DestinationConfig") or {}

    def destination(key: str) -> Any:
        config = destinations.get(key) or {}
        if config and "Destination" not in config:
            # SAM creates the queue or topic itself then; the local stack does not.
            raise TemplateError(f"{where}.DestinationConfig.{key}: give the Destination ARN")
        return config.get("Destination")

    return EventInvokeSpec(
        maximum_retry_attempts=_literal_int(
            props.get("MaximumRetryAttempts", 2), f"{where}.MaximumRetryAttempts"
        ),
        maximum_event_age_seconds=_literal_int(
            props.get("MaximumEventAgeInSeconds", 21600), f"{where}.MaximumEventAgeInSeconds"
        ),
        on_success=destination("OnSuccess"),
        on_failure=destination("OnFailure"),
    )


def read_event(name: str, body: Mapping[str, Any], where: str) -> EventSpec:
    """Describe one entry of a function's Events."""
    event_type = str(body.get("Type"))
    properties = body.get("Properties") or {}
    reader = _EVENT_READERS.get(event_type)
    if reader is None:
        return UnsupportedEvent(name=name, type=event_type)
    return reader(name, properties, f"{where}.Properties")


def _read_api(name: str, props: Mapping[str, Any], where: str) -> ApiEvent:
    path, method = props.get("Path"), props.get("Method")
    if not isinstance(path, str) or not isinstance(method, str):
        raise TemplateError(f"{where}: an Api event needs literal Path and Method")
    return ApiEvent(name, path, method.upper(), props.get("RestApiId"))


def _read_stream(name: str, props: Mapping[str, Any], where: str) -> StreamEvent:
    on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    return StreamEvent(
        name=name,
        stream=_required(props, "Stream", where),
        starting_position=str(props.get("StartingPosition", "TRIM_HORIZON")),
        batch_size=_literal_int(props.get("BatchSize", 100), f"{where}.BatchSize"),
        batching_window_seconds=_literal_int(
            props.get("MaximumBatchingWindowInSeconds", 0),
            f"{where}.MaximumBatchingWindowInSeconds",
        ),
        maximum_retry_attempts=_literal_int(
            props.get("MaximumRetryAttempts", -1), f"{where}.MaximumRetryAttempts"
        ),
        bisect_on_error=_literal_bool(
            props.get("BisectBatchOnFunctionError", False), f"{where}.BisectBatchOnFunctionError"
        ),
        report_batch_item_failures=_reports_item_failures(props, where),
        filter_patterns=_filter_patterns(props, where),
        on_failure_destination=on_failure,
        enabled=_literal_bool(props.get("Enabled", True), f"{where}.Enabled"),
    )


def _read_queue(name: str, props: Mapping[str, Any], where: str) -> QueueEvent:
    return QueueEvent(
        name=name,
        queue=_required(props, "Queue", where),
        batch_size=_literal_int(props.get("BatchSize", 10), f"{where}.BatchSize"),
        report_batch_item_failures=_reports_item_failures(props, where),
        filter_patterns=_filter_patterns(props, where),
        enabled=_literal_bool(props.get("Enabled", True), f"{where}.Enabled"),
        maximum_concurrency=_optional_int(
            (props.get("ScalingConfig") or {}).get("MaximumConcurrency"),
            f"{where}.ScalingConfig.MaximumConcurrency",
        ),
    )


def _read_schedule(name: str, props: Mapping[str, Any], where: str) -> ScheduleEvent:
    is_v2 = "ScheduleExpression" in props
    expression = props.get("ScheduleExpression" if is_v2 else "Schedule")
    if not isinstance(expression, str):
        raise TemplateError(f"{where}.Schedule: expected a literal rate(...) or cron(...)")
    state = props.get("State", "ENABLED")
    enabled = _literal_bool(props.get("Enabled", True), f"{where}.Enabled") and state != "DISABLED"
    input_ = props.get("Input")
    if input_ is not None and not isinstance(input_, str):
        raise TemplateError(f"{where}.Input: expected a JSON string")
    return ScheduleEvent(
        name=name,
        kind="ScheduleV2" if is_v2 else "Schedule",
        expression=expression.strip(),
        input=input_,
        enabled=enabled,
        timezone=props.get("ScheduleExpressionTimezone"),
    )


_EVENT_READERS: dict[str, Callable[[str, Mapping[str, Any], str], EventSpec]] = {
    "Api": _read_api,
    "DynamoDB": _read_stream,
    "SQS": _read_queue,
    "Schedule": _read_schedule,
    "ScheduleV2": _read_schedule,
}


def _required(props: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in props:
        raise TemplateError(f"{where}.{key}: required")
    return props[key]


def _reports_item_failures(props: Mapping[str, Any], where: str) -> bool:
    response_types = props.get("FunctionResponseTypes") or []
    if not isinstance(response_types, list):
        raise TemplateError(f"{where}.FunctionResponseTypes: expected a list")
    return "ReportBatchItemFailures" in response_types


def _filter_patterns(props: Mapping[str, Any], where: str) -> tuple[str, ...]:
    filters = (props.get("FilterCriteria") or {}).get("Filters") or []
    patterns = []
    for index, item in enumerate(filters):
        pattern = item.get("Pattern") if isinstance(item, dict) else None
        if isinstance(pattern, dict) and intrinsic_call(pattern) is None:
            pattern = json.dumps(pattern)  # YAML authors sometimes write the object itself
        if not isinstance(pattern, str):
            raise TemplateError(f"{where}.FilterCriteria.Filters[{index}].Pattern: expected JSON")
        patterns.append(pattern)
    return tuple(patterns)


def _literal_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TemplateError(f"{where}: expected a literal number, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise TemplateError(f"{where}: expected a number, got {value!r}") from None


def _optional_int(value: Any, where: str) -> int | None:
    return None if value is None else _literal_int(value, where)


def _literal_bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise TemplateError(f"{where}: expected true or false, got {value!r}")


def as_string_list(value: Any) -> list[str]:
    """A CommaDelimitedList parameter's value as a list."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",")] if value else []
    if isinstance(value, Sequence):
        return [str(item) for item in value]
    return [str(value)]
