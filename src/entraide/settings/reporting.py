"""Settings of the monthly ``report`` function."""

from __future__ import annotations

from pydantic import Field

from entraide.settings.base import Addresses
from entraide.settings.shared import MailSettings


class ReportSettings(MailSettings):
    """The monthly report: where the files go and who gets the link."""

    reports_bucket: str = Field(alias="REPORTS_BUCKET", min_length=3)
    report_recipients: Addresses = Field(alias="REPORT_RECIPIENTS", min_length=1)
    # the email's footer links to the privacy page, as every email does
    public_base_url: str = Field(alias="PUBLIC_BASE_URL", pattern=r"^https?://")
