"""Property-based tests: random 1-D, 2-D, 3-D and hierarchical tables.

After protection by the safe writer, (1) no cell that fails the frequency rule
(computed here independently with pandas) is visible, and (2) an LP attacker
who knows every published cell, the table structure (every margin is the sum of
its categories) and that counts are non-negative cannot narrow any primary cell
below its protection interval.  The attacker is built here from the published
CSV alone, independently of the package's relation matrices.
"""

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from disclosure_control import DisclosureRules, SafeWriter

TOTAL = "Totaal"
SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                           HealthCheck.function_scoped_fixture])


@st.composite
def unit_tables(draw, dims: int, hierarchical: bool):
    sizes = [draw(st.integers(2, 4)) for _ in range(dims)]
    n_units = draw(st.integers(20, 140))
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    columns = {}
    for d, size in enumerate(sizes):
        weights = rng.dirichlet(np.ones(size) * 0.6)
        columns[f"d{d}"] = rng.choice([f"c{d}{k}" for k in range(size)], size=n_units, p=weights)
    frame = pd.DataFrame(columns)
    frame["hh"] = [f"h{i}" for i in range(n_units)]
    hierarchies = None
    if hierarchical:
        # First dimension: categories grouped in two parents.
        codes = [f"c0{k}" for k in range(sizes[0])]
        hierarchies = {"d0": {code: ("G1" if k % 2 == 0 else "G2") for k, code in enumerate(codes)}}
    return frame, hierarchies


def _expected_cells(frame, dims, hierarchies):
    """Independent cell counts: distinct households per code combination,
    margins included (each code mapped to itself, its parent and the total)."""
    expanded = frame
    for d in dims:
        parent = (hierarchies or {}).get(d, {})
        parts = [expanded.assign(**{d: expanded[d]}), expanded.assign(**{d: TOTAL})]
        if parent:
            parts.append(expanded.assign(**{d: expanded[d].map(parent)}))
        expanded = pd.concat(parts, ignore_index=True)
    counts = expanded.groupby(dims)["hh"].nunique()
    return {(k if isinstance(k, tuple) else (k,)): int(n) for k, n in counts.items()}


def _attacker_intervals(published: pd.DataFrame, dims, hierarchies, value_column, symbol="x", slack=None):
    """Feasible interval of every suppressed cell from the published table only
    (``slack``: per published row, how far its true value may lie from the
    number shown, e.g. by rounding)."""
    cells = published.reset_index(drop=True)
    index = {tuple(row): i for i, row in enumerate(cells[dims].itertuples(index=False))}
    n = len(cells)
    rows = []
    for i, key in enumerate(index):
        for axis, d in enumerate(dims):
            code = key[axis]
            parent_map = (hierarchies or {}).get(d, {})
            children = [c for c, p in parent_map.items() if p == code]
            if code == TOTAL:
                tops = set(parent_map.values()) if parent_map else set()
                children = sorted(tops) if tops else sorted({k[axis] for k in index if k[axis] != TOTAL})
            if not children:
                continue
            row = np.zeros(n)
            row[i] = -1
            present = False
            for child in children:
                child_key = key[:axis] + (child,) + key[axis + 1:]
                if child_key in index:
                    row[index[child_key]] += 1
                    present = True
            if present:
                rows.append(row)
    values = cells[value_column]
    hidden = values == symbol
    slack = np.zeros(n) if slack is None else np.asarray(slack, dtype=float)
    bounds = [(0, None) if h else (float(v) - e, float(v) + e) for v, h, e in zip(values, hidden, slack)]
    a_eq = np.array(rows) if rows else None
    out = {}
    for i in np.flatnonzero(hidden.to_numpy()):
        objective = np.zeros(n)
        objective[i] = 1
        kwargs = dict(A_eq=a_eq, b_eq=np.zeros(len(rows))) if rows else {}
        low = linprog(objective, bounds=bounds, method="highs", **kwargs)
        high = linprog(-objective, bounds=bounds, method="highs", **kwargs)
        upper = math.inf if high.status == 3 else -high.fun
        out[tuple(cells.loc[i, dims])] = (low.fun, upper)
    return out


def _check_protected(tmp_path, frame, hierarchies, dims):
    rules = DisclosureRules(flag_zero_cells=False, flag_full_cells=False)
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence", rules)
    result = writer.frequency_table(frame, name="t", unit="hh", dimensions=dims, hierarchies=hierarchies)
    assert result.released, result.reasons
    expected = _expected_cells(frame, dims, hierarchies)
    published = result.table
    shown = {tuple(row[:-1]): row[-1] for row in published[dims + ["n_households"]].itertuples(index=False)}
    unsafe = [key for key, n in expected.items() if 0 < n < rules.min_units]
    assert set(expected) <= set(shown)
    for key in unsafe:
        assert shown[key] == "x", f"unsafe cell {key} with {expected[key]} households is visible"
    # Visible cells show the true count (empty combinations show 0).
    for key, text in shown.items():
        if text != "x":
            assert int(text) == expected.get(key, 0)
    intervals = _attacker_intervals(published, dims, hierarchies, "n_households")
    for key in unsafe:
        n = expected[key]
        need = max(1, math.ceil(0.3 * n - 1e-9))
        low, high = intervals[key]
        assert high >= n + need - 1e-6, (key, n, low, high)
        assert low <= n - min(need, n) + 1e-6, (key, n, low, high)


