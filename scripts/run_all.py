"""Run every step of the cost analysis, in order, for one run configuration.

    python scripts/run_all.py --demo                 # synthetic demo data (made on first use)
    python scripts/run_all.py --config my_run.toml   # your own run
    python scripts/run_all.py --config my_run.toml --steps inventory
    python scripts/run_all.py --config my_run.toml --from price   # price and every later step
    python scripts/run_all.py --init cbs my_run.toml    # a commented config template (or: --init gemeente)
    python scripts/run_all.py --config my_run.toml --check   # config and sources checked; only the inventory runs

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
    which.add_argument("--config", help="run configuration file (TOML); see docs/configuration.md")
    which.add_argument("--demo", action="store_true",
                       help=f"run on synthetic demo data in {DEMO_DIR} (generated on first use)")
    which.add_argument("--config-reference", action="store_true", help="print every config setting and exit")
    which.add_argument("--list-steps", action="store_true", help="list the steps and what they write, and exit")
    which.add_argument("--init", nargs="+", metavar=("cbs|gemeente", "PATH"),
                       help="write a commented config template for the CBS route (cbs) or the municipal route "
                            "(gemeente) to PATH (default config_cbs.toml or config_gemeente.toml), never over an "
                            "existing file, and exit")
    parser.add_argument("--check", action="store_true",
                        help="with --config (or --demo): validate the config, find every source and run only the "
                             "inventory (it writes only <work>/01_inventory and the log); print what is missing or "
                             "ok; exit code 0 when the run can start, 2 when not")
    parser.add_argument("--demo-households", type=int, default=DEMO_HOUSEHOLDS,
                        help=f"households in newly generated demo data (default {DEMO_HOUSEHOLDS:,})")
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--steps", help="comma-separated step names to run, e.g. baseline,export (default: all); "
                                        "the steps they read must be complete and up to date")
    chosen.add_argument("--from", dest="from_step", metavar="STEP",
                        help="run STEP and every later step (after a change, or after a run that stopped in STEP)")
    args = parser.parse_args(argv)

    if args.init:
        from lib.config_template import write_config_template
        if len(args.init) > 2:
            parser.error("--init takes a route (cbs or gemeente) and at most one file name")
        path = write_config_template(args.init[0], args.init[1] if len(args.init) > 1 else None)
        print(f"wrote {path.resolve()}: fill in the lines marked REQUIRED and the paths of the sources, then check "
              f"it without running: python scripts/run_all.py --config \"{path}\" --check")
        return 0
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
    if args.check:
        if args.steps or args.from_step:
            parser.error("--check runs only the inventory: give it without --steps or --from")
        from lib.cli import check_run
        return check_run(config_path)
    steps = [s.strip() for s in args.steps.split(",") if s.strip()] if args.steps else None
    run_steps(load_config(config_path), steps, from_step=args.from_step)
    return 0


if __name__ == "__main__":
    run_cli(main)
