"""``entraide effects``: the effects ledger's subjects an operator looks at, made due again.

Commands::

    entraide effects show SUBJECT [SUBJECT ...]
    entraide effects list [--owner OWNER]
    entraide effects rearm SUBJECT [SUBJECT ...] [--in-doubt]
    entraide effects rearm --all [--owner OWNER] [--in-doubt]

An effect (an email, a publication) that failed every attempt for about a day is *given up*
(alarm ``…-effect-needs-look``, the log line "Effect given up" naming its subject): after
SES paused the account's sending for a day, every email of that day is. ``rearm`` makes
such effects due now with a fresh count of attempts, and the subject's owner sends them
(:meth:`entraide.effects.ledger.Ledger.rearm`); an effect *in doubt* (at most once,
claimed and never completed) only with ``--in-doubt``, once the operator checked that it
did not happen. ``list`` reads the whole table (a Scan: the one way to find them without
an index, for an operator's look only).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from entraide.cli_target import CliError, add_target_arguments, resolve_target
from entraide.kernel.times import utcnow

if TYPE_CHECKING:
    from entraide.effects.ledger import Ledger, Rearmed
    from entraide.effects.model import Record

#: How an owner finds a subject it never lists in the sweep's index, once made due again.
UNLISTED_TAKEN_UP = (
    "avis de mise en relation : au passage horaire de geomatch ; publication : au prochain "
    "message du relais sur ce sujet (`entraide dlq redrive relay` s'il est dans la file "
    "d'échec)"
)


def _ledger(args: argparse.Namespace) -> Ledger:
    from entraide.adapters.table import Table
    from entraide.effects.ledger import Ledger
    from entraide.effects.ledger_store import DynamoDBLedgerStore

    target = resolve_target(args)
    table = target.output("TableName")
    print(f"→ {target.description}, table {table}", file=sys.stderr)
    store = DynamoDBLedgerStore(Table(table, client=target.clients("dynamodb")))
    return Ledger(store, clock=lambda: utcnow())  # read at each call: tests set the clock


def _progress(read: int) -> None:
    print(f"… {read} élément(s) lu(s)", file=sys.stderr)


def _needing_look(ledger: Ledger, owner: str | None, in_doubt: bool) -> list[Record]:
    """The subjects with an effect given up (or in doubt), a Scan of the whole table."""
    return sorted(
        (
            record
            for record in ledger.store.every(read=_progress)
            if (owner is None or record.owner == owner) and record.needing_look(in_doubt=in_doubt)
        ),
        key=lambda record: record.key,
    )


def cmd_effects_show(args: argparse.Namespace) -> int:
    ledger = _ledger(args)
    missing = 0
    for key in args.subjects:
        record = ledger.store.get(key)
        if record is None:
            missing += 1
            print(f"{key} : absent du registre")
        else:
            print(f"[{record.owner}] {record.summary()}")
    return 1 if missing else 0


def cmd_effects_list(args: argparse.Namespace) -> int:
    records = _needing_look(_ledger(args), args.owner, in_doubt=True)
    for record in records:
        print(f"[{record.owner}] {record.summary()}")
    print(f"{len(records)} sujet(s) avec un effet abandonné ou en doute")
    return 0


def _told(key: str, rearmed: Rearmed | None) -> str:
    if rearmed is None:
        return f"{key} : absent du registre"
    record = rearmed.record
    if not rearmed.names:
        return f"{key} : rien à relancer ({record.summary()})"
    names = ", ".join(rearmed.names)
    if record.indexed:
        taken_up = f"{record.owner} le reprend à son prochain passage"
    else:
        taken_up = f"non listé, {record.owner} le reprend en le retrouvant ({UNLISTED_TAKEN_UP})"
    return f"{key} : relancé ({names}) ; {taken_up}"


def cmd_effects_rearm(args: argparse.Namespace) -> int:
    if bool(args.subjects) == args.all:
        raise CliError("donnez les sujets à relancer, ou --all (pas les deux)")
    if args.owner and not args.all:
        raise CliError("--owner ne s'emploie qu'avec --all")
    ledger = _ledger(args)
    keys = args.subjects or [
        record.key for record in _needing_look(ledger, args.owner, args.in_doubt)
    ]
    outcomes = [ledger.rearm(key, in_doubt=args.in_doubt) for key in keys]
    for key, rearmed in zip(keys, outcomes, strict=True):
        print(_told(key, rearmed))
    done = sum(1 for rearmed in outcomes if rearmed is not None and rearmed.names)
    print(f"{done} sujet(s) relancé(s)")
    return 1 if any(rearmed is None for rearmed in outcomes) else 0


def add_effects_commands(commands: Any, state: argparse.ArgumentParser) -> None:
    """The ``effects`` command and its actions, on the main parser's subcommands."""
    effects = commands.add_parser(
        "effects", help="the effects ledger: subjects given up or in doubt, made due again"
    )
    add_target_arguments(effects)
    actions = effects.add_subparsers(dest="action", required=True)

    show = actions.add_parser("show", parents=[state], help="subjects as the ledger holds them")
    show.add_argument("subjects", nargs="+", metavar="SUBJECT")
    show.set_defaults(handler=cmd_effects_show)

    list_ = actions.add_parser(
        "list", parents=[state], help="subjects with an effect given up or in doubt (a Scan)"
    )
    list_.add_argument("--owner", help="only this function's subjects (moderate, geomatch…)")
    list_.set_defaults(handler=cmd_effects_list)

    rearm = actions.add_parser(
        "rearm", parents=[state], help="make given-up effects due again, for their owner"
    )
    rearm.add_argument("subjects", nargs="*", metavar="SUBJECT")
    rearm.add_argument("--all", action="store_true", help="every subject with one given up")
    rearm.add_argument("--owner", help="with --all: only this function's subjects")
    rearm.add_argument(
        "--in-doubt",
        action="store_true",
        help="also effects in doubt, once checked that they did not happen",
    )
    rearm.set_defaults(handler=cmd_effects_rearm)
