"""The inspection a researcher runs first in RA: columns, kinds of values, the check against the
layout, and a proposed layout entry that reads the file as found."""
from __future__ import annotations

import pandas as pd
import pytest

from lib.accounting import SourceAccount
from lib.config import load_config
from lib.dates import day_number
from lib.layouts import load_layouts
from lib.records import Period, PersonIndex, read_source_files, yearly_records
from lib.sources import SourceFile
from lib.steps.inspect_sources import inspect_sources

# A HALTTAB file whose date of the first Halt offence is called otherwise than the layout says.
HALT_ROWS = [
    ["RINPERSOONS", "RINPERSOON", "HALTAANTALDELICTEN", "HALTAFDOENINGPOSITIEF", "HALTAFDOENINGNEGATIEF",
     "DATUM_EERSTE"],
    ["R", "000000001", "2", "1", "0", "20210305"],
    ["R", "000000002", "1", "0", "1", "20210611"],
    ["R", "000000003", "0", "1", "1", ""],
    ["R", "000000004", "1", "1", "0", "20210305"],
]


@pytest.fixture(scope="module")
def inspected(small_dataset, tmp_path_factory):
    base = tmp_path_factory.mktemp("inspect")
    halt = base / "halt" / "2021" / "HALT2021TABV1.csv"
    halt.parent.mkdir(parents=True)
    pd.DataFrame(HALT_ROWS[1:], columns=HALT_ROWS[0]).to_csv(halt, index=False, encoding="utf-8")
    text = (small_dataset / "config.toml").read_text(encoding="utf-8").replace(
        'HALTTAB = "cbs/VeiligheidRecht/HALTTAB/*/HALT*TABV*.*"',
        f'HALTTAB = "{(base / "halt").as_posix()}/*/HALT*TABV*.*"').replace(
        'work_dir = "work"', f'work_dir = "{(base / "work").as_posix()}"')
    config_path = small_dataset / "config_inspect.toml"
    config_path.write_text(text, encoding="utf-8")
    config = load_config(config_path)
    return config, inspect_sources(config), halt


def test_columns_are_described_with_their_kind_counts_and_examples(inspected):
    config, result, _ = inspected
    assert result.folder == config.work_dir / "00_inspect"
    columns = pd.read_csv(result.folder / "columns.csv", dtype=str, keep_default_na=False)
    halt = columns[columns["dataset"] == "HALTTAB"].set_index("column")
    assert halt.index.tolist() == HALT_ROWS[0]
    assert halt["kind"].to_dict() == {"RINPERSOONS": "code", "RINPERSOON": "identifier",
                                      "HALTAANTALDELICTEN": "whole number", "HALTAFDOENINGPOSITIEF": "flag",
                                      "HALTAFDOENINGNEGATIEF": "flag", "DATUM_EERSTE": "date"}
    assert halt.loc["DATUM_EERSTE", ["distinct", "blank", "examples"]].tolist() == [
        "2", "1", "20210305 (2) | 20210611 (1)"]
    assert halt.loc["RINPERSOON", "examples"] == ""                 # no person key is copied
    assert halt.loc["HALTAFDOENINGPOSITIEF", ["role", "in_layout"]].tolist() == ["flags 1", "True"]
    assert halt.loc["DATUM_EERSTE", ["role", "in_layout"]].tolist() == ["", "False"]
    assert {"GBAPERSOONTAB", "VERDTAB", "JUSTITIEZAKENBUS"} <= set(columns["dataset"])


def test_the_layout_check_names_the_missing_column_and_the_override(inspected):
    _, result, _ = inspected
    check = pd.read_csv(result.folder / "layout_check.csv", keep_default_na=False)
    missing = check[~check["found"]]
    assert missing[["dataset", "column", "role"]].values.tolist() == [["HALTTAB", "HALTDATUMEERSTEDELICT", "date"]]
    assert missing["override"].tolist() == ['[HALTTAB.columns] date = "<its name in the file>"']
    assert result.problems == ["HALTTAB, file HALT2021TABV1.csv: column HALTDATUMEERSTEDELICT (date) not found; "
                               '[HALTTAB.columns] date = "<its name in the file>"']


