"""A table as the protection sees it: positions (cells), value layers, rules.

A position is one cell of a table (a row of the published table, or a row of a
segment list).  A position carries one or more layers: the unweighted count of
units and one total per value column.

How the layers of a position are suppressed (``TableModel.layer_mode``):

* ``"separate"`` (tables built from cells: frequency and magnitude tables,
  concentration): every layer is its own decision.  A published count beside
  a suppressed sum or mean is safe: the count carries no information about the
  amounts beyond what the sum layer's own relations give, and the sum layer is
  protected by its own relations (the attacker's interval of a mean is the
  interval of the sum divided by the published count, so protecting the sum
  protects the mean).  The other way round is not safe for a mean: a published
  mean M beside a suppressed count N gives the sum as M * N, a relation
  between the layers that the linear model does not hold.  So
  ``implies`` = (count layer, mean layer): suppressing the count of a position
  suppresses its mean.  A published sum beside a suppressed count gives
  nothing away about the count and needs no such link.  Primary rules that
  concern the units themselves (frequency, zero cells) make every layer of
  the position primary; dominance and the p%-rule concern the amounts only.
* ``"together"`` (association rules, percentiles, model tables): one decision
  per position (the published text columns follow it).

Several tables are protected as one problem when they share cells: a cell is
identified by its population, statistic and the non-total codes of its
classification, so the municipality total of two tables is one variable, and
suppressed or published alike in both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

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
    # Where the denominator of a share is a figure of the same table: its layer and, per position,
    # its position (the export-wide audit then holds share = numerator / denominator as a ratio).
    share_of_layer: int | None = None
    share_of_position: np.ndarray | None = None


@dataclass
class Membership:
    """Which units make a layer's value at each position (the export-wide audit's input).

    One row per (position, unit): ``unit`` indexes ``ids``.  For a sum layer
    ``amount`` is the unit's contribution to the position, ``value_name`` the
    amount it is part of (``"kosten"``) and ``components`` says which part:
    per value dimension (a dimension that splits a unit's amount, such as
    domain or year) the code of each position, ``None`` where the position
    takes every code (a total).  A count layer has neither.
    """

    position: np.ndarray
    unit: np.ndarray
    ids: np.ndarray
    amount: np.ndarray | None = None
    value_name: str | None = None
    components: dict[str, np.ndarray] = field(default_factory=dict)


IDENTITY_LABEL_JOIN = " | "
"""Between the labels of a row of a table with several label columns, as an :class:`Identity` names it."""


@dataclass
class Identity:
    """A definition that ties figures of a table to figures of another one, for every possible unit
    (so an intruder knows it without seeing any unit): the sum of ``weights`` times this table's
    ``column`` equals the sum of ``other_weights`` times ``column`` of ``table``.  Weights are per
    row, keyed by the label of the table's label column (for a table with several, its labels
    joined by ``" | "``: ``"wmo | Totaal"``); rows not named weigh 0.

    Example: households with costs per year (``bereik_per_jaar``) summed over the years are the
    households with costs in k years (``kosten_structureel``) times k, summed over k.  A zero
    cell "5 years" is then pinned by the published rows of both tables unless they are protected
    as one problem with this row (:func:`build_problem`).
    """

    column: str
    weights: dict[str, float]
    table: str
    other_column: str
    other_weights: dict[str, float]
    text: str = ""
    # A row whose weight is a range (a top category "4+": 4 up to the number of domains): its
    # upper weight; the identity then bounds the other side between the two sums (two rows <= 0).
    upper_weights: dict[str, float] | None = None
    # One side only: "at_most" (this table's sum <= the other's: every couple has partners, so
    # couples <= households with a partner) or "at_least"; None: equal (or the range above).
    only: str | None = None

    def __post_init__(self) -> None:
        if self.only not in (None, "at_most", "at_least"):
            raise TypeError(f"identity 'only' must be 'at_most' or 'at_least', not {self.only!r}")


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
    status: np.ndarray | None = None   # after protection, per position: "safe", "primary", "secondary", "hidden"
    review: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    # Published text columns that follow the layers and share their suppression
    # (e.g. confidence of an association rule, a percentile).
    derived: dict[str, np.ndarray] = field(default_factory=dict)
    # "together": all layers of a position are one decision; "separate": one
    # decision per layer, with implications (i, j): suppressing layer i of a
    # position suppresses its layer j.
    layer_mode: str = "together"
    implies: list[tuple[int, int]] = field(default_factory=list)
    # After protection: per layer, the status of each position (as ``status``).
    layer_status: list[np.ndarray] | None = None
    # The units behind every figure, per layer (None: the layer is not in the
    # export-wide audit), and the set of units the figures are about: tables
    # of one universe are audited together as one population.
    memberships: list[Membership | None] | None = None
    universe: str = ""
    # Positions of a sum layer in rank order (the units of each have amounts at
    # least those of the next): (layer index, positions) per ranked group.
    rank_chains: list[tuple[int, np.ndarray]] = field(default_factory=list)
    # After the export-wide audit: what it found for this table (population.TableAudit).
    population_audit: "TableAudit | None" = None
    # Definitions tying this table's figures to another table's (protected with it as one problem).
    identities: list[Identity] = field(default_factory=list)
    # Layers that add up at every position: (total layer, part layers), e.g. a profile's mean costs
    # and its mean costs per domain group when the groups hold every domain (``as_profile``).
    layer_sums: list[tuple[int, list[int]]] = field(default_factory=list)

    @property
    def n_positions(self) -> int:
        return len(self.labels)

    @property
    def primary(self) -> np.ndarray:
        """Positions with at least one primary (unsafe) layer."""
        out = np.zeros(self.n_positions, dtype=bool)
        for layer in self.layers:
            out |= layer_primary(layer)
        return out

    def set_status(self, suppressed_layers: list[np.ndarray]) -> None:
        """Statuses from the suppression decision of every layer and position."""
        any_primary = self.primary
        layer_status = []
        for layer, suppressed in zip(self.layers, suppressed_layers):
            primary = layer_primary(layer) if self.layer_mode == "separate" else any_primary
            layer_status.append(np.where(self.hidden, "hidden", np.where(
                primary, "primary", np.where(suppressed, "secondary", "safe"))).astype(object))
        suppressed_any = np.zeros(self.n_positions, dtype=bool)
        for suppressed in suppressed_layers:
            suppressed_any |= suppressed
        self.layer_status = layer_status
        self.status = np.where(self.hidden, "hidden", np.where(
            any_primary, "primary", np.where(suppressed_any, "secondary", "safe"))).astype(object)

    def variable_keys(self) -> list[np.ndarray]:
        """A stable text key per layer and position for linking tables
        (computed once: labels and codes do not change once the table is
        handed to the writer)."""
        cached = self.__dict__.get("_variable_keys")
        if cached is None or len(cached) != len(self.layers):
            cached = self._compute_variable_keys()
            self.__dict__["_variable_keys"] = cached
        return cached

    def _compute_variable_keys(self) -> list[np.ndarray]:
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


def hide_leaves(model: "TableModel", grid: TableGrid, dimensions: Sequence[str]) -> None:
    """Never publish the positions at a leaf of every dimension of ``dimensions`` (each with a hierarchy):
    the table publishes the hierarchy's aggregates, and the leaves are unknowns of the protection problem
    that identities with other tables can name (the exact domain profiles behind households by number of
    domains).  A hidden leaf is not published, so it has no protection requirement of its own and no
    primary rule applies to it (it is suppressed, at no cost)."""
    axes = [i for i, d in enumerate(grid.dimensions) if d.name in set(dimensions)]
    shape = tuple(d.size for d in grid.dimensions)
    index = np.indices(shape).reshape(len(shape), -1)
    hidden = np.ones(grid.n_cells, dtype=bool)
    for axis in axes:
        hidden &= grid.dimensions[axis].is_leaf[index[axis]]
    model.hidden = np.asarray(model.hidden, dtype=bool) | hidden
    for layer in model.layers:
        layer.upper_protection = np.where(hidden, 0.0, layer.upper_protection)
        layer.lower_protection = np.where(hidden, 0.0, layer.lower_protection)
        layer.cost = np.where(hidden, 0.0, layer.cost)
    if "rules_failed" in model.evidence:
        model.evidence.loc[hidden, "rules_failed"] = ""


def layer_primary(layer: Layer) -> np.ndarray:
    return (layer.upper_protection > 0) | (layer.lower_protection > 0)


def quantity_name(layer: Layer) -> str:
    """What a layer's values are: the count column, or ``sum_<value>`` for the
    sums behind sums, means and shares (the protection works on sums)."""
    if layer.statistic == "sum":
        return f"sum_{layer.source}"
    return layer.column


def grid_model(name: str, population: str, grid: TableGrid, stats: CellStatistics, rules: DisclosureRules,
               unit_columns: Sequence[str], unit_labels: Sequence[str], value_columns: Sequence[str],
               statistic: str, show_counts: bool, panel_axes: Sequence[int] = ()) -> TableModel:
    """Apply the primary rules to a table built from (or given as) cell statistics.

    ``panel_axes``: dimensions every unit is in every category of by design; the full-cell
    rule does not look along them."""
    codes = grid.code_frame()
    key_codes = codes.copy()
    for dim in grid.dimensions:
        if dim.total_index is not None:
            key_codes.loc[key_codes[dim.name] == dim.codes[dim.total_index], dim.name] = None
    primary_unit = unit_columns[0]
    counts = stats.n_units[primary_unit].astype(float)
    n_positions = grid.n_cells
    evidence: dict[str, object] = {}  # columns, made a frame once (no fragmented inserts)
    for unit, label in zip(unit_columns, unit_labels):
        evidence[f"n_{label}"] = stats.n_units[unit]
    reasons = [[] for _ in range(n_positions)]

    def note(flag: np.ndarray, reason: str) -> None:
        for i in np.flatnonzero(flag):  # loops over unsafe cells only, to label them
            if reason not in reasons[i]:
                reasons[i].append(reason)

    frequency = rules_mod.frequency_unsafe(stats.n_units, rules.min_units)
    zero = (counts == 0) & rules.flag_zero_cells
    relations, totals = grid.relations, _relation_totals(grid)
    if len(panel_axes) and relations.shape[0]:
        along = ~np.isin(np.asarray(grid.relation_dimension), list(panel_axes))
        relations, totals = relations[np.flatnonzero(along)], totals[along]
    full = rules_mod.full_cells(relations, totals, counts) & rules.flag_full_cells
    note(frequency, rules_mod.RULE_FREQUENCY)
    note(zero, rules_mod.RULE_ZERO)
    note(full, rules_mod.RULE_FULL)
    review = np.zeros(n_positions, dtype=bool)

    layers: list[Layer] = []
    count_in_problem = statistic == "count" or show_counts
    cost_by = rules.suppression_cost
    # Every layer is its own decision, so every layer carries its own cost:
    # counts cost their count (or 1), sums their amount (or count, or 1).
    count_cost = {"value": counts, "frequency": counts, "unity": np.ones(n_positions)}[cost_by]
    if count_in_problem:
        level = rules_mod.count_protection(counts, rules.protection_level)
        upl = np.where(frequency, level, 0.0)
        lpl = np.where(frequency, level, 0.0)
        upl = np.where(zero, np.maximum(upl, 1.0), upl)
        # A full cell discloses that *all* units of its margin have the category: the intruder
        # must not be able to rule out that one of them lies outside it (a whole unit below; a
        # fraction of the cell's own size would ask far more than the rule protects).
        lpl = np.where(full, np.maximum(lpl, 1.0), lpl)
        layers.append(Layer(
            column=f"n_{unit_labels[0]}", statistic="count", source=primary_unit, values=counts,
            lower_bound=np.zeros(n_positions), upper_protection=upl, lower_protection=lpl,
            display="count", cost=count_cost,
        ))
    for position, value in enumerate(value_columns):
        # A sum or mean rests on the units that contribute to it: a mean over 30 households of
        # which 3 have costs is the sum of 3 households' costs.
        contributors = stats.n_nonzero.get(value)
        contributors = counts if contributors is None else contributors.astype(float)
        value_frequency = (contributors > 0) & (contributors < rules.min_units)
        note(value_frequency & ~frequency, rules_mod.RULE_FREQUENCY_CONTRIBUTORS)
        evidence[f"{value}_n_contributors"] = contributors.astype(np.int64)
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
        # The amount of one typical unit: a frequency-unsafe cell whose amounts
        # sum to zero still needs some room (its units are few), a zero cell
        # room for one unit, as its count has.
        n_max = counts.max(initial=0.0)
        unit_amount = np.abs(total).max(initial=0.0) / n_max if n_max > 0 else 0.0
        unit_amount = unit_amount if unit_amount > 0 else 1.0
        upl = np.zeros(n_positions)
        upl = np.where(dom_unsafe, np.maximum(upl, dom_level), upl)
        upl = np.where(p_unsafe, np.maximum(upl, p_level), upl)
        unsafe_units = frequency | value_frequency
        upl = np.where(unsafe_units | negative, np.maximum(upl, relative), upl)
        # (tau-Argus protects a frequency-unsafe amount by a fraction of its
        # value; one with nothing to take a fraction of gets one of a unit's.)
        upl = np.where(unsafe_units & (relative == 0), np.maximum(upl, rules.protection_level * unit_amount), upl)
        lpl = upl.copy()
        if count_in_problem:
            # The zero rule hides whether a cell has units at all; its count layer
            # carries that (room for one unit).  The amount must not prove the
            # cell empty either: room for a fraction of a typical unit's amount, as
            # a frequency-unsafe cell without amount gets (a whole typical amount
            # can exceed what other tables allow for the cell, e.g. a domain's
            # costs of a selected group of expensive households).  A 100% cell is
            # about the count; its count layer carries that.
            upl = np.where(zero, np.maximum(upl, np.minimum(rules.protection_level * unit_amount,
                                                            _smallest_margin(grid, total))), upl)
            # A positive amount proves that the cell has a unit: where its count must be able to
            # be 0 (a count of 1), the amount must be able to be 0 too.
            count_may_be_zero = frequency & (counts > 0) & (rules_mod.count_protection(
                counts, rules.protection_level) >= counts) & (total > 0)
            lpl = np.where(count_may_be_zero, np.maximum(lpl, total), lpl)
        else:
            # Without a published count the zero and 100% rules act on the amounts.
            typical = np.abs(total[(counts > 0) & (total != 0)])
            zero_level = rules.protection_level * (typical.mean() if len(typical) else 1.0)
            upl = np.where(zero, np.maximum(upl, zero_level), upl)
            lpl = np.where(full, np.maximum(lpl, relative), lpl)
        lower = np.where(negative, -np.inf, 0.0)
        cost = np.abs(total) if cost_by == "value" else count_cost
        layers.append(Layer(
            column=f"{statistic}_{value}", statistic="sum", source=value, values=total,
            lower_bound=lower, upper_protection=upl, lower_protection=lpl,
            display=statistic, cost=cost,
        ))
    evidence["rules_failed"] = [";".join(r) for r in reasons]
    labels = codes.copy()
    implies = [(0, j) for j, layer in enumerate(layers) if count_in_problem and layer.display == "mean"]
    model = TableModel(
        name=name, population=population, label_columns=[d.name for d in grid.dimensions], labels=labels,
        key_codes=key_codes, relations=grid.relations, layers=layers, evidence=pd.DataFrame(evidence, index=np.arange(n_positions)),
        hidden=np.zeros(n_positions, dtype=bool), layer_mode="separate", implies=implies,
    )
    model.review = review
    return model


def _smallest_margin(grid: TableGrid, total: np.ndarray) -> np.ndarray:
    """Per cell the smallest non-zero absolute amount of a margin it adds up to (inf if none):
    an empty cell's amount can never be shown to exceed it, so no requirement may ask more."""
    out = np.full(len(total), np.inf)
    relations = getattr(grid, "relations", None)
    if relations is None or not relations.shape[0]:
        return out
    matrix = relations.tocoo()
    margin = np.abs(total)[_relation_totals(grid)[matrix.row]]
    # An empty margin is a zero cell itself (suppressed), not a bound an intruder can read.
    child = (matrix.data > 0) & (margin > 0)
    np.minimum.at(out, matrix.col[child], margin[child])
    return out


