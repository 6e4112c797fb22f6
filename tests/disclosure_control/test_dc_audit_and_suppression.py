"""Audit intervals, exactness of the MILP and soundness of the heuristic.

Worked example (hand computed, in the manner of the tau-Argus manual's audit
example): a 3x3 table with margins

             c1   c2   c3 | total
       r1    20   50   10 |   80
       r2     8   19   32 |   59
       r3    17   32   12 |   61
    total    45  101   54 |  200

with the four cells r1c1, r1c3, r2c1, r2c3 suppressed.  Writing x = r2c1 the
published cells and totals give r1c1 = 28 - x, r1c3 = 2 + x, r2c3 = 40 - x, and
non-negativity gives x in [0, 28].  So r2c1 in [0, 28], r1c1 in [0, 28],
r1c3 in [2, 30], r2c3 in [12, 40].
"""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from disclosure_control.protection import (
    ProtectionProblem, _ComponentCache, _benders_cut, audit, exact_pattern, heuristic_pattern, protect,
)


def _table_problem(inner: np.ndarray, upl=None, lpl=None) -> ProtectionProblem:
    """Cells in row-major order of the (R+1) x (C+1) table, totals last."""
    rows, cols = inner.shape
    full = np.zeros((rows + 1, cols + 1))
    full[:rows, :cols] = inner
    full[rows, :cols] = inner.sum(axis=0)
    full[:rows, cols] = inner.sum(axis=1)
    full[rows, cols] = inner.sum()
    index = np.arange(full.size).reshape(full.shape)
    relations = []
    for r in range(rows + 1):
        row = np.zeros(full.size)
        row[index[r, :cols]] = 1
        row[index[r, cols]] = -1
        relations.append(row)
    for c in range(cols + 1):
        row = np.zeros(full.size)
        row[index[:rows, c]] = 1
        row[index[rows, c]] = -1
        relations.append(row)
    n = full.size
    return ProtectionProblem(
        values=full.ravel(), lower=np.zeros(n), upper=np.full(n, np.inf),
        equalities=sp.csr_matrix(np.array(relations)), inequalities=sp.csr_matrix((0, n)),
        group=np.arange(n), group_weight=full.ravel() + 1e-3,
        upper_protection=np.zeros(n) if upl is None else upl, lower_protection=np.zeros(n) if lpl is None else lpl,
        fixed=np.full(n, -1),
    )


WORKED = np.array([[20, 50, 10], [8, 19, 32], [17, 32, 12]], dtype=float)


def test_feasibility_intervals_of_the_worked_example():
    problem = _table_problem(WORKED)
    suppressed = np.zeros(problem.n_groups, dtype=bool)
    r1c1, r1c3, r2c1, r2c3 = 0, 2, 4, 6  # row-major in the 4x4 table
    suppressed[[r1c1, r1c3, r2c1, r2c3]] = True
    intervals = audit(problem, suppressed).intervals.set_index("cell")
    expected = {r1c1: (0, 28), r1c3: (2, 30), r2c1: (0, 28), r2c3: (12, 40)}
    for cell, (low, high) in expected.items():
        assert intervals.loc[cell, "feasible_lower"] == pytest.approx(low, abs=1e-7)
        assert intervals.loc[cell, "feasible_upper"] == pytest.approx(high, abs=1e-7)


def test_audit_fails_when_a_primary_cell_can_be_recomputed():
    # r2c1 (8) primary, suppressed together with r2c3 only: the column c1 then
    # has one suppressed cell and gives it away exactly.
    upl = np.zeros(16)
    lpl = np.zeros(16)
    upl[4] = lpl[4] = 3
    problem = _table_problem(WORKED, upl, lpl)
    suppressed = np.zeros(16, dtype=bool)
    suppressed[[4, 6]] = True
    result = audit(problem, suppressed)
    assert not result.passed
    row = result.intervals.set_index("cell").loc[4]
    assert row["feasible_lower"] == pytest.approx(8) and row["feasible_upper"] == pytest.approx(8)
    # The rectangle of the worked example protects it: [0, 28] covers [5, 11].
    suppressed[[0, 2]] = True
    assert audit(problem, suppressed).passed


