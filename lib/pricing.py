"""Price every record and build the cost ledger: per person, month, domain and source.

**Price tables** (CSV, ``,`` or ``;``, decimal point or comma, UTF-8 or Windows-1252)
have the columns ``domain, source, code, unit, price, price_year, valid_from, valid_to,
figure_source`` (and optionally ``label``, ``note``). ``unit`` is ``day``, ``month``,
``year``, ``case``, ``hour`` or ``person_year``. A later table in ``[prices] price_tables`` replaces the
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
* per ``hour`` costs the price times its hours, on its start day;
* per ``person_year`` costs the price once per person, source and calendar year, on the start
  day of the person's first record of that year in that source (earliest start, then file
  order); the person's other records of that source and year cost 0 (they are counted and
  reported: police registrations in ``VERDTAB`` are one row per offence, so a suspect with three
  offences in a year is charged once). Where a source's codes have different person-year
  prices, the first record's code decides.
* A record of a yearly person table (``spread`` ``year``: ``lib.records.yearly_records``) is
  priced once, with the price valid on its start day (January 1 of its file's year, or the day of
  its date column): per ``day`` its units are days (a detainee-year: its days in custody, or the
  assumed days), per ``case`` or ``hour`` its units are counts, per ``month`` 12, per ``year`` 1,
  per ``person_year`` as above; that cost is spread evenly over the months from its start to its
  end (the twelve months of the year, or the one month of its date).

**Real-file rules** (each counted in ``PricingResult.excluded`` and the step's notes):

* *Bijstand statistics code.* ``BIJSTANDUITKERINGTAB`` holds every regulation of the
  bijstand statistics (algemene bijstand, IOAW, IOAZ, Bbz); ``lib.records`` writes a spell's
  ``BIJSTANDSTATISTIEKCODEA`` before its norm (``02:A``). ``apply_bijstand_codes`` maps the code
  through the code list (``lib/reference_data/bijstand_statistiekcodes.csv``, ``[prices]
  bijstand_codes``): algemene bijstand keeps the norm code (``A``), another regulation becomes
  ``<REGULATION>:<norm>`` (``IOAW:A``) in its own domain, a code the list marks not priced is
  left out, and a code the list lacks stops the step with the codes and their counts.
  ``regulation_price_rows`` gives ``IOAW:A`` the price of the norm ``A`` (the same social-minimum
  norm) in the regulation's domain, unless a price table prices ``IOAW:A`` itself.
* *Bijstand from spells or amounts, never both* (``bijstand_from``): with ``spells`` the
  ``UITKERINGBEDRAGTAB`` amounts of algemene bijstand are not priced, nor the amounts of another
  regulation (IOAW, IOAZ, BBZ) of a person and year that a spell of that regulation covers;
  with ``yearly_amounts`` no ``BIJSTANDUITKERINGTAB`` spell is priced.
* *Detention, from spells or from sentences, never both.* A court decision that sentences
  detention (``SANCTIE`` ``GEVANGENISSTRAF`` or ``JEUGDDETENTIE``) is a record of code
  ``DETENTIEVONNIS:<SANCTIE>`` (``lib.records``; ``units`` its sentenced days, ``DAGENDETENTIE``,
  0 where unknown; start and end the days from the decision date, clipped to the study period).
  With ``GEDETINEERDENTAB`` in the run it is not priced: the spells cost the detention; but a
  sentence with days whose days fall in a year that is a detainee-year of *assumed* days of the
  same person (the yearly person form without days, ``ASSUMED_DAYS_SPREAD``) is priced as below
  and those detainee-years are not (``_sentences_for_assumed_years``: known days replace the
  assumption, never both). Without
  it (``detention_spells``), a sentence with days is priced as a spell of those days at the
  detention day price of its institution, ``GEDETINEERDENTAB`` code ``GW`` (GEVANGENISSTRAF) or
  ``JJI`` (JEUGDDETENTIE) (``sentence_price_rows``: the same rows, unless a table prices
  ``JUSTITIEZAKENBUS DETENTIEVONNIS:<SANCTIE>`` itself), day by day from the decision date like
  every spell, each day at the price valid that day; the notes say how many sentences and days,
  and that sentenced days are an upper bound of the days served (``SENTENCED_DAYS_CAVEAT``). A
  sentence without days stays unpriced, with a WARNING (its detention is not measured).
* *Supervision of a minor.* Days of a ``JUSTITIEZAKENBUS`` ``TOEZICHT`` spell that a
  ``JGDRECLASBUS`` spell of the same person covers are not priced: youth probation carries out
  that supervision and its spell prices it.

A price of price year P becomes euros of the run's price year Q through an index series:
``price * index[Q] / index[P]``. Amounts delivered as amounts (appendix-2 files, yearly
benefit amounts) are spread over their months (``lib.spreading``) and each month's
amount, in euros of its own year Y, becomes euros of Q through ``index[Q] / index[Y]``.
Which series (``PriceIndex``): a price row's own ``index_series`` column where filled, else
its domain's series (``[prices] domain_index``), else ``cpi`` (``[prices] index``); an
amount delivered as an amount uses its domain's series.

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

UNITS = ("day", "month", "year", "case", "hour", "person_year")
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
        "figure_source": frame["figure_source"], "label": frame.get("label", ""),
        "index_series": frame["index_series"].str.lower() if "index_series" in frame else "", "table": str(path)})
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


def load_price_index(path: Path, what: str = "price index ([prices] index)") -> pd.Series:
    """One index series (CSV: year, index; optional source): the index per year, sorted."""
    frame = _read_csv_text(path, what)
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


DEFAULT_SERIES = "cpi"


@dataclass
class PriceIndex:
    """The run's named index series and which one indexes what.

    ``series`` maps a name (``cpi`` is ``[prices] index``; others come from ``[prices]
    index_series``) to its yearly index; ``domain_series`` maps a domain to the name of its
    series (``[prices] domain_index``; domains not listed use ``cpi``). A price row's own
    ``index_series`` column, when filled, overrides its domain's series; an amount delivered as
    an amount is indexed with its domain's series."""
    series: dict[str, pd.Series]
    paths: dict[str, str] = field(default_factory=dict)
    domain_series: dict[str, str] = field(default_factory=dict)

    @classmethod
    def single(cls, index: pd.Series, path_hint: str = "") -> "PriceIndex":
        """One series for everything (the ``[prices] index`` series as ``cpi``)."""
        return cls({DEFAULT_SERIES: index}, {DEFAULT_SERIES: path_hint})

    @classmethod
    def load(cls, paths: dict[str, Path], domain_series: dict[str, str] | None = None) -> "PriceIndex":
        series = {name: load_price_index(Path(path), "price index ([prices] index)" if name == DEFAULT_SERIES
                                         else f"price index series '{name}' ([prices] index_series)")
                  for name, path in paths.items()}
        return cls(series, {name: str(path) for name, path in paths.items()}, dict(domain_series or {}))

    def check_names(self, names, where: str) -> None:
        unknown = sorted({str(n) for n in names} - set(self.series))
        if unknown:
            raise PricingError(f"{where}: index series {', '.join(map(repr, unknown))} unknown; the run's series are "
                               f"{', '.join(sorted(self.series))} (name further series in [prices] index_series)")

    def for_domains(self, domains) -> np.ndarray:
        """The series name of each domain (``cpi`` where ``domain_index`` does not name one)."""
        domains = pd.Series(np.asarray(domains, dtype=object))
        return domains.map(self.domain_series).fillna(DEFAULT_SERIES).to_numpy(dtype=object)

    def for_rows(self, table: pd.DataFrame) -> np.ndarray:
        """The series name of each price row: its ``index_series`` column where filled, else its domain's."""
        own = (table["index_series"].fillna("").astype(str).to_numpy(dtype=object) if "index_series" in table
               else np.full(len(table), "", dtype=object))
        names = np.where(own != "", own, self.for_domains(table["domain"].to_numpy(dtype=object)))
        self.check_names(np.unique(names), "a price table")
        return names

    def factor(self, names, from_years, to_year: int, missing: str = "raise") -> np.ndarray:
        """``index[to_year] / index[from_year]`` in each row's series; a year missing from a series
        is an error that names the series, its file and the years (``missing="nan"``: NaN instead,
        for rows that may never be used)."""
        names = np.asarray(names, dtype=object)
        from_years = np.asarray(from_years)
        out = np.ones(from_years.size, dtype=float)
        if not from_years.size:
            return out
        self.check_names(pd.unique(names), "index")
        for name in pd.unique(names):
            rows = names == name
            if missing == "nan":
                series = self.series[name]
                out[rows] = series.get(to_year, np.nan) / series.reindex(from_years[rows]).to_numpy()
            else:
                hint = f"series '{name}' ({self.paths.get(name, '')})"
                out[rows] = index_factor(self.series[name], from_years[rows], to_year, hint)
        return out

    def codes(self, names) -> np.ndarray:
        """Series names as small integers (positions in the sorted names)."""
        return pd.Index(sorted(self.series)).get_indexer(np.asarray(names, dtype=object)).astype(np.int8)


