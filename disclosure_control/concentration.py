"""Concentration tables: the share of the total held by the top x% of units, or by each band
between cut points (Lorenz segments), as a table model for the safe writer.

Every segment, and every band an intruder can derive from published segments (the difference of
two nested top groups), is a magnitude cell with its own units; cut-off values are never part of
the model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .identifiers import input_problems
from .model import TableModel, attach_memberships, grid_model
from .output import percent_text
from .rules import DisclosureRules
from .tables import (CellStatistics, UnitPairs, cell_sums, code_order, default_unit_label, leaf_codes, natural_key,
                     offsets_in_runs, unit_codes)


def concentration_model(rules: DisclosureRules, data: pd.DataFrame, name: str, unit: str, value: str, top_shares,
                        segments: str, by: str | None, metadata: dict,
                        unit_label: str | None) -> tuple[TableModel, tuple | None]:
    """The model of a concentration table (see ``SafeWriter.concentration``) and, where the rules ask
    for the differencing check, the units of its published segments (label, unit pairs).

    Raises ValueError naming what in the input cannot be released."""
    if segments not in ("top", "bands"):
        raise ValueError("segments must be 'top' (cumulative top x%) or 'bands' (Lorenz segments)")
    shares = sorted(set(float(x) for x in top_shares))
    if not shares or shares[0] <= 0 or shares[-1] >= 1:
        raise ValueError("top_shares must lie strictly between 0 and 1")
    reasons = input_problems(data, [unit], [by] if by else [], [value])
    if reasons:
        raise ValueError("; ".join(reasons))
    label = unit_label or default_unit_label(unit, 0)
    total = rules.total_label
    # Units numbered in the order of their ids (ties in amount go to the smaller id).
    unit_code, unit_ids = unit_codes(data[unit])
    if (unit_code < 0).any():
        raise ValueError(f"unit column {unit!r} has missing values")
    n_ids = len(unit_ids)
    amount = pd.to_numeric(data[value], errors="raise").to_numpy(dtype=float)
    if np.isnan(amount).any():
        raise ValueError(f"value column {value!r} has missing values; fill or drop them explicitly")
    # Per unit its total, overall (group 0) and with ``by`` within each group (groups 1..):
    # one row per (group, unit), the units of a group in id order.
    group_codes = [total]
    row_group = [np.zeros(n_ids, dtype=np.int64)]
    row_unit = [np.arange(n_ids)]
    row_amount = [np.bincount(unit_code, weights=amount, minlength=n_ids)]
    if by:
        groups = leaf_codes(data, [by])[by].cat.remove_unused_categories()
        if total in set(groups.cat.categories):
            raise ValueError(f"column {by!r} holds the total label {total!r} as a code")
        group_codes += [str(c) for c in groups.cat.categories]
        key = groups.cat.codes.to_numpy().astype(np.int64) * n_ids + unit_code
        pair, inverse = np.unique(key, return_inverse=True)
        row_group.append(pair // n_ids + 1)
        row_unit.append(pair % n_ids)
        row_amount.append(np.bincount(inverse.reshape(-1), weights=amount, minlength=len(pair)))
    group_of_row = np.concatenate(row_group)
    units_all = np.concatenate(row_unit)
    amounts_all = np.concatenate(row_amount)
    if (amounts_all < 0).any():
        raise ValueError("concentration needs non-negative amounts per unit (some units have a negative total)")
    # Rank units within each group by amount, largest first, ties by unit id: within a
    # group the rows are in unit id order already, so two stable sorts give that order.
    order = np.argsort(-amounts_all, kind="stable")
    order = order[np.argsort(group_of_row[order], kind="stable")]
    amounts = amounts_all[order]
    unit_rank = units_all[order]
    group_index = group_of_row[order]
    rank = {code: i for i, code in enumerate((code_order(data[by]) if by else None) or [])}
    group_order = sorted(range(len(group_codes)), key=lambda g: (
        group_codes[g] != total, rank.get(group_codes[g], len(rank)), natural_key(group_codes[g])))
    group_size = np.bincount(group_index, minlength=len(group_codes))
    group_start = np.concatenate([[0], np.cumsum(group_size)[:-1]])
    n_cuts = len(shares)
    # Segment boundaries per group (number of top units in each cumulative segment).
    cut_units = np.minimum(np.ceil(np.outer(group_size, shares) - 1e-9).astype(np.int64), group_size[:, None])
    k = max(2, rules.dominance_n)
    # Positions per group: cumulative top segments, bands, rest, total.
    pos_labels = []
    n_per_group = 2 * n_cuts + 2
    for g in group_order:
        for j, x in enumerate(shares):
            pos_labels.append((group_codes[g], f"top {percent_text(x)}", "top", j))
        for j, x in enumerate(shares):
            low = 0.0 if j == 0 else shares[j - 1]
            pos_labels.append((group_codes[g], f"{percent_text(low)}-{percent_text(x)}", "band", j))
        pos_labels.append((group_codes[g], f"{percent_text(shares[-1])}-100%", "band", n_cuts))
        pos_labels.append((group_codes[g], "all", "total", 0))
    n_pos = len(pos_labels)
    position_of_group = {g: i * n_per_group for i, g in enumerate(group_order)}
    # Every position holds a run of its group's ranked units: top j% the first
    # cut_j, band j those from cut_(j-1) to cut_j, the rest band from the last cut, the total all.
    first = np.zeros(n_pos, dtype=np.int64)
    size = np.zeros(n_pos, dtype=np.int64)
    for g in range(len(group_codes)):
        b0, cuts = position_of_group[g], cut_units[g]
        lower = np.concatenate([[0], cuts])
        first[b0:b0 + n_cuts] = group_start[g]
        size[b0:b0 + n_cuts] = cuts
        first[b0 + n_cuts:b0 + 2 * n_cuts + 1] = group_start[g] + lower
        size[b0 + n_cuts:b0 + 2 * n_cuts + 1] = np.append(cuts, group_size[g]) - lower
        first[b0 + 2 * n_cuts + 1] = group_start[g]
        size[b0 + 2 * n_cuts + 1] = group_size[g]
    member_pos = np.repeat(np.arange(n_pos), size)
    member_row = np.repeat(first, size) + offsets_in_runs(size)
    contribution = amounts[member_row]
    n_units = size
    sums = cell_sums(member_pos, contribution, n_pos)
    # A run is ranked largest first: its first k units are its largest contributions.
    top = np.zeros((n_pos, k))
    for i in range(k):
        has = size > i
        top[has, i] = amounts[first[has] + i]
    # Relations: top_1 = band_1, top_j = top_(j-1) + band_j, total = top_last + rest.
    rows, cols, vals = [], [], []
    r = 0
    for g in group_order:
        b0 = position_of_group[g]
        for j in range(n_cuts):
            top_pos, band_pos = b0 + j, b0 + n_cuts + j
            members = [band_pos] + ([b0 + j - 1] if j > 0 else [])
            for m in members:
                rows.append(r); cols.append(m); vals.append(1.0)
            rows.append(r); cols.append(top_pos); vals.append(-1.0)
            r += 1
        rows += [r, r, r]
        cols += [b0 + n_cuts - 1, b0 + 2 * n_cuts, b0 + 2 * n_cuts + 1]
        vals += [1.0, 1.0, -1.0]
        r += 1
    relations = sp.csr_matrix((vals, (rows, cols)), shape=(r, n_pos))
    stats = CellStatistics(n_units={unit: n_units}, sums={value: sums}, top={value: top},
                           n_negative={value: np.zeros(n_pos, dtype=np.int64)})
    labels = pd.DataFrame({
        (by or "group"): [p[0] for p in pos_labels],
        "segment": [p[1] for p in pos_labels],
    })
    kinds = np.array([p[2] for p in pos_labels])
    # The concentration table is its own population: its cells never link
    # with ordinary tables (a "top 1%" is not a classification code).
    population = f"{metadata.get('population', '')}/concentration:{name}"
    fake_grid = _Relations(relations)
    no_group_rules = DisclosureRules(**{**rules.as_dict(), "flag_zero_cells": False,
                                        "flag_full_cells": False})
    model = grid_model(name, population, fake_grid, stats, no_group_rules, [unit], [label], [value],
                       "sum", True)
    model.labels = labels
    model.label_columns = list(labels.columns)
    model.key_codes = labels.copy()
    publish = "top" if segments == "top" else "band"
    model.hidden = ~((kinds == publish) | (kinds == "total"))
    total_position = np.repeat([position_of_group[g] + 2 * n_cuts + 1 for g in group_order], n_per_group)
    group_total = sums[total_position]
    model.layers[1].display = "share"
    model.layers[1].column = f"share_of_{value}_pct"
    model.layers[1].share_of = group_total
    model.layers[1].share_of_layer, model.layers[1].share_of_position = 1, total_position
    model.notes.append(
        "Units are ranked by their total amount; 'top x%' holds the ceil(x * N) units with the largest "
        "amounts. Cut-off amounts are not published. Shares are percentages of the group total."
    )
    pairs = UnitPairs(member_pos, unit_rank[member_row].astype(np.int64), np.asarray(unit_ids),
                      {value: contribution})
    attach_memberships(model, pairs, universe=str(metadata.get("universe") or label))
    # Within a group the bands are in rank order: each unit of a band has at least the amount
    # of any unit of the next band.
    model.rank_chains = [(1, np.arange(position_of_group[g] + n_cuts, position_of_group[g] + 2 * n_cuts + 1))
                         for g in group_order]
    unit_sets = (label, pairs) if rules.differencing_check else None
    return model, unit_sets


class _Relations:
    """Adapter giving a relation matrix the grid interface grid_model uses."""

    def __init__(self, relations: sp.csr_matrix):
        self.relations = relations
        coo = relations.tocoo()
        self.relation_total = np.zeros(relations.shape[0], dtype=np.int64)
        self.relation_total[coo.row[coo.data < 0]] = coo.col[coo.data < 0]
        self.dimensions = []
        self.n_cells = relations.shape[1]

    def code_frame(self) -> pd.DataFrame:
        return pd.DataFrame(index=np.arange(self.n_cells))
