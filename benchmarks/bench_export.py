"""Benchmark of the export step with and without the export-wide audit (issue 15).

    python benchmarks/bench_export.py                        # 1 million households and the country
    python benchmarks/bench_export.py --sizes 1000000

For each size the synthetic data and the national run of ``benchmarks/bench_pipeline.py`` are
used (generated and configured there when missing; the steps before the export are run once
when their work files are missing). Then, each in a fresh process:

1. the reference: the export step with every table protected on its own and linked tables
   jointly, but without the export-wide audit (what the export step was before issue 15; the
   audit replaced by one that checks nothing, in this benchmark only), measured in the same run
   because machines here are noisy;
2. the export step as it runs: the same, then the export-wide audit of every population.

The reference runs first, so the export folder left behind is the protected one. Printed per
size: wall time and peak memory of both, the audit's own seconds, and the ratio. Before the
export-wide audit the export step took 33 s for the whole country (issue 15).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_pipeline import child, ensure_data, national_config  # noqa: E402

EXPORT = r"""
import json, sys, time
sys.path.insert(0, {root!r})
from lib.config import load_config
from lib.pipeline import peak_memory_mb, run_steps
import disclosure_control.population as population
import disclosure_control.writer as writer
seconds = []

def audited(*args, **kwargs):
    result = population.audit_export(*args, **kwargs)
    seconds.append(result.seconds)
    return result

def not_audited(*args, **kwargs):
    return population.ExportAudit()

writer.audit_export = not_audited if {reference} else audited
config = load_config({config!r})
started = time.perf_counter()
run_steps(config, ["export"])
print(json.dumps({{"seconds": time.perf_counter() - started, "audit_seconds": sum(seconds),
                  "peak_mb": peak_memory_mb()}}))
"""

UPSTREAM = r"""
import json, sys, time
sys.path.insert(0, {root!r})
from lib.config import load_config
from lib.pipeline import all_steps, run_steps
config = load_config({config!r})
started = time.perf_counter()
run_steps(config, [s.name for s in all_steps() if s.name not in ("export", "report")])
print(json.dumps({{"seconds": time.perf_counter() - started}}))
"""


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 8_200_000])
    args = parser.parse_args(argv)
    rows = []
    for households in args.sizes:
        data = ensure_data(households)
        config = national_config(data, monitoring=households < 8_000_000)
        if not (data / "work_nl" / "09_monitoring" / "step.json").is_file():
            print(f"{households:,} households: running the steps before the export ...", flush=True)
            child(UPSTREAM.format(root=str(ROOT), config=str(config)))
        print(f"{households:,} households: export step without the export-wide audit (reference) ...", flush=True)
        reference = child(EXPORT.format(root=str(ROOT), config=str(config), reference=True))
        print(f"{households:,} households: export step with the export-wide audit ...", flush=True)
        audited = child(EXPORT.format(root=str(ROOT), config=str(config), reference=False))
        rows.append((households, reference, audited))
    print()
    print(f"{'households':>12} {'reference s':>12} {'audited s':>10} {'audit s':>8} {'ratio':>6} "
          f"{'reference MB':>13} {'audited MB':>11}")
    for households, reference, audited in rows:
        print(f"{households:>12,} {reference['seconds']:>12.1f} {audited['seconds']:>10.1f} "
              f"{audited['audit_seconds']:>8.1f} {audited['seconds'] / reference['seconds']:>6.2f} "
              f"{reference['peak_mb'] or 0:>13,.0f} {audited['peak_mb'] or 0:>11,.0f}")
    print("\nBefore the export-wide audit the export step took 33 s for the whole country (issue 15).")


if __name__ == "__main__":
    main()
