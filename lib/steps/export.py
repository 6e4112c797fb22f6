"""Step 10: publish every requested table through disclosure control, then check the export.

Replays the table requests of all steps (``lib.export_requests``) through one
``disclosure_control.SafeWriter`` into a freshly emptied export folder, keeping the
evidence in ``<work>/evidence``. Then re-verifies the whole export folder with the
export checker and writes the output-request documentation to ``<work>/NN_export/``.
A table that fails disclosure control is not written; the log says why.

Order around the completion record (``export_complete.json``): the record of the
previous run goes first, before the writer empties the folder (a folder being
rewritten is not complete, and the writer refuses files it did not list); the
record is written once every table is released, and the check comes last, so it
sees the finished folder with its record (it refuses a folder without one). The
record says the run finished writing; the check's findings say whether the folder
may leave the environment.
"""
from __future__ import annotations

import sys

import pandas as pd

from disclosure_control import SafeWriter, check_export
from disclosure_control.completion import remove_completion_record, write_completion_record
from lib.export_requests import collect_requests
from lib.pipeline import RunContext, Step, StepResult


def publish_tables(ctx: RunContext) -> StepResult:
    config = ctx.config
    evidence = config.work_dir / "evidence"
    remove_completion_record(config.export_dir)
    # The evidence of an earlier export describes tables that may no longer be requested: the
    # checker would rightly refuse it beside this export's manifest.
    if evidence.is_dir():
        for path in list(evidence.glob("*.evidence.json")) + list(evidence.glob("*.cells.csv")):
            path.unlink()
    writer = SafeWriter(config.export_dir, evidence, rules=config.disclosure_rules, replace_existing=True,
                        provenance={"script": " ".join(sys.argv) or "run_all.py", "config_path": str(config.path),
                                    "config_sha256": config.sha256, "run": config["run"]["name"]})
    result = StepResult(outputs=["released.csv", "output_request/"])
    rows = []
    requests = collect_requests(config.work_dir)
    # One release batch: tables that share cells are protected together, as one problem.
    progress = ctx.progress("tables prepared", len(requests))
    with writer.batch() as batch:
        for number, request in enumerate(requests, start=1):
            progress(number)
            try:
                getattr(batch, request.method)(request.data(), name=request.name, **request.kwargs)
            except Exception as exc:  # noqa: BLE001 -- a failure in one table must not stop the others
                # Nothing of this table is written; the run goes on and the log says why.
                rows.append({"table": request.name, "step": request.step_dir.name, "status": "fail",
                             "primary_suppressed": 0, "secondary_suppressed": 0, "method": "",
                             "reasons": f"internal error in disclosure control: {type(exc).__name__}: {exc}",
                             "warnings": ""})
    step_of = {r.name: r.step_dir.name for r in requests}
    for released in batch.results or []:
        rows.append({"table": released.name, "step": step_of.get(released.name, ""), "status": released.status,
                     "primary_suppressed": released.primary_suppressed,
                     "secondary_suppressed": released.secondary_suppressed, "method": released.method,
                     "reasons": "; ".join(released.reasons), "warnings": "; ".join(released.warnings)})
    for row in rows:
        line = (f"{row['table']}: {row['status']} ({row['primary_suppressed']} primary, "
                f"{row['secondary_suppressed']} secondary suppressions)")
        if row["status"] not in ("pass", "review"):
            line += " NOT RELEASED: " + row["reasons"]
        result.notes.append(line)
    table = pd.DataFrame(rows, columns=["table", "step", "status", "primary_suppressed", "secondary_suppressed",
                                        "method", "reasons", "warnings"])
    table.to_csv(ctx.step_dir / "released.csv", index=False, encoding="utf-8")
    n_released = int(table["status"].isin(["pass", "review"]).sum())
    if n_released:  # nothing released: no manifest, nothing to mark complete (the check says so)
        write_completion_record(config.export_dir, run_id=config["run"]["name"], config_sha256=config.sha256,
                                n_tables=n_released)
    report = check_export(config.export_dir, evidence_dir=evidence, out_dir=ctx.step_dir / "output_request")
    (ctx.step_dir / "check_export.txt").write_text(report.summary() + "\n", encoding="utf-8")
    result.counts = {"tables requested": len(table), "tables released": int(table["status"].isin(["pass", "review"]).sum()),
                     "tables for review": int((table["status"] == "review").sum()),
                     "tables not released": int((table["status"] == "fail").sum()),
                     "export check findings": len(report.findings)}
    result.notes += [f"export check: {f}" for f in report.findings]
    return result


STEP = Step(
    name="export",
    title="publish every requested table through disclosure control; check the export folder",
    run=publish_tables,
    reads=("NN_<step>/tables/ of every step",),
    writes=("the export folder", "evidence/ (work folder)", "released.csv", "check_export.txt", "output_request/"),
)
