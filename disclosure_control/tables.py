"""Building a table with its margins from unit-level contributions.

A table is the full cross product of the codes of its dimensions, where each
dimension's codes are a tree: the leaves (every category of a dimension given
as a pandas Categorical, its code list, also the categories no row has; the
codes that occur in the data for a text dimension), the intermediate levels of
a hierarchy (municipality within region, domain within domain group) and the
total.  A leaf no unit falls in is a zero cell, published (or suppressed by the
zero-cell rule) like any other cell: a category left out of a table would tell
that it is empty just as well.  Every cell is computed from the true
contributions, so the unweighted number of distinct units and the largest
contributions are known for totals too (a unit present in two cells of a row
contributes once to the row total).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp


def natural_key(code: str):
    """Sort "2" before "10" and text alphabetically; deterministic for mixed codes."""
    parts = re.split(r"(\d+)", code)
    return tuple((0, int(p), p) if p.isdigit() else (1, 0, p.lower()) for p in parts if p != "") + ((2, 0, code),)


@dataclass
class Dimension:
    """One classification: its codes in publication order and the tree over them."""

    name: str
    codes: list[str]
    parent: np.ndarray            # index of each code's parent, -1 for the root/leaves without margin
    is_leaf: np.ndarray
    total_index: int | None       # index of the total code, None when the dimension has no margin
    depth: np.ndarray

    @classmethod
    def build(cls, name: str, observed: Sequence[str], hierarchy: Mapping[str, str] | None,
              total_label: str, margin: bool, order: Sequence[str] | None = None) -> "Dimension":
        """``observed``: the leaf codes (a Categorical's whole code list, see
        :func:`code_order`, or the codes that occur).  ``order``: publication
        order of the codes (e.g. the categories of a Categorical); codes not in
        it follow, sorted naturally.  A hierarchy node is placed by the first of
        its parts in that order."""
        rank = {code: i for i, code in enumerate(order or [])}
        far = len(rank)

        def sort_key(code: str):
            return (rank.get(code, far), natural_key(code))

        observed = sorted(set(observed), key=sort_key)
        if not margin:
            if hierarchy:
                raise ValueError(f"dimension {name!r}: a hierarchy needs margins (margin=False given)")
            n = len(observed)
            return cls(name, list(observed), np.full(n, -1), np.ones(n, bool), None, np.zeros(n, int))
        parent_of: dict[str, str] = {}
        for child, parent in (hierarchy or {}).items():
            child, parent = str(child), str(parent)
            if child == total_label:
                raise ValueError(f"dimension {name!r}: the total {total_label!r} cannot have a parent")
            parent_of[child] = parent
        for code in observed:
            if code == total_label:
                raise ValueError(f"dimension {name!r}: data contain the total label {total_label!r} as a code")
            parent_of.setdefault(code, total_label)
        # Hierarchy nodes that are nobody's child hang under the total.
        for parent in list(parent_of.values()):
            if parent != total_label and parent not in parent_of:
                parent_of[parent] = total_label
        children: dict[str, list[str]] = {}
        for child, parent in parent_of.items():
            children.setdefault(parent, []).append(child)
        if rank:
            # An aggregate takes the earliest rank of its parts.
            def lift(code: str, seen: frozenset = frozenset()) -> int:
                if code in rank or code in seen:
                    return rank.get(code, far)
                best = min((lift(c, seen | {code}) for c in children.get(code, [])), default=far)
                rank[code] = best
                return best
            for parent in list(children):
                lift(parent)
        for child in observed:
            if child in children:
                raise ValueError(
                    f"dimension {name!r}: data code {child!r} is an aggregate in the hierarchy; "
                    "give data at the lowest level"
                )
        # Pre-order: total first, each aggregate followed by its parts.
        codes: list[str] = []
        parent_code: list[str | None] = []
        depth: list[int] = []
        stack = [(total_label, None, 0)]
        seen = set()
        while stack:
            code, parent, level = stack.pop()
            if code in seen:
                raise ValueError(f"dimension {name!r}: hierarchy has a cycle at {code!r}")
            seen.add(code)
            codes.append(code)
            parent_code.append(parent)
            depth.append(level)
            for child in sorted(children.get(code, []), key=sort_key, reverse=True):
                stack.append((child, code, level + 1))
        index = {c: i for i, c in enumerate(codes)}
        parent_index = np.array([-1 if p is None else index[p] for p in parent_code])
        is_leaf = np.array([c not in children for c in codes])
        return cls(name, codes, parent_index, is_leaf, 0, np.array(depth))

    @property
    def size(self) -> int:
        return len(self.codes)

    def ancestors(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR arrays: for code i, its ancestors (itself first) are
        ``index[pointer[i]:pointer[i+1]]``."""
        lists = []
        for i in range(self.size):  # loops over codes of one dimension, never over rows
            chain = [i]
            while self.parent[chain[-1]] >= 0:
                chain.append(int(self.parent[chain[-1]]))
            lists.append(chain)
        pointer = np.concatenate([[0], np.cumsum([len(c) for c in lists])])
        return pointer, np.concatenate(lists).astype(np.int64)

    def child_lists(self) -> list[tuple[int, np.ndarray]]:
        out = []
        for p in range(self.size):
            kids = np.flatnonzero(self.parent == p)
            if len(kids):
                out.append((p, kids))
        return out


