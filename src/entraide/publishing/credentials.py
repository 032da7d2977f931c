"""A network's credentials from the ``SecretString`` of a Secrets Manager secret (JSON)."""

from __future__ import annotations

import json

from pydantic import BaseModel, ValidationError


def from_secret_json[M: BaseModel](model: type[M], text: str, error: type[ValueError]) -> M:
    """``text`` read as ``model``; ``error`` when it is not one, never quoting a value (a
    validation error would quote the secret)."""
    try:
        return model.model_validate(json.loads(text))
    except (TypeError, ValueError, ValidationError):
        fields = ", ".join(model.model_fields)
        raise error(f"The {model.__name__} secret must be a JSON object with: {fields}.") from None
