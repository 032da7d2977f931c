"""What happens to a failure, read from template.yaml: retried a bounded number of times, kept
somewhere, and an operator told.

Each rule returns the problems it finds (empty: the template keeps it). Every rule is run on
template.yaml, and on a copy broken on purpose, so that a rule that cannot fail is seen.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from entraide_local.template import merge_globals

Document = Mapping[str, Any]
STREAM_EVENTS = ("DynamoDB", "Kinesis")
SCHEDULE_EVENTS = ("Schedule", "ScheduleV2")
# Lambda's bounds for asynchronous invocations (AWS::Lambda::EventInvokeConfig).
ASYNC_RETRIES = range(0, 3)
ASYNC_EVENT_AGE = range(60, 21600 + 1)


# --- reading the template ------------------------------------------------------------------


def resources(document: Document, kind: str | None = None) -> dict[str, Mapping[str, Any]]:
    return {
        logical_id: body
        for logical_id, body in document["Resources"].items()
        if kind is None or body["Type"] == kind
    }


def properties(document: Document, logical_id: str) -> Mapping[str, Any]:
    body = document["Resources"][logical_id]
    own = body.get("Properties") or {}
    if body["Type"] != "AWS::Serverless::Function":
        return own
    return merge_globals(own, (document.get("Globals") or {}).get("Function") or {})


def functions(document: Document) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for logical_id in resources(document, "AWS::Serverless::Function"):
        yield logical_id, properties(document, logical_id)


def events(function: Mapping[str, Any], kinds: tuple[str, ...]) -> list[tuple[str, Any]]:
    return [
        (name, event.get("Properties") or {})
        for name, event in (function.get("Events") or {}).items()
        if event["Type"] in kinds
    ]


def target(value: Any, attribute: str) -> str | None:
    """The logical id in `!GetAtt Id.<attribute>` (or `!Ref Id` for "Ref"), else None."""
    if not isinstance(value, dict):
        return None
    if attribute == "Ref" and isinstance(value.get("Ref"), str):
        return str(value["Ref"])
    get_att = value.get("Fn::GetAtt")
    if isinstance(get_att, list) and len(get_att) == 2 and get_att[1] == attribute:
        return str(get_att[0])
    return None


def on_failure(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """`DestinationConfig.OnFailure` of an event source or an EventInvokeConfig, or {}."""
    return (config.get("DestinationConfig") or {}).get("OnFailure") or {}


def is_encrypted_queue(queue: Mapping[str, Any]) -> bool:
    return queue.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in queue


def failure_queues(document: Document) -> dict[str, str]:
    """Every queue that receives failures, and what sends them there."""
    found: dict[str, str] = {}
    for logical_id in resources(document, "AWS::SQS::Queue"):
        redrive = properties(document, logical_id).get("RedrivePolicy") or {}
        dead_letters = target(redrive.get("deadLetterTargetArn"), "Arn")
        if dead_letters:
            found[dead_letters] = f"dead-letter queue of {logical_id}"
    for function_id, function in functions(document):
        for name, event in events(function, STREAM_EVENTS):
            queue = target(on_failure(event).get("Destination"), "Arn")
            if queue:
                found[queue] = f"on-failure destination of {function_id}.{name}"
        queue = target(
            on_failure(function.get("EventInvokeConfig") or {}).get("Destination"), "Arn"
        )
        if queue:
            found[queue] = f"asynchronous on-failure destination of {function_id}"
    return found


# --- the rules ---------------------------------------------------------------------------------


def unwatched_failure_queues(document: Document) -> list[str]:
    """Every failure queue has an alarm on its first visible message, sent somewhere."""
    watched = set()
    for alarm_id in resources(document, "AWS::CloudWatch::Alarm"):
        alarm = properties(document, alarm_id)
        dimensions = {item["Name"]: item["Value"] for item in alarm.get("Dimensions") or ()}
        queue = target(dimensions.get("QueueName"), "QueueName")
        fires_on_first = (
            alarm.get("ComparisonOperator") == "GreaterThanOrEqualToThreshold"
            and float(alarm.get("Threshold", 0)) <= 1
        ) or (
            alarm.get("ComparisonOperator") == "GreaterThanThreshold"
            and float(alarm.get("Threshold", 1)) < 1
        )
        if (
            queue
            and alarm.get("Namespace") == "AWS/SQS"
            and alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible"
            and fires_on_first
            and alarm.get("TreatMissingData") == "notBreaching"
            and alarm.get("AlarmActions")
        ):
            watched.add(queue)
    return [
        f"{queue} ({role}) has no alarm on its first message"
        for queue, role in sorted(failure_queues(document).items())
        if queue not in watched
    ]


def scheduled_runs_without_destination(document: Document) -> list[str]:
    """Every scheduled function bounds its retries and keeps what fails in an SQS queue."""
    problems = []
    queues = resources(document, "AWS::SQS::Queue")
    for function_id, function in functions(document):
        if not events(function, SCHEDULE_EVENTS):
            continue
        config = function.get("EventInvokeConfig")
        if not config:
            problems.append(f"{function_id}: scheduled, without EventInvokeConfig")
            continue
        if config.get("MaximumRetryAttempts") not in ASYNC_RETRIES:
            problems.append(f"{function_id}: MaximumRetryAttempts must be set, 0 to 2")
        if config.get("MaximumEventAgeInSeconds") not in ASYNC_EVENT_AGE:
            problems.append(f"{function_id}: MaximumEventAgeInSeconds must be set, 60 to 21600")
        destination = on_failure(config)
        queue = target(destination.get("Destination"), "Arn")
        if destination.get("Type") != "SQS" or queue not in queues:
            problems.append(f"{function_id}: no on-failure SQS queue of this template")
            continue
        queue_properties = properties(document, queue)
        if "MessageRetentionPeriod" not in queue_properties:
            problems.append(f"{function_id}: {queue} keeps failures the default 4 days only")
        if not is_encrypted_queue(queue_properties):
            problems.append(f"{function_id}: {queue} is not encrypted")
    return problems


def unsafe_event_sources(document: Document) -> list[str]:
    """Stream and SQS sources report partial failures, retry a bounded number of times and
    keep what they give up on (an on-failure destination, or the queue's redrive)."""
    problems = []
    for function_id, function in functions(document):
        for name, event in events(function, (*STREAM_EVENTS, "SQS")):
            where = f"{function_id}.{name}"
            if "ReportBatchItemFailures" not in (event.get("FunctionResponseTypes") or ()):
                problems.append(f"{where}: no ReportBatchItemFailures")
            if "Queue" in event:
                problems.extend(_redrive_problems(document, where, target(event["Queue"], "Arn")))
                continue
            # -1 (Lambda's default for streams) retries until the record expires (24 h)
            if int(event.get("MaximumRetryAttempts", -1)) < 0:
                problems.append(f"{where}: unbounded retries (MaximumRetryAttempts)")
            if not on_failure(event).get("Destination"):
                problems.append(f"{where}: no on-failure destination")
    return problems


def _redrive_problems(document: Document, where: str, queue: str | None) -> list[str]:
    if queue is None:
        return [f"{where}: reads a queue this template does not define"]
    source = properties(document, queue)
    redrive = source.get("RedrivePolicy") or {}
    dead_letters = target(redrive.get("deadLetterTargetArn"), "Arn")
    if not dead_letters or "maxReceiveCount" not in redrive:
        return [f"{where}: {queue} has no redrive (dead-letter queue, maxReceiveCount)"]
    # SQS keeps a message's first enqueue time when it dead-letters it: a DLQ that keeps
    # messages no longer than its source loses them early ("Setting-up dead-letter queue
    # retention", SQS developer guide).
    default_retention = 345600
    kept = int(properties(document, dead_letters).get("MessageRetentionPeriod", default_retention))
    source_kept = int(source.get("MessageRetentionPeriod", default_retention))
    if kept <= source_kept:
        return [f"{where}: {dead_letters} keeps messages no longer than {queue} ({kept} s)"]
    return []


def functions_without_log_retention(document: Document) -> list[str]:
    """Every function logs to a log group of this template that expires its logs."""
    problems = []
    log_groups = resources(document, "AWS::Logs::LogGroup")
    for function_id, function in functions(document):
        group = target((function.get("LoggingConfig") or {}).get("LogGroup"), "Ref")
        if group not in log_groups:
            problems.append(f"{function_id}: no LoggingConfig.LogGroup of this template")
        elif "RetentionInDays" not in properties(document, group):
            problems.append(f"{function_id}: {group} keeps logs forever")
    return problems


def unencrypted_queues(document: Document) -> list[str]:
    """Every queue is encrypted at rest (what checkov's skipped CKV_AWS_27 stood for)."""
    return [
        f"{queue} is not encrypted"
        for queue in resources(document, "AWS::SQS::Queue")
        if not is_encrypted_queue(properties(document, queue))
    ]


Rule = Callable[[Document], list[str]]


# --- template.yaml keeps every rule ----------------------------------------------------------


def test_every_dead_letter_queue_and_failure_destination_has_an_alarm(
    sam_document: Document,
) -> None:
    # Given template.yaml's queues that receive failures
    queues = failure_queues(sam_document)

    # When their alarms are looked for
    problems = unwatched_failure_queues(sam_document)

    # Then each has one that fires on its first message
    assert {"RelayDeadLetterQueue", "StreamFailureQueue"} <= set(queues)
    assert problems == []


def test_every_scheduled_function_keeps_its_failed_runs(sam_document: Document) -> None:
    # Given the functions with a schedule
    scheduled = [
        fid for fid, function in functions(sam_document) if events(function, SCHEDULE_EVENTS)
    ]

    # When their asynchronous invocation settings are checked
    problems = scheduled_runs_without_destination(sam_document)

    # Then each retries a bounded number of times and keeps what fails in an SQS queue
    assert len(scheduled) >= 4
    assert problems == []


#: DynamoDB Streams API Reference, LimitExceededException: "More than 2 processes are
#: reading from the same streams shard at the same time. Exceeding this limit may result in
#: request throttling."
MAX_STREAM_READERS = 2


def crowded_streams(document: Document) -> list[str]:
    """Streams read by more event source mappings than DynamoDB Streams serves."""
    readers: dict[str, list[str]] = {}
    for logical_id, function in functions(document):
        for name, source in events(function, ("DynamoDB",)):
            table = target(source.get("Stream"), "StreamArn") or str(source.get("Stream"))
            readers.setdefault(table, []).append(f"{logical_id}.{name}")
    return [
        f"{table}: {len(names)} readers ({', '.join(names)})"
        for table, names in readers.items()
        if len(names) > MAX_STREAM_READERS
    ]


def test_no_stream_has_more_readers_than_dynamodb_streams_serves(sam_document: Document) -> None:
    problems = crowded_streams(sam_document)

    assert problems == []


def test_every_stream_and_queue_source_bounds_and_keeps_its_failures(
    sam_document: Document,
) -> None:
    problems = unsafe_event_sources(sam_document)

    assert problems == []


def test_every_function_has_a_log_group_with_retention(sam_document: Document) -> None:
    problems = functions_without_log_retention(sam_document)

    assert problems == []


def test_every_queue_is_encrypted(sam_document: Document) -> None:
    problems = unencrypted_queues(sam_document)

    assert problems == []


# --- and each rule sees a template that breaks it ----------------------------------------------


def _drop_alarm_of(queue: str) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        for alarm_id, body in list(resources(document, "AWS::CloudWatch::Alarm").items()):
            dimensions = body["Properties"].get("Dimensions") or ()
            if any(target(item["Value"], "QueueName") == queue for item in dimensions):
                del document["Resources"][alarm_id]

    return change


def _set(logical_id: str, path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        node = document["Resources"][logical_id]["Properties"]
        *parents, last = path.split(".")
        for key in parents:
            node = node[key]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value

    return change


def _add_stream_readers(count: int) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        router = document["Resources"]["StreamRouterFunction"]["Properties"]["Events"]
        source = router["TableChanges"]
        for number in range(count):
            router[f"Extra{number}"] = copy.deepcopy(source)

    return change


BROKEN = [
    pytest.param(
        crowded_streams,
        _add_stream_readers(2),
        "EntraideTable: 3 readers (StreamRouterFunction.TableChanges, "
        "StreamRouterFunction.Extra0, StreamRouterFunction.Extra1)",
        id="three readers of the table's stream",
    ),
    pytest.param(
        unwatched_failure_queues,
        _drop_alarm_of("StreamFailureQueue"),
        "StreamFailureQueue (on-failure destination of StreamRouterFunction.TableChanges) "
        "has no alarm on its first message",
        id="failure queue without alarm",
    ),
    pytest.param(
        scheduled_runs_without_destination,
        _set("ReportFunction", "EventInvokeConfig", None),
        "ReportFunction: scheduled, without EventInvokeConfig",
        id="schedule without on-failure destination",
    ),
    pytest.param(
        scheduled_runs_without_destination,
        _set("ActivateFunction", "EventInvokeConfig.MaximumRetryAttempts", None),
        "ActivateFunction: MaximumRetryAttempts must be set, 0 to 2",
        id="schedule with default retries",
    ),
    pytest.param(
        unsafe_event_sources,
        _set("StreamRouterFunction", "Events.TableChanges.Properties.MaximumRetryAttempts", None),
        "StreamRouterFunction.TableChanges: unbounded retries (MaximumRetryAttempts)",
        id="stream source retrying until expiry",
    ),
    pytest.param(
        unsafe_event_sources,
        _set("RelayFunction", "Events.RelayQueue.Properties.FunctionResponseTypes", None),
        "RelayFunction.RelayQueue: no ReportBatchItemFailures",
        id="queue source without partial failures",
    ),
    pytest.param(
        unsafe_event_sources,
        _set("RelayQueue", "MessageRetentionPeriod", 1209600),
        "RelayFunction.RelayQueue: RelayDeadLetterQueue keeps messages no longer than "
        "RelayQueue (1209600 s)",
        id="dead-letter queue that forgets first",
    ),
    pytest.param(
        functions_without_log_retention,
        _set("SnapshotFunction", "LoggingConfig", None),
        "SnapshotFunction: no LoggingConfig.LogGroup of this template",
        id="function without log group",
    ),
    pytest.param(
        functions_without_log_retention,
        _set("ReportLogGroup", "RetentionInDays", None),
        "ReportFunction: ReportLogGroup keeps logs forever",
        id="log group without retention",
    ),
    pytest.param(
        unencrypted_queues,
        _set("ScheduledRunFailureQueue", "SqsManagedSseEnabled", None),
        "ScheduledRunFailureQueue is not encrypted",
        id="queue without encryption",
    ),
]


@pytest.mark.parametrize(("rule", "change", "problem"), BROKEN)
def test_a_rule_names_what_a_broken_template_lacks(
    sam_document: Document,
    rule: Rule,
    change: Callable[[dict[str, Any]], None],
    problem: str,
) -> None:
    # Given template.yaml with one defect
    document = copy.deepcopy(dict(sam_document))
    change(document)

    # When the rule reads it
    problems = rule(document)

    # Then it names the defect
    assert problem in problems