@dataclass
class TableGrid:
    """The cells of a table and its additive relations."""

    dimensions: list[Dimension]
    relations: sp.csr_matrix                # rows: sum(children) - total = 0
    relation_dimension: np.ndarray          # which dimension each relation runs along
    relation_total: np.ndarray              # the total cell of each relation

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(d.size for d in self.dimensions)

    @property
    def n_cells(self) -> int:
        return int(np.prod(self.shape)) if self.dimensions else 1

    @classmethod
    def build(cls, dimensions: list[Dimension]) -> "TableGrid":
        shape = tuple(d.size for d in dimensions)
        rows, cols, vals, rel_dim, rel_total = [], [], [], [], []
        row_count = 0
        for axis, dim in enumerate(dimensions):
            other_shape = shape[:axis] + shape[axis + 1:]
            others = np.indices(other_shape).reshape(len(other_shape), -1) if other_shape else np.zeros((0, 1), int)
            n_other = others.shape[1]
            for parent, kids in dim.child_lists():
                block_rows = row_count + np.arange(n_other)

                def flat(code_index):
                    full = np.insert(others, axis, code_index, axis=0) if other_shape else np.array([[code_index]])
                    return np.ravel_multi_index(tuple(full), shape)

                total_cells = flat(parent)
                rows.append(block_rows)
                cols.append(total_cells)
                vals.append(np.full(n_other, -1.0))
                for kid in kids:
                    rows.append(block_rows)
                    cols.append(flat(kid))
                    vals.append(np.ones(n_other))
                rel_dim.append(np.full(n_other, axis))
                rel_total.append(total_cells)
                row_count += n_other
        n = int(np.prod(shape))
        if row_count:
            matrix = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                                   shape=(row_count, n))
            rel_dim_arr = np.concatenate(rel_dim)
            rel_total_arr = np.concatenate(rel_total)
        else:
            matrix = sp.csr_matrix((0, n))
            rel_dim_arr = np.zeros(0, int)
            rel_total_arr = np.zeros(0, int)
        return cls(dimensions, matrix, rel_dim_arr, rel_total_arr)

    def code_frame(self) -> pd.DataFrame:
        """One row per cell with the code of every dimension, in cell order."""
        idx = np.indices(self.shape).reshape(len(self.shape), -1)
        return pd.DataFrame({d.name: np.asarray(d.codes, dtype=object)[idx[i]] for i, d in enumerate(self.dimensions)})

    def is_total_cell(self) -> np.ndarray:
        """True for cells that are a margin in at least one dimension."""
        idx = np.indices(self.shape).reshape(len(self.shape), -1)
        out = np.zeros(self.n_cells, dtype=bool)
        for i, d in enumerate(self.dimensions):
            out |= ~d.is_leaf[idx[i]]
        return out


