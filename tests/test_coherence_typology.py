"""Choosing the number of types, its stability, and comparing typologies.

The weighted adjusted Rand index is checked against scikit-learn on the expanded rows;
the elbow, the gain rule, the single-cluster cost and the matched agreement by hand;
model choice on data with a known number of planted types, for several seeds and ranges;
stability under resampling of households on planted types (near 1) and on noise (low).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score

from lib.coherence.analysis import reading_advice
from lib.coherence.typology import (TypologyChoice, adjusted_rand_index, bootstrap_weights, choose_kmodes,
                                    choose_latent_classes, contingency, elbow, gain_choice, matched_agreement,
                                    resampling_stability, single_mode_cost)


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


def test_gain_rule_and_single_cluster_cost_by_hand():
    # gains 0.2, 0.2, 0.1, 0.03: 4 is the first k whose next k removes less than 0.05.
    assert gain_choice([2, 3, 4, 5, 6], [0.2, 0.2, 0.1, 0.03, 0.02], 0.05) == 4
    # Only k and k + 1 count: the same curve cut at 5 or continued gives 4.
    assert gain_choice([2, 3, 4, 5], [0.2, 0.2, 0.1, 0.03], 0.05) == 4
    assert gain_choice([3, 4, 5, 6, 7, 8], [0.2, 0.1, 0.03, 0.02, 0.3, 0.01], 0.05) == 4
    # No k qualifies: the largest tried.
    assert gain_choice([2, 3, 4], [0.3, 0.2, 0.1], 0.05) == 4
    # One cluster: per attribute the weight outside its most frequent value.
    profiles = np.array([[1, 0, 2], [1, 1, 2], [0, 1, 0]])
    weights = np.array([5, 3, 2])
    # Column 0: value 1 on 8, so 2 outside; column 1: 5 and 5 (a tie), 5 outside; column 2: 2 outside.
    assert single_mode_cost(profiles, weights) == 2 + 5 + 2


def planted(seed: int, n_types: int = 4, n: int = 4000, noise: float = 0.05, sizes=None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    types = np.eye(8, dtype=np.int64)[[0, 2, 4, 6]] + np.eye(8, dtype=np.int64)[[1, 3, 5, 7]]
    kind = rng.choice(n_types, n, p=sizes) if sizes is not None else rng.integers(0, n_types, n)
    rows = np.where(rng.random((n, 8)) < noise, 1 - types[kind], types[kind])
    profiles, counts = np.unique(rows, axis=0, return_counts=True)
    return profiles, counts, kind


def expanded_cost(profiles, counts, labels, k) -> float:
    """k-modes cost recomputed on the expanded households: mismatches with each cluster's mode."""
    rows, lab = np.repeat(profiles, counts, axis=0), np.repeat(labels, counts)
    total = 0
    for c in range(k):
        members = rows[lab == c]
        mode = (members.mean(axis=0) > 0.5).astype(int)
        total += int((members != mode).sum())
    return total


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kmodes_choice_finds_the_planted_number_whatever_the_seed_or_range(seed):
    profiles, counts, _ = planted(seed)
    choice = choose_kmodes(profiles, counts, range(2, 8), n_init=10, n_seeds=2, seed=seed, n_resamples=0)
    assert choice.chosen == 4 and not choice.at_edge
    table = choice.table.set_index("k")
    assert table.loc[4, "chosen"] and table["chosen"].sum() == 1
    # The gains recomputed from the expanded households: single-cluster cost by hand, each
    # k's cost from its labels.
    rows = np.repeat(profiles, counts, axis=0)
    cost_one = sum(min(int(col.sum()), len(col) - int(col.sum())) for col in rows.T)
    costs = {k: expanded_cost(profiles, counts, choice.models[k].labels_, k) for k in range(2, 8)}
    assert [costs[k] for k in range(2, 8)] == table["cost"].tolist()
    expected_gain = [(cost_one - costs[2]) / cost_one] + [(costs[k - 1] - costs[k]) / cost_one for k in range(3, 8)]
    assert table["gain"].to_numpy() == pytest.approx(expected_gain, rel=1e-12)
    assert table.loc[4, "restart_ari"] > 0.95       # the runs differ only on profiles equally near two modes
    # Widening or narrowing the range (the elbow's weakness) does not move the choice.
    for k_values in (range(2, 6), range(3, 11), range(2, 13)):
        assert choose_kmodes(profiles, counts, k_values, n_init=10, n_seeds=2, seed=seed,
                             n_resamples=0).chosen == 4
    fixed = choose_kmodes(profiles, counts, range(2, 8), n_init=10, n_seeds=2, seed=5, n_clusters=6, n_resamples=0)
    assert fixed.chosen == 6 and not fixed.at_edge