def as_price_index(index, path_hint: str = "") -> PriceIndex:
    """A ``PriceIndex`` from a ``PriceIndex`` or a single series (the old single-index call)."""
    return index if isinstance(index, PriceIndex) else PriceIndex.single(index, path_hint)


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
    warnings: list[str] = field(default_factory=list)
    """Costs the run cannot measure (e.g. detention sentenced without a detention source)."""
    notes: list[str] = field(default_factory=list)
    """How a rule priced something the reader must know (detention from sentenced days)."""
    cost_by_domain_and_kind: pd.DataFrame | None = None
    """Per domain, the ledger's euros from registers and from providers' appendix-2 files (columns
    domain, register, provider)."""


UNIT_CODE = {u: i for i, u in enumerate(UNITS)}
DAY, MONTH, YEAR, CASE, HOUR, PERSON_YEAR = (UNIT_CODE[u] for u in UNITS)
POINT_UNITS = (CASE, HOUR, PERSON_YEAR)
"""Units priced on a record's start day only."""


class _Codes:
    """Records' sources, codes and domains as small integers (millions of rows, few values)."""

    def __init__(self, records: pd.DataFrame, tables: list[pd.DataFrame]):
        source = pd.Categorical(records["source"])
        code = pd.Categorical(records["code"].astype(str) if not isinstance(records["code"].dtype, pd.CategoricalDtype)
                              else records["code"])
        self.source, self.source_names = source.codes.astype(np.int64), np.asarray(source.categories, dtype=object)
        self.code, self.code_names = code.codes.astype(np.int64), np.asarray(code.categories.astype(str), dtype=object)
        self.pair = self.source * max(len(self.code_names), 1) + self.code
        # The ledger's source column is a code of the (source, provider) pair: a provider's file may
        # hold several providers (lib.appendix2.ProviderCodes; 0 for a register), and the ledger
        # carries the provider's code, never its name.
        provider = (records["provider"].to_numpy(np.int64) if "provider" in records
                    else np.zeros(len(records), np.int64))
        width = int(provider.max(initial=0)) + 1
        pairs, self.source_provider = np.unique(self.source * width + provider, return_inverse=True)
        self.source_provider = self.source_provider.reshape(-1).astype(np.int64)
        if pairs.size > 0xFFF:
            raise PricingError(f"{pairs.size:,} pairs of source and provider: the ledger holds at most 4,095; "
                               "combine providers' files")
        self.pair_source, self.pair_provider = pairs // width, (pairs % width).astype(np.int16)
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
                  ledger_sink=None, bijstand_codes: pd.DataFrame | None = None,
                  detention_spells: bool | None = None) -> PricingResult:
    """Price ``records`` (see ``lib.records``) into a person-month ledger.

    ``bijstand_codes`` (``load_bijstand_codes``; None: the bundle's ``DEFAULT_BIJSTAND_CODES``)
    maps the statistics code of the bijstand spells (see the module docstring). ``detention_spells`` says whether the run has a
    detention source (``GEDETINEERDENTAB``); None: whether the records hold any of its spells.

    ``progress``, when given, is called with the number of records priced so far.
    ``ledger_sink``, when given, receives the ledger part by part (a chunk of whole persons
    at a time, in person order) instead of it being returned whole."""
    n = len(records)
    excluded, warnings, notes = {}, [], []
    # Records of a domain that another source prices ([sources] overlap, lib.steps.read_sources.
    # mark_overlap): priced apart, only for their total in the notes, and left out of the ledger.
    elsewhere = (records["priced_elsewhere"].to_numpy(dtype=bool) if "priced_elsewhere" in records
                 else np.zeros(n, dtype=bool))
    shadow = None
    if elsewhere.any():
        shadow = price_records(records.loc[elsewhere].drop(columns="priced_elsewhere").reset_index(drop=True),
                               prices, index, price_year, fallback=fallback, bijstand_from=bijstand_from,
                               index_hint=index_hint, chunk_records=chunk_records, ledger_sink=lambda part: None,
                               bijstand_codes=bijstand_codes, detention_spells=detention_spells)
    records, code_drop, code_notes, without_code = apply_bijstand_codes(records, bijstand_codes)
    excluded.update(code_notes)
    index = as_price_index(index, index_hint)  # one series (the old call) or the run's named series
    codes = _Codes(records, [prices] + ([fallback] if fallback is not None else []))
    by_months = (records["spread"] == "months").to_numpy(dtype=bool)
    source = codes.source_names[codes.source]
    code = codes.code_names[codes.code]
    has_amount = ~np.isnan(records["amount"].to_numpy(dtype=float))
    # Bijstand from its spells or from the yearly amounts paid, never both.
    if bijstand_from == "spells":
        drop = (source == "UITKERINGBEDRAGTAB") & (code == "BIJSTAND")
        excluded["UITKERINGBEDRAGTAB BIJSTAND amounts (bijstand costed from its spells)"] = int(drop.sum())
        twice = _amounts_of_spell_regulations(records, source, code)
        if twice.any():
            excluded["UITKERINGBEDRAGTAB amounts of IOAW, IOAZ or BBZ of a person and year that a "
                     "BIJSTANDUITKERINGTAB spell of the same regulation covers (costed from the spell)"] = int(twice.sum())
        drop |= twice
        other = (source == BIJSTAND_AMOUNTS) & np.isin(code, ("IOAW", "IOAZ", "BBZ")) & ~twice
        if without_code and other.any():
            warnings.append(f"WARNING: {without_code:,} {BIJSTAND_SPELLS} spell(s) have no statistics code "
                            f"(BIJSTANDSTATISTIEKCODEA) and are priced as algemene bijstand; the file also holds "
                            f"IOAW, IOAZ and Bbz spells, so where {int(other.sum()):,} {BIJSTAND_AMOUNTS} IOAW, IOAZ "
                            "or BBZ amount(s) cost the same benefit it may be costed twice. Read the files with the "
                            "column, or set [prices] bijstand_from = 'yearly_amounts'")
    else:
        drop = source == "BIJSTANDUITKERINGTAB"
        excluded["BIJSTANDUITKERINGTAB spells (bijstand costed from the yearly amounts)"] = int(drop.sum())
    if code_drop is not None:
        drop |= code_drop
    # Detention from the GEDETINEERDENTAB spells or, without them, from the sentenced days; never both.
    sentence, institution = _sentences(codes)
    priced_sentence = np.zeros(n, dtype=bool)
    if sentence.any():
        has_detention = (detention_spells if detention_spells is not None
                         else bool((source == DETENTION_SOURCE).any()))
        if has_detention:
            # A detainee-year of assumed days that a sentence with days covers is costed from the
            # sentence instead (its days are known); every other sentence is not priced. Never both.
            priced_sentence, replaced = _sentences_for_assumed_years(records, source, sentence, institution)
            drop |= (sentence & ~priced_sentence) | replaced
            excluded[f"{CASE_SOURCE} {DETENTION_SENTENCE} records (court sentences of detention: the detention is "
                     f"costed from {DETENTION_SOURCE}: its spells or detainee-years)"] = int(
                (sentence & ~priced_sentence).sum())
            if priced_sentence.any():
                prices = sentence_price_rows(prices)
                fallback = sentence_price_rows(fallback) if fallback is not None else None
                excluded[f"{DETENTION_SOURCE} detainee-years of assumed days that a sentence's days cover (costed "
                         "from the sentence, never both)"] = int(replaced.sum())
                in_period = (records["end"].to_numpy(np.int64)[priced_sentence]
                             - records["start"].to_numpy(np.int64)[priced_sentence] + 1)
                notes.append(f"detention priced from {int(priced_sentence.sum()):,} sentences' days instead of "
                             f"{int(replaced.sum()):,} {DETENTION_SOURCE} detainee-year(s) of assumed days that they "
                             f"cover: {int(in_period.sum()):,} days in the study period, each at the "
                             f"{DETENTION_SOURCE} day price of its institution (GW; JJI for JEUGDDETENTIE)")
                notes.append(SENTENCED_DAYS_CAVEAT)
        else:
            days = np.nan_to_num(records["units"].to_numpy(dtype=float))
            priced_sentence = sentence & (days > 0) & (institution != "")
            unpriced = sentence & ~priced_sentence
            if priced_sentence.any():
                prices = sentence_price_rows(prices)
                fallback = sentence_price_rows(fallback) if fallback is not None else None
                in_period = (records["end"].to_numpy(np.int64)[priced_sentence]
                             - records["start"].to_numpy(np.int64)[priced_sentence] + 1)
                notes.append(f"detention priced from {int(priced_sentence.sum()):,} sentences' days (no "
                             f"{DETENTION_SOURCE}): {int(days[priced_sentence].sum()):,} days sentenced, "
                             f"{int(in_period.sum()):,} of them in the study period, each at the {DETENTION_SOURCE} "
                             "day price of its institution (GW; JJI for JEUGDDETENTIE), from the decision date")
                notes.append(SENTENCED_DAYS_CAVEAT)
            if unpriced.any():
                drop |= unpriced
                excluded[f"{CASE_SOURCE} {DETENTION_SENTENCE} records without sentenced days ({SENTENCED_DAYS_COLUMN}) "
                         f"and without {DETENTION_SOURCE} in the run (their detention is not measured)"] = \
                    int(unpriced.sum())
                measured = ("detentie is measured only from the sentences with days, so it is too low"
                            if priced_sentence.any() else "detentie is not measured, not zero")
                warnings.append(f"WARNING: {int(unpriced.sum()):,} court decision(s) in {CASE_SOURCE} sentence "
                                f"detention (SANCTIE GEVANGENISSTRAF or JEUGDDETENTIE) without sentenced days "
                                f"({SENTENCED_DAYS_COLUMN}), but {DETENTION_SOURCE} is not part of this run: their "
                                f"detention costs nothing here; {measured}. Add {DETENTION_SOURCE} to [sources.cbs], "
                                f"or have the case file delivered with {SENTENCED_DAYS_COLUMN}, to cost it")
    if elsewhere.any():
        drop |= elsewhere
        excluded["records of a domain that another source prices ([sources] overlap; their total is in the "
                 "notes)"] = int(elsewhere.sum())
    use = ~drop
    rules = _RecordRules.of(records, source, code, use)

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
                                                                  price_year, index_hint, rules)
            if month_costs is not None:
                parts.append(month_costs)
        if not parts or (missing is not None and len(missing)):
            return None, None, fallback_chunk, missing
        rec = np.concatenate([p[0] for p in parts])
        cost = np.concatenate([p[3] for p in parts])
        # chunk is sorted and holds every rec: sum per record on the chunk's own positions.
        chunk_cost = np.bincount(np.searchsorted(chunk, rec), weights=cost, minlength=chunk.size)
        part = _aggregate(person[rec].astype(np.int64), np.concatenate([p[1] for p in parts]).astype(np.int64),
                          np.concatenate([p[2] for p in parts]), codes.source_provider[rec], cost, codes)
        return chunk_cost, part, fallback_chunk, missing

    # Priced in chunks of whole persons: memory stays bounded by a chunk (the month rows of
    # half a million records), and ledger rows of different chunks never need merging. Two
    # chunks are priced at a time (numpy leaves the interpreter free for most of the work);
    # their ledger rows are handed on in person order.
    person = records["person"].to_numpy()
    record_cost = np.zeros(n)
    ledgers, fallback_parts, missing_parts = [], [], []
    ledger_rows, cost_by_domain = 0, np.zeros(len(codes.domain_names))
    # Euros per domain from registers and from providers' files, where an overlap asks for both totals.
    from_file = np.array([str(s).startswith("appendix2:") for s in codes.source_names], dtype=np.int64)
    by_kind = np.zeros(2 * len(codes.domain_names))
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
        if len(part):
            kind = from_file[part["source"].cat.codes.to_numpy()]
            by_kind += np.bincount(part_domain.astype(np.int64) * 2 + kind, weights=part_cost,
                                   minlength=by_kind.size)
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
    excluded.update(rules.excluded(source))
    # How each record was priced, as small codes: strings per record (a fixed-width array of the
    # longest text) took some 5 GB for the country's 14 million records.
    how = ["price table", "amount as delivered", "not priced (see the price step's notes)",
           PRICED_BY[FLAG_YOUTH_PROBATION], PRICED_BY[FLAG_PERSON_YEAR_REPEAT], PRICED_BY_SENTENCE]
    priced_by = np.where(has_amount, 1, 0).astype(np.int8)
    priced_by[~use] = 2
    priced_by[rules.flags == FLAG_YOUTH_PROBATION] = 3
    priced_by[rules.flags == FLAG_PERSON_YEAR_REPEAT] = 4
    priced_by[priced_sentence] = 5
    report = (pd.DataFrame({"source": codes.source, "code": codes.code, "priced_by": priced_by, "used": use,
                            "cost": record_cost})
              .groupby(["source", "code", "priced_by"], sort=False)
              .agg(records=("used", "size"), records_used=("used", "sum"), cost=("cost", "sum")).reset_index())
    report = (report.assign(source=codes.source_names[report["source"].to_numpy()],
                            code=codes.code_names[report["code"].to_numpy()],
                            priced_by=np.asarray(how, dtype=object)[report["priced_by"].to_numpy()])
              .sort_values(["source", "code", "priced_by"], kind="stable").reset_index(drop=True))
    by_domain = pd.Series(cost_by_domain, index=pd.Index(codes.domain_names, name="domain"), name="cost")
    kinds = pd.DataFrame({"domain": codes.domain_names, "register": by_kind[0::2], "provider": by_kind[1::2]})
    kinds = kinds[(kinds["register"] != 0) | (kinds["provider"] != 0)].reset_index(drop=True)
    if shadow is not None:
        notes += overlap_notes(kinds, shadow.cost_by_domain_and_kind)
    return PricingResult(ledger=ledger, ledger_rows=ledger_rows, ledger_cost_by_domain=by_domain[by_domain != 0],
                         record_cost=record_cost, report=report, fallback_uses=fallback_uses, excluded=excluded,
                         warnings=warnings, notes=notes, cost_by_domain_and_kind=kinds)


