"""What the platform costs in AWS, from counted calls: ``python bench/cost.py [--posts 1000]``.

Two bills at eu-west-3 list prices (:mod:`entraide.costs.prices`, one table with its date
and each price's page):

- **posts**: N posts through the whole pipeline (intake, moderation, approval, the relay to
  X, matching, notices, contact; ``entraide_local.faultrun`` without faults), every
  function loaded from ``template.yaml`` with its environment and run under its IAM policy,
  against moto in this process;
- **a sleeping month**: no activation open, every schedule of ``template.yaml`` fired a few
  times on the same stack, the calls of one run counted and multiplied by the runs the
  schedule makes in 30 days (running 8,640 five-minute sweeps would count the same calls
  8,640 times); plus what sleeps and costs by the month (alarms, secrets, the relay
  queue's polling while its mapping is enabled, as the sleeping month's checks leave it),
  from the template.

Every AWS call a function makes is counted through botocore's events (service, operation,
emails, messages), its DynamoDB units by the capacity meter of the fault run, its log bytes
and metrics from what it prints. A function's billed duration is modelled: the CPU time of
its own code (measured, moto's share removed), plus a stated latency per AWS call
(``LATENCY_SECONDS``), plus, for the stream router, the durations of the consumers it
invokes and waits for. X's spend comes from the publishing budget's own prices.
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import io
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from entraide.costs.bill import Line, bill, table, total
from entraide.costs.prices import PRICES_DATE, REGION, price_of
from entraide.publishing import x_prices
from entraide_local.botocore_events import ProcessHook
from entraide_local.faultrun import pipeline as faultrun
from entraide_local.faultrun.meter import ItemUnits
from entraide_local.faultrun.pipeline import COMPRESSED, INVOCATION_MS, Pipeline
from entraide_local.faultrun.world import Scenario
from entraide_local.schedules import parse_schedule, scheduled_event
from entraide_local.template import QueueEvent, ScheduleEvent, load_template

ROOT = Path(__file__).resolve().parents[1]
#: Typical latency of one call, seconds, from inside Lambda in the same region (stated, not
#: measured: moto answers in microseconds). A function waits for them; they are billed.
LATENCY_SECONDS = {
    "dynamodb": 0.006,
    "sqs": 0.010,
    "sns": 0.020,
    "sesv2": 0.060,
    "ses": 0.060,
    "secretsmanager": 0.020,
    "ssm": 0.015,
    "cloudwatch": 0.020,
    "lambda": 0.015,
}
OTHER_LATENCY_SECONDS = 0.020
#: "At 1,769 MB, a function has the equivalent of one vCPU (one vCPU-second of credits per
#: second)", and "Lambda allocates CPU power in proportion to the amount of memory
#: configured" (Lambda developer guide, "Configure Lambda function memory",
#: docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). The CPU time measured
#: here, on one core taken as one vCPU, lasts 1769/memory times longer below that size.
ONE_VCPU_MB = 1769


def cpu_stretch(memory_mb: int) -> float:
    """How much longer CPU-bound work runs with ``memory_mb`` than with a whole vCPU."""
    return max(1.0, ONE_VCPU_MB / max(1, memory_mb))


#: One post to X, its answer included (stated).
X_LATENCY_SECONDS = 0.400
#: Lambda's own lines per invocation (START, END, REPORT with its X-Ray trace id), bytes.
PLATFORM_LOG_BYTES = 350
#: A month, as the sleeping month counts it.
MONTH = timedelta(days=30)
MONTH_START = datetime(2026, 11, 1, tzinfo=UTC)
HOURS_IN_MONTH = 720
#: An SQS event source mapping polls an idle standard queue with long polls (20 s each):
#: "When traffic is low, Lambda scales back the processing to five concurrent batches, and
#: can optimize to as few as 2" (Lambda developer guide, "Configuring scaling behavior for
#: SQS event source mappings"). Five pollers, three receives a minute each: the upper bound.
IDLE_POLLERS = 5
RECEIVES_PER_POLLER_MINUTE = 3
#: Settings of the functions: the fault run's compressed time, with the template's log
#: level and metrics on (they are billed).
SETTINGS = {**COMPRESSED, "POWERTOOLS_LOG_LEVEL": "INFO", "POWERTOOLS_METRICS_DISABLED": "false"}
#: What the alert sources answer in a quiet month: recorded documents, read as replays.
QUIET_ALERT_SOURCES = [
    {
        "name": "meteoalarm",
        "url": str(ROOT / "tests/fixtures/alerts/meteoalarm_france_atom_feed.xml"),
        "replay": True,
    },
    {
        "name": "vigicrues",
        "url": str(ROOT / "tests/fixtures/alerts/vigicrues_InfoVigiCru_2026_reduced.geojson"),
        "replay": True,
    },
]
#: What the watch reads in a quiet month: the networks' and the feed's recorded answers
#: (``make run``'s), through their real clients: every source read well.
QUIET_WATCH_ANSWERS = str(ROOT / "tests/fixtures/watch")
#: A deployment that has been running: its relay mapping was last switched long ago.
LONG_AGO = timedelta(days=1)
_KEY = "bench.cost"


@dataclass
class FunctionUsage:
    """What one function (or one of its event sources) used, all its invocations summed."""

    function: str
    memory_mb: int
    invocations: int = 0
    cpu_seconds: float = 0.0
    billed_seconds: float = 0.0
    longest_seconds: float = 0.0  # the longest invocation's billed duration
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    emails: int = 0
    sns_publishes: int = 0
    log_bytes: int = 0
    metric_values: int = 0
    metrics: set[tuple[str, str, tuple[tuple[str, str], ...]]] = field(default_factory=set)

    @property
    def gb_seconds(self) -> float:
        return self.billed_seconds * self.memory_mb / 1024


@dataclass
class _Frame:
    """One invocation under way."""

    usage: FunctionUsage
    in_calls: float = 0.0  # CPU inside AWS calls (moto's work, here)
    waited: float = 0.0  # stated latencies of its calls
    children_cpu: float = 0.0
    children_billed: float = 0.0


_FRAME: contextvars.ContextVar[_Frame | None] = contextvars.ContextVar(_KEY, default=None)


def _before(params: Any, model: Any, context: Any = None, **_: Any) -> None:
    frame = _FRAME.get()
    if frame is not None and context is not None and _KEY not in context:
        context[_KEY] = (frame, dict(params), time.thread_time())


def _after(http_response: Any, parsed: Any, model: Any, context: Any = None, **_: Any) -> None:
    state = context.get(_KEY) if context else None
    if state is None:
        return
    frame, params, started = state
    frame.in_calls += time.thread_time() - started
    service, operation = str(model.service_model.service_name), str(model.name)
    frame.waited += LATENCY_SECONDS.get(service, OTHER_LATENCY_SECONDS)
    usage = frame.usage
    usage.calls[(service, operation)] += 1
    if service in ("ses", "sesv2") and operation in ("SendEmail", "SendRawEmail"):
        # SES bills each recipient of a message as an email
        destination = params.get("Destination") or {}
        recipients = sum(
            len(destination.get(kind) or []) for kind in ("ToAddresses", "CcAddresses")
        ) + len(destination.get("BccAddresses") or [])
        usage.emails += recipients or len(params.get("Destinations") or []) or 1
    elif service == "sns" and operation in ("Publish", "PublishBatch"):
        usage.sns_publishes += len(params.get("PublishBatchRequestEntries") or [1])


# Counts calls on every botocore session and client made from now on, and those alive.
_HOOK = ProcessHook(_KEY, (("before-parameter-build", _before), ("after-call", _after)))


class _Printed(io.StringIO):
    """Stdout while functions run: what a function prints is its log (CloudWatch Logs), and
    the lines in CloudWatch's embedded metric format are its metrics."""

    def __init__(self) -> None:
        super().__init__()
        self._pending = ""

    def write(self, text: str) -> int:
        frame = _FRAME.get()
        if frame is None:
            return len(text)  # the harness's own output: not a function's log
        frame.usage.log_bytes += len(text.encode("utf-8"))
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            _metrics_of(line, frame.usage)
        return len(text)


