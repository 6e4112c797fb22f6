"""Every row and every euro accounted for: per source, what was read, used, rejected, clipped.

Each source keeps a ``SourceAccount``. Rows read must equal rows used plus rows rejected
(per reason) plus rows superseded (the same spell repeated in a later year's file);
amounts read must equal amounts used plus amounts rejected plus amounts clipped off
outside the study period, to the cent. ``check_balance`` proves it for every source,
and the step that reads the sources refuses to finish when a source does not balance.

Exact duplicate rows are reported for every source that finds them (``rows_duplicate``,
``amount_duplicate``), whether they were dropped (then they are among the rejected rows)
or kept (among the used rows). ``excessive_rejections`` finds the sources that lose more
than a share of their rows or euros to one data problem (a rejection for lying outside the
study period is no problem: files cover more years than the study; nor is a register row
that repeats a person, who is counted once).
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
    rows_duplicate: int = 0
    amount_duplicate: float = 0.0
    duplicates: str = ""
    """What became of the exact duplicates: "dropped" (rejected) or "kept" (used)."""
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
            "rows_duplicate": a.rows_duplicate,
            "amount_duplicate": round(a.amount_duplicate, 2) if a.has_amounts else np.nan,
            "duplicates": a.duplicates if a.rows_duplicate else "",
        })
    return pd.DataFrame(rows)


def rejection_table(accounts: list[SourceAccount]) -> pd.DataFrame:
    rows = [{"source": a.source, "reason": reason, "rows": count,
             "amount": round(a.rejected_amount.get(reason, 0.0), 2) if a.has_amounts else np.nan}
            for a in accounts for reason, count in sorted(a.rejected.items())]
    return pd.DataFrame(rows, columns=["source", "reason", "rows", "amount"])


class SourceProblem(UserFacingError):
    """A whole source is unusable (e.g. every row rejected), with what to do."""


# Rejections that are no data problem: files cover more years than the study; a person of a
# register listed twice the same way is one person (reasons that end in "(counted once)").
EXPECTED_REASONS = ("outside the study period", "period entirely outside the study period")
COUNTED_ONCE = "(counted once)"
DEFAULT_MAX_REJECTED_SHARE = 0.2
# What to do about the most common reasons (matched on a part of the reason's text).
REASON_FIXES = (
    ("eleven-test", "if the files carry pseudonyms of a trusted third party instead of BSNs, set "
                    "[sources.municipality] bsn_eleven_test = false; otherwise ask the provider to check the BSNs"),
    ("decimal separator", "set the file's decimal separator in [sources.municipality] decimal = "
                          '{ "<file name>" = "," } (or "."), or ask the provider to resend the file in one notation'),
    ("as CBS writes amounts", "a CBS file whose amounts are written with decimal commas or thousands separators: "
                              "use the .sav or parquet version of the file, or a CSV written with decimal points"),
    ("ambiguous ('1,200'", "the CSV's amounts cannot be read one way only: use the .sav or parquet version of the "
                           "file (CBS route), or set the decimal separator of a municipal file in "
                           '[sources.municipality] decimal = { "<file name>" = "," } (or ".")'),
    ("amount", "amounts must be numbers in one notation (1234,56 or 1234.56); set the decimal separator in "
               '[sources.municipality] decimal = { "<file name>" = "," } (or "."), or ask the provider to resend the '
               "file"),
    ("date", "dates must be written as appendix 2 asks (20140301, maart 2014 or 2014; CBS files: YYYYMMDD); check "
             "that the configured file is the right dataset and version, or ask the sender to resend it"),
    ("domain label", "add the file's domain labels to the domain mapping ([sources.municipality] domain_labels, "
                     "columns domain_label, cost_code, domain)"),
    ("duplicate", "check whether the file was delivered twice in one; rows that truly repeat can be kept with "
                  "[sources.municipality] exact_duplicates = \"keep\""),
    ("RINPERSOONS", "persons without RINPERSOONS 'R' cannot be linked; check that the configured file is the right "
                    "dataset and version"),
    ("Locatiecode", "ask the BRP department for an extract with one row per person (BSN, Locatiecode, "
                    "Gezinsrelatie)"),
    ("BSN", "check the BSN column of the file (9 digits; a leading zero may be missing)"),
)


def rejected_shares(account: SourceAccount) -> pd.DataFrame:
    """Per reason of a data problem (not ``EXPECTED_REASONS``, nor a repeat counted once): rows,
    euros (0 for a source without amounts), and their shares of the source's rows and euros."""
    reasons = [r for r in account.rejected if not _loses_nothing(r)]
    rows = np.array([account.rejected[r] for r in reasons], dtype=float)
    euros = np.array([account.rejected_amount.get(r, 0.0) if account.has_amounts else 0.0 for r in reasons])
    read = abs(account.amount_read) if account.has_amounts else 0.0
    return pd.DataFrame({"rows": rows.astype(np.int64), "euros": euros,
                         "row_share": rows / account.rows_read if account.rows_read else 0.0,
                         "euro_share": np.abs(euros) / read if read else 0.0}, index=pd.Index(reasons, name="reason"))


def _loses_nothing(reason: str) -> bool:
    return reason in EXPECTED_REASONS or reason.endswith(COUNTED_ONCE)


def _fix(reason: str) -> str:
    return next((fix for part, fix in REASON_FIXES if part.lower() in reason.lower()),
                "check that the configured file is the right dataset and version, or ask the sender to resend it")


def excessive_rejections(accounts: list[SourceAccount], max_share: float = DEFAULT_MAX_REJECTED_SHARE,
                         accepted=(), rejected_dir=None) -> tuple[list[str], list[str]]:
    """(problems, warnings): a message for every source that loses more than ``max_share`` of its
    rows or of its euros to one reason (a whole column misread, a setting wrong: not the odd bad
    row), naming the reason, the fix and how to accept it. A source named in ``accepted`` (its
    name in the reconciliation, or its file name) gives a warning instead of a problem."""
    problems, warnings = [], []
    for a in accounts:
        shares = rejected_shares(a)
        over = shares[(shares["row_share"] > max_share) | (shares["euro_share"] > max_share)]
        if over.empty:
            continue
        over = over.sort_values(["row_share", "euro_share"], ascending=False, kind="stable")
        parts = []
        for reason, row in over.iterrows():      # the few reasons over the limit, not rows
            part = f"{int(row['rows']):,} of {a.rows_read:,} rows ({row['row_share']:.0%})"
            if a.has_amounts:
                part += f" and EUR {row['euros']:,.2f} of EUR {a.amount_read:,.2f} ({row['euro_share']:.0%})"
            parts.append(f"{part} rejected for '{reason}'")
        text = f"{a.source}: " + "; ".join(parts) + f". Fix: {_fix(over.index[0])}."
        if rejected_dir is not None:
            text += f" The rejected rows with their reason are in {rejected_dir}."
        name = a.source.split(":", 1)[1] if a.source.startswith("appendix2:") else a.source
        if a.source in accepted or name in accepted:
            warnings.append(f"WARNING (accepted in [sources] accept_rejections) {text}")
        else:
            problems.append(f"{text} If these rejections are right, accept them: [sources] accept_rejections = "
                            f'["{a.source}"]')
    return problems, warnings
