"""Latent class analysis: a mixture of independent categorical distributions, fitted by EM.

The model-based typology of households: every household belongs to one of K latent
classes with probability ``weights_[c]``; given its class, its domain indicators (or
levels) are independent with probabilities ``item_probabilities_[c, j, v]``. The EM
algorithm runs on the weighted distinct profiles (a few thousand rows for millions of
households), so an iteration costs the same for a municipality and for the country.

Several random starts (random posterior class probabilities per profile) are run to a
loose tolerance; the best is continued to the final tolerance. Probabilities are kept
at least ``min_probability`` (as stepmix does) so that no log-likelihood is minus
infinity. Classes are ordered by size, largest first.

Model choice uses BIC = -2 LL + p ln N, AIC = -2 LL + 2p, with p = (K - 1) +
K * sum_j (V_j - 1) free parameters and N the number of households, and the relative
entropy 1 - sum_i sum_c (-r_ic ln r_ic) / (N ln K) of the posterior probabilities
(1 = perfectly separated classes). V_j is the number of categories feature j can take
(``n_categories``; default the categories seen). A category that can occur but does not
(a domain in which no household has costs) has its probability estimated at exactly 0 in
every class and adds nothing to the log-likelihood (its feature's only category has
probability exactly 1, log 1 = 0), but its parameters are still counted: whether a category
is empty is a property of the data, and a count that depended on it would tell.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from lib.coherence.encoding import compress_rows, encode, encode_distinct, one_hot

_START_TOLERANCE = 1e-6


class _Data:
    def __init__(self, codes: np.ndarray, weights: np.ndarray, n_categories: np.ndarray):
        self.codes = codes
        self.weights = weights.astype(np.float64)
        self.n_categories = n_categories
        self.m, self.d = codes.shape
        self.width = int(max(1, n_categories.max(initial=1)))
        self.hot = one_hot(codes, self.width)
        self.total = float(self.weights.sum())
        self.valid = (np.arange(self.width)[None, :] < n_categories[:, None])     # (d, width)


def logsumexp(values: np.ndarray, axis: int = 1) -> np.ndarray:
    """log(sum(exp(values))) along ``axis``, stable (plain numpy: this runs in every EM iteration)."""
    top = values.max(axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.log(np.exp(values - top).sum(axis=axis)) + np.squeeze(top, axis=axis)


def _m_step(data: _Data, resp: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    weighted = resp * data.weights[:, None]                       # (m, K)
    class_weight = weighted.sum(axis=0)
    counts = (weighted.T @ data.hot).reshape(-1, data.d, data.width)
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = counts / class_weight[:, None, None]
    # An empty class gets the overall frequencies (it cannot stay undefined).
    overall = (data.weights @ data.hot).reshape(data.d, data.width) / data.total
    theta = np.where(class_weight[:, None, None] > 0, theta, overall[None])
    theta = np.where(data.valid[None], np.maximum(theta, floor), 0.0)
    theta /= theta.sum(axis=2, keepdims=True)
    priors = np.maximum(class_weight / data.total, floor)
    return priors / priors.sum(), theta


def _log_joint(hot: np.ndarray, priors: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """(m, K) log p(x, class); a feature coded -1 (unknown) contributes nothing."""
    with np.errstate(divide="ignore"):
        log_theta = np.where(theta > 0, np.log(np.where(theta > 0, theta, 1.0)), 0.0)
    return hot @ log_theta.reshape(len(priors), -1).T + np.log(priors)[None, :]


def _e_step(data: _Data, priors, theta) -> tuple[np.ndarray, float]:
    joint = _log_joint(data.hot, priors, theta)
    norm = logsumexp(joint, axis=1)
    return np.exp(joint - norm[:, None]), float(data.weights @ norm)


def _project(data: _Data, priors: np.ndarray, theta: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Back to valid probabilities after an extrapolation: floor, zero padding, renormalise."""
    theta = np.where(data.valid[None], np.maximum(theta, floor), 0.0)
    theta = theta / theta.sum(axis=2, keepdims=True)
    priors = np.maximum(priors, floor)
    return priors / priors.sum(), theta


