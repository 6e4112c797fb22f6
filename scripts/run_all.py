"""Run every step of the cost analysis, in order, for one run configuration.

    python scripts/run_all.py --demo                 # synthetic demo data (made on first use)
    python scripts/run_all.py --config my_run.toml   # your own run
    python scripts/run_all.py --config my_run.toml --steps inventory
    python scripts/run_all.py --config my_run.toml --from price   # price and every later step

The log (also in <work folder>/logs/run.log) shows each step with its row counts and
wall time. Only tables that passed disclosure control are written to the export folder.
A step runs only on complete, up-to-date work files of the steps before it: after a
change of the config, of a price table or of a source file, or after a step was
stopped, the run says which step to rerun from (--from STEP).
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
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--steps", help="comma-separated step names to run, e.g. baseline,export (default: all); "
                                        "the steps they read must be complete and up to date")
    chosen.add_argument("--from", dest="from_step", metavar="STEP",
                        help="run STEP and every later step (after a change, or after a run that stopped in STEP)")
    args = parser.parse_args(argv)

    if args.config_reference:
        print(config_reference())
        return 0
    if args.list_steps:
        for number, step in enumerate(all_steps(), start=1):
            print(f"{number:2d}. {step.name:<14} {step.title}\n    reads: {', '.join(step.reads)}\n"
                  f"    writes: {', '.join(step.writes)}\n"
                  f"    needs the steps: {', '.join(step.provenance.upstream) or '-'}")
        return 0
    if args.demo:
        config_path = prepare_demo(households=args.demo_households)
    elif args.config:
        config_path = args.config
    else:
        parser.error("give --config FILE or --demo")
    steps = [s.strip() for s in args.steps.split(",") if s.strip()] if args.steps else None
    run_steps(load_config(config_path), steps, from_step=args.from_step)
    return 0


if __name__ == "__main__":
    run_cli(main)
