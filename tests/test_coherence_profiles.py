"""Household profiles: compression to distinct profiles, domain groups, cost levels.

The compression is checked against ``np.unique(axis=0)`` (an independent method) and by
hand; domain groups and levels by hand.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lib.coherence.encoding import compress_rows, encode_distinct
from lib.coherence.profiles import (CoherenceConfigError, compress_masks, compress_profiles, cost_levels,
                                    household_profiles, mask_labels, popcount, presence_masks,
                                    resolve_domain_groups)

KNOWN = {"bijstand", "wmo", "jeugdhulp", "jeugdbescherming", "jeugdreclassering", "politie", "schuldhulp"}


def test_compression_by_hand():
    rows = np.array([[1, 0, 2], [0, 1, 0], [1, 0, 2], [0, 0, 0], [1, 0, 2]])
    d = compress_profiles(rows)
    assert d.profiles.tolist() == [[0, 0, 0], [0, 1, 0], [1, 0, 2]]     # lexicographic
    assert d.weights.tolist() == [1, 1, 3]
    assert d.inverse.tolist() == [2, 1, 2, 0, 2]
    assert d.n_categories.tolist() == [2, 2, 3]
    weighted = compress_profiles(rows, sample_weight=np.array([1.0, 2.0, 0.5, 4.0, 0.25]))
    assert weighted.weights.tolist() == [4.0, 2.0, 1.75]


@settings(max_examples=60, deadline=None)
@given(arrays(np.int64, st.tuples(st.integers(0, 60), st.integers(1, 5)), elements=st.integers(0, 3)))
def test_compression_equals_numpy_unique(rows):
    d = compress_profiles(rows)
    if len(rows) == 0:
        assert d.n_distinct == 0
        return
    expected, inverse, counts = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
    assert np.array_equal(d.profiles, expected)
    assert np.array_equal(d.inverse, inverse.reshape(-1))
    assert np.array_equal(d.weights, counts)
    assert np.array_equal(d.profiles[d.inverse], rows)


@settings(max_examples=60, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 80), st.integers(1, 14))))
def test_bit_masks_and_packed_rows_compress_like_the_matrix(presence):
    reference = compress_profiles(presence.astype(np.int64), n_categories=[2] * presence.shape[1])
    from_masks = compress_masks(presence_masks(presence), presence.shape[1])
    raw, weights, inverse = compress_rows(presence)
    for profiles, w, inv in ((from_masks.profiles, from_masks.weights, from_masks.inverse), (raw, weights, inverse)):
        assert np.array_equal(np.asarray(profiles, dtype=np.int64), reference.profiles)
        assert np.array_equal(w, reference.weights)
        assert np.array_equal(inv, reference.inverse)


def test_compression_of_text_and_wide_codes():
    text = np.array([["b", "x"], ["a", "y"], ["b", "x"]], dtype=object)
    d, categories = encode_distinct(text)
    assert [c.tolist() for c in categories] == [["a", "b"], ["x", "y"]]
    assert d.profiles.tolist() == [[0, 1], [1, 0]] and d.weights.tolist() == [1, 2]
    # 70 columns of 3 values do not fit one 64-bit code: the fallback gives the same order.
    rng = np.random.default_rng(3)
    wide = rng.integers(0, 3, size=(200, 70))
    wide[100:] = wide[:100]
    d = compress_profiles(wide)
    expected, counts = np.unique(wide, axis=0, return_counts=True)
    assert np.array_equal(d.profiles, expected) and np.array_equal(d.weights, counts)


def test_popcount_and_labels():
    masks = np.array([0, 1, 6, 2 ** 40 + 3, 2 ** 62 - 1])
    assert popcount(masks).tolist() == [int(m).bit_count() for m in masks]
    assert mask_labels(np.array([0, 5, 2]), ["a", "b", "c"]).tolist() == ["geen", "a + c", "b"]


def test_domain_groups_default_grouping_and_exclusion():
    run = ["bijstand", "jeugdbescherming", "jeugdhulp", "jeugdreclassering", "wmo"]
    groups, notes = resolve_domain_groups(run, {}, known_domains=KNOWN)
    assert groups == {d: (d,) for d in run} and notes == []
    groups, notes = resolve_domain_groups(
        run, {"jeugdbescherming_reclassering": ["jeugdbescherming", "jeugdreclassering"],
              "schulden": ["schuldhulp"]}, exclude=["wmo"], known_domains=KNOWN)
    assert groups == {"bijstand": ("bijstand",), "jeugdbescherming_reclassering": ("jeugdbescherming",
                                                                                  "jeugdreclassering"),
                      "jeugdhulp": ("jeugdhulp",)}
    # schuldhulp is a domain the bundle knows, but this run has no costs there.
    assert any("schulden" in n for n in notes) and any("wmo" in n for n in notes)


@pytest.mark.parametrize("configured, exclude, message", [
    ({"jeugd": ["jeugdzorg"]}, [], "unknown domain 'jeugdzorg'"),
    ({"a": ["wmo"], "b": ["wmo"]}, [], "'wmo' is in two groups"),
    ({"jeugd": []}, [], "non-empty list"),
    ({}, ["wmoo"], "exclude_domains: unknown domain 'wmoo'"),
    ({"household_id": ["wmo"]}, [], "identifier token 'id'"),
    ({"Jeugd-Zorg": ["jeugdhulp"]}, [], "lower-case letters"),
    ({"max_kosten": ["jeugdhulp"]}, [], "minimum/maximum"),
])
def test_domain_group_problems_are_clear(configured, exclude, message):
    with pytest.raises(CoherenceConfigError, match=message):
        resolve_domain_groups(["bijstand", "jeugdhulp", "wmo"], configured, exclude, known_domains=KNOWN)


def test_cost_levels_by_hand():
    costs = {"a": np.array([0.0, 10.0, 20.0, 30.0, 40.0, -5.0]), "b": np.array([0.0, 0.0, 5.0, 0.0, 0.0, 0.0])}
    levels, cut = cost_levels(costs, quantile=0.5)
    # Positive costs of a: 10, 20, 30, 40; the lower median (inverted CDF) is 20.
    assert cut == {"a": 20.0, "b": 5.0}
    assert levels[:, 0].tolist() == [0, 1, 1, 2, 2, 0] and levels[:, 1].tolist() == [0, 0, 1, 0, 0, 0]
    levels, cut = cost_levels(costs, quantile=0.5, cutoffs={"a": 35})
    assert cut["a"] == 35.0 and levels[:, 0].tolist() == [0, 1, 1, 1, 2, 0]


def test_household_profiles_sum_domains_into_groups():
    cube = pd.DataFrame({"household": [7, 8, 9, 10], "cost_total": [5.0, 3.0, 0.0, 9.0],
                         "cost_jeugdbescherming": [5.0, 0.0, 0.0, 4.0], "cost_jeugdreclassering": [0.0, 3.0, 0.0, 0.0],
                         "cost_wmo": [0.0, 0.0, 0.0, 5.0]})
    p = household_profiles(cube, {"jeugd": ["jeugdbescherming", "jeugdreclassering"], "wmo": ["wmo"]})
    assert p.masks.tolist() == [1, 1, 0, 3]
    assert p.n_groups.tolist() == [1, 1, 0, 2]
    assert p.costs["jeugd"].tolist() == [5.0, 3.0, 0.0, 4.0]
    assert p.distinct.profiles.tolist() == [[0, 0], [1, 0], [1, 1]]
    assert p.distinct.weights.tolist() == [1, 2, 1]
    assert p.profile_costs().tolist() == [[0.0, 0.0], [8.0, 0.0], [4.0, 5.0]]
    assert p.presence().tolist() == [[True, False], [True, False], [False, False], [True, True]]


@settings(max_examples=60, deadline=None)
@given(arrays(st.sampled_from([np.int8, np.uint8, np.int64]), st.tuples(st.integers(1, 60), st.integers(1, 14)),
              elements=st.integers(0, 1)), st.integers(0, 40))
def test_integer_rows_compress_like_numpy_unique(rows, spread):
    # 0/1 bytes (packed as bits), small integers and wide code spaces take different paths.
    rows = rows.copy()
    if spread and rows.dtype == np.uint8:
        rows[:, 0] = rows[:, 0] * spread          # one wider column: a per-column code space
    elif spread and rows.dtype == np.int64:
        rows = rows * (spread * 1000 + 1)         # every column wide: codes sorted, or rows sorted
    raw, weights, inverse = compress_rows(rows)
    expected, expected_inverse, counts = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
    assert raw.dtype == rows.dtype
    assert np.array_equal(raw, expected)
    assert np.array_equal(inverse, expected_inverse.reshape(-1)) and np.array_equal(weights, counts)
