"""The report written out: JSON, CSV, HTML with its charts, S3, the presigned link, the email
that carries the report itself.

The seeded month is the one of ``test_kpi`` (every figure asserted there); here the
outputs must carry those figures, stay valid, and never carry personal data.

The presigned link is fetched for real (``requests.get``) from moto's *server*
(``ThreadedMotoServer`` on a free loopback port): moto's in-process mock intercepts
botocore, not ``requests``. The other S3 tests use the in-process mock.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from entraide.adapters.mail import EmailMessage
from entraide.adapters.table import Table
from entraide.reporting.delivery import (
    CONTENT_TYPES,
    deliver,
    presigned_link,
    publish,
    report_keys,
    write_files,
)
from entraide.reporting.figures import MonthData, MonthlyReport
from entraide.reporting.formats import FORMAT, csv_rows, to_csv, to_dict, to_json
from entraide.reporting.kpi import compute_month
from entraide.reporting.month_loader import load_month
from entraide.web.report_page import (
    TAG_MONTHLY_REPORT,
    fr_duration,
    fr_percent,
    render_all,
    report_email,
    to_html,
)
from tests.factories import make_activation
from tests.unit.reporting.test_kpi import GENERATED, MONTH, seed_month

BUCKET = "entraide-reports-test"
ARCHIVE = f"s3://{BUCKET}/reports/2026-10/"
PRIVACY = "https://entraide.example/Prod/donnees-personnelles"


@pytest.fixture
def october(table: Table) -> MonthlyReport:
    seed_month(table)
    return compute_month(MONTH, load_month(table, MONTH, now=GENERATED))


@pytest.fixture
def empty() -> MonthlyReport:
    return compute_month("2026-03", MonthData(month="2026-03", generated_at=GENERATED))


# --- HTML validity -------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip
SVG_VOID = {"rect", "line", "circle", "polyline", "path"}  # self-closed in our SVG


class Checker(HTMLParser):
    """Balanced tags, unique ids, no script, nothing loaded from elsewhere."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if "id" in values and values["id"] is not None:
            self.ids.append(values["id"])
        if tag in ("script", "iframe", "object", "embed", "img"):
            self.errors.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.errors.append(f"event handler {name}")
            if name in ("src", "href", "action", "xlink:href") and value not in (None, "data:,"):
                self.errors.append(f"{name}={value}")
            if name == "style" and value and "url(" in value:
                self.errors.append("url() in a style")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in VOID | SVG_VOID:
            self.errors.append(f"self-closed <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_html(page: str) -> Checker:
    checker = Checker()
    checker.feed(page)
    checker.close()
    assert checker.errors == []
    assert checker.stack == []
    assert checker.doctype.lower() == "doctype html"
    assert len(checker.ids) == len(set(checker.ids)), "duplicate ids"
    assert "url(" not in page.split("<style>")[1].split("</style>")[0]
    assert "@import" not in page
    return checker


def flat(texts: list[str]) -> str:
    """The page's text, ASCII whitespace collapsed (non-breaking spaces kept)."""
    return re.sub(r"[ \t\r\n]+", " ", " ".join(texts))


def svgs(page: str) -> list[ET.Element]:
    found = []
    rest = page
    while "<svg" in rest:
        start = rest.index("<svg")
        end = rest.index("</svg>", start) + len("</svg>")
        found.append(ET.fromstring(rest[start:end]))  # noqa: S314 - our own output
        rest = rest[end:]
    return found


def test_the_html_page_is_valid_french_with_its_two_charts(october: MonthlyReport) -> None:
    page = to_html(october)
    checker = check_html(page)
    assert '<html lang="fr">' in page
    assert "default-src 'none'" in page  # the browser refuses anything external too
    assert checker.tags.count("h1") == 1
    assert checker.tags.count("svg") == 2
    charts = svgs(page)
    assert [chart.get("aria-labelledby") for chart in charts] == [
        "chart-posts-title chart-posts-desc",
        "chart-tweets-title chart-tweets-desc",
    ]
    svg = "{http://www.w3.org/2000/svg}"
    posts_chart, tweets_chart = charts
    day_bars = [r for r in posts_chart.iter(f"{svg}rect") if r.find(f"{svg}title") is not None]
    assert len(day_bars) == 31
    assert day_bars[0].findtext(f"{svg}title") == "1er octobre 2026 : 2 annonces"
    week_bars = [r for r in tweets_chart.iter(f"{svg}rect") if r.find(f"{svg}title") is not None]
    assert len(week_bars) == 5
    assert len(list(tweets_chart.iter(f"{svg}circle"))) == 2  # weeks with an engagement rate

    text = flat(checker.text)
    for expected in (
        "Rapport mensuel – octobre 2026",
        "Période du 1er octobre 2026 au 31 octobre 2026",
        "8 (5 besoins, 3 offres)",
        "Hérault (34)",
        "Nettoyage/déblaiement",
        "75,0\u00a0%",
        "2\u00a0h\u00a000",
        "15\u00a0h\u00a036",
        "12,5\u00a0km",
        "#InondationsAude",
        "28 septembre 2026 à 16 h 00 (mois précédent)",
        "en cours",
        "1,17\u00a0%",
        "interactions ÷ impressions",
        "1\u00a0250",
        "+250 (+25,0\u00a0%)",
        "@compte0",
        "#Entraide : 6 tweets",
        "aucune donnée personnelle",
    ):
        assert expected in text, expected
    assert "Aucune activité ce mois-ci" not in text


def test_an_empty_month_page_says_so(empty: MonthlyReport) -> None:
    page = to_html(empty)
    checker = check_html(page)
    text = flat(checker.text)
    assert "Aucune activité ce mois-ci" in text
    assert "Aucune annonce ce mois-ci" in text  # in the chart
    assert "Aucun tweet ce mois-ci" in text
    assert "Aucune activation ce mois-ci." in text
    assert len(svgs(page)) == 2


def test_operator_text_is_escaped(empty: MonthlyReport) -> None:
    hashtag = '#Tempête<script>alert("x")</script>'
    activation = make_activation(hashtag=hashtag, opened_at=datetime(2026, 3, 2, tzinfo=UTC))
    report = compute_month(
        "2026-03", MonthData(month="2026-03", generated_at=GENERATED, activations=(activation,))
    )
    page = to_html(report)
    checker = check_html(page)  # no <script> element
    assert "<script>" not in page
    assert hashtag in flat(checker.text)  # shown as text


# --- JSON and CSV --------------------------------------------------------------------------


def test_json_holds_every_figure(october: MonthlyReport) -> None:
    data = json.loads(to_json(october))
    assert data == to_dict(october)
    assert data["format"] == FORMAT
    assert data["month"] == "2026-10"
    assert data["period_start"] == "2026-10-01T00:00:00Z"
    assert data["empty"] is False
    assert data["posts"]["total"] == 8
    assert data["posts"]["by_departement"][0] == {"key": "34", "label": "Hérault (34)", "count": 4}
    assert data["moderation"] == {
        "decided": 8,
        "approved": 6,
        "rejected": 2,
        "approval_rate": 0.75,
        "delay_median_seconds": 7200,
        "delay_p90_seconds": 56160,
        "decided_from_earlier_months": 2,
    }
    assert data["matches"] == {"count": 3, "median_distance_km": 12.5}
    assert [a["activation_id"] for a in data["activations"]] == ["A4", "A5", "A0", "A1"]
    assert data["activations"][2]["opened_at"] == "2026-09-28T14:00:00Z"
    assert data["activations"][2]["closed_at"] == "2026-10-04T09:00:00Z"
    assert data["activations"][3]["closed_at"] is None
    assert data["tweets"]["engagement_basis"] == "impressions"
    assert data["tweets"]["metrics_day"] == "2026-11-01"
    assert data["followers"]["top"][0] == {
        "user_id": "1000",
        "username": "compte0",
        "followers_count": 100000,
    }
    assert data["hashtags"][0] == {"tag": "#Entraide", "count": 6}
    assert len(data["posts_per_day"]) == 31
    assert data["posts_per_day"][0] == {"day": "2026-10-01", "count": 2}
    assert data["tweets_per_week"][0]["week"] == "2026-W40"
    assert len(data["notes"]) == len(october.notes)


def test_csv_is_one_row_per_figure_with_french_headers(october: MonthlyReport) -> None:
    text = to_csv(october)
    assert text.startswith("section,indicateur,valeur\r\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "indicateur", "valeur"]
    assert all(len(row) == 3 for row in rows)
    assert [tuple(row) for row in rows[1:]] == csv_rows(october)
    values = {(section, name): value for section, name, value in rows[1:]}
    for key, value in {
        ("Rapport", "Mois"): "2026-10",
        ("Rapport", "Mois sans activité"): "non",
        ("Annonces", "Annonces déposées"): "8",
        ("Annonces par type", "Besoin d'aide"): "5",
        ("Annonces par catégorie", "Garde d'enfants ou d'animaux"): "0",
        ("Annonces par département", "Aude (11)"): "2",
        ("Annonces par statut", "retirée"): "1",
        ("Modération", "Taux d'approbation (%)"): "75",
        ("Modération", "Délai de modération médian (min)"): "120",
        ("Modération", "Délai de modération, 90e centile (min)"): "936",
        ("Mises en relation", "Distance médiane (km)"): "12.5",
        ("Activations", "Activations du mois"): "4",
        ("Activations", "#InondationsAude : jours actifs dans le mois"): "4",
        ("Activations", "#TempeteHerault : fermeture (UTC)"): "",
        ("Tweets", "Tweets récapitulatifs"): "1",
        ("Tweets", "Interactions"): "90",
        ("Tweets", "Impressions"): "7700",
        ("Tweets", "Taux d'engagement (%)"): "1.169",
        ("Tweets", "Base du taux d'engagement"): "impressions",
        ("Abonnés", "Croissance"): "250",
        ("Abonnés", "Croissance (%)"): "25",
        ("Abonnés les plus influents", "1. @compte0"): "100000",
        ("Hashtags les plus utilisés", "#CruesGard"): "1",
        ("Annonces par jour", "2026-10-31"): "1",
        ("Tweets par semaine", "2026-W42 (2026-10-12 – 2026-10-18)"): "3",
        ("Taux d'engagement par semaine (%)", "2026-W41 (2026-10-05 – 2026-10-11)"): "",
    }.items():
        assert values[key] == value, key
    assert sum(1 for section, _, _ in rows[1:] if section == "Annonces par jour") == 31


def test_empty_month_outputs_have_no_number_made_up(empty: MonthlyReport) -> None:
    data = json.loads(to_json(empty))
    assert data["empty"] is True
    assert data["moderation"]["approval_rate"] is None
    assert data["tweets"]["engagement_rate"] is None
    values = {(s, n): v for s, n, v in list(csv.reader(io.StringIO(to_csv(empty))))[1:]}
    assert values[("Rapport", "Mois sans activité")] == "oui"
    assert values[("Modération", "Taux d'approbation (%)")] == ""
    assert values[("Abonnés", "Croissance (%)")] == ""


def test_french_formats() -> None:
    assert fr_percent(0.756) == "75,6\u00a0%"
    assert fr_percent(None) == "—"
    assert fr_duration(None) == "—"
    assert fr_duration(20) == "moins d'une minute"
    assert fr_duration(45 * 60) == "45\u00a0min"
    assert fr_duration(2 * 3600 + 5 * 60) == "2\u00a0h\u00a005"
    assert fr_duration(3 * 86400 + 4 * 3600) == "3\u00a0j\u00a04\u00a0h"


# --- no personal data ----------------------------------------------------------------------

_EXAMPLES = itertools.count(1)
phones = st.one_of(
    st.from_regex(r"0[1-9]( [0-9]{2}){4}", fullmatch=True),
    st.from_regex(r"0[67](\.[0-9]{2}){4}", fullmatch=True),
    st.from_regex(r"\+33 [67]( [0-9]{2}){4}", fullmatch=True),
)


def _copy_of(table: Table, name: str) -> Table:
    """A new, empty table with the schema and indexes of ``table`` (template.yaml's).

    One per example: moto's stream keeps every record, and writes slow down as it grows.
    """
    client = table.client
    spec = client.describe_table(TableName=table.table_name)["Table"]
    client.create_table(
        TableName=name,
        KeySchema=spec["KeySchema"],
        AttributeDefinitions=spec["AttributeDefinitions"],
        GlobalSecondaryIndexes=[
            {
                "IndexName": i["IndexName"],
                "KeySchema": i["KeySchema"],
                "Projection": i["Projection"],
            }
            for i in spec["GlobalSecondaryIndexes"]
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return Table(name, client=client)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(email=st.emails(), phone=phones, moderator=st.emails())
def test_no_personal_data_reaches_any_output(
    table: Table, email: str, phone: str, moderator: str
) -> None:
    copy = _copy_of(table, f"{table.table_name}-{next(_EXAMPLES)}")
    seed_month(
        copy,
        email=email,
        phone=phone,
        moderator=moderator,
        title=f"Contactez-moi : {email} / {phone}",
    )
    report = compute_month(MONTH, load_month(copy, MONTH, now=GENERATED))
    copy.client.delete_table(TableName=copy.table_name)
    mail = email_of(report)
    outputs = {
        "json": to_json(report),
        "csv": to_csv(report),
        "html": to_html(report),
        "mail text": mail.text,
        "mail html": mail.html,
        "subject": mail.subject,
        "attachment": mail.attachments[0].data.decode("utf-8"),
    }
    for private in (email, phone, moderator, "Contactez-moi", "Commune de"):
        forms = {private, escape(private), escape(private, quote=False)}
        forms |= {json.dumps(private)[1:-1]}
        for name, output in outputs.items():
            for form in forms:
                assert form not in output, f"{private!r} in the {name}"
    assert report.posts.total == 8  # the data was really there


# --- S3 ----------------------------------------------------------------------------------------


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-3")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"}
        )
        yield client


def test_report_keys() -> None:
    assert report_keys("2026-10") == {
        "json": "reports/2026-10/report.json",
        "csv": "reports/2026-10/report.csv",
        "html": "reports/2026-10/report.html",
    }
    with pytest.raises(ValueError, match="Mois invalide"):
        report_keys("../2026-10")


def test_publish_puts_three_encrypted_files_and_a_rerun_replaces_them(
    s3: Any, empty: MonthlyReport
) -> None:
    report = replace(empty, month="2026-10", label="octobre 2026")
    keys = publish(report.month, render_all(report), s3, BUCKET)
    assert keys == report_keys("2026-10")
    for fmt, key in keys.items():
        head = s3.head_object(Bucket=BUCKET, Key=key)
        assert head["ContentType"] == CONTENT_TYPES[fmt]
        assert head["ServerSideEncryption"] == "AES256"
    body = s3.get_object(Bucket=BUCKET, Key=keys["json"])["Body"].read().decode("utf-8")
    assert json.loads(body)["generated_at"] == "2026-11-01T06:00:00Z"
    csv_head = s3.head_object(Bucket=BUCKET, Key=keys["csv"])
    assert csv_head["ContentDisposition"] == 'attachment; filename="shareentraide-2026-10.csv"'

    later = replace(report, generated_at=datetime(2026, 11, 3, 9, 0, tzinfo=UTC))
    assert publish(later.month, render_all(later), s3, BUCKET) == keys
    listed = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert sorted(obj["Key"] for obj in listed) == sorted(keys.values())
    body = s3.get_object(Bucket=BUCKET, Key=keys["json"])["Body"].read().decode("utf-8")
    assert json.loads(body)["generated_at"] == "2026-11-03T09:00:00Z"


def test_presigned_link_shape(s3: Any) -> None:
    url = presigned_link(s3, BUCKET, "reports/2026-10/report.html")
    parts = urlparse(url)
    assert parts.scheme == "https"
    assert parts.path.endswith("/reports/2026-10/report.html")
    params = parse_qs(parts.query)
    assert params["X-Amz-Expires"] == ["604800"]
    assert params["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    with pytest.raises(ValueError, match="1 to 7 days"):
        presigned_link(s3, BUCKET, "k", days=8)


def test_the_presigned_link_opens_the_page_from_moto_server(
    monkeypatch: pytest.MonkeyPatch, empty: MonthlyReport
) -> None:
    from botocore.config import Config
    from moto.server import ThreadedMotoServer

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        client = boto3.client(
            "s3",
            region_name="eu-west-3",
            endpoint_url=f"http://{host}:{port}",
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
        )
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"}
        )
        keys = publish(empty.month, render_all(empty), client, BUCKET)
        url = presigned_link(client, BUCKET, keys["html"])
        response = requests.get(url, timeout=10)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert response.content.decode("utf-8") == to_html(empty)
        # without its signature, the same URL is refused
        assert requests.get(url.split("?")[0], timeout=10).status_code == 403
    finally:
        server.stop()


class FakeMailer:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, message: Any) -> str:
        self.sent.append(message)
        return f"0100-{len(self.sent)}"


def email_of(report: MonthlyReport, to: list[str] | None = None) -> EmailMessage:
    """The operators' email as the report function composes it."""
    files = render_all(report)
    archive = f"s3://{BUCKET}/reports/{report.month}/"
    return report_email(
        report, files, to or ["exploitation@shareentraide.fr"], archive=archive, privacy_url=PRIVACY
    )


def test_deliver_archives_the_files_and_emails_the_report_itself(
    s3: Any, empty: MonthlyReport
) -> None:
    # Given the operators' mailer
    mailer = FakeMailer()
    compose = functools.partial(report_email, privacy_url=PRIVACY)
    # When the month is delivered
    delivery = deliver(
        empty,
        render_all(empty),
        compose=compose,
        s3_client=s3,
        bucket=BUCKET,
        mailer=mailer,
        recipients=["ops@shareentraide.fr"],
    )
    # Then the three files are archived on S3, and the email says where
    assert delivery.keys == report_keys("2026-03")
    assert len(s3.list_objects_v2(Bucket=BUCKET)["Contents"]) == 3
    assert delivery.archive == f"s3://{BUCKET}/reports/2026-03/"
    assert delivery.message_id == "0100-1"
    [message] = mailer.sent
    assert message.to == ("ops@shareentraide.fr",)
    assert delivery.archive in message.text
    # and the report travels in it: the page as its HTML, the CSV attached; nothing to
    # click that could die (no presigned link, whose session credentials expire in hours)
    assert message.html.startswith("<!doctype html>")
    assert "Rapport mensuel – mars 2026" in message.html
    [csv_file] = message.attachments
    assert (csv_file.filename, csv_file.content_type) == ("shareentraide-2026-03.csv", "text/csv")
    assert csv_file.data == render_all(empty)["csv"].encode("utf-8")
    assert "X-Amz-" not in message.text + message.html

    quiet = deliver(
        empty,
        render_all(empty),
        compose=compose,
        s3_client=s3,
        bucket=BUCKET,
        mailer=None,
        recipients=[],
    )
    assert quiet.message_id is None
    assert quiet.keys == delivery.keys


def test_write_files_mirrors_the_bucket_layout(tmp_path: Path, empty: MonthlyReport) -> None:
    paths = write_files(empty.month, render_all(empty), tmp_path)
    assert paths == {fmt: tmp_path / key for fmt, key in report_keys("2026-03").items()}
    assert paths["csv"].read_bytes().startswith(b"section,indicateur,valeur\r\n")
    assert json.loads(paths["json"].read_text("utf-8"))["month"] == "2026-03"


# --- the email ---------------------------------------------------------------------------------


def test_the_summary_email(october: MonthlyReport) -> None:
    mail = email_of(october, ["exploitation@shareentraide.fr", "cm@shareentraide.fr"])
    assert mail.to == ("exploitation@shareentraide.fr", "cm@shareentraide.fr")
    assert mail.subject == "[ShareEntraide] Rapport mensuel – octobre 2026"
    assert mail.tag == TAG_MONTHLY_REPORT
    assert mail.links == ()
    assert "Le rapport d'octobre 2026 est prêt." in mail.text
    for line in (
        "- Annonces déposées : 8 (5 besoins, 3 offres)",
        "- Décisions de modération : 8, taux d'approbation 75,0\u00a0%",
        "- Mises en relation : 3",
        "- Activations : 4 (#CruesGard, #Orages13, #InondationsAude, #TempeteHerault)",
        "- Tweets publiés : 6 (3 individuels, 1 récapitulatif, 2 annonces d'activation)",
        "- Engagement : 1,17\u00a0% (interactions ÷ impressions)",
        "- Abonnés : 1\u00a0250 en fin de mois (+250, +25,0\u00a0%)",
        "Le rapport complet, avec ses graphiques, est la version HTML de ce message.",
        "Tous les chiffres sont dans le fichier joint shareentraide-2026-10.csv.",
        f"archivés dans {ARCHIVE}",
        f"Vos données personnelles (ce que nous gardons, combien de temps, comment tout "
        f"effacer) : {PRIVACY}",
    ):
        assert line in mail.text, line
    checker = Checker()
    checker.feed(mail.html)
    assert checker.stack == []
    # the HTML part is the report's page, charts included, its footer linking to the
    # privacy page as every email does
    assert mail.html.count("<svg") == 2
    assert f'href="{PRIVACY}"' in mail.html
    assert PRIVACY not in to_html(october)  # the archived page has no such footer


def test_the_email_of_an_empty_month(empty: MonthlyReport) -> None:
    mail = email_of(empty)
    assert "Le rapport de mars 2026 est prêt." in mail.text
    assert "Aucune activité ce mois-ci" in mail.text
    assert "Aucune activité ce mois-ci" in mail.html


def test_the_email_refuses_a_link_that_is_not_http(empty: MonthlyReport) -> None:
    with pytest.raises(ValueError, match="http"):
        report_email(
            empty,
            render_all(empty),
            ["exploitation@shareentraide.fr"],
            archive=ARCHIVE,
            privacy_url="javascript:alert(1)",
        )


def test_a_report_of_the_month_under_way_is_marked_partial(empty: MonthlyReport) -> None:
    # Given a report of March made on the 15th, and one made after the month
    under_way = compute_month(
        "2026-03",
        MonthData(month="2026-03", generated_at=datetime(2026, 3, 15, 9, 0, tzinfo=UTC)),
    )
    # When they are rendered / Then only the first says its figures are partial
    assert "Chiffres partiels" in to_html(under_way)
    assert "(mois en cours)</h1>" in to_html(under_way)
    assert "Chiffres partiels" not in to_html(empty)


def test_wide_tables_and_charts_scroll_inside_the_page_on_a_phone(october: MonthlyReport) -> None:
    # Given the report page / Then the charts and the widest tables sit in focusable
    # scroll regions, so that the page itself stays as wide as the phone
    page = to_html(october)
    regions = re.findall(
        r'<div class="scroll" role="region" aria-label="([^"]+)" tabindex="0">', page
    )
    assert regions == [
        "Graphique : annonces déposées par jour",
        "Activations ouvertes à un moment du mois",
        "Graphique : tweets et interactions par semaine",
        "Par semaine",
        "Publications par canal",
    ]
