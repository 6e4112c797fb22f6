"""Step 2: read and validate every source into one records table, accounting for every row.

Reads the files chosen by the inventory step. Writes to ``<work>/02_read_sources/``:

* ``persons``: the population register (GBAPERSOONTAB, or the BRP extract) as
  ``person, key, in_register``, plus persons who appear only in cost sources
  (``in_register`` false). Only the person keys are read from the register (data
  minimisation: nothing uses sex or date of birth);
* ``registers/<dataset>`` (CBS route): the columns the households step uses of the household,
  address and object registers (``lib.households.register_columns``), as read, so that the
  households step and every rerun of it read the work folder and never the source files again
  (a national .sav register takes minutes to decode, its work file seconds);
* ``records``: every usable spell, action and amount (see ``lib.records``);
* ``rejected/<source>.csv``: every rejected row with its reason and original fields (the
  population register's too);
* ``duplicates/<source>.csv``: every exact duplicate row of an appendix-2 file (its line,
  the line it repeats, its amount, kept or dropped);
* ``reconciliation.csv`` (rows and amounts read, used, rejected, superseded, clipped,
  exact duplicates, persons) and ``rejections.csv`` (rows and amounts per source and
  reason);
* ``providers.csv``: the code table of the providers (``Instelling``) of the appendix-2 files
  (provider, name, files); records and the ledger carry the code (0: a register);
* ``overlap.csv``: per domain that a CBS register and providers' appendix-2 files both describe
  (the combined route), which one prices it (``[sources] overlap``) and what each holds; the records
  of the other are kept but marked ``priced_elsewhere`` (the price step prices them only to show
  their total in its log). A domain in both without a rule stops the step.

Every source file is read once, two files (or pieces of a large .sav file) at a time
(``lib.readers.read_side_by_side``: .sav files in worker processes, the others in threads).

The step fails when a source does not balance to the cent, and when a source loses more
than ``[sources] max_rejected_share`` (default 20%) of its rows or euros to one data
problem (not: lying outside the study period), unless ``[sources] accept_rejections``
names it: a domain does not silently disappear.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lib.accounting import (
    DEFAULT_MAX_REJECTED_SHARE,
    SourceAccount,
    SourceProblem,
    check_balance,
    excessive_rejections,
    reconciliation_table,
    rejection_table,
)
from lib.appendix2 import ProviderCodes, load_domain_mapping, read_appendix2
from lib.config import cbs_cost_files
from lib.records import PROVIDER_NONE, REGISTER_DOMAINS, category_codes
from lib.dates import day_number
from lib.errors import UserFacingError
from lib.households import BRP_REASON, HOUSEHOLD_REGISTERS, brp_rows, read_brp_extract, register_columns
from lib.layouts import LINKABLE_RINPERSOONS, layouts_for
from lib.pipeline import RunContext, Step, StepResult
from lib.readers import ReadRequest, concat_tables, read_side_by_side
from lib.records import (
    COST_DATASETS,
    Period,
    ReadingOptions,
    PersonIndex,
    empty_records,
    appendix2_records,
    source_columns,
    source_table,
    records_of,
)
from lib.sources import SourceFile
from lib.workfiles import write_table


def chosen_files(ctx: RunContext) -> list[SourceFile]:
    table = pd.read_csv(ctx.earlier_step_dir("inventory") / "sources.csv", dtype={"year": "Int64", "version": "Int64"})
    encodings = table["encoding"].fillna("auto").astype(str) if "encoding" in table.columns else \
        pd.Series("auto", index=table.index)
    layouts = layouts_for(ctx.config)      # the run's layouts: which column of a file has which role
    return [SourceFile(r.dataset, Path(r.path), None if pd.isna(r.year) else int(r.year),
                       None if pd.isna(r.version) else int(r.version), r.format, encoding,
                       layout=layouts.get(r.dataset))
            for r, encoding in zip(table.itertuples(), encodings)]


def registers_only(config) -> bool:
    """A run over the registers alone: ``[sources]`` names no cost source (no CBS register of costs,
    no appendix-2 file), only the population, household and address registers. Allowed, to check
    households and residence first; no costs are read, so no cost table is made (every domain is
    not measured, never zero)."""
    cbs = {name.upper() for name in config["sources"]["cbs"]}
    return not (cbs & set(COST_DATASETS)) and not config["sources"]["municipality"]["cost_files"] \
        and not cbs_cost_files(config)


def person_key(config) -> tuple[str, str]:
    """How the run's appendix-2 files name their persons (``lib.appendix2.KEY_KINDS``) and the
    pseudonym's column: RINPERSOONS/RINPERSOON on the CBS route (files CBS linked), a BSN or a
    trusted third party's pseudonym ([sources.municipality] key_column) on the municipal route."""
    if config["run"]["route"] == "cbs":
        return "rin", ""
    column = municipal_setting(config, "key_column", "BSN")
    return ("bsn", "BSN") if column.strip().upper() == "BSN" else ("pseudonym", column)


