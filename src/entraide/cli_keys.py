"""``entraide keys init``: the platform's two keys, put before the first deploy.

Commands::

    entraide keys init [--link-signing-parameter NAME] [--pseudonym-parameter NAME]

Puts the SecureString parameters the template names (``LinkSigningKeyParameter``,
``PseudonymKeyParameter``; the same defaults) in the account and region of the AWS
credentials, each only if it does not exist: an existing key is never replaced. Prints
the names, never a value.
"""

from __future__ import annotations

import argparse
from typing import Any

#: The template's defaults for the two parameters.
DEFAULT_PARAMETERS = {
    "LinkSigningKeyParameter": "/shareentraide/link-signing-key",
    "PseudonymKeyParameter": "/shareentraide/pseudonym-key",
}


def cmd_keys_init(args: argparse.Namespace) -> int:
    import boto3

    from entraide.adapters.keys import put_missing_keys

    names = {
        "LinkSigningKeyParameter": args.link_signing_parameter,
        "PseudonymKeyParameter": args.pseudonym_parameter,
    }
    put = put_missing_keys(boto3.client("ssm", region_name=args.region), names)
    for name, created in put.items():
        print(f"{name} : {'créée' if created else 'existe déjà, gardée telle quelle'}")
    return 0


def add_keys_commands(commands: Any) -> None:
    """The ``keys`` command, on the main parser's subcommands."""
    keys = commands.add_parser("keys", help="the platform's keys (SSM SecureString parameters)")
    actions = keys.add_subparsers(dest="action", required=True)
    init = actions.add_parser("init", help="put the keys that do not exist yet (before deploying)")
    init.add_argument(
        "--link-signing-parameter", default=DEFAULT_PARAMETERS["LinkSigningKeyParameter"]
    )
    init.add_argument("--pseudonym-parameter", default=DEFAULT_PARAMETERS["PseudonymKeyParameter"])
    init.add_argument("--region", default=None, help="default: the AWS configuration's")
    init.set_defaults(handler=cmd_keys_init)
