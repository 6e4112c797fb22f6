"""k-modes: hand-worked examples, exactness of the profile compression, local optimality, soybean.

Independent checks: the optimum by exhaustive enumeration of all partitions of a small
data set; the fixed point (no profile moves, every mode is its cluster's mode) checked
row by row in plain Python; the soybean data's four known classes.
"""
from __future__ import annotations

import io
from functools import cache
from itertools import product

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

from lib.coherence.kmodes import INITS, KModes, _Problem, init_cao

# The small soybean data (UCI; Michalski and Chilausky 1980): 47 cases, 35 categorical
# attributes, the class D1-D4 last. Embedded so the test needs no file outside the bundle.
SOYBEAN_CSV = """\
4,0,2,1,1,1,0,1,0,2,1,1,0,2,2,0,0,0,1,0,3,1,1,1,0,0,0,0,4,0,0,0,0,0,0,D1
5,0,2,1,0,3,1,1,1,2,1,1,0,2,2,0,0,0,1,1,3,0,1,1,0,0,0,0,4,0,0,0,0,0,0,D1
3,0,2,1,0,2,0,2,1,1,1,1,0,2,2,0,0,0,1,0,3,0,1,1,0,0,0,0,4,0,0,0,0,0,0,D1
6,0,2,1,0,1,1,1,0,0,1,1,0,2,2,0,0,0,1,1,3,1,1,1,0,0,0,0,4,0,0,0,0,0,0,D1
4,0,2,1,0,3,0,2,0,2,1,1,0,2,2,0,0,0,1,0,3,1,1,1,0,0,0,0,4,0,0,0,0,0,0,D1
5,0,2,1,0,2,0,1,1,0,1,1,0,2,2,0,0,0,1,1,3,1,1,1,0,0,0,0,4,0,0,0,0,0,0,D1
3,0,2,1,0,2,1,1,0,1,1,1,0,2,2,0,0,0,1,1,3,0,1,1,0,0,0,0,4,0,0,0,0,0,0,D1
3,0,2,1,0,1,0,2,1,2,1,1,0,2,2,0,0,0,1,0,3,0,1,1,0,0,0,0,4,0,0,0,0,0,0,D1
6,0,2,1,0,3,0,1,1,1,1,1,0,2,2,0,0,0,1,0,3,1,1,1,0,0,0,0,4,0,0,0,0,0,0,D1
6,0,2,1,0,1,0,1,0,2,1,1,0,2,2,0,0,0,1,0,3,1,1,1,0,0,0,0,4,0,0,0,0,0,0,D1
6,0,0,2,1,0,2,1,0,0,1,1,0,2,2,0,0,0,1,1,0,3,0,0,0,2,1,0,4,0,0,0,0,0,0,D2
4,0,0,1,0,2,3,1,1,1,1,1,0,2,2,0,0,0,1,0,0,3,0,0,0,2,1,0,4,0,0,0,0,0,0,D2
5,0,0,2,0,3,2,1,0,2,1,1,0,2,2,0,0,0,1,0,0,3,0,0,0,2,1,0,4,0,0,0,0,0,0,D2
6,0,0,1,1,3,3,1,1,0,1,1,0,2,2,0,0,0,1,0,0,3,0,0,0,2,1,0,4,0,0,0,0,0,0,D2
3,0,0,2,1,0,2,1,0,1,1,1,0,2,2,0,0,0,1,0,0,3,0,0,0,2,1,0,4,0,0,0,0,0,0,D2
4,0,0,1,1,1,3,1,1,1,1,1,0,2,2,0,0,0,1,1,0,3,0,0,0,2,1,0,4,0,0,0,0,0,0,D2
3,0,0,1,0,1,2,1,0,0,1,1,0,2,2,0,0,0,1,0,0,3,0,0,0,2,1,0,4,0,0,0,0,0,0,D2
5,0,0,2,1,2,2,1,0,2,1,1,0,2,2,0,0,0,1,1,0,3,0,0,0,2,1,0,4,0,0,0,0,0,0,D2
6,0,0,2,0,1,3,1,1,0,1,1,0,2,2,0,0,0,1,0,0,3,0,0,0,2,1,0,4,0,0,0,0,0,0,D2
5,0,0,2,1,3,3,1,1,2,1,1,0,2,2,0,0,0,1,0,0,3,0,0,0,2,1,0,4,0,0,0,0,0,0,D2
0,1,2,0,0,1,1,1,1,1,1,0,0,2,2,0,0,0,1,0,1,1,0,1,1,0,0,3,4,0,0,0,0,0,0,D3
2,1,2,0,0,3,1,2,0,1,1,0,0,2,2,0,0,0,1,0,1,1,0,1,0,0,0,3,4,0,0,0,0,0,0,D3
2,1,2,0,0,2,1,1,0,2,1,0,0,2,2,0,0,0,1,0,1,1,0,1,1,0,0,3,4,0,0,0,0,0,0,D3
0,1,2,0,0,0,1,1,1,2,1,0,0,2,2,0,0,0,1,0,1,1,0,1,0,0,0,3,4,0,0,0,0,0,0,D3
0,1,2,0,0,2,1,1,1,1,1,0,0,2,2,0,0,0,1,0,1,1,0,1,0,0,0,3,4,0,0,0,0,0,0,D3
4,0,2,0,1,0,1,2,0,2,1,1,0,2,2,0,0,0,1,1,1,1,0,1,1,0,0,3,4,0,0,0,0,0,0,D3
2,1,2,0,0,3,1,2,0,2,1,0,0,2,2,0,0,0,1,0,1,1,0,1,1,0,0,3,4,0,0,0,0,0,0,D3
0,1,2,0,0,0,1,1,0,1,1,0,0,2,2,0,0,0,1,0,1,1,0,1,0,0,0,3,4,0,0,0,0,0,1,D3
3,0,2,0,1,3,1,2,0,1,1,0,0,2,2,0,0,0,1,1,1,1,0,1,1,0,0,3,4,0,0,0,0,0,0,D3
0,1,2,0,0,1,1,2,1,2,1,0,0,2,2,0,0,0,1,0,1,1,0,1,0,0,0,3,4,0,0,0,0,0,0,D3
2,1,2,1,1,3,1,2,1,2,1,1,0,2,2,0,0,0,1,0,2,2,0,1,0,0,0,3,4,0,0,0,0,0,1,D4
0,1,1,1,0,1,1,1,0,0,1,1,0,2,2,0,0,0,1,0,1,2,0,0,0,0,0,3,4,0,0,0,0,0,1,D4
3,1,2,0,0,1,1,2,1,0,1,1,0,2,2,0,0,0,1,0,2,2,0,0,0,0,0,3,4,0,0,0,0,0,1,D4
2,1,2,1,1,1,1,2,0,2,1,1,0,2,2,0,0,0,1,0,1,2,0,1,0,0,0,3,4,0,0,0,0,0,1,D4
1,1,2,0,0,3,1,1,1,2,1,1,0,2,2,0,0,0,1,0,2,2,0,0,0,0,0,3,4,0,0,0,0,0,1,D4
1,1,2,1,0,0,1,2,1,1,1,1,0,2,2,0,0,0,1,0,2,2,0,0,0,0,0,3,4,0,0,0,0,0,1,D4
0,1,2,1,0,3,1,1,0,0,1,1,0,2,2,0,0,0,1,0,1,2,0,0,0,0,0,3,4,0,0,0,0,0,1,D4
2,1,2,0,0,1,1,2,0,0,1,1,0,2,2,0,0,0,1,0,1,2,0,0,0,0,0,3,4,0,0,0,0,0,1,D4
3,1,2,0,0,2,1,2,1,1,1,1,0,2,2,0,0,0,1,0,2,2,0,0,0,0,0,3,4,0,0,0,0,0,1,D4
3,1,1,0,0,2,1,2,1,2,1,1,0,2,2,0,0,0,1,0,2,2,0,0,0,0,0,3,4,0,0,0,0,0,1,D4
0,1,2,1,1,1,1,1,0,0,1,1,0,2,2,0,0,0,1,0,1,2,0,1,0,0,0,3,4,0,0,0,0,0,1,D4
1,1,2,1,1,3,1,2,0,1,1,1,0,2,2,0,0,0,1,1,1,2,0,1,0,0,0,3,4,0,0,0,0,0,1,D4
1,1,2,0,0,0,1,2,1,0,1,1,0,2,2,0,0,0,1,0,2,2,0,0,0,0,0,3,4,0,0,0,0,0,1,D4
1,1,2,1,1,2,3,1,1,1,1,1,0,2,2,0,0,0,1,0,2,2,0,1,0,0,0,3,4,0,0,0,0,0,1,D4
2,1,1,0,0,3,1,2,0,2,1,1,0,2,2,0,0,0,1,0,1,2,0,0,0,0,0,3,4,0,0,0,0,0,1,D4
0,1,1,1,1,2,1,2,1,0,1,1,0,2,2,0,0,0,1,1,2,2,0,1,0,0,0,3,4,0,0,0,0,0,1,D4
0,1,2,1,0,3,1,1,0,2,1,1,0,2,2,0,0,0,1,0,1,2,0,0,0,0,0,3,4,0,0,0,0,0,1,D4
"""