def _relation_totals(grid: TableGrid) -> np.ndarray:
    return grid.relation_total


@dataclass
class LinkedProblem:
    problem: ProtectionProblem
    # For each model: per layer the variable index of each position.
    variable_of: list[list[np.ndarray]]
    # For each model: per layer the group (decision) of each position.
    group_of_layer: list[list[np.ndarray]]
    keys: np.ndarray

    @property
    def group_of_position(self) -> list[np.ndarray]:
        """For each model the group of each position's first layer (the one
        decision of a position in "together" models)."""
        return [groups[0] if groups else np.zeros(0, dtype=np.int64) for groups in self.group_of_layer]

    def owners(self, variable: int) -> list[tuple[int, int, int]]:
        """(model index, layer index, position) of every occurrence of a variable."""
        out = []
        for m_index, per_layer in enumerate(self.variable_of):
            for l_index, variables in enumerate(per_layer):
                for position in np.flatnonzero(variables == variable):
                    out.append((m_index, l_index, int(position)))
        return out


def build_problem(models: Sequence[TableModel], released: Sequence[TableModel] = ()) -> LinkedProblem:
    """One protection problem over new tables and already released linked ones.

    Released tables keep their pattern (their cells are fixed published or
    suppressed); their relations and primary cells stay in the problem so a new
    table cannot undo their protection.  Models given in ``models`` are
    protected together: a cell they share is one variable, suppressed or
    published alike in all of them.
    """
    everything = list(released) + list(models)
    keys_all, values_all, lower_all, upl_all, lpl_all, cost_all, tie_all = [], [], [], [], [], [], []
    for model in everything:
        for layer, keys in zip(model.layers, model.variable_keys()):
            keys_all.append(keys)
            values_all.append(layer.values)
            lower_all.append(layer.lower_bound)
            upl_all.append(layer.upper_protection)
            lpl_all.append(layer.lower_protection)
            cost = np.asarray(layer.cost, dtype=float)
            cost_all.append(cost)
            # A small positive weight per cell breaks ties towards fewer
            # suppressions, on the scale of its own layer (counts and amounts
            # differ by orders of magnitude).
            positive = cost[cost > 0]
            tie_all.append(np.full(model.n_positions, 1e-3 * (positive.mean() if len(positive) else 1.0)))
    if not keys_all:
        raise ValueError("no table with cells to protect")
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
    np.maximum.at(var_cost, variable, np.concatenate(cost_all) + np.concatenate(tie_all))

    # Per model and layer, the variable of each position.
    variable_of: list[list[np.ndarray]] = []
    occurrence = 0
    for model in everything:
        per_layer = []
        for _ in model.layers:
            per_layer.append(variable[occurrence:occurrence + model.n_positions])
            occurrence += model.n_positions
        variable_of.append(per_layer)

    # Decisions (groups): one per variable, except that the layers of a
    # position in a "together" model are one decision.
    edge_a, edge_b = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for model, per_layer in zip(everything, variable_of):
        if model.layer_mode != "separate":
            for variables in per_layer[1:]:
                edge_a.append(per_layer[0])
                edge_b.append(variables)
    edge_a, edge_b = np.concatenate(edge_a), np.concatenate(edge_b)
    graph = sp.coo_matrix((np.ones(len(edge_a)), (edge_a, edge_b)), shape=(n_vars, n_vars))
    _, component = connected_components(graph, directed=False)
    group_labels, var_group = np.unique(component, return_inverse=True)
    n_groups = len(group_labels)
    group_of_layer = [[var_group[v] for v in per_layer] for per_layer in variable_of]

    # Relations: each table's relations per layer, mapped to variables.  Count
    # layers whose margins are not sums (units in several categories) get
    # inequalities instead: max(cell) <= margin <= sum(cells).
    eq_blocks, ineq_blocks = [], []
    for model, per_layer in zip(everything, variable_of):
        rel = model.relations.tocoo()
        for layer, var_idx in zip(model.layers, per_layer):
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
    for model, per_layer in zip(everything, variable_of):
        # Layers that add up at every position (a profile's total and its parts), row by row.
        for total, pieces in model.layer_sums:
            positions = np.arange(model.n_positions)
            rows = np.tile(positions, len(pieces) + 1)
            columns = np.concatenate([per_layer[total]] + [per_layer[i] for i in pieces])
            signs = np.concatenate([np.ones(model.n_positions)] + [-np.ones(model.n_positions)] * len(pieces))
            eq_blocks.append(sp.csr_matrix((signs, (rows, columns)), shape=(model.n_positions, n_vars)))
    identity_eq, identity_ineq = _identity_rows(everything, variable_of, n_vars)
    eq_blocks += identity_eq
    ineq_blocks += identity_ineq
    equalities = _dedupe_rows(sp.vstack(eq_blocks).tocsr()) if eq_blocks else sp.csr_matrix((0, n_vars))
    inequalities = _dedupe_rows(sp.vstack(ineq_blocks).tocsr()) if ineq_blocks else sp.csr_matrix((0, n_vars))

    # Fixed decisions: released tables keep their pattern; hidden positions are
    # never published.
    fixed = np.full(n_groups, -1, dtype=np.int8)
    for m_index, model in enumerate(everything):
        for l_index, groups in enumerate(group_of_layer[m_index]):
            if m_index < len(released):
                status = model.layer_status[l_index] if model.layer_status is not None else model.status
                suppressed = np.isin(status, ["primary", "secondary", "hidden"])
                for wanted, mask in ((1, suppressed), (0, ~suppressed)):
                    conflict = fixed[groups[mask]] == (1 - wanted)
                    if conflict.any():
                        raise ValueError(f"table {model.name!r}: a released cell would need a different "
                                         "suppression status")
                    fixed[groups[mask]] = wanted
            hidden_groups = groups[model.hidden]
            if (fixed[hidden_groups] == 0).any():
                raise ValueError(f"table {model.name!r}: a hidden cell is published in a linked table")
            fixed[hidden_groups] = 1
    group_weight = np.zeros(n_groups)
    np.add.at(group_weight, var_group, var_cost)

    # Implications between the layers of a position ("separate" models).
    pair_a, pair_b = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for model, groups in zip(everything, group_of_layer):
        for i, j in model.implies:
            pair_a.append(groups[i][~model.hidden])
            pair_b.append(groups[j][~model.hidden])
    pairs = np.unique(np.column_stack([np.concatenate(pair_a), np.concatenate(pair_b)]), axis=0)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    # Suppressing a group costs what it takes along too.
    implied_weight = np.zeros(n_groups)
    np.add.at(implied_weight, pairs[:, 0], group_weight[pairs[:, 1]])
    group_weight = group_weight + implied_weight
    group_weight[fixed == 1] = 0.0

    # Hidden leaves without a protection requirement (never published, in no other table as a cell).
    hidden_var = np.zeros(n_vars, dtype=bool)
    shown_var = np.zeros(n_vars, dtype=bool)
    for model, per_layer in zip(everything, variable_of):
        for layer, variables in zip(model.layers, per_layer):
            quiet = np.asarray(model.hidden, dtype=bool) & (layer.upper_protection <= 0) & (layer.lower_protection <= 0)
            hidden_var[variables[quiet]] = True
            shown_var[variables[~quiet]] = True
    problem = ProtectionProblem(
        values=var_value, lower=var_lower, upper=np.full(n_vars, np.inf),
        equalities=equalities, inequalities=inequalities, group=var_group, group_weight=group_weight,
        upper_protection=var_upl, lower_protection=var_lpl, fixed=fixed, implies=pairs,
        silent=hidden_var & ~shown_var & (var_upl <= 0) & (var_lpl <= 0),
    )
    return LinkedProblem(problem, variable_of, group_of_layer, unique_keys)