def overlap_notes(priced: pd.DataFrame, not_priced: pd.DataFrame) -> list[str]:
    """Per domain that a register and providers' files both describe ([sources] overlap): the euros
    of each, and which one the ledger holds."""
    lines = []
    priced = priced.set_index("domain")
    for row in not_priced.itertuples():
        kept = priced.loc[row.domain] if row.domain in priced.index else pd.Series({"register": 0.0, "provider": 0.0})
        if row.provider:
            lines.append(f"overlap {row.domain}: priced from the register(s), EUR {kept['register']:,.2f}; the "
                         f"providers' files hold EUR {row.provider:,.2f} of it, not priced ([sources] overlap)")
        if row.register:
            lines.append(f"overlap {row.domain}: priced from the providers' files, EUR {kept['provider']:,.2f}; the "
                         f"register(s) would price it at EUR {row.register:,.2f}, not priced ([sources] overlap)")
    return lines


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
        "source": pd.Categorical.from_codes(codes.pair_source[unique & 0xFFF], categories=codes.source_names),
        "provider": codes.pair_provider[unique & 0xFFF],
        "cost": total})


def _amount_months(records: pd.DataFrame, rows: np.ndarray, by_months: np.ndarray, codes: _Codes, index: pd.Series,
                   price_year: int, index_hint: str):
    rec, month, amount = spread_over_months(records["start"].to_numpy()[rows], records["end"].to_numpy()[rows],
                                            records["amount"].to_numpy(dtype=float)[rows], by_months)
    years = year_of_month(month).astype(np.int64)
    domain = codes.record_domain[rows[rec]]
    # Each month's amount is indexed from its year with its domain's series: one factor per
    # distinct (domain, year), spread back to the month rows.
    pair, position = np.unique(domain * 10_000 + years, return_inverse=True)
    index = as_price_index(index, index_hint)
    names = index.for_domains(np.append(codes.domain_names, "")[pair // 10_000])
    factor = index.factor(names, pair % 10_000, price_year)[position] if years.size else np.zeros(0)
    return rows[rec], month.astype(np.int64), domain, amount * factor


def _intervals(records: pd.DataFrame, rows: np.ndarray, codes: _Codes) -> pd.DataFrame:
    """The days to price of each record (its whole spell; a case or hour is cut to its start
    day once the price row says so). A record of a yearly person table (``spread`` ``year``) is
    priced on its start day only, and its cost spread over the months up to ``spread_end``."""
    start = records["start"].to_numpy()[rows].astype(np.int64)
    end = records["end"].to_numpy()[rows].astype(np.int64)
    yearly = np.isin(records["spread"].to_numpy()[rows], (YEARLY_SPREAD, ASSUMED_DAYS_SPREAD))
    return pd.DataFrame({"record": rows, "pair": codes.pair[rows], "start": start,
                         "end": np.where(yearly, start, end),
                         "units": records["units"].to_numpy(dtype=float)[rows],
                         "yearly": yearly, "spread_end": end})


def _price_rows_by_pair(pairs: np.ndarray, table: pd.DataFrame, codes: _Codes, index: pd.Series, price_year: int,
                        index_hint: str) -> pd.DataFrame:
    """Price rows applicable to each (source, code) pair: exact codes, and wildcard rows."""
    names = codes.pair_names(np.unique(pairs))
    exact = names.merge(table[table["code"] != WILDCARD], on=["source", "code"], how="inner")
    wild = names.merge(table[table["code"] == WILDCARD].drop(columns="code"), on="source", how="inner")
    rows = pd.concat([exact, wild], ignore_index=True)
    # Each row in euros of the price year through its series (its own index_series, else its
    # domain's). A row whose year the series lacks gets a NaN price here and stops the run only
    # if a record uses it (_check_index_years): a table may hold rows of years no run reaches.
    index = as_price_index(index, index_hint)
    series = index.for_rows(rows)
    return pd.DataFrame({
        "pair": rows["pair"].to_numpy(), "unit": rows["unit"].map(UNIT_CODE).to_numpy(np.int64),
        "price": rows["price"].to_numpy(float) * index.factor(series, rows["price_year"].to_numpy(), price_year,
                                                              missing="nan"),
        "valid_from": rows["valid_from"].to_numpy(np.int64), "valid_to": rows["valid_to"].to_numpy(np.int64),
        "domain": codes.domain_codes(rows["domain"]),
        "price_year": rows["price_year"].to_numpy(np.int64), "series_code": index.codes(series)})


def _check_index_years(segments: pd.DataFrame, index, price_year: int, index_hint: str = "") -> None:
    """A used price row whose price year (or the run's price year) its index series lacks is an
    error that names the series and the years."""
    bad = np.isnan(segments["price"].to_numpy(float))
    if bad.any():
        index = as_price_index(index, index_hint)
        names = np.array(sorted(index.series), dtype=object)[segments["series_code"].to_numpy()[bad]]
        index.factor(names, segments["price_year"].to_numpy()[bad], price_year)  # raises, naming them


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
    last = np.where(np.isin(unit, POINT_UNITS), start, intervals["end"].to_numpy()[which])
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
        segments["unit"].to_numpy()[first_segment], POINT_UNITS)
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
                   fallback: pd.DataFrame | None, index: pd.Series, price_year: int, index_hint: str,
                   rules: "_RecordRules | None" = None):
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
    _check_index_years(segments, index, price_year, index_hint)
    missing_report = pd.DataFrame(columns=["source", "code", "year", "records"])
    if len(gaps):
        missing = gaps.drop_duplicates("record")
        names = codes.pair_names(missing["pair"].to_numpy())
        missing_report = (names.drop(columns="pair").assign(year=year_of_month(month_index(missing["start"].to_numpy())))
                          .value_counts().rename("records").reset_index())
        return None, fallback_uses, missing_report
    if rules is not None:
        segments = rules.apply(records, segments, codes)
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
    # HOUR and PERSON_YEAR take the units (for a person-year: 1 on its first record, else 0).
    quantity = np.select([unit == DAY, unit == MONTH, unit == YEAR, unit == CASE],
                         [overlap, overlap / dim, overlap / dim / 12.0, 1.0], units)
    yearly = segments["yearly"].to_numpy(dtype=bool)[seg] if "yearly" in segments else np.zeros(seg.size, bool)
    if yearly.any():
        # A record of a yearly person table: its units are days (per day), counts (per case or hour),
        # or a year (12 months per month, 1 per year); a person-year as above.
        quantity = np.where(yearly, np.select([unit == MONTH, unit == YEAR], [12.0, 1.0], units), quantity)
    cost = quantity * segments["price"].to_numpy(dtype=float)[seg]
    record, domain, fallback = (segments["record"].to_numpy()[seg], segments["domain"].to_numpy()[seg],
                                segments["fallback"].to_numpy(dtype=bool)[seg])
    if yearly.any():
        # ... spread evenly over the months from its start to its end (the file's year, or the one
        # month of its date).
        spread_end = segments["spread_end"].to_numpy(np.int64)[seg]
        n = np.where(yearly, month_index(spread_end).astype(np.int64) - month + 1, 1)
        rows = np.repeat(np.arange(seg.size), n)
        month = month[rows] + offsets_in_runs(n)
        cost = (cost / n)[rows]
        record, domain, fallback = record[rows], domain[rows], fallback[rows]
    return record, month, domain, cost, fallback


