"""Flow-network form of tables: detection, maximum flows, audit intervals,
the network heuristic and the choice of method in ``protect``.

Every expected value here comes from an LP built in the test itself from the
table (``scipy.optimize.linprog`` over the cell values with the published
cells fixed) or from brute force, independently of the package's network code.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from disclosure_control.network import FlowGraph, max_flow, network_of
from disclosure_control.protection import (
    NETWORK_METHOD,
    ProtectionImpossible,
    ProtectionProblem,
    _problem_network,
    audit,
    heuristic_pattern,
    protect,
)


def _table(inner: np.ndarray):
    """Cell values of a 2-D table with margins (row-major, totals last) and its relations."""
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
    return full.ravel(), np.array(relations)


def _problem(values, relations, upl, lower=None, weight=None):
    n = len(values)
    return ProtectionProblem(
        values=values, lower=np.zeros(n) if lower is None else lower, upper=np.full(n, np.inf),
        equalities=sp.csr_matrix(relations), inequalities=sp.csr_matrix((0, n)),
        group=np.arange(n), group_weight=(values + 1.0) if weight is None else weight,
        upper_protection=upl, lower_protection=upl.copy(), fixed=np.full(n, -1),
    )


def _lp_interval(values, relations, lower, suppressed, cell):
    """The attacker's interval of one cell, from scratch."""
    n = len(values)
    bounds = [(lower[i] if np.isfinite(lower[i]) else None, None) if suppressed[i] else (values[i], values[i])
              for i in range(n)]
    objective = np.zeros(n)
    objective[cell] = 1.0
    low = linprog(objective, A_eq=relations, b_eq=np.zeros(len(relations)), bounds=bounds, method="highs")
    high = linprog(-objective, A_eq=relations, b_eq=np.zeros(len(relations)), bounds=bounds, method="highs")
    return (-np.inf if low.status == 3 else low.fun), (np.inf if high.status == 3 else -high.fun)


def _check_intervals(values, relations, suppressed, lower=None):
    n = len(values)
    lower = np.zeros(n) if lower is None else lower
    problem = _problem(values, relations, np.zeros(n), lower=lower)
    result = audit(problem, suppressed).intervals.set_index("cell")
    for cell in np.flatnonzero(suppressed):
        low, high = _lp_interval(values, relations, lower, suppressed, cell)
        scale = 1e-6 * (1.0 + abs(values[cell]))
        got_low, got_high = result.loc[cell, "feasible_lower"], result.loc[cell, "feasible_upper"]
        assert (np.isinf(low) and np.isinf(got_low)) or got_low == pytest.approx(low, abs=scale), (cell, low, got_low)
        assert (np.isinf(high) and np.isinf(got_high)) or got_high == pytest.approx(high, abs=scale), (cell, high, got_high)


@pytest.mark.parametrize("seed", range(12))
def test_flow_intervals_equal_lp_intervals_on_random_two_dimensional_tables(seed):
    rng = np.random.default_rng(seed)
    shape = rng.integers(2, 7, size=2)
    inner = np.round(rng.lognormal(3, 1.5, size=shape), 2) * (rng.random(shape) > 0.1)
    values, relations = _table(inner)
    assert network_of(sp.csr_matrix(relations)) is not None
    suppressed = rng.random(len(values)) < rng.uniform(0.2, 0.7)
    _check_intervals(values, relations, suppressed)


def test_flow_intervals_with_unbounded_cells_and_negative_contributions():
    rng = np.random.default_rng(7)
    inner = rng.integers(1, 40, size=(4, 5)).astype(float)
    values, relations = _table(inner)
    suppressed = np.zeros(len(values), dtype=bool)
    # Inner cell (0,0), its row total, its column total and the grand total:
    # the inner cell can grow without limit.
    suppressed[[0, 5, 24, 29]] = True
    suppressed[[7, 13, 14]] = True
    lower = np.zeros(len(values))
    lower[7] = -np.inf  # a cell with negative contributions has no lower bound
    _check_intervals(values, relations, suppressed, lower=lower)


