"""Reading the SAM template and resolving intrinsic functions (no AWS, no moto)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from entraide_local.intrinsics import NO_VALUE, Resolver, referenced_ids
from entraide_local.template import (
    ApiEvent,
    QueueEvent,
    ScheduleEvent,
    StreamEvent,
    TemplateError,
    load_template,
    parse_yaml,
)

from .conftest import TEMPLATE


class FakeResources:
    """Physical values as a deployment would give them."""

    def ref(self, logical_id: str, where: str) -> Any:
        return {"Table": "stack-Table", "Queue": "http://moto/123456789012/stack-Queue"}[logical_id]

    def get_att(self, logical_id: str, attribute: str, where: str) -> Any:
        if (logical_id, attribute) == ("Table", "StreamArn"):
            return "arn:aws:dynamodb:eu-west-3:123456789012:table/stack-Table/stream/1"
        raise TemplateError(f"{where}: no {logical_id}.{attribute}")


def write_template(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(text, encoding="utf-8")
    return path


RESOLVABLE = """
Parameters:
  Stage: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Zones: {Type: CommaDelimitedList, Default: "a,b"}
Mappings:
  Limits:
    dev: {Batch: "5"}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsDevOrProd: !Or [!Not [!Condition IsProd], !Equals [prod, !Ref Stage]]
  Never: !And [!Condition IsProd, !Equals [a, b]]
Resources:
  Table: {Type: AWS::DynamoDB::Table}
