"""Step 10: publish every requested table through disclosure control, then check the export.

Replays the table requests of all steps (``lib.export_requests``) through one
``disclosure_control.SafeWriter``, keeping the evidence in ``<work>/evidence``. Then
re-verifies the whole export folder with the export checker and writes the
output-request documentation to ``<work>/NN_export/output_request/``. A table that fails
disclosure control is not written; the log says why.

The export folder the user sees is never written into. The writer writes a fresh staging
folder beside it (``<export>.staging-<token>``, and ``<work>/evidence.staging-<token>`` for
the evidence); when every table is written, audited and the manifest is final, the
completion record (``export_complete.json``: run id, config hash, number of tables, every
file with its SHA-256, time) is written into it, and only then do the staging folders
replace the export and evidence folders (``disclosure_control.completion.replace_folders``:
old folder renamed aside, staging renamed into place, old deleted). A failure or Ctrl+C
before that leaves the previous export as it was and removes the staging folders; what a
killed run leaves is restored or removed by the next run. A file open in another program
(a table open in Excel) stops the step with a message naming it, the previous export
untouched. Once the new export is in place, the report step's ``output_request.zip`` (which
holds the previous export) is removed; the report step makes the new one. The check comes
last, on the export folder in place, so it sees the finished folder with its record (it
refuses a folder without one). The record says the run finished writing; the check's
findings say whether the folder may leave the environment.

With ``output_format = "xlsx"`` the tables are written as CSV and, when openpyxl is installed,
one workbook with them all (``alle_tabellen.xlsx``: a sheet per table and an index) is made from
those files in the staging folder before the completion record; the check compares its sheets
with the tables. Without openpyxl there is no workbook (the run log says so at the start).
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pandas as pd

from disclosure_control import DisclosureRules, SafeWriter, check_export
from disclosure_control.completion import (FolderInUse, clean_leftovers, ensure_replaceable, remove_tree,
                                           replace_folders, staging_folder, staging_token, unknown_files,
                                           write_bytes_atomic, write_completion_record)
from disclosure_control.output import openpyxl_available
from disclosure_control.workbook import WORKBOOK_NAME, write_workbook
from lib.errors import UserFacingError
from lib.export_requests import collect_requests
from lib.pipeline import RunContext, Step, StepResult, step_folder


class ExportFolderInUse(UserFacingError):
    """The export (or evidence) folder cannot be replaced: a file in it is open in another program."""


def folder_in_use_error(error: FolderInUse, what: str) -> UserFacingError:
    """The message for a file that kept ``what`` from being replaced: which file, and what to do."""
    reason = f" ({error.reason})" if error.reason else ""
    if error.folder is not None and error.path != error.folder:
        problem = f"the file {error.path} is open in another program (a table open in Excel?) or not writable{reason}"
        fix = "Close it (in Excel: close the workbook)"
    else:
        problem = (f"the folder {error.path} is in use{reason}: a file in it is open in another program (Excel), "
                   "or a window or command prompt has the folder open")
        fix = "Close it"
    return ExportFolderInUse(f"cannot replace the {what}: {problem}. {fix}, then run the step again. Nothing was "
                             f"changed: the previous {what} is as it was.")


def publish_tables(ctx: RunContext) -> StepResult:
    config = ctx.config
    export_dir = Path(config.export_dir).resolve()  # the real folder (not a link to it) is replaced
    evidence = (config.work_dir / "evidence").resolve()
    documentation = ctx.step_dir / "output_request"
    result = StepResult(outputs=["released.csv", "output_request/"])
    # What a run that was killed left beside the folders: restored (a previous folder renamed
    # aside) or removed (staging folders), each named in the log.
    for target in (export_dir, evidence, documentation):
        result.notes += clean_leftovers(target)
    foreign = unknown_files(export_dir)
    if foreign:
        raise UserFacingError(
            f"the export folder {export_dir} holds files the bundle did not write: {', '.join(foreign[:10])}"
            f"{' ...' if len(foreign) > 10 else ''}. The export step replaces the folder as a whole: move these "
            "files elsewhere (or choose another export_dir), then run the step again.")
    try:  # on Windows a file open in Excel would keep the folder from being replaced: say so before the work
        ensure_replaceable(export_dir)
        ensure_replaceable(evidence)
    except FolderInUse as error:
        raise folder_in_use_error(error, "export") from None

    token = staging_token()
    staging, staging_evidence = staging_folder(export_dir, token), staging_folder(evidence, token)
    staging_documentation = staging_folder(documentation, token)
    try:
        rows = _release(ctx, staging, staging_evidence)
        table = pd.DataFrame(rows, columns=["table", "step", "status", "primary_suppressed",
                                            "secondary_suppressed", "method", "reasons", "warnings"])
        for row in rows:
            line = (f"{row['table']}: {row['status']} ({row['primary_suppressed']} primary, "
                    f"{row['secondary_suppressed']} secondary suppressions)")
            if row["status"] not in ("pass", "review"):
                line += " NOT RELEASED: " + row["reasons"]
            result.notes.append(line)
        n_released = int(table["status"].isin(["pass", "review"]).sum())
        if n_released and wants_workbook(config) and openpyxl_available():
            # Made from the tables the writer wrote (never from unit data), before the completion
            # record, which lists it with its SHA-256; the checker compares its sheets with the tables.
            write_workbook(staging)
            result.outputs.append(WORKBOOK_NAME)
            result.notes.append(f"Excel workbook {WORKBOOK_NAME}: {n_released} tables, a sheet each, and an index")
        # Nothing released: no manifest, nothing to mark complete; the empty folder replaces the
        # previous export all the same (that one is not the result of this run), and the check says so.
        if n_released:
            write_completion_record(staging, run_id=config["run"]["name"], config_sha256=config.sha256,
                                    n_tables=n_released)
        try:
            result.notes += replace_folders([(staging, export_dir), (staging_evidence, evidence)], token)
        except FolderInUse as error:
            raise folder_in_use_error(error, "export") from None
        result.notes += _remove_previous_package(ctx)
        write_bytes_atomic(ctx.step_dir / "released.csv",
                           table.to_csv(index=False, lineterminator="\n").encode("utf-8"))
        report = check_export(export_dir, evidence_dir=evidence, out_dir=staging_documentation)
        try:
            result.notes += replace_folders([(staging_documentation, documentation)], token)
        except FolderInUse as error:
            raise folder_in_use_error(error, "output-request documentation") from None
        write_bytes_atomic(ctx.step_dir / "check_export.txt", (report.summary() + "\n").encode("utf-8"))
    finally:
        # Left only when the step stopped before the swap (or after it, for the documentation).
        for path in (staging, staging_evidence, staging_documentation):
            try:
                remove_tree(path)
            except OSError:
                pass  # named and removed by the next run (clean_leftovers)
    result.counts = {"tables requested": len(table), "tables released": n_released,
                     "tables for review": int((table["status"] == "review").sum()),
                     "tables not released": int((table["status"] == "fail").sum()),
                     "export check findings": len(report.findings)}
    result.notes += [f"export check: {f}" for f in report.findings]
    return result


def _remove_previous_package(ctx: RunContext) -> list[str]:
    """The report step's ``output_request.zip`` holds the previous export: not to be sent with this one."""
    package = step_folder(ctx.config, "report") / "output_request.zip"
    if not package.is_file():
        return []
    try:
        package.unlink()
    except OSError as error:
        return [f"could not remove {package} ({error}): it holds the previous export, not this one; run the "
                "report step to replace it"]
    return [f"removed {package} of the previous export; the report step makes the new one"]


