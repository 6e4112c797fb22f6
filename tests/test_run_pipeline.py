"""The command-line scripts, run as a user runs them: from a plain copy of the folder."""
from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lib.demo import prepare_demo
from lib.pipeline import all_steps

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ["run_all.py", "make_demo_data.py", "check_export.py"] + [f"{step.name}.py" for step in all_steps()]


@pytest.fixture(scope="module")
def bundle_copy(tmp_path_factory) -> Path:
    """The bundle copied to a folder of its own, as a researcher copies it into RA."""
    target = tmp_path_factory.mktemp("bundle") / "kostenanalyse"
    for part in ("lib", "scripts", "disclosure_control", "output_templates"):
        if (ROOT / part).exists():
            shutil.copytree(ROOT / part, target / part, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def run(bundle: Path, script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in __import__("os").environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, str(bundle / "scripts" / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=600)


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_explains_itself(bundle_copy, tmp_path, script):
    result = run(bundle_copy, script, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
    assert "--config" in result.stdout or "--out" in result.stdout or "EXPORT_DIR" in result.stdout
    if script == "run_all.py":
        assert "--from STEP" in result.stdout and "--steps" in result.stdout


def test_list_steps_names_what_each_step_needs(bundle_copy, tmp_path):
    result = run(bundle_copy, "run_all.py", "--list-steps", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert " 5. cube " in result.stdout and "    needs the steps: households, price\n" in result.stdout


def test_run_all_writes_work_export_and_a_readable_log(bundle_copy, small_dataset, tmp_path):
    result = run(bundle_copy, "run_all.py", "--config", str(small_dataset / "config.toml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    work, export = small_dataset / "work", small_dataset / "export"
    log = (work / "logs" / "run.log").read_text(encoding="utf-8")
    n = len(all_steps())
    for number, step in enumerate(all_steps(), start=1):
        assert f"step {number}/{n} {step.name}:" in log
        assert (work / f"{number:02d}_{step.name}" / "step.json").is_file()
    assert log.count("done in") >= n and "run finished" in log
    assert "GBAHUISHOUDENSBUS (1 file) rows" in log
    manifest = json.loads((work / "01_inventory" / "step.json").read_text(encoding="utf-8"))
    assert manifest["config_sha256"] and manifest["counts"]
    sources = pd.read_csv(work / "01_inventory" / "sources.csv")
    assert sources.loc[sources["dataset"] == "JGDHULPBUS", "version"].tolist() == [2]
    assert (sources["missing_columns"].fillna("") == "").all()
    # Only files the safe writer wrote and listed in its manifest; the export check passed.
    manifest = json.loads((export / "disclosure_manifest.json").read_text(encoding="utf-8"))
    listed = json.dumps(manifest)
    exported = [p.name for p in export.rglob("*") if p.is_file()]
    assert "huishoudens_naar_type.csv" in exported
    assert all(name in listed for name in exported if name not in ("disclosure_manifest.json", "export_complete.json"))
    # The export is marked complete, for the manifest it has.
    assert (export / "export_complete.json").is_file()
    export_number = [step.name for step in all_steps()].index("export") + 1
    check = work / f"{export_number:02d}_export" / "check_export.txt"
    assert "RESULT: no findings" in check.read_text(encoding="utf-8")


def test_one_step_can_be_rerun_alone(bundle_copy, small_dataset, tmp_path):
    run(bundle_copy, "run_all.py", "--config", str(small_dataset / "config.toml"), cwd=tmp_path)
    result = run(bundle_copy, "households.py", "--config", str(small_dataset / "config.toml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "households:" in result.stdout and "inventory:" not in result.stdout


def test_a_step_before_its_input_exists_says_what_to_run(bundle_copy, tmp_path):
    from lib.synthetic.generate import generate
    from lib.synthetic.spec import GeneratorSpec
    generate(tmp_path / "data", GeneratorSpec(households=300, seed=3), progress=lambda _: None)
    result = run(bundle_copy, "households.py", "--config", str(tmp_path / "data" / "config.toml"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "needs the output of step 'read_sources'" in result.stderr
    assert "needs the output of step 'inventory'" in result.stderr
    assert f'run_all.py --config "{(tmp_path / "data" / "config.toml").resolve()}"\n' in result.stderr  # from the start
    assert not (tmp_path / "data" / "work" / "04_households").exists()                         # nothing ran


def test_bad_config_gives_a_message_not_a_traceback(bundle_copy, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[run]\nnaam = "x"\n[study]\narea = ["0344"]\n', encoding="utf-8")
    result = run(bundle_copy, "run_all.py", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "unknown key 'naam' in [run]" in result.stderr
    assert "missing required key 'peildatum' in [study]" in result.stderr


def test_demo_data_are_made_once_and_run(tmp_path):
    demo = tmp_path / "demo"
    config = prepare_demo(demo, households=1_000, progress=lambda _: None)
    stamp = config.stat().st_mtime_ns
    assert prepare_demo(demo, households=1_000, progress=lambda _: None) == config
    assert config.stat().st_mtime_ns == stamp                          # reused, not regenerated
    from lib.config import load_config
    from lib.pipeline import run_steps
    results = run_steps(load_config(config))
    assert (demo / "work" / "logs" / "run.log").is_file()
    assert (demo / "export" / "huishoudens_naar_type.csv").is_file()
    # The demo runs the price sensitivity (every price at 75% and 125%): its tables are in the export,
    # the costs below and above the run's (evidence: the values before protection).
    assert (demo / "export" / "prijsgevoeligheid_domeinen.csv").is_file()
    cells = pd.read_csv(demo / "work" / "evidence" / "prijsgevoeligheid_domeinen.cells.csv").set_index("domein")
    base, low, high = (cells.loc["Totaal", f"true_{c}"] for c in ("sum_kosten", "sum_kosten_laag", "sum_kosten_hoog"))
    assert low < base < high
    assert results["inventory"].counts["GBAPERSOONTAB (1 file) rows"] > 2_000


def test_progress_reports_share_done_and_time_left(monkeypatch):
    from lib import pipeline
    clock = iter([0.0, 2.0, 10.0, 11.0, 30.0])
    # A handler of our own on the run's logger: pytest's caplog sees its records once or twice
    # depending on the pytest version and on whether an earlier run turned propagation off.
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.INFO)
    handler.emit = records.append
    monkeypatch.setattr(pipeline.LOG, "handlers", [handler])
    monkeypatch.setattr(pipeline.LOG, "propagate", False)
    level = pipeline.LOG.level
    pipeline.LOG.setLevel(logging.INFO)
    progress = pipeline.Progress("records priced", total=1000, min_seconds=5.0, clock=lambda: next(clock))
    progress(100)   # t=2: too soon after the start, nothing logged
    progress(250)   # t=10: 250 done in 10 s, 750 left at the same rate = 30 s
    progress(300)   # t=11: too soon after the last message
    progress(1000)  # t=30: finished, the step's own "done in" says so
    pipeline.LOG.setLevel(level)
    messages = [r.getMessage().strip() for r in records]
    assert messages == ["records priced: 250 of 1,000 (25%); 10 s elapsed, about 30 s left in this step"]
