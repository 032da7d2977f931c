"""The one time helper: machine times as the table keeps them, French times as people read them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from entraide.kernel.times import (
    _paris,
    epoch,
    format_date_fr,
    format_datetime_fr,
    iso,
    month_of,
    parse_iso,
)


def test_given_any_aware_moment_when_written_then_it_is_utc_to_the_second_with_a_z() -> None:
    # Given 11:00:30.5 in Paris (UTC+1 in November)
    moment = datetime(2026, 11, 26, 11, 0, 30, 500_000, tzinfo=timezone(timedelta(hours=1)))
    # When / Then
    assert iso(moment) == "2026-11-26T10:00:30Z"
    assert parse_iso(iso(moment)) == moment.replace(microsecond=0)


def test_given_a_text_without_offset_when_read_then_it_is_utc() -> None:
    assert parse_iso("2026-11-26T10:00:00") == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert parse_iso("2026-11-26T11:00:00+01:00") == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def test_given_a_moment_just_before_midnight_utc_then_its_month_and_epoch_are_utc() -> None:
    # Given 00:30 on 1 December in Paris, still 30 November in UTC
    moment = datetime(2026, 12, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert month_of(moment) == "2026-11"
    assert epoch(moment) == int(datetime(2026, 11, 30, 23, 30, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 11, 26, 12, 0), "26 novembre 2026"),
        (datetime(2026, 12, 1, 12, 0), "1er décembre 2026"),
        (datetime(2027, 2, 14, 12, 0), "14 février 2027"),
        (datetime(2027, 8, 3, 12, 0), "3 août 2027"),
        (date(2026, 10, 1), "1er octobre 2026"),
    ],
)
def test_given_a_date_when_formatted_then_it_reads_in_french(moment: date, expected: str) -> None:
    assert format_date_fr(moment) == expected


def test_given_a_late_utc_time_when_formatted_then_the_paris_day_is_shown() -> None:
    # Given: 23:30 UTC on 25 November is 00:30 on the 26th in Paris
    if _paris() is None:
        pytest.skip("no time zone database")
    moment = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)

    # Then
    assert format_date_fr(moment) == "26 novembre 2026"
    assert format_datetime_fr(moment) == "26 novembre 2026 à 0 h 30"