def test_benders_cut_bound_equals_the_lp_optimum_at_the_current_pattern():
    # Strong duality: the cut's left-hand side at the pattern it was derived
    # from is exactly the attacker's reach.
    upl = np.zeros(16)
    upl[4] = 50.0
    problem = _table_problem(WORKED, upl, np.zeros(16))
    suppressed = np.zeros(16, dtype=bool)
    suppressed[[0, 2, 4, 6]] = True
    cache = _ComponentCache(problem, suppressed)
    reach, result, component, _ = cache.reach(4, +1)
    assert reach == pytest.approx(20.0)   # x up to 28 from 8
    coefficient, rhs = _benders_cut(problem, 4, +1, 50.0, result, component)
    assert rhs == pytest.approx(50.0)
    assert coefficient @ suppressed == pytest.approx(reach)


def _brute_force_minimum(problem: ProtectionProblem) -> float:
    """Cheapest protecting pattern by trying every subset of the free cells."""
    primary = np.flatnonzero(problem.primary)
    free = [g for g in range(problem.n_groups) if g not in set(primary)]
    best = np.inf
    for size in range(len(free) + 1):
        for chosen in itertools.combinations(free, size):
            pattern = np.zeros(problem.n_groups, dtype=bool)
            pattern[primary] = True
            pattern[list(chosen)] = True
            cost = problem.group_weight[pattern].sum()
            if cost >= best:
                continue
            if audit(problem, pattern).passed:
                best = cost
    return best


@pytest.mark.parametrize("inner,primary_cell", [
    (np.array([[3, 40], [25, 31]], dtype=float), 0),
    (np.array([[30, 4], [12, 50]], dtype=float), 1),
    (np.array([[30, 14], [2, 50]], dtype=float), 3),
])
def test_exact_milp_matches_brute_force_and_heuristic_is_protective(inner, primary_cell):
    upl = np.zeros(9)
    lpl = np.zeros(9)
    value = inner.ravel()[primary_cell]
    cell = {0: 0, 1: 1, 2: 3, 3: 4}[primary_cell]  # position in the 3x3 table with margins
    upl[cell] = lpl[cell] = max(1.0, np.ceil(0.3 * value))
    problem = _table_problem(inner, upl, lpl)
    exact = exact_pattern(problem, time_limit=30)
    assert exact is not None and exact.optimal
    assert problem.group_weight[exact.suppressed_groups].sum() == pytest.approx(_brute_force_minimum(problem))
    assert audit(problem, exact.suppressed_groups).passed
    heuristic = heuristic_pattern(problem)
    assert audit(problem, heuristic).passed
    assert problem.group_weight[heuristic].sum() >= problem.group_weight[exact.suppressed_groups].sum() - 1e-9


def test_protect_falls_back_to_the_heuristic_for_large_tables_and_still_passes_the_audit():
    rng = np.random.default_rng(5)
    inner = rng.integers(0, 60, size=(6, 7)).astype(float)
    value = np.zeros((7, 8))
    value[:6, :7] = inner
    primary = (value > 0) & (value < 10)
    n = value.size
    upl = np.where(primary.ravel(), np.maximum(1, np.ceil(0.3 * value.ravel())), 0.0)
    problem = _table_problem(inner, upl, upl.copy())
    pattern, result = protect(problem, milp_max_cells=10, time_limit=30)
    assert "heuristic" in pattern.method
    assert result.passed
    # Independent attacker: one LP per primary cell, built here from scratch.
    published = ~problem.cell_mask(pattern.suppressed_groups)
    for cell in np.flatnonzero(problem.primary):
        a_eq = problem.equalities.toarray()
        bounds = [(problem.values[i], problem.values[i]) if published[i] else (0, None) for i in range(n)]
        objective = np.zeros(n)
        objective[cell] = 1
        low = linprog(objective, A_eq=a_eq, b_eq=np.zeros(a_eq.shape[0]), bounds=bounds, method="highs").fun
        high = -linprog(-objective, A_eq=a_eq, b_eq=np.zeros(a_eq.shape[0]), bounds=bounds, method="highs").fun
        assert high >= problem.values[cell] + problem.upper_protection[cell] - 1e-6
        assert low <= problem.values[cell] - problem.lower_protection[cell] + 1e-6