def soybean() -> tuple[np.ndarray, np.ndarray]:
    data = pd.read_csv(io.StringIO(SOYBEAN_CSV), header=None)
    return data.iloc[:, :-1].to_numpy(), data.iloc[:, -1].to_numpy()


def mismatch_cost(X: np.ndarray, labels: np.ndarray, modes: np.ndarray) -> int:
    return int((X != modes[labels]).sum())


def column_modes(X: np.ndarray) -> np.ndarray:
    """Mode of every column; ties to the smallest value (plain Python, row by row)."""
    out = []
    for j in range(X.shape[1]):
        values, counts = np.unique(X[:, j], return_counts=True)
        out.append(values[np.flatnonzero(counts == counts.max())[0]])
    return np.array(out)


@cache
def optimal_cost_of(seed: int, n: int, d: int, k: int) -> tuple[np.ndarray, int]:
    X = np.random.default_rng(seed).integers(0, 3, size=(n, d))
    return X, optimal_cost(X, k)


def optimal_cost(X: np.ndarray, k: int) -> int:
    """The lowest k-modes cost over every partition of the rows into k non-empty clusters."""
    best = None
    for assignment in product(range(k), repeat=len(X) - 1):
        labels = np.array((0,) + assignment)
        if len(np.unique(labels)) < k:
            continue
        cost = sum(int((X[labels == c] != column_modes(X[labels == c])).sum()) for c in range(k))
        best = cost if best is None else min(best, cost)
    return best


