"""What every function's settings hold: the table, the stage, the largest body accepted.

Handlers build their settings from ``os.environ``; the domain only ever sees the
validated object.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

if TYPE_CHECKING:
    from entraide.privacy.retention import Retention


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
    # How long personal data is kept (template parameters, stated on the privacy page):
    # after a post ends, and at most for a post still waiting for moderation.
    retention_days: int = Field(default=30, alias="RETENTION_DAYS", ge=7, le=365)
    pending_post_max_days: int = Field(default=14, alias="PENDING_POST_MAX_DAYS", ge=1, le=90)
    # whom people write to about their data (the privacy page, the confirmation page)
    privacy_contact_email: str = Field(
        default="donnees-personnelles@shareentraide.example",
        alias="PRIVACY_CONTACT_EMAIL",
        pattern=r"^[^@\s]+@[^@\s]+$",
    )

    def retention(self) -> Retention:
        from entraide.privacy.retention import Retention

        return Retention.of_days(self.retention_days, self.pending_post_max_days)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        return cls.model_validate(dict(environ))
