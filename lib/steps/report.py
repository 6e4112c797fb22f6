"""Step 11, the last: the report and the output-request package, from the export folder only.

Writes to ``<work>/NN_report/``: ``report.html`` (self-contained), ``report.md`` and the
figures (when matplotlib is installed), all built from the released tables; and
``output_request.zip``: the export folder's files, the output-request documentation
of the export check and the report with its figures, ready to go with the output control form to CBS.
"""
from __future__ import annotations

import zipfile

from lib.pipeline import RunContext, Step, StepResult
from lib.report import write_report


def make_report(ctx: RunContext) -> StepResult:
    config = ctx.config
    out = ctx.step_dir
    written = write_report(config.export_dir, out)
    documentation = ctx.earlier_step_dir("export") / "output_request"
    package = out / "output_request.zip"
    with zipfile.ZipFile(package, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(config.export_dir.iterdir()):
            if path.is_file():
                archive.write(path, f"export/{path.name}")
        for path in sorted(documentation.glob("*")) if documentation.is_dir() else []:
            if path.is_file():
                archive.write(path, f"documentatie/{path.name}")
        # The figures go out too when the request includes them; each plots a table in export/.
        for path in written:
            archive.write(path, f"rapport/{path.name}")
    result = StepResult(outputs=[p.name for p in written] + [package.name])
    result.counts = {"tables in the report": len(list(config.export_dir.glob("*.notes.txt"))),
                     "figures": sum(p.suffix == ".png" for p in written)}
    result.notes.append(f"report: {out / 'report.html'}")
    result.notes.append(f"output request (export files + documentation): {package}")
    return result


STEP = Step(
    name="report",
    title="report (HTML, Markdown, figures) and output-request package from the export folder",
    run=make_report,
    reads=("the export folder", "NN_export/output_request/"),
    writes=("report.html", "report.md", "figuur_*.png", "output_request.zip"),
)
