"""Co-occurrence, frequent itemsets and association rules, and the cost analyses.

Every miner is run by one parametrised suite against a brute-force count over the rows
(an independent method); rule metrics are compared with exact rational arithmetic
(``fractions.Fraction``); odds ratios and their intervals with statsmodels' ``Table2x2``;
correlations with pandas.
"""
from __future__ import annotations

from fractions import Fraction
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from statsmodels.stats.contingency_tables import Table2x2

from lib.coherence.association import MINERS, association_rules, frequent_itemsets, pairwise_cooccurrence
from lib.coherence.costs import cost_by_combination, cost_correlations
from lib.coherence.profiles import household_profiles

# Ten households, items a b c (worked by hand below).
HAND = pd.DataFrame({"a": [1, 1, 1, 1, 1, 1, 0, 0, 0, 0],
                     "b": [1, 1, 1, 1, 0, 0, 1, 1, 0, 0],
                     "c": [1, 1, 0, 0, 0, 0, 1, 0, 1, 0]}).astype(bool)


def brute_force_itemsets(rows: np.ndarray, weights: np.ndarray, min_count, max_len) -> dict[tuple, float]:
    counts = {}
    for size in range(1, max_len + 1):
        for items in combinations(range(rows.shape[1]), size):
            count = weights[rows[:, list(items)].all(axis=1)].sum()
            if count >= min_count:
                counts[items] = count
    return counts


def as_dict(itemsets: pd.DataFrame) -> dict[tuple, float]:
    return {tuple(j for j in range(62) if m >> j & 1): c for m, c in zip(itemsets["mask"], itemsets["count"])}


@pytest.mark.parametrize("method", MINERS)
def test_itemsets_worked_by_hand(method):
    got = frequent_itemsets(HAND, min_count=2, method=method)
    # a: 6, b: 6, c: 4, a+b: 4, a+c: 2, b+c: 3, a+b+c: 2 -- all at least 2.
    assert got["itemset"].tolist() == ["a", "b", "c", "a + b", "a + c", "b + c", "a + b + c"]
    assert got["count"].tolist() == [6, 6, 4, 4, 2, 3, 2]
    assert got["support"].tolist() == [0.6, 0.6, 0.4, 0.4, 0.2, 0.3, 0.2]
    got = frequent_itemsets(HAND, min_count=3, max_len=2, method=method)
    assert got["itemset"].tolist() == ["a", "b", "c", "a + b", "b + c"]


@pytest.mark.parametrize("method", MINERS)
@settings(max_examples=40, deadline=None)
@given(rows=arrays(bool, st.tuples(st.integers(1, 60), st.integers(1, 7))), min_count=st.integers(1, 8),
       max_len=st.integers(1, 7), seed=st.integers(0, 2 ** 16))
def test_every_miner_equals_brute_force_row_by_row_and_profile_by_profile(method, rows, min_count, max_len, seed):
    expected = brute_force_itemsets(rows, np.ones(len(rows), dtype=np.int64), min_count, max_len)
    row_wise = frequent_itemsets(rows, min_count=min_count, max_len=max_len, method=method)
    assert as_dict(row_wise) == expected
    # The same households given as distinct profiles with their counts: identical table.
    profiles, counts = np.unique(rows, axis=0, return_counts=True)
    shuffle = np.random.default_rng(seed).permutation(len(profiles))
    profile_wise = frequent_itemsets(profiles[shuffle], counts[shuffle], min_count=min_count, max_len=max_len,
                                     method=method)
    pd.testing.assert_frame_equal(row_wise, profile_wise)
    assert row_wise["count"].dtype == np.int64


def exact_metrics(n, a, c, ac) -> dict[str, Fraction]:
    n, a, c, ac = (Fraction(int(x)) for x in (n, a, c, ac))
    s_a, s_c, s_ac = a / n, c / n, ac / n
    conf = s_ac / s_a
    lev = s_ac - s_a * s_c
    den = max(s_ac * (1 - s_a), s_a * (s_c - s_ac))
    return {"support": s_ac, "confidence": conf, "lift": conf / s_c, "leverage": lev,
            "conviction": None if conf == 1 else (1 - s_c) / (1 - conf),
            "zhangs_metric": Fraction(0) if den == 0 else lev / den, "jaccard": s_ac / (s_a + s_c - s_ac),
            "certainty": Fraction(0) if s_c == 1 else (conf - s_c) / (1 - s_c),
            "kulczynski": (ac / a + ac / c) / 2}


def test_rules_worked_by_hand():
    rules = association_rules(frequent_itemsets(HAND, min_count=2), 10, item_names=["a", "b", "c"])
    first = rules.iloc[0]
    # a -> b: 4 of the 6 households with a also have b; b is in 6 of 10 households.
    assert (first["antecedent"], first["consequent"]) == ("a", "b")
    assert (first["n_antecedent"], first["n_consequent"], first["n_rule"]) == (6, 6, 4)
    assert first["confidence"] == pytest.approx(4 / 6) and first["lift"] == pytest.approx((4 / 6) / 0.6)
    assert first["leverage"] == pytest.approx(0.4 - 0.36)
    assert first["conviction"] == pytest.approx((1 - 0.6) / (1 - 4 / 6))
    # Three items: 6 rules from {a, b, c}; 2 from each of the three pairs.
    assert len(rules) == 12
    abc = rules[rules["n_items"] == 3]
    assert abc["antecedent"].tolist() == ["a", "b", "c", "a + b", "a + c", "b + c"]
    assert abc["consequent"].tolist() == ["b + c", "a + c", "a + b", "c", "b", "a"]
    # a + b -> c: 2 of the 4 households with a and b have c.
    assert abc.iloc[3]["confidence"] == 0.5


