"""Layouts as data: a run fits the layouts to files whose columns are named and ordered otherwise,
by an override file alone, and gets the same ledger; a missing column or a bad override is a
message that names the dataset, the file, the column and the override to write."""
from __future__ import annotations


import pandas as pd
import pytest

from lib.config import load_config
from lib.layouts import LayoutError, builtin_entries, entry_as_toml, load_layouts
from lib.pipeline import run_steps, step_folder
from lib.readers import ReadError
from lib.records import read_source_files
from lib.sources import SourceFile
from lib.workfiles import read_table

STEPS = ["inventory", "read_sources", "price"]
PREFIX = "ra_"
RENAMED_STEM = {"VERDTAB": "VERDACHTEN"}
"""A dataset whose files are also named otherwise (the override sets its file_stem)."""


def _renamed(value):
    """A layout value with every column name as the renamed copy has it."""
    if isinstance(value, dict):
        return {k: _renamed(v) for k, v in value.items()}
    return PREFIX + value.lower()


def _override_entries() -> dict[str, dict]:
    entries = {}
    for name, entry in builtin_entries().items():
        entries[name] = {"columns": _renamed(entry.get("columns", {})), "optional": _renamed(entry.get("optional", {}))}
        if name in RENAMED_STEM:
            entries[name]["file_stem"] = RENAMED_STEM[name]
    return entries


