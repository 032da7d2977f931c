"""``entraide dlq``: what the failure queues hold, and sending it back to be done again.

Commands::

    entraide dlq list [relay|scheduled|stream] [--limit N]
    entraide dlq redrive relay|scheduled|stream [--limit N]

See :mod:`entraide.adapters.failure_queues` for what each queue holds and how it is sent
back; every consumer is idempotent through the effects ledger, so a redrive repeats nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from entraide.cli_target import CliError, Target, add_target_arguments, resolve_target


def _failure_queues(args: argparse.Namespace) -> tuple[Target, Any]:
    target = resolve_target(args)
    print(f"→ {target.description}", file=sys.stderr)
    return target, target.clients("sqs")


def cmd_dlq_list(args: argparse.Namespace) -> int:
    from entraide.adapters.failure_queues import OUTPUTS, count, held

    target, sqs = _failure_queues(args)
    for queue in [args.queue] if args.queue else list(OUTPUTS):
        url = target.output(OUTPUTS[queue])
        print(f"{queue} : {count(sqs, url)} message(s)")
        for message in held(sqs, queue, url, limit=args.limit):
            print(f"  {message.message_id}  {message.summary}")
            if queue == "relay":  # where its publications stand in the ledger
                for line in _publication_states(target, message.body):
                    print(f"      {line}")
    return 0


def _publication_states(target: Target, body: dict[str, Any]) -> list[str]:
    from entraide.adapters.table import Table
    from entraide.effects.ledger_store import DynamoDBLedgerStore
    from entraide.publishing.channels import KNOWN
    from entraide.publishing.relay_store import publication_states

    table = Table(target.output("TableName"), client=target.clients("dynamodb"))
    return publication_states(DynamoDBLedgerStore(table), body, KNOWN)


def cmd_dlq_redrive(args: argparse.Namespace) -> int:
    from entraide.adapters.failure_queues import OUTPUTS, Redrive, stream_records

    target, sqs = _failure_queues(args)
    lambda_ = target.clients("lambda")

    def invoke(function: str, event: dict[str, Any], sync: bool) -> Any:
        response = lambda_.invoke(
            FunctionName=function,
            InvocationType="RequestResponse" if sync else "Event",
            Payload=json.dumps(event).encode(),
        )
        if response.get("FunctionError"):
            raise CliError(f"{function} : {response['FunctionError']}")
        payload = response["Payload"].read() if sync else b""
        return json.loads(payload) if payload else None

    streams = target.clients("dynamodbstreams")
    region = str(streams.meta.region_name)
    redrive = Redrive(
        sqs,
        args.queue,
        target.output(OUTPUTS[args.queue]),
        relay_queue_url=target.outputs.get("RelayQueueUrl"),
        invoke=invoke,
        read_stream=lambda batch: stream_records(streams, batch, region),
    )
    done, problems = redrive.run(limit=args.limit)
    print(f"{args.queue} : {done} message(s) renvoyé(s)")
    for problem in problems:
        print(f"  laissé dans la file : {problem}", file=sys.stderr)
    return 1 if problems else 0


def add_dlq_commands(commands: Any, state: argparse.ArgumentParser) -> None:
    """The ``dlq`` command and its actions, on the main parser's subcommands."""
    dlq = commands.add_parser("dlq", help="the failure queues: what they hold, sending it back")
    add_target_arguments(dlq)
    dlq_actions = dlq.add_subparsers(dest="action", required=True)
    queues = ["relay", "scheduled", "stream"]
    dlq_list = dlq_actions.add_parser("list", parents=[state], help="what each queue holds")
    dlq_list.add_argument("queue", nargs="?", choices=queues)
    dlq_list.add_argument("--limit", type=int, default=20, help="messages shown per queue")
    dlq_list.set_defaults(handler=cmd_dlq_list)
    redrive = dlq_actions.add_parser(
        "redrive", parents=[state], help="send a queue's messages back to be done again"
    )
    redrive.add_argument("queue", choices=queues)
    redrive.add_argument("--limit", type=int, default=100)
    redrive.set_defaults(handler=cmd_dlq_redrive)
