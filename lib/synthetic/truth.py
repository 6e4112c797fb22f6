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


# --- The justice registers in the yearly person form ----------------------------------------

YEARLY_JUSTICE_SOURCES = ("VERDTAB", "GEDETINEERDENTAB", "HALTTAB")
DETENTION_DAYS_PER_YEAR = 123.0
"""What a detainee-year counts without days in custody (the bundle's default of [sources]
detention_days_per_year)."""
VERDTAB_CATEGORIES = ("1", "2", "3", "4", "5", "6")
"""VERDTAB's offence categories in the order of the yearly file's count columns."""


DETENTION_SENTENCE_INSTITUTION = {"GEVANGENISSTRAF": "GW", "JEUGDDETENTIE": "JJI"}
"""A court sentence of detention and the GEDETINEERDENTAB institution whose day price its days cost."""


def yearly_justice_month_costs(pricer: TruthPricer, priced: pd.DataFrame, decisions: pd.DataFrame,
                               years: list[int]) -> pd.DataFrame:
    """Month costs (nominal) of VERDTAB, GEDETINEERDENTAB and HALTTAB written as yearly person tables,
    with the case file's sentences of detention:

    * every row of ``yearly_justice_rows``, except the detainee-years that a sentence with days
      covers (a calendar year in which one of the sentence's days inside the study period falls);
    * those sentences, priced as detention spells of their days from the decision date at the day
      price of their institution (``DETENTION_SENTENCE_INSTITUTION``); a sentence covering no
      detainee-year costs nothing (the detention register says who was detained)."""
    rows = yearly_justice_rows(priced, years)
    d = decisions
    jail = ((d["instantie"] == "ZM") & d["sanctie"].isin(list(DETENTION_SENTENCE_INSTITUTION))
            & (d["dagen"] > 0)).to_numpy()
    start = d["day"].to_numpy(np.int64)[jail]
    end = start + d["dagen"].to_numpy(np.int64)[jail] - 1
    first, last = np.maximum(start, pricer.period_start), np.minimum(end, pricer.period_end)
    inside = first <= last
    sentences = pd.DataFrame({"person": d["person"].to_numpy()[jail][inside], "start": start[inside],
                              "end": end[inside], "first_year": year_of_month(month_index(first[inside])),
                              "last_year": year_of_month(month_index(last[inside])),
                              "code": d["sanctie"].to_numpy(dtype=object)[jail][inside]})
    detainee = rows[rows["source"] == "GEDETINEERDENTAB"]
    detainee_years = set(zip(detainee["person"], detainee["year"]))
    covers = [any((p, y) in detainee_years for y in range(a, b + 1))
              for p, a, b in zip(sentences["person"], sentences["first_year"], sentences["last_year"])]
    sentences = sentences[np.asarray(covers, dtype=bool)]
    replaced = {(p, y) for p, a, b in zip(sentences["person"], sentences["first_year"], sentences["last_year"])
                for y in range(a, b + 1)}
    keep = [not (s == "GEDETINEERDENTAB" and (p, y) in replaced)
            for s, p, y in zip(rows["source"], rows["person"], rows["year"])]
    spells = pd.DataFrame({"person": sentences["person"].to_numpy(), "source": "GEDETINEERDENTAB",
                           "code": sentences["code"].map(DETENTION_SENTENCE_INSTITUTION).to_numpy(dtype=object),
                           "start": sentences["start"].to_numpy(), "end": sentences["end"].to_numpy(), "units": 1.0})
    return pd.concat([price_yearly_rows(pricer, rows[np.asarray(keep, dtype=bool)]), pricer.price(spells)],
                     ignore_index=True)