@dataclass
class CellStatistics:
    """Per cell: distinct unit counts, value totals and the largest contributions."""

    n_units: dict[str, np.ndarray]                 # unit column -> distinct units per cell
    sums: dict[str, np.ndarray] = field(default_factory=dict)       # value column -> total
    top: dict[str, np.ndarray] = field(default_factory=dict)        # value column -> (cells, k) largest
    n_negative: dict[str, np.ndarray] = field(default_factory=dict)  # value column -> units < 0
    # value column -> units with a non-zero contribution (the units a sum or mean rests on)
    n_nonzero: dict[str, np.ndarray] = field(default_factory=dict)


def _as_text(values: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(values) and (values == np.round(values)).all():
        values = values.astype(np.int64)
    return values.astype(str)


@dataclass
class UnitPairs:
    """Which units feed which cell: one row per (cell, unit); ``unit`` codes
    index ``ids`` (the distinct unit ids).  Used by the differencing check."""

    cell: np.ndarray
    unit: np.ndarray
    ids: np.ndarray
    # value column -> each (cell, unit)'s contribution to the cell (for the export-wide audit)
    amounts: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Kept for every table of an export until the export-wide audit: nationally some 400 million
        # pairs, so cells and unit codes are stored in 32 bits where they fit (half the memory).
        self.cell = _compact_index(self.cell)
        self.unit = _compact_index(self.unit)

    @classmethod
    def from_ids(cls, cell: np.ndarray, unit_ids: np.ndarray) -> "UnitPairs":
        codes, ids = pd.factorize(np.asarray(unit_ids), sort=False)
        return cls(np.asarray(cell, dtype=np.int64), codes.astype(np.int64), np.asarray(ids))


def _compact_index(values: np.ndarray) -> np.ndarray:
    """Non-negative indexes as int32 when they fit, else int64."""
    values = np.asarray(values)
    if values.dtype == np.int32:
        return values
    if values.size and (values.min() < 0 or values.max() > np.iinfo(np.int32).max):
        return values.astype(np.int64)
    return values.astype(np.int32)


def offsets_in_runs(counts: np.ndarray) -> np.ndarray:
    """0, 1, ..., count - 1 for each run, concatenated (positions within a ``np.repeat`` by counts)."""
    counts = np.asarray(counts)
    return np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)


def leaf_codes(frame: pd.DataFrame, dimensions: Sequence[str]) -> pd.DataFrame:
    """Dimension columns as Categoricals of their text codes (one category per
    distinct text); missing values are an error (recode them).

    Only the distinct values are turned into text, never each row.
    """
    out = {}
    for name in dimensions:
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            row_code = column.cat.codes.to_numpy()
            distinct = pd.Series(column.cat.categories)
        else:
            row_code, uniques = pd.factorize(column)
            distinct = pd.Series(uniques)
        missing = int((row_code < 0).sum())
        if missing:
            raise ValueError(
                f"dimension {name!r} has {missing} missing values; "
                "recode them to an explicit category (e.g. 'onbekend') first"
            )
        # Distinct values may share a text (1 and "1", 2019 and 2019.0): one category.
        text_code, texts = pd.factorize(_as_text(distinct).to_numpy(dtype=object))
        out[name] = pd.Categorical.from_codes(text_code[row_code], categories=pd.Index(texts, dtype=object))
    return pd.DataFrame(out, index=frame.index)


def code_order(column: pd.Series) -> list[str] | None:
    """The code list of a dimension given as a pandas Categorical, in
    publication order: all its categories (as text, as :func:`leaf_codes`
    writes them), the unused ones too, in the order of the categories.  None
    for a column that is not a Categorical (its codes are those that occur).

    An unordered Categorical whose categories are merely sorted as text (what
    ``astype("category")`` makes) carries no order of its own: its categories
    are sorted naturally ("2" before "10"), like the codes of a text column.
    """
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return None
    # Distinct categories may share a text (1 and "1"): one code, where it first comes.
    categories = list(dict.fromkeys(_as_text(pd.Series(column.cat.categories)).tolist()))
    if not column.cat.ordered and categories == sorted(categories):
        return sorted(categories, key=natural_key)
    return categories


