"""Where the operators' commands act: the running local stack, or a stack in AWS."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_STACK = "shareentraide"


class CliError(Exception):
    """A problem the operator can fix; printed without a traceback."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where the commands act: the stack's outputs and a way to make its boto3 clients."""

    outputs: dict[str, str]
    clients: Callable[[str], Any]
    description: str

    def output(self, name: str) -> str:
        if name not in self.outputs:
            raise CliError(f"{self.description} : pas de sortie {name}.")
        return self.outputs[name]


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """``--table``, ``--stack`` and ``--aws``: where a command acts (:func:`resolve_target`)."""
    parser.add_argument("--table", default=os.environ.get("ENTRAIDE_TABLE"))
    parser.add_argument("--stack", default=os.environ.get("ENTRAIDE_STACK", DEFAULT_STACK))
    parser.add_argument(
        "--aws", action="store_true", help="ignore a running local stack and use AWS"
    )


def local_state(path: Path) -> dict[str, Any] | None:
    """The running local stack's state, or None when none runs (or it is not installed)."""
    try:
        from entraide_local.state import running_state
    except ImportError:  # a deployment without the development tools
        return None
    return running_state(path)


def resolve_target(args: argparse.Namespace) -> Target:
    """``--table`` (AWS), else the running local stack, else the CloudFormation stack."""
    import boto3

    if getattr(args, "table", None):
        return Target({"TableName": args.table}, boto3.client, f"table {args.table} (AWS)")
    state = None if args.aws else local_state(Path(args.state_dir))
    if state is not None:
        session = boto3.session.Session(
            region_name=state["region"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
        )

        def local_client(service: str) -> Any:
            return session.client(service, endpoint_url=state["endpoint_url"])

        outputs = dict(state["outputs"])
        return Target(outputs, local_client, f"pile locale ({state['endpoint_url']})")
    cloudformation = boto3.client("cloudformation")
    try:
        stack = cloudformation.describe_stacks(StackName=args.stack)["Stacks"][0]
    except Exception as exc:  # botocore errors: no credentials, no stack, no network
        raise CliError(
            f"Aucune pile locale en cours et pile AWS « {args.stack} » introuvable ({exc}). "
            "Lancez « make run », ou passez --table / --stack."
        ) from exc
    outputs = {out["OutputKey"]: out["OutputValue"] for out in stack.get("Outputs", [])}
    return Target(outputs, boto3.client, f"pile AWS {args.stack}")


def deployed_alert_sources(args: argparse.Namespace) -> str:
    """The AlertSources of the activate function: the running local stack's, else the
    deployed function's environment (lambda:GetFunctionConfiguration)."""
    state = None if args.aws else local_state(Path(args.state_dir))
    if state is not None:
        return str(state["functions"]["ActivateFunction"]["environment"]["ALERT_SOURCES"])
    import boto3

    try:
        resource = boto3.client("cloudformation").describe_stack_resource(
            StackName=args.stack, LogicalResourceId="ActivateFunction"
        )["StackResourceDetail"]["PhysicalResourceId"]
        configuration = boto3.client("lambda").get_function_configuration(FunctionName=resource)
    except Exception as exc:  # botocore errors: no credentials, no stack, no network
        raise CliError(
            f"Sources déployées introuvables (pile « {args.stack} ») : {exc}. "
            "Passez --sources '[…]'."
        ) from exc
    return str(configuration["Environment"]["Variables"]["ALERT_SOURCES"])
