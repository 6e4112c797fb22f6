"""Shared plumbing of the command-line scripts: argument parsing of a step, error display."""
from __future__ import annotations

import argparse
import sys
from typing import Callable

from lib.errors import UserFacingError

EXIT_USER_ERROR = 2


def run_cli(main: Callable[[list[str]], int]) -> None:
    """Run ``main(argv)``; show problems the user can fix as a message, not a traceback."""
    try:
        code = main(sys.argv[1:])
    except UserFacingError as exc:
        print(f"\nERROR: {exc}", file=sys.stderr)
        code = EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("\ninterrupted: the step that was running did not finish and left no step.json, so no later step "
              "uses its files; run again from that step (run_all.py --from STEP, the log names it)", file=sys.stderr)
        code = 130
    sys.exit(code)


def step_main(step_name: str, description: str) -> Callable[[list[str]], int]:
    """The ``main`` of a script that runs one pipeline step."""

    def main(argv: list[str]) -> int:
        from lib.config import load_config
        from lib.pipeline import run_steps
        parser = argparse.ArgumentParser(
            description=description,
            epilog="Runs this one step. The steps before it must have finished with the same config, input files "
                   "and upstream outputs; if not, it stops and says which step to rerun from (run_all.py --from STEP "
                   "runs that step and every later one; run_all.py runs every step in order).")
        parser.add_argument("--config", required=True, help="run configuration file (TOML)")
        args = parser.parse_args(argv)
        run_steps(load_config(args.config), [step_name])
        return 0

    return main
