"""The activation item and the items written with it: the one module that reads and
writes them.

``pk = ACTIVATION#<id>``, ``sk = ACTIVATION``; ``gsi1`` by state (``ACTIVATION#open`` /
``ACTIVATION#closed``; sorted by opening while open, by closing once closed, so that the
feeds read the recently closed ones without reading history), ``gsi2`` by month of
opening. An activation opened by the alert feeds also keeps the alerts behind it
(``alerts``: one map per :class:`~entraide.activation.rules.AlertRecord`). Operators (CLI),
the alert feeds, intake (is the platform awake here?), the relay and the report read it
here.

**One open activation per family and département**, whoever opens it and however many
do at once: each open activation holds a *cover* item per département
(``COVER#<family>#<département>``), put with ``attribute_not_exists(pk)`` in the same
transaction as the activation, or as the widening that adds the département, and deleted
in the transaction that closes it. Two overlapping feed runs, or an operator and a run,
cannot both open the Aude for floods: the second transaction is cancelled.

**A closing leaves a job**: ``EXPIRY#pending`` / ``<closed_at>#<id>``, put in the closing
transaction, holds where the expiry of the activation's open posts stands (a cursor over
the status index), so that expiring 20,000 posts can stop at a deadline and go on later;
it is deleted when the last page is done.

Why one module: the activation, its covers and its expiry job are written in the same
transactions; split, each half would write the other's keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from entraide.adapters.table import (
    BY_MONTH,
    BY_STATUS,
    CONDITION_FAILED,
    INDEX_KEYS,
    Check,
    ConditionFailed,
    Delete,
    Item,
    Put,
    Table,
    TransactionCancelled,
    Update,
    Write,
)
from entraide.kernel.departements import departement_name
from entraide.kernel.errors import ActivationAlreadyClosed, ActivationNotFound, ConcurrentChange
from entraide.kernel.model import Activation, AlertLevel, Hazard, HazardFamily
from entraide.kernel.times import iso, month_of, parse_iso

if TYPE_CHECKING:  # the activation rules cost cold start to functions that never use them
    from entraide.activation.rules import AlertRecord, TrackedActivation

ACTIVATION_PREFIX = "ACTIVATION#"
COVER_PREFIX = "COVER#"
EXPIRY_PARTITION = "EXPIRY#pending"
OPEN, CLOSED = "open", "closed"


class DepartementCovered(ConcurrentChange):
    """A département is covered already by an open activation of the same family."""

    def __init__(self, departement: str, family: HazardFamily, holder: str | None) -> None:
        held = f"l'activation {holder}" if holder else "une autre activation"
        super().__init__(
            f"Le département {departement} ({departement_name(departement)}) est déjà couvert "
            f"par {held} ({family.label}) : une seule activation ouverte par famille d'aléas "
            f"et par département."
        )
        self.departement = departement
        self.holder = holder


def cover_key(family: HazardFamily, departement: str) -> Item:
    return {"pk": f"{COVER_PREFIX}{family.value}#{departement}", "sk": "COVER"}


def _cover_puts(activation: Activation, departements: tuple[str, ...]) -> list[Put]:
    return [
        Put(
            item={
                **cover_key(activation.family, code),
                "entity": "activation-cover",
                "activation_id": activation.id,
                "family": activation.family.value,
                "departement": code,
            },
            condition="attribute_not_exists(pk)",
        )
        for code in departements
    ]


def _cover_deletes(activation: Activation) -> list[Delete]:
    # A cover may be missing (an activation opened before covers existed): then nothing to do.
    return [
        Delete(
            key=cover_key(activation.family, code),
            condition="attribute_not_exists(pk) OR activation_id = :id",
            values={":id": activation.id},
        )
        for code in activation.departements
    ]


def expiry_job_key(activation_id: str, closed_at: datetime) -> Item:
    return {"pk": EXPIRY_PARTITION, "sk": f"{iso(closed_at)}#{activation_id}"}


@dataclass(frozen=True, slots=True)
class ExpiryJob:
    """Where the expiry of a closed activation's open posts stands: the status being paged
    (None before the first page) and the index key to go on from (None: from the start)."""

    activation_id: str
    closed_at: datetime
    status: str | None = None
    cursor: Item | None = None
    expired: int = 0


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
        "gsi1sk": f"{_state_sort(activation)}#{activation.id}",
        "gsi2pk": f"{ACTIVATION_PREFIX}{month_of(activation.opened_at)}",
        "gsi2sk": f"{opened}#{activation.id}",
    }
    if activation.closed_at is not None:
        item["closed_at"] = iso(activation.closed_at)
    if activation.sources:
        item["sources"] = list(activation.sources)
    return item


def _state_sort(activation: Activation) -> str:
    """The status index sorts open activations by opening, closed ones by closing."""
    return iso(activation.closed_at if activation.closed_at else activation.opened_at)


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
    if record.hazard is not None:
        item["hazard"] = record.hazard.value
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
        hazard=Hazard(item["hazard"]) if item.get("hazard") else None,
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
        sort_from: str | None = None,
        filter: str | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> list[Item]:
        """Items of an index partition; ``sort_below`` bounds its sort key (excluded),
        ``sort_from`` from below (included)."""
        partition_key, sort_key = INDEX_KEYS[index]
        condition = "#pk = :pk"
        names = {"#pk": partition_key}
        bound: dict[str, str] = {}
        if sort_below is not None:
            condition += " AND #sk < :below"
            bound[":below"] = sort_below
        elif sort_from is not None:
            condition += " AND #sk >= :from"
            bound[":from"] = sort_from
        if bound:
            names["#sk"] = sort_key
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

    def _create(self, item: Item, activation: Activation) -> None:
        """The activation and its covers, or nothing (DepartementCovered, ConcurrentChange)."""
        writes: list[Write] = [Put(item=item, condition="attribute_not_exists(pk)")]
        writes += _cover_puts(activation, activation.departements)
        self._transact(writes, activation)

    def _transact(self, writes: list[Write], activation: Activation) -> None:
        try:
            self.table.transact(writes)
        except TransactionCancelled as exc:
            if not exc.condition_failed:
                raise
            for write, code in zip(writes, exc.reasons, strict=False):
                if (
                    code == CONDITION_FAILED
                    and isinstance(write, Put)
                    and "departement" in write.item
                ):
                    holder = self.table.get({"pk": write.item["pk"], "sk": "COVER"})
                    raise DepartementCovered(
                        write.item["departement"],
                        activation.family,
                        str(holder["activation_id"]) if holder else None,
                    ) from exc
            raise ConcurrentChange(
                f"L'activation {activation.id} a changé entre-temps (ou existe déjà)."
            ) from exc

    # -- operators ---------------------------------------------------------------------
    def create_activation(self, activation: Activation) -> None:
        self._create(activation_to_item(activation), activation)

    def get_activation(self, activation_id: str, *, consistent: bool = True) -> Activation | None:
        """The activation (``consistent``: see :meth:`Table.get`)."""
        item = self.table.get(activation_key(activation_id), consistent=consistent)
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
        """Close an open activation: in one transaction, its state (conditional on being
        open), its covers deleted, and the expiry job of its posts."""
        item = self.table.get(activation_key(activation_id))
        if item is None:
            raise ActivationNotFound(activation_id)
        activation = activation_from_item(item)
        if not activation.is_open:
            raise ActivationAlreadyClosed(activation_id)
        closed = iso(closed_at)
        writes: list[Write] = [
            Update(
                key=activation_key(activation_id),
                expression=(
                    "SET #state = :closed, closed_at = :at, gsi1pk = :gsi1pk, gsi1sk = :gsi1sk"
                ),
                condition="attribute_exists(pk) AND #state = :open",
                names={"#state": "state"},
                values={
                    ":closed": CLOSED,
                    ":open": OPEN,
                    ":at": closed,
                    ":gsi1pk": f"{ACTIVATION_PREFIX}{CLOSED}",
                    ":gsi1sk": f"{closed}#{activation_id}",
                },
            ),
            *_cover_deletes(activation),
            Put(
                item={
                    **expiry_job_key(activation_id, closed_at),
                    "entity": "expiry-job",
                    "activation_id": activation_id,
                    "closed_at": closed,
                    "expired": 0,
                },
                condition="attribute_not_exists(pk)",
            ),
        ]
        try:
            self.table.transact(writes)
        except TransactionCancelled as exc:
            if exc.reasons[:1] == (CONDITION_FAILED,):
                raise ActivationAlreadyClosed(activation_id) from exc
            raise
        return replace(activation, closed_at=closed_at)

    # -- expiry of a closed activation's posts -----------------------------------------
    def pending_expiries(self) -> list[ExpiryJob]:
        """Closed activations whose open posts are not all expired yet (a few items)."""
        return [
            ExpiryJob(
                activation_id=str(item["activation_id"]),
                closed_at=parse_iso(item["closed_at"]),
                status=str(item.get("status", "")) or None,
                cursor=dict(item["cursor"]) if item.get("cursor") else None,
                expired=int(item.get("expired", 0)),
            )
            for item in self.table.query("pk = :pk", {":pk": EXPIRY_PARTITION}, consistent=True)
        ]

    def save_expiry(self, job: ExpiryJob) -> None:
        """Where the expiry stands (the status being paged and the key to go on from)."""
        values: Item = {":expired": job.expired, ":status": job.status or ""}
        expression = "SET expired = :expired, #status = :status"
        if job.cursor:
            values[":cursor"] = job.cursor
            expression += ", #cursor = :cursor"
        else:
            expression += " REMOVE #cursor"
        self.table.write(
            Update(
                key=expiry_job_key(job.activation_id, job.closed_at),
                expression=expression,
                condition="attribute_exists(pk)",
                names={"#status": "status", "#cursor": "cursor"},
                values=values,
            )
        )

    def finish_expiry(self, job: ExpiryJob) -> None:
        self.table.write(Delete(key=expiry_job_key(job.activation_id, job.closed_at)))

    # -- the alert feeds ---------------------------------------------------------------
    def create_feed_activation(
        self, activation: Activation, alerts: tuple[AlertRecord, ...]
    ) -> None:
        """An activation opened by the alert feeds, with the alerts behind it."""
        item = activation_to_item(activation)
        item["alerts"] = [alert_record_to_item(record) for record in alerts]
        self._create(item, activation)

    def update_feed_activation(
        self,
        activation: Activation,
        *,
        alerts: tuple[AlertRecord, ...],
        add_departements: tuple[str, ...] = (),
        level: AlertLevel | None = None,
        sources: tuple[str, ...] | None = None,
    ) -> None:
        """Replace the alerts of an open feed activation, widen its coverage, raise its level.

        One transaction: the activation must still be open and not manual, and each added
        département not covered by another activation of its family (DepartementCovered).
        """
        activation_id = activation.id
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
        change = Update(
            key=activation_key(activation_id),
            expression="SET " + ", ".join(update),
            condition="#state = :open AND #origin <> :manual",
            names=names,
            values=values,
        )
        if add_departements:
            self._transact([change, *_cover_puts(activation, add_departements)], activation)
            return
        try:
            self.table.write(change)
        except ConditionFailed as exc:
            raise ConcurrentChange(
                f"L'activation {activation_id} n'est plus une activation ouverte des alertes."
            ) from exc

    def tracked_activations(self, *, closed_since: datetime) -> list[TrackedActivation]:
        """Open activations and those closed since ``closed_since``, with their alerts."""
        from entraide.activation.rules import TrackedActivation

        items = self._state(OPEN)
        # Closed ones sort by closing: only those closed since then are read, however many
        # were closed before.
        items += self._index(
            BY_STATUS,
            f"{ACTIVATION_PREFIX}{CLOSED}",
            sort_from=iso(closed_since),
        )
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
