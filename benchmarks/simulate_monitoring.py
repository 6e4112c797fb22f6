"""Simulation study of the monitoring estimators: bias, SD, standard error and coverage.

    python benchmarks/simulate_monitoring.py --replications 20 --households 20000

Each replication is an independent population: synthetic data generated with a new seed
(``--households`` households, the whole synthetic country as study area, in
bench_data/monitoring_sim/, removed afterwards unless ``--keep``), cohort start at
1 January of the third study year. Two designs per population:

* ``selection`` (the default design of ``[monitoring] cohort = "selection"``): the cohort is
  every household selected by the default ``[selection]`` (the 5% most expensive on the
  costs before the start), so every comparison household lies below the threshold;
* ``random half``: a random half of the 5% most expensive households before the start is
  enrolled, compared with every other household (the favourable case: the other half is a
  comparable part of the pool);
* ``enrolled vs eligible``: a random half of the households the default ``[selection]``
  selects is enrolled and compared only with the selected households that were not
  (``comparison_pool``; ``[monitoring] comparison = "eligible"`` with ``cohort = "file"``).

Each design is estimated without an effect and with a planted 20% reduction of the
cohort's costs after the start (``lib.synthetic.monitoring_simulation``). Per estimator
(before/after, matched DiD, placebo) the table gives the mean true value, the bias (mean
error), the SD of the error, the mean reported standard error, the coverage of the 95%
interval (over every replication, published or not) and the share of replications in which
the publication gate (``lib.monitoring.publication_gate``) lets the comparison estimates
out, with the matched share of the cohort. The DiD's truth is the effect on the matched
cohort households (the planted reduction of their own costs after the start: the
estimand of matching that discards unmatched cohort households), the before/after's on the
whole cohort, the placebo's 0.
"""
from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def population(out: Path, households: int, seed: int):
    """Generate one synthetic country and prepare it (pipeline to the households step)."""
    from lib.config import load_config
    from lib.dates import day_number
    from lib.synthetic.generate import generate
    from lib.synthetic.monitoring_simulation import prepare_country
    from lib.synthetic.spec import GeneratorSpec
    from lib.synthetic.writers import available_formats

    if out.exists():
        shutil.rmtree(out)
    spec = GeneratorSpec(households=households, seed=seed, formats=tuple(f for f in available_formats() if f != "sav"))
    generate(out, spec, progress=lambda _: None)
    text = (out / "config.toml").read_text(encoding="utf-8")
    text = text.replace(f'area = ["{spec.municipal_route_code}"]', 'area = ["NL"]')
    text += f"\n[monitoring]\nenabled = true\ncohort_start = {spec.first_year + 2}-01-01\n"
    path = out / "config_simulation.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    return config, prepare_country(config, day_number(f"{spec.first_year + 2}-01-01"))


def selected_cohort(config, country) -> "np.ndarray":
    """The default design: the households the step selects on the costs before the start."""
    from lib.dates import month_index
    from lib.monitoring import cohort_costs
    from lib.steps.monitoring import _selected_before_start

    ledger = country["ledger"]
    before = cohort_costs(ledger[ledger["month"] < month_index(country["start"])], country["members"], "year",
                          country["domains"])
    households = country["households"]
    if "in_area" not in households:
        households = households.assign(in_area=True)
    return _selected_before_start(before, households, country["domains"], config["selection"]).astype(bool)


def monitor_pool(country: dict, ledger, pool, caliper: float = 0.2):
    """``lib.synthetic.monitoring_simulation.monitor`` with a comparison pool."""
    from lib.dates import month_index
    from lib.monitoring import cohort_costs, run_monitoring
    h = country["households"]
    costs = cohort_costs(ledger, country["members"], "year", country["domains"])
    return run_monitoring(costs, h, country["cohort"], int(month_index(country["start"])), country["periods"], "year",
                          country["domains"], caliper=caliper, seed=country["seed"],
                          moved=h["moved_away"].to_numpy(bool), dissolved=h["dissolved"].to_numpy(bool),
                          comparison_pool=pool)