def _identity_rows(everything: Sequence[TableModel], variable_of,
                   n_vars: int) -> tuple[list[sp.csr_matrix], list[sp.csr_matrix]]:
    """Rows of every :class:`Identity` whose other table is in the problem (a table not published,
    or protected apart, gives the intruder nothing to combine it with): one equality, or two
    inequalities (<= 0) where some weight is a range."""
    index = {model.name: i for i, model in enumerate(everything)}
    values = np.zeros(n_vars)
    for k, model_k in enumerate(everything):
        for layer, variables in zip(model_k.layers, variable_of[k]):
            values[variables] = layer.values

    def side(k: int, column: str, weights: dict, owner: str, other: str) -> np.ndarray:
        table = everything[k]
        layer = next((l for l, lay in enumerate(table.layers) if lay.column == column), None)
        if layer is None or not table.label_columns:
            raise ValueError(f"table {owner!r}: identity with {other!r} names column {column!r} of "
                             f"{table.name!r}, which has no such figure")
        labels = table.labels[table.label_columns].astype(str).agg(IDENTITY_LABEL_JOIN.join, axis=1).to_numpy()
        unknown = sorted(set(weights) - set(labels))
        if unknown:
            raise ValueError(f"table {owner!r}: identity with {other!r} names rows {unknown} that "
                             f"{table.name!r} does not have")
        row = np.zeros(n_vars)
        np.add.at(row, variable_of[k][layer], np.array([float(weights.get(label, 0.0)) for label in labels]))
        return row

    equalities, inequalities = [], []
    for i, model in enumerate(everything):
        for identity in model.identities:
            j = index.get(identity.table)
            if j is None:
                continue
            low = side(i, identity.column, identity.weights, model.name, identity.table)
            high = side(i, identity.column, identity.upper_weights or identity.weights, model.name, identity.table)
            other = side(j, identity.other_column, identity.other_weights, model.name, identity.table)
            if identity.only == "at_most":
                rows, equal = [low - other], False
            elif identity.only == "at_least":
                rows, equal = [other - high], False
            elif np.array_equal(low, high):
                rows, equal = [low - other], True
            else:
                rows, equal = [low - other, other - high], False
            slack = 1e-9 * (1 + np.abs(other * values).sum() + np.abs(high * values).sum())
            residuals = np.array([r @ values for r in rows])
            if (np.abs(residuals) > slack).any() if equal else (residuals > slack).any():
                raise ValueError(f"table {model.name!r}: the identity with {identity.table!r} "
                                 f"({identity.text or 'declared'}) does not hold for the data")
            (equalities if equal else inequalities).extend(sp.csr_matrix(r) for r in rows)
    return equalities, inequalities


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


