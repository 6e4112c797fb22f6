"""Benchmark of the whole pipeline at 100,000, 1 million and 8.2 million households (the country).

    python benchmarks/bench_pipeline.py                          # the three sizes
    python benchmarks/bench_pipeline.py --sizes 100000 1000000   # some of them
    python benchmarks/bench_pipeline.py --sizes 8200000 --no-monitoring
    python benchmarks/bench_pipeline.py --sizes 1000000 --inputs sav parquet   # SPSS files, as RA has them

For each size, synthetic data in the RA layouts are generated once into
``bench_data/data_<households>`` (git-ignored; reused when present; CSV, parquet and .sav; a
folder generated earlier without .sav files gets them written from its parquet files by the
generator's .sav writer, which gives the same bytes as generating them) and a run for the whole
synthetic country is configured beside them (``bench_nl.toml``: area NL, work and export folders
``work_nl`` / ``export_nl``, a monitoring cohort of the selected households starting 2021-01-01
unless ``--no-monitoring``; with ``--inputs csv`` or ``sav`` the run reads those files, in
``work_nl_<format>`` / ``export_nl_<format>``). Then, per input format, each in a fresh process:

1. the reference: only reading the input files the run reads (the same files, formats and
   columns; pyarrow / pyreadstat, no validation, one file after the other), measured in the same
   run because machines here are noisy;
2. every step of the pipeline in one process, as ``scripts/run_all.py`` runs them; each
   step's wall time and peak memory (reset per step on Linux) come from its ``step.json``. The
   reading step reads .sav files in two worker processes: their peak memory is printed beside it
   and added to the run's peak.

Printed per size, input format and step: wall time, peak memory, rows and rows per second (the
rows a step works through: source rows, records, persons, ledger rows, households or tables) and
the step's time as a multiple of only reading the inputs; then the whole pipeline's time against
the reference and, between sizes, the growth of time against the growth of households. The
packages of the environment are printed first (the RA case: ``requirements.txt`` only). Targets (issue 10, on 2 cores and 24 GB): the
national run end to end within 15 minutes and 16 GB, 10x the households at most 12x the
time, the whole pipeline at most 2x only reading the inputs. Also printed: the targets of
the data steps at 1 million households (reading, validation and linking within 60 s,
4 GB and 2x only reading; pricing within 30 s; cube and baseline within 30 s).
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lib.pipeline import all_steps  # noqa: E402

REFERENCE = r"""
import json, sys, time
sys.path.insert(0, {root!r})
import pandas as pd
from lib.config import load_config
from lib.layouts import CBS_DATASETS
from lib.pipeline import peak_memory_mb
from lib.sources import locate_sources
config = load_config({config!r})
year = config.peildatum.year
files, _ = locate_sources(config)
started = time.perf_counter()
rows = 0
for f in files:
    columns = {{c.replace("{{year}}", str(year)).upper() for c in CBS_DATASETS[f.dataset].columns}}
    if f.format == "parquet":
        import pyarrow.parquet as pq
        names = pq.read_schema(f.path).names
        table = pq.read_table(f.path, columns=[n for n in names if n.upper() in columns]).to_pandas()
    elif f.format == "sav":
        import pyreadstat
        names = pyreadstat.read_sav(str(f.path), metadataonly=True)[1].column_names
        table = pyreadstat.read_sav(str(f.path), usecols=[n for n in names if n.upper() in columns])[0]
    else:
        # The fastest plain CSV reading at hand: pyarrow's multi-threaded reader, as the run's.
        import pyarrow as pa
        import pyarrow.csv as pacsv
        with open(f.path, encoding="utf-8-sig") as handle:
            header = handle.readline()
        sep = ";" if header.count(";") > header.count(",") else ","
        names = [n.strip().strip('"').lstrip("\ufeff") for n in header.rstrip("\r\n").split(sep)]
        wanted = [n for n in names if n.upper() in columns]
        table = pacsv.read_csv(f.path, parse_options=pacsv.ParseOptions(delimiter=sep),
                               convert_options=pacsv.ConvertOptions(
                                   include_columns=wanted, column_types={{n: pa.string() for n in wanted}})).to_pandas()
    rows += len(table)
    del table
