"""``entraide keys init``: the platform's two keys, put before the first deploy.

Commands::

    entraide keys init [--link-signing-parameter NAME] [--pseudonym-parameter NAME]
                       [--link-signing-from-secret ID] [--pseudonym-from-secret ID]

Puts the SecureString parameters the template names (``LinkSigningKeyParameter``,
``PseudonymKeyParameter``; the same defaults) in the account and region of the AWS
credentials, each only if it does not exist: an existing key is never replaced. Prints
the names, never a value.

A stack that kept its keys in Secrets Manager (before they moved to SSM) passes its two
secrets with ``--…-from-secret``: the parameters then start with the same keys, so that
the links already sent stay valid and the pseudonyms already written are still found
(an erasure on request must find them).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

#: The template's defaults for the two parameters.
DEFAULT_PARAMETERS = {
    "LinkSigningKeyParameter": "/shareentraide/link-signing-key",
    "PseudonymKeyParameter": "/shareentraide/pseudonym-key",
}


def _signing_key(text: str) -> None:
    if len(text.encode("utf-8")) < 32:
        raise ValueError("The link-signing key needs at least 32 bytes.")


def cmd_keys_init(args: argparse.Namespace) -> int:
    import boto3

    from entraide.adapters.keys import put_missing_keys
    from entraide.privacy.pseudonyms import keys_from_secret

    names = {
        "LinkSigningKeyParameter": args.link_signing_parameter,
        "PseudonymKeyParameter": args.pseudonym_parameter,
    }
    initial: dict[str, Callable[[], str]] = {}
    if args.link_signing_from_secret or args.pseudonym_from_secret:
        secrets = boto3.client("secretsmanager", region_name=args.region)

        def from_secret(secret_id: str, check: Callable[[str], object]) -> Callable[[], str]:
            def value() -> str:
                text = str(secrets.get_secret_value(SecretId=secret_id)["SecretString"])
                check(text)  # a value the functions could not read is refused, not put
                return text

            return value

        if args.link_signing_from_secret:
            initial["LinkSigningKeyParameter"] = from_secret(
                args.link_signing_from_secret, _signing_key
            )
        if args.pseudonym_from_secret:
            initial["PseudonymKeyParameter"] = from_secret(
                args.pseudonym_from_secret, keys_from_secret
            )
    put = put_missing_keys(boto3.client("ssm", region_name=args.region), names, initial=initial)
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
    init.add_argument(
        "--link-signing-from-secret",
        metavar="SECRET_ID",
        help="start the link-signing key with this Secrets Manager secret's value",
    )
    init.add_argument(
        "--pseudonym-from-secret",
        metavar="SECRET_ID",
        help='start the pseudonyms\' keys with this secret\'s {"current", "previous"}',
    )
    init.add_argument("--region", default=None, help="default: the AWS configuration's")
    init.set_defaults(handler=cmd_keys_init)
