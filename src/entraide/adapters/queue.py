"""Sending to an SQS queue (re-sending a deferred message, dead-lettering a refused one)."""

from __future__ import annotations

from typing import Any

from entraide.adapters.aws import AwsClient


class Queue(AwsClient):
    """One queue by URL; the boto3 client is created on first use."""

    service = "sqs"

    def __init__(self, url: str, client: Any | None = None) -> None:
        super().__init__(client)
        self.url = url

    def send(
        self, body: str, *, delay_seconds: int = 0, attributes: dict[str, str] | None = None
    ) -> str:
        response = self.client.send_message(
            QueueUrl=self.url,
            MessageBody=body,
            DelaySeconds=delay_seconds,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in (attributes or {}).items()
            },
        )
        return str(response["MessageId"])
