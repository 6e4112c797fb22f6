"""Price every record and build the cost ledger: per person, month, domain and source.

**Price tables** (CSV, ``,`` or ``;``, decimal point or comma, UTF-8 or Windows-1252)
have the columns ``domain, source, code, unit, price, price_year, valid_from, valid_to,
figure_source`` (and optionally ``label``, ``note``). ``unit`` is ``day``, ``month``,
``year``, ``case`` or ``hour``. A later table in ``[prices] price_tables`` replaces the
rows of earlier tables for the same source and code. A fallback table
(``[prices] fallback_tables``) is only consulted where the main tables have no price;
its rows may use ``code = *`` for every code of a source; each use is counted and
reported.

**Rules.** A price valid on a day is the price of that day. A spell priced

* per ``day`` costs the price for every day of the spell;
* per ``month`` costs the price times the share of each month's days the spell covers
  (part months pro rata by days);
* per ``year`` costs a twelfth of the price per month, pro rata by days;
* per ``case`` costs the price once, on its start day;
* per ``hour`` costs the price times its hours, on its start day.

A price of price year P becomes euros of the run's price year Q through the index:
``price * index[Q] / index[P]``. Amounts delivered as amounts (appendix-2 files, yearly
benefit amounts) are spread over their months (``lib.spreading``) and each month's
amount, in euros of its own year Y, becomes euros of Q through ``index[Q] / index[Y]``.

A code or a day without a price is an error that lists every missing source, code and
year with its number of records, never a silent zero.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lib.appendix2 import amount_decimal, decode, parse_amounts
from lib.dates import day_number, days_in_month, month_index, month_start, year_of_month
from lib.errors import UserFacingError
from lib.parallel import map_in_order
from lib.spreading import offsets_in_runs, spread_over_months

UNITS = ("day", "month", "year", "case", "hour")
PRICE_COLUMNS = ("domain", "source", "code", "unit", "price", "price_year", "valid_from", "valid_to", "figure_source")
WILDCARD = "*"


class PricingError(UserFacingError):
    """Prices are missing or a price table is unusable; the message says which and what to do."""


def _read_csv_text(path: Path, what: str) -> pd.DataFrame:
    """A price table or index as text columns; a missing, unreadable or empty file is a PricingError
    that names the file and the setting (``what``)."""
    path = Path(path)
    if not path.is_file():
        raise PricingError(f"{path}: {what} not found{' (it is a folder)' if path.is_dir() else ''}. Check the path "
                           "in the config (relative paths are relative to the config file's folder; write / "
                           "between folders)")
    try:
        text, _ = decode(path)
    except OSError as exc:
        raise PricingError(f"{path}: {what} cannot be read ({exc.strerror or exc})") from None
    first = text.split("\n", 1)[0]
    if not first.strip():
        raise PricingError(f"{path}: {what} is empty or has no header row in its first line")
    sep = ";" if first.count(";") > first.count(",") else ","
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except pd.errors.ParserError as exc:
        raise PricingError(f"{path}: {what} cannot be read as CSV ({str(exc).strip()})") from None
    frame.columns = [c.strip().lower() for c in frame.columns]
    return frame.apply(lambda s: s.str.strip())


def _parse_day(values: pd.Series, path: Path, column: str) -> np.ndarray:
    text = values.str.replace("-", "", regex=False)
    ok = text.str.fullmatch(r"\d{8}")
    if not ok.all():
        bad = values[~ok].iloc[0]
        raise PricingError(f"{path}: {column} {bad!r} is not a date (write YYYY-MM-DD)")
    iso = text.str.slice(0, 4) + "-" + text.str.slice(4, 6) + "-" + text.str.slice(6, 8)
    try:
        return np.array([day_number(v) for v in pd.unique(iso)])[pd.factorize(iso)[0]]
    except ValueError:
        raise PricingError(f"{path}: {column} has a date that does not exist") from None


def load_price_table(path: Path) -> pd.DataFrame:
    """One price table, validated; dates as day numbers, prices as floats."""
    frame = _read_csv_text(path, "price table ([prices] price_tables or fallback_tables)")
    missing = [c for c in PRICE_COLUMNS if c not in frame.columns]
    if missing:
        raise PricingError(f"{path}: a price table needs the columns {', '.join(PRICE_COLUMNS)} "
                           f"(missing: {', '.join(missing)})")
    bad_unit = ~frame["unit"].str.lower().isin(UNITS)
    if bad_unit.any():
        raise PricingError(f"{path}: unit {frame.loc[bad_unit, 'unit'].iloc[0]!r} on line "
                           f"{int(np.flatnonzero(bad_unit)[0]) + 2}; units are {', '.join(UNITS)}")
    price = parse_amounts(frame["price"], amount_decimal(frame["price"]))
    if np.isnan(price).any() or (price < 0).any():
        line = int(np.flatnonzero(np.isnan(price) | (price < 0))[0]) + 2
        raise PricingError(f"{path}: line {line}: price {frame['price'].iloc[line - 2]!r} is not a non-negative number")
    year = pd.to_numeric(frame["price_year"], errors="coerce")
    if year.isna().any():
        raise PricingError(f"{path}: price_year must be a year on every line")
    out = pd.DataFrame({
        "domain": frame["domain"], "source": frame["source"].str.upper(), "code": frame["code"],
        "unit": frame["unit"].str.lower(), "price": price, "price_year": year.astype(int),
        "valid_from": _parse_day(frame["valid_from"], path, "valid_from"),
        "valid_to": _parse_day(frame["valid_to"], path, "valid_to"),
        "figure_source": frame["figure_source"], "label": frame.get("label", ""), "table": str(path)})
    reversed_ = out["valid_to"] < out["valid_from"]
    if reversed_.any():
        raise PricingError(f"{path}: line {int(np.flatnonzero(reversed_)[0]) + 2}: valid_to before valid_from")
    _check_no_overlap(out, path)
    return out


def _check_no_overlap(table: pd.DataFrame, where) -> None:
    t = table.sort_values(["source", "code", "valid_from"])
    same = (t["source"].to_numpy()[1:] == t["source"].to_numpy()[:-1]) & (t["code"].to_numpy()[1:] == t["code"].to_numpy()[:-1])
    overlap = same & (t["valid_from"].to_numpy()[1:] <= t["valid_to"].to_numpy()[:-1])
    if overlap.any():
        row = t.iloc[int(np.flatnonzero(overlap)[0]) + 1]
        raise PricingError(f"{where}: two prices for {row['source']} code {row['code']!r} on the same days "
                           "(validity periods overlap)")


def combine_price_tables(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Later tables replace earlier tables' rows for the same source and code."""
    combined = tables[0]
    for t in tables[1:]:
        keys = pd.MultiIndex.from_frame(t[["source", "code"]])
        old = pd.MultiIndex.from_frame(combined[["source", "code"]])
        combined = pd.concat([combined[~old.isin(keys)], t], ignore_index=True)
    return combined


