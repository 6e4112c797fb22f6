"""Re-verify an export folder before it is sent to CBS output checking.

Run from a plain copy of the bundle (no installation needed):

    python scripts/check_export.py EXPORT_DIR --evidence WORK_EVIDENCE_DIR

Exit status 0 means no findings; 1 means at least one finding (each printed with
file, cell and rule); 2 means the command itself was used wrongly.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from disclosure_control import check_export  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="check_export.py",
        description=(
            "Check that every file in EXPORT_DIR was written by the safe writer and is unchanged since, that the "
            "run which wrote it finished (export_complete.json matches the manifest), that no column, value, "
            "notes line or manifest text looks like an identifier (including nine-digit numbers passing the BSN "
            "eleven-test, also written 123.456.782, 123 456 782 or 123-456-782), that there is no minimum/maximum "
            "(and no percentile unless the rules allow them), no published count under the threshold, no table "
            "value in the notes or the manifest, that every table's audit passed, and that the workbook of all "
            "tables (alle_tabellen.xlsx, if there is one) holds exactly the released tables. With --evidence the audits, "
            "per-cell unit counts and suppressed cells (each must show the suppression symbol) are re-verified "
            "from the evidence in the work folder, and evidence and manifest must describe the same tables. Then "
            "writes output_request.md, the documentation that goes with an output request to CBS."
        ),
        epilog="Exit status: 0 = no findings, 1 = findings (listed above), 2 = wrong usage.",
    )
    parser.add_argument("export_dir", metavar="EXPORT_DIR", help="the export folder to check")
    parser.add_argument("--evidence", metavar="WORK_EVIDENCE_DIR",
                        help="the evidence folder the safe writer wrote in the work area (recommended)")
    parser.add_argument("--out", metavar="DOCS_DIR",
                        help="where to write output_request.md (default: EXPORT_DIR_output_request beside the "
                             "export folder; never inside it)")
    parser.add_argument("--templates", metavar="TEMPLATES_DIR",
                        help="templates for the documentation (default: output_templates/ of the bundle)")
    args = parser.parse_args(argv)
    export_dir = Path(args.export_dir)
    if not export_dir.is_dir():
        parser.error(f"export folder not found: {export_dir}")
    out = Path(args.out) if args.out else export_dir.resolve().parent / f"{export_dir.resolve().name}_output_request"
    if export_dir.resolve() in [out.resolve(), *out.resolve().parents]:
        parser.error("--out must not be inside the export folder (the checker would then find its own files)")
    report = check_export(export_dir, evidence_dir=args.evidence, out_dir=out, templates_dir=args.templates)
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
