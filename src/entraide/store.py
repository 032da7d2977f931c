"""The single DynamoDB table: item layout and every access pattern.

See docs/data-model.md. Posts keep their contact details in a separate item
(``sk = CONTACT``) written in the same transaction, so that the post item, its
stream records and every index carry no email or phone number.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from entraide.kernel.errors import (
    ActivationAlreadyClosed,
    ActivationNotFound,
    ConcurrentChange,
    PostNotFound,
    WrongPostStatus,
)
from entraide.kernel.model import (
    Activation,
    AlertLevel,
    Category,
    Contact,
    Hazard,
    Kind,
    Post,
    PostStatus,
)

if TYPE_CHECKING:  # the activation rules cost cold start to functions that never use them
    from entraide.activation_rules import AlertRecord, TrackedActivation

Item = dict[str, Any]
POSTER_HISTORY_TTL = timedelta(days=30)
ClientFactory = Callable[[], Any]

BY_STATUS = "by_status"
BY_MONTH = "by_month"
BY_CELL = "by_cell"
# Partition-key attribute of each index (overloaded: ENTITY#value).
INDEX_PARTITION_KEYS = {BY_STATUS: "gsi1pk", BY_MONTH: "gsi2pk", BY_CELL: "gsi3pk"}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _month(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


# Geohash precision of the by_cell index: cells of about 39 x 20 km (20 x 20 km in
# France); a 20 km search reads a handful of cells, a 100 km one a few dozen.
CELL_PRECISION = 4


def cell_key(activation_id: str, geohash: str) -> str:
    return f"CELL#{activation_id}#{geohash[:CELL_PRECISION]}"


def changed_images[T](record: Any, parse: Callable[[Mapping[str, Any]], T]) -> tuple[T | None, T]:
    """``(old, new)`` of the item a stream record (powertools' DynamoDBRecord) changed.

    The template's FilterCriteria deliver only items of the kind ``parse`` reads; a
    record without a new image is an error (the batch reports it as a failure).
    """
    change = record.dynamodb
    if change is None or not change.new_image:
        raise ValueError(f"stream record {record.event_id} carries no new image")
    old = parse(change.old_image) if change.old_image else None
    return old, parse(change.new_image)


def post_key(post_id: str) -> Item:
    return {"pk": f"POST#{post_id}", "sk": "POST"}


def contact_key(post_id: str) -> Item:
    return {"pk": f"POST#{post_id}", "sk": "CONTACT"}


def activation_key(activation_id: str) -> Item:
    return {"pk": f"ACTIVATION#{activation_id}", "sk": "ACTIVATION"}


def post_to_item(post: Post) -> Item:
    created = _iso(post.created_at)
    item: Item = {
        **post_key(post.id),
        "entity": "post",
        "id": post.id,
        "kind": post.kind.value,
        "category": post.category.value,
        "title": post.title,
        "description": post.description,
        "postcode": post.postcode,
        "commune": post.commune,
        "insee": post.insee,
        "departement": post.departement,
        # DynamoDB numbers are decimals; str() keeps the 5 decimals of the table.
        "lat": Decimal(str(post.lat)),
        "lon": Decimal(str(post.lon)),
        "geohash": post.geohash,
        "activation_id": post.activation_id,
        "status": post.status.value,
        "version": post.version,
        "created_at": created,
        "gsi1pk": f"POST#{post.status.value}",
        "gsi1sk": f"{created}#{post.id}",
        "gsi2pk": f"POST#{_month(post.created_at)}",
        "gsi2sk": f"{created}#{post.id}",
    }
    if post.decided_by is not None:
        item["decided_by"] = post.decided_by
    if post.decided_at is not None:
        item["decided_at"] = _iso(post.decided_at)
    if post.reason is not None:
        item["reason"] = post.reason
    if post.ended_at is not None:
        item["ended_at"] = _iso(post.ended_at)
    return item


def post_from_item(item: Mapping[str, Any]) -> Post:
    return Post(
        id=item["id"],
        kind=Kind(item["kind"]),
        category=Category(item["category"]),
        title=item["title"],
        description=item["description"],
        postcode=item["postcode"],
        commune=item["commune"],
        insee=item["insee"],
        departement=item["departement"],
        lat=float(item["lat"]),
        lon=float(item["lon"]),
        geohash=item["geohash"],
        activation_id=item["activation_id"],
        status=PostStatus(item["status"]),
        created_at=_parse_iso(item["created_at"]),
        version=int(item["version"]),
        decided_by=item.get("decided_by"),
        decided_at=_parse_iso(item["decided_at"]) if item.get("decided_at") else None,
        reason=item.get("reason"),
        ended_at=_parse_iso(item["ended_at"]) if item.get("ended_at") else None,
    )


def poster_key(email: str) -> str:
    """Pseudonymous key of a poster: a digest of the normalised address, never the address."""
    digest = hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()
    return f"POSTER#{digest}"


def poster_history_item(post: Post, contact: Contact) -> Item:
    """What the near-duplicate check reads: the poster's recent public texts, for 30 days."""
    created = _iso(post.created_at)
    return {
        "pk": poster_key(contact.email),
        "sk": f"{created}#{post.id}",
        "entity": "poster-history",
        "post_id": post.id,
        "text": f"{post.title}\n{post.description}",
        "expires_at": int((post.created_at + POSTER_HISTORY_TTL).timestamp()),
    }


def contact_to_item(post_id: str, contact: Contact) -> Item:
    item: Item = {**contact_key(post_id), "entity": "contact", "email": contact.email}
    if contact.phone:
        item["phone"] = contact.phone
    return item


def activation_to_item(activation: Activation) -> Item:
    opened = _iso(activation.opened_at)
    state = "open" if activation.is_open else "closed"
    item: Item = {
        **activation_key(activation.id),
        "entity": "activation",
        "id": activation.id,
        "hazard": activation.hazard.value,
        "departements": list(activation.departements),
        "level": activation.level.value,
        "hashtag": activation.hashtag,
        "opened_at": opened,
        "origin": activation.origin,
        "state": state,
        "gsi1pk": f"ACTIVATION#{state}",
        "gsi1sk": f"{opened}#{activation.id}",
        "gsi2pk": f"ACTIVATION#{_month(activation.opened_at)}",
        "gsi2sk": f"{opened}#{activation.id}",
    }
    if activation.closed_at is not None:
        item["closed_at"] = _iso(activation.closed_at)
    if activation.sources:
        item["sources"] = list(activation.sources)
    return item


def alert_record_to_item(record: AlertRecord) -> Item:
    item: Item = {
        "key": record.key,
        "source": record.source,
        "version": record.version,
        "level": record.level.value,
        "departements": list(record.departements),
        "onset": _iso(record.onset),
        "headline": record.headline,
    }
    if record.expires is not None:
        item["expires"] = _iso(record.expires)
    if record.ended_at is not None:
        item["ended_at"] = _iso(record.ended_at)
    return item


def alert_record_from_item(item: Mapping[str, Any]) -> AlertRecord:
    from entraide.activation_rules import AlertRecord

    return AlertRecord(
        key=item["key"],
        source=item["source"],
        version=item["version"],
        level=AlertLevel(item["level"]),
        departements=tuple(item["departements"]),
        onset=_parse_iso(item["onset"]),
        expires=_parse_iso(item["expires"]) if item.get("expires") else None,
        ended_at=_parse_iso(item["ended_at"]) if item.get("ended_at") else None,
        headline=item.get("headline", ""),
    )


def activation_from_item(item: Mapping[str, Any]) -> Activation:
    closed = item.get("closed_at")
    return Activation(
        id=item["id"],
        hazard=Hazard(item["hazard"]),
        departements=tuple(item["departements"]),
        level=AlertLevel(item["level"]),
        hashtag=item["hashtag"],
        opened_at=_parse_iso(item["opened_at"]),
        closed_at=_parse_iso(closed) if closed else None,
        origin=item.get("origin", "manual"),
        sources=tuple(item.get("sources", ())),
    )


def _default_client() -> Any:
    import boto3

    return boto3.client("dynamodb")


class EntraideTable:
    """Adapter over the DynamoDB table. The boto3 client is created on first use."""

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _default_client()
        return self._client

    # -- (de)serialisation -------------------------------------------------
    @staticmethod
    def _serialise(item: Mapping[str, Any]) -> dict[str, Any]:
        from boto3.dynamodb.types import TypeSerializer

        serializer = TypeSerializer()
        return {key: serializer.serialize(value) for key, value in item.items()}

    @staticmethod
    def _deserialise(item: Mapping[str, Any]) -> Item:
        from boto3.dynamodb.types import TypeDeserializer

        deserializer = TypeDeserializer()
        return {key: deserializer.deserialize(value) for key, value in item.items()}

    def _query(
        self, index: str, partition: str, *, only: tuple[str, str] | None = None
    ) -> Iterator[Item]:
        """Items of an index partition; ``only=(attribute, value)`` filters them."""
        names = {"#pk": INDEX_PARTITION_KEYS[index]}
        values = {":pk": {"S": partition}}
        extra: dict[str, str] = {}
        if only is not None:
            names["#only"] = only[0]
            values[":only"] = {"S": only[1]}
            extra["FilterExpression"] = "#only = :only"
        paginator = self.client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table_name,
            IndexName=index,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            **extra,
        )
        for page in pages:
            for raw in page["Items"]:
                yield self._deserialise(raw)

    # -- posts -------------------------------------------------------------
    def create_post(self, post: Post, contact: Contact) -> None:
        """Write a new post, its contact item and the poster's history entry at once.

        None of them may exist already: a replayed request cannot overwrite anything.
        """
        items = [
            post_to_item(post),
            contact_to_item(post.id, contact),
            poster_history_item(post, contact),
        ]
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": self._serialise(item),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    }
                    for item in items
                ]
            )
        except self.client.exceptions.TransactionCanceledException as exc:
            raise ConcurrentChange(f"Le message {post.id} existe déjà.") from exc

    def get_post(self, post_id: str) -> Post | None:
        response = self.client.get_item(
            TableName=self.table_name, Key=self._serialise(post_key(post_id)), ConsistentRead=True
        )
        raw = response.get("Item")
        return post_from_item(self._deserialise(raw)) if raw else None

    def get_contact(self, post_id: str) -> Contact | None:
        response = self.client.get_item(
            TableName=self.table_name,
            Key=self._serialise(contact_key(post_id)),
            ConsistentRead=True,
        )
        raw = response.get("Item")
        if not raw:
            return None
        item = self._deserialise(raw)
        return Contact(email=item["email"], phone=item.get("phone"))

    # -- send slots: at most one message per interval --------------------------------
    def claim_slot(
        self, key: Item, *, entity: str, now: datetime, interval: timedelta, memory: timedelta
    ) -> str | datetime:
        """Claim the send slot of ``key`` (pk, sk) before sending: a token, or, when the
        slot is taken, when the last message went. One conditional write, so two senders
        never both get it; the item expires ``memory`` after the interval."""
        import uuid

        token = uuid.uuid4().hex
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=self._serialise(key),
                UpdateExpression=(
                    "SET #entity = :entity, #sent = :now, #claim = :token, #expires = :expires"
                ),
                ConditionExpression="attribute_not_exists(#sent) OR #sent <= :cutoff",
                ExpressionAttributeNames={
                    "#entity": "entity",
                    "#sent": "sent_at",
                    "#claim": "claim",
                    "#expires": "expires_at",
                },
                ExpressionAttributeValues=self._serialise(
                    {
                        ":entity": entity,
                        ":now": _iso(now),
                        ":token": token,
                        ":cutoff": _iso(now - interval),
                        ":expires": int((now + interval + memory).timestamp()),
                    }
                ),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            old = self._deserialise(exc.response.get("Item") or {})
            return _parse_iso(str(old["sent_at"])) if old.get("sent_at") else now
        return token

    def release_slot(self, key: Item, token: str) -> None:
        """Give a claimed slot back (nothing was sent); another claim by now is kept."""
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key=self._serialise(key),
                ConditionExpression="#claim = :token",
                ExpressionAttributeNames={"#claim": "claim"},
                ExpressionAttributeValues=self._serialise({":token": token}),
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return

    def recent_texts(self, email: str, *, since: datetime, exclude_post: str) -> list[str]:
        """Public texts of the poster's other posts since ``since`` (near-duplicate check)."""
        pages = self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND sk >= :since",
            ExpressionAttributeValues={
                ":pk": {"S": poster_key(email)},
                ":since": {"S": _iso(since)},
            },
        )
        texts = []
        for page in pages:
            for raw in page["Items"]:
                item = self._deserialise(raw)
                if item["post_id"] != exclude_post:
                    texts.append(str(item["text"]))
        return texts

    def open_posts_of(self, activation_id: str) -> list[Post]:
        """Pending and approved posts of an activation (the status index, filtered)."""
        return [
            post_from_item(item)
            for status in (PostStatus.PENDING, PostStatus.APPROVED)
            for item in self._query(
                BY_STATUS, f"POST#{status.value}", only=("activation_id", activation_id)
            )
        ]

    def transition(
        self,
        post: Post,
        to_status: PostStatus,
        *,
        at: datetime,
        by: str,
        reason: str | None = None,
    ) -> Post:
        """Move ``post`` to ``to_status`` with one conditional write on its status and version.

        Raises WrongPostStatus (with the current post) when another writer got there first,
        PostNotFound when the post is gone.
        """
        changes: Item = {
            ":to": to_status.value,
            ":from": post.status.value,
            ":version": post.version,
            ":next": post.version + 1,
            ":at": _iso(at),
            ":gsi1pk": f"POST#{to_status.value}",
        }
        update = "SET #status = :to, version = :next, gsi1pk = :gsi1pk"
        if to_status in (PostStatus.APPROVED, PostStatus.REJECTED):
            # the moderation decision stays on record when the post later ends
            changes[":by"] = by
            update += ", decided_by = :by, decided_at = :at"
        else:
            update += ", ended_at = :at"
        if reason:
            changes[":reason"] = reason
            update += ", reason = :reason"
        if to_status is PostStatus.APPROVED:
            # public from now on: findable near its place (sparse index by_cell)
            changes[":cell"] = cell_key(post.activation_id, post.geohash)
            changes[":cellsort"] = f"{post.kind.value}#{_iso(post.created_at)}#{post.id}"
            update += ", gsi3pk = :cell, gsi3sk = :cellsort"
        elif post.status is PostStatus.APPROVED:
            update += " REMOVE gsi3pk, gsi3sk"  # withdrawn or expired: out of every search
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key=self._serialise(post_key(post.id)),
                UpdateExpression=update,
                ConditionExpression="#status = :from AND version = :version",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=self._serialise(changes),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            current = exc.response.get("Item")
            if not current:
                raise PostNotFound(post.id) from exc
            raise WrongPostStatus(post_from_item(self._deserialise(current))) from exc
        return post_from_item(self._deserialise(response["Attributes"]))

    # -- activations -------------------------------------------------------
    def create_activation(self, activation: Activation) -> None:
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=self._serialise(activation_to_item(activation)),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            raise ConcurrentChange(f"L'activation {activation.id} existe déjà.") from exc

    def get_activation(self, activation_id: str) -> Activation | None:
        response = self.client.get_item(
            TableName=self.table_name,
            Key=self._serialise(activation_key(activation_id)),
            ConsistentRead=True,
        )
        raw = response.get("Item")
        return activation_from_item(self._deserialise(raw)) if raw else None

    def create_feed_activation(
        self, activation: Activation, alerts: tuple[AlertRecord, ...]
    ) -> None:
        """An activation opened by the alert feeds, with the alerts behind it."""
        item = activation_to_item(activation)
        item["alerts"] = [alert_record_to_item(record) for record in alerts]
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=self._serialise(item),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            raise ConcurrentChange(f"L'activation {activation.id} existe déjà.") from exc

    def update_feed_activation(
        self,
        activation_id: str,
        *,
        alerts: tuple[AlertRecord, ...],
        add_departements: tuple[str, ...] = (),
        level: AlertLevel | None = None,
        sources: tuple[str, ...] | None = None,
    ) -> None:
        """Replace the alerts of an open feed activation, widen its coverage, raise its level.

        One conditional write: the activation must still be open and not manual.
        """
        values: Item = {
            ":alerts": [alert_record_to_item(record) for record in alerts],
            ":open": "open",
            ":manual": "manual",
        }
        names = {"#state": "state", "#origin": "origin"}
        update = ["alerts = :alerts"]
        if add_departements:
            values[":add"] = list(add_departements)
            names["#departements"] = "departements"
            update.append("#departements = list_append(#departements, :add)")
        if level is not None:
            values[":level"] = level.value
            names["#level"] = "level"
            update.append("#level = :level")
        if sources is not None:
            values[":sources"] = list(sources)
            names["#sources"] = "sources"
            update.append("#sources = :sources")
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=self._serialise(activation_key(activation_id)),
                UpdateExpression="SET " + ", ".join(update),
                ConditionExpression="#state = :open AND #origin <> :manual",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=self._serialise(values),
            )
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            raise ConcurrentChange(
                f"L'activation {activation_id} n'est plus une activation ouverte des alertes."
            ) from exc

    def tracked_activations(self, *, closed_since: datetime) -> list[TrackedActivation]:
        """Open activations and those closed since ``closed_since``, with their alerts."""
        from entraide.activation_rules import TrackedActivation

        items = [*self._query(BY_STATUS, "ACTIVATION#open")]
        items += [
            item
            for item in self._query(BY_STATUS, "ACTIVATION#closed")
            if item.get("closed_at") and _parse_iso(item["closed_at"]) >= closed_since
        ]
        return [
            TrackedActivation(
                activation_from_item(item),
                tuple(alert_record_from_item(alert) for alert in item.get("alerts", ())),
            )
            for item in items
        ]

    def open_activations(self) -> list[Activation]:
        """Every open activation: one Query on the status index (a few items at most)."""
        return [activation_from_item(item) for item in self._query(BY_STATUS, "ACTIVATION#open")]

    def closed_activations(self) -> list[Activation]:
        return [activation_from_item(item) for item in self._query(BY_STATUS, "ACTIVATION#closed")]

    def close_activation(self, activation_id: str, closed_at: datetime) -> Activation:
        """Close an open activation with one conditional write."""
        closed = _iso(closed_at)
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key=self._serialise(activation_key(activation_id)),
                UpdateExpression="SET #state = :closed, closed_at = :at, gsi1pk = :gsi1pk",
                ConditionExpression="attribute_exists(pk) AND #state = :open",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=self._serialise(
                    {
                        ":closed": "closed",
                        ":open": "open",
                        ":at": closed,
                        ":gsi1pk": "ACTIVATION#closed",
                    }
                ),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            if "Item" not in exc.response:
                raise ActivationNotFound(activation_id) from exc
            raise ActivationAlreadyClosed(activation_id) from exc
        return activation_from_item(self._deserialise(response["Attributes"]))