def _metrics_of(line: str, usage: FunctionUsage) -> None:
    if '"_aws"' not in line:
        return
    try:
        document = json.loads(line)
    except ValueError:
        return
    for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
        for dimensions in directive.get("Dimensions") or [[]]:
            values = tuple((name, str(document.get(name, ""))) for name in dimensions)
            for metric in directive.get("Metrics", []):
                usage.metrics.add((directive["Namespace"], metric["Name"], values))
                usage.metric_values += 1


class CountedPipeline(Pipeline):
    """The fault run's pipeline (no faults) with every function's usage counted."""

    settings = SETTINGS

    def __init__(self, scenario: Scenario, *, sleeping: bool = False) -> None:
        super().__init__(scenario)
        self.sleeping = sleeping
        self.idle_units: tuple[dict[str, float], dict[str, float]] = ({}, {})
        self.usage: dict[str, FunctionUsage] = {}
        self.api_requests = 0
        self._in_request = False
        self.traces: defaultdict[str, float] = defaultdict(float)
        self.printed_to = _Printed()
        self._api_sampled = api_sampling(load_template(self.template).document)
        #: how many SQS mappings were enabled after each round of the sleeping month's runs
        self.polling: list[int] = []
        _HOOK.install()

    def _usage(self, label: str, function: str) -> FunctionUsage:
        if label not in self.usage:
            memory = self.deployment.function(function).spec.memory_size if function else 0
            self.usage[label] = FunctionUsage(function, memory)
        return self.usage[label]

    def printed(self, label: str) -> TextIO:
        return self.printed_to

    def invoke(
        self, name: str, event: Any, *, remaining_ms: int = INVOCATION_MS, label: str = ""
    ) -> Any:
        parent = _FRAME.get()
        frame = _Frame(self._usage(label or name, name))
        token = _FRAME.set(frame)
        tweets = len(self.x.accepted)
        started = time.thread_time()
        try:
            return super().invoke(name, event, remaining_ms=remaining_ms, label=label)
        finally:
            spent = time.thread_time() - started
            _FRAME.reset(token)
            own = max(0.0, spent - frame.in_calls - frame.children_cpu)
            waited = frame.waited + (len(self.x.accepted) - tweets) * X_LATENCY_SECONDS
            billed = own * cpu_stretch(frame.usage.memory_mb) + waited + frame.children_billed
            usage = frame.usage
            usage.invocations += 1
            usage.cpu_seconds += own
            # Lambda rounds each invocation's duration up to the millisecond
            usage.billed_seconds += max(0.001, round(billed + 0.0005, 3))
            usage.longest_seconds = max(usage.longest_seconds, billed)
            usage.log_bytes += PLATFORM_LOG_BYTES
            if parent is None:
                # a root invocation records a trace when it is sampled: by API Gateway for a
                # request, by Lambda itself for a function in Active mode (callees join it)
                traced = self._api_sampled if self._in_request else float(self._active(name))
                self.traces[label or name] += traced
            else:
                parent.children_cpu += spent
                parent.children_billed += billed

    def request(
        self,
        name: str,
        method: str,
        target: str,
        body: str = "",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], str]:
        self.api_requests += 1
        self._in_request = True
        try:
            return super().request(name, method, target, body, headers)
        finally:
            self._in_request = False

    def _active(self, name: str) -> bool:
        """Whether Lambda samples this function's invocations itself (Tracing: Active)."""
        document = self.deployment.template.document
        default = document.get("Globals", {}).get("Function", {}).get("Tracing")
        logical_id = self.deployment.function(name).logical_id
        own = document["Resources"][logical_id].get("Properties", {}).get("Tracing")
        return bool((own or default) == "Active")

    def _relay(self) -> bool:
        """Lambda's poller of the relay queue: its receives and deletes are the account's
        SQS requests (counted apart; the empty receives of an enabled mapping are priced by
        the share of the month it is enabled: ``_monthly_fixtures``)."""
        frame = _Frame(self._usage("relay queue (Lambda's poller)", ""))
        token = _FRAME.set(frame)
        try:
            return super()._relay()
        finally:
            _FRAME.reset(token)

    def _open_activation(self) -> None:
        if not self.sleeping:
            super()._open_activation()

    # -- the sleeping month --------------------------------------------------------------
    def sleep(self, runs: int) -> dict[str, tuple[int, int]]:
        """Fire every schedule of the template ``runs`` times; the runs it makes in a month
        and the distinct hours it runs in, by function."""
        template = load_template(self.template)
        monthly: dict[str, tuple[int, int]] = {}
        with ExitStack() as stack:
            stack.enter_context(faultrun._aws_environment())
            from moto import mock_aws

            stack.enter_context(mock_aws())
            stack.enter_context(contextlib.redirect_stdout(self.printed_to))
            self._deploy(stack)
            scheduled = [
                (spec.short_name, schedule)
                for spec in template.functions.values()
                for schedule in spec.events_of(ScheduleEvent)
            ]
            for name, _ in scheduled:
                if name not in self.functions:
                    self.functions[name] = self._load(name)
            # A deployment that has been running: the first run of a fresh one catches up
            # what is due once per slot (this week's email to the operators, a digest),
            # which the counted runs would multiply by every run of the month. Those are
            # slot-bound, a few a month, and left out; the counted runs are steady ones.
            for mapping in self.mappings:
                mapping.last_modified -= LONG_AGO.total_seconds()
            self._fire_all(scheduled, 1)
            self.usage.clear()
            self.traces.clear()
            self.meter.writes.clear()
            self.meter.reads.clear()
            self.meter.items.clear()
            self.meter.read_items.clear()
            for name, schedule in scheduled:
                fired, hours = _runs_in_a_month(schedule)
                previous = monthly.get(name, (0, 0))
                monthly[name] = (previous[0] + fired, max(previous[1], hours))
            watch: Any = self.functions["watch"].module
            real_clock = watch.utcnow
            try:
                for hour in range(runs):
                    # The watch collects every third hour while asleep (collection_due): its
                    # counted runs are the month's first hours, as many of them collecting as
                    # in the month, whatever the hour the bench runs at.
                    watch.utcnow = lambda hour=hour: MONTH_START + timedelta(hours=hour)
                    self._fire_all(scheduled, 1)
                    self.polling.append(sum(mapping.enabled for mapping in self.mappings))
            finally:
                watch.utcnow = real_clock
        # the meter stays installed and would go on counting a later run's calls under the
        # same labels: what an idle sweep spends is what it spent here
        self.idle_units = (dict(self.meter.writes), dict(self.meter.reads))
        return monthly

    def _fire_all(self, scheduled: list[tuple[str, ScheduleEvent]], runs: int) -> None:
        for name, _ in scheduled:
            for _ in range(runs):
                event = scheduled_event(
                    f"arn:aws:events:{REGION}:123456789012:rule/{name}",
                    datetime.now(UTC),
                    region=REGION,
                    account="123456789012",
                )
                self.invoke(name, event, remaining_ms=60_000)


