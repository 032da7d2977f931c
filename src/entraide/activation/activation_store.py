"""The activation item: the one module that reads and writes it.

``pk = ACTIVATION#<id>``, ``sk = ACTIVATION``; ``gsi1`` by state (``ACTIVATION#open`` /
``ACTIVATION#closed``, a handful of items), ``gsi2`` by month of opening. An activation
opened by the alert feeds also keeps the alerts behind it (``alerts``: one map per
:class:`~entraide.activation.rules.AlertRecord`). Operators (CLI), the alert feeds,
intake (is the platform awake here?), the relay and the report read it here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from entraide.adapters.table import (
    BY_MONTH,
    BY_STATUS,
    INDEX_KEYS,
    Check,
    ConditionFailed,
    Item,
    Put,
    Table,
    Update,
)
from entraide.kernel.errors import ActivationAlreadyClosed, ActivationNotFound, ConcurrentChange
from entraide.kernel.model import Activation, AlertLevel, Hazard
from entraide.kernel.times import iso, month_of, parse_iso

if TYPE_CHECKING:  # the activation rules cost cold start to functions that never use them
    from entraide.activation.rules import AlertRecord, TrackedActivation

ACTIVATION_PREFIX = "ACTIVATION#"
OPEN, CLOSED = "open", "closed"


def activation_pk(activation_id: str) -> str:
    """The partition of an activation; also what names it in another item (a relay claim)."""
    return f"{ACTIVATION_PREFIX}{activation_id}"


def activation_key(activation_id: str) -> Item:
    return {"pk": activation_pk(activation_id), "sk": "ACTIVATION"}


def activation_to_item(activation: Activation) -> Item:
    opened = iso(activation.opened_at)
    state = OPEN if activation.is_open else CLOSED
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
        "gsi1pk": f"{ACTIVATION_PREFIX}{state}",
        "gsi1sk": f"{opened}#{activation.id}",
        "gsi2pk": f"{ACTIVATION_PREFIX}{month_of(activation.opened_at)}",
        "gsi2sk": f"{opened}#{activation.id}",
    }
    if activation.closed_at is not None:
        item["closed_at"] = iso(activation.closed_at)
    if activation.sources:
        item["sources"] = list(activation.sources)
    return item


def activation_from_item(item: Mapping[str, Any]) -> Activation:
    closed = item.get("closed_at")
    return Activation(
        id=item["id"],
        hazard=Hazard(item["hazard"]),
        departements=tuple(item["departements"]),
        level=AlertLevel(item["level"]),
        hashtag=item["hashtag"],
        opened_at=parse_iso(item["opened_at"]),
        closed_at=parse_iso(closed) if closed else None,
        origin=item.get("origin", "manual"),
        sources=tuple(item.get("sources", ())),
    )


def alert_record_to_item(record: AlertRecord) -> Item:
    item: Item = {
        "key": record.key,
        "source": record.source,
        "version": record.version,
        "level": record.level.value,
        "departements": list(record.departements),
        "onset": iso(record.onset),
        "headline": record.headline,
    }
    if record.expires is not None:
        item["expires"] = iso(record.expires)
    if record.ended_at is not None:
        item["ended_at"] = iso(record.ended_at)
    return item


def alert_record_from_item(item: Mapping[str, Any]) -> AlertRecord:
    from entraide.activation.rules import AlertRecord

    return AlertRecord(
        key=item["key"],
        source=item["source"],
        version=item["version"],
        level=AlertLevel(item["level"]),
        departements=tuple(item["departements"]),
        onset=parse_iso(item["onset"]),
        expires=parse_iso(item["expires"]) if item.get("expires") else None,
        ended_at=parse_iso(item["ended_at"]) if item.get("ended_at") else None,
        headline=item.get("headline", ""),
    )


class ActivationStore:
    """Activations in the single table."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def _index(
        self,
        index: str,
        partition: str,
        *,
        sort_below: str | None = None,
        filter: str | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> list[Item]:
        """Items of an index partition; ``sort_below`` bounds its sort key (excluded)."""
        partition_key, sort_key = INDEX_KEYS[index]
        condition = "#pk = :pk"
        names = {"#pk": partition_key}
        if sort_below is not None:
            condition += " AND #sk < :below"
            names["#sk"] = sort_key
        bound = {":below": sort_below} if sort_below is not None else {}
        return list(
            self.table.query(
                condition,
                {":pk": partition, **bound, **(values or {})},
                names=names,
                index=index,
                filter=filter,
            )
        )

    def _state(self, state: str, *, sort_below: str | None = None) -> list[Item]:
        return self._index(BY_STATUS, f"{ACTIVATION_PREFIX}{state}", sort_below=sort_below)

    def _create(self, item: Item) -> None:
        try:
            self.table.write(Put(item=item, condition="attribute_not_exists(pk)"))
        except ConditionFailed as exc:
            raise ConcurrentChange(f"L'activation {item['id']} existe déjà.") from exc

    # -- operators ---------------------------------------------------------------------
    def create_activation(self, activation: Activation) -> None:
        self._create(activation_to_item(activation))

    def get_activation(self, activation_id: str) -> Activation | None:
        item = self.table.get(activation_key(activation_id))
        return activation_from_item(item) if item else None

    def open_activations(self) -> list[Activation]:
        """Every open activation: one Query on the status index (a few items at most)."""
        return [activation_from_item(item) for item in self._state(OPEN)]

    def open_check(self, activation_id: str, departement: str | None = None) -> Check:
        """The condition, for a transaction, that the activation is open (and covers
        ``departement``): what the status index said a moment ago, checked on the item
        itself when the write happens (an index lags behind its table)."""
        condition = "#state = :open"
        values: Item = {":open": OPEN}
        if departement is not None:
            condition += " AND contains(departements, :departement)"
            values[":departement"] = departement
        return Check(
            key=activation_key(activation_id),
            condition=condition,
            names={"#state": "state"},
            values=values,
        )

    def closed_activations(self) -> list[Activation]:
        return [activation_from_item(item) for item in self._state(CLOSED)]

    def close_activation(self, activation_id: str, closed_at: datetime) -> Activation:
        """Close an open activation with one conditional write."""
        try:
            changed = self.table.write(
                Update(
                    key=activation_key(activation_id),
                    expression="SET #state = :closed, closed_at = :at, gsi1pk = :gsi1pk",
                    condition="attribute_exists(pk) AND #state = :open",
                    names={"#state": "state"},
                    values={
                        ":closed": CLOSED,
                        ":open": OPEN,
                        ":at": iso(closed_at),
                        ":gsi1pk": f"{ACTIVATION_PREFIX}{CLOSED}",
                    },
                ),
                returns="ALL_NEW",
                keep_old=True,
            )
        except ConditionFailed as exc:
            if exc.old is None:
                raise ActivationNotFound(activation_id) from exc
            raise ActivationAlreadyClosed(activation_id) from exc
        assert changed is not None
        return activation_from_item(changed)

    # -- the alert feeds ---------------------------------------------------------------
    def create_feed_activation(
        self, activation: Activation, alerts: tuple[AlertRecord, ...]
    ) -> None:
        """An activation opened by the alert feeds, with the alerts behind it."""
        item = activation_to_item(activation)
        item["alerts"] = [alert_record_to_item(record) for record in alerts]
        self._create(item)

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
            ":open": OPEN,
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
            self.table.write(
                Update(
                    key=activation_key(activation_id),
                    expression="SET " + ", ".join(update),
                    condition="#state = :open AND #origin <> :manual",
                    names=names,
                    values=values,
                )
            )
        except ConditionFailed as exc:
            raise ConcurrentChange(
                f"L'activation {activation_id} n'est plus une activation ouverte des alertes."
            ) from exc

    def tracked_activations(self, *, closed_since: datetime) -> list[TrackedActivation]:
        """Open activations and those closed since ``closed_since``, with their alerts."""
        from entraide.activation.rules import TrackedActivation

        items = self._state(OPEN)
        items += [
            item
            for item in self._state(CLOSED)
            if item.get("closed_at") and parse_iso(item["closed_at"]) >= closed_since
        ]
        return [
            TrackedActivation(
                activation_from_item(item),
                tuple(alert_record_from_item(alert) for alert in item.get("alerts", ())),
            )
            for item in items
        ]

    # -- a month (reporting) -----------------------------------------------------------
    def opened_in(self, month: str, *, open_after: datetime | None = None) -> list[Activation]:
        """Activations opened in ``YYYY-MM``; with ``open_after``, only those still open
        then (not closed, or closed later)."""
        if open_after is None:
            items = self._index(BY_MONTH, f"{ACTIVATION_PREFIX}{month}")
        else:
            items = self._index(
                BY_MONTH,
                f"{ACTIVATION_PREFIX}{month}",
                filter="attribute_not_exists(closed_at) OR closed_at > :start",
                values={":start": iso(open_after)},
            )
        return [activation_from_item(item) for item in items]

    def open_opened_before(self, moment: datetime) -> list[Activation]:
        """Activations still open that were opened before ``moment``."""
        return [activation_from_item(item) for item in self._state(OPEN, sort_below=iso(moment))]
