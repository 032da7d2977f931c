"""`python -m entraide_local [run] ...` and `python -m entraide_local fire NAME`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .clients import DEFAULT_REGION
from .provision import DEFAULT_STACK_NAME
from .stack import run_from_cli
from .state import LocalStackError, fire_from_state


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m entraide_local", description="Run a SAM template locally on moto."
    )
    commands = parser.add_subparsers(dest="command")
    start = commands.add_parser("run", help="start the local stack (the default)")
    start.add_argument("--template", default="template.yaml")
    start.add_argument("--port", type=int, default=3000, help="API port (0: any free port)")
    start.add_argument("--moto-port", type=int, default=5000, help="moto port (0: any)")
    start.add_argument("--state-dir", default="var")
    start.add_argument("--stack-name", default=DEFAULT_STACK_NAME)
    start.add_argument("--region", default=DEFAULT_REGION)
    start.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a template Parameter (repeatable)",
    )
    fire = commands.add_parser("fire", help="fire a scheduled function of the running stack")
    fire.add_argument("name", help="logical id or code folder name, e.g. activate")
    fire.add_argument("--state-dir", default="var")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0].startswith("-"):
        arguments.insert(0, "run")
    options = _parser().parse_args(arguments)
    if options.command == "fire":
        try:
            outcome = fire_from_state(options.state_dir, options.name)
        except LocalStackError as error:
            print(f"entraide local fire: {error}", file=sys.stderr)
            return 1
        print(json.dumps(outcome, indent=2, ensure_ascii=False))
        return 0
    return run_from_cli(
        options.template,
        port=options.port,
        moto_port=options.moto_port,
        state_dir=options.state_dir,
        stack_name=options.stack_name,
        region=options.region,
        parameters=options.parameter,
    )


if __name__ == "__main__":
    sys.exit(main())