def attach_memberships(model: TableModel, pairs, universe: str, value_dimensions: Sequence[str] = (),
                       value_names: dict | None = None,
                       value_groups: Mapping[str, Mapping[str, Sequence[str]]] | None = None) -> None:
    """Record which units make each figure of a grid table (see :class:`Membership`).

    ``pairs`` are the (cell, unit) pairs of the first unit column with each value
    column's contributions (``UnitPairs`` with ``amounts``). ``value_groups``: per value
    dimension, codes that stand for a group of finer codes (a tuple of them in the components)."""
    components = {}
    for d in value_dimensions:
        codes = model.key_codes[d].to_numpy(dtype=object)
        groups = (value_groups or {}).get(d) or {}
        if not groups:
            components[d] = codes
            continue
        grouped = np.empty(len(codes), dtype=object)     # (np.array would make equal tuples a 2-d array)
        for i, c in enumerate(codes):                     # positions (cells), not units
            grouped[i] = tuple(groups[c]) if isinstance(c, str) and c in groups else c
        components[d] = grouped
    memberships: list[Membership | None] = []
    for layer in model.layers:
        if layer.statistic == "count":
            memberships.append(Membership(pairs.cell, pairs.unit, pairs.ids))
        else:
            memberships.append(Membership(pairs.cell, pairs.unit, pairs.ids, amount=pairs.amounts[layer.source],
                                          value_name=(value_names or {}).get(layer.source, layer.source),
                                          components=components))
    model.memberships = memberships
    model.universe = universe


