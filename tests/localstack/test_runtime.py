"""Functions run as Lambda runs them: own processes, concurrency limits, timeouts, Invoke API.

Intervals recorded by the probe handler (tests/localstack/functions/probe) show what ran at
the same time; its process id tells execution environments apart.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from entraide_local.invoke import Invocation
from entraide_local.schedules import ManualClock
from entraide_local.stack import LocalStack

from .conftest import read_records, wait_for
from .test_lifecycle import BROKEN_TEMPLATE

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
STACK_NAME = "localstack-runtime"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def records_with(path: Path, marker: str) -> list[dict[str, Any]]:
    return [line for line in read_records(path) if marker in json.dumps(line["event"])]


def most_at_once(lines: list[dict[str, Any]]) -> int:
    """The largest number of recorded invocations whose intervals overlap."""
    edges = sorted(
        [(line["started"], 1) for line in lines] + [(line["ended"], -1) for line in lines],
        key=lambda edge: (edge[0], edge[1]),
    )
    running = highest = 0
    for _, change in edges:
        running += change
        highest = max(highest, running)
    return highest


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def lambda_client(stack: LocalStack) -> Any:
    """A boto3 Lambda client on the stack's Invoke API, without retries (throttles show)."""
    return boto3.client(
        "lambda",
        endpoint_url=stack.lambda_url,
        region_name=stack.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=30),
    )


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads started together; their results (or exceptions), in order."""
    results: list[Any] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = calls[index]()
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def queue_bodies(stack: LocalStack, logical_id: str) -> list[dict[str, Any]]:
    """Every message waiting in a queue of the template (bodies as JSON), consumed."""
    sqs = stack.client("sqs")
    url = stack.deployment.physical_id(logical_id)
    bodies = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        bodies += [json.loads(message["Body"]) for message in batch]
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
            ],
        )
    return bodies


# --- execution environments -------------------------------------------------------------------


def test_each_function_runs_in_a_process_of_its_own(stack: LocalStack) -> None:
    # When two functions run
    napper = stack.invoke("Napper", {})
    caller = stack.invoke("Caller", {})

    # Then each ran in its own worker process, neither the stack's nor the other's
    assert napper.ok, napper.traceback
    assert caller.ok, caller.traceback
    pids = {napper.value["pid"], caller.value["pid"], os.getpid()}
    assert len(pids) == 3
    assert set(stack.worker_pids()) >= {napper.value["pid"], caller.value["pid"]}


def test_setup_calls_run_before_the_handler_is_imported(stack: LocalStack) -> None:
    # Given setup calls for Napper's workers only (conftest.marker_setup)
    # When Napper and Sleeper run
    napper = stack.invoke("Napper", {})
    sleeper = stack.invoke("Sleeper", {})

    # Then Napper's module found the folder its setup call made, before it was imported
    assert napper.value["setup_seen_at_import"] is True
    assert sleeper.value["setup_seen_at_import"] is None


def test_handler_output_is_relayed_to_the_console(
    stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="entraide_local")
    # When Napper's worker is replaced (an exit) and a new one imports the handler
    stack.invoke("Napper", {"exit": 0})
    invocation = stack.invoke("Napper", {})

    # Then what the new worker printed is on the console, under the function's name
    pid = invocation.value["pid"]
    assert wait_for(lambda: f"probe imported in {pid}" in caplog.text)
    assert any(
        record.getMessage().startswith("Napper")
        and f"probe imported in {pid}" in record.getMessage()
        for record in caplog.records
    )


def test_exit_in_a_handler_is_a_runtime_exit_error_and_a_new_environment(
    stack: LocalStack,
) -> None:
    before = stack.invoke("Napper", {})

    exited = stack.invoke("Napper", {"exit": 3})
    after = stack.invoke("Napper", {})

    assert exited.lambda_error is not None
    assert exited.lambda_error.error_type == "Runtime.ExitError"
    assert "exit status 3" in exited.lambda_error.message
    assert after.cold_start_ms is not None
    assert after.value["pid"] != before.value["pid"]


# --- timeouts ----------------------------------------------------------------------------------


def test_timeout_kills_the_environment_and_the_next_invocation_starts_a_new_one(
    stack: LocalStack, record_dir: Path
) -> None:
    # Given Sleeper (Timeout: 2) warm in a worker
    warm = stack.invoke("Sleeper", {})
    marker = unique("too-slow")

    # When an invocation runs past its timeout
    started = time.monotonic()
    slow = stack.invoke("Sleeper", {"sleep": 5, "marker": marker})
    elapsed = time.monotonic() - started

    # Then it fails as Lambda's do, after 2 s and not the 5 s it asked, and its process is gone
    assert slow.lambda_error is not None
    assert slow.lambda_error.error_type == "Sandbox.Timedout"
    assert "Task timed out after 2.0" in slow.lambda_error.message
    assert elapsed < 4.9
    assert wait_for(lambda: not alive(warm.value["pid"]), timeout=5)
    # and the handler never finished (a thread left running would have written its line)
    time.sleep(3.5)
    assert records_with(record_dir / "sleeper.jsonl", marker) == []
    # And the next invocation is a cold start in a new process
    after = stack.invoke("Sleeper", {})
    assert after.ok
    assert after.cold_start_ms is not None
    assert after.value["pid"] != warm.value["pid"]


def test_a_timed_out_stream_batch_is_retried_then_sent_to_on_failure(
    stack: LocalStack, record_dir: Path
) -> None:
    # Given ShardReader (Timeout: 2, MaximumRetryAttempts: 1, OnFailure: StreamFailures)
    key = unique("ordered-timeout")
    table = stack.deployment.physical_id("Table")

    # When a record makes every invocation run past the timeout
    stack.client("dynamodb").put_item(
        TableName=table,
        Item={
            "pk": {"S": key},
            "sk": {"S": "x"},
            "kind": {"S": "ordered"},
            "action": {"S": json.dumps({"sleep": 3})},
        },
    )
    stack.drain(timeout=30)

    # Then it was tried twice (both killed, no line recorded), then given up to the queue
    assert records_with(record_dir / "shard-reader.jsonl", key) == []
    failures = [
        body
        for body in queue_bodies(stack, "StreamFailures")
        if body.get("requestContext", {}).get("functionArn", "").endswith("ShardReader")
    ]
    assert len(failures) == 1
    assert failures[0]["requestContext"]["approximateInvokeCount"] == 2
    assert failures[0]["responseContext"]["functionError"] == "Unhandled"


# --- concurrency -------------------------------------------------------------------------------


def test_reserved_concurrency_throttles_synchronous_callers_beyond_it(
    stack: LocalStack, record_dir: Path
) -> None:
    # Given Sleeper (ReservedConcurrentExecutions: 2) and a client that does not retry
    client = lambda_client(stack)
    marker = unique("reserved")
    payload = json.dumps({"sleep": 1.5, "marker": marker}).encode()

    # When four synchronous invocations arrive at once
    results = at_once(
        [
            lambda: client.invoke(
                FunctionName=stack.deployment.function("Sleeper").name, Payload=payload
            )
        ]
        * 4
    )

    # Then two ran and two were throttled as Lambda throttles: 429 TooManyRequestsException
    throttled = [r for r in results if isinstance(r, ClientError)]
    succeeded = [r for r in results if isinstance(r, dict)]
    assert len(succeeded) == 2, results
    assert len(throttled) == 2, results
    for error in throttled:
        assert error.response["Error"]["Code"] == "TooManyRequestsException"
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert error.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert len(records_with(record_dir / "sleeper.jsonl", marker)) == 2


def test_event_sources_wait_for_the_default_concurrency(
    stack: LocalStack, record_dir: Path
) -> None:
    # Given Napper, without reserved concurrency (the local default: 4)
    event = {"sleep": 1.5, "marker": unique("default")}

    # When three asynchronous and three queued invocations arrive at once
    at_once(
        [lambda: stack.invoke_async("Napper", event)] * 3
        + [lambda: stack.invoke("Napper", event)] * 3
    )
    stack.drain(timeout=30)

    # Then none was throttled or lost, and never more than four ran at once
    lines = records_with(record_dir / "napper.jsonl", event["marker"])
    assert len(lines) == 6
    assert most_at_once(lines) == 4


def test_different_functions_run_at_the_same_time(stack: LocalStack, record_dir: Path) -> None:
    marker = unique("overlap")
    event = {"sleep": 1.5, "marker": marker}

    results = at_once(
        [lambda: stack.invoke("Sleeper", event), lambda: stack.invoke("Napper", event)]
    )

    assert all(isinstance(r, Invocation) and r.ok for r in results), results
    lines = records_with(record_dir / "sleeper.jsonl", marker) + records_with(
        record_dir / "napper.jsonl", marker
    )
    assert most_at_once(lines) == 2


def test_an_sqs_mapping_runs_batches_up_to_its_maximum_concurrency(
    stack: LocalStack, record_dir: Path
) -> None:
    # Given QueueWorker's mapping (BatchSize: 1, ScalingConfig.MaximumConcurrency: 2)
    sqs = stack.client("sqs")
    url = stack.deployment.physical_id("WorkQueue")
    marker = unique("sqs")

    # When six messages wait in the queue
    for index in range(6):
        sqs.send_message(
            QueueUrl=url, MessageBody=json.dumps({"sleep": 0.8, "marker": marker, "n": index})
        )
    stack.drain(timeout=30)

    # Then each was handled, two batches at a time, never more
    lines = records_with(record_dir / "queue-worker.jsonl", marker)
    assert len(lines) == 6
    assert most_at_once(lines) == 2


def test_records_of_a_shard_arrive_in_order_one_batch_at_a_time(
    stack: LocalStack, record_dir: Path
) -> None:
    # Given ShardReader's mapping (BatchSize: 2) and a function that may run 4 at once
    table = stack.deployment.physical_id("Table")
    dynamodb = stack.client("dynamodb")
    marker = unique("ordered")

    # When six items are written one after the other
    for index in range(6):
        dynamodb.put_item(
            TableName=table,
            Item={
                "pk": {"S": f"{marker}-{index}"},
                "sk": {"S": "x"},
                "kind": {"S": "ordered"},
                "action": {"S": json.dumps({"sleep": 0.3})},
            },
        )
    stack.drain(timeout=30)

    # Then the batches never overlapped, and the records came in the order they were written
    lines = sorted(
        records_with(record_dir / "shard-reader.jsonl", marker), key=lambda x: x["started"]
    )
    assert most_at_once(lines) == 1
    keys = [
        record["dynamodb"]["Keys"]["pk"]["S"]
        for line in lines
        for record in line["event"]["Records"]
    ]
    assert keys == [f"{marker}-{index}" for index in range(6)]


# --- Lambda's Invoke API -----------------------------------------------------------------------


def test_a_function_invokes_another_synchronously(stack: LocalStack) -> None:
    # Given Caller, which invokes through AWS_ENDPOINT_URL_LAMBDA with boto3
    napper = stack.deployment.function("Napper").name
    sleeper = stack.deployment.function("Sleeper").name

    # When it invokes a function that succeeds, then one that fails
    ok = stack.invoke("Caller", {"invoke": {"function": napper}})
    failed = stack.invoke("Caller", {"invoke": {"function": sleeper, "payload": {"fail": True}}})

    # Then it gets the payload, then Lambda's function error and error document
    assert ok.ok, ok.traceback
    assert failed.ok, failed.traceback
    assert ok.value["invoked"]["status"] == 200
    assert ok.value["invoked"]["function_error"] is None
    assert ok.value["invoked"]["payload"]["pid"] not in (ok.value["pid"], None)
    invoked = failed.value["invoked"]
    assert invoked["status"] == 200
    assert invoked["function_error"] == "Unhandled"
    assert invoked["payload"]["errorType"] == "RuntimeError"
    assert invoked["payload"]["errorMessage"] == f"failing on purpose in {sleeper}"
    assert invoked["payload"]["stackTrace"]


def test_invoke_api_refuses_what_lambda_refuses(stack: LocalStack) -> None:
    client = lambda_client(stack)

    with pytest.raises(ClientError) as unknown:
        client.invoke(FunctionName="no-such-function", Payload=b"{}")
    with pytest.raises(ClientError) as not_json:
        client.invoke(FunctionName=stack.deployment.function("Napper").name, Payload=b"{oops")

    assert unknown.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert not_json.value.response["Error"]["Code"] == "InvalidRequestContentException"


def test_asynchronous_invoke_retries_then_sends_the_record_to_on_failure(
    stack: LocalStack, record_dir: Path
) -> None:
    # Given Sleeper (MaximumRetryAttempts: 2, OnFailure: AsyncFailures, OnSuccess: a topic)
    client = lambda_client(stack)
    name = stack.deployment.function("Sleeper").name
    failing = {"fail": True, "marker": unique("async-fail")}
    working = {"marker": unique("async-ok")}

    # When an event that always fails and one that works are invoked with Event
    first = client.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(failing))
    second = client.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(working))
    stack.drain(timeout=30)

    # Then both were accepted at once (202), the failing one ran three times (one request id)
    assert first["StatusCode"] == 202
    assert second["StatusCode"] == 202
    attempts = records_with(record_dir / "sleeper.jsonl", failing["marker"])
    assert len(attempts) == 3
    assert len({line["request_id"] for line in attempts}) == 1
    # and its record went to the on-failure queue, in Lambda's destination shape
    [record] = [
        body
        for body in queue_bodies(stack, "AsyncFailures")
        if body.get("requestPayload") == failing
    ]
    assert record["version"] == "1.0"
    assert record["requestContext"] == {
        "requestId": attempts[0]["request_id"],
        "functionArn": f"{stack.deployment.function('Sleeper').arn}:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    # and the working one's record went to the on-success topic
    successes = [
        body
        for body in queue_bodies(stack, "AsyncSuccessesQueue")
        if body.get("requestPayload") == working
    ]
    assert [s["requestContext"]["condition"] for s in successes] == ["Success"]
    assert successes[0]["responsePayload"]["pid"] > 0


def test_a_failing_schedule_is_retried_then_sent_to_on_failure(
    stack: LocalStack, record_dir: Path, clock: ManualClock
) -> None:
    # Given Nightly (rate(5 minutes), always failing, MaximumRetryAttempts: 1)
    before = len(read_records(record_dir / "nightly.jsonl"))

    # When its time comes
    clock.advance(timedelta(minutes=5, seconds=1))
    assert wait_for(lambda: len(read_records(record_dir / "nightly.jsonl")) > before)
    stack.drain(timeout=30)

    # Then EventBridge's asynchronous invocation was tried twice, then given up to the queue
    runs = read_records(record_dir / "nightly.jsonl")[before:]
    assert len(runs) == 2
    assert runs[0]["event"]["detail-type"] == "Scheduled Event"
    [record] = [
        body
        for body in queue_bodies(stack, "AsyncFailures")
        if body["requestContext"]["functionArn"].startswith(
            stack.deployment.function("Nightly").arn
        )
    ]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestPayload"]["detail-type"] == "Scheduled Event"


def test_firing_a_schedule_on_demand_answers_at_once_with_the_error(stack: LocalStack) -> None:
    response = requests.post(stack.api_url + "_local/fire/nightly", timeout=30)

    assert response.status_code == 500
    assert response.json()["errorType"] == "RuntimeError"
    assert response.json()["errorMessage"].startswith("failing on purpose")


# --- import errors --------------------------------------------------------------------------


def test_an_import_error_surfaces_at_invocation_like_lambdas(tmp_path: Path) -> None:
    # Given a handler that cannot be imported, in a stack that serves anyway (make run)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "app.py").write_text("import no_such_library_here\n")
    (tmp_path / "template.yaml").write_text(BROKEN_TEMPLATE)

    with LocalStack(
        tmp_path / "template.yaml", stack_name="broken-at-invocation", fail_on_import_error=False
    ) as stack:
        # When it is invoked
        invocation = stack.invoke("Broken", {})

    # Then the invocation fails with Lambda's runtime error
    assert invocation.lambda_error is not None
    assert invocation.lambda_error.error_type == "Runtime.ImportModuleError"
    assert invocation.lambda_error.message == (
        "Unable to import module 'app': No module named 'no_such_library_here'"
    )


def probe_template(record_file: Path) -> str:
    return f"""
Transform: AWS::Serverless-2016-10-31
Resources:
  Probe:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {Path(__file__).parent / "functions" / "probe"}
      Handler: app.lambda_handler
      Runtime: python3.13
      Environment:
        Variables:
          RECORD_FILE: {record_file}
"""


def test_handlers_run_in_the_stacks_own_process_only_when_asked(tmp_path: Path) -> None:
    # Given the debugging mode
    (tmp_path / "template.yaml").write_text(probe_template(tmp_path / "records.jsonl"))

    # When a function runs
    with LocalStack(tmp_path / "template.yaml", stack_name="in-process", in_process=True) as stack:
        invocation = stack.invoke("Probe", {})

    # Then it ran in this very process
    assert invocation.ok, invocation.traceback
    assert invocation.value["pid"] == os.getpid()
