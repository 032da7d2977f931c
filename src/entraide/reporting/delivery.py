"""The monthly report delivered: the operators' email carries it, S3 keeps it as the archive.

:func:`deliver` puts the three files under ``reports/YYYY-MM/`` (:func:`publish`: the same
keys on every run, a re-run replaces them), encrypted (SSE-S3, AES256), then emails the
report itself: the HTML page as the email's body and the CSV attached. No link: a link
presigned by a Lambda role dies with the role's session credentials, within hours,
whatever its ``ExpiresIn`` says; the email needs nothing to stay alive.

:func:`presigned_link` remains for an operator at the command line (``entraide report``),
signed with their own credentials. The files and the email are rendered by the caller (the
web side: :mod:`entraide.web.report_page`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from entraide.reporting.figures import MonthlyReport, month_bounds
from entraide.reporting.formats import FORMAT

if TYPE_CHECKING:
    from entraide.adapters.mail import EmailMessage, Sender

#: SigV4 presigned URLs live 7 days at most.
LINK_DAYS: Final = 7
CONTENT_TYPES: Final = {
    "json": "application/json; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


def report_keys(month: str) -> dict[str, str]:
    """``{"json": "reports/2026-10/report.json", "csv": …, "html": …}``."""
    month_bounds(month)  # refuses anything but YYYY-MM: no odd key
    return {fmt: f"reports/{month}/report.{fmt}" for fmt in CONTENT_TYPES}


def download_name(month: str, fmt: str) -> str:
    """``shareentraide-2026-10.csv``: the name a file of the report is saved under."""
    return f"shareentraide-{month}.{fmt}"


def publish(month: str, files: Mapping[str, str], s3_client: Any, bucket: str) -> dict[str, str]:
    """Put the three files of ``month`` (same keys every run: a re-run replaces them);
    return the keys."""
    keys = report_keys(month)
    for fmt, body in files.items():
        params: dict[str, Any] = {
            "Bucket": bucket,
            "Key": keys[fmt],
            "Body": body.encode("utf-8"),
            "ContentType": CONTENT_TYPES[fmt],
            "ServerSideEncryption": "AES256",
            "CacheControl": "no-store",
            "Metadata": {"month": month, "format": FORMAT},
        }
        if fmt != "html":
            params["ContentDisposition"] = f'attachment; filename="{download_name(month, fmt)}"'
        s3_client.put_object(**params)
    return keys


def presigned_link(s3_client: Any, bucket: str, key: str, days: int = LINK_DAYS) -> str:
    """A GET link to ``key`` valid ``days`` days (1 to 7, SigV4's limit).

    A presigned URL is only valid while the credentials that signed it are: one signed
    with a Lambda role's session credentials stops working when that session ends, well
    before 7 days. Pass a client with long-lived credentials for a 7-day link.
    """
    if not 1 <= days <= LINK_DAYS:
        raise ValueError(f"A presigned link lives 1 to {LINK_DAYS} days.")
    url: str = s3_client.generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": key},
        ExpiresIn=days * 86_400,
    )
    return url


def write_files(month: str, files: Mapping[str, str], directory: Path) -> dict[str, Path]:
    """Write the three files under ``directory`` with the bucket's layout; return the paths."""
    paths: dict[str, Path] = {}
    for fmt, key in report_keys(month).items():
        path = Path(directory) / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[fmt], encoding="utf-8", newline="")
        paths[fmt] = path
    return paths


@dataclass(frozen=True, slots=True)
class Delivery:
    keys: dict[str, str]
    archive: str  # where the files are kept: s3://<bucket>/reports/YYYY-MM/
    message_id: str | None


class ComposeReportEmail(Protocol):
    """The operators' email (:func:`entraide.web.report_page.report_email`)."""

    def __call__(
        self, report: MonthlyReport, files: Mapping[str, str], to: Sequence[str], *, archive: str
    ) -> EmailMessage: ...


def archive_of(bucket: str, month: str) -> str:
    """``s3://<bucket>/reports/YYYY-MM/``: the folder of a month's three files."""
    return f"s3://{bucket}/{report_keys(month)['html'].rpartition('/')[0]}/"


def deliver(
    report: MonthlyReport,
    files: Mapping[str, str],
    *,
    compose: ComposeReportEmail,
    s3_client: Any,
    bucket: str,
    mailer: Sender | None,
    recipients: Sequence[str],
) -> Delivery:
    """Archive the three ``files`` on S3, then email the report itself to ``recipients``.

    Without ``mailer`` or recipients, nothing is sent (``message_id`` is ``None``). A
    re-run replaces the files and sends the email again.
    """
    keys = publish(report.month, files, s3_client, bucket)
    archive = archive_of(bucket, report.month)
    message_id = None
    if mailer is not None and recipients:
        message_id = mailer.send(compose(report, files, recipients, archive=archive))
    return Delivery(keys=keys, archive=archive, message_id=message_id)
