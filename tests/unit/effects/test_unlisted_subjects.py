"""The fault run's end: a subject left open out of the sweep's index is work left."""

from __future__ import annotations

from datetime import timedelta

from entraide.adapters.table import Table
from entraide.effects.ledger_store import DynamoDBLedgerStore
from entraide.effects.model import Effect, Listing, State, Subject
from entraide_local.faultrun.pipeline import unlisted_open_subjects
from tests.factories import NOW


def opened(store: DynamoDBLedgerStore, key: str, listing: Listing) -> None:
    subject = Subject(key, "moderate", (Effect("email"),), {"post_id": key}, listing=listing)
    assert store.open(subject, holder="run", lease_until=NOW + timedelta(seconds=30), now=NOW)


def test_only_an_open_subject_out_of_the_index_that_could_be_in_it_is_work_left(
    table: Table,
) -> None:
    store = DynamoDBLedgerStore(table)
    # Given subjects listed from their opening, never listed (found by their owner), and
    # listed only when left, each with its effect claimed by a run
    opened(store, "moderation:listed:v1", Listing.OPEN)
    opened(store, "notice:never", Listing.NEVER)
    assert not unlisted_open_subjects(table.client, table.table_name)
    opened(store, "moderation:left:v1", Listing.LEFT)
    # Then only the last is work no index shows, until its effect is done
    assert unlisted_open_subjects(table.client, table.table_name)
    store.finish("moderation:left:v1", "email", State.DONE, holder="run", last=True)
    assert not unlisted_open_subjects(table.client, table.table_name)
