"""Benchmark of reading SPSS .sav files: the bundle's reading against pyreadstat alone.

    python benchmarks/bench_sav_reading.py                        # bench_data/data_1000000
    python benchmarks/bench_sav_reading.py --data bench_data/data_8200000

For the .sav files a CBS-route run reads (``config.toml`` of a generated data folder, with
``format_preference = ["sav"]``) and the columns the steps use, each way in a fresh process:

1. the reference: pyreadstat's ``read_sav`` with only the needed columns, one file after the
   other (what a hand-written script does);
2. pyreadstat's own multiprocess reader (``read_file_multiprocessing``, 2 processes, the same
   columns), one file after the other;
3. the bundle's ``read_cbs_table`` one file after the other in one process: pyreadstat plus
   the normalisation every step relies on (integer keys, categoricals);
4. the bundle's ``read_side_by_side`` as the reading step runs it: two worker processes
   (``spawn``), large files in pieces of 4 million rows, the same normalised tables.

Printed: seconds, rows per second and the ratio to the reference, measured in the same run (the
machine is shared). The data folder is generated with ``benchmarks/bench_pipeline.py`` (which
also writes .sav files into a folder made without them).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from lib.config import load_config
from lib.layouts import layouts_for
from lib.sources import locate_sources
from lib.readers import ReadRequest, read_cbs_table, read_side_by_side
from lib.records import COST_DATASETS, source_columns
from lib.households import HOUSEHOLD_REGISTERS, register_columns

text = Path({config!r}).read_text(encoding="utf-8")
path = Path({config!r}).with_name("bench_sav_reading.toml")
import re
path.write_text(re.sub(r'(?m)^format_preference = .*$', 'format_preference = ["sav"]', text), encoding="utf-8")
config = load_config(path)
files, _ = locate_sources(config)
layouts = layouts_for(config)
year = config.peildatum.year
requests = []
for f in files:
    if f.dataset in COST_DATASETS:
        columns, numeric = source_columns(layouts[f.dataset])
        requests.append(ReadRequest(f.dataset, f, tuple(columns), tuple(numeric)))
    elif f.dataset == "GBAPERSOONTAB":
        requests.append(ReadRequest(f.dataset, f, ("RINPERSOONS", "RINPERSOON")))
    elif f.dataset in HOUSEHOLD_REGISTERS:
        columns, optional = register_columns(f.dataset, year)
        requests.append(ReadRequest(f.dataset, f, tuple(columns), (), optional))
assert all(r.source.format == "sav" for r in requests), "the data folder has no .sav files"


def stored(request):
    import pyreadstat
    names = pyreadstat.read_sav(str(request.source.path), metadataonly=True)[1].column_names
    wanted = {{c.upper() for c in request.columns}}
    return [n for n in names if n.upper() in wanted]


way = {way!r}
started = time.perf_counter()
rows = 0
if way == "pyreadstat":
    import pyreadstat
    for r in requests:
        rows += len(pyreadstat.read_sav(str(r.source.path), usecols=stored(r))[0])
elif way == "pyreadstat_multiprocessing":
    import pyreadstat
    for r in requests:
        rows += len(pyreadstat.read_file_multiprocessing(pyreadstat.read_sav, str(r.source.path), num_processes=2,
                                                         usecols=stored(r))[0])
elif way == "read_cbs_table":
    for r in requests:
        rows += len(read_cbs_table(r.source, list(r.columns), r.numeric, r.optional))
else:
    for _, table in read_side_by_side(requests):
        rows += len(table)
print(json.dumps({{"seconds": time.perf_counter() - started, "rows": rows, "files": len(requests)}}))
"""

WAYS = (("pyreadstat", "pyreadstat.read_sav, file after file (reference)"),
        ("pyreadstat_multiprocessing", "pyreadstat.read_file_multiprocessing, 2 processes"),
        ("read_cbs_table", "bundle: read_cbs_table, file after file"),
        ("read_side_by_side", "bundle: read_side_by_side, 2 spawn processes"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "bench_data" / "data_1000000"),
                        help="a generated data folder with .sav files")
    args = parser.parse_args()
    config = Path(args.data).resolve() / "config.toml"
    results = {}
    for way, _ in WAYS:
        code = CHILD.format(root=str(ROOT), config=str(config), way=way)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8")
        if done.returncode != 0:
            raise SystemExit(done.stderr[-3000:])
        results[way] = json.loads(done.stdout.strip().splitlines()[-1])
    reference = results["pyreadstat"]["seconds"]
    print(f"{results['pyreadstat']['files']} .sav files, {results['pyreadstat']['rows']:,} rows, from {args.data}")
    print(f"{'':<52}{'seconds':>9}{'rows/s':>13}{'ratio':>8}")
    for way, label in WAYS:
        r = results[way]
        print(f"{label:<52}{r['seconds']:>9.1f}{r['rows'] / r['seconds']:>13,.0f}{r['seconds'] / reference:>8.2f}")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"benchmark took {time.perf_counter() - started:.0f} s")
