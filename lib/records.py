"""Turn source rows into *records*: one table of spells, actions and amounts per person.

A record is ``person, source, code, start, end, units, amount, spread, domain`` plus
where it came from (``file``, ``row``). Spells and actions have no amount (the price
tables price them later); amounts come with their domain and how to spread them over
months (``days`` or ``months``). Every row of every source ends as used, rejected
(with a reason, kept in the work folder), or superseded (the same spell repeated in a
later year's file), and the ``SourceAccount`` of the source says how many of each.

Dates are clipped to the study period; a spell still running (blank end, a
far-future end or the file's version end) runs to the end of the period.

A dataset is read in the form its layout names (``CbsDataset.form``; ``records_of``): spells,
events, yearly person tables (``yearly_records``: a person in a year with counts or flags, spread
over the year's months or placed on a date; ``spread`` ``year``), prosecution and court cases, or
yearly amounts. The run's layouts (lib.layouts.layouts_for) say which column has which role.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.accounting import SourceAccount
from lib.appendix2 import Appendix2Result, ProviderCodes
from lib.dates import add_months, days_from_ymd
from lib.layouts import CBS_DATASETS, LINKABLE_RINPERSOONS, UITKERINGSOORT_DOMAINS, CbsDataset
from lib.readers import (
    AMOUNT_AMBIGUOUS,
    AMOUNT_BLANK,
    AMOUNT_NOT_A_NUMBER,
    AMOUNT_OTHER_NOTATION,
    amounts_of_text,
    concat_tables,
    parse_yyyymmdd,
    read_cbs_table,
    text_categorical,
)
from lib.sources import SourceFile

SPELL_DATASETS = ("JGDHULPBUS", "JGDBESCHERMBUS", "JGDRECLASBUS", "WMOBUS", "BIJSTANDUITKERINGTAB")
JUSTICE_REGISTERS = ("VERDTAB", "GEDETINEERDENTAB", "HALTTAB")
"""Read as spells, events or yearly person tables, as the run's layout says (``CbsDataset.form``)."""
CASE_DATASETS = ("JUSTITIEZAKENBUS",)
AMOUNT_DATASETS = ("UITKERINGBEDRAGTAB",)
COST_DATASETS = SPELL_DATASETS + JUSTICE_REGISTERS + CASE_DATASETS + AMOUNT_DATASETS
DETENTION_DATASET = "GEDETINEERDENTAB"
YEARLY_SPREAD = "year"
"""``spread`` of a record of a yearly person table: priced once (on its start day) and spread evenly
over the months from its start to its end (lib.pricing)."""
ASSUMED_DAYS_SPREAD = "year, assumed days"
"""``spread`` of a detainee-year whose days are the assumed ``detention_days_per_year``: priced as a
yearly record, or replaced by the days of a court sentence that covers it (lib.pricing)."""
DEFAULT_DETENTION_DAYS_PER_YEAR = 123.0
"""Days in custody per detainee and year where GEDETINEERDENTAB has no days: an ASSUMPTION (DEFAULT,
no DJI figure found): the number detained on one day (about 9,900 on 30 September 2019, CBS) times
365, divided by the persons detained in a year (29,370 in 2021, CBS): 9,900 x 365 / 29,370 = 123.0.
The two figures are of different years and the first is one day's stock, not the year's mean."""
RECORD_COLUMNS = ("person", "source", "code", "start", "end", "units", "amount", "spread", "domain", "file", "row",
                  "provider")
PROVIDER_NONE = 0
"""The provider code of a record that comes from no provider's file (a register): see
``lib.appendix2.ProviderCodes``."""
REGISTER_DOMAINS = {"JGDHULPBUS": ("jeugdhulp",), "JGDBESCHERMBUS": ("jeugdbescherming",),
                    "JGDRECLASBUS": ("jeugdreclassering",), "WMOBUS": ("wmo",),
                    "BIJSTANDUITKERINGTAB": ("bijstand", "overige_uitkering"), "GEDETINEERDENTAB": ("detentie",), "VERDTAB": ("politie",),
                    "HALTTAB": ("halt",), "UITKERINGBEDRAGTAB": tuple(sorted(set(UITKERINGSOORT_DOMAINS.values()))),
                    "JUSTITIEZAKENBUS": ("om_rechtspraak", "sancties", "detentie")}
