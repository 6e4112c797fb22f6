"""Step 9 of a run: monitoring: the cohort's costs after its start against a matched comparison group.

    python scripts/monitoring.py --config config.toml
"""
import _bundle  # noqa: F401  (makes lib importable)

from lib.cli import run_cli, step_main

if __name__ == "__main__":
    run_cli(step_main("monitoring", __doc__.splitlines()[0]))
