"""Write a complete synthetic data set (CBS layouts, municipal files, truth) and its configs.

    python scripts/make_demo_data.py --out DIR --households 100000 --seed 1

DIR receives cbs/ (Remote Access layouts), gemeente/ (BRP extract, appendix-2 cost
files), truth/ (what a correct pipeline must recover; never read by the pipeline),
config.toml (CBS route) and config_gemeente.toml (municipal route). Run the result with
    python scripts/run_all.py --config DIR/config.toml
"""
import argparse

import _bundle  # noqa: F401  (makes lib importable)

from lib.cli import run_cli


def main(argv: list[str]) -> int:
    from lib.synthetic.generate import generate
    from lib.synthetic.spec import GeneratorSpec
    from lib.synthetic.writers import available_formats

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--out", required=True, help="output folder (created; existing files are overwritten)")
    parser.add_argument("--households", type=int, required=True,
                        help="households at the start of the study period (8,200,000 for the whole country)")
    parser.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same files")
    parser.add_argument("--formats", default=",".join(available_formats()),
                        help="comma-separated formats of the CBS files: csv, sav, parquet "
                             f"(default: all available here: {','.join(available_formats())})")
    parser.add_argument("--first-year", type=int, default=2019, help="first of the five study years")
    parser.add_argument("--municipality", default="0344",
                        help="municipality code of the municipal route's BRP extract and cost files (default Utrecht)")
    parser.add_argument("--chunk", type=int, default=GeneratorSpec.chunk_households,
                        help="households generated at a time (bounds memory; part of what the seed reproduces)")
    args = parser.parse_args(argv)
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    unavailable = [f for f in formats if f not in available_formats()]
    if "csv" not in formats or unavailable:
        parser.error(f"formats must include csv and be among {available_formats()} (got {formats})")
    spec = GeneratorSpec(households=args.households, seed=args.seed, first_year=args.first_year,
                         municipal_route_code=args.municipality, chunk_households=args.chunk, formats=formats)
    report = generate(args.out, spec)
    print(f"wrote {report.households:,} households, {report.persons:,} persons in {report.seconds:.1f} s to {args.out}")
    print(f"run it with: python scripts/run_all.py --config {args.out}/config.toml")
    return 0


if __name__ == "__main__":
    run_cli(main)
