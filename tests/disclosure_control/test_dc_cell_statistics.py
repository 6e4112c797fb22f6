"""Cell statistics of a table (distinct units, totals, largest contributions,
negative contributions and the units behind each cell) against an independent
pandas computation, on random data where units have several rows, sit in
several cells, carry negative amounts, and dimensions come as text, whole
floats, integers or Categoricals, with and without a hierarchy."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from disclosure_control.rules import DisclosureRules
from disclosure_control.tables import Dimension, TableGrid, cell_statistics, leaf_codes

TOTAL = DisclosureRules().total_label


@st.composite
def unit_rows(draw):
    seed = draw(st.integers(0, 100_000))
    n_dims = draw(st.integers(1, 3))
    rng = np.random.default_rng(seed)
    n_units = int(rng.integers(1, 60))
    rows_per_unit = draw(st.sampled_from([1, 1, 3]))
    n_rows = n_units * rows_per_unit if rows_per_unit == 1 else int(rng.integers(n_units, 3 * n_units + 1))
    unit = np.arange(n_units) if rows_per_unit == 1 else rng.integers(0, n_units, n_rows)
    frame = pd.DataFrame({"hh": [f"h{u}" for u in unit]})
    kinds = [draw(st.sampled_from(["text", "float", "int", "categorical"])) for _ in range(n_dims)]
    for d, kind in enumerate(kinds):
        size = int(rng.integers(1, 5))
        raw = rng.integers(0, size, n_rows)
        if kind == "text":
            frame[f"d{d}"] = np.array([f"c{k}" for k in range(size)], dtype=object)[raw]
        elif kind == "float":
            frame[f"d{d}"] = (raw * 10).astype(float)
        elif kind == "int":
            frame[f"d{d}"] = raw + 2018
        else:
            categories = [f"k{k}" for k in range(size + 1)][::-1]          # one category unused
            frame[f"d{d}"] = pd.Categorical(np.array(categories)[raw], categories=categories)
    frame["cost"] = rng.normal(100, 80, n_rows).round(2)                   # some negative
    frame["extra"] = rng.uniform(0, 10, n_rows)
    hierarchies = {}
    if draw(st.booleans()) and kinds[0] == "text":
        hierarchies["d0"] = {f"c{k}": ("G1" if k % 2 == 0 else "G2") for k in range(5)}
    return frame, [f"d{d}" for d in range(n_dims)], hierarchies


def _grid(codes, dims, hierarchies):
    dimensions = []
    for d in dims:
        observed = pd.Series(codes[d]).astype(str).unique().tolist()
        hierarchy = {k: v for k, v in hierarchies.get(d, {}).items() if k in observed} or None
        dimensions.append(Dimension.build(d, observed, hierarchy, TOTAL, True))
    return TableGrid.build(dimensions)


def _expected(frame, dims, hierarchies, grid):
    """Per cell, independently: the rows of the cell are every row whose code
    on each axis is the cell's code, its parent or the total."""
    text = {d: (frame[d].astype(str) if frame[d].dtype != float else frame[d].astype(int).astype(str))
            for d in dims}
    cells = grid.code_frame()
    out = []
    for _, cell in cells.iterrows():
        inside = np.ones(len(frame), dtype=bool)
        for d in dims:
            code = cell[d]
            if code == TOTAL:
                continue
            parent = text[d].map(hierarchies.get(d, {})).fillna("")
            inside &= ((text[d] == code) | (parent == code)).to_numpy()
        per_unit = frame[inside].groupby("hh")["cost"].sum()
        out.append({"n": len(per_unit), "sum": per_unit.sum(),
                    "negative": int((per_unit < 0).sum()),
                    "top": sorted(per_unit.tolist(), reverse=True)[:2],
                    "units": set(per_unit.index)})
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unit_rows())
def test_cell_statistics_equal_an_independent_count_per_cell(drawn):
    frame, dims, hierarchies = drawn
    codes = leaf_codes(frame, dims)
    grid = _grid(codes, dims, hierarchies)
    stats, pairs = cell_statistics(frame, grid, codes, ["hh"], ["cost"], 2, keep_units=True)
    expected = _expected(frame, dims, hierarchies, grid)
    assert len(expected) == grid.n_cells
    for cell, want in enumerate(expected):
        assert stats.n_units["hh"][cell] == want["n"]
        assert np.isclose(stats.sums["cost"][cell], want["sum"], atol=1e-6)
        assert stats.n_negative["cost"][cell] == want["negative"]
        top = list(stats.top["cost"][cell][:len(want["top"])])
        assert np.allclose(top, want["top"], atol=1e-6)
        assert set(pairs.ids[pairs.unit[pairs.cell == cell]]) == want["units"]
    # (cell, unit) pairs are distinct and grouped by cell.
    assert len(set(zip(pairs.cell.tolist(), pairs.unit.tolist()))) == len(pairs.cell)
    assert np.all(np.diff(pairs.cell) >= 0)


def test_leaf_codes_are_the_text_of_each_value():
    frame = pd.DataFrame({"year": [2019.0, 2020.0, 2019.0], "kind": pd.Categorical(["b", "a", "b"]),
                          "code": [1, "1", 2]})
    codes = leaf_codes(frame, ["year", "kind", "code"])
    assert codes["year"].astype(str).tolist() == ["2019", "2020", "2019"]
    assert codes["kind"].astype(str).tolist() == ["b", "a", "b"]
    assert codes["code"].astype(str).tolist() == ["1", "1", "2"]


def test_missing_dimension_values_are_an_error_naming_the_column():
    frame = pd.DataFrame({"hh": [1, 2], "kind": ["a", None]})
    try:
        leaf_codes(frame, ["kind"])
    except ValueError as error:
        assert "'kind'" in str(error) and "1 missing" in str(error)
    else:
        raise AssertionError("missing codes were accepted")


def test_cell_totals_are_exact_to_the_cent_whatever_the_row_order():
    # A million amounts whose running sum drifts by more than half a cent.
    rng = np.random.default_rng(8)
    n = 1_000_000
    frame = pd.DataFrame({"hh": np.arange(n), "kind": rng.choice(["a", "b"], n),
                          "cost": np.round(rng.lognormal(9, 2, n), 2) + rng.random(n) / 1000})
    import math
    exact = math.fsum(frame["cost"])
    for seed in range(3):
        shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        codes = leaf_codes(shuffled, ["kind"])
        grid = TableGrid.build([Dimension.build("kind", ["a", "b"], None, TOTAL, True)])
        stats, _ = cell_statistics(shuffled, grid, codes, ["hh"], ["cost"], 2)
        assert abs(stats.sums["cost"][0] - exact) < 1e-4, (stats.sums["cost"][0], exact)


@pytest.mark.parametrize("ids", [np.array([7, 3, 3, 10**6, 7]), np.array([7, 3, 3, 10**15, 7]),
                                 np.array(["b", "a", "a", "c", "b"], dtype=object)])
def test_unit_codes_number_the_distinct_ids_in_their_order(ids):
    from disclosure_control.tables import unit_codes
    codes, distinct = unit_codes(pd.Series(ids))
    assert list(distinct) == sorted(set(ids.tolist()))
    assert (np.asarray(distinct)[codes] == ids).all()
