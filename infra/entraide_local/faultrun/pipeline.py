"""Drive the pipeline as AWS does, in one process against moto, with faults: a fault run.

Each function's handler is loaded once with its template environment (a cold start), and
invoked with the event its source sends, under its IAM policy, inside the fault plan and the
capacity meter. The sources are emulated as AWS runs them:

- **API Gateway**: people post (JSON, with an ``Idempotency-Key``), moderators click their
  links, people in need write to helpers; a 5xx or a lost answer is sent again, as a client
  or a person does;
- **DynamoDB Streams → Lambda**: new records in order, filtered and batched as the stream
  router's event source mapping says; the router invokes its consumers (Lambda's
  synchronous Invoke, here in process, one at a time); a failed batch is retried from its
  first failed record up to ``MaximumRetryAttempts``, then its failure record goes to the
  ``OnFailure`` queue;
- **SQS → Lambda** (the relay): batches of ``BatchSize``, only while the relay's event source
  mapping is enabled (activation_events switches it through Lambda's API, answered in
  process from the deployment's mappings: ``mapping_hook``; a message left in a disabled
  mapping's queue would show as a loss); what the handler does not report done is received
  again, and after ``maxReceiveCount`` SQS moves it to the dead-letter
  queue; a message's visibility timeout is the function's (compressed) timeout, and a
  deferred message waits its ``DelaySeconds`` (at least one second);
- **EventBridge**: the schedules (sweeps, reconciliations, notices) fire when the rest is
  idle, as they would a few minutes later.

Time is compressed through the functions' settings: the ledger retries in hundredths of a
second, a claim's lease lasts the two seconds an invocation is given, the ledger starts an
effect and the relay a record with one second left. The run ends when nothing has moved
for ``idle_seconds``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO
from urllib.parse import parse_qs, urlencode, urlsplit

from .. import moto_fixes
from ..api import HttpRequest, build_routes, http_response, proxy_event
from ..faults import FaultPlan, no_faults
from ..filters import FilterCriteria
from ..inprocess import environment as environment_set
from ..mapping_hook import serving
from ..mappings import EventSourceMappings
from ..provision import Deployment, provision
from ..queues import to_lambda_record as sqs_record
from ..schedules import scheduled_event
from ..streams import to_lambda_record as stream_record
from ..template import QueueEvent, ScheduleEvent, StreamEvent
from .meter import CapacityMeter, Index
from .world import FakeX, PlannedPost, Scenario, plan

ROOT = Path(__file__).resolve().parents[3]
REGION = "eu-west-3"
#: The pipeline's functions, by code folder.
FUNCTIONS = (
    "stream_router",
    "ingest_offer",
    "moderate",
    "decision",
    "geomatch",
    "contact",
    "relay",
    "activation_events",
)
#: Settings that compress time (see the module documentation) and quiet the functions.
COMPRESSED = {
    "EFFECT_RETRY_BASE_SECONDS": "0.05",
    "EFFECT_RETRY_CAP_SECONDS": "1",
    "EFFECT_LEASE_MARGIN_SECONDS": "0.2",
    # an effect starts with a second left of the two an invocation is given, as the relay's
    # records do: with AWS's three seconds no effect would ever start in the run that
    # recorded it, and every one would wait for its lease and the sweep
    "EFFECT_TIME_SECONDS": "1",
    # moto's indexes are consistent at once: the approval's match is due at the next sweep
    "MATCH_DELAY_SECONDS": "0.5",
    "RELAY_RETRY_BASE_SECONDS": "0.05",
    "RELAY_RETRY_CAP_SECONDS": "2",
    "RELAY_RECORD_SECONDS": "1",
    # every post tweeted alone: a budget that never binds, no digest
    "X_QUOTA": "per_24h=1000000",
    "RELAY_DIGEST_THRESHOLD": "1000000",
    # X alone: Bluesky and Mastodon run the same relay on their own claims
    "RELAY_CHANNELS": "x",
    "OUTBOX_DIR": "",
    "POWERTOOLS_LOG_LEVEL": "CRITICAL",
    "POWERTOOLS_METRICS_DISABLED": "true",
}
INVOCATION_MS = 2_000
_LINK = re.compile(r"https?://\S+")


class LambdaContext:
    """The attributes of Lambda's context object that the handlers read."""

    def __init__(self, name: str, remaining_ms: int) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "run"
        self._deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Function:
    name: str
    logical_id: str
    module: ModuleType
    environment: dict[str, str]
    policy: Any  # entraide_local.iam.policies.FunctionPolicy, or None without IAM


