"""Test handler shared by several functions: appends each event to $RECORD_FILE.

Records whose JSON contains FAIL_ALWAYS are reported as failed every time, FAIL_ONCE only the
first time it is seen, and FAIL_RAISE makes the whole invocation raise.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def _identifier(record: dict[str, Any]) -> str:
    if "dynamodb" in record:
        return str(record["dynamodb"]["SequenceNumber"])
    return str(record["messageId"])


def _first_time(marker_dir: Path, identifier: str) -> bool:
    marker = marker_dir / f"seen-{identifier}"
    if marker.exists():
        return False
    marker.touch()
    return True


def _fails(record: dict[str, Any], marker_dir: Path) -> bool:
    text = json.dumps(record)
    if "FAIL_ALWAYS" in text:
        return True
    return "FAIL_ONCE" in text and _first_time(marker_dir, _identifier(record))


def lambda_handler(event: Any, context: Any) -> Any:
    record_file = Path(os.environ["RECORD_FILE"])
    record_file.parent.mkdir(parents=True, exist_ok=True)
    line = {"function": context.function_name, "stage": os.environ.get("STAGE"), "event": event}
    with record_file.open("a", encoding="utf-8") as output:
        output.write(json.dumps(line) + "\n")
    records = event.get("Records") if isinstance(event, dict) else None
    if not records:
        return {"recorded": True, "function": context.function_name}
    if "FAIL_RAISE" in json.dumps(records):
        raise ValueError("FAIL_RAISE in the batch")
    failures = [
        {"itemIdentifier": _identifier(record)}
        for record in records
        if _fails(record, record_file.parent)
    ]
    return {"batchItemFailures": failures}
