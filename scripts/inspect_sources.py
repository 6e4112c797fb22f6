"""Inspect the configured source files against their layouts (run this first in Remote Access).

    python scripts/inspect_sources.py --config config.toml [--rows 100000]

Writes to <work>/00_inspect/ only (the work folder: the files describe microdata): columns.csv,
layout_check.csv, proposed_layouts.toml and inspect.json (lib/steps/inspect_sources.py).
"""
import argparse

import _bundle  # noqa: F401  (makes lib importable)

from lib.cli import run_cli


def main(argv: list[str]) -> int:
    from lib.config import load_config
    from lib.steps.inspect_sources import DEFAULT_ROWS, inspect_sources
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="run configuration file (TOML)")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS,
                        help=f"rows read per file to describe its values (default {DEFAULT_ROWS:,})")
    args = parser.parse_args(argv)
    result = inspect_sources(load_config(args.config), rows=args.rows)
    print(f"{result.files} file(s) inspected; written to {result.folder}")
    for line in result.problems:
        print(f"  - {line}")
    if result.problems:
        print(f"See layout_check.csv and proposed_layouts.toml in {result.folder}.")
    return 0


if __name__ == "__main__":
    run_cli(main)
