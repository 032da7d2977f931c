"""``entraide privacy``: personal data, for requests received by letter or phone.

Commands::

    entraide privacy erase --email ADDRESS [--dry-run] [--json]

The erasure is the one a person starts from their "my posts" page
(:class:`entraide.privacy.erasure.Erasure`): their posts withdrawn and taken down from
every channel, their contact items, pseudonymous records and pending notices deleted. What
it prints names posts and counts, never the address.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from entraide.cli_target import DEFAULT_STACK, resolve_target

if TYPE_CHECKING:
    from entraide.privacy.erasure import ErasureReport


def _erasure_lines(report: ErasureReport) -> list[str]:
    """What an erasure did, in French, for the operator's terminal (no address in it)."""
    if report.nothing_found:
        return ["Rien à effacer : aucune donnée n'est liée à cette adresse."]
    return [
        f"Annonces effacées : {len(report.posts)} ({', '.join(report.posts) or '-'})",
        f"  dont retirées à l'instant : {len(report.withdrawn)} "
        f"({', '.join(report.withdrawn) or '-'})",
        f"Publications à supprimer sur X : {len(report.retracted)} "
        f"({', '.join(report.retracted) or '-'})",
        f"Coordonnées, pseudonyme et historique : {report.personal_items} élément(s) supprimé(s)",
        f"Mises en relation : {report.notice_items} élément(s) supprimé(s)",
    ]


def cmd_privacy_erase(args: argparse.Namespace) -> int:
    """Erasure on request received by letter or phone: the same erasure as the person's page."""
    from datetime import UTC, datetime

    from entraide.adapters.queue import Queue
    from entraide.adapters.table import Table
    from entraide.intake.post_store import PostStore
    from entraide.privacy.addresses import normalised_email
    from entraide.privacy.pseudonyms import Pseudonyms, keys_from_secret
    from entraide.privacy.retention import Retention
    from entraide.wiring import erasure

    address = normalised_email(args.email)
    target = resolve_target(args)
    table = Table(target.output("TableName"), client=target.clients("dynamodb"))
    secret = target.clients("ssm").get_parameter(
        Name=target.output("PseudonymKeyParameterName"), WithDecryption=True
    )["Parameter"]["Value"]
    keys = Pseudonyms(lambda: keys_from_secret(secret))
    pseudonyms = keys.candidates(address)
    # The retention periods only date the expiry of items this erasure then deletes.
    posts = PostStore(table, pseudonyms=keys, retention=Retention())
    print(f"→ {target.description}, table {table.table_name}", file=sys.stderr)
    if args.dry_run:
        found = posts.posts_of(pseudonyms)
        print(f"Annonces liées à cette adresse : {len(found)}")
        for post in found:
            print(f"  {post.id}  {post.status.value}  {post.created_at.isoformat()}")
        return 0
    queue = Queue(target.output("RelayQueueUrl"), client=target.clients("sqs"))
    report = erasure(posts, table, queue, now=lambda: datetime.now(UTC)).erase(pseudonyms)
    if args.json:
        print(json.dumps(asdict(report), ensure_ascii=False, indent=2))
    else:
        print("\n".join(_erasure_lines(report)))
    return 0


def add_privacy_commands(commands: Any, state: argparse.ArgumentParser) -> None:
    """The ``privacy`` command and its actions, on the main parser's subcommands."""
    privacy = commands.add_parser("privacy", help="personal data: erasure on request")
    privacy_actions = privacy.add_subparsers(dest="action", required=True)
    erase = privacy_actions.add_parser(
        "erase",
        parents=[state],
        help="erase everything held about an address (a request by letter or phone)",
    )
    erase.add_argument("--email", required=True, help="the person's address")
    erase.add_argument("--dry-run", action="store_true", help="list their posts, erase nothing")
    erase.add_argument("--json", action="store_true")
    erase.add_argument("--stack", default=os.environ.get("ENTRAIDE_STACK", DEFAULT_STACK))
    erase.add_argument("--aws", action="store_true", help="ignore a running local stack")
    erase.set_defaults(handler=cmd_privacy_erase)