# --- Real-file rules (see the module docstring) --------------------------------------------

CASE_SOURCE = "JUSTITIEZAKENBUS"
DETENTION_SOURCE = "GEDETINEERDENTAB"
YEARLY_SPREAD = "year"
"""``spread`` of a record of a yearly person table (lib.records): priced on its start day, spread
evenly over the months from its start to its end."""
ASSUMED_DAYS_SPREAD = "year, assumed days"
"""``spread`` of a GEDETINEERDENTAB detainee-year whose days are the assumed
``detention_days_per_year`` (lib.records): priced as a yearly record, and replaced by the days of a
sentence that covers it."""
DETENTION_SENTENCE = "DETENTIEVONNIS"
"""Code of a court decision that sentences detention (``lib.records``: ``DETENTIEVONNIS:<SANCTIE>``)."""
SENTENCED_DAYS_COLUMN = "DAGENDETENTIE"
SENTENCE_INSTITUTION = {"GEVANGENISSTRAF": "GW", "JEUGDDETENTIE": "JJI"}
"""The GEDETINEERDENTAB institution whose day price prices a sentence's days (without detention spells)."""
PRICED_BY_SENTENCE = (f"sentenced days ({SENTENCED_DAYS_COLUMN}) at the {DETENTION_SOURCE} day price "
                      f"(no {DETENTION_SOURCE} in the run)")
