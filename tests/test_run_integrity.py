"""Every figure true to its inputs, or no figure (issue 16): stale and half-written work files, and locks.

A run interrupted anywhere leaves no step.json for the step it was in, so no later step reads
that step's files, and a rerun gives a byte-identical export. A step whose config settings,
input files or upstream outputs changed is out of date, and running a later step on it stops
with a message that names the change and the step to rerun from. A second run on the same work
or export folder refuses; a lock of a process that died is taken over.

All on 300 synthetic households (the whole country of the data set, so that the export has
figures): one uninterrupted run is the reference; every test works on a copy of its folder
(config, price table, work and export folders: the config names them relative to itself, so
the copy's config has the same bytes and its export must be the reference's, byte for byte).
"""
from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lib import provenance
from lib.config import REFERENCE_DATA, load_config
from lib.pipeline import all_steps, check_steps, freshness, run_steps, step_folder
from lib.provenance import STEP_JSON, StaleWorkFiles
from lib.synthetic.generate import generate
from lib.synthetic.spec import GeneratorSpec
from lib.workfiles import FolderBusy, FolderLock, export_folder_lock, process_alive, work_folder_lock

ROOT = Path(__file__).resolve().parents[1]
EPOCH = "1700000000"     # SOURCE_DATE_EPOCH: the export's completion time, so that two runs can be byte-identical
STEPS = [s.name for s in all_steps()]
AFTER_PRICE = STEPS[STEPS.index("price") + 1:]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("integrity_data")
    generate(out, GeneratorSpec(households=300, seed=3), progress=lambda _: None)
    return out


def write_project(dataset: Path, folder: Path) -> Path:
    """A project folder: config (work, export and price table named relative to it), price table."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REFERENCE_DATA / "prices_default.csv", folder / "prices.csv")
    text = (dataset / "config.toml").read_text(encoding="utf-8")
    text = re.sub(r"area = \[[^\]]*\]", 'area = ["NL"]', text)
    text = text.replace('"cbs/', f'"{(dataset / "cbs").as_posix()}/')
    text = re.sub(r"(price_year = \d+)", r'\1\nprice_tables = ["prices.csv"]', text)
    assert 'work_dir = "work"' in text and 'export_dir = "export"' in text and "prices.csv" in text
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(dataset, tmp_path_factory) -> Path:
    """The project folder after one uninterrupted run."""
    folder = tmp_path_factory.mktemp("integrity_reference") / "project"
    config = write_project(dataset, folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
        run_steps(load_config(config))
    assert (folder / "export" / "export_complete.json").is_file()
    return folder


@pytest.fixture
def project(reference, tmp_path, monkeypatch) -> Path:
    """A copy of the reference project (file times kept), to be changed by a test."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    target = tmp_path / "project"
    shutil.copytree(reference, target)
    return target


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_same_export(folder: Path, reference: Path) -> None:
    got, expected = tree(folder / "export"), tree(reference / "export")
    assert sorted(got) == sorted(expected)
    assert len(got) > 20 and "disclosure_manifest.json" in got and "export_complete.json" in got
    assert [name for name in got if got[name] != expected[name]] == []


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if ".tmp-" in p.name or p.name.endswith(".lock")]


def run_script(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, str(ROOT / "scripts" / script), *args], capture_output=True, text=True,
                          encoding="utf-8", env=env, timeout=600)


# ---------------------------------------------------------------- interrupted steps


