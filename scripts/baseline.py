"""Step 6 of a run: the baseline (nulmeting): reach, concentration, costs by domain, year and composition.

    python scripts/baseline.py --config config.toml
"""
import _bundle  # noqa: F401  (makes lib importable)

from lib.cli import run_cli, step_main

if __name__ == "__main__":
    run_cli(step_main("baseline", __doc__.splitlines()[0]))
