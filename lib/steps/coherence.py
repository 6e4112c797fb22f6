"""Step 7: coherence (samenhang): which problems cluster in which households.

Reads the cube's household table and runs the analyses of ``lib.coherence`` on the
households' distinct domain profiles, over every domain the run measures, grouped as the method
counts domains (``[domains] counting_groups``, unless ``[coherence] domain_groups`` groups them) (a measured domain
in which no household has costs is an all-zero column, named in every table like the others): pairwise co-occurrence, frequent domain
combinations and association rules, cost-weighted combinations, correlation of costs
between domains, and two typologies (k-modes clusters and a latent class model) with
the evidence for their number and how they agree. Requests every table for export
(``<work>/NN_coherence/tables/``); the export step publishes them through disclosure
control. Internal, unprotected results go to the work folder:

* ``profiles`` -- the distinct domain profiles: one 0/1 column per domain group, number of
  households, summed costs per group;
* ``household_types`` -- household, profile, number of groups, k-modes cluster, latent
  class and its posterior probability (-1 / empty outside the clustered households);
* ``pairs.csv``, ``itemsets.csv``, ``rules.csv``, ``cost_combinations.csv``,
  ``cost_correlations.csv``, ``typology_profiles.csv``, ``cluster_choice.csv``,
  ``class_choice.csv``, ``cluster_profiles.csv``, ``class_profiles.csv``,
  ``class_item_probabilities.csv``, ``agreement.csv``, ``summary.csv``.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from lib.coherence.analysis import BaselineReach, analyse_coherence, cube_domains, level_cutoff_text
from lib.export_requests import clear_requests, request_tables
from lib.pipeline import RunContext, Step, StepResult
from lib.steps.households import domain_counting, run_domains, run_metadata
from lib.steps.read_sources import registers_only, skipped_without_costs
from lib import workfiles
from lib.workfiles import read_table, table_path, write_table

CUBE_COLUMNS = ("household", "household_type", "n_persons", "n_children", "cost_total")


def _cube_columns(stem) -> list[str]:
    """The columns of the cube's household table the coherence step needs (not the whole table)."""
    path = table_path(stem)
    if workfiles.HAS_PARQUET:
        import pyarrow.parquet as pq
        names = pq.read_schema(path).names
    else:
        names = list(json.loads(path.with_suffix(".dtypes.json").read_text(encoding="utf-8")))
    return [c for c in names if c in CUBE_COLUMNS or c.startswith("cost_")]


def _read_cube(stem) -> pd.DataFrame:
    columns = _cube_columns(stem)
    if workfiles.HAS_PARQUET and "household_type" in columns:
        # Household types as a dictionary column: millions of rows, a handful of values.
        import pyarrow.parquet as pq
        return pq.read_table(table_path(stem), columns=columns, read_dictionary=["household_type"]).to_pandas()
    return read_table(stem, columns=columns)


def baseline_reach(config, households: pd.DataFrame, measured: list[str]) -> BaselineReach:
    """What the baseline publishes per domain, from the same cube households: households with costs
    per method domain (``bereik_per_domein``: a positive sum over the study years), and per fine
    domain (a measured domain without a column has none) the households with costs other than 0 over
    the years and their costs (``kosten_domein_jaar``)."""
    domains = cube_domains(households)
    per_fine = households[[f"cost_{d}" for d in domains]].to_numpy()
    costs, names = domain_counting(config, domains).group_costs(per_fine, domains)
    absent = {d: 0 for d in measured if d not in domains}
    return BaselineReach(households=dict(zip(map(str, names), (costs > 0).sum(axis=0).astype(int).tolist())),
                         households_fine=dict(zip(domains, (per_fine != 0).sum(axis=0).astype(int).tolist())) | absent,
                         costs_fine=dict(zip(domains, per_fine.sum(axis=0).astype(float).tolist())) | absent,
                         total_label=config.disclosure_rules.total_label)


