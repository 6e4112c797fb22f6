"""The one safe writer every pipeline step uses to release a table.

It builds the table from unit-level data, applies the primary rules, chooses
complementary suppressions jointly with the tables it shares cells with
(linked tables: all together when they are released in one
:class:`ReleaseBatch`, or keeping the pattern of those released before),
audits the pattern with the attacker's LPs, and only then writes the protected
table, its notes and the manifest to the export folder.  Everything the output checker may need, including what is itself
disclosive (largest contributions, true values of suppressed cells), goes to
the evidence folder in the work area and never to the export folder.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import __version__
from .aggregates import aggregated_model, percentile_model
from .association import association_model
from .completion import COMPLETION_NAME, FolderInUse
from .concentration import concentration_model
from .identifiers import bsn_like_tokens, forbidden_statistic_reason, identifier_name_reason, input_problems
from .model import (Identity, Layer, TableModel, as_profile, attach_memberships, build_problem, grid_model,
                    hide_leaves, quantity_name, ranked_chains)
from .population import audit_export
from .models import RefusedTable, model_table_model
from .output import format_number, openpyxl_available, round_counts, sha256_of, write_csv, write_xlsx
from .protection import ProtectionImpossible, protect, unprotectable_cells
from .rules import DisclosureRules
from .tables import cell_statistics, default_unit_label, dimension_orders, leaf_codes, table_grid

MANIFEST_NAME = "disclosure_manifest.json"
EVIDENCE_SUFFIX = ".evidence.json"
NOTES_SUFFIX = ".notes.txt"
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,80}$")
_KNOWN_METADATA = ("title", "unit", "population", "period", "notes")


@dataclass
class ReleaseResult:
    """What happened to one table.

    status: "pass" (released), "review" (released, but the listed cells or
    differences need a human look), "fail" (nothing written to the export
    folder; ``reasons`` says why), "pending" (queued in a
    :class:`ReleaseBatch`, nothing written yet; the batch's ``results`` hold
    the outcome).
    """

    name: str
    status: str
    table: pd.DataFrame | None
    written: list[Path]
    evidence: Path
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    primary_suppressed: int = 0
    secondary_suppressed: int = 0
    method: str = ""
    audit: pd.DataFrame | None = None

    @property
    def released(self) -> bool:
        return self.status in ("pass", "review")


@dataclass
class _Pending:
    """A table built and checked, waiting for its secondary suppression."""

    model: TableModel
    metadata: dict
    kind: str
    unit_sets: Any
    keys: set


@dataclass
class _Protection:
    """A protected pattern for one table (statuses are set on its model)."""

    method: str
    note: str
    audit: pd.DataFrame
    problem: dict | None
    joint: list[str]       # tables protected in the same problem (this one included)
    fixed: list[str]       # linked tables whose pattern was held fixed


@dataclass
class _Failure:
    reasons: list[str]
    audit: pd.DataFrame | None = None
    problem: dict | None = None
    impossible: bool = False   # no pattern protects it (rather than bad data)


class SafeWriter:
    """Release protected tables into ``export_dir``, evidence into ``evidence_dir``.

    ``provenance`` records how the run was made: e.g. ``{"script": ...,
    "config_path": ..., "config_sha256": ...}``.  Use one writer per export
    folder and run: it remembers what it released so linked tables are
    suppressed consistently and differencing between them is checked.

    Two ways to release:

    * a batch (``with writer.batch() as batch: batch.frequency_table(...)``):
      every table is built at once, tables sharing cells are protected
      jointly, as one problem, when the batch is released, and only then
      written.  Use one batch for all tables of an export.
    * one table per call (``writer.frequency_table(...)``): protected and
      written at once.  A table that shares cells with tables released
      before keeps their pattern, which can make it impossible to protect
      (then it fails, and nothing of it is written).
    """

    def __init__(self, export_dir: str | Path, evidence_dir: str | Path, rules: DisclosureRules | None = None,
                 provenance: Mapping[str, Any] | None = None, replace_existing: bool = False):
        self.export_dir = Path(export_dir).resolve()
        self.evidence_dir = Path(evidence_dir).resolve()
        if self.evidence_dir == self.export_dir or self.export_dir in self.evidence_dir.parents:
            raise ValueError("the evidence folder must not be inside the export folder (evidence is disclosive)")
        if self.evidence_dir in self.export_dir.parents:
            raise ValueError("the export folder must not be inside the evidence folder")
        self.rules = rules or DisclosureRules()
        self.provenance = {str(k): _plain(v) for k, v in (provenance or {}).items()}
        self.export_dir.mkdir(parents=True, exist_ok=True)
        self.evidence_dir.mkdir(parents=True, exist_ok=True)
        manifest = self.export_dir / MANIFEST_NAME
        existing = [p for p in self.export_dir.iterdir()]
        if existing:
            if not replace_existing:
                raise ValueError(
                    f"export folder {self.export_dir} is not empty; use a new folder per run, or pass "
                    "replace_existing=True to remove the files of the previous release listed in its manifest"
                )
            self._remove_previous(manifest)
        self._open_batch: ReleaseBatch | None = None
        self._queue: ReleaseBatch | None = None
        self._released: list[TableModel] = []
        self._released_keys: list[set[str]] = []
        self._unit_sets: dict[tuple[str, str], list[tuple[str, str, np.ndarray]]] = {}
        self._unit_index: dict[str, pd.Index] = {}
        self._names: set[str] = set()

    # ------------------------------------------------------------------ tables

    def frequency_table(self, data: pd.DataFrame, *, name: str, unit: str | Sequence[str],
                        dimensions: Sequence[str], hierarchies: Mapping[str, Mapping] | None = None,
                        margins: bool | Sequence[str] = True, metadata: Mapping[str, Any] | None = None,
                        unit_labels: Sequence[str] | None = None,
                        identities: Sequence[Mapping[str, Any]] = (),
                        hidden_leaves: Sequence[str] = ()) -> ReleaseResult:
        """Number of distinct units per cell (the first unit column is published;
        every unit column must reach ``min_units``).  ``identities``: as for
        :meth:`magnitude_table`.  ``hidden_leaves``: dimensions (each with a hierarchy) whose
        leaves are never published, only the hierarchy's aggregates: finer groups that other
        tables' definitions refer to (households by number of domains, with their exact domain
        profiles as leaves, tied by ``identities`` to the households per domain), so that the
        protection knows what an intruder can combine; a hidden leaf has no protection
        requirement of its own (it is not published)."""
        return self._grid_release(data, name=name, unit=unit, dimensions=dimensions, values=(),
                                  statistic="count", hierarchies=hierarchies, margins=margins,
                                  metadata=metadata, unit_labels=unit_labels, show_counts=True,
                                  identities=identities, hidden_leaves=hidden_leaves)

    def magnitude_table(self, data: pd.DataFrame, *, name: str, unit: str | Sequence[str],
                        dimensions: Sequence[str], values: str | Sequence[str], statistic: str = "sum",
                        hierarchies: Mapping[str, Mapping] | None = None, margins: bool | Sequence[str] = True,
                        show_counts: bool = True, metadata: Mapping[str, Any] | None = None,
                        unit_labels: Sequence[str] | None = None, value_dimensions: Sequence[str] = (),
                        ranked: str | None = None, panel: str | None = None,
                        identities: Sequence[Mapping[str, Any]] = (),
                        value_groups: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
                        values_together: bool = False) -> ReleaseResult:
        """Sum or mean of value column(s) per cell, with dominance and p%-rule on
        the contributions of the distinct units (the first unit column).

        ``value_dimensions``: dimensions that split each unit's amount (a
        household's costs by domain and year) rather than classify the unit;
        the export-wide audit links them with the same parts of the amount in
        other tables.  ``value_groups``: per value dimension, the categories that are
        groups of another table's finer codes (``{"domein": {"justitie": ["politie",
        "detentie"]}}``), so the audit links a group's amount with its parts.
        ``values_together``: every layer of a cell (its count and each value column) is one
        decision, suppressed or published alike; for value columns that are the same amounts
        under other assumptions (costs at other prices), where one published beside a
        suppressed other would give it back.  ``ranked``: a dimension whose categories are groups of
        units ranked by this amount, most expensive first (a unit in an
        earlier group has at least the amount of any unit in a later one).
        ``panel``: a dimension in whose every category every unit is by design (a
        cohort followed over periods, zero costs included): a cell holding all
        units of its margin along it is the design, not a group disclosure, so the
        full-cell rule does not apply along it.  ``identities``: definitions that tie the
        table's rows to another table's (see :class:`disclosure_control.model.Identity`, given
        as dicts of its fields): the two tables are protected as one problem with them."""
        if statistic not in ("sum", "mean"):
            raise ValueError("statistic must be 'sum' or 'mean' (minimum/maximum are never released)")
        values = [values] if isinstance(values, str) else list(values)
        if not values:
            raise ValueError("give at least one value column")
        return self._grid_release(data, name=name, unit=unit, dimensions=dimensions, values=values,
                                  statistic=statistic, hierarchies=hierarchies, margins=margins,
                                  metadata=metadata, unit_labels=unit_labels, show_counts=show_counts,
                                  value_dimensions=value_dimensions, ranked=ranked, panel=panel,
                                  identities=identities, value_groups=value_groups,
                                  values_together=values_together)

    def cluster_profiles(self, data: pd.DataFrame, *, name: str, unit: str | Sequence[str], cluster: str,
                         values: Sequence[str], shares: Sequence[str] = (),
                         parts: Mapping[str, Sequence] | None = None, metadata: Mapping[str, Any] | None = None,
                         unit_labels: Sequence[str] | None = None,
                         partitions: Sequence[Sequence[str]] = (),
                         identities: Sequence[Mapping[str, Any]] = ()) -> ReleaseResult:
        """Per cluster (and in total): the number of units, the mean of each column of ``values``
        over all units of the cluster, and for each column of ``shares`` (an indicator: 0/1,
        boolean, or 0/100) the percentage of the cluster's units that have it.

        A share is a count in disguise (share x units = count) and is protected as the count of
        the units that have the indicator; a mean is a sum in disguise and rests on the units
        that contribute to it (a non-zero amount).  ``parts`` says which part of an amount a
        value column is: ``{"kosten_wmo": ("kosten", {"domein": "wmo"}), "kosten_totaal":
        ("kosten", {})}``, so the export-wide audit links it with the same costs in other
        tables (a code may be a list of codes: a group of domains).  ``partitions``: groups of
        ``shares`` columns of which every unit has exactly one (the household types): where their
        counts add up to the number of units in every row, the table publishes that identity (its
        shares add up to 100%, so a suppressed one is the rest) and is protected with it.
        ``identities``: as for :meth:`frequency_table`, on the shares' counts (column
        ``pct_<share>``) or ``n_<unit>``.
        """
        values, shares = list(values), list(shares)
        if set(values) & set(shares):
            raise ValueError("a column cannot be both a value and a share")
        partitions = [list(group) for group in partitions]
        if any(column not in shares for group in partitions for column in group):
            raise ValueError("a partition names a column that is not a share")
        frame = data.copy()
        for column in shares:
            if column in frame.columns:
                frame[column] = (pd.to_numeric(frame[column]) != 0).astype(np.int8)
        return self._grid_release(frame, name=name, unit=unit, dimensions=[cluster], values=shares + values,
                                  statistic="mean", hierarchies=None, margins=True, metadata=metadata,
                                  unit_labels=unit_labels, show_counts=True,
                                  profile=(shares, dict(parts or {}), partitions), identities=identities)

    def aggregated_table(self, table: pd.DataFrame, *, name: str, dimensions: Sequence[str],
                         count_column: str, value_column: str | None = None, statistic: str = "count",
                         top_columns: Sequence[str] = (), hierarchies: Mapping[str, Mapping] | None = None,
                         margins_included: bool = False, unit_label: str = "units",
                         metadata: Mapping[str, Any] | None = None) -> ReleaseResult:
        """Release a table that arrives aggregated, with per-cell unit counts and
        (for sums/means) the largest contributions of each cell in ``top_columns``
        (largest first, at least two for the p%-rule).

        ``margins_included=False``: margins are computed here, which assumes every
        unit is in exactly one category of each dimension (then counts, sums and
        largest contributions of margins follow from the cells).
        ``margins_included=True``: ``table`` holds the total rows (``total_label``)
        with their own counts and largest contributions.
        """
        result = self._start(name, metadata)
        if isinstance(result, ReleaseResult):
            return result
        metadata = result
        try:
            model = aggregated_model(self.rules, table, name, dimensions, count_column, value_column, statistic,
                                     list(top_columns), hierarchies, margins_included, unit_label, metadata)
        except ValueError as error:
            return self._fail(name, metadata, [str(error)])
        return self._release(model, metadata, kind=f"aggregated {statistic} table")

    def concentration(self, data: pd.DataFrame, *, name: str, unit: str, value: str,
                      top_shares: Sequence[float] = (0.01, 0.02, 0.05, 0.10, 0.20, 0.50),
                      segments: str = "top", by: str | None = None,
                      metadata: Mapping[str, Any] | None = None, unit_label: str | None = None) -> ReleaseResult:
        """Share of the total held by the top x% of units (``segments="top"``),
        or by each band between consecutive cut points (``segments="bands"``,
        Lorenz segments).  Every segment and every band an attacker can derive
        from published segments is a magnitude cell; cut-off values are never
        published."""
        result = self._start(name, metadata)
        if isinstance(result, ReleaseResult):
            return result
        metadata = result
        try:
            model, unit_sets = concentration_model(self.rules, data, name, unit, value, top_shares, segments, by,
                                                   metadata, unit_label)
        except ValueError as error:
            return self._fail(name, metadata, [str(error)])
        return self._release(model, metadata, kind="concentration", unit_sets=unit_sets)

    def association_rules(self, data: pd.DataFrame, *, name: str, unit: str, items: Sequence[str],
                          rules: Sequence[tuple[Sequence[str], Sequence[str]]],
                          metadata: Mapping[str, Any] | None = None, unit_label: str | None = None) -> ReleaseResult:
        """Counts behind association rules between item (domain) indicators.

        ``data`` has one row per unit (or several, combined with "any"), boolean
        item columns; each rule is (antecedent items, consequent items).  A rule
        is released with its counts, support, confidence and lift only when the
        antecedent, the rule and the antecedent-without-consequent all rest on at
        least ``min_units`` units and its confidence is not (near) 100%.
        """
        result = self._start(name, metadata)
        if isinstance(result, ReleaseResult):
            return result
        metadata = result
        try:
            model = association_model(self.rules, data, name, unit, list(items), rules, metadata, unit_label)
        except ValueError as error:
            return self._fail(name, metadata, [str(error)])
        return self._release(model, metadata, kind="association rules")

    def percentiles(self, data: pd.DataFrame, *, name: str, unit: str, value: str,
                    percentiles: Sequence[float] = (0.5,), dimensions: Sequence[str] = (),
                    hierarchies: Mapping[str, Mapping] | None = None, margins: bool = True,
                    metadata: Mapping[str, Any] | None = None, unit_label: str | None = None) -> ReleaseResult:
        """Medians/percentiles, only when the rules allow them.  Each is the mean
        of the ``min_units`` unit values around its position, never one unit's
        value; the number of units per cell is published and protected."""
        result = self._start(name, metadata)
        if isinstance(result, ReleaseResult):
            return result
        metadata = result
        if not self.rules.allow_percentiles:
            return self._fail(name, metadata, ["percentiles are not allowed by the rules (allow_percentiles = false)"])
        bad = [q for q in percentiles if not 0 < q < 1]
        if bad:
            return self._fail(name, metadata, [f"percentiles must lie strictly between 0 and 1 "
                                               f"(0 and 1 are the minimum and maximum): {bad}"])
        try:
            model, unit_sets = percentile_model(self.rules, data, name, unit, value, list(percentiles),
                                                list(dimensions), hierarchies, margins, metadata, unit_label)
        except ValueError as error:
            return self._fail(name, metadata, [str(error)])
        return self._release(model, metadata, kind="percentiles", unit_sets=unit_sets)

    def model_table(self, coefficients: pd.DataFrame, *, name: str, residual_df: int | None = None,
                    n_observations: int, metadata: Mapping[str, Any] | None = None, decimals: int = 4,
                    row_units: str | Sequence[str] | Sequence[int] | None = None,
                    row_residual_df: str | Sequence[int] | None = None,
                    n_parameters: int | str | Sequence[int] | None = None,
                    standard_errors: str | Sequence[str] | None = None,
                    unit_label: str = "units", observations_in_notes: bool = True) -> ReleaseResult:
        """Coefficient table of a model (estimates, means with standard errors,
        correlations, association measures), released row by row; residuals
        and predictions are refused.

        ``residual_df``: residual degrees of freedom of the model, counted in
        independent units (households, not household-periods; clusters minus
        parameters for clustered standard errors); below ``min_residual_df``
        the table fails.  Per row (see :func:`disclosure_control.models.model_row_checks`):
        ``row_units`` the independent units behind the row (a column name, a
        list of column names, one per group behind the row, or one number per
        row), ``row_residual_df`` the residual degrees of freedom of the row's
        model (rows from different models), ``n_parameters`` its parameters,
        ``standard_errors`` the standard error columns (default: columns named
        so).  Columns named here are not published.  A row with fewer than
        ``min_units`` units in a group, fewer than ``min_residual_df`` residual
        degrees of freedom, a standard error of 0 (or undefined), or that is
        exactly identified (units <= parameters) is suppressed (its numbers
        shown as the suppression symbol), with the reason in the evidence; the
        table fails only when every row fails.  ``observations_in_notes=False``:
        the notes do not state the number of observations and degrees of freedom
        (where they would give back a count another table suppresses).
        """
        result = self._start(name, metadata)
        if isinstance(result, ReleaseResult):
            return result
        metadata = result
        try:
            model = model_table_model(
                self.rules, coefficients, name=name, residual_df=residual_df, n_observations=n_observations,
                metadata=metadata, decimals=decimals, row_units=row_units, row_residual_df=row_residual_df,
                n_parameters=n_parameters, standard_errors=standard_errors, unit_label=unit_label,
                observations_in_notes=observations_in_notes)
        except RefusedTable as refused:
            return self._fail(name, metadata, refused.reasons)
        return self._release(model, metadata, kind="model coefficients")

    # --------------------------------------------------------------- builders

    def _grid_release(self, data, *, name, unit, dimensions, values, statistic, hierarchies, margins,
                      metadata, unit_labels, show_counts, value_dimensions=(), ranked=None,
                      profile=None, panel=None, identities=(), value_groups=None,
                      values_together=False, hidden_leaves=()) -> ReleaseResult:
        result = self._start(name, metadata)
        if isinstance(result, ReleaseResult):
            return result
        metadata = result
        units = [unit] if isinstance(unit, str) else list(unit)
        labels = list(unit_labels) if unit_labels else [default_unit_label(u, i) for i, u in enumerate(units)]
        dimensions = list(dimensions)
        reasons = input_problems(data, units, dimensions, values)
        reasons += [f"value dimension {d!r} is not a dimension of the table" for d in value_dimensions
                    if d not in dimensions]
        reasons += [f"value_groups names {d!r}, which is not a value dimension" for d in (value_groups or {})
                    if d not in value_dimensions]
        if ranked is not None and ranked not in dimensions:
            reasons.append(f"ranked dimension {ranked!r} is not a dimension of the table")
        if panel is not None and panel not in dimensions:
            reasons.append(f"panel dimension {panel!r} is not a dimension of the table")
        reasons += [f"hidden_leaves names {d!r}, which is not a dimension with a hierarchy" for d in hidden_leaves
                    if d not in dimensions or not (hierarchies or {}).get(d)]
        if reasons:
            return self._fail(name, metadata, reasons)
        try:
            codes = leaf_codes(data, dimensions)
            grid = table_grid(codes, dimensions, hierarchies, margins, self.rules.total_label,
                              dimension_orders(data, dimensions))
            stats, kept = cell_statistics(data, grid, codes, units, values, max(2, self.rules.dominance_n),
                                          keep_units=True)
            model = grid_model(name, str(metadata.get("population", "")), grid, stats, self.rules, units, labels,
                               values, statistic, show_counts,
                               panel_axes=() if panel is None else (dimensions.index(panel),))
        except ValueError as error:
            return self._fail(name, metadata, [str(error)])
        attach_memberships(model, kept, universe=str(metadata.get("universe") or labels[0]),
                           value_dimensions=value_dimensions, value_groups=value_groups)
        if hidden_leaves:
            hide_leaves(model, grid, hidden_leaves)
        if values_together:
            model.layer_mode, model.implies = "together", []
        if profile is not None:
            as_profile(model, *profile)
        if ranked is not None:
            model.rank_chains = ranked_chains(model, grid, ranked)
        try:
            model.identities = [Identity(**dict(identity)) for identity in identities]
        except TypeError as error:
            return self._fail(name, metadata, [f"identities: {error}"])
        for identity in model.identities:
            note = f"Protected together with {identity.table}: {identity.text}"
            if note not in model.notes:     # several identities of one definition (one per domain)
                model.notes.append(note)
        kind = "frequency table" if statistic == "count" else f"magnitude table ({statistic})"
        unit_sets = (labels[0], kept) if self.rules.differencing_check else None
        return self._release(model, metadata, kind=kind, unit_sets=unit_sets)

    def _start(self, name: str, metadata) -> dict | ReleaseResult:
        if self._open_batch is not None and self._queue is None:
            raise RuntimeError("a release batch is open on this writer: add tables through the batch "
                               "(batch.frequency_table(...)), or release it first")
        if not isinstance(name, str) or not _NAME_PATTERN.match(name):
            raise ValueError(f"table name {name!r} must be letters, digits, '_' or '-' (it becomes a file name)")
        if name in self._names:
            raise ValueError(f"table {name!r} was already released by this writer")
        metadata = {str(k): _plain(v) for k, v in dict(metadata or {}).items()}
        problems = []
        text = json.dumps(metadata, ensure_ascii=False, sort_keys=True)
        found = bsn_like_tokens(pd.Series([text]))
        if len(found):
            problems.append(f"metadata contains a nine-digit number that passes the BSN eleven-test: {found['token'].iloc[0]}")
        if problems:
            return self._fail(name, metadata, problems)
        return metadata

    def batch(self) -> "ReleaseBatch":
        """Collect tables and release them together (see :class:`ReleaseBatch`).

        Use one batch for all tables of an export: tables that share cells
        are then protected jointly, as one problem.
        """
        if self._open_batch is not None:
            raise RuntimeError("a release batch is already open on this writer")
        self._open_batch = ReleaseBatch(self)
        return self._open_batch

    def _related_released(self, keys: set[str]) -> list[TableModel]:
        """Released tables that share cells with ``keys``, directly or via others."""
        if not keys:
            return []
        keys = set(keys)
        chosen = [False] * len(self._released)
        changed = True
        while changed:
            changed = False
            for i, released_keys in enumerate(self._released_keys):
                if not chosen[i] and keys & released_keys:
                    chosen[i] = True
                    keys |= released_keys
                    changed = True
        return [m for m, c in zip(self._released, chosen) if c]

    def _release(self, model: TableModel, metadata: dict, kind: str, unit_sets=None) -> ReleaseResult:
        """Protect and write one table now, or queue it in the open batch."""
        pending = self._prepare(model, metadata, kind, unit_sets)
        if isinstance(pending, ReleaseResult):
            return pending
        self._names.add(model.name)
        if self._queue is not None:
            return self._queue._add(pending)
        linked = self._related_released(pending.keys)
        outcome = self._protect([pending], linked)[model.name]
        if isinstance(outcome, _Failure):
            self._names.discard(model.name)
            reasons = outcome.reasons
            if linked and outcome.impossible:
                reasons = reasons + [
                    "the table shares cells with tables released before it ("
                    + ", ".join(sorted(m.name for m in linked)) + "), whose published and suppressed cells "
                    "cannot change any more; release linked tables together in one SafeWriter.batch() so "
                    "they are protected jointly"]
            return self._fail(model.name, metadata, reasons, model=model, audit=outcome.audit,
                              problem=outcome.problem)
        outcomes = {model.name: outcome}
        self._audit_across([pending], outcomes)
        outcome = outcomes[model.name]
        if isinstance(outcome, _Failure):
            self._names.discard(model.name)
            return self._fail(model.name, metadata, outcome.reasons, model=model, audit=outcome.audit,
                              problem=outcome.problem)
        return self._finish(pending, outcome)

    def _audit_across(self, pendings: list["_Pending"], outcomes: dict) -> None:
        """The export-wide audit of the protected ``pendings`` with every table released before
        (whose figures can no longer change): adds the suppressions it needs to the pendings'
        statuses, or turns a table's outcome into a failure when no more suppression helps."""
        new = [p.model for p in pendings if p.model.layers and p.model.layer_status is not None]
        if not new:
            return
        audit = audit_export(list(self._released) + new, self.rules, frozen=set(range(len(self._released))))
        for pending in pendings:
            name = pending.model.name
            pending.model.population_audit = audit.for_table(pending.model.universe, name)
            if name in audit.failures and not isinstance(outcomes[name], _Failure):
                outcomes[name] = _Failure(audit.failures[name], impossible=True)

    def _prepare(self, model: TableModel, metadata: dict, kind: str, unit_sets) -> "_Pending | ReleaseResult":
        """Checks that do not depend on the suppression pattern."""
        reasons: list[str] = []
        output_columns = model.label_columns + [l.column for l in model.layers if l.display != "hidden"] \
            + list(getattr(model, "derived", {}).keys())
        for column in output_columns:
            for why in (identifier_name_reason(column), forbidden_statistic_reason(column)):
                if why:
                    reasons.append(f"output column {column!r}: {why}")
        if reasons:
            return self._fail(model.name, metadata, reasons, model=model)
        if model.label_columns:
            labels = model.labels.loc[~model.hidden, model.label_columns].astype(str).to_numpy().ravel()
            found = bsn_like_tokens(pd.Series(pd.unique(labels)))
            if len(found):
                return self._fail(model.name, metadata, [f"a label looks like a BSN (nine digits passing the "
                                                         f"eleven-test): {found['token'].iloc[0]}"], model=model)
        keys = set(np.concatenate(model.variable_keys()).tolist()) if model.layers else set()
        # Tables tied by a definition are protected as one problem, like tables that share cells.
        keys |= {f"table:{model.name}"} | {f"table:{identity.table}" for identity in model.identities}
        return _Pending(model=model, metadata=metadata, kind=kind, unit_sets=unit_sets, keys=keys)

    def _protect(self, pendings: list["_Pending"], released: list[TableModel]) -> dict:
        """Protect ``pendings`` jointly (``released`` held fixed): per table
        name a :class:`_Protection` (statuses set on the model) or a
        :class:`_Failure` for every table when the joint problem fails."""
        with_layers = [p for p in pendings if p.model.layers]
        out: dict = {}
        for p in pendings:
            if not p.model.layers:
                p.model.status = np.full(p.model.n_positions, "safe", dtype=object)
                p.model.layer_status = []
                out[p.model.name] = _Protection("no secondary suppression needed", "", pd.DataFrame(), None,
                                                [p.model.name], [])
        if not with_layers:
            return out
        models = [p.model for p in with_layers]
        names = [m.name for m in models]
        fixed_names = [m.name for m in released]

        def fail_all(reasons, impossible=False):
            for name in names:
                out[name] = _Failure(list(reasons), impossible=impossible)
            return out

        try:
            problem_data = build_problem(models, released)
        except (ValueError, ProtectionImpossible) as error:
            return fail_all([str(error)])
        except Exception as error:  # fail closed: nothing unprotected is written
            return fail_all([f"internal error while building the protection problem "
                             f"({type(error).__name__}: {error}); please report"])
        problem = problem_data.problem
        rules = self.rules
        try:
            pattern, audit_result = protect(problem, rules.milp_max_cells, rules.milp_time_limit_seconds)
        except ProtectionImpossible as error:
            # Name the cells: those the error gives, or those that not even
            # suppressing everything that may be suppressed protects.
            cells = error.cells or _unprotectable_cells(problem)
            where = "" if error.cells and re.search(r"\bcell \d+", str(error)) else \
                "; ".join(_variable_text(problem_data, released + models, c) for c in cells[:10])
            text = _cell_numbers_to_text(str(error), problem_data, released + models)
            return fail_all([f"cannot protect the table: {text}" + (f" (cells: {where})" if where else "")],
                            impossible=True)
        except Exception as error:  # fail closed: nothing unprotected is written
            return fail_all([f"internal error in the secondary suppression ({type(error).__name__}: {error}); "
                             "please report"])
        offset = len(released)
        for m_index, model in enumerate(models):
            groups = problem_data.group_of_layer[offset + m_index]
            model.set_status([pattern.suppressed_groups[g] for g in groups])
        problem_record = _problem_record(problem, pattern.suppressed_groups, problem_data.keys)
        problem_record["tables"] = [m.name for m in released + models]
        frames = {m.name: self._audit_frame(m, offset + i, problem_data, audit_result) for i, m in enumerate(models)}
        if not audit_result.passed:
            texts = [_cell_numbers_to_text(f, problem_data, released + models) for f in audit_result.failures[:20]]
            for model in models:
                out[model.name] = _Failure(["audit failed: " + t for t in texts], frames[model.name], problem_record,
                                           impossible=True)
            return out
        for model in models:
            out[model.name] = _Protection(pattern.method, pattern.note, frames[model.name], problem_record,
                                          names, fixed_names)
        return out

    def _protect_batch(self, pendings: list[_Pending]) -> dict:
        """Protect the tables of a batch: jointly per group of linked tables,
        one after another within a group whose joint problem fails."""
        released = list(self._released)
        keysets = [p.keys for p in pendings] + list(self._released_keys)
        parent = list(range(len(keysets)))

        def root(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        owner: dict[str, int] = {}
        for node, keys in enumerate(keysets):
            for key in keys:
                other = owner.setdefault(key, node)
                if other != node:
                    a, b = root(node), root(other)
                    if a != b:
                        parent[max(a, b)] = min(a, b)
        groups: dict[int, list[int]] = {}
        for node in range(len(keysets)):
            groups.setdefault(root(node), []).append(node)
        outcomes: dict = {}
        for members in sorted(groups.values(), key=min):
            group = [pendings[i] for i in members if i < len(pendings)]
            if not group:
                continue
            fixed = [released[i - len(pendings)] for i in members if i >= len(pendings)]
            joint = self._protect(group, fixed)
            failed = [n for n, o in joint.items() if isinstance(o, _Failure)]
            if not failed or len([p for p in group if p.model.layers]) <= 1:
                outcomes.update(joint)
                continue
            # The joint problem failed: one table after another, each keeping
            # the pattern of the linked tables protected before it.
            why = "; ".join(joint[failed[0]].reasons[:3])
            names = ", ".join(p.model.name for p in group)
            before: list[TableModel] = []
            for pending in group:
                name = pending.model.name
                outcome = self._protect([pending], fixed + before)[name]
                if isinstance(outcome, _Failure):
                    outcome.reasons.append(f"the linked tables {names} could not be protected jointly ({why}); "
                                           "each was then protected keeping the pattern of those before it")
                else:
                    outcome.note = "; ".join(filter(None, [outcome.note, (
                        f"the linked tables {names} could not be protected jointly ({why}); protected keeping "
                        "the pattern of the linked tables before it")]))
                    if pending.model.layers:
                        before.append(pending.model)
                outcomes[name] = outcome
        return outcomes

    def _finish(self, pending: "_Pending", protection: "_Protection") -> ReleaseResult:
        """Write a protected table, its notes, manifest entry and evidence."""
        model, metadata, kind = pending.model, pending.metadata, pending.kind
        name = model.name
        table = self._published_table(model)
        numeric_columns = [c for c in table.columns if c not in model.label_columns]
        # A published amount must not look like a nine-digit identifier.
        found = bsn_like_tokens(pd.Series(pd.unique(table[numeric_columns].astype(str).to_numpy().ravel()))) \
            if numeric_columns else pd.DataFrame()
        if len(found):
            self._names.discard(name)
            return self._fail(name, metadata, [f"a published value looks like a BSN ({found['token'].iloc[0]}); "
                                               "use magnitude_decimals >= 1"], model=model)
        suppressed = np.isin(model.status, ["primary", "secondary"])
        review_cells = np.flatnonzero(model.review & suppressed) if model.review is not None else np.array([], int)
        review_notes = [f"cell {self._cell_text(model, i)}: negative contributions; suppressed, rules need a "
                        "manual check" for i in review_cells]
        published_sets = None
        if pending.unit_sets is not None and self.rules.differencing_check:
            published_sets = self._published_unit_sets(model, pending.unit_sets)
        differencing = self._differencing(model, published_sets) if published_sets is not None else []
        warnings: list[str] = []
        written, _ = self._write(model, table, metadata, kind, numeric_columns, warnings)
        hashes = {p.name: sha256_of(p) for p in written}
        status_word = "review" if (review_notes or differencing) else "pass"
        self._update_manifest(model, table, hashes, status_word, kind, protection)
        evidence_path = self._write_evidence(model, metadata, kind, status_word, review_notes + differencing,
                                             protection, hashes, warnings)
        if model.layers:
            self._released.append(model)
            self._released_keys.append(pending.keys)
        if published_sets is not None:
            self._remember_units(model, published_sets)
        return ReleaseResult(
            name=name, status=status_word, table=table, written=written, evidence=evidence_path,
            reasons=review_notes + differencing, warnings=warnings,
            primary_suppressed=int((model.status == "primary").sum()),
            secondary_suppressed=int((model.status == "secondary").sum()),
            method=protection.method, audit=protection.audit,
        )

    def _display_values(self, model: TableModel, layer: Layer) -> np.ndarray:
        """The true value of the published statistic of a layer (count, sum,
        mean or percentage), NaN for a mean without units."""
        if layer.display in ("count", "sum", "hidden"):
            return np.asarray(layer.values, dtype=float)
        if layer.display == "mean":
            counts = [l.values for l in model.layers if l.statistic == "count"]
            if counts:
                n = np.asarray(counts[0], dtype=float)
            else:
                n_columns = [c for c in model.evidence.columns if c.startswith("n_")]
                n = model.evidence[n_columns[0]].to_numpy(dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(n > 0, layer.values / n, np.nan)
        if layer.display == "share":
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(layer.share_of > 0, layer.values / layer.share_of * 100, 0.0)
        raise ValueError(f"unknown display {layer.display!r}")

    def _published_table(self, model: TableModel) -> pd.DataFrame:
        rules = self.rules
        shown = ~model.hidden
        out = model.labels.loc[shown].reset_index(drop=True).astype(str)
        for layer, status in zip(model.layers, model.layer_status):
            if layer.display == "hidden":
                continue
            values = self._display_values(model, layer)
            if layer.display == "count":
                rounded = round_counts(values, rules.rounding_base)
                text = rounded.astype(np.int64).astype(str).astype(object)
            elif layer.display == "share":
                text = format_number(values, rules.share_decimals)
            else:
                text = format_number(np.nan_to_num(values), rules.magnitude_decimals)
                if layer.display == "mean":
                    text = np.where(np.isnan(values), ".", text)
            suppressed = np.isin(status, ["primary", "secondary"])
            text = np.where(suppressed, rules.suppressed_symbol, text)
            out[layer.column] = text[shown]
        suppressed_any = np.isin(model.status, ["primary", "secondary"])
        for column, text in getattr(model, "derived", {}).items():
            out[column] = np.where(suppressed_any, rules.suppressed_symbol, text)[shown]
        return out

    def _notes(self, model: TableModel, metadata: dict, kind: str) -> str:
        rules = self.rules
        lines = [f"Table: {model.name}"]
        for key in ("title", "unit", "population", "period"):
            if key in metadata:
                lines.append(f"{key.capitalize()}: {metadata[key]}")
        lines.append(f"Kind: {kind}")
        extra = {k: v for k, v in metadata.items() if k not in _KNOWN_METADATA}
        for key in sorted(extra):
            lines.append(f"{key.replace('_', ' ').capitalize()}: {extra[key]}")
        notes = metadata.get("notes")
        if notes:
            lines.append("")
            lines.extend([notes] if isinstance(notes, str) else [str(n) for n in notes])
        lines.append("")
        lines.append(f"'{rules.suppressed_symbol}' = suppressed for statistical disclosure control: the cell rests "
                     "on too few units, is dominated by one or two units, reveals a group, or was suppressed so "
                     "that another suppressed cell cannot be recomputed from the totals.")
        if any(l.display == "mean" for l in model.layers):
            lines.append("'.' = no units in this cell (a mean is undefined).")
            if any(l.display == "count" for l in model.layers):
                lines.append("A mean can be suppressed while the number of units beside it is published (the "
                             "number of units reveals nothing about the amounts); a suppressed number of units "
                             "always has its mean suppressed too.")
        if model.label_columns:
            lines.append(f"'{rules.total_label}' rows and columns are totals over all categories.")
        if rules.rounding_base and any(l.display == "count" for l in model.layers) or (
                rules.rounding_base and getattr(model, "derived", None)):
            lines.append(f"Counts are rounded to multiples of {rules.rounding_base}; percentages are computed from "
                         "the published counts.")
        lines.extend(model.notes)
        lines.append("")
        lines.append(f"Disclosure control: at least {rules.min_units} units per cell; dominance ({rules.dominance_n}, "
                     f"{rules.dominance_k:.0%}); p%-rule p = {rules.p_percent:.0%}; secondary suppression audited "
                     f"with a protection level of {rules.protection_level:.0%}.")
        lines.append(f"Written by disclosure_control {__version__} (SafeWriter).")
        return "\n".join(lines) + "\n"

    def _write(self, model, table, metadata, kind, numeric_columns, warnings) -> tuple[list[Path], str]:
        notes = self._notes(model, metadata, kind)
        fmt = self.rules.output_format
        if fmt == "xlsx" and not openpyxl_available():
            warnings.append("openpyxl is not installed: written as CSV instead of XLSX")
            fmt = "csv"
        written = []
        if fmt == "xlsx":
            path = self.export_dir / f"{model.name}.xlsx"
            write_xlsx(table, notes, path, set(numeric_columns))
        else:
            path = self.export_dir / f"{model.name}.csv"
            write_csv(table, path, fmt)
        written.append(path)
        notes_path = self.export_dir / f"{model.name}{NOTES_SUFFIX}"
        notes_path.write_bytes(notes.replace("\n", "\r\n" if fmt == "csv_nl" else "\n").encode("utf-8"))
        written.append(notes_path)
        return written, notes

    def _update_manifest(self, model, table, hashes, status, kind, protection: "_Protection") -> None:
        path = self.export_dir / MANIFEST_NAME
        manifest = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {
            "format": 1, "writer": "disclosure_control.SafeWriter", "tables": {}}
        manifest["writer_version"] = __version__
        manifest["rules"] = self.rules.as_dict()
        manifest["rules_sha256"] = self.rules.fingerprint()
        # Script name and config hash only: nothing here is disclosive.
        manifest["provenance"] = {k: v for k, v in self.provenance.items() if k in ("script", "config_sha256")}
        count_columns = [l.column for l in model.layers if l.display == "count"] + \
            [c for c in getattr(model, "derived", {}) if c.startswith("n_")]
        suppressed_entries = sum(int(np.isin(status_[~model.hidden], ["primary", "secondary"]).sum())
                                 for layer, status_ in zip(model.layers, model.layer_status or [])
                                 if layer.display != "hidden")
        if getattr(model, "derived", None):
            suppressed_entries += len(model.derived) * int(
                np.isin(model.status[~model.hidden], ["primary", "secondary"]).sum())
        manifest["tables"][model.name] = {
            "kind": kind,
            "status": status,
            "audit_passed": True,
            "files": hashes,
            "evidence_file": f"{model.name}{EVIDENCE_SUFFIX}",
            "label_columns": model.label_columns,
            "count_columns": count_columns,
            "statistic_columns": [c for c in table.columns if c not in model.label_columns],
            "rows": int(len(table)),
            "suppressed_cells": suppressed_entries,
            # Tables protected as one problem with this one (shared cells
            # suppressed alike), and released tables whose pattern it kept.
            "protected_with": sorted(n for n in protection.joint if n != model.name),
            "linked_released_before": sorted(protection.fixed),
            # Definitions tying its rows to another table's, held in that joint problem.
            "identities": [f"{i.table}: {i.text}" for i in model.identities],
            # The export-wide audit: the other tables about the same units, audited with this one.
            "same_population": model.population_audit.tables if model.population_audit else [],
            "population_universe": model.universe,
            "export_audit": _export_audit_summary(model),
        }
        path.write_bytes((json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))

    def _audit_frame(self, model: TableModel, m_index: int, problem_data, audit_result) -> pd.DataFrame:
        """Audit intervals of the suppressed cells of one table (amount layers
        on the scale of sums, named ``sum_<value>``)."""
        intervals = audit_result.intervals
        known = intervals["cell"].to_numpy()
        order = np.argsort(known, kind="stable")
        known_sorted = known[order]
        parts = []
        cell_text = self._cell_texts(model)
        for l_index, layer in enumerate(model.layers):
            status = model.layer_status[l_index]
            positions = np.flatnonzero(np.isin(status, ["primary", "secondary"]))
            variables = problem_data.variable_of[m_index][l_index][positions]
            where = np.searchsorted(known_sorted, variables)
            found = (where < len(known_sorted)) & (known_sorted[np.minimum(where, len(known_sorted) - 1)] == variables) \
                if len(known_sorted) else np.zeros(len(variables), dtype=bool)
            positions, rows = positions[found], order[where[found]]
            record = intervals.iloc[rows].reset_index(drop=True)
            parts.append(pd.DataFrame({
                "position": positions.astype(int), "cell": cell_text[positions], "layer": quantity_name(layer),
                "status": status[positions], "value": record["value"].to_numpy(dtype=float),
                "feasible_lower": record["feasible_lower"].to_numpy(dtype=float),
                "feasible_upper": record["feasible_upper"].to_numpy(dtype=float),
                "required_lower": record["required_lower"].to_numpy(dtype=float),
                "required_upper": record["required_upper"].to_numpy(dtype=float),
                "protected": record["protected"].to_numpy(dtype=bool),
            }))
        columns = ["position", "cell", "layer", "status", "value", "feasible_lower", "feasible_upper",
                   "required_lower", "required_upper", "protected"]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)

    def _cell_texts(self, model: TableModel) -> np.ndarray:
        """``dim=code, dim=code`` of every position (``row n`` without labels)."""
        if not model.label_columns:
            return np.array([f"row {i + 1}" for i in range(model.n_positions)], dtype=object)
        text = None
        for column in model.label_columns:
            part = column + "=" + model.labels[column].astype(str).reset_index(drop=True)
            text = part if text is None else text + ", " + part
        return text.to_numpy(dtype=object)

    def _cell_text(self, model: TableModel, position: int) -> str:
        if not model.label_columns:
            return f"row {position + 1}"
        row = model.labels.iloc[position]
        return ", ".join(f"{c}={row[c]}" for c in model.label_columns)

    def _evidence_cells(self, model: TableModel) -> pd.DataFrame:
        """Per position: labels, overall and per-statistic status, true values
        (named for what they hold), protection levels and the primary evidence."""
        columns: dict[str, object] = {"status": model.status}
        for layer, status in zip(model.layers, model.layer_status):
            quantity = quantity_name(layer)
            columns[f"status_{quantity}"] = status
            columns[f"true_{quantity}"] = layer.values
            if layer.column != quantity and layer.display in ("mean", "share"):
                # The published statistic itself: the mean (sum / units) or the percentage.
                columns[f"true_{layer.column}"] = self._display_values(model, layer)
            columns[f"upl_{quantity}"] = layer.upper_protection
            columns[f"lpl_{quantity}"] = layer.lower_protection
        for column in model.evidence.columns:
            columns[column] = model.evidence[column].to_numpy()
        labels = model.labels.reset_index(drop=True)
        labels = labels.drop(columns=[c for c in columns if c in labels.columns])
        return pd.concat([labels, pd.DataFrame(columns, index=labels.index)], axis=1)

    def _write_evidence(self, model, metadata, kind, status, review, protection: "_Protection", hashes,
                        warnings) -> Path:
        cells = self._evidence_cells(model)
        cells_path = self.evidence_dir / f"{model.name}.cells.csv"
        cells.to_csv(cells_path, index=False, encoding="utf-8", lineterminator="\n")
        record = {
            "table": model.name, "kind": kind, "status": status, "review": review, "warnings": warnings,
            "metadata": metadata, "provenance": self.provenance, "rules": self.rules.as_dict(),
            "rules_sha256": self.rules.fingerprint(), "writer_version": __version__,
            "released_files": hashes, "secondary_method": protection.method,
            "secondary_note": protection.note,
            "protected_with": sorted(n for n in protection.joint if n != model.name),
            "linked_released_before": sorted(protection.fixed),
            "label_columns": model.label_columns,
            "cells_file": cells_path.name,
            "cells": _records(cells),
            "audit": {"passed": True, "intervals": _records(protection.audit)},
            "problem": protection.problem,
            # Every suppressed figure of this table, audited against every published figure of
            # every table about the same units (see disclosure_control/population.py).
            "export_audit": _export_audit_evidence(model),
        }
        path = self.evidence_dir / f"{model.name}{EVIDENCE_SUFFIX}"
        _write_json(path, record)
        return path

    def _fail(self, name, metadata, reasons, model: TableModel | None = None, audit: pd.DataFrame | None = None,
              problem=None) -> ReleaseResult:
        record = {
            "table": name, "status": "fail", "reasons": reasons, "metadata": metadata,
            "provenance": self.provenance, "rules": self.rules.as_dict(), "released_files": {},
            "audit": {"passed": False, "intervals": _records(audit) if audit is not None else []},
            "problem": problem,
        }
        path = self.evidence_dir / f"{name}{EVIDENCE_SUFFIX}"
        _write_json(path, record)
        return ReleaseResult(name=name, status="fail", table=None, written=[], evidence=path, reasons=list(reasons),
                             audit=audit)

    # --------------------------------------------------------- differencing

    def _writer_unit_codes(self, label: str, ids: np.ndarray) -> np.ndarray:
        """Writer-wide code of every unit id in ``ids``, equal ids equal codes: a whole-number
        id is its own code (no look-up over millions of households), any other id a negative
        code from an index of the ids seen so far."""
        ids = np.asarray(ids)
        if ids.dtype.kind in "iu" or (ids.dtype == object and pd.api.types.infer_dtype(ids) == "integer"):
            return ids.astype(np.int64)
        return -1 - self._indexed_unit_codes(label, ids)

    def _indexed_unit_codes(self, label: str, ids: np.ndarray) -> np.ndarray:
        seen = pd.Index(pd.unique(ids))
        index = self._unit_index.get(label)
        if index is None:
            index = seen
        else:
            new = seen.difference(index, sort=False)
            if len(new):
                index = index.append(new)
        self._unit_index[label] = index
        return index.get_indexer(ids)

    def _position_keys(self, model: TableModel) -> np.ndarray:
        keys = model.variable_keys()
        if not keys:
            return np.array([""] * model.n_positions, dtype=object)
        # Drop the population part: the same classification cell of another population.
        return pd.Series(keys[0], dtype=object).str.split("|", n=2).str[2].to_numpy(dtype=object)

    def _published_unit_sets(self, model: TableModel, unit_sets) -> tuple[str, dict]:
        """Per published position (any statistic shown) the writer-wide codes of its units."""
        label, pairs = unit_sets
        codes = self._writer_unit_codes(label, pairs.ids)[pairs.unit]
        cell = pairs.cell
        if len(cell) > 1 and np.any(cell[1:] < cell[:-1]):
            order = np.argsort(cell, kind="stable")
            cell, codes = cell[order], codes[order]
        bounds = np.searchsorted(cell, np.arange(model.n_positions + 1))
        published = np.zeros(model.n_positions, dtype=bool)
        for status in (model.layer_status or [model.status]):
            published |= status == "safe"
        return label, {int(p): codes[bounds[p]:bounds[p + 1]] for p in np.flatnonzero(published)}

    def _differencing(self, model: TableModel, published_sets) -> list[str]:
        if not self.rules.differencing_check:
            return []
        label, sets = published_sets
        keys = self._position_keys(model)
        findings = []
        m = self.rules.min_units
        for position, units in sets.items():  # loops over published cells, not rows
            for other_table, other_population, other_units in self._unit_sets.get((label, keys[position]), []):
                if other_population == model.population:
                    continue
                difference = abs(len(units) - len(other_units))
                if not 0 < difference < m:
                    continue
                common = np.intersect1d(units, other_units, assume_unique=True).size
                if common == min(len(units), len(other_units)):
                    findings.append(
                        f"differencing: cell {self._cell_text(model, position)} differs from the same cell of "
                        f"table {other_table!r} (population {other_population!r}) by {difference} {label} (< {m})"
                    )
        return findings

    def _remember_units(self, model: TableModel, published_sets) -> None:
        if not self.rules.differencing_check:
            return
        label, sets = published_sets
        keys = self._position_keys(model)
        for position, units in sets.items():
            self._unit_sets.setdefault((label, keys[position]), []).append((model.name, model.population, units))

    def _remove_previous(self, manifest_path: Path) -> None:
        """Empty a folder of an earlier release, in an order a stop halfway cannot make look
        finished: the completion record first (the folder is no longer complete), then the
        files the manifest lists, the manifest last (so what is left is still described).
        A file that cannot be removed (open in another program) raises
        :class:`~disclosure_control.completion.FolderInUse` naming it.

        The pipeline never empties its export folder: it writes a fresh staging folder
        and replaces the export folder whole (see ``disclosure_control/completion.py``).
        """
        if not manifest_path.exists():
            raise ValueError(f"export folder {self.export_dir} is not empty and has no {MANIFEST_NAME}; "
                             "it was not written by the safe writer, refusing to remove anything")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        listed = {f for entry in manifest.get("tables", {}).values() for f in entry.get("files", {})}
        ordered = [self.export_dir / COMPLETION_NAME] + \
            sorted(p for p in self.export_dir.iterdir() if p.name in listed) + [manifest_path]
        for path in ordered:
            try:
                path.unlink(missing_ok=True)
            except PermissionError as error:
                raise FolderInUse(path, "remove", self.export_dir, error) from error
        left = [p.name for p in self.export_dir.iterdir()]
        if left:
            raise ValueError(f"export folder holds files the safe writer did not write: {left[:5]}")


_TABLE_METHODS = ("frequency_table", "magnitude_table", "cluster_profiles", "aggregated_table", "concentration",
                  "association_rules", "percentiles", "model_table")


class ReleaseBatch:
    """Tables collected first and released together, linked ones protected jointly.

    ::

        with writer.batch() as batch:
            batch.frequency_table(households, name="households_by_type", ...)
            batch.magnitude_table(costs, name="costs_by_type", ...)
        for result in batch.results:
            print(result.name, result.status, result.reasons)

    The table methods are those of :class:`SafeWriter`, with the same
    arguments.  Each builds its table and applies the primary rules at once
    (the unit-level data can be dropped afterwards) and returns a result with
    status "pending" (or "fail" when the table cannot be built; nothing of it
    is ever written).  :meth:`release` (called on leaving the ``with`` block)
    then, for every group of linked tables (tables that share cells, directly
    or through others), chooses the complementary suppressions of the whole
    group as one problem, so that a shared cell is suppressed or published
    alike everywhere and a later table never finds its cells fixed by an
    earlier one; tables released on this writer before the batch keep their
    pattern.  The pattern is audited, and only then are the tables written,
    in the order they were added: every table is written once, complete.

    If the joint problem of a group cannot be protected (e.g. two tables give
    the same cell different values), the group's tables are protected one
    after another in the order they were added, each keeping the pattern of
    those before it (as separate calls would), so only the tables that cannot
    be protected fail, each with its reason.  Leaving the ``with`` block with
    an exception releases nothing.
    """

    def __init__(self, writer: SafeWriter):
        self._writer = writer
        self._entries: list = []          # _Pending or ReleaseResult (failed when built), in call order
        self.results: list[ReleaseResult] | None = None

    def __enter__(self) -> "ReleaseBatch":
        return self

    def __exit__(self, kind, value, traceback) -> bool:
        if kind is not None:
            self.discard()
            return False
        if self.results is None:
            self.release()
        return False

    def _call(self, method: str, *args, **kwargs) -> ReleaseResult:
        if self.results is not None or self._writer._open_batch is not self:
            raise RuntimeError("this release batch is closed")
        writer = self._writer
        writer._queue = self
        try:
            result = getattr(writer, method)(*args, **kwargs)
        finally:
            writer._queue = None
        if result.status != "pending":
            self._entries.append(result)
        return result

    def _add(self, pending: _Pending) -> ReleaseResult:
        self._entries.append(pending)
        name = pending.model.name
        return ReleaseResult(name=name, status="pending", table=None, written=[],
                             evidence=self._writer.evidence_dir / f"{name}{EVIDENCE_SUFFIX}")

    @property
    def names(self) -> list[str]:
        """Tables added so far, in order."""
        return [e.model.name if isinstance(e, _Pending) else e.name for e in self._entries]

    def release(self) -> list[ReleaseResult]:
        """Protect every group of linked tables jointly, audit, write; the
        results in the order the tables were added (also in ``results``)."""
        writer = self._writer
        if self.results is not None:
            return self.results
        if writer._open_batch is not self:
            raise RuntimeError("this release batch is closed")
        try:
            pendings = [e for e in self._entries if isinstance(e, _Pending)]
            outcomes = writer._protect_batch(pendings)
            writer._audit_across([p for p in pendings if not isinstance(outcomes[p.model.name], _Failure)],
                                 outcomes)
            done: dict[str, ReleaseResult] = {}
            for pending in pendings:
                name = pending.model.name
                outcome = outcomes[name]
                if isinstance(outcome, _Failure):
                    writer._names.discard(name)
                    done[name] = writer._fail(name, pending.metadata, outcome.reasons, model=pending.model,
                                              audit=outcome.audit, problem=outcome.problem)
                else:
                    done[name] = writer._finish(pending, outcome)
        finally:
            writer._open_batch = None
        self.results = [done[e.model.name] if isinstance(e, _Pending) else e for e in self._entries]
        return self.results

    def discard(self) -> None:
        """Close the batch without writing anything."""
        if self._writer._open_batch is self:
            for entry in self._entries:
                if isinstance(entry, _Pending):
                    self._writer._names.discard(entry.model.name)
            self._writer._open_batch = None
        self._entries = []
        if self.results is None:
            self.results = []


def _batch_method(method: str):
    def call(self, *args, **kwargs):
        return self._call(method, *args, **kwargs)
    call.__name__ = method
    call.__doc__ = (getattr(SafeWriter, method).__doc__ or "") + "\n\n(Queued: protected and written by release().)"
    return call


for _method in _TABLE_METHODS:
    setattr(ReleaseBatch, _method, _batch_method(_method))


def _write_json(path: Path, record: dict) -> None:
    """Evidence JSON: one top-level key per line, values compact (the C
    encoder; large arrays would take long with indentation)."""
    parts = []
    for key in sorted(record):
        value = json.dumps(record[key], sort_keys=True, ensure_ascii=False, allow_nan=False,
                           separators=(",", ":"))
        parts.append(f" {json.dumps(key, ensure_ascii=False)}: {value}")
    path.write_bytes(("{\n" + ",\n".join(parts) + "\n}\n").encode("utf-8"))


def _variable_text(problem_data, models: Sequence[TableModel], variable: int) -> str:
    """Where a problem cell appears: ``table [dim=code, ...] statistic``."""
    places = []
    for m_index, l_index, position in problem_data.owners(int(variable))[:3]:
        model = models[m_index]
        if model.label_columns:
            row = model.labels.iloc[position]
            cell = ", ".join(f"{c}={row[c]}" for c in model.label_columns)
        else:
            cell = f"row {position + 1}"
        places.append(f"{model.name} [{cell}] {quantity_name(model.layers[l_index])}")
    return " = ".join(places) if places else f"cell {variable}"


def _cell_numbers_to_text(message: str, problem_data, models: Sequence[TableModel]) -> str:
    """Problem cell numbers in a message replaced by table, cell and statistic."""
    return re.sub(r"\bcell (\d+)", lambda m: _variable_text(problem_data, models, int(m.group(1))), message)


def _unprotectable_cells(problem) -> list[int]:
    try:
        return unprotectable_cells(problem)
    except Exception:  # a diagnosis only; the failure itself is reported anyway
        return []


def _export_audit_summary(model: TableModel) -> dict:
    """What the manifest says of the export-wide audit of a table (no values: they are in the evidence)."""
    audit = model.population_audit
    if audit is None:
        return {"audited": False}
    return {"audited": model.memberships is not None, "suppressed_figures_checked": int(len(audit.figures)),
            "all_protected": bool(audit.figures["protected"].all()) if len(audit.figures) else True,
            "method": _EVERY_FIGURE if audit.linear_programs else "; ".join(
                f"{_measure_text(measure)}: {_METHOD_TEXT[method]}" for measure, method in sorted(audit.methods.items()))}


_EVERY_FIGURE = "one linear program per suppressed figure over all tables of the population"
_METHOD_TEXT = {
    "programs": _EVERY_FIGURE,
    "bounded": "linear programs for the smallest suppressed figures up to their bound (a large population), "
               "identities between tables for the rest; the evidence says which",
    "identities": "identities between tables only (a large population)"}


def _measure_text(measure: str) -> str:
    return "counts" if measure == "count" else f"sums of {measure.split(':', 1)[1]}"


def _export_audit_evidence(model: TableModel) -> dict:
    """The export-wide audit of a table for the evidence: every interval, every added suppression."""
    audit = model.population_audit
    return {"population": model.universe, "tables": audit.tables if audit else [],
            "notes": audit.notes if audit else [], "added_suppressions": audit.added if audit else [],
            "figures": _records(audit.figures if audit else None)}


def _unweighted_n(model: TableModel) -> dict[str, int]:
    """Units in the whole table per unit kind (the largest cell is the grand total)."""
    out = {}
    for column in model.evidence.columns:
        if column.startswith("n_") and not column.endswith(("_rule", "_consequent")):
            out[column[2:]] = int(pd.to_numeric(model.evidence[column]).max()) if len(model.evidence) else 0
    out.update(getattr(model, "unweighted_n", {}) or {})
    return out


def _plain(value: Any) -> Any:
    """Metadata and provenance as JSON-safe plain values."""
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return _plain(value.item())
    return str(value)


def _records(frame: pd.DataFrame | None) -> list[dict]:
    """Rows as JSON-safe dicts, built column by column (numbers stay numbers,
    NaN and infinities become text, other values their plain form)."""
    if frame is None or frame.empty:
        return []
    columns = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column):
            values = column.to_numpy(dtype=bool).tolist()
        elif pd.api.types.is_integer_dtype(column) and not isinstance(column.dtype, pd.CategoricalDtype):
            values = column.to_numpy(dtype=np.int64).tolist()
        elif pd.api.types.is_float_dtype(column):
            array = column.to_numpy(dtype=float)
            values = array.tolist()
            bad = np.flatnonzero(~np.isfinite(array))
            for i in bad:  # loops over non-finite values only
                values[i] = None if np.isnan(array[i]) else str(array[i])
        else:
            values = [_plain(v) if not (isinstance(v, float) and not math.isfinite(v)) else
                      (None if v != v else str(v)) for v in column.astype(object).where(column.notna(), None)]
        columns[str(name)] = values
    names = list(columns)
    return [dict(zip(names, row)) for row in zip(*columns.values())]


def _problem_record(problem, suppressed_groups, keys) -> dict:
    """Everything needed to re-run the audit from the evidence alone."""
    def matrix(m):
        coo = m.tocoo()
        return {"shape": list(m.shape), "row": coo.row.tolist(), "col": coo.col.tolist(), "data": coo.data.tolist()}

    finite = lambda a: [float(x) if math.isfinite(x) else ("-inf" if x < 0 else "inf") for x in a]  # noqa: E731
    return {
        "keys": [str(k) for k in keys],
        "values": finite(problem.values),
        "lower": finite(problem.lower),
        "upper": finite(problem.upper),
        "upper_protection": finite(problem.upper_protection),
        "lower_protection": finite(problem.lower_protection),
        "group": problem.group.tolist(),
        "suppressed_groups": [bool(x) for x in suppressed_groups],
        # (a, b): suppressing group a suppresses group b (a count and its mean).
        "implies": problem.implies.tolist(),
        "equalities": matrix(problem.equalities),
        "inequalities": matrix(problem.inequalities),
        # Hidden leaves without a protection requirement: unknowns, never audited themselves.
        "silent": np.flatnonzero(problem.silent).tolist(),
    }
