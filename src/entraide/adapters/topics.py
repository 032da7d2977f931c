"""Publishing to an SNS topic: JSON messages with string attributes that subscribers filter on."""

from __future__ import annotations

import json
from typing import Any


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
