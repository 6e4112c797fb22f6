"""Inspect the configured source files against their layouts: what a researcher runs first in RA.

For every file the run would read (``[sources.cbs]``, as the inventory chooses them, and the BRP
extract and appendix-2 cost files of ``[sources.municipality]`` and ``[sources.cbs] cost_files``),
without stopping at the first problem, it writes to ``<work>/00_inspect/`` (the work folder only:
the files describe microdata):

* ``columns.csv``: per file and column its position, its type as stored (``.sav`` and parquet
  metadata; CSV: text), what its values look like in the first rows read (``[--rows]``): a date
  (YYYYMMDD), a flag (0/1), a whole number, a number, a code or an identifier, the number of
  distinct and of blank values, up to five example values (not for identifiers: no person or
  object keys are copied), the column's role in the run's layout, and whether the layout knows it;
* ``layout_check.csv``: per file and role of the layout, the column the layout expects and whether
  the file has it, with the override to write when it does not;
* ``proposed_layouts.toml``: per dataset, a layout entry for the files as found, in the form of a
  layouts file (``[sources] layouts``): the layout's own names where the file has them, and for a
  column the file lacks, the one column of the file that fits the role where there is one
  (marked ``# PROPOSED``), else the layout's name (marked ``# NOT FOUND``). Check it against the
  CBS documentation on the RA desktop before naming it in the config;
* ``inspect.json``: when, with which config, which files, and the problems found.

The step never stops on a file it cannot use: it writes the reason and goes on with the next one.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lib.errors import UserFacingError
from lib.layouts import CbsDataset, builtin_entries, entry_as_toml, layout_file, layouts_for, merged_entries
from lib.readers import file_columns, iter_cbs_table, parse_yyyymmdd, row_count
from lib.sources import SourceFile, choose_cbs_files, expand_pattern, readable_formats
from lib.workfiles import write_csv_atomic, write_json_atomic, write_text_atomic

FOLDER = "00_inspect"
DEFAULT_ROWS = 100_000
EXAMPLES = 5
IDENTIFIER_SHARE = 0.5
"""A column with more distinct values than this share of its filled rows is an identifier: no examples."""
KINDS = ("empty", "date", "flag", "whole number", "number", "code", "identifier")
IDENTIFIER_COLUMNS = ("RINPERSOON", "HUISHOUDNR", "RINOBJECTNUMMER", "ZAAKID")
"""Keys of persons, households, addresses and cases: described without examples."""
ROLE_KINDS = {"start": ("date",), "end": ("date",), "date": ("date",), "days": ("whole number", "number"),
              "code": ("code", "flag"), "counts": ("whole number", "flag"), "flags": ("flag",)}
"""What a column must look like to be proposed for a role."""


@dataclass
class InspectionResult:
    folder: Path
    files: int = 0
    problems: list[str] = field(default_factory=list)
    """Datasets or files that could not be inspected, and columns of layouts not found, as lines."""


def inspect_sources(config, rows: int = DEFAULT_ROWS) -> InspectionResult:
    """Inspect every configured CBS file (see the module docstring); return what was written."""
    folder = config.work_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.iterdir():          # nothing of an earlier inspection stays beside this one
        if stale.is_file():
            stale.unlink()
    result = InspectionResult(folder)
    layouts = layouts_for(config)
    overrides = _override_entries(config)
    formats = readable_formats(config["sources"]["format_preference"])
    encoding = config["sources"]["csv_encoding"]
    column_rows, check_rows, proposals, files_seen = [], [], [], []
    for name, pattern in config["sources"]["cbs"].items():
        layout = layouts[name]
        chosen, skipped = choose_cbs_files(layout, expand_pattern(config, pattern), config.years, formats)
        if not chosen:
            reasons = "; ".join(f"{s.path.name}: {s.reason}" for s in skipped[:5]) or "no file matches"
            result.problems.append(f"{name} = {pattern!r}: no file to inspect ({reasons})")
            continue
        found: dict[str, dict] = {}
        for f in chosen:
            if encoding != "auto" and f.format == "csv":
                f = dataclasses.replace(f, encoding=encoding)
            try:
                described = describe_file(f, layout, rows)
            except UserFacingError as exc:
                result.problems.append(f"{name}: {exc}")
                continue
            result.files += 1
            files_seen.append({"dataset": name, "path": str(f.path), "rows": described.attrs["rows"]})
            column_rows.append(described)
            checked = check_against_layout(f, layout, described)
            check_rows.append(checked)
            result.problems += [f"{name}, file {f.path.name}: column {r.column} ({r.role}) not found; {r.override}"
                                for r in checked.itertuples() if not r.found and not r.optional]
            for r in described.itertuples():
                found.setdefault(r.column.upper(), {"kind": r.kind, "column": r.column})
        if found:
            proposals.append(proposed_entry(name, overrides.get(name) or builtin_entries()[name], layout, found))
    # The municipality's and providers' own files: the BRP extract and the appendix-2 cost files.
    for name, path, roles, required, advice in _own_files(config):
        try:
            described, checked = describe_own_file(name, path, roles, required, advice, rows)
        except UserFacingError as exc:
            result.problems.append(f"{name}: {exc}")
            continue
        result.files += 1
        files_seen.append({"dataset": name, "path": str(path), "rows": described.attrs["rows"]})
        column_rows.append(described)
        check_rows.append(checked)
        result.problems += [f"{name}, file {path.name}: column {r.column} ({r.role}) not found; {r.override}"
                            for r in checked.itertuples() if not r.found]
    columns = pd.concat(column_rows, ignore_index=True) if column_rows else pd.DataFrame(columns=COLUMN_FIELDS)
    checks = pd.concat(check_rows, ignore_index=True) if check_rows else pd.DataFrame(columns=CHECK_FIELDS)
    write_csv_atomic(columns[list(COLUMN_FIELDS)], folder / "columns.csv", index=False, encoding="utf-8")
    write_csv_atomic(checks[list(CHECK_FIELDS)], folder / "layout_check.csv", index=False, encoding="utf-8")
    write_text_atomic(folder / "proposed_layouts.toml", PROPOSAL_HEADER + "\n".join(proposals))
    write_json_atomic(folder / "inspect.json", {
        "config": str(config.path), "config_sha256": config.sha256, "rows_read_per_file": rows,
        "finished": _dt.datetime.now().isoformat(timespec="seconds"), "files": files_seen,
        "problems": result.problems}, indent=2)
    return result


PROPOSAL_HEADER = """# Layout entries for the files as found by scripts/inspect_sources.py (see columns.csv and
# layout_check.csv beside this file). Check every line marked PROPOSED or NOT FOUND against the CBS
# documentation of the dataset, keep the datasets you change, and name the file in the config:
#   [sources]
#   layouts = "my_layouts.toml"

