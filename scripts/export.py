"""Step 10 of a run: publish every requested table through disclosure control and check the export folder.

    python scripts/export.py --config config.toml
"""
import _bundle  # noqa: F401  (makes lib importable)

from lib.cli import run_cli, step_main

if __name__ == "__main__":
    run_cli(step_main("export", __doc__.splitlines()[0]))