def api_sampling(document: Mapping[str, Any]) -> float:
    """The share of the API's requests that X-Ray records: none untraced; a sampling rule's
    ``FixedRate`` when the template's rule for the stage has no reservoir; else every one
    (X-Ray's default rule, "the first request each second, and five percent of any
    additional requests": its reservoir alone takes every request at these rates)."""
    resources = document["Resources"].values()
    apis = [r for r in resources if r["Type"] == "AWS::Serverless::Api"]
    if not any(api["Properties"].get("TracingEnabled") for api in apis):
        return 0.0
    rules = [
        r["Properties"]["SamplingRule"]
        for r in resources
        if r["Type"] == "AWS::XRay::SamplingRule"
        and r["Properties"]["SamplingRule"].get("ServiceType") == "AWS::ApiGateway::Stage"
    ]
    if rules:
        rule = min(rules, key=lambda rule: int(rule["Priority"]))
        if int(rule["ReservoirSize"]) == 0:
            return float(rule["FixedRate"])
    return 1.0


def _runs_in_a_month(schedule: ScheduleEvent) -> tuple[int, int]:
    """How often a schedule fires in 30 days from 1 November 2026, and in how many hours."""
    expression = parse_schedule(schedule.expression, schedule.timezone)
    start = MONTH_START
    moment: datetime | None = start
    fired, hours = 0, set()
    while True:
        assert moment is not None
        moment = expression.next_after(moment)
        if moment is None or moment >= start + MONTH:
            break
        fired += 1
        hours.add(moment.replace(minute=0, second=0, microsecond=0))
    return fired, len(hours)


