"""Test handler shared by the runtime tests: records each invocation, then does what it is told.

Each invocation appends `{function, pid, started, ended, event, ...}` to $RECORD_FILE (the
process id tells execution environments apart). The event (or, for a stream or queue batch,
its first record's `action` attribute or JSON body) may ask to `sleep` seconds, `fail`, `exit`
the process, `invoke` another function through Lambda's Invoke API, or enable or disable an
event source mapping: `{"mapping": {"uuid": ..., "enabled": ...}}` (UpdateEventSourceMapping;
the UUID defaults to $MAPPING_UUID). FAIL_ALWAYS in the
environment makes every invocation fail. SETUP_MARKER names a folder the worker's setup call
must have created before this module was imported.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import boto3

SETUP_SEEN_AT_IMPORT = (
    os.path.isdir(os.environ["SETUP_MARKER"]) if "SETUP_MARKER" in os.environ else None
)
print(f"probe imported in {os.getpid()}", flush=True)


def _action(event: Any) -> dict[str, Any]:
    if not isinstance(event, dict):
        return {}
    records = event.get("Records")
    if not records:
        return event
    record = records[0]
    if "body" in record:  # SQS
        body = json.loads(record["body"])
        return body if isinstance(body, dict) else {}
    action = record.get("dynamodb", {}).get("NewImage", {}).get("action", {}).get("S")
    return json.loads(action) if action else {}


def _invoke(request: dict[str, Any]) -> dict[str, Any]:
    response = boto3.client("lambda").invoke(
        FunctionName=request["function"],
        InvocationType=request.get("type", "RequestResponse"),
        Payload=json.dumps(request.get("payload", {})).encode(),
    )
    payload = response["Payload"].read()
    return {
        "status": response["StatusCode"],
        "function_error": response.get("FunctionError"),
        "payload": json.loads(payload) if payload else None,
    }


def lambda_handler(event: Any, context: Any) -> Any:
    started = time.time()
    action = _action(event)
    result: dict[str, Any] = {"pid": os.getpid(), "setup_seen_at_import": SETUP_SEEN_AT_IMPORT}
    if "invoke" in action:
        result["invoked"] = _invoke(action["invoke"])
    if "mapping" in action:
        request = action["mapping"]
        mapping = boto3.client("lambda").update_event_source_mapping(
            UUID=request.get("uuid") or os.environ["MAPPING_UUID"], Enabled=request["enabled"]
        )
        result["mapping_state"] = mapping["State"]
    time.sleep(float(action.get("sleep", 0)))
    line = {
        "function": context.function_name,
        "pid": os.getpid(),
        "started": started,
        "ended": time.time(),
        "event": event,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
    }
    record_file = Path(os.environ["RECORD_FILE"])
    record_file.parent.mkdir(parents=True, exist_ok=True)
    with record_file.open("a", encoding="utf-8") as output:
        output.write(json.dumps(line) + "\n")
    if action.get("exit") is not None:
        sys.exit(int(action["exit"]))
    if action.get("fail") or os.environ.get("FAIL_ALWAYS"):
        raise RuntimeError(f"failing on purpose in {context.function_name}")
    return result
