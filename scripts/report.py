"""Step 11, the last of a run: the report and the output-request package, from the export folder.

    python scripts/report.py --config config.toml
"""
import _bundle  # noqa: F401  (makes lib importable)

from lib.cli import run_cli, step_main

if __name__ == "__main__":
    run_cli(step_main("report", __doc__.splitlines()[0]))
