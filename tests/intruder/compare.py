"""Comparison with the TRUE values of the work folder's evidence (``<work>/evidence/<table>.cells.csv``).

Used only by the test's final assertions and the command-line report, never by the attack:
``reader``, ``relations`` and ``attack`` do not import this module. Its job is to find, for a
suppressed cell the intruder bounded, the true value the protection was meant to hide.
"""
from __future__ import annotations

import csv
import math
from functools import lru_cache
from pathlib import Path

from .attack import Result
from .reader import Cell


@lru_cache(maxsize=256)
def _evidence_rows(path: str) -> tuple[list[str], list[dict[str, str]]]:
    p = Path(path)
    if not p.is_file():
        return [], []
    with p.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def evidence_row(evidence_dir: Path, cell: Cell, label_columns: list[str], position: int | None = None):
    header, rows = _evidence_rows(str(Path(evidence_dir) / f"{cell.table}.cells.csv"))
    if not rows:
        return None
    visible = [r for r in rows if r.get("status") != "hidden"]
    usable = [c for c in label_columns if c in header and c != "status"]
    if usable and len(usable) == len(label_columns):
        for r in visible:
            if all(r.get(c, "") == v for c, v in zip(label_columns, cell.labels)):
                return r
        return None
    if position is not None and position < len(visible):
        return visible[position]
    return None


def _num(row: dict, *columns: str) -> float | None:
    for c in columns:
        v = row.get(c)
        if v not in (None, ""):
            try:
                return float(v)
            except ValueError:
                continue
    return None


def true_value(row: dict, result: Result) -> float | None:
    col, kind = result.cell.column, result.target.kind
    if kind == "count":
        if col.startswith("mean_pct_"):
            v = _num(row, f"true_sum_{col.removeprefix('mean_')}")
            return None if v is None else v / 100.0
        if col.startswith("pct_"):
            v = _num(row, f"true_sum_{col[4:]}")
            if v is not None:
                return v
            v = _num(row, f"true_sum_{col}")
            return None if v is None else v / 100.0
        if col.startswith("support") or col.startswith("confidence"):
            return _num(row, "true_n_households_rule", "n_households_rule")
        return _num(row, f"true_{col}", col)
    if col.startswith("mean_"):
        return _num(row, f"true_sum_{col[5:]}")
    if col.startswith("sum_aandeel") or col.startswith("share_of_kosten"):
        return _num(row, "true_sum_kosten")
    return _num(row, f"true_{col}", col)


def _level_column(result: Result) -> tuple[str, float] | None:
    """The evidence column (without the upl_/lpl_ prefix) of a cell's protection levels, and its scale."""
    col, kind = result.cell.column, result.target.kind
    if kind == "count":
        if col.startswith("mean_pct_"):
            return f"sum_{col[5:]}", 0.01
        if col.startswith("pct_"):
            return f"sum_{col[4:]}", 1.0
        if col.startswith("n_"):
            return col, 1.0
        return None
    if col.startswith("mean_"):
        return f"sum_{col[5:]}", 1.0
    if col.startswith("share_of_kosten") or col.startswith("sum_aandeel"):
        return "sum_kosten", 1.0
    return col, 1.0


def protection_levels(row: dict, result: Result) -> tuple[float, float] | None:
    """(lower, upper) protection the writer itself required for this cell (evidence lpl_/upl_), or None."""
    got = _level_column(result)
    if got is None:
        return None
    name, scale = got
    lo, hi = _num(row, f"lpl_{name}"), _num(row, f"upl_{name}")
    if lo is None and hi is None:
        return None
    return (lo or 0.0) * scale, (hi or 0.0) * scale


def status_of(row: dict, result: Result) -> str:
    col = result.cell.column
    for c in (f"status_{col}", f"status_n_{col[2:]}" if col.startswith("n_") else "",
              f"status_sum_{col[5:]}" if col.startswith("mean_") else "",
              f"status_sum_{col[4:]}" if col.startswith("pct_") else "", "status"):
        if c and row.get(c):
            return row[c]
    return ""


def contributors(row: dict, result: Result) -> float | None:
    """The number of units with a non-zero amount behind a sum (evidence ``<value>_n_contributors``)."""
    got = _level_column(result)
    if got is None or not got[0].startswith("sum_"):
        return None
    return _num(row, f"{got[0][4:]}_n_contributors")