REGISTERS_ONLY_LOG = ("no costs were read: a run over the registers alone ([sources] names no cost source); "
                      "households and residence only")
"""What the log says, in every step that a run over the registers alone changes."""


def skipped_without_costs() -> StepResult:
    """The result of a step about costs (cube, baseline, coherence, selection, monitoring) in a run
    over the registers alone: it makes no table, as every table of it would show zero costs that were
    not measured."""
    return StepResult(notes=[f"skipped: {REGISTERS_ONLY_LOG}; no cost tables"])


def study_period(config) -> Period:
    years = config.years
    return Period(day_number(f"{years[0]}-01-01"), day_number(f"{years[-1]}-12-31"))


PERSON_REGISTER_COLUMNS = ["RINPERSOONS", "RINPERSOON"]


def cbs_person_register(tables: list[pd.DataFrame], account: SourceAccount) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(register, rejected rows) of GBAPERSOONTAB (``tables``: its files' ``PERSON_REGISTER_COLUMNS``, in
    file order): the keys of linkable persons, each once."""
    t = concat_tables(tables, PERSON_REGISTER_COLUMNS)
    account.files, account.rows_read = len(tables), len(t)
    reason = np.full(len(t), "", dtype=object)
    linkable = ((t["RINPERSOONS"] == LINKABLE_RINPERSOONS) & (t["RINPERSOON"] >= 0)).to_numpy()
    reason[~linkable] = "RINPERSOONS is not 'R' or RINPERSOON not a number"
    dup = linkable & pd.Series(np.where(linkable, t["RINPERSOON"].to_numpy(), -1)).duplicated().to_numpy()
    reason[dup] = "RINPERSOON appears twice (counted once)"
    used = reason == ""
    account.rows_used = int(used.sum())
    account.rows_duplicate, account.duplicates = int(dup.sum()), "dropped"
    rejected = pd.DataFrame({"row": np.flatnonzero(~used) + 1, "reason": reason[~used],
                             "RINPERSOONS": np.asarray(t["RINPERSOONS"].astype(object))[~used],
                             "RINPERSOON": t["RINPERSOON"].to_numpy()[~used]})
    account.add_rejections(rejected["reason"])
    return pd.DataFrame({"key": t["RINPERSOON"].to_numpy()[used]}), rejected


def brp_person_register(path: Path, account: SourceAccount) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(register, rejected rows) of the BRP extract: every valid BSN once, also a BSN whose rows
    place it in no household (it is a resident all the same; see ``lib.households.brp_rows``)."""
    brp = read_brp_extract(path)
    key, reason = brp_rows(brp)
    account.files, account.rows_read = 1, len(brp)
    used = reason == ""
    account.rows_used = int(used.sum())
    rejected = brp.loc[~used].rename(columns={"LOCATIECODE": "Locatiecode", "GEZINSRELATIE": "Gezinsrelatie"})
    rejected.insert(1, "reason", reason[~used])
    account.add_rejections(rejected["reason"])
    account.rows_duplicate, account.duplicates = int((reason == BRP_REASON["duplicate"]).sum()), "dropped"
    return pd.DataFrame({"key": pd.unique(key[key >= 0])}), rejected


def municipal_setting(config, key: str, default):
    """A setting of [sources.municipality], or its default where the configuration has none."""
    return config["sources"]["municipality"].get(key, default)


