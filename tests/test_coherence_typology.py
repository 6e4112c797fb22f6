"""Choosing the number of types and comparing typologies.

The weighted adjusted Rand index is checked against scikit-learn on the expanded rows;
the elbow and the matched agreement by hand; model choice on data with a known number
of planted types.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score

from lib.coherence.typology import (adjusted_rand_index, choose_kmodes, choose_latent_classes, contingency, elbow,
                                    matched_agreement)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(0, 5)), min_size=1, max_size=30))
def test_weighted_ari_equals_sklearn_on_expanded_rows(triples):
    a, b, w = (np.array(x) for x in zip(*triples))
    expanded_a, expanded_b = np.repeat(a, w), np.repeat(b, w)
    if len(expanded_a) < 2:
        return
    assert adjusted_rand_index(a, b, w) == pytest.approx(adjusted_rand_score(expanded_a, expanded_b), abs=1e-12)


def test_contingency_and_matched_agreement_by_hand():
    a = np.array([0, 0, 1, 1, 2])
    b = np.array([5, 5, 5, 7, 7])
    w = np.array([10, 5, 1, 20, 4])
    assert contingency(a, b, w).tolist() == [[15, 0], [1, 20], [0, 4]]
    # Best one-to-one matching: 0 <-> 5 (15), 1 <-> 7 (20); 2 unmatched: 35 of 40.
    assert matched_agreement(a, b, w) == pytest.approx(35 / 40)


def test_elbow_by_hand():
    # Costs fall steeply to k = 4 and slowly after: the elbow is 4.
    assert elbow([2, 3, 4, 5, 6, 7], [100, 60, 25, 22, 20, 19]) == 4
    assert elbow([2, 3], [10, 5]) == 2
    assert elbow([2, 3, 4], [7, 7, 7]) == 2


def planted(seed: int, n_types: int = 4, n: int = 4000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    types = np.eye(8, dtype=np.int64)[[0, 2, 4, 6]] + np.eye(8, dtype=np.int64)[[1, 3, 5, 7]]
    kind = rng.integers(0, n_types, n)
    rows = np.where(rng.random((n, 8)) < 0.05, 1 - types[kind], types[kind])
    profiles, counts = np.unique(rows, axis=0, return_counts=True)
    return profiles, counts, kind


def test_kmodes_choice_finds_the_planted_number_and_is_stable():
    profiles, counts, _ = planted(1)
    choice = choose_kmodes(profiles, counts, range(2, 8), n_init=10, n_seeds=3, seed=5)
    assert choice.chosen == 4
    table = choice.table.set_index("k")
    assert table.loc[4, "stability_ari"] == pytest.approx(1.0)
    assert table.loc[4, "chosen"] and table["chosen"].sum() == 1
    assert (np.diff(table["cost"].to_numpy()) <= 0).all()
    assert table.loc[4, "mismatches_per_household"] == pytest.approx(choice.models[4].cost_ / counts.sum())
    fixed = choose_kmodes(profiles, counts, range(2, 8), n_init=10, n_seeds=3, seed=5, n_clusters=6)
    assert fixed.chosen == 6


def test_latent_class_choice_by_bic_and_agreement_with_kmodes():
    profiles, counts, _ = planted(2)
    classes = choose_latent_classes(profiles, counts, range(1, 7), n_init=5, seed=3)
    assert classes.chosen == 4
    table = classes.table.set_index("k")
    assert table["bic"].idxmin() == 4
    assert (np.diff(table["loglik"].to_numpy()) >= -1e-6).all()     # more classes never fit worse
    clusters = choose_kmodes(profiles, counts, [4], n_init=10, n_seeds=2, seed=3)
    lca = classes.models[4].predict(profiles)
    # Both typologies find the same four types.
    assert adjusted_rand_index(clusters.models[4].labels_, lca, counts) > 0.95