def protection_shortfall(result: Result, true: float, protect_zero: bool = True,
                         n_contributors: float | None = None, min_units: int = 10) -> str | None:
    """Why the derived interval gives too little protection, or None.

    Counts with a true value of 1..9 (or 0 when zero cells are protected): the interval must
    reach max(1, ceil(0.3 t)) below (down to 0) and above the true value. Sums > 0 that rest on
    fewer than ``min_units`` contributing units (or whose contributors the evidence does not
    state): 10% of the true value on both sides. A sum over enough units is not sensitive by
    its size; when a dominance or p% rule made it so, (e) holds it to the writer's own levels.
    """
    lo, hi = result.lo, result.hi
    if result.target.kind == "count":
        t = round(true)
        if not (1 <= t <= 9 or (t == 0 and protect_zero)):
            return None
        p = max(1, math.ceil(0.3 * t))
        need_lo, need_hi = max(0, t - p), t + p
        if lo <= need_lo + 1e-9 and hi >= need_hi - 1e-9:
            return None
        return f"needs [{need_lo}, {need_hi}] inside the interval"
    if true <= 0 or (n_contributors is not None and n_contributors >= min_units):
        return None
    need_lo, need_hi = 0.9 * true, 1.1 * true
    if lo <= need_lo + 1e-6 * true and hi >= need_hi - 1e-6 * true:
        return None
    return (f"rests on {n_contributors:g} households; " if n_contributors is not None else "") + \
        f"needs [{need_lo:,.2f}, {need_hi:,.2f}] (10% either side) inside the interval"


class Assessment:
    """The report of one export held against the true values."""

    def __init__(self, report, evidence_dir: Path, protect_zero: bool | None = None):
        from .reader import read_export
        self.report = report
        export = read_export(report.folder)
        if protect_zero is None:
            # Zero cells count as protected when the export's rules say so (flag_zero_cells).
            protect_zero = bool(export.manifest.get("rules", {}).get("flag_zero_cells", True))
        min_units = int(export.manifest.get("rules", {}).get("min_units", 10) or 10)
        self.leaks: list[tuple[Result, float, str]] = []        # (a)
        self.unsound: list[tuple[Result, float]] = []           # true value outside the derived interval
        self.exact_other: list[tuple[Result, float]] = []      # other suppressed cells pinned down exactly
        self.unmatched: list[Result] = []
        self.own_level_misses: list[tuple[Result, float, str]] = []   # (e): cells whose own upl/lpl are not met
        for r in report.results:
            table = export.get(r.cell.table)
            position = None
            if table is not None:
                for i, row in enumerate(table.rows):
                    if table.labels_of(row) == r.cell.labels:
                        position = i
                        break
            row = evidence_row(evidence_dir, r.cell, table.label_columns if table else [], position)
            t = true_value(row, r) if row is not None else None
            if t is None:
                self.unmatched.append(r)
                continue
            tol = 1e-6 * max(1.0, abs(t)) + (0.5 if r.target.kind == "count" else 0.01)
            if not (r.lo - tol <= t <= r.hi + tol):
                self.unsound.append((r, t))
                continue
            # A zero is sensitive where the rules make it so (the zero-cell rule: a cell without units,
            # status primary); a zero share of a non-empty group suppressed beside another cell is not.
            zero_sensitive = protect_zero and status_of(row, r) == "primary"
            why = protection_shortfall(r, t, zero_sensitive, contributors(row, r), min_units)
            if why:
                self.leaks.append((r, t, why))
            levels = protection_levels(row, r)
            if not why and levels and (levels[0] > 0 or levels[1] > 0):
                need_lo, need_hi = max(0.0, t - levels[0]), t + levels[1]
                slack = 1e-6 * max(1.0, abs(t)) + (0.0 if r.target.kind == "count" else 0.01)
                if r.lo > need_lo + slack or r.hi < need_hi - slack:
                    self.own_level_misses.append(
                        (r, t, f"the writer required [{need_lo:,.2f}, {need_hi:,.2f}] (evidence lpl/upl)"))
            elif r.hi - r.lo < 1e-6 * max(1.0, abs(t)) + 1e-9 and t > 0:
                self.exact_other.append((r, t))

    @staticmethod
    def leak_text(r: Result, t: float, why: str) -> str:
        return (f"{r.cell.name}: true {t:,.2f}, intruder interval [{r.lo:,.2f}, {r.hi:,.2f}] ({why}); "
                f"families: {', '.join(r.families)}; chain: {r.chain_text()}")


PRIORITY = [
    "missing row of a code list = 0", "persons by position vs households by type", "ranked groups (nested top groups, rank order)",
    "selection criteria (selected group = subset/ranked group)", "monitoring cohort and groups",
    "association measures (support/confidence/lift/phi/odds/leverage/conviction)",
    "domain profiles (inclusion-exclusion of combinations, pairs, reach)", "share/mean x n (count or sum in disguise)",
    "identity inside a row", "same quantity in several tables", "margin of overlapping categories (max <= Totaal <= sum)",
    "margin (Totaal = sum of a partition)", "count-sum link (no household costs more than the most expensive one)",
    "subset (a group inside another group)", "published cell (rounding interval)"]


def main_family(result: Result) -> str:
    """The most specific relation family in a result's certificate (for grouping a report)."""
    fams = result.families
    for f in PRIORITY:
        if f in fams:
            return f
    return fams[0] if fams else "?"