def wants_workbook(config) -> bool:
    """``[disclosure_control] output_format = "xlsx"``: the tables as CSV and one workbook with them all."""
    return config.disclosure_rules.output_format == "xlsx"


def writer_rules(config) -> DisclosureRules:
    """The rules the safe writer applies. With ``output_format = "xlsx"`` it writes every table as CSV
    (machine-readable, what the checker and the report read) and the step makes one workbook of them
    (``disclosure_control.workbook``) instead of a workbook per table."""
    rules = config.disclosure_rules
    return dataclasses.replace(rules, output_format="csv") if wants_workbook(config) else rules


PREPARED_SHARE = 0.27
"""Share of the export step spent preparing the tables one by one, before the batch protects them together
and audits the export: 7.0 of 25.8 s at 1 million households (the benchmark data, 5 December 2026)."""


def _release(ctx: RunContext, export_dir: Path, evidence: Path) -> list[dict]:
    """Release every requested table into ``export_dir`` (a fresh folder); a row per table."""
    config = ctx.config
    writer = SafeWriter(export_dir, evidence, rules=writer_rules(config),
                        provenance={"script": " ".join(sys.argv) or "run_all.py", "config_path": str(config.path),
                                    "config_sha256": config.sha256, "run": config["run"]["name"]})
    rows = []
    requests = collect_requests(config.work_dir)
    # One release batch: tables that share cells are protected together, as one problem.
    # The tables are prepared one by one; the batch then protects them together and audits the whole
    # export (nationally most of the step). PREPARED_SHARE: the share of the step the tables take.
    progress = ctx.progress("export", 1.0)
    with writer.batch() as batch:
        for number, request in enumerate(requests, start=1):
            progress(PREPARED_SHARE * (number - 1) / max(len(requests), 1),
                     label=f"{number - 1} of {len(requests)} tables prepared")
            try:
                getattr(batch, request.method)(request.data(), name=request.name, **request.kwargs)
            except Exception as exc:  # noqa: BLE001 -- a failure in one table must not stop the others
                # Nothing of this table is written; the run goes on and the log says why.
                rows.append({"table": request.name, "step": request.step_dir.name, "status": "fail",
                             "primary_suppressed": 0, "secondary_suppressed": 0, "method": "",
                             "reasons": f"internal error in disclosure control: {type(exc).__name__}: {exc}",
                             "warnings": ""})
        progress.part(f"{len(requests)} tables prepared; protecting them together and auditing the export",
                      PREPARED_SHARE)
    step_of = {r.name: r.step_dir.name for r in requests}
    for released in batch.results or []:
        rows.append({"table": released.name, "step": step_of.get(released.name, ""), "status": released.status,
                     "primary_suppressed": released.primary_suppressed,
                     "secondary_suppressed": released.secondary_suppressed, "method": released.method,
                     "reasons": "; ".join(released.reasons), "warnings": "; ".join(released.warnings)})
    return rows


STEP = Step(
    name="export",
    title="publish every requested table through disclosure control; check the export folder",
    run=publish_tables,
    reads=("NN_<step>/tables/ of every step",),
    writes=("the export folder (replaced whole, marked complete)", "evidence/ (work folder, replaced whole)",
            "released.csv", "check_export.txt", "output_request/"),
)