# -- from counted usage to a bill --------------------------------------------------------
def _usage_lines(
    usage: dict[str, FunctionUsage],
    *,
    scale: dict[str, float],
    metric_hours: dict[str, int],
    writes: dict[str, float],
    reads: dict[str, float],
) -> dict[tuple[str, str], float]:
    """Priced units from counted usage, each function's scaled by ``scale[label]``."""
    counted: defaultdict[tuple[str, str], float] = defaultdict(float)
    metric_hours_of: dict[tuple[str, str, tuple[tuple[str, str], ...]], int] = {}
    for label, used in usage.items():
        factor = scale.get(label, 1.0)
        if used.function:
            counted[("Lambda", "request")] += used.invocations * factor
            counted[("Lambda", "GB-second (arm64)")] += used.gb_seconds * factor
            counted[("CloudWatch Logs", "GB ingested")] += used.log_bytes * factor / 1e9
        counted[("DynamoDB", "write request unit")] += writes.get(label, 0.0) * factor
        counted[("DynamoDB", "read request unit")] += reads.get(label, 0.0) * factor
        counted[("SES", "email")] += used.emails * factor
        counted[("SNS", "publish request")] += used.sns_publishes * factor
        for (service, operation), count in used.calls.items():
            if service == "sqs":
                counted[("SQS", "request")] += count * factor
            elif service == "secretsmanager":
                counted[("Secrets Manager", "API call")] += count * factor
            elif service == "ssm":
                counted[("SSM Parameter Store", "standard parameter API call")] += count * factor
                # the functions read SecureString keys only: each read is a KMS Decrypt that
                # Parameter Store makes for the caller ("charges for use of AWS KMS apply")
                if operation in ("GetParameter", "GetParameters"):
                    counted[("KMS", "request")] += count * factor
            elif service == "kms":
                counted[("KMS", "request")] += count * factor
            elif service == "cloudwatch" and operation == "PutMetricData":
                counted[("CloudWatch", "PutMetricData request")] += count * factor
        for metric in used.metrics:
            hours = metric_hours.get(label, 0)
            metric_hours_of[metric] = max(metric_hours_of.get(metric, 0), hours)
    counted[("CloudWatch", "custom metric-hour")] += sum(metric_hours_of.values())
    return {key: value for key, value in counted.items() if value}


