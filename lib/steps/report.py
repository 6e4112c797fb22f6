"""Step 11, the last: the report and the output-request package, from the export folder only.

Writes to ``<work>/NN_report/``: ``report.html`` (self-contained), ``report.md`` and the
figures (when matplotlib is installed), all built from the released tables; and
``output_request.zip``: the export folder's files, the output-request documentation
of the export check and the report with its figures, ready to go with the output control form to CBS.

The section "Bronnen" (every file read, the rows each source gave and used, the domains of the
method without a source, the CBS source statement) and the price check among the caveats are the
parts made from the work folder: the inventory's ``sources.csv``, the reading step's
``reconciliation.csv``, the prices and records the run used (``lib.report_sources``) and the price
step's ``price_check.csv`` (lib.report_findings.price_check_caveat: ratios per domain, no counts).
The report is in the language of ``[report] language`` (lib.report_labels).

Only a finished export is reported on: the export folder must hold a completion record
that matches its files (``disclosure_control.completion``).
Every file is written under a temporary name and renamed into place, the zip too: a
stopped run leaves the previous file or the whole new one, never a partial zip.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from disclosure_control.completion import completion_problems
from lib.errors import UserFacingError
from lib.pipeline import RunContext, Step, StepResult
from lib.report import atomic_output, write_report
from lib.report_findings import price_check_caveat
from lib.report_sources import read_sources_section
from lib.steps.export import wants_workbook

# Fixed member times: the same export gives the same zip, byte for byte.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def finished_export(export_dir: Path) -> None:
    """Refuse (``UserFacingError``) an export folder that is not the finished export of a run:
    no completion record, or one its files do not match (a run stopped halfway, a file
    added or changed since). Whether the export is stale for the current config is the
    pipeline's question (the export step's inputs), not this one."""
    problems = completion_problems(export_dir)
    if problems:
        listed = "; ".join(message for _, message in problems[:5]) + (" ..." if len(problems) > 5 else "")
        raise UserFacingError(f"{export_dir} is not a finished export ({listed}). Run the export step (or "
                              "run_all.py) first.")


def make_report(ctx: RunContext) -> StepResult:
    config = ctx.config
    out = ctx.step_dir
    documentation = ctx.earlier_step_dir("export") / "output_request"
    finished_export(config.export_dir)
    sources = read_sources_section(config, ctx.earlier_step_dir("inventory"), ctx.earlier_step_dir("read_sources"),
                                   ctx.earlier_step_dir("price"))
    written = write_report(config.export_dir, out, sources=sources, workbook_requested=wants_workbook(config),
                           language=config["report"]["language"],
                           price_check=read_price_check(ctx.earlier_step_dir("price"), config["report"]["language"]))
    # Figures of an earlier report that this one does not have.
    for path in sorted(out.glob("figuur_*.png")):
        if path not in written:
            path.unlink(missing_ok=True)
    package = out / "output_request.zip"
    with atomic_output(package) as temporary:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(config.export_dir.iterdir()):
                if path.is_file():
                    _add(archive, path, f"export/{path.name}")
            for path in sorted(documentation.glob("*")) if documentation.is_dir() else []:
                if path.is_file():
                    _add(archive, path, f"documentatie/{path.name}")
            # The figures go out too when the request includes them; each plots a table in export/.
            for path in written:
                _add(archive, path, f"rapport/{path.name}")
        with zipfile.ZipFile(temporary) as archive:  # complete and readable, or no zip
            broken = archive.testzip()
            if broken is not None:
                raise OSError(f"{package}: {broken} is damaged in the new zip")
    result = StepResult(outputs=[p.name for p in written] + [package.name])
    result.counts = {"tables in the report": len(list(config.export_dir.glob("*.notes.txt"))),
                     "figures": sum(p.suffix == ".png" for p in written)}
    result.notes.append(f"report: {out / 'report.html'}")
    result.notes.append(f"output request (export files + documentation): {package}")
    return result


def read_price_check(price_dir: Path, language: str = "nl") -> list[str]:
    """The price step's check against national figures in words, in the report's ``language`` ([] when
    the step wrote none)."""
    import pandas as pd
    from lib.price_check import BAND
    from lib.report_labels import Labels
    path = price_dir / "price_check.csv"
    if not path.is_file():
        return []
    try:
        check = pd.read_csv(path, dtype={"domain": str}, encoding="utf-8")
    except pd.errors.EmptyDataError:
        return []
    return price_check_caveat(check, BAND, Labels(language))


def _add(archive: zipfile.ZipFile, path: Path, name: str) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, path.read_bytes())


STEP = Step(
    name="report",
    title="report (HTML, Markdown, figures) and output-request package from the export folder",
    run=make_report,
    reads=("the export folder", "NN_export/output_request/", "NN_inventory/sources.csv",
           "NN_read_sources/reconciliation.csv and records", "NN_price/prices_used.csv and price_check.csv"),
    writes=("report.html", "report.md", "figuur_*.png", "output_request.zip"),
)