print(json.dumps({{"seconds": time.perf_counter() - started, "rows": rows, "peak_mb": peak_memory_mb()}}))
"""

PIPELINE = r"""
import json, sys, time
sys.path.insert(0, {root!r})
from lib.config import load_config
from lib.pipeline import run_steps
config = load_config({config!r})
started = time.perf_counter()
run_steps(config)
print(json.dumps({{"seconds": time.perf_counter() - started}}))
"""

MONITORING = """
[monitoring]
enabled = true
cohort = "selection"
cohort_start = 2021-01-01
"""


def child(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8")
    if result.returncode != 0:
        raise SystemExit(result.stdout[-3000:] + result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def ensure_data(households: int, inputs: list[str]) -> Path:
    data = ROOT / "bench_data" / f"data_{households}"
    if not (data / "config.toml").is_file():
        print(f"generating {households:,} households into {data} (csv, parquet, sav) ...", flush=True)
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_demo_data.py"), "--out", str(data),
                        "--households", str(households), "--formats", "csv,parquet,sav"], check=True,
                       stdout=subprocess.DEVNULL)
    if "sav" in inputs:
        add_sav_files(data)
    return data


def add_sav_files(data: Path) -> None:
    """Write the .sav file of every CBS parquet file that has none, with the generator's writer, in
    chunks (the writer's bytes do not depend on the chunks, so they are the generated files')."""
    import pyarrow.parquet as pq
    from lib.synthetic.sav_writer import SavWriter
    from lib.layouts import CBS_DATASETS
    missing = [p for p in sorted((data / "cbs").rglob("*.parquet")) if not p.with_suffix(".sav").is_file()]
    if not missing:
        return
    started = time.perf_counter()
    labels = {d.file_stem: d.description for d in CBS_DATASETS.values()}
    for path in missing:
        label = next((text for stem, text in labels.items() if path.name.startswith(stem)), "")
        partial = path.with_suffix(".sav.partial")
        writer = SavWriter(partial, file_label=label[:64])
        for batch in pq.ParquetFile(path).iter_batches(batch_size=1_000_000):
            writer.append(batch.to_pandas())
        writer.close()
        partial.replace(path.with_suffix(".sav"))
    print(f"wrote {len(missing)} .sav files from the parquet files in {time.perf_counter() - started:.0f} s",
          flush=True)


def national_config(data: Path, monitoring: bool, inputs: str = "parquet") -> Path:
    """The generated config with the whole country as study area (and a monitoring cohort),
    reading the ``inputs`` files (parquet, or the CSV files of the same data)."""
    suffix = "" if inputs == "parquet" else f"_{inputs}"
    text = (data / "config.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^area = .*$", 'area = ["NL"]', text)
    text = re.sub(r'(?m)^work_dir = .*$', f'work_dir = "work_nl{suffix}"', text)
    text = re.sub(r'(?m)^export_dir = .*$', f'export_dir = "export_nl{suffix}"', text)
    text = re.sub(r'(?m)^name = .*$', 'name = "benchmark: the whole synthetic country"', text, count=1)
    if inputs != "parquet":
        text = re.sub(r'(?m)^format_preference = .*$', f'format_preference = ["{inputs}"]', text)
    if monitoring:
        text += MONITORING
    path = data / f"bench_nl{suffix}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def step_rows(name: str, manifests: dict[str, dict]) -> tuple[int | None, str]:
    """The rows a step works through, from the counts the steps report in step.json."""
    counts = {step: m["counts"] for step, m in manifests.items()}
    source_rows = sum(v for k, v in counts.get("inventory", {}).items() if k.endswith(" rows"))
    ledger_rows = next((v for k, v in counts.get("price", {}).items() if k.startswith("ledger rows")), None)
    households = counts.get("cube", {}).get("households in the study population")
    tables = len(list((Path(manifests[name]["step_dir"]) / "tables").glob("*"))) if name != "export" else None
    by_step = {
        "inventory": (source_rows, "source rows"),
        "read_sources": (source_rows, "source rows"),
        "price": (counts.get("price", {}).get("records"), "records"),
        "households": (counts.get("households", {}).get("persons in the population register"), "persons"),
        "cube": (ledger_rows, "ledger rows"),
        "baseline": (households, "households"),
        "coherence": (households, "households"),
        "selection": (households, "households"),
        "monitoring": (ledger_rows, "ledger rows"),
        "export": (counts.get("export", {}).get("tables requested"), "tables"),
        "report": (counts.get("report", {}).get("tables in the report"), "tables"),
    }
    rows, unit = by_step.get(name, (None, ""))
    if rows is None and tables:
        return tables, "tables"
    return rows, unit


def run_size(households: int, monitoring: bool, inputs: str = "parquet") -> dict:
    data = ensure_data(households, [inputs])
    config_path = national_config(data, monitoring, inputs)
    from lib.config import load_config
    from lib.pipeline import step_folder
    config = load_config(config_path)
    reference = child(REFERENCE.format(root=str(ROOT), config=str(config_path)))
    pipeline = child(PIPELINE.format(root=str(ROOT), config=str(config_path)))
    manifests = {}
    for step in all_steps():
        folder = step_folder(config, step.name)
        manifests[step.name] = json.loads((folder / "step.json").read_text(encoding="utf-8"))
        manifests[step.name]["step_dir"] = str(folder)
    return {"households": households, "data": str(data), "inputs": inputs, "reference": reference,
            "pipeline": pipeline, "manifests": manifests}


def print_size(result: dict) -> None:
    reference, pipeline, manifests = result["reference"], result["pipeline"], result["manifests"]
    print(f"\n== {result['households']:,} households (data in {result['data']}, area NL, {result['inputs']} inputs)")
    print(f"{'':<36}{'seconds':>9}{'x read':>8}{'peak MB':>10}{'rows':>14}{'rows/s':>15}  rows of")
    print(f"{'reference: only reading the inputs':<36}{reference['seconds']:>9.1f}{1:>8.2f}"
          f"{reference['peak_mb'] or 0:>10,.0f}{reference['rows']:>14,}{reference['rows'] / reference['seconds']:>15,.0f}"
          "  source rows")
    for name, manifest in manifests.items():
        rows, unit = step_rows(name, manifests)
        seconds = manifest["seconds"]
        rate = f"{rows / seconds:>15,.0f}" if rows and seconds > 0 else f"{'':>15}"
        peak = manifest.get("peak_memory_mb") or 0
        print(f"{'  ' + name:<36}{seconds:>9.1f}{seconds / reference['seconds']:>8.2f}{peak:>10,.0f}{rows or 0:>14,}"
              f"{rate}  {unit}")
        if workers := _reading_processes_mb(manifest):
            print(f"{'    + its reading processes':<36}{'':>9}{'':>8}{workers:>10,.0f}")
    peak = run_peak_mb(manifests)
    total = pipeline["seconds"]
    print(f"{'whole pipeline':<36}{total:>9.1f}{total / reference['seconds']:>8.2f}{peak:>10,.0f}")
    print(f"ratio of the whole pipeline to only reading the inputs: {total / reference['seconds']:.2f} (target <= 2)")
    seconds = {name: m["seconds"] for name, m in manifests.items()}
    linking = seconds["inventory"] + seconds["read_sources"] + seconds["households"]
    linking_peak = max(manifests[n].get("peak_memory_mb") or 0 for n in ("inventory", "read_sources", "households"))
    print(f"reading, validation and linking (inventory + read_sources + households): {linking:.1f} s, "
          f"{linking_peak:,.0f} MB, ratio to only reading {linking / reference['seconds']:.2f} "
          "(at 1M households: <= 60 s, <= 4,096 MB, ratio <= 2)")
    print(f"pricing: {seconds['price']:.1f} s (at 1M households: <= 30 s); cube + baseline: "
          f"{seconds['cube'] + seconds['baseline']:.1f} s (at 1M households: <= 30 s)")


def _reading_processes_mb(manifest: dict) -> float:
    return manifest.get("counts", {}).get("peak MB of the reading processes together", 0)


def run_peak_mb(manifests: dict[str, dict]) -> float:
    """The run's peak memory: the largest step peak, the reading step's with its worker processes
    added (an upper bound: the processes' peaks need not coincide with the main process's)."""
    return max((m.get("peak_memory_mb") or 0) + _reading_processes_mb(m) for m in manifests.values())


def print_summary(results: list[dict]) -> None:
    print("\n== summary")
    print(f"{'households':>12}{'inputs':>8}{'read s':>9}{'pipeline s':>12}{'ratio':>8}{'peak GB':>9}{'time x':>9}"
          f"{'hh x':>7}")
    previous: dict[str, dict] = {}
    for r in results:
        total = r["pipeline"]["seconds"]
        peak = run_peak_mb(r["manifests"]) / 1024
        before = previous.get(r["inputs"])
        growth = (f"{total / before['pipeline']['seconds']:>9.2f}{r['households'] / before['households']:>7.1f}"
                  if before else f"{'':>9}{'':>7}")
        print(f"{r['households']:>12,}{r['inputs']:>8}{r['reference']['seconds']:>9.1f}{total:>12.1f}"
              f"{total / r['reference']['seconds']:>8.2f}{peak:>9.2f}{growth}")
        previous[r["inputs"]] = r
    print("targets: national <= 900 s and <= 16 GB; time x <= 1.2 * hh x; ratio <= 2")


def print_environment() -> None:
    from importlib import metadata
    versions = []
    for package in ("pandas", "numpy", "scipy", "pyreadstat", "pyarrow", "matplotlib", "openpyxl"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} not installed")
    import os
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; " + ", ".join(versions))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 8_200_000])
    parser.add_argument("--no-monitoring", action="store_true", help="run without a monitoring cohort")
    parser.add_argument("--json", help="also write the measurements to this JSON file")
    parser.add_argument("--inputs", choices=["parquet", "csv", "sav"], nargs="+", default=["parquet"],
                        help="which files of the generated data the run (and the reference) reads; several: each")
    args = parser.parse_args()
    started = time.perf_counter()
    print_environment()
    results = []
    for households in sorted(args.sizes):
        for inputs in args.inputs:
            results.append(run_size(households, not args.no_monitoring, inputs))
            print_size(results[-1])
    print_summary(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"benchmark took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