def sample_rows(seed: int, n: int = 300) -> np.ndarray:
    """Binary domain-like profiles with heavy duplication (few distinct rows, many households)."""
    rng = np.random.default_rng(seed)
    types = np.array([[1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1], [1, 0, 0, 0, 0, 1]])
    rows = types[rng.integers(0, len(types), n)]
    noise = rng.random(rows.shape) < 0.08
    return np.where(noise, 1 - rows, rows)


def test_worked_example():
    X = np.array([[1, 1, 0], [1, 1, 0], [1, 1, 1], [0, 0, 1], [0, 0, 1], [0, 1, 1]])
    km = KModes(n_clusters=2, init="cao").fit(X)
    # Two clusters of three: modes 001 and 110, one mismatch each. Equal sizes: the
    # lexicographically smaller mode is cluster 0.
    assert km.cluster_centroids_.tolist() == [[0, 0, 1], [1, 1, 0]]
    assert km.labels_.tolist() == [1, 1, 1, 0, 0, 0]
    assert km.cost_ == 2.0
    assert km.predict(np.array([[1, 0, 0], [0, 1, 1], [9, 9, 9]])).tolist() == [1, 0, 0]


def test_cao_initial_modes_by_hand():
    X = np.array([[0, 0], [0, 0], [0, 1], [1, 1]])
    # Density of a row: mean over columns of the share of rows with the same value.
    # 00: (3/4 + 2/4)/2 = 0.625; 01: (3/4 + 2/4)/2 = 0.625; 11: (1/4 + 2/4)/2 = 0.375.
    # First mode: the densest (00, first of the tie); second: the largest density x distance
    # to 00: 01 -> 0.625 * 1, 11 -> 0.375 * 2 = 0.75, so 11.
    codes, counts = np.unique(X, axis=0, return_counts=True)
    problem = _Problem(codes, counts, np.array([2, 2]))
    assert init_cao(problem, 2).tolist() == [[0, 0], [1, 1]]


