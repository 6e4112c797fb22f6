"""True costs of the synthetic records, priced with the bundle's default price tables.

This is the generator's own, deliberately plain implementation of the pricing rules,
kept apart from the pipeline's pricing so that tests can compare two independent
computations:

* a spell priced per **day** costs the price times the days of the spell in the month;
* a spell priced per **month** costs the price times the share of the month's days it
  covers (part months pro rata by days);
* a record priced per **case** costs the price once, in the month of its date;
* a record priced per **hour** costs the price times its hours, in the month of its date;
* a judge's supervision (``JUSTITIEZAKENBUS`` ``TOEZICHT``) is not costed on the days a
  youth-probation spell (``JGDRECLASBUS``) of the same person runs (youth probation costs them);
* a record priced per **person_year** costs the price only if it is the person's first record
  of that source in that calendar year (earliest date, then record order), in its month;
  the person's later records of the source and year cost nothing;
* the price is the one valid in the month, and a price of price year P is brought to
  the euros of the record's year Y with the CPI: ``price * CPI[Y] / CPI[P]``.

Only the months of the study period are costed. Costs are *nominal*: euros of the year
they fall in; a run's price year Q follows from ``cost * CPI[Q] / CPI[Y]``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lib.dates import day_number, days_in_month, month_index, month_start, year_of_month

REFERENCE_DATA = Path(__file__).resolve().parents[1] / "reference_data"
DEFAULT_PRICES = REFERENCE_DATA / "prices_default.csv"
DEFAULT_CPI = REFERENCE_DATA / "cpi.csv"

UNIT_FACTORS = ("day", "month", "case", "hour", "year", "person_year")


def load_prices(path: Path = DEFAULT_PRICES) -> pd.DataFrame:
    prices = pd.read_csv(path, dtype={"code": str, "source": str, "domain": str}, encoding="utf-8")
    prices["valid_from"] = [day_number(v) for v in prices["valid_from"]]
    prices["valid_to"] = [day_number(v) for v in prices["valid_to"]]
    return prices


def load_cpi(path: Path = DEFAULT_CPI) -> pd.Series:
    cpi = pd.read_csv(path, encoding="utf-8")
    return cpi.set_index("year")["index"].astype(float)


class TruthPricer:
    """Prices priced records month by month within one study period."""

    def __init__(self, period_start: int, period_end: int, prices: pd.DataFrame | None = None,
                 cpi: pd.Series | None = None):
        self.period_start, self.period_end = period_start, period_end
        self.prices = load_prices() if prices is None else prices
        self.cpi = load_cpi() if cpi is None else cpi
        self._build_month_table()

    def _build_month_table(self) -> None:
        p = self.prices
        first_m, last_m = int(month_index(self.period_start)), int(month_index(self.period_end))
        months = np.arange(first_m, last_m + 1)
        rows = np.repeat(np.arange(len(p)), months.size)
        month = np.tile(months, len(p))
        mstart = month_start(month)
        valid = (p["valid_from"].to_numpy()[rows] <= mstart) & (mstart <= p["valid_to"].to_numpy()[rows])
        rows, month = rows[valid], month[valid]
        self.keys = pd.Series(p["source"].to_numpy()[rows] + "|" + p["code"].to_numpy()[rows])
        key_codes = pd.Categorical(self.keys)
        self.key_categories = key_codes.categories
        combined = key_codes.codes.astype(np.int64) * 100_000 + month
        order = np.argsort(combined, kind="stable")
        if np.any(np.diff(combined[order]) == 0):
            raise ValueError("price table has overlapping validity periods for one code")
        self.month_keys = combined[order]
        record_year = year_of_month(month[order])
        price_year = p["price_year"].to_numpy()[rows[order]]
        cpi_ratio = (self.cpi.reindex(record_year).to_numpy() / self.cpi.reindex(price_year).to_numpy())
        self.month_price = p["price"].to_numpy(dtype=float)[rows[order]] * cpi_ratio
        self.month_unit = p["unit"].to_numpy()[rows[order]]
        self.month_domain = p["domain"].to_numpy()[rows[order]]

    def price(self, records: pd.DataFrame) -> pd.DataFrame:
        """Month costs of ``records`` (person, source, code, start, end, units).

        Returns one row per record and month with a cost: record (row position in
        ``records``), person, source, code, domain, month, year, cost (nominal euros).
        """
        if records.empty:
            return pd.DataFrame(columns=["record", "person", "source", "code", "domain", "month", "year", "cost"])
        start = np.maximum(records["start"].to_numpy(np.int64), self.period_start)
        end = np.minimum(records["end"].to_numpy(np.int64), self.period_end)
        inside = np.flatnonzero(start <= end)
        start, end = start[inside], end[inside]
        first = month_index(start).astype(np.int64)
        n_months = month_index(end).astype(np.int64) - first + 1
        rec = np.repeat(inside, n_months)
        month = np.repeat(first, n_months) + (np.arange(rec.size) - np.repeat(np.cumsum(n_months) - n_months, n_months))
        m_first = month_start(month).astype(np.int64)
        m_last = m_first + days_in_month(month) - 1
        overlap = (np.minimum(np.repeat(end, n_months), m_last) - np.maximum(np.repeat(start, n_months), m_first) + 1)
        overlap = overlap - self._days_under_youth_probation(records, rec, np.maximum(np.repeat(start, n_months), m_first),
                                                             np.minimum(np.repeat(end, n_months), m_last))

        key = records["source"].to_numpy()[rec] + "|" + records["code"].to_numpy()[rec]
        key_code = pd.Categorical(key, categories=self.key_categories).codes.astype(np.int64)
        combined = key_code * 100_000 + month
        pos = np.searchsorted(self.month_keys, combined)
        pos_ok = np.minimum(pos, self.month_keys.size - 1)
        found = (key_code >= 0) & (self.month_keys[pos_ok] == combined)
        if not found.all():
            missing = sorted(set(key[~found]))
            raise ValueError(f"no default price for {missing[:10]}")
        unit = self.month_unit[pos]
        # A record priced per case or hour counts once, in the month of its start.
        first_month = month == np.repeat(first, n_months)
        # Person-year: of the month rows that start a record, the first per person, source and year.
        yearly = np.flatnonzero((unit == "person_year") & first_month)
        first_of_year = np.zeros(rec.size, dtype=bool)
        if yearly.size:
            candidates = pd.DataFrame({"row": yearly, "record": rec[yearly],
                                       "person": records["person"].to_numpy()[rec[yearly]],
                                       "source": records["source"].to_numpy()[rec[yearly]],
                                       "year": year_of_month(month[yearly]),
                                       "start": np.repeat(start, n_months)[yearly]})
            chosen = candidates.sort_values(["start", "record"]).drop_duplicates(["person", "source", "year"])
            first_of_year[chosen["row"].to_numpy()] = True
        factor = np.select(
            [unit == "day", unit == "month", unit == "year", unit == "case", unit == "hour", unit == "person_year"],
            [overlap, overlap / days_in_month(month), overlap / days_in_month(month) / 12.0,
             first_month * 1.0, first_month * records["units"].to_numpy(float)[rec], first_of_year * 1.0],
            np.nan)
        cost = factor * self.month_price[pos]
        keep = cost != 0
        return pd.DataFrame({
            "record": rec[keep], "person": records["person"].to_numpy()[rec][keep],
            "source": records["source"].to_numpy()[rec][keep], "code": records["code"].to_numpy()[rec][keep],
            "domain": self.month_domain[pos][keep], "month": month[keep].astype(np.int32),
            "year": year_of_month(month[keep]), "cost": cost[keep],
        })


    def _days_under_youth_probation(self, records: pd.DataFrame, rec: np.ndarray, first_day: np.ndarray,
                                    last_day: np.ndarray) -> np.ndarray:
        """Per month row: the days of a judge's supervision (JUSTITIEZAKENBUS TOEZICHT) on which a
        youth-probation spell (JGDRECLASBUS) of the same person runs; those days are not costed (the
        youth probation costs them). Counted day by day: the (person, day) pairs of both."""
        covered = np.zeros(rec.size, dtype=np.int64)
        source = records["source"].to_numpy()
        supervision = (source[rec] == "JUSTITIEZAKENBUS") & (records["code"].to_numpy()[rec] == "TOEZICHT")
        youth = np.flatnonzero(source == "JGDRECLASBUS")
        if not supervision.any() or not youth.size:
            return covered
        person = records["person"].to_numpy().astype(np.int64)
        y_start = np.maximum(records["start"].to_numpy(np.int64)[youth], self.period_start)
        y_end = np.minimum(records["end"].to_numpy(np.int64)[youth], self.period_end)
        y_len = np.maximum(y_end - y_start + 1, 0)
        y_which = np.repeat(np.arange(youth.size), y_len)
        y_day = y_start[y_which] + (np.arange(y_which.size) - np.repeat(np.cumsum(y_len) - y_len, y_len))
        youth_days = pd.MultiIndex.from_arrays([person[youth][y_which], y_day])
        rows = np.flatnonzero(supervision)
        s_len = last_day[rows] - first_day[rows] + 1
        s_which = np.repeat(np.arange(rows.size), s_len)
        s_day = first_day[rows][s_which] + (np.arange(s_which.size) - np.repeat(np.cumsum(s_len) - s_len, s_len))
        hit = pd.MultiIndex.from_arrays([person[rec[rows]][s_which], s_day]).isin(youth_days)
        covered[rows] = np.bincount(s_which[hit], minlength=rows.size)
        return covered


def spread_amounts(person, start, end, amount, period_start: int, period_end: int) -> pd.DataFrame:
    """Month costs of amounts spread evenly over the whole months of their periods."""
    start = np.asarray(start, np.int64)
    end = np.asarray(end, np.int64)
    first = month_index(start).astype(np.int64)
    n_months = month_index(end).astype(np.int64) - first + 1
    rec = np.repeat(np.arange(start.size), n_months)
    month = np.repeat(first, n_months) + (np.arange(rec.size) - np.repeat(np.cumsum(n_months) - n_months, n_months))
    cost = np.asarray(amount, float)[rec] / n_months[rec]
    inside = (month >= month_index(period_start)) & (month <= month_index(period_end))
    return pd.DataFrame({"record": rec[inside], "person": np.asarray(person)[rec][inside],
                         "month": month[inside].astype(np.int32), "year": year_of_month(month[inside]),
                         "cost": cost[inside]})
