"""Closing an activation expires its open posts in resumable batches, whatever their number."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from entraide.activation.activation_store import ActivationStore
from entraide.activation.events import expire_posts, finish_expiries
from entraide.adapters.table import BATCH_SIZE, Table
from entraide.intake.post_store import PostStore, post_to_item
from entraide.kernel.model import Post, PostStatus
from tests.factories import NOW, make_activation, make_post
from tests.unit.conftest import UnderPolicy


def seed(table: Table, posts: list[Post]) -> None:
    """Posts written straight into the table (their contact items play no part here)."""
    requests = [{"PutRequest": {"Item": table.serialise(post_to_item(p))}} for p in posts]
    for start in range(0, len(requests), BATCH_SIZE):
        batch = requests[start : start + BATCH_SIZE]
        table.client.batch_write_item(RequestItems={table.table_name: batch})


def pages_allowed(count: int) -> Callable[[], float]:
    """A clock of remaining time that lets ``count`` pages through, then runs out."""
    left = [count]

    def time_left() -> float:
        left[0] -= 1
        return 60.0 if left[0] >= 0 else 0.0

    return time_left


def test_a_closing_expires_every_open_post_page_by_page_resuming_where_it_stopped(
    activations: ActivationStore, posts: PostStore, table: Table, under_policy: UnderPolicy
) -> None:
    # Given the Aude's activation with 180 pending and 60 approved posts, one refused one,
    # and the Hérault's activation with 15 pending posts
    activations.create_activation(make_activation(id="A1"))
    activations.create_activation(make_activation(id="B1", departements=("34",)))
    seed(
        table,
        [
            make_post(
                id=f"P{n:04d}",
                activation_id="B1" if n >= 240 else "A1",
                status=PostStatus.PENDING if n < 180 or n >= 240 else PostStatus.APPROVED,
            )
            for n in range(255)
        ]
        + [make_post(id="R1", status=PostStatus.REJECTED)],
    )
    # When the Aude's activation closes
    activations.close_activation("A1", NOW + timedelta(days=2))
    [job] = activations.pending_expiries()
    # and the closing's invocation has time for two pages of 40 posts only
    with under_policy("ActivationEventsFunction"):
        job = expire_posts(
            posts, activations, job, now=lambda: NOW, time_left=pages_allowed(2), page_size=40
        )
    # Then it stopped with its place saved
    assert job.status == "pending"
    assert job.cursor is not None
    assert activations.pending_expiries() == [job]
    # When the scheduled runs go on, each with time for three pages
    runs = 0
    while activations.pending_expiries():
        runs += 1
        assert runs < 20
        with under_policy("ActivateFunction"):
            finish_expiries(
                posts, activations, now=lambda: NOW, time_left=pages_allowed(3), page_size=40
            )
    # Then every open post of the Aude is expired, nothing else changed, the job is gone
    statuses = {
        n: posts.get_post(f"P{n:04d}").status  # type: ignore[union-attr]
        for n in range(255)
    }
    assert {statuses[n] for n in range(240)} == {PostStatus.EXPIRED}
    assert {statuses[n] for n in range(240, 255)} == {PostStatus.PENDING}
    refused = posts.get_post("R1")
    assert refused is not None
    assert refused.status is PostStatus.REJECTED
    assert runs >= 2


def test_two_expiries_at_once_expire_each_post_once(
    activations: ActivationStore, posts: PostStore, table: Table
) -> None:
    activations.create_activation(make_activation(id="A1"))
    seed(table, [make_post(id=f"P{n:03d}") for n in range(30)])
    activations.close_activation("A1", NOW)
    [job] = activations.pending_expiries()
    first = expire_posts(posts, activations, job, now=lambda: NOW, time_left=lambda: 60.0)
    # a replayed stream record, or the scheduled run, does it again from the same job
    second = expire_posts(posts, activations, replace(job), now=lambda: NOW, time_left=lambda: 60.0)
    assert first.expired == 30
    assert second.expired == 0
    assert first.status is None
    assert {posts.get_post(f"P{n:03d}").version for n in range(30)} == {2}  # type: ignore[union-attr]