@settings(max_examples=30, deadline=None)
@given(rows=arrays(bool, st.tuples(st.integers(5, 80), st.integers(2, 5))))
def test_rule_metrics_are_exact(rows):
    itemsets = frequent_itemsets(rows, min_count=1)
    rules = association_rules(itemsets, len(rows), item_names=[f"i{j}" for j in range(rows.shape[1])])
    for r in rules.itertuples():
        expected = exact_metrics(r.n_total, r.n_antecedent, r.n_consequent, r.n_rule)
        for name, value in expected.items():
            got = getattr(r, name)
            if value is None:
                assert got == np.inf
            else:
                # One correctly rounded division of exact integers: equal to the nearest float.
                assert got == float(value), (name, got, value)


def test_rules_filters_and_empty_input():
    rules = association_rules(frequent_itemsets(HAND, min_count=2), 10, item_names=["a", "b", "c"],
                              min_confidence=0.6, min_lift=1.0)
    assert (rules["confidence"] >= 0.6).all() and (rules["lift"] >= 1.0).all()
    assert ("b", "c") not in set(zip(rules["antecedent"], rules["consequent"]))   # confidence 0.5
    none = association_rules(frequent_itemsets(HAND, min_count=7), 10, item_names=["a", "b", "c"])
    assert len(none) == 0 and "zhangs_metric" in none.columns


def test_pairs_against_statsmodels_and_numpy():
    rng = np.random.default_rng(5)
    base = rng.random(400)
    rows = np.column_stack([base < 0.3, (base < 0.2) | (rng.random(400) < 0.1), rng.random(400) < 0.05,
                            np.zeros(400, bool)])
    rows[0, 3] = True                         # a rare item: zero cells, Haldane correction
    pairs = pairwise_cooccurrence(rows, item_names=["a", "b", "c", "d"])
    assert len(pairs) == 6
    for p in pairs.itertuples():
        x, y = rows[:, "abcd".index(p.a)], rows[:, "abcd".index(p.b)]
        n11, n10, n01, n00 = (x & y).sum(), (x & ~y).sum(), (~x & y).sum(), (~x & ~y).sum()
        assert (p.n_both, p.n_a_only, p.n_b_only, p.n_neither) == (n11, n10, n01, n00)
        assert p.phi == pytest.approx(np.corrcoef(x, y)[0, 1], rel=1e-12)
        # Haldane-Anscombe: with a zero cell, 0.5 is added to all four cells (statsmodels'
        # shift_zeros would only replace the zero), so the shifted table is given explicitly.
        shift = 0.5 if min(n11, n10, n01, n00) == 0 else 0.0
        table = Table2x2(np.array([[n11, n10], [n01, n00]]) + shift, shift_zeros=False)
        assert p.haldane == (shift > 0)
        assert p.odds_ratio == pytest.approx(table.oddsratio, rel=1e-12)
        low, high = table.oddsratio_confint(alpha=0.05)
        assert (p.odds_ratio_low, p.odds_ratio_high) == (pytest.approx(low, rel=1e-9), pytest.approx(high, rel=1e-9))
        assert p.lift == pytest.approx(n11 * 400 / ((n11 + n10) * (n11 + n01)), rel=1e-12)
    # The same households as weighted profiles: identical.
    profiles, counts = np.unique(rows, axis=0, return_counts=True)
    pd.testing.assert_frame_equal(pairs, pairwise_cooccurrence(profiles, counts, item_names=["a", "b", "c", "d"]))


def cube(n: int = 500, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"household": np.arange(n) + 100})
    for j, domain in enumerate(["bijstand", "jeugdhulp", "wmo"]):
        frame[f"cost_{domain}"] = np.where(rng.random(n) < 0.2 + 0.1 * j, rng.gamma(2.0, 5000.0, n), 0.0)
    frame["cost_total"] = frame[[c for c in frame if c.startswith("cost_")]].sum(axis=1)
    return frame


def test_cost_by_combination_against_row_wise_groupby():
    frame = cube()
    groups = {"bijstand": ("bijstand",), "jeugdhulp": ("jeugdhulp",), "wmo": ("wmo",)}
    table = cost_by_combination(household_profiles(frame, groups)).set_index("combination")
    present = frame[["cost_bijstand", "cost_jeugdhulp", "cost_wmo"]] > 0
    label = present.apply(lambda r: " + ".join(g for g, p in zip(groups, r) if p) or "geen", axis=1)
    expected = frame.groupby(label)["cost_total"].agg(["size", "sum"])
    assert table["n_households"].to_dict() == expected["size"].to_dict()
    for combination, row in expected.iterrows():
        assert table.loc[combination, "cost"] == pytest.approx(row["sum"], rel=1e-12)
        assert table.loc[combination, "share_cost"] == pytest.approx(row["sum"] / frame["cost_total"].sum(), rel=1e-12)
    assert table["share_cost"].sum() == pytest.approx(1.0)


def test_cost_correlations_against_pandas():
    frame = cube()
    costs = {d: frame[f"cost_{d}"].to_numpy() for d in ("bijstand", "jeugdhulp", "wmo")}
    rows = frame["cost_total"].to_numpy() > 0
    table = cost_correlations(costs, rows).set_index(["a", "b"])
    subset = frame.loc[rows, ["cost_bijstand", "cost_jeugdhulp", "cost_wmo"]]
    for method in ("pearson", "spearman"):
        expected = subset.corr(method=method)
        for (a, b), value in table[method].items():
            assert value == pytest.approx(expected.loc[f"cost_{a}", f"cost_{b}"], rel=1e-10)
    assert (table["n_households"] == rows.sum()).all()
