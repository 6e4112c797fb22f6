"""Costs and coherence: which domain combinations carry the costs, and how costs correlate across domains."""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from lib.coherence.profiles import HouseholdProfiles, mask_labels, popcount


def cost_by_combination(profiles: HouseholdProfiles) -> pd.DataFrame:
    """Households and costs per exact combination of domain groups (one row per distinct profile).

    ``share_cost`` is the share of all costs of the population carried by households with
    exactly that combination; ``geen`` is the combination without costs. Sorted by cost,
    largest first.

    Examples
    --------
    >>> import pandas as pd
    >>> from lib.coherence.profiles import household_profiles
    >>> cube = pd.DataFrame({"household": [1, 2, 3, 4], "cost_total": [10.0, 0.0, 5.0, 5.0],
    ...                      "cost_a": [10.0, 0.0, 0.0, 2.0], "cost_b": [0.0, 0.0, 5.0, 3.0]})
    >>> table = cost_by_combination(household_profiles(cube, {"a": ["a"], "b": ["b"]}))
    >>> table[["combination", "n_households", "cost", "share_cost"]]
      combination  n_households  cost  share_cost
    0           a             1  10.0        0.50
    1           b             1   5.0        0.25
    2       a + b             1   5.0        0.25
    3        geen             1   0.0        0.00
    """
    distinct = profiles.distinct
    masks = profiles.profile_masks()
    cost = np.bincount(distinct.inverse, weights=profiles.cost_total, minlength=distinct.n_distinct)
    total_cost = cost.sum()
    n = distinct.weights
    table = pd.DataFrame({
        "combination": mask_labels(masks, profiles.groups),
        "n_domains": popcount(masks),
        "n_households": n,
        "share_households": n / n.sum() if n.sum() else np.zeros(len(n)),
        "cost": cost,
        "share_cost": cost / total_cost if total_cost else np.zeros(len(cost)),
        "mean_cost": cost / np.maximum(n, 1),
        "mask": masks,
    })
    return table.sort_values(["cost", "n_households", "mask"], ascending=[False, False, True],
                             kind="mergesort").reset_index(drop=True)


def cost_correlations(costs: Mapping[str, np.ndarray], rows: np.ndarray) -> pd.DataFrame:
    """Pearson and Spearman correlation of the five-year costs of every pair of groups.

    ``rows`` selects the households (e.g. those with costs). Spearman's coefficient is the
    Pearson correlation of the ranks (average ranks for ties, such as the many zeros) of the
    costs in whole cents, so that equal amounts tie whatever the order they were summed in.
    A group without variation among the rows gives NaN.

    Examples
    --------
    >>> import numpy as np
    >>> c = cost_correlations({"a": np.array([1.0, 2, 3, 4]), "b": np.array([2.0, 4, 6, 9])}, np.ones(4, bool))
    >>> c[["a", "b", "spearman"]]
       a  b  spearman
    0  a  b       1.0
    """
    names = list(costs)
    matrix = np.column_stack([costs[g][rows] for g in names]) if names else np.zeros((0, 0))
    n = int(rows.sum())
    if n < 2:
        pearson = spearman = np.full((len(names), len(names)), np.nan)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            pearson = _correlation_matrix(matrix)
            spearman = _correlation_matrix(rankdata(np.round(matrix, 2), axis=0))
    a, b = np.triu_indices(len(names), k=1)
    return pd.DataFrame({"a": np.asarray(names, dtype=object)[a], "b": np.asarray(names, dtype=object)[b],
                         "n_households": n, "pearson": pearson[a, b], "spearman": spearman[a, b]})


def _correlation_matrix(matrix: np.ndarray) -> np.ndarray:
    centred = matrix - matrix.mean(axis=0)
    scale = np.sqrt((centred ** 2).sum(axis=0))
    return (centred.T @ centred) / np.outer(scale, scale)
