"""k-modes clustering of categorical profiles, on numpy, in scikit-learn style.

The estimator compresses its input to distinct rows with weights
(:func:`lib.coherence.profiles.compress_profiles`) and clusters those: with millions of
households and a few thousand distinct domain profiles, one restart costs milliseconds,
so many restarts are cheap. Results depend only on the multiset of rows: fitting the
rows or their distinct profiles with their counts as ``sample_weight`` gives identical
centroids, cost and labels.

One restart:

1. initial modes by Huang's method (attribute values drawn from their frequencies, each
   replaced by the nearest distinct profile not yet chosen), Cao's density method, or
   weighted random profiles;
2. Lloyd iteration to a fixed point: assign every profile to its nearest mode (ties to the
   lowest cluster index), recompute every mode (ties to the lowest category code), order
   clusters by size (largest first), until the labels no longer change; an empty
   cluster gets the profile whose removal from its cluster lowers the cost most;
3. single-profile moves: the move of one profile (with all its households) to another
   cluster that lowers the total cost most, counting how both clusters' modes change; then
   Lloyd again, until no move lowers the cost.

The cost is the weighted number of mismatches between profiles and their cluster's mode
(simple matching dissimilarity), as in Huang (1998). The restart with the lowest cost
is kept; among restarts of equal cost, the one whose clusters are most homogeneous
(lowest Gini impurity of the categories within clusters), a second criterion that
separates equal-cost optima such as the two of the soybean data. A constant attribute (one
category, such as a domain in which no household has costs) matches every mode and takes no
draws: the clustering is the same with or without it. At the end, ``labels_``
is the nearest-mode assignment (``predict``) and every mode is the mode of its cluster.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin

from lib.coherence.encoding import (
    compress_rows,
    decode,
    encode,
    encode_distinct,
    one_hot,
)

INITS = ("huang", "cao", "random")
_CHUNK_CELLS = 1 << 22


class _Problem:
    """Distinct profiles with weights and their one-hot form, shared by the restarts."""

    def __init__(self, codes: np.ndarray, weights: np.ndarray, n_categories: np.ndarray):
        self.codes = codes
        self.weights = weights.astype(np.float64)
        self.n_categories = n_categories
        self.m, self.d = codes.shape
        self.width = int(max(1, n_categories.max(initial=1)))
        self.hot = one_hot(codes, self.width)
        self.total = float(self.weights.sum())
        # Gains are exact integers for integer weights; this only absorbs float noise of
        # fractional sample weights.
        self.tol = 1e-9 * max(1.0, self.total) * max(1, self.d)

    def distances(self, mode_codes: np.ndarray) -> np.ndarray:
        """(m, k) number of mismatching attributes (exact: sums of 0/1 products)."""
        return self.d - self.hot @ one_hot(mode_codes, self.width).T

    def assign(self, mode_codes: np.ndarray) -> np.ndarray:
        return np.argmin(self.distances(mode_codes), axis=1)

    def frequencies(self, labels: np.ndarray, k: int) -> np.ndarray:
        """(k, d, width) weighted frequency of every category per cluster and attribute."""
        member = np.zeros((self.m, k))
        member[np.arange(self.m), labels] = self.weights
        return (member.T @ self.hot).reshape(k, self.d, self.width)

    def removal_savings(self, labels: np.ndarray, freq: np.ndarray) -> np.ndarray:
        """Cost saved in its cluster by taking each profile out of it (modes recomputed)."""
        w = self.weights
        own = freq[labels]                                       # (m, d, width)
        before = own.sum(axis=2)[:, 0] * self.d - own.max(axis=2).sum(axis=1)
        after_freq = own - w[:, None, None] * self.hot.reshape(self.m, self.d, self.width)
        after = (own.sum(axis=2)[:, 0] - w) * self.d - after_freq.max(axis=2).sum(axis=1)
        return before - after


def _modes(freq: np.ndarray) -> np.ndarray:
    return np.argmax(freq, axis=2)       # first maximum: the lowest category code on ties


def _cost(freq: np.ndarray) -> float:
    sizes = freq[:, 0, :].sum(axis=1)
    return float((sizes * freq.shape[1] - freq.max(axis=2).sum(axis=1)).sum())


def _impurity(freq: np.ndarray) -> float:
    """Gini impurity of the categories within clusters: sum over clusters and attributes of
    W - sum_v F_v**2 / W (W the cluster's weight). Breaks ties between equal-cost restarts."""
    sizes = freq[:, 0, :].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        purity = np.where(sizes > 0, (freq ** 2).sum(axis=(1, 2)) / sizes, 0.0)
    return float((sizes * freq.shape[1] - purity).sum())


def _fill_empty(problem: _Problem, labels: np.ndarray, k: int) -> np.ndarray:
    """Give every empty cluster the profile whose removal from its cluster saves most."""
    labels = labels.copy()
    for _ in range(k):
        counts = np.bincount(labels, minlength=k)
        empty = np.flatnonzero(counts == 0)
        if not len(empty):
            break
        freq = problem.frequencies(labels, k)
        savings = problem.removal_savings(labels, freq)
        # A profile alone in its cluster cannot leave it (that would empty it).
        savings[counts[labels] <= 1] = -np.inf
        labels[int(np.argmax(savings))] = empty[0]
    return labels


def _order_clusters(freq: np.ndarray, modes: np.ndarray) -> np.ndarray:
    """Cluster order: largest weight first, then modes in lexicographic order."""
    sizes = freq[:, 0, :].sum(axis=1)
    keys = [modes[:, j] for j in range(modes.shape[1] - 1, -1, -1)] + [-sizes]
    return np.lexsort(keys)


def _lloyd(problem: _Problem, labels: np.ndarray, k: int, max_iter: int) -> tuple[np.ndarray, np.ndarray, int]:
    n_iter = 0
    while True:
        labels = _fill_empty(problem, labels, k)
        freq = problem.frequencies(labels, k)
        modes = _modes(freq)
        order = _order_clusters(freq, modes)
        rank = np.empty(k, dtype=np.int64)
        rank[order] = np.arange(k)
        labels, modes = rank[labels], modes[order]
        new_labels = problem.assign(modes)
        n_iter += 1
        if np.array_equal(new_labels, labels) or n_iter >= max_iter:
            return new_labels, modes, n_iter
        labels = new_labels


def _best_move(problem: _Problem, labels: np.ndarray, k: int) -> tuple[int, int, float]:
    """The single-profile move that lowers the cost most: (profile, cluster, gain)."""
    freq = problem.frequencies(labels, k)
    counts = np.bincount(labels, minlength=k)
    top = freq.max(axis=2)                                       # (k, d)
    savings = problem.removal_savings(labels, freq)
    w = problem.weights
    best = (-1, -1, 0.0)
    step = max(1, _CHUNK_CELLS // max(1, k * problem.d))
    attributes = np.arange(problem.d)
    for start in range(0, problem.m, step):
        rows = slice(start, start + step)
        codes = problem.codes[rows]
        wr = w[rows]
        # Frequency of each profile's own category in every cluster: (k, rows, d).
        own = freq[:, attributes[None, :], codes]
        added = np.maximum(top[:, None, :], own + wr[None, :, None]) - top[:, None, :]
        add_cost = problem.d * wr[None, :] - added.sum(axis=2)  # (k, rows)
        gain = savings[None, rows] - add_cost
        lab = labels[rows]
        gain[lab, np.arange(len(lab))] = -np.inf
        gain[:, counts[lab] <= 1] = -np.inf
        flat = int(np.argmax(gain))
        cluster, row = divmod(flat, gain.shape[1])
        if gain[cluster, row] > best[2]:
            best = (start + row, cluster, float(gain[cluster, row]))
    return best


def _run(problem: _Problem, init_modes: np.ndarray, k: int, max_iter: int
         ) -> tuple[np.ndarray, np.ndarray, float, int, float]:
    labels, modes, n_iter = _lloyd(problem, problem.assign(init_modes), k, max_iter)
    while n_iter < max_iter:
        profile, cluster, gain = _best_move(problem, labels, k)
        if gain <= problem.tol:
            break
        labels = labels.copy()
        labels[profile] = cluster
        labels, modes, more = _lloyd(problem, labels, k, max_iter - n_iter)
        n_iter += more
    freq = problem.frequencies(labels, k)
    return labels, modes, _cost(freq), n_iter, _impurity(freq)


def init_huang(problem: _Problem, k: int, rng: np.random.Generator) -> np.ndarray:
    """Huang's initial modes on weighted profiles (see module docstring)."""
    drawn = np.zeros((k, problem.d), dtype=np.int64)
    for j in range(problem.d):
        if problem.n_categories[j] <= 1:
            # A constant attribute (e.g. a domain without costs) has nothing to draw; drawing
            # would still take numbers from the stream and change the modes of the others.
            continue
        freq = np.bincount(problem.codes[:, j], weights=problem.weights, minlength=int(problem.n_categories[j]))
        drawn[:, j] = rng.choice(len(freq), size=k, p=freq / freq.sum())
    distance = problem.distances(drawn)                          # (m, k)
    chosen: list[int] = []
    for i in range(k):
        # Nearest profile not chosen yet; among equally near, the most frequent.
        order = np.lexsort((np.arange(problem.m), -problem.weights, distance[:, i]))
        pick = next(p for p in order.tolist() if p not in chosen)
        chosen.append(pick)
    return problem.codes[chosen]


def init_cao(problem: _Problem, k: int) -> np.ndarray:
    """Cao, Liang and Bai (2009): density times distance, deterministic."""
    density = np.zeros(problem.m)
    # Over the attributes that vary: a constant one adds the same to every profile's density,
    # which would shift the products density x distance and so the modes chosen.
    varying = np.flatnonzero(problem.n_categories > 1)
    for j in varying:
        freq = np.bincount(problem.codes[:, j], weights=problem.weights, minlength=int(problem.n_categories[j]))
        density += freq[problem.codes[:, j]]
    density /= problem.total * max(1, len(varying))
    chosen = [int(np.argmax(density))]
    nearest = problem.distances(problem.codes[chosen]).min(axis=1)
    for _ in range(1, k):
        pick = int(np.argmax(nearest * density))
        chosen.append(pick)
        nearest = np.minimum(nearest, problem.distances(problem.codes[[pick]])[:, 0])
    return problem.codes[chosen]


def init_random(problem: _Problem, k: int, rng: np.random.Generator) -> np.ndarray:
    """k different profiles drawn with probability proportional to their weight."""
    return problem.codes[rng.choice(problem.m, size=k, replace=False, p=problem.weights / problem.total)]


class KModes(ClusterMixin, BaseEstimator):
    """k-modes clustering for categorical data, on the weighted distinct rows.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {"huang", "cao", "random"} or array of shape (n_clusters, n_features), default="huang"
        Initial modes: Huang's frequency-based draw, Cao's deterministic density method,
        weighted random distinct rows, or given modes (in the original values).
    n_init : int, default=10
        Number of restarts (with different draws); the lowest cost is kept. Ignored
        (one run) for the deterministic ``"cao"`` and for given modes.
    max_iter : int, default=100
        Maximum number of Lloyd iterations per restart.
    random_state : int, numpy Generator or None, default=None
        Seed of the draws; the same seed and data give identical results.

    Attributes
    ----------
    cluster_centroids_ : ndarray of shape (n_clusters, n_features)
        The mode of every cluster, in the original values; clusters are ordered by size,
        largest first.
    labels_ : ndarray of shape (n_samples,)
        Cluster of every training row (the nearest mode; ties to the lowest index).
    cost_ : float
        Weighted number of mismatches between the rows and their cluster's mode.
    n_iter_ : int
        Lloyd iterations of the kept restart.
    n_features_in_ : int
        Number of features.
    categories_ : list of ndarray
        Sorted categories of every feature.
    n_distinct_ : int
        Number of distinct rows the clustering ran on.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1, 1, 0], [1, 1, 0], [1, 1, 1], [0, 0, 1], [0, 0, 1], [0, 1, 1]])
    >>> km = KModes(n_clusters=2, random_state=0).fit(X)
    >>> km.cluster_centroids_.tolist(), km.labels_.tolist(), km.cost_
    ([[0, 0, 1], [1, 1, 0]], [1, 1, 1, 0, 0, 0], 2.0)
    >>> km.predict(np.array([[1, 0, 0]])).tolist()
    [1]
    """

    def __init__(self, n_clusters: int = 8, *, init="huang", n_init: int = 10, max_iter: int = 100,
                 random_state=None):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, y=None, sample_weight=None):
        """Cluster the rows of ``X`` (categorical values; rows with weight 0 are ignored).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Weight of each row, e.g. the number of households with that profile.

        Returns
        -------
        self
        """
        k = int(self.n_clusters)
        if k < 1:
            raise ValueError("n_clusters must be at least 1")
        if self.max_iter < 1 or self.n_init < 1:
            raise ValueError("max_iter and n_init must be at least 1")
        if sample_weight is not None and (np.asarray(sample_weight) < 0).any():
            raise ValueError("sample weights must be non-negative")
        # Compress first, code the (few) distinct rows after: linear in the number of rows.
        distinct, categories = encode_distinct(X, sample_weight)
        keep = distinct.weights > 0
        if int(keep.sum()) < k:
            raise ValueError(f"the data have {int(keep.sum())} distinct rows (with weight), fewer than "
                             f"n_clusters={k}")
        problem = _Problem(distinct.profiles[keep], distinct.weights[keep], distinct.n_categories)
        rng = np.random.default_rng(self.random_state)
        given = not isinstance(self.init, str)
        if not given and self.init not in INITS:
            raise ValueError(f"init must be one of {INITS} or an array of modes")
        runs = 1 if (given or self.init == "cao") else int(self.n_init)
        best = None
        for _ in range(runs):
            if given:
                init_modes = encode(np.asarray(self.init), categories)
                if init_modes.shape != (k, problem.d) or (init_modes < 0).any():
                    raise ValueError("init modes must have shape (n_clusters, n_features) and known categories")
            elif self.init == "huang":
                init_modes = init_huang(problem, k, rng)
            elif self.init == "cao":
                init_modes = init_cao(problem, k)
            else:
                init_modes = init_random(problem, k, rng)
            result = _run(problem, init_modes, k, int(self.max_iter))
            # Lowest cost; among equal costs the most homogeneous clusters (lowest impurity).
            if best is None or result[2] < best[2] - problem.tol or (
                    result[2] <= best[2] + problem.tol and result[4] < best[4] - problem.tol):
                best = result
        labels, modes, cost, n_iter, _ = best
        profile_labels = np.full(distinct.n_distinct, -1, dtype=np.int64)
        profile_labels[keep] = labels
        # Rows of weight 0 are not clustered, but still get their nearest mode.
        if (~keep).any():
            profile_labels[~keep] = _Problem(distinct.profiles[~keep], np.ones(int((~keep).sum())),
                                             problem.n_categories).assign(modes)
        self._mode_codes = modes
        self.categories_ = categories
        self.cluster_centroids_ = decode(modes, categories)
        self.labels_ = profile_labels[distinct.inverse]
        self.cost_ = cost
        self.n_iter_ = n_iter
        self.n_features_in_ = problem.d
        self.n_distinct_ = problem.m
        return self

    def predict(self, X) -> np.ndarray:
        """Nearest mode of every row (simple matching; ties to the lowest cluster index).

        Values not seen in fitting mismatch every mode.
        """
        if not hasattr(self, "_mode_codes"):
            raise AttributeError("this KModes instance is not fitted yet; call fit first")
        raw, _, inverse = compress_rows(X)
        codes = encode(raw, self.categories_)
        width = max(1, max(len(c) for c in self.categories_))
        distances = codes.shape[1] - one_hot(codes, width) @ one_hot(self._mode_codes, width).T
        return np.argmin(distances, axis=1)[inverse]

    def fit_predict(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit and return ``labels_``."""
        return self.fit(X, sample_weight=sample_weight).labels_