def score(result, truth_cohort: float, effect: float, no_effect_result) -> list[dict]:
    """One row per estimator: error against its own truth, SE, covered, published."""
    import numpy as np

    from lib.monitoring import EFFECT_LABEL, NAIVE_LABEL, PLACEBO_LABEL
    panel = no_effect_result.panel
    matched_after = panel[(panel["group"] == "cohort") & panel["period"].isin(no_effect_result.follow_up)]
    truth = {NAIVE_LABEL: truth_cohort, EFFECT_LABEL: -effect * matched_after["cost"].mean() if len(matched_after)
             else np.nan, PLACEBO_LABEL: 0.0}
    names = {NAIVE_LABEL: "before/after", EFFECT_LABEL: "matched DiD", PLACEBO_LABEL: "placebo"}
    matched_share = float(result.status["matched"].mean())
    rows = []
    for row in result.estimates.itertuples():
        true = truth[row.estimate]
        rows.append({"estimator": names[row.estimate], "true": true, "error": row.value - true, "se": row.se,
                     "covered": row.ci_low <= true <= row.ci_high, "published": bool(row.published),
                     "matched_share": matched_share})
    return rows


def main() -> None:
    import numpy as np
    import pandas as pd

    from lib.synthetic.monitoring_simulation import enrol, with_planted_effect
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=20, help="independent populations (new seed each)")
    parser.add_argument("--households", type=int, default=20_000, help="households per population")
    parser.add_argument("--effect", type=float, default=0.20)
    parser.add_argument("--first-seed", type=int, default=5000)
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    args = parser.parse_args()
    logging.disable(logging.INFO)          # the pipeline's step log of every population
    folder = ROOT / "bench_data" / "monitoring_sim"
    started = time.perf_counter()
    rows = []
    for r in range(args.replications):
        seed = args.first_seed + r
        config, country = population(folder / f"seed_{seed}", args.households, seed)
        selected = selected_cohort(config, country)
        half = np.random.default_rng(seed).random(len(selected)) < 0.5
        designs = {"selection": (country | {"cohort": selected}, None),
                   "random half": (enrol(country, seed), None),
                   "enrolled vs eligible": (country | {"cohort": selected & half}, selected & ~half)}
        for design, (c, pool) in designs.items():
            if c["cohort"].sum() < 2:
                continue
            base = monitor_pool(c, c["ledger"], pool)
            ledger, truth = with_planted_effect(c, args.effect)
            for scenario, result, true, effect in (("no effect", base, 0.0, 0.0),
                                                   ("planted effect", monitor_pool(c, ledger, pool), truth,
                                                    args.effect)):
                for row in score(result, true, effect, base):
                    rows.append({"design": design, "scenario": scenario, "seed": seed,
                                 "cohort": int(c["cohort"].sum()), **row})
        if not args.keep:
            shutil.rmtree(folder / f"seed_{seed}", ignore_errors=True)
        print(f"replication {r + 1}/{args.replications} (seed {seed}): {time.perf_counter() - started:.0f} s",
              flush=True)
    frame = pd.DataFrame(rows)
    summary = frame.groupby(["design", "scenario", "estimator"]).agg(
        cohort=("cohort", "mean"), matched_share=("matched_share", "mean"), mean_true=("true", "mean"),
        bias=("error", "mean"), sd=("error", "std"), mean_se=("se", "mean"), coverage=("covered", "mean"),
        published=("published", "mean"))
    summary["sd/mean_se"] = summary["sd"] / summary["mean_se"]
    print(f"\n{args.replications} independent populations of {args.households:,} households (seeds "
          f"{args.first_seed}-{args.first_seed + args.replications - 1}), planted effect {args.effect:.0%}; "
          f"{time.perf_counter() - started:.0f} s")
    with pd.option_context("display.width", 200):
        print(summary.round(3).to_string())
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "replications.csv", index=False)


if __name__ == "__main__":
    main()
