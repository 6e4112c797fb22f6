"""Network (flow) form of tables whose relations are a network matrix.

A 2-D table with margins is a transportation problem: with one node per
relation (row relations and column relations), every cell appears in exactly
two relations with coefficients +1/-1, and after flipping the sign of some
relations every cell has one +1 (the node it leaves) and one -1 (the node it
enters).  The deviations ``z = x - a`` that keep all relations are then exactly
the circulations of that directed graph.  A 1-D table (cells in one relation)
and a 1-D hierarchy (a subtotal is a cell of its parent's relation and the
total of its own) are networks too; a cell in a single relation is an arc to
a ground node, whose balance is implied by the others.  3-D tables,
hierarchies in two dimensions and inequality relations are not, and use the
general LPs; linked tables protected together are a network when their
relations together still are one (e.g. counts by type and mean costs by type).

On a network the attacker's LPs are maximum flows: cell ``k`` (arc tail->head,
``lo_k <= z_k <= hi_k``) can rise by ``min(hi_k, maxflow(head -> tail))`` and
fall by ``min(-lo_k, maxflow(tail -> head))`` in the graph of the other
suppressed cells, where each cell gives an arc tail->head of capacity ``hi``
and an arc head->tail of capacity ``-lo``.  The flow found is a feasible
deviation (a certificate); the residual capacity of the final cut bounds the
maximum from above, so both directions of every decision are proven.

Everything is dense over nodes (one node per relation), which is small for
the tables this is used on; parallel cells (the same pair of nodes) get an
auxiliary node so that every node pair carries at most one cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import (
    breadth_first_order,
    connected_components,
    dijkstra,
    maximum_flow,
)

# Largest number of nodes for the dense network form (a few n^2 float
# matrices; larger tables use the LPs).
MAX_NODES = 1500
# Largest number of arc copies in one batched flow problem.
_BATCH_ARCS = 2_000_000


@dataclass
class Network:
    """Cells as arcs ``tail -> head`` between relation nodes.

    ``free`` holds pairs of nodes joined by an arc of unlimited capacity in
    both directions (an auxiliary node splitting parallel cells).
    """

    n_nodes: int
    tail: np.ndarray
    head: np.ndarray
    free: np.ndarray  # shape (k, 2)


def network_of(equalities: sp.spmatrix) -> Network | None:
    """The network form of ``E z = 0`` (columns = cells), or None if ``E`` is
    not a network matrix (after flipping the sign of whole relations)."""
    matrix = sp.csc_matrix(equalities)
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    n_rows, n_cols = matrix.shape
    if matrix.nnz and not np.all(np.abs(matrix.data) == 1.0):
        return None
    counts = np.diff(matrix.indptr)
    if np.any(counts > 2):
        return None
    rows = matrix.indices
    signs = matrix.data
    starts = matrix.indptr[:-1]
    two = np.flatnonzero(counts == 2)
    one = np.flatnonzero(counts == 1)
    none = np.flatnonzero(counts == 0)
    r1, r2 = rows[starts[two]], rows[starts[two] + 1]
    s1, s2 = signs[starts[two]], signs[starts[two] + 1]
    # flip[r1] * flip[r2] must equal -s1*s2: equal signs need opposite flips.
    # Doubled graph: node r is (r, no flip), node r + n_rows is (r, flipped).
    same = s1 != s2
    ends = np.concatenate([np.where(same, r2, r2 + n_rows), np.where(same, r2 + n_rows, r2)])
    starts_ = np.concatenate([r1, r1 + n_rows])
    doubled = sp.csr_matrix((np.ones(2 * len(two)), (starts_, ends)), shape=(2 * n_rows, 2 * n_rows))
    _, label = connected_components(doubled, directed=False)
    plain, flipped = label[:n_rows], label[n_rows:]
    if np.any(plain == flipped):
        return None
    flip = np.where(plain < flipped, 1.0, -1.0)
    ground = n_rows
    tail = np.empty(n_cols, dtype=np.int64)
    head = np.empty(n_cols, dtype=np.int64)
    t1 = flip[r1] * s1 > 0
    tail[two] = np.where(t1, r1, r2)
    head[two] = np.where(t1, r2, r1)
    r = rows[starts[one]]
    out = flip[r] * signs[starts[one]] > 0
    tail[one] = np.where(out, r, ground)
    head[one] = np.where(out, ground, r)
    n_nodes = n_rows + 1
    # A cell in no relation: a loop on its own node (it moves within its bounds).
    tail[none] = head[none] = n_nodes + np.arange(len(none))
    n_nodes += len(none)
    # Parallel cells: every unordered node pair may carry one cell only.
    low, high = np.minimum(tail, head), np.maximum(tail, head)
    key = low * (n_nodes + 1) + high
    loop = tail == head
    order = np.lexsort((np.arange(n_cols), key))
    repeated = np.zeros(n_cols, dtype=bool)
    repeated[order[1:]] = key[order[1:]] == key[order[:-1]]
    repeated &= ~loop
    extra = np.flatnonzero(repeated)
    aux = n_nodes + np.arange(len(extra))
    free = np.column_stack([aux, head[extra]]) if len(extra) else np.zeros((0, 2), dtype=np.int64)
    head[extra] = aux
    n_nodes += len(extra)
    if n_nodes > MAX_NODES:
        return None
    return Network(n_nodes=int(n_nodes), tail=tail, head=head, free=free)


class FlowGraph:
    """Dense residual capacities of a network with a set of usable cells."""

    def __init__(self, network: Network, forward: np.ndarray, backward: np.ndarray):
        """forward/backward: per cell, room above (``hi``) and below (``-lo``)."""
        self.network = network
        self.forward = np.asarray(forward, dtype=float)
        self.backward = np.asarray(backward, dtype=float)
        n = network.n_nodes
        self.capacity = np.zeros((n, n))
        if len(network.free):
            self.capacity[network.free[:, 0], network.free[:, 1]] = np.inf
            self.capacity[network.free[:, 1], network.free[:, 0]] = np.inf
        finite = np.concatenate([self.forward, self.backward])
        finite = finite[np.isfinite(finite)]
        self.eps = 1e-12 * (1.0 + (np.abs(finite).max() if len(finite) else 0.0))
        self.active = np.zeros(len(self.forward), dtype=bool)
        self._search = None

    def search(self) -> "_Search":
        """Reachability over the arcs of every cell (inactive ones have no room)."""
        if self._search is None:
            net = self.network
            proper = net.tail != net.head
            t, h = net.tail[proper], net.head[proper]
            rows = np.concatenate([t, h, net.free[:, 0], net.free[:, 1]])
            cols = np.concatenate([h, t, net.free[:, 1], net.free[:, 0]])
            self._search = _Search(rows, cols, net.n_nodes)
        return self._search

    def set_active(self, cells: np.ndarray, active: bool = True) -> None:
        cells = np.asarray(cells, dtype=np.int64)
        cells = cells[self.network.tail[cells] != self.network.head[cells]]
        self.active[cells] = active
        t, h = self.network.tail[cells], self.network.head[cells]
        self.capacity[t, h] = self.forward[cells] if active else 0.0
        self.capacity[h, t] = self.backward[cells] if active else 0.0

    def reach(self, cell: int, sign: int, limit: float = np.inf, enough: float = -np.inf) -> "Flow":
        """Largest move of ``cell`` up (sign +1) or down (-1), with the others
        active cells free; stops early once ``limit`` is reached, or with no
        flow at all once a cut shows that ``enough`` cannot be reached."""
        t, h = int(self.network.tail[cell]), int(self.network.head[cell])
        own = self.forward[cell] if sign > 0 else self.backward[cell]
        limit = min(limit, own)
        if t == h:
            return Flow(float(limit), 0.0, None, None)
        source, sink = (h, t) if sign > 0 else (t, h)
        saved = self.capacity[t, h], self.capacity[h, t]
        self.capacity[t, h] = self.capacity[h, t] = 0.0
        try:
            flow = max_flow(self.capacity, source, sink, limit, self.eps, search=self.search(), enough=enough)
        finally:
            self.capacity[t, h], self.capacity[h, t] = saved
        return flow

    def deviation(self, flow: "Flow", cell: int, sign: int) -> np.ndarray | None:
        """The deviation vector (per cell of the network) of a flow found by :meth:`reach`."""
        if flow.pushed is None:
            return None
        net = self.network
        z = flow.pushed[net.tail, net.head].copy()
        z[net.tail == net.head] = 0.0
        z[cell] = sign * flow.value
        return z

    def reach_many(self, cells: np.ndarray, signs: np.ndarray, limits: np.ndarray | None = None,
                   enough: np.ndarray | None = None, supports: bool = False, exclude: list | None = None,
                   batch: int = 256, rounds: int = 5):
        """:meth:`reach` for many cells at once: (values, gaps[, supports]).

        ``values`` are moves achieved by feasible flows; the maximum is at most
        ``value + gap``.  One copy of the graph per request (without the
        requested cell) goes into one integer maximum-flow problem, with a
        super-source and super-sink; each copy gets its own power-of-two scale.
        A request stops refining once its value reaches ``enough``.  With
        ``supports`` also, per request, the cells its flow moves (with the
        requested cell these cells alone allow the move found).  ``exclude``
        (per request, cells) leaves further active cells out of that request's
        copy, as if they were published.
        """
        net = self.network
        cells = np.asarray(cells, dtype=np.int64)
        signs = np.asarray(signs)
        own = np.where(signs > 0, self.forward[cells], self.backward[cells])
        limit = own if limits is None else np.minimum(np.asarray(limits, dtype=float), own)
        values = np.zeros(len(cells))
        gaps = np.zeros(len(cells))
        enough = np.full(len(cells), np.inf) if enough is None else np.asarray(enough, dtype=float)
        used = [np.zeros(0, dtype=np.int64) for _ in range(len(cells))] if supports else None
        loop = net.tail[cells] == net.head[cells]
        values[loop] = limit[loop]
        todo = np.flatnonzero(~loop & (limit > 0))
        arcs = int(self.active.sum()) + len(net.free) + 1
        batch = max(1, min(batch, _BATCH_ARCS // arcs))
        for start in range(0, len(todo), batch):  # batches of requests, each one max-flow solve
            chosen = todo[start:start + batch]
            left_out = None if exclude is None else [exclude[k] for k in chosen]
            out = self._batch(cells[chosen], signs[chosen], limit[chosen], rounds, enough[chosen], supports,
                              left_out)
            values[chosen], gaps[chosen] = out[0], out[1]
            if supports:
                for position, support in zip(chosen, out[2]):
                    used[position] = support
        return (values, gaps, used) if supports else (values, gaps)

    def _batch(self, cells, signs, limit, rounds, enough, supports, exclude=None):
        net = self.network
        n = net.n_nodes
        copies = len(cells)
        active = np.flatnonzero(self.active & (net.tail != net.head))
        pair_u = np.concatenate([net.tail[active], net.free[:, 0]])
        pair_v = np.concatenate([net.head[active], net.free[:, 1]])
        pair_plus = np.concatenate([self.forward[active], np.full(len(net.free), np.inf)])
        pair_minus = np.concatenate([self.backward[active], np.full(len(net.free), np.inf)])
        pair_cell = np.concatenate([active, np.full(len(net.free), -1)])
        copy = np.repeat(np.arange(copies), len(pair_u))
        pair = np.tile(np.arange(len(pair_u)), copies)
        keep = pair_cell[pair] != cells[copy]
        if exclude is not None:
            total = len(self.forward) + 1
            excluded = np.concatenate([k * total + np.asarray(e, dtype=np.int64) for k, e in enumerate(exclude)]
                                      + [np.zeros(0, dtype=np.int64)])
            keep &= ~np.isin(copy * total + pair_cell[pair], excluded)
        copy, pair = copy[keep], pair[keep]
        u = pair_u[pair] + copy * n
        v = pair_v[pair] + copy * n
        plus, minus = pair_plus[pair], pair_minus[pair]
        base = np.arange(copies) * n
        source = np.where(signs > 0, net.head[cells], net.tail[cells]) + base
        sink = np.where(signs > 0, net.tail[cells], net.head[cells]) + base
        super_source, super_sink, size = copies * n, copies * n + 1, copies * n + 2

        # A path of unlimited arcs: the move is unbounded (or reaches any limit).
        endless_plus, endless_minus = np.isinf(plus), np.isinf(minus)
        endless_rows = np.concatenate([u[endless_plus], v[endless_minus], np.full(copies, super_source)])
        endless_cols = np.concatenate([v[endless_plus], u[endless_minus], source])
        reached, predecessor = _reached(size, super_source, endless_rows, endless_cols, predecessors=True)
        unbounded = reached[sink]
        values = np.where(unbounded, limit, 0.0)

        # Otherwise the flow is finite and at most the sum of the finite
        # capacities, the capacity out of the source and into the sink.
        finite_sum = np.bincount(copy, weights=np.where(endless_plus, 0.0, plus) + np.where(endless_minus, 0.0, minus),
                                 minlength=copies)
        at_source = np.bincount(copy, weights=np.where(u == source[copy], plus, 0.0)
                                + np.where(v == source[copy], minus, 0.0), minlength=copies)
        at_sink = np.bincount(copy, weights=np.where(v == sink[copy], plus, 0.0)
                              + np.where(u == sink[copy], minus, 0.0), minlength=copies)
        gap = np.minimum.reduce([limit, finite_sum, at_source, at_sink])
        gap[unbounded] = 0.0
        tolerance = 1e-12 * (1.0 + gap)
        x = np.zeros(len(pair))
        for _ in range(rounds):
            open_ = (gap > tolerance) & (values < enough)
            if not open_.any():
                break
            budget = 2.0 ** np.floor(np.log2(2.0 ** 30 / open_.sum()))
            scale = np.ones(copies)
            scale[open_] = 2.0 ** np.floor(np.log2(budget / gap[open_]))
            inside = open_[copy]
            cap = gap[copy[inside]]
            multiplier = scale[copy[inside]]
            room_up = np.floor(np.clip(np.minimum(plus[inside] - x[inside], cap), 0.0, None) * multiplier)
            room_down = np.floor(np.clip(np.minimum(minus[inside] + x[inside], cap), 0.0, None) * multiplier)
            ends = np.floor(gap[open_] * scale[open_])
            ui, vi = u[inside], v[inside]
            rows = np.concatenate([ui, vi, np.full(open_.sum(), super_source), sink[open_]])
            cols = np.concatenate([vi, ui, source[open_], np.full(open_.sum(), super_sink)])
            data = np.concatenate([room_up, room_down, ends, ends]).astype(np.int32)
            graph = sp.csr_matrix((data, (rows, cols)), shape=(size, size))
            result = maximum_flow(graph, super_source, super_sink)
            flow = getattr(result, "flow", None)
            if flow is None:  # scipy < 1.8 called it residual
                flow = result.residual
            lookup = _Lookup(flow.tocsr(), size)
            moved = lookup(ui, vi)
            x[inside] += moved / multiplier
            delivered = lookup(np.full(open_.sum(), super_source), source[open_])
            step = np.zeros(copies)
            step[open_] = delivered / scale[open_]
            values += step
            if not (open_ & (values < enough)).any():
                gap = np.where(open_, np.clip(gap - step, 0.0, None), gap)
                break
            # The cut left in the integer network bounds what is still missing.
            left = np.concatenate([room_up - moved, room_down + moved, ends - delivered])
            reach = _reached(size, super_source,
                             np.concatenate([ui, vi, np.full(open_.sum(), super_source)])[left > 0],
                             np.concatenate([vi, ui, source[open_]])[left > 0])
            forward_room = np.clip(np.minimum(plus[inside] - x[inside], cap), 0.0, None)
            backward_room = np.clip(np.minimum(minus[inside] + x[inside], cap), 0.0, None)
            crossing = (np.where(reach[ui] & ~reach[vi], forward_room, 0.0)
                        + np.where(reach[vi] & ~reach[ui], backward_room, 0.0))
            cut = np.bincount(copy[inside], weights=crossing, minlength=copies)
            valid = open_ & reach[source] & ~reach[sink]
            new_gap = gap - step
            new_gap[valid] = np.minimum(new_gap[valid], cut[valid])
            gap = np.where(open_, np.clip(new_gap, 0.0, None), gap)
        support = None
        if supports:
            endless_cells = np.concatenate([pair_cell[pair[endless_plus]], pair_cell[pair[endless_minus]],
                                            np.full(copies, -1)])
            step_key = endless_rows.astype(np.int64) * size + endless_cols
            key_order = np.argsort(step_key, kind="stable")
            moved = np.abs(x) > 0.0
            owner = pair_cell[pair[moved]]
            which = copy[moved]
            keep = owner >= 0
            owner, which = owner[keep], which[keep]
            order = np.argsort(which, kind="stable")
            bounds = np.searchsorted(which[order], np.arange(copies + 1))
            support = [owner[order][bounds[k]:bounds[k + 1]] for k in range(copies)]
            for k in np.flatnonzero(unbounded):  # the path of unlimited arcs of each such request
                nodes = [int(sink[k])]
                while nodes[-1] != source[k]:
                    nodes.append(int(predecessor[nodes[-1]]))
                nodes = np.array(nodes[::-1], dtype=np.int64)
                where = key_order[np.searchsorted(step_key[key_order], nodes[:-1] * size + nodes[1:])]
                path_cells = endless_cells[where]
                support[k] = path_cells[path_cells >= 0]
        return values, gap, support


class _Lookup:
    """Values of a CSR matrix at given (row, col) positions (0 where absent)."""

    def __init__(self, matrix: sp.csr_matrix, size: int):
        matrix.sort_indices()
        rows = np.repeat(np.arange(size, dtype=np.int64), np.diff(matrix.indptr))
        self.keys = rows * size + matrix.indices
        self.data = np.asarray(matrix.data, dtype=float)
        self.size = size

    def __call__(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        keys = rows.astype(np.int64) * self.size + cols
        where = np.searchsorted(self.keys, keys)
        where = np.minimum(where, len(self.keys) - 1)
        found = self.keys[where] == keys
        return np.where(found, self.data[where], 0.0)


def _reached(size: int, source: int, rows: np.ndarray, cols: np.ndarray, predecessors: bool = False):
    graph = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size))
    order, predecessor = breadth_first_order(graph, source, directed=True, return_predecessors=True)
    reached = np.zeros(size, dtype=bool)
    reached[order] = True
    return (reached, predecessor) if predecessors else reached


@dataclass
class Flow:
    value: float          # flow pushed (a feasible deviation moves the cell this far)
    cut_slack: float      # below ``limit``, the maximum is at most value + cut_slack
    pushed: np.ndarray | None  # net flow per node pair (antisymmetric), None when unbounded
    reachable: np.ndarray | None  # source side of the final cut (None when stopped early)


# Up to this many nodes a breadth-first search in numpy on the dense matrix
# is cheaper than a call into scipy.sparse.csgraph.
_DENSE_SEARCH_NODES = 48


def _dense_parents(capacity: np.ndarray, source: int, threshold: float) -> np.ndarray:
    n = capacity.shape[0]
    parent = np.full(n, -1, dtype=np.int64)
    parent[source] = source
    frontier = np.array([source])
    while len(frontier):  # one step per level of the search
        room = capacity[frontier] > threshold
        room &= parent < 0
        new = np.flatnonzero(room.any(axis=0))
        if not len(new):
            break
        parent[new] = frontier[np.argmax(room[:, new], axis=0)]
        frontier = new
    return parent


class _Search:
    """Breadth-first reachability through arcs with room, on a fixed arc set.

    The arcs (every node pair with capacity in either direction) become one
    CSR structure; a search only rewrites its data: 0 for an arc with room,
    1 for one without, and a shortest-path search limited to distance 0.5
    reaches exactly the nodes joined to the source by arcs with room.
    """

    def __init__(self, rows: np.ndarray, cols: np.ndarray, n: int):
        order = np.lexsort((cols, rows))
        rows, cols = rows[order], cols[order]
        self.rows, self.cols, self.n = rows, cols, n
        indptr = np.searchsorted(rows, np.arange(n + 1))
        self.graph = sp.csr_matrix((np.zeros(len(rows)), cols, indptr), shape=(n, n))

    @classmethod
    def of_matrix(cls, capacity: np.ndarray) -> "_Search":
        rows, cols = np.nonzero((capacity != 0) | (capacity.T != 0))
        return cls(rows, cols, capacity.shape[0])

    def parents(self, residual: np.ndarray, source: int, threshold: float) -> np.ndarray:
        """Parent of every node reached from ``source`` (-1: not reached)."""
        if self.n <= _DENSE_SEARCH_NODES:
            return _dense_parents(residual, source, threshold)
        self.graph.data = (residual[self.rows, self.cols] <= threshold).astype(float)
        distance, predecessor = dijkstra(self.graph, indices=source, return_predecessors=True, limit=0.5)
        parent = np.where(np.isfinite(distance) & (predecessor >= 0), predecessor, -1).astype(np.int64)
        parent[source] = source
        return parent


def _scaled_dinic(capacity: np.ndarray, source: int, sink: int, bound: float):
    """scipy's integer Dinic on ``min(capacity, bound)`` scaled by a power of two
    and rounded down: returns the flow (float, antisymmetric) and the source
    side of the cut it saturates in the integer network.  Capping at ``bound``
    keeps the maximum when the maximum is at most ``bound``; the scale keeps
    every integer at most 2**29."""
    scale = 2.0 ** np.floor(np.log2(2.0 ** 29 / bound))
    scaled = np.floor(np.clip(np.minimum(capacity, bound), 0.0, None) * scale)
    graph = sp.csr_matrix(scaled.astype(np.int32))
    flow = maximum_flow(graph, source, sink).flow.toarray().astype(float)
    left = scaled - flow
    reachable = _Search.of_matrix(left).parents(left, source, 0.5) >= 0
    return flow / scale, reachable


_FAT_RANGE = 64.0


def _augment(residual: np.ndarray, pushed: np.ndarray, parent: np.ndarray, source: int, sink: int,
             most: float) -> float:
    """Push along the path to ``sink`` in ``parent`` (at most ``most``); returns the amount."""
    path = [sink]
    while path[-1] != source:
        path.append(int(parent[path[-1]]))
    heads = np.array(path[:-1])
    tails = np.array(path[1:])
    amount = min(float(residual[tails, heads].min()), most)
    residual[tails, heads] -= amount
    residual[heads, tails] += amount
    pushed[tails, heads] += amount
    pushed[heads, tails] -= amount
    return amount


def max_flow(capacity: np.ndarray, source: int, sink: int, limit: float = np.inf, eps: float = 0.0,
             paths: int = 8, rounds: int = 5, search: "_Search | None" = None, enough: float = -np.inf) -> Flow:
    """Maximum flow on a dense capacity matrix (not modified), up to ``limit``.

    A path of unlimited arcs means an unbounded flow (``limit`` is pushed along
    it when finite).  Otherwise augmenting paths with room for a large part
    of what is missing (fat paths), then up to ``paths`` shortest augmenting
    paths (Edmonds-Karp; together enough for most moves), then rounds of scipy's
    integer Dinic on scaled capacities: after each round the residual
    capacity of the cut saturated in the integer network bounds the flow
    still missing (``cut_slack``), and the next round is scaled to it.
    """
    if search is None:
        search = _Search.of_matrix(capacity)
    infinite = np.isinf(capacity)
    if infinite.any():
        parent = search.parents(infinite.astype(float), source, 0.5)
        if parent[sink] >= 0:
            if not np.isfinite(limit):
                return Flow(np.inf, 0.0, None, None)
            pushed = np.zeros_like(capacity)
            path = [sink]
            while path[-1] != source:
                path.append(int(parent[path[-1]]))
            pushed[path[1:], path[:-1]] = limit
            pushed[path[:-1], path[1:]] = -limit
            return Flow(float(limit), 0.0, pushed, None)
    # A trivial cut: everything leaving the source or entering the sink.
    bound = min(limit, float(capacity[source].sum()), float(capacity[:, sink].sum()))
    if bound < enough:
        return Flow(0.0, bound, np.zeros_like(capacity), None)
    residual = capacity.copy()
    pushed = np.zeros_like(residual)
    total = 0.0
    # Fat paths first: only arcs with room for a large part of what is
    # missing (the threshold falls by 4 when no such path is left), so a
    # move that one path can carry takes one search.
    threshold = bound
    for _ in range(2 * paths):
        if total >= bound or threshold <= max(eps, (bound - total) / _FAT_RANGE):
            break
        parent = search.parents(residual, source, max(threshold, eps))
        if parent[sink] < 0:
            threshold /= 4.0
            continue
        total += _augment(residual, pushed, parent, source, sink, limit - total)
        threshold = min(threshold, bound - total)
    for _ in range(paths):
        if total >= bound:
            return Flow(total, 0.0, pushed, None)
        parent = search.parents(residual, source, eps)
        if parent[sink] < 0:
            reachable = parent >= 0
            slack = residual[np.ix_(reachable, ~reachable)]
            return Flow(total, float(slack.sum()), pushed, reachable)
        total += _augment(residual, pushed, parent, source, sink, limit - total)
    if total >= bound:
        return Flow(total, 0.0, pushed, None)
    # No path of unlimited arcs: the cut around the nodes reached through them
    # has finite capacity, so what is missing is at most the finite residual.
    finite = np.isfinite(residual)
    gap = min(float(residual[finite].sum()), float(residual[source].sum()),
              float(residual[:, sink].sum()), limit - total)
    reachable = None
    for _ in range(rounds):
        if gap <= 1e-12 * (1.0 + total + gap):
            break
        flow, reachable = _scaled_dinic(residual, source, sink, gap)
        pushed += flow
        step = float(flow[source].sum())
        total += step
        # The flow still missing is at most the residual of the cut saturated
        # in the integer network, arcs capped at the previous gap.
        residual = capacity - pushed
        capped = np.clip(np.minimum(residual, gap), 0.0, None)
        gap = min(gap - step, float(capped[np.ix_(reachable, ~reachable)].sum()) if reachable[source]
                  and not reachable[sink] else np.inf)
        gap = max(gap, 0.0)
        if total >= limit:
            break
    if total >= limit:
        pushed *= limit / total
        return Flow(float(limit), 0.0, pushed, None)
    return Flow(total, gap, pushed, reachable)


class _PathSearch:
    """Cheapest paths over the arcs of every cell (forwards and backwards) and
    the free arcs, in one CSR structure whose weights are rewritten per search
    (``inf`` = arc not usable)."""

    def __init__(self, network: Network):
        proper = np.flatnonzero(network.tail != network.head)
        f = network.free
        rows = np.concatenate([network.tail[proper], network.head[proper], f[:, 0], f[:, 1]])
        cols = np.concatenate([network.head[proper], network.tail[proper], f[:, 1], f[:, 0]])
        cells = np.concatenate([proper, proper, np.full(2 * len(f), -1)])
        directions = np.concatenate([np.ones(len(proper), dtype=np.int64), -np.ones(len(proper), dtype=np.int64),
                                     np.zeros(2 * len(f), dtype=np.int64)])
        n = network.n_nodes
        order = np.lexsort((cols, rows))
        self.rows, self.cols = rows[order], cols[order]
        self.cells, self.directions = cells[order], directions[order]
        self.key = self.rows * n + self.cols
        self.n = n
        self.forward = np.flatnonzero(self.directions > 0)
        self.backward = np.flatnonzero(self.directions < 0)
        indptr = np.searchsorted(self.rows, np.arange(n + 1))
        # Node pairs carry one cell each, so (row, col) is unique; zero costs
        # stay explicit entries (arcs of cost 0).
        self.graph = sp.csr_matrix((np.zeros(len(rows)), self.cols, indptr), shape=(n, n))

    def cheapest(self, cost_forward: np.ndarray, cost_backward: np.ndarray, source: int, sink: int):
        weights = np.zeros(len(self.rows))
        weights[self.forward] = cost_forward[self.cells[self.forward]]
        weights[self.backward] = cost_backward[self.cells[self.backward]]
        self.graph.data = weights
        distance, predecessor = dijkstra(self.graph, indices=source, return_predecessors=True)
        if not np.isfinite(distance[sink]):
            return None
        nodes = [sink]
        while nodes[-1] != source:  # along the path found
            nodes.append(int(predecessor[nodes[-1]]))
        nodes = np.array(nodes[::-1], dtype=np.int64)
        arcs = np.searchsorted(self.key, nodes[:-1] * self.n + nodes[1:])
        keep = self.cells[arcs] >= 0
        return np.column_stack([self.cells[arcs][keep], self.directions[arcs][keep]])


def cheapest_path(network: Network, cost_forward: np.ndarray, cost_backward: np.ndarray,
                  source: int, sink: int, search: _PathSearch | None = None) -> np.ndarray | None:
    """Cells of the cheapest path from ``source`` to ``sink``: a cell can be
    used forwards (tail->head) at ``cost_forward`` and backwards at
    ``cost_backward`` (``inf`` = not usable).

    Returns an array of (cell, direction) rows, or None without a path.
    """
    if search is None:
        search = _PathSearch(network)
    return search.cheapest(np.asarray(cost_forward, dtype=float), np.asarray(cost_backward, dtype=float),
                           source, sink)
