"""A table as the protection sees it: positions (cells), value layers, rules.

A position is one cell of a table (a row of the published table, or a row of a
segment list).  A position carries one or more layers: the unweighted count of
units and one total per value column.  All layers of a position are suppressed
together, so a suppressed mean never sits beside a published count that would
give its sum away.

Several tables are protected as one problem when they share cells: a cell is
identified by its population, statistic and the non-total codes of its
classification, so the municipality total of two tables is one variable, and
suppressed or published alike in both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from . import primary as rules_mod
from .protection import ProtectionProblem
from .rules import DisclosureRules
from .tables import CellStatistics, TableGrid


@dataclass
class Layer:
    """One statistic over all positions of a table."""

    column: str            # published column name (or internal name when hidden)
    statistic: str         # "count" or "sum"
    source: str            # unit column (count) or value column (sum)
    values: np.ndarray
    lower_bound: np.ndarray
    upper_protection: np.ndarray
    lower_protection: np.ndarray
    display: str           # "count", "sum", "mean", "share" or "hidden"
    cost: np.ndarray       # information loss attributed to this layer per position
    share_of: np.ndarray | None = None  # denominators when displayed as a percentage


@dataclass
class TableModel:
    """Everything known about one table before and after protection."""

    name: str
    population: str
    label_columns: list[str]
    labels: pd.DataFrame               # one row per position, label columns
    key_codes: pd.DataFrame            # codes used for the linking key (totals blanked)
    relations: sp.csr_matrix           # sum(children) - total = 0, over positions
    layers: list[Layer]
    evidence: pd.DataFrame             # per position: N per unit, top shares, rules failed
    hidden: np.ndarray                 # positions never published (derivable segments)
    status: np.ndarray | None = None   # after protection: "safe", "primary", "secondary", "hidden"
    review: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    # Published text columns that follow the layers and share their suppression
    # (e.g. confidence of an association rule, a percentile).
    derived: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_positions(self) -> int:
        return len(self.labels)

    @property
    def primary(self) -> np.ndarray:
        out = np.zeros(self.n_positions, dtype=bool)
        for layer in self.layers:
            out |= (layer.upper_protection > 0) | (layer.lower_protection > 0)
        return out

    def variable_keys(self) -> list[np.ndarray]:
        """A stable text key per layer and position for linking tables."""
        if len(self.key_codes.columns):
            parts = [np.where(self.key_codes[c].isna(), "", c + "=" + self.key_codes[c].fillna("").astype(str))
                     for c in sorted(self.key_codes.columns)]
            joined = parts[0].astype(object)
            for part in parts[1:]:
                joined = joined + ";" + part
            cell_key = pd.Series(joined).str.replace(r";+", ";", regex=True).str.strip(";").to_numpy()
        else:
            cell_key = np.array([""] * self.n_positions, dtype=object)
        return [np.asarray(f"{self.population}|{layer.statistic}:{layer.source}|" + pd.Series(cell_key, dtype=object))
                for layer in self.layers]


def grid_model(name: str, population: str, grid: TableGrid, stats: CellStatistics, rules: DisclosureRules,
               unit_columns: Sequence[str], unit_labels: Sequence[str], value_columns: Sequence[str],
               statistic: str, show_counts: bool) -> TableModel:
    """Apply the primary rules to a table built from (or given as) cell statistics."""
    codes = grid.code_frame()
    key_codes = codes.copy()
    for dim in grid.dimensions:
        if dim.total_index is not None:
            key_codes.loc[key_codes[dim.name] == dim.codes[dim.total_index], dim.name] = None
    primary_unit = unit_columns[0]
    counts = stats.n_units[primary_unit].astype(float)
    n_positions = grid.n_cells
    evidence = pd.DataFrame(index=np.arange(n_positions))
    for unit, label in zip(unit_columns, unit_labels):
        evidence[f"n_{label}"] = stats.n_units[unit]
    reasons = [[] for _ in range(n_positions)]

    def note(flag: np.ndarray, reason: str) -> None:
        for i in np.flatnonzero(flag):  # loops over unsafe cells only, to label them
            if reason not in reasons[i]:
                reasons[i].append(reason)

    frequency = rules_mod.frequency_unsafe(stats.n_units, rules.min_units)
    zero = (counts == 0) & rules.flag_zero_cells
    full = rules_mod.full_cells(grid.relations, _relation_totals(grid), counts) & rules.flag_full_cells
    note(frequency, rules_mod.RULE_FREQUENCY)
    note(zero, rules_mod.RULE_ZERO)
    note(full, rules_mod.RULE_FULL)
    review = np.zeros(n_positions, dtype=bool)

    layers: list[Layer] = []
    count_in_problem = statistic == "count" or show_counts
    cost_by = rules.suppression_cost
    if count_in_problem:
        level = rules_mod.count_protection(counts, rules.protection_level)
        upl = np.where(frequency, level, 0.0)
        lpl = np.where(frequency, level, 0.0)
        upl = np.where(zero, np.maximum(upl, 1.0), upl)
        lpl = np.where(full, np.maximum(lpl, level), lpl)
        count_cost = {"value": counts, "frequency": counts, "unity": np.ones(n_positions)}[cost_by]
        layers.append(Layer(
            column=f"n_{unit_labels[0]}", statistic="count", source=primary_unit, values=counts,
            lower_bound=np.zeros(n_positions), upper_protection=upl, lower_protection=lpl,
            display="count", cost=count_cost if statistic == "count" else np.zeros(n_positions),
        ))
    for position, value in enumerate(value_columns):
        total = stats.sums[value]
        top = stats.top[value]
        negative = stats.n_negative[value] > 0
        share, dom_unsafe, dom_level = rules_mod.dominance(top, total, rules.dominance_n, rules.dominance_k)
        ratio, p_unsafe, p_level = rules_mod.p_percent(top, total, rules.p_percent)
        dom_unsafe &= ~negative
        p_unsafe &= ~negative
        evidence[f"{value}_top{rules.dominance_n}_share"] = np.round(share, 6)
        evidence[f"{value}_p_remainder_ratio"] = np.round(ratio, 6)
        evidence[f"{value}_largest"] = top[:, 0]
        evidence[f"{value}_second_largest"] = top[:, 1] if top.shape[1] > 1 else 0.0
        evidence[f"{value}_units_negative"] = stats.n_negative[value]
        note(dom_unsafe, rules_mod.RULE_DOMINANCE)
        note(p_unsafe, rules_mod.RULE_P_PERCENT)
        note(negative, rules_mod.RULE_NEGATIVE)
        review |= negative
        relative = rules.protection_level * np.abs(total)
        upl = np.zeros(n_positions)
        upl = np.where(dom_unsafe, np.maximum(upl, dom_level), upl)
        upl = np.where(p_unsafe, np.maximum(upl, p_level), upl)
        upl = np.where(frequency | negative, np.maximum(upl, relative), upl)
        lpl = upl.copy()
        if not count_in_problem:
            # Without a published count the zero and 100% rules act on the amounts.
            typical = np.abs(total[(counts > 0) & (total != 0)])
            zero_level = rules.protection_level * (typical.mean() if len(typical) else 1.0)
            upl = np.where(zero, np.maximum(upl, zero_level), upl)
            lpl = np.where(full, np.maximum(lpl, relative), lpl)
        lower = np.where(negative, -np.inf, 0.0)
        if cost_by == "value":
            cost = np.abs(total) if position == 0 else np.zeros(n_positions)
        elif position == 0 and not count_in_problem:
            cost = counts if cost_by == "frequency" else np.ones(n_positions)
        else:
            cost = np.zeros(n_positions)
        if cost_by != "value" and count_in_problem and position == 0:
            layers[0].cost = counts if cost_by == "frequency" else np.ones(n_positions)
        layers.append(Layer(
            column=f"{statistic}_{value}", statistic="sum", source=value, values=total,
            lower_bound=lower, upper_protection=upl, lower_protection=lpl,
            display=statistic, cost=cost,
        ))
    evidence["rules_failed"] = [";".join(r) for r in reasons]
    labels = codes.copy()
    model = TableModel(
        name=name, population=population, label_columns=[d.name for d in grid.dimensions], labels=labels,
        key_codes=key_codes, relations=grid.relations, layers=layers, evidence=evidence,
        hidden=np.zeros(n_positions, dtype=bool),
    )
    model.review = review
    return model


def _relation_totals(grid: TableGrid) -> np.ndarray:
    return grid.relation_total


@dataclass
class LinkedProblem:
    problem: ProtectionProblem
    # For each model: per layer the variable index of each position.
    variable_of: list[list[np.ndarray]]
    group_of_position: list[np.ndarray]
    keys: np.ndarray


def build_problem(models: Sequence[TableModel], released: Sequence[TableModel] = ()) -> LinkedProblem:
    """One protection problem over new tables and already released linked ones.

    Released tables keep their pattern (their cells are fixed published or
    suppressed); their relations and primary cells stay in the problem so a new
    table cannot undo their protection.
    """
    everything = list(released) + list(models)
    keys_all, values_all, lower_all, upl_all, lpl_all, cost_all = [], [], [], [], [], []
    position_owner = []          # (model index, position) per variable occurrence
    for m_index, model in enumerate(everything):
        for layer, keys in zip(model.layers, model.variable_keys()):
            keys_all.append(keys)
            values_all.append(layer.values)
            lower_all.append(layer.lower_bound)
            upl_all.append(layer.upper_protection)
            lpl_all.append(layer.lower_protection)
            cost_all.append(layer.cost)
            position_owner.append(np.full(model.n_positions, m_index))
    keys_flat = np.concatenate(keys_all)
    values = np.concatenate(values_all)
    unique_keys, variable = np.unique(keys_flat, return_inverse=True)
    n_vars = len(unique_keys)
    # Shared cells must have the same value in every table.
    var_min = np.full(n_vars, np.inf)
    var_max = np.full(n_vars, -np.inf)
    np.minimum.at(var_min, variable, values)
    np.maximum.at(var_max, variable, values)
    mismatch = np.flatnonzero(var_max - var_min > 1e-6 * (1 + np.abs(var_max)))
    if len(mismatch):
        raise ValueError(
            "tables in this export share cells with different values (give each table's "
            f"population in its metadata when they describe different groups): {unique_keys[mismatch[:3]].tolist()}"
        )
    var_value = np.zeros(n_vars)
    var_value[variable] = values
    var_lower = np.full(n_vars, np.inf)
    np.minimum.at(var_lower, variable, np.concatenate(lower_all))
    var_upl = np.zeros(n_vars)
    np.maximum.at(var_upl, variable, np.concatenate(upl_all))
    var_lpl = np.zeros(n_vars)
    np.maximum.at(var_lpl, variable, np.concatenate(lpl_all))
    var_cost = np.zeros(n_vars)
    np.maximum.at(var_cost, variable, np.concatenate(cost_all))

    # Positions: one node per (model, position); variables link positions.
    position_base = np.cumsum([0] + [m.n_positions for m in everything])
    n_position_nodes = position_base[-1]
    occurrence_position = []
    for m_index, model in enumerate(everything):
        for _ in model.layers:
            occurrence_position.append(position_base[m_index] + np.arange(model.n_positions))
    occurrence_position = np.concatenate(occurrence_position)
    graph = sp.coo_matrix(
        (np.ones(len(variable)), (occurrence_position, n_position_nodes + variable)),
        shape=(n_position_nodes + n_vars, n_position_nodes + n_vars),
    )
    _, component = connected_components(graph, directed=False)
    group_labels, var_group = np.unique(component[n_position_nodes:], return_inverse=True)
    position_group = np.searchsorted(group_labels, component[:n_position_nodes])
    n_groups = len(group_labels)

    # Relations: each table's relations per layer, mapped to variables.  Count
    # layers whose margins are not sums (units in several categories) get
    # inequalities instead: max(cell) <= margin <= sum(cells).
    eq_blocks, ineq_blocks = [], []
    occurrence = 0
    for model in everything:
        rel = model.relations.tocoo()
        for layer in model.layers:
            var_idx = variable[occurrence:occurrence + model.n_positions]
            occurrence += model.n_positions
            if rel.shape[0] == 0:
                continue
            residual = model.relations @ layer.values
            scale = 1e-7 * (1.0 + np.abs(layer.values).max(initial=0.0))
            exact_rows = np.abs(residual) <= scale
            mapped = sp.csr_matrix((rel.data, (rel.row, var_idx[rel.col])), shape=(rel.shape[0], n_vars))
            if exact_rows.all():
                eq_blocks.append(mapped)
                continue
            eq_blocks.append(mapped[np.flatnonzero(exact_rows)])
            loose = np.flatnonzero(~exact_rows)
            # margin - sum(cells) <= 0
            ineq_blocks.append(-mapped[loose])
            # cell - margin <= 0 for every cell of the relation
            loose_rel = model.relations[loose].tocoo()
            row_total = np.zeros(len(loose), dtype=np.int64)
            row_total[loose_rel.row[loose_rel.data < 0]] = loose_rel.col[loose_rel.data < 0]
            child_entries = loose_rel.data > 0
            n_children = int(child_entries.sum())
            rows = np.arange(n_children)
            cells = loose_rel.col[child_entries]
            margins = row_total[loose_rel.row[child_entries]]
            block = sp.csr_matrix(
                (np.concatenate([np.ones(n_children), -np.ones(n_children)]),
                 (np.concatenate([rows, rows]), np.concatenate([var_idx[cells], var_idx[margins]]))),
                shape=(n_children, n_vars),
            )
            ineq_blocks.append(block)
    equalities = _dedupe_rows(sp.vstack(eq_blocks).tocsr()) if eq_blocks else sp.csr_matrix((0, n_vars))
    inequalities = _dedupe_rows(sp.vstack(ineq_blocks).tocsr()) if ineq_blocks else sp.csr_matrix((0, n_vars))

    # Fixed decisions: released tables keep their pattern; hidden positions are
    # never published.
    fixed = np.full(n_groups, -1, dtype=np.int8)
    for m_index, model in enumerate(everything):
        groups = position_group[position_base[m_index]:position_base[m_index + 1]]
        if m_index < len(released):
            suppressed = np.isin(model.status, ["primary", "secondary", "hidden"])
            for wanted, mask in ((1, suppressed), (0, ~suppressed)):
                conflict = fixed[groups[mask]] == (1 - wanted)
                if conflict.any():
                    raise ValueError(f"table {model.name!r}: a released cell would need a different suppression status")
                fixed[groups[mask]] = wanted
        hidden_groups = groups[model.hidden]
        if (fixed[hidden_groups] == 0).any():
            raise ValueError(f"table {model.name!r}: a hidden cell is published in a linked table")
        fixed[hidden_groups] = 1
    group_weight = np.zeros(n_groups)
    np.add.at(group_weight, var_group, var_cost)
    # A small positive weight per group breaks ties towards fewer suppressions.
    positive = group_weight[group_weight > 0]
    group_weight += 1e-3 * (positive.mean() if len(positive) else 1.0)
    group_weight[fixed == 1] = 0.0

    problem = ProtectionProblem(
        values=var_value, lower=var_lower, upper=np.full(n_vars, np.inf),
        equalities=equalities, inequalities=inequalities, group=var_group, group_weight=group_weight,
        upper_protection=var_upl, lower_protection=var_lpl, fixed=fixed,
    )
    variable_of, group_of_position = [], []
    occurrence = 0
    for m_index, model in enumerate(everything):
        per_layer = []
        for _ in model.layers:
            per_layer.append(variable[occurrence:occurrence + model.n_positions])
            occurrence += model.n_positions
        variable_of.append(per_layer)
        group_of_position.append(position_group[position_base[m_index]:position_base[m_index + 1]])
    return LinkedProblem(problem, variable_of, group_of_position, unique_keys)


def _dedupe_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Drop empty and repeated relations (a shared margin appears in both tables)."""
    matrix = matrix.tocsr()
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    matrix.sort_indices()
    keep, seen = [], set()
    for r in range(matrix.shape[0]):  # loops over relations, not data rows
        start, end = matrix.indptr[r], matrix.indptr[r + 1]
        if start == end:
            continue
        signature = (matrix.indices[start:end].tobytes(), matrix.data[start:end].tobytes())
        if signature not in seen:
            seen.add(signature)
            keep.append(r)
    return matrix[keep]
