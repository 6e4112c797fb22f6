"""Benchmark of the data steps: reading and validation, pricing, households.

    python benchmarks/bench_steps.py --households 1000000

Generates synthetic data once (kept in bench_data/, git-ignored) and then, each in a
fresh process so peak memory is its own:

1. the reference: only reading the same files and columns (pandas / pyarrow, no
   validation), measured in the same run because machines here are noisy;
2. the pipeline steps ``inventory``, ``read_sources``, ``price``, ``households``, ``cube``
   and ``baseline`` (everything before disclosure control and export).

Prints wall time and peak memory of both, per-step times, and the ratio of reading,
validation and linking (inventory + read_sources + households) to the reference.
Targets on 2 cores for 1 million households: reading, validation and linking within
60 s and 4 GB and at most 2x only reading the files (issue 4); pricing within 30 s
(issue 5); the baseline (cube and baseline steps) within 30 s once the ledger exists (issue 6).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

REFERENCE = r"""
import json, sys, time
sys.path.insert(0, {root!r})
import pandas as pd
from lib.config import load_config
from lib.layouts import CBS_DATASETS
from lib.sources import locate_sources
config = load_config({config!r})
year = config.peildatum.year
files, _ = locate_sources(config)
started = time.perf_counter()
rows = 0
for f in files:
    if f.dataset not in CBS_DATASETS:
        continue
    columns = [c.replace("{{year}}", str(year)) for c in CBS_DATASETS[f.dataset].columns]
    if f.format == "parquet":
        import pyarrow.parquet as pq
        names = {{n.upper(): n for n in pq.read_schema(f.path).names}}
        t = pd.read_parquet(f.path, columns=[names[c.upper()] for c in columns if c.upper() in names])
    else:
        t = pd.read_csv(f.path, usecols=lambda c: c.upper() in columns, dtype=str, keep_default_na=False)
    rows += len(t)
seconds = time.perf_counter() - started
import resource
print(json.dumps({{"seconds": seconds, "rows": rows,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

PIPELINE = r"""
import json, sys, time, logging
sys.path.insert(0, {root!r})
from lib.config import load_config
from lib.pipeline import run_steps, LOG
config = load_config({config!r})
started = time.perf_counter()
from lib.pipeline import step_folder
names = ["inventory", "read_sources", "price", "households", "cube", "baseline"]
run_steps(config, names)
seconds = time.perf_counter() - started
steps = {{}}
for name in names:
    manifest = json.loads((step_folder(config, name) / "step.json").read_text())
    steps[name] = manifest["seconds"]
import resource
print(json.dumps({{"seconds": seconds, "steps": steps,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def child(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--data", help="data folder (default bench_data/data_<households>; generated when absent)")
    args = parser.parse_args()
    data = Path(args.data) if args.data else ROOT / "bench_data" / f"data_{args.households}"
    if not (data / "config.toml").is_file():
        print(f"generating {args.households:,} households into {data} (csv, parquet) ...", flush=True)
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_demo_data.py"), "--out", str(data),
                        "--households", str(args.households), "--formats", "csv,parquet"], check=True,
                       stdout=subprocess.DEVNULL)
    config = str(data / "config.toml")
    started = time.perf_counter()
    reference = child(REFERENCE.format(root=str(ROOT), config=config))
    pipeline = child(PIPELINE.format(root=str(ROOT), config=config))
    print(f"households: {args.households:,} (data in {data})")
    print(f"{'':<34}{'seconds':>9}{'peak MB':>10}")
    print(f"{'reference: only reading the files':<34}{reference['seconds']:>9.1f}{reference['peak_mb']:>10,.0f}"
          f"   ({reference['rows']:,} rows)")
    print(f"{'pipeline steps':<34}{pipeline['seconds']:>9.1f}{pipeline['peak_mb']:>10,.0f}")
    for step, seconds in pipeline["steps"].items():
        print(f"{'  ' + step:<34}{seconds:>9.1f}")
    steps = pipeline["steps"]
    linking = steps["inventory"] + steps["read_sources"] + steps["households"]
    print(f"reading, validation and linking: {linking:.1f} s, ratio to only reading {linking / reference['seconds']:.2f}"
          f" (targets <= 60 s, <= 4,096 MB peak, ratio <= 2)")
    print(f"pricing: {steps['price']:.1f} s (target <= 30 s)")
    print(f"baseline (cube + baseline): {steps['cube'] + steps['baseline']:.1f} s (target <= 30 s); "
          f"benchmark took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
