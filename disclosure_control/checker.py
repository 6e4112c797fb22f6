"""Re-verifying an export folder, and writing the output-request documentation.

The checker trusts nothing it can recompute: it re-hashes every file, re-reads
every table, scans names, values, notes and the manifest for identifiers and
forbidden statistics, re-checks published counts against the threshold, checks
that the run which wrote the folder finished (``export_complete.json``) and,
with the evidence folder, re-runs the attacker's LPs of every table from the
evidence alone, checks that every cell the evidence marks suppressed shows the
suppression symbol, and that evidence and manifest describe the same tables.

Every refusal is a :class:`Finding` naming the file, the cell (``row r, column
c``), line (``line n``) or field (``tables.t.unweighted_n``), and the rule:

* ``not-safe-writer``, ``missing``, ``changed``: files not written by the safe
  writer, missing, or changed since;
* ``incomplete``: no valid completion record, or one that does not match the
  folder (a file it lists missing or changed, a file it does not list) or the
  manifest (hash, number of tables, config hash);
* ``evidence``: a manifest table without evidence (record or cells file), a
  released file whose hash in the evidence differs from the manifest, evidence
  of a released table that is not in the manifest, published rows that do not
  match the evidence rows;
* ``suppressed-published``: a number where the evidence says the cell is
  suppressed;
* ``identifier``: identifier-like names, nine-digit numbers passing the BSN
  eleven-test, also written 3-3-3 with dots, spaces or hyphens;
* ``min-max-or-unit-output``: minimum/maximum (also p0/p100) or model output;
* ``percentile``: percentile/median columns or labels when the rules do not
  allow them;
* ``value-in-notes`` / ``value-in-manifest``: a statistic value of a table
  repeated in its notes or in the manifest;
* ``threshold``, ``primary-published``, ``audit``: the disclosure rules;
* ``workbook``: the workbook of all tables (``alle_tabellen.xlsx``) has a sheet
  that is no released table, lacks one, or differs from a table's checked file
  in a cell, holds a formula or a part a workbook of plain sheets does not have.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .completion import COMPLETION_NAME, completion_problems, read_completion_record
from .identifiers import (bsn_like_tokens, forbidden_statistic_in_text, forbidden_statistic_reason,
                          identifier_name_reason, percentile_reason)
from .output import openpyxl_available, read_table_text, round_counts, sha256_of
from .protection import ProtectionProblem, audit
from .rules import DisclosureRules
from .workbook import WORKBOOK_NAME, workbook_problems

MANIFEST_NAME = "disclosure_manifest.json"
EVIDENCE_SUFFIX = ".evidence.json"
CELLS_SUFFIX = ".cells.csv"
NOTES_SUFFIX = ".notes.txt"
DEFAULT_TEMPLATES = Path(__file__).resolve().parents[1] / "output_templates"
_NINE_DIGIT_LABEL = r"(?<![0-9])[0-9]{9}(?![0-9])"
SUPPRESSED_STATUSES = ("primary", "secondary")
# Setting names that contain "min"/"max" but name a rule, not a statistic.
_SETTING_NAMES = tuple(DisclosureRules().as_dict())
_SHA256_TEXT = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Finding:
    file: str
    cell: str
    rule: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}" + (f" [{self.cell}]" if self.cell else "")
        return f"{where}: {self.rule}: {self.message}"


@dataclass
class CheckReport:
    export_dir: Path
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    documentation: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        lines = [f"Checked {len(self.tables)} table(s) in {self.export_dir}"]
        lines += [f"FINDING {f}" for f in self.findings]
        lines += [f"warning: {w}" for w in self.warnings]
        lines.append("RESULT: " + ("no findings" if self.ok else f"{len(self.findings)} finding(s)"))
        if self.documentation:
            lines.append(f"Output-request documentation: {self.documentation}")
        return "\n".join(lines)

    def add(self, file: str, cell: str, rule: str, message: str) -> None:
        self.findings.append(Finding(file, cell, rule, message))


def check_export(export_dir: str | Path, evidence_dir: str | Path | None = None, out_dir: str | Path | None = None,
                 templates_dir: str | Path | None = None) -> CheckReport:
    """Check every file of ``export_dir``; write documentation to ``out_dir``."""
    export_dir = Path(export_dir).resolve()
    report = CheckReport(export_dir)
    if not export_dir.is_dir():
        report.add(str(export_dir), "", "missing", "export folder does not exist")
        return report
    manifest_path = export_dir / MANIFEST_NAME
    files_present = sorted(p.name for p in export_dir.iterdir() if p.name != MANIFEST_NAME)
    if not manifest_path.exists():
        report.add(MANIFEST_NAME, "", "not-safe-writer", "no manifest: the folder was not written by the safe writer")
        for name in files_present:
            report.add(name, "", "not-safe-writer", "file not written by the safe writer")
        return report
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        tables = manifest["tables"]
        rules = DisclosureRules.from_mapping(manifest.get("rules", {}))
    except (ValueError, KeyError) as error:
        report.add(MANIFEST_NAME, "", "manifest", f"unreadable manifest: {error}")
        return report

    _check_files(export_dir, files_present, tables, report)
    _check_completion(export_dir, manifest_path, manifest, report)
    _check_workbook(export_dir, report)
    _check_json_texts(manifest, MANIFEST_NAME, report)
    if manifest.get("rules_sha256") and rules.fingerprint() != manifest["rules_sha256"]:
        report.add(MANIFEST_NAME, "rules", "manifest", "the rules differ from their fingerprint (rules_sha256): "
                   "they were changed after the writer applied them")
    evidence_dir = Path(evidence_dir).resolve() if evidence_dir else None
    if evidence_dir is None:
        report.warnings.append("no evidence folder given: audits, per-cell unit counts and suppressed cells were "
                               "not re-verified (pass --evidence WORK_EVIDENCE_DIR)")
    else:
        _check_evidence_inventory(evidence_dir, tables, report)
    sections = []
    audits: dict[str, list[str]] = {}   # audit failures per evidence problem (linked tables share one)
    values_of: dict[str, np.ndarray] = {}
    for table_name in sorted(tables):
        report.tables.append(table_name)
        evidence, values_of[table_name], frames = _check_table_entry(
            export_dir, evidence_dir, table_name, tables[table_name], rules, report, audits)
        sections.append(_table_section(table_name, tables[table_name], evidence, frames, templates_dir))
    _check_manifest_values(manifest, values_of, rules, report)
    if out_dir is not None:
        report.documentation = _write_documentation(Path(out_dir), export_dir, manifest, sections, report,
                                                    templates_dir)
    return report


def _check_table_entry(export_dir: Path, evidence_dir: Path | None, table_name: str, entry: dict,
                       rules: DisclosureRules, report: CheckReport, audits: dict):
    """All checks of one table: its files, notes, evidence and suppressed
    cells.  Returns its evidence record, its statistic values (for the
    manifest check) and its frames (for the documentation)."""
    frames, notes = _read_table_files(export_dir, entry, rules, report)
    for file_name, frame in frames.items():
        _check_table(frame, file_name, entry, rules, report)
    if not entry.get("audit_passed", False):
        report.add(table_name, "", "audit", "manifest records a failed audit")
    if entry.get("status") == "review":
        report.warnings.append(f"table {table_name!r} is marked for review (see its notes and evidence)")
    evidence = cells = None
    if evidence_dir is not None:
        evidence = _check_evidence(evidence_dir, table_name, entry, report, audits)
        cells = _read_evidence_cells(evidence_dir, table_name, evidence, report) if evidence else None
        for file_name, frame in frames.items():
            if cells is not None:
                _check_suppressed_cells(frame, file_name, cells, entry, rules, report)
    values = _statistic_values(frames, entry, cells)
    exempt = _exempt_numbers(frames, entry, rules)
    for file_name, text in notes.items():
        _check_text(text, file_name, report)
        _check_notes_values(text, file_name, values, exempt, report)
    return evidence, values, frames


# ------------------------------------------------------------------ files


def _check_files(export_dir: Path, files_present: list[str], tables: dict, report: CheckReport) -> None:
    """Every file is listed in the manifest (or is the completion record) and unchanged."""
    listed = {}
    for table_name, entry in tables.items():
        for file_name, digest in entry.get("files", {}).items():
            listed[file_name] = (table_name, digest)
    for name in files_present:
        if (export_dir / name).is_dir():
            report.add(name, "", "not-safe-writer", "folder inside the export folder")
        elif name not in listed and name not in (COMPLETION_NAME, WORKBOOK_NAME):
            report.add(name, "", "not-safe-writer", "file not written by the safe writer")
    for file_name, (table_name, digest) in sorted(listed.items()):
        path = export_dir / file_name
        if not path.exists():
            report.add(file_name, "", "missing", f"file of table {table_name!r} is missing")
        elif sha256_of(path) != digest:
            report.add(file_name, "", "changed", "file changed since the safe writer wrote it")


def _read_table_files(export_dir: Path, entry: dict, rules: DisclosureRules,
                      report: CheckReport) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """The table files of a manifest entry as text frames, and its notes as text
    (notes files, and the notes sheet of an XLSX table)."""
    frames, notes = {}, {}
    for file_name in sorted(entry.get("files", {})):
        path = export_dir / file_name
        if not path.exists():
            continue
        if file_name.endswith(NOTES_SUFFIX):
            try:
                notes[file_name] = path.read_bytes().decode("utf-8")
            except UnicodeDecodeError as error:
                report.add(file_name, "", "unreadable", f"notes are not UTF-8 text: {error}")
            continue
        frame = _read_table(path, rules, report)
        if frame is not None:
            frames[file_name] = frame
            if file_name.endswith(".xlsx"):
                sheet = _read_xlsx_notes(path)
                if sheet is not None:
                    notes[f"{file_name} (sheet notes)"] = sheet
    return frames, notes


def _read_table(path: Path, rules: DisclosureRules, report: CheckReport) -> pd.DataFrame | None:
    name = path.name
    try:
        if name.endswith(".xlsx"):
            if not openpyxl_available():
                report.warnings.append(f"{name}: openpyxl not installed, content not re-read (hash verified)")
                return None
        return read_table_text(path)[0]
    except Exception as error:  # any unreadable file is a finding, not a crash
        report.add(name, "", "unreadable", f"cannot read table: {error}")
        return None


def _read_xlsx_notes(path: Path) -> str | None:
    try:
        sheet = pd.read_excel(path, sheet_name="notes", header=None, dtype=str, keep_default_na=False)
    except Exception:  # no notes sheet: the table sheet was checked, nothing more to read
        return None
    return "\n".join(" ".join(str(v) for v in row if str(v)) for row in sheet.itertuples(index=False))


def _check_workbook(export_dir: Path, report: CheckReport) -> None:
    """The workbook of all tables (``disclosure_control.workbook``) holds exactly the released
    tables: a sheet per table with the cells of its checked file, the index sheet, nothing else.
    (That it is unchanged since the run is the completion record's check.)"""
    if not (export_dir / WORKBOOK_NAME).is_file():
        return
    if not openpyxl_available():
        report.warnings.append(f"{WORKBOOK_NAME}: openpyxl not installed, its sheets were not compared with the "
                               "tables (its hash is verified by the completion record)")
        return
    for where, message in workbook_problems(export_dir):
        report.add(WORKBOOK_NAME, where, "workbook", message)


# ------------------------------------------------------- completion record


def _check_completion(export_dir: Path, manifest_path: Path, manifest: dict, report: CheckReport) -> None:
    """The run that wrote the folder finished, and nothing changed since: the record is
    complete, every file it lists is there with its SHA-256 and no other file is, and it
    agrees with the manifest (number of tables, config)."""
    # A file the manifest check already refused (missing, changed, not written by the
    # safe writer) is not refused a second time for the record.
    refused = {f.file for f in report.findings}
    for cell, message in completion_problems(export_dir):
        if cell.startswith("files.") and cell[len("files."):] in refused:
            continue
        report.add(COMPLETION_NAME, cell, "incomplete", message)
    try:
        record = read_completion_record(export_dir)
    except (OSError, ValueError):
        return  # reported above
    n_tables = len(manifest.get("tables", {}))
    if "n_tables" in record and record["n_tables"] != n_tables:
        report.add(COMPLETION_NAME, "n_tables", "incomplete",
                   f"the run released {record['n_tables']} table(s), the manifest lists {n_tables}")
    config = manifest.get("provenance", {}).get("config_sha256")
    if config and "config_sha256" in record and record["config_sha256"] != config:
        report.add(COMPLETION_NAME, "config_sha256", "incomplete",
                   "the completion record and the manifest name different configurations")
    _check_json_texts(record, COMPLETION_NAME, report)


# ------------------------------------------------------------------ evidence


def _check_evidence_inventory(evidence_dir: Path, tables: dict, report: CheckReport) -> None:
    """Evidence of released tables that the manifest does not list.

    A table that failed disclosure control leaves an evidence record with
    status "fail" (and no cells file): that is expected and only noted.
    """
    if not evidence_dir.is_dir():
        report.add(str(evidence_dir), "", "evidence", "evidence folder does not exist")
        return
    known_records = {tables[t].get("evidence_file", f"{t}{EVIDENCE_SUFFIX}") for t in tables}
    not_released = []
    for path in sorted(evidence_dir.glob(f"*{EVIDENCE_SUFFIX}")):
        if path.name in known_records:
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            record = {}
        if record.get("status") == "fail" and not record.get("released_files"):
            not_released.append(path.name[:-len(EVIDENCE_SUFFIX)])
            continue
        report.add(path.name, "", "evidence",
                   f"evidence of a released table ({record.get('status', 'status unknown')}) that is not in "
                   f"{MANIFEST_NAME}: its files were removed from the export, or the evidence is of another run")
    for path in sorted(evidence_dir.glob(f"*{CELLS_SUFFIX}")):
        if path.name[:-len(CELLS_SUFFIX)] not in tables:
            report.add(path.name, "", "evidence", f"evidence cells of a table that is not in {MANIFEST_NAME}")
    if not_released:
        report.warnings.append("tables not released (evidence status 'fail'): " + ", ".join(not_released))


def _read_evidence_cells(evidence_dir: Path, table_name: str, record: dict,
                         report: CheckReport) -> pd.DataFrame | None:
    """The per-cell evidence file (statuses as text), consistent with the record."""
    path = evidence_dir / record.get("cells_file", f"{table_name}{CELLS_SUFFIX}")
    if not path.is_file():
        report.add(path.name, "", "evidence", f"no evidence cells file for table {table_name!r} in {evidence_dir}")
        return None
    try:
        cells = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except Exception as error:  # an unreadable evidence file is a finding, not a crash
        report.add(path.name, "", "evidence", f"cannot read evidence cells: {error}")
        return None
    recorded = pd.DataFrame(record.get("cells", []))
    if "status" not in cells.columns:
        report.add(path.name, "", "evidence", "evidence cells file has no status column")
        return None
    if "status" in recorded.columns and recorded["status"].astype(str).tolist() != cells["status"].tolist():
        report.add(path.name, "status", "evidence", "cells file and evidence record disagree on the cell statuses")
    return cells


def _status_column(column: str, cells_columns) -> str:
    """The evidence status column of a published column.

    A count column has ``status_<column>``.  A sum, mean, share or percentage
    of value V is decided on the sum, ``status_sum_V``; the evidence lists per
    statistic ``status_<quantity>, true_<quantity>[, true_<published column>],
    upl_..., lpl_...``, so the status of a published column with its own true
    value is the status column just before that.  Columns derived from the
    whole position (confidence, percentiles, coefficients) follow the overall
    ``status`` of the position, as the writer publishes them.
    """
    columns = list(cells_columns)
    if f"status_{column}" in columns:
        return f"status_{column}"
    if f"true_{column}" in columns:
        before = columns[:columns.index(f"true_{column}")]
        statuses = [c for c in before if c.startswith("status_")]
        if statuses:
            return statuses[-1]
    match = re.fullmatch(r"(?:sum|mean|pct)_(.+)|share_of_(.+)_pct", column)
    if match and f"status_sum_{match.group(1) or match.group(2)}" in columns:
        return f"status_sum_{match.group(1) or match.group(2)}"
    return "status"


def _check_suppressed_cells(frame: pd.DataFrame, file_name: str, cells: pd.DataFrame, entry: dict,
                            rules: DisclosureRules, report: CheckReport) -> None:
    """Every cell the evidence marks suppressed shows the suppression symbol."""
    shown = cells[cells["status"] != "hidden"].reset_index(drop=True)
    label_columns = [c for c in entry.get("label_columns", []) if c in frame.columns]
    evidence_row = _evidence_rows(frame, shown, [c for c in label_columns if c in shown.columns], file_name, report)
    symbol = rules.suppressed_symbol
    matched = evidence_row >= 0
    for column in [c for c in frame.columns if c not in label_columns]:
        status = np.full(len(frame), "", dtype=object)
        status[matched] = shown[_status_column(column, shown.columns)].to_numpy(dtype=object)[evidence_row[matched]]
        published = (frame[column].astype(str).str.strip() != symbol).to_numpy()
        for i in np.flatnonzero(np.isin(status, SUPPRESSED_STATUSES) & published):
            where = ", ".join(f"{c}={frame[c].iloc[i]}" for c in label_columns)
            report.add(file_name, f"row {i + 1}, column {column}", "suppressed-published",
                       f"the evidence marks this cell {status[i]} ({where or 'no labels'}) but the table "
                       f"shows {frame[column].iloc[i]!r} instead of {symbol!r}")


def _evidence_rows(frame: pd.DataFrame, shown: pd.DataFrame, labels: list[str], file_name: str,
                   report: CheckReport) -> np.ndarray:
    """The evidence row of every published row (-1: none).

    The writer publishes the positions that are not hidden, in the order of
    the evidence rows: published row r is the r-th such evidence row, with the
    same labels.  Where rows were reordered, added or relabelled that is a
    finding, and rows are matched on their labels instead (when the labels
    identify the rows), so a revealed cell is still found.
    """
    positional = np.arange(len(frame)) if len(frame) == len(shown) else None
    if positional is not None and all((frame[c].astype(str).to_numpy() == shown[c].astype(str).to_numpy()).all()
                                      for c in labels):
        return positional
    if positional is None:
        report.add(file_name, "", "evidence",
                   f"the table has {len(frame)} rows, the evidence {len(shown)} published positions")
    else:
        for column in labels:
            differs = np.flatnonzero(frame[column].astype(str).to_numpy() != shown[column].astype(str).to_numpy())
            if len(differs):
                i = int(differs[0])
                report.add(file_name, f"row {i + 1}, column {column}", "evidence",
                           f"label {frame[column].iloc[i]!r} differs from the evidence ({shown[column].iloc[i]!r}): "
                           "rows reordered or relabelled")
                break
    keys = shown[labels].astype(str).agg("\x1f".join, axis=1) if labels else pd.Series(dtype=str)
    if not labels or keys.duplicated().any():
        return positional if positional is not None else np.full(len(frame), -1)
    published_keys = frame[labels].astype(str).agg("\x1f".join, axis=1)
    return pd.Index(keys).get_indexer(published_keys)


# ------------------------------------------------------------ names and texts


def _check_text(text: str, file_name: str, report: CheckReport) -> None:
    """Identifiers and minimum/maximum words in the lines of a text."""
    lines = pd.Series(text.splitlines())
    for _, row in bsn_like_tokens(lines).iterrows():
        report.add(file_name, f"line {int(row['row']) + 1}", "identifier",
                   f"nine-digit number passing the BSN eleven-test: {row['token']}")
    for number, line in enumerate(lines, start=1):
        why = forbidden_statistic_in_text(line, _SETTING_NAMES)
        if why:
            report.add(file_name, f"line {number}", "min-max-or-unit-output", why)


def _json_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) of every key and text value of a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            yield where, str(key)
            yield from _json_strings(item, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _json_strings(item, f"{path}[{i}]")
    elif isinstance(value, str):
        yield path, value


def _check_json_texts(document: dict, file_name: str, report: CheckReport) -> None:
    """Identifiers and minimum/maximum words in the texts of a JSON file.

    SHA-256 digests are skipped (hex digits can form an eleven-test-valid run
    by chance); the command line in ``provenance`` is scanned for identifiers
    only, since a folder name ("C:/Users/Max") is not a statistic.
    """
    texts = [(where, text) for where, text in _json_strings(document) if not _SHA256_TEXT.fullmatch(text)]
    # One scan of all texts (a manifest holds thousands: one scan each took seconds); the first token per text.
    found = bsn_like_tokens(pd.Series([text for _, text in texts], dtype=object))
    first_token = dict(zip(found["row"].tolist()[::-1], found["token"].tolist()[::-1]))
    for i, (where, text) in enumerate(texts):
        if i in first_token:
            report.add(file_name, where, "identifier",
                       f"nine-digit number passing the BSN eleven-test: {first_token[i]}")
        if where.startswith("provenance"):
            continue
        why = forbidden_statistic_in_text(text, _SETTING_NAMES)
        if why:
            report.add(file_name, where, "min-max-or-unit-output", why)


_PLAIN_NUMBER = re.compile(r"^\s*-?[0-9]+(?:[.,][0-9]+)?\s*$")


def _check_table(frame: pd.DataFrame, file_name: str, entry: dict, rules: DisclosureRules,
                 report: CheckReport) -> None:
    label_columns = [c for c in entry.get("label_columns", []) if c in frame.columns]
    _check_column_names(frame, file_name, rules, report)
    values = frame.astype(str)
    # One scan of every cell (column after column) instead of one per column.
    n_rows = len(frame)
    every_cell = bsn_like_tokens(pd.Series(values.to_numpy(dtype=object).ravel(order="F")))
    cell_column = every_cell["row"].to_numpy() // max(n_rows, 1)
    for position, column in enumerate(frame.columns):
        texts = values[column]
        found = every_cell[cell_column == position].assign(row=lambda x: x["row"] % max(n_rows, 1))
        for _, row in found.iterrows():
            report.add(file_name, f"row {int(row['row']) + 1}, column {column}", "identifier",
                       f"nine-digit number passing the BSN eleven-test: {row['token']}")
        if column in label_columns:
            nine = texts.str.contains(_NINE_DIGIT_LABEL, regex=True)
            for i in np.flatnonzero(nine.to_numpy()):
                if not len(found) or i not in set(found["row"]):
                    report.add(file_name, f"row {i + 1}, column {column}", "identifier",
                               f"label {texts.iloc[i]!r} looks like a nine-digit identifier")
        _check_cell_words(texts, file_name, column, rules, report)
    for column in entry.get("count_columns", []):
        if column not in frame.columns:
            continue
        numbers = pd.to_numeric(frame[column].str.replace(",", ".", regex=False), errors="coerce")
        small = (numbers > 0) & (numbers < rules.min_units)
        for i in np.flatnonzero(small.to_numpy()):
            report.add(file_name, f"row {i + 1}, column {column}", "threshold",
                       f"published count {frame[column].iloc[i]} is below {rules.min_units}")


def _check_column_names(frame: pd.DataFrame, file_name: str, rules: DisclosureRules, report: CheckReport) -> None:
    for column in frame.columns:
        reasons = [("identifier", identifier_name_reason(column)),
                   ("min-max-or-unit-output", forbidden_statistic_reason(column))]
        if not rules.allow_percentiles:
            reasons.append(("percentile", percentile_reason(column)))
        for rule, why in reasons:
            if why:
                report.add(file_name, f"column {column}", rule, why)
    for _, row in bsn_like_tokens(pd.Series([str(c) for c in frame.columns])).iterrows():
        report.add(file_name, f"column {frame.columns[int(row['row'])]}", "identifier",
                   f"column name holds a nine-digit number passing the BSN eleven-test: {row['token']}")


def _check_cell_words(texts: pd.Series, file_name: str, column: str, rules: DisclosureRules,
                      report: CheckReport) -> None:
    """Minimum/maximum (and, unless allowed, percentile) words in the text
    cells of any column: labels, and anything written where a number belongs."""
    is_text = ~texts.str.match(_PLAIN_NUMBER) & ~texts.isin([rules.suppressed_symbol, ".", ""])
    reasons = {}
    for text in pd.unique(texts[is_text]):
        checks = [("min-max-or-unit-output", forbidden_statistic_reason(text))]
        if not rules.allow_percentiles:
            checks.append(("percentile", percentile_reason(text)))
        reasons[text] = [(rule, why) for rule, why in checks if why]
    for i in np.flatnonzero(is_text.to_numpy()):
        for rule, why in reasons[texts.iloc[i]]:
            report.add(file_name, f"row {i + 1}, column {column}", rule, why)


# ------------------------------------------------- statistic values elsewhere

# A number as written in a text: "600", "0.30", "1.155", "24.461.335,29".
_NUMBER_TOKEN = re.compile(r"(?<![0-9A-Za-z_.,])[0-9]+(?:[.,][0-9]+)*")
_MONTHS = ("januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december|january|"
           "february|march|may|june|july|august|october|jan|feb|mrt|mar|apr|jun|jul|aug|sep|sept|okt|oct|nov|dec")
# Dates carry no statistic; their parts (31, 12) must not be read as counts.
_DATES = re.compile(
    r"(?<![0-9])(?:(?:19|20)[0-9]{2}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}-[0-9]{1,2}-(?:19|20)[0-9]{2}|"
    r"[0-9]{1,2}/[0-9]{1,2}/(?:19|20)[0-9]{2}|(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])|"
    rf"[0-9]{{1,2}}\s+(?:{_MONTHS})\.?(?:\s+(?:19|20)[0-9]{{2}})?)(?![0-9])",
    re.IGNORECASE,
)


# Words and signs that make the number after them a threshold or setting
# ("steun >= 20 huishoudens", "ten minste 10", "Minimale steun: 20",
# "min_units = 10", "de eerste 100"), not a statistic of the table.
_THRESHOLD_BEFORE = re.compile(
    r"(?:>=|<=|>|<|\u2265|\u2264|=|ten ?minste|minstens|minimaal|maximaal|ten hoogste|hooguit|niet meer dan|"
    r"niet minder dan|meer dan|minder dan|groter dan|kleiner dan|vanaf|de eerste|at least|at most|more than|"
    r"fewer than|less than|the first|(?:minimale|maximale|drempel)\w*(?: \w+)?:)\s*$"
)


@dataclass(frozen=True)
class _Number:
    token: str
    readings: tuple[tuple[float, int], ...]   # (value, decimals) for each way to read the token
    significant: int
    percent: bool
    threshold: bool


def _readings(token: str) -> tuple[tuple[float, int], ...]:
    """Ways to read a number token: "1.155" is 1.155 or (Dutch) 1155;
    "24.461.335,29" is 24461335.29; "1.0.0" (a version) is not a number."""
    parts = re.split(r"[.,]", token)
    separators = re.findall(r"[.,]", token)
    if not separators:
        return ((float(token), 0),)
    if len(separators) == 1:
        readings = [(float(f"{parts[0]}.{parts[1]}"), len(parts[1]))]
        if len(parts[1]) == 3 and len(parts[0]) <= 3 and not parts[0].startswith("0"):
            readings.append((float(parts[0] + parts[1]), 0))
        return tuple(readings)
    grouped = all(s == separators[0] for s in separators)
    decimal_last = not grouped and all(s == separators[0] for s in separators[:-1])
    groups = parts[1:] if grouped else parts[1:-1]
    if not (grouped or decimal_last) or len(parts[0]) > 3 or any(len(g) != 3 for g in groups):
        return ()
    whole = "".join([parts[0]] + groups)
    return ((float(whole), 0),) if grouped else ((float(f"{whole}.{parts[-1]}"), len(parts[-1])),)


def _significant_digits(token: str, readings) -> int:
    """Significant digits of the least precise reading: "10.000" may be ten
    thousand (one digit), "24.461.335,29" has ten."""
    digits = re.sub(r"[^0-9]", "", token).lstrip("0")
    if any(decimals == 0 for _, decimals in readings):
        return len(digits.rstrip("0"))
    return len(digits)


def _numbers_in(text: str) -> list[_Number]:
    text = _DATES.sub(" ", text)
    out = []
    for match in _NUMBER_TOKEN.finditer(text):
        token = match.group(0)
        readings = _readings(token)
        if readings:
            percent = text[match.end():match.end() + 2].lstrip().startswith("%")
            threshold = bool(_THRESHOLD_BEFORE.search(text[max(0, match.start() - 40):match.start()].lower()))
            out.append(_Number(token, readings, _significant_digits(token, readings), percent, threshold))
    return out


def _is_year(number: _Number) -> bool:
    return number.token.isdigit() and 1900 <= int(number.token) <= 2100


def _is_code_or_zero(number: _Number) -> bool:
    """A token with a leading zero is a code ("0344", a municipality), not a
    quantity; zero itself is a boundary in running text ("groter dan 0")."""
    return bool(re.match(r"0[0-9]", number.token)) or all(value == 0 for value, _ in number.readings)


def _rule_numbers(rules: DisclosureRules) -> set[float]:
    """The rule parameters as numbers, fractions also as percentages (0.90: 90)."""
    numbers: set[float] = set()
    for value in rules.as_dict().values():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            numbers.add(float(value))
            if 0 < value < 1:
                numbers.add(round(float(value) * 100, 6))
    return numbers


def _exempt_numbers(frames: dict[str, pd.DataFrame], entry: dict, rules: DisclosureRules) -> set[float]:
    """Numbers a notes file may carry although a cell may equal them: the
    rule parameters (also as percentages: 0.90 is written 90%) and numbers in
    the table's labels and column names (a category "3+", a segment "top 5%")."""
    exempt = _rule_numbers(rules)
    texts = [str(c) for frame in frames.values() for c in frame.columns]
    for frame in frames.values():
        for column in [c for c in entry.get("label_columns", []) if c in frame.columns]:
            texts += pd.unique(frame[column].astype(str)).tolist()
    for text in texts:
        for number in _numbers_in(text):
            exempt |= {value for value, _ in number.readings}
    return exempt


def _statistic_values(frames: dict[str, pd.DataFrame], entry: dict, cells: pd.DataFrame | None) -> np.ndarray:
    """Absolute values of a table's counts, sums and means: published (from
    its files) and true (from the evidence: counts, sums, means and the
    largest contributions, suppressed cells included)."""
    parts = []
    for frame in frames.values():
        columns = [c for c in frame.columns if c in set(entry.get("count_columns", []))
                   or re.match(r"(?:sum|mean)_", str(c))]
        for column in columns:
            parts.append(pd.to_numeric(frame[column].str.replace(",", ".", regex=False), errors="coerce"))
    if cells is not None:
        pattern = re.compile(r"true_(?:n|sum|mean)_.+|n_.+|.+_largest|.+_second_largest")
        for column in [c for c in cells.columns if pattern.fullmatch(c)]:
            parts.append(pd.to_numeric(cells[column], errors="coerce"))
    if not parts:
        return np.zeros(0)
    values = np.abs(pd.concat(parts, ignore_index=True).to_numpy(dtype=float))
    return np.unique(values[np.isfinite(values)])


def _repeats_a_value(value: float, decimals: int, values: np.ndarray) -> bool:
    """A value written with ``decimals`` decimals equals a cell value rounded so."""
    if not len(values):
        return False
    return bool(np.any(np.abs(np.round(values, decimals) - abs(value)) <= 0.5 * 10.0 ** -(decimals + 6)))


def _check_notes_values(text: str, file_name: str, values: np.ndarray, exempt: set[float],
                        report: CheckReport) -> None:
    """A notes file carries no statistic of its table.

    A number is refused when it equals a count, sum or mean of the table
    (published or true, at the precision it is written with), or has more than
    four significant digits.  Years, dates, codes with a leading zero, zero,
    rule parameters and numbers of the table's own labels pass; a percentage,
    and a number stated as a threshold or setting (after ">=", "=", "ten
    minste", "Minimale steun:", ...), is not compared with counts and sums.
    """
    for line_number, line in enumerate(text.splitlines(), start=1):
        for number in _numbers_in(line):
            if _is_year(number) or _is_code_or_zero(number) or any(value in exempt for value, _ in number.readings):
                continue
            if len(bsn_like_tokens(pd.Series([number.token]))):
                continue  # refused as an identifier already
            compared = not (number.percent or number.threshold)
            if compared and any(_repeats_a_value(v, d, values) for v, d in number.readings):
                report.add(file_name, f"line {line_number}", "value-in-notes",
                           f"{number.token} is a value of the table (a count, sum or mean); notes carry no "
                           "statistics")
            elif number.significant > 4:
                report.add(file_name, f"line {line_number}", "value-in-notes",
                           f"{number.token} has {number.significant} significant digits and is not a year or a "
                           "rule parameter: it looks like a statistic, which notes must not carry")


# Manifest fields that hold numbers by design: the rules, the format, and per
# table its number of rows and counts of suppressed cells (fields named
# "suppressed_...", e.g. suppressed_cells, export_audit.suppressed_figures_checked).
_MANIFEST_NUMBERS_ALLOWED = re.compile(r"format|rules\..+|tables\.[^.]+\.(?:rows|(?:[^.]+\.)*suppressed_[^.]+)")


def _json_numbers(value: Any, path: str = "") -> Iterator[tuple[str, float, int]]:
    """(path, number, decimals) of every number of a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _json_numbers(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _json_numbers(item, f"{path}[{i}]")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        text = repr(value)
        decimals = len(text.split(".")[1]) if isinstance(value, float) and "." in text and "e" not in text else 0
        yield path, float(value), decimals


def _check_manifest_values(manifest: dict, values_of: dict[str, np.ndarray], rules: DisclosureRules,
                           report: CheckReport) -> None:
    """The manifest repeats no cell value: a number outside the fields it needs,
    or a number written in one of its texts, that equals a count, sum or mean
    of its table (or, outside the table entries, of any table) is a finding."""
    every_value = np.unique(np.concatenate(list(values_of.values()))) if values_of else np.zeros(0)
    for path, number, decimals in _manifest_numbers(manifest, _rule_numbers(rules)):
        table = path.split(".")[1].split("[")[0] if path.startswith("tables.") else None
        values = values_of.get(table, np.zeros(0)) if table else every_value
        if _repeats_a_value(number, decimals, values):
            report.add(MANIFEST_NAME, path, "value-in-manifest",
                       f"{number:g} repeats a value of table {table or '(some table)'!r}; the manifest carries "
                       "hashes, statuses and counts of suppressed cells, no table values")


def _manifest_numbers(manifest: dict, exempt: set[float]) -> Iterator[tuple[str, float, int]]:
    """(path, number, decimals) of the numbers of the manifest that could be
    table values: numeric fields other than those it needs, and numbers in its
    texts other than years, dates, codes, zero, rule parameters, thresholds and
    percentages (the command line in ``provenance`` is left out)."""
    for path, number, decimals in _json_numbers(manifest):
        if not _MANIFEST_NUMBERS_ALLOWED.fullmatch(path):
            yield path, number, decimals
    for path, text in _json_strings(manifest):
        if path.startswith("provenance") or _SHA256_TEXT.fullmatch(text):
            continue
        for found in _numbers_in(text):
            if _is_year(found) or _is_code_or_zero(found) or found.percent or found.threshold:
                continue
            for value, decimals in found.readings:
                if value not in exempt:
                    yield path, value, decimals


def _evidence_problem(record: dict) -> tuple[ProtectionProblem, np.ndarray]:
    def numbers(values):
        return np.array([float(v) for v in values], dtype=float)

    def matrix(m):
        return sp.csr_matrix((m["data"], (m["row"], m["col"])), shape=tuple(m["shape"]))

    n_groups = max(record["group"]) + 1 if record["group"] else 0
    problem = ProtectionProblem(
        values=numbers(record["values"]), lower=numbers(record["lower"]), upper=numbers(record["upper"]),
        equalities=matrix(record["equalities"]), inequalities=matrix(record["inequalities"]),
        group=np.array(record["group"], dtype=np.int64), group_weight=np.zeros(n_groups),
        upper_protection=numbers(record["upper_protection"]), lower_protection=numbers(record["lower_protection"]),
        fixed=np.full(n_groups, -1),
        silent=np.isin(np.arange(len(record["values"])), record.get("silent", [])),
    )
    return problem, np.array(record["suppressed_groups"], dtype=bool)


def _check_evidence(evidence_dir: Path, table_name: str, entry: dict, report: CheckReport,
                    audits: dict | None = None) -> dict | None:
    path = evidence_dir / entry.get("evidence_file", f"{table_name}{EVIDENCE_SUFFIX}")
    if not path.exists():
        report.add(path.name, "", "evidence", f"no evidence for table {table_name!r} in {evidence_dir}")
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        report.add(path.name, "", "evidence", f"unreadable evidence: {error}")
        return None
    _compare_released_files(record.get("released_files") or {}, entry.get("files") or {}, table_name, report)
    if record.get("status") not in ("pass", "review"):
        report.findings.append(Finding(table_name, "", "evidence", f"evidence status is {record.get('status')!r}"))
    rules = DisclosureRules.from_mapping(record.get("rules", {}))
    cells = pd.DataFrame(record.get("cells", []))
    if not cells.empty:
        # Per statistic of a cell ("status_<statistic>"): a count may be
        # published beside a suppressed mean; evidence of writers before that
        # has one status per cell.
        layer_status = [c for c in cells.columns if c.startswith("status_")]
        published_all = cells["status"] == "safe"
        published_any = (cells[layer_status] == "safe").any(axis=1) if layer_status else published_all
        for column in [c for c in cells.columns if c.startswith("n_") and not c.endswith("_consequent")]:
            counts = pd.to_numeric(cells[column], errors="coerce")
            small = published_any & (counts > 0) & (counts < rules.min_units)
            for i in np.flatnonzero(small.to_numpy()):
                report.findings.append(Finding(table_name, _cell_label(cells, record, i), "threshold",
                                               f"published cell rests on {int(counts.iloc[i])} {column[2:]} "
                                               f"(< {rules.min_units})"))
        if "rules_failed" in cells.columns:
            unsafe = published_all & (cells["rules_failed"].fillna("") != "")
            for i in np.flatnonzero(unsafe.to_numpy()):
                report.findings.append(Finding(table_name, _cell_label(cells, record, i), "primary-published",
                                               f"published although it fails: {cells['rules_failed'].iloc[i]}"))
        for column in layer_status:
            quantity = column[len("status_"):]
            if f"upl_{quantity}" not in cells.columns:
                continue
            need = (pd.to_numeric(cells[f"upl_{quantity}"], errors="coerce").fillna(0) > 0) | \
                (pd.to_numeric(cells[f"lpl_{quantity}"], errors="coerce").fillna(0) > 0)
            unsafe = (cells[column] == "safe") & need & ~published_all
            for i in np.flatnonzero(unsafe.to_numpy()):
                report.findings.append(Finding(table_name, _cell_label(cells, record, i), "primary-published",
                                               f"{quantity} published although it needs protection "
                                               f"({cells['rules_failed'].iloc[i] if 'rules_failed' in cells else ''})"))
    problem_record = record.get("problem")
    if problem_record:
        # Linked tables protected together share one problem: audit it once.
        digest = hashlib.sha256(json.dumps(problem_record, sort_keys=True).encode("utf-8")).hexdigest()
        audits = {} if audits is None else audits
        failures = audits.get(digest)
        if failures is None:
            problem, suppressed = _evidence_problem(problem_record)
            failures = list(audit(problem, suppressed).failures)
            for a, b in problem_record.get("implies", []):
                if suppressed[a] and not suppressed[b]:
                    failures.append(f"group {b} is published although group {a}, which takes it along "
                                    "(a count and its mean), is suppressed")
            audits[digest] = failures
        for failure in failures:
            report.findings.append(Finding(table_name, "", "audit", "re-run audit: " + failure))
    return record


def _compare_released_files(in_evidence: dict, in_manifest: dict, table_name: str, report: CheckReport) -> None:
    """The evidence records the same files, with the same hashes, as the manifest."""
    for file_name in sorted(set(in_evidence) | set(in_manifest)):
        if file_name not in in_evidence:
            report.add(file_name, "", "evidence", f"the evidence of table {table_name!r} does not list this file")
        elif file_name not in in_manifest:
            report.add(file_name, "", "evidence", f"the evidence of table {table_name!r} lists this file, the "
                       "manifest does not")
        elif in_evidence[file_name] != in_manifest[file_name]:
            report.add(file_name, "", "evidence", "the SHA-256 in the evidence differs from the manifest's: the "
                       "evidence is of another release of this table")


def _cell_label(cells: pd.DataFrame, record: dict, i: int) -> str:
    labels = record.get("label_columns", [])
    if not labels:
        return f"row {i + 1}"
    return ", ".join(f"{c}={cells[c].iloc[i]}" for c in labels if c in cells.columns)


def _table_section(name: str, entry: dict, evidence: dict | None, frames: dict, templates_dir) -> dict:
    meta = (evidence or {}).get("metadata", {})
    rules = (evidence or {}).get("rules") or {}
    columns = []
    for frame in frames.values():
        columns = list(frame.columns)
    unweighted = _unweighted_n(evidence) or entry.get("unweighted_n", {})
    if str(entry.get("kind", "")).startswith("model"):
        # The units behind a model's rows are counts of other tables (a cohort's size beside its
        # suppressed parts): the checker reads them in the evidence.
        unweighted = {}
    base = rules.get("rounding_base") or 0
    if base:
        # As the tables publish counts: an exact total beside rounded tables undoes their rounding.
        unweighted = {k: f"{int(round_counts([v], base)[0])} (rounded to a multiple of {base})"
                      for k, v in unweighted.items()}
    n_text = ", ".join(f"{k}: {v}" for k, v in sorted(unweighted.items())) or (
        "not stated for a model table (see the evidence)" if str(entry.get("kind", "")).startswith("model")
        else "not recorded")
    suppressed = f"{entry.get('suppressed_cells', 0)} cell(s) suppressed"
    if evidence:
        cells = pd.DataFrame(evidence.get("cells", []))
        if not cells.empty:
            primary = int((cells["status"] == "primary").sum())
            secondary = int((cells["status"] == "secondary").sum())
            by_rule: dict[str, int] = {}
            for text in cells.loc[cells["status"] == "primary", "rules_failed"].fillna(""):
                for rule in filter(None, text.split(";")):
                    by_rule[rule] = by_rule.get(rule, 0) + 1
            rule_text = ", ".join(f"{k}: {v}" for k, v in sorted(by_rule.items())) or "none"
            suppressed = (f"{primary} primary (failing {rule_text}) and {secondary} secondary (complementary) "
                          f"cell(s) suppressed; method: {evidence.get('secondary_method', '')}")
    return {
        "name": name,
        "title": meta.get("title", name),
        "kind": entry.get("kind", ""),
        "files": ", ".join(sorted(entry.get("files", {}))),
        "variables": ", ".join(columns) if columns else ", ".join(entry.get("label_columns", []) + entry.get("statistic_columns", [])),
        "classifications": ", ".join(entry.get("label_columns", [])) or "none",
        "unit": meta.get("unit", "see notes"),
        "population": meta.get("population", "see notes"),
        "period": meta.get("period", "see notes"),
        "unweighted_n": n_text,
        "rules": _rules_text(rules) if rules else "see the manifest rules",
        "suppressed": suppressed,
        "audit": "passed (re-run from the evidence)" if evidence else "passed (per manifest; not re-run)",
        "linked": _linked_text(entry),
        "population_audit": _population_audit_text(entry, evidence),
        "status": entry.get("status", ""),
        "sha256": "; ".join(f"{k}: {v}" for k, v in sorted(entry.get("files", {}).items())),
    }


def _population_audit_text(entry: dict, evidence: dict | None) -> str:
    """What the export-wide audit covered for one table: the tables about the same units, the
    relations it held, and its result (from the manifest; the intervals are in the evidence)."""
    summary = entry.get("export_audit") or {}
    if not summary.get("audited"):
        return "not part of the export-wide audit (a model or coefficient table: rules per row)"
    others = ", ".join(entry.get("same_population", [])) or "none"
    figures = (evidence or {}).get("export_audit", {}).get("figures", [])
    checked = len(figures) if evidence else summary.get("suppressed_figures_checked", 0)
    result = "every suppressed figure keeps its protection interval" if summary.get("all_protected", False) \
        else "FAILED for some figures"
    return (f"audited with the other tables about the same units ({others}); relations: every figure as a sum of "
            "the same atoms (units and their parts of amounts), so shares x counts, means x counts, totals and "
            "row identities, the same quantity in several tables, nested and ranked groups (rank order), rules "
            f"and their reverse; method: {summary.get('method', '')}; {checked} suppressed figure(s) checked: {result}")


def _unweighted_n(evidence: dict | None) -> dict[str, int]:
    """Units in the whole table per unit kind, from the evidence (the largest
    cell is the grand total); the documentation needs it, the manifest not."""
    cells = pd.DataFrame((evidence or {}).get("cells", []))
    if "status" in cells:
        # Only published cells: the units behind a suppressed row are what it protects.
        cells = cells[cells["status"] == "safe"]
    out = {}
    for column in cells.columns:
        if column.startswith("n_") and not column.endswith(("_rule", "_consequent")):
            counts = pd.to_numeric(cells[column], errors="coerce")
            if counts.notna().any():
                out[column[2:]] = int(counts.max())
    return out


def _linked_text(entry: dict) -> str:
    together = entry.get("protected_with") or []
    before = entry.get("linked_released_before") or []
    parts = []
    if together:
        parts.append("protected together with " + ", ".join(f"`{n}`" for n in together))
    if before:
        parts.append("kept the suppression pattern of " + ", ".join(f"`{n}`" for n in before))
    for identity in entry.get("identities") or []:
        parts.append(f"with the definition {identity}")
    return "; ".join(parts) if parts else "none (shares no cells with other tables)"


def _rules_text(rules: dict) -> str:
    return (f"at least {rules['min_units']} units per cell; dominance ({rules['dominance_n']}, "
            f"{rules['dominance_k']:.0%}); p%-rule {rules['p_percent']:.0%}; zero cells "
            f"{'flagged' if rules['flag_zero_cells'] else 'allowed'}; 100% cells "
            f"{'flagged' if rules['flag_full_cells'] else 'allowed'}; protection level "
            f"{rules['protection_level']:.0%}; rounding {rules['rounding_base'] or 'none'}")


def _write_documentation(out: Path, export_dir: Path, manifest: dict, sections: list[dict],
                         report: CheckReport, templates_dir) -> Path:
    templates = Path(templates_dir) if templates_dir else DEFAULT_TEMPLATES
    request_template = templates / "output_request.md"
    table_template = templates / "table_section.md"
    for path in (request_template, table_template):
        if not path.exists():
            raise FileNotFoundError(f"output-request template missing: {path}")
    table_text = string.Template(table_template.read_text(encoding="utf-8"))
    body = "\n".join(table_text.substitute(section) for section in sections)
    provenance = manifest.get("provenance", {})
    findings = "\n".join(f"- {f}" for f in report.findings) or "- none"
    warnings = "\n".join(f"- {w}" for w in report.warnings) or "- none"
    text = string.Template(request_template.read_text(encoding="utf-8")).substitute(
        export_folder=export_dir.name,
        n_tables=len(sections),
        writer_version=manifest.get("writer_version", ""),
        rules_sha256=manifest.get("rules_sha256", ""),
        rules=_rules_text(manifest.get("rules", {})) if manifest.get("rules") else "",
        script=provenance.get("script", "not recorded"),
        config_sha256=provenance.get("config_sha256", "not recorded"),
        check_result="no findings" if report.ok else f"{len(report.findings)} finding(s)",
        findings=findings,
        warnings=warnings,
        tables=body,
    )
    out.mkdir(parents=True, exist_ok=True)
    path = out / "output_request.md"
    path.write_bytes(text.encode("utf-8"))
    return path
