"""Calendar arithmetic on integer day numbers, vectorised.

Dates inside the bundle are ``int32`` day numbers (days since 1970-01-01), the
representation of ``numpy.datetime64[D]``. They are compact, sort and subtract as
integers, and convert to and from the ``YYYYMMDD`` text of CBS files without any
Python loop over rows.
"""
from __future__ import annotations

import datetime as _dt

import numpy as np

EPOCH = np.datetime64("1970-01-01", "D")


def day_number(date: _dt.date | str) -> int:
    """Day number of one date (a ``datetime.date`` or ``"YYYY-MM-DD"``)."""
    return int((np.datetime64(date, "D") - EPOCH).astype(np.int64))


def date_of(day: int) -> _dt.date:
    """The ``datetime.date`` of one day number."""
    return (EPOCH + np.timedelta64(int(day), "D")).astype(object)


def days_from_ymd(year, month, day) -> np.ndarray:
    """Day numbers from integer year, month and day arrays (no validation)."""
    year = np.asarray(year, dtype=np.int64)
    month = np.asarray(month, dtype=np.int64)
    months = (year - 1970) * 12 + (month - 1)
    first = months.astype("datetime64[M]").astype("datetime64[D]")
    return ((first - EPOCH).astype(np.int64) + np.asarray(day, dtype=np.int64) - 1).astype(np.int32)


def ymd_from_days(days) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day-of-month arrays of day numbers."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year.astype(np.int32), month.astype(np.int32), day.astype(np.int32)


def yyyymmdd_int(days) -> np.ndarray:
    """Day numbers as integers ``YYYYMMDD`` (e.g. 20230131)."""
    y, m, d = ymd_from_days(days)
    return (y.astype(np.int64) * 10000 + m * 100 + d).astype(np.int32)


def yyyymmdd_text(days) -> np.ndarray:
    """Day numbers as ``YYYYMMDD`` text, the way CBS files store dates."""
    return yyyymmdd_int(days).astype("U8")


def month_index(days) -> np.ndarray:
    """Months since January 1970 of day numbers (0 = 1970-01)."""
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[M]").astype(np.int32)


def _month_starts(month_idx: np.ndarray) -> np.ndarray:
    return (month_idx.astype("datetime64[M]").astype("datetime64[D]") - EPOCH).astype(np.int32)


# First days of the months 1900-01 to 2200-12 (and the month after), looked up instead of
# converted: calendar conversion of datetime64 costs far more than an index, and pricing
# asks for the months of hundreds of millions of ledger rows.
_TABLE_FIRST = (1900 - 1970) * 12
_MONTH_START_TABLE = _month_starts(np.arange(_TABLE_FIRST, (2201 - 1970) * 12 + 1, dtype=np.int64))
_MONTH_LENGTH_TABLE = np.diff(_MONTH_START_TABLE).astype(np.int32)


def _table_positions(month_idx) -> np.ndarray | None:
    """Positions of the months in the tables starting at 1900-01, or None if one is outside them."""
    position = np.asarray(month_idx, dtype=np.int64) - _TABLE_FIRST
    if position.size and (position.min() < 0 or position.max() >= len(_MONTH_LENGTH_TABLE)):
        return None
    return position


def month_start(month_idx) -> np.ndarray:
    """Day number of the first day of each month index."""
    position = _table_positions(month_idx)
    if position is None:
        return _month_starts(np.asarray(month_idx, dtype=np.int64))
    return _MONTH_START_TABLE[position]


def days_in_month(month_idx) -> np.ndarray:
    """Number of days of each month index."""
    position = _table_positions(month_idx)
    if position is None:
        m = np.asarray(month_idx, dtype=np.int64)
        return (_month_starts(m + 1) - _month_starts(m)).astype(np.int32)
    return _MONTH_LENGTH_TABLE[position]


def year_of_month(month_idx) -> np.ndarray:
    """Calendar year of each month index."""
    return (np.asarray(month_idx, dtype=np.int64) // 12 + 1970).astype(np.int32)


def add_months(days, months) -> np.ndarray:
    """Shift day numbers by whole months, clipping the day to the target month's length."""
    y, m, d = ymd_from_days(days)
    target = (y.astype(np.int64) - 1970) * 12 + (m - 1) + np.asarray(months, dtype=np.int64)
    return (month_start(target) + np.minimum(d, days_in_month(target)) - 1).astype(np.int32)