@SETTINGS
@given(unit_tables(dims=1, hierarchical=False))
def test_one_dimensional_tables_are_protected(tmp_path_factory, drawn):
    frame, hierarchies = drawn
    _check_protected(tmp_path_factory.mktemp("p1"), frame, hierarchies, ["d0"])


@SETTINGS
@given(unit_tables(dims=2, hierarchical=False))
def test_two_dimensional_tables_are_protected(tmp_path_factory, drawn):
    frame, hierarchies = drawn
    _check_protected(tmp_path_factory.mktemp("p2"), frame, hierarchies, ["d0", "d1"])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(unit_tables(dims=3, hierarchical=False))
def test_three_dimensional_tables_are_protected(tmp_path_factory, drawn):
    frame, hierarchies = drawn
    _check_protected(tmp_path_factory.mktemp("p3"), frame, hierarchies, ["d0", "d1", "d2"])


@SETTINGS
@given(unit_tables(dims=2, hierarchical=True))
def test_hierarchical_tables_are_protected(tmp_path_factory, drawn):
    frame, hierarchies = drawn
    _check_protected(tmp_path_factory.mktemp("ph"), frame, hierarchies, ["d0", "d1"])


@st.composite
def magnitude_tables(draw):
    sizes = [draw(st.integers(2, 4)), draw(st.integers(2, 3))]
    n_units = draw(st.integers(30, 160))
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"d{d}": rng.choice([f"c{d}{k}" for k in range(size)], size=n_units,
                                               p=rng.dirichlet(np.ones(size) * 0.8))
                          for d, size in enumerate(sizes)})
    frame["hh"] = [f"h{i}" for i in range(n_units)]
    amounts = rng.lognormal(5, 1, n_units)
    amounts[rng.random(n_units) < 0.05] *= 100      # a few dominant households
    frame["cost"] = np.round(amounts, 2)
    return frame


def _required_sum_protection(frame, dims):
    """Independent primary rules per cell (margins included) on the unit
    amounts: at least 10 units; (2, 90%) dominance; p%-rule with p = 10%.
    Returns {cell: (true sum, required protection up = down)}."""
    expanded = frame
    for d in dims:
        expanded = pd.concat([expanded, expanded.assign(**{d: TOTAL})], ignore_index=True)
    out = {}
    for key, group in expanded.groupby(dims):
        values = np.sort(group["cost"].to_numpy())[::-1]
        total, n = values.sum(), len(values)
        x1, x2 = values[0], values[1] if n > 1 else 0.0
        level = 0.0
        if n < 10:
            level = max(level, 0.3 * total)
        if x1 + x2 > 0.9 * total:
            level = max(level, (x1 + x2) / 0.9 - total)
        if total - x1 - x2 < 0.1 * x1:
            level = max(level, 0.1 * x1 - (total - x1 - x2))
        out[key] = (total, level)
    return out


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(magnitude_tables())
def test_two_dimensional_mean_tables_protect_every_unsafe_amount(tmp_path_factory, frame):
    """Counts and means are separate decisions: an attacker who turns every
    published mean into a sum (mean x published count) still cannot narrow an
    unsafe cell's sum below its protection; a suppressed count has its mean
    suppressed; a count beside a suppressed mean rests on at least 10 units."""
    dims = ["d0", "d1"]
    tmp_path = tmp_path_factory.mktemp("pm")
    rules = DisclosureRules(flag_zero_cells=False, flag_full_cells=False)
    result = SafeWriter(tmp_path / "e", tmp_path / "v", rules).magnitude_table(
        frame, name="m", unit="hh", dimensions=dims, values="cost", statistic="mean")
    assert result.released, result.reasons
    published = result.table
    assert ((published["n_households"] != "x") | (published["mean_cost"] == "x")).all()
    counts = published["n_households"]
    shown_counts = pd.to_numeric(counts[counts != "x"])
    assert ((shown_counts >= 10) | (shown_counts == 0)).all()
    # The attacker's sums: count x mean where both are published (a mean "."
    # has no units: sum 0), known up to the rounding of the mean (n x 0.005).
    sums = published.copy().reset_index(drop=True)
    known = (sums["n_households"] != "x") & (sums["mean_cost"] != "x")
    n = pd.to_numeric(sums["n_households"].where(known, "0"))
    mean = pd.to_numeric(sums["mean_cost"].where(known & (sums["mean_cost"] != "."), "0"))
    sums["sum_cost"] = np.where(known, (n * mean).round(6).astype(str), "x")
    slack = np.where(known, 0.005 * n, 0.0)
    intervals = _attacker_intervals(sums, dims, None, "sum_cost", slack=slack)
    rounding = slack.sum()
    for key, (total, level) in _required_sum_protection(frame, dims).items():
        if level <= 0:
            continue
        assert key in intervals, f"unsafe amount {key} is computable from the published means and counts"
        low, high = intervals[key]
        assert high >= total + level - 1e-6 - rounding, (key, total, level, low, high)
        assert low <= max(total - level, 0.0) + 1e-6 + rounding, (key, total, level, low, high)