"""The domains each cost register prices its records in (the default price tables and code lists):
what a provider's appendix-2 file can describe a second time ([sources] overlap). Only
UITKERINGBEDRAGTAB knows a record's domain when it is read (from UITKERINGSOORT); the others get it
from the price tables and code lists (BIJSTANDUITKERINGTAB's IOAW, IOAZ and Bbz spells are
overige_uitkering), so a register of several domains can price an overlap but not give it up."""


def category_codes(values: pd.Series) -> tuple[list[str], np.ndarray]:
    """(names, the code of each row) of a column such as ``source`` or ``domain``, a missing value
    named "": decisions per name applied through the codes (millions of records, few names; no
    text per row)."""
    cat = values.astype("category")
    names = [str(n) for n in cat.cat.categories] + [""]
    codes = cat.cat.codes.to_numpy().astype(np.int64)
    return names, np.where(codes < 0, len(names) - 1, codes)


class PersonIndex:
    """Integer ids of person keys; keys of persons not in the register are added at the end.

    Keys are the 9-digit RINPERSOON or BSN as integers: hashing integers is several times
    faster and lighter than hashing text, which matters for 18 million persons.
    """

    def __init__(self, keys: np.ndarray):
        keys = np.asarray(keys, dtype=np.int64)
        self.index = pd.Index(keys)
        if not self.index.is_unique:
            raise ValueError(f"person register has duplicate key {self.index[self.index.duplicated()][0]:09d}")
        self.registered = len(self.index)

    def lookup(self, keys) -> np.ndarray:
        keys = np.asarray(keys, dtype=np.int64)
        ids = self.index.get_indexer(keys)
        missing = ids < 0
        if missing.any():
            self.index = self.index.append(pd.Index(pd.unique(keys[missing])))
            ids[missing] = self.index.get_indexer(keys[missing])
        return ids.astype(np.int32)

    @property
    def keys(self) -> np.ndarray:
        return self.index.to_numpy()


@dataclass(frozen=True)
class Period:
    start: int
    end: int


