"""Settings of the monthly ``report`` function."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from entraide.settings.shared import MailSettings


class ReportSettings(MailSettings):
    """The monthly report: where the files go and who gets the link."""

    reports_bucket: str = Field(alias="REPORTS_BUCKET", min_length=3)
    report_recipients: tuple[str, ...] = Field(alias="REPORT_RECIPIENTS", min_length=1)

    @field_validator("report_recipients", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value