@dataclass
class Tally:
    """What happened on the way, beside the effects themselves."""

    invocations: int = 0
    handler_errors: int = 0
    intake_attempts: int = 0
    clicks: int = 0
    contact_attempts: int = 0
    stream_batches_given_up: int = 0
    relay_receives: int = 0
    schedule_runs: int = 0
    iam_denials: list[str] = field(default_factory=list)
    rounds: int = 0
    seconds: float = 0.0
    out_of_time: bool = False  # stopped by ``max_seconds``, with work left
    ended: str = ""  # how the run ended, in words


@dataclass
class Observed:
    """What the run leaves behind, read after it without faults."""

    post_ids: dict[int, str]  # planned index -> the post id its answer named
    decisions: dict[str, int]  # post id -> transitions out of pending seen on the stream
    stream_records: int
    emails: list[tuple[str, str, str]]  # (recipient, subject, plain text)
    announcements: list[dict[str, Any]]  # what the topics delivered
    tweets: list[str]  # texts X took
    matches: list[tuple[str, str]]
    contacts_per_email: dict[str, int]  # address -> contact items (posts stored per person)
    failure_queues: dict[str, int]
    dead_letters: int
    # the ledger's record of every subject, one line each (entraide.effects.model)
    ledger: dict[str, str] = field(default_factory=dict)
    # post id -> its status and version at the end of the run
    post_states: dict[str, str] = field(default_factory=dict)
    # what the relay's dead-letter queue holds: (message id, event and subject)
    dead_letter_messages: list[tuple[str, str]] = field(default_factory=list)
    # recipient's digest -> their match-notice items left (pending notices, send slot, due
    # hints), one line each: what a lost notice's recipient still had waiting
    notice_items: dict[str, list[str]] = field(default_factory=dict)
    # a contact's pseudonym (the HMAC that names its person in notices) -> its address
    pseudonyms: dict[str, str] = field(default_factory=dict)


def unlisted_open_subjects(dynamodb: Any, table_name: str) -> bool:
    """Whether an effect subject that may be listed in ``by_due`` has an effect open and is
    not listed: a subject listed only when left whose run died before listing it, which
    its owner's reconciliation resumes. A Scan (what no index shows): for the end of a run."""
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=table_name,
        FilterExpression=(
            "begins_with(pk, :effect) AND #open > :zero AND #indexed = :listable"
            " AND attribute_not_exists(gsi5pk)"
        ),
        ExpressionAttributeNames={"#open": "open", "#indexed": "indexed"},
        ExpressionAttributeValues={
            ":effect": {"S": "EFFECT#"},
            ":zero": {"N": "0"},
            ":listable": {"BOOL": True},
        },
    ):
        if page["Items"]:
            return True
    return False