@pytest.mark.parametrize("seed", range(4))
def test_flow_intervals_on_one_dimensional_and_hierarchical_tables(seed):
    rng = np.random.default_rng(100 + seed)
    # Leaves a..f, subtotals G1 = a+b+c, G2 = d+e+f, total T = G1 + G2.
    leaves = rng.integers(0, 50, size=6).astype(float)
    values = np.concatenate([leaves, [leaves[:3].sum(), leaves[3:].sum(), leaves.sum()]])
    relations = np.zeros((3, 9))
    relations[0, [0, 1, 2]] = 1
    relations[0, 6] = -1
    relations[1, [3, 4, 5]] = 1
    relations[1, 7] = -1
    relations[2, [6, 7]] = 1
    relations[2, 8] = -1
    assert network_of(sp.csr_matrix(relations)) is not None
    suppressed = rng.random(9) < 0.5
    _check_intervals(values, relations, suppressed)
    # One relation only (a 1-D table): every cell is an arc to the ground node.
    flat = np.concatenate([leaves, [leaves.sum()]])
    one = np.zeros((1, 7))
    one[0, :6] = 1
    one[0, 6] = -1
    _check_intervals(flat, one, rng.random(7) < 0.6)


def test_cells_in_no_relation_move_within_their_bounds():
    values = np.array([5.0, 7.0, 12.0, 3.0])
    relations = np.array([[1.0, 1.0, -1.0, 0.0]])  # cell 3 is in no relation
    _check_intervals(values, relations, np.array([True, True, False, True]))


def test_three_dimensional_tables_and_inequalities_are_not_networks():
    # 2x2x2 with all margins: every inner cell is in three relations.
    dims = (3, 3, 3)
    index = np.arange(27).reshape(dims)
    rows = []
    for axis in range(3):
        for a in range(3):
            for b in range(3):
                row = np.zeros(27)
                sl = [a, b]
                sl.insert(axis, slice(0, 2))
                row[index[tuple(sl)]] = 1
                sl[axis] = 2
                row[index[tuple(sl)]] = -1
                rows.append(row)
    assert network_of(sp.csr_matrix(np.array(rows))) is None
    # A relation with a coefficient other than +-1 is not a network either.
    assert network_of(sp.csr_matrix(np.array([[2.0, 1.0, -1.0]]))) is None
    values, relations = _table(np.array([[3.0, 4.0], [5.0, 6.0]]))
    n = len(values)
    problem = ProtectionProblem(
        values=values, lower=np.zeros(n), upper=np.full(n, np.inf), equalities=sp.csr_matrix(relations),
        inequalities=sp.csr_matrix(np.eye(n)[[0]] - np.eye(n)[[2]]), group=np.arange(n),
        group_weight=np.ones(n), upper_protection=np.zeros(n), lower_protection=np.zeros(n), fixed=np.full(n, -1),
    )
    assert _problem_network(problem) is None


@pytest.mark.parametrize("seed", range(10))
def test_max_flow_equals_the_lp_maximum_on_random_graphs(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 40))
    capacity = np.where(rng.random((n, n)) < 0.25, np.round(rng.lognormal(2, 2, (n, n)), 3), 0.0)
    capacity[rng.random((n, n)) < 0.02] = np.inf
    np.fill_diagonal(capacity, 0.0)
    source, sink = 0, n - 1
    flow = max_flow(capacity, source, sink)
    # LP: max flow out of the source.
    arcs = np.argwhere(capacity > 0)
    incidence = np.zeros((n, len(arcs)))
    incidence[arcs[:, 0], np.arange(len(arcs))] = 1
    incidence[arcs[:, 1], np.arange(len(arcs))] = -1
    inner = [v for v in range(n) if v not in (source, sink)]
    objective = -incidence[source]
    result = linprog(objective, A_eq=incidence[inner], b_eq=np.zeros(len(inner)),
                     bounds=[(0, None if np.isinf(c) else c) for c in capacity[arcs[:, 0], arcs[:, 1]]],
                     method="highs")
    expected = np.inf if result.status == 3 else -result.fun
    if np.isinf(expected):
        assert np.isinf(flow.value)
    else:
        assert flow.value == pytest.approx(expected, rel=1e-9, abs=1e-9)
        assert flow.cut_slack <= 1e-6 * (1 + expected)
        # The flow found is feasible: within capacities and conserved.
        pushed = flow.pushed
        assert np.all(pushed <= capacity + 1e-9 * (1 + expected))
        balance = pushed.sum(axis=1)
        assert np.allclose(balance[inner], 0.0, atol=1e-7 * (1 + expected))