"""


@pytest.fixture
def resolver(tmp_path: Path) -> Resolver:
    template = load_template(write_template(tmp_path, RESOLVABLE))
    return Resolver(template, stack_name="stack", region="eu-west-3", resources=FakeResources())


def test_short_form_tags_become_long_form() -> None:
    # Given YAML with CloudFormation short-form tags
    text = "A: !GetAtt Table.StreamArn\nB: !Sub '${X}'\nC: !If [Cond, !Ref Y, !Ref 'AWS::NoValue']"

    # When it is parsed
    document = parse_yaml(text)

    # Then each tag is its long form, GetAtt's dotted form split in two
    assert document == {
        "A": {"Fn::GetAtt": ["Table", "StreamArn"]},
        "B": {"Fn::Sub": "${X}"},
        "C": {"Fn::If": ["Cond", {"Ref": "Y"}, {"Ref": "AWS::NoValue"}]},
    }


def test_function_reads_globals_and_its_own_properties() -> None:
    # Given the test template
    template = load_template(TEMPLATE)

    # When its echo function is read
    echo = template.functions["EchoFunction"]

    # Then Globals fill what the function does not set, and environments merge
    assert echo.timeout == 5
    assert echo.memory_size == 256
    assert echo.handler_file == TEMPLATE.parent / "functions" / "echo" / "app.py"
    assert echo.environment["TABLE_NAME"] == {"Ref": "Table"}
    assert echo.environment["ECHO_NAME"] == {"Fn::Sub": "${AWS::StackName}-echo"}
    assert ApiEvent("GetItem", "/items/{id}", "GET") in echo.events


def test_events_are_described_with_their_settings() -> None:
    template = load_template(TEMPLATE)

    [retries] = template.functions["RetryConsumer"].events_of(StreamEvent)
    [messages] = template.functions["QueueRecorder"].events_of(QueueEvent)
    [monthly] = template.functions["MonthlyReport"].events_of(ScheduleEvent)

    assert retries.stream == {"Fn::GetAtt": ["Table", "StreamArn"]}
    assert (retries.batch_size, retries.batching_window_seconds) == (10, 2)
    assert retries.maximum_retry_attempts == 1
    assert retries.report_batch_item_failures
    assert retries.on_failure_destination == {"Fn::GetAtt": ["StreamFailures", "Arn"]}
    assert len(retries.filter_patterns) == 1
    assert (messages.batch_size, messages.report_batch_item_failures) == (5, True)
    assert monthly == ScheduleEvent(
        "Monthly", "ScheduleV2", "cron(0 6 1 * ? *)", '{"report": "monthly"}', enabled=False
    )


def test_functions_are_found_by_logical_id_or_folder(tmp_path: Path) -> None:
    template = load_template(TEMPLATE)

    assert template.function_named("echo").logical_id == "EchoFunction"
    assert template.function_named("ticker").logical_id == "Ticker"
    with pytest.raises(KeyError, match="names several functions"):
        template.function_named("recorder")  # five functions share that folder


def test_refs_getatts_and_subs_resolve(resolver: Resolver) -> None:
    value = {
        "name": {"Ref": "Table"},
        "stream": {"Fn::GetAtt": ["Table", "StreamArn"]},
        "sub": {"Fn::Sub": "${AWS::StackName}-${Stage}-${Table}-${!Literal}"},
        "sub_map": {"Fn::Sub": ["${Name}/${AWS::Region}", {"Name": {"Ref": "Stage"}}]},
        "sub_getatt": {"Fn::Sub": "${Table.StreamArn}"},
        "join": {"Fn::Join": [",", [{"Ref": "AWS::AccountId"}, {"Ref": "AWS::Partition"}]]},
        "select": {"Fn::Select": [1, {"Ref": "Zones"}]},
        "split": {"Fn::Split": ["-", "a-b"]},
        "map": {"Fn::FindInMap": ["Limits", {"Ref": "Stage"}, "Batch"]},
    }

    assert resolver.resolve(value, "Test") == {
        "name": "stack-Table",
        "stream": "arn:aws:dynamodb:eu-west-3:123456789012:table/stack-Table/stream/1",
        "sub": "stack-dev-stack-Table-${Literal}",
        "sub_map": "dev/eu-west-3",
        "sub_getatt": "arn:aws:dynamodb:eu-west-3:123456789012:table/stack-Table/stream/1",
        "join": "123456789012,aws",
        "select": "b",
        "split": ["a", "b"],
        "map": "5",
    }


def test_conditions_and_no_value(resolver: Resolver) -> None:
    value = {
        "kept": {"Fn::If": ["IsDevOrProd", "yes", "no"]},
        "removed": {"Fn::If": ["IsProd", "x", {"Ref": "AWS::NoValue"}]},
        "list": ["a", {"Fn::If": ["Never", "b", {"Ref": "AWS::NoValue"}]}],
    }

    assert resolver.resolve(value, "Test") == {"kept": "yes", "list": ["a"]}
    assert resolver.resolve({"Ref": "AWS::NoValue"}, "Test") is NO_VALUE


def test_unknown_constructs_name_where_they_are(resolver: Resolver) -> None:
    where = "Resources.Fn.Properties.Environment.Variables.X"

    with pytest.raises(TemplateError, match=rf"^{where}: unsupported intrinsic .*ImportValue"):
        resolver.resolve({"Fn::ImportValue": "Shared"}, where)
    with pytest.raises(TemplateError, match=rf"^{where}.Fn::GetAtt: no Table.Missing"):
        resolver.resolve({"Fn::GetAtt": "Table.Missing"}, where)
    with pytest.raises(TemplateError, match="no condition named Nope"):
        resolver.resolve({"Fn::If": ["Nope", 1, 2]}, where)


def test_parameter_overrides_are_checked(tmp_path: Path) -> None:
    path = write_template(tmp_path, RESOLVABLE)

    assert load_template(path, {"Stage": "prod"}).parameter_overrides == {"Stage": "prod"}
    with pytest.raises(TemplateError, match=r"Parameters\.Stage: 'test' is not one of"):
        load_template(path, {"Stage": "test"})
    with pytest.raises(TemplateError, match="no such parameter"):
        load_template(path, {"Other": "x"})


def test_invalid_yaml_and_non_local_code_are_template_errors(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="invalid YAML"):
        load_template(write_template(tmp_path, "A: {b: {c}"))
    remote = "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
    remote += "      CodeUri: s3://bucket/code.zip\n      Handler: app.handler\n"
    with pytest.raises(TemplateError, match=r"Resources.F.Properties.CodeUri"):
        load_template(write_template(tmp_path, remote))


def test_referenced_ids_find_dependencies() -> None:
    properties = {
        "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]}},
        "Name": {"Fn::Sub": "${AWS::StackName}-${Table}-${Bucket.Arn}-${!Not}"},
        "Queue": {"Ref": "Queue"},
    }

    assert referenced_ids(properties) == {"Dlq", "AWS::StackName", "Table", "Bucket", "Queue"}
