"""Step 5 of a run: the household cost cube (household x domain x year) with composition and residence.

    python scripts/cube.py --config config.toml
"""
import _bundle  # noqa: F401  (makes lib importable)

from lib.cli import run_cli, step_main

if __name__ == "__main__":
    run_cli(step_main("cube", __doc__.splitlines()[0]))