def _per_function(usage: dict[str, FunctionUsage], scale: dict[str, float]) -> str:
    rows = [
        f"  {'function':<32}{'MB':>6}{'runs':>10}{'CPU ms/run':>12}{'billed ms/run':>15}"
        f"{'longest ms':>12}{'AWS calls/run':>15}{'log B/run':>11}{'metrics':>9}"
    ]
    for label, used in sorted(usage.items()):
        if not used.invocations and label.endswith("(schedule)"):
            label = label.replace("(schedule)", "(sweeps' work, all)")
        runs = used.invocations or 1
        factor = scale.get(label, 1.0)
        rows.append(
            f"  {label:<32}{used.memory_mb:>6}{used.invocations * factor:>10,.0f}"
            f"{used.cpu_seconds / runs * 1000:>12.1f}{used.billed_seconds / runs * 1000:>15.1f}"
            f"{used.longest_seconds * 1000:>12.0f}{sum(used.calls.values()) / runs:>15.1f}"
            f"{used.log_bytes / runs:>11,.0f}{len(used.metrics):>9}"
        )
    return "\n".join(rows)


def _monthly_fixtures(
    polling: float | None = None,
) -> tuple[dict[tuple[str, str], float], list[str]]:
    """What the template keeps and pays by the month, asleep or not; ``polling``: how many
    SQS mappings are enabled on average (as the sleeping month's checks left them; None:
    every mapping of the template, all month)."""
    template = load_template(ROOT / "template.yaml")
    kinds = Counter(resource.type for resource in template.resources.values())
    alarms = kinds["AWS::CloudWatch::Alarm"]
    secrets = kinds["AWS::SecretsManager::Secret"]
    queues = sum(len(spec.events_of(QueueEvent)) for spec in template.functions.values())
    enabled = queues if polling is None else polling
    receives = round(enabled * IDLE_POLLERS * RECEIVES_PER_POLLER_MINUTE * 60 * HOURS_IN_MONTH)
    notes = [
        f"{alarms} alarms, {secrets} Secrets Manager secrets in template.yaml;",
        f"{queues} SQS event source mapping(s), {enabled:g} enabled on average while asleep,"
        f" each polled while enabled: {IDLE_POLLERS} long polls of 20 s at a time (Lambda's"
        f" low-traffic upper bound; it may drop to 2) = {receives:,} receives a month",
    ]
    return {
        ("CloudWatch", "alarm-month (standard)"): alarms,
        ("Secrets Manager", "secret-month"): secrets,
        ("SQS", "request"): receives,
    }, notes