def test_the_proposed_layout_reads_the_file_as_found(inspected):
    _, result, halt = inspected
    proposed = result.folder / "proposed_layouts.toml"
    text = proposed.read_text(encoding="utf-8")
    assert "# PROPOSED: date = 'DATUM_EERSTE'" in text
    layout = load_layouts(proposed)["HALTTAB"]
    assert layout.date_column == "DATUM_EERSTE"
    period = Period(day_number("2019-01-01"), day_number("2023-12-31"))
    account = SourceAccount("HALTTAB", files=1)
    records, rejected = yearly_records(layout, read_source_files(layout, [SourceFile("HALTTAB", halt, 2021, 1, "csv")]),
                                       period, PersonIndex(pd.Series([1, 2, 3, 4]).to_numpy()), account)
    # By hand: one record per flag set, on the date of the first offence; a blank date: the whole year.
    assert records[["person", "code", "start", "end"]].values.tolist() == [
        [0, "1", day_number("2021-03-05"), day_number("2021-03-05")],
        [1, "2", day_number("2021-06-11"), day_number("2021-06-11")],
        [2, "1", day_number("2021-01-01"), day_number("2021-12-31")],
        [2, "2", day_number("2021-01-01"), day_number("2021-12-31")],
        [3, "1", day_number("2021-03-05"), day_number("2021-03-05")]]
    assert len(rejected) == 0 and account.rows_used == 4


def test_the_municipalitys_own_files_are_described_by_their_header_roles(small_dataset, tmp_path):
    """The municipal route: the BRP extract and an appendix-2 file are described like the registers
    (no examples of BSNs), each column with the role its header gives it; a cost file without Einddatum
    is named with what to do."""
    brp = tmp_path / "brp.csv"
    brp.write_text("BSN;Locatiecode;Gezinsrelatie;Wijkcode\n111222333;L1;H;WK034401\n123456782;L1;P;WK034401\n"
                   "111222334;L2;H;WK034402\n", encoding="utf-8")
    costs = tmp_path / "kosten" / "zorg.csv"
    costs.parent.mkdir()
    costs.write_text("Instelling;BSN;Begindatum;Domein;Bedrag\nZorg A;111222333;01-01-2021;Wmo;100,00\n"
                     "Zorg A;123456782;01-02-2021;Wmo;250,00\n", encoding="utf-8")
    text = (small_dataset / "config_gemeente.toml").read_text(encoding="utf-8")
    text = "\n".join(f'brp_extract = "{brp.as_posix()}"' if line.startswith("brp_extract") else
                     f'cost_files = ["{(costs.parent / "*.csv").as_posix()}"]' if line.startswith("cost_files") else
                     f'work_dir = "{(tmp_path / "work").as_posix()}"' if line.startswith("work_dir") else line
                     for line in text.splitlines())
    config_path = small_dataset / "config_inspect_gemeente.toml"
    config_path.write_text(text, encoding="utf-8")
    result = inspect_sources(load_config(config_path))
    columns = pd.read_csv(result.folder / "columns.csv", dtype=str, keep_default_na=False)
    own = columns[columns["dataset"].isin(["BRP_EXTRACT", "APPENDIX2"])].set_index(["file", "column"])
    assert own.loc[("brp.csv", "BSN"), "role"] == "BSN" and own.loc[("brp.csv", "BSN"), "examples"] == ""
    assert own.loc[("brp.csv", "Wijkcode"), "role"] == "WIJK"
    assert own.loc[("brp.csv", "Wijkcode"), "examples"] == "WK034401 (2) | WK034402 (1)"
    assert own.loc[("brp.csv", "Gezinsrelatie"), "distinct"] == "2"
    assert own.loc[("zorg.csv", "Bedrag"), "role"] == "bedrag" and own.loc[("zorg.csv", "BSN"), "examples"] == ""
    checks = pd.read_csv(result.folder / "layout_check.csv", dtype=str, keep_default_na=False)
    missing = checks[(checks["file"] == "zorg.csv") & (checks["found"] == "False")]
    assert missing["role"].tolist() == ["einddatum"]
    assert "header row" in missing["override"].iloc[0]
    assert any("zorg.csv: column einddatum (einddatum) not found" in p for p in result.problems)
    assert not [p for p in result.problems if "brp.csv" in p]
