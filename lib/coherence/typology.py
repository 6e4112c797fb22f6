"""Typologies of multi-problem households: choosing the number of types, and how two typologies agree.

Both typologies (k-modes clusters and latent classes) are fitted on the weighted
distinct profiles. The number of clusters is chosen from the evidence a reader can
check: the k-modes cost curve (its elbow, the point farthest below the chord from the
first to the last k) and the stability of the solution across seeds (mean adjusted Rand
index between the partitions of independent runs); the number of latent classes by the
lowest BIC, with AIC and the relative entropy beside it. Agreement between two
typologies is the adjusted Rand index and the share of households in matching types
after the best one-to-one matching, both weighted by households.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from lib.coherence.kmodes import KModes
from lib.coherence.latent_class import LatentClassModel


def derived_seed(seed: int, *parts: int) -> int:
    """A seed for one fit, derived from the run's seed and the fit's position (k, repetition)."""
    return int(np.random.SeedSequence([int(seed), *map(int, parts)]).generate_state(1)[0])


def contingency(labels_a, labels_b, sample_weight=None) -> np.ndarray:
    """Weighted cross-table of two labelings (rows: values of ``labels_a``, columns: of ``labels_b``)."""
    _, a = np.unique(np.asarray(labels_a), return_inverse=True)
    _, b = np.unique(np.asarray(labels_b), return_inverse=True)
    a, b = a.reshape(-1), b.reshape(-1)
    n_b = int(b.max(initial=-1)) + 1
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    flat = np.bincount(a * n_b + b, weights=w, minlength=(int(a.max(initial=-1)) + 1) * n_b)
    return flat.reshape(-1, n_b)


def adjusted_rand_index(labels_a, labels_b, sample_weight=None) -> float:
    """Adjusted Rand index of two labelings; with integer weights equal to the index of the expanded rows.

    Examples
    --------
    >>> adjusted_rand_index([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    >>> round(adjusted_rand_index([0, 1], [0, 0], sample_weight=[2, 2]), 6)
    0.0
    """
    table = contingency(labels_a, labels_b, sample_weight)

    def pairs(x):
        return x * (x - 1) / 2      # number of pairs among x (weighted) units

    n = table.sum()
    index = pairs(table).sum()
    rows, cols = pairs(table.sum(axis=1)).sum(), pairs(table.sum(axis=0)).sum()
    total = pairs(n)
    if total == 0:
        return 1.0
    expected = rows * cols / total
    maximum = (rows + cols) / 2
    if maximum == expected:      # both labelings trivial (one group, or all singletons)
        return 1.0
    return float((index - expected) / (maximum - expected))


def matched_agreement(labels_a, labels_b, sample_weight=None) -> float:
    """Share of the weight in matching types after the best one-to-one matching of the types."""
    table = contingency(labels_a, labels_b, sample_weight)
    rows, cols = linear_sum_assignment(-table)
    total = table.sum()
    return float(table[rows, cols].sum() / total) if total else 1.0


def elbow(k_values: Sequence[int], costs: Sequence[float]) -> int:
    """The k of the cost curve farthest below the chord from its first to its last point.

    Both axes are scaled to [0, 1] first, so the choice does not depend on units. With two
    or fewer points, or a straight curve, the smallest k.
    """
    k = np.asarray(k_values, dtype=float)
    c = np.asarray(costs, dtype=float)
    if len(k) <= 2 or c.max() == c.min():
        return int(k[0])
    x = (k - k[0]) / (k[-1] - k[0])
    y = (c - c.min()) / (c.max() - c.min())
    y_chord = y[0] + (y[-1] - y[0]) * x
    depth = y_chord - y
    return int(k[int(np.argmax(depth))])


@dataclass
class TypologyChoice:
    """The evidence for the number of types and the fitted models per number."""

    table: pd.DataFrame
    chosen: int
    models: dict[int, object] = field(default_factory=dict)


def choose_kmodes(profiles: np.ndarray, weights: np.ndarray, k_values: Sequence[int], *, init: str = "huang",
                  n_init: int = 20, n_seeds: int = 5, seed: int = 1, n_clusters: int = 0,
                  max_iter: int = 100) -> TypologyChoice:
    """k-modes for every k: best cost over ``n_seeds`` independent runs, and their stability.

    Each run has ``n_init`` restarts of its own; the model kept for k is the run with the
    lowest cost. ``stability`` is the mean adjusted Rand index (weighted by households)
    between the runs' partitions. ``n_clusters`` > 0 fixes the choice; 0 takes the elbow.
    """
    rows = []
    models: dict[int, KModes] = {}
    runs = 1 if init == "cao" else max(1, int(n_seeds))   # Cao's method is deterministic
    total = float(np.sum(weights))
    for k in k_values:
        fits = [KModes(k, init=init, n_init=n_init, max_iter=max_iter,
                       random_state=derived_seed(seed, k, run)).fit(profiles, sample_weight=weights)
                for run in range(runs)]
        best = min(fits, key=lambda f: f.cost_)          # first of equal costs: deterministic
        stability = (np.mean([adjusted_rand_index(a.labels_, b.labels_, weights) for a, b in combinations(fits, 2)])
                     if len(fits) > 1 else np.nan)
        models[k] = best
        rows.append({"k": k, "cost": best.cost_, "mismatches_per_household": best.cost_ / total,
                     "stability_ari": stability, "runs": runs, "restarts_per_run": 1 if init == "cao" else n_init})
    table = pd.DataFrame(rows)
    chosen = int(n_clusters) if n_clusters else elbow(table["k"], table["cost"])
    table["chosen"] = table["k"] == chosen
    return TypologyChoice(table=table, chosen=chosen, models=models)


def choose_latent_classes(profiles: np.ndarray, weights: np.ndarray, k_values: Sequence[int], *, n_init: int = 10,
                          seed: int = 1, n_classes: int = 0, max_iter: int = 5000,
                          n_categories: Sequence[int] | None = None) -> TypologyChoice:
    """A latent class model for every number of classes; the lowest BIC unless ``n_classes`` > 0.

    ``n_categories``: the categories each column can take (see :class:`LatentClassModel`), so
    that the parameters, BIC and AIC do not depend on whether a category happens to be empty.
    """
    rows = []
    models: dict[int, LatentClassModel] = {}
    for k in k_values:
        model = LatentClassModel(k, n_init=n_init, max_iter=max_iter, random_state=derived_seed(seed, k, 0),
                                 n_categories=n_categories).fit(profiles, sample_weight=weights)
        models[k] = model
        rows.append({"k": k, "loglik": model.loglik_, "n_parameters": model.n_parameters_, "bic": model.bic_,
                     "aic": model.aic_, "entropy": model.entropy_, "converged": model.converged_})
    table = pd.DataFrame(rows)
    chosen = int(n_classes) if n_classes else int(table.loc[table["bic"].idxmin(), "k"])
    table["chosen"] = table["k"] == chosen
    return TypologyChoice(table=table, chosen=chosen, models=models)