def _merge(*parts: dict[tuple[str, str], float]) -> dict[tuple[str, str], float]:
    merged: defaultdict[tuple[str, str], float] = defaultdict(float)
    for part in parts:
        for key, value in part.items():
            merged[key] += value
    return dict(merged)


def _x_spend(pipeline: CountedPipeline) -> tuple[int, float]:
    """The tweets X took, priced as the publishing budget prices them (each with its link)."""
    tweets = len(pipeline.x.accepted)
    return tweets, x_prices.dollars(tweets * x_prices.create_price(with_url=True))


def _beyond_idle(used: FunctionUsage, runs: int, idle: FunctionUsage) -> FunctionUsage:
    """What sweeps did beyond ``runs`` idle sweeps (the work the posts gave them); their
    runs themselves are the month's, as they fire whether there is work or not."""
    each = 1 / max(1, idle.invocations)
    calls = Counter(
        {
            key: max(0, round(count - runs * idle.calls.get(key, 0) * each))
            for key, count in used.calls.items()
        }
    )
    return FunctionUsage(
        function=used.function,
        memory_mb=used.memory_mb,
        invocations=0,
        cpu_seconds=max(0.0, used.cpu_seconds - runs * idle.cpu_seconds * each),
        billed_seconds=max(0.0, used.billed_seconds - runs * idle.billed_seconds * each),
        calls=calls,
        emails=used.emails,  # an idle sweep sends none
        sns_publishes=used.sns_publishes,
        log_bytes=max(0, round(used.log_bytes - runs * idle.log_bytes * each)),
        metric_values=used.metric_values,
        metrics=used.metrics - idle.metrics,
    )


@dataclass
class PostsBill:
    posts: int
    counted: dict[tuple[str, str], float]  # proportional to the posts
    metrics: int  # distinct custom metrics the posts made the functions emit
    pipeline: CountedPipeline
    usage: dict[str, FunctionUsage]
    writes: dict[str, float]
    reads: dict[str, float]

    def per_thousand(self) -> list[Line]:
        return bill({key: value * 1000 / self.posts for key, value in self.counted.items()})


