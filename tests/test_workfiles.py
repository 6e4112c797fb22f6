"""Work tables written part by part read back as one table, with and without pyarrow; every work file
is written whole or not at all."""
import re
import sys

import numpy as np
import pandas as pd
import pytest

from lib import workfiles


@pytest.mark.parametrize("background", [False, True])
@pytest.mark.parametrize("parquet", [True, False])
def test_a_table_written_in_parts_reads_back_whole_with_its_dtypes(tmp_path, monkeypatch, parquet, background):
    if parquet and not workfiles.HAS_PARQUET:
        pytest.skip("pyarrow not installed")
    monkeypatch.setattr(workfiles, "HAS_PARQUET", parquet)
    domains = ["bijstand", "jeugdhulp", "wmo"]
    rng = np.random.default_rng(5)
    parts = [pd.DataFrame({"person": np.arange(i * 10, i * 10 + n, dtype=np.int32),
                           "domain": pd.Categorical.from_codes(rng.integers(0, 3, n), categories=domains),
                           "cost": rng.random(n)}) for i, n in enumerate([4, 0, 7, 1])]
    with workfiles.TableWriter(tmp_path / "ledger", background=background) as writer:
        for part in parts:
            writer.write(part)
    assert writer.rows == 12
    got = workfiles.read_table(tmp_path / "ledger")
    expected = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert list(got["domain"].cat.categories) == domains


def _visible(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("parquet", [True, False])
def test_an_interrupted_table_is_never_visible_and_an_old_one_stays_whole(tmp_path, monkeypatch, parquet):
    if parquet and not workfiles.HAS_PARQUET:
        pytest.skip("pyarrow not installed")
    monkeypatch.setattr(workfiles, "HAS_PARQUET", parquet)
    part = pd.DataFrame({"person": np.arange(5, dtype=np.int32), "cost": np.linspace(1, 2, 5)})
    # Interrupted while writing: nothing under the table's name, no temporary file left.
    with pytest.raises(KeyboardInterrupt):
        with workfiles.TableWriter(tmp_path / "ledger", background=True) as writer:
            writer.write(part)
            raise KeyboardInterrupt
    assert _visible(tmp_path) == []
    # A complete table, then a rewrite that fails: the complete table is still there, whole.
    workfiles.write_table(part, tmp_path / "ledger")
    names = _visible(tmp_path)
    assert names == (["ledger.parquet"] if parquet else ["ledger.csv", "ledger.dtypes.json"])
    with pytest.raises(RuntimeError):
        with workfiles.TableWriter(tmp_path / "ledger") as writer:
            writer.write(part.iloc[:2])
            raise RuntimeError("disk full")
    assert _visible(tmp_path) == names
    pd.testing.assert_frame_equal(workfiles.read_table(tmp_path / "ledger"), part, check_exact=True)


def test_an_error_in_a_background_write_is_raised_and_leaves_no_table(tmp_path):
    if not workfiles.HAS_PARQUET:
        pytest.skip("pyarrow not installed")
    writer = workfiles.TableWriter(tmp_path / "t", background=True)
    writer.write(pd.DataFrame({"a": [1, 2]}))
    writer.write(pd.DataFrame({"b": ["x"]}))         # other columns than the first part: an error
    with pytest.raises(Exception):
        writer.close()
    assert _visible(tmp_path) == []


def test_atomic_writes_replace_whole_files_or_nothing(tmp_path):
    target = tmp_path / "sub" / "pricing.csv"
    frame = pd.DataFrame({"code": ["a", "b"], "cost": [1.5, 2.25]})
    assert workfiles.write_csv_atomic(frame, target, index=False) == target
    assert target.read_bytes() == b"code,cost\na,1.5\nb,2.25\n"
    # A write that fails halfway leaves the old file as it was, and no temporary file.
    with pytest.raises(ZeroDivisionError):
        with workfiles.atomic_path(target) as tmp:
            tmp.write_bytes(b"code,cost\nhalf")
            1 / 0
    assert target.read_bytes() == b"code,cost\na,1.5\nb,2.25\n"
    assert _visible(target.parent) == ["pricing.csv"]
    workfiles.write_json_atomic(tmp_path / "step.json", {"b": 1, "a": "é"}, ensure_ascii=False)
    assert (tmp_path / "step.json").read_bytes() == '{\n  "b": 1,\n  "a": "é"\n}\n'.encode("utf-8")
    workfiles.write_text_atomic(tmp_path / "check.txt", "RESULT: no findings\n")
    assert (tmp_path / "check.txt").read_bytes() == b"RESULT: no findings\n"     # no \r\n on Windows either
    assert sorted(p.name for p in tmp_path.iterdir()) == ["check.txt", "step.json", "sub"]


def test_a_file_that_cannot_be_replaced_is_named(tmp_path, monkeypatch):
    target = tmp_path / "released.csv"
    target.write_text("old\n", encoding="utf-8")

    def refuse(src, dst):
        raise PermissionError(13, "The process cannot access the file because it is being used by another process")

    monkeypatch.setattr(workfiles.os, "replace", refuse)
    monkeypatch.setattr(workfiles.time, "sleep", lambda seconds: None)     # the retries on Windows
    with pytest.raises(workfiles.FileInUse, match=f"cannot replace {re.escape(str(target))}.*open in another program"):
        workfiles.write_text_atomic(target, "new\n")
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == "old\n" and _visible(tmp_path) == ["released.csv"]


def test_a_pyarrow_that_fails_to_load_counts_as_absent(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def broken(name, *args, **kwargs):
        if name.startswith("pyarrow"):
            raise OSError("DLL load failed while importing lib: The specified module could not be found.")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", broken)
    for name in [m for m in sys.modules if m == "pyarrow" or m.startswith("pyarrow.")]:
        monkeypatch.delitem(sys.modules, name)
    from lib import optional_packages
    assert optional_packages.available("pyarrow") is False
