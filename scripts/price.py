"""Step 3 of a run: price every record into the person-month cost ledger, in one price year.

    python scripts/price.py --config config.toml
"""
import _bundle  # noqa: F401  (makes lib importable)

from lib.cli import run_cli, step_main

if __name__ == "__main__":
    run_cli(step_main("price", __doc__.splitlines()[0]))
