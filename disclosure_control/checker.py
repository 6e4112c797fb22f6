"""Re-verifying an export folder, and writing the output-request documentation.

The checker trusts nothing it can recompute: it re-hashes every file, re-reads
every table, scans names and values for identifiers and forbidden statistics,
re-checks published counts against the threshold and, with the evidence folder,
re-runs the attacker's LPs of every table from the evidence alone.
"""

from __future__ import annotations

import hashlib
import io
import json
import string
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .identifiers import bsn_like_tokens, forbidden_statistic_reason, identifier_name_reason
from .output import CSV_DIALECTS, openpyxl_available, sha256_of
from .protection import ProtectionProblem, audit
from .rules import DisclosureRules

MANIFEST_NAME = "disclosure_manifest.json"
DEFAULT_TEMPLATES = Path(__file__).resolve().parents[1] / "output_templates"
_NINE_DIGIT_LABEL = r"(?<![0-9])[0-9]{9}(?![0-9])"


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


def check_export(export_dir: str | Path, evidence_dir: str | Path | None = None, out_dir: str | Path | None = None,
                 templates_dir: str | Path | None = None) -> CheckReport:
    """Check every file of ``export_dir``; write documentation to ``out_dir``."""
    export_dir = Path(export_dir).resolve()
    report = CheckReport(export_dir)
    if not export_dir.is_dir():
        report.findings.append(Finding(str(export_dir), "", "missing", "export folder does not exist"))
        return report
    manifest_path = export_dir / MANIFEST_NAME
    files_present = sorted(p.name for p in export_dir.iterdir() if p.name != MANIFEST_NAME)
    if not manifest_path.exists():
        report.findings.append(Finding(MANIFEST_NAME, "", "not-safe-writer",
                                       "no manifest: the folder was not written by the safe writer"))
        for name in files_present:
            report.findings.append(Finding(name, "", "not-safe-writer", "file not written by the safe writer"))
        return report
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        tables = manifest["tables"]
        rules = DisclosureRules.from_mapping(manifest.get("rules", {}))
    except (ValueError, KeyError) as error:
        report.findings.append(Finding(MANIFEST_NAME, "", "manifest", f"unreadable manifest: {error}"))
        return report

    listed = {}
    for table_name, entry in tables.items():
        for file_name, digest in entry.get("files", {}).items():
            listed[file_name] = (table_name, digest)
    for name in files_present:
        if (export_dir / name).is_dir():
            report.findings.append(Finding(name, "", "not-safe-writer", "folder inside the export folder"))
        elif name not in listed:
            report.findings.append(Finding(name, "", "not-safe-writer", "file not written by the safe writer"))
    for file_name, (table_name, digest) in sorted(listed.items()):
        path = export_dir / file_name
        if not path.exists():
            report.findings.append(Finding(file_name, "", "missing", f"file of table {table_name!r} is missing"))
        elif sha256_of(path) != digest:
            report.findings.append(Finding(file_name, "", "changed", "file changed since the safe writer wrote it"))

    evidence_dir = Path(evidence_dir).resolve() if evidence_dir else None
    if evidence_dir is None:
        report.warnings.append("no evidence folder given: audits and per-cell unit counts were not re-verified "
                               "(pass --evidence WORK_EVIDENCE_DIR)")
    sections = []
    audits: dict[str, list[str]] = {}   # audit failures per evidence problem (linked tables share one)
    for table_name in sorted(tables):
        entry = tables[table_name]
        report.tables.append(table_name)
        frames = {}
        for file_name in sorted(entry.get("files", {})):
            path = export_dir / file_name
            if not path.exists():
                continue
            if file_name.endswith(".notes.txt"):
                _check_text(path.read_text(encoding="utf-8"), file_name, report)
                continue
            frame = _read_table(path, rules, report)
            if frame is not None:
                frames[file_name] = frame
                _check_table(frame, file_name, entry, rules, report)
        if not entry.get("audit_passed", False):
            report.findings.append(Finding(table_name, "", "audit", "manifest records a failed audit"))
        if entry.get("status") == "review":
            report.warnings.append(f"table {table_name!r} is marked for review (see its notes and evidence)")
        evidence = None
        if evidence_dir is not None:
            evidence = _check_evidence(evidence_dir, table_name, entry, report, audits)
        sections.append(_table_section(table_name, entry, evidence, frames, templates_dir))
    if out_dir is not None:
        report.documentation = _write_documentation(Path(out_dir), export_dir, manifest, sections, report,
                                                    templates_dir)
    return report


