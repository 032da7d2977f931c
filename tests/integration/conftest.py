"""The local stack booted from template.yaml, plus a recording consumer of the table's stream.

The recorder is added to a copy of template.yaml (written as JSON, which is YAML) so
that the stream wiring under test is the real one: only the extra function differs.
"""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import boto3
import pytest

from entraide_local.iam.hook import denial_count, recent_denials
from entraide_local.stack import LocalStack
from entraide_local.template import parse_yaml

ROOT = Path(__file__).resolve().parents[2]
RECORDER_DIR = Path(__file__).parent / "recorder"
# What `make run` replays: an orange flood level on the Aude (see infra/replay/README.md).
REPLAYED_ALERTS = json.dumps(
    [
        {
            "name": "vigicrues",
            "url": str(ROOT / "infra/replay/HANDMADE_vigicrues_orange_aude.json"),
            "replay": True,
        }
    ]
)
POST_FILTER = {"dynamodb": {"NewImage": {"entity": {"S": ["post"]}}}}


def template_with_recorder(directory: Path, record_file: Path) -> Path:
    document: dict[str, Any] = parse_yaml((ROOT / "template.yaml").read_text("utf-8"))
    for resource in document["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = str(ROOT / properties[key])
    document["Resources"]["StreamRecorderFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": str(RECORDER_DIR),
            "Handler": "app.lambda_handler",
            "Environment": {"Variables": {"RECORD_FILE": str(record_file)}},
            "Events": {
                "Posts": {
                    "Type": "DynamoDB",
                    "Properties": {
                        "Stream": {"Fn::GetAtt": ["EntraideTable", "StreamArn"]},
                        "StartingPosition": "TRIM_HORIZON",
                        "BatchSize": 10,
                        "FunctionResponseTypes": ["ReportBatchItemFailures"],
                        "FilterCriteria": {"Filters": [{"Pattern": json.dumps(POST_FILTER)}]},
                    },
                }
            },
        },
    }
    # A queue no function reads, subscribed to both topics like the relay's: what the
    # relay received stays there for the tests to look at.
    resources = document["Resources"]
    resources["ProbeQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {}}
    for topic in ("ApprovedPostsTopic", "ActivationEventsTopic"):
        resources[f"Probe{topic}Subscription"] = {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": {"Ref": topic},
                "Protocol": "sqs",
                "Endpoint": {"Fn::GetAtt": ["ProbeQueue", "Arn"]},
                "RawMessageDelivery": True,
            },
        }
    document["Outputs"]["ProbeQueueUrl"] = {"Value": {"Ref": "ProbeQueue"}}
    path = directory / "template.json"
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


class RunningStack:
    """What the tests need from the running stack, in the project's own terms."""

    def __init__(self, stack: LocalStack, record_file: Path, state_dir: Path, outbox: Path) -> None:
        self.stack = stack
        self.api_url = stack.api_url
        self.record_file = record_file
        self.state_dir = state_dir
        self.outbox = outbox
        self.table_name: str = stack.deployment.outputs["TableName"]
        self.dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=stack.endpoint_url,
            region_name=stack.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def item_count(self) -> int:
        """The table's items once every stream and queue is idle: what a request wrote, and
        not what the consumers of an earlier test's records write a moment later (under a
        loaded machine, the stream's pollers lag)."""
        self.stack.drain(timeout=30)
        # A Scan is fine in a test: it counts everything, whatever the access patterns.
        return int(self.dynamodb.scan(TableName=self.table_name, Select="COUNT")["Count"])

    def get_item(self, pk: str, sk: str) -> dict[str, Any] | None:
        response = self.dynamodb.get_item(
            TableName=self.table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}}
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def queue_messages(self, output: str = "ProbeQueueUrl") -> list[dict[str, Any]]:
        """Every message waiting in a queue (by its stack output), left in the queue."""
        self.stack.drain(timeout=15)
        sqs = self.stack.client("sqs")
        url = self.stack.deployment.outputs[output]
        messages: list[dict[str, Any]] = []
        while batch := sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            VisibilityTimeout=60,
        ).get("Messages", []):
            messages += batch
        for message in messages:  # visible again for the next look
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return messages

    def relay_bodies(self) -> list[dict[str, Any]]:
        """What the topics delivered to the relay's queue (seen through the probe)."""
        return [json.loads(message["Body"]) for message in self.queue_messages()]

    def tweets(self) -> list[dict[str, Any]]:
        """What the relay tweeted (dry run: var/outbox/tweets.jsonl)."""
        return self.published("tweets")

    def published(self, outbox: str) -> list[dict[str, Any]]:
        """What the relay posted on a channel (dry run: var/outbox/<outbox>.jsonl)."""
        self.stack.drain(timeout=15)
        path = self.outbox / f"{outbox}.jsonl"
        lines = path.read_text("utf-8").splitlines() if path.exists() else []
        return [json.loads(line) for line in lines]

    def cli_json(self, *args: str) -> Any:
        """What ``entraide <args> --json`` prints, against this stack.

        Only the CLI writes to this process's stdout (the functions' output is relayed
        through logging), but the JSON is still read as the first document captured.
        """
        from entraide.cli import main as entraide

        self.stack.drain(timeout=15)
        out = io.StringIO()
        with redirect_stdout(out):
            assert entraide([*args, "--json", "--state-dir", str(self.state_dir)]) == 0
        document, _ = json.JSONDecoder().raw_decode(out.getvalue())
        return document

    def recorded_events(self) -> list[dict[str, Any]]:
        self.stack.drain(timeout=15)
        if not self.record_file.exists():
            return []
        lines = self.record_file.read_text("utf-8").splitlines()
        return [json.loads(line) for line in lines]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def local_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningStack]:
    """The stack as `make run` starts it: emails copied to an outbox, links to its own API.

    One per test module, under a stack name of its own: moto's state is process-wide,
    so resources of an earlier module's stack are still there.
    """
    directory = tmp_path_factory.mktemp("stack")
    record_file = directory / "stream-records.jsonl"
    outbox = directory / "outbox"
    template = template_with_recorder(directory, record_file)
    port = free_port()
    parameters = {
        "OutboxDir": str(outbox),
        "PublicBaseUrl": f"http://127.0.0.1:{port}/",
        "AlertSources": REPLAYED_ALERTS,
        # a module may replace parameters, e.g. {"AlertSources": "[…]"}
        **getattr(request.module, "LOCAL_STACK_PARAMETERS", {}),
    }
    stack_name = "it-" + request.module.__name__.rsplit(".", 1)[-1].replace("_", "-")
    with LocalStack(
        template,
        port=port,
        parameters=parameters,
        state_dir=directory / "var",
        stack_name=stack_name,
        # a module may ask for more of AWS's behaviour, e.g. {"index_lag": 1.0}
        **getattr(request.module, "LOCAL_STACK_OPTIONS", {}),
    ) as stack:
        # geomatch's first scheduled run records, once, that no post carries the former
        # place keys (one item): done now, before a test counts the table's items
        stack.fire("geomatch")
        yield RunningStack(stack, record_file, directory / "var", outbox)


@pytest.fixture(autouse=True)
def no_call_refused_by_iam() -> Iterator[None]:
    """Every function runs under its template policy: a refused call fails the test, even
    when the function catches the error (in AWS it would fail)."""
    before = denial_count()
    yield
    refused = denial_count() - before
    assert refused == 0, "\n".join(recent_denials()[-refused:])