SENTENCED_DAYS_CAVEAT = (
    "detention priced from sentenced days is an upper bound of the days served: pre-trial detention is deducted "
    "from the sentence (art. 27 Wetboek van Strafrecht), and a prisoner sentenced to more than a year is "
    "conditionally released after two thirds (voorwaardelijke invrijheidstelling, book 6 of the Wetboek van "
    "Strafvordering, formerly art. 15 Wetboek van Strafrecht; since the Wet straffen en beschermen of 1 July 2021 on decision and for at most two years); "
    "days are counted from the decision date, not from the actual start of the detention")
SUPERVISION_CODE = "TOEZICHT"
YOUTH_PROBATION_SOURCE = "JGDRECLASBUS"
BIJSTAND_SPELLS, BIJSTAND_AMOUNTS = "BIJSTANDUITKERINGTAB", "UITKERINGBEDRAGTAB"
FLAG_YOUTH_PROBATION, FLAG_PERSON_YEAR_REPEAT = 1, 2
PRICED_BY = {FLAG_YOUTH_PROBATION: "price table; days under youth probation (JGDRECLASBUS) not priced",
             FLAG_PERSON_YEAR_REPEAT: "person_year: the person's year already charged on an earlier record"}
_BIG = np.int64(1) << 32    # packs (person, day) into one int64 key: days are far below 2**32


