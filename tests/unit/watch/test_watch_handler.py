"""The watch's scheduled function on moto, under its template policy: what it reads, what it
keeps and for how long, the operators' copy of the file in S3."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
import responses

from entraide.activation.activation_store import ActivationStore
from entraide.activation.source_health import SourceHealthStore
from entraide.adapters.table import Table
from entraide.observability import InvocationFailed
from entraide.watch.item_store import KEPT_FOR, WatchItemStore
from entraide.watch.run import collection_due
from entraide_local.provision import Deployment
from tests.factories import make_activation
from tests.paths import FIXTURES
from tests.unit.conftest import (
    ROOT,
    FakeContext,
    PolicedHandler,
    UnderPolicy,
    load_handler,
    metric_values,
    use_function_environment,
)

FEED = "https://feeds.meteoalarm.org/feeds/meteoalarm-legacy-atom-france"
MASTODON_BODY = (FIXTURES / "watch" / "mastodonpy_test_hashtag_tl_body.json").read_text()
FEED_BODY = (FIXTURES / "alerts" / "meteoalarm_france_atom_feed.xml").read_bytes()
BUCKET = "shareentraide-watch-files"


@pytest.fixture
def template_parameters() -> dict[str, str]:
    """The template with an operators' bucket for the watch's file."""
    return {"WatchFileBucket": BUCKET}


@pytest.fixture
def deployment(deployment: Deployment) -> Deployment:
    """The template's deployment, with the operators' bucket itself created."""
    boto3.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"}
    )
    return deployment


@pytest.fixture
def watch(
    monkeypatch: pytest.MonkeyPatch, deployment: Deployment, under_policy: UnderPolicy
) -> PolicedHandler:
    use_function_environment(monkeypatch, deployment, "watch")
    monkeypatch.setenv("WATCH_FILE_BUCKET", "")  # the packaged file unless a test says so
    return PolicedHandler(load_handler("watch", "watch_app"), under_policy, "watch")


def serve_sources() -> None:
    responses.get(re.compile(r"https://piaille\.fr/api/v1/timelines/tag/\w+"), body=MASTODON_BODY)
    responses.get(FEED, body=FEED_BODY)


@responses.activate
def test_a_run_keeps_what_the_readable_sources_said_for_a_few_days(
    watch: PolicedHandler, table: Table
) -> None:
    # Given the packaged watch file, no X or Bluesky secret, Mastodon and the feed answering
    serve_sources()
    # When an operator runs the watch
    result = watch.lambda_handler({"collect": True}, FakeContext("watch"))
    # Then the networks without a secret are left out, the others read, nothing failed
    assert result["skipped"] == ["x-recherche", "bluesky-recherche"]
    assert result["failed"] == []
    kept = WatchItemStore(table).recent(datetime.now(UTC))
    assert {item.source_id for item in kept} == {"mastodon-piaille", "meteoalarm-france"}
    assert result["kept"] == len(kept)
    # and every item leaves the table by its TTL a few days later
    raw = boto3.client("dynamodb").scan(TableName=table.table_name)["Items"]
    watch_items = [item for item in raw if item["entity"]["S"] == "watch-item"]
    assert len(watch_items) == len(kept)
    now = datetime.now(UTC).timestamp()
    for item in watch_items:
        assert now < int(item["expires_at"]["N"]) <= now + KEPT_FOR.total_seconds() + 60, item["sk"]


@responses.activate
def test_a_run_read_again_the_same_day_keeps_one_copy(watch: PolicedHandler, table: Table) -> None:
    # Given the sources answering the same twice
    serve_sources()
    watch.lambda_handler({"collect": True}, FakeContext("watch"))
    first = len(WatchItemStore(table).recent(datetime.now(UTC)))
    # When the watch runs again
    watch.lambda_handler({"collect": True}, FakeContext("watch"))
    # Then nothing is kept twice
    assert len(WatchItemStore(table).recent(datetime.now(UTC))) == first


@responses.activate
def test_a_healthy_run_emits_no_metric_and_says_what_it_kept_in_its_log_line(
    watch: PolicedHandler, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Given every readable source answering
    serve_sources()
    # When the watch collects
    result = watch.lambda_handler({"collect": True}, FakeContext("watch"))
    # Then no metric is printed (a custom metric is billed for every hour it is emitted in)
    printed = capsys.readouterr().out.splitlines()
    assert result["kept"] > 0
    assert [line for line in printed if '"_aws"' in line] == []
    # and the run's log line says how many items it kept
    [collected] = [r for r in caplog.records if r.getMessage() == "Watch collected"]
    assert collected.kept == result["kept"]


@responses.activate
def test_a_source_that_fails_leaves_the_others_kept(watch: PolicedHandler, table: Table) -> None:
    # Given Mastodon down and the feed answering
    responses.get(re.compile(r"https://piaille\.fr/.*"), status=503)
    responses.get(FEED, body=FEED_BODY)
    # When the watch runs
    result = watch.lambda_handler({"collect": True}, FakeContext("watch"))
    # Then Mastodon failed alone
    assert result["failed"] == ["mastodon-piaille"]
    kept = WatchItemStore(table).recent(datetime.now(UTC))
    assert {item.source_id for item in kept} == {"meteoalarm-france"}


@responses.activate
def test_a_source_failing_four_collections_in_a_row_is_a_failing_source(
    watch: PolicedHandler, table: Table, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given Mastodon down and the feed answering
    responses.get(re.compile(r"https://piaille\.fr/.*"), status=503)
    responses.get(FEED, body=FEED_BODY)

    # When the watch collects three times, then a fourth
    for _ in range(3):
        watch.lambda_handler({"collect": True}, FakeContext("watch"))
    three = metric_values(capsys, "SourceFailing")
    watch.lambda_handler({"collect": True}, FakeContext("watch"))
    # Then three failing collections are not yet a failing source; the fourth is (the one
    # alarm), and the watch's health names the failing source
    assert three == []
    assert metric_values(capsys, "SourceFailing") == [1.0]
    [health] = [h for h in SourceHealthStore(table).all() if h.name == "watch"]
    assert health.consecutive_failures == 4
    assert health.last_error is not None
    assert health.last_error.startswith("mastodon-piaille: ")


def test_an_hour_off_schedule_reads_nothing_without_an_activation(
    watch: PolicedHandler, table: Table
) -> None:
    # Given a firing at 04:00 UTC, no activation open (no source is served: a read would
    # fail the test)
    watch.utcnow = lambda: datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
    # When the schedule fires
    result = watch.lambda_handler({"source": "aws.events"}, FakeContext("watch"))
    # Then nothing is read
    assert result["collected"] is False
    assert WatchItemStore(table).recent(datetime(2026, 12, 7, 4, 0, tzinfo=UTC)) == []


@pytest.mark.parametrize(
    ("hour", "activation_open", "due"),
    [(0, False, True), (3, False, True), (4, False, False), (4, True, True), (23, False, False)],
)
def test_a_run_is_due_every_few_hours_and_every_hour_in_an_activation(
    hour: int, activation_open: bool, due: bool
) -> None:
    now = datetime(2026, 12, 7, hour, 0, tzinfo=UTC)
    assert collection_due(now, activation_open=activation_open, every_hours=3) is due


@responses.activate
def test_an_open_activation_makes_every_firing_collect(
    watch: PolicedHandler, activations: ActivationStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an open activation, and the sources answering
    activations.create_activation(make_activation())
    serve_sources()
    # When the schedule fires at an hour off the schedule
    watch.utcnow = lambda: datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
    result = watch.lambda_handler({"source": "aws.events"}, FakeContext("watch"))
    # Then it collects
    assert result["collected"] is True


@responses.activate
def test_the_operators_copy_in_s3_is_read_instead_of_the_packaged_file(
    watch: PolicedHandler, table: Table, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given an operators' copy naming the feed only
    text = (ROOT / "src/entraide/watch/watch.yaml").read_text(encoding="utf-8")
    copy = (
        text[: text.index("sources:")]
        + f"sources:\n  - kind: feed\n    id: seul\n    url: {FEED}\n"
    )
    boto3.client("s3").put_object(Bucket=BUCKET, Key="watch.yaml", Body=copy.encode())
    watch.settings = watch.settings.model_copy(update={"watch_file_bucket": BUCKET})
    responses.get(FEED, body=FEED_BODY)
    # When the watch runs
    result = watch.lambda_handler({"collect": True}, FakeContext("watch"))
    # Then the copy's one source was read
    assert result["skipped"] == []
    assert result["failed"] == []
    kept = WatchItemStore(table).recent(datetime.now(UTC))
    assert {item.source_id for item in kept} == {"seul"}


def test_a_copy_with_a_fault_fails_the_run_and_reads_nothing(
    watch: PolicedHandler, table: Table, caplog: pytest.LogCaptureFixture
) -> None:
    # Given an operators' copy with a fault
    boto3.client("s3").put_object(
        Bucket=BUCKET, Key="watch.yaml", Body=b"themes: []\nsources: []\n"
    )
    watch.settings = watch.settings.model_copy(update={"watch_file_bucket": BUCKET})
    # When the watch runs
    with pytest.raises(InvocationFailed, match="WatchConfigError"):
        watch.lambda_handler({"collect": True}, FakeContext("watch"))
    # Then the run fails (kept in the failure queue) with every fault's line in its log
    logged = caplog.text
    assert "ligne 1 : themes" in logged
    assert "ligne 2 : sources" in logged
    assert WatchItemStore(table).recent(datetime.now(UTC)) == []
