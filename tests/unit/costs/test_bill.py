"""The bill of counted usage: each line is count × list price, the total is their sum."""

from __future__ import annotations

import pytest

from entraide.costs.bill import bill, table, total
from entraide.costs.prices import PRICES, Price, price_of


def test_a_small_counted_sample_is_priced_line_by_line() -> None:
    # Given what ten posts were counted to use: 4 emails and 57 write units a post,
    # 30 Lambda requests and 12 GB-seconds in all
    usage = {
        ("SES", "email"): 40,
        ("DynamoDB", "write request unit"): 570,
        ("Lambda", "request"): 30,
        ("Lambda", "GB-second (arm64)"): 12.0,
    }

    # When it is billed at list prices
    lines = bill(usage)

    # Then each line costs its count times its price per unit, the dearest first
    costs = {(line.service, line.unit): line.cost for line in lines}
    assert costs[("SES", "email")] == pytest.approx(40 * 0.10 / 1_000)
    assert costs[("DynamoDB", "write request unit")] == pytest.approx(570 * 0.7423 / 1_000_000)
    assert costs[("Lambda", "request")] == pytest.approx(30 * 0.20 / 1_000_000)
    assert costs[("Lambda", "GB-second (arm64)")] == pytest.approx(12 * 0.0000133334)
    assert [line.cost for line in lines] == sorted((line.cost for line in lines), reverse=True)
    # and the total is the sum of the lines, shown with every line in the table
    assert total(lines) == pytest.approx(0.004 + 0.000423111 + 0.000006 + 0.000160001)
    printed = table(lines, title="ten posts")
    assert "$0.0040" in printed  # the emails' line
    assert "$0.0046" in printed  # the total


def test_a_unit_without_a_price_is_refused_rather_than_counted_free() -> None:
    # Given a counted unit that the price table does not know
    usage = {("DynamoDB", "replicated write unit"): 5}

    # When it is billed, Then the bill refuses it
    with pytest.raises(KeyError, match="replicated write unit"):
        bill(usage)


def test_every_price_names_its_aws_pricing_page_and_how_it_was_read() -> None:
    # Given the price table, Then every price has a source on aws.amazon.com and a reading
    for price in PRICES:
        assert price.source.startswith("https://aws.amazon.com/"), price
        assert price.read, price
    # and one unit is priced once only
    assert len({(p.service, p.unit) for p in PRICES}) == len(PRICES)


def test_a_custom_metric_costs_its_month_when_emitted_every_hour_of_it() -> None:
    # Given a metric emitted in every hour of a 30-day month, billed hour by hour
    hourly = price_of("CloudWatch", "custom metric-hour")

    # When it is billed for 720 hours, Then it costs 720/730 of $0.30
    [line] = bill({("CloudWatch", "custom metric-hour"): 720}, prices=[hourly])
    assert line.cost == pytest.approx(0.30 * 720 / 730)
    assert isinstance(line.price, Price)
