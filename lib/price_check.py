"""Price check: the cost a price table implies, per domain, against published national figures.

A price table drives every conclusion of the analysis (domain shares, the ranking of
households, who is selected), yet a wrong default price is invisible in the totals. This
check puts two numbers side by side for each domain:

* **cost per client-year**: the priced costs of a domain divided by its client-years, a
  client-year being a person with a cost in that domain in a calendar year (the unit of the
  national statistics it is compared with: CBS counts youth-care and Wmo clients, and
  suspects, as persons per year; the default table prices police registrations once per
  suspect and year, unit ``person_year``, so politie's line is a cost per suspect-year);
* **price per unit**: the price table's price of one source and code (a prison day, ...),
  in euros of the run's price year.

Each is compared with a figure of ``lib/reference_data/national_figures.csv`` (columns
``domain, measure, source, code, value, unit, year, published_figure, publisher, title_or_url,
derivation``), brought to the run's price year with the run's price index. A ratio outside
``BAND`` (below 0.5 or above 2) is flagged; the price step prints every line in its log and
writes ``price_check.csv``.

The national figure is an average over all clients in the country; a municipality, and a
selection of multi-problem households, may differ from it for good reasons. The band is
wide on purpose: it catches a price table that is off by a factor, not one that is 20% off.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lib.dates import day_number, year_of_month
from lib.pricing import PricingError, as_price_index

REFERENCE_DATA = Path(__file__).resolve().parent / "reference_data"
NATIONAL_FIGURES = REFERENCE_DATA / "national_figures.csv"
NATIONAL_COLUMNS = ("domain", "measure", "source", "code", "value", "unit", "year", "published_figure",
                    "publisher", "title_or_url", "derivation")
MEASURES = ("cost_per_client_year", "price_per_unit")
BAND = (0.5, 2.0)
"""A ratio implied / national below the first or above the second number is flagged."""

CHECK_COLUMNS = ["domain", "measure", "source", "code", "unit", "client_years", "cost", "implied", "national",
                 "national_year", "ratio", "flag", "publisher", "title_or_url"]


class ClientYears:
    """Cost and client-years per domain and calendar year, summed over ledger parts.

    The price step hands the ledger over in parts of whole persons (``lib.pricing``), so the
    distinct persons of a domain and year never span two parts and their counts can be added;
    the ledger itself (over a hundred million rows nationally) is never held whole."""

    def __init__(self):
        self._parts: list[pd.DataFrame] = []

    def add(self, part: pd.DataFrame) -> None:
        if not len(part):
            return
        # Domains as their categorical codes (the ledger's domain is categorical): grouping millions
        # of rows on small integers, the names only on the few aggregated rows.
        domain = part["domain"].astype("category")
        frame = pd.DataFrame({"person": part["person"].to_numpy(), "domain": domain.cat.codes.to_numpy(),
                              "year": year_of_month(part["month"].to_numpy()),
                              "cost": part["cost"].to_numpy(dtype=float)})
        # A negative correction can leave a person-year at zero: only a positive cost makes a client.
        per_person = frame.groupby(["domain", "year", "person"], sort=False)["cost"].sum()
        per_person = per_person[per_person > 0].reset_index()
        summary = (per_person.groupby(["domain", "year"], sort=False)
                   .agg(client_years=("person", "size"), cost=("cost", "sum")).reset_index())
        names = np.asarray(domain.cat.categories.astype(str), dtype=object)
        self._parts.append(summary.assign(domain=names[summary["domain"].to_numpy()]))

    def table(self) -> pd.DataFrame:
        """domain, year, client_years, cost (sorted)."""
        if not self._parts:
            return pd.DataFrame({"domain": pd.Series(dtype=str), "year": pd.Series(dtype=np.int32),
                                 "client_years": pd.Series(dtype=np.int64), "cost": pd.Series(dtype=float)})
        return (pd.concat(self._parts, ignore_index=True).groupby(["domain", "year"], as_index=False)
                [["client_years", "cost"]].sum().sort_values(["domain", "year"], ignore_index=True))


def client_years(ledger: pd.DataFrame) -> pd.DataFrame:
    """Cost and client-years per domain and year of a whole ledger (person, month, domain, cost)."""
    tally = ClientYears()
    tally.add(ledger)
    return tally.table()


def load_national_figures(path: Path = NATIONAL_FIGURES) -> pd.DataFrame:
    """The national figures with a value (rows saying 'no source found' keep value NaN)."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise PricingError(f"{path}: national figures cannot be read ({exc})") from None
    missing = [c for c in NATIONAL_COLUMNS if c not in frame.columns]
    if missing:
        raise PricingError(f"{path}: national figures need the columns {', '.join(NATIONAL_COLUMNS)} "
                           f"(missing: {', '.join(missing)})")
    bad = ~frame["measure"].isin(MEASURES)
    if bad.any():
        raise PricingError(f"{path}: measure {frame.loc[bad, 'measure'].iloc[0]!r}; measures are {', '.join(MEASURES)}")
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    frame["year"] = pd.to_numeric(frame["year"], errors="coerce").astype("Int64")
    frame["source"] = frame["source"].str.upper()
    return frame