def _sentences_for_assumed_years(records: pd.DataFrame, source: np.ndarray, sentence: np.ndarray,
                                 institution: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the sentences to price, the detainee-years they replace): a sentence with days (a record of
    ``DETENTIEVONNIS:<SANCTIE>``, clipped to the study period) is priced when one of the calendar years
    its days fall in is a GEDETINEERDENTAB detainee-year of assumed days of the same person
    (``ASSUMED_DAYS_SPREAD``); those detainee-years are not priced. Decided on (person, year) keys."""
    spread = records["spread"].to_numpy(dtype=object)
    assumed = (source == DETENTION_SOURCE) & (spread == ASSUMED_DAYS_SPREAD)
    days = np.nan_to_num(records["units"].to_numpy(dtype=float))
    candidate = sentence & (days > 0) & (institution != "")
    priced, replaced = np.zeros(len(records), dtype=bool), np.zeros(len(records), dtype=bool)
    if not (assumed.any() and candidate.any()):
        return priced, replaced
    person = records["person"].to_numpy().astype(np.int64)
    first_year = year_of_month(month_index(records["start"].to_numpy(np.int64))).astype(np.int64)
    last_year = year_of_month(month_index(records["end"].to_numpy(np.int64))).astype(np.int64)
    rows = np.flatnonzero(candidate)
    n_years = last_year[rows] - first_year[rows] + 1
    which = np.repeat(rows, n_years)
    sentence_keys = person[which] * 10_000 + first_year[which] + offsets_in_runs(n_years)
    assumed_rows = np.flatnonzero(assumed)
    assumed_keys = person[assumed_rows] * 10_000 + first_year[assumed_rows]
    covered = np.isin(sentence_keys, assumed_keys)
    priced[which[covered]] = True
    replaced[assumed_rows[np.isin(assumed_keys, sentence_keys[covered])]] = True
    return priced, replaced


def _sentences(codes: _Codes) -> tuple[np.ndarray, np.ndarray]:
    """(is a court sentence of detention, its GEDETINEERDENTAB institution or "") per record, decided
    per distinct code: ``DETENTIEVONNIS`` (no sanction known) or ``DETENTIEVONNIS:<SANCTIE>``."""
    names = pd.Series(codes.code_names, dtype=object).astype(str)
    sanction = names.str.split(":", n=1).str[1].fillna("").str.strip().str.upper()
    is_sentence = ((names == DETENTION_SENTENCE) | names.str.startswith(DETENTION_SENTENCE + ":")).to_numpy()
    institution = sanction.map(SENTENCE_INSTITUTION).fillna("").to_numpy(dtype=object)
    is_case = np.append(codes.source_names == CASE_SOURCE, False)[codes.source]
    row_sentence = np.append(is_sentence, False)[codes.code] & is_case
    return row_sentence, np.append(institution, "")[codes.code]


def sentence_price_rows(prices: pd.DataFrame) -> pd.DataFrame:
    """``prices`` plus, for each sanction of ``SENTENCE_INSTITUTION``, the rows of its
    ``GEDETINEERDENTAB`` institution (``GW``, ``JJI``; a ``*`` row where no exact one) as
    ``JUSTITIEZAKENBUS DETENTIEVONNIS:<SANCTIE>``, same domain, unit, price, price year and validity,
    unless a table prices that code itself: a sentence's days cost what a detention spell's days
    cost (used only where GEDETINEERDENTAB is not in the run)."""
    detention = prices[prices["source"] == DETENTION_SOURCE]
    have = set(zip(prices["source"], prices["code"]))
    parts = []
    for sanction, institution in SENTENCE_INSTITUTION.items():
        target = f"{DETENTION_SENTENCE}:{sanction}"
        if (CASE_SOURCE, target) in have:
            continue
        rows = detention[detention["code"] == institution]
        if not len(rows):
            rows = detention[detention["code"] == WILDCARD]
        if len(rows):
            parts.append(rows.assign(source=CASE_SOURCE, code=target, figure_source=(
                f"sentenced days at the {DETENTION_SOURCE} {institution} day price (lib.pricing.sentence_price_rows): "
                + rows["figure_source"].astype(str))))
    return pd.concat([prices, *parts], ignore_index=True) if parts else prices


@dataclass
class _RecordRules:
    """Per-record rules applied to the priced segments of each chunk (chunks hold whole persons):
    youth probation covers a judge's supervision; a person-year unit charges one record a year.
    ``flags`` (per record) and ``days_not_priced`` are filled as chunks are priced (two threads
    write to disjoint records; list appends are atomic)."""
    supervision: np.ndarray
    cover_person: np.ndarray
    cover_start: np.ndarray
    cover_end: np.ndarray
    flags: np.ndarray
    days_not_priced: list = field(default_factory=list)

    @classmethod
    def of(cls, records: pd.DataFrame, source: np.ndarray, code: np.ndarray, use: np.ndarray) -> "_RecordRules":
        supervision = use & (source == CASE_SOURCE) & (code == SUPERVISION_CODE)
        youth = use & (source == YOUTH_PROBATION_SOURCE)
        person, start, end = _union_by_person(records["person"].to_numpy()[youth].astype(np.int64),
                                              records["start"].to_numpy()[youth].astype(np.int64),
                                              records["end"].to_numpy()[youth].astype(np.int64))
        return cls(supervision, person, start, end, np.zeros(len(records), np.int8))

    def apply(self, records: pd.DataFrame, segments: pd.DataFrame, codes: _Codes) -> pd.DataFrame:
        return self._person_year(records, self._youth_probation(records, segments), codes)

    def _youth_probation(self, records: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
        """Segments of supervision records without the days youth probation of the person covers."""
        seg_record = segments["record"].to_numpy()
        hit = np.flatnonzero(self.supervision[seg_record])
        if not hit.size or not self.cover_person.size:
            return segments
        person = records["person"].to_numpy()[seg_record[hit]].astype(np.int64)
        s = segments["seg_start"].to_numpy(np.int64)[hit]
        e = segments["seg_end"].to_numpy(np.int64)[hit]
        us, ue = self.cover_start, self.cover_end
        # The person's cover intervals (disjoint, sorted) that overlap [s, e]: lo .. hi-1.
        lo = np.searchsorted(self.cover_person * _BIG + ue, person * _BIG + s, side="left")
        hi = np.searchsorted(self.cover_person * _BIG + us, person * _BIG + e, side="right")
        n = np.maximum(hi - lo, 0)
        if not n.any():
            return segments
        # What is left of [s, e] around its k cover intervals: k + 1 pieces (some empty).
        pieces = n + 1
        seg = np.repeat(np.arange(hit.size), pieces)
        j = offsets_in_runs(pieces)
        cover = np.repeat(lo, pieces) + j
        last = ue.size - 1
        p_start = np.where(j == 0, s[seg], ue[np.clip(cover - 1, 0, last)] + 1)
        p_end = np.where(j == n[seg], e[seg], us[np.clip(cover, 0, last)] - 1)
        p_start, p_end = np.maximum(p_start, s[seg]), np.minimum(p_end, e[seg])
        keep = p_start <= p_end
        lost = (e - s + 1) - np.bincount(seg[keep], weights=(p_end - p_start + 1)[keep], minlength=hit.size)
        touched = lost > 0
        self.flags[seg_record[hit[touched]]] = FLAG_YOUTH_PROBATION
        self.days_not_priced.append(int(lost.sum()))
        others = np.ones(len(segments), bool)
        others[hit] = False
        cut = segments.iloc[hit[seg[keep]]].assign(seg_start=p_start[keep], seg_end=p_end[keep])
        return pd.concat([segments[others], cut], ignore_index=True)

    def _person_year(self, records: pd.DataFrame, segments: pd.DataFrame, codes: _Codes) -> pd.DataFrame:
        """Units of person-year segments: 1 on the first record of each person, source and year, else 0."""
        py = np.flatnonzero(segments["unit"].to_numpy() == PERSON_YEAR)
        if not py.size:
            return segments
        rec = segments["record"].to_numpy()[py]
        start = segments["seg_start"].to_numpy(np.int64)[py]
        person = records["person"].to_numpy()[rec].astype(np.int64)
        source = codes.source[rec]
        year = year_of_month(month_index(start)).astype(np.int64)
        order = np.lexsort((rec, start, year, source, person))
        first = np.ones(py.size, bool)
        first[1:] = ((person[order][1:] != person[order][:-1]) | (source[order][1:] != source[order][:-1])
                     | (year[order][1:] != year[order][:-1]))
        units = segments["units"].to_numpy(dtype=float).copy()
        units[py] = 0.0
        units[py[order[first]]] = 1.0
        self.flags[rec[order[~first]]] = FLAG_PERSON_YEAR_REPEAT
        return segments.assign(units=units)

    def excluded(self, source: np.ndarray) -> dict[str, int]:
        """What the rules left unpriced, per source (``source``: each record's source)."""
        out = {}
        supervised = int((self.flags[self.supervision] == FLAG_YOUTH_PROBATION).sum())
        if supervised:
            out[f"{CASE_SOURCE} {SUPERVISION_CODE} records with days a {YOUTH_PROBATION_SOURCE} spell of the same "
                "person covers (youth probation prices those days)"] = supervised
            out[f"{CASE_SOURCE} {SUPERVISION_CODE} days not priced (covered by {YOUTH_PROBATION_SOURCE}; "
                f"{sum(self.days_not_priced) / 30.4375:,.1f} months)"] = sum(self.days_not_priced)
        repeats = pd.Series(source[self.flags == FLAG_PERSON_YEAR_REPEAT]).value_counts().sort_index()
        for name, count in repeats.items():
            out[f"{name} records after the first of their person and year (unit person_year: the person is "
                "priced once a year)"] = int(count)
        return out


def _union_by_person(person: np.ndarray, start: np.ndarray, end: np.ndarray):
    """Each person's intervals merged into disjoint ones (touching ones joined), sorted by person
    and start: (person, start, end)."""
    if not person.size:
        return person, start, end
    order = np.lexsort((start, person))
    p, s, e = person[order], start[order], end[order]
    # The running end within a person: persons are sorted, so the packed key's running maximum
    # never carries an end over from an earlier person.
    run_end = np.maximum.accumulate(p * _BIG + e) - p * _BIG
    new = np.ones(p.size, bool)
    new[1:] = (p[1:] != p[:-1]) | (s[1:] > run_end[:-1] + 1)
    starts = np.flatnonzero(new)
    return p[starts], s[starts], np.maximum.reduceat(e, starts)


def _amounts_of_spell_regulations(records: pd.DataFrame, source: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Amount records (UITKERINGBEDRAGTAB) of a regulation other than algemene bijstand (code
    IOAW, IOAZ, BBZ) whose person has a BIJSTANDUITKERINGTAB spell of that regulation (code
    ``IOAW:<norm>``) in the amount's year: the same benefit, costed from the spell."""
    out = np.zeros(len(records), bool)
    spells = source == BIJSTAND_SPELLS
    amounts = source == BIJSTAND_AMOUNTS
    if not spells.any() or not amounts.any():
        return out
    # Decided per distinct code (a few), not per row.
    position, distinct = pd.factorize(code[spells])
    prefix = pd.Series(np.asarray(distinct, dtype=object)).astype(str).str.split(":", n=1)
    of_regulation = (prefix.str.len() > 1).to_numpy()[position]
    spells[np.flatnonzero(spells)[~of_regulation]] = False
    if not spells.any():
        return out
    regulation = prefix.str[0].str.upper().to_numpy(dtype=object)[position[of_regulation]]
    first = year_of_month(month_index(records["start"].to_numpy()[spells])).astype(np.int64)
    n_years = year_of_month(month_index(records["end"].to_numpy()[spells])).astype(np.int64) - first + 1
    at = np.repeat(np.arange(first.size), n_years)
    covered = pd.MultiIndex.from_arrays([records["person"].to_numpy()[spells][at].astype(np.int64),
                                         regulation[at], first[at] + offsets_in_runs(n_years)])
    rows = np.flatnonzero(amounts)
    keys = pd.MultiIndex.from_arrays([records["person"].to_numpy()[rows].astype(np.int64),
                                      pd.Series(code[rows]).str.upper().to_numpy(dtype=object),
                                      year_of_month(month_index(records["start"].to_numpy()[rows])).astype(np.int64)])
    out[rows[keys.isin(covered)]] = True
    return out


BIJSTAND_CODE_COLUMNS = ("code", "regulation", "label", "domain", "priced", "source")


def load_bijstand_codes(path: Path) -> pd.DataFrame:
    """The code list of ``BIJSTANDSTATISTIEKCODEA`` (``[prices] bijstand_codes``): code,
    regulation, label, domain, priced (yes/no), source of the code's meaning."""
    frame = _read_csv_text(path, "bijstand code list ([prices] bijstand_codes)")
    missing = [c for c in BIJSTAND_CODE_COLUMNS if c not in frame.columns]
    if missing:
        raise PricingError(f"{path}: the bijstand code list needs the columns {', '.join(BIJSTAND_CODE_COLUMNS)} "
                           f"(missing: {', '.join(missing)})")
    frame["code"] = _statistics_code(frame["code"])
    frame["regulation"] = frame["regulation"].str.upper()
    frame["priced"] = frame["priced"].str.lower()
    bad = ~frame["priced"].isin(("yes", "no"))
    if bad.any():
        raise PricingError(f"{path}: priced must be yes or no (line {int(np.flatnonzero(bad)[0]) + 2})")
    if frame["code"].duplicated().any():
        raise PricingError(f"{path}: code {frame.loc[frame['code'].duplicated(), 'code'].iloc[0]!r} is listed twice")
    return frame


def _statistics_code(values: pd.Series) -> pd.Series:
    """Codes as the statistics write them: numbers with two digits (``1``, ``1.0`` -> ``01``)."""
    text = values.astype(str).str.strip()
    number = text.str.fullmatch(r"\d+(\.0*)?")
    return text.where(~number, text.str.split(".").str[0].str.zfill(2))


DEFAULT_BIJSTAND_CODES = Path(__file__).resolve().parent / "reference_data" / "bijstand_statistiekcodes.csv"


def apply_bijstand_codes(records: pd.DataFrame, code_list: pd.DataFrame | None = None):
    """(records with the bijstand spells' codes mapped, records to leave out, excluded counts,
    number of bijstand spells without a statistics code).

    A spell's code ``<statistics code>:<norm>`` becomes the norm (``A``) for algemene bijstand
    (regulation ``BIJSTAND``), ``<REGULATION>:<norm>`` for another regulation; a code the list marks
    ``priced = no`` is left out (counted); a code the list lacks stops with the codes and counts.
    Spells without a statistics code (the column absent) keep their norm code: algemene bijstand."""
    code = records["code"]
    cat = code.astype("category") if not isinstance(code.dtype, pd.CategoricalDtype) else code
    names = pd.Series(cat.cat.categories.astype(str))
    rows = (records["source"] == BIJSTAND_SPELLS).to_numpy() & (cat.cat.codes.to_numpy() >= 0)
    with_code = names.str.contains(":", regex=False).to_numpy()
    used = np.bincount(cat.cat.codes.to_numpy()[rows], minlength=len(names))
    todo = np.flatnonzero(with_code & (used > 0))
    without_code = int(used[~with_code].sum())
    leave_out = np.zeros(len(records), bool)
    notes: dict[str, int] = {}
    if not todo.size:
        return records, leave_out, notes, without_code
    if code_list is None:
        code_list = load_bijstand_codes(DEFAULT_BIJSTAND_CODES)
    split = names.iloc[todo].str.split(":", n=1)
    stat = _statistics_code(split.str[0]).to_numpy(dtype=object)
    norm = split.str[1].to_numpy(dtype=object)
    listed = code_list.set_index("code")
    known = pd.Index(listed.index).get_indexer(stat)
    if (known < 0).any():
        counts = pd.Series(used[todo][known < 0], index=stat[known < 0]).groupby(level=0).sum().sort_index()
        lines = "\n".join(f"  BIJSTANDSTATISTIEKCODEA {c!r}: {int(k):,} spell(s)" for c, k in counts.items())
        raise PricingError(f"{BIJSTAND_SPELLS}: {int(counts.sum()):,} spell(s) have a statistics code "
                           f"(BIJSTANDSTATISTIEKCODEA) that the bijstand code list does not know:\n{lines}\n"
                           "Add each code with its regulation, domain and the source of its meaning to a copy of "
                           "lib/reference_data/bijstand_statistiekcodes.csv and name it in [prices] bijstand_codes "
                           "(priced = no leaves a code out); a code is never guessed.")
    regulation = listed["regulation"].to_numpy(dtype=object)[known]
    new = np.where(regulation == "BIJSTAND", norm, regulation + ":" + norm)
    mapped = names.to_numpy(dtype=object).copy()
    mapped[todo] = new
    not_priced = np.zeros(len(names), bool)
    not_priced[todo] = listed["priced"].to_numpy(dtype=object)[known] == "no"
    codes_of_rows = cat.cat.codes.to_numpy()
    leave_out = rows & not_priced[np.maximum(codes_of_rows, 0)]
    for reg in pd.unique(regulation[not_priced[todo]]):
        k = int(used[todo][(regulation == reg) & not_priced[todo]].sum())
        notes[f"{BIJSTAND_SPELLS} spells of regulation {reg} (the bijstand code list marks it not priced)"] = k
    # New categories: the mapped names, each once (rows re-coded through the category codes).
    new_codes, new_names = pd.factorize(pd.Series(mapped))
    recoded = np.where(codes_of_rows >= 0, new_codes[np.maximum(codes_of_rows, 0)], -1)
    out = records.copy()
    out["code"] = pd.Categorical.from_codes(recoded, categories=pd.Index(new_names))
    return out, leave_out, notes, without_code


def regulation_price_rows(prices: pd.DataFrame, code_list: pd.DataFrame) -> pd.DataFrame:
    """``prices`` plus, for each priced regulation other than algemene bijstand, the bijstand norm
    rows (``BIJSTANDUITKERINGTAB`` codes without ``:``) as ``<REGULATION>:<norm>`` in the
    regulation's domain, where no table prices that code itself (IOAW, IOAZ and the Bbz
    livelihood support pay the same social-minimum norm as algemene bijstand)."""
    norms = prices[(prices["source"] == BIJSTAND_SPELLS) & ~prices["code"].str.contains(":", regex=False)
                   & (prices["code"] != WILDCARD)]
    regs = code_list[(code_list["priced"] == "yes") & (code_list["regulation"] != "BIJSTAND")]
    regs = regs.drop_duplicates("regulation")
    if not len(norms) or not len(regs):
        return prices
    rows = norms.merge(regs[["regulation", "domain"]].rename(columns={"domain": "reg_domain"}), how="cross")
    rows["code"] = rows["regulation"] + ":" + rows["code"]
    rows["domain"] = rows["reg_domain"]
    rows["figure_source"] = ("the bijstand norm of the same code and year (" + rows["regulation"] + " pays the "
                             "social-minimum norm; lib.pricing.regulation_price_rows): " + rows["figure_source"])
    rows = rows.drop(columns=["regulation", "reg_domain"])
    have = pd.MultiIndex.from_frame(prices[["source", "code"]])
    rows = rows[~pd.MultiIndex.from_frame(rows[["source", "code"]]).isin(have)]
    return pd.concat([prices, rows[prices.columns]], ignore_index=True)


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
