"""Every row and every euro accounted for: per source, what was read, used, rejected, clipped.

Each source keeps a ``SourceAccount``. Rows read must equal rows used plus rows rejected
(per reason) plus rows superseded (the same spell repeated in a later year's file);
amounts read must equal amounts used plus amounts rejected plus amounts clipped off
outside the study period, to the cent. ``check_balance`` proves it for every source,
and the step that reads the sources refuses to finish when a source does not balance.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lib.errors import UserFacingError

CENT = 0.005


@dataclass
class SourceAccount:
    source: str
    files: int = 0
    rows_read: int = 0
    rows_used: int = 0
    rows_superseded: int = 0
    records: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    has_amounts: bool = False
    amount_read: float = 0.0
    amount_used: float = 0.0
    amount_clipped: float = 0.0
    rejected_amount: dict[str, float] = field(default_factory=dict)
    rows_clipped: int = 0
    persons: int = 0
    persons_not_in_register: int = 0
    notes: list[str] = field(default_factory=list)

    def add_rejections(self, reasons: pd.Series, amounts: pd.Series | None = None) -> None:
        """Count rejected rows per reason (and their readable amounts)."""
        for reason, count in reasons.value_counts().items():
            self.rejected[reason] = self.rejected.get(reason, 0) + int(count)
        if amounts is not None:
            sums = pd.Series(np.nan_to_num(amounts.to_numpy(dtype=float)), index=reasons.index).groupby(reasons).sum()
            for reason, amount in sums.items():
                self.rejected_amount[reason] = self.rejected_amount.get(reason, 0.0) + float(amount)

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())

    @property
    def amount_rejected(self) -> float:
        return sum(self.rejected_amount.values())

    def balance_problems(self) -> list[str]:
        problems = []
        accounted = self.rows_used + self.rows_rejected + self.rows_superseded
        if accounted != self.rows_read:
            problems.append(f"{self.source}: {self.rows_read:,} rows read but {accounted:,} accounted for")
        if self.has_amounts:
            accounted_amount = self.amount_used + self.amount_rejected + self.amount_clipped
            if abs(accounted_amount - self.amount_read) > CENT:
                problems.append(f"{self.source}: EUR {self.amount_read:,.2f} read but EUR {accounted_amount:,.2f} "
                                "accounted for")
        return problems


def check_balance(accounts: list[SourceAccount]) -> None:
    problems = [p for a in accounts for p in a.balance_problems()]
    if problems:
        raise AssertionError("the reconciliation does not balance (a bug, please report):\n" + "\n".join(problems))


def reconciliation_table(accounts: list[SourceAccount]) -> pd.DataFrame:
    rows = []
    for a in accounts:
        rows.append({
            "source": a.source, "files": a.files, "rows_read": a.rows_read, "rows_used": a.rows_used,
            "rows_rejected": a.rows_rejected, "rows_superseded": a.rows_superseded, "rows_clipped": a.rows_clipped,
            "records": a.records, "persons": a.persons, "persons_not_in_register": a.persons_not_in_register,
            "amount_read": round(a.amount_read, 2) if a.has_amounts else np.nan,
            "amount_used": round(a.amount_used, 2) if a.has_amounts else np.nan,
            "amount_rejected": round(a.amount_rejected, 2) if a.has_amounts else np.nan,
            "amount_clipped": round(a.amount_clipped, 2) if a.has_amounts else np.nan,
        })
    return pd.DataFrame(rows)


def rejection_table(accounts: list[SourceAccount]) -> pd.DataFrame:
    rows = [{"source": a.source, "reason": reason, "rows": count,
             "amount": round(a.rejected_amount.get(reason, 0.0), 2) if a.has_amounts else np.nan}
            for a in accounts for reason, count in sorted(a.rejected.items())]
    return pd.DataFrame(rows, columns=["source", "reason", "rows", "amount"])


class SourceProblem(UserFacingError):
    """A whole source is unusable (e.g. every row rejected), with what to do."""
