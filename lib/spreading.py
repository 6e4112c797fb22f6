"""Spread an amount over the months of its period (appendix 2 of the method).

An amount over a period given with exact dates is spread in proportion to the days of
the period in each month (``by_months`` false); a period given as months or years is
spread equally over its whole months (``by_months`` true). The month amounts of one
record always add up to its amount.
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