@pytest.mark.parametrize("init", INITS)
def test_rows_and_weighted_profiles_give_identical_results(init):
    rows = sample_rows(1)
    profiles, counts = np.unique(rows, axis=0, return_counts=True)
    by_row = KModes(4, init=init, n_init=5, random_state=3).fit(rows)
    by_profile = KModes(4, init=init, n_init=5, random_state=3).fit(profiles, sample_weight=counts)
    assert np.array_equal(by_row.cluster_centroids_, by_profile.cluster_centroids_)
    assert by_row.cost_ == by_profile.cost_ and by_row.n_iter_ == by_profile.n_iter_
    _, inverse = np.unique(rows, axis=0, return_inverse=True)
    assert np.array_equal(by_row.labels_, by_profile.labels_[inverse.reshape(-1)])
    # The row order does not matter either.
    order = np.random.default_rng(0).permutation(len(rows))
    shuffled = KModes(4, init=init, n_init=5, random_state=3).fit(rows[order])
    assert np.array_equal(shuffled.cluster_centroids_, by_row.cluster_centroids_)
    assert np.array_equal(shuffled.labels_, by_row.labels_[order])
    # And the cost is the number of mismatches, counted row by row.
    assert by_row.cost_ == mismatch_cost(rows, by_row.labels_, by_row.cluster_centroids_)


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_result_is_a_fixed_point_with_no_improving_move(init, seed):
    rows = sample_rows(seed, n=120)
    km = KModes(3, init=init, n_init=3, random_state=seed).fit(rows)
    labels, modes = km.labels_, km.cluster_centroids_
    assert np.array_equal(km.predict(rows), labels)
    for c in range(3):
        assert np.array_equal(column_modes(rows[labels == c]), modes[c])
    # No move of one distinct profile (all its rows) to another cluster lowers the cost.
    cost = km.cost_
    for profile in np.unique(rows, axis=0):
        members = (rows == profile).all(axis=1)
        for target in range(3):
            moved = labels.copy()
            moved[members] = target
            if np.array_equal(moved, labels) or len(np.unique(moved)) < 3:
                continue
            new_cost = sum(int((rows[moved == c] != column_modes(rows[moved == c])).sum()) for c in range(3))
            assert new_cost >= cost


@pytest.mark.parametrize("init", INITS)
def test_reaches_the_exhaustive_optimum_on_small_data(init):
    X, expected = optimal_cost_of(11, 8, 4, 3)
    km = KModes(3, init=init, n_init=10, random_state=0).fit(X)
    assert km.cost_ == expected


@pytest.mark.parametrize("init", INITS)
def test_soybean_recovered_exactly(init):
    X, classes = soybean()
    for seed in range(3):
        km = KModes(4, init=init, n_init=10, random_state=seed).fit(X)
        assert adjusted_rand_score(classes, km.labels_) == 1.0
        assert km.cost_ == 199.0      # the mismatches of the four true classes around their modes
        assert mismatch_cost(X, km.labels_, km.cluster_centroids_) == 199
    # As text: the same partition.
    text = KModes(4, init=init, n_init=10, random_state=0).fit(X.astype(str))
    assert adjusted_rand_score(classes, text.labels_) == 1.0


def test_deterministic_for_a_seed_and_sklearn_compatible():
    rows = sample_rows(4)
    a = KModes(4, n_init=4, random_state=9).fit(rows)
    b = clone(a).fit(rows)
    assert np.array_equal(a.labels_, b.labels_) and a.cost_ == b.cost_
    assert a.get_params()["n_clusters"] == 4
    assert np.array_equal(KModes(4, random_state=9).fit_predict(rows), KModes(4, random_state=9).fit(rows).labels_)
    # Clusters are ordered by size, largest first.
    sizes = np.bincount(a.labels_)
    assert (np.diff(sizes) <= 0).all()


def test_zero_weights_and_errors():
    X = np.array([[0, 1], [1, 0], [1, 1], [0, 0]])
    km = KModes(2, init="cao").fit(X, sample_weight=[5, 5, 0, 5])
    assert km.n_distinct_ == 3 and len(km.labels_) == 4
    assert km.labels_[2] == km.predict(X[2:3])[0]
    with pytest.raises(ValueError, match="fewer than n_clusters"):
        KModes(3).fit(np.array([[0, 1], [0, 1], [1, 1]]))
    with pytest.raises(ValueError, match="init must be"):
        KModes(2, init="kmeans++").fit(X)
    given = KModes(2, init=np.array([[0, 0], [1, 1]])).fit(X)
    assert given.cost_ == 2.0
