"""python -m tests.intruder EXPORT [--evidence WORK/evidence]: run the intruder on an export folder."""
from __future__ import annotations

import argparse
from pathlib import Path

from .attack import attack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("export")
    parser.add_argument("--evidence", help="evidence folder: compare with the true values (never used to derive)")
    parser.add_argument("--all", action="store_true", help="print every suppressed quantity, not only leaks")
    args = parser.parse_args()
    report = attack(args.export)
    print(report.summary())
    if args.all:
        for r in report.results:
            print("  ", r.describe())
    for g in report.groups:
        print("GROUP", g.describe())
    for f in report.flags:
        print("FLAG", f.table, f.cell, f.message)
    if args.evidence:
        from .compare import Assessment
        a = Assessment(report, Path(args.evidence))
        for r, t in a.unsound:
            print("UNSOUND", r.cell.name, f"true {t}", f"[{r.lo}, {r.hi}]", r.chain_text())
        for r, t, why in a.leaks:
            print("LEAK", Assessment.leak_text(r, t, why))
        for r, t, why in a.own_level_misses:
            print("OWN-LEVEL", Assessment.leak_text(r, t, why))
        if args.all:
            for r, t in a.exact_other:
                print("EXACT", r.cell.name, f"true {t:,.2f}", f"[{r.lo:,.2f}, {r.hi:,.2f}]", ", ".join(r.families))
        from collections import Counter
        from .compare import main_family
        counts = Counter(main_family(r) for r, _, _ in a.leaks)
        print("leaks by relation family:", dict(counts.most_common()))
        print(f"other suppressed cells pinned down exactly: {len(a.exact_other)}; unmatched: {len(a.unmatched)}")


if __name__ == "__main__":
    main()
