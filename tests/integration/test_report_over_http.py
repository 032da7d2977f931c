"""Issue 7 in the local stack: the monthly report lands in the bucket (the archive) and in
the outbox whole: the page as the email, the CSV attached."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from entraide.cli import main as entraide

from .conftest import RunningStack
from .test_moderation_over_http import body, decide, moderation_links, outbox_mails

pytestmark = pytest.mark.integration

MONTH = datetime.now(UTC).strftime("%Y-%m")


def test_the_report_of_the_month_is_archived_and_emailed_whole(
    local_stack: RunningStack, tmp_path: Path
) -> None:
    # Given an activation and an approved post this month
    state = ["--state-dir", str(local_stack.state_dir)]
    assert entraide(["activation", "open", "-d", "11", "--hazard", "inondation", *state]) == 0
    response = requests.post(
        local_stack.api_url + "offers",
        json={
            "kind": "offer",
            "category": "repas",
            "title": "Repas chauds",
            "description": "Le soir, pour quatre.",
            "postcode": "11000",
            "commune": "Carcassonne",
            "email": "cuisine@example.org",
            "phone": "06 11 22 33 44",
            "consent": True,
        },
        timeout=10,
    )
    post_id = response.json()["id"]
    decide(moderation_links(local_stack, post_id)["approve"])
    local_stack.stack.drain(timeout=15)

    # When the report function runs for this month (as the schedule does for the last one)
    invocation = local_stack.stack.invoke("report", {"month": MONTH})
    assert invocation.ok, invocation.traceback
    keys = invocation.value["keys"]
    bucket = invocation.value["bucket"]

    # Then the three files are in the bucket, with the month's figures and no contact detail
    s3 = local_stack.stack.client("s3")
    document = json.loads(s3.get_object(Bucket=bucket, Key=keys["json"])["Body"].read())
    assert document["month"] == MONTH
    text = json.dumps(document, ensure_ascii=False)
    for private in ("cuisine@example.org", "06 11 22 33 44", "moderation@shareentraide.example"):
        assert private not in text
    html = s3.get_object(Bucket=bucket, Key=keys["html"])["Body"].read().decode()
    assert "<svg" in html
    assert s3.get_object(Bucket=bucket, Key=keys["csv"])["ContentType"].startswith("text/csv")
    # and the operators got the report itself: the page as the email's body, the CSV
    # attached, nothing to click that could die with the function's session credentials
    [mail] = [m for m in outbox_mails(local_stack) if "rapport" in str(m["Subject"]).lower()]
    emailed = body(mail, "html")
    assert emailed.count("<svg") == html.count("<svg") > 0
    assert "X-Amz-Signature" not in emailed + body(mail, "plain")
    [attached] = list(mail.iter_attachments())
    assert attached.get_filename() == f"shareentraide-{MONTH}.csv"
    csv = s3.get_object(Bucket=bucket, Key=keys["csv"])["Body"].read().decode("utf-8")
    assert attached.get_content() == csv
    for private in ("cuisine@example.org", "06 11 22 33 44"):
        assert private not in emailed + body(mail, "plain") + attached.get_content()

    # And the CLI publishes the same keys again and writes the files locally
    assert entraide(["report", "--month", MONTH, "--out", str(tmp_path), *state]) == 0
    assert sorted(p.name for p in tmp_path.rglob("report.*")) == [
        "report.csv",
        "report.html",
        "report.json",
    ]
