"""The export folder is replaced whole, or not at all (issue 16, "The export folder").

The export step writes a staging folder beside the export folder and puts it in place only
when every table is written, audited and the completion record lists every file; the
report and ``output_request.zip`` are written under temporary names and renamed. Simulated
here: a run stopped after some tables (Ctrl+C, and a kill that leaves its staging folder
behind), a kill between the two renames of the swap, a table open in Excel (a
``PermissionError`` for one file), a record that does not match its folder, and a stop
while zipping.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from disclosure_control import DisclosureRules, SafeWriter, check_export, completion
from disclosure_control.completion import (COMPLETION_NAME, FolderInUse, clean_leftovers, completion_problems,
                                           old_folder, replace_folders, staging_folder, write_completion_record)
from lib.config import load_config
from lib.errors import UserFacingError
from lib.pipeline import all_steps, run_steps, step_folder

EPOCH = "1700000000"     # SOURCE_DATE_EPOCH: the completion record's time, so runs compare byte for byte
UPSTREAM = [s.name for s in all_steps()][:[s.name for s in all_steps()].index("export")]
TABLE = "huishoudens_naar_type.csv"


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _beside(folder: Path) -> list[str]:
    """Staging and old folders (and temporary files) a run left beside ``folder``."""
    return sorted(p.name for p in folder.parent.iterdir()
                  if p.name.startswith(folder.name + ".") and not p.name.endswith(".lock"))


@pytest.fixture(scope="module")
def base(small_dataset, tmp_path_factory):
    """One complete run of the small synthetic data set, in folders of its own, kept as a snapshot."""
    root = tmp_path_factory.mktemp("staging")
    text = (small_dataset / "config.toml").read_text(encoding="utf-8")
    text = text.replace('work_dir = "work"', f'work_dir = "{(root / "work").as_posix()}"')
    text = text.replace('export_dir = "export"', f'export_dir = "{(root / "export").as_posix()}"')
    assert (root / "work").as_posix() in text and (root / "export").as_posix() in text
    path = small_dataset / "config_export_staging.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
        config = load_config(path)
        run_steps(config)
    for name in ("work", "export"):
        shutil.copytree(root / name, root / "snapshot" / name)
    return config, root


@pytest.fixture
def run(base, monkeypatch):
    """The complete run of ``base``, restored from its snapshot for every test."""
    config, root = base
    for path in list(root.iterdir()):
        if path.name != "snapshot":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    for name in ("work", "export"):
        shutil.copytree(root / "snapshot" / name, root / name)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    return config


def _export(config):
    return run_steps(config, ["export"])


def _check(config):
    return check_export(config.export_dir, evidence_dir=config.work_dir / "evidence")


def _stop_after(monkeypatch, tables: int, exception=KeyboardInterrupt):
    """The writer stops (as on Ctrl+C) when it is about to write table ``tables + 1``."""
    finish = SafeWriter._finish
    calls = []

    def finishing(self, pending, protection):
        if len(calls) == tables:
            raise exception("stopped by the test")
        calls.append(pending.model.name)
        return finish(self, pending, protection)

    monkeypatch.setattr(SafeWriter, "_finish", finishing)
    return calls


def _small_export(root: Path) -> Path:
    """Two tables released by the safe writer alone, marked complete."""
    rows = [("a", "north", 100.0)] * 20 + [("b", "east", 120.0)] * 12 + [("b", "west", 120.0)] * 12
    data = pd.DataFrame(rows, columns=["type", "region", "cost"])
    data["hh"] = [f"h{i}" for i in range(len(data))]
    writer = SafeWriter(root / "export", root / "evidence", DisclosureRules(),
                        provenance={"script": "test", "config_sha256": "0" * 64})
    meta = {"title": "Huishoudens", "unit": "huishoudens", "population": "alle huishoudens", "period": "2023"}
    with writer.batch() as batch:
        batch.frequency_table(data, name="households", unit="hh", dimensions=["region"], metadata=meta)
        batch.frequency_table(data, name="costs", unit="hh", dimensions=["type"], metadata=meta)
    assert [r.status for r in batch.results] == ["pass", "pass"], [r.reasons for r in batch.results]
    write_completion_record(root / "export", run_id="test", config_sha256="0" * 64, n_tables=2)
    return root / "export"


# ------------------------------------------------------------ a stopped run


def test_a_run_stopped_after_some_tables_leaves_the_previous_export(run, monkeypatch):
    before, evidence_before = _files(run.export_dir), _files(run.work_dir / "evidence")
    assert _check(run).ok
    written = _stop_after(monkeypatch, 5)
    with pytest.raises(KeyboardInterrupt):
        _export(run)
    assert len(written) == 5
    # The previous export and its evidence, untouched and still passing the check; nothing beside them.
    assert _files(run.export_dir) == before
    assert _files(run.work_dir / "evidence") == evidence_before
    assert _check(run).ok
    assert _beside(run.export_dir) == [] and _beside(run.work_dir / "evidence") == []
    package = step_folder(run, "report") / "output_request.zip"
    assert package.is_file()                      # the package of the export that is still there
    # The next run gives, byte for byte, the export of an uninterrupted run.
    monkeypatch.undo()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    _export(run)
    assert _files(run.export_dir) == before
    assert _check(run).ok
    # The package of the previous export is gone once a new export is in place.
    assert not package.exists()


def test_a_first_run_stopped_after_some_tables_leaves_no_export(run, monkeypatch):
    shutil.rmtree(run.export_dir)
    _stop_after(monkeypatch, 3, exception=RuntimeError)
    with pytest.raises(RuntimeError, match="stopped by the test"):
        _export(run)
    # No export (the runner makes an empty folder): never a partial one that passes the check.
    assert not run.export_dir.exists() or list(run.export_dir.iterdir()) == []
    assert not _check(run).ok
    assert _beside(run.export_dir) == []


def test_a_killed_run_leaves_a_staging_folder_that_is_not_an_export_and_the_next_run_removes(run, monkeypatch):
    before = _files(run.export_dir)
    # A kill: the step cannot clean up after itself.
    monkeypatch.setattr("lib.steps.export.remove_tree", lambda path: None)
    _stop_after(monkeypatch, 4)
    with pytest.raises(KeyboardInterrupt):
        _export(run)
    left = _beside(run.export_dir)
    assert len(left) == 1 and ".staging-" in left[0]
    staging = run.export_dir.parent / left[0]
    assert len(list(staging.glob("*.notes.txt"))) == 4
    # What a killed run left is refused by the check, and is not the export.
    refused = check_export(staging)
    assert not refused.ok and (COMPLETION_NAME, "incomplete") in {(f.file, f.rule) for f in refused.findings}
    assert _files(run.export_dir) == before and _check(run).ok
    monkeypatch.undo()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    result = _export(run)["export"]
    assert _beside(run.export_dir) == [] and _beside(run.work_dir / "evidence") == []
    assert any("removed " + left[0] in note for note in result.notes)
    assert _files(run.export_dir) == before and _check(run).ok


def test_a_run_killed_between_the_two_renames_is_undone_by_the_next_run(run, monkeypatch):
    before = _files(run.export_dir)
    # The state a kill leaves between "previous export renamed aside" and "staging renamed into place".
    aside = old_folder(run.export_dir, "20000101T000000000000-1")
    os.replace(run.export_dir, aside)
    staging = staging_folder(run.export_dir, "20000101T000000000000-1")
    shutil.copytree(aside, staging)
    assert not _check(run).ok                      # no export folder: nothing to mistake
    # The next run puts the previous export back first; even when it then fails itself.
    def failing(*args, **kwargs):
        raise RuntimeError("stopped by the test")

    monkeypatch.setattr("lib.steps.export.collect_requests", failing)
    with pytest.raises(RuntimeError, match="stopped by the test"):
        _export(run)
    assert _files(run.export_dir) == before and _check(run).ok
    assert _beside(run.export_dir) == []


def test_the_swap_is_all_or_nothing(tmp_path, monkeypatch):
    folders = {}
    for name in ("export", "evidence"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "old.txt").write_text("old", encoding="utf-8")
        staging = staging_folder(tmp_path / name, "t")
        staging.mkdir()
        (staging / "new.txt").write_text("new", encoding="utf-8")
        folders[name] = (staging, tmp_path / name)
    real = os.replace

    def replace(src, dst):
        if Path(src) == tmp_path / "evidence":
            raise PermissionError(13, "Permission denied", str(src))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(FolderInUse, match="evidence"):
        replace_folders(folders.values(), "t")
    # The export folder, renamed aside first, is back; the staging folders are as they were.
    for name, (staging, target) in folders.items():
        assert [p.name for p in target.iterdir()] == ["old.txt"], name
        assert [p.name for p in staging.iterdir()] == ["new.txt"], name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evidence", "evidence.staging-t", "export",
                                                          "export.staging-t"]
    monkeypatch.undo()
    assert replace_folders(folders.values(), "t") == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evidence", "export"]
    assert [p.name for p in (tmp_path / "export").iterdir()] == ["new.txt"]


@pytest.mark.parametrize("named", ["folder", "file"])
def test_the_file_that_keeps_a_folder_from_being_replaced_is_named(tmp_path, monkeypatch, named):
    target, staging = tmp_path / "export", staging_folder(tmp_path / "export", "t")
    for folder in (target, staging):
        folder.mkdir()
        (folder / "a.csv").write_text("a\n1\n", encoding="utf-8")
        (folder / "b.csv").write_text("b\n1\n", encoding="utf-8")
    locked = target / "b.csv"
    real = os.replace

    def replace(src, dst):
        if Path(src) == target:   # the error names the folder (Windows) or the file that is open
            raise PermissionError(13, "Access is denied", str(target if named == "folder" else locked))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    # Which file is open is found by trying to open each for writing (Excel denies that).
    monkeypatch.setattr(completion, "file_in_use", lambda path: Path(path) == locked)
    with pytest.raises(FolderInUse) as refused:
        replace_folders([(staging, target)], "t")
    assert refused.value.path == locked and "b.csv" in str(refused.value) and "close it" in str(refused.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "export.staging-t"]


def test_leftovers_are_restored_or_removed(tmp_path):
    target = tmp_path / "export"
    for token in ("20200101T000000000000-1", "20210101T000000000000-1"):
        old_folder(target, token).mkdir()
        (old_folder(target, token) / "x.txt").write_text(token, encoding="utf-8")
    staging_folder(target, "20210101T000000000001-2").mkdir()
    (tmp_path / "export_other").mkdir()          # another folder whose name merely starts alike
    notes = clean_leftovers(target)
    assert (target / "x.txt").read_text(encoding="utf-8") == "20210101T000000000000-1"   # the newest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "export_other"]
    assert len(notes) == 3 and notes[0].startswith("restored export")


# ------------------------------------------------------------ a file open in Excel


def _cli_export(config, monkeypatch, capsys) -> tuple[int, str]:
    from lib.cli import run_cli, step_main
    monkeypatch.setattr(sys, "argv", ["export.py", "--config", str(config.path)])
    with pytest.raises(SystemExit) as stopped:
        run_cli(step_main("export", "export"))
    return stopped.value.code, capsys.readouterr().err


def test_a_table_open_in_excel_gives_a_message_and_keeps_the_previous_export(run, monkeypatch, capsys):
    before, evidence_before = _files(run.export_dir), _files(run.work_dir / "evidence")
    locked = run.export_dir.resolve() / TABLE
    real = os.replace

    def replace(src, dst):
        if Path(src) == run.export_dir.resolve():
            # Windows refuses to rename a folder holding an open file, and names the folder.
            raise PermissionError(13, "Access is denied", str(src))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(completion, "file_in_use", lambda path: Path(path) == locked)
    code, err = _cli_export(run, monkeypatch, capsys)
    assert code == 2
    assert "Traceback" not in err
    assert TABLE in err and "close" in err.lower() and "run the step again" in err
    assert _files(run.export_dir) == before and _files(run.work_dir / "evidence") == evidence_before
    assert _beside(run.export_dir) == [] and _beside(run.work_dir / "evidence") == []
    monkeypatch.undo()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    assert _check(run).ok


def test_on_windows_an_open_table_is_named_before_the_tables_are_made(run, monkeypatch):
    before = _files(run.export_dir)
    monkeypatch.setattr(completion, "CHECK_FILES_BEFORE", True)
    monkeypatch.setattr(completion, "file_in_use", lambda path: Path(path).name == TABLE)
    monkeypatch.setattr(SafeWriter, "__init__", lambda *a, **k: pytest.fail("tables made before the check"))
    with pytest.raises(UserFacingError, match=TABLE) as refused:
        _export(run)
    assert "Close it" in str(refused.value) and "the previous export is as it was" in str(refused.value)
    assert _files(run.export_dir) == before and _beside(run.export_dir) == []


def test_the_writer_empties_a_folder_record_first_manifest_last_and_names_an_open_file(tmp_path, monkeypatch):
    export = _small_export(tmp_path)
    locked = export.resolve() / "households.csv"
    real = Path.unlink

    def unlink(self, *args, **kwargs):
        if self == locked:
            raise PermissionError(13, "The process cannot access the file", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", unlink)
    with pytest.raises(FolderInUse, match="households.csv") as refused:
        SafeWriter(export, tmp_path / "evidence2", replace_existing=True)
    assert "close it" in str(refused.value)
    left = sorted(p.name for p in export.iterdir())
    # Not complete any more (the record went first), still described (the manifest goes last).
    assert COMPLETION_NAME not in left and "disclosure_manifest.json" in left and "households.csv" in left


def test_files_the_bundle_did_not_write_are_not_replaced(run):
    own = run.export_dir / "mijn_aantekeningen.docx"
    own.write_bytes(b"notes of the researcher")
    with pytest.raises(UserFacingError, match="mijn_aantekeningen.docx"):
        _export(run)
    assert own.read_bytes() == b"notes of the researcher"


# ------------------------------------------------------------ the completion record


def test_the_completion_record_lists_every_file_and_the_run(run):
    record = json.loads((run.export_dir / COMPLETION_NAME).read_text(encoding="utf-8"))
    assert record["run_id"] == run["run"]["name"] and record["config_sha256"] == run.sha256
    assert record["completed_utc"] == "2023-11-14T22:13:20Z"          # SOURCE_DATE_EPOCH
    manifest = json.loads((run.export_dir / "disclosure_manifest.json").read_text(encoding="utf-8"))
    assert record["n_tables"] == len(manifest["tables"]) >= 15
    files = {name: digest for name, digest in _files(run.export_dir).items() if name != COMPLETION_NAME}
    assert record["files"] == files and "disclosure_manifest.json" in files


@pytest.mark.parametrize("case", ["listed-missing", "other-hash", "unlisted"])
def test_check_export_refuses_a_folder_that_does_not_match_its_record(tmp_path, case):
    export = _small_export(tmp_path)
    assert check_export(export, tmp_path / "evidence").ok
    path = export / COMPLETION_NAME
    record = json.loads(path.read_text(encoding="utf-8"))
    if case == "listed-missing":
        record["files"]["households_extra.csv"] = "0" * 64
        path.write_text(json.dumps(record, indent=2), encoding="utf-8")
        expected = "files.households_extra.csv"
    elif case == "other-hash":
        record["files"]["costs.csv"] = "1" * 64
        path.write_text(json.dumps(record, indent=2), encoding="utf-8")
        expected = "files.costs.csv"
    else:
        (export / "later.csv").write_text("a,b\n1,2\n", encoding="utf-8")
        expected = "files.later.csv"
    assert expected in {cell for cell, _ in completion_problems(export)}
    report = check_export(export, tmp_path / "evidence")
    assert not report.ok
    refused = {(f.file, f.cell) for f in report.findings}
    if case == "unlisted":   # said once, by the file check (not written by the safe writer)
        assert ("later.csv", "") in refused
    else:
        assert (COMPLETION_NAME, expected) in refused


def test_a_file_changed_after_the_record_is_refused(tmp_path):
    export = _small_export(tmp_path)
    assert completion_problems(export) == []
    (export / "costs.notes.txt").write_bytes((export / "costs.notes.txt").read_bytes() + b"\n")
    assert [cell for cell, _ in completion_problems(export)] == ["files.costs.notes.txt"]


# ------------------------------------------------------------ the report and the zip


def _report_step(config):
    """Run the report step's own function (the runner would first empty its folder)."""
    from lib.pipeline import RunContext
    from lib.steps import report as report_step
    names = [s.name for s in all_steps()]
    return report_step.make_report(RunContext(config, all_steps()[names.index("report")], names.index("report") + 1))