class Pipeline:
    """One fault run of ``scenario`` (see the module documentation)."""

    #: The functions' settings over the template's (the cost bench keeps logs and metrics).
    settings: Mapping[str, str] = COMPRESSED

    def __init__(self, scenario: Scenario, *, template: Path = ROOT / "template.yaml") -> None:
        self.scenario = scenario
        self.template = template
        self.planned = plan(scenario)
        self.faults = FaultPlan(rate=scenario.fault_rate, seed=scenario.seed)
        self.x = FakeX(rate=scenario.fault_rate, seed=scenario.seed + 1)
        self.tally = Tally()
        self.post_ids: dict[int, str] = {}
        self.decided: set[str] = set()
        self.contacted: set[tuple[str, str]] = set()
        self.stream_seen = 0
        self._invoking = threading.Lock()
        #: relay message id -> each receive: what became of it, and the faults on the way
        self.relay_receipts: dict[str, list[str]] = {}
        self.relay_about: dict[str, str] = {}  # relay message id -> its event and subject

    # -- the run ---------------------------------------------------------------------
    def run(
        self,
        *,
        idle_seconds: float = 5.0,
        stuck_seconds: float = 120.0,
        schedule_every: float = 2.0,
        max_seconds: float = 3600.0,
        progress: Callable[[str], None] | None = None,
        progress_every: float = 30.0,
    ) -> Observed:
        """Drive until nothing is left to do (or nothing has moved for ``stuck_seconds``:
        what is left then is counted lost). Schedules fire every ``schedule_every`` seconds
        and whenever the rest is idle. ``progress`` is handed a line on where the run
        stands every ``progress_every`` seconds (a long run says it is alive)."""
        with ExitStack() as stack:
            stack.enter_context(_aws_environment())
            stack.enter_context(_seeded(self.scenario.seed))
            from moto import mock_aws

            # moto as the local stack runs it: a transaction no longer copies the table, and
            # item versions are no longer kept alive for moto's dashboard (moto_fixes)
            moto_fixes.install()
            stack.enter_context(mock_aws())
            self._deploy(stack)
            started = time.monotonic()
            last_move = last_schedules = last_progress = started
            while time.monotonic() - started < max_seconds:
                self.tally.rounds += 1
                if progress is not None and time.monotonic() - last_progress > progress_every:
                    progress(self._where(time.monotonic() - started))
                    last_progress = time.monotonic()
                moved = self._round()
                # the schedules fire every few seconds (sooner while the rest is idle)
                every = schedule_every if moved else schedule_every / 2
                if time.monotonic() - last_schedules > every:
                    self._schedules()
                    last_schedules = time.monotonic()
                moved |= self._progress()
                idle = time.monotonic() - last_move
                if moved:
                    last_move = time.monotonic()
                elif idle > stuck_seconds:
                    left = ", with work left" if self._work_left() else ""
                    self.tally.ended = f"nothing moved for {stuck_seconds:.0f} s{left}"
                    break
                elif idle > idle_seconds and not self._work_left():
                    self.tally.ended = "nothing left to do"
                    break
                else:
                    time.sleep(0.2)  # leases and X's one-second blocks run out
            else:
                self.tally.out_of_time = True
                self.tally.ended = f"out of time after {max_seconds:.0f} s, with work left"
            self.tally.seconds = time.monotonic() - started
            return self._observe()

    def _where(self, elapsed: float) -> str:
        """One line on where the run stands."""
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        emails = len(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)
        return (
            f"{elapsed:6.0f} s: {len(self.post_ids)}/{len(self.planned)} posts stored, "
            f"{len(self.decided)} decided, {len(self.x.accepted)} tweets, {emails} emails, "
            f"{len(self.contacted)} contact messages; {self.faults.calls} AWS calls, "
            f"{len(self.faults.injected)} faults"
        )

    def _progress(self) -> bool:
        """Whether the world changed since the last look: emails, tweets, stream records."""
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        seen = (
            len(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages),
            len(self.x.accepted),
            self.stream_seen,
        )
        moved = seen != getattr(self, "_seen", None)
        self._seen = seen
        return moved

    def _work_left(self) -> bool:
        """Whether anything is still due: an effect in the ledger's index or stranded out
        of it (a moderation subject whose run died before listing it: the reconciliation's),
        a notice waiting for its hour, a message in the relay's queue, a post not decided
        yet."""
        dynamodb, sqs = self.client("dynamodb"), self.client("sqs")
        with no_faults():
            for owner in ("moderate", "activation_events", "contact", "geomatch", "relay"):
                found = dynamodb.query(
                    TableName=self.table_name,
                    IndexName="by_due",
                    KeyConditionExpression="gsi5pk = :pk",
                    ExpressionAttributeValues={":pk": {"S": f"DUE#{owner}"}},
                    Limit=1,
                )
                if found["Items"]:
                    return True
            if unlisted_open_subjects(dynamodb, self.table_name):
                return True
            notices = dynamodb.query(
                TableName=self.table_name,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": "NOTICE-DUE"}},
                Limit=1,
            )
            if notices["Items"]:
                return True
            if _count(sqs, str(self.deployment.outputs["RelayQueueUrl"])):
                return True
        return len(self.decided) < len(self.post_ids) or len(self.post_ids) < len(self.planned)

    def _round(self) -> bool:
        moved = self._intake()
        moved |= self._stream()
        moved |= self._decisions()
        moved |= self._relay()
        moved |= self._contacts()
        moved |= self._stream()
        return moved

    # -- set-up ----------------------------------------------------------------------
    def _deploy(self, run: ExitStack) -> None:
        """The template in moto, the functions loaded; what lasts the run is left on ``run``."""
        import boto3

        self.session = boto3.Session(region_name=REGION)
        self.deployment: Deployment = provision(self.template, self.session)
        self.table_name = str(self.deployment.outputs["TableName"])
        self.routes = build_routes(self.deployment)
        self.mappings = run.enter_context(serving(EventSourceMappings(self.deployment)))
        self._probe()
        self.meter = CapacityMeter(self.table_name, self._indexes(), self._read_item)
        self.meter.install()
        self.functions = {name: self._load(name) for name in FUNCTIONS}
        self.functions["relay"].module.relay.poster = self.x
        self._watch_relay(self.functions["relay"].module)
        router: Any = self.functions["stream_router"].module
        router.consumers = {route: self._consumer(route) for route in router.consumers}
        self._open_activation()
        self._record_place_index_format()
        streams = self.client("dynamodbstreams")
        table = self.client("dynamodb").describe_table(TableName=self.table_name)["Table"]
        self.stream_arn = table["LatestStreamArn"]
        [shard] = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        self.shard_id = shard["ShardId"]
        self.iterator = streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=self.shard_id, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        self.pending: dict[str, list[dict[str, Any]]] = {
            name: [] for name, f in self.functions.items() if f.module and self._stream_of(f)
        }
        self.retries: dict[str, int] = dict.fromkeys(self.pending, 0)

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def _watch_relay(self, module: Any) -> None:
        """Note, per relay message and receive, whether the handler consumed it or failed
        it (a receive burned), and which AWS calls failed meanwhile, before or after."""
        handle = module.record_handler

        def watched(record: Any, lambda_context: Any) -> None:
            start = len(self.faults.injected)
            outcome = "consumed"
            try:
                handle(record, lambda_context)
            except Exception as error:
                outcome = f"FAILED {type(error).__name__}"
                raise
            finally:
                self.relay_about[record.message_id] = _about(json.loads(record.body))
                faults = ", ".join(
                    f"{f.service}.{f.operation} {f.when}" for f in self.faults.injected[start:]
                )
                receipts = self.relay_receipts.setdefault(record.message_id, [])
                receipts.append(f"{outcome} [{faults}]")

        module.record_handler = watched

    def _consumer(self, name: str) -> Any:
        """The router's synchronous Invoke of ``name``, in process: one at a time (the
        functions' environments are the process's), its answer read as the router reads
        Lambda's (entraide.adapters.stream_router.LambdaConsumer)."""
        from entraide.adapters.stream_router import ConsumerFailed, sequence_number

        def consume(records: Any) -> set[str]:
            with self._invoking:
                result = self.invoke(name, {"Records": list(records)})
            if isinstance(result, Exception):
                raise ConsumerFailed(f"{name}: Unhandled")
            failed = {str(f.get("itemIdentifier")) for f in result.get("batchItemFailures", [])}
            numbers = {sequence_number(record) for record in records}
            return failed if failed <= numbers else numbers

        return consume

    def _indexes(self) -> list[Index]:
        table = self.client("dynamodb").describe_table(TableName=self.table_name)["Table"]
        return [Index.described(index) for index in table.get("GlobalSecondaryIndexes", [])]

    def _read_item(self, key: dict[str, Any]) -> dict[str, Any] | None:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
        item = backend.get_item(self.table_name, key)
        return None if item is None else item.to_json()["Attributes"]

    def _probe(self) -> None:
        """A queue that keeps what both topics deliver (as the relay's queue gets it)."""
        sqs, sns = self.client("sqs"), self.client("sns")
        self.probe_url = sqs.create_queue(QueueName="fault-run-probe")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.probe_url, AttributeNames=["QueueArn"])
        for topic in ("ApprovedPostsTopicArn", "ActivationEventsTopicArn"):
            sns.subscribe(
                TopicArn=self.deployment.outputs[topic],
                Protocol="sqs",
                Endpoint=arn["Attributes"]["QueueArn"],
                Attributes={"RawMessageDelivery": "true"},
            )

    def _load(self, name: str) -> Function:
        from ..iam.policies import function_policy

        deployed = self.deployment.function(name)
        environment = {
            **deployed.environment,
            **self.settings,
            "MODERATOR_EMAILS": ",".join(self.scenario.moderators),
            "AWS_LAMBDA_FUNCTION_NAME": deployed.name,
        }
        with environment_set(environment):
            spec = importlib.util.spec_from_file_location(
                f"faultrun_{name}", ROOT / "functions" / name / "app.py"
            )
            assert spec is not None
            assert spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        policy = function_policy(self.deployment, name) if self.scenario.iam else None
        return Function(name, deployed.logical_id, module, environment, policy)

    def _record_place_index_format(self) -> None:
        """As in a running deployment: geomatch's schedule has found no post under the former
        place keys and recorded the index's format, so searches read the place keys alone.
        (A new stack reads the former keys too until its first schedule, a quarter of an
        hour; here the first schedule comes after the stream has matched every post, and
        every search of the run would read both.)"""
        from entraide.adapters.table import Table
        from entraide.intake.post_store import PostStore

        table = Table(self.table_name, client=self.client("dynamodb"))
        PostStore(table).move_legacy_cells(now=datetime.now(UTC), out_of_time=lambda: False)

    def _open_activation(self) -> None:
        from entraide.activation.activation_store import ActivationStore
        from entraide.adapters.table import Table
        from entraide.kernel.model import Activation, AlertLevel, Hazard

        departements = tuple(dict.fromkeys(p.place.departement for p in self.planned))
        activation = Activation(
            id="FAULTRUN",
            hazard=Hazard.INONDATION,
            departements=departements,
            level=AlertLevel.ROUGE,
            hashtag="#InondationsSimulation",
            opened_at=datetime.now(UTC),
        )
        ActivationStore(Table(self.table_name, client=self.client("dynamodb"))).create_activation(
            activation
        )

    # -- invoking a function -------------------------------------------------------------
    def invoke(
        self, name: str, event: Any, *, remaining_ms: int = INVOCATION_MS, label: str = ""
    ) -> Any:
        """The handler's result, or the exception it raised (Lambda's function error);
        what it costs in DynamoDB units is counted under ``label`` (default: ``name``)."""
        function = self.functions[name]
        self.tally.invocations += 1
        with ExitStack() as stack:
            stack.enter_context(environment_set(function.environment))
            if function.policy is not None:
                from ..iam.hook import acting_as

                enforcement = stack.enter_context(
                    acting_as(function.policy.document, function.policy.principal)
                )
            stack.enter_context(self.faults.active())
            stack.enter_context(self.meter.measuring(label or name))
            try:
                # what a function prints (its metrics) goes to CloudWatch, not to the bench
                with contextlib.redirect_stdout(self.printed(label or name)):
                    result = function.module.lambda_handler(
                        event, LambdaContext(function.name, remaining_ms)
                    )
            except Exception as error:
                self.tally.handler_errors += 1
                result = error
            if function.policy is not None:
                self.tally.iam_denials += enforcement.denials
        return result

    def printed(self, label: str) -> TextIO:
        """Where a function's prints go (its metrics, for CloudWatch): nowhere here."""
        return io.StringIO()

    def request(
        self,
        name: str,
        method: str,
        target: str,
        body: str = "",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], str]:
        """An HTTP request through API Gateway: (status, headers, body); 502 when the
        handler failed, as API Gateway answers then."""
        path = urlsplit(target).path
        found = self.routes.find(method, path)
        assert found is not None, f"no route for {method} {path}"
        route, parameters = found
        request = HttpRequest(
            method=method,
            target=target,
            headers=list((headers or {}).items()),
            body=body.encode("utf-8"),
            client_ip="203.0.113.9",
            host="api.example",
        )
        event = proxy_event(
            route, parameters, request, account_id="123456789012", now=datetime.now(UTC)
        )
        result = self.invoke(name, event, remaining_ms=10_000)
        if isinstance(result, Exception):
            return 502, {}, ""
        response = http_response(result)
        return response.status, dict(response.headers), response.body.decode("utf-8")

    # -- people ------------------------------------------------------------------------
    def _intake(self) -> bool:
        moved = False
        for post in self.planned:
            if post.index in self.post_ids:
                continue
            self.tally.intake_attempts += 1
            status, _, body = self.request(
                "ingest_offer",
                "POST",
                "/offers",
                json.dumps(post.fields()),
                {"Content-Type": "application/json", "Idempotency-Key": f"run-{post.index}"},
            )
            if status == 201:
                self.post_ids[post.index] = json.loads(body)["id"]
                moved = True
            elif status < 500:
                raise AssertionError(f"post {post.index} refused: {status} {body}")
        return moved

    def _decisions(self) -> bool:
        moderator = self.scenario.moderators[0]
        verdict = {
            self.post_ids[p.index]: p.approve for p in self.planned if p.index in self.post_ids
        }
        # A moderator decides once the post's first emails are all out (both moderators'
        # and the poster's): deciding earlier makes those still due moot, not lost, and the
        # run would not see whether they could have gone.
        requests: dict[str, set[str]] = {}
        awaiting: set[str] = set()
        poster = {p.email: self.post_ids.get(p.index) for p in self.planned}
        for recipient, subject, text in self.emails():
            if "À modérer" in subject:
                for post_id in set(re.findall(r"/moderation/([0-9A-Za-z_-]+)\?", text)):
                    requests.setdefault(post_id, set()).add(recipient)
            elif "en attente de modération" in subject and poster.get(recipient):
                awaiting.add(str(poster[recipient]))
        everyone = set(self.scenario.moderators)
        moved = False
        for recipient, subject, text in self.emails():
            if recipient != moderator or "À modérer" not in subject:
                continue
            links = {
                parse_qs(urlsplit(link).query)["decision"][0]: link
                for link in _LINK.findall(text)
                if "/moderation/" in link
            }
            post_id = urlsplit(links["approve"]).path.rsplit("/", 1)[-1]
            if post_id in self.decided or post_id not in verdict:
                continue
            if requests.get(post_id, set()) != everyone or post_id not in awaiting:
                continue
            link = links["approve" if verdict[post_id] else "reject"]
            query = parse_qs(urlsplit(link).query)
            form = {"decision": query["decision"][0], "token": query["token"][0]}
            self.tally.clicks += 1
            status, _, _ = self.request(
                "decision",
                "POST",
                urlsplit(link).path.removeprefix("/prod"),
                urlencode(form),
                {"Content-Type": "application/x-www-form-urlencoded"},
            )
            if status in (200, 409):  # 409: decided already (an answer lost before)
                self.decided.add(post_id)
                moved = True
        return moved

    def _contacts(self) -> bool:
        moved = False
        for _, subject, text in self.emails():
            if "près de chez vous" not in subject:
                continue
            for link in _LINK.findall(text):
                if "/contact/" not in link:
                    continue
                parts = urlsplit(link)
                offer = parts.path.rsplit("/", 1)[-1]
                query = parse_qs(parts.query)
                need = query["need"][0]
                if (offer, need) in self.contacted:
                    continue
                form = {
                    "need": need,
                    "token": query["token"][0],
                    "message": f"Bonjour, votre offre m'aiderait beaucoup ({need}).",
                }
                self.tally.contact_attempts += 1
                status, _, _ = self.request(
                    "contact",
                    "POST",
                    parts.path.removeprefix("/prod"),
                    urlencode(form),
                    {"Content-Type": "application/x-www-form-urlencoded"},
                )
                if status == 200:
                    self.contacted.add((offer, need))
                    moved = True
        return moved

    # -- the stream ----------------------------------------------------------------------
    def _stream_of(self, function: Function) -> StreamEvent | None:
        spec = self.deployment.function(function.name).spec
        events = spec.events_of(StreamEvent)
        return events[0] if events else None

    def _stream(self) -> bool:
        streams = self.client("dynamodbstreams")
        with no_faults():
            response = streams.get_records(ShardIterator=self.iterator)
        self.iterator = response["NextShardIterator"]
        records = [
            stream_record(r, stream_arn=self.stream_arn, region=REGION) for r in response["Records"]
        ]
        self.stream_seen += len(records)
        for record in records:
            for name in self.pending:
                source = self._stream_of(self.functions[name])
                assert source is not None
                criteria = FilterCriteria(source.filter_patterns, where=name)
                if criteria.matches(record):
                    self.pending[name].append(record)
        moved = bool(records)
        for name in self.pending:
            moved |= self._deliver(name)
        return moved

    def _decided_on_the_stream(self) -> dict[str, int]:
        """Post id -> changes out of pending, read again from the whole stream."""
        streams = self.client("dynamodbstreams")
        iterator = streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=self.shard_id, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        decided: dict[str, int] = {}
        while iterator:
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            for record in response["Records"]:
                change = record.get("dynamodb", {})
                old, new = change.get("OldImage") or {}, change.get("NewImage") or {}
                if new.get("entity", {}).get("S") != "post" or not old:
                    continue
                if old.get("status", {}).get("S") == "pending" and new["status"]["S"] != "pending":
                    post_id = new["id"]["S"]
                    decided[post_id] = decided.get(post_id, 0) + 1
            if not response["Records"]:
                break
            iterator = response.get("NextShardIterator")
        return decided

    def _deliver(self, name: str) -> bool:
        source = self._stream_of(self.functions[name])
        assert source is not None
        queue = self.pending[name]
        moved = False
        while queue:
            batch = queue[: source.batch_size]
            result = self.invoke(name, {"Records": batch})
            failed_at = 0 if isinstance(result, Exception) else None
            if failed_at is None:
                failures = [f["itemIdentifier"] for f in result.get("batchItemFailures", [])]
                sequence = [r["dynamodb"]["SequenceNumber"] for r in batch]
                failed_at = min((sequence.index(f) for f in failures), default=None)
            if failed_at is None:
                del queue[: len(batch)]
                self.retries[name] = 0
                moved = True
                continue
            del queue[:failed_at]
            self.retries[name] += 1
            if self.retries[name] > source.maximum_retry_attempts:
                self._give_up(name, source, queue[: len(batch) - failed_at])
                del queue[: len(batch) - failed_at]
                self.retries[name] = 0
            return True  # Lambda retries this shard later (the next round)
        return moved

    def _give_up(self, name: str, source: StreamEvent, batch: list[dict[str, Any]]) -> None:
        """The failure record Lambda sends to the mapping's OnFailure queue."""
        self.tally.stream_batches_given_up += 1
        destination = self.deployment.resolve(source.on_failure_destination)
        queue_name = str(destination).rsplit(":", 1)[-1]
        sqs = self.client("sqs")
        with no_faults():
            url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
            first, last = batch[0]["dynamodb"], batch[-1]["dynamodb"]
            sqs.send_message(
                QueueUrl=url,
                MessageBody=json.dumps(
                    {
                        "requestContext": {"functionArn": self.deployment.function(name).arn},
                        "DDBStreamBatchInfo": {
                            "shardId": self.shard_id,
                            "startSequenceNumber": first["SequenceNumber"],
                            "endSequenceNumber": last["SequenceNumber"],
                            "batchSize": len(batch),
                            "streamArn": self.stream_arn,
                        },
                    }
                ),
            )

    # -- the relay's queue ---------------------------------------------------------------
    def _relay(self) -> bool:
        function = self.functions["relay"]
        [source] = self.deployment.function("relay").spec.events_of(QueueEvent)
        if not self.mappings.of(function.logical_id, source.name).enabled:
            return False  # Lambda does not poll a disabled mapping's queue
        url = str(self.deployment.outputs["RelayQueueUrl"])
        arn = self.deployment.resolve(source.queue)
        sqs = self.client("sqs")
        moved = False
        for _ in range(200):
            with no_faults():
                received = sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=source.batch_size,
                    # the function's timeout, compressed as the rest
                    VisibilityTimeout=INVOCATION_MS // 1000,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            if not received:
                break
            self.tally.relay_receives += len(received)
            moved = True
            records = [sqs_record(m, queue_arn=str(arn), region=REGION) for m in received]
            result = self.invoke(function.name, {"Records": records}, remaining_ms=INVOCATION_MS)
            failed = (
                {m["MessageId"] for m in received}
                if isinstance(result, Exception)
                else {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            )
            with no_faults():
                for message in received:
                    if message["MessageId"] not in failed:
                        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return moved

    # -- the schedules -------------------------------------------------------------------
    def _schedules(self) -> None:
        for name in ("moderate", "activation_events", "contact", "geomatch"):
            spec = self.deployment.function(name).spec
            if not spec.events_of(ScheduleEvent):
                continue
            self.tally.schedule_runs += 1
            event = scheduled_event(
                f"arn:aws:events:{REGION}:123456789012:rule/{name}",
                datetime.now(UTC),
                region=REGION,
                account="123456789012",
            )
            self.invoke(name, event, remaining_ms=10_000, label=f"{name} (schedule)")

    # -- what happened -------------------------------------------------------------------
    def emails(self) -> Iterator[tuple[str, str, str]]:
        """Every email sent so far: (recipient, subject, plain text)."""
        import email
        import email.policy

        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        sent = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
        cache: dict[int, tuple[str, str]] = self.__dict__.setdefault("_mail_cache", {})
        for index, message in enumerate(list(sent)):
            if index not in cache:
                parsed = email.message_from_string(message.raw_data, policy=email.policy.default)
                part = parsed.get_body(preferencelist=("plain",))
                text = part.get_content() if part is not None else ""
                cache[index] = (str(parsed["Subject"]), str(text))
            subject, text = cache[index]
            for recipient in sorted(set(message.destinations)):
                yield recipient, subject, text

    def _observe(self) -> Observed:
        sqs = self.client("sqs")
        with no_faults():
            announcements = []
            while batch := sqs.receive_message(
                QueueUrl=self.probe_url, MaxNumberOfMessages=10, VisibilityTimeout=600
            ).get("Messages", []):
                announcements += [json.loads(m["Body"]) for m in batch]
            failures = {}
            for output in ("StreamFailureQueueUrl", "ScheduledRunFailureQueueUrl"):
                url = self.deployment.outputs.get(output)
                if url:
                    failures[output] = _count(sqs, str(url))
            dead_url = str(self.deployment.outputs["RelayDeadLetterQueueUrl"])
            dead = _count(sqs, dead_url)
            dead_letter_messages = []
            while batch := sqs.receive_message(
                QueueUrl=dead_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=600,
            ).get("Messages", []):
                for message in batch:
                    about = _about(json.loads(message["Body"]))
                    dead_letter_messages.append((message["MessageId"], about))
            items = _scan(self.client("dynamodb"), self.table_name)
            decided = self._decided_on_the_stream()
        matches = [
            (i["need_id"]["S"], i["offer_id"]["S"])
            for i in items
            if i["pk"]["S"].startswith("MATCH#")
        ]
        contacts: dict[str, int] = {}
        pseudonyms: dict[str, str] = {}
        for item in items:
            if item.get("entity", {}).get("S") == "contact":
                address = item["email"]["S"]
                contacts[address] = contacts.get(address, 0) + 1
                if "pseudonym" in item:
                    pseudonyms[item["pseudonym"]["S"]] = address
        return Observed(
            post_ids=dict(self.post_ids),
            decisions=decided,
            stream_records=self.stream_seen,
            emails=list(self.emails()),
            announcements=announcements,
            tweets=[tweet.text for tweet in self.x.accepted],
            matches=matches,
            contacts_per_email=contacts,
            failure_queues=failures,
            dead_letters=dead,
            ledger=_ledger(items),
            post_states=_post_states(items),
            dead_letter_messages=dead_letter_messages,
            notice_items=_notice_items(items),
            pseudonyms=pseudonyms,
        )


def _count(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",  # deferred by the relay: still to do
        ],
    )["Attributes"]
    return sum(int(count) for count in attributes.values())