def _copy_renamed(source_dir, target_dir):
    """Every CSV file of the CBS data with each column renamed (``ra_`` + lower case) and the columns
    in reverse order; the files of RENAMED_STEM renamed too."""
    for path in (source_dir / "cbs").rglob("*.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        frame = frame[frame.columns[::-1]].rename(columns=lambda c: PREFIX + c.lower())
        name = path.name
        for dataset, stem in RENAMED_STEM.items():
            old_stem = builtin_entries()[dataset]["file_stem"]
            if name.upper().startswith(old_stem) and name[len(old_stem)].isdigit():
                name = stem + name[len(old_stem):]
        target = target_dir / path.relative_to(source_dir).parent / name
        target.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(target, index=False, encoding="utf-8")


def _config(text: str, work, layouts: str = "") -> str:
    text = text.replace('work_dir = "work"', f'work_dir = "{work.as_posix()}"').replace(
        'format_preference = ["parquet", "sav", "csv"]',
        'format_preference = ["csv"]' + (f'\nlayouts = "{layouts}"' if layouts else ""))
    for dataset, stem in RENAMED_STEM.items() if layouts else ():
        old_stem = builtin_entries()[dataset]["file_stem"]
        text = text.replace(f"/{old_stem}*", f"/{stem}*")
    return text


@pytest.fixture(scope="module")
def renamed_runs(small_dataset, tmp_path_factory):
    """The small data set run with the built-in layouts, and its renamed, reordered copy run with an
    override file."""
    base = tmp_path_factory.mktemp("layouts")
    text = (small_dataset / "config.toml").read_text(encoding="utf-8")
    original = small_dataset / "config_csv_only.toml"
    original.write_text(_config(text, base / "work_original"), encoding="utf-8")
    copy = base / "renamed"
    _copy_renamed(small_dataset, copy)
    (copy / "ra_layouts.toml").write_text("".join(entry_as_toml(n, e) for n, e in _override_entries().items()),
                                          encoding="utf-8")
    (copy / "config.toml").write_text(_config(text, base / "work_renamed", "ra_layouts.toml"), encoding="utf-8")
    configs = load_config(original), load_config(copy / "config.toml")
    for config in configs:
        run_steps(config, STEPS)
    return configs


def _ledger_by_key(config) -> pd.DataFrame:
    ledger = read_table(step_folder(config, "price") / "ledger")
    keys = read_table(step_folder(config, "read_sources") / "persons")["key"].to_numpy()
    return (ledger.assign(key=keys[ledger["person"].to_numpy()], domain=ledger["domain"].astype(str),
                          source=ledger["source"].astype(str))
            .drop(columns="person").sort_values(["key", "month", "domain", "source"]).reset_index(drop=True))


def test_a_renamed_and_reordered_copy_of_every_dataset_gives_the_same_ledger(renamed_runs):
    original, renamed = renamed_runs
    chosen = pd.read_csv(step_folder(renamed, "inventory") / "sources.csv")
    assert set(chosen["dataset"]) == set(builtin_entries())               # every dataset was renamed and read
    assert (chosen["missing_columns"].fillna("") == "").all()
    assert chosen.loc[chosen["dataset"] == "VERDTAB", "path"].str.contains("VERDACHTEN").all()
    got, expected = _ledger_by_key(renamed), _ledger_by_key(original)
    assert len(expected) > 1000 and set(expected["domain"]) >= {"politie", "detentie", "halt", "jeugdhulp"}
    pd.testing.assert_frame_equal(got, expected)
    # The accounts of rows match too (the same rows read, used and rejected per source).
    columns = ["source", "rows_read", "rows_used", "rows_rejected"]
    pd.testing.assert_frame_equal(pd.read_csv(step_folder(renamed, "read_sources") / "reconciliation.csv")[columns],
                                  pd.read_csv(step_folder(original, "read_sources") / "reconciliation.csv")[columns])


def test_a_missing_column_names_the_dataset_file_column_and_the_override(tmp_path):
    path = tmp_path / "VERD2021TABV1.csv"
    pd.DataFrame({"RINPERSOONS": ["R"], "RINPERSOON": ["1"], "VRDDATUMREGISTRATIE": ["20210101"],
                  "VRDMISDRIJFCATEGORIE": ["3"]}).to_csv(path, index=False)
    with pytest.raises(ReadError) as err:
        read_source_files("VERDTAB", [SourceFile("VERDTAB", path, 2021, 1, "csv")])
    message = str(err.value)
    assert message.startswith(f"VERDTAB, file {path}: column(s) VRDAANTALVERMOGEN, VRDAANTALVERNIELING, ")
    assert "(not in the layout: VRDDATUMREGISTRATIE, VRDMISDRIJFCATEGORIE)" in message
    assert 'VRDAANTALGEWELD: [VERDTAB.columns.counts] "3" = "<its name in the file>"' in message
    assert "[sources] layouts" in message and "scripts/inspect_sources.py" in message


@pytest.mark.parametrize("override, expected", [
    ('[VERDTAB.columns]\nRINPERSOONS = "A"\nRINPERSOON = "B"\nstrat = "C"\n',
     "[VERDTAB.columns]: unknown role 'strat' for form 'yearly'"),
    ('[VERDTABB]\nform = "events"\n', "[VERDTABB] is not a dataset the bundle reads"),
    ('[HALTTAB]\nform = "events"\n[HALTTAB.columns]\nRINPERSOONS = "A"\nRINPERSOON = "B"\ndate = "D"\n',
     "[HALTTAB.columns]: form 'events' needs the role(s) code"),
    ('[WMOBUS.columns]\nstart = "S"\nend = "E"\ncode = "C"\n', "[WMOBUS.columns]: the person key is missing"),
    ('[GEDETINEERDENTAB]\nform = "weekly"\n', "[GEDETINEERDENTAB]: form = 'weekly' is not one of"),
])
def test_a_bad_override_names_the_file_the_dataset_and_the_key(tmp_path, override, expected):
    path = tmp_path / "my_layouts.toml"
    path.write_text(override, encoding="utf-8")
    with pytest.raises(LayoutError) as err:
        load_layouts(path)
    assert str(err.value).startswith(f"{path}: ") and expected in str(err.value), str(err.value)


def test_the_dated_justice_layouts_override_only_what_they_give():
    from lib.layouts import CBS_DATASETS, DATED_JUSTICE_LAYOUTS
    dated = load_layouts(DATED_JUSTICE_LAYOUTS)
    assert (dated["VERDTAB"].form, dated["VERDTAB"].start_column, dated["VERDTAB"].code_column) == (
        "events", "VRDDATUMREGISTRATIE", "VRDMISDRIJFCATEGORIE")
    assert dated["GEDETINEERDENTAB"].columns == ("RINPERSOONS", "RINPERSOON", "DETDATUMINSTROOM",
                                                 "DETDATUMUITSTROOM", "DETSOORTINRICHTING")
    assert dated["VERDTAB"].file_stem == CBS_DATASETS["VERDTAB"].file_stem == "VERD"     # not given: built-in
    assert dated["WMOBUS"] == CBS_DATASETS["WMOBUS"]


def test_without_the_override_the_inventory_and_the_read_name_the_column_and_the_line_to_write(renamed_runs):
    _, renamed = renamed_runs
    text = renamed.path.read_text(encoding="utf-8").replace('layouts = "ra_layouts.toml"', "")
    text = "\n".join(line for line in text.splitlines() if not line.startswith("VERDTAB ="))   # its files renamed too
    text = text.replace(str(renamed.work_dir.as_posix()), str((renamed.work_dir.parent / "work_plain").as_posix()))
    path = renamed.path.with_name("config_plain.toml")
    path.write_text(text, encoding="utf-8")
    plain = load_config(path)
    notes = run_steps(plain, ["inventory"])["inventory"].notes
    wmo = [n for n in notes if n.startswith("WARNING WMOBUS, file ")]
    assert len(wmo) == 1 and "missing column(s) RINPERSOONS RINPERSOON WMOGELDIGHEIDBEGINDATUM" in wmo[0]
    assert '[WMOBUS.columns] start = "<its name in the file>"' in wmo[0]
    with pytest.raises(ReadError) as err:
        run_steps(plain, ["read_sources"])
    message = str(err.value)
    assert message.startswith("GBAPERSOONTAB, file ") and "column(s) RINPERSOONS, RINPERSOON of the layout" in message
    assert ("(not in the layout: ra_gbageneratie, ra_gbageboortedag, ra_gbageboortemaand, ra_gbageboortejaar, "
            "ra_gbageslacht, ra_rinpersoon, ra_rinpersoons)") in message
    assert '[GBAPERSOONTAB.columns] "RINPERSOON" = "<its name in the file>"' in message
