"""``entraide sources``: the official alert sources, checked now or as the runs found them.

Commands::

    entraide sources check [--sources JSON] [--at TIME] [--json]
    entraide sources status [--json]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from entraide.cli_target import add_target_arguments, deployed_alert_sources, resolve_target


def cmd_sources_check(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from entraide.activation.alerts.check import check_sources
    from entraide.activation.alerts.sources import build_sources, parse_source_configs
    from entraide.activation.rules import ActivationRules

    text = args.sources if args.sources is not None else deployed_alert_sources(args)
    if args.sources is not None and not text.lstrip().startswith("["):
        text = Path(text).read_text("utf-8")  # a file holding the list
    at = args.at or datetime.now(UTC)
    checks = check_sources(
        build_sources(parse_source_configs(text)),
        at=at,
        rules=ActivationRules.from_environ(os.environ),
    )
    if args.json:
        print(json.dumps([check.to_json() for check in checks], ensure_ascii=False, indent=2))
    else:
        print(f"Sources d'alertes jugées au {at.isoformat(timespec='minutes')} :")
        for check in checks:
            print("\n".join(check.lines()))
        failed = [check.name for check in checks if not check.passed]
        print(f"{len(checks) - len(failed)} source(s) sur {len(checks)} valable(s).")
    return 0 if all(check.passed for check in checks) else 1


def cmd_sources_status(args: argparse.Namespace) -> int:
    from entraide.activation.source_health import SourceHealthStore
    from entraide.adapters.table import Table

    target = resolve_target(args)
    table = Table(target.output("TableName"), client=target.clients("dynamodb"))
    health = SourceHealthStore(table).all()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        key: value.isoformat() if hasattr(value, "isoformat") else value
                        for key, value in vars_of(item).items()
                    }
                    for item in health
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    if not health:
        print("Aucune lecture de source enregistrée.")
    for item in health:
        last_ok = item.last_ok_at.isoformat(timespec="minutes") if item.last_ok_at else "jamais"
        line = f"{item.name}  dernière lecture valable : {last_ok}"
        if item.consecutive_failures:
            line += f"  ÉCHECS D'AFFILÉE : {item.consecutive_failures} ({item.last_error})"
        print(line)
    return 0


def vars_of(item: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(item)


def _moment(text: str) -> Any:
    from datetime import UTC, datetime

    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_sources_commands(commands: Any, state: argparse.ArgumentParser) -> None:
    """The ``sources`` command and its actions, on the main parser's subcommands."""
    sources = commands.add_parser("sources", help="the official alert sources")
    add_target_arguments(sources)
    source_actions = sources.add_subparsers(dest="action", required=True)
    check = source_actions.add_parser(
        "check",
        parents=[state],
        help="read every source now and say whether each counts (exit 1 if one fails)",
    )
    check.add_argument(
        "--sources",
        help="a list in the AlertSources form (JSON, or a file holding it), not the deployed one",
    )
    check.add_argument(
        "--at", type=_moment, help="judge validity and freshness at this time (ISO 8601)"
    )
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler=cmd_sources_check)
    status = source_actions.add_parser(
        "status", parents=[state], help="each source's health, as the activate runs keep it"
    )
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=cmd_sources_status)
