"""AWS list prices in Europe (Paris), eu-west-3, in US dollars: the one table the cost model
(``bench/cost.py``) prices its counted calls with.

Each price names the AWS pricing page it belongs to, read on ``PRICES_DATE``; free tiers
are left out on purpose (a bill at list price says what the platform costs, not what the
free tier hides). Where the page's text gives the figure itself, ``read`` says "page";
where the page renders its regional table in the browser only, the figure is the one the
project holds for eu-west-3, ``read`` says so, and it is to be checked in the AWS Pricing
Calculator before it is quoted outside the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

PRICES_DATE: Final = "2026-12-07"
REGION: Final = "eu-west-3"


@dataclass(frozen=True)
class Price:
    """``usd`` for every ``per`` of ``unit`` of ``service``."""

    service: str
    unit: str
    usd: float
    per: int
    source: str
    read: str  # how the figure was read (see the module documentation)

    @property
    def each(self) -> float:
        return self.usd / self.per


_PAGE = "page"
_TEAM = "held for eu-west-3 (the regional table is rendered in the browser)"
_LAMBDA = "https://aws.amazon.com/lambda/pricing/"
_DYNAMODB = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
_CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/"

PRICES: Final[tuple[Price, ...]] = (
    # "$0.20 per 1M requests" (the same in every commercial region)
    Price("Lambda", "request", 0.20, 1_000_000, _LAMBDA, _PAGE),
    # the template's functions run on arm64 (Globals.Function.Architectures)
    Price("Lambda", "GB-second (arm64)", 0.0000133334, 1, _LAMBDA, _TEAM),
    # on-demand, after the price cut of November 2024 (half the former eu-west-3 figures)
    Price("DynamoDB", "write request unit", 0.7423, 1_000_000, _DYNAMODB, _TEAM),
    Price("DynamoDB", "read request unit", 0.1485, 1_000_000, _DYNAMODB, _TEAM),
    # "$0.10 for every 1,000 emails you send"
    Price("SES", "email", 0.10, 1_000, "https://aws.amazon.com/ses/pricing/", _PAGE),
    # publishes; deliveries to SQS are free
    Price("SNS", "publish request", 0.50, 1_000_000, "https://aws.amazon.com/sns/pricing/", _PAGE),
    # standard queues, each 64 KB chunk of a request is a request
    Price("SQS", "request", 0.40, 1_000_000, "https://aws.amazon.com/sqs/pricing/", _PAGE),
    # REST APIs, first 333 million a month
    Price(
        "API Gateway",
        "REST request",
        3.50,
        1_000_000,
        "https://aws.amazon.com/api-gateway/pricing/",
        _TEAM,
    ),
    # "All custom metrics charges are prorated by the hour": $0.30 a metric-month (730 h)
    Price("CloudWatch", "custom metric-hour", 0.30, 730, _CLOUDWATCH, _PAGE),
    Price("CloudWatch", "alarm-month (standard)", 0.10, 1, _CLOUDWATCH, _PAGE),
    Price("CloudWatch", "PutMetricData request", 0.01, 1_000, _CLOUDWATCH, _PAGE),
    Price("CloudWatch Logs", "GB ingested", 0.53, 1, _CLOUDWATCH, _TEAM),
    Price(
        "X-Ray", "trace recorded", 5.00, 1_000_000, "https://aws.amazon.com/xray/pricing/", _PAGE
    ),
    Price(
        "Secrets Manager",
        "secret-month",
        0.40,
        1,
        "https://aws.amazon.com/secrets-manager/pricing/",
        _PAGE,
    ),
    Price(
        "Secrets Manager",
        "API call",
        0.05,
        10_000,
        "https://aws.amazon.com/secrets-manager/pricing/",
        _PAGE,
    ),
    # standard parameters and their standard throughput: "No additional charge"
    Price(
        "SSM Parameter Store",
        "standard parameter API call",
        0.0,
        10_000,
        "https://aws.amazon.com/systems-manager/pricing/",
        _PAGE,
    ),
    Price("KMS", "request", 0.03, 10_000, "https://aws.amazon.com/kms/pricing/", _PAGE),
    # scheduled rules: "no charge"; DynamoDB Streams reads made by Lambda: free
    Price(
        "EventBridge",
        "scheduled invocation",
        0.0,
        1,
        "https://aws.amazon.com/eventbridge/pricing/",
        _PAGE,
    ),
)


def price_of(service: str, unit: str) -> Price:
    for price in PRICES:
        if (price.service, price.unit) == (service, unit):
            return price
    raise KeyError(f"no list price for {service} / {unit}")