def _price_in_year(prices: pd.DataFrame, wanted: pd.DataFrame, index: pd.Series, price_year: int,
                   index_hint: str) -> pd.Series:
    """The price of each wanted (source, code) valid on 1 July of the price year (else its latest
    row), in euros of the price year; NaN where the table has no such code."""
    day = day_number(f"{price_year}-07-01")
    rows = wanted[["source", "code"]].reset_index().merge(prices, on=["source", "code"], how="inner")
    rows["valid_now"] = (rows["valid_from"] <= day) & (day <= rows["valid_to"])
    rows = rows.sort_values(["index", "valid_now", "valid_from"]).drop_duplicates("index", keep="last")
    index = as_price_index(index, index_hint)
    value = rows["price"].to_numpy(float) * index.factor(index.for_rows(rows), rows["price_year"].to_numpy(),
                                                         price_year, missing="nan")
    return pd.Series(value, index=rows["index"].to_numpy()).reindex(wanted.index)


def price_check(tally: pd.DataFrame, prices: pd.DataFrame, national: pd.DataFrame, index: pd.Series,
                price_year: int, band: tuple[float, float] = BAND, index_hint: str = "") -> pd.DataFrame:
    """One line per national figure, and per priced domain without one (``CHECK_COLUMNS``).

    ``tally`` is ``ClientYears.table()`` (costs in euros of the price year); ``prices`` a
    loaded price table (``lib.pricing.load_price_table``)."""
    totals = tally.groupby("domain")[["client_years", "cost"]].sum()
    totals = totals[totals["client_years"] > 0]
    per_client = national[national["measure"] == "cost_per_client_year"]
    per_unit = national[national["measure"] == "price_per_unit"]

    client = per_client[["domain", "measure", "source", "code", "unit", "value", "year", "publisher",
                         "title_or_url"]].merge(totals, left_on="domain", right_index=True, how="left")
    client["client_years"] = client["client_years"].astype(float)
    client["implied"] = client["cost"] / client["client_years"]
    unit = per_unit[["domain", "measure", "source", "code", "unit", "value", "year", "publisher",
                     "title_or_url"]].copy()
    unit["implied"] = _price_in_year(prices, unit, index, price_year, index_hint)
    # A code the tables price, but in a price year the index lacks, is not "not in the price tables".
    unit["in_table"] = pd.MultiIndex.from_frame(unit[["source", "code"]]).isin(
        pd.MultiIndex.from_frame(prices[["source", "code"]]))
    unit["client_years"], unit["cost"] = np.nan, np.nan
    # Priced domains the national file does not cover are listed too, so the log shows every domain.
    uncovered = totals[~totals.index.isin(national["domain"])].reset_index()
    uncovered["client_years"] = uncovered["client_years"].astype(float)
    uncovered = uncovered.assign(measure="cost_per_client_year", source="", code="", unit="client-year",
                                 value=np.nan, year=pd.array([pd.NA] * len(uncovered), dtype="Int64"),
                                 publisher="", title_or_url="", implied=uncovered["cost"] / uncovered["client_years"])
    # Only non-empty parts, with the same dtypes: an empty part would decide no column's dtype.
    parts = [f for f in (client, unit, uncovered) if len(f)]
    if not parts:
        return pd.DataFrame(columns=CHECK_COLUMNS)
    check = pd.concat(parts, ignore_index=True)

    has_value = check["value"].notna() & check["year"].notna()
    # A national figure of a year the run's index does not cover cannot be brought to the price
    # year; it is reported as such rather than stopping the price step.
    # A national figure is indexed with its domain's series ([prices] domain_index).
    index = as_price_index(index, index_hint)
    series = index.for_domains(check["domain"].to_numpy(dtype=object))
    index.check_names(pd.unique(series), "[prices] domain_index")
    in_index = np.zeros(len(check), dtype=bool)
    for name in pd.unique(series):
        rows = series == name
        in_index[rows] = check.loc[rows, "year"].isin(index.series[name].index.astype(int)).fillna(False).to_numpy(
            dtype=bool)
    no_index = has_value & ~in_index
    has_value &= in_index
    check["national"] = np.nan
    if has_value.any():
        years = check.loc[has_value, "year"].astype(int).to_numpy()
        check.loc[has_value, "national"] = (check.loc[has_value, "value"].to_numpy(float)
                                            * index.factor(series[has_value.to_numpy(dtype=bool)], years,
                                                           price_year))
    check["national_year"] = check["year"]
    check["ratio"] = check["implied"] / check["national"]
    low, high = band
    per_unit_row = (check["measure"] == "price_per_unit").to_numpy()
    in_table = check["in_table"].eq(True).to_numpy(dtype=bool) if "in_table" in check else np.zeros(len(check), bool)
    check["flag"] = np.select(
        [check["implied"].isna() & per_unit_row & in_table, check["implied"].isna() & per_unit_row,
         check["implied"].isna(), no_index, check["national"].isna(), check["ratio"] < low, check["ratio"] > high],
        ["price year not in the price index", "code not in the price tables", "no cost in this run",
         "year of the national figure not in the price index", "no national figure", f"below {low:g}",
         f"above {high:g}"], "")
    return check[CHECK_COLUMNS].sort_values(["domain", "measure", "source", "code"], ignore_index=True)


def check_lines(check: pd.DataFrame, price_year: int, band: tuple[float, float] = BAND) -> tuple[list[str], list[str]]:
    """(lines for the log, warnings) of a ``price_check`` table."""
    def euros(x):
        return "-" if pd.isna(x) else f"{x:,.0f}"

    lines = [f"price check (EUR of {price_year}; implied / national, flagged outside {band[0]:g}-{band[1]:g}):"]
    warnings = []
    for r in check.itertuples(index=False):
        what = "per client-year" if r.measure == "cost_per_client_year" else f"per {r.unit} {r.source} {r.code}"
        ratio = "-" if pd.isna(r.ratio) else f"{r.ratio:.2f}"
        lines.append(f"  {r.domain:<18} {what:<34} implied {euros(r.implied):>9}  national {euros(r.national):>9}  "
                     f"ratio {ratio:>5}  {r.flag}")
        if r.flag.startswith(("below", "above")):
            warnings.append(f"WARNING price check: {r.domain} {what}: EUR {euros(r.implied)} against the national "
                            f"EUR {euros(r.national)} (ratio {ratio}, {r.flag}); check the price table "
                            "(price_check.csv)")
    return lines, warnings
