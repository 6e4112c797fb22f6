"""The k-modes comparison of benchmarks/bench_coherence.py: its cost check on the rows, and
that fitting the distinct profiles with their household counts reports the cost of all
households (for ours and, when installed, kmodes 0.12.2)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_coherence", ROOT / "benchmarks" / "bench_coherence.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_coherence"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("bench_coherence", None)


def test_row_costs_counts_mismatches_by_hand(bench):
    X = np.array([[1, 0, 1], [1, 1, 1], [0, 0, 0], [0, 1, 0]], dtype=np.int8)
    centroids = [[1, 0, 1], [0, 0, 0]]
    # Mismatches with mode 0: 0, 1, 2, 3; with mode 1: 2, 3, 0, 1. Nearest: 0 + 1 + 0 + 1 = 2.
    assert bench.row_costs(X, centroids, [0, 0, 1, 1]) == (2, 2)
    assert bench.row_costs(X, centroids, [1, 0, 0, 1]) == (2 + 1 + 2 + 1, 2)


def households(n: int = 3000, seed: int = 5) -> np.ndarray:
    """Binary profiles of ``n`` households in a few planted types, many duplicates."""
    rng = np.random.default_rng(seed)
    types = np.array([[0] * 6, [1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 1, 0], [1, 0, 0, 0, 1, 1]], dtype=bool)
    rows = types[rng.integers(0, len(types), n)]
    flip = rng.random(rows.shape) < 0.08
    return rows ^ flip


@pytest.mark.parametrize("library", ["ours", "kmodes"])
def test_weighted_profiles_report_the_cost_of_all_households(bench, monkeypatch, library):
    if library == "kmodes":
        pytest.importorskip("kmodes")
    presence = households()
    monkeypatch.setattr(bench, "load", lambda n=None: (presence, [f"d{j}" for j in range(presence.shape[1])]))
    out = bench.task_kmodes(library=library, init="huang", n_init=2, n=None, k=4, form="profiles")
    # A plain second count: every household against the nearest of the fitted modes.
    modes = np.array(out["centroids"], dtype=bool)
    nearest = np.min([(presence != m).sum(axis=1) for m in modes], axis=0).sum()
    assert out["cost"] == out["row_cost"] == nearest
    assert out["n_rows"] == 3000
    assert out["n_profiles"] == len({tuple(r) for r in presence.tolist()})


def test_our_fit_on_profiles_equals_fit_on_rows(bench, monkeypatch):
    presence = households(seed=6)
    monkeypatch.setattr(bench, "load", lambda n=None: (presence, [f"d{j}" for j in range(presence.shape[1])]))
    on_profiles = bench.task_kmodes(library="ours", init="huang", n_init=3, n=None, k=4, form="profiles")
    on_rows = bench.task_kmodes(library="ours", init="huang", n_init=3, n=None, k=4, form="rows")
    assert on_profiles["cost"] == on_rows["cost"]
    assert on_profiles["centroids"] == on_rows["centroids"]


def test_gain_decomposition_parts_on_a_small_set(bench, monkeypatch):
    presence = households(seed=7)
    monkeypatch.setattr(bench, "load", lambda n=None: (presence, [f"d{j}" for j in range(presence.shape[1])]))
    parts = {p: bench.task_kmodes_parts(part=p, n=None, k=4, n_init=3, repeats=1) for p in "abcd"}
    # (d) runs the same starts as (c) and only adds moves that lower the cost.
    assert parts["d"]["cost"] <= parts["c"]["cost"]
    # On the distinct profiles the starting modes always differ; (a) records them per restart.
    assert parts["c"]["distinct_starts"] == [4, 4, 4]
    assert len(parts["a"]["distinct_starts"]) == 3
    # Every part's cost was checked inside against a count on the rows; the counts are whole mismatches.
    assert all(float(parts[p]["cost"]).is_integer() for p in "abcd")
