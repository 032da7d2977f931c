"""The monthly report's watch section: what the account relayed of the watch's finds, per
network — the relay's own records of its reposts, their links, their count and X's spend."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from entraide.adapters.table import Table
from entraide.publishing.channels import REPOST_EVENT
from entraide.publishing.quota import MemoryBudget, QuotaLimits
from entraide.publishing.relay import Relay
from entraide.publishing.relay_outcomes import Done
from entraide.publishing.relay_store import DynamoDBRelayStore, TweetKind, TweetRecord
from entraide.publishing.x_prices import REPOST
from entraide.publishing.xapi import DryRunPoster
from entraide.reporting.figures import MonthData, TweetFacts
from entraide.reporting.formats import to_csv, to_dict
from entraide.reporting.kpi import compute_month
from entraide.reporting.month_loader import load_month
from entraide.reporting.watch_figures import relayed_link
from entraide.web.report_page import render_all, summary_lines

MONTH = "2026-10"
GENERATED = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
X_POST = "1578900353814519681"
BLUESKY_POST = "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3l6oveex3ii2l"
MASTODON_STATUS = "https://piaille.fr/@vigimeteo/113270771424545431"


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=UTC)


def x_price(kind: TweetKind) -> int:
    return REPOST if kind == "repost" else 0


def repost(
    table: Table,
    outbox: Path,
    channel: str,
    target: str,
    moment: datetime,
    author: tuple[str, int] = ("vigimeteo", 5000),
) -> None:
    """What *Relayer* sets going: the channel's relay handles the ``watch-repost`` message
    and records the repost in the table, as every publication."""
    relay = Relay(
        DynamoDBRelayStore(table, channel),
        MemoryBudget(QuotaLimits(per_24h=100, usd_per_month=10.0), clock=lambda: moment),
        DryRunPoster(outbox, file_name=f"{channel}.jsonl"),
        clock=lambda: moment,
        public_base_url="https://shareentraide.example",
        load_post=lambda _: None,
        load_activation=lambda _: None,
        price=x_price if channel == "x" else (lambda _: 0),
    )
    message = {
        "event": REPOST_EVENT,
        "reference": f"ref-{channel}-{target}",
        "target": target,
        "author": author[0],
        "followers": author[1],
    }
    outcome = relay.handle_repost(message)
    assert isinstance(outcome, Done)


def seed(table: Table, outbox: Path) -> None:
    repost(table, outbox, "x", X_POST, at(3))
    repost(table, outbox, "x", "1578900353814519999", at(20), ("meteofrance", 900_000))
    repost(table, outbox, "bluesky", BLUESKY_POST, at(12), ("vigicrues.bsky.social", 1200))
    repost(table, outbox, "mastodon", MASTODON_STATUS, at(5), ("vigimeteo@piaille.fr", 300))
    repost(table, outbox, "x", "1578900353814510000", datetime(2026, 11, 2, 9, tzinfo=UTC))
    # and a crisis message beside them, which is no repost
    DynamoDBRelayStore(table).put_tweet(TweetRecord("x-p1", "t", at(11), "post", ("P1",), ""))


def test_the_months_reposts_are_listed_per_network_with_their_link_and_x_spend(
    table: Table, tmp_path: Path
) -> None:
    # Given four reposts recorded by the channels' relays in October, and one in November
    seed(table, tmp_path)
    # When October is reported
    report = compute_month(MONTH, load_month(table, MONTH, now=GENERATED))
    watch = report.watch
    # Then the section lists October's, in the order they were made, with their pages
    assert watch is not None
    assert [(r.channel, r.at, r.link, r.author) for r in watch.relayed] == [
        ("x", at(3), f"https://x.com/i/status/{X_POST}", "vigimeteo"),
        ("mastodon", at(5), MASTODON_STATUS, "vigimeteo@piaille.fr"),
        (
            "bluesky",
            at(12),
            "https://bsky.app/profile/did:plc:z72i7hdynmk6r22z27h6tvur/post/3l6oveex3ii2l",
            "vigicrues.bsky.social",
        ),
        ("x", at(20), "https://x.com/i/status/1578900353814519999", "meteofrance"),
    ]
    # And the reach of the relayed authors, as the watch read their followers
    assert watch.authors_reach == 5000 + 300 + 1200 + 900_000
    # And counts them per network, every network named
    assert dict(watch.per_channel) == {"x": 2, "bluesky": 1, "mastodon": 1}
    # And X's spend is two reposts at X's price
    assert watch.x_spend == 2 * REPOST / 1000
    assert [r.cost for r in watch.relayed if r.channel == "x"] == [REPOST / 1000] * 2


def test_the_page_the_email_the_csv_and_the_json_carry_the_section(
    table: Table, tmp_path: Path
) -> None:
    seed(table, tmp_path)
    report = compute_month(MONTH, load_month(table, MONTH, now=GENERATED))
    page = render_all(report)["html"]
    assert 'id="veille"' in page
    assert f'<a href="{MASTODON_STATUS}">' in page
    summary = dict(summary_lines(report))
    assert summary["Veille relayée"] == (
        "4 (X 2, Bluesky 1, Mastodon 1), 906\u00a0500 abonnés chez leurs auteurs ; 0,03 $ sur X"
    )
    csv = to_csv(report)
    assert "Veille relayée,Relayés sur Bluesky,1" in csv
    assert f"Veille relayée,2026-10-05T10:00:00Z Mastodon,{MASTODON_STATUS}" in csv
    assert "Veille relayée,2026-10-05T10:00:00Z Mastodon : auteur,vigimeteo@piaille.fr" in csv
    exported = json.loads(json.dumps(to_dict(report)))
    assert [r["link"] for r in exported["watch"]["relayed"]][1] == MASTODON_STATUS


def test_a_month_without_reposts_says_so() -> None:
    # Given a month with a crisis tweet and no repost
    data = MonthData(MONTH, GENERATED, tweets=(TweetFacts("p1", at(4), "post", post_count=1),))
    # When it is reported
    report = compute_month(MONTH, data)
    # Then the section is there, empty, and says so on the page and in the summary
    assert report.watch is not None
    assert report.watch.relayed == ()
    assert dict(report.watch.per_channel) == {"x": 0}
    assert dict(summary_lines(report))["Veille relayée"] == "aucun message relayé ce mois-ci"
    assert report.watch.authors_reach == 0
    assert "Aucun message relayé depuis la veille ce mois-ci." in render_all(report)["html"]


def test_a_target_that_names_no_web_page_is_shown_unlinked() -> None:
    # A Mastodon "URL" that is not one, or an X id that is not a number, never becomes a link
    assert relayed_link("mastodon", "javascript:alert(1)") == ""
    assert relayed_link("x", "1/../../evil") == ""
    assert relayed_link("bluesky", "https://evil.example/") == ""
