"""Step 1 of a run: find the source files, choose versions, count rows.

    python scripts/inventory.py --config config.toml
"""
import _bundle  # noqa: F401  (makes lib importable)

from lib.cli import run_cli, step_main

if __name__ == "__main__":
    run_cli(step_main("inventory", __doc__.splitlines()[0]))
