"""Step 2 of a run: read and validate every source into records, accounting for every row and euro.

    python scripts/read_sources.py --config config.toml
"""
import _bundle  # noqa: F401  (makes lib importable)

from lib.cli import run_cli, step_main

if __name__ == "__main__":
    run_cli(step_main("read_sources", __doc__.splitlines()[0]))