def test_output_request_zip_is_never_partial(run, monkeypatch):
    from lib.steps import report as report_step
    folder = step_folder(run, "report")
    package = folder / "output_request.zip"
    before = package.read_bytes()
    with zipfile.ZipFile(package) as archive:
        assert archive.testzip() is None and any(n.startswith("export/") for n in archive.namelist())
    # The same export gives the same zip, byte for byte.
    run_steps(run, ["report"])
    assert package.read_bytes() == before
    _report_step(run)
    assert package.read_bytes() == before
    add, calls = report_step._add, []

    def adding(archive, path, name):
        if len(calls) == 7:
            raise KeyboardInterrupt
        calls.append(name)
        add(archive, path, name)

    monkeypatch.setattr(report_step, "_add", adding)
    with pytest.raises(KeyboardInterrupt):
        _report_step(run)
    assert package.read_bytes() == before                        # the previous zip, whole
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        run_steps(run, ["report"])                                # the runner empties the folder first
    assert not package.exists()                                   # so: no zip at all
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_a_locked_zip_gives_a_message(run, monkeypatch):
    folder = step_folder(run, "report")
    before = (folder / "output_request.zip").read_bytes()
    real = os.replace

    def replace(src, dst):
        if Path(dst).name == "output_request.zip":
            raise PermissionError(13, "Access is denied", str(dst))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(UserFacingError, match="output_request.zip") as refused:
        _report_step(run)
    assert "Close it" in str(refused.value)
    assert (folder / "output_request.zip").read_bytes() == before
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_the_report_refuses_an_unfinished_export(run):
    (run.export_dir / COMPLETION_NAME).unlink()
    with pytest.raises(UserFacingError, match="not a finished export"):
        _report_step(run)
    with pytest.raises(UserFacingError):
        run_steps(run, ["report"])


def test_report_files_are_replaced_whole(run, monkeypatch):
    from lib import report as report_module
    folder = step_folder(run, "report")
    before = {name: (folder / name).read_bytes() for name in ("report.md", "report.html")}
    write_bytes = Path.write_bytes

    def half_then_stop(self, data):
        if "report.html" in self.name and self.name.endswith(".tmp"):
            write_bytes(self, data[: len(data) // 2])
            raise KeyboardInterrupt
        return write_bytes(self, data)

    monkeypatch.setattr(Path, "write_bytes", half_then_stop)
    with pytest.raises(KeyboardInterrupt):
        report_module.write_report(run.export_dir, folder)
    assert {name: (folder / name).read_bytes() for name in before} == before
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