def ranked_chains(model: TableModel, grid: TableGrid, ranked: str) -> list[tuple[int, np.ndarray]]:
    """For every sum layer, the positions of each ranked group in rank order, per combination of
    the other dimensions' codes."""
    dim = next(d for d in grid.dimensions if d.name == ranked)
    order = {code: i for i, code in enumerate(dim.codes) if dim.is_leaf[i]}
    labels = model.labels
    rank = labels[ranked].map(order)
    others = [c for c in model.label_columns if c != ranked]
    chains = []
    frame = pd.DataFrame({"rank": rank, "position": np.arange(len(labels))})
    for c in others:
        frame[c] = labels[c].astype(str).to_numpy()
    frame = frame[frame["rank"].notna()]
    groups = [frame] if not others else [g for _, g in frame.groupby(others, sort=False)]
    for group in groups:
        positions = group.sort_values("rank")["position"].to_numpy(dtype=np.int64)
        for index, layer in enumerate(model.layers):
            if layer.statistic == "sum" and len(positions) > 1:
                chains.append((index, positions))
    return chains


def as_profile(model: TableModel, shares: Sequence[str], parts: dict,
               partitions: Sequence[Sequence[str]] = ()) -> None:
    """Turn a table of means per group into a profile: the mean of an indicator is published as
    the percentage of the group's units that have it (a count of those units, for the audit),
    and each amount is declared as its part of a shared amount. ``partitions``: groups of shares
    of which each unit has one (:func:`_partition_layer_sums`)."""
    count_layer = next(i for i, layer in enumerate(model.layers) if layer.statistic == "count")
    counts = model.layers[count_layer].values
    for index, (layer, membership) in enumerate(zip(model.layers, model.memberships)):
        if layer.statistic != "sum":
            continue
        if layer.source in shares:
            layer.display = "share"
            layer.share_of = counts
            layer.share_of_layer, layer.share_of_position = count_layer, np.arange(model.n_positions)
            layer.column = f"pct_{layer.source}"
            has = np.asarray(membership.amount) != 0
            model.memberships[index] = Membership(membership.position[has], membership.unit[has], membership.ids)
            # Whole units, as for any count (the frequency rule of a count needs at least one).
            layer.upper_protection = np.where(layer.upper_protection > 0, np.maximum(layer.upper_protection, 1.0), 0.0)
            layer.lower_protection = np.where(layer.lower_protection > 0, np.maximum(layer.lower_protection, 1.0), 0.0)
            if (count_layer, index) not in model.implies:
                model.implies.append((count_layer, index))
        elif layer.source in parts:
            value_name, codes = parts[layer.source]
            membership.value_name = str(value_name)
            membership.components = {str(d): _same_code(c, model.n_positions) for d, c in dict(codes).items()}
    model.layer_sums = _profile_layer_sums(model, parts) + _partition_layer_sums(model, count_layer, partitions)