def _em_step(data: _Data, priors, theta, floor) -> tuple[tuple[np.ndarray, np.ndarray], float]:
    """One EM update and the log-likelihood of the parameters it started from."""
    resp, loglik = _e_step(data, priors, theta)
    return _m_step(data, resp, floor), loglik


def _em(data: _Data, resp: np.ndarray, floor: float, max_iter: int, tol: float
        ) -> tuple[np.ndarray, np.ndarray, float, int, bool]:
    """EM accelerated by SQUAREM (Varadhan and Roland 2008, scheme S3), kept monotone.

    Each cycle makes two EM steps, extrapolates along them, and takes one EM step from the
    extrapolated point; when that point's likelihood is below the cycle's start, the plain
    second EM step is kept instead, so the likelihood never decreases.
    """
    params = _m_step(data, resp, floor)
    previous = -np.inf
    n_steps = 0
    while n_steps < max_iter:
        step1, loglik = _em_step(data, *params, floor)
        n_steps += 1
        if loglik - previous <= tol * abs(loglik):
            return params[0], params[1], loglik, n_steps, True
        previous = loglik
        step2, _ = _em_step(data, *step1, floor)
        n_steps += 1
        r = np.concatenate([(a - b).ravel() for a, b in zip(step1, params)])
        v = np.concatenate([(c - 2 * a + b).ravel() for a, b, c in zip(step1, params, step2)])
        vv = float(v @ v)
        if vv == 0.0:
            params = step2
            continue
        alpha = min(-1.0, -np.sqrt(float(r @ r) / vv))
        extrapolated = _project(data, *(b - 2 * alpha * (a - b) + alpha ** 2 * (c - 2 * a + b)
                                        for a, b, c in zip(step1, params, step2)), floor)
        step3, extrapolated_loglik = _em_step(data, *extrapolated, floor)
        n_steps += 1
        params = step3 if extrapolated_loglik >= loglik else step2
    _, loglik = _e_step(data, *params)
    return params[0], params[1], loglik, max_iter, False


