"""The watch's score: reasons an operator can read, one item per story."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from entraide.watch.config import load_watch_file
from entraide.watch.items import WatchItem, mastodon_items
from entraide.watch.ranking import ActivationContext, rank, score
from tests.paths import FIXTURES

CONFIG = load_watch_file()
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def item(text: str, **changes: object) -> WatchItem:
    base = WatchItem(
        network="x",
        source_id="x-recherche",
        item_id="1",
        author="quelquun",
        text=text,
        url="https://x.com/quelquun/status/1",
        published_at=NOW - timedelta(hours=1),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_each_point_has_its_reason() -> None:
    # Given a reference forecaster's fresh post on a crue, widely shared
    post = item(
        "Vigilance orange crues : la Vigicrues relève le niveau #Vigicrues",
        author="Vigicrues",
        followers=1_000_000,
        reposts=40,
        replies=10,
        likes=100,
    )
    # When it is scored
    scored = score(post, CONFIG, NOW)
    # Then every point is explained
    assert scored.reasons == (
        "thèmes : Vigilance météo et crues (+10)",
        "compte de référence (+25)",
        "1000000 abonnés (+16)",
        "40 partages, 10 réponses, 100 j'aime (+15)",
        "publié il y a 1 h (+10)",
    )
    assert scored.score == 10 + 25 + 16 + 15 + 10


def test_an_activation_lifts_what_names_its_places_or_hashtag() -> None:
    activation = ActivationContext(hashtag="#InondationsAude", places=("11", "Aude"))
    quiet = score(item("Inondation en cours"), CONFIG, NOW, activation)
    named = score(item("Inondation en cours dans l'Aude"), CONFIG, NOW, activation)
    tagged = score(item("Inondation #InondationsAude"), CONFIG, NOW, activation)
    assert named.score == tagged.score == quiet.score + 15
    assert "activation #InondationsAude (+15)" in named.reasons


def test_old_and_off_topic_posts_score_nothing() -> None:
    stale = item("Recette du jour", published_at=NOW - timedelta(days=3))
    assert score(stale, CONFIG, NOW).score == 0


def test_the_same_link_is_one_story_and_the_best_is_kept() -> None:
    link = "https://www.vigicrues.gouv.fr/bulletin"
    items = [
        item(f"Inondation : {link}", item_id="1"),
        item(f"Crue, voir {link}.", item_id="2", author="Vigicrues"),
        item("Tempête sur la côte", item_id="3", published_at=NOW - timedelta(hours=20)),
    ]
    first, second = rank(items, CONFIG, NOW)
    assert first.item.item_id == "2"  # the reference's
    assert [dup.item_id for dup in first.duplicates] == ["1"]
    assert second.item.item_id == "3"


def test_a_recorded_mastodon_status_is_ranked() -> None:
    statuses = json.loads((FIXTURES / "watch" / "mastodonpy_test_hashtag_tl_body.json").read_text())
    [ranked] = rank(mastodon_items("m", statuses), CONFIG, NOW)
    assert ranked.score == 0  # off topic, no followers, four years old
    assert ranked.why() == ""
