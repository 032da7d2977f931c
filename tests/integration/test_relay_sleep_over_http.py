"""The relay's mapping asleep: a post approved meanwhile waits in the queue, and is tweeted
once activation_events' next check has enabled the mapping (over HTTP, on the local stack)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from entraide_local.schedules import scheduled_event

from .conftest import RunningStack
from .test_moderation_over_http import aude, decide, moderation_links, post_need

pytestmark = pytest.mark.integration
__all__ = ["aude"]  # the module's open activation (Aude), as in the moderation tests


def lambda_api(local_stack: RunningStack) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=local_stack.stack.lambda_url.rstrip("/"),
        region_name=local_stack.stack.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def waiting(local_stack: RunningStack) -> int:
    attributes = local_stack.stack.client("sqs").get_queue_attributes(
        QueueUrl=local_stack.stack.deployment.outputs["RelayQueueUrl"],
        AttributeNames=["ApproximateNumberOfMessages"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_a_post_approved_while_the_relay_sleeps_is_tweeted_after_the_next_check(
    local_stack: RunningStack,
) -> None:
    # Given the Aude activation open (its opening handled: it woke the mapping), then the
    # relay's mapping disabled (its UUID is what the check's environment names)
    stack = local_stack.stack
    stack.drain(timeout=15)
    uuid = stack.deployment.function("ActivationEventsFunction").environment["RELAY_MAPPING_UUID"]
    lambda_api(local_stack).update_event_source_mapping(UUID=uuid, Enabled=False)
    assert lambda_api(local_stack).get_event_source_mapping(UUID=uuid)["State"] == "Disabled"

    # When a post is approved
    post_id = post_need(local_stack, "Besoin de bottes en attendant le relais")
    decided = decide(moderation_links(local_stack, post_id)["approve"])
    assert decided.status_code == 200, decided.text
    stack.drain(timeout=15)

    # Then nothing is tweeted: the announcement waits in the relay's queue
    assert [t for t in local_stack.tweets() if f"/posts/{post_id}" in t["text"]] == []
    assert waiting(local_stack) >= 1

    # When activation_events' schedule fires (the check, every five minutes)
    rule = f"arn:aws:events:{stack.region}:123456789012:rule/activation-events"
    check = stack.invoke(
        "ActivationEventsFunction",
        scheduled_event(rule, datetime.now(UTC), region=stack.region, account="123456789012"),
    )
    assert check.error is None, check.traceback
    stack.drain(timeout=30)

    # Then the mapping is enabled and the post tweeted, once
    assert lambda_api(local_stack).get_event_source_mapping(UUID=uuid)["State"] == "Enabled"
    tweets = [t for t in local_stack.tweets() if f"/posts/{post_id}" in t["text"]]
    assert len(tweets) == 1
    assert waiting(local_stack) == 0
