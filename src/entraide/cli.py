"""``entraide``: the operators' command line.

    entraide activation open --departement 11 --hazard inondation
    entraide activation close ID
    entraide activation list [--all] [--json]
    entraide sources check [--sources JSON] [--at TIME] [--json]
    entraide sources status [--json]
    entraide report --month 2026-10 [--out DIR]
    entraide privacy erase --email ADDRESS [--dry-run] [--json]
    entraide local run [--port 3000] [--moto-port 5000] [--no-iam]
    entraide local fire FUNCTION
    entraide dlq list [relay|scheduled|stream]
    entraide dlq redrive relay|scheduled|stream
    entraide editorial import FILE | list [--all] | cancel ID | move ID DATE
    entraide keys init [--link-signing-parameter NAME] [--pseudonym-parameter NAME]
                       [--link-signing-from-secret ID] [--pseudonym-from-secret ID]

Activation commands work against AWS (the table named by ``--table``, or the
``TableName`` output of the CloudFormation stack ``--stack``) and against the
local stack, which they find through the state file it writes under ``var/``
while it runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from entraide.cli_dlq import add_dlq_commands
from entraide.cli_editorial import add_editorial_commands
from entraide.cli_effects import add_effects_commands
from entraide.cli_keys import add_keys_commands
from entraide.cli_privacy import add_privacy_commands
from entraide.cli_sources import add_sources_commands
from entraide.cli_target import DEFAULT_STACK, CliError, add_target_arguments, resolve_target
from entraide.cli_watch import add_watch_commands
from entraide.kernel.errors import DomainError
from entraide.kernel.model import Activation, AlertLevel, Hazard

if TYPE_CHECKING:
    from entraide.activation.activation_store import ActivationStore

DEFAULT_STATE_DIR = "var"


def _activations(args: argparse.Namespace) -> ActivationStore:
    from entraide.activation.activation_store import ActivationStore
    from entraide.adapters.table import Table

    target = resolve_target(args)
    table = target.output("TableName")
    print(f"→ {target.description}, table {table}", file=sys.stderr)
    return ActivationStore(Table(table, client=target.clients("dynamodb")))


def _activation_line(activation: Activation) -> str:
    closed = activation.closed_at.isoformat(timespec="minutes") if activation.closed_at else "-"
    return "  ".join(
        [
            activation.id,
            activation.hazard.value,
            ",".join(activation.departements),
            activation.level.value,
            activation.hashtag,
            activation.opened_at.isoformat(timespec="minutes"),
            closed,
            activation.origin,
        ]
    )


def _activation_json(activation: Activation) -> dict[str, Any]:
    return {
        "id": activation.id,
        "hazard": activation.hazard.value,
        "departements": list(activation.departements),
        "level": activation.level.value,
        "hashtag": activation.hashtag,
        "opened_at": activation.opened_at.isoformat(),
        "closed_at": activation.closed_at.isoformat() if activation.closed_at else None,
        "origin": activation.origin,
    }


def cmd_activation_open(args: argparse.Namespace) -> int:
    from entraide.activation.activations import open_activation
    from entraide.kernel.ids import new_id

    activation = open_activation(
        _activations(args),
        departements=args.departement,
        hazard=Hazard.parse(args.hazard),
        level=AlertLevel(args.level),
        hashtag=args.hashtag,
        new_id=new_id,
    )
    print(f"Activation ouverte : {_activation_line(activation)}")
    return 0


def cmd_activation_close(args: argparse.Namespace) -> int:
    from entraide.activation.activations import close_activation

    activation = close_activation(_activations(args), args.id)
    print(f"Activation fermée : {_activation_line(activation)}")
    return 0


def cmd_activation_list(args: argparse.Namespace) -> int:
    from entraide.activation.activations import list_activations

    found = list_activations(_activations(args), include_closed=args.all)
    if args.json:
        print(json.dumps([_activation_json(a) for a in found], ensure_ascii=False, indent=2))
    elif not found:
        print("Aucune activation ouverte : la plateforme est en sommeil.")
    else:
        print("id  aléa  départements  niveau  hashtag  ouverte  fermée  origine")
        for activation in found:
            print(_activation_line(activation))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from entraide.adapters.table import Table
    from entraide.reporting.delivery import presigned_link, publish, write_files
    from entraide.reporting.month_loader import monthly_report
    from entraide.web.report_page import render_all

    target = resolve_target(args)
    table = Table(target.output("TableName"), client=target.clients("dynamodb"))
    bucket = target.output("ReportsBucketName")
    print(f"→ {target.description}, rapport de {args.month}", file=sys.stderr)
    report = monthly_report(table, args.month)
    files = render_all(report)
    s3 = target.clients("s3")
    keys = publish(report.month, files, s3, bucket)
    for key in keys.values():
        print(f"s3://{bucket}/{key}")
    print(f"lien (7 jours) : {presigned_link(s3, bucket, keys['html'])}")
    if args.out:
        for path in write_files(report.month, files, Path(args.out)).values():
            print(path)
    return 0


def _month(text: str) -> str:
    from datetime import datetime

    try:
        datetime.strptime(text, "%Y-%m")
    except ValueError:
        raise argparse.ArgumentTypeError(f"mois attendu sous la forme AAAA-MM : {text!r}") from None
    return text


def cmd_local_run(args: argparse.Namespace) -> int:
    from entraide_local.stack import run_from_cli

    # stack name and region: the local stack's own defaults unless given
    naming = {"stack_name": args.stack_name, "region": args.region}
    return run_from_cli(
        args.template,
        port=args.port,
        moto_port=args.moto_port,
        state_dir=args.state_dir,
        parameters=args.parameter,
        enforce_iam=not args.no_iam,
        index_lag=args.index_lag,
        in_process=args.in_process,
        **{key: value for key, value in naming.items() if value is not None},
    )


def cmd_local_fire(args: argparse.Namespace) -> int:
    from entraide_local.state import LocalStackError, fire_from_state

    try:
        result = fire_from_state(Path(args.state_dir), args.function, fields=args.event)
    except LocalStackError as exc:
        raise CliError(str(exc)) from exc
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    return 0


def _event_fields(text: str) -> dict[str, Any]:
    try:
        fields = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"JSON invalide : {exc}") from exc
    if not isinstance(fields, dict):
        raise argparse.ArgumentTypeError('un objet JSON est attendu, par ex. {"collect": true}')
    return fields


def _departement_list(text: str) -> list[str]:
    return [code.strip() for code in text.split(",") if code.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="entraide", description="ShareEntraide operators' CLI")
    # Every command may need to find the running local stack.
    state = argparse.ArgumentParser(add_help=False)
    state.add_argument(
        "--state-dir",
        default=os.environ.get("ENTRAIDE_STATE_DIR", DEFAULT_STATE_DIR),
        help="the local stack's state folder (or file); default: var/",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    activation = commands.add_parser("activation", help="open, close and list activations")
    add_target_arguments(activation)
    actions = activation.add_subparsers(dest="action", required=True)

    open_ = actions.add_parser(
        "open", parents=[state], help="wake the platform up for départements"
    )
    open_.add_argument(
        "--departement",
        "-d",
        action="extend",
        type=_departement_list,
        required=True,
        help="département code(s): 11, 2A, 974; repeat or separate by commas",
    )
    open_.add_argument("--hazard", required=True, help=", ".join(h.value for h in Hazard))
    open_.add_argument("--level", default="orange", choices=[level.value for level in AlertLevel])
    open_.add_argument("--hashtag", help="default: derived, e.g. #InondationsAude")
    open_.set_defaults(handler=cmd_activation_open)

    close = actions.add_parser("close", parents=[state], help="put the platform back to sleep")
    close.add_argument("id")
    close.set_defaults(handler=cmd_activation_close)

    list_ = actions.add_parser("list", parents=[state], help="open activations (all with --all)")
    list_.add_argument("--all", action="store_true", help="include closed activations")
    list_.add_argument("--json", action="store_true")
    list_.set_defaults(handler=cmd_activation_list)

    add_sources_commands(commands, state)

    report = commands.add_parser(
        "report", parents=[state], help="the monthly KPI report, to the reports bucket"
    )
    report.add_argument("--month", required=True, type=_month, help="AAAA-MM, e.g. 2026-10")
    report.add_argument("--out", help="also write report.json/csv/html under this folder")
    report.add_argument("--stack", default=os.environ.get("ENTRAIDE_STACK", DEFAULT_STACK))
    report.add_argument("--aws", action="store_true", help="ignore a running local stack")
    report.set_defaults(handler=cmd_report)

    add_privacy_commands(commands, state)

    local = commands.add_parser("local", help="the local stack (moto server + event glue)")
    local_actions = local.add_subparsers(dest="action", required=True)
    run = local_actions.add_parser(
        "run", parents=[state], help="start the whole pipeline on this machine"
    )
    run.add_argument("--template", default="template.yaml")
    run.add_argument("--stack-name", help="default: entraide-local")
    run.add_argument("--region", help="default: eu-west-3")
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    run.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "5000")))
    run.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a template parameter, e.g. OutboxDir=var/outbox (repeatable)",
    )
    run.add_argument(
        "--no-iam",
        action="store_true",
        help="do not check each function's AWS calls against its template policy",
    )
    run.add_argument(
        "--index-lag",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="writes reach global secondary indexes this late, as in AWS (default: 0)",
    )
    run.add_argument(
        "--in-process",
        action="store_true",
        help="run the handlers in the stack's own process, for a debugger (no timeouts)",
    )
    run.set_defaults(handler=cmd_local_run)
    fire = local_actions.add_parser(
        "fire", parents=[state], help="run a scheduled function of the running stack now"
    )
    fire.add_argument("function", help="logical id or folder name, e.g. activate")
    fire.add_argument(
        "--event",
        type=_event_fields,
        default=None,
        help="fields added to the schedule's event, a JSON object, e.g. '{\"collect\": true}'",
    )
    fire.set_defaults(handler=cmd_local_fire)

    add_dlq_commands(commands, state)
    add_effects_commands(commands, state)
    add_editorial_commands(commands, state)
    add_watch_commands(commands, state)
    add_keys_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except (DomainError, CliError) as exc:
        print(f"erreur : {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # a bad --hazard or --departement
        print(f"erreur : {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