def load_price_index(path: Path) -> pd.Series:
    frame = _read_csv_text(path, "price index ([prices] index)")
    if not {"year", "index"} <= set(frame.columns):
        raise PricingError(f"{path}: a price index needs the columns year and index")
    index = pd.Series(parse_amounts(frame["index"], amount_decimal(frame["index"])),
                      index=pd.to_numeric(frame["year"], errors="coerce"))
    if index.isna().any() or index.index.isna().any() or (index <= 0).any():
        raise PricingError(f"{path}: every line needs a year and a positive index")
    return index.astype(float).sort_index()


def index_factor(index: pd.Series, from_years, to_year: int, path_hint: str) -> np.ndarray:
    """``index[to_year] / index[from_year]`` for each year; every year must be in the index."""
    from_years = np.asarray(from_years)
    needed = set(np.unique(from_years).tolist()) | {to_year}
    missing = sorted(y for y in needed if y not in index.index)
    if missing:
        raise PricingError(f"the price index {path_hint} has no value for year(s) {missing}; add them")
    return index[to_year] / index.reindex(from_years).to_numpy()


@dataclass
class PricingResult:
    ledger: pd.DataFrame | None
    """person, month, domain, source, cost (euros of the price year); None when the ledger
    went to a ``ledger_sink`` part by part."""
    ledger_rows: int
    ledger_cost_by_domain: pd.Series
    """Total cost per domain of the ledger (euros of the price year)."""
    record_cost: np.ndarray
    """Total cost of each record (0 for records not used), in euros of the price year."""
    report: pd.DataFrame
    """Per source and code: records, records used, cost, and how they were priced."""
    fallback_uses: pd.DataFrame
    excluded: dict[str, int] = field(default_factory=dict)


