"""Secondary suppression and the audit of a suppression pattern.

A table (or a set of linked tables) is a vector of cell values ``a`` with linear
relations that an attacker knows: equalities ``E x = 0`` (a margin is the sum of
its cells) and inequalities ``G x <= 0`` (e.g. a count of distinct units in a
margin is at most the sum of its cells when units fall in several categories).
An attacker who sees the published cells and knows the relations and the
a-priori bounds (cells are non-negative unless they have negative
contributions) can compute, for every suppressed cell, its feasible interval by
two linear programs.  A primary (unsafe) cell ``p`` is protected when that
interval reaches ``a_p + UPL_p`` upwards and ``a_p - LPL_p`` downwards.

Everything here works with deviations ``z = x - a``: the relations become
``E z = 0`` and ``G z <= h`` with ``h = -G a >= 0``, a published cell has
``z = 0``, a suppressed cell ``lo <= z <= hi``.

Cells are grouped: all cells in a group are suppressed together (the same
cell appearing in two linked tables; all statistics of one position of a table
whose layers are one decision).  Implications between groups (suppressing the
count of a position suppresses its mean) are kept by every method: the exact
MILP has them as constraints, the heuristics close their pattern under them
(suppressing more cells never narrows an attacker's interval, so a closed
protecting pattern still protects).

When the relations form a flow network (2-D tables with margins, 1-D tables
and 1-D hierarchies; see :mod:`disclosure_control.network`) the attacker's LPs
are maximum flows, computed with graph algorithms instead of ``linprog``.

* :func:`audit` -- the exact feasible interval of every suppressed cell:
  batched maximum flows on networks (each value achieved by a feasible flow
  and bounded by a cut), the attacker's LPs otherwise or when the flow leaves
  a comparison undecided.
* :func:`heuristic_pattern` -- on networks, flow checks and cheapest paths
  per primary cell, with proofs that make redundancy removal and rip-up and
  reroute cheap; otherwise one cheap LP per primary cell and direction (a
  fixed-charge heuristic).
* :func:`exact_pattern` -- the minimum-cost pattern: a MILP on the group
  decisions with Benders (Fischetti-Salazar) cuts derived from the attacker LP
  duals, solved to optimality with ``scipy.optimize.milp`` (on networks
  starting from the heuristic's pattern as incumbent).
* :func:`protect` -- picks the method (the network heuristic for networks,
  the exact MILP for other tables up to ``milp_max_cells``), repairs numerical
  near-misses and always finishes with the audit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from .network import FlowGraph, Network, _PathSearch, cheapest_path, network_of

# Relative tolerance when comparing an LP bound with a protection requirement.
_TOLERANCE = 1e-7


@dataclass
class ProtectionProblem:
    """The linear model of one table or of several linked tables.

    values:      true cell values ``a`` (length V).
    lower:       a-priori lower bound of each cell (``-inf`` when unknown).
    upper:       a-priori upper bound of each cell (``+inf`` when unknown).
    equalities:  sparse ``E`` with ``E a = 0``.
    inequalities: sparse ``G`` with ``G a <= 0``.
    group:       group index of each cell (cells of a group share one decision).
    group_weight: information loss of suppressing each group.
    upper_protection / lower_protection: required UPL/LPL (0 for safe cells).
    fixed:       per group -1 (free), 0 (must be published), 1 (must be suppressed).
    implies:     (k, 2) group pairs (a, b): suppressing a suppresses b.
    silent:      cells never published and without a protection requirement (hidden leaves that
                 identities name): unknowns of the attacker whose own intervals nobody needs, so
                 the audit does not compute them (two linear programs each).

    Fixed decisions are propagated along the implications (and from the
    primary groups, which are always suppressed); groups that would have to be
    both published and suppressed are listed in ``conflicts``.
    """

    values: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    equalities: sp.csr_matrix
    inequalities: sp.csr_matrix
    group: np.ndarray
    group_weight: np.ndarray
    upper_protection: np.ndarray
    lower_protection: np.ndarray
    fixed: np.ndarray
    implies: np.ndarray | None = None
    silent: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.values)
        self.values = np.asarray(self.values, dtype=float)
        self.lower = np.asarray(self.lower, dtype=float)
        self.upper = np.asarray(self.upper, dtype=float)
        self.equalities = sp.csr_matrix(self.equalities, shape=(self.equalities.shape[0], n))
        self.inequalities = sp.csr_matrix(self.inequalities, shape=(self.inequalities.shape[0], n))
        self.group = np.asarray(self.group, dtype=np.int64)
        self.upper_protection = np.asarray(self.upper_protection, dtype=float)
        self.lower_protection = np.asarray(self.lower_protection, dtype=float)
        self.silent = np.zeros(n, dtype=bool) if self.silent is None else np.asarray(self.silent, dtype=bool)
        if (self.silent & ((self.upper_protection > 0) | (self.lower_protection > 0))).any():
            raise ValueError("a silent cell has a protection requirement")
        self.fixed = np.asarray(self.fixed, dtype=np.int8)
        self.group_weight = np.asarray(self.group_weight, dtype=float)
        scale = 1.0 + np.abs(self.values).max(initial=0.0)
        if self.equalities.shape[0] and np.abs(self.equalities @ self.values).max() > 1e-6 * scale:
            raise ValueError("cell values do not satisfy the table's additive relations")
        if self.inequalities.shape[0] and (self.inequalities @ self.values).max() > 1e-6 * scale:
            raise ValueError("cell values do not satisfy the table's inequality relations")
        # A required lower protection can never exceed the distance to the a-priori bound.
        self.lower_protection = np.minimum(self.lower_protection, self.values - self.lower)
        self.implies = (np.zeros((0, 2), dtype=np.int64) if self.implies is None
                        else np.asarray(self.implies, dtype=np.int64).reshape(-1, 2))
        self.conflicts = self._propagate_fixed()

    def _propagate_fixed(self) -> np.ndarray:
        """Fix the groups the implications force; return conflicting groups."""
        primary_groups = np.zeros(self.n_groups, dtype=bool)
        primary_groups[self.group[self.primary]] = True
        must = (self.fixed == 1) | primary_groups
        never = self.fixed == 0
        conflicts = must & never
        if len(self.implies):
            a, b = self.implies[:, 0], self.implies[:, 1]
            while True:  # at most as many rounds as the longest chain of implications
                grown_must = must.copy()
                grown_must[b[must[a]]] = True
                grown_never = never.copy()
                grown_never[a[never[b]]] = True
                if (grown_must == must).all() and (grown_never == never).all():
                    break
                must, never = grown_must, grown_never
            conflicts = must & never
            fixed = self.fixed.copy()
            fixed[must & ~never & ~primary_groups] = 1
            fixed[never & ~must] = 0
            self.fixed = fixed
        return np.flatnonzero(conflicts)

    def close(self, groups: np.ndarray) -> np.ndarray:
        """``groups`` plus every group they imply (suppressing more is always safe)."""
        groups = np.asarray(groups, dtype=bool).copy()
        if not len(self.implies):
            return groups
        a, b = self.implies[:, 0], self.implies[:, 1]
        while True:
            grown = groups.copy()
            grown[b[groups[a]]] = True
            if (grown == groups).all():
                return groups
            groups = grown

    @property
    def n_cells(self) -> int:
        return len(self.values)

    @property
    def n_groups(self) -> int:
        return len(self.group_weight)

    @property
    def primary(self) -> np.ndarray:
        return (self.upper_protection > 0) | (self.lower_protection > 0)

    @property
    def slack(self) -> np.ndarray:
        """``h = -G a``: how far each inequality is from binding at the true values."""
        return np.maximum(-(self.inequalities @ self.values), 0.0)

    def cell_mask(self, group_mask: np.ndarray) -> np.ndarray:
        return np.asarray(group_mask, dtype=bool)[self.group]


@dataclass
class AuditResult:
    """Feasible intervals of the suppressed cells and whether protection holds."""

    intervals: pd.DataFrame  # cell, value, lower, upper, required_lower, required_upper, protected
    passed: bool
    failures: list[str] = field(default_factory=list)


class _Component:
    """The attacker's LP data restricted to one connected set of suppressed cells."""

    def __init__(self, problem: "ProtectionProblem", cells: np.ndarray):
        self.columns = np.flatnonzero(cells)
        eq = problem.equalities[:, self.columns]
        ineq = problem.inequalities[:, self.columns]
        eq_rows = np.flatnonzero(np.diff(eq.indptr))
        ineq_rows = np.flatnonzero(np.diff(ineq.indptr))
        self.eq_rows, self.ineq_rows = eq_rows, ineq_rows
        self.eq = eq[eq_rows]
        self.ineq = ineq[ineq_rows]
        self.slack = problem.slack[ineq_rows]
        lower, upper, value = problem.lower[self.columns], problem.upper[self.columns], problem.values[self.columns]
        self.bounds = np.column_stack([
            np.where(np.isfinite(lower), lower - value, -np.inf),
            np.where(np.isfinite(upper), upper - value, np.inf),
        ])
        self._graph: FlowGraph | None = None
        self._graph_checked = False

    def graph(self) -> FlowGraph | None:
        """The component as a flow network (None when its relations are not a network)."""
        if not self._graph_checked:
            self._graph_checked = True
            network = network_of(self.eq) if self.ineq.shape[0] == 0 else None
            if network is not None:
                self._graph = FlowGraph(network, self.bounds[:, 1], -self.bounds[:, 0])
                self._graph.set_active(np.arange(len(self.columns)))
        return self._graph

    def solve(self, cell: int, sign: int):
        """Max of ``sign * z_cell``; returns (optimum or +inf, linprog result, full-length z or None)."""
        position = np.searchsorted(self.columns, cell)
        objective = np.zeros(len(self.columns))
        objective[position] = -float(sign)
        kwargs = {}
        if self.eq.shape[0]:
            kwargs.update(A_eq=self.eq, b_eq=np.zeros(self.eq.shape[0]))
        if self.ineq.shape[0]:
            kwargs.update(A_ub=self.ineq, b_ub=self.slack)
        result = linprog(objective, bounds=self.bounds, method="highs", **kwargs)
        if result.status == 3:  # unbounded: the cell can move without limit
            return np.inf, result
        if result.status != 0:
            raise RuntimeError(f"attacker LP failed for cell {cell}: {result.message}")
        return -result.fun, result


