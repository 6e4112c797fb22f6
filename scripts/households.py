"""Step 4 of a run: households at the peildatum, residence and attribution.

    python scripts/households.py --config config.toml
"""
import _bundle  # noqa: F401  (makes lib importable)

from lib.cli import run_cli, step_main

if __name__ == "__main__":
    run_cli(step_main("households", __doc__.splitlines()[0]))