def test_batched_maxima_equal_single_maxima():
    rng = np.random.default_rng(3)
    values, relations = _table(np.round(rng.lognormal(4, 1, size=(7, 6)), 2))
    network = network_of(sp.csr_matrix(relations))
    cells = np.flatnonzero(rng.random(len(values)) < 0.5)
    graph = FlowGraph(network, np.full(len(values), np.inf), values)
    graph.set_active(cells)
    signs = np.concatenate([np.ones(len(cells)), -np.ones(len(cells))])
    both = np.concatenate([cells, cells])
    batched, gaps = graph.reach_many(both, signs)
    for cell, sign, value in zip(both, signs, batched):
        single = graph.reach(int(cell), int(sign)).value
        assert (np.isinf(single) and np.isinf(value)) or value == pytest.approx(single, rel=1e-9, abs=1e-9)
    assert np.all(gaps <= 1e-6 * (1 + np.where(np.isfinite(batched), batched, 0)))


@pytest.mark.parametrize("seed", range(8))
def test_network_heuristic_protects_against_an_independent_attacker(seed):
    rng = np.random.default_rng(50 + seed)
    shape = rng.integers(3, 8, size=2)
    inner = np.round(rng.lognormal(4, 1.5, size=shape), 2)
    values, relations = _table(inner)
    primary = np.zeros(len(values), dtype=bool)
    inner_index = np.arange(len(values)).reshape(shape[0] + 1, shape[1] + 1)[:-1, :-1].ravel()
    primary[rng.choice(inner_index, size=max(1, len(inner_index) // 6), replace=False)] = True
    upl = np.where(primary, np.round(0.3 * values, 2), 0.0)
    problem = _problem(values, relations, upl)
    assert _problem_network(problem) is not None
    groups = heuristic_pattern(problem)
    assert np.array_equal(groups, heuristic_pattern(problem))  # deterministic
    for cell in np.flatnonzero(primary):
        low, high = _lp_interval(values, relations, np.zeros(len(values)), groups, cell)
        assert high >= values[cell] + upl[cell] - 1e-6
        assert low <= values[cell] - upl[cell] + 1e-6
    _, result = protect(problem, milp_max_cells=10_000, time_limit=30)
    assert result.passed


@pytest.mark.parametrize("seed", range(6))
def test_flow_supports_alone_allow_the_move_found(seed):
    # The proof kept for a primary cell is the set of cells its flow moves:
    # with only those (and the cell) suppressed, an attacker LP built here
    # must still reach the move found.  Margins suppressed together make some
    # moves unbounded (a path of cells without upper bound).
    rng = np.random.default_rng(200 + seed)
    values, relations = _table(np.round(rng.lognormal(3, 1.2, size=(5, 6)), 2))
    n = len(values)
    network = network_of(sp.csr_matrix(relations))
    active = rng.random(n) < 0.55
    active[[5, 35, 41]] = seed % 2 == 0  # a row total, a column total and the grand total
    graph = FlowGraph(network, np.full(n, np.inf), values)
    graph.set_active(np.flatnonzero(active))
    cells = np.flatnonzero(active)
    signs = np.where(rng.random(len(cells)) < 0.5, 1, -1)
    limits = np.round(values[cells] * rng.uniform(0.05, 0.6, len(cells)), 2)
    got, _, supports = graph.reach_many(cells, signs, limits=limits, supports=True)
    for cell, sign, value, support in zip(cells, signs, got, supports):
        if value <= 0:
            continue
        assert np.all(active[support])
        alone = np.zeros(n, dtype=bool)
        alone[support] = True
        alone[cell] = True
        low, high = _lp_interval(values, relations, np.zeros(n), alone, cell)
        reach = high - values[cell] if sign > 0 else values[cell] - low
        assert reach >= value - 1e-6 * (1 + value), (cell, sign, value, reach)


def _brute_force_weight(problem):
    import itertools

    primary = set(np.flatnonzero(problem.primary))
    free = [g for g in range(problem.n_groups) if g not in primary]
    best = np.inf
    for size in range(len(free) + 1):
        for chosen in itertools.combinations(free, size):
            pattern = np.zeros(problem.n_groups, dtype=bool)
            pattern[list(primary)] = True
            pattern[list(chosen)] = True
            weight = problem.group_weight[pattern].sum()
            if weight < best and audit(problem, pattern).passed:
                best = weight
    return best


@pytest.mark.parametrize("inner,cell", [
    (np.array([[3, 40], [25, 31]], dtype=float), 0),
    (np.array([[30, 4], [12, 50]], dtype=float), 1),
    (np.array([[30, 14, 9], [2, 50, 17]], dtype=float), 4),
])
def test_protect_uses_the_flow_heuristic_and_the_exact_option_is_optimal(inner, cell):
    values, relations = _table(inner)
    upl = np.zeros(len(values))
    upl[cell] = max(1.0, np.ceil(0.3 * values[cell]))
    problem = _problem(values, relations, upl)
    pattern, result = protect(problem, milp_max_cells=10_000, time_limit=30)
    assert pattern.method == NETWORK_METHOD and result.passed
    again, _ = protect(problem, milp_max_cells=10_000, time_limit=30)
    assert np.array_equal(pattern.suppressed_groups, again.suppressed_groups)
    exact, checked = protect(problem, milp_max_cells=10_000, time_limit=30, exact_networks=True)
    assert exact.optimal and checked.passed
    best = _brute_force_weight(problem)
    assert problem.group_weight[exact.suppressed_groups].sum() == pytest.approx(best)
    assert problem.group_weight[pattern.suppressed_groups].sum() >= best - 1e-9


def test_tables_that_are_not_networks_keep_the_exact_milp():
    # A 2x2x2 table with all margins (3-D): every inner cell is in three relations.
    rng = np.random.default_rng(9)
    inner = rng.integers(5, 60, size=(2, 2, 2)).astype(float)
    full = np.zeros((3, 3, 3))
    full[:2, :2, :2] = inner
    for axis in range(3):
        full = np.moveaxis(full, axis, 0)
        full[2] = full[:2].sum(axis=0)
        full = np.moveaxis(full, 0, axis)
    index = np.arange(27).reshape(3, 3, 3)
    rows = []
    for axis in range(3):
        for a in range(3):
            for b in range(3):
                row = np.zeros(27)
                position = [a, b]
                position.insert(axis, slice(0, 2))
                row[index[tuple(position)]] = 1
                position[axis] = 2
                row[index[tuple(position)]] = -1
                rows.append(row)
    values = full.ravel()
    relations = np.array(rows)
    assert np.allclose(relations @ values, 0)
    upl = np.zeros(27)
    upl[index[0, 0, 0]] = np.ceil(0.3 * values[index[0, 0, 0]])
    problem = _problem(values, relations, upl)
    assert _problem_network(problem) is None
    pattern, result = protect(problem, milp_max_cells=10_000, time_limit=30)
    assert pattern.optimal and "exact" in pattern.method and result.passed
    primary = index[0, 0, 0]
    low, high = _lp_interval(values, relations, np.zeros(27), problem.cell_mask(pattern.suppressed_groups), primary)
    assert high >= values[primary] + upl[primary] - 1e-6
    assert low <= values[primary] - upl[primary] + 1e-6


def test_network_heuristic_leaves_no_redundant_suppression():
    # A table large enough (more than 64 nodes) for redundancy removal to check
    # windows of candidates in one batched flow problem: afterwards, publishing
    # any single complementary cell again must make the audit fail.
    rng = np.random.default_rng(31)
    shape = (36, 34)
    inner = np.round(rng.lognormal(5, 1.3, size=shape), 2)
    values, relations = _table(inner)
    n = len(values)
    inner_index = np.arange(n).reshape(shape[0] + 1, shape[1] + 1)[:-1, :-1].ravel()
    primary = np.zeros(n, dtype=bool)
    primary[rng.choice(inner_index, size=40, replace=False)] = True
    upl = np.where(primary, np.round(0.3 * values, 2), 0.0)
    problem = _problem(values, sp.csr_matrix(relations), upl)
    assert _problem_network(problem).n_nodes > 64
    groups = heuristic_pattern(problem)
    assert audit(problem, groups).passed
    for group in np.flatnonzero(groups & ~primary[np.arange(n)]):
        fewer = groups.copy()
        fewer[group] = False
        assert not audit(problem, fewer).passed, f"cell {group} was not needed"


def test_network_protection_reports_an_impossible_cell():
    # 1-D table a + b = total; a is unsafe but b and the total must stay
    # published (e.g. released in a linked table): a is given away.
    values = np.array([5.0, 20.0, 25.0])
    relations = np.array([[1.0, 1.0, -1.0]])
    problem = ProtectionProblem(
        values=values, lower=np.zeros(3), upper=np.full(3, np.inf), equalities=sp.csr_matrix(relations),
        inequalities=sp.csr_matrix((0, 3)), group=np.arange(3), group_weight=values + 1.0,
        upper_protection=np.array([2.0, 0.0, 0.0]), lower_protection=np.array([2.0, 0.0, 0.0]),
        fixed=np.array([-1, 0, 0]),
    )
    assert _problem_network(problem) is not None
    with pytest.raises(ProtectionImpossible):
        protect(problem, milp_max_cells=10_000, time_limit=30)
