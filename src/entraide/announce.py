"""The platform's SNS topics: approved posts, and activations opened or closed.

Subscribers (the relay's queue, the operators' mailbox) filter on message attributes
without reading the body. Neither attributes nor body ever carry a contact detail.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from entraide.kernel.model import Activation, Post


class ActivationEvent(StrEnum):
    OPENED = "activation-opened"
    CLOSED = "activation-closed"


def approved_message(post: Post) -> dict[str, Any]:
    return {
        "event": "post-approved",
        "post_id": post.id,
        "version": post.version,
        "kind": post.kind.value,
        "category": post.category.value,
        "title": post.title,
        "commune": post.commune,
        "postcode": post.postcode,
        "departement": post.departement,
        "activation_id": post.activation_id,
        "approved_at": post.decided_at.isoformat() if post.decided_at else None,
    }


def approved_attributes(post: Post) -> dict[str, str]:
    return {
        "event": "post-approved",
        "kind": post.kind.value,
        "category": post.category.value,
        "departement": post.departement,
        "activation": post.activation_id,
    }


def activation_message(activation: Activation, event: ActivationEvent) -> dict[str, Any]:
    return {
        "event": event.value,
        "activation_id": activation.id,
        "hazard": activation.hazard.value,
        "departements": list(activation.departements),
        "level": activation.level.value,
        "hashtag": activation.hashtag,
        "origin": activation.origin,
        "opened_at": activation.opened_at.isoformat(),
        "closed_at": activation.closed_at.isoformat() if activation.closed_at else None,
    }


def activation_attributes(activation: Activation, event: ActivationEvent) -> dict[str, str]:
    return {"event": event.value, "hazard": activation.hazard.value, "activation": activation.id}


class Topic:
    """Publishes JSON messages with string attributes; the client is created on first use."""

    def __init__(self, topic_arn: str, client: Any | None = None) -> None:
        self.topic_arn = topic_arn
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("sns")
        return self._client

    def publish(self, message: dict[str, Any], attributes: dict[str, str]) -> str:
        response = self.client.publish(
            TopicArn=self.topic_arn,
            Message=json.dumps(message, ensure_ascii=False),
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in attributes.items()
            },
        )
        return str(response["MessageId"])


class ApprovedTopic(Topic):
    def announce_approved(self, post: Post) -> str:
        return self.publish(approved_message(post), approved_attributes(post))


class ActivationTopic(Topic):
    def announce(self, activation: Activation, event: ActivationEvent) -> str:
        return self.publish(
            activation_message(activation, event), activation_attributes(activation, event)
        )
