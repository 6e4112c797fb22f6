"""Row rules of model tables: the independent units behind every estimate.

A model table (coefficients, means with standard errors, correlations,
association measures) is released row by row.  Every row says, besides its
published numbers, how many independent units (households, not
household-periods) are behind it, per group where it compares groups, and how
many residual degrees of freedom its model kept.  A row is suppressed (its
numeric columns become the suppression symbol) when

* a group behind it has fewer than ``min_units`` units (``frequency``);
* its model kept fewer than ``min_residual_df`` residual degrees of freedom,
  counted in independent units (``residual-df``);
* it is exactly identified: no more units than parameters, or no residual
  degree of freedom at all (``exactly-identified``);
* a standard error of it is exactly 0, or undefined (NaN): an estimate that
  fits its units exactly, or rests on one unit (``standard-error``).

:func:`model_row_checks` applies these rules; :func:`model_table_model` builds the
table's model with them (for ``SafeWriter.model_table``).  Imports nothing from the rest of the
bundle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import primary as rules_mod
from .model import Layer, TableModel
from .identifiers import forbidden_statistic_reason
from .output import count_text, format_number, rounded_counts_note
from .primary import RULE_FREQUENCY
from .rules import DisclosureRules

RULE_RESIDUAL_DF = "residual-df"
RULE_EXACTLY_IDENTIFIED = "exactly-identified"
RULE_STANDARD_ERROR = "standard-error"

# Column names taken for standard errors when the caller names none
# (lower-cased; also any name starting with "se_" or ending in "_se").
_SE_NAMES = ("se", "bse", "stderr", "std_err", "std_error", "stderror", "standard_error", "standarderror",
             "standaardfout", "standaard_fout", "sd_error")
_SE_PATTERN = re.compile(r"^(se_.+|.+_se|.*standard_?error.*|.*standaard_?fout.*|.*std_?err.*)$")


@dataclass
class ModelRowChecks:
    """The outcome of the row rules of one model table."""

    unsafe: np.ndarray                 # (rows,) bool: suppress the row
    reasons: list[str]                 # per row, ";"-joined rule names ("" when safe)
    explanations: list[str]            # per unsafe row, a readable sentence
    units: np.ndarray | None           # (rows,) smallest group's units, None when not given
    group_units: dict[str, np.ndarray] = field(default_factory=dict)   # per given unit column
    residual_df: np.ndarray | None = None
    parameters: np.ndarray | None = None
    standard_errors: list[str] = field(default_factory=list)
    unpublished: list[str] = field(default_factory=list)   # columns of the frame used as row information


def standard_error_columns(columns: Sequence[str]) -> list[str]:
    """Columns whose names say they hold standard errors."""
    out = []
    for column in columns:
        name = str(column).strip().lower()
        if name in _SE_NAMES or _SE_PATTERN.match(name):
            out.append(column)
    return out


def _per_row(frame: pd.DataFrame, given, what: str, integer: bool = True) -> tuple[np.ndarray, list[str]]:
    """A per-row number given as a column name, a number for every row, or one per row."""
    n = len(frame)
    if isinstance(given, str):
        if given not in frame.columns:
            raise ValueError(f"{what}: column {given!r} is not in the table")
        values = pd.to_numeric(frame[given], errors="coerce").to_numpy(dtype=float)
        used = [given]
    elif np.isscalar(given):
        values = np.full(n, float(given))
        used = []
    else:
        values = pd.to_numeric(pd.Series(list(given)), errors="coerce").to_numpy(dtype=float)
        used = []
        if len(values) != n:
            raise ValueError(f"{what}: {len(values)} values given for {n} rows")
    finite = values[np.isfinite(values)]
    if integer and (np.any(finite != np.round(finite))):
        raise ValueError(f"{what} must be whole numbers")
    return values, used


def model_row_checks(coefficients: pd.DataFrame, *, min_units: int, min_residual_df: int,
                     residual_df: int | None = None,
                     row_units: str | Sequence[str] | Sequence[int] | None = None,
                     row_residual_df: str | Sequence[int] | None = None,
                     n_parameters: int | str | Sequence[int] | None = None,
                     standard_errors: str | Sequence[str] | None = None) -> ModelRowChecks:
    """Apply the row rules (module docstring) to a coefficient table.

    ``row_units``: per row the number of independent units behind it; a column
    name, a list of column names (one per group behind the row: each group must
    reach ``min_units``; a missing count means the group is not behind that
    row), or one number per row.  ``row_residual_df``: per row the residual
    degrees of freedom of its model (column name or one number per row);
    otherwise ``residual_df`` holds for every row.  ``n_parameters``: the
    parameters of each row's model (number, column name or one per row).
    ``standard_errors``: the columns holding standard errors (default: the
    columns named so, e.g. ``se``, ``std_err``, ``standaardfout``).  Columns
    named here hold row information and are not published.
    """
    n = len(coefficients)
    unpublished: list[str] = []
    group_units: dict[str, np.ndarray] = {}
    units = None
    if row_units is not None:
        if isinstance(row_units, str):
            columns = [row_units]
        else:
            given = list(row_units)
            columns = given if given and all(isinstance(c, str) for c in given) else None
        if columns is not None:
            parts = []
            for column in columns:
                values, used = _per_row(coefficients, column, "row_units")
                group_units[column] = values
                unpublished += used
                parts.append(values)
            stacked = np.vstack(parts) if parts else np.zeros((0, n))
            # A missing count: the group is not behind this row; no count at all: no units.
            present = np.isfinite(stacked)
            units = np.where(present.any(axis=0), np.where(present, stacked, np.inf).min(axis=0, initial=np.inf), 0.0)
        else:
            units, _ = _per_row(coefficients, row_units, "row_units")
            units = np.where(np.isfinite(units), units, 0.0)
        if (units < 0).any():
            raise ValueError("row_units must not be negative")
    if row_residual_df is not None:
        df, used = _per_row(coefficients, row_residual_df, "row_residual_df")
        unpublished += used
        df = np.where(np.isfinite(df), df, -np.inf)
    elif residual_df is not None:
        df = np.full(n, float(residual_df))
    else:
        raise ValueError("give residual_df (the model's) or row_residual_df (per row)")
    parameters = None
    if n_parameters is not None:
        parameters, used = _per_row(coefficients, n_parameters, "n_parameters")
        unpublished += used
    if standard_errors is None:
        se_columns = [c for c in standard_error_columns(coefficients.columns) if c not in unpublished]
    else:
        se_columns = [standard_errors] if isinstance(standard_errors, str) else list(standard_errors)
        missing = [c for c in se_columns if c not in coefficients.columns]
        if missing:
            raise ValueError(f"standard_errors: columns not in the table: {missing}")
    se_columns = [c for c in se_columns if pd.api.types.is_numeric_dtype(coefficients[c])]

    reasons: list[list[str]] = [[] for _ in range(n)]
    texts: list[list[str]] = [[] for _ in range(n)]

    def flag(mask: np.ndarray, rule: str, text) -> None:
        for i in np.flatnonzero(mask):  # loops over failing rows only
            if rule not in reasons[i]:
                reasons[i].append(rule)
            texts[i].append(text(i))

    if units is not None:
        flag(units < min_units, RULE_FREQUENCY, lambda i: (
            f"rests on {int(units[i])} independent units" + (" in its smallest group" if len(group_units) > 1 else "")
            + f" (< {min_units})"))
    flag(df < min_residual_df, RULE_RESIDUAL_DF, lambda i: (
        f"{_number(df[i])} residual degrees of freedom (< {min_residual_df})"))
    identified = df <= 0
    if units is not None and parameters is not None:
        identified |= np.isfinite(parameters) & (units <= parameters)
    flag(identified, RULE_EXACTLY_IDENTIFIED, lambda i: "exactly identified (no more units than parameters)")
    numeric = [c for c in coefficients.columns if c not in unpublished and c not in se_columns
               and pd.api.types.is_numeric_dtype(coefficients[c])]
    if se_columns:
        # "Exactly 0" up to the rounding of the estimation: relative to the row's numbers.
        scale = np.ones(n)
        if numeric:
            magnitude = np.abs(coefficients[numeric].to_numpy(dtype=float))
            scale = np.maximum(1.0, np.nanmax(np.where(np.isfinite(magnitude), magnitude, 0.0), axis=1))
        for column in se_columns:
            se = coefficients[column].to_numpy(dtype=float)
            zero = np.isfinite(se) & (np.abs(se) <= 1e-9 * scale)
            flag(zero, RULE_STANDARD_ERROR, lambda i, c=column: f"standard error {c!r} is 0 (an exact fit)")
            flag(~np.isfinite(se), RULE_STANDARD_ERROR,
                 lambda i, c=column: f"standard error {c!r} is undefined (too few units)")
    unsafe = np.array([bool(r) for r in reasons], dtype=bool) if n else np.zeros(0, dtype=bool)
    return ModelRowChecks(
        unsafe=unsafe, reasons=[";".join(r) for r in reasons],
        explanations=["; ".join(t) for t in texts], units=units, group_units=group_units,
        residual_df=df, parameters=parameters, standard_errors=se_columns,
        unpublished=list(dict.fromkeys(unpublished)),
    )


def _number(value: float) -> str:
    return str(int(value)) if np.isfinite(value) and value == int(value) else str(value)


class RefusedTable(ValueError):
    """A table the rules refuse as a whole, with every reason."""

    def __init__(self, reasons: Sequence[str]):
        super().__init__("; ".join(reasons))
        self.reasons = list(reasons)


def model_table_model(rules: DisclosureRules, coefficients: pd.DataFrame, *, name: str, residual_df: int | None,
                      n_observations: int, metadata: dict, decimals: int, row_units, row_residual_df, n_parameters,
                      standard_errors, unit_label: str, observations_in_notes: bool) -> TableModel:
    """The model of a coefficient table (see ``SafeWriter.model_table``): its rows with the
    published numbers, one hidden count per row (primary where a row fails the rules of model
    tables) and the notes. Raises :class:`RefusedTable` with every reason the table fails as a whole."""
    reasons = []
    try:
        checks = model_row_checks(coefficients, min_units=rules.min_units, min_residual_df=rules.min_residual_df,
                                  residual_df=residual_df, row_units=row_units, row_residual_df=row_residual_df,
                                  n_parameters=n_parameters, standard_errors=standard_errors)
    except ValueError as error:
        raise RefusedTable([str(error)]) from None
    published = [c for c in coefficients.columns if c not in checks.unpublished]
    if row_residual_df is None and residual_df < rules.min_residual_df:
        reasons.append(f"model has {residual_df} residual degrees of freedom; at least "
                       f"{rules.min_residual_df} are required")
    if len(coefficients) >= n_observations:
        reasons.append("a coefficient table with as many rows as observations is unit-level output")
    for column in published:
        why = forbidden_statistic_reason(column)
        if why:
            reasons.append(f"column {column!r}: {why}")
    text_columns = [c for c in published if not pd.api.types.is_numeric_dtype(coefficients[c])]
    for column in text_columns:
        for value in coefficients[column].astype(str).unique():
            why = forbidden_statistic_reason(value)
            if why:
                reasons.append(f"row {value!r}: {why}")
    labels = coefficients[text_columns].astype(str).reset_index(drop=True)
    row_text = [", ".join(f"{c}={labels[c].iloc[i]}" for c in labels.columns) or f"row {i + 1}"
                for i in range(len(labels))]
    if not reasons and len(labels) and checks.unsafe.all():
        reasons.append(f"every row fails the rules of model tables (at least {rules.min_units} independent "
                       f"units per group, {rules.min_residual_df} residual degrees of freedom, a standard "
                       "error above 0, not exactly identified)")
        reasons += [f"{row_text[i]}: {checks.explanations[i]}" for i in range(min(len(labels), 20))]
    if reasons:
        raise RefusedTable(reasons)
    derived = {}
    for column in published:
        if column in text_columns:
            continue
        derived[column] = format_number(coefficients[column].to_numpy(dtype=float), decimals)
    n_rows = len(labels)
    evidence: dict[str, object] = {}
    label = unit_label or "units"
    if checks.units is not None:
        evidence[f"n_{label}"] = checks.units.astype(np.int64)
        if len(checks.group_units) > 1:
            for column, values in checks.group_units.items():
                evidence[f"units_{column}"] = values
    evidence["residual_df_row"] = checks.residual_df
    if checks.parameters is not None:
        evidence["parameters"] = checks.parameters
    evidence["rules_failed"] = checks.reasons
    evidence["rules_detail"] = checks.explanations
    layers = []
    unsafe = checks.unsafe
    if unsafe.any():
        # The decision per row: one hidden count (its units) per row, primary where a
        # rule fails.  No relations tie the rows to each other or to other tables.
        count = checks.units if checks.units is not None else np.full(n_rows, float(n_observations))
        level = rules_mod.count_protection(count, rules.protection_level)
        layers.append(Layer(column=f"n_{label}_row", statistic="count", source=f"model:{name}",
                            values=count.astype(float), lower_bound=np.zeros(n_rows),
                            upper_protection=np.where(unsafe, level, 0.0), lower_protection=np.zeros(n_rows),
                            display="hidden", cost=np.ones(n_rows)))
    model = TableModel(
        name=name, population=f"{metadata.get('population', '')}/model:{name}", label_columns=list(labels.columns),
        labels=labels, key_codes=pd.DataFrame({"row": [str(i) for i in range(n_rows)]}),
        relations=sp.csr_matrix((0, n_rows)), layers=layers,
        evidence=pd.DataFrame(evidence, index=np.arange(n_rows)), hidden=np.zeros(n_rows, dtype=bool),
    )
    model.derived = derived
    model.unweighted_n = {"observations": int(n_observations)}
    if not observations_in_notes:
        model.notes.append("The number of observations and the residual degrees of freedom are not stated (they "
                           "would give back counts of other tables); no residuals or predictions are released.")
    elif unsafe.any():
        # A count of observations beside rows suppressed for too few units gives those units
        # back (a matched cohort of 6 households: 12 observations).
        model.notes.append("The number of observations and the residual degrees of freedom are not stated: "
                           "rows of this table are suppressed for too few independent units; no residuals or "
                           "predictions are released.")
    elif row_residual_df is None:
        observations, residual = (count_text(n, rules.rounding_base) for n in (n_observations, residual_df))
        model.notes.append(f"Model estimated on {observations} observations with {residual} residual degrees of "
                           "freedom; no residuals or predictions are released."
                           + rounded_counts_note(rules.rounding_base))
    else:
        model.notes.append(f"Estimates on {count_text(n_observations, rules.rounding_base)} observations; residual "
                           "degrees of freedom counted per row in independent units; no residuals or predictions are "
                           "released." + rounded_counts_note(rules.rounding_base))
    if checks.units is not None or checks.standard_errors or row_residual_df is not None:
        model.notes.append(
            "A row is published only when "
            + (f"every group behind it has at least {rules.min_units} independent {label}, "
               if checks.units is not None else "")
            + f"its model has at least {rules.min_residual_df} residual degrees of freedom"
            + (", no standard error of it is zero" if checks.standard_errors else "")
            + f" and it is not exactly identified; otherwise its numbers are shown as "
              f"'{rules.suppressed_symbol}'.")
    return model
