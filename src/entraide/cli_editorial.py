"""``entraide editorial``: the editorial calendar, imported, listed, moved and cancelled.

Commands::

    entraide editorial import FILE [--channels x,bluesky,mastodon] [--mastodon-max 500]
    entraide editorial list [--all] [--json]
    entraide editorial cancel ID
    entraide editorial move ID "2026-12-09 10:00"

An import checks every row before it stores any (:mod:`entraide.editorial.calendar_csv`):
a file with one bad row stores nothing and prints every error with its line. Times are
Paris time, as the operators write them.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from entraide.cli_target import CliError, add_target_arguments, resolve_target

if TYPE_CHECKING:
    from entraide.editorial.calendar import EditorialItem
    from entraide.editorial.calendar_store import EditorialStore


def _store(args: argparse.Namespace) -> EditorialStore:
    from entraide.adapters.table import Table
    from entraide.editorial.calendar_store import EditorialStore

    target = resolve_target(args)
    table = target.output("TableName")
    print(f"→ {target.description}, table {table}", file=sys.stderr)
    return EditorialStore(Table(table, client=target.clients("dynamodb")))


def _paris_time(moment: datetime) -> str:
    from entraide.editorial.calendar import paris

    return moment.astimezone(paris()).strftime("%Y-%m-%d %H:%M")


def _line(item: EditorialItem) -> str:
    sent = ",".join(sorted(item.sent)) or "-"
    return "  ".join(
        [item.id, _paris_time(item.at), item.state.value, ",".join(item.channels), sent, item.text]
    )


def _json(item: EditorialItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "date": _paris_time(item.at),
        "texte": item.text,
        "lien": item.link,
        "canaux": list(item.channels),
        "theme": item.theme,
        "auteur": item.author,
        "origine": item.origin,
        "etat": item.state.value,
        "envoye": {channel: _paris_time(at) for channel, at in item.sent.items()},
    }


def cmd_editorial_import(args: argparse.Namespace) -> int:
    from entraide.editorial.calendar_csv import CalendarRefused, read_calendar
    from entraide.publishing.channels import parse_channels
    from entraide.publishing.text_rules import BLUESKY_RULE, X_RULE, TextRule, mastodon_rule

    known: dict[str, TextRule] = {
        "x": X_RULE,
        "bluesky": BLUESKY_RULE,
        "mastodon": mastodon_rule(args.mastodon_max),
    }
    rules = {name: known[name] for name in parse_channels(args.channels)}
    try:
        items = read_calendar(Path(args.file).read_bytes(), rules)
    except OSError as exc:
        raise CliError(f"fichier illisible : {exc.strerror}") from exc
    except CalendarRefused as exc:
        print(str(exc), file=sys.stderr)
        return 1
    added = _store(args).add(items, created_at=datetime.now(UTC))
    print(f"{len(added)} élément(s) ajouté(s) au calendrier, {len(items) - len(added)} déjà là.")
    for item in added:
        print(_line(item))
    return 0


def cmd_editorial_list(args: argparse.Namespace) -> int:
    from entraide.editorial.calendar import ItemState

    store = _store(args)
    states = list(ItemState) if args.all else [ItemState.PLANNED, ItemState.MISSED]
    items = sorted((item for state in states for item in store.in_state(state)), key=lambda i: i.at)
    if args.json:
        print(json.dumps([_json(item) for item in items], ensure_ascii=False, indent=2))
    elif not items:
        print("Rien de prévu au calendrier éditorial.")
    else:
        print("id  date (Paris)  état  canaux  envoyé sur  texte")
        for item in items:
            print(_line(item))
    return 0


def cmd_editorial_cancel(args: argparse.Namespace) -> int:
    item = _store(args).cancel(args.id)
    print(f"Annulé : {_line(item)}")
    return 0


def cmd_editorial_move(args: argparse.Namespace) -> int:
    from entraide.editorial.calendar_csv import parse_paris

    try:
        moment = parse_paris(args.date)
    except ValueError as exc:
        raise CliError(
            f"date « {args.date} » invalide (attendu AAAA-MM-JJ HH:MM, heure de Paris)"
        ) from exc
    item = _store(args).move(args.id, moment)
    print(f"Déplacé : {_line(item)}")
    return 0


def add_editorial_commands(commands: Any, state: argparse.ArgumentParser) -> None:
    """The ``editorial`` command and its actions, on the main parser's subcommands."""
    editorial = commands.add_parser("editorial", help="the editorial calendar")
    add_target_arguments(editorial)
    actions = editorial.add_subparsers(dest="action", required=True)

    import_ = actions.add_parser(
        "import", parents=[state], help="add a calendar (CSV, UTF-8, ',' or ';')"
    )
    import_.add_argument("file")
    import_.add_argument(
        "--channels", default="x,bluesky,mastodon", help="the enabled channels (RELAY_CHANNELS)"
    )
    import_.add_argument(
        "--mastodon-max", type=int, default=500, help="the instance's max_characters"
    )
    import_.set_defaults(handler=cmd_editorial_import)

    list_ = actions.add_parser("list", parents=[state], help="planned and missed items")
    list_.add_argument("--all", action="store_true", help="also sent and cancelled items")
    list_.add_argument("--json", action="store_true")
    list_.set_defaults(handler=cmd_editorial_list)

    cancel = actions.add_parser("cancel", parents=[state], help="cancel a planned item")
    cancel.add_argument("id")
    cancel.set_defaults(handler=cmd_editorial_cancel)

    move = actions.add_parser("move", parents=[state], help="move a planned or missed item")
    move.add_argument("id")
    move.add_argument("date", help="AAAA-MM-JJ HH:MM, Paris time")
    move.set_defaults(handler=cmd_editorial_move)
