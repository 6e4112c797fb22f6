"""Turn source rows into *records*: one table of spells, actions and amounts per person.

A record is ``person, source, code, start, end, units, amount, spread, domain`` plus
where it came from (``file``, ``row``). Spells and actions have no amount (the price
tables price them later); amounts come with their domain and how to spread them over
months (``days`` or ``months``). Every row of every source ends as used, rejected
(with a reason, kept in the work folder), or superseded (the same spell repeated in a
later year's file), and the ``SourceAccount`` of the source says how many of each.

Dates are clipped to the study period; a spell still running (blank end, a
far-future end or the file's version end) runs to the end of the period.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.accounting import SourceAccount
from lib.appendix2 import Appendix2Result
from lib.dates import add_months, days_from_ymd
from lib.layouts import CBS_DATASETS, LINKABLE_RINPERSOONS, UITKERINGSOORT_DOMAINS
from lib.readers import (
    AMOUNT_AMBIGUOUS,
    AMOUNT_BLANK,
    AMOUNT_NOT_A_NUMBER,
    AMOUNT_OTHER_NOTATION,
    amounts_of_text,
    concat_tables,
    parse_yyyymmdd,
    read_cbs_table,
)
from lib.sources import SourceFile

SPELL_DATASETS = ("JGDHULPBUS", "JGDBESCHERMBUS", "JGDRECLASBUS", "WMOBUS", "BIJSTANDUITKERINGTAB", "GEDETINEERDENTAB")
EVENT_DATASETS = ("VERDTAB", "HALTTAB")
CASE_DATASETS = ("JUSTITIEZAKENBUS",)
AMOUNT_DATASETS = ("UITKERINGBEDRAGTAB",)
COST_DATASETS = SPELL_DATASETS + EVENT_DATASETS + CASE_DATASETS + AMOUNT_DATASETS
RECORD_COLUMNS = ("person", "source", "code", "start", "end", "units", "amount", "spread", "domain", "file", "row")


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
        ("row", np.int64))})


def source_columns(dataset: str) -> tuple[list[str], tuple[str, ...]]:
    """The columns (and which are numeric) the records of ``dataset`` are made from."""
    d = CBS_DATASETS[dataset]
    if dataset in SPELL_DATASETS:
        # The bijstand statistics code (optional; blank where a file lacks it) tells the
        # regulations apart: lib.pricing.apply_bijstand_codes.
        extra = [BIJSTAND_STATISTICS_COLUMN] if dataset == "BIJSTANDUITKERINGTAB" else []
        return ["RINPERSOONS", "RINPERSOON", d.start_column, d.end_column, d.code_column, *extra], ()
    if dataset in EVENT_DATASETS:
        return ["RINPERSOONS", "RINPERSOON", d.start_column, d.code_column], ()
    if dataset in CASE_DATASETS:
        # SANCTIE and DAGENDETENTIE are optional (blank where a file lacks them): which decisions
        # sentence detention, and for how many days (lib.pricing prices those days without GEDETINEERDENTAB).
        numeric = ("URENTAAKSTRAF", "MAANDENTOEZICHT", SENTENCED_DAYS_COLUMN)
        return ["RINPERSOONS", "RINPERSOON", "DATUMBESLISSING", "INSTANTIE", "BESLISSING", "RECHTER", "SANCTIE",
                *numeric], numeric
    # The amount is read as text (numbers of .sav and parquet files as their shortest exact text),
    # so a rejected row keeps the amount as delivered and its notation is judged (amount_records).
    return ["RINPERSOONS", "RINPERSOON", "UITKERINGSOORT", "BEDRAGJAAR"], ()


def read_source_files(dataset: str, files: list[SourceFile]) -> pd.DataFrame:
    """The rows of all files of a cost dataset, with the file, its year and the row number."""
    columns, numeric = source_columns(dataset)
    return _read_files(files, columns, numeric)


def _read_files(files: list[SourceFile], columns: list[str], numeric=()) -> pd.DataFrame:
    parts = []
    for f in files:
        t = read_cbs_table(f, columns, numeric)
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


def spell_records(dataset: str, t: pd.DataFrame, period: Period, persons: PersonIndex,
                  account: SourceAccount) -> tuple[pd.DataFrame, pd.DataFrame]:
    d = CBS_DATASETS[dataset]
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
    combined = np.where(blank, n, s.astype(str) + ":" + pd.Series(n).astype(str).to_numpy(dtype=object))
    return combined[codes] if len(codes) else np.zeros(0, dtype=object)


def event_records(dataset: str, t: pd.DataFrame, period: Period, persons: PersonIndex,
                  account: SourceAccount) -> tuple[pd.DataFrame, pd.DataFrame]:
    d = CBS_DATASETS[dataset]
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


def case_records(dataset: str, t: pd.DataFrame, period: Period, persons: PersonIndex,
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


def amount_records(dataset: str, t: pd.DataFrame, period: Period, persons: PersonIndex,
                   account: SourceAccount) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Yearly amounts paid: each spread equally over the twelve months of its file's year.

    Amounts are read as CBS writes them (``12345.67``). A row whose amount is written otherwise
    is rejected with its text as delivered: in another notation that reads one way only
    (``12.345,67``), its euros count in "read" and "rejected"; an ambiguous or unreadable
    amount is rejected with a reason that says its euros could not be read, and the account
    notes how many such rows there are."""
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


READERS = {**{d: spell_records for d in SPELL_DATASETS}, **{d: event_records for d in EVENT_DATASETS},
           **{d: case_records for d in CASE_DATASETS}, **{d: amount_records for d in AMOUNT_DATASETS}}


def appendix2_records(result: Appendix2Result, persons: PersonIndex,
                      account: SourceAccount) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Records of one appendix-2 file (already parsed and validated)."""
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
        "person": persons.lookup(r["bsn"].to_numpy(dtype=object).astype(np.int64)), "source": account.source, "code": r["code"].to_numpy(),
        "start": r["start"].to_numpy(), "end": r["end"].to_numpy(), "units": np.float32(1),
        "amount": r["amount"].to_numpy(), "spread": r["spread"].to_numpy(), "domain": r["domain"].to_numpy(),
        "file": result.path.name, "row": r["line"].to_numpy()})
    linked = records["person"].drop_duplicates()
    account.persons += int(linked.size)
    account.persons_not_in_register += int((linked >= persons.registered).sum())
    return records if len(records) else empty_records(), result.rejected
