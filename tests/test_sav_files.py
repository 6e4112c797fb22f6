"""SPSS .sav files: the generator's streaming writer, reading them side by side, and reruns that
never read them again.

The writer is checked against pyreadstat's own writer (an independent implementation of the
format) and against the bytes of a small file worked out by hand from the format description."""
from __future__ import annotations

import shutil
import struct

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from lib.config import load_config
from lib.pipeline import run_steps
from lib.readers import ReadRequest, read_cbs_table, read_side_by_side
from lib.sources import SourceFile
from lib.synthetic.sav_writer import SavWriter
from lib.workfiles import read_table


def awkward_frame(n: int, seed: int = 3) -> pd.DataFrame:
    """Text of several widths (UTF-8 of more than one byte, blanks, up to 200 bytes) and numbers in
    and out of the range the compression stores in one byte (-99 to 151), missing among them."""
    rng = np.random.default_rng(seed)
    whole = rng.choice([-100.0, -99.0, 0.0, 1.0, 151.0, 152.0, 1e12, -3.0], n)
    return pd.DataFrame({
        "RINPERSOONS": rng.choice(["R", "F", ""], n),
        "RINPERSOON": np.char.zfill(rng.integers(0, 10**9, n).astype("U9"), 9),
        "GBADATUMAANVANGADRESHOUDING": rng.integers(19950101, 20231231, n).astype("U8"),
        "Omschrijving": rng.choice(["é", "jeugdhulp met verblijf", "", "x" * 200, "€ 5"], n),
        "BEDRAG": np.where(rng.random(n) < 0.1, np.nan, np.round(rng.normal(100, 300, n), 2)),
        "AANTAL": whole,
        "AANTALPERSHH": rng.integers(-5, 300, n),
    })


def write_in_chunks(path, frame: pd.DataFrame, sizes: list[int]) -> None:
    writer = SavWriter(path, file_label="test")
    at = 0
    for size in sizes:
        writer.append(frame.iloc[at:at + size])
        at += size
    writer.append(frame.iloc[at:])
    writer.close()


def test_the_values_read_back_are_those_of_a_file_pyreadstat_writes(tmp_path):
    frame = awkward_frame(5_003)
    write_in_chunks(tmp_path / "ours.sav", frame, [0, 1, 7, 1_000, 2_000])   # blocks of 8 codes cross chunks
    pyreadstat.write_sav(frame, str(tmp_path / "theirs.sav"))
    ours, meta = pyreadstat.read_sav(str(tmp_path / "ours.sav"))
    theirs, _ = pyreadstat.read_sav(str(tmp_path / "theirs.sav"))
    pd.testing.assert_frame_equal(ours, theirs)
    assert meta.number_rows == 5_003 and meta.file_label == "test"
    assert list(ours.columns) == list(frame.columns)        # long and mixed-case names kept
    assert ours["Omschrijving"].str.len().max() == 200
    # A range of rows, as the pieces of read_side_by_side read it.
    piece, _ = pyreadstat.read_sav(str(tmp_path / "ours.sav"), row_offset=4_000, row_limit=500)
    pd.testing.assert_frame_equal(piece, theirs.iloc[4_000:4_500].reset_index(drop=True))


def test_the_bytes_do_not_depend_on_the_chunks():
    frame = awkward_frame(777)
    import tempfile
    from pathlib import Path
    folder = Path(tempfile.mkdtemp())
    write_in_chunks(folder / "one.sav", frame, [])
    write_in_chunks(folder / "many.sav", frame, [3, 5, 0, 100, 13])
    assert (folder / "one.sav").read_bytes() == (folder / "many.sav").read_bytes()
    shutil.rmtree(folder)


def test_the_data_of_a_small_file_are_the_bytecode_worked_out_by_hand(tmp_path):
    # Elements, case after case: 1.0 (whole, in range: code 1 + 100), "ab" (text: raw), 2.5 (raw),
    # "" (eight spaces: 254), NaN (system-missing: 255), "x" (raw). Six codes, two padding codes,
    # then the raw elements in order.
    path = tmp_path / "small.sav"
    writer = SavWriter(path)
    writer.append(pd.DataFrame({"A": [1.0, 2.5, np.nan], "B": ["ab", "", "x"]}))
    writer.close()
    expected = bytes([101, 253, 253, 254, 255, 253, 0, 0]) + b"ab      " + struct.pack("<d", 2.5) + b"x       "
    data = path.read_bytes()
    assert data.endswith(b"\xe7\x03\x00\x00\x00\x00\x00\x00" + expected)   # dictionary end (999, 0), then data
    assert struct.unpack_from("<i", data, 80)[0] == 3                      # the number of cases, filled in
    assert struct.unpack_from("<iii", data, 64)[0:3] == (2, 2, 1)          # layout 2, 2 elements a case, compressed


