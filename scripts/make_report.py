"""Make the report (HTML, Markdown, figures) of an export folder, anywhere.

    python scripts/make_report.py EXPORT_DIR --out REPORT_DIR [--language en]

The report uses only the released tables, their notes and the manifest in EXPORT_DIR,
so it can be made again outside the secure environment from the export CBS released.
"""
import argparse
from pathlib import Path

import _bundle  # noqa: F401  (makes lib importable)

from lib.cli import run_cli


def main(argv: list[str]) -> int:
    from lib.errors import UserFacingError
    from lib.report import write_report
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("export_dir", metavar="EXPORT_DIR", help="an export folder written by the bundle")
    parser.add_argument("--out", required=True, help="folder for report.html, report.md and the figures")
    parser.add_argument("--language", choices=("nl", "en"), default="nl",
                        help="language of the whole report: text, labels, table titles and notes, figures and number "
                             "formats (default nl; the export's own files stay Dutch)")
    args = parser.parse_args(argv)
    export = Path(args.export_dir)
    if not (export / "disclosure_manifest.json").is_file():
        raise UserFacingError(f"{export} is not an export folder of the bundle (no disclosure_manifest.json)")
    for path in write_report(export, Path(args.out), language=args.language):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    run_cli(main)