UNIT_CODE = {u: i for i, u in enumerate(UNITS)}
DAY, MONTH, YEAR, CASE, HOUR = (UNIT_CODE[u] for u in UNITS)


class _Codes:
    """Records' sources, codes and domains as small integers (millions of rows, few values)."""

    def __init__(self, records: pd.DataFrame, tables: list[pd.DataFrame]):
        source = pd.Categorical(records["source"])
        code = pd.Categorical(records["code"].astype(str) if not isinstance(records["code"].dtype, pd.CategoricalDtype)
                              else records["code"])
        self.source, self.source_names = source.codes.astype(np.int64), np.asarray(source.categories, dtype=object)
        self.code, self.code_names = code.codes.astype(np.int64), np.asarray(code.categories.astype(str), dtype=object)
        self.pair = self.source * max(len(self.code_names), 1) + self.code
        # Domains as codes of their distinct texts (a missing or empty domain: -1).
        domain = records["domain"]
        if isinstance(domain.dtype, pd.CategoricalDtype):
            row_domain, distinct = domain.cat.codes.to_numpy(), domain.cat.categories
        else:
            row_domain, distinct = pd.factorize(domain)
        distinct = [str(d) for d in distinct]
        names = set(distinct) | {d for t in tables for d in t["domain"]}
        self.domain_names = np.array(sorted(n for n in names if n), dtype=object)
        lookup = {n: i for i, n in enumerate(self.domain_names)}
        mapped = np.array([lookup.get(c, -1) for c in distinct] + [-1], dtype=np.int64)
        self.record_domain = mapped[row_domain]  # code -1 takes the appended -1

    def pair_names(self, pairs: np.ndarray) -> pd.DataFrame:
        n_codes = max(len(self.code_names), 1)
        return pd.DataFrame({"pair": pairs, "source": self.source_names[pairs // n_codes],
                             "code": self.code_names[pairs % n_codes]})

    def domain_codes(self, domains: pd.Series) -> np.ndarray:
        return pd.Index(self.domain_names).get_indexer(domains.to_numpy(dtype=object))


CHUNK_RECORDS = 500_000


def _person_chunks(person: np.ndarray, chunk_records: int):
    """Record positions in chunks of about ``chunk_records``, never splitting a person."""
    order = np.argsort(person, kind="stable")
    sorted_person = person[order]
    start = 0
    while start < order.size:
        end = min(start + chunk_records, order.size)
        if end < order.size:
            end = int(np.searchsorted(sorted_person, sorted_person[end - 1], side="right"))
        yield np.sort(order[start:end])
        start = end


def price_records(records: pd.DataFrame, prices: pd.DataFrame, index: pd.Series, price_year: int,
                  fallback: pd.DataFrame | None = None, bijstand_from: str = "spells",
                  index_hint: str = "", chunk_records: int = CHUNK_RECORDS, progress=None,
                  ledger_sink=None) -> PricingResult:
    """Price ``records`` (see ``lib.records``) into a person-month ledger.

    ``progress``, when given, is called with the number of records priced so far.
    ``ledger_sink``, when given, receives the ledger part by part (a chunk of whole persons
    at a time, in person order) instead of it being returned whole."""
    n = len(records)
    codes = _Codes(records, [prices] + ([fallback] if fallback is not None else []))
    by_months = (records["spread"] == "months").to_numpy(dtype=bool)
    source = codes.source_names[codes.source]
    code = codes.code_names[codes.code]
    has_amount = ~np.isnan(records["amount"].to_numpy(dtype=float))
    excluded = {}
    # Bijstand from its spells or from the yearly amounts paid, never both.
    if bijstand_from == "spells":
        drop = (source == "UITKERINGBEDRAGTAB") & (code == "BIJSTAND")
        excluded["UITKERINGBEDRAGTAB BIJSTAND amounts (bijstand costed from its spells)"] = int(drop.sum())
    else:
        drop = source == "BIJSTANDUITKERINGTAB"
        excluded["BIJSTANDUITKERINGTAB spells (bijstand costed from the yearly amounts)"] = int(drop.sum())
    use = ~drop

    def price_chunk(chunk: np.ndarray):
        """Month rows of one chunk's records, summed into ledger rows, and each record's cost;
        None for both when a price is missing (then only the missing prices are collected)."""
        parts, fallback_chunk, missing = [], None, None
        amounts = chunk[use[chunk] & has_amount[chunk]]
        if amounts.size:
            parts.append(_amount_months(records, amounts, by_months[amounts], codes, index, price_year, index_hint))
        priced = chunk[use[chunk] & ~has_amount[chunk]]
        if priced.size:
            month_costs, fallback_chunk, missing = _priced_months(records, priced, codes, prices, fallback, index,
                                                                  price_year, index_hint)
            if month_costs is not None:
                parts.append(month_costs)
        if not parts or (missing is not None and len(missing)):
            return None, None, fallback_chunk, missing
        rec = np.concatenate([p[0] for p in parts])
        cost = np.concatenate([p[3] for p in parts])
        # chunk is sorted and holds every rec: sum per record on the chunk's own positions.
        chunk_cost = np.bincount(np.searchsorted(chunk, rec), weights=cost, minlength=chunk.size)
        part = _aggregate(person[rec].astype(np.int64), np.concatenate([p[1] for p in parts]).astype(np.int64),
                          np.concatenate([p[2] for p in parts]), codes.source[rec], cost, codes)
        return chunk_cost, part, fallback_chunk, missing

    # Priced in chunks of whole persons: memory stays bounded by a chunk (the month rows of
    # half a million records), and ledger rows of different chunks never need merging. Two
    # chunks are priced at a time (numpy leaves the interpreter free for most of the work);
    # their ledger rows are handed on in person order.
    person = records["person"].to_numpy()
    record_cost = np.zeros(n)
    ledgers, fallback_parts, missing_parts = [], [], []
    ledger_rows, cost_by_domain = 0, np.zeros(len(codes.domain_names))
    priced_so_far = 0
    for chunk, (chunk_cost, part, fallback_chunk, missing) in map_in_order(
            price_chunk, _person_chunks(person, chunk_records)):
        priced_so_far += chunk.size
        if progress is not None:
            progress(priced_so_far)
        if fallback_chunk is not None:
            fallback_parts.append(fallback_chunk)
        if missing is not None:
            missing_parts.append(missing)
        if part is None or any(len(m) for m in missing_parts):
            continue
        record_cost[chunk] += chunk_cost
        ledger_rows += len(part)
        # Pairwise sums per domain (np.sum), not bincount's running sum: the totals are checked
        # to the cent against the records' costs, over a hundred million rows nationally.
        part_domain, part_cost = part["domain"].cat.codes.to_numpy(), part["cost"].to_numpy()
        for d in np.unique(part_domain):
            cost_by_domain[d] += part_cost[part_domain == d].sum()
        if ledger_sink is not None:
            ledger_sink(part)
        else:
            ledgers.append(part)
    missing = pd.concat(missing_parts, ignore_index=True) if missing_parts else pd.DataFrame()
    if len(missing):
        raise MissingPrices(missing.groupby(["source", "code", "year"], as_index=False)["records"].sum())
    empty = _aggregate(*(np.zeros(0, np.int64) for _ in range(4)), np.zeros(0), codes)
    if ledger_sink is not None:
        if ledger_rows == 0:
            ledger_sink(empty)  # the table exists, with its columns, also when nothing was priced
        ledger = None
    else:
        ledger = pd.concat(ledgers, ignore_index=True) if ledgers else empty
    fallback_uses = (pd.concat([f for f in fallback_parts if len(f)], ignore_index=True)
                     .groupby(["source", "code", "year"], as_index=False)[["records", "cost"]].sum()
                     if any(len(f) for f in fallback_parts) else
                     pd.DataFrame(columns=["source", "code", "year", "records", "cost"]))
    report = (pd.DataFrame({"source": source, "code": code, "used": use, "cost": record_cost,
                            "priced_by": np.where(has_amount, "amount as delivered", "price table")})
              .groupby(["source", "code", "priced_by"], sort=True)
              .agg(records=("used", "size"), records_used=("used", "sum"), cost=("cost", "sum")).reset_index())
    by_domain = pd.Series(cost_by_domain, index=pd.Index(codes.domain_names, name="domain"), name="cost")
    return PricingResult(ledger=ledger, ledger_rows=ledger_rows, ledger_cost_by_domain=by_domain[by_domain != 0],
                         record_cost=record_cost, report=report, fallback_uses=fallback_uses, excluded=excluded)


def _aggregate(person, month, domain, source, cost, codes: _Codes) -> pd.DataFrame:
    """Sum month costs per (person, month, domain, source), through one packed integer key."""
    m0 = int(month.min()) if month.size else 0
    key = (((person << 12 | (month - m0)) << 8 | domain) << 12) | source
    # The month rows come nearly in key order (records by person, months in order): a
    # stable sort (timsort) finds the runs and costs far less than a full sort.
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.ones(key.size, dtype=bool)
    first[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(first)
    unique = key[starts]
    total = np.add.reduceat(cost[order], starts) if key.size else np.zeros(0)
    keep = total != 0
    unique, total = unique[keep], total[keep]
    return pd.DataFrame({
        "person": (unique >> 32).astype(np.int32),
        "month": ((unique >> 20) & 0xFFF).astype(np.int32) + m0,
        "domain": pd.Categorical.from_codes((unique >> 12) & 0xFF, categories=codes.domain_names),
        "source": pd.Categorical.from_codes(unique & 0xFFF, categories=codes.source_names),
        "cost": total})


def _amount_months(records: pd.DataFrame, rows: np.ndarray, by_months: np.ndarray, codes: _Codes, index: pd.Series,
                   price_year: int, index_hint: str):
    rec, month, amount = spread_over_months(records["start"].to_numpy()[rows], records["end"].to_numpy()[rows],
                                            records["amount"].to_numpy(dtype=float)[rows], by_months)
    years = year_of_month(month).astype(np.int64)
    distinct, position = np.unique(years, return_inverse=True)
    factor = index_factor(index, distinct, price_year, index_hint)[position] if years.size else np.zeros(0)
    return rows[rec], month.astype(np.int64), codes.record_domain[rows[rec]], amount * factor


def _intervals(records: pd.DataFrame, rows: np.ndarray, codes: _Codes) -> pd.DataFrame:
    """The days to price of each record (its whole spell; a case or hour is cut to its start
    day once the price row says so)."""
    return pd.DataFrame({"record": rows, "pair": codes.pair[rows],
                         "start": records["start"].to_numpy()[rows].astype(np.int64),
                         "end": records["end"].to_numpy()[rows].astype(np.int64),
                         "units": records["units"].to_numpy(dtype=float)[rows]})


def _price_rows_by_pair(pairs: np.ndarray, table: pd.DataFrame, codes: _Codes, index: pd.Series, price_year: int,
                        index_hint: str) -> pd.DataFrame:
    """Price rows applicable to each (source, code) pair: exact codes, and wildcard rows."""
    names = codes.pair_names(np.unique(pairs))
    exact = names.merge(table[table["code"] != WILDCARD], on=["source", "code"], how="inner")
    wild = names.merge(table[table["code"] == WILDCARD].drop(columns="code"), on="source", how="inner")
    rows = pd.concat([exact, wild], ignore_index=True)
    return pd.DataFrame({
        "pair": rows["pair"].to_numpy(), "unit": rows["unit"].map(UNIT_CODE).to_numpy(np.int64),
        "price": rows["price"].to_numpy(float) * index_factor(index, rows["price_year"].to_numpy(), price_year,
                                                               index_hint),
        "valid_from": rows["valid_from"].to_numpy(np.int64), "valid_to": rows["valid_to"].to_numpy(np.int64),
        "domain": codes.domain_codes(rows["domain"])})


def _segments(intervals: pd.DataFrame, price_rows: pd.DataFrame) -> pd.DataFrame:
    """Every (interval, price row) pair whose validity overlaps the interval's priced days."""
    rows = price_rows.sort_values("pair", kind="stable")
    row_pair = rows["pair"].to_numpy()
    interval_pair = intervals["pair"].to_numpy()
    # The price rows of a pair are a run of the sorted table: each interval to each of them.
    first_row = np.searchsorted(row_pair, interval_pair, side="left")
    n_rows = np.searchsorted(row_pair, interval_pair, side="right") - first_row
    which = np.repeat(np.arange(len(intervals)), n_rows)
    row = np.repeat(first_row, n_rows) + offsets_in_runs(n_rows)
    start = intervals["start"].to_numpy()[which]
    unit = rows["unit"].to_numpy()[row]
    last = np.where((unit == CASE) | (unit == HOUR), start, intervals["end"].to_numpy()[which])
    seg_start = np.maximum(start, rows["valid_from"].to_numpy()[row])
    seg_end = np.minimum(last, rows["valid_to"].to_numpy()[row])
    keep = seg_start <= seg_end
    which, row = which[keep], row[keep]
    out = {c: intervals[c].to_numpy()[which] for c in intervals.columns}
    out.update({c: rows[c].to_numpy()[row] for c in rows.columns if c != "pair"})
    return pd.DataFrame({**out, "seg_start": seg_start[keep], "seg_end": seg_end[keep]})


def _gaps(intervals: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """The days of each interval that no segment covers, as intervals.

    Segments of one record never overlap (validity periods of one code do not), so the gaps
    are before the first segment, between consecutive ones, and after the last. A record
    priced per case or hour needs its start day only (by the unit of its first segment).
    ``intervals`` has one row per record."""
    if not intervals["record"].is_monotonic_increasing:
        intervals = intervals.sort_values("record", kind="stable")
    record = intervals["record"].to_numpy()
    start = intervals["start"].to_numpy()
    seg_record = segments["record"].to_numpy()
    by_record = np.argsort(seg_record, kind="stable")
    leading = np.ones(len(by_record), dtype=bool)
    leading[1:] = seg_record[by_record][1:] != seg_record[by_record][:-1]
    first_segment = by_record[leading]
    point = np.zeros(len(record), dtype=bool)
    point[np.searchsorted(record, seg_record[first_segment])] = np.isin(
        segments["unit"].to_numpy()[first_segment], [CASE, HOUR])
    need_end = np.where(point, start, intervals["end"].to_numpy())
    order = np.lexsort((segments["seg_start"].to_numpy(), seg_record))
    rec = seg_record[order]
    seg_start = segments["seg_start"].to_numpy()[order]
    seg_end = segments["seg_end"].to_numpy()[order]
    at = np.searchsorted(record, rec)
    first = np.ones(rec.size, dtype=bool)
    first[1:] = rec[1:] != rec[:-1]
    last = np.ones(rec.size, dtype=bool)
    last[:-1] = rec[1:] != rec[:-1]
    prev_end = np.where(first, start[at] - 1, np.roll(seg_end, 1))
    untouched = np.ones(len(record), dtype=bool)
    untouched[at] = False
    # Before or between segments, after the last one, and records without any segment.
    owner = np.concatenate([at, at[last], np.flatnonzero(untouched)])
    gap_start = np.concatenate([prev_end + 1, seg_end[last] + 1, start[untouched]])
    gap_end = np.concatenate([seg_start - 1, need_end[at[last]], need_end[untouched]])
    keep = gap_start <= gap_end
    owner = owner[keep]
    return pd.DataFrame({"record": record[owner], "start": gap_start[keep], "end": gap_end[keep],
                         **{c: intervals[c].to_numpy()[owner] for c in intervals.columns
                            if c not in ("record", "start", "end")}})


def _priced_months(records: pd.DataFrame, rows: np.ndarray, codes: _Codes, prices: pd.DataFrame,
                   fallback: pd.DataFrame | None, index: pd.Series, price_year: int, index_hint: str):
    intervals = _intervals(records, rows, codes)
    main = _price_rows_by_pair(intervals["pair"].to_numpy(), prices, codes, index, price_year, index_hint)
    segments = _segments(intervals, main).assign(fallback=False)
    gaps = _gaps(intervals, segments)
    fallback_uses = pd.DataFrame(columns=["source", "code", "year", "records", "cost"])
    if len(gaps) and fallback is not None and len(fallback):
        # Only the days the main tables leave unpriced are priced from the fallback.
        extra_rows = _price_rows_by_pair(gaps["pair"].to_numpy(), fallback, codes, index, price_year, index_hint)
        segments = pd.concat([segments, _segments(gaps, extra_rows).assign(fallback=True)], ignore_index=True)
        gaps = _gaps(intervals, segments)
    missing_report = pd.DataFrame(columns=["source", "code", "year", "records"])
    if len(gaps):
        missing = gaps.drop_duplicates("record")
        names = codes.pair_names(missing["pair"].to_numpy())
        missing_report = (names.drop(columns="pair").assign(year=year_of_month(month_index(missing["start"].to_numpy())))
                          .value_counts().rename("records").reset_index())
        return None, fallback_uses, missing_report
    rec, month, domain, cost, used_fallback = _months_of_segments(segments)
    if used_fallback.any():
        names = codes.pair_names(codes.pair[rec[used_fallback]])
        fallback_uses = (names.assign(year=year_of_month(month[used_fallback]), record=rec[used_fallback],
                                      cost=cost[used_fallback])
                         .groupby(["source", "code", "year"]).agg(records=("record", "nunique"), cost=("cost", "sum"))
                         .reset_index())
    return (rec, month, domain, cost), fallback_uses, missing_report


def _months_of_segments(segments: pd.DataFrame):
    """(record, month, domain, cost, from the fallback) of every month a segment touches."""
    start = segments["seg_start"].to_numpy(np.int64)
    end = segments["seg_end"].to_numpy(np.int64)
    first = month_index(start).astype(np.int64)
    n_months = month_index(end).astype(np.int64) - first + 1
    seg = np.repeat(np.arange(len(segments)), n_months)
    month = first[seg] + offsets_in_runs(n_months)
    m_first = month_start(month).astype(np.int64)
    dim = days_in_month(month).astype(np.int64)
    overlap = np.minimum(end[seg], m_first + dim - 1) - np.maximum(start[seg], m_first) + 1
    unit = segments["unit"].to_numpy()[seg]
    units = segments["units"].to_numpy(dtype=float)[seg]
    quantity = np.select([unit == DAY, unit == MONTH, unit == YEAR, unit == CASE],
                         [overlap, overlap / dim, overlap / dim / 12.0, 1.0], units)
    cost = quantity * segments["price"].to_numpy(dtype=float)[seg]
    return (segments["record"].to_numpy()[seg], month, segments["domain"].to_numpy()[seg], cost,
            segments["fallback"].to_numpy(dtype=bool)[seg])


class MissingPrices(PricingError):
    """Records whose code or days have no price."""

    def __init__(self, missing: pd.DataFrame):
        missing = missing.sort_values(["source", "code", "year"]).reset_index(drop=True)
        self.missing = missing
        lines = [f"  {r.source} code {r.code!r} in {r.year}: {r.records:,} record(s)" for r in missing.itertuples()]
        shown = "\n".join(lines[:40]) + (f"\n  ... and {len(lines) - 40} more" if len(lines) > 40 else "")
        super().__init__(
            f"{int(missing['records'].sum()):,} record(s) have no price:\n{shown}\n"
            "Add these codes and years to a price table in [prices] price_tables, or name a fallback table in "
            "[prices] fallback_tables (code '*' prices every code of a source); a missing price is never "
            "counted as zero.")