def _read_table(path: Path, rules: DisclosureRules, report: CheckReport) -> pd.DataFrame | None:
    name = path.name
    try:
        if name.endswith(".xlsx"):
            if not openpyxl_available():
                report.warnings.append(f"{name}: openpyxl not installed, content not re-read (hash verified)")
                return None
            return pd.read_excel(path, sheet_name="table", dtype=str, keep_default_na=False)
        raw = path.read_bytes()
        if raw.startswith(b"\xef\xbb\xbf"):
            separator, _, encoding, _ = CSV_DIALECTS["csv_nl"]
        else:
            separator, _, encoding, _ = CSV_DIALECTS["csv"]
        return pd.read_csv(io.StringIO(raw.decode(encoding)), sep=separator, dtype=str, keep_default_na=False)
    except Exception as error:  # any unreadable file is a finding, not a crash
        report.findings.append(Finding(name, "", "unreadable", f"cannot read table: {error}"))
        return None


def _check_text(text: str, file_name: str, report: CheckReport) -> None:
    found = bsn_like_tokens(pd.Series(text.splitlines()))
    for _, row in found.iterrows():
        report.findings.append(Finding(file_name, f"line {int(row['row']) + 1}", "identifier",
                                       f"nine-digit number passing the BSN eleven-test: {row['token']}"))


def _check_table(frame: pd.DataFrame, file_name: str, entry: dict, rules: DisclosureRules,
                 report: CheckReport) -> None:
    label_columns = [c for c in entry.get("label_columns", []) if c in frame.columns]
    for column in frame.columns:
        for rule, why in (("identifier", identifier_name_reason(column)),
                          ("min-max-or-unit-output", forbidden_statistic_reason(column))):
            if why:
                report.findings.append(Finding(file_name, f"column {column}", rule, why))
    values = frame.astype(str)
    # One scan of every cell (column after column) instead of one per column.
    n_rows = len(frame)
    every_cell = bsn_like_tokens(pd.Series(values.to_numpy(dtype=object).ravel(order="F")))
    cell_column = every_cell["row"].to_numpy() // max(n_rows, 1)
    for position, column in enumerate(frame.columns):
        texts = values[column]
        found = every_cell[cell_column == position].assign(row=lambda x: x["row"] % max(n_rows, 1))
        for _, row in found.iterrows():
            report.findings.append(Finding(file_name, f"row {int(row['row']) + 1}, column {column}", "identifier",
                                           f"nine-digit number passing the BSN eleven-test: {row['token']}"))
        if column in label_columns:
            nine = texts.str.contains(_NINE_DIGIT_LABEL, regex=True)
            for i in np.flatnonzero(nine.to_numpy()):
                if not len(found) or i not in set(found["row"]):
                    report.findings.append(Finding(file_name, f"row {i + 1}, column {column}", "identifier",
                                                   f"label {texts.iloc[i]!r} looks like a nine-digit identifier"))
            for i, text in enumerate(texts):
                why = forbidden_statistic_reason(text)
                if why:
                    report.findings.append(Finding(file_name, f"row {i + 1}, column {column}",
                                                   "min-max-or-unit-output", why))
    for column in entry.get("count_columns", []):
        if column not in frame.columns:
            continue
        numbers = pd.to_numeric(frame[column].str.replace(",", ".", regex=False), errors="coerce")
        small = (numbers > 0) & (numbers < rules.min_units)
        for i in np.flatnonzero(small.to_numpy()):
            report.findings.append(Finding(file_name, f"row {i + 1}, column {column}", "threshold",
                                           f"published count {frame[column].iloc[i]} is below {rules.min_units}"))


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
    )
    return problem, np.array(record["suppressed_groups"], dtype=bool)


def _check_evidence(evidence_dir: Path, table_name: str, entry: dict, report: CheckReport,
                    audits: dict | None = None) -> dict | None:
    path = evidence_dir / entry.get("evidence_file", f"{table_name}.evidence.json")
    if not path.exists():
        report.findings.append(Finding(table_name, "", "evidence", f"no evidence file {path.name} in {evidence_dir}"))
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    if record.get("released_files") != entry.get("files"):
        report.findings.append(Finding(table_name, "", "evidence",
                                       "evidence and manifest disagree on the released files or their hashes"))
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
    n_text = ", ".join(f"{k}: {v}" for k, v in sorted(entry.get("unweighted_n", {}).items())) or "not recorded"
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
        "status": entry.get("status", ""),
        "sha256": "; ".join(f"{k}: {v}" for k, v in sorted(entry.get("files", {}).items())),
    }


def _linked_text(entry: dict) -> str:
    together = entry.get("protected_with") or []
    before = entry.get("linked_released_before") or []
    parts = []
    if together:
        parts.append("protected together with " + ", ".join(f"`{n}`" for n in together))
    if before:
        parts.append("kept the suppression pattern of " + ", ".join(f"`{n}`" for n in before))
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
