"""Monitoring inference on small panels, against independent computations.

* the difference in differences and its standard error clustered by household: a dummy
  regression (household and period dummies, numpy least squares) and a cluster-robust
  variance summed cluster by cluster in plain Python, with the CR1 correction counting the
  regressors, the period effects and the intercept but not the household effects (nested
  in the clusters); statsmodels' cluster variance on the dummy regression counts those too
  and is larger by exactly the ratio of the two corrections; a cluster bootstrap agrees with
  the corrected standard error, not with the one that counts the household effects;
* the placebo (pre-trend) check: the same dummy regression on the periods before the start
  with a fake start one period earlier;
* the publication gate: thresholds on the matched share and the standardised differences.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.monitoring import (MIN_MATCHED_SHARE, SMD_FLAG, SMD_MAX_ADJUSTED, difference_in_differences,
                            placebo_difference_in_differences, publication_gate)

PERIODS = ["2019", "2020", "2021", "2022", "2023"]
FOLLOW_UP = ["2022", "2023"]


def _panel(n_households: int, seed: int, effect: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = len(PERIODS)
    level = rng.gamma(2.0, 3000.0, n_households)
    cohort = np.arange(n_households) < n_households // 2
    after = np.isin(PERIODS, FOLLOW_UP)
    cost = (level[:, None] * (1 - 0.3 * after[None, :]) + rng.normal(0, 2000, (n_households, t))
            + rng.normal(0, 1500, n_households)[:, None] + np.arange(t)[None, :] * 400
            + effect * cohort[:, None] * after[None, :])
    return pd.DataFrame({"household": np.repeat(np.arange(100, 100 + n_households) * 7, t),
                         "group": np.repeat(np.where(cohort, "cohort", "comparison"), t),
                         "period": np.tile(PERIODS, n_households), "cost": cost.reshape(-1),
                         "before_total": np.repeat(level * 3, t),
                         "before_last": np.repeat(level + rng.normal(0, 500, n_households), t)})


def _dummy_regression(panel: pd.DataFrame, follow_up: list[str], adjust_for: list[str]):
    """Coefficients, residuals and design of cost on household dummies, period dummies (first
    left out), cohort x after and after x (centred) levels: least squares, no demeaning."""
    households = sorted(panel["household"].unique())
    periods = sorted(panel["period"].unique())
    after = panel["period"].isin(follow_up).to_numpy(float)
    columns = [(panel["group"] == "cohort").to_numpy(float) * after]
    columns += [after * (panel[c].to_numpy(float) - panel[c].mean()) for c in adjust_for]
    dummies_h = (panel["household"].to_numpy()[:, None] == np.array(households)[None, :]).astype(float)
    dummies_t = (panel["period"].to_numpy()[:, None] == np.array(periods[1:])[None, :]).astype(float)
    x = np.column_stack(columns + [dummies_h, dummies_t])
    y = panel["cost"].to_numpy(float)
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    return beta, y - x @ beta, x, len(columns), len(periods)


def _cr1_by_hand(panel, follow_up, adjust_for) -> tuple[float, float, float]:
    """The effect, its CR1 standard error with K = regressors + (T - 1) period effects + the
    intercept (household effects nested in the clusters not counted), and the standard error
    that counts the household effects too, computed cluster by cluster."""
    beta, residual, x, k, t = _dummy_regression(panel, follow_up, adjust_for)
    n, p = x.shape
    bread = np.linalg.pinv(x.T @ x)
    meat = np.zeros((p, p))
    households = panel["household"].to_numpy()
    clusters = sorted(set(households.tolist()))
    for g in clusters:
        rows = households == g
        s = x[rows].T @ residual[rows]
        meat += np.outer(s, s)
    g = len(clusters)
    sandwich = (bread @ meat @ bread)[0, 0]
    nested = g / (g - 1) * (n - 1) / (n - (k + t))
    counted = g / (g - 1) * (n - 1) / (n - (k + g + t - 1))
    return beta[0], np.sqrt(nested * sandwich), np.sqrt(counted * sandwich)


@pytest.mark.parametrize("adjust_for", [[], ["before_total", "before_last"]])
def test_did_and_clustered_se_equal_a_dummy_regression_by_hand(adjust_for):
    panel = _panel(7, seed=1, effect=-900.0)          # a tiny panel: 7 households x 5 years
    got = difference_in_differences(panel, FOLLOW_UP, adjust_for=adjust_for)
    value, se_nested, se_counted = _cr1_by_hand(panel, FOLLOW_UP, adjust_for)
    assert got["value"] == pytest.approx(value, rel=1e-9)
    assert got["se"] == pytest.approx(se_nested, rel=1e-9)
    # Counting the 7 household effects again would inflate it (the old computation).
    assert se_counted / se_nested > 1.1
    assert got["ci_high"] - got["ci_low"] == pytest.approx(2 * 1.959964 * se_nested, rel=1e-9)
    assert got["residual_df"] == 7 - 1 - len(adjust_for) and got["n_parameters"] == 1 + len(adjust_for)


def test_statsmodels_on_the_dummy_regression_differs_only_by_the_count_of_household_effects():
    sm = pytest.importorskip("statsmodels.api")
    panel = _panel(40, seed=2)
    beta, _, x, k, t = _dummy_regression(panel, FOLLOW_UP, ["before_total"])
    fit = sm.OLS(panel["cost"].to_numpy(float), x).fit(cov_type="cluster",
                                                       cov_kwds={"groups": panel["household"].to_numpy()})
    got = difference_in_differences(panel, FOLLOW_UP, adjust_for=["before_total"])
    n, g = len(panel), 40
    # statsmodels: K = every column of the dummy regression (household dummies included).
    ratio = np.sqrt((n - x.shape[1]) / (n - (k + t)))
    assert got["value"] == pytest.approx(fit.params[0], rel=1e-9)
    assert got["se"] == pytest.approx(fit.bse[0] * ratio, rel=1e-9)
    assert 1 / ratio == pytest.approx(np.sqrt((n - k - t) / (n - k - g - t + 1)), rel=1e-12) and 1 / ratio > 1.1


def test_the_clustered_se_agrees_with_a_cluster_bootstrap():
    panel = _panel(300, seed=3)
    got = difference_in_differences(panel, FOLLOW_UP, adjust_for=["before_total", "before_last"])
    rng = np.random.default_rng(30)
    t = len(PERIODS)
    draws = []
    for _ in range(400):
        pick = rng.integers(0, 300, 300)
        rows = (pick[:, None] * t + np.arange(t)[None, :]).reshape(-1)
        sample = panel.iloc[rows].assign(household=np.repeat(np.arange(300), t))   # a drawn twice is two clusters
        draws.append(difference_in_differences(sample, FOLLOW_UP, ["before_total", "before_last"])["value"])
    boot = np.std(draws, ddof=1)
    # 400 draws: the bootstrap standard error is itself uncertain by about 3.5%.
    assert abs(got["se"] / boot - 1) < 0.08, (got["se"], boot)
    _, _, se_counted = _cr1_by_hand(panel, FOLLOW_UP, ["before_total", "before_last"])
    assert se_counted / boot > 1.03 and se_counted / got["se"] > 1.11


def test_placebo_is_the_same_did_with_a_fake_start_on_the_periods_before_the_start():
    panel = _panel(9, seed=4, effect=-2000.0)
    baseline = PERIODS[:3]
    got = placebo_difference_in_differences(panel, baseline)
    before = panel[panel["period"].isin(baseline)].copy()
    earlier = before[before["period"].isin(baseline[:2])]
    before["placebo_total"] = before["household"].map(earlier.groupby("household")["cost"].sum())
    before["placebo_last"] = before["household"].map(earlier[earlier["period"] == "2020"].set_index("household")["cost"])
    value, se, _ = _cr1_by_hand(before, ["2021"], ["placebo_total", "placebo_last"])
    assert got["value"] == pytest.approx(value, rel=1e-9) and got["se"] == pytest.approx(se, rel=1e-9)
    # The planted effect is after the start: the placebo does not see it, the effect does.
    assert abs(got["value"]) < 3 * got["se"]
    # Households with costs in the periods before / from the fake start, per group.
    assert got["n_cohort_before"] == before[(before["group"] == "cohort") & before["period"].isin(["2019", "2020"])
                                            & (before["cost"] != 0)]["household"].nunique()
    assert placebo_difference_in_differences(panel, PERIODS[:1]) is None
    # Two periods before the start: one earlier period, so its total is its last (one adjustment).
    two = placebo_difference_in_differences(panel, PERIODS[:2])
    sub = panel[panel["period"].isin(PERIODS[:2])].copy()
    sub["placebo_total"] = sub["household"].map(sub[sub["period"] == "2019"].set_index("household")["cost"])
    assert two["value"] == pytest.approx(_cr1_by_hand(sub, ["2020"], ["placebo_total"])[0], rel=1e-9)
    assert two["n_parameters"] == 2


def _balance(level: float, other: float) -> pd.DataFrame:
    return pd.DataFrame({"covariate": ["kosten_totaal_voor_start", "kosten_laatste_periode_voor_start", "n_domains"],
                         "smd_after": [level, -level / 2, other]})


def test_publication_gate_thresholds():
    assert (MIN_MATCHED_SHARE, SMD_FLAG, SMD_MAX_ADJUSTED) == (0.5, 0.1, 0.25)
    assert publication_gate(_balance(0.09, 0.2), 100, 50) == []
    assert publication_gate(_balance(-0.09, -0.25), 100, 99) == []
    share = publication_gate(_balance(0.0, 0.0), 100, 49)
    assert len(share) == 1 and share[0].startswith("slechts 49% van het cohort")
    level = publication_gate(_balance(0.1, 0.0), 100, 80)            # 0.1 itself is not below 0.1
    assert len(level) == 1 and "kosten_totaal_voor_start" in level[0] and "kosten_laatste" not in level[0]
    both = publication_gate(_balance(-2.5, 0.26), 249, 8)
    assert len(both) == 3 and "n_domains" in both[2] and "kosten_laatste_periode_voor_start" in both[1]
    assert publication_gate(_balance(np.nan, 0.0), 10, 10)           # an undefined difference does not pass
