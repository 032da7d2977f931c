"""The template as CloudFormation sees it: SAM's transform, offline, then cfn-lint.

`cfn-lint template.yaml` reads the SAM template; CloudFormation deploys the output of the
`AWS::Serverless-2016-10-31` transform, which adds resources and references the SAM template
does not show (an `Api` event puts the function's ARN in the API's definition, a function
gets a role, a schedule a rule...). A circular dependency between them passes the first lint
and fails the deploy (cfn-lint E3004 on the output). This module runs aws-sam-translator
offline, as CloudFormation would, and lints what comes out::

    python -m entraide_local.transform template.yaml --out var/template.transformed.json

Offline means: no IAM call for managed policy names (a template that names one by name, not
ARN, fails here; give the ARN), and local folders in `CodeUri`/`ContentUri` rewritten to
`s3://` URIs as `sam package` would (the translator refuses local paths).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .template import parse_yaml

DEFAULT_REGION = "eu-west-3"
# What `sam package` would put there; the bucket never has to exist for the transform.
PACKAGE_BUCKET = "entraide-package"
_CODE_PROPERTIES = ("CodeUri", "ContentUri")


class TransformError(ValueError):
    """SAM refused the template; the message lists what it said."""


def transform_template(
    path: Path | str,
    *,
    region: str = DEFAULT_REGION,
    parameters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The CloudFormation template that SAM's transform makes of the template at `path`."""
    text = Path(path).read_text(encoding="utf-8")
    return transform_document(parse_yaml(text, str(path)), region=region, parameters=parameters)


def transform_document(
    document: Mapping[str, Any],
    *,
    region: str = DEFAULT_REGION,
    parameters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """SAM's transform of a parsed template (long-form intrinsics, as `parse_yaml` gives)."""
    import boto3
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import (
        to_py27_compatible_template,
        undo_mark_unicode_str_in_template,
    )

    sam_template = packaged(copy.deepcopy(dict(document)))
    parameter_values = dict(parameters or {})
    to_py27_compatible_template(sam_template, parameter_values)
    # The session only tells the translator its region (pseudo parameters, partition).
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    try:
        transformed = translator.translate(
            sam_template, parameter_values=parameter_values, get_managed_policy_map=dict
        )
    except InvalidDocumentException as error:
        causes = "; ".join(cause.message for cause in error.causes)
        raise TransformError(f"SAM transform failed: {causes}") from None
    result: dict[str, Any] = undo_mark_unicode_str_in_template(transformed)
    return result


def packaged(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with every local code folder replaced by an `s3://` URI (in place)."""
    sections = [body.get("Properties") or {} for body in (document.get("Resources") or {}).values()]
    sections.extend((document.get("Globals") or {}).values())
    for properties in sections:
        for key in _CODE_PROPERTIES:
            value = properties.get(key)
            if isinstance(value, str) and not value.startswith("s3://"):
                properties[key] = f"s3://{PACKAGE_BUCKET}/{value.strip('/')}"
    return document


def lint(transformed: Mapping[str, Any], *, region: str = DEFAULT_REGION) -> list[Any]:
    """cfn-lint's findings on a transformed template (`cfnlint.rules.Match` objects)."""
    from cfnlint.api import lint as cfn_lint

    return list(cfn_lint(json.dumps(transformed, indent=1), regions=[region]))


def errors_of(matches: Sequence[Any]) -> list[Any]:
    """The findings that fail a deploy: cfn-lint errors (E...), not warnings or notes."""
    return [match for match in matches if str(match.rule.id).startswith("E")]


def describe(match: Any) -> str:
    """One line per finding, named by the resource it is about rather than a JSON line."""
    path = [str(part) for part in getattr(match, "path", ()) or ()]
    where = ".".join(path[:2]) if path[:1] == ["Resources"] else f"line {match.linenumber}"
    return f"{match.rule.id} {where}: {match.message}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m entraide_local.transform",
        description="Transform a SAM template offline and lint what CloudFormation would get.",
    )
    parser.add_argument("template", type=Path, help="the SAM template (template.yaml)")
    parser.add_argument("--out", type=Path, help="write the transformed template there (JSON)")
    parser.add_argument("--region", default=DEFAULT_REGION)
    args = parser.parse_args(argv)
    try:
        transformed = transform_template(args.template, region=args.region)
    except TransformError as error:
        print(f"{args.template}: {error}", file=sys.stderr)
        return 1
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(transformed, indent=1) + "\n", encoding="utf-8")
    matches = lint(transformed, region=args.region)
    for match in matches:
        print(describe(match), file=sys.stderr)
    errors = errors_of(matches)
    resources = len(transformed.get("Resources", {}))
    if errors:
        print(
            f"{args.template}: {len(errors)} error(s) in the transformed template "
            f"({resources} resources)",
            file=sys.stderr,
        )
        return 1
    print(f"{args.template}: transformed template ({resources} resources) lints clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
