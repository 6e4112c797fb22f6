"""Latent class model: likelihood by hand, EM stationarity, recovery of planted classes, rows = profiles.

Independent checks: the log-likelihood recomputed row by row from the fitted parameters
in plain numpy; the one-class model's closed form; parameters of simulated data; the
likelihood of the true parameters as a lower bound for the fitted one.
"""
from __future__ import annotations

import numpy as np
import pytest

from lib.coherence.latent_class import LatentClassModel, relative_entropy

TRUE_PRIORS = np.array([0.5, 0.3, 0.2])
TRUE_ITEMS = np.array([[0.9, 0.8, 0.1, 0.1, 0.05, 0.7, 0.1, 0.2],
                       [0.1, 0.2, 0.9, 0.7, 0.10, 0.1, 0.8, 0.2],
                       [0.1, 0.1, 0.1, 0.8, 0.90, 0.2, 0.1, 0.9]])


def simulate(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    classes = rng.choice(3, size=n, p=TRUE_PRIORS)
    return (rng.random((n, TRUE_ITEMS.shape[1])) < TRUE_ITEMS[classes]).astype(np.int8), classes


def loglik_row_by_row(X: np.ndarray, priors: np.ndarray, p_one: np.ndarray) -> float:
    """log L of binary data under a latent class model, summed over every row (no compression)."""
    per_class = priors[None, :] * np.prod(np.where(X[:, None, :] == 1, p_one[None], 1 - p_one[None]), axis=2)
    return float(np.log(per_class.sum(axis=1)).sum())


@pytest.fixture(scope="module")
def simulated():
    X, classes = simulate(100_000, seed=4)
    return X, classes, LatentClassModel(3, n_init=5, random_state=0).fit(X)


def test_recovers_planted_parameters(simulated):
    X, classes, model = simulated
    # Classes are ordered by size, as the true ones are.
    # 100,000 rows, 8 items: the estimation error is about 0.005 (seeds 0-3: at most 0.006).
    assert model.weights_ == pytest.approx(TRUE_PRIORS, abs=0.005)
    assert model.item_probabilities_[:, :, 1] == pytest.approx(TRUE_ITEMS, abs=0.015)
    assert model.converged_
    # Maximum likelihood: at least the likelihood of the true parameters.
    assert model.loglik_ >= loglik_row_by_row(X, TRUE_PRIORS, TRUE_ITEMS)
    # Most probable class = planted class for most rows (the classes overlap a little).
    assert (model.predict(X) == classes).mean() > 0.9


def test_loglik_and_criteria_by_hand(simulated):
    X, _, model = simulated
    p_one = model.item_probabilities_[:, :, 1]
    expected = loglik_row_by_row(X, model.weights_, p_one)
    assert model.loglik_ == pytest.approx(expected, rel=1e-11)
    assert model.n_parameters_ == (3 - 1) + 3 * 8
    assert model.bic_ == pytest.approx(-2 * expected + 26 * np.log(len(X)), rel=1e-11)
    assert model.aic_ == pytest.approx(-2 * expected + 52, rel=1e-11)
    assert model.bic(X) == pytest.approx(model.bic_, rel=1e-11)
    assert model.score(X) == pytest.approx(expected / len(X), rel=1e-11)
    # Posterior probabilities by Bayes' rule, row by row.
    row = X[0]
    joint = model.weights_ * np.prod(np.where(row == 1, p_one, 1 - p_one), axis=1)
    assert model.predict_proba(X[:1])[0] == pytest.approx(joint / joint.sum(), rel=1e-10)
    proba = model.predict_proba(X)
    assert proba.sum(axis=1) == pytest.approx(np.ones(len(X)))
    assert model.entropy_ == pytest.approx(relative_entropy(proba), rel=1e-10)


def test_em_fixed_point(simulated):
    X, _, model = simulated
    # One more M-step from the fitted posteriors gives back the fitted parameters.
    proba = model.predict_proba(X)
    priors = proba.mean(axis=0)
    p_one = (proba.T @ X) / proba.sum(axis=0)[:, None]
    assert priors == pytest.approx(model.weights_, abs=1e-6)
    assert p_one == pytest.approx(model.item_probabilities_[:, :, 1], abs=1e-6)


def test_rows_and_weighted_profiles_give_identical_models():
    X, _ = simulate(3_000, seed=8)
    profiles, counts = np.unique(X, axis=0, return_counts=True)
    by_row = LatentClassModel(3, n_init=4, random_state=2).fit(X)
    by_profile = LatentClassModel(3, n_init=4, random_state=2).fit(profiles, sample_weight=counts)
    assert np.array_equal(by_row.weights_, by_profile.weights_)
    assert np.array_equal(by_row.item_probabilities_, by_profile.item_probabilities_)
    assert by_row.loglik_ == by_profile.loglik_
    shuffled = LatentClassModel(3, n_init=4, random_state=2).fit(X[np.random.default_rng(1).permutation(len(X))])
    assert shuffled.loglik_ == by_row.loglik_


def test_one_class_is_the_independence_model():
    X = np.array([[0, 2], [1, 2], [1, 0], [1, 1], [0, 2], [1, 2]])
    model = LatentClassModel(1).fit(X)
    # Category frequencies: column 0: 2/6, 4/6; column 1: 1/6, 1/6, 4/6.
    assert model.item_probabilities_[0, 0, :2] == pytest.approx([2 / 6, 4 / 6])
    assert model.item_probabilities_[0, 1] == pytest.approx([1 / 6, 1 / 6, 4 / 6])
    expected = 2 * np.log(2 / 6) + 4 * np.log(4 / 6) + 2 * np.log(1 / 6) + 4 * np.log(4 / 6)
    assert model.loglik_ == pytest.approx(expected, rel=1e-12)
    assert model.n_parameters_ == 0 + 1 * (1 + 2)
    assert model.entropy_ == 1.0


def test_levels_unknown_values_and_determinism():
    rng = np.random.default_rng(3)
    X = rng.integers(0, 3, size=(500, 4))
    a = LatentClassModel(2, n_init=3, random_state=5).fit(X)
    b = LatentClassModel(2, n_init=3, random_state=5).fit(X)
    assert a.loglik_ == b.loglik_ and np.array_equal(a.item_probabilities_, b.item_probabilities_)
    assert a.n_parameters_ == 1 + 2 * 4 * 2
    # A value not seen in fitting is left out of that row's likelihood (treated as missing).
    unseen = np.array([[7, 0, 1, 2]])
    expected = np.log(sum(a.weights_[c] * np.prod([a.item_probabilities_[c, j, v]
                                                   for j, v in zip((1, 2, 3), (0, 1, 2))]) for c in range(2)))
    assert a.score_samples(unseen)[0] == pytest.approx(expected, rel=1e-12)


def test_relative_entropy_by_hand():
    assert relative_entropy(np.array([[1.0, 0.0], [0.0, 1.0]])) == 1.0
    assert relative_entropy(np.array([[0.5, 0.5], [0.5, 0.5]])) == pytest.approx(0.0)
    # One row certain, one row 50/50: entropy ln 2 of 2 ln 2.
    assert relative_entropy(np.array([[1.0, 0.0], [0.5, 0.5]])) == pytest.approx(0.5)


def test_starts_from_another_model():
    X, _ = simulate(3000, 21)
    two = LatentClassModel(2, n_init=2, random_state=1).fit(X)
    # Split starts from 2 classes: the random starts are drawn first and unchanged, so the
    # fit keeps the best of a superset of starts: never a lower log-likelihood.
    alone = LatentClassModel(3, n_init=1, random_state=4).fit(X)
    split = LatentClassModel(3, n_init=1, random_state=4, start_from=two).fit(X)
    assert split.loglik_ >= alone.loglik_ - 1e-9
    # The likelihood at the truth is a lower bound for the fitted one (independent check).
    assert split.loglik_ >= loglik_row_by_row(X, TRUE_PRIORS, TRUE_ITEMS[:, :]) - 1e-6
    # Starting from a fitted model with as many classes (a refit) reproduces its optimum.
    again = LatentClassModel(3, n_init=1, random_state=9, start_from=split).fit(X)
    assert again.loglik_ == pytest.approx(split.loglik_, abs=1e-6)
    with pytest.raises(ValueError, match="n_classes - 1 or n_classes"):
        LatentClassModel(4, n_init=1, start_from=two).fit(X)
