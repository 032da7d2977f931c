"""The monthly report delivered: its three files on S3, a presigned link, the operators' email.

:func:`publish` puts the files under ``reports/YYYY-MM/`` (the same keys on every run: a
re-run replaces them), encrypted (SSE-S3, AES256); :func:`presigned_link` makes the link
that the email sends. The files and the email are rendered by the caller (the web side:
:mod:`entraide.web.report_page`).
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
            params["ContentDisposition"] = f'attachment; filename="shareentraide-{month}.{fmt}"'
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
    link: str
    message_id: str | None


class ComposeReportEmail(Protocol):
    """The operators' email (:func:`entraide.web.report_page.report_email`)."""

    def __call__(
        self, report: MonthlyReport, link: str, to: Sequence[str], *, link_days: int = ...
    ) -> EmailMessage: ...


def deliver(
    report: MonthlyReport,
    files: Mapping[str, str],
    *,
    compose: ComposeReportEmail,
    s3_client: Any,
    bucket: str,
    mailer: Sender | None,
    recipients: Sequence[str],
    link_days: int = LINK_DAYS,
    signing_client: Any | None = None,
) -> Delivery:
    """Publish the three ``files``, sign a link to the HTML page, email it to ``recipients``.

    ``signing_client`` signs the link (default ``s3_client``; see :func:`presigned_link`
    for why a 7-day link wants long-lived credentials). Without ``mailer`` or recipients,
    nothing is sent (``message_id`` is ``None``). A re-run replaces the files and sends
    the email again.
    """
    keys = publish(report.month, files, s3_client, bucket)
    link = presigned_link(signing_client or s3_client, bucket, keys["html"], link_days)
    message_id = None
    if mailer is not None and recipients:
        message = compose(report, link, recipients, link_days=link_days)
        message_id = mailer.send(message)
    return Delivery(keys=keys, link=link, message_id=message_id)