def yearly_justice_rows(priced: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """What the yearly person tables of VERDTAB, GEDETINEERDENTAB and HALTTAB say of the dated
    records, as the rows to price: person, source, code, year, units, day (the day the cost falls
    on; -1: spread evenly over the year's months).

    * VERDTAB: a suspect-year, priced per person and year by its first offence category (in the
      file's column order) with a registration that year;
    * GEDETINEERDENTAB: a person with a detention spell overlapping the year: code GW, the assumed
      days (``DETENTION_DAYS_PER_YEAR``) at the day price;
    * HALTTAB: per minor and year one row per outcome that occurred (1 positive, 2 negative), on the
      day of the year's first referral."""
    parts = []
    verd = priced[priced["source"] == "VERDTAB"]
    v_year = year_of_month(month_index(verd["start"].to_numpy(np.int64)))
    v = pd.DataFrame({"person": verd["person"].to_numpy(), "year": v_year,
                      "rank": pd.Index(VERDTAB_CATEGORIES).get_indexer(verd["code"].to_numpy(dtype=object))})
    v = v[np.isin(v["year"], years)].sort_values(["person", "year", "rank"]).drop_duplicates(["person", "year"])
    parts.append(pd.DataFrame({"person": v["person"].to_numpy(), "source": "VERDTAB",
                               "code": np.asarray(VERDTAB_CATEGORIES, dtype=object)[v["rank"].to_numpy()],
                               "year": v["year"].to_numpy(), "units": 1.0, "day": -1}))
    det = priced[priced["source"] == "GEDETINEERDENTAB"]
    for year in years:
        y0, y1 = day_number(f"{year}-01-01"), day_number(f"{year}-12-31")
        people = np.unique(det["person"].to_numpy()[(det["start"].to_numpy() <= y1) & (det["end"].to_numpy() >= y0)])
        parts.append(pd.DataFrame({"person": people, "source": "GEDETINEERDENTAB", "code": "GW", "year": year,
                                   "units": DETENTION_DAYS_PER_YEAR, "day": -1}))
    halt = priced[priced["source"] == "HALTTAB"]
    h = pd.DataFrame({"person": halt["person"].to_numpy(), "day": halt["start"].to_numpy(np.int64),
                      "code": halt["code"].to_numpy(dtype=object)})
    h["year"] = year_of_month(month_index(h["day"].to_numpy()))
    h = h[np.isin(h["year"], years)]
    first = h.groupby(["person", "year"])["day"].min().rename("first").reset_index()
    outcomes = h[["person", "year", "code"]].drop_duplicates().merge(first, on=["person", "year"])
    parts.append(pd.DataFrame({"person": outcomes["person"].to_numpy(), "source": "HALTTAB",
                               "code": outcomes["code"].to_numpy(dtype=object), "year": outcomes["year"].to_numpy(),
                               "units": 1.0, "day": outcomes["first"].to_numpy()}))
    return pd.concat(parts, ignore_index=True)


def price_yearly_rows(pricer: TruthPricer, rows: pd.DataFrame) -> pd.DataFrame:
    """Month costs (person, source, code, domain, month, year, cost; nominal) of ``yearly_justice_rows``:
    the price valid on the row's day (January 1 where it has none) times its units (days per day,
    counts per case; 1 per person_year), in the month of its day, or a twelfth in each month of its year."""
    if rows.empty:
        return pd.DataFrame(columns=["record", "person", "source", "code", "domain", "month", "year", "cost"])
    year = rows["year"].to_numpy(np.int64)
    jan1 = np.array([day_number(f"{y}-01-01") for y in year], dtype=np.int64)
    day = rows["day"].to_numpy(np.int64)
    start_month = month_index(np.where(day >= 0, day, jan1)).astype(np.int64)
    key = rows["source"].to_numpy(dtype=object) + "|" + rows["code"].to_numpy(dtype=object)
    code = pd.Categorical(key, categories=pricer.key_categories).codes.astype(np.int64)
    pos = np.searchsorted(pricer.month_keys, code * 100_000 + start_month)
    if not ((code >= 0) & (pricer.month_keys[np.minimum(pos, pricer.month_keys.size - 1)]
                           == code * 100_000 + start_month)).all():
        raise ValueError("no default price for a yearly justice row")
    unit = pricer.month_unit[pos]
    quantity = np.select([unit == "person_year", unit == "year", unit == "month"], [1.0, 1.0, 12.0],
                         rows["units"].to_numpy(float))
    total = quantity * pricer.month_price[pos]
    n = np.where(day >= 0, 1, 12)
    which = np.repeat(np.arange(len(rows)), n)
    offset = np.arange(which.size) - np.repeat(np.cumsum(n) - n, n)
    month = start_month[which] + offset
    return pd.DataFrame({"record": -1, "person": rows["person"].to_numpy()[which],
                         "source": rows["source"].to_numpy(dtype=object)[which],
                         "code": rows["code"].to_numpy(dtype=object)[which],
                         "domain": pricer.month_domain[pos][which], "month": month.astype(np.int32),
                         "year": year_of_month(month), "cost": (total / n)[which]})
