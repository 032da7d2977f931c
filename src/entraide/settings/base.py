"""What every function's settings hold: the table, the stage, the largest body accepted.

Handlers build their settings from ``os.environ``; the domain only ever sees the
validated object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    stage: str = Field(default="prod", alias="STAGE")
    # API Gateway accepts 10 MB; a post is a few KB, so anything over this is refused (413).
    max_body_bytes: int = Field(default=64 * 1024, alias="MAX_BODY_BYTES", gt=0)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        return cls.model_validate(dict(environ))
