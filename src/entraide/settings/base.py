"""What every function's settings hold: the table, the stage, the largest body accepted.

Handlers build their settings from ``os.environ``; the domain only ever sees the
validated object.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _comma_separated(value: Any) -> Any:
    # CloudFormation passes a CommaDelimitedList as "a@x,b@y"
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


#: Addresses of a CommaDelimitedList parameter ("a@x,b@y").
Addresses = Annotated[tuple[str, ...], BeforeValidator(_comma_separated)]
#: A folder that an empty value leaves unset (the local stack's outbox).
OptionalFolder = Annotated[Path | None, BeforeValidator(lambda value: value or None)]


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    stage: str = Field(default="prod", alias="STAGE")
    # API Gateway accepts 10 MB; a post is a few KB, so anything over this is refused (413).
    max_body_bytes: int = Field(default=64 * 1024, alias="MAX_BODY_BYTES", gt=0)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        return cls.model_validate(dict(environ))
