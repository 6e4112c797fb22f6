"""Step 2: read and validate every source into one records table, accounting for every row.

Reads the files chosen by the inventory step. Writes to ``<work>/02_read_sources/``:

* ``persons``: the population register (GBAPERSOONTAB, or the BRP extract) as
  ``person, key, in_register, sex, birth_day``, plus persons who appear only in cost
  sources (``in_register`` false);
* ``records``: every usable spell, action and amount (see ``lib.records``);
* ``rejected/<source>.csv``: every rejected row with its reason and original fields;
* ``reconciliation.csv`` (rows and amounts read, used, rejected, superseded, clipped,
  persons) and ``rejections.csv`` (rows and amounts per source and reason).

The step fails when a source does not balance to the cent.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from lib.accounting import (
    SourceAccount,
    check_balance,
    reconciliation_table,
    rejection_table,
)
from lib.appendix2 import load_domain_mapping, read_appendix2
from lib.dates import day_number, days_from_ymd
from lib.errors import UserFacingError
from lib.layouts import LINKABLE_RINPERSOONS
from lib.pipeline import RunContext, Step, StepResult
from lib.readers import concat_tables, integers, parse_yyyymmdd, read_cbs_table
from lib.records import (
    COST_DATASETS,
    READERS,
    Period,
    PersonIndex,
    appendix2_records,
    read_source_files,
)
from lib.sources import SourceFile
from lib.workfiles import write_table


def chosen_files(ctx: RunContext) -> list[SourceFile]:
    table = pd.read_csv(ctx.earlier_step_dir("inventory") / "sources.csv", dtype={"year": "Int64", "version": "Int64"})
    return [SourceFile(r.dataset, Path(r.path), None if pd.isna(r.year) else int(r.year),
                       None if pd.isna(r.version) else int(r.version), r.format) for r in table.itertuples()]


def study_period(config) -> Period:
    years = config.years
    return Period(day_number(f"{years[0]}-01-01"), day_number(f"{years[-1]}-12-31"))


def cbs_person_register(files: list[SourceFile], account: SourceAccount) -> pd.DataFrame:
    register = [f for f in files if f.dataset == "GBAPERSOONTAB"]
    columns = ["RINPERSOONS", "RINPERSOON", "GBAGESLACHT", "GBAGEBOORTEJAAR", "GBAGEBOORTEMAAND", "GBAGEBOORTEDAG"]
    t = concat_tables([read_cbs_table(f, columns) for f in register], columns)
    account.files, account.rows_read = len(register), len(t)
    linkable = ((t["RINPERSOONS"] == LINKABLE_RINPERSOONS) & (t["RINPERSOON"] >= 0)).to_numpy()
    account.add_rejections(pd.Series("RINPERSOONS is not 'R' or RINPERSOON not a number", index=t.index[~linkable]))
    t = t[linkable]
    dup = t["RINPERSOON"].duplicated().to_numpy()
    account.add_rejections(pd.Series("RINPERSOON appears twice (first row kept)", index=t.index[dup]))
    t = t[~dup]
    account.rows_used = len(t)
    year, year_ok = integers(t["GBAGEBOORTEJAAR"])
    month, month_ok = integers(t["GBAGEBOORTEMAAND"])
    day, day_ok = integers(t["GBAGEBOORTEDAG"])
    ok = year_ok & month_ok & day_ok & (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31) & (year > 1800)
    birth = np.where(ok, days_from_ymd(np.where(ok, year, 1970), np.where(ok, month, 1), np.where(ok, day, 1)), -1)
    sex, sex_ok = integers(t["GBAGESLACHT"])
    return pd.DataFrame({"key": t["RINPERSOON"].to_numpy(), "sex": np.where(sex_ok, sex, 0).astype(np.int8),
                         "birth_day": birth.astype(np.int32)})


def brp_person_register(path: Path, account: SourceAccount) -> pd.DataFrame:
    brp = read_brp_extract(path)
    account.files, account.rows_read = 1, len(brp)
    bsn_ok = brp["BSN"].str.fullmatch(r"\d{1,9}")
    account.add_rejections(pd.Series("BSN missing or not a number", index=brp.index[~bsn_ok]))
    brp = brp[bsn_ok]
    dup = brp["BSN"].str.zfill(9).duplicated()
    account.add_rejections(pd.Series("BSN appears twice (first row kept)", index=brp.index[dup]))
    brp = brp[~dup]
    account.rows_used = len(brp)
    birth, _, birth_ok = parse_yyyymmdd(brp["GEBOORTEDATUM"])
    sex = brp["GESLACHT"].str.upper().map({"M": 1, "V": 2, "1": 1, "2": 2}).fillna(0)
    return pd.DataFrame({"key": brp["BSN"].str.zfill(9).to_numpy(dtype="U9").astype(np.int64),
                         "sex": sex.astype(np.int8).to_numpy(), "birth_day": np.where(birth_ok, birth, -1).astype(np.int32)})


def read_brp_extract(path: Path) -> pd.DataFrame:
    """The BRP extract as text columns in upper case."""
    import io

    from lib.appendix2 import decode
    text, _ = decode(path)
    first = text.split("\n", 1)[0]
    sep = max((";", ",", "\t"), key=first.count)
    brp = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    brp.columns = [c.strip().upper() for c in brp.columns]
    needed = ("BSN", "LOCATIECODE", "GEZINSRELATIE", "GEBOORTEDATUM", "GESLACHT")
    missing = [c for c in needed if c not in brp.columns]
    if missing:
        raise UserFacingError(f"{path}: the BRP extract lacks the column(s) {', '.join(missing)} (found: "
                              f"{', '.join(brp.columns)}); ask for BSN, Locatiecode, Gezinsrelatie, Geboortedatum, "
                              "Geslacht")
    return brp.apply(lambda s: s.str.strip())


def read_sources(ctx: RunContext) -> StepResult:
    config = ctx.config
    files = chosen_files(ctx)
    period = study_period(config)
    out = ctx.step_dir
    (out / "rejected").mkdir(exist_ok=True)
    accounts: list[SourceAccount] = []
    result = StepResult()

    if config["run"]["route"] == "cbs":
        register_account = SourceAccount("GBAPERSOONTAB")
        register = cbs_person_register(files, register_account)
    else:
        brp = [f for f in files if f.dataset == "BRP_EXTRACT"][0]
        register_account = SourceAccount("BRP-extract")
        register = brp_person_register(brp.path, register_account)
    accounts.append(register_account)
    persons = PersonIndex(register["key"].to_numpy())

    parts = []

    def keep(account: SourceAccount, records: pd.DataFrame, rejected: pd.DataFrame) -> None:
        accounts.append(account)
        if len(records):
            parts.append(records)
        if len(rejected):
            rejected.to_csv(out / "rejected" / f"{_file_safe(account.source)}.csv", index=False, encoding="utf-8")

    # Files are read two at a time in threads (decoding releases the GIL); rows are
    # validated and linked one dataset at a time, in a fixed order, so person ids are
    # the same on every run.
    present = [d for d in COST_DATASETS if any(f.dataset == d for f in files)]
    progress = ctx.progress("sources read and validated", len(present))
    with ThreadPoolExecutor(max_workers=2) as pool:
        tables = {d: pool.submit(read_source_files, d, [f for f in files if f.dataset == d]) for d in present}
        for done, dataset in enumerate(present):
            progress(done)
            account = SourceAccount(dataset, files=sum(f.dataset == dataset for f in files))
            table = tables.pop(dataset).result()
            keep(account, *READERS[dataset](dataset, table, period, persons, account))
            del table

    municipal = config["sources"]["municipality"]
    mapping = load_domain_mapping(config.resolve(municipal["domain_labels"]))
    for f in (f for f in files if f.dataset == "APPENDIX2"):
        parsed = read_appendix2(f.path, period.start, period.end, mapping,
                                check_eleven=municipal["bsn_eleven_test"],
                                drop_duplicates=municipal["exact_duplicates"] == "drop")
        account = SourceAccount(f"appendix2:{f.path.name}")
        records, rejected = appendix2_records(parsed, persons, account)
        if parsed.credit_notes:
            account.notes.append(f"{parsed.credit_notes} credit note(s), EUR {parsed.credit_amount:,.2f}, netted")
        account.notes.append(f"read as {parsed.encoding}, separator {parsed.separator!r}, decimal {parsed.decimal!r}")
        keep(account, records, rejected)

    check_balance(accounts)
    # A source that loses most of its rows to one data problem is probably mis-configured.
    expected = ("outside the study period", "period entirely outside the study period")
    for a in accounts:
        problems = {r: n for r, n in a.rejected.items() if r not in expected}
        if a.rows_read and sum(problems.values()) > 0.2 * a.rows_read:
            worst = max(problems, key=problems.get)
            result.notes.append(f"WARNING {a.source}: {sum(problems.values()):,} of {a.rows_read:,} rows rejected, "
                                f"most for '{worst}'; check that the configured files are the right dataset and "
                                f"version (rejected rows: {out / 'rejected'})")
    records = pd.concat(parts, ignore_index=True) if parts else None
    if records is None:
        raise UserFacingError("no usable cost record in any source: see the rejected rows in " + str(out / "rejected"))
    for column in ("source", "code", "spread", "domain", "file"):
        records[column] = records[column].astype("category")
    # The index starts with the register's keys in register order; persons found only in
    # cost sources follow, with unknown sex and date of birth.
    keys = persons.index.to_numpy()
    extra = keys.size - persons.registered
    person_table = pd.DataFrame({
        "person": np.arange(keys.size, dtype=np.int32), "key": keys,
        "in_register": np.arange(keys.size) < persons.registered,
        "sex": np.concatenate([register["sex"].to_numpy(), np.zeros(extra, np.int8)]),
        "birth_day": np.concatenate([register["birth_day"].to_numpy(), np.full(extra, -1, np.int32)])})
    write_table(person_table, out / "persons")
    write_table(records, out / "records")
    reconciliation = reconciliation_table(accounts)
    reconciliation.to_csv(out / "reconciliation.csv", index=False, encoding="utf-8")
    rejection_table(accounts).to_csv(out / "rejections.csv", index=False, encoding="utf-8")

    result.outputs = ["persons", "records", "reconciliation.csv", "rejections.csv", "rejected/"]
    for a in accounts:
        line = f"{a.source}: {a.rows_read:,} read, {a.rows_used:,} used, {a.rows_rejected:,} rejected"
        if a.rows_superseded:
            line += f", {a.rows_superseded:,} superseded by a later year's file"
        if a.has_amounts:
            line += (f"; EUR {a.amount_read:,.2f} read = {a.amount_used:,.2f} used + {a.amount_rejected:,.2f} rejected"
                     f" + {a.amount_clipped:,.2f} clipped")
        if a.persons_not_in_register:
            line += f"; {a.persons_not_in_register:,} person(s) not in the population register"
        result.notes.append(line)
        for reason, count in sorted(a.rejected.items()):
            result.notes.append(f"    rejected {count:,}: {reason}")
        result.notes += [f"    {n}" for n in a.notes]
    result.counts = {"records": len(records), "persons": len(person_table),
                     "persons not in the population register": int((~person_table["in_register"]).sum())}
    return result


def _file_safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


STEP = Step(
    name="read_sources",
    title="read and validate every source into records; account for every row and euro",
    run=read_sources,
    reads=("01_inventory/sources.csv", "the chosen source files"),
    writes=("persons", "records", "reconciliation.csv", "rejections.csv", "rejected/<source>.csv"),
)
