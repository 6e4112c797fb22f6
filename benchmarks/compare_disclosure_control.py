"""Compare disclosure_control with ACRO 1.0.2 and tau-Argus (pytauargus 0.6.0).

Not a test: a measurement.  Needs the comparison packages, which are not in
the test requirements:

    pip install acro==1.0.2 pytauargus==0.6.0
    python benchmarks/compare_disclosure_control.py [--out results.json]

For each synthetic 2-D magnitude table (sum of an amount by region x type,
with margins; the same rules everywhere: at least 10 units, dominance (2, 90%),
p%-rule 10%, protection level 30% for the frequency rule) it reports:

* primary flags: ours against ACRO's (inner cells; ACRO has no margins) and
  against tau-Argus's;
* secondary suppression: number and total value of suppressed cells and time
  for our default path (``protect``, which includes the audit: what
  ``SafeWriter`` runs), our exact MILP, our heuristic, tau-Argus OPT and MOD;
* every pattern (ours and tau-Argus's) audited by our audit;
* the ratios ours (default path) / tau-Argus OPT of time and of suppressed value.

Times are the best of ``--repeat`` runs (3 by default) for us and for
tau-Argus alike.

Missing comparison packages are reported and skipped; our own figures are
always measured.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from disclosure_control import DisclosureRules, SafeWriter  # noqa: E402
from disclosure_control.model import build_problem, grid_model  # noqa: E402
from disclosure_control.protection import (  # noqa: E402
    audit,
    exact_pattern,
    heuristic_pattern,
    protect,
)
from disclosure_control.tables import Dimension, TableGrid, cell_statistics, leaf_codes  # noqa: E402

RULES = DisclosureRules(flag_zero_cells=False, flag_full_cells=False)
TOTAL = RULES.total_label


def make_table(rows: int, columns: int, units: int, seed: int) -> pd.DataFrame:
    """Unit-level amounts with uneven categories and a few dominant units."""
    rng = np.random.default_rng(seed)
    row_p = rng.dirichlet(np.ones(rows) * 2)
    col_p = rng.dirichlet(np.ones(columns) * 2)
    amounts = rng.lognormal(7, 1.2, units)
    amounts[rng.random(units) < 0.003] *= 200  # a few very large contributors
    return pd.DataFrame({
        "unit": np.arange(units),
        "region": np.char.add("r", rng.choice(rows, units, p=row_p).astype(str)),
        "kind": np.char.add("k", rng.choice(columns, units, p=col_p).astype(str)),
        "amount": np.round(amounts, 2),
    })


def our_problem(frame: pd.DataFrame):
    dims = ["region", "kind"]
    codes = leaf_codes(frame, dims)
    grid = TableGrid.build([Dimension.build(d, codes[d].unique().tolist(), None, TOTAL, True) for d in dims])
    stats, _ = cell_statistics(frame, grid, codes, ["unit"], ["amount"], 2)
    model = grid_model("bench", "", grid, stats, RULES, ["unit"], ["units"], ["amount"], "sum", show_counts=False)
    return model, build_problem([model])


def _best_of(repeat: int, run):
    """(result of the last run, best wall-clock time of ``repeat`` runs)."""
    best = np.inf
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return result, best


def _pattern_figures(problem, groups) -> dict:
    cells = problem.cell_mask(groups)
    return {"suppressed": int(cells.sum()), "secondary": int((cells & ~problem.primary).sum()),
            "suppressed_value": round(float(problem.values[cells].sum()), 2)}


def measure_ours(frame: pd.DataFrame, repeat: int = 3, exact: bool = True) -> dict:
    start = time.perf_counter()
    model, linked = our_problem(frame)
    build = time.perf_counter() - start
    problem = linked.problem
    out = {"cells": problem.n_cells, "primary": int(problem.primary.sum()), "build_s": round(build, 3)}
    # The default path: protect() chooses the method and always ends with the audit.
    (pattern, checked), elapsed = _best_of(
        repeat, lambda: protect(problem, RULES.milp_max_cells, RULES.milp_time_limit_seconds))
    out["default"] = {**_pattern_figures(problem, pattern.suppressed_groups), "method": pattern.method,
                      "optimal": pattern.optimal, "protect_and_audit_s": round(elapsed, 4),
                      "audit_passed": checked.passed}
    runs = [("heuristic", lambda: heuristic_pattern(problem))]
    if exact:
        runs.insert(0, ("exact", lambda: exact_pattern(problem, RULES.milp_time_limit_seconds)))
    for label, run in runs:
        result, elapsed = _best_of(1 if label == "exact" else repeat, run)
        groups = result.suppressed_groups if hasattr(result, "suppressed_groups") else result
        if groups is None:
            out[label] = {"status": "time limit"}
            continue
        checked, audit_time = _best_of(1 if label == "exact" else repeat, lambda g=groups: audit(problem, g))
        out[label] = {**_pattern_figures(problem, groups), "protect_s": round(elapsed, 4),
                      "audit_s": round(audit_time, 4), "audit_passed": checked.passed}
    with tempfile.TemporaryDirectory() as tmp:
        writer = SafeWriter(Path(tmp) / "export", Path(tmp) / "evidence", RULES)
        start = time.perf_counter()
        released = writer.magnitude_table(frame, name="bench", unit="unit", dimensions=["region", "kind"],
                                          values="amount", show_counts=False)
        out["safe_writer_total_s"] = round(time.perf_counter() - start, 3)
        out["safe_writer_status"] = released.status
        out["safe_writer_method"] = released.method
    out["primary_cells"] = sorted(
        (str(model.labels.iloc[i]["region"]), str(model.labels.iloc[i]["kind"]))
        for i in np.flatnonzero(model.primary))
    out["_problem"] = (model, linked)
    return out


def measure_acro(frame: pd.DataFrame, ours: dict) -> dict:
    try:
        from acro import ACRO
    except ImportError:
        return {"status": "acro not installed"}
    import contextlib
    import io
    import logging

    logging.disable(logging.CRITICAL)
    acro = ACRO(suppress=False)
    with contextlib.redirect_stdout(io.StringIO()):
        table = acro.crosstab(frame["region"], frame["kind"], values=frame["amount"], aggfunc="sum")
    record = list(acro.results.results.values())[-1]
    flagged = set()
    for rule in ("NKCheck", "PPercentCheck", "MinimumThresholdCheck"):
        for r, c in record.sdc["cells"].get(rule, []):
            flagged.add((str(table.index[r]), str(table.columns[c])))
    logging.disable(logging.NOTSET)
    ours_inner = {cell for cell in ours["primary_cells"] if TOTAL not in cell}
    # ACRO only sees non-empty combinations; ours flags empty cells only with flag_zero_cells.
    return {
        "acro_primary": len(flagged), "ours_primary_inner": len(ours_inner),
        "agree": len(flagged & ours_inner), "only_acro": sorted(flagged - ours_inner),
        "only_ours": sorted(ours_inner - flagged),
        "ours_primary_margins": len([c for c in ours["primary_cells"] if TOTAL in c]),
    }


def measure_tau(frame: pd.DataFrame, ours: dict, repeat: int = 3) -> dict:
    try:
        from pytauargus import protect as tau_protect
    except ImportError:
        return {"status": "pytauargus not installed"}
    model, linked = ours["_problem"]
    problem = linked.problem
    labels = model.labels.astype(str)
    position = {(r, k): i for i, (r, k) in enumerate(zip(labels["region"], labels["kind"]))}
    out = {}
    for method in ("OPT(1)", "MOD(1)"):
        elapsed = np.inf
        table = None
        try:
            for _ in range(repeat):
                # The tau-Argus engine writes its log files into the working directory.
                with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
                    start = time.perf_counter()
                    result = tau_protect(frame[["region", "kind", "amount"]], ["region", "kind"], response="amount",
                                         safety_rules="FREQ(10,30)|NK(2,90)|P(10,1)", suppress=method, workdir=tmp)
                    elapsed = min(elapsed, time.perf_counter() - start)
                    table = result.tables[0].dataframe()
        except Exception as error:  # report, do not stop the benchmark
            out[method] = {"status": f"failed: {error}"}
            continue
        status = table["status"].astype(str).str.upper().to_numpy()
        region = table["region"].astype(str).str.strip().replace({"Total": TOTAL}).to_numpy()
        kind = table["kind"].astype(str).str.strip().replace({"Total": TOTAL}).to_numpy()
        suppressed_groups = np.zeros(problem.n_groups, dtype=bool)
        primary_tau = set()
        for r, k, s in zip(region, kind, status):
            if s in ("U", "M"):
                suppressed_groups[linked.group_of_position[-1][position[(r, k)]]] = True
            if s == "U":
                primary_tau.add((r, k))
        cells = problem.cell_mask(suppressed_groups)
        checked = audit(problem, suppressed_groups)
        out[method] = {
            "suppressed": int(cells.sum()), "secondary": int((cells & ~problem.primary).sum()),
            "suppressed_value": round(float(problem.values[cells].sum()), 2), "time_s": round(elapsed, 4),
            "passes_our_audit": checked.passed,
            "primary_agree_with_ours": primary_tau == set(ours["primary_cells"]),
            "primary_only_tau": sorted(primary_tau - set(ours["primary_cells"]))[:10],
            "primary_only_ours": sorted(set(ours["primary_cells"]) - primary_tau)[:10],
        }
    return out


def _summary(report: dict) -> str:
    """The comparison as a Markdown table (times in seconds).

    tau-Argus's time covers building the table from the unit records too;
    ``ours build+protect+audit`` adds our table build (primary rules
    included) for that comparison, and ``SafeWriter total`` also covers
    writing the files and the evidence.
    """
    lines = ["| table | primary | ours default: supp./value/protect+audit | ours exact: supp./value/protect+audit "
             "| ours heuristic: supp./value/protect+audit | tau OPT: supp./value/time | tau MOD: supp./value/time "
             "| ours/tau OPT: time | ours/tau OPT: value | ours build+protect+audit | SafeWriter total |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]

    def mine(entry, time_key=None):
        if not isinstance(entry, dict) or "suppressed" not in entry:
            return (entry or {}).get("status", "-") if isinstance(entry, dict) else "-"
        seconds = entry[time_key] if time_key else entry["protect_s"] + entry["audit_s"]
        return f"{entry['suppressed']} / {entry['suppressed_value'] / 1e6:.2f}M / {seconds:.3f}"

    for name, record in report.items():
        ours, tau = record["ours"], record["tau_argus"]
        opt, mod = tau.get("OPT(1)", {}), tau.get("MOD(1)", {})
        default = ours["default"]
        tau_cell = lambda t: (f"{t['suppressed']} / {t['suppressed_value'] / 1e6:.2f}M / {t['time_s']:.3f}"  # noqa: E731
                              if isinstance(t, dict) and "time_s" in t else "-")
        ratios = ("-", "-")
        if isinstance(opt, dict) and "time_s" in opt:
            ratios = (f"{default['protect_and_audit_s'] / opt['time_s']:.2f}",
                      f"{default['suppressed_value'] / opt['suppressed_value']:.4f}")
        lines.append(f"| {name} ({ours['cells']} cells) | {ours['primary']} | {mine(default, 'protect_and_audit_s')} "
                     f"| {mine(ours.get('exact'))} | {mine(ours.get('heuristic'))} | {tau_cell(opt)} | {tau_cell(mod)} "
                     f"| {ratios[0]} | {ratios[1]} | {ours['build_s'] + default['protect_and_audit_s']:.3f} "
                     f"| {ours.get('safe_writer_total_s', float('nan')):.3f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs (ours and tau-Argus)")
    parser.add_argument("--no-exact", action="store_true", help="skip our exact MILP (slow on some tables)")
    args = parser.parse_args(argv)
    import logging
    logging.getLogger("pytauargus").setLevel(logging.WARNING)
    cases = [("6x4", 6, 4, 4_000, 1), ("15x10", 15, 10, 20_000, 2), ("40x48", 40, 48, 150_000, 3)]
    report = {}
    for name, rows, columns, units, seed in cases:
        frame = make_table(rows, columns, units, seed)
        ours = measure_ours(frame, args.repeat, exact=not args.no_exact)
        acro = measure_acro(frame, ours)
        tau = measure_tau(frame, ours, args.repeat)
        ours.pop("_problem")
        ours.pop("primary_cells")
        report[name] = {"ours": ours, "acro": acro, "tau_argus": tau}
        print(f"== {name}: {ours['cells']} cells, {ours['primary']} primary")
        print(json.dumps(report[name], indent=1, default=str))
        if isinstance(tau.get("OPT(1)"), dict) and "time_s" in tau["OPT(1)"]:
            ratio = ours["default"]["protect_and_audit_s"] / tau["OPT(1)"]["time_s"]
            print(f"   time ratio ours (default path: protect + audit) / tau-Argus OPT: {ratio:.2f}")
    print()
    print(_summary(report))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
