"""Typologies of multi-problem households: choosing the number of types, its stability, and how two typologies agree.

Both typologies (k-modes clusters and latent classes) are fitted on the weighted
distinct profiles. The number of types is chosen by a stated rule that does not depend
on the seed or on how far the range of numbers tried reaches:

* latent classes: the lowest BIC. Each number of classes is fitted from ``n_init`` random
  starts plus one start per class of the solution with one class fewer, split in two
  (:class:`LatentClassModel` ``start_from``): with random starts alone the small classes
  were found for some seeds only, and BIC chose 7, 8 or 9 classes on the 40,000-household
  synthetic set depending on the seed (10 starts), with these starts 7 for every seed;
* k-modes clusters: the smallest number at which one cluster more lowers the number of
  mismatches by less than ``min_gain`` (10%) of the mismatches of a single cluster (every
  household at one mode). The rule looks only at k and k + 1, so widening the range does
  not change it; the former elbow (the point farthest below the chord over the whole
  range) moved with the range's ends.

Stability is measured by resampling households (:func:`resampling_stability`): the
households are drawn with replacement (a multinomial draw of the profile weights, exactly
a bootstrap of the households), the chosen number of types is fitted again on each
resample, and each resample's typology is compared with the full-data one by the adjusted
Rand index over the households. The agreement between independent k-modes runs on the
same data (``restart_ari``) is kept as a check that the optimisation does not depend on
the seed, not as stability. Agreement between two typologies is the adjusted Rand index
and the share of households in matching types after the best one-to-one matching, both
weighted by households.
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


def single_mode_cost(profiles: np.ndarray, weights: np.ndarray) -> float:
    """Mismatches of one cluster: per attribute, the weight outside its most frequent category.

    The k-modes cost at k = 1, computed directly (the mode of one cluster is the most
    frequent category of every attribute).
    """
    profiles = np.asarray(profiles)
    weights = np.asarray(weights, dtype=np.float64)
    total = 0.0
    for j in range(profiles.shape[1]):          # a loop over a handful of attributes
        _, codes = np.unique(profiles[:, j], return_inverse=True)
        total += weights.sum() - np.bincount(codes.reshape(-1), weights=weights).max(initial=0.0)
    return float(total)


def gain_choice(k_values: Sequence[int], gains: Sequence[float], min_gain: float) -> int:
    """The first k (from small to large) whose next k removes less than ``min_gain``.

    ``gains[i]`` is the cost removed by going from ``k_values[i] - 1`` to ``k_values[i]``
    clusters, as a share of the single-cluster cost. Only k and k + 1 are compared, so the
    choice does not change when the range is widened beyond k + 1 (an elbow over the whole
    range does). ``k_values`` must be consecutive; when no k qualifies (every step still
    removes ``min_gain`` or more), the largest k tried.

    Examples
    --------
    >>> gain_choice([2, 3, 4, 5, 6], [0.2, 0.2, 0.1, 0.03, 0.02], min_gain=0.05)
    4
    """
    k = [int(x) for x in k_values]
    g = np.asarray(gains, dtype=float)
    for i in range(len(k) - 1):
        if g[i + 1] < min_gain:
            return k[i]
    return k[-1]


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
    """The evidence for the number of types and the fitted models per number.

    ``stability`` holds the adjusted Rand index of every resample's typology against the
    full-data one, at the chosen number (empty without resamples); ``at_edge`` says that the
    rule chose the largest number tried because no smaller one met it (the number may be
    larger than the range allows).
    """

    table: pd.DataFrame
    chosen: int
    models: dict[int, object] = field(default_factory=dict)
    stability: np.ndarray = field(default_factory=lambda: np.empty(0))
    at_edge: bool = False


KMODES_MIN_GAIN = 0.10
"""Default ``min_gain`` of the k-modes rule. On the synthetic sets (5,000, 40,000 and 1 million
households) one cluster more removes 17-19% of the single-cluster mismatches up to 4
clusters and at most 5% after: a bound in that gap gives the same number for every seed."""

STABILITY_RESAMPLES = 20
"""Default number of resamples of the households for the stability of the chosen number of
types (mean and spread of 20 adjusted Rand indices; each costs one fit). Only the chosen
number: for every number tried the demo's coherence step took 3-4 times as long."""


