"""Starting and stopping the local stack: state file, command line, signals."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from entraide_local.stack import STOP_GRACE_SECONDS, LocalStack
from entraide_local.state import LocalStackError, fire_from_state

from .conftest import TEMPLATE, read_records, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def test_state_file_is_written_while_running_and_removed_on_stop(tmp_path: Path) -> None:
    # Given a stack started with a state folder
    state_dir = tmp_path / "var"
    with LocalStack(
        TEMPLATE,
        stack_name="lifecycle-test",
        parameters={"RecordDir": str(tmp_path / "records")},
        state_dir=state_dir,
    ) as stack:
        # Then the state file tells other commands where it is
        state = json.loads((state_dir / "local-stack.json").read_text())
        assert state["pid"] == os.getpid()
        assert state["api_url"] == stack.api_url
        assert state["endpoint_url"] == stack.endpoint_url
        assert state["region"] == "eu-west-3"
        assert state["stack_name"] == "lifecycle-test"
        assert state["functions"]["EchoFunction"]["environment"]["TABLE_NAME"] == (
            "lifecycle-test-Table"
        )
        assert state["resources"]["Table"]["physical_id"] == "lifecycle-test-Table"
        assert state["outputs"]["TableName"] == "lifecycle-test-Table"
        assert os.environ["AWS_ENDPOINT_URL"] == stack.endpoint_url
        assert stack.startup_seconds < 10  # typically 1-2 s; generous for a busy machine

    # When it has stopped, the file and the process environment are gone
    assert not (state_dir / "local-stack.json").exists()
    assert os.environ.get("AWS_ENDPOINT_URL") != state["endpoint_url"]


BROKEN_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Broken:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: broken/
      Handler: app.lambda_handler
      Runtime: python3.13
"""


def test_handler_that_cannot_be_imported_fails_the_start_cleanly(tmp_path: Path) -> None:
    # Given a template whose only handler raises on import
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "app.py").write_text("raise ImportError('missing dependency')\n")
    (tmp_path / "template.yaml").write_text(BROKEN_TEMPLATE)
    environment_before = dict(os.environ)

    # When the stack starts, then it says which handler and why, and leaves nothing behind
    stack = LocalStack(tmp_path / "template.yaml", stack_name="broken", state_dir=tmp_path / "var")
    with pytest.raises(LocalStackError, match="Broken: ImportError: missing dependency"):
        stack.start()
    assert not (tmp_path / "var" / "local-stack.json").exists()
    assert dict(os.environ) == environment_before


def test_busy_moto_port_is_reported_instead_of_hanging(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]

        with pytest.raises(LocalStackError, match=f"port {port} for moto is not free"):
            LocalStack(TEMPLATE, moto_port=port).start()


def test_fire_without_a_running_stack_says_so(tmp_path: Path) -> None:
    with pytest.raises(LocalStackError, match="no local stack is running"):
        fire_from_state(tmp_path, "ticker")


def stopped_output(process: subprocess.Popen[str]) -> str:
    """The command's output once it has exited; a stop past its grace period fails the test
    with what it printed (the stack dumps its threads' stacks when its stop hangs)."""
    try:
        output, _ = process.communicate(timeout=STOP_GRACE_SECONDS + 15)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"the command did not stop after SIGTERM:\n{output[-20000:]}")
    return output


def test_command_runs_until_sigterm_and_fires_on_request(tmp_path: Path) -> None:
    # Given the command started in its own process, on free ports
    state_file = tmp_path / "var" / "local-stack.json"
    command = [
        sys.executable, "-m", "entraide_local", "run",
        "--template", str(TEMPLATE), "--port", "0", "--moto-port", "0",
        "--state-dir", str(tmp_path / "var"), "--stack-name", "cli-test",
        "--parameter", f"RecordDir={tmp_path / 'records'}",
    ]  # fmt: skip
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert wait_for(state_file.exists, timeout=30), "the stack did not start"
        state = json.loads(state_file.read_text())

        # When a schedule is fired through the state file, as `entraide local fire` does
        outcome = fire_from_state(tmp_path / "var", "ticker")
        health = requests.get(state["api_url"] + "_local/health", timeout=10)

        # Then the function ran in the stack's process
        assert outcome == {
            "function": "Ticker",
            "result": {"recorded": True, "function": "cli-test-Ticker"},
        }
        assert (
            read_records(tmp_path / "records" / "ticker.jsonl")[0]["function"] == "cli-test-Ticker"
        )
        assert health.json()["stack_name"] == "cli-test"
    finally:
        # And SIGTERM stops it cleanly, removing the state file
        process.send_signal(signal.SIGTERM)
        output = stopped_output(process)
    assert process.returncode == 0, output
    assert "ready in" in output
    assert "Ticker           fired on demand -> ok" in output
    assert not state_file.exists()


def test_command_refuses_a_second_stack_on_the_same_state_file(tmp_path: Path) -> None:
    # Given a state file of a live process (this one)
    state_dir = tmp_path / "var"
    state_dir.mkdir()
    (state_dir / "local-stack.json").write_text(
        json.dumps({"pid": os.getpid(), "api_url": "http://127.0.0.1:1/"})
    )

    # When another stack is started on it
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "entraide_local", "--template", str(TEMPLATE),
         "--state-dir", str(state_dir)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip

    # Then it refuses at once
    assert result.returncode == 1
    assert "already runs" in result.stderr
    assert time.monotonic() - started < 10