def file_decimal(config, path: Path) -> tuple[str | None, str]:
    """The decimal separator the configuration sets for an appendix-2 file (None: decide from the
    file), and the key that names the file in ``[sources.municipality] decimal``.

    The setting is one separator for every file (``decimal = ","``) or a table of file names
    or glob patterns (``decimal = { "zorg_bv.csv" = "," }``)."""
    import fnmatch
    setting = municipal_setting(config, "decimal", {})
    if isinstance(setting, str):
        if setting not in ("", ",", "."):
            raise UserFacingError(f'[sources.municipality] decimal = {setting!r} must be "," or "." (or a table of '
                                  'file names, e.g. { "zorg_bv.csv" = "," })')
        return (setting or None), path.name
    for pattern, value in (setting or {}).items():
        if pattern == path.name or fnmatch.fnmatch(path.name, pattern) or config.resolve(pattern) == path \
                or fnmatch.fnmatch(path.as_posix(), config.resolve(pattern).as_posix()):
            if value not in (",", "."):
                raise UserFacingError(f'[sources.municipality] decimal = {{ "{pattern}" = {value!r} }} must be "," '
                                      'or "."')
            return value, pattern
    return None, path.name


def read_sources(ctx: RunContext) -> StepResult:
    config = ctx.config
    files = chosen_files(ctx)
    period = study_period(config)
    out = ctx.step_dir
    for folder in ("rejected", "duplicates", "registers"):     # no file of an earlier run stays beside this run's
        for stale in (out / folder).glob("*.*"):
            stale.unlink()
    (out / "rejected").mkdir(exist_ok=True)
    accounts: list[SourceAccount] = []
    result = StepResult()
    layouts = layouts_for(config)
    process_peaks: dict[int, float] = {}
    tables = read_cbs_files(ctx, files, layouts, process_peaks)
    if process_peaks:
        result.notes.append(f"read in {len(process_peaks)} worker processes, peak memory "
                            + " and ".join(f"{mb:,.0f} MB" for mb in process_peaks.values())
                            + " (not in this step's peak, which is the main process's)")
        result.counts["peak MB of the reading processes together"] = round(sum(process_peaks.values()))

    if config["run"]["route"] == "cbs":
        register_account = SourceAccount("GBAPERSOONTAB")
        register, register_rejected = cbs_person_register([t for _, t in tables.pop("GBAPERSOONTAB", [])],
                                                          register_account)
    else:
        brp = [f for f in files if f.dataset == "BRP_EXTRACT"][0]
        register_account = SourceAccount("BRP-extract")
        register, register_rejected = brp_person_register(brp.path, register_account)
    accounts.append(register_account)
    if len(register_rejected):
        register_rejected.to_csv(out / "rejected" / f"{_file_safe(register_account.source)}.csv", index=False,
                                 encoding="utf-8")
    persons = PersonIndex(register["key"].to_numpy())

    parts = []

    def keep(account: SourceAccount, records: pd.DataFrame, rejected: pd.DataFrame) -> None:
        accounts.append(account)
        if len(records):
            parts.append(records)
        if len(rejected):
            rejected.to_csv(out / "rejected" / f"{_file_safe(account.source)}.csv", index=False, encoding="utf-8")

    # Rows are validated and linked one dataset at a time, in a fixed order, so person ids are
    # the same on every run.
    present = [d for d in COST_DATASETS if d in tables]
    progress = ctx.progress("sources validated", len(present))
    options = ReadingOptions(detention_days_per_year=config["sources"]["detention_days_per_year"])
    for done, dataset in enumerate(present):
        progress(done)
        account = SourceAccount(dataset, files=sum(f.dataset == dataset for f in files))
        table = source_table(tables.pop(dataset))
        keep(account, *records_of(layouts[dataset], table, period, persons, account, options))
        del table

    municipal = config["sources"]["municipality"]
    mapping = load_domain_mapping(config.resolve(municipal["domain_labels"]))
    drop_duplicates = municipal["exact_duplicates"] == "drop"
    key, key_column = person_key(config)
    providers = ProviderCodes()
    for f in (f for f in files if f.dataset == "APPENDIX2"):
        decimal, decimal_key = file_decimal(config, f.path)
        parsed = read_appendix2(f.path, period.start, period.end, mapping,
                                check_eleven=municipal["bsn_eleven_test"], drop_duplicates=drop_duplicates,
                                decimal=decimal, decimal_key=decimal_key, key=key, key_column=key_column)
        account = SourceAccount(f"appendix2:{f.path.name}")
        records, rejected = appendix2_records(parsed, persons, account, providers)
        if parsed.credit_notes:
            account.notes.append(f"{parsed.credit_notes} credit note(s), EUR {parsed.credit_amount:,.2f}, netted")
        notation = f"decimal {parsed.decimal!r}" if parsed.decimal else "amounts without decimals"
        how = "set in the configuration" if decimal else "read from the amounts"
        account.notes.append(f"read as {parsed.encoding}, separator {parsed.separator!r}, {notation} ({how})")
        account.rows_duplicate, account.amount_duplicate = parsed.duplicate_rows, parsed.duplicate_amount
        account.duplicates = "dropped" if drop_duplicates else "kept"
        if parsed.duplicate_rows:
            (out / "duplicates").mkdir(exist_ok=True)
            parsed.duplicates.to_csv(out / "duplicates" / f"{_file_safe(account.source)}.csv", index=False,
                                     encoding="utf-8")
        keep(account, records, rejected)

    check_balance(accounts)
    reconciliation = reconciliation_table(accounts)
    reconciliation.to_csv(out / "reconciliation.csv", index=False, encoding="utf-8")
    rejection_table(accounts).to_csv(out / "rejections.csv", index=False, encoding="utf-8")
    # A source that loses much of its rows or euros to data problems is mis-read or mis-configured:
    # the run stops, unless the user accepts it.
    max_share = config["sources"].get("max_rejected_share", DEFAULT_MAX_REJECTED_SHARE)
    problems, warnings = excessive_rejections(accounts, max_share, config["sources"].get("accept_rejections", []),
                                              out / "rejected")
    if problems:
        raise SourceProblem(f"{len(problems)} source(s) lose more than {max_share:.0%} of their rows or euros to one "
                            "reason (see reconciliation.csv and rejections.csv in " + str(out) + "):\n  - "
                            + "\n  - ".join(problems))
    result.notes += warnings
    records = pd.concat(parts, ignore_index=True) if parts else None
    if records is None and registers_only(config):
        records = empty_records()
        result.notes.append(REGISTERS_ONLY_LOG)
    elif records is None:
        raise UserFacingError("no usable cost record in any source: see the rejected rows in " + str(out / "rejected"))
    # Registers' records have no provider (code 0); the names are in providers.csv, never per record.
    records["provider"] = (records["provider"].fillna(PROVIDER_NONE).astype(np.int16) if "provider" in records
                           else np.full(len(records), PROVIDER_NONE, np.int16))
    for column in ("source", "code", "spread", "domain", "file"):
        records[column] = records[column].astype("category")
    overlap, overlap_lines = mark_overlap(records, config["sources"]["overlap"])
    overlap.to_csv(out / "overlap.csv", index=False, encoding="utf-8")
    providers.table().to_csv(out / "providers.csv", index=False, encoding="utf-8")
    # The index starts with the register's keys in register order; persons found only in
    # cost sources follow.
    keys = persons.index.to_numpy()
    person_table = pd.DataFrame({"person": np.arange(keys.size, dtype=np.int32), "key": keys,
                                 "in_register": np.arange(keys.size) < persons.registered})
    write_table(person_table, out / "persons")
    write_table(records, out / "records")

    result.outputs = ["persons", "records", "reconciliation.csv", "rejections.csv", "rejected/", "providers.csv",
                      "overlap.csv"] + (["registers/"] if (out / "registers").is_dir() else []) + (
        ["duplicates/"] if (out / "duplicates").is_dir() else [])
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
        if a.rows_duplicate:
            what = ("dropped (among the rejected rows)" if a.duplicates == "dropped"
                    else "kept and counted (among the used rows; [sources.municipality] exact_duplicates = 'keep')")
            euros = f", EUR {a.amount_duplicate:,.2f}" if a.has_amounts else ""
            result.notes.append(f"    exact duplicate rows: {a.rows_duplicate:,}{euros}, {what}")
        for reason, count in sorted(a.rejected.items()):
            result.notes.append(f"    rejected {count:,}: {reason}")
        result.notes += [f"    {n}" for n in a.notes]
    result.notes += overlap_lines
    result.counts |= {"records": len(records), "persons": len(person_table),
                     "persons not in the population register": int((~person_table["in_register"]).sum())}
    return result


