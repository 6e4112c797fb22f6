"""Shared plumbing of the command-line scripts: argument parsing of a step, error display."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
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


# --- run_all.py --check: the config and the sources, without running -------------------------------

WILDCARDS = "*?["


def searched_folder(pattern: str, base_dir: Path) -> Path:
    """The folder a glob searches: the pattern's leading parts without wildcards (relative to ``base_dir``)."""
    path = Path(pattern) if Path(pattern).is_absolute() else base_dir / pattern
    fixed = []
    for part in path.parts[:-1]:
        if any(c in part for c in WILDCARDS):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else base_dir


def missing_source_message(setting: str, pattern: str, base_dir: Path) -> str:
    """Why ``pattern`` (of the config setting ``setting``) matches no file: the folder searched, whether it
    exists, what it holds, and what to do."""
    folder = searched_folder(pattern, base_dir)
    text = f"{setting} = {pattern!r}: no file matches. Searched the folder {folder}"
    if not folder.is_dir():
        existing = next((p for p in folder.parents if p.is_dir()), None)
        text += ", which does not exist"
        if existing is not None and existing != Path(existing.anchor):
            text += f" (the nearest folder that exists: {existing})"
    else:
        names = sorted(p.name for p in folder.iterdir())
        shown = ", ".join(names[:5]) + (f", ... ({len(names)} in all)" if len(names) > 5 else "")
        text += f", which holds {shown}" if names else ", which is empty"
    if not Path(pattern).is_absolute():
        text += f"; a relative path is relative to the config's folder {base_dir}"
    from lib.config import CBS_REQUIRED_DATASETS
    if setting.split()[-1] in CBS_REQUIRED_DATASETS:
        return text + ". Correct the path (with / between folders): this register is required"
    return text + ". Correct the path (with / between folders), or remove the setting if the run has no such source"


def _named_files(config) -> list[tuple[str, str]]:
    """(setting, path) of every input file the config names besides the sources."""
    prices, sources, municipal = config["prices"], config["sources"], config["sources"]["municipality"]
    files = [("[prices] price_tables", p) for p in prices["price_tables"]]
    files += [("[prices] fallback_tables", p) for p in prices["fallback_tables"]]
    files += [("[prices] index", prices["index"]), ("[prices] bijstand_codes", prices["bijstand_codes"])]
    files += [(f"[prices] index_series {name}", p) for name, p in prices["index_series"].items()]
    files += [(f"[sensitivity] {key}", p) for key in ("price_tables_laag", "price_tables_hoog")
              for p in config["sensitivity"][key]]
    if sources["layouts"]:
        files.append(("[sources] layouts", sources["layouts"]))
    files.append(("[sources.municipality] domain_labels", municipal["domain_labels"]))
    monitoring = config["monitoring"]
    if monitoring["enabled"] and monitoring["cohort"] == "file":
        files.append(("[monitoring] cohort_file", monitoring["cohort_file"]))
    return files


def _source_patterns(config) -> list[tuple[str, str]]:
    """(setting, pattern) of every source the config names."""
    from lib.config import cbs_cost_files
    sources = config["sources"]
    patterns = [(f"[sources.cbs] {name}", pattern) for name, pattern in sources["cbs"].items()]
    patterns += [("[sources.cbs] cost_files", p) for p in cbs_cost_files(config)]
    if sources["municipality"]["brp_extract"]:
        patterns.append(("[sources.municipality] brp_extract", sources["municipality"]["brp_extract"]))
    patterns += [("[sources.municipality] cost_files", p) for p in sources["municipality"]["cost_files"]]
    return patterns


def check_problems(config) -> list[str]:
    """What stops a run before any step reads data: input files the config names that are not there, and
    sources whose pattern matches no file (each with the setting, the pattern and the folder searched)."""
    from lib.sources import expand_pattern
    problems = [f"{setting}: file not found: {config.resolve(path)}"
                for setting, path in _named_files(config) if not config.resolve(path).is_file()]
    problems += [missing_source_message(setting, pattern, config.base_dir)
                 for setting, pattern in _source_patterns(config) if not expand_pattern(config, pattern)]
    return problems


def check_run(config_path: str | Path, out: Callable[[str], None] = print) -> int:
    """``run_all.py --check``: validate the config, find every source and run the inventory (which writes only
    ``<work>/01_inventory`` and the log); print what is there and what is missing. 0 when the run can start,
    ``EXIT_USER_ERROR`` when not."""
    import pandas as pd

    from lib.config import load_config
    from lib.pipeline import run_steps, step_folder
    config = load_config(config_path)            # a bad config: ConfigError, printed by run_cli
    out(f"config {config.path}: valid (route {config['run']['route']}, study area "
        f"{', '.join(config['study']['area'])}, years {config.years[0]}-{config.years[-1]}, "
        f"peildatum {config.peildatum})")
    problems = check_problems(config)
    if not problems:
        try:
            run_steps(config, ["inventory"])
        except UserFacingError as exc:
            problems.append(str(exc))
    if not problems:
        folder = step_folder(config, "inventory")
        table = pd.read_csv(folder / "sources.csv", encoding="utf-8", keep_default_na=False)
        skipped = pd.read_csv(folder / "skipped.csv", encoding="utf-8", keep_default_na=False)
        out(f"sources ({folder / 'sources.csv'}):")
        for dataset, group in table.groupby("dataset", sort=False):
            missing = sorted({c for text in group["missing_columns"] for c in str(text).split()})
            state = "MISSING COLUMNS " + " ".join(missing) if missing else "ok"
            out(f"  {state:<4} {dataset}: {len(group)} file(s), {int(group['rows'].sum()):,} rows "
                f"({', '.join(Path(p).name for p in group['path'])})")
            if missing:
                problems.append(f"{dataset}: the file(s) lack the column(s) {', '.join(missing)}; fit the layout "
                                "([sources] layouts; scripts/inspect_sources.py proposes an entry)")
        if len(skipped):
            out(f"  {len(skipped)} file(s) found but not read, with the reason: {folder / 'skipped.csv'}")
    if problems:
        out(f"\nNOT READY: {len(problems)} problem(s):")
        for problem in problems:
            out("  - " + problem.replace("\n", "\n    "))
        return EXIT_USER_ERROR
    out(f"\nREADY: the config and the sources are fine; run: python scripts/run_all.py --config \"{config.path}\"")
    return 0
