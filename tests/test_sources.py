from pathlib import Path

import pytest

from lib.config import load_config
from lib.layouts import CBS_DATASETS
from lib.sources import SourceError, choose_cbs_files, locate_sources, readable_formats


def names(files):
    return sorted(f.path.name for f in files)


def test_highest_version_per_study_year_for_yearly_files():
    paths = [Path(p) for p in ("VERD2018TABV1.csv", "VERD2019TABV1.csv", "VERD2019TABV2.csv", "VERD2019TABV2.sav",
                               "VERD2020TABV3.csv", "VERD2020TABV10.csv", "NOTES.txt", "HALT2019TABV1.csv")]
    chosen, skipped = choose_cbs_files(CBS_DATASETS["VERDTAB"], paths, [2019, 2020], ["sav", "csv"])
    assert names(chosen) == ["VERD2019TABV2.sav", "VERD2020TABV10.csv"]   # V10 > V3: numeric, not text
    reasons = {s.path.name: s.reason for s in skipped}
    assert reasons["VERD2018TABV1.csv"] == "year 2018 is not a study year"
    assert reasons["VERD2019TABV1.csv"] == "older version V1 (V2 is read)"
    assert reasons["VERD2019TABV2.csv"] == "same version read as sav"
    assert reasons["HALT2019TABV1.csv"] == "file name is not of VERD"
    assert "does not follow" in reasons["NOTES.txt"]


def test_newest_file_of_a_cumulative_dataset_wins():
    paths = [Path(p) for p in ("JGDBESCHERM2022BUSV1.parquet", "JGDBESCHERM2023BUSV1.parquet",
                               "JGDBESCHERM2023BUSV1.csv", "JGDBESCHERM2021BUSV4.csv")]
    chosen, skipped = choose_cbs_files(CBS_DATASETS["JGDBESCHERMBUS"], paths, [2019, 2020], ["parquet", "csv"])
    assert names(chosen) == ["JGDBESCHERM2023BUSV1.parquet"]
    assert {s.path.name: s.reason for s in skipped}["JGDBESCHERM2022BUSV1.parquet"] == "older file 2022 (2023 is read)"


def test_missing_source_files_are_a_clear_error(tmp_path):
    (tmp_path / "run.toml").write_text("""
[study]
area = ["0344"]
peildatum = 2023-12-31
years = [2023]
[prices]
price_year = 2023
[sources]
format_preference = ["csv"]
[sources.cbs]
GBAPERSOONTAB = "nowhere/*.csv"
GBAHUISHOUDENSBUS = "nowhere/*.csv"
GBAADRESOBJECTBUS = "nowhere/*.csv"
VSLGWBTAB = "nowhere/*.csv"
""", encoding="utf-8")
    with pytest.raises(SourceError, match="GBAPERSOONTAB = 'nowhere/\\*.csv': no file matches"):
        locate_sources(load_config(tmp_path / "run.toml"))


def test_generated_data_set_picks_the_planted_newest_versions(small_dataset):
    chosen, skipped = locate_sources(load_config(small_dataset / "config.toml"))
    by_dataset = {}
    for f in chosen:
        by_dataset.setdefault(f.dataset, []).append(f)
    assert [f.version for f in by_dataset["JGDHULPBUS"]] == [2]
    assert [f.year for f in by_dataset["JGDBESCHERMBUS"]] == [2023]
    assert {f.year: f.version for f in by_dataset["VERDTAB"]} == {2019: 1, 2020: 1, 2021: 2, 2022: 1, 2023: 1}
    assert sorted(f.year for f in by_dataset["HALTTAB"]) == [2019, 2020, 2021, 2022, 2023]
    preferred = readable_formats(["parquet", "sav", "csv"])[0]
    assert {f.format for f in chosen} == {preferred}


def test_a_package_that_fails_to_import_is_not_importable(tmp_path, monkeypatch):
    import sys

    from lib.sources import importable
    (tmp_path / "broken_dll_package.py").write_text("raise OSError('DLL load failed')\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert importable("broken_dll_package") is False and importable("json") is True
    assert importable("no_such_package_at_all") is False
    sys.modules.pop("broken_dll_package", None)
