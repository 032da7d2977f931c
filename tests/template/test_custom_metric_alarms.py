"""Alarms on the platform's own metrics watch what the functions really emit."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, get_args

import pytest
from aws_lambda_powertools.metrics import MetricUnit

from entraide.activation.alerts.sources import SourceName
from entraide.observability import count_for, metrics
from entraide.settings.watch import WatchSettings

ROOT = Path(__file__).parents[2]


def emitted(name: str) -> dict[str, Any]:
    """The CloudWatch metric a function's `metrics.add_metric(name=...)` becomes (EMF)."""
    metrics.clear_metrics()  # whatever an earlier test left unflushed
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    try:
        document = metrics.serialize_metric_set()
    finally:
        metrics.clear_metrics()
    return cloudwatch_metric(document)


def cloudwatch_metric(document: Mapping[str, Any]) -> dict[str, Any]:
    """Namespace, name and dimensions of the one metric of an EMF document."""
    [directive] = document["_aws"]["CloudWatchMetrics"]
    [dimension_names] = directive["Dimensions"]
    return {
        "Namespace": directive["Namespace"],
        "MetricName": directive["Metrics"][0]["Name"],
        "Dimensions": [{"Name": key, "Value": document[key]} for key in dimension_names],
    }


def emitted_for(
    name: str, dimension: str, value: str, capsys: pytest.CaptureFixture[str]
) -> dict[str, Any]:
    """The CloudWatch metric `count_for(name, dimension, value)` becomes (its own EMF line)."""
    capsys.readouterr()
    count_for(name, dimension, value)
    return cloudwatch_metric(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))


def source_files() -> Iterator[Path]:
    for folder in ("src/entraide", "functions"):
        yield from (ROOT / folder).rglob("*.py")


def emitted_in_code(name: str) -> bool:
    """Whether some function adds this metric (by literal name)."""
    pattern = re.compile(rf"""(name=|metric\(|count_for\(|count\()["']{re.escape(name)}["']""")
    return any(pattern.search(path.read_text(encoding="utf-8")) for path in source_files())


def alarm(sam_document: Mapping[str, Any], logical_id: str) -> Mapping[str, Any]:
    return dict(sam_document["Resources"][logical_id]["Properties"])


def test_each_alert_feed_failure_is_counted_with_its_source(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a source a setting may name
    for source in get_args(SourceName.__value__):
        # When it fails, as the activate function counts it (a dimension per source)
        metric_sent = emitted_for("AlertSourceFailed", "source", source, capsys)
        # Then its own metric says which source (the detail beside the one alarm)
        assert {"Name": "source", "Value": source} in metric_sent["Dimensions"]
    assert emitted_in_code("AlertSourceFailed")


@pytest.mark.parametrize(
    ("alarm_id", "metric"),
    [
        ("EffectNeedsLookAlarm", "EffectNeedsLook"),
        ("EditorialMissedAlarm", "EditorialMissed"),
        ("SourceFailingAlarm", "SourceFailing"),
    ],
)
def test_the_alarm_watches_the_metric_the_code_emits(
    sam_document: Mapping[str, Any], alarm_id: str, metric: str
) -> None:
    # Given an alarm on one of the platform's own metrics
    watched = alarm(sam_document, alarm_id)

    # When the metric is emitted the way the functions emit it (powertools, EMF)
    metric_sent = emitted(metric)

    # Then the alarm names the same namespace, metric and dimensions: an alarm on another
    # dimension set would watch a metric that never receives data
    assert emitted_in_code(metric)
    assert {key: watched[key] for key in metric_sent} == metric_sent
    assert watched["Statistic"] == "Sum"


def test_the_source_alarm_fires_at_the_first_point_and_holds_between_the_slowest_reads(
    sam_document: Mapping[str, Any],
) -> None:
    # Given the one alarm of every source, and how often each source is read: the alert
    # feeds every quarter of an hour, the blog hourly, the watch every few hours while no
    # activation is open
    watched = alarm(sam_document, "SourceFailingAlarm")
    resources = sam_document["Resources"]
    activate = resources["ActivateFunction"]["Properties"]["Events"]["EveryQuarterHour"]
    blog = resources["BlogFeedFunction"]["Properties"]["Events"]["Hourly"]
    assert activate["Properties"]["Schedule"] == "rate(15 minutes)"
    assert blog["Properties"]["Schedule"] == "rate(1 hour)"
    watch_every = WatchSettings.model_fields["watch_every_hours"].default * 3600
    # Then one point (a source already failing past its own tolerance, decided where its
    # failures in a row are counted) alarms; the window reaches past the slowest source's
    # interval, so a source still failing holds the alarm rather than flapping to OK; no
    # point (every source read well) is good news
    assert watched["DatapointsToAlarm"] == 1
    assert watched["Period"] <= 900
    assert watched["Period"] * watched["EvaluationPeriods"] > watch_every
    assert watched["Period"] * watched["EvaluationPeriods"] <= 24 * 3600  # CloudWatch's limit
    assert watched["TreatMissingData"] == "notBreaching"
    # and it is the one alarm on a source failing: no per-source alarm is left
    failing = [
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
        and "Failed" in str(resource["Properties"].get("MetricName", ""))
    ]
    assert failing == []
