"""The Lambda layer ships the same pinned dependencies as the development environment, and
the wheel every package of the domain."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            # PEP 503 normalisation: pip freeze writes aws_lambda_powertools, Jinja2
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_layer_requirements_match_the_project_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    declared = _pins(project["dependencies"])
    layer = _pins((ROOT / "src" / "requirements.txt").read_text("utf-8").splitlines())
    # boto3 is provided by the Lambda runtime, so the layer leaves it out
    declared.pop("boto3")
    assert layer == declared


def test_lock_file_pins_every_runtime_dependency_at_the_declared_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    declared = _pins(project["dependencies"])
    locked = _pins((ROOT / "requirements.lock").read_text("utf-8").splitlines())
    assert {name: locked.get(name) for name in declared} == declared


def test_every_package_is_listed_for_the_wheel() -> None:
    # setuptools ships the packages listed, not their subpackages: a room (or the local
    # stack's iam package) left out would be missing from an installed, non-editable package
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    packages = {
        ".".join((name, *init.parent.relative_to(ROOT / folder).parts))
        for name, folder in listed["package-dir"].items()
        for init in (ROOT / folder).rglob("__init__.py")
    }
    assert "entraide_local.iam" in packages
    assert packages <= set(listed["packages"])