class _ComponentCache:
    """Components of one suppression pattern, built lazily and reused."""

    def __init__(self, problem: "ProtectionProblem", suppressed_cells: np.ndarray):
        self.problem = problem
        self.label = _components(problem, suppressed_cells)
        self.cache: dict[int, _Component] = {}

    def of(self, cell: int) -> _Component:
        key = int(self.label[cell])
        if key not in self.cache:
            self.cache[key] = _Component(self.problem, self.label == key)
        return self.cache[key]

    def reach(self, cell: int, sign: int):
        """The attacker LP (with its duals) for one cell and direction."""
        component = self.of(cell)
        optimum, result = component.solve(cell, sign)
        point = None
        if result.status == 0:
            point = np.zeros(self.problem.n_cells)
            point[component.columns] = result.x
        return optimum, result, component, point


class _Certificates:
    """Feasible deviation vectors seen so far.

    Any deviation that keeps every relation and bound and moves only
    suppressed cells is a point of the attacker's feasible set, so if it moves
    cell p by at least p's protection level, p is protected in that direction
    without solving an LP for it.  Points are stacked once per batch of
    additions, and which of them stay inside a pattern is worked out once per
    pattern (and per new point).
    """

    def __init__(self, n_cells: int):
        self.points: list[np.ndarray] = []
        self.n_cells = n_cells
        self._matrix = np.zeros((0, n_cells))
        self._pattern = None
        self._inside = np.zeros(0, dtype=bool)

    def add(self, point: np.ndarray | None) -> None:
        if point is not None and np.any(point != 0):
            self.points.append(point)

    def certifies(self, cell: int, sign: int, need: float, suppressed_cells: np.ndarray, tolerance: float) -> bool:
        if not self.points:
            return False
        if len(self._matrix) < len(self.points):
            self._matrix = np.vstack([self._matrix] + self.points[len(self._matrix):])
        if self._pattern is not suppressed_cells:
            self._pattern = suppressed_cells
            self._inside = np.zeros(0, dtype=bool)
        if len(self._inside) < len(self._matrix):
            new = self._matrix[len(self._inside):]
            scale = np.abs(new).max(axis=1, keepdims=True) + 1.0
            inside = ~(np.abs(new[:, ~suppressed_cells]) > 1e-9 * scale).any(axis=1)
            self._inside = np.concatenate([self._inside, inside])
        if not self._inside.any():
            return False
        return bool((sign * self._matrix[self._inside, cell]).max() >= need - tolerance)


def _components(problem: ProtectionProblem, suppressed_cells: np.ndarray) -> np.ndarray:
    """Connected components of the suppressed cells through shared relations.

    Cells in different components cannot influence each other's intervals, so
    the attacker LPs can be solved per component (much smaller LPs).
    """
    from scipy.sparse.csgraph import connected_components

    columns = np.flatnonzero(suppressed_cells)
    label = np.full(problem.n_cells, -1, dtype=np.int64)
    if len(columns) == 0:
        return label
    incidence = sp.vstack([problem.equalities[:, columns], problem.inequalities[:, columns]]).tocsr()
    incidence.data = np.ones_like(incidence.data)
    adjacency = (incidence.T @ incidence).tocsr()
    _, component = connected_components(adjacency, directed=False)
    label[columns] = component
    return label


def _suppressed_network(problem: ProtectionProblem, suppressed_cells: np.ndarray) -> tuple[np.ndarray, FlowGraph] | None:
    """All suppressed cells as one flow network (None if their relations are not one)."""
    columns = np.flatnonzero(suppressed_cells)
    if problem.inequalities.shape[0] and problem.inequalities[:, columns].nnz:
        return None
    eq = problem.equalities[:, columns]
    eq = eq[np.flatnonzero(np.diff(eq.tocsr().indptr))]
    network = network_of(eq)
    if network is None:
        return None
    graph = FlowGraph(network, _room_up(problem)[columns], _room_down(problem)[columns])
    graph.set_active(np.arange(len(columns)))
    return columns, graph


def _room_up(problem: ProtectionProblem) -> np.ndarray:
    return np.where(np.isfinite(problem.upper), problem.upper - problem.values, np.inf)


def _room_down(problem: ProtectionProblem) -> np.ndarray:
    return np.where(np.isfinite(problem.lower), problem.values - problem.lower, np.inf)


