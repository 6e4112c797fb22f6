"""Primary disclosure rules on cell statistics, and the protection each unsafe
cell needs.

Protection levels (how far the attacker's feasible interval must reach beyond
the true value ``X``) follow tau-Argus:

* (n,k) dominance, unsafe when ``x1+..+xn > k X``: ``UPL = (x1+..+xn)/k - X``;
* p%-rule, unsafe when ``X - x1 - x2 < p x1``: ``UPL = p x1 - (X - x1 - x2)``;
  both also used as LPL;
* frequency rule and cells sent to review: ``protection_level * X`` (at least
  one unit for counts);
* zero cells: upwards only (one unit); 100% cells: downwards only.
"""

from __future__ import annotations

import numpy as np

RULE_FREQUENCY = "frequency"
RULE_FREQUENCY_CONTRIBUTORS = "frequency (units contributing to the amount)"
RULE_DOMINANCE = "dominance"
RULE_P_PERCENT = "p-percent"
RULE_ZERO = "zero-cell"
RULE_FULL = "full-cell"
RULE_NEGATIVE = "negative-contributions (review)"


def frequency_unsafe(n_by_unit: dict[str, np.ndarray], min_units: int) -> np.ndarray:
    """Cells resting on 1..min_units-1 distinct units of any unit kind.

    Empty cells (no units) are left to the zero-cell rule, as in tau-Argus.
    """
    unsafe = None
    for counts in n_by_unit.values():
        flag = (counts > 0) & (counts < min_units)
        unsafe = flag if unsafe is None else unsafe | flag
    return unsafe


def dominance(top: np.ndarray, total: np.ndarray, n: int, k: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(share of the n largest contributions, unsafe flag, protection level)."""
    largest = top[:, :n].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, largest / total, np.nan)
    unsafe = (total > 0) & (largest > k * total)
    level = np.where(unsafe, largest / k - total, 0.0)
    return share, unsafe, level


def p_percent(top: np.ndarray, total: np.ndarray, p: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(remainder X - x1 - x2 as a fraction of x1, unsafe flag, protection level)."""
    x1 = top[:, 0]
    x2 = top[:, 1] if top.shape[1] > 1 else np.zeros_like(x1)
    remainder = total - x1 - x2
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(x1 > 0, remainder / x1, np.nan)
    unsafe = (x1 > 0) & (remainder < p * x1)
    level = np.where(unsafe, p * x1 - remainder, 0.0)
    return ratio, unsafe, level


def full_cells(relations, relation_total: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cells holding all units of a margin that has at least two categories."""
    matrix = relations.tocoo()
    child = matrix.col[matrix.data > 0]
    row = matrix.row[matrix.data > 0]
    children_per_row = np.bincount(row, minlength=relations.shape[0])
    total_count = counts[relation_total[row]]
    full = (children_per_row[row] >= 2) & (total_count > 0) & (counts[child] >= total_count)
    flag = np.zeros(len(counts), dtype=bool)
    flag[child[full]] = True
    return flag


def count_protection(counts: np.ndarray, protection_level: float) -> np.ndarray:
    """Protection of a count: a fraction of it, at least one unit, whole units."""
    return np.maximum(1.0, np.ceil(protection_level * counts - 1e-9))
