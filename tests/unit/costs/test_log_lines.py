"""A function's log lines carry what tells them apart, not what its log group already says
(see ``SAME_ON_EVERY_LINE`` in src/entraide/observability.py): CloudWatch Logs bills every
byte ingested."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from entraide.observability import logger
from tests.unit.conftest import FakeContext


def _lines_of(handler: Any, event: Any) -> list[dict[str, Any]]:
    stream_handler = logger.registered_handler
    assert isinstance(stream_handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = stream_handler.setStream(stream)
    try:
        handler(event, FakeContext("moderate"))
    finally:
        stream_handler.setStream(previous)
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_names_its_invocation_but_not_again_its_function() -> None:
    # Given a handler that logs with the Lambda context injected, as every function does
    @logger.inject_lambda_context
    def handler(event: Any, context: Any) -> None:
        logger.info("Moderation sweep", extra={"swept": event})

    # When it runs
    [line] = _lines_of(handler, {"subjects": 1})

    # Then the line tells its invocation and what it did
    assert line["function_request_id"] == FakeContext().aws_request_id
    assert "cold_start" in line
    assert line["message"] == "Moderation sweep"
    assert line["swept"] == {"subjects": 1}
    assert line["level"] == "INFO"
    # and leaves out what is the same on every line of the function's log group
    assert not {"function_name", "function_arn", "function_memory_size"} & set(line)
