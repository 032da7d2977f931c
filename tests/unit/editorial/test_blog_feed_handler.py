"""The blog_feed function under its template policy: a feed file given as the source
announces its newest article once."""

from __future__ import annotations

from pathlib import Path

import pytest

from entraide.adapters.table import Table
from entraide.editorial.calendar import ItemState
from entraide.editorial.calendar_store import EditorialStore
from entraide_local.provision import Deployment
from tests.unit.conftest import (
    FakeContext,
    PolicedHandler,
    UnderPolicy,
    load_handler,
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
