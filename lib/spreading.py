"""Spread an amount over the months of its period (appendix 2 of the method).

A period that covers whole calendar months (it starts on the first day of a month and
ends on the last day of a month: ``maart 2014``, ``2014``, but also ``20140101`` to
``20141231``) is spread equally over its months (``by_months`` true), as appendix 2 says
for data per month or per year; only a period that starts or ends inside a month is
spread in proportion to its days in each month (``by_months`` false). Which rule a
record follows is decided on its period as delivered (``covers_whole_months``), before
it is clipped to the study period. The month amounts of one record always add up to its
amount.
"""
from __future__ import annotations

import numpy as np

from lib.dates import days_in_month, month_index, month_start


def offsets_in_runs(counts: np.ndarray) -> np.ndarray:
    """0, 1, ..., count - 1 for each run, concatenated: the position of every row of a ragged
    expansion (``np.repeat`` by ``counts``) within its run.

    >>> offsets_in_runs(np.array([2, 0, 3])).tolist()
    [0, 1, 0, 1, 2]
    """
    counts = np.asarray(counts)
    return np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)


def covers_whole_months(start, end) -> np.ndarray:
    """True where the period ``start``..``end`` (day numbers, inclusive) starts on the first day
    of a month and ends on the last day of a month: it covers whole calendar months.

    >>> from lib.dates import day_number as d
    >>> covers_whole_months([d("2014-01-01"), d("2014-03-17"), d("2014-03-01")],
    ...                     [d("2014-12-31"), d("2014-06-30"), d("2014-04-15")]).tolist()
    [True, False, False]
    """
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    end_month = month_index(end).astype(np.int64)
    return ((start == month_start(month_index(start)).astype(np.int64))
            & (end == month_start(end_month).astype(np.int64) + days_in_month(end_month) - 1))


def spread_over_months(start, end, amount, by_months) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(record index, month index, amount in that month) for every month a record touches."""
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    amount = np.asarray(amount, dtype=float)
    by_months = np.asarray(by_months, dtype=bool)
    first = month_index(start).astype(np.int64)
    n_months = month_index(end).astype(np.int64) - first + 1
    record = np.repeat(np.arange(start.size), n_months)
    month = first[record] + offsets_in_runs(n_months)
    m_first = month_start(month).astype(np.int64)
    m_last = m_first + days_in_month(month) - 1
    overlap = np.minimum(end[record], m_last) - np.maximum(start[record], m_first) + 1
    total_days = (end - start + 1)[record]
    share = np.where(by_months[record], 1.0 / n_months[record], overlap / total_days)
    return record, month.astype(np.int32), amount[record] * share