"""
COLUMN_FIELDS = ("dataset", "file", "position", "column", "stored_type", "kind", "rows_read", "distinct", "blank",
                 "examples", "role", "in_layout")
CHECK_FIELDS = ("dataset", "file", "role", "column", "optional", "found", "override")


def _own_files(config):
    """(dataset, path, header -> role, required roles, what to do) of every BRP extract and appendix-2
    file the config names. Their columns are found by header names (with the aliases the readers
    accept), not by a layout: a missing column is fixed in the file's header row."""
    from lib.appendix2 import HEADER_ALIASES, KEY_COLUMNS, REQUIRED
    from lib.config import cbs_cost_files
    from lib.areas import BUURT_ALIASES, WIJK_ALIASES
    from lib.households import BRP_COLUMNS
    from lib.steps.read_sources import person_key
    municipal = config["sources"]["municipality"]
    if municipal["brp_extract"]:
        roles = {alias: name for name, aliases in BRP_COLUMNS.items() for alias in aliases}
        roles |= {a: "WIJK" for a in WIJK_ALIASES} | {a: "BUURT" for a in BUURT_ALIASES}
        yield ("BRP_EXTRACT", config.resolve(municipal["brp_extract"]), roles, tuple(BRP_COLUMNS),
               "name the column in the extract's header row (BSN, Locatiecode, Gezinsrelatie; Wijk and Buurt optional)")
    key, key_column = person_key(config)
    roles = {alias.upper(): role for alias, role in HEADER_ALIASES.items()}
    if key != "bsn":
        roles = {alias: role for alias, role in roles.items() if role != "bsn"}
    if key == "pseudonym":
        roles[" ".join(key_column.upper().split())] = "pseudoniem"
    elif key == "rin":
        roles |= {"RINPERSOONS": "rinpersoons", "RINPERSOON": "rinpersoon"}
    required = KEY_COLUMNS[key] + REQUIRED[1:]
    patterns = list(municipal["cost_files"]) + cbs_cost_files(config)
    for path in sorted({p for pattern in patterns for p in expand_pattern(config, pattern)}):
        yield ("APPENDIX2", path, roles, required,
               "ask the provider to resend the file with the columns of appendix 2 in its header row")