def _count_and_sum_problem(fixed=None) -> ProtectionProblem:
    """A 1-D table of three categories and its total, as counts (cells 0-3)
    and sums (cells 4-7), each cell its own decision; suppressing a count
    suppresses the sum (mean) of the same position: implications (i, i + 4).
    Category 1 has 3 units (frequency rule: count needs 1 up and down)."""
    counts = np.array([3.0, 20.0, 25.0, 48.0])
    sums = np.array([300.0, 5000.0, 4000.0, 9300.0])
    equalities = np.array([[1, 1, 1, -1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, -1]], dtype=float)
    upl = np.zeros(8)
    upl[0] = 1.0
    return ProtectionProblem(
        values=np.concatenate([counts, sums]), lower=np.zeros(8), upper=np.full(8, np.inf),
        equalities=sp.csr_matrix(equalities), inequalities=sp.csr_matrix((0, 8)), group=np.arange(8),
        group_weight=np.concatenate([counts, sums]), upper_protection=upl, lower_protection=upl.copy(),
        fixed=np.full(8, -1) if fixed is None else fixed, implies=np.array([[i, i + 4] for i in range(4)]),
    )


def test_implications_are_kept_and_priced_by_every_method():
    problem = _count_and_sum_problem()
    # By hand: the count of category 1 needs one more count in its relation.
    # Category 2 costs 20 + its sum 5000, category 3 25 + 4000, the total
    # 48 + 9300: category 3 is cheapest once the sums it takes along count.
    exact = exact_pattern(problem, time_limit=30)
    assert exact.suppressed_groups.tolist() == [True, False, True, False, True, False, True, False]
    brute = np.inf
    for bits in itertools.product([False, True], repeat=8):
        pattern = np.array(bits)
        closed = all(pattern[b] or not pattern[a] for a, b in problem.implies)
        if closed and pattern[0] and audit(problem, pattern).passed:
            brute = min(brute, problem.group_weight[pattern].sum())
    assert problem.group_weight[exact.suppressed_groups].sum() == pytest.approx(brute) == pytest.approx(4328.0)
    for pattern in (heuristic_pattern(problem), protect(problem, milp_max_cells=0, time_limit=30)[0].suppressed_groups,
                    protect(problem, milp_max_cells=100, time_limit=30)[0].suppressed_groups):
        assert all(pattern[b] or not pattern[a] for a, b in problem.implies)
        assert audit(problem, pattern).passed


def test_fixed_decisions_that_contradict_the_rules_are_a_clean_protection_failure():
    from disclosure_control.protection import ProtectionImpossible

    published_primary = np.full(8, -1)
    published_primary[0] = 0          # the unsafe count was published by a linked table
    with pytest.raises(ProtectionImpossible) as error:
        protect(_count_and_sum_problem(published_primary), milp_max_cells=100, time_limit=30)
    assert error.value.cells == [0]
    conflict = np.full(8, -1)
    conflict[1], conflict[5] = 1, 0   # a suppressed count beside a published mean
    with pytest.raises(ProtectionImpossible):
        protect(_count_and_sum_problem(conflict), milp_max_cells=100, time_limit=30)


def test_unprotectable_cells_names_the_primary_cells_no_pattern_can_protect():
    from disclosure_control.protection import unprotectable_cells

    # Cells 0 (5 units, primary) and 1 (20) add up to the total 25; cell 1 and
    # the total were published by a linked table: cell 0 = 25 - 20 exactly.
    fixed = np.array([-1, 0, 0])
    problem = ProtectionProblem(
        values=np.array([5.0, 20.0, 25.0]), lower=np.zeros(3), upper=np.full(3, np.inf),
        equalities=sp.csr_matrix(np.array([[1.0, 1.0, -1.0]])), inequalities=sp.csr_matrix((0, 3)),
        group=np.arange(3), group_weight=np.ones(3), upper_protection=np.array([2.0, 0, 0]),
        lower_protection=np.array([2.0, 0, 0]), fixed=fixed)
    assert unprotectable_cells(problem) == [0]
    fixed[1] = -1    # with cell 1 free, suppressing it protects cell 0
    free = ProtectionProblem(
        values=problem.values, lower=problem.lower, upper=problem.upper, equalities=problem.equalities,
        inequalities=problem.inequalities, group=problem.group, group_weight=problem.group_weight,
        upper_protection=problem.upper_protection, lower_protection=problem.lower_protection, fixed=fixed)
    assert unprotectable_cells(free) == []
