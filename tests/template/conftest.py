"""Fixtures of the template's tests: template.yaml as written, and as CloudFormation sees it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from entraide_local.template import parse_yaml
from entraide_local.transform import transform_template

TEMPLATE = Path(__file__).parents[2] / "template.yaml"


@pytest.fixture(scope="session")
def sam_document() -> dict[str, Any]:
    """template.yaml parsed (long-form intrinsics); tests copy it before changing it."""
    return parse_yaml(TEMPLATE.read_text(encoding="utf-8"), str(TEMPLATE))


@pytest.fixture(scope="session")
def transformed() -> dict[str, Any]:
    """What CloudFormation deploys: template.yaml through SAM's transform (offline)."""
    return transform_template(TEMPLATE)