def resample_starts(n_init: int) -> int:
    """Random starts of a refit on a resample: a quarter of the full fit's, at least 2.

    Each refit also starts from the full-data solution, which is nearly always the
    resample's optimum or next to it; the random starts let a resample whose optimum lies
    elsewhere find it. With all of them, the coherence step on the 40,000-household
    synthetic set took 2.2 times as long as without resampling.
    """
    return max(2, int(n_init) // 4)


def bootstrap_weights(weights: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(n_resamples, m) profile weights of households drawn with replacement.

    Drawing N households with replacement and counting them per distinct profile is a
    multinomial draw with the profile shares as probabilities: the same distribution,
    without a pass over the households (vectorised, O(m) per resample).
    """
    weights = np.asarray(weights, dtype=np.float64)
    total = int(round(weights.sum()))
    return rng.multinomial(total, weights / weights.sum(), size=int(n_resamples)).astype(np.float64)


def resampling_stability(fit_labels, profiles: np.ndarray, weights: np.ndarray, reference: np.ndarray,
                         n_resamples: int, seed: int) -> np.ndarray:
    """Adjusted Rand index of the typology of every resample against ``reference``.

    Parameters
    ----------
    fit_labels : callable
        ``fit_labels(resampled_weights, resample_index)`` fits the typology on the distinct
        ``profiles`` with the resample's weights and returns a type for every distinct
        profile (also those not drawn).
    profiles, weights : ndarray
        The distinct profiles and their numbers of households (the full data).
    reference : ndarray
        The full-data type of every distinct profile.
    n_resamples, seed : int
        Number of resamples; seed of the draws (same seed, same indices).

    Returns
    -------
    ndarray of shape (n_resamples,)
        The indices, each weighted by the full data's households: how many pairs of
        households that the full-data typology puts together (or apart) a resample's
        typology does too, corrected for chance. A resample whose fit fails (fewer distinct
        profiles drawn than types) is NaN.
    """
    draws = bootstrap_weights(weights, n_resamples, np.random.default_rng(derived_seed(seed, 9_001)))
    out = np.full(len(draws), np.nan)
    for b, resampled in enumerate(draws):       # a loop over resamples; each fit is vectorised
        try:
            labels = fit_labels(resampled, b)
        except ValueError:
            continue
        out[b] = adjusted_rand_index(reference, labels, weights)
    return out


def _stability_columns(table: pd.DataFrame, scores: dict[int, np.ndarray]) -> None:
    """Mean, standard deviation and lowest resampling ARI per number of types (NaN without)."""
    def summary(k: int) -> tuple[float, float, float, int]:
        valid = scores.get(k, np.empty(0))
        valid = valid[np.isfinite(valid)]
        return (valid.mean() if len(valid) else np.nan, valid.std(ddof=1) if len(valid) > 1 else np.nan,
                valid.min() if len(valid) else np.nan, len(valid))

    values = np.array([summary(int(k)) for k in table["k"]], dtype=float).reshape(-1, 4)
    table["resample_ari_mean"], table["resample_ari_sd"], table["resample_ari_min"] = values[:, :3].T
    table["resamples"] = values[:, 3].astype(np.int64)


def choose_kmodes(profiles: np.ndarray, weights: np.ndarray, k_values: Sequence[int], *, init: str = "huang",
                  n_init: int = 20, n_seeds: int = 5, seed: int = 1, n_clusters: int = 0,
                  max_iter: int = 100, min_gain: float = KMODES_MIN_GAIN,
                  n_resamples: int = STABILITY_RESAMPLES) -> TypologyChoice:
    """k-modes for every k, the number by the gain rule, and the stability under resampling.

    Parameters
    ----------
    profiles, weights : ndarray
        Distinct profiles and their numbers of households.
    k_values : sequence of int
        Consecutive numbers of clusters to try.
    init, n_init, max_iter : see :class:`KModes`
        ``n_init`` restarts per run.
    n_seeds : int
        Independent runs per k (each with ``n_init`` restarts); the lowest cost over all of
        them is kept, so a k gets ``n_seeds * n_init`` restarts. ``restart_ari`` is the mean
        adjusted Rand index between the runs' partitions: 1 when every run found the same
        solution (the optimisation does not depend on the seed).
    seed : int
        The run's seed; every fit derives its own from it.
    n_clusters : int
        > 0 fixes the number; 0 applies :func:`gain_choice` with ``min_gain``.
    min_gain : float
        The rule's bound, as a share of the single-cluster cost (:func:`single_mode_cost`).
    n_resamples : int
        Resamples of the households for the stability of the chosen k (0: none).

    Returns
    -------
    TypologyChoice
        ``table`` per k: cost, mismatches per household, ``gain`` (the cost removed by going
        from k - 1 to k clusters, as a share of the single-cluster cost), ``restart_ari``,
        runs and restarts, and at the chosen k the resampling stability
        (``resample_ari_mean``, ``_sd``, ``_min``, ``resamples``; NaN and 0 elsewhere);
        ``stability`` the indices of the chosen k.
    """
    rows = []
    models: dict[int, KModes] = {}
    runs = 1 if init == "cao" else max(1, int(n_seeds))   # Cao's method is deterministic
    restarts = 1 if init == "cao" else int(n_init)
    total = float(np.sum(weights))
    cost_one = single_mode_cost(profiles, weights)
    k_values = [int(k) for k in k_values]

    def best_of_runs(k: int) -> tuple[KModes, float]:
        fits = [KModes(k, init=init, n_init=n_init, max_iter=max_iter,
                       random_state=derived_seed(seed, k, run)).fit(profiles, sample_weight=weights)
                for run in range(runs)]
        agreement = (np.mean([adjusted_rand_index(a.labels_, b.labels_, weights) for a, b in combinations(fits, 2)])
                     if len(fits) > 1 else np.nan)
        return min(fits, key=lambda f: f.cost_), agreement          # first of equal costs: deterministic

    # The cost one cluster fewer than the range starts, for the gain of its first k.
    previous_cost = cost_one if k_values[0] <= 2 else best_of_runs(k_values[0] - 1)[0].cost_
    for k in k_values:
        best, agreement = best_of_runs(k)
        models[k] = best
        rows.append({"k": k, "cost": best.cost_, "mismatches_per_household": best.cost_ / total,
                     "gain": (previous_cost - best.cost_) / cost_one if cost_one > 0 else 0.0,
                     "restart_ari": agreement, "runs": runs, "restarts_per_run": restarts})
        previous_cost = best.cost_
    table = pd.DataFrame(rows)
    chosen = int(n_clusters) if n_clusters else gain_choice(table["k"], table["gain"], min_gain)
    table["chosen"] = table["k"] == chosen
    at_edge = not n_clusters and chosen == k_values[-1]
    scores: dict[int, np.ndarray] = {}
    for k in ([chosen] if n_resamples > 0 else []):
        def refit(resampled: np.ndarray, b: int, k: int = k) -> np.ndarray:
            # The full-data modes as a start, so that a resample is not judged unstable for an
            # optimum its random restarts missed, and a quarter of one run's restarts so that it
            # can leave it (all of them doubled the demo's coherence step time).
            random = KModes(k, init=init, n_init=resample_starts(n_init), max_iter=max_iter,
                            random_state=derived_seed(seed, k, 1_000 + b)).fit(profiles, sample_weight=resampled)
            if init == "cao":
                return random.labels_
            try:
                warm = KModes(k, init=models[k].cluster_centroids_, max_iter=max_iter).fit(
                    profiles, sample_weight=resampled)
            except ValueError:        # a category of the modes not drawn in this resample
                return random.labels_
            return (warm if warm.cost_ < random.cost_ else random).labels_

        scores[k] = resampling_stability(refit, profiles, weights, models[k].labels_, n_resamples, seed)
    _stability_columns(table, scores)
    return TypologyChoice(table=table, chosen=chosen, models=models, stability=scores.get(chosen, np.empty(0)),
                          at_edge=bool(at_edge))


def choose_latent_classes(profiles: np.ndarray, weights: np.ndarray, k_values: Sequence[int], *, n_init: int = 10,
                          seed: int = 1, n_classes: int = 0, max_iter: int = 5000,
                          n_categories: Sequence[int] | None = None,
                          n_resamples: int = STABILITY_RESAMPLES) -> TypologyChoice:
    """A latent class model for every number of classes; the lowest BIC unless ``n_classes`` > 0.

    Each number is fitted from ``n_init`` random starts and from the solution with one class
    fewer, each of its classes split in two (the numbers below the range are fitted for
    that too, without entering the table): the choice then no longer depends on the seed
    (see the module docstring). ``n_categories``: the categories each column can take (see
    :class:`LatentClassModel`), so that the parameters, BIC and AIC do not depend on whether a
    category happens to be empty. ``n_resamples``: resamples of the households for the
    stability of the chosen number; each refit starts at random and from the full-data
    solution, and its modal classes are compared with the full data's.
    """
    rows = []
    models: dict[int, LatentClassModel] = {}
    k_values = [int(k) for k in k_values]
    previous = None
    for k in range(1, max(k_values) + 1):
        # Below the range: one random start is enough (it only seeds the split starts).
        starts = n_init if k in k_values or k == min(k_values) - 1 else 1
        model = LatentClassModel(k, n_init=starts, max_iter=max_iter, random_state=derived_seed(seed, k, 0),
                                 n_categories=n_categories, start_from=previous).fit(profiles, sample_weight=weights)
        previous = model
        if k not in k_values:
            continue
        models[k] = model
        rows.append({"k": k, "loglik": model.loglik_, "n_parameters": model.n_parameters_, "bic": model.bic_,
                     "aic": model.aic_, "entropy": model.entropy_, "converged": model.converged_})
    table = pd.DataFrame(rows)
    chosen = int(n_classes) if n_classes else int(table.loc[table["bic"].idxmin(), "k"])
    table["chosen"] = table["k"] == chosen
    at_edge = not n_classes and len(table) > 1 and chosen == int(table["k"].iloc[-1])
    scores: dict[int, np.ndarray] = {}
    for k in ([chosen] if n_resamples > 0 else []):
        full = models[k]

        def refit(resampled: np.ndarray, b: int, k: int = k, full: LatentClassModel = full) -> np.ndarray:
            # The full-data solution as a start and a quarter of the random starts (see
            # resample_starts): the resample's own optimum.
            model = LatentClassModel(k, n_init=resample_starts(n_init), max_iter=max_iter,
                                     random_state=derived_seed(seed, k, 1_000 + b), n_categories=n_categories,
                                     start_from=full).fit(profiles, sample_weight=resampled)
            return model.predict(profiles)

        scores[k] = resampling_stability(refit, profiles, weights, full.predict(profiles), n_resamples, seed)
    _stability_columns(table, scores)
    return TypologyChoice(table=table, chosen=chosen, models=models, stability=scores.get(chosen, np.empty(0)),
                          at_edge=bool(at_edge))