def coherence(ctx: RunContext) -> StepResult:
    config = ctx.config
    if registers_only(config):
        return skipped_without_costs()
    households = _read_cube(ctx.earlier_step_dir("cube") / "households")
    rules = config.disclosure_rules
    # Every domain the run measures, also one without costs (no column in the cube): the tables
    # say which domains are measured, so one missing here would show that it is empty.
    measured, _ = run_domains(config)
    settings = dict(config["coherence"])
    if not settings["domain_groups"]:
        # By default the analyses group the domains as the method counts them ([domains]
        # counting_groups): police -> prosecution is one case, not a coherence of two problems.
        settings["domain_groups"] = {group: list(members) for group, members in
                                     domain_counting(config, cube_domains(households)).groups.items()
                                     if members != (group,) and not set(members) & set(settings["exclude_domains"])}
    result = analyse_coherence(households, settings, seed=config["run"]["seed"],
                               min_units=rules.min_units, near_full_share=rules.near_full_share,
                               rounding_base=rules.rounding_base, min_residual_df=rules.min_residual_df,
                               baseline_top_share=config["baseline"]["top_group_share"],
                               metadata=run_metadata(config), domains=measured,
                               protection_level=rules.protection_level,
                               reach=baseline_reach(config, households, measured))
    out = ctx.step_dir
    clear_requests(out)
    request_tables(out, result.tables)

    profiles = result.profiles
    distinct = pd.DataFrame(profiles.distinct.profiles.astype(np.int8), columns=profiles.groups)
    distinct["n_households"] = profiles.distinct.weights
    summed = profiles.profile_costs()
    for j, group in enumerate(profiles.groups):
        distinct[f"cost_{group}"] = summed[:, j]
    write_table(distinct, out / "profiles")
    write_table(result.household_types, out / "household_types")
    csv = {"pairs": result.pairs, "itemsets": result.itemsets, "rules": result.rules,
           "cost_combinations": result.combinations, "cost_correlations": result.correlations,
           "typology_profiles": result.typology_profiles, "cluster_profiles": result.cluster_profiles,
           "class_profiles": result.class_profiles, "agreement": result.agreement}
    if result.cluster_choice is not None:
        csv["cluster_choice"] = result.cluster_choice.table
        csv["class_choice"] = result.class_choice.table
        csv["class_item_probabilities"] = _item_probabilities(result)
    for name, frame in csv.items():
        frame.to_csv(out / f"{name}.csv", index=False, encoding="utf-8")
    pd.Series(result.summary).to_csv(out / "summary.csv", header=["value"], encoding="utf-8")

    step = StepResult(outputs=["tables/", "profiles", "household_types"] + [f"{n}.csv" for n in csv] + ["summary.csv"])
    step.counts = {"tables requested": len(result.tables), "households": int(result.summary["households"]),
                   "distinct domain profiles": int(result.summary["distinct profiles"]),
                   "frequent domain combinations": len(result.itemsets), "association rules": len(result.rules)}
    step.notes += result.notes
    step.notes.append("domain groups: " + "; ".join(f"{g} = {' + '.join(d)}" for g, d in result.groups.items()))
    step.notes += [f"{k}: {v:,.3f}" if isinstance(v, float) else f"{k}: {v:,}" for k, v in result.summary.items()]
    step.notes += level_cutoff_text(result.level_cutoffs)
    return step


def _item_probabilities(result) -> pd.DataFrame:
    """Estimated P(category | class) of the chosen latent class model, long format (internal)."""
    model = result.class_choice.models[result.class_choice.chosen]
    rows = []
    for c in range(len(model.weights_)):
        for j, group in enumerate(result.profiles.groups):
            for v, category in enumerate(model.categories_[j]):
                rows.append({"klasse": c, "class_size": model.weights_[c], "group": group,
                             "category": int(category), "probability": model.item_probabilities_[c, j, v]})
    return pd.DataFrame(rows)


STEP = Step(
    name="coherence",
    title="coherence: co-occurrence, association rules, cost-weighted combinations, typologies of households",
    run=coherence,
    reads=("05_cube/households",),
    writes=("tables/ (requests for export)", "profiles", "household_types", "pairs.csv", "itemsets.csv",
            "rules.csv", "cost_combinations.csv", "cost_correlations.csv", "typology_profiles.csv",
            "cluster_choice.csv", "class_choice.csv", "cluster_profiles.csv", "class_profiles.csv",
            "class_item_probabilities.csv", "agreement.csv", "summary.csv"),
)
