"""A planted effect of the tailored approach, for testing the monitoring estimators.

The synthetic data have no intervention. This module enrols a random share of the most
expensive households on a start date and lowers the costs of their members after the
start by a known fraction, so that an estimator can be scored against the known effect.
Used by tests/test_monitoring.py and benchmarks/simulate_monitoring.py.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lib.config import RunConfig
from lib.dates import day_number, month_index
from lib.households import households_on
from lib.monitoring import MonitoringResult, cohort_costs, run_monitoring
from lib.pipeline import run_steps, step_folder
from lib.workfiles import read_table


def prepare_country(config: RunConfig, start: int, top_share: float = 0.05) -> dict:
    """Run the pipeline to the ledger and households; the households on ``start`` and which are
    eligible (the ``top_share`` most expensive before the start among those with costs)."""
    run_steps(config, ["inventory", "read_sources", "price", "households"])
    hh = {n: read_table(step_folder(config, "households") / n)
          for n in ("household_spells", "membership_spells", "area_spells")}
    end = day_number(f"{config.years[-1]}-12-31")
    households, members = households_on(start, hh["household_spells"], hh["membership_spells"], hh["area_spells"], end)
    households = households[~households["institutional"]].reset_index(drop=True)
    members = members[members["household"].isin(households["household"])]
    ledger = read_table(step_folder(config, "price") / "ledger")
    domains = sorted(map(str, ledger["domain"].unique()))
    before = cohort_costs(ledger[ledger["month"] < month_index(start)], members, "year", domains)
    baseline = before.groupby("household")["cost"].sum().reindex(households["household"], fill_value=0.0)
    eligible = baseline.to_numpy() >= np.quantile(baseline[baseline > 0], 1 - top_share)
    return dict(ledger=ledger, households=households, members=members, eligible=eligible, domains=domains,
                start=start, periods=[str(y) for y in config.years], seed=config["run"]["seed"])


def enrol(country: dict, seed: int, share: float = 0.5) -> dict:
    """The country with a cohort of a random ``share`` of the eligible households."""
    cohort = country["eligible"] & (np.random.default_rng(seed).random(len(country["households"])) < share)
    return country | {"cohort": cohort}


def with_planted_effect(country: dict, effect: float) -> tuple[pd.DataFrame, float]:
    """The ledger with the cohort's costs after the start lowered by ``effect``, and the true
    effect per household per year: ``-effect`` times the cohort's mean yearly cost after the start."""
    ledger, members = country["ledger"], country["members"]
    cohort_households = country["households"]["household"].to_numpy()[country["cohort"]]
    cohort_persons = members.loc[members["household"].isin(cohort_households), "person"]
    after = (ledger["month"].to_numpy() >= month_index(country["start"])) & ledger["person"].isin(cohort_persons).to_numpy()
    treated = ledger.copy()
    treated.loc[after, "cost"] *= (1 - effect)
    follow_up_years = len([p for p in country["periods"] if int(p) >= pd.Timestamp(np.datetime64(country["start"], "D")).year])
    mean_after = ledger.loc[after, "cost"].sum() / len(cohort_households) / follow_up_years
    return treated, -effect * mean_after


def monitor(country: dict, ledger: pd.DataFrame, caliper: float = 0.2) -> MonitoringResult:
    h = country["households"]
    costs = cohort_costs(ledger, country["members"], "year", country["domains"])
    return run_monitoring(costs, h, country["cohort"], int(month_index(country["start"])),
                          country["periods"], "year", country["domains"], caliper=caliper, seed=country["seed"],
                          moved=h["moved_away"].to_numpy(bool), dissolved=h["dissolved"].to_numpy(bool))
