"""Step 8 of a run: selection: the aggregated profile of the households that qualify for a tailored approach.

    python scripts/selection.py --config config.toml
"""
import _bundle  # noqa: F401  (makes lib importable)

from lib.cli import run_cli, step_main

if __name__ == "__main__":
    run_cli(step_main("selection", __doc__.splitlines()[0]))
