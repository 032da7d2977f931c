"""The watch's read dry run: every kind of source read from the recorded answers through the
networks' real clients (tweepy, Mastodon.py, atproto, the feeds' HTTP reader)."""

from __future__ import annotations

from datetime import UTC, datetime

from entraide.adapters.table import Table
from entraide.watch.config import load_watch_file
from entraide.watch.readers import readers
from entraide.watch.recorded import RecordedAnswers
from tests.paths import FIXTURES

RECORDED = RecordedAnswers(FIXTURES / "watch")
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def test_every_network_is_read_from_its_recorded_answer_without_secrets(table: Table) -> None:
    # Given the watch's file and its recorded answers, and no network's secret
    config = load_watch_file()
    found = readers(
        config, NOW, table, x_credentials=None, bluesky_credentials=None, recorded=RECORDED
    )
    # When each source is read through its kind's reader
    read = {source.kind: found[source.kind](source) for source in config.sources}
    # Then each kind gave the items of its recorded answer, parsed by its own client
    assert {kind: len(items) for kind, items in read.items()} == {
        "x_search": 10,  # tweepy's cassette: ten posts
        "bluesky_search": 2,  # the searchPosts answer, the same two posts for every theme
        "mastodon_hashtags": 1,  # Mastodon.py's cassette, the same status under each tag
        "feed": 12,  # MeteoAlarm France's Atom feed
    }
    assert read["x_search"][0].url.startswith("https://x.com/")


def test_a_request_without_a_recorded_answer_is_a_404() -> None:
    # Given a session answered from the folder
    session = RECORDED.session()
    # When it asks for something no file answers
    answer = session.get("https://api.x.com/2/users/me", timeout=5)
    # Then a 404, as a network answers an unknown path
    assert answer.status_code == 404