def posts_bill(posts: int, idle: CountedPipeline) -> PostsBill:
    pipeline = CountedPipeline(Scenario(posts=posts, fault_rate=0.0))
    with contextlib.redirect_stdout(pipeline.printed_to):
        observed = pipeline.run()
    lost = len(pipeline.planned) - len(observed.post_ids)
    if lost or pipeline.tally.iam_denials or pipeline.tally.handler_errors:
        print(
            f"warning: {lost} posts not taken, {len(pipeline.tally.iam_denials)} IAM denials,"
            f" {pipeline.tally.handler_errors} function errors",
            file=sys.stderr,
        )
    # The schedules' sweeps fire far more often per post here than in AWS (time is
    # compressed): each is counted for what it did beyond an idle sweep of the month.
    usage, writes, reads = {}, {}, {}
    meter = pipeline.meter
    for label, used in pipeline.usage.items():
        writes[label], reads[label] = meter.writes.get(label, 0.0), meter.reads.get(label, 0.0)
        if label.endswith("(schedule)") and used.function in idle.usage:
            base = idle.usage[used.function]
            runs, each = used.invocations, 1 / max(1, base.invocations)
            usage[label] = _beyond_idle(used, runs, base)
            idle_writes, idle_reads = idle.idle_units
            idle_w = idle_writes.get(used.function, 0.0) * each
            idle_r = idle_reads.get(used.function, 0.0) * each
            writes[label] = max(0.0, writes[label] - runs * idle_w)
            reads[label] = max(0.0, reads[label] - runs * idle_r)
        else:
            usage[label] = used
    counted = _usage_lines(usage, scale={}, metric_hours={}, writes=writes, reads=reads)
    counted.pop(("CloudWatch", "custom metric-hour"), None)
    counted[("API Gateway", "REST request")] = pipeline.api_requests
    # the traces sampled on the way of the posts (the sweeps' are the month's)
    counted[("X-Ray", "trace recorded")] = sum(
        count for label, count in pipeline.traces.items() if not label.endswith("(schedule)")
    )
    metrics = set().union(*(used.metrics for used in usage.values()))
    return PostsBill(posts, counted, len(metrics), pipeline, usage, writes, reads)


def month_bill(
    runs: int,
) -> tuple[list[Line], CountedPipeline, dict[str, tuple[int, int]], list[str]]:
    pipeline = CountedPipeline(Scenario(posts=2, fault_rate=0.0), sleeping=True)  # none posted
    pipeline.settings = {
        **SETTINGS,
        "ALERT_SOURCES": json.dumps(QUIET_ALERT_SOURCES),
        "WATCH_RECORDED_ANSWERS": QUIET_WATCH_ANSWERS,
    }
    monthly = pipeline.sleep(runs)
    scale = {
        label: monthly[used.function][0] / used.invocations
        for label, used in pipeline.usage.items()
        if used.function in monthly and used.invocations
    }
    counted = _usage_lines(
        pipeline.usage,
        scale=scale,
        metric_hours={label: monthly[u.function][1] for label, u in pipeline.usage.items()},
        writes=pipeline.meter.writes,
        reads=pipeline.meter.reads,
    )
    counted[("X-Ray", "trace recorded")] = sum(
        pipeline.traces[label] * scale.get(label, 1.0) for label in pipeline.usage
    )
    fixtures, notes = _monthly_fixtures(sum(pipeline.polling) / max(1, len(pipeline.polling)))
    return bill(_merge(counted, fixtures)), pipeline, monthly, notes


def units_per_post(units: Mapping[str, float], posts: int, name: str, unit: str) -> str:
    """The units of ``name`` (writes, reads) per post, in all and by function."""
    rows = [f"  DynamoDB: {sum(units.values()) / posts:.1f} {name} units per post"]
    for label, spent in sorted(units.items(), key=lambda item: -item[1]):
        if spent:
            rows.append(f"    {label:<32}{spent / posts:6.1f} {unit} per post")
    return "\n".join(rows)