OVERLAP_COLUMNS = ("domain", "priced_by", "register_sources", "register_records", "register_persons",
                   "provider_files", "provider_records", "provider_persons", "provider_euros")


def read_cbs_files(ctx: RunContext, files: list[SourceFile], layouts, process_peaks: dict[int, float] | None = None,
                   ) -> dict[str, list[tuple[SourceFile, pd.DataFrame]]]:
    """Read every CBS file of the run once, side by side (``lib.readers.read_side_by_side``): the
    columns each use needs. The population register's and the cost registers' tables are returned
    per dataset, in file order; the household model's registers (CBS route) are written to
    ``registers/<dataset>`` as soon as all files of one are read, and let go."""
    config = ctx.config
    cbs_route = config["run"]["route"] == "cbs"
    year = config.peildatum.year       # the municipality boundaries of the households step's (lib.households)
    requests = []
    for f in files:
        if f.dataset in COST_DATASETS:
            columns, numeric = source_columns(layouts[f.dataset])
            requests.append(ReadRequest(f.dataset, f, tuple(columns), tuple(numeric)))
        elif cbs_route and f.dataset == "GBAPERSOONTAB":
            requests.append(ReadRequest(f.dataset, f, tuple(PERSON_REGISTER_COLUMNS)))
        elif cbs_route and f.dataset in HOUSEHOLD_REGISTERS:
            columns, optional = register_columns(f.dataset, year)
            requests.append(ReadRequest(f.dataset, f, tuple(columns), (), optional))
    order = {id(r): i for i, r in enumerate(requests)}
    per_dataset: dict[str, dict[int, pd.DataFrame]] = {}
    left = {name: sum(r.name == name for r in requests) for name in HOUSEHOLD_REGISTERS}
    # Progress in megabytes: the files are read largest first, so a count of files would say little.
    size = {id(r): r.source.path.stat().st_size / 2**20 for r in requests}
    progress, done = ctx.progress("MB of source files read", sum(size.values())), 0.0
    for request, table in read_side_by_side(requests, process_peaks=process_peaks):
        done += size[id(request)]
        progress(done)
        per_dataset.setdefault(request.name, {})[order[id(request)]] = table
        if request.name in HOUSEHOLD_REGISTERS:
            left[request.name] -= 1
            if left[request.name] == 0:
                parts = [t for _, t in sorted(per_dataset.pop(request.name).items())]
                columns = list(parts[0].columns)
                (ctx.step_dir / "registers").mkdir(exist_ok=True)
                write_table(concat_tables(parts, columns), ctx.step_dir / "registers" / request.name)
        del table
    return {name: [(requests[i].source, t) for i, t in sorted(parts.items())] for name, parts in per_dataset.items()}