def test_a_longer_text_in_a_later_chunk_widens_its_column_and_nothing_is_cut(tmp_path):
    frame = pd.DataFrame({"CODE": ["a" * 8, "b", "c" * 30, "", "d" * 17], "N": [1.0, 2.0, 3.0, 4.0, 5.0]})
    write_in_chunks(tmp_path / "t.sav", frame, [1, 1, 1])
    write_in_chunks(tmp_path / "whole.sav", frame, [])
    back, meta = pyreadstat.read_sav(str(tmp_path / "t.sav"))
    assert back["CODE"].tolist() == frame["CODE"].tolist() and back["N"].tolist() == frame["N"].tolist()
    assert meta.variable_storage_width["CODE"] == 32           # 30 bytes, in whole elements of 8
    assert (tmp_path / "t.sav").read_bytes() == (tmp_path / "whole.sav").read_bytes()
    assert [p.name for p in tmp_path.iterdir() if "narrower" in p.name] == []


def _sav_file(tmp_path, name: str, frame: pd.DataFrame) -> SourceFile:
    path = tmp_path / f"{name}.sav"
    write_in_chunks(path, frame, [1_000])
    return SourceFile("GBAADRESOBJECTBUS", path, 2023, 1, "sav")


@pytest.mark.parametrize("processes_from_bytes", [0, 1 << 40], ids=["processes", "threads"])
def test_reading_side_by_side_in_pieces_gives_the_tables_of_reading_each_file_whole(tmp_path, processes_from_bytes):
    columns = ("RINPERSOONS", "RINPERSOON", "GBADATUMAANVANGADRESHOUDING")
    files = [_sav_file(tmp_path, f"f{i}", awkward_frame(n, seed=i)) for i, n in enumerate([2_500, 40, 1_200])]
    requests = [ReadRequest(f"r{i}", f, columns) for i, f in enumerate(files)]
    got = dict((request.name, table) for request, table in
               read_side_by_side(requests, piece_rows=1_000, processes_from_bytes=processes_from_bytes))
    assert sorted(got) == ["r0", "r1", "r2"]
    for request in requests:
        expected = read_cbs_table(request.source, list(columns))
        pd.testing.assert_frame_equal(got[request.name].astype({"RINPERSOONS": object,
                                                                "GBADATUMAANVANGADRESHOUDING": object}),
                                      expected.astype({"RINPERSOONS": object, "GBADATUMAANVANGADRESHOUDING": object}))
    assert got["r0"]["RINPERSOON"].dtype == np.int64 and len(got["r0"]) == 2_500


def test_a_damaged_file_read_in_a_worker_process_is_a_message_naming_it(tmp_path):
    from lib.readers import ReadError
    good = _sav_file(tmp_path, "good", awkward_frame(3_000, seed=1))
    damaged = _sav_file(tmp_path, "damaged", awkward_frame(3_000, seed=2))
    data = damaged.path.read_bytes()
    damaged.path.write_bytes(data[: len(data) * 2 // 3])          # a copy that broke off
    requests = [ReadRequest(f.path.stem, f, ("RINPERSOON",)) for f in (good, damaged)]
    with pytest.raises(ReadError, match="damaged.sav: the .sav file cannot be read"):
        for _ in read_side_by_side(requests, piece_rows=1_000, processes_from_bytes=0):
            pass
    import multiprocessing
    assert multiprocessing.active_children() == []             # the workers were stopped, none left reading


def test_later_steps_rerun_from_the_work_folder_without_reading_a_source_file(small_dataset, tmp_path, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(small_dataset, data, ignore=shutil.ignore_patterns("*.parquet", "work*", "export*"))
    config_path = data / "config.toml"
    config_path.write_text(config_path.read_text(encoding="utf-8").replace(
        'format_preference = ["parquet", "sav", "csv"]', 'format_preference = ["sav", "csv"]'), encoding="utf-8")
    config = load_config(config_path)
    run_steps(config, ["inventory", "read_sources", "price", "households"])
    registers = config.work_dir / "02_read_sources" / "registers"
    assert sorted(p.name.split(".")[0] for p in registers.iterdir() if not p.name.endswith(".json")) == \
        ["GBAADRESOBJECTBUS", "GBAHUISHOUDENSBUS", "VSLGWBTAB"]
    # The reading step's copy holds every row of the household register as the source has it.
    source = pyreadstat.read_sav(str(next((data / "cbs" / "Bevolking" / "GBAHUISHOUDENSBUS").glob("*.sav"))),
                                 usecols=["RINPERSOON", "DATUMAANVANGHH"])[0]
    copy = read_table(registers / "GBAHUISHOUDENSBUS")
    assert len(copy) == len(source)
    assert (copy["RINPERSOON"].to_numpy() == source["RINPERSOON"].astype(np.int64).to_numpy()).all()
    households = read_table(config.work_dir / "04_households" / "households")

    def no_source_reading(*args, **kwargs):
        raise AssertionError("a source file was read again")

    for module in ("lib.readers", "lib.households", "lib.steps.read_sources"):
        for name in ("read_cbs_table", "read_side_by_side", "iter_cbs_table"):
            monkeypatch.setattr(f"{module}.{name}", no_source_reading, raising=False)
    monkeypatch.setattr(pyreadstat, "read_sav", no_source_reading)
    run_steps(config, ["households", "cube"])
    pd.testing.assert_frame_equal(read_table(config.work_dir / "04_households" / "households"), households)