def unit_codes(ids: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..k-1 of the distinct unit ids, in the order of the ids, and those ids.

    Whole-number ids within a compact range (the usual household and person numbers) are
    coded through a table over that range, without hashing; other ids are factorized.
    Missing ids get code -1."""
    values = ids.to_numpy() if isinstance(ids, pd.Series) else np.asarray(ids)
    ranked = compact_range_ranks([values])
    if ranked is not None:
        (rank,), distinct = ranked
        return rank, distinct.astype(values.dtype)
    codes, distinct = pd.factorize(ids, sort=True)
    return codes, np.asarray(distinct)


def compact_range_ranks(arrays: Sequence[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray] | None:
    """Per array the rank of each id among the distinct ids of all ``arrays``, and those ids in
    order, for whole-number ids within a compact range (household and person numbers): through a
    table over the range, without sorting or hashing the ids.  None for any other ids."""
    if not arrays or not all(a.dtype.kind in "iu" and a.size for a in arrays):
        return None
    low = min(int(a.min()) for a in arrays)
    high = max(int(a.max()) for a in arrays)
    if high - low > 4 * max(a.size for a in arrays) + 1_000_000:
        return None
    present = np.zeros(high - low + 1, dtype=bool)
    for a in arrays:
        present[a.astype(np.int64) - low] = True
    rank = np.cumsum(present, dtype=np.int64) - 1
    return [rank[a.astype(np.int64) - low] for a in arrays], np.flatnonzero(present) + low


def _code_positions(dimension: Dimension, column: pd.Series) -> np.ndarray:
    """Index of each row's code among the dimension's codes (-1 if absent);
    a Categorical is looked up per category, not per row."""
    lookup = pd.Index(dimension.codes)
    if isinstance(column.dtype, pd.CategoricalDtype):
        row_code = column.cat.codes.to_numpy()
        return np.where(row_code >= 0, lookup.get_indexer(column.cat.categories)[row_code], -1)
    return lookup.get_indexer(column)


def spread_contributions(frame: pd.DataFrame, grid: TableGrid, dimension_codes: pd.DataFrame,
                         unit: str, value_columns: Sequence[str]) -> pd.DataFrame:
    """One row per (cell, unit) over every cell of the grid (leaves and margins).

    Contributions are first summed per (unit, leaf cell), then spread to every
    ancestor cell and summed again per (unit, cell), so a unit counts once per
    cell and its contribution to a total is its whole contribution to it.
    Columns: ``cell``, ``unit`` (integer code, see :func:`unit_codes`;
    ``attrs["unit_ids"]`` maps codes back to the ids), one per value column; grouped by
    cell (in cell order), each (cell, unit) once.
    """
    shape = grid.shape
    n_cells = grid.n_cells
    leaf_cell = np.zeros(len(frame), dtype=np.int64)
    stride = n_cells
    for dim in grid.dimensions:
        stride //= dim.size
        position = _code_positions(dim, dimension_codes[dim.name])
        if (position < 0).any():
            raise ValueError(f"dimension {dim.name!r} has codes outside its classification")
        leaf_cell += position * stride
    # The occupied leaf cells, numbered densely (a table has at most 200,000 cells: no sort needed).
    occupied = np.zeros(n_cells, dtype=bool)
    occupied[leaf_cell] = True
    unique_leaf = np.flatnonzero(occupied)
    leaf_inverse = (np.cumsum(occupied) - 1)[leaf_cell]
    leaf_multi = np.unravel_index(unique_leaf, shape)
    # Expand one axis at a time: every (leaf, partial target) pair is repeated once
    # per ancestor of the leaf's code on that axis (a small map, built once).
    leaf_owner = np.arange(len(unique_leaf))
    target_cell = np.zeros(len(unique_leaf), dtype=np.int64)
    for axis, dim in enumerate(grid.dimensions):
        pointer, ancestors = dim.ancestors()
        leaf_code_here = leaf_multi[axis][leaf_owner]
        per_row = pointer[leaf_code_here + 1] - pointer[leaf_code_here]
        ancestor_code = ancestors[np.repeat(pointer[leaf_code_here], per_row) + offsets_in_runs(per_row)]
        stride = int(np.prod(shape[axis + 1:]))
        target_cell = np.repeat(target_cell, per_row) + ancestor_code * stride
        leaf_owner = np.repeat(leaf_owner, per_row)
    order = np.argsort(leaf_owner, kind="stable")
    leaf_owner, target_cell = leaf_owner[order], target_cell[order]
    spread_pointer = np.searchsorted(leaf_owner, np.arange(len(unique_leaf) + 1))
    n_targets = np.diff(spread_pointer)

    unit_code, unit_ids = unit_codes(frame[unit])
    if (unit_code < 0).any():
        raise ValueError(f"unit column {unit!r} has missing values")
    values = []
    for v in value_columns:
        arr = pd.to_numeric(frame[v], errors="raise").to_numpy(dtype=float)
        if np.isnan(arr).any():
            raise ValueError(f"value column {v!r} has missing values; fill or drop them explicitly")
        values.append(arr)
    # The (unit, leaf) pairs in unit order, then leaf, with their summed contributions.
    if len(unit_ids) == len(frame):
        # One row per unit: the rows are the pairs.
        pair_unit, pair_leaf, pair_values = unit_code.astype(np.int64), leaf_inverse, values
    else:
        n_leaves = max(len(unique_leaf), 1)
        pair_key, inverse = np.unique(unit_code.astype(np.int64) * n_leaves + leaf_inverse, return_inverse=True)
        pair_unit = pair_key // n_leaves
        pair_leaf = pair_key - pair_unit * n_leaves
        pair_values = [np.bincount(inverse, weights=arr, minlength=len(pair_key)) for arr in values]
    if len(pair_unit) == len(unit_ids):
        cells, spread_unit, spread_values = _gather_by_cell(pair_unit, pair_leaf, pair_values, leaf_owner,
                                                            target_cell, len(unique_leaf))
    else:
        cells, spread_unit, spread_values = _sum_by_cell_and_unit(pair_unit, pair_leaf, pair_values, n_targets,
                                                                  spread_pointer, target_cell, n_cells)
    # copy=False: the columns stay the arrays just made (tens of millions of rows nationally).
    out = pd.DataFrame({"cell": cells, "unit": spread_unit, **dict(zip(value_columns, spread_values))}, copy=False)
    out.attrs["unit_ids"] = unit_ids
    return out


def _gather_by_cell(pair_unit, pair_leaf, pair_values, leaf_owner, target_cell, n_leaves):
    """Every unit in one leaf: the rows of a cell are the units of the leaves under it.

    The units are put in leaf order once; each cell is then a concatenation of runs of them,
    copied run by run (no sort of every (cell, unit) row). Within a cell: by leaf, then in
    unit order."""
    by_leaf = np.argsort(pair_leaf.astype(np.uint16 if n_leaves <= 1 << 16 else np.int64), kind="stable")
    unit_by_leaf = pair_unit[by_leaf]
    values_by_leaf = [arr[by_leaf] for arr in pair_values]
    leaf_size = np.bincount(pair_leaf, minlength=n_leaves)
    leaf_first = np.cumsum(leaf_size) - leaf_size
    # The (cell, leaf) links in cell order, then leaf order: one run of units each.
    link = np.lexsort((leaf_owner, target_cell))
    link_cell, link_leaf = target_cell[link], leaf_owner[link]
    run_size = leaf_size[link_leaf]
    run_end = np.cumsum(run_size)
    total = int(run_end[-1]) if run_end.size else 0
    source = np.repeat(leaf_first[link_leaf] - (run_end - run_size), run_size) + np.arange(total)
    return np.repeat(link_cell, run_size), unit_by_leaf[source], [arr[source] for arr in values_by_leaf]


def _sum_by_cell_and_unit(pair_unit, pair_leaf, pair_values, n_targets, spread_pointer, target_cell, n_cells):
    """Units in several leaves: every (unit, leaf) pair to each cell its leaf adds to, grouped
    by cell with a stable sort (a radix sort when the cell numbers fit in 16 bits), so the
    pairs stay in unit order within a cell and the repeats of a (cell, unit), met in their
    leaves' common ancestors, are adjacent: they are summed."""
    reps = n_targets[pair_leaf]
    row_of = np.repeat(np.arange(len(pair_leaf)), reps)
    cells = target_cell[np.repeat(spread_pointer[pair_leaf], reps) + offsets_in_runs(reps)]
    order = np.argsort(cells.astype(np.uint16 if n_cells <= 1 << 16 else np.int64), kind="stable")
    cells, row_of = cells[order], row_of[order]
    units = pair_unit[row_of]
    first = np.ones(len(cells), dtype=bool)
    first[1:] = (cells[1:] != cells[:-1]) | (units[1:] != units[:-1])
    starts = np.flatnonzero(first)
    values = [np.add.reduceat(arr[row_of], starts) if len(starts) else arr[:0] for arr in pair_values]
    return cells[starts], units[starts], values


def top_contributions(cell: np.ndarray, contribution: np.ndarray, n_cells: int, top_k: int) -> np.ndarray:
    """(n_cells, top_k) largest contributions per cell, zero-padded."""
    cell = np.asarray(cell, dtype=np.int64)
    contribution = np.asarray(contribution, dtype=float)
    top = np.zeros((n_cells, top_k))
    if not len(cell):
        return top
    if np.any(cell[1:] < cell[:-1]):
        order = np.lexsort((-contribution, cell))
        sorted_cell = cell[order]
        sorted_value = contribution[order]
        first = np.searchsorted(sorted_cell, sorted_cell, side="left")
        rank = np.arange(len(sorted_cell)) - first
        keep = rank < top_k
        top[sorted_cell[keep], rank[keep]] = sorted_value[keep]
        return top
    # Grouped by cell (as spread_contributions gives them): top_k passes of a
    # segment maximum, each taking out one occurrence of the maximum; no sort.
    starts = np.flatnonzero(np.concatenate([[True], cell[1:] != cell[:-1]]))
    owners = cell[starts]
    sizes = np.diff(np.append(starts, len(cell)))
    segment = np.repeat(np.arange(len(starts)), sizes)
    values = contribution.copy()
    for rank in range(top_k):
        largest = np.maximum.reduceat(values, starts)
        present = sizes > rank
        top[owners[present], rank] = largest[present]
        if rank + 1 < top_k:
            hit = np.flatnonzero(values == largest[segment])
            first = hit[np.concatenate([[True], segment[hit[1:]] != segment[hit[:-1]]])]
            values[first] = -np.inf
    return top


def cell_sums(cell: np.ndarray, value: np.ndarray, n_cells: int) -> np.ndarray:
    """Total of ``value`` per cell, for rows grouped by cell (as spread_contributions gives
    them): each cell's run summed pairwise, so a total of a million amounts is exact to the
    cent whatever the order of its rows (a running sum can be a cent off)."""
    sums = np.zeros(n_cells)
    if len(cell) and np.all(cell[1:] >= cell[:-1]):
        starts = np.flatnonzero(np.concatenate([[True], cell[1:] != cell[:-1]]))
        sums[cell[starts]] = np.add.reduceat(value, starts)
    elif len(cell):
        order = np.argsort(cell, kind="stable")
        return cell_sums(cell[order], value[order], n_cells)
    return sums


def cell_statistics(frame: pd.DataFrame, grid: TableGrid, dimension_codes: pd.DataFrame,
                    unit_columns: Sequence[str], value_columns: Sequence[str], top_k: int,
                    keep_units: bool = False) -> tuple[CellStatistics, UnitPairs | None]:
    """Distinct units, totals and largest contributions for every cell.

    The magnitude rules use the contributions of the first unit column (the
    unit that owns the amounts); every unit column is counted.  With
    ``keep_units`` the (cell, unit) pairs of the first unit column are returned
    too (for the differencing check).
    """
    n_cells = grid.n_cells
    stats = CellStatistics(n_units={})
    kept = None
    for position, unit in enumerate(unit_columns):
        values = list(value_columns) if position == 0 else []
        per_cell_unit = spread_contributions(frame, grid, dimension_codes, unit, values)
        cell = per_cell_unit["cell"].to_numpy()
        stats.n_units[unit] = np.bincount(cell, minlength=n_cells)
        for v in values:
            contribution = per_cell_unit[v].to_numpy()
            stats.sums[v] = cell_sums(cell, contribution, n_cells)
            stats.n_negative[v] = np.bincount(cell[contribution < 0], minlength=n_cells).astype(np.int64)
            stats.n_nonzero[v] = np.bincount(cell[contribution != 0], minlength=n_cells).astype(np.int64)
            stats.top[v] = top_contributions(cell, contribution, n_cells, top_k)
        if position == 0 and keep_units:
            ids = per_cell_unit.attrs["unit_ids"]
            kept = UnitPairs(cell, per_cell_unit["unit"].to_numpy(dtype=np.int64), np.asarray(ids),
                             {v: per_cell_unit[v].to_numpy() for v in values})
    return stats, kept


def default_unit_label(unit: str, position: int) -> str:
    """What the units of a unit column are called where the caller gives no label: households,
    persons, or units (the second and later unit columns numbered)."""
    squashed = re.sub(r"[^a-z]", "", unit.lower())
    if "huishoud" in squashed or "household" in squashed or squashed.startswith("hh"):
        return "households"
    if "persoon" in squashed or "person" in squashed or "rin" in squashed or "bsn" in squashed:
        return "persons"
    return "units" if position == 0 else f"units_{position + 1}"


def dimension_orders(data: pd.DataFrame, dimensions: Sequence[str]) -> dict[str, list[str] | None]:
    """The code list, in publication order, of every dimension given as a
    Categorical (all its categories, the unused ones too); None for a text
    dimension (its codes are those that occur)."""
    return {d: code_order(data[d]) for d in dimensions if d in data.columns}


def table_grid(codes: pd.DataFrame, dimensions, hierarchies, margins, total_label: str,
               orders: Mapping[str, Sequence[str] | None] | None = None) -> TableGrid:
    """The grid of a table.  A dimension given as a Categorical (its code
    list in ``orders``, see :func:`dimension_orders`) has every category as a leaf,
    in the order of the categories, also the categories no row has: they
    are zero cells, which the zero-cell rule protects like any other cell
    (leaving them out would tell that they are empty).  Other dimensions
    have the codes that occur, sorted naturally.  An unused category that
    is the total label or an aggregate of the dimension's hierarchy is not
    a leaf."""
    hierarchies = hierarchies or {}
    unknown = sorted(set(hierarchies) - set(dimensions))
    if unknown:
        raise ValueError(f"hierarchies given for columns that are not dimensions: {unknown}")
    with_margin = set(dimensions) if margins is True else set() if margins is False else set(margins)
    orders = orders or {}
    dims = []
    for d in dimensions:
        column = codes[d]
        if isinstance(column.dtype, pd.CategoricalDtype):
            # The categories rows use, found on the codes (a hash pass, not a sort of every row).
            used = np.sort(pd.unique(column.cat.codes.to_numpy()))
            leaves = column.cat.categories[used[used >= 0]].tolist()
        else:
            leaves = pd.unique(column).tolist()
        listed = orders.get(d)
        if listed is not None:
            not_leaves = {total_label} | {str(p) for p in (hierarchies.get(d) or {}).values()}
            present = set(leaves)
            leaves = list(dict.fromkeys([c for c in listed if c in present or c not in not_leaves] + leaves))
        dims.append(Dimension.build(d, leaves, hierarchies.get(d), total_label, d in with_margin,
                                    listed))
    # Checked before the relations are built: a code list can be long.
    n_cells = math.prod(dim.size for dim in dims)
    if n_cells > 200_000:
        sizes = ", ".join(f"{dim.name}: {dim.size}" for dim in dims)
        raise ValueError(f"table would have {n_cells} cells ({sizes} codes, margins included); split it, or "
                         "give fewer categories (at most 200000 cells per table)")
    return TableGrid.build(dims)
