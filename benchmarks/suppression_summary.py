"""How much an export hides: suppressed cells per table and the share of cost in suppressed cells.

    python benchmarks/suppression_summary.py EXPORT_DIR EVIDENCE_DIR

Counts every published cell (a statistic of a table row) shown as the suppression symbol,
and, for tables with amounts, the share of the cost of their inner cells (no totals) that
sits in suppressed cells, from the true values in the evidence (which stays in the work
folder). Used to report the cost of disclosure control before and after a change.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd


def summarise(export_dir: Path, evidence_dir: Path) -> pd.DataFrame:
    manifest = json.loads((export_dir / "disclosure_manifest.json").read_text(encoding="utf-8"))
    symbol = manifest.get("rules", {}).get("suppressed_symbol", "x")
    total_label = manifest.get("rules", {}).get("total_label", "Totaal")
    rows = []
    for name, entry in sorted(manifest["tables"].items()):
        csv = [f for f in entry["files"] if f.endswith(".csv")]
        if not csv:
            continue
        table = pd.read_csv(export_dir / csv[0], dtype=str, keep_default_na=False, sep=None, engine="python")
        labels = [c for c in entry.get("label_columns", []) if c in table.columns]
        values = table.drop(columns=labels)
        cells = int(values.size)
        suppressed = int((values == symbol).to_numpy().sum())
        hidden_share = None
        evidence = evidence_dir / f"{name}.cells.csv"
        if evidence.exists():
            truth = pd.read_csv(evidence, dtype=str, keep_default_na=False)
            sums = [c for c in truth.columns if c.startswith("true_sum_kosten")]
            status = [c for c in truth.columns if c.startswith("status_sum_kosten")] or ["status"]
            if sums and status[0] in truth.columns:
                inner = pd.Series(True, index=truth.index)
                for column in labels:
                    if column in truth.columns:
                        inner &= truth[column] != total_label
                amount = pd.to_numeric(truth.loc[inner, sums[0]], errors="coerce").fillna(0).abs()
                hidden = truth.loc[inner, status[0]].isin(["primary", "secondary"])
                if amount.sum() > 0:
                    hidden_share = float(amount[hidden].sum() / amount.sum())
        rows.append({"table": name, "cells": cells, "suppressed": suppressed,
                     "cost_hidden_pct": None if hidden_share is None else round(100 * hidden_share, 2)})
    return pd.DataFrame(rows)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    frame = summarise(Path(argv[0]), Path(argv[1]))
    print(frame.to_string(index=False))
    print(f"\ntables {len(frame)}, cells {frame['cells'].sum()}, suppressed {frame['suppressed'].sum()} "
          f"({100 * frame['suppressed'].sum() / max(frame['cells'].sum(), 1):.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
