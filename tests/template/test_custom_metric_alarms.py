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


SOURCE_ALARMS = {
    "meteofrance": "MeteoFranceSourceFailingAlarm",
    "meteoalarm": "MeteoAlarmSourceFailingAlarm",
    "vigicrues": "VigicruesSourceFailingAlarm",
}


@pytest.mark.parametrize("source", sorted(SOURCE_ALARMS))
def test_each_source_has_its_alarm_on_the_metric_the_activate_function_emits(
    sam_document: Mapping[str, Any], source: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the alarm of one source
    watched = alarm(sam_document, SOURCE_ALARMS[source])
    # When that source fails, as the activate function counts it (a dimension per source)
    metric_sent = emitted_for("AlertSourceFailed", "source", source, capsys)
    # Then the alarm watches exactly that metric, that source
    assert emitted_in_code("AlertSourceFailed")
    assert {key: watched[key] for key in metric_sent} == metric_sent
    assert watched["Statistic"] == "Sum"


def test_every_source_a_setting_may_name_has_its_alarm() -> None:
    assert set(SOURCE_ALARMS) == set(get_args(SourceName.__value__))


@pytest.mark.parametrize(
    ("alarm_id", "metric"),
    [
        ("EffectGivenUpAlarm", "EffectGivenUp"),
        ("EffectInDoubtAlarm", "EffectInDoubt"),
        ("EditorialMissedAlarm", "EditorialMissed"),
        ("BlogFeedFailingAlarm", "BlogFeedFailed"),
        ("WatchSourceFailingAlarm", "WatchSourceFailed"),
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


@pytest.mark.parametrize("alarm_id", sorted(SOURCE_ALARMS.values()))
def test_alert_source_alarm_needs_an_hour_of_failures_not_one_blip(
    sam_document: Mapping[str, Any], alarm_id: str
) -> None:
    # Given the activate function's schedule and a source's alarm on AlertSourceFailed
    watched = alarm(sam_document, alarm_id)
    schedule = sam_document["Resources"]["ActivateFunction"]["Properties"]["Events"][
        "EveryQuarterHour"
    ]["Properties"]["Schedule"]

    # When its evaluation is read against the schedule
    run_every = {"rate(15 minutes)": 900}[schedule]
    failing_periods = watched["DatapointsToAlarm"]

    # Then one period holds one run, it takes failed runs spanning an hour to alarm, one
    # missed period (a run ending past a period's edge) does not hide them, and periods
    # without data (every source read) count as good
    assert watched["Period"] == run_every
    assert failing_periods * run_every >= 3600
    assert watched["EvaluationPeriods"] == failing_periods + 1
    assert watched["TreatMissingData"] == "notBreaching"


def test_the_blog_feed_alarm_needs_three_failed_readings_not_one(
    sam_document: Mapping[str, Any],
) -> None:
    # Given the blog_feed function's schedule and the alarm on its failures
    schedule = sam_document["Resources"]["BlogFeedFunction"]["Properties"]["Events"]["Hourly"]
    watched = alarm(sam_document, "BlogFeedFailingAlarm")
    # Then one period holds one reading, and three failed readings in a row alarm
    assert schedule["Properties"]["Schedule"] == "rate(1 hour)"
    assert watched["Period"] == 3600
    assert watched["EvaluationPeriods"] == watched["DatapointsToAlarm"] == 3
