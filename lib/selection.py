"""Selection: which households qualify for a tailored approach (maatwerkaanpak).

Criteria (``[selection]`` of the run config) on the household cube:

* ``top_share``: the most expensive share of five-year costs in the one ranking of the
  export (all households of the study area, ``lib.baseline.RANKING``; e.g. 0.05 = the top
  5%), so that the selected group is a group of the ranked tables, not a second ranking that
  differs from them by a few households;
* ``min_domains``: at least this many domains with costs, domains as the method counts them
  (``[domains] counting_groups``, ``lib.domains``: the justice chain is one domain);
* ``combinations``: has every domain of at least one listed combination (a method's domain
  such as ``justitie``, or a fine domain such as ``detentie`` for a narrower criterion);
* ``min_cost``: five-year cost of at least this many euros (price year of the run);
* ``resident_only``: still living in the study area.

``combine = "all"`` requires every criterion that is set; ``"any"`` one of them (the
resident criterion always applies when set).

The list of selected households is person data: it is written only to the work folder,
only when ``write_list`` is true, and never in a statistics-only run (CBS Remote Access
is for statistics only). What can be exported is the aggregated profile of the selected
group, through disclosure control.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lib.baseline import rank_bands
from lib.domains import DomainCounting
from lib.errors import UserFacingError


class SelectionRefused(UserFacingError):
    """A list of individual households was asked for where that is not allowed."""


def select_households(households: pd.DataFrame, domains: list[str], settings: dict,
                      counting: DomainCounting | None = None) -> pd.Series:
    """Boolean per household (aligned with ``households``): does it qualify?

    ``domains``: the fine domains of the run; ``counting``: the method's domains (by default
    each fine domain counts as one). ``households["n_domains"]`` counts the method's domains."""
    n = len(households)
    cost = households["cost_total"].to_numpy(dtype=float)
    tests: list[np.ndarray] = []
    if settings["top_share"] > 0:
        tests.append(rank_bands(cost, [settings["top_share"]]) == 0)
    if settings["min_domains"] > 0:
        tests.append(households["n_domains"].to_numpy() >= settings["min_domains"])
    if settings["combinations"]:
        counting = counting or DomainCounting.from_groups({}, domains)
        # A domain of the run without costs in these households has no cost column: nobody has it.
        fine = np.zeros((n, len(domains)))
        for j, d in enumerate(domains):
            if f"cost_{d}" in households:
                fine[:, j] = households[f"cost_{d}"].to_numpy(dtype=float)
        grouped, names = counting.group_costs(fine, domains)
        present = {d: fine[:, j] > 0 for j, d in enumerate(domains)} | {g: grouped[:, k] > 0
                                                                        for k, g in enumerate(names)}
        unknown = sorted({d for combo in settings["combinations"] for d in combo} - set(present))
        if unknown:
            raise UserFacingError(f"[selection] combinations name unknown domain(s) {unknown}; the domains of this "
                                  f"run are {names} (fine domains: {domains})")
        has_any = np.zeros(n, dtype=bool)
        for combo in settings["combinations"]:
            has_any |= np.logical_and.reduce([present[d] for d in combo])
        tests.append(has_any)
    if settings["min_cost"] > 0:
        tests.append(cost >= settings["min_cost"])
    if not tests:
        raise UserFacingError("[selection] sets no criterion: give top_share, min_domains, combinations or min_cost")
    combined = np.logical_and.reduce(tests) if settings["combine"] == "all" else np.logical_or.reduce(tests)
    if settings["resident_only"]:
        combined &= households["still_resident"].to_numpy(dtype=bool)
    return pd.Series(combined, index=households.index, name="selected")


def check_list_allowed(statistics_only: bool, write_list: bool) -> None:
    """Refuse a list of households in a statistics-only run (CBS RA)."""
    if write_list and statistics_only:
        raise SelectionRefused(
            "[selection] write_list = true is refused: this run is statistics only ([run] statistics_only = true, as "
            "in CBS Remote Access, which is for statistics only). Selecting individual households is a separate "
            "legal act; only the aggregated profile of the selected group is produced here.")