def _feasible_moves(problem: ProtectionProblem, suppressed_cells: np.ndarray,
                    targets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """How far every suppressed cell (of ``targets``, when given) can move up and down (the attacker's
    maxima); every suppressed cell is an unknown of the attacker.

    Where the suppressed cells form a flow network the maxima are maximum
    flows, computed together; each is achieved by a feasible flow and bounded
    above by a cut within a tiny gap.  Where that gap leaves the comparison with
    a cell's protection level undecided, and for components that are not
    networks (3-D, hierarchies in two dimensions, linked tables, inequalities),
    the attacker LP gives the maximum.
    """
    every = np.flatnonzero(suppressed_cells)
    cells = every if targets is None else np.flatnonzero(suppressed_cells & targets)
    up = np.full(len(cells), np.nan)
    down = np.full(len(cells), np.nan)
    if not len(cells):
        return up, down
    need_up = problem.upper_protection[cells]
    need_down = problem.lower_protection[cells]
    tolerance = _TOLERANCE * (1.0 + np.abs(problem.values[cells]))
    components = None
    whole = _suppressed_network(problem, suppressed_cells)
    graphs = []
    if whole is not None:
        graphs.append((np.arange(len(cells)), np.searchsorted(every, cells), whole[1]))
    else:
        components = _ComponentCache(problem, suppressed_cells)
        labels = components.label[cells]
        for key in np.unique(labels):  # one flow problem (or LPs) per component
            members = np.flatnonzero(labels == key)
            component = components.of(cells[members[0]])
            graph = component.graph()
            if graph is not None:
                graphs.append((members, np.searchsorted(component.columns, cells[members]), graph))
    for members, local, graph in graphs:
        k = len(members)
        values, gaps = graph.reach_many(np.concatenate([local, local]),
                                        np.concatenate([np.ones(k), -np.ones(k)]))
        for target, value, gap, need in ((up, values[:k], gaps[:k], need_up[members]),
                                         (down, values[k:], gaps[k:], need_down[members])):
            decided = (value >= need - tolerance[members]) | (value + gap < need - tolerance[members])
            target[members[decided]] = value[decided]
    undecided = np.isnan(up) | np.isnan(down)
    if undecided.any() and components is None:
        components = _ComponentCache(problem, suppressed_cells)
    for position in np.flatnonzero(np.isnan(up)):  # LP where no flow decided it
        up[position] = components.of(cells[position]).solve(cells[position], +1)[0]
    for position in np.flatnonzero(np.isnan(down)):
        down[position] = components.of(cells[position]).solve(cells[position], -1)[0]
    return up, down


def audit(problem: ProtectionProblem, suppressed_groups: np.ndarray) -> AuditResult:
    """The feasible interval of every suppressed cell; check the primaries.

    The interval is what an attacker derives from all published cells,
    relations and a-priori bounds: maximum flows where the suppressed cells
    form a flow network (2-D tables with margins, 1-D tables and 1-D
    hierarchies), two LPs per cell otherwise (see :func:`_feasible_moves`).
    """
    suppressed_cells = problem.cell_mask(suppressed_groups)
    cells = np.flatnonzero(suppressed_cells & ~problem.silent)
    up, down = _feasible_moves(problem, suppressed_cells, ~problem.silent)
    value = problem.values[cells]
    upl, lpl = problem.upper_protection[cells], problem.lower_protection[cells]
    tolerance = _TOLERANCE * (1.0 + np.abs(value))
    protected = (up >= upl - tolerance) & (down >= lpl - tolerance)
    intervals = pd.DataFrame({
        "cell": cells.astype(int), "value": value, "feasible_lower": value - down, "feasible_upper": value + up,
        "required_lower": value - lpl, "required_upper": value + upl, "protected": protected,
    })
    failures = []
    for i in np.flatnonzero(problem.primary[cells] & ~protected):  # failing primary cells only
        v = value[i]
        failures.append(
            f"cell {cells[i]}: feasible interval [{v - down[i]:.6g}, {v + up[i]:.6g}] does not cover "
            f"protection interval [{v - lpl[i]:.6g}, {v + upl[i]:.6g}]"
        )
    primary = problem.primary
    for cell in np.flatnonzero(primary & ~suppressed_cells):
        failures.append(f"cell {cell}: primary unsafe cell is published")
    return AuditResult(intervals=intervals, passed=not failures, failures=failures)


def _need(problem: "ProtectionProblem", cell: int, sign: int) -> float:
    return float(problem.upper_protection[cell] if sign > 0 else problem.lower_protection[cell])


def _tolerance(problem: "ProtectionProblem", cell: int) -> float:
    return _TOLERANCE * (1.0 + abs(problem.values[cell]))


def _primary_order(problem: ProtectionProblem) -> np.ndarray:
    # Largest protection needs first (as tau-Argus does): their paths tend to
    # protect smaller cells on the way.
    need = np.maximum(problem.upper_protection, problem.lower_protection)
    cells = np.flatnonzero(problem.primary)
    return cells[np.lexsort((cells, -need[cells]))]


class ProtectionImpossible(RuntimeError):
    """No suppression pattern can protect a primary cell (e.g. published cells fix it).

    ``cells``: the cells concerned, where known (indices into the problem).
    """

    def __init__(self, message: str, cells=()):
        super().__init__(message)
        self.cells = [int(c) for c in cells]


def unprotectable_cells(problem: ProtectionProblem, most: int = 200) -> list[int]:
    """Primary cells that even suppressing every cell that may be suppressed
    does not protect (suppressing more only widens the attacker's intervals),
    for the reason of a failure; at most ``most`` primary cells are tried."""
    everything = problem.close(problem.fixed != 0)
    cells = problem.cell_mask(everything)
    out = [int(c) for c in np.flatnonzero(problem.primary & ~cells)]
    components = _ComponentCache(problem, cells)
    for cell in _primary_order(problem)[:most]:
        if not cells[cell]:
            continue
        for sign in (+1, -1):
            need = _need(problem, cell, sign)
            if need > 0 and components.reach(int(cell), sign)[0] < need - _tolerance(problem, cell):
                out.append(int(cell))
                break
    return sorted(set(out))


def _check_fixed(problem: ProtectionProblem) -> None:
    """Fail early, with the cells, when fixed decisions contradict the rules."""
    primary_groups = _primary_groups(problem)
    published = np.flatnonzero(primary_groups & (problem.fixed == 0))
    if len(published):
        cells = np.flatnonzero(np.isin(problem.group, published) & problem.primary)
        raise ProtectionImpossible("a primary (unsafe) cell must be suppressed but is already published "
                                   "(in a linked table released before)", cells)
    if len(problem.conflicts):
        cells = np.flatnonzero(np.isin(problem.group, problem.conflicts))
        raise ProtectionImpossible("cells must be suppressed (a count whose mean goes with it) but are already "
                                   "published (in a linked table released before)", cells)


def _primary_groups(problem: ProtectionProblem) -> np.ndarray:
    groups = np.zeros(problem.n_groups, dtype=bool)
    groups[problem.group[problem.primary]] = True
    return groups


def _cell_weights(problem: ProtectionProblem) -> np.ndarray:
    # A group's weight is paid once; spread over its cells for the LP heuristic.
    sizes = np.bincount(problem.group, minlength=problem.n_groups)
    return problem.group_weight[problem.group] / sizes[problem.group]


def _relation_members(problem: ProtectionProblem):
    """For every primary cell, the groups of the other cells of each equality it is in."""
    eq = problem.equalities.tocsc()
    rows_of = {}
    eq_rows = problem.equalities.tocsr()
    for cell in np.flatnonzero(problem.primary):  # loops over primary cells, not data rows
        out = []
        for row in eq.indices[eq.indptr[cell]:eq.indptr[cell + 1]]:
            members = eq_rows.indices[eq_rows.indptr[row]:eq_rows.indptr[row + 1]]
            groups = np.unique(problem.group[members])
            groups = groups[groups != problem.group[cell]]
            if len(groups):
                out.append(groups)
        rows_of[int(cell)] = out
    return rows_of


def _relation_cuts(problem: ProtectionProblem) -> tuple[list[np.ndarray], list[float]]:
    """Initial cuts: a primary cell in an equality with only published cells is
    exactly known, so each such relation needs one more suppressed group."""
    coefficients, rhs = [], []
    seen = set()
    for groups_list in _relation_members(problem).values():
        for groups in groups_list:
            signature = groups.tobytes()
            if signature in seen:
                continue
            seen.add(signature)
            coefficient = np.zeros(problem.n_groups)
            coefficient[groups] = 1.0
            coefficients.append(coefficient)
            rhs.append(1.0)
    return coefficients, rhs


def _fixed_charge_lp(problem, cell, sign, need, suppressed, columns, a_eq, a_ub, up_capacity, down_capacity, weight):
    """Cheapest deviation moving ``cell`` by ``need`` (suppressed cells free)."""
    cell_suppressed = suppressed[problem.group[columns]]
    # A tiny cost on suppressed cells keeps the deviation from wandering.
    cost = np.where(cell_suppressed, 1e-9 * (1.0 + weight.max(initial=0.0)), weight)
    objective = np.concatenate([cost, cost])
    up_bounds = up_capacity.copy()
    down_bounds = down_capacity.copy()
    lower_plus = np.zeros(len(columns))
    lower_minus = np.zeros(len(columns))
    k = np.searchsorted(columns, cell)
    if k >= len(columns) or columns[k] != cell:
        raise ProtectionImpossible(f"cell {cell} must be protected but may not be suppressed", [cell])
    if sign > 0:
        lower_plus[k] = need
        down_bounds[k] = 0.0
    else:
        lower_minus[k] = need
        up_bounds[k] = 0.0
    bounds = np.column_stack([np.concatenate([lower_plus, lower_minus]), np.concatenate([up_bounds, down_bounds])])
    kwargs = {}
    if a_eq is not None:
        kwargs.update(A_eq=a_eq, b_eq=np.zeros(a_eq.shape[0]))
    if a_ub is not None:
        kwargs.update(A_ub=a_ub, b_ub=problem.slack)
    result = linprog(objective, bounds=bounds, method="highs", **kwargs)
    if result.status != 0:
        raise ProtectionImpossible(
            f"cell {cell} cannot be protected {'upwards' if sign > 0 else 'downwards'} "
            f"by any suppression pattern ({result.message})", [cell]
        )
    deviation = result.x[: len(columns)] - result.x[len(columns):]
    point = np.zeros(problem.n_cells)
    point[columns] = deviation
    return point


def _problem_network(problem: ProtectionProblem) -> Network | None:
    """The whole table as a flow network, or None (inequalities, 3-D, ...)."""
    if problem.inequalities.nnz:
        return None
    return network_of(problem.equalities)


# Up to this many checks on a graph of at most this many nodes are single
# flows rather than one batched flow problem.
_SINGLE_CHECKS = 6
_SINGLE_CHECK_NODES = 64
# Candidates checked together by redundancy removal.
_REDUNDANCY_WINDOW = 16
# When all checks must pass, this many single flows come before a batch
# (measured: on graphs above _SINGLE_CHECK_NODES the batch alone is faster).
_FIRST_SINGLE_CHECKS = 0


class _FlowSearch:
    """Secondary suppression on a table that is a flow network.

    Keeps, for every primary cell and direction, the cells of a feasible
    deviation that proves its protection (a certificate): such a proof stays
    valid as long as those cells stay suppressed.
    """

    def __init__(self, problem: ProtectionProblem, network: Network):
        self.problem = problem
        self.network = network
        self.graph = FlowGraph(network, _room_up(problem), _room_down(problem))
        order = np.argsort(problem.group, kind="stable")
        bounds = np.searchsorted(problem.group[order], np.arange(problem.n_groups + 1))
        self._order, self._bounds = order, bounds
        self.allowed = (problem.fixed != 0)[problem.group]
        self.suppressed = np.zeros(problem.n_groups, dtype=bool)
        self.proofs: dict[tuple[int, int], np.ndarray] = {}
        self.users: dict[int, set] = {}
        self.paths = _PathSearch(network)

    def cells_of(self, groups) -> np.ndarray:
        groups = np.atleast_1d(np.asarray(groups, dtype=np.int64))
        if len(groups) == 1:
            g = int(groups[0])
            return self._order[self._bounds[g]:self._bounds[g + 1]]
        chosen = np.zeros(self.problem.n_groups, dtype=bool)
        chosen[groups] = True
        return np.flatnonzero(chosen[self.problem.group])

    def suppress(self, groups: np.ndarray) -> None:
        groups = np.unique(np.asarray(groups, dtype=np.int64))
        groups = groups[~self.suppressed[groups]]
        if len(groups):
            self.suppressed[groups] = True
            self.graph.set_active(self.cells_of(groups))

    def _record(self, key: tuple[int, int], used: np.ndarray) -> None:
        old = self.proofs.get(key)
        if old is not None:
            for c in old.tolist():
                self.users[c].discard(key)
        self.proofs[key] = used
        for c in used.tolist():
            self.users.setdefault(c, set()).add(key)

    def _used(self, z: np.ndarray | None, cell: int) -> np.ndarray:
        if z is None:
            return np.zeros(0, dtype=np.int64)
        used = np.flatnonzero(np.abs(z) > 0.0)
        return used[used != cell]

    def protect(self, cell: int, sign: int, need: float, tolerance: float) -> None:
        """Make sure ``cell`` can move by ``need`` (sign +1 up, -1 down)."""
        proof, new = self._plan(cell, sign, need, tolerance)
        self.suppress(self.problem.group[new])
        self._record((cell, sign), proof)

    def protect_primary(self, cell: int, tolerance: float) -> None:
        """Both directions of one primary cell: up then down, or one cycle
        that carries both moves, whichever adds less weight.  Directions that
        already have a proof are left alone."""
        problem = self.problem
        need_up, need_down = _need(problem, cell, +1), _need(problem, cell, -1)
        if (cell, +1) in self.proofs:
            need_up = 0.0
        if (cell, -1) in self.proofs:
            need_down = 0.0
        if need_up <= 0 or need_down <= 0:
            for sign, need in ((+1, need_up), (-1, need_down)):
                if need > 0:
                    self.protect(cell, sign, need, tolerance)
            return
        up_proof, up_new = self._plan(cell, +1, need_up, tolerance)
        if not len(up_new):
            self._record((cell, +1), up_proof)
            self.protect(cell, -1, need_down, tolerance)
            return
        # Sequential: the up plan, then the down plan with it in place.
        added = np.setdiff1d(self.cells_of(np.unique(problem.group[up_new])), np.flatnonzero(self.graph.active))
        self.graph.set_active(added)
        saved = self.suppressed.copy()
        self.suppressed[problem.group[up_new]] = True
        try:
            down_proof, down_new = self._plan(cell, -1, need_down, tolerance)
        finally:
            self.suppressed = saved
            self.graph.set_active(added, False)
        sequential = self._new_weight(np.union1d(up_new, down_new))
        joint = self._joint_cycle(cell, need_up, need_down, tolerance)
        if joint is not None and self._new_weight(joint) < sequential:
            self.suppress(problem.group[joint])
            self._record((cell, +1), joint)
            self._record((cell, -1), joint)
            return
        self.suppress(problem.group[np.union1d(up_new, down_new)])
        self._record((cell, +1), up_proof)
        self._record((cell, -1), down_proof)

    def _joint_cycle(self, cell, need_up, need_down, tolerance):
        """Cheapest cycle through ``cell`` on its own carrying both moves: a
        cell passed forwards rises by ``need_up`` and falls by ``need_down``
        in the two moves, one passed backwards the other way round."""
        net, graph = self.network, self.graph
        tail, head = int(net.tail[cell]), int(net.head[cell])
        if tail == head:
            return None
        cost, _, blocked = self._costs(self.suppressed[self.problem.group], cell)
        forward_ok = (graph.forward >= need_up - tolerance) & (graph.backward >= need_down - tolerance)
        backward_ok = (graph.backward >= need_up - tolerance) & (graph.forward >= need_down - tolerance)
        path = cheapest_path(net, np.where(blocked | ~forward_ok, np.inf, cost),
                             np.where(blocked | ~backward_ok, np.inf, cost), head, tail, self.paths)
        return None if path is None else path[:, 0]

    def _plan(self, cell: int, sign: int, need: float, tolerance: float):
        """(proof cells, cells to suppress) that let ``cell`` move by ``need``.

        When the suppressed cells carry less than ``need``, the missing move
        goes through cells to suppress, the cheaper (total weight of the new
        groups) of: the cheapest single path that can carry all of it, and
        successive cheapest paths where a cell costs its weight per unit of
        the move it can carry (the usual LP relaxation of the fixed charge;
        cells used once are free afterwards).
        """
        problem, net, graph = self.problem, self.network, self.graph
        flow = graph.reach(cell, sign, limit=need)
        z = graph.deviation(flow, cell, sign)
        if flow.value >= need - tolerance:
            return self._used(z, cell), np.zeros(0, dtype=np.int64)
        if z is None:
            z = np.zeros(problem.n_cells)
        z[cell] = 0.0
        missing = need - flow.value
        tail, head = int(net.tail[cell]), int(net.head[cell])
        source, sink = (head, tail) if sign > 0 else (tail, head)
        options = []
        if source != sink:
            free = self.suppressed[problem.group].copy()
            single = self._single_path(cell, z, missing, tolerance, free, source, sink)
            if single is not None:
                options.append(single)
            multiple = self._successive_paths(cell, z, missing, tolerance, free, source, sink)
            if multiple is not None:
                options.append(multiple)
        if not options:
            # Neither found a way (e.g. tiny rooms everywhere): the fixed-charge LP.
            point = self._fixed_charge(cell, sign, need)
            used = np.flatnonzero(np.abs(point) > 1e-7 * max(need, 1e-12))
            used = used[used != cell]
            return used, used
        costs = [self._new_weight(used) for used in options]
        new = options[int(np.argmin(costs))]
        return np.union1d(self._used(z, cell), new), new

    def _new_weight(self, cells: np.ndarray) -> float:
        groups = np.unique(self.problem.group[cells])
        return float(self.problem.group_weight[groups[~self.suppressed[groups]]].sum())

    def _costs(self, free: np.ndarray, cell: int):
        weight = self.problem.group_weight[self.problem.group]
        # Cells already suppressed cost (almost) nothing; the tiny cost keeps paths short.
        tiny = 1e-9 * (1.0 + weight.max(initial=0.0))
        cost = np.where(free, tiny, weight)
        blocked = ~self.allowed
        blocked[cell] = True
        return cost, tiny, blocked

    def _single_path(self, cell, z, missing, tolerance, free, source, sink):
        graph = self.graph
        cost, _, blocked = self._costs(free, cell)
        up = np.where(blocked | (graph.forward - z < missing - tolerance), np.inf, cost)
        down = np.where(blocked | (graph.backward + z < missing - tolerance), np.inf, cost)
        path = cheapest_path(self.network, up, down, source, sink, self.paths)
        return None if path is None else path[:, 0]

    def _successive_paths(self, cell, z, missing, tolerance, free, source, sink, limit: int = 64):
        graph = self.graph
        cost, tiny, blocked = self._costs(free, cell)
        x = z.copy()
        free = free.copy()
        used = []
        remaining = missing
        for _ in range(limit):  # each round one shortest-path solve
            room_up = np.clip(graph.forward - x, 0.0, None)
            room_down = np.clip(graph.backward + x, 0.0, None)
            with np.errstate(divide="ignore", invalid="ignore"):
                up = np.where(free, tiny, cost / np.minimum(room_up, remaining))
                down = np.where(free, tiny, cost / np.minimum(room_down, remaining))
            up = np.where(blocked | (room_up <= tolerance), np.inf, up)
            down = np.where(blocked | (room_down <= tolerance), np.inf, down)
            path = cheapest_path(self.network, up, down, source, sink, self.paths)
            if path is None:
                return None
            cells, directions = path[:, 0], path[:, 1]
            rooms = np.where(directions > 0, room_up[cells], room_down[cells])
            step = min(float(rooms.min()) if len(rooms) else remaining, remaining)
            x[cells] += directions * step
            free[cells] = True
            used.append(cells)
            remaining -= step
            if remaining <= tolerance:
                return np.unique(np.concatenate(used))
        return None

    def _fixed_charge(self, cell: int, sign: int, need: float) -> np.ndarray:
        # Built per call (a rare fallback): the usable cells change while rerouting.
        problem = self.problem
        columns = np.flatnonzero(self.allowed)
        eq = problem.equalities[:, columns]
        a_eq = sp.hstack([eq, -eq]).tocsr() if eq.shape[0] else None
        return _fixed_charge_lp(problem, cell, sign, need, self.suppressed, columns, a_eq, None,
                                _room_up(problem)[columns], _room_down(problem)[columns],
                                _cell_weights(problem)[columns])

    def remove_redundant(self, keep: np.ndarray) -> None:
        """Publish suppressed groups again, most costly first, when every
        proof that used them can be replaced by one without them.

        Publishing cells never lets another group go that could not go
        before, so candidates are checked in windows, each one batched flow
        problem (every candidate's copies without its cells): the first
        candidate in the window that can go goes, those before it stay, and
        the next window starts after it.
        """
        problem = self.problem
        candidates = np.flatnonzero(self.suppressed & ~keep)
        candidates = candidates[np.argsort(-problem.group_weight[candidates], kind="stable")]
        if self.network.n_nodes <= _SINGLE_CHECK_NODES:
            # Small graphs: one candidate at a time, a few single flows each.
            for group in candidates:  # each a few flow solves
                cells = self.cells_of(group)
                affected = sorted(set().union(*(self.users.get(c, set()) for c in cells.tolist())))
                self.graph.set_active(cells, False)
                if affected:
                    ok, proofs = self._check_many(affected)
                    if not ok:
                        self.graph.set_active(cells, True)
                        continue
                    for key, used in zip(affected, proofs):
                        self._record(key, used)
                self.suppressed[group] = False
            return
        position = 0
        while position < len(candidates):  # each round one batched flow solve
            window = candidates[position:position + _REDUNDANCY_WINDOW]
            affected = [sorted(set().union(*(self.users.get(c, set()) for c in self.cells_of(g).tolist())))
                        for g in window]
            free = [k for k, keys in enumerate(affected) if not keys]
            first_free = free[0] if free else len(window)
            keys = [key for keys in affected[:first_free] for key in keys]
            owner = np.repeat(np.arange(first_free), [len(affected[k]) for k in range(first_free)])
            chosen = first_free if first_free < len(window) else None
            proofs = []
            if keys:
                exclude = [self.cells_of(window[k]) for k in owner]
                passed, found = self._check_batch(keys, exclude)
                fails = np.bincount(owner, weights=~passed, minlength=first_free)
                good = np.flatnonzero(fails == 0)
                if len(good):
                    chosen = int(good[0])
                    proofs = [(key, found[i]) for i, key in enumerate(keys) if owner[i] == chosen]
            if chosen is None:
                position += len(window)
                continue
            group = window[chosen]
            self.graph.set_active(self.cells_of(group), False)
            self.suppressed[group] = False
            for key, used in proofs:
                self._record(key, used)
            position += chosen + 1

    def _check_batch(self, keys, exclude):
        """(passed, proofs) of every (cell, sign) in ``keys``, each without the cells in ``exclude``."""
        problem = self.problem
        cells = np.array([k[0] for k in keys], dtype=np.int64)
        signs = np.array([k[1] for k in keys], dtype=np.int64)
        needs = np.where(signs > 0, problem.upper_protection[cells], problem.lower_protection[cells])
        enough = needs - _TOLERANCE * (1.0 + np.abs(problem.values[cells]))
        values, _, found = self.graph.reach_many(cells, signs, limits=needs, enough=enough, supports=True,
                                                 exclude=exclude)
        return values >= enough, [u[u != c] for u, c in zip(found, cells)]

    def _check_many(self, keys, partial: bool = False):
        """Whether every (cell, sign) in ``keys`` can move by its need now, with
        proofs (and with ``partial`` which of them can)."""
        problem = self.problem
        cells = np.array([k[0] for k in keys], dtype=np.int64)
        signs = np.array([k[1] for k in keys], dtype=np.int64)
        needs = np.where(signs > 0, problem.upper_protection[cells], problem.lower_protection[cells])
        enough = needs - _TOLERANCE * (1.0 + np.abs(problem.values[cells]))
        passed = np.zeros(len(keys), dtype=bool)
        used = [np.zeros(0, dtype=np.int64)] * len(keys)
        small = len(keys) <= _SINGLE_CHECKS and self.network.n_nodes <= _SINGLE_CHECK_NODES
        # Single flows first: a few checks on a small graph are cheaper so, and
        # when all must pass the first failure settles it.
        singles = len(keys) if small else (0 if partial else min(len(keys), _FIRST_SINGLE_CHECKS))
        for i in range(singles):  # at most a few flow solves
            cell, sign = keys[i]
            flow = self.graph.reach(cell, sign, limit=needs[i], enough=enough[i])
            passed[i] = flow.value >= enough[i]
            if not passed[i] and not partial:
                return False, used
            used[i] = self._used(self.graph.deviation(flow, cell, sign), cell)
        if singles < len(keys):
            rest = np.arange(singles, len(keys))
            values, _, found = self.graph.reach_many(cells[rest], signs[rest], limits=needs[rest],
                                                     enough=enough[rest], supports=True)
            passed[rest] = values >= enough[rest]
            for i, support in zip(rest, found):
                used[i] = support
        proofs = [u[u != c] for u, c in zip(used, cells)]
        return (bool(passed.all()), proofs, passed) if partial else (bool(passed.all()), proofs)

    def reroute(self, keep: np.ndarray, rounds: int = 1, most: int | None = None) -> bool:
        """Rip-up and reroute: publish a suppressed group again (most costly
        first), forbid it, re-protect every primary cell whose proof used it
        with the current pattern free, and keep the change only if the total
        weight falls."""
        problem = self.problem
        weight = problem.group_weight
        changed_any = False
        for _ in range(rounds):
            improved = False
            candidates = np.flatnonzero(self.suppressed & ~keep)
            candidates = candidates[np.argsort(-weight[candidates], kind="stable")][:most]
            for group in candidates:  # one group at a time, each a few flow and path solves
                if not self.suppressed[group]:
                    continue
                cells = self.cells_of(group)
                affected = sorted(set().union(*(self.users.get(c, set()) for c in cells.tolist())))
                if not affected:
                    continue
                before = float(weight[self.suppressed].sum())
                saved = (self.suppressed.copy(), dict(self.proofs), {c: set(k) for c, k in self.users.items()})
                self.suppressed[group] = False
                self.graph.set_active(cells, False)
                self.allowed[cells] = False
                try:
                    _, proofs, passed = self._check_many(affected, partial=True)
                    for key, used, fine in zip(affected, proofs, passed):
                        if fine:
                            self._record(key, used)
                    for (cell, sign), fine in zip(affected, passed):
                        if not fine:
                            self.protect(cell, sign, _need(problem, cell, sign), _tolerance(problem, cell))
                    ok = float(weight[self.suppressed].sum()) < before * (1.0 - 1e-12)
                except ProtectionImpossible:
                    ok = False
                self.allowed[cells] = (problem.fixed != 0)[problem.group[cells]]
                if ok:
                    improved = changed_any = True
                    continue
                changed = self.suppressed != saved[0]
                self.suppressed, self.proofs, self.users = saved
                self.graph.set_active(self.cells_of(np.flatnonzero(changed & self.suppressed)), True)
                self.graph.set_active(self.cells_of(np.flatnonzero(changed & ~self.suppressed)), False)
            if not improved:
                break
        return changed_any


# Rip-up and reroute is tried for this many of the most costly suppressed
# groups (most of its gain at a fraction of its cost).
_REROUTE_MOST = 10


def _network_pattern(problem: ProtectionProblem, network: Network, initial_groups: np.ndarray | None,
                     cleanup: bool = True, reroute: bool = True) -> np.ndarray:
    """Heuristic pattern on a flow network.

    1. One batched flow check finds the primary cells the starting pattern
       (primary and fixed cells) already protects.
    2. Per remaining primary cell (largest protection first) and direction, a
       flow check, and where the flow falls short the cheapest way to carry
       the missing move through cells to suppress (see :meth:`_FlowSearch._plan`;
       both directions at once by one cycle when that is cheaper).
    3. Redundant groups are published again (most costly first), then the most
       costly groups are ripped up and rerouted, and if that changed the
       pattern redundancy removal runs once more.

    Every step keeps, per primary cell and direction, a proof (the cells of a
    feasible deviation that moves it far enough), so the result protects
    every primary cell; the audit checks it again independently.
    """
    search = _FlowSearch(problem, network)
    must = (problem.fixed == 1) | _primary_groups(problem)
    start = must.copy()
    if initial_groups is not None:
        start |= initial_groups
    search.suppress(np.flatnonzero(start))
    # Primary cells the starting pattern already protects, in one batched check.
    keys = [(int(cell), sign) for cell in _primary_order(problem) for sign in (+1, -1)
            if _need(problem, cell, sign) > 0]
    if keys:
        _, proofs, passed = search._check_many(keys, partial=True)
        for key, used, ok in zip(keys, proofs, passed):
            if ok:
                search._record(key, used)
    for cell in _primary_order(problem):
        search.protect_primary(int(cell), _tolerance(problem, cell))
    if cleanup:
        search.remove_redundant(must)
        if reroute and search.reroute(must, most=_REROUTE_MOST):
            search.remove_redundant(must)
    return problem.close(search.suppressed)


def heuristic_pattern(problem: ProtectionProblem, initial_groups: np.ndarray | None = None) -> np.ndarray:
    """Fast pattern for large tables.

    1. Every equality that holds a primary cell and no other suppressed cell
       gets its cheapest other cell suppressed (a lone suppressed cell in a
       relation is given away by subtraction).
    2. Each primary cell and direction is checked with the attacker LP (or by
       a feasible deviation found earlier that already moves it far enough).
    3. Where protection is still short, one fixed-charge LP finds the
       cheapest deviation that moves the cell by its protection level, paying
       the suppression weight per unit of deviation of cells not yet suppressed;
       the cells it uses are suppressed.  Every such deviation stays feasible
       when more cells are suppressed, so the final pattern protects every
       primary cell.

    Tables whose relations form a flow network (2-D tables with margins, 1-D
    tables and 1-D hierarchies) use maximum flows and cheapest paths instead
    of LPs (:func:`_network_pattern`).
    """
    network = _problem_network(problem)
    if network is not None:
        return _network_pattern(problem, network, initial_groups)
    suppressed = np.zeros(problem.n_groups, dtype=bool)
    suppressed |= problem.fixed == 1
    suppressed |= _primary_groups(problem)
    if initial_groups is not None:
        suppressed |= initial_groups
    allowed = problem.fixed != 0
    order = _primary_order(problem)
    members = _relation_members(problem)
    for cell in order:
        for groups in members[int(cell)]:
            if suppressed[groups].any():
                continue
            candidates = groups[allowed[groups]]
            if len(candidates):
                cheapest = candidates[np.argmin(problem.group_weight[candidates])]
                suppressed[cheapest] = True

    may_use = allowed[problem.group]
    columns = np.flatnonzero(may_use)
    eq = problem.equalities[:, columns]
    ineq = problem.inequalities[:, columns]
    a_eq = sp.hstack([eq, -eq]).tocsr() if eq.shape[0] else None
    a_ub = sp.hstack([ineq, -ineq]).tocsr() if ineq.shape[0] else None
    down_capacity = np.where(np.isfinite(problem.lower), problem.values - problem.lower, np.inf)[columns]
    up_capacity = np.where(np.isfinite(problem.upper), problem.upper - problem.values, np.inf)[columns]
    weight = _cell_weights(problem)[columns]
    certificates = _Certificates(problem.n_cells)
    for cell in order:
        for sign in (+1, -1):
            need = _need(problem, cell, sign)
            if need <= 0:
                continue
            cells = problem.cell_mask(suppressed)
            if certificates.certifies(cell, sign, need, cells, _tolerance(problem, cell)):
                continue
            reach, _, _, point = _ComponentCache(problem, cells).reach(cell, sign)
            certificates.add(point)
            if reach >= need - _tolerance(problem, cell):
                continue
            point = _fixed_charge_lp(problem, cell, sign, need, suppressed, columns, a_eq, a_ub,
                                     up_capacity, down_capacity, weight)
            used = np.abs(point) > 1e-7 * max(need, 1e-12)
            suppressed[problem.group[used]] = True
            certificates.add(np.where(used, point, 0.0))
    return problem.close(suppressed)


def _benders_cut(problem: ProtectionProblem, cell, sign, need, result, component: "_Component"):
    """Cut ``sum_g coef_g y_g >= rhs`` from the duals of the attacker LP.

    By weak duality, for any multipliers mu (equalities) and nu >= 0
    (inequalities), ``sign*z_p <= sum_v r_v z_v + nu.h`` with
    ``r = sign*e_p - E'mu - G'nu``; with ``lo_v y_v <= z_v <= hi_v y_v`` this
    bounds the attacker's reach by ``sum_v y_v (r_v+ hi_v + r_v- (-lo_v)) + nu.h``.
    Protection needs that bound to be at least ``need``.
    """
    r = np.zeros(problem.n_cells)
    r[cell] = sign
    nu_h = 0.0
    if component.eq.shape[0]:
        mu = np.zeros(problem.equalities.shape[0])
        mu[component.eq_rows] = -np.asarray(result.eqlin.marginals)
        r -= problem.equalities.T @ mu
    if component.ineq.shape[0]:
        nu = np.zeros(problem.inequalities.shape[0])
        nu[component.ineq_rows] = np.maximum(-np.asarray(result.ineqlin.marginals), 0.0)
        r -= problem.inequalities.T @ nu
        nu_h = float(nu @ problem.slack)
    rhs = need - nu_h
    up_room = np.where(np.isfinite(problem.upper), problem.upper - problem.values, np.inf)
    down_room = np.where(np.isfinite(problem.lower), problem.values - problem.lower, np.inf)
    r = np.where(np.abs(r) < 1e-12, 0.0, r)
    with np.errstate(invalid="ignore"):
        coefficient = (np.where(r > 0, np.maximum(r, 0.0) * up_room, 0.0)
                       + np.where(r < 0, np.maximum(-r, 0.0) * down_room, 0.0))
    cap = max(rhs, 0.0)
    group_coefficient = np.zeros(problem.n_groups)
    np.add.at(group_coefficient, problem.group, np.minimum(coefficient, cap))
    return np.minimum(group_coefficient, cap), rhs


@dataclass
class PatternResult:
    suppressed_groups: np.ndarray
    method: str
    optimal: bool
    iterations: int = 0
    note: str = ""


def exact_pattern(problem: ProtectionProblem, time_limit: float) -> PatternResult | None:
    """Minimum-weight protecting pattern by Benders decomposition.

    Master: ``min w.y`` over binary group decisions subject to the cuts found so
    far.  Separation: for the master's pattern, the attacker LP of every primary
    cell and direction; an insufficient reach gives a violated cut from its
    duals.  When no cut is violated the master's optimum protects every primary
    cell and is the optimum of the full problem.  Returns None on time-out.

    On a flow network the heuristic's pattern is the incumbent: the master
    only looks for lighter patterns, and an infeasible master proves the
    incumbent optimal.
    """
    network = _problem_network(problem)
    if network is None:
        return _lp_exact(problem, time_limit)
    start = time.monotonic()
    incumbent = _network_pattern(problem, network, None)
    return _lp_exact(problem, time_limit - (time.monotonic() - start), incumbent=incumbent)


def _lp_exact(problem: ProtectionProblem, time_limit: float,
              incumbent: np.ndarray | None = None) -> PatternResult | None:
    """The Benders loop of :func:`exact_pattern` (cuts from attacker-LP duals)."""
    start = time.monotonic()
    n_groups = problem.n_groups
    lower = np.zeros(n_groups)
    upper = np.ones(n_groups)
    lower[problem.fixed == 1] = 1.0
    upper[problem.fixed == 0] = 0.0
    lower[_primary_groups(problem)] = 1.0
    if np.any(lower > upper):
        raise ProtectionImpossible("a primary cell must stay published (it was published in a linked table)")
    cut_rows, cut_rhs = _relation_cuts(problem)
    if incumbent is not None:
        incumbent = problem.close(incumbent)
    implications = None
    if len(problem.implies):
        k = len(problem.implies)
        implications = LinearConstraint(sp.csr_matrix(
            (np.concatenate([np.ones(k), -np.ones(k)]),
             (np.concatenate([np.arange(k), np.arange(k)]), np.concatenate([problem.implies[:, 1], problem.implies[:, 0]]))),
            shape=(k, n_groups)), 0.0, np.inf)
    iterations = 0
    certificates = _Certificates(problem.n_cells)
    weight = problem.group_weight
    method = "exact MILP (Benders cuts, scipy.optimize.milp/HiGHS)"
    while True:
        remaining = time_limit - (time.monotonic() - start)
        if remaining <= 0:
            return None
        constraints = [implications] if implications is not None else []
        if cut_rows:
            constraints.append(LinearConstraint(sp.csr_matrix(np.vstack(cut_rows)), np.array(cut_rhs), np.inf))
        if incumbent is not None:
            # Only patterns lighter than the incumbent are of interest.
            constraints.append(LinearConstraint(weight[None, :], -np.inf, float(weight @ incumbent) * (1.0 - 1e-9)))
        master = milp(
            weight,
            integrality=np.ones(n_groups),
            bounds=Bounds(lower, upper),
            constraints=constraints,
            options={"time_limit": remaining, "mip_rel_gap": 1e-9, "disp": False},
        )
        iterations += 1
        if master.status == 2 and incumbent is not None:
            # No lighter pattern satisfies the cuts: the incumbent is optimal.
            return PatternResult(incumbent.copy(), method, optimal=True, iterations=iterations)
        if master.status == 1 or master.x is None:  # time limit without a proven optimum
            if master.status not in (0, 1):
                raise ProtectionImpossible(f"no suppression pattern protects every primary cell ({master.message})")
            return None
        if master.status != 0:
            raise ProtectionImpossible(f"no suppression pattern protects every primary cell ({master.message})")
        suppressed_groups = master.x > 0.5
        suppressed_cells = problem.cell_mask(suppressed_groups)
        components = _ComponentCache(problem, suppressed_cells)
        new_cuts = 0
        for cell in _primary_order(problem):
            for sign in (+1, -1):
                need = _need(problem, cell, sign)
                if need <= 0:
                    continue
                tolerance = _tolerance(problem, cell)
                if certificates.certifies(cell, sign, need, suppressed_cells, tolerance):
                    continue
                reach, result, component, point = components.reach(cell, sign)
                certificates.add(point)
                if reach >= need - tolerance:
                    continue
                coefficient, rhs = _benders_cut(problem, cell, sign, need, result, component)
                if coefficient @ suppressed_groups < rhs - 1e-9 * (1.0 + abs(rhs)):
                    cut_rows.append(coefficient)
                    cut_rhs.append(rhs)
                    new_cuts += 1
            if time.monotonic() - start > time_limit:
                return None
        if new_cuts == 0:
            return PatternResult(suppressed_groups, method, optimal=True, iterations=iterations)


def remove_redundant(problem: ProtectionProblem, suppressed_groups: np.ndarray, time_limit: float) -> np.ndarray:
    """Try to publish secondary groups again, most costly first, keeping only
    removals after which every primary cell is still protected."""
    start = time.monotonic()
    pattern = suppressed_groups.copy()
    must = _primary_groups(problem) | (problem.fixed == 1)
    candidates = np.flatnonzero(pattern & ~must)
    candidates = candidates[np.argsort(-problem.group_weight[candidates], kind="stable")]
    primaries = _primary_order(problem)
    implied_by = problem.implies
    for group in candidates:
        if time.monotonic() - start > time_limit:
            break
        if len(implied_by) and pattern[implied_by[implied_by[:, 1] == group, 0]].any():
            continue  # a suppressed group takes this one along
        trial = pattern.copy()
        trial[group] = False
        cells = problem.cell_mask(trial)
        components = _ComponentCache(problem, cells)
        ok = all(
            components.reach(cell, sign)[0] >= _need(problem, cell, sign) - _tolerance(problem, cell)
            for cell in primaries for sign in (+1, -1) if _need(problem, cell, sign) > 0
        )
        if ok:
            pattern = trial
    return pattern


NETWORK_METHOD = "flow-network heuristic (maximum flows, cheapest paths, redundancy removal)"


def protect(problem: ProtectionProblem, milp_max_cells: int, time_limit: float,
            cleanup_max_cells: int = 400, exact_networks: bool = False) -> tuple[PatternResult, AuditResult]:
    """Choose complementary suppressions and audit the result.

    Tables whose relations form a flow network (2-D tables with margins, 1-D
    tables and 1-D hierarchies, one layer or several) get the flow-network
    heuristic: it is fast at any size and deterministic.  With
    ``exact_networks`` (and at most ``milp_max_cells`` cells) the exact MILP
    follows, looking only for patterns lighter than the heuristic's; when
    ``time_limit`` runs out the heuristic's pattern stands.

    Other tables (3-D, hierarchies in two dimensions, linked tables,
    inequality relations) get the exact MILP when they have at most
    ``milp_max_cells`` cells (falling back to the heuristic on time-out), the
    LP heuristic otherwise.  The audit is always run on the final pattern; a
    pattern that fails it is repaired by the heuristic and audited again.
    """
    _check_fixed(problem)
    if not problem.primary.any() and not (problem.fixed == 1).any():
        pattern = PatternResult(np.zeros(problem.n_groups, dtype=bool), "none needed", optimal=True)
        return pattern, audit(problem, pattern.suppressed_groups)
    pattern = None
    note = ""
    network = _problem_network(problem)
    if network is not None:
        groups = _network_pattern(problem, network, None)
        pattern = PatternResult(groups, NETWORK_METHOD, optimal=False,
                                note="the table's relations form a flow network; fast heuristic pattern")
        if exact_networks and problem.n_cells <= milp_max_cells:
            exact = _lp_exact(problem, time_limit, incumbent=groups)
            if exact is not None:
                pattern = exact
            else:
                pattern.note = f"exact MILP hit its time limit of {time_limit:g} s; heuristic used"
    elif problem.n_cells <= milp_max_cells:
        pattern = exact_pattern(problem, time_limit)
        if pattern is None:
            note = f"exact MILP hit its time limit of {time_limit:g} s; heuristic used"
    else:
        note = f"table has {problem.n_cells} cells (> milp_max_cells={milp_max_cells}); heuristic used"
    if pattern is None:
        groups = heuristic_pattern(problem)
        if problem.n_cells <= cleanup_max_cells:
            groups = remove_redundant(problem, groups, time_limit)
        pattern = PatternResult(groups, "heuristic (relation cover + LP per primary cell, "
                                "scipy.optimize.linprog/HiGHS)", optimal=False, note=note)
    pattern.suppressed_groups = problem.close(pattern.suppressed_groups)
    result = audit(problem, pattern.suppressed_groups)
    if not result.passed and problem.primary.any():
        # Numerical near-misses of a pattern: add the heuristic's cells on top.
        groups = heuristic_pattern(problem, initial_groups=pattern.suppressed_groups)
        pattern = PatternResult(groups, pattern.method + " + heuristic repair", optimal=False,
                                iterations=pattern.iterations, note=pattern.note)
        result = audit(problem, groups)
    return pattern, result
