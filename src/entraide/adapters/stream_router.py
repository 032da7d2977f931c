"""The table stream's one reader: which function acts on which change, and handing it over.

DynamoDB Streams serves at most two readers of a shard at a time: "More than 2 processes
are reading from the same streams shard at the same time. Exceeding this limit may result
in request throttling" (DynamoDB Streams API Reference, ``LimitExceededException``). Three
functions act on the table's changes (moderation, matching, activation events), so one
event source mapping reads the stream (the ``stream_router`` function) and invokes each
function concerned, synchronously, with the records it needs, in the shape of a stream
event: the consumers' handlers are those of a stream event source, their partial batch
failures come back here, and the stream retries what failed, in order, as it would for them.

Which change concerns whom is :data:`ROUTES`; the router's own ``FilterCriteria`` in
template.yaml let through their union only (a test holds the two together), so that
writes no one acts on (quota counters, claims, notices...) never wake the router.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from entraide.adapters.aws import AwsClient
from entraide.kernel.model import PostStatus

Record = Mapping[str, Any]


def _image(record: Record, which: str) -> Mapping[str, Any]:
    image: Mapping[str, Any] = record.get("dynamodb", {}).get(which) or {}
    return image


def _text(image: Mapping[str, Any], attribute: str) -> str | None:
    value = image.get(attribute)
    return value.get("S") if isinstance(value, Mapping) else None


def _is(record: Record, event_name: str, entity: str) -> bool:
    new = _image(record, "NewImage")
    return record.get("eventName") == event_name and _text(new, "entity") == entity


def post_created_pending(record: Record) -> bool:
    """A new post, waiting for moderation."""
    return _is(record, "INSERT", "post") and _text(_image(record, "NewImage"), "status") == str(
        PostStatus.PENDING
    )


def post_left_pending(record: Record, to: Iterable[PostStatus]) -> bool:
    """A post decided: from pending to one of ``to``."""
    if not _is(record, "MODIFY", "post"):
        return False
    old, new = _image(record, "OldImage"), _image(record, "NewImage")
    return _text(old, "status") == str(PostStatus.PENDING) and _text(new, "status") in {
        str(status) for status in to
    }


def post_left_public(record: Record) -> bool:
    """An approved post withdrawn or expired: it leaves every search and every network."""
    if not _is(record, "MODIFY", "post"):
        return False
    old, new = _image(record, "OldImage"), _image(record, "NewImage")
    return _text(old, "status") == str(PostStatus.APPROVED) and _text(new, "status") in {
        str(PostStatus.WITHDRAWN),
        str(PostStatus.EXPIRED),
    }


def activation_opened_or_closed(record: Record) -> bool:
    """An activation opened (a new open item) or closed (open → closed)."""
    new_state = _text(_image(record, "NewImage"), "state")
    if _is(record, "INSERT", "activation"):
        return new_state == "open"
    old_state = _text(_image(record, "OldImage"), "state")
    return _is(record, "MODIFY", "activation") and (old_state, new_state) == ("open", "closed")


@dataclass(frozen=True)
class Route:
    """A function (named as the router's settings name it) and the changes it acts on."""

    consumer: str
    wants: Callable[[Record], bool]


ROUTES: tuple[Route, ...] = (
    # pre-screen and email a new post; announce a decision and tell the poster
    Route(
        "moderate",
        lambda r: (
            post_created_pending(r)
            or post_left_pending(r, (PostStatus.APPROVED, PostStatus.REJECTED))
        ),
    ),
    # match a post just approved with its counterparts nearby
    Route("geomatch", lambda r: post_left_pending(r, (PostStatus.APPROVED,))),
    # announce an activation opened or closed; expire the posts of a closing
    Route("activation_events", activation_opened_or_closed),
    # take a post that left the public down from every network
    Route("retention", post_left_public),
)


def routed(records: Sequence[Record], routes: Sequence[Route] = ROUTES) -> dict[str, list[Record]]:
    """The records each consumer needs, in stream order; consumers with none are left out."""
    batches: dict[str, list[Record]] = {}
    for record in records:
        for route in routes:
            if route.wants(record):
                batches.setdefault(route.consumer, []).append(record)
    return batches


class Consumer(Protocol):
    def __call__(self, records: Sequence[Record]) -> set[str]:
        """Hands `records` over; returns the sequence numbers of those that failed."""
        ...


class ConsumerFailed(Exception):
    """A consumer did not take a record: the stream retries it (no record content here)."""


def sequence_number(record: Record) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def dispatch(records: Sequence[Record], consumers: Mapping[str, Consumer]) -> dict[str, str]:
    """Hands each consumer its records, all consumers at once.

    Returns, for each record that failed somewhere, the name of (one of) the consumer(s)
    that failed it. A consumer that succeeded sees the record again when the stream
    retries it: each consumer's effects are idempotent, as they must be for any stream.
    """
    batches = routed(records)
    if not batches:
        return {}
    failed: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=len(batches)) as pool:
        outcomes = {name: pool.submit(consumers[name], batch) for name, batch in batches.items()}
        for name, outcome in outcomes.items():
            try:
                failures = outcome.result()
            except Exception:  # the consumer or the call failed: every record it had
                failures = {sequence_number(record) for record in batches[name]}
            for number in failures:
                failed.setdefault(number, name)
    return failed


class LambdaConsumer(AwsClient):
    """A consumer that is a Lambda function, invoked synchronously (RequestResponse)."""

    service = "lambda"

    def __init__(self, function_name: str, *, timeout_seconds: float, client: Any = None) -> None:
        super().__init__(client)
        self.function_name = function_name
        self.timeout_seconds = timeout_seconds

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            # A synchronous invocation lasts up to the consumer's timeout: botocore's default
            # read timeout (60 s) would cut it short, and its retries would invoke it again
            # while the first still runs. The stream's own retries are the only ones.
            config = Config(
                read_timeout=self.timeout_seconds, retries={"max_attempts": 1, "mode": "standard"}
            )
            self._client = boto3.client(self.service, config=config)
        return self._client

    def __call__(self, records: Sequence[Record]) -> set[str]:
        # a synchronous payload may weigh 6 MB (Lambda quotas); a batch of ten items is far below
        response = self.client.invoke(
            FunctionName=self.function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps({"Records": list(records)}).encode(),
        )
        payload = response["Payload"].read()
        if response.get("FunctionError"):
            raise ConsumerFailed(f"{self.function_name}: {response['FunctionError']}")
        result = json.loads(payload) if payload else None
        failures = (result or {}).get("batchItemFailures") or []
        numbers = {sequence_number(record) for record in records}
        failed = {str(item.get("itemIdentifier")) for item in failures}
        # An identifier that is not in the batch fails it all, as Lambda rules for streams.
        return failed if failed <= numbers else numbers
