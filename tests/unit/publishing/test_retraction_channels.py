"""A post that ends leaves Bluesky and Mastodon too: one :class:`Retractor`, one channel per
network, each deletion once per (post, channel) whatever the redeliveries.

The networks are the HTTP-level fakes of the posters' own tests: a PDS over an httpx
transport behind ``atproto`` (tests/fixtures/bluesky/SOURCES.md), and Mastodon's recorded
answers served by ``responses`` (the deletion recorded in Mastodon.py's ``test_toot``
cassette; tests/fixtures/mastodon/SOURCES.md).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import responses

from entraide.kernel.model import Post, PostStatus
from entraide.publishing import bluesky, mastodon
from entraide.publishing.bluesky import BlueskyPoster
from entraide.publishing.mastodon import MastodonCredentials, MastodonPoster
from entraide.publishing.relay_memory import MemoryRelayStore
from entraide.publishing.relay_outcomes import Skipped, TemporaryFailure
from entraide.publishing.relay_store import RelayStore
from entraide.publishing.retraction import RelayedChannel, Retractor, retraction_message
from tests.factories import make_post
from tests.unit.publishing.test_bluesky import PDS, TEXT, written
from tests.unit.publishing.test_mastodon import handmade, recorded

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
INSTANCE = "https://mastodon.example"
STATUS_ID = "109440146774012815"  # the status the cassette deletes
STATUS = f"{INSTANCE}/api/v1/statuses/{STATUS_ID}"


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def announced(store: RelayStore, post_id: str, message_id: str) -> None:
    """The channel's relay announced the post (its claim, completed with the message's id)."""
    key = store.post_key(post_id)
    store.claim(key, T0, holder="relay", lease_until=T0 + timedelta(minutes=1), send={"text": "…"})
    store.complete(key, "relay", message_id)


class World:
    """A post announced on Bluesky (a record on the PDS) and Mastodon (the recorded status)."""

    def __init__(self) -> None:
        self.pds = PDS(lambda body: httpx.Response(500))
        self.pds.put = written(self.pds)
        self.bluesky: BlueskyPoster = self.pds.poster()
        self.mastodon = MastodonPoster(
            lambda: MastodonCredentials.model_validate(
                {"api_base_url": INSTANCE, "access_token": "TOKEN"}
            ),
            clock=lambda: T0,
        )
        self.stores = {
            "bluesky": MemoryRelayStore(channel="bluesky"),
            "mastodon": MemoryRelayStore(channel="mastodon"),
        }
        self.claims = MemoryRelayStore()  # the retractions' own claims, kept with X's
        self.posts: dict[str, Post] = {}
        self.retractor = Retractor(
            self.claims,
            [
                # Mastodon first: its outage must not keep Bluesky's deletion from being made
                RelayedChannel(self.stores["mastodon"], self.mastodon),
                RelayedChannel(self.stores["bluesky"], self.bluesky),
            ],
            clock=lambda: T0,
            load_post=self.posts.get,
        )

    def announce_and_end(self, post_id: str) -> None:
        uri = self.bluesky.post(TEXT).id
        announced(self.stores["bluesky"], post_id, uri)
        announced(self.stores["mastodon"], post_id, STATUS_ID)
        self.posts[post_id] = make_post(id=post_id, status=PostStatus.WITHDRAWN)

    def deletions_on_bluesky(self) -> int:
        return self.pds.calls.count("com.atproto.repo.deleteRecord")


def deletions(http: responses.RequestsMock) -> int:
    return sum(1 for call in http.calls if call.request.method == "DELETE")


def test_an_ended_post_is_deleted_once_on_each_network_whatever_the_redeliveries(
    http: responses.RequestsMock,
) -> None:
    # Given a post announced on Bluesky and Mastodon, then withdrawn
    http.add(responses.DELETE, STATUS, **recorded("mastodonpy_test_toot_delete.yaml"))
    world = World()
    world.announce_and_end("P1")
    # When its retraction is delivered three times
    outcomes = [world.retractor.handle(retraction_message("P1")) for _ in range(3)]
    # Then the Bluesky record is gone and Mastodon's status deleted, each by one call
    assert all(isinstance(outcome, Skipped) for outcome in outcomes)
    assert world.pds.records == {}
    assert world.deletions_on_bluesky() == 1
    assert deletions(http) == 1
    assert http.calls[-1].request.url == STATUS


def test_mastodon_down_holds_back_no_other_network_and_is_retried_alone(
    http: responses.RequestsMock,
) -> None:
    # Given Mastodon down for the first delivery, then back
    http.add(responses.DELETE, STATUS, **handmade("HANDMADE_service_unavailable.json"))
    http.add(responses.DELETE, STATUS, **recorded("mastodonpy_test_toot_delete.yaml"))
    world = World()
    world.announce_and_end("P1")
    # When the retraction is delivered: Mastodon's outage comes back to the handler
    with pytest.raises(TemporaryFailure):
        world.retractor.handle(retraction_message("P1"))
    # Then Bluesky's record is deleted all the same
    assert world.pds.records == {}
    # And the message sent again deletes on Mastodon, without deleting on Bluesky again
    assert isinstance(world.retractor.handle(retraction_message("P1")), Skipped)
    assert world.deletions_on_bluesky() == 1
    assert deletions(http) == 2  # the 503, then the deletion


def test_a_post_never_announced_on_a_network_is_never_announced_there_later(
    http: responses.RequestsMock,
) -> None:
    # Given a post withdrawn before any channel announced it
    world = World()
    world.posts["P1"] = make_post(id="P1", status=PostStatus.WITHDRAWN)
    # When its retraction comes first
    assert isinstance(world.retractor.handle(retraction_message("P1")), Skipped)
    # Then nothing is deleted, and each channel's relay finds the post done
    assert world.deletions_on_bluesky() == 0
    assert deletions(http) == 0
    assert all(store.is_announced("P1") for store in world.stores.values())


def test_the_dry_runs_write_each_deletion_beside_their_posts(tmp_path: Path) -> None:
    # Given the dry runs of Bluesky and Mastodon (no credentials)
    quiet = io.StringIO()
    outboxes = [bluesky.dry_run_poster(tmp_path, console=quiet, clock=lambda: T0)]
    outboxes.append(mastodon.dry_run_poster(tmp_path, console=quiet, clock=lambda: T0))
    # When each deletes what it posted
    for outbox in outboxes:
        outbox.delete(outbox.post(TEXT).id)
    # Then each deletion is a line of the channel's own deletions file
    for name, outbox in zip(("bluesky", "mastodon"), outboxes, strict=True):
        [line] = (tmp_path / f"{name}-deleted.jsonl").read_text("utf-8").splitlines()
        posted = json.loads((tmp_path / f"{name}.jsonl").read_text("utf-8"))
        assert json.loads(line) == {"deleted": posted["id"], "at": "2026-11-26T10:00:00+00:00"}
        assert outbox.deleted_path.name == f"{name}-deleted.jsonl"