def _partition_layer_sums(model: TableModel, count_layer: int,
                          partitions: Sequence[Sequence[str]]) -> list[tuple[int, list[int]]]:
    """The number of units of each row beside the counts of a group of shares that every unit has
    one of (household types): the shares add up to 100%, so a reader takes a suppressed one back
    as the rest, the zero of a type in a small group too. Found by the values, as the amounts'
    identities: a group whose counts do not add up to the row's units in every row publishes none."""
    sums = []
    for group in partitions:
        pieces = [i for i, layer in enumerate(model.layers) if layer.display == "share" and layer.source in set(group)]
        if len(pieces) < 2:
            continue
        if _layers_add_up(model, count_layer, pieces):
            sums.append((count_layer, pieces))
    return sums


def _layers_add_up(model: TableModel, total: int, pieces: list[int]) -> bool:
    """Do the layers ``pieces`` add up to the layer ``total`` at every position (to rounding)?"""
    whole = np.asarray(model.layers[total].values, dtype=float)
    summed = np.sum([np.asarray(model.layers[i].values, dtype=float) for i in pieces], axis=0)
    return bool(np.all(np.abs(whole - summed) <= 1e-7 * (1.0 + np.abs(whole))))


def _profile_layer_sums(model: TableModel, parts: dict) -> list[tuple[int, list[int]]]:
    """A profile's amount over every code (its total) beside parts of it: where the parts add up to
    the total in every group (the domain groups hold every domain), the table publishes that identity
    in each row, and a reader takes a suppressed part back as the total minus the others. Found by
    the values, not assumed from the names: a part missing from the profile leaves no identity."""
    by_value: dict[str, tuple[list[int], list[int]]] = {}
    for index, layer in enumerate(model.layers):
        if layer.statistic != "sum" or layer.source not in parts or layer.display == "share":
            continue
        value_name, codes = parts[layer.source]
        totals, pieces = by_value.setdefault(str(value_name), ([], []))
        (pieces if dict(codes) else totals).append(index)
    sums = []
    for totals, pieces in by_value.values():
        if len(totals) != 1 or len(pieces) < 2:
            continue
        if _layers_add_up(model, totals[0], pieces):
            sums.append((totals[0], pieces))
    return sums


def _same_code(code, n: int) -> np.ndarray:
    """One code (a text, or a tuple of texts for a group of codes) for each of ``n`` positions."""
    out = np.empty(n, dtype=object)
    value = tuple(str(c) for c in code) if isinstance(code, (list, tuple)) else str(code)
    for i in range(n):   # loops over a profile's groups; a tuple must not be spread over the array
        out[i] = value
    return out
