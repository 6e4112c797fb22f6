"""Simulation study of the monitoring estimators: bias and coverage over many random cohorts.

    python benchmarks/simulate_monitoring.py --replications 50

On synthetic data (100,000 households, the whole synthetic country as study area; made
once in bench_data/), each replication enrols a random half of the 5% most expensive
households at 1 January of the third study year and estimates the change twice: without
an effect and with a planted 20% reduction of the cohort's costs after the start. Prints
per estimator the mean error, its standard deviation, the mean reported standard error
and the coverage of the 95% interval.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    import pandas as pd

    from lib.config import load_config
    from lib.dates import day_number
    from lib.synthetic.monitoring_simulation import (
        enrol,
        monitor,
        prepare_country,
        with_planted_effect,
    )
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=50)
    parser.add_argument("--effect", type=float, default=0.20)
    args = parser.parse_args()
    data = ROOT / "bench_data" / "data_100000"
    if not (data / "config.toml").is_file():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_demo_data.py"), "--out", str(data),
                        "--households", "100000", "--formats", "csv,parquet"], check=True, stdout=subprocess.DEVNULL)
    text = (data / "config.toml").read_text(encoding="utf-8")
    config_path = data / "config_simulation.toml"
    first_year = load_config(data / "config.toml").years[0]
    config_path.write_text(text.replace('area = ["0344"]', 'area = ["NL"]').replace('work_dir = "work"',
                                                                                  'work_dir = "work_simulation"')
                           + f"\n[monitoring]\nenabled = true\ncohort_start = {first_year + 2}-01-01\n",
                           encoding="utf-8")
    started = time.perf_counter()
    country = prepare_country(load_config(config_path), day_number(f"{first_year + 2}-01-01"))
    rows = []
    for r in range(args.replications):
        c = enrol(country, 10_000 + r)
        ledger, truth = with_planted_effect(c, args.effect)
        for label, led, true in (("no effect", c["ledger"], 0.0), ("planted effect", ledger, truth)):
            est = monitor(c, led).estimates
            for name, row in zip(("before/after", "matched DiD"), est.itertuples()):
                rows.append({"scenario": label, "estimator": name, "error": row.value - true, "se": row.se,
                             "covered": row.ci_low <= true <= row.ci_high, "true": true})
    frame = pd.DataFrame(rows)
    summary = frame.groupby(["scenario", "estimator"]).agg(
        mean_true=("true", "mean"), mean_error=("error", "mean"), sd_error=("error", "std"),
        mean_se=("se", "mean"), coverage=("covered", "mean"))
    print(f"{args.replications} replications, cohorts of about {int(c['cohort'].sum())} households, "
          f"planted effect {args.effect:.0%}; {time.perf_counter() - started:.0f} s")
    print(summary.round(3).to_string())


if __name__ == "__main__":
    main()
