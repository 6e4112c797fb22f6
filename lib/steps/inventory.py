"""Step 1: find every configured source file, choose the versions, and describe them.

Writes ``sources.csv`` (one row per file to be read: dataset, year, version, format,
rows, size, path) and ``skipped.csv`` (every file found but not read, with the reason).
Nothing is read beyond file headers and metadata, so this step is fast even for the
whole country and shows at once whether the config points at the right data.
"""
from __future__ import annotations

import pandas as pd

from lib.layouts import CBS_DATASETS
from lib.pipeline import RunContext, Step, StepResult
from lib.readers import file_columns, row_count
from lib.sources import locate_sources


def describe_sources(ctx: RunContext) -> StepResult:
    chosen, skipped = locate_sources(ctx.config)
    rows = []
    for f in chosen:
        dataset = f.layout if f.layout is not None else CBS_DATASETS.get(f.dataset)
        columns = file_columns(f) if dataset else []
        wanted = [c for c in dataset.columns if "{year}" not in c] if dataset else []
        stored_upper = {c.upper() for c in columns}
        missing = [c for c in wanted if c not in stored_upper]
        rows.append({"dataset": f.dataset, "year": f.year, "version": f.version, "format": f.format,
                     "rows": row_count(f), "bytes": f.path.stat().st_size,
                     "missing_columns": " ".join(missing), "path": str(f.path), "encoding": f.encoding})
    table = pd.DataFrame(rows)
    out = ctx.step_dir
    table.to_csv(out / "sources.csv", index=False, encoding="utf-8")
    pd.DataFrame([{"dataset": s.dataset, "path": str(s.path), "reason": s.reason} for s in skipped],
                 columns=["dataset", "path", "reason"]).to_csv(out / "skipped.csv", index=False, encoding="utf-8")
    result = StepResult(outputs=["sources.csv", "skipped.csv"])
    for dataset, group in table.groupby("dataset", sort=False):
        label = f"{dataset} ({len(group)} file{'s' if len(group) > 1 else ''}) rows"
        result.counts[label] = int(group["rows"].sum())
    result.counts["files not read (see skipped.csv)"] = len(skipped)
    bad = table[table["missing_columns"] != ""]
    layouts = {f.dataset: f.layout for f in chosen if f.layout is not None}
    for _, r in bad.iterrows():
        # The dataset, the file, each column and the line of a layouts file ([sources] layouts) that fits it.
        hints = "; ".join(layouts[r["dataset"]].override_hint(c) for c in r["missing_columns"].split()) \
            if r["dataset"] in layouts else ""
        result.notes.append(f"WARNING {r['dataset']}, file {r['path']}: missing column(s) {r['missing_columns']}"
                            + (f"; if the file names them otherwise, write in a layouts file ([sources] layouts): "
                               f"{hints} (scripts/inspect_sources.py proposes an entry)" if hints else ""))
    result.notes += domain_notes(ctx.config)
    return result


def domain_notes(config) -> list[str]:
    """Which domains of the method the run measures and which it does not, said at the start of a
    run: a domain without a source (e.g. JUSTITIEZAKENBUS left out of [sources.cbs]) is not zero but
    not measured, and every table says so in its notes ("domeinen")."""
    from lib.steps.households import run_domains
    from lib.steps.read_sources import registers_only
    if registers_only(config):
        return ["a run over the registers alone ([sources] names no cost source): no costs will be read, no domain "
                "of the method is measured (not zero: unknown), the cost steps make no tables"]
    measured, not_measured = run_domains(config)
    notes = [f"domains measured (with a source in this run): {', '.join(measured) or 'none'}"]
    if not_measured:
        notes.append(f"WARNING not included: {', '.join(not_measured)} (domains of the method without a source in "
                     "this run: not measured, so not zero; every table and the report say so)")
    return notes


STEP = Step(
    name="inventory",
    title="find the source files, choose versions, count rows",
    run=describe_sources,
    reads=("the sources named in [sources]",),
    writes=("sources.csv", "skipped.csv"),
)