def interrupt_price_halfway(monkeypatch) -> None:
    """The price step killed while writing its ledger: one part of it written, then Ctrl+C."""
    import lib.steps.price as price_step
    real = price_step.price_records

    def interrupted(*args, ledger_sink, **kwargs):
        def sink(part):
            ledger_sink(part.iloc[: max(1, len(part) // 2)])
            raise KeyboardInterrupt
        return real(*args, ledger_sink=sink, **kwargs)

    monkeypatch.setattr(price_step, "price_records", interrupted)


def interrupt_baseline_halfway(monkeypatch) -> None:
    """The baseline step killed after three of its table requests were written."""
    import lib.steps.baseline as baseline_step
    real = baseline_step.request_tables

    def interrupted(out, tables):
        real(out, list(tables)[:3])
        raise KeyboardInterrupt

    monkeypatch.setattr(baseline_step, "request_tables", interrupted)


def test_runs_interrupted_in_two_steps_are_refused_downstream_and_a_rerun_gives_the_same_export(
        project, reference, monkeypatch):
    config = load_config(project / "config.toml")
    price_dir, baseline_dir = step_folder(config, "price"), step_folder(config, "baseline")

    # 1. Killed while the price step writes its ledger.
    interrupt_price_halfway(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        run_steps(config, from_step="price")
    monkeypatch.undo()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    # No step.json, no ledger under its name (the half-written one was a temporary file, removed),
    # no temporary file, no lock left behind.
    assert not (price_dir / STEP_JSON).exists()
    assert sorted(p.name for p in price_dir.iterdir()) == []
    assert leftovers(project) == []
    # The later steps alone: refused, naming the step and what to run.
    with pytest.raises(StaleWorkFiles) as refused:
        run_steps(config, AFTER_PRICE)
    message = str(refused.value)
    assert "needs the output of step 'price', which has not run to completion" in message
    assert message.rstrip().endswith("--from price")
    assert "step 'read_sources'" not in message and "step 'inventory'" not in message
    # As a user runs it: exit code 2, the message, no traceback.
    result = run_script("baseline.py", "--config", str(project / "config.toml"))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "step 'price'" in result.stderr and "--from price" in result.stderr
    # The previous export stays as it was (the export step did not run).
    assert_same_export(project, reference)

    # 2. The rerun from price killed in the baseline step, after three of its table requests.
    interrupt_baseline_halfway(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        run_steps(config, from_step="price")
    monkeypatch.undo()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    assert (price_dir / STEP_JSON).is_file() and not (baseline_dir / STEP_JSON).exists()
    assert len(list((baseline_dir / "tables").glob("*.json"))) == 3      # what the step wrote before the kill
    with pytest.raises(StaleWorkFiles) as refused:
        run_steps(config, ["export", "report"])
    message = str(refused.value)
    assert "needs the output of step 'baseline', which has not run to completion" in message
    # coherence, selection and monitoring read the cube of before the rerun of price: out of date too.
    assert "step 'coherence'" in message
    assert "step 'cube' ran again since" in message
    assert message.rstrip().endswith("--from baseline")

    # 3. Rerun from the step that stopped: its leftovers are removed first, and the export is the
    # uninterrupted run's, byte for byte.
    run_steps(config, from_step="baseline")
    log = (project / "work" / "logs" / "run.log").read_text(encoding="utf-8")
    assert "an earlier run of this step did not finish (no step.json): its files were removed" in log
    assert_same_export(project, reference)
    assert leftovers(project) == []


# ---------------------------------------------------------------- stale work files


def test_a_changed_price_year_is_refused_until_the_run_is_repeated_from_price(project, reference):
    text = (project / "config.toml").read_text(encoding="utf-8")
    year = int(re.search(r"price_year = (\d+)", text).group(1))
    (project / "config.toml").write_text(text.replace(f"price_year = {year}", f"price_year = {year - 1}"),
                                         encoding="utf-8")
    config = load_config(project / "config.toml")
    with pytest.raises(StaleWorkFiles) as refused:
        run_steps(config, ["baseline", "export"])
    message = str(refused.value)
    assert f"step 'price' ({step_folder(config, 'price')}) is out of date: [prices] price_year changed " \
           f"(was {year}, now {year - 1})" in message
    assert message.rstrip().endswith("--from price")
    # Nothing ran: the export is still the reference's.
    assert_same_export(project, reference)

    run_steps(config, from_step="price")
    index = pd.read_csv(REFERENCE_DATA / "cpi.csv").set_index("year")["index"]
    summary = pd.read_csv(project / "work" / "06_baseline" / "summary.csv", index_col=0)["value"]
    before = pd.read_csv(reference / "work" / "06_baseline" / "summary.csv", index_col=0)["value"]
    # Every euro in the price year before, at the same index ratio.
    assert summary["total cost"] == pytest.approx(before["total cost"] * index[year - 1] / index[year], rel=1e-9)
    assert summary["households"] == before["households"] > 250
    notes = [p.read_text(encoding="utf-8") for p in (project / "export").glob("*.notes.txt")]
    assert notes and all(f"euro's van {year - 1} (prijspeil)" in n and f"euro's van {year} " not in n for n in notes)


def test_a_changed_price_table_is_refused_and_rerunning_price_alone_is_not_enough(project):
    config = load_config(project / "config.toml")
    table = (project / "prices.csv").resolve()
    original = table.read_bytes()
    # One price doubled (the first row: jeugdhulp, ambulant wijkteam, EUR 350.00 a month).
    assert b",month,350.00,2017," in original
    table.write_bytes(original.replace(b",month,350.00,2017,", b",month,700.00,2017,", 1))
    with pytest.raises(StaleWorkFiles) as refused:
        run_steps(config, ["baseline", "export"])
    message = str(refused.value)
    assert f"step 'price' ({step_folder(config, 'price')}) is out of date: the file {table} has other contents" \
           in message
    assert message.rstrip().endswith("--from price")
    # price then export in one run: the steps between would keep the old prices; refused too.
    with pytest.raises(StaleWorkFiles) as refused:
        run_steps(config, ["price", "export"])
    assert "step 'cube'" in str(refused.value) and "reads the output of step 'price', which this run runs again" \
        in str(refused.value)
    assert str(refused.value).rstrip().endswith("--from price")
    # The same contents written again (a new modification time) is no change for a small file.
    table.write_bytes(original)
    os.utime(table, ns=(table.stat().st_atime_ns, table.stat().st_mtime_ns + 10**9))
    check_steps(config, ["baseline", "export"])
    # A large file (compared by size and time) with a new time is.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(provenance, "HASH_LIMIT", 0)
        with pytest.raises(StaleWorkFiles, match="was modified"):
            check_steps(config, ["baseline", "export"])


def test_a_changed_setting_makes_only_the_steps_that_use_it_out_of_date(project):
    text = (project / "config.toml").read_text(encoding="utf-8")
    (project / "config.toml").write_text(text + "\n[coherence]\nmin_support_households = 30\n", encoding="utf-8")
    config = load_config(project / "config.toml")
    check = freshness(config)
    stale = {name: check.problems(name) for name in STEPS if check.problems(name)}
    assert sorted(stale) == ["coherence", "export"]
    assert "[coherence] min_support_households changed (was 50, now 30)" in stale["coherence"][0]
    assert "the config file changed" in stale["export"][0]
    # The refusal names the earliest such step.
    with pytest.raises(StaleWorkFiles) as refused:
        run_steps(config, ["report"])
    assert str(refused.value).rstrip().endswith("--from coherence")


def test_every_step_records_what_it_was_computed_from(reference):
    config = load_config(reference / "config.toml")
    manifests = {s.name: json.loads((step_folder(config, s.name) / STEP_JSON).read_text(encoding="utf-8"))
                 for s in all_steps()}
    assert len({m["run_id"] for m in manifests.values()}) == len(STEPS)
    for step in all_steps():
        recorded = manifests[step.name]["computed_from"]
        # Exactly the declared upstream steps (a step reading an undeclared one would add it), each
        # with the run id that step wrote.
        assert recorded["upstream"] == {u: manifests[u]["run_id"] for u in step.provenance.upstream}, step.name
        assert set(recorded["config"]) >= set(step.provenance.config), step.name
    price = manifests["price"]["computed_from"]
    assert price["config"]["prices"]["price_tables"] == ["prices.csv"]
    assert price["files"]["prices.csv"]["sha256"] == provenance.sha256_file(reference / "prices.csv")
    inventory_files = manifests["inventory"]["computed_from"]["files"]
    chosen = pd.read_csv(reference / "work" / "01_inventory" / "sources.csv")["path"]
    assert sorted(inventory_files) == sorted(str(Path(p).resolve()) for p in chosen)
    assert manifests["price"]["work_files"]["pricing.csv"]["bytes"] == \
        (reference / "work" / "03_price" / "pricing.csv").stat().st_size
    export = manifests["export"]["outside"][str(config.export_dir)]
    assert export["disclosure_manifest.json"]["sha256"] == \
        provenance.sha256_file(reference / "export" / "disclosure_manifest.json")
    log = (reference / "work" / "logs" / "run.log").read_text(encoding="utf-8")
    assert "does not declare" not in log and "out of date" not in log


def test_a_work_file_removed_after_its_step_finished_is_noticed(project):
    config = load_config(project / "config.toml")
    (project / "work" / "05_cube" / "person_cube.parquet").unlink(missing_ok=True)
    (project / "work" / "05_cube" / "person_cube.csv").unlink(missing_ok=True)
    with pytest.raises(StaleWorkFiles, match=r"step 'cube' .* is out of date: its work file .*person_cube.* is missing"):
        check_steps(config, ["baseline"])


# ---------------------------------------------------------------- locks


@pytest.fixture
def live_process():
    """A process that runs until the test ends (it waits for its input to close): no timing involved."""
    process = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    yield process.pid
    process.stdin.close()
    process.wait()


@pytest.fixture
def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    assert not process_alive(process.pid)
    return process.pid


def plant_lock(path: Path, pid: int, started: str = "2024-05-01T09:30:00+02:00", host: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": pid, "host": host or platform.node(), "started": started,
                                "command": "scripts/run_all.py --config other.toml", "token": "x" * 32}),
                    encoding="utf-8")


def test_a_second_run_on_the_same_work_folder_refuses_with_the_holders_pid_and_time(project, live_process):
    config = load_config(project / "config.toml")
    lock = project / "work" / "run.lock"
    plant_lock(lock, live_process)
    before = (project / "work" / "01_inventory" / STEP_JSON).read_bytes()
    with pytest.raises(FolderBusy) as refused:
        run_steps(config, ["inventory"])
    assert f"process {live_process}, started 2024-05-01T09:30:00+02:00" in str(refused.value)
    assert f"work folder {config.work_dir}" in str(refused.value)
    assert (project / "work" / "01_inventory" / STEP_JSON).read_bytes() == before   # nothing ran
    assert json.loads(lock.read_text(encoding="utf-8"))["pid"] == live_process      # the holder keeps its lock
    result = run_script("run_all.py", "--config", str(project / "config.toml"), "--from", "cube")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"process {live_process}" in result.stderr


def test_a_second_run_on_the_same_export_folder_refuses(project, live_process):
    config = load_config(project / "config.toml")
    plant_lock(project / "export.lock", live_process)
    with pytest.raises(FolderBusy, match=f"export folder {re.escape(str(config.export_dir))} is in use by another "
                                         f"run: process {live_process}"):
        run_steps(config, ["report"])
    assert not (project / "work" / "run.lock").exists()     # the work folder's lock was given back
    run_steps(config, ["inventory"])                         # a run that does not touch the export folder runs


def test_a_lock_left_by_a_dead_process_is_taken_over(project, dead_pid):
    config = load_config(project / "config.toml")
    plant_lock(project / "work" / "run.lock", dead_pid)
    run_steps(config, ["inventory"])
    log = (project / "work" / "logs" / "run.log").read_text(encoding="utf-8")
    assert (f"took over the lock of the work folder {config.work_dir} left by process {dead_pid} (started "
            "2024-05-01T09:30:00+02:00), which no longer runs") in log
    assert not (project / "work" / "run.lock").exists()      # released at the end of the run
    assert (project / "work" / "01_inventory" / STEP_JSON).is_file()


def test_a_lock_of_another_computer_or_an_unreadable_lock_is_not_guessed_at(tmp_path, dead_pid):
    path = tmp_path / "run.lock"
    plant_lock(path, dead_pid, host="another-computer")
    with pytest.raises(FolderBusy, match=f"process {dead_pid} on computer another-computer.*delete "
                                         f"{re.escape(str(path))}"):
        FolderLock(path, "work folder x").acquire()
    path.write_text("{half", encoding="utf-8")
    with pytest.raises(FolderBusy, match="cannot be read"):
        FolderLock(path, "work folder x").acquire()


def test_locks_are_exclusive_and_given_back(tmp_path):
    first = work_folder_lock(tmp_path / "work").acquire()
    holder = json.loads((tmp_path / "work" / "run.lock").read_text(encoding="utf-8"))
    assert holder["pid"] == os.getpid() and holder["host"] == platform.node() and holder["started"]
    with pytest.raises(FolderBusy, match=f"process {os.getpid()}, started {re.escape(holder['started'])}"):
        work_folder_lock(tmp_path / "work").acquire()
    first.release()
    assert not (tmp_path / "work" / "run.lock").exists()
    with export_folder_lock(tmp_path / "export") as lock:
        assert lock.path == tmp_path / "export.lock" and lock.path.is_file()
    assert not lock.path.exists()
    assert process_alive(os.getpid())