def item_units(
    items: Mapping[tuple[str, str, str], ItemUnits], posts: int, name: str, unit: str
) -> str:
    """Where the units of ``name`` (writes, reads) go, item by item: per post, each kind of
    item each function writes or reads and how (the sweeps' lines include what an idle sweep
    spends, which the lines per function above subtract), how many, the table's units and
    each index's."""
    rows = [
        f"  DynamoDB {name} per post, item by item (function, item kind pk/sk or a query's"
        " partition and index, operation):",
        f"    {'function':<30}{'item':<30}{'operation':<28}{name:>7}{'table':>7}"
        f"{'index':>7}{unit:>6}  indexes",
    ]
    for (label, kind, action), tally in sorted(items.items(), key=lambda item: -item[1].units):
        if tally.units / posts < 0.05:
            continue
        indexes = ", ".join(
            f"{index} {units / posts:.1f}"
            for index, units in sorted(tally.indexes.items())
            if units
        )
        rows.append(
            f"    {label:<30}{kind:<30}{action:<28}{tally.count / posts:7.2f}"
            f"{tally.table / posts:7.1f}{sum(tally.indexes.values()) / posts:7.1f}"
            f"{tally.units / posts:6.1f}  {indexes}"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument(
        "--runs",
        type=int,
        default=3,
        help="runs of each schedule counted (a multiple of 3: the watch collects one hour in 3)",
    )
    parser.add_argument("--skip-posts", action="store_true")
    args = parser.parse_args(argv)
    print(
        f"List prices: {REGION}, {PRICES_DATE} (src/entraide/costs/prices.py); free tiers left out."
    )

    started = time.perf_counter()
    lines, pipeline, monthly, notes = month_bill(args.runs)
    print(
        f"\nA sleeping month: each schedule fired {args.runs} times here, its calls per run"
        f" multiplied by its runs in 30 days ({time.perf_counter() - started:.0f} s)"
    )
    scale = {
        label: monthly[u.function][0] / u.invocations
        for label, u in pipeline.usage.items()
        if u.function in monthly and u.invocations
    }
    print(_per_function(pipeline.usage, scale))
    for note in notes:
        print(f"  {note}")
    print(table(lines, title="\nbill of a sleeping month"))
    month = total(lines)

    if not args.skip_posts:
        started = time.perf_counter()
        posts = posts_bill(args.posts, pipeline)
        run = posts.pipeline
        print(
            f"\n{args.posts} posts through the pipeline ({time.perf_counter() - started:.0f} s;"
            f" {run.api_requests} API requests, {run.tally.invocations} invocations, of which"
            f" {run.tally.schedule_runs} sweeps counted beyond an idle sweep)"
        )
        print(_per_function(posts.usage, {}))
        meter = posts.pipeline.meter
        print(units_per_post(posts.writes, args.posts, "write", "W"))
        print(item_units(meter.items, args.posts, "writes", "W"))
        print(units_per_post(posts.reads, args.posts, "read", "R"))
        print(item_units(meter.read_items, args.posts, "reads", "R"))
        lines = posts.per_thousand()
        print(table(lines, title=f"\nbill of 1,000 posts (counted on {args.posts}, proportional)"))
        emails = sum(line.cost for line in lines if line.service == "SES")
        print(f"beyond the emails: ${total(lines) - emails:.4f} per 1,000 posts")
        hourly = price_of("CloudWatch", "custom metric-hour")
        print(
            f"custom metrics while posts arrive: {posts.metrics} metrics, billed by the hour"
            f" whatever the number of posts: ${posts.metrics * hourly.each * 24:.3f} a day"
        )
        tweets, spend = _x_spend(run)
        print(
            f"X ({x_prices.PRICES_SOURCE}): {tweets} of {args.posts} posts tweeted with their"
            f" link, ${spend * 1000 / args.posts:.2f} per 1,000 posts, on top"
        )
    print(f"\nsleeping month: ${month:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
