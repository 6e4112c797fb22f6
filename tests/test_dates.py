import datetime as dt

import numpy as np
import pytest

from lib.dates import (
    add_months,
    day_number,
    days_from_ymd,
    days_in_month,
    month_index,
    month_start,
    ymd_from_days,
    yyyymmdd_int,
    yyyymmdd_text,
)


def python_days(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def test_day_numbers_agree_with_python_datetime_over_a_century():
    rng = np.random.default_rng(0)
    days = rng.integers(python_days(dt.date(1920, 1, 1)), python_days(dt.date(2060, 12, 31)), 5000)
    expected = [dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in days]
    y, m, d = ymd_from_days(days)
    assert list(zip(y.tolist(), m.tolist(), d.tolist())) == [(e.year, e.month, e.day) for e in expected]
    assert (days_from_ymd(y, m, d) == days).all()
    assert yyyymmdd_text(days).tolist() == [e.strftime("%Y%m%d") for e in expected]
    assert yyyymmdd_int(days).tolist() == [int(e.strftime("%Y%m%d")) for e in expected]


def test_month_arithmetic_by_hand():
    jan31_2024 = day_number("2024-01-31")
    # One month after 31 January is the last day of February (leap year 2024: the 29th).
    assert add_months([jan31_2024], [1]).tolist() == [day_number("2024-02-29")]
    assert add_months([day_number("2023-01-31")], [1]).tolist() == [day_number("2023-02-28")]
    assert add_months([day_number("2023-11-15")], [3]).tolist() == [day_number("2024-02-15")]
    m = month_index([day_number("2024-02-10"), day_number("2023-02-10"), day_number("2023-12-31")])
    assert days_in_month(m).tolist() == [29, 28, 31]
    assert month_start(m).tolist() == [day_number("2024-02-01"), day_number("2023-02-01"), day_number("2023-12-01")]


def test_month_starts_and_lengths_agree_with_python_datetime_inside_and_outside_the_lookup_table():
    # Months from 1850 to 2250: the table covers 1900-2200, the rest is converted.
    months = np.arange((1850 - 1970) * 12, (2250 - 1970) * 12)
    firsts = [dt.date(1970 + m // 12, m % 12 + 1, 1) for m in months.tolist()]
    nexts = [dt.date(1970 + (m + 1) // 12, (m + 1) % 12 + 1, 1) for m in months.tolist()]
    for part in (months[months < -840], months[(months >= -840) & (months < 2772)], months[months >= 2772], months):
        expected_first = [python_days(firsts[i]) for i in (part - months[0]).tolist()]
        expected_length = [(nexts[i] - firsts[i]).days for i in (part - months[0]).tolist()]
        assert month_start(part).tolist() == expected_first
        assert days_in_month(part).tolist() == expected_length


@pytest.mark.parametrize("text", ["2023-12-31", "1970-01-01", "2000-02-29"])
def test_day_number_round_trip(text):
    assert yyyymmdd_text([day_number(text)]).tolist() == [text.replace("-", "")]
