"""Benchmark of the synthetic data generator: wall time and peak memory per size.

    python benchmarks/bench_generate.py                       # 100k and 1M households
    python benchmarks/bench_generate.py --sizes 100000 --formats csv

Each size runs in a fresh process, so its peak memory is its own. As a reference
measured in the same run (machines here are noisy), the child also times writing
the same number of CSV rows of plain random data with pandas: the ratio says how much
slower the generator is than merely writing its output.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
import numpy as np, pandas as pd
from lib.synthetic.generate import generate
from lib.synthetic.spec import GeneratorSpec
spec = GeneratorSpec(households={households}, seed=1, formats={formats!r})
started = time.perf_counter()
report = generate({out!r}, spec, progress=lambda s: None)
seconds = time.perf_counter() - started
csv_rows = sum(rows for rows in report.files.values())
# Reference: write as many CSV rows of random data (9-char text keys, 8-digit dates, codes).
rng = np.random.default_rng(0)
ref_started = time.perf_counter()
with open({ref!r}, "w", encoding="utf-8", newline="") as f:
    left = csv_rows
    while left > 0:
        n = min(left, 1_000_000)
        pd.DataFrame({{"k": np.char.zfill(rng.integers(0, 10**9, n).astype("U9"), 9),
                       "a": rng.integers(20190101, 20231231, n), "b": rng.integers(20190101, 20231231, n),
                       "c": rng.integers(0, 10, n)}}).to_csv(f, index=False, header=left == csv_rows)
        left -= n
ref_seconds = time.perf_counter() - ref_started
try:
    import resource
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
except ImportError:
    peak_mb = None
print(json.dumps({{"seconds": seconds, "peak_mb": peak_mb, "persons": report.persons, "rows": csv_rows,
                  "ref_seconds": ref_seconds}}))
"""


def main() -> None:
    from lib.synthetic.writers import available_formats
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated household counts")
    parser.add_argument("--formats", default=",".join(available_formats()), help="formats to write")
    parser.add_argument("--out", default=str(ROOT / "bench_data"), help="folder for the generated data")
    parser.add_argument("--keep", action="store_true", help="keep the generated data (default: delete)")
    args = parser.parse_args()
    formats = tuple(args.formats.split(","))
    print(f"formats: {','.join(formats)}; python {sys.version.split()[0]}")
    print(f"{'households':>12} {'persons':>12} {'rows':>12} {'seconds':>9} {'hh/s':>9} {'peak MB':>9} "
          f"{'ref s':>7} {'ratio':>6}")
    for size in (int(s) for s in args.sizes.split(",")):
        out = Path(args.out) / f"gen_{size}"
        shutil.rmtree(out, ignore_errors=True)
        code = CHILD.format(root=str(ROOT), households=size, formats=formats, out=str(out),
                            ref=str(Path(args.out) / "reference.csv"))
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        r = json.loads(result.stdout.strip().splitlines()[-1])
        peak = f"{r['peak_mb']:,.0f}" if r["peak_mb"] else "n/a"
        print(f"{size:>12,} {r['persons']:>12,} {r['rows']:>12,} {r['seconds']:>9.1f} {size / r['seconds']:>9,.0f} "
              f"{peak:>9} {r['ref_seconds']:>7.1f} {r['seconds'] / r['ref_seconds']:>6.2f}"
              f"   (process total {time.perf_counter() - started:.0f} s)")
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    (Path(args.out) / "reference.csv").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