def empty_records() -> pd.DataFrame:
    """A records table without rows, with every column and its dtype."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
        ("person", np.int32), ("source", object), ("code", object), ("start", np.int32), ("end", np.int32),
        ("units", np.float32), ("amount", np.float64), ("spread", object), ("domain", object), ("file", object),
        ("row", np.int64), ("provider", np.int16))})


@dataclass(frozen=True)
class ReadingOptions:
    """Settings that decide how rows become records (from ``[sources]``)."""

    detention_days_per_year: float = DEFAULT_DETENTION_DAYS_PER_YEAR
    """Days a detainee-year of GEDETINEERDENTAB counts where the file has no days in custody."""


def _layout(dataset) -> CbsDataset:
    return dataset if isinstance(dataset, CbsDataset) else CBS_DATASETS[dataset]


def source_columns(dataset) -> tuple[list[str], tuple[str, ...]]:
    """The columns (and which are numeric) the records of ``dataset`` (a name, or the run's layout)
    are made from."""
    d = _layout(dataset)
    key = ["RINPERSOONS", "RINPERSOON"]
    if d.form == "spells":
        # The bijstand statistics code (optional; blank where a file lacks it) tells the
        # regulations apart: lib.pricing.apply_bijstand_codes.
        extra = [BIJSTAND_STATISTICS_COLUMN] if d.name == "BIJSTANDUITKERINGTAB" else []
        return key + [d.start_column, d.end_column, d.code_column, *extra], ()
    if d.form == "events":
        return key + [d.start_column, d.code_column], ()
    if d.form == "yearly":
        counts = [c for _, c in d.count_columns] + ([d.days_column] if d.days_column else [])
        flags = [c for _, c in d.flag_columns]
        other = [c for c in (d.code_column, d.date_column) if c]
        return key + list(dict.fromkeys(other + flags + counts)), tuple(counts)
    if d.form == "cases":
        # SANCTIE and DAGENDETENTIE are optional (blank where a file lacks them): which decisions
        # sentence detention, and for how many days (lib.pricing prices those days without GEDETINEERDENTAB).
        numeric = ("URENTAAKSTRAF", "MAANDENTOEZICHT", SENTENCED_DAYS_COLUMN)
        return key + ["DATUMBESLISSING", "INSTANTIE", "BESLISSING", "RECHTER", "SANCTIE", *numeric], numeric
    # The amount is read as text (numbers of .sav and parquet files as their shortest exact text),
    # so a rejected row keeps the amount as delivered and its notation is judged (amount_records).
    return key + ["UITKERINGSOORT", "BEDRAGJAAR"], ()


def read_source_files(dataset, files: list[SourceFile]) -> pd.DataFrame:
    """The rows of all files of a cost dataset (a name, or the run's layout), with the file, its
    year and the row number."""
    columns, numeric = source_columns(dataset)
    return source_table([(f, read_cbs_table(f, columns, numeric)) for f in files])


def source_table(tables: list[tuple[SourceFile, pd.DataFrame]]) -> pd.DataFrame:
    """The tables of a cost dataset's files (each as ``read_cbs_table`` gives it), in file order,
    with the file, its year and the row number (from 1) of every row."""
    parts = []
    for f, t in tables:
        t["FILE"] = pd.Categorical.from_codes(np.zeros(len(t), np.int8), categories=[f.path.name])
        t["FILE_YEAR"] = np.full(len(t), f.year or 0, dtype=np.int32)
        t["ROW"] = np.arange(1, len(t) + 1, dtype=np.int64)
        parts.append(t)
    return concat_tables(parts, list(parts[0].columns))


def _key_reasons(t: pd.DataFrame) -> np.ndarray:
    reason = np.full(len(t), "", dtype=object)
    not_r = (t["RINPERSOONS"] != LINKABLE_RINPERSOONS).to_numpy()
    reason[not_r] = "RINPERSOONS is not 'R': the person cannot be linked"
    bad_key = t["RINPERSOON"].to_numpy() < 0
    reason[bad_key & (reason == "")] = "RINPERSOON missing or not a number of at most 9 digits"
    return reason


def _keys(t: pd.DataFrame, ok: np.ndarray) -> np.ndarray:
    return t["RINPERSOON"].to_numpy()[ok]


def _finish(dataset: str, t: pd.DataFrame, reason: np.ndarray, account: SourceAccount, records: pd.DataFrame,
            persons: PersonIndex, superseded: np.ndarray | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Account rows, link persons, and return (records, rejected rows)."""
    superseded = np.zeros(len(t), bool) if superseded is None else superseded
    rejected = t.loc[reason != ""].assign(reason=reason[reason != ""])
    rejected["RINPERSOON"] = np.where(rejected["RINPERSOON"] >= 0, rejected["RINPERSOON"].map("{:09d}".format), "")
    account.rows_read += len(t)
    account.rows_superseded += int(superseded.sum())
    account.rows_used += int(((reason == "") & ~superseded).sum())
    amounts = rejected["AMOUNT"] if "AMOUNT" in rejected else None
    account.add_rejections(rejected["reason"], amounts)
    account.records += len(records)
    if len(records):
        keys = records.pop("key")
        records.insert(0, "person", persons.lookup(keys))
        account.persons = int(records["person"].nunique())
        account.persons_not_in_register = int((records["person"].drop_duplicates() >= persons.registered).sum())
    else:
        records = empty_records()
    return records, rejected.drop(columns=["AMOUNT"], errors="ignore")


def spell_records(dataset, t: pd.DataFrame, period: Period, persons: PersonIndex,
                  account: SourceAccount) -> tuple[pd.DataFrame, pd.DataFrame]:
    d = _layout(dataset)
    dataset = d.name
    reason = _key_reasons(t)
    start, start_blank, start_ok = parse_yyyymmdd(t[d.start_column])
    end, end_blank, end_ok = parse_yyyymmdd(t[d.end_column])
    reason[(reason == "") & ~start_ok] = "start date missing or not a date"
    reason[(reason == "") & ~end_ok & ~end_blank] = "end date not a date"
    end = np.where(end_blank, np.iinfo(np.int32).max, end)      # still running: clipped to the period below
    reason[(reason == "") & (end < start)] = "end date before start date"
    ok = reason == ""
    # Yearly files repeat a spell in every year it overlaps: keep the newest file's row.
    key = t[["RINPERSOON", d.start_column, d.code_column]].assign(FILE_YEAR=t["FILE_YEAR"])
    superseded = np.zeros(len(t), bool)
    if d.yearly_folder:
        order = key.loc[ok].sort_values("FILE_YEAR", kind="stable")
        newest = order.duplicated(["RINPERSOON", d.start_column, d.code_column], keep="last")
        superseded[order.index[newest.to_numpy()]] = True
    dup = t.loc[ok & ~superseded].duplicated(["RINPERSOON", d.start_column, d.end_column, d.code_column, "FILE"])
    reason[dup.index[dup.to_numpy()]] = "exact duplicate row"
    ok = (reason == "") & ~superseded
    reason[ok & ((end < period.start) | (start > period.end))] = "outside the study period"
    ok = (reason == "") & ~superseded
    c_start, c_end = np.maximum(start, period.start), np.minimum(end, period.end)
    account.rows_clipped += int((ok & ((c_start != start) | (c_end != end) | end_blank)).sum())
    code = t[d.code_column].to_numpy()[ok]
    if BIJSTAND_STATISTICS_COLUMN in t:
        code = _with_statistics_code(t[BIJSTAND_STATISTICS_COLUMN], t[d.code_column], ok)
    records = pd.DataFrame({
        "key": _keys(t, ok), "source": dataset, "code": code,
        "start": c_start[ok].astype(np.int32), "end": c_end[ok].astype(np.int32), "units": np.float32(1),
        "amount": np.nan, "spread": "", "domain": "", "file": t["FILE"].to_numpy()[ok], "row": t["ROW"].to_numpy()[ok]})
    return _finish(dataset, t, reason, account, records, persons, superseded)


BIJSTAND_STATISTICS_COLUMN = "BIJSTANDSTATISTIEKCODEA"
DETENTION_SANCTIONS = ("GEVANGENISSTRAF", "JEUGDDETENTIE")
DETENTION_SENTENCE = "DETENTIEVONNIS"
"""Code of a court sentence of detention; its record's code is ``DETENTIEVONNIS:<SANCTIE>``."""
SENTENCED_DAYS_COLUMN = "DAGENDETENTIE"
"""Optional JUSTITIEZAKENBUS column: the sentenced days of unconditional detention."""


def _with_statistics_code(statistics: pd.Series, norm: pd.Series, ok: np.ndarray) -> np.ndarray:
    """``<statistics code>:<norm>`` (``02:A``) where the statistics code is filled, else the norm
    (``A``): combined per distinct pair of values, not per row."""
    s_cat, n_cat = pd.Categorical(statistics), pd.Categorical(norm)
    # Position 0 is a missing value (category code -1), the categories follow.
    s_names = np.append("", pd.Index(s_cat.categories.astype(str)).str.strip().to_numpy(dtype=object))
    n_names = np.append(np.array([np.nan], dtype=object), np.asarray(n_cat.categories, dtype=object))
    width = n_names.size
    codes, distinct = pd.factorize((s_cat.codes[ok].astype(np.int64) + 1) * width + (n_cat.codes[ok] + 1))
    s, n = s_names[distinct // width], n_names[distinct % width]
    blank = pd.Series(s).isin(["", "nan", "None", "<NA>"]).to_numpy()
    # Object arrays: numpy before 2.0 cannot add fixed-width text arrays.
    combined = np.where(blank, n, s.astype(str).astype(object) + ":" + pd.Series(n).astype(str).to_numpy(dtype=object))
    return combined[codes] if len(codes) else np.zeros(0, dtype=object)


def event_records(dataset, t: pd.DataFrame, period: Period, persons: PersonIndex,
                  account: SourceAccount) -> tuple[pd.DataFrame, pd.DataFrame]:
    d = _layout(dataset)
    dataset = d.name
    reason = _key_reasons(t)
    day, _, day_ok = parse_yyyymmdd(t[d.start_column])
    reason[(reason == "") & ~day_ok] = "date missing or not a date"
    reason[(reason == "") & ((day < period.start) | (day > period.end))] = "outside the study period"
    ok = reason == ""
    records = pd.DataFrame({
        "key": _keys(t, ok), "source": dataset, "code": t[d.code_column].to_numpy()[ok],
        "start": day[ok].astype(np.int32), "end": day[ok].astype(np.int32), "units": np.float32(1),
        "amount": np.nan, "spread": "", "domain": "", "file": t["FILE"].to_numpy()[ok], "row": t["ROW"].to_numpy()[ok]})
    return _finish(dataset, t, reason, account, records, persons)


def case_records(dataset, t: pd.DataFrame, period: Period, persons: PersonIndex,
                 account: SourceAccount) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Prosecution and court decisions: a priced decision, plus community-service hours and
    months of probation supervision of a sentence. A court decision that sentences detention
    (``SANCTIE`` GEVANGENISSTRAF or JEUGDDETENTIE, where the file has the column) adds a record of
    code ``DETENTIEVONNIS:<SANCTIE>``: with its sentenced days (``DAGENDETENTIE``, where filled) it
    is a spell from the decision date for that many days (``units`` the days sentenced), clipped to
    the study period like every spell; without days a record of the decision day with units 0.
    Whether it is priced is lib.pricing's rule (only where GEDETINEERDENTAB is not in the run,
    never both).

    A decision and its community service count when the decision falls in the study
    period; the supervision and the sentenced days count for their days inside the period,
    so a sentence of before the period can still cost supervision or detention in it."""
    dataset = _layout(dataset).name
    reason = _key_reasons(t)
    day, _, day_ok = parse_yyyymmdd(t["DATUMBESLISSING"])
    reason[(reason == "") & ~day_ok] = "decision date missing or not a date"
    instantie = t["INSTANTIE"].str.upper().to_numpy(dtype=object)
    reason[(reason == "") & ~np.isin(instantie, ("OM", "ZM"))] = "INSTANTIE is neither OM nor ZM"
    valid = reason == ""
    hours = np.nan_to_num(t["URENTAAKSTRAF"].to_numpy(float))
    months = np.nan_to_num(t["MAANDENTOEZICHT"].to_numpy(float)).astype(np.int64)
    supervision_end = np.where(valid & (months > 0), add_months(np.where(valid, day, 0), months).astype(np.int64) - 1,
                               day)
    decided_inside = valid & (day >= period.start) & (day <= period.end)
    supervised_inside = valid & (months > 0) & (supervision_end >= period.start) & (day <= period.end)
    # A sentence of detention (optional SANCTIE) and its sentenced days (optional DAGENDETENTIE).
    sentenced = np.zeros(len(t), dtype=bool)
    sanction = np.zeros(len(t), dtype=object)
    if "SANCTIE" in t:      # decided per distinct value (code -1, a blank, takes the appended value)
        cat = pd.Categorical(t["SANCTIE"])
        names = pd.Index(cat.categories.astype(str)).str.strip().str.upper()
        sentenced = np.append(names.isin(DETENTION_SANCTIONS), False)[cat.codes]
        sanction = np.append(names.to_numpy(dtype=object), "")[cat.codes]
    sentence_days = (np.nan_to_num(t[SENTENCED_DAYS_COLUMN].to_numpy(float)) if SENTENCED_DAYS_COLUMN in t
                     else np.zeros(len(t)))
    sentence_days = np.where(sentence_days > 0, np.round(sentence_days), 0).astype(np.int64)
    jail_all = valid & (instantie == "ZM") & sentenced
    jail_end = np.where(jail_all & (sentence_days > 0), day + sentence_days - 1, day)
    detained_inside = jail_all & (jail_end >= period.start) & (day <= period.end)
    reason[valid & ~decided_inside & ~supervised_inside & ~detained_inside] = "outside the study period"
    code = np.where(instantie == "OM", "OM:" + t["BESLISSING"].str.upper().to_numpy(dtype=object),
                    "ZM:" + t["RECHTER"].str.upper().to_numpy(dtype=object))
    key = np.zeros(len(t), np.int64)
    key[valid] = _keys(t, valid)
    file, row = t["FILE"].to_numpy(), t["ROW"].to_numpy()

    def part(mask, code_values, start, end, units):
        return pd.DataFrame({"key": key[mask], "source": dataset, "code": code_values,
                             "start": start.astype(np.int32), "end": end.astype(np.int32),
                             "units": np.asarray(units, dtype=np.float32), "amount": np.nan, "spread": "", "domain": "",
                             "file": file[mask], "row": row[mask]})
    taak = decided_inside & (hours > 0)
    # A sentence of detention: a spell of its sentenced days from the decision date (the decision
    # day alone where the days are unknown), priced or not by lib.pricing (never with GEDETINEERDENTAB).
    jail = detained_inside
    j_start, j_end = np.maximum(day[jail], period.start), np.minimum(jail_end[jail], period.end)
    s = supervised_inside
    s_start, s_end = np.maximum(day[s], period.start), np.minimum(supervision_end[s], period.end)
    account.rows_clipped += int(((s_start != day[s]) | (s_end != supervision_end[s])).sum())
    account.rows_clipped += int(((j_start != day[jail]) | (j_end != jail_end[jail])).sum())
    records = pd.concat([
        part(decided_inside, code[decided_inside], day[decided_inside], day[decided_inside],
             np.ones(decided_inside.sum())),
        part(taak, np.full(taak.sum(), "TAAKSTRAF", object), day[taak], day[taak], hours[taak]),
        part(s, np.full(s.sum(), "TOEZICHT", object), s_start, s_end, np.ones(s.sum())),
        part(jail, DETENTION_SENTENCE + ":" + sanction[jail].astype(object), j_start, j_end, sentence_days[jail]),
    ], ignore_index=True)
    return _finish(dataset, t, reason, account, records, persons)


def amount_records(dataset, t: pd.DataFrame, period: Period, persons: PersonIndex,
                   account: SourceAccount) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Yearly amounts paid: each spread equally over the twelve months of its file's year.

    Amounts are read as CBS writes them (``12345.67``). A row whose amount is written otherwise
    is rejected with its text as delivered: in another notation that reads one way only
    (``12.345,67``), its euros count in "read" and "rejected"; an ambiguous or unreadable
    amount is rejected with a reason that says its euros could not be read, and the account
    notes how many such rows there are."""
    dataset = _layout(dataset).name
    account.has_amounts = True
    amount, status = amounts_of_text(t["BEDRAGJAAR"])
    t["AMOUNT"] = amount
    reason = _key_reasons(t)
    reason[(reason == "") & (status == AMOUNT_BLANK)] = AMOUNT_REASONS[AMOUNT_BLANK]
    for kind in (AMOUNT_OTHER_NOTATION, AMOUNT_AMBIGUOUS, AMOUNT_NOT_A_NUMBER):
        reason[(reason == "") & (status == kind)] = AMOUNT_REASONS[kind]
    unreadable = (status == AMOUNT_AMBIGUOUS) | (status == AMOUNT_NOT_A_NUMBER)
    if unreadable.any():
        account.notes.append(f"{int(unreadable.sum()):,} row(s) with an amount that could not be read (ambiguous or "
                             "not a number): their euros are not in the amounts read and rejected")
    other = status == AMOUNT_OTHER_NOTATION
    if other.any():
        account.notes.append(f"{int(other.sum()):,} row(s) with an amount not written as CBS writes amounts "
                             f"(EUR {float(np.nansum(amount[other])):,.2f} as read): rejected, counted in read and "
                             "rejected")
    soort = t["UITKERINGSOORT"].str.upper()
    domain = soort.map(UITKERINGSOORT_DOMAINS).to_numpy(dtype=object)
    reason[(reason == "") & pd.isna(domain)] = "benefit type has no domain (see UITKERINGSOORT_DOMAINS)"
    ok = reason == ""
    year = t["FILE_YEAR"].to_numpy()
    account.amount_read += float(np.nansum(amount))
    account.amount_used += float(amount[ok].sum())
    records = pd.DataFrame({
        "key": _keys(t, ok), "source": dataset, "code": soort.to_numpy()[ok],
        "start": days_from_ymd(year[ok], 1, 1), "end": days_from_ymd(year[ok], 12, 31), "units": np.float32(1),
        "amount": amount[ok], "spread": "months", "domain": domain[ok], "file": t["FILE"].to_numpy()[ok],
        "row": t["ROW"].to_numpy()[ok]})
    return _finish(dataset, t, reason, account, records, persons)


AMOUNT_REASONS = {
    AMOUNT_BLANK: "amount missing or not a number",
    AMOUNT_OTHER_NOTATION: "amount not written as CBS writes amounts (12345.67) but with a decimal comma or "
                           "thousands separators (12.345,67): its euros are counted in read and rejected",
    AMOUNT_AMBIGUOUS: "amount ambiguous ('1,200' is 1.2 or 1200; '1.234' in a column with decimal commas is 1.234 or "
                      "1234): its euros could not be read and are not counted",
    AMOUNT_NOT_A_NUMBER: "amount not a number: its euros could not be read and are not counted",
}


def yearly_records(dataset, t: pd.DataFrame, period: Period, persons: PersonIndex, account: SourceAccount,
                   options: ReadingOptions | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A yearly person table (a person in a year, the year from the file name): one record per count
    above 0 (``units`` the count, code the count's code), per flag that is set (``units`` 1), or per
    row (code the code column's value or the layout's fixed code). A record covers the file's year
    (``spread`` ``year``: priced once and spread evenly over the year's months), or the day of the
    date column where the layout has one and the row fills it (the cost in that month).

    GEDETINEERDENTAB: a detainee-year counts its days in custody (``units``): the days column where
    the layout has one and the row fills it, else ``options.detention_days_per_year`` (an assumption
    the account's notes and every table state; ``spread`` ``ASSUMED_DAYS_SPREAD``, so that the days
    of a court sentence covering the year replace it, lib.pricing)."""
    d = _layout(dataset)
    dataset = d.name
    options = options or ReadingOptions()
    reason = _key_reasons(t)
    year = t["FILE_YEAR"].to_numpy().astype(np.int64)
    y0, y1 = days_from_ymd(year, 1, 1).astype(np.int64), days_from_ymd(year, 12, 31).astype(np.int64)
    dated = np.zeros(len(t), dtype=bool)
    day = y0
    if d.date_column:
        day, blank, day_ok = parse_yyyymmdd(t[d.date_column])
        reason[(reason == "") & ~day_ok & ~blank] = f"{d.date_column} not a date"
        reason[(reason == "") & day_ok & ((day < y0) | (day > y1))] = f"{d.date_column} not in the year of the file"
        dated = day_ok
    reason[(reason == "") & ((y1 < period.start) | (y0 > period.end))] = "outside the study period"
    start = np.maximum(np.where(dated, day, y0), period.start)
    end = np.minimum(np.where(dated, day, y1), period.end)
    parts = []     # (rows, code, units) of each kind of record
    for code, column in d.count_columns:
        count = np.nan_to_num(t[column].to_numpy(float))
        broken = (count < 0) | (count != np.round(count))
        reason[(reason == "") & broken] = f"{column} is not a whole count of 0 or more"
        parts.append((count > 0, np.full(len(t), code, dtype=object), count))
    for code, column in d.flag_columns:
        parts.append((_flag_set(t[column]), np.full(len(t), code, dtype=object), np.ones(len(t))))
    if not parts:
        code = (t[d.code_column].astype(str).to_numpy(dtype=object) if d.code_column
                else np.full(len(t), d.fixed_code, dtype=object))
        parts.append((np.ones(len(t), dtype=bool), code, np.ones(len(t))))
    ok = reason == ""
    anything = np.zeros(len(t), dtype=bool)
    for rows, _, _ in parts:
        anything |= rows
    if d.count_columns or d.flag_columns:
        reason[ok & ~anything] = "no count above 0 and no flag set: nothing to price"
        ok = reason == ""
    spread = np.full(len(t), YEARLY_SPREAD, dtype=object)
    if dataset == DETENTION_DATASET:
        days = np.nan_to_num(t[d.days_column].to_numpy(float)) if d.days_column else np.zeros(len(t))
        assumed = ok & ~(days > 0)
        spread[assumed] = ASSUMED_DAYS_SPREAD
        parts = [(rows, code, np.where(days > 0, days, options.detention_days_per_year)) for rows, code, _ in parts]
        if assumed.any():
            account.notes.append(f"{int(assumed.sum()):,} detainee-year(s) without days in custody, each counted as "
                                 f"{options.detention_days_per_year:g} days (assumption: [sources] "
                                 "detention_days_per_year)")
    key, file, row = t["RINPERSOON"].to_numpy(), t["FILE"].to_numpy(), t["ROW"].to_numpy()
    records = pd.concat([pd.DataFrame({
        "position": np.flatnonzero(rows & ok), "key": key[rows & ok], "source": dataset, "code": code[rows & ok],
        "start": start[rows & ok].astype(np.int32), "end": end[rows & ok].astype(np.int32),
        "units": units[rows & ok].astype(np.float32), "amount": np.nan, "spread": spread[rows & ok], "domain": "",
        "file": file[rows & ok], "row": row[rows & ok]}) for rows, code, units in parts], ignore_index=True)
    # In row order, a row's records in the layout's order of its counts or flags (the first of a
    # person and year decides a person-year price).
    records = records.sort_values("position", kind="stable").drop(columns="position").reset_index(drop=True)
    return _finish(dataset, t, reason, account, records, persons)


FLAG_SET_TEXT = ("1", "J", "JA", "Y", "YES", "TRUE", "WAAR")


def _flag_set(values: pd.Series) -> np.ndarray:
    """Whether a flag column is set: a number other than 0, or J/JA/Y/TRUE (any case); decided per
    distinct value."""
    cat = pd.Categorical(values) if not isinstance(values.dtype, pd.CategoricalDtype) else values.array
    names = pd.Index(text_categorical(pd.Series(np.asarray(cat.categories, dtype=object))).astype(str)).str.upper()
    number = pd.to_numeric(pd.Series(names, dtype=object), errors="coerce").to_numpy(float)
    is_set = np.asarray(names.isin(FLAG_SET_TEXT)) | (np.isfinite(number) & (number != 0))
    return np.append(is_set, False)[np.asarray(cat.codes)]


READERS_BY_FORM = {"spells": spell_records, "events": event_records, "cases": case_records, "amounts": amount_records}


def records_of(layout: CbsDataset, t: pd.DataFrame, period: Period, persons: PersonIndex, account: SourceAccount,
               options: ReadingOptions | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Records and rejected rows of a cost dataset's rows, read as its layout's form says."""
    if layout.form == "yearly":
        return yearly_records(layout, t, period, persons, account, options)
    if layout.form not in READERS_BY_FORM:
        raise ValueError(f"{layout.name}: form {layout.form!r} gives no cost records")
    return READERS_BY_FORM[layout.form](layout, t, period, persons, account)


def appendix2_records(result: Appendix2Result, persons: PersonIndex, account: SourceAccount,
                      providers: ProviderCodes | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Records of one appendix-2 file (already parsed and validated), with the code of each row's
    provider (``provider``; ``providers`` keeps the codes of the run, see ``ProviderCodes``)."""
    account.has_amounts = True
    account.files += 1
    account.rows_read += result.rows_read
    account.rows_used += len(result.records)
    account.rows_clipped += result.clipped_rows
    account.amount_read += result.amount_read
    account.amount_used += float(result.records["amount"].sum())
    account.amount_clipped += result.amount_clipped
    account.add_rejections(result.rejected["reason"], result.rejected["amount"])
    r = result.records
    account.records += len(r)
    records = pd.DataFrame({
        "person": persons.lookup(r["key"].to_numpy(dtype=np.int64)), "source": account.source, "code": r["code"].to_numpy(),
        "start": r["start"].to_numpy(), "end": r["end"].to_numpy(), "units": np.float32(1),
        "amount": r["amount"].to_numpy(), "spread": r["spread"].to_numpy(), "domain": r["domain"].to_numpy(),
        "file": result.path.name, "row": r["line"].to_numpy(),
        "provider": (providers or ProviderCodes()).codes(r["provider"].to_numpy(dtype=object), result.path.name)})
    linked = records["person"].drop_duplicates()
    account.persons += int(linked.size)
    account.persons_not_in_register += int((linked >= persons.registered).sum())
    return records if len(records) else empty_records(), result.rejected