def _about(message: Mapping[str, Any]) -> str:
    """A relay message's event and subject: ``post-approved <post id>``."""
    return f"{message.get('event')} {message.get('post_id') or message.get('activation_id')}"


def _ledger(items: list[dict[str, Any]]) -> dict[str, str]:
    """Subject -> the ledger's line on it, for every subject the run recorded."""
    from entraide.adapters.table import Table
    from entraide.effects.ledger_store import EFFECT_PREFIX, EFFECT_SORT, record_from_item

    found = {}
    for raw in items:
        if raw["pk"]["S"].startswith(EFFECT_PREFIX) and raw["sk"]["S"] == EFFECT_SORT:
            record = record_from_item(Table.deserialise(raw))
            found[record.key] = record.summary()
    return found


def _notice_items(items: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Recipient's digest -> a line for each match-notice item of theirs left in the table
    (``entraide.matching.notice_store``): its key and the times it holds."""
    from entraide.adapters.table import Table

    found: dict[str, list[str]] = {}
    for raw in items:
        item = Table.deserialise(raw)
        pk, sk = str(item["pk"]), str(item["sk"])
        if pk.startswith("NOTICE#"):
            digest = pk.removeprefix("NOTICE#")
        elif pk == "NOTICE-DUE":
            digest = str(item.get("digest", ""))
        else:
            continue
        times = " ".join(
            f"{name}={item[name]}"
            for name in ("queued_at", "sent_at", "claim", "due_at")
            if name in item
        )
        found.setdefault(digest, []).append(f"{pk[:10]} {sk} {times}".rstrip())
    return found


def _post_states(items: list[dict[str, Any]]) -> dict[str, str]:
    """Post id -> ``status vN`` of the post's item at the end of the run."""
    from entraide.adapters.table import Table
    from entraide.intake.post_store import post_from_item

    return {
        post.id: f"{post.status.value} v{post.version}"
        for post in (
            post_from_item(Table.deserialise(raw))
            for raw in items
            if raw.get("entity", {}).get("S") == "post"
        )
    }


def _scan(client: Any, table: str) -> list[dict[str, Any]]:
    pages = client.get_paginator("scan").paginate(TableName=table)
    return [item for page in pages for item in page["Items"]]


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """The functions' own draws (the jitter of the ledger's and the relay's backoffs) from
    the run's seed, the process's generator given back afterwards. With the fault plan's
    and X's seeds, a run draws the same numbers in the same order; what still varies from
    one run to the next is time: how far a lease or a backoff has run when a schedule fires
    depends on the machine's speed."""
    saved = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(saved)


@contextmanager
def _aws_environment() -> Iterator[None]:
    with environment_set(
        {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",  # moto's dummy credentials
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            **{key: value for key, value in COMPRESSED.items() if key.startswith("POWERTOOLS")},
        }
    ):
        saved = os.environ.pop("AWS_ENDPOINT_URL", None)
        try:
            yield
        finally:
            if saved is not None:
                os.environ["AWS_ENDPOINT_URL"] = saved


def planned_index(planned: list[PlannedPost]) -> dict[int, PlannedPost]:
    return {post.index: post for post in planned}