def mark_overlap(records: pd.DataFrame, rules: dict[str, str]) -> tuple[pd.DataFrame, list[str]]:
    """Mark the records of a domain that another source prices (``[sources] overlap``).

    A domain that a cost register (``REGISTER_DOMAINS``) and providers' appendix-2 files both
    describe is priced by one of them only: ``rules[domain]`` is 'register' or 'provider'. The
    records of the other stay in the records table (read, used and accounted like every record)
    with ``priced_elsewhere`` true; the price step prices them apart, to show their total beside the
    priced one, and leaves them out of the ledger. Adds the column ``priced_elsewhere`` to
    ``records``; returns the overlap table (``OVERLAP_COLUMNS``) and the log lines. A domain in
    both without a rule is refused, naming the setting."""
    # Decided per source and domain name, applied through their category codes: nationally the
    # records are millions of rows and few names (no text per row).
    source_names, source = category_codes(records["source"])
    domain_names, domain = category_codes(records["domain"])
    is_file = np.array([n.startswith("appendix2:") for n in source_names], dtype=bool)[source]
    file_domains = {domain_names[c] for c in np.unique(domain[is_file])}
    registers = [n for n in source_names if n in REGISTER_DOMAINS]
    register_of = {d: [r for r in registers if d in REGISTER_DOMAINS[r]] for d in file_domains}
    both = sorted(d for d, regs in register_of.items() if regs)
    missing = [d for d in both if d not in rules]
    if missing:
        raise UserFacingError(
            "the same care is described twice: " + "; ".join(
                f"domain '{d}' is in the register(s) {', '.join(register_of[d])} and in providers' appendix-2 files"
                for d in missing)
            + ". Say which source prices it in the run configuration, under [sources]: overlap = { "
            + ", ".join(f'{d} = "register"' for d in missing)
            + ' } (or "provider"); the other is read and accounted but not priced, and the log shows both totals')
    elsewhere = np.zeros(len(records), dtype=bool)
    rows, lines = [], []
    person = records["person"].to_numpy()
    amount = records["amount"].to_numpy(dtype=float)
    code_of = {name: i for i, name in enumerate(source_names)}
    for d in both:
        rule = rules[d]
        this_domain = domain == domain_names.index(d)
        in_files = is_file & this_domain
        in_register = np.isin(source, [code_of[r] for r in register_of[d]])
        shared = [r for r in register_of[d] if len(REGISTER_DOMAINS[r]) > 1 and r != "UITKERINGBEDRAGTAB"]
        if rule == "provider" and shared:
            raise UserFacingError(
                f'[sources] overlap = {{ {d} = "provider" }}: {", ".join(shared)} prices its records in several '
                f"domains ({', '.join(REGISTER_DOMAINS[shared[0]])}), decided by the price tables, so its records of "
                f"'{d}' cannot be told apart when they are read. Let the register price '{d}' ({d} = \"register\"), "
                "or leave that domain out of the providers' files")
        if "UITKERINGBEDRAGTAB" in code_of:      # its records know their domain when read (UITKERINGSOORT)
            in_register &= (source != code_of["UITKERINGBEDRAGTAB"]) | this_domain
        elsewhere |= in_files if rule == "register" else in_register
        row = {"domain": d, "priced_by": rule, "register_sources": ";".join(register_of[d]),
               "register_records": int(in_register.sum()), "register_persons": int(np.unique(person[in_register]).size),
               "provider_files": ";".join(sorted(source_names[c].split(":", 1)[1] for c in np.unique(source[in_files]))),
               "provider_records": int(in_files.sum()), "provider_persons": int(np.unique(person[in_files]).size),
               "provider_euros": round(float(amount[in_files].sum()), 2)}
        rows.append(row)
        priced, other = (("the register " + ", ".join(register_of[d]), "the providers' files") if rule == "register"
                         else ("the providers' files", "the register " + ", ".join(register_of[d])))
        lines.append(f"overlap {d}: priced by {priced} ([sources] overlap {d} = '{rule}'); {other} read and "
                     f"accounted, not priced. Register: {row['register_records']:,} records of "
                     f"{row['register_persons']:,} persons (their euros: see the price step); providers' files: "
                     f"{row['provider_records']:,} records of {row['provider_persons']:,} persons, "
                     f"EUR {row['provider_euros']:,.2f}")
    for d in sorted(set(rules) - set(both)):
        lines.append(f"overlap {d}: [sources] overlap names it, but no register and providers' file both describe it "
                     "in this run (the rule is not used)")
    records["priced_elsewhere"] = elsewhere
    return pd.DataFrame(rows, columns=list(OVERLAP_COLUMNS)), lines


def _file_safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


STEP = Step(
    name="read_sources",
    title="read and validate every source into records; account for every row and euro",
    run=read_sources,
    reads=("01_inventory/sources.csv", "the chosen source files"),
    writes=("persons", "records", "registers/<dataset>", "reconciliation.csv", "rejections.csv",
            "rejected/<source>.csv", "duplicates/<source>.csv"),
)
