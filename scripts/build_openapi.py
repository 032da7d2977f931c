"""Write the API's OpenAPI document, ``src/entraide/web/openapi.json``, from the handlers.

Usage::

    python scripts/build_openapi.py [--out PATH] [--check]

Which functions serve the API comes from ``template.yaml`` (their ``Api`` events); each
handler is imported with the environment the template gives it (resources created in moto,
nothing reaches AWS) and its powertools resolver describes its routes
(:func:`entraide.web.api_doc.openapi_document`). ``--check`` writes nothing and fails when
the committed file differs from what the handlers describe. ``GET /openapi.json`` serves
the committed file.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "src" / "entraide" / "web" / "openapi.json"


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _resolvers() -> list[Any]:
    """The resolver (``app``) of every function with Api events, in the template's order."""
    import boto3
    from moto import mock_aws

    from entraide_local.provision import provision
    from entraide_local.template import ApiEvent

    aws = {
        "AWS_DEFAULT_REGION": "eu-west-3",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }
    resolvers = []
    with _environment(aws), mock_aws():
        deployment = provision(REPO_ROOT / "template.yaml", boto3.Session())
        for function in deployment.functions.values():
            if not function.spec.events_of(ApiEvent):
                continue
            code = REPO_ROOT / "functions" / function.spec.short_name / "app.py"
            spec = importlib.util.spec_from_file_location(f"openapi_{function.logical_id}", code)
            assert spec is not None
            assert spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            with _environment(dict(function.environment)):
                spec.loader.exec_module(module)
            resolvers.append(module.app)
    return resolvers


def build_document() -> str:
    """The document the handlers describe, as committed."""
    from entraide.web.api_doc import openapi_document, render_openapi

    return render_openapi(openapi_document(_resolvers()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="fail if the file is not current")
    args = parser.parse_args(argv)
    out: Path = args.out
    document = build_document()
    if args.check:
        current = out.read_text("utf-8") if out.exists() else ""
        if current != document:
            print(f"{out} is not current: run python scripts/build_openapi.py", file=sys.stderr)
            return 1
        return 0
    out.write_text(document, encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
