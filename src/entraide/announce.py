"""The ``approved-posts`` topic: one message per approved post, for the relay and others.

Message attributes (kind, category, département, activation) let subscribers filter
without reading the body. Neither carries a contact detail.
"""

from __future__ import annotations

import json
from typing import Any

from entraide.models import Post


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


def approved_attributes(post: Post) -> dict[str, dict[str, str]]:
    values = {
        "kind": post.kind.value,
        "category": post.category.value,
        "departement": post.departement,
        "activation": post.activation_id,
    }
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}


class ApprovedTopic:
    """Publishes to the topic; the boto3 client is created on first use."""

    def __init__(self, topic_arn: str, client: Any | None = None) -> None:
        self.topic_arn = topic_arn
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("sns")
        return self._client

    def announce_approved(self, post: Post) -> str:
        response = self.client.publish(
            TopicArn=self.topic_arn,
            Message=json.dumps(approved_message(post), ensure_ascii=False),
            MessageAttributes=approved_attributes(post),
        )
        return str(response["MessageId"])