class LatentClassModel(BaseEstimator):
    """Latent class model for categorical (binary or multi-level) indicators, fitted by EM.

    Parameters
    ----------
    n_classes : int, default=2
        Number of latent classes K.
    n_init : int, default=10
        Number of random starts; the start with the highest log-likelihood is kept.
    max_iter : int, default=5000
        Maximum number of EM iterations of the kept start.
    tol : float, default=1e-13
        Convergence: relative increase of the log-likelihood below ``tol``.
    min_probability : float, default=1e-15
        Floor of every probability.
    random_state : int, numpy Generator or None, default=None
        Seed of the random starts.
    n_categories : array-like of shape (n_features,) or None, default=None
        Number of categories each feature can take, for the number of parameters (BIC,
        AIC); at least the number seen. Default: the categories seen in fitting.
    start_from : LatentClassModel or None, default=None
        A model fitted on the same features, with ``n_classes - 1`` or ``n_classes``
        classes, that gives starts besides the ``n_init`` random ones. With one class
        fewer: one start per class of that model, its posterior probabilities with that
        class split in two (at random per distinct row). A small class that random starts
        rarely find is then found from the solution with one class fewer, so that the
        log-likelihood, and the number chosen by BIC, do not depend on the seed (on the
        demo data 10 random starts found the 6-class optimum for 4 of 10 seeds and BIC
        chose 5 or 6 classes; with these starts 6 for every seed). With as many classes:
        its posterior probabilities are one start (a refit on resampled households starts
        from the full-data solution as well as at random). Ignored when the features
        that vary differ (a resample without a rare category).

    Attributes
    ----------
    weights_ : ndarray of shape (n_classes,)
        Class sizes (prior probabilities), largest first.
    item_probabilities_ : ndarray of shape (n_classes, n_features, max_categories)
        P(feature j = category v | class c); 0 beyond a feature's categories.
    categories_ : list of ndarray
        Sorted categories of every feature.
    loglik_ : float
        Log-likelihood of the training data (weighted).
    n_parameters_ : int
        Number of free parameters.
    bic_, aic_ : float
        BIC and AIC of the training data.
    entropy_ : float
        Relative entropy of the posterior class probabilities (1 = perfect separation).
    n_iter_ : int
        EM iterations of the kept start.
    converged_ : bool
        Whether the kept start converged within ``max_iter``.
    n_distinct_ : int
        Number of distinct rows EM ran on.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1, 1, 0]] * 40 + [[0, 0, 1]] * 60 + [[1, 0, 0]] * 5 + [[0, 1, 1]] * 5)
    >>> lca = LatentClassModel(n_classes=2, random_state=0).fit(X)
    >>> np.round(lca.weights_, 3).tolist()
    [0.591, 0.409]
    >>> lca.predict(np.array([[0, 0, 1], [1, 1, 0]])).tolist()
    [0, 1]
    """

    def __init__(self, n_classes: int = 2, *, n_init: int = 10, max_iter: int = 5000, tol: float = 1e-13,
                 min_probability: float = 1e-15, random_state=None, n_categories=None, start_from=None):
        self.n_classes = n_classes
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.min_probability = min_probability
        self.random_state = random_state
        self.n_categories = n_categories
        self.start_from = start_from

    def fit(self, X, y=None, sample_weight=None):
        """Fit the model to the rows of ``X`` (categorical values).

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
        k = int(self.n_classes)
        if k < 1 or self.n_init < 1 or self.max_iter < 1:
            raise ValueError("n_classes, n_init and max_iter must be at least 1")
        if sample_weight is not None and (np.asarray(sample_weight) < 0).any():
            raise ValueError("sample weights must be non-negative")
        distinct, categories = encode_distinct(X, sample_weight)
        keep = distinct.weights > 0
        seen = distinct.n_categories
        possible = seen if self.n_categories is None else np.asarray(self.n_categories, dtype=np.int64)
        if possible.shape != seen.shape or (possible < seen).any():
            raise ValueError(f"n_categories must give, for each of the {len(seen)} features, at least the number of "
                             f"categories seen ({seen.tolist()})")
        # A feature with one category seen (a domain without costs) has probability 1 in every
        # class and adds nothing to any likelihood: EM runs without it, so the fit is exactly
        # that of the other features (extra zero terms would change the rounding of every sum).
        informative = seen > 1 if (seen > 1).any() else np.ones(len(seen), dtype=bool)
        data = _Data(distinct.profiles[keep][:, informative], distinct.weights[keep], seen[informative])
        if data.total <= 0:
            raise ValueError("the data have no rows with positive weight")
        rng = np.random.default_rng(self.random_state)
        floor = float(self.min_probability)
        best = None
        starts = [rng.dirichlet(np.ones(k), size=data.m) for _ in range(int(self.n_init))]
        starts += self._given_starts(data, informative, k, rng)
        for resp in starts:
            result = _em(data, resp, floor, int(self.max_iter), max(self.tol, _START_TOLERANCE))
            if best is None or result[2] > best[2]:
                best = result
        priors, theta = best[0], best[1]
        # Continue the best start to the final tolerance.
        resp, _ = _e_step(data, priors, theta)
        priors, theta, loglik, n_iter, converged = _em(data, resp, floor, int(self.max_iter), self.tol)
        order = np.lexsort((np.arange(k), -priors))
        self.weights_ = priors[order]
        # Every feature in the probabilities: a one-category feature has probability 1 there.
        self.item_probabilities_ = np.zeros((k, len(seen), data.width))
        self.item_probabilities_[:, informative] = theta[order]
        self.item_probabilities_[:, ~informative, 0] = 1.0
        self._informative = informative
        self.categories_ = categories
        self.n_features_in_ = len(seen)
        self.n_distinct_ = data.m
        resp, loglik = _e_step(data, self.weights_, theta[order])
        self.loglik_ = loglik
        self.n_iter_ = best[3] + n_iter
        self.converged_ = converged
        self.n_parameters_ = int((k - 1) + k * (possible - 1).sum())
        self.bic_ = -2 * loglik + self.n_parameters_ * np.log(data.total)
        self.aic_ = -2 * loglik + 2 * self.n_parameters_
        self.entropy_ = relative_entropy(resp, data.weights)
        return self

    def _given_starts(self, data: _Data, informative: np.ndarray, k: int, rng: np.random.Generator) -> list:
        """Starting responsibilities from ``start_from`` (see the class docstring)."""
        previous = self.start_from
        if previous is None:
            return []
        n_previous = len(previous.weights_)
        if n_previous not in (k - 1, k):
            raise ValueError(f"start_from must have n_classes - 1 or n_classes classes, not {n_previous}")
        if n_previous < 1 or not np.array_equal(previous._informative, informative):
            return []
        joint = _log_joint(data.hot, previous.weights_, previous.item_probabilities_[:, informative])
        resp = np.exp(joint - logsumexp(joint, axis=1)[:, None])
        if n_previous == k:
            return [resp]
        # One uniform draw per class and row, after the random starts: the random starts
        # are the same with and without start_from.
        share = rng.random((k - 1, data.m))
        return [np.column_stack([resp[:, :c], resp[:, c] * share[c], resp[:, c + 1:], resp[:, c] * (1 - share[c])])
                for c in range(k - 1)]

    def _profile_log_joint(self, X) -> tuple[np.ndarray, np.ndarray]:
        if not hasattr(self, "weights_"):
            raise AttributeError("this LatentClassModel instance is not fitted yet; call fit first")
        raw, _, inverse = compress_rows(X)
        codes = encode(raw, self.categories_)[:, self._informative]
        width = self.item_probabilities_.shape[2]
        # Over the features the model was fitted on (a one-category feature adds log 1 = 0; a value
        # not seen in fitting adds nothing either).
        theta = self.item_probabilities_[:, self._informative]
        return _log_joint(one_hot(codes, width), self.weights_, theta), inverse

    def predict_proba(self, X) -> np.ndarray:
        """Posterior class probabilities of every row, shape (n_samples, n_classes)."""
        joint, inverse = self._profile_log_joint(X)
        return np.exp(joint - logsumexp(joint, axis=1)[:, None])[inverse]

    def predict(self, X) -> np.ndarray:
        """Most probable class of every row (ties to the lowest class index)."""
        joint, inverse = self._profile_log_joint(X)
        return np.argmax(joint, axis=1)[inverse]

    def score_samples(self, X) -> np.ndarray:
        """Log-likelihood of every row."""
        joint, inverse = self._profile_log_joint(X)
        return logsumexp(joint, axis=1)[inverse]

    def score(self, X, y=None, sample_weight=None) -> float:
        """Mean log-likelihood per row (weighted)."""
        return float(np.average(self.score_samples(X), weights=sample_weight))

    def bic(self, X, sample_weight=None) -> float:
        """Bayesian information criterion on ``X`` (lower is better)."""
        w = np.ones(len(np.asarray(X))) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        return float(-2 * w @ self.score_samples(X) + self.n_parameters_ * np.log(w.sum()))

    def aic(self, X, sample_weight=None) -> float:
        """Akaike information criterion on ``X`` (lower is better)."""
        w = np.ones(len(np.asarray(X))) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        return float(-2 * w @ self.score_samples(X) + 2 * self.n_parameters_)


def relative_entropy(resp: np.ndarray, weights: np.ndarray | None = None) -> float:
    """1 - E / (N ln K), E the (weighted) entropy of the posterior probabilities ``resp``."""
    n_rows, k = resp.shape
    if k < 2:
        return 1.0
    w = np.ones(n_rows) if weights is None else np.asarray(weights, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(resp > 0, -resp * np.log(np.where(resp > 0, resp, 1.0)), 0.0)
    return float(1 - (w @ terms.sum(axis=1)) / (w.sum() * np.log(k)))