def describe_own_file(dataset: str, path: Path, roles: dict[str, str], required, advice: str,
                      rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A delimited text file of the municipality or a provider: its columns described (as
    ``describe_file``: kind, distinct and blank values, examples, the role its header gives it) and
    its required roles checked. Person keys are described without examples."""
    import io

    from lib.appendix2 import _separator, decode
    text, _ = decode(path)
    if not text.strip():
        raise UserFacingError(f"{path}: the file is empty (not even a header row)")
    sep = _separator(text.split("\n", 1)[0])
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, nrows=rows, index_col=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise UserFacingError(f"{path}: cannot be read as a table with separator {sep!r}: {exc}") from None
    keys = {"BSN", "bsn", "pseudoniem", "rinpersoon"}
    out = []
    for position, column in enumerate(frame.columns, start=1):
        role = roles.get(" ".join(str(column).strip().upper().split()), "")
        kind, distinct, blank, examples = describe_values(frame[column].str.strip(), identifier=role in keys)
        out.append({"dataset": dataset, "file": path.name, "position": position, "column": column, "stored_type": "text",
                    "kind": kind, "rows_read": len(frame), "distinct": distinct, "blank": blank, "examples": examples,
                    "role": role, "in_layout": bool(role)})
    described = pd.DataFrame(out, columns=list(COLUMN_FIELDS))
    described.attrs["rows"] = sum(1 for line in text.splitlines()[1:] if line.strip())
    found = {r.role: r.column for r in described.itertuples() if r.role}
    checked = pd.DataFrame([{"dataset": dataset, "file": path.name, "role": role, "column": found.get(role, role),
                             "optional": False, "found": role in found, "override": "" if role in found else advice}
                            for role in required], columns=list(CHECK_FIELDS))
    return described, checked


def _override_entries(config) -> dict[str, dict]:
    path = layout_file(config)
    if path is None:
        return {}
    import tomllib
    with open(path, "rb") as f:
        overrides = tomllib.load(f)
    return {name: entry for name, entry in merged_entries(overrides, str(path)).items() if name in overrides}


def stored_types(source: SourceFile) -> dict[str, str]:
    """Column -> type as the file stores it (.sav: numeric or string; parquet: the Arrow type; CSV: text)."""
    if source.format == "sav":
        import pyreadstat
        _, meta = pyreadstat.read_sav(str(source.path), metadataonly=True)
        return {c: ("string" if t == "string" else "numeric") for c, t in meta.readstat_variable_types.items()}
    if source.format == "parquet":
        import pyarrow.parquet as pq
        schema = pq.read_schema(source.path)
        return {n: str(schema.field(n).type) for n in schema.names}
    return {c: "text" for c in file_columns(source)}


def describe_file(source: SourceFile, layout: CbsDataset, rows: int) -> pd.DataFrame:
    """One row per column of the file: type, kind of values, distinct and blank values, examples, role."""
    columns = file_columns(source)
    types = stored_types(source)
    # Read as plain text under the names as stored (not through the layout): what the file holds.
    plain = dataclasses.replace(source, layout=dataclasses.replace(layout, renames=()))
    upper = [c.upper() for c in columns]
    chunk = next(iter_cbs_table(plain, upper, chunk_rows=rows, optional=()), None)
    roles = layout_roles(layout)
    out = []
    for position, (column, name) in enumerate(zip(columns, upper), start=1):
        values = chunk[name] if chunk is not None else pd.Series([], dtype=object)
        kind, distinct, blank, examples = describe_values(values, identifier=name in IDENTIFIER_COLUMNS
                                                          or role_of(roles, name) in IDENTIFIER_COLUMNS)
        out.append({"dataset": layout.name, "file": source.path.name, "position": position, "column": column,
                    "stored_type": types.get(column, ""), "kind": kind, "rows_read": len(values),
                    "distinct": distinct, "blank": blank, "examples": examples, "role": role_of(roles, name),
                    "in_layout": bool(role_of(roles, name))})
    frame = pd.DataFrame(out, columns=list(COLUMN_FIELDS))
    frame.attrs["rows"] = row_count(source)
    return frame


def describe_values(values: pd.Series, identifier: bool = False) -> tuple[str, int, int, str]:
    """(kind, distinct values, blank values, examples) of one column's values, decided per distinct value;
    ``identifier``: a key column by name (no examples, whatever its values look like)."""
    if values.dtype.kind in "iu":             # a person or object key read as a number
        text = pd.Series(np.where(values.to_numpy() < 0, "", values.astype(str)), dtype=object)
    else:
        text = values.astype(str).str.strip()
    counts = text[text != ""].value_counts()
    blank = int((text == "").sum())
    filled = int(counts.sum())
    if not filled:
        return "empty", 0, blank, ""
    distinct = pd.Series(counts.index, dtype=object)
    _, _, is_date = parse_yyyymmdd(distinct)
    number = pd.to_numeric(distinct, errors="coerce").to_numpy(float)
    numeric = bool(np.isfinite(number).all())
    whole = numeric and bool((number == np.round(number)).all())
    many = len(distinct) > IDENTIFIER_SHARE * filled and len(distinct) > 20
    if identifier:
        kind = "identifier"
    elif is_date.all():
        kind = "date"
    elif np.isin(distinct, ("0", "1")).all():
        kind = "flag"
    elif many:
        kind = "identifier"
    elif whole and ("0" in set(distinct) or len(distinct) > 30):
        kind = "whole number"           # a count: 0 is one of its values, or it has many
    elif numeric and not whole:
        kind = "number"
    else:
        kind = "code"
    examples = "" if kind == "identifier" else " | ".join(f"{v} ({n:,})" for v, n in counts.head(EXAMPLES).items())
    return kind, int(len(distinct)), blank, examples


def role_of(roles: dict[str, str], column: str) -> str:
    """The role of a file's column (upper case) in ``layout_roles``; ``GEM2023`` has the role of ``GEM{year}``."""
    if column in roles:
        return roles[column]
    for stored, role in roles.items():
        if "{year}" in stored and re.fullmatch(re.escape(stored).replace(re.escape("{year}"), r"\d{4}"), column):
            return role
    return ""


def layout_roles(layout: CbsDataset) -> dict[str, str]:
    """Column name in the file (upper case) -> its role in the layout."""
    roles = {stored: role for role, stored in layout.renames}
    for role, attr in (("start", "start_column"), ("end", "end_column"), ("code", "code_column"),
                       ("date", "date_column"), ("days", "days_column")):
        if getattr(layout, attr):
            roles.setdefault(getattr(layout, attr), role)
    roles.update({c: f"counts {code}" for code, c in layout.count_columns})
    roles.update({c: f"flags {code}" for code, c in layout.flag_columns})
    return roles


def check_against_layout(source: SourceFile, layout: CbsDataset, described: pd.DataFrame) -> pd.DataFrame:
    """Per column the layout names: found in the file or not, and the override to write when not."""
    have = {c.upper() for c in described["column"]}
    roles = layout_roles(layout)
    rows = []
    for column in layout.columns + layout.optional_columns:
        if "{year}" in column:
            pattern = re.compile(re.escape(column).replace(re.escape("{year}"), r"\d{4}"))
            found = any(pattern.fullmatch(c) for c in have)
        else:
            found = column in have
        rows.append({"dataset": layout.name, "file": source.path.name, "role": roles.get(column, column),
                     "column": column, "optional": column in layout.optional_columns, "found": found,
                     "override": "" if found else layout.override_hint(column)})
    return pd.DataFrame(rows, columns=list(CHECK_FIELDS))


def proposed_entry(name: str, entry: dict, layout: CbsDataset, found: dict[str, dict]) -> str:
    """The layout entry of ``name`` for the files as found (TOML text): each column the files have
    kept, a missing one replaced by the single unused column of the files that fits its role."""
    roles = layout_roles(layout)
    used = {c for c in found if role_of(roles, c)}
    notes: list[str] = []

    def fit(role: str, column: str) -> str:
        if column.upper() in found or "{year}" in column:
            return column
        kinds = ROLE_KINDS.get(role, ("code", "flag", "whole number", "number", "date"))
        candidates = [f["column"] for c, f in found.items() if c not in used and f["kind"] in kinds]
        if len(candidates) == 1:
            used.add(candidates[0].upper())
            notes.append(f"# PROPOSED: {role} = {candidates[0]!r} (the layout's {column!r} is not in the files; "
                         f"the only unused {' or '.join(kinds)} column)")
            return candidates[0]
        notes.append(f"# NOT FOUND: {role} = {column!r} is not in the files"
                     + (f"; candidates: {', '.join(candidates)}" if candidates else "; no column of the files fits"))
        return column

    proposal = {k: v for k, v in entry.items() if not isinstance(v, dict)}
    for table in ("columns", "optional"):
        roles = entry.get(table, {})
        proposal[table] = {role: ({code: fit(role, col) for code, col in value.items()} if isinstance(value, dict)
                                  else fit(role, value)) for role, value in roles.items()}
    unknown = [f["column"] for c, f in found.items() if c not in used]
    if unknown:
        notes.append("# columns of the files the layout does not use: " + ", ".join(unknown))
    return "\n".join(notes + [entry_as_toml(name, proposal)])
