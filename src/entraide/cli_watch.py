"""``entraide watch``: the watch's themes, reference accounts and sources.

Commands::

    entraide watch check [--file WATCH.yaml]

``check`` reads the file whole (the repository's ``watch.yaml`` by default) and says what a
collection would do with it, or lists every fault with its line and exits 1.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def cmd_watch_check(args: argparse.Namespace) -> int:
    from entraide.publishing.x_prices import dollars
    from entraide.watch.config import (
        DEFAULT_WATCH_FILE,
        XSearchSource,
        load_watch_file,
    )
    from entraide.watch.x_reads import plan_read, search_query

    path = Path(args.file) if args.file else DEFAULT_WATCH_FILE
    config = load_watch_file(path)  # a WatchConfigError lists the faults and exits 1
    print(f"Fichier de veille valable : {path}")
    print(f"  {len(config.themes)} thème(s) : {', '.join(t.label for t in config.themes)}")
    print(f"  {len(config.references)} compte(s) de référence")
    for source in config.sources:
        print(f"  source {source.id} ({source.kind})")
        if isinstance(source, XSearchSource):
            budget = source.daily_read_budget_millidollars
            plan = plan_read(budget, 0)
            print(f"    requête : {search_query(config.themes_of(source))}")
            print(
                f"    budget de lecture : {dollars(budget):.3f} $ par jour; "
                + (
                    f"première requête : {plan.max_results} posts au plus"
                    if plan
                    else "trop faible pour une requête (10 posts et leurs auteurs)"
                )
            )
    return 0


def add_watch_commands(commands: Any, state: argparse.ArgumentParser) -> None:
    """The ``watch`` command and its actions, on the main parser's subcommands."""
    watch = commands.add_parser("watch", help="the watch: themes, references and sources")
    actions = watch.add_subparsers(dest="action", required=True)
    check = actions.add_parser("check", parents=[state], help="validate the watch's file")
    check.add_argument("--file", help="the watch's YAML file (default: the repository's)")
    check.set_defaults(handler=cmd_watch_check)
