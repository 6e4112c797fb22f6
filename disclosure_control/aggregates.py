"""Tables the safe writer builds from data that are not one row per unit and cell: tables of
aggregates computed elsewhere (counts, sums with their largest contributions) and percentiles (each
the mean of ``min_units`` unit values around its position).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .identifiers import input_problems
from .model import TableModel, grid_model
from .output import format_number, percent_text
from .rules import DisclosureRules
from .tables import (CellStatistics, Dimension, TableGrid, UnitPairs, cell_sums, default_unit_label, dimension_orders,
                     leaf_codes, table_grid, top_contributions)

def aggregated_model(rules: DisclosureRules, table: pd.DataFrame, name: str, dimensions, count_column: str,
                     value_column: str | None, statistic: str, top_columns, hierarchies, margins_included: bool,
                     unit_label: str | None, metadata: dict) -> TableModel:
    """The model of a table of aggregates computed elsewhere (see ``SafeWriter.aggregated_table``):
    a count per cell and, for a sum or mean, its value and largest contributions.

    Raises ValueError naming what in the input cannot be released."""
    dimensions = list(dimensions)
    if statistic not in ("count", "sum", "mean"):
        raise ValueError("statistic must be 'count', 'sum' or 'mean'")
    needed = dimensions + [count_column] + ([value_column] if value_column else []) + top_columns
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ValueError(f"columns not in the table: {missing}")
    reasons = input_problems(table, [], dimensions, [value_column] if value_column else [])
    if reasons:
        raise ValueError("; ".join(reasons))
    if statistic != "count" and (value_column is None or len(top_columns) < 2):
        raise ValueError("sums and means need value_column and at least two top_columns "
                         "(largest contributions) for the dominance and p%-rules")
    total = rules.total_label
    codes = leaf_codes(table, dimensions)
    is_total_row = np.zeros(len(table), dtype=bool)
    for d in dimensions:
        parents = set(map(str, (hierarchies or {}).get(d, {}).values())) | {total}
        is_total_row |= codes[d].isin(parents).to_numpy()
    if margins_included:
        leaves = codes[~is_total_row]
    else:
        if is_total_row.any():
            raise ValueError("the table has total rows; pass margins_included=True")
        leaves = codes
    grid = table_grid(leaves, dimensions, hierarchies, True, rules.total_label, dimension_orders(table, dimensions))
    shape = grid.shape
    index = [pd.Index(dim.codes).get_indexer(codes[dim.name]) for dim in grid.dimensions]
    if any((i < 0).any() for i in index):
        raise ValueError("table has codes outside the classification")
    cell = np.ravel_multi_index(tuple(index), shape)
    if len(np.unique(cell)) != len(cell):
        raise ValueError("table has duplicate rows for a cell")
    counts = table[count_column].to_numpy(dtype=float)
    value = table[value_column].to_numpy(dtype=float) if value_column else None
    tops = table[top_columns].to_numpy(dtype=float) if top_columns else np.zeros((len(table), 0))
    k = max(2, rules.dominance_n)
    if tops.shape[1] < k and statistic != "count":
        raise ValueError(f"dominance with n={rules.dominance_n} needs {rules.dominance_n} top columns")
    n_cells = grid.n_cells
    if margins_included:
        missing_cells = np.setdiff1d(np.flatnonzero(grid.is_total_cell()), cell)
        if len(missing_cells):
            raise ValueError(f"margins_included=True but {len(missing_cells)} total cells are missing")
        n_units = np.zeros(n_cells)
        n_units[cell] = counts
        sums = np.zeros(n_cells)
        top = np.zeros((n_cells, k))
        if value is not None:
            sums[cell] = value
            top[cell, :min(k, tops.shape[1])] = tops[:, :k]
    else:
        # Margins from the cells: spread each leaf row to its ancestors.
        pseudo = pd.DataFrame({d: codes[d].to_numpy() for d in dimensions})
        pseudo["_row"] = np.arange(len(table))
        pseudo["_n"] = counts
        pseudo["_v"] = value if value is not None else 0.0
        from .tables import spread_contributions
        spread = spread_contributions(pseudo, grid, leaves, "_row", ["_n", "_v"])
        row_of = np.asarray(spread.attrs["unit_ids"])[spread["unit"].to_numpy()]
        n_units = np.bincount(spread["cell"], weights=spread["_n"], minlength=n_cells)
        sums = cell_sums(spread["cell"].to_numpy(), spread["_v"].to_numpy(), n_cells)
        top = np.zeros((n_cells, k))
        if tops.shape[1]:
            # Largest contributions of a margin are the largest among its cells'.
            rep_cell = np.repeat(spread["cell"].to_numpy(), tops.shape[1])
            rep_value = tops[row_of].reshape(-1)
            top = top_contributions(rep_cell, rep_value, n_cells, k)
    if (n_units < 0).any() or not np.all(n_units == np.round(n_units)):
        raise ValueError(f"{count_column!r} must hold whole, non-negative unit counts")
    stats = CellStatistics(n_units={count_column: n_units.astype(np.int64)})
    values = []
    if value_column:
        values = [value_column]
        stats.sums[value_column] = sums
        stats.top[value_column] = top
        stats.n_negative[value_column] = (top < 0).any(axis=1).astype(np.int64)
    model_statistic = "count" if statistic == "count" else statistic
    model = grid_model(name, str(metadata.get("population", "")), grid, stats, rules, [count_column],
                       [unit_label], values, model_statistic, True)
    model.notes.append("Released from an aggregated table with per-cell unit counts"
                       + (" and largest contributions." if top_columns else "."))
    if not margins_included:
        model.notes.append("Margins were computed from the cells (each unit in one category).")
    return model


def percentile_model(rules: DisclosureRules, data: pd.DataFrame, name: str, unit: str, value: str, percentiles,
                     dimensions, hierarchies, margins, metadata: dict,
                     unit_label: str | None) -> tuple[TableModel, tuple | None]:
    """The model of a table of percentiles (see ``SafeWriter.percentiles``) and, where the rules ask
    for the differencing check, the units of its cells.

    Raises ValueError naming what in the input cannot be released."""
    reasons = input_problems(data, [unit], dimensions, [value])
    if reasons:
        raise ValueError("; ".join(reasons))
    label = unit_label or default_unit_label(unit, 0)
    frame = data[[unit, value] + dimensions].copy()
    if not dimensions:
        frame["_all"] = rules.total_label + "_"
        dims = ["_all"]
        grid = TableGrid.build([Dimension.build("_all", [rules.total_label + "_"], None,
                                                rules.total_label, False)])
    else:
        dims = dimensions
    codes = leaf_codes(frame, dims)
    if dimensions:
        grid = table_grid(codes, dims, hierarchies, margins, rules.total_label, dimension_orders(data, dimensions))
    from .tables import spread_contributions
    spread = spread_contributions(frame, grid, codes, unit, [value])
    n_cells = grid.n_cells
    cell = spread["cell"].to_numpy()
    amounts = spread[value].to_numpy()
    order = np.lexsort((amounts, cell))
    cell, amounts = cell[order], amounts[order]
    counts = np.bincount(cell, minlength=n_cells)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    cumulative = np.concatenate([[0.0], np.cumsum(amounts)])
    m = rules.min_units
    derived, failed = {}, np.zeros(n_cells, dtype=bool)
    for q in percentiles:
        # Mean of the m values centred on the position q*(N-1), inside the cell.
        centre = np.floor(q * (counts - 1) + 0.5).astype(np.int64)
        first = np.clip(centre - m // 2, 0, np.maximum(counts - m, 0))
        window_sum = cumulative[start + first + np.minimum(m, counts)] - cumulative[start + first]
        with np.errstate(divide="ignore", invalid="ignore"):
            window_mean = np.where(counts >= m, window_sum / m, np.nan)
        # The window itself must not be dominated by its two largest values.
        last = start + first + np.minimum(m, counts) - 1
        largest_two = np.where(counts >= 2, amounts[np.clip(last, 0, None)] + amounts[np.clip(last - 1, 0, None)], 0.0)
        dominated = (counts >= m) & (window_sum > 0) & (largest_two > rules.dominance_k * window_sum)
        text = format_number(np.nan_to_num(window_mean), rules.magnitude_decimals)
        text = np.where(dominated, rules.suppressed_symbol, text)
        failed |= dominated
        derived[f"p{percent_text(q).rstrip('%')}_{value}"] = text
    stats = CellStatistics(n_units={unit: counts})
    rules_no_group = DisclosureRules(**{**rules.as_dict(), "flag_full_cells": False})
    model = grid_model(name, f"{metadata.get('population', '')}", grid, stats, rules_no_group, [unit], [label],
                       [], "count", True)
    if not dimensions:
        model.labels = pd.DataFrame(index=np.arange(1))
        model.label_columns = []
        model.key_codes = pd.DataFrame(index=np.arange(1))
    model.derived = derived
    model.notes.append(f"Each percentile is the mean of the {m} values around its position in the cell, "
                       "never one unit's value.")
    kept = UnitPairs(spread["cell"].to_numpy(dtype=np.int64), spread["unit"].to_numpy(dtype=np.int64),
                     np.asarray(spread.attrs["unit_ids"]))
    return model, ((label, kept) if rules.differencing_check else None)

# ------------------------------------------------------------- releasing
