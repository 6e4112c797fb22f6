"""Run every step of the cost analysis, in order, for one run configuration.

    python scripts/run_all.py --demo                 # synthetic demo data (made on first use)
    python scripts/run_all.py --config my_run.toml   # your own run
    python scripts/run_all.py --config my_run.toml --steps inventory

The log (also in <work folder>/logs/run.log) shows each step with its row counts and
wall time. Only tables that passed disclosure control are written to the export folder.
"""
import argparse

import _bundle  # noqa: F401  (makes lib importable)

from lib.cli import run_cli


def main(argv: list[str]) -> int:
    from lib.config import config_reference, load_config
    from lib.demo import DEMO_DIR, DEMO_HOUSEHOLDS, prepare_demo
    from lib.pipeline import all_steps, run_steps

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--config", help="run configuration file (TOML); see README 'Configuration'")
    which.add_argument("--demo", action="store_true",
                       help=f"run on synthetic demo data in {DEMO_DIR} (generated on first use)")
    which.add_argument("--config-reference", action="store_true", help="print every config setting and exit")
    which.add_argument("--list-steps", action="store_true", help="list the steps and what they write, and exit")
    parser.add_argument("--demo-households", type=int, default=DEMO_HOUSEHOLDS,
                        help=f"households in newly generated demo data (default {DEMO_HOUSEHOLDS:,})")
    parser.add_argument("--steps", help="comma-separated step names to run (default: all)")
    args = parser.parse_args(argv)

    if args.config_reference:
        print(config_reference())
        return 0
    if args.list_steps:
        for number, step in enumerate(all_steps(), start=1):
            print(f"{number:2d}. {step.name:<14} {step.title}\n    reads: {', '.join(step.reads)}\n"
                  f"    writes: {', '.join(step.writes)}")
        return 0
    if args.demo:
        config_path = prepare_demo(households=args.demo_households)
    elif args.config:
        config_path = args.config
    else:
        parser.error("give --config FILE or --demo")
    steps = [s.strip() for s in args.steps.split(",")] if args.steps else None
    run_steps(load_config(config_path), steps)
    return 0


if __name__ == "__main__":
    run_cli(main)
