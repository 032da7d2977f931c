"""The blog_feed function under its template policy: a feed file given as the source
announces its newest article once."""

from __future__ import annotations

from pathlib import Path

import pytest

from entraide.activation.source_health import SourceHealthStore
from entraide.adapters.table import Table
from entraide.editorial.calendar import ItemState
from entraide.editorial.calendar_store import EditorialStore
from entraide_local.provision import Deployment
from tests.unit.conftest import (
    FakeContext,
    PolicedHandler,
    UnderPolicy,
    load_handler,
    metric_values,
    use_function_environment,
)

SAMPLE = Path(__file__).parents[2] / "fixtures" / "blog" / "rss2sample.xml"
SCHEDULE = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


@pytest.fixture
def blog_feed(
    monkeypatch: pytest.MonkeyPatch, deployment: Deployment, under_policy: UnderPolicy
) -> PolicedHandler:
    use_function_environment(monkeypatch, deployment, "blog_feed")
    monkeypatch.setenv("BLOG_FEED_URL", SAMPLE.as_uri())
    return PolicedHandler(
        load_handler("blog_feed", "blog_feed_app"), under_policy, "BlogFeedFunction"
    )


def test_a_feed_file_announces_its_newest_article_once(
    blog_feed: PolicedHandler, table: Table
) -> None:
    # When the hourly reading runs twice over the real RSS sample
    first = blog_feed.lambda_handler(SCHEDULE, FakeContext("blog_feed"))
    second = blog_feed.lambda_handler(SCHEDULE, FakeContext("blog_feed"))
    # Then its newest article is an editorial item on every channel, once
    assert first["announced"] == ["Nouvel article : Star City"]
    assert second["announced"] == []
    assert not second["failure"]
    [item] = EditorialStore(table).in_state(ItemState.PLANNED)
    assert item.channels == ("x", "bluesky", "mastodon")


def test_a_feed_failing_three_hourly_readings_in_a_row_is_a_failing_source(
    monkeypatch: pytest.MonkeyPatch,
    deployment: Deployment,
    under_policy: UnderPolicy,
    table: Table,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a blog whose feed is not there (HANDMADE: a file that does not exist)
    use_function_environment(monkeypatch, deployment, "blog_feed")
    monkeypatch.setenv("BLOG_FEED_URL", (tmp_path / "HANDMADE_missing.xml").as_uri())
    handler = PolicedHandler(
        load_handler("blog_feed", "blog_feed_app"), under_policy, "BlogFeedFunction"
    )

    # When it is read twice, then a third time
    for _ in range(2):
        assert handler.lambda_handler(SCHEDULE, FakeContext("blog_feed"))["failure"]
    two = metric_values(capsys, "SourceFailing")
    handler.lambda_handler(SCHEDULE, FakeContext("blog_feed"))
    # Then two failures are a blip; the third in a row is a failing source (the one alarm),
    # and the feed's health says since when
    assert two == []
    assert metric_values(capsys, "SourceFailing") == [1.0]
    [health] = [h for h in SourceHealthStore(table).all() if h.name == "blog"]
    assert health.consecutive_failures == 3
    assert health.failing_since is not None