def test_latent_class_choice_does_not_depend_on_the_seed_with_a_small_class():
    # Types of 55, 30, 10 and 5% of the households and one random start per number: random
    # starts alone end at k = 4 in a worse optimum for 2 of these 6 seeds (log-likelihood
    # -15242.49 instead of -15239.75); the starts split from k = 3 reach the same optimum for
    # every seed.
    profiles, counts, _ = planted(11, sizes=[0.55, 0.3, 0.1, 0.05], noise=0.12)
    chosen, logliks = set(), []
    for seed in range(1, 7):
        choice = choose_latent_classes(profiles, counts, range(2, 7), n_init=1, seed=seed, n_resamples=0)
        chosen.add(choice.chosen)
        logliks.append(choice.table.set_index("k").loc[4, "loglik"])
        # BIC recomputed from the published log-likelihood and parameters.
        t = choice.table
        assert t["bic"].to_numpy() == pytest.approx((-2 * t["loglik"] + t["n_parameters"] * np.log(counts.sum())
                                                     ).to_numpy(), rel=1e-12)
    assert chosen == {4}
    assert max(logliks) - min(logliks) < 1e-6


def test_bootstrap_weights_resample_the_households():
    weights = np.array([50, 30, 15, 5])
    draws = bootstrap_weights(weights, 2000, np.random.default_rng(1))
    assert draws.shape == (2000, 4) and (draws.sum(axis=1) == 100).all()
    # Multinomial: mean n p, variance n p (1 - p) per profile.
    assert draws.mean(axis=0) == pytest.approx(weights, rel=0.02)
    assert draws.var(axis=0) == pytest.approx(weights * (1 - weights / 100), rel=0.1)
    # The reference labels themselves, or a relabelling, give 1; labels at random about 0.
    labels = np.array([0, 0, 1, 2])
    assert (resampling_stability(lambda w, b: labels[::-1].max() - labels, np.zeros((4, 1)), weights, labels, 5,
                                 1) == 1.0).all()
    rng = np.random.default_rng(3)
    many = rng.integers(0, 3, 300)
    random = resampling_stability(lambda w, b: rng.integers(0, 3, 300), np.zeros((300, 1)), np.ones(300), many, 20, 1)
    assert abs(random.mean()) < 0.02


def test_stability_is_near_one_on_planted_types_and_low_on_noise():
    profiles, counts, _ = planted(1)
    clusters = choose_kmodes(profiles, counts, [4], n_init=10, n_seeds=1, seed=3, n_resamples=10)
    classes = choose_latent_classes(profiles, counts, [4], n_init=5, seed=3, n_resamples=10)
    for choice in (clusters, classes):
        assert len(choice.stability) == 10 and np.isfinite(choice.stability).all()
        assert choice.stability.mean() > 0.95
        row = choice.table.set_index("k").loc[4]
        assert row["resample_ari_mean"] == pytest.approx(choice.stability.mean())
        assert row["resample_ari_sd"] == pytest.approx(choice.stability.std(ddof=1))
        assert row["resamples"] == 10
    # Independent attributes: no types to find, so each resample finds other ones.
    rows = (np.random.default_rng(7).random((4000, 6)) < 0.3).astype(int)
    noise, noise_counts = np.unique(rows, axis=0, return_counts=True)
    clusters = choose_kmodes(noise, noise_counts, [4], n_init=10, n_seeds=1, seed=3, n_clusters=4, n_resamples=10)
    classes = choose_latent_classes(noise, noise_counts, [4], n_init=5, seed=3, n_classes=4, n_resamples=10)
    assert classes.stability.mean() < 0.4
    assert clusters.stability.mean() < 0.8
    # The same seed gives the same indices.
    again = choose_kmodes(noise, noise_counts, [4], n_init=10, n_seeds=1, seed=3, n_clusters=4, n_resamples=10)
    assert np.array_equal(again.stability, clusters.stability)


def test_reading_advice_follows_the_measured_stability():
    def choice(scores, at_edge=False):
        return TypologyChoice(table=None, chosen=4, stability=np.asarray(scores, dtype=float), at_edge=at_edge)

    assert reading_advice(choice([0.5, 0.6]), choice([0.9, 0.85]))[0] == "klassen"
    assert reading_advice(choice([0.9, 0.95]), choice([0.5, 0.6]))[0] == "clusters"
    assert reading_advice(choice([0.5, 0.6]), choice([0.5, 0.7]))[0] == "geen"
    code, text = reading_advice(choice([0.9]), choice([0.9]), )
    assert code == "klassen" and "bovengrens" not in text
    assert "bovengrens" in reading_advice(choice([0.9]), choice([0.9], at_edge=True))[1]


def test_latent_class_choice_by_bic_and_agreement_with_kmodes():
    profiles, counts, _ = planted(2)
    classes = choose_latent_classes(profiles, counts, range(1, 7), n_init=5, seed=3, n_resamples=0)
    assert classes.chosen == 4
    table = classes.table.set_index("k")
    assert table["bic"].idxmin() == 4
    assert (np.diff(table["loglik"].to_numpy()) >= -1e-6).all()     # more classes never fit worse
    clusters = choose_kmodes(profiles, counts, [4], n_init=10, n_seeds=2, seed=3, n_resamples=0)
    lca = classes.models[4].predict(profiles)
    # Both typologies find the same four types.
    assert adjusted_rand_index(clusters.models[4].labels_, lca, counts) > 0.95
