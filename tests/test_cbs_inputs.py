"""Inputs of the CBS route read right, or refused with a reason (issue 16).

Every file here is written by hand from the public description of the registers (the
dataset, file and column names of MISSION.md and ``lib.layouts``: ``<FILE><YYYY><TAB|BUS>V<n>``,
``RINPERSOONS``/``RINPERSOON``, dates as ``YYYYMMDD`` text), not by the synthetic generator.
Each case ends in a correct result or in a message that names the file, the row where there
is one, and what to do; through ``scripts/run_all.py`` that is exit code 2 without a traceback.
"""
from __future__ import annotations

import codecs
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib.accounting import SourceAccount, check_balance
from lib.config import ConfigError, load_config
from lib.dates import day_number
from lib.pricing import PricingError, load_price_index, load_price_table
from lib.readers import ReadError, file_columns, read_cbs_table, row_count
from lib.records import Period, PersonIndex, amount_records, read_source_files
from lib.sources import SourceError, SourceFile, locate_sources, readable_formats

ROOT = Path(__file__).resolve().parents[1]
HAS_SAV = "sav" in readable_formats(["sav"])
HAS_PARQUET = "parquet" in readable_formats(["parquet"])
PERIOD = Period(day_number("2022-01-01"), day_number("2023-12-31"))


# --- a small CBS data set, written by hand -----------------------------------------------

PERSONS = [  # RINPERSOONS, RINPERSOON, GBAGESLACHT, GBAGEBOORTEJAAR, GBAGEBOORTEMAAND (no GBAGEBOORTEDAG)
    ("R", "000000001", "1", "1980", "03"), ("R", "000000002", "2", "1982", "11"),
    ("R", "000000003", "2", "2010", "06"), ("R", "000000004", "1", "1950", "01"),
]
HOUSEHOLDS = [  # RINPERSOONS, RINPERSOON, DATUMAANVANGHH, DATUMEINDEHH, HUISHOUDNR, TYPHH, PLHH, REFPERSOONHH
    ("R", "000000001", "20050101", "20100531", "000000000101", "3", "4", "1"),   # married couple ...
    ("R", "000000002", "20050101", "20100531", "000000000101", "3", "4", "0"),
    ("R", "000000001", "20100601", "", "000000000101", "5", "6", "1"),           # ... with a child from June 2010
    ("R", "000000002", "20100601", "", "000000000101", "5", "6", "0"),
    ("R", "000000003", "20100601", "", "000000000101", "5", "1", "0"),
    ("R", "000000004", "20000101", "", "000000000102", "1", "2", "1"),           # living alone
]
ADDRESSES = [  # RINPERSOONS, RINPERSOON, GBADATUMAANVANGADRESHOUDING, GBADATUMEINDEADRESHOUDING, SOORT, RINOBJECTNUMMER
    ("R", "000000001", "20050101", "20501231", "A", "1001"), ("R", "000000002", "20050101", "20501231", "A", "1001"),
    ("R", "000000003", "20100601", "20501231", "A", "1001"), ("R", "000000004", "19900101", "20501231", "A", "1002"),
]
WMO = [  # RINPERSOONS, RINPERSOON, WMOGELDIGHEIDBEGINDATUM, WMOGELDIGHEIDEINDDATUM, WMOSOORTVOORZIENING
    ("R", "000000004", "20220101", "20991231", "1"), ("R", "000000002", "20230301", "20230630", "2"),
]


def write_csv(path: Path, header: list[str], rows, sep: str = ";", encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [sep.join(header)] + [sep.join(r) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def cbs_dataset(folder: Path) -> Path:
    """Registers of the CBS route as CSV files named as on the RA data drive, and a config."""
    cbs = folder / "cbs"
    write_csv(cbs / "GBAPERSOON2023TABV1.csv",
              ["RINPERSOONS", "RINPERSOON", "GBAGESLACHT", "GBAGEBOORTEJAAR", "GBAGEBOORTEMAAND"], PERSONS)
    write_csv(cbs / "GBAHUISHOUDENS2023BUSV1.csv",
              ["RINPERSOONS", "RINPERSOON", "DATUMAANVANGHH", "DATUMEINDEHH", "HUISHOUDNR", "TYPHH", "PLHH",
               "REFPERSOONHH"], HOUSEHOLDS)
    write_csv(cbs / "GBAADRESOBJECT2023BUSV1.csv",
              ["RINPERSOONS", "RINPERSOON", "GBADATUMAANVANGADRESHOUDING", "GBADATUMEINDEADRESHOUDING",
               "SOORTOBJECTNUMMER", "RINOBJECTNUMMER"], ADDRESSES)
    write_csv(cbs / "VSLGWB2023TABV1.csv", ["SOORTOBJECTNUMMER", "RINOBJECTNUMMER", "GEM2022", "GEM2023"],
              [("A", "1001", "0344", "0344"), ("A", "1002", "0344", "0344")])
    write_csv(cbs / "WMO2023BUSV1.csv", ["RINPERSOONS", "RINPERSOON", "WMOGELDIGHEIDBEGINDATUM",
                                         "WMOGELDIGHEIDEINDDATUM", "WMOSOORTVOORZIENING"], WMO)
    return write_config(folder)


def write_config(folder: Path, extra: str = "", run: str = "", sources: str = "", study: str = "") -> Path:
    path = folder / "run.toml"
    path.write_text(textwrap.dedent(f"""
        [run]
        name = "handmade"
        {run}
        [study]
        area = ["0344"]
        peildatum = 2023-12-31
        years = [2022, 2023]
        {study}
        [prices]
        price_year = 2023

        [sources]
        format_preference = ["sav", "csv"]
        {sources}
        [sources.cbs]
        GBAPERSOONTAB = "cbs/GBAPERSOON*.*"
        GBAHUISHOUDENSBUS = "cbs/GBAHUISHOUDENS*.*"
        GBAADRESOBJECTBUS = "cbs/GBAADRESOBJECT*.*"
        VSLGWBTAB = "cbs/VSLGWB*.*"
        WMOBUS = "cbs/WMO*.*"
        """) + textwrap.dedent(extra), encoding="utf-8")
    return path


def run_all(config: Path, steps: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / "scripts" / "run_all.py"), "--config", str(config)]
    if steps:
        command += ["--steps", steps]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=config.parent,
                          env={**os.environ, **(env or {})})


def assert_refused(result: subprocess.CompletedProcess, *parts: str) -> str:
    """Exit code 2, a message with every part, and no traceback."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    message = result.stderr.split("ERROR:", 1)[1]
    for part in parts:
        assert part in message, (part, message)
    return message


# --- 1. only the columns a step uses are required ---------------------------------------

def test_person_register_without_day_of_birth_is_read_and_a_missing_key_is_refused(tmp_path):
    path = write_csv(tmp_path / "GBAPERSOON2023TABV1.csv",
                     ["RINPERSOONS", "RINPERSOON", "GBAGESLACHT", "GBAGEBOORTEJAAR", "GBAGEBOORTEMAAND"], PERSONS)
    source = SourceFile("GBAPERSOONTAB", path, 2023, 1, "csv")
    # GBAGEBOORTEDAG is documented but used by no step: a file without it is read, the column blank.
    table = read_cbs_table(source, ["RINPERSOONS", "RINPERSOON", "GBAGEBOORTEJAAR", "GBAGEBOORTEDAG"])
    assert table["RINPERSOON"].tolist() == [1, 2, 3, 4]
    assert table["GBAGEBOORTEJAAR"].astype(str).tolist() == ["1980", "1982", "2010", "1950"]
    assert table["GBAGEBOORTEDAG"].astype(str).tolist() == ["", "", "", ""]
    # The key is used: without it, the file and the column are named.
    no_key = write_csv(tmp_path / "other" / "GBAPERSOON2023TABV1.csv", ["RINPERSOONS", "GBAGESLACHT"], [("R", "1")])
    with pytest.raises(ReadError) as err:
        read_cbs_table(SourceFile("GBAPERSOONTAB", no_key, 2023, 1, "csv"), ["RINPERSOONS", "RINPERSOON"])
    # The dataset, the file, the column, what the file has, and the override to write.
    assert str(err.value).startswith(f"GBAPERSOONTAB, file {no_key}: column(s) RINPERSOON of the layout not found. "
                                     "The file has: RINPERSOONS, GBAGESLACHT. ")
    assert '[GBAPERSOONTAB.columns] "RINPERSOON" = "<its name in the file>"' in str(err.value)


def test_household_register_without_its_count_columns_and_the_inventory_of_a_minimal_data_set(tmp_path):
    config = cbs_dataset(tmp_path)
    result = run_all(config, "inventory")
    assert result.returncode == 0, result.stderr
    sources = pd.read_csv(tmp_path / "work" / "01_inventory" / "sources.csv", keep_default_na=False)
    assert sources["missing_columns"].tolist() == ["", "", "", "", ""]     # nothing a step uses is missing
    assert dict(zip(sources["dataset"], sources["rows"])) == {
        "GBAPERSOONTAB": 4, "GBAHUISHOUDENSBUS": 6, "GBAADRESOBJECTBUS": 4, "VSLGWBTAB": 2, "WMOBUS": 2}


# --- 2. amounts in another notation: text kept, euros counted ---------------------------

def test_amounts_with_a_decimal_comma_keep_their_text_and_their_euros(tmp_path):
    rows = [("R", "000000001", "BIJSTAND", "12345.67"),      # as CBS writes amounts
            ("R", "000000002", "BIJSTAND", "12.345,67"),     # Dutch notation: one reading, counted
            ("R", "000000003", "IOAW", "1234,5"),            # decimal comma: one reading, counted
            ("R", "000000004", "BIJSTAND", "1,200"),         # 1.2 or 1200: not guessed, not counted
            ("R", "000000001", "IOAW", "n.v.t."),            # not a number
            ("R", "000000002", "IOAW", ""),                  # missing
            ("F", "000000003", "IOAW", "7.000,00")]          # not linkable: rejected, euros still counted
    files = []
    for year in (2022, 2023):
        path = write_csv(tmp_path / f"UITKERINGBEDRAG{year}TABV1.csv",
                         ["RINPERSOONS", "RINPERSOON", "UITKERINGSOORT", "BEDRAGJAAR"], rows if year == 2022 else [])
        files.append(SourceFile("UITKERINGBEDRAGTAB", path, year, 1, "csv"))
    account = SourceAccount("UITKERINGBEDRAGTAB", files=2)
    persons = PersonIndex(np.array([1, 2, 3, 4], dtype=np.int64))
    records, rejected = amount_records("UITKERINGBEDRAGTAB", read_source_files("UITKERINGBEDRAGTAB", files), PERIOD,
                                       persons, account)
    assert records["amount"].tolist() == [12345.67]
    assert rejected["BEDRAGJAAR"].astype(str).tolist() == ["12.345,67", "1234,5", "1,200", "n.v.t.", "", "7.000,00"]
    assert rejected["ROW"].tolist() == [2, 3, 4, 5, 6, 7] and set(rejected["FILE"].astype(str)) == {
        "UITKERINGBEDRAG2022TABV1.csv"}
    notation = ("amount not written as CBS writes amounts (12345.67) but with a decimal comma or thousands separators "
                "(12.345,67): its euros are counted in read and rejected")
    assert rejected["reason"].tolist() == [
        notation, notation,
        "amount ambiguous ('1,200' is 1.2 or 1200; '1.234' in a column with decimal commas is 1.234 or 1234): its "
        "euros could not be read and are not counted",
        "amount not a number: its euros could not be read and are not counted",
        "amount missing or not a number",
        "RINPERSOONS is not 'R': the person cannot be linked"]
    assert account.amount_read == pytest.approx(12345.67 + 12345.67 + 1234.5 + 7000.0)
    assert account.rejected_amount == pytest.approx({notation: 12345.67 + 1234.5, rejected["reason"].iloc[2]: 0.0,
                                                     rejected["reason"].iloc[3]: 0.0, "amount missing or not a number": 0.0,
                                                     "RINPERSOONS is not 'R': the person cannot be linked": 7000.0})
    assert account.notes == [
        "2 row(s) with an amount that could not be read (ambiguous or not a number): their euros are not in the "
        "amounts read and rejected",
        "3 row(s) with an amount not written as CBS writes amounts (EUR 20,580.17 as read): rejected, counted in read "
        "and rejected"]
    check_balance([account])


def test_amounts_with_a_decimal_comma_through_the_read_step(tmp_path):
    config = cbs_dataset(tmp_path)
    header = ["RINPERSOONS", "RINPERSOON", "UITKERINGSOORT", "BEDRAGJAAR"]
    write_csv(tmp_path / "cbs" / "UITKERINGBEDRAG2022TABV1.csv", header,
              [("R", "000000001", "BIJSTAND", "12000.50"), ("R", "000000002", "IOAW", "12.345,67")])
    write_csv(tmp_path / "cbs" / "UITKERINGBEDRAG2023TABV1.csv", header, [("R", "000000001", "BIJSTAND", "1,200")])
    text = config.read_text(encoding="utf-8") + 'UITKERINGBEDRAGTAB = "cbs/UITKERINGBEDRAG*.*"\n'
    config.write_text(text, encoding="utf-8")
    # Two of three rows rejected: more than max_rejected_share, so the run stops with the reason ...
    result = run_all(config, "inventory,read_sources")
    assert_refused(result, "UITKERINGBEDRAGTAB: ", "EUR 12,345.67 of EUR 24,346.17",
                   '[sources] accept_rejections = ["UITKERINGBEDRAGTAB"]')
    # ... unless the rejections are accepted; then the reconciliation has the euros that could be read.
    config.write_text(text.replace("[sources]\n", '[sources]\naccept_rejections = ["UITKERINGBEDRAGTAB"]\n', 1),
                      encoding="utf-8")
    result = run_all(config, "inventory,read_sources")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "work" / "02_read_sources"
    reconciliation = pd.read_csv(out / "reconciliation.csv").set_index("source").loc["UITKERINGBEDRAGTAB"]
    assert (reconciliation["rows_read"], reconciliation["rows_used"], reconciliation["rows_rejected"]) == (3, 1, 2)
    assert reconciliation["amount_read"] == 24346.17 and reconciliation["amount_rejected"] == 12345.67
    rejections = pd.read_csv(out / "rejections.csv").query("source == 'UITKERINGBEDRAGTAB'")
    assert [(r.reason.split(":")[0], r.rows, r.amount) for r in rejections.itertuples()] == [
        ("amount ambiguous ('1,200' is 1.2 or 1200; '1.234' in a column with decimal commas is 1.234 or 1234)", 1, 0.0),
        ("amount not written as CBS writes amounts (12345.67) but with a decimal comma or thousands separators "
         "(12.345,67)", 1, 12345.67)]
    rejected = pd.read_csv(out / "rejected" / "UITKERINGBEDRAGTAB.csv", dtype=str, keep_default_na=False)
    assert sorted(rejected["BEDRAGJAAR"]) == ["1,200", "12.345,67"]     # as delivered
    assert "could not be read" in result.stdout


def test_amounts_stored_as_numbers_in_sav_and_parquet_read_exactly(tmp_path):
    frame = pd.DataFrame({"RINPERSOONS": ["R", "R", "R"], "RINPERSOON": ["000000001", "000000002", "000000003"],
                          "UITKERINGSOORT": ["BIJSTAND", "IOAW", "BIJSTAND"], "BEDRAGJAAR": [12000.5, 0.1 + 0.2, 9000.0]})
    files = []
    if HAS_SAV:
        import pyreadstat
        pyreadstat.write_sav(frame, str(tmp_path / "UITKERINGBEDRAG2022TABV1.sav"))
        files.append(SourceFile("UITKERINGBEDRAGTAB", tmp_path / "UITKERINGBEDRAG2022TABV1.sav", 2022, 1, "sav"))
    if HAS_PARQUET:
        frame.to_parquet(tmp_path / "UITKERINGBEDRAG2023TABV1.parquet", index=False)
        files.append(SourceFile("UITKERINGBEDRAGTAB", tmp_path / "UITKERINGBEDRAG2023TABV1.parquet", 2023, 1,
                                "parquet"))
    if not files:
        pytest.skip("neither pyreadstat nor pyarrow")
    for f in files:
        account = SourceAccount("UITKERINGBEDRAGTAB", files=1)
        records, rejected = amount_records("UITKERINGBEDRAGTAB", read_source_files("UITKERINGBEDRAGTAB", [f]), PERIOD,
                                           PersonIndex(np.array([1, 2, 3], dtype=np.int64)), account)
        assert records["amount"].tolist() == [12000.5, 0.1 + 0.2, 9000.0], f.format   # to the last bit
        assert rejected.empty and account.amount_read == 12000.5 + (0.1 + 0.2) + 9000.0


# --- 3. a person in two households on the peildatum ----------------------------------------

def test_a_person_in_two_households_on_the_peildatum_is_counted_once_and_reported(tmp_path):
    config = cbs_dataset(tmp_path)
    # Person 4 also registered in a new household from 2023 while the old spell stays open.
    write_csv(tmp_path / "cbs" / "GBAHUISHOUDENS2023BUSV1.csv",
              ["RINPERSOONS", "RINPERSOON", "DATUMAANVANGHH", "DATUMEINDEHH", "HUISHOUDNR", "TYPHH", "PLHH",
               "REFPERSOONHH"], HOUSEHOLDS + [("R", "000000004", "20230101", "", "000000000103", "7", "8", "1")])
    result = run_all(config, "inventory,read_sources,price,households")
    assert result.returncode == 0, result.stderr
    assert ("GBAHUISHOUDENSBUS: 1 person(s) in more than one household on the peildatum (overlapping spells)"
            in result.stdout)
    from lib.workfiles import read_table
    members = read_table(tmp_path / "work" / "04_households" / "members")
    households = read_table(tmp_path / "work" / "04_households" / "households").set_index("household")
    persons = read_table(tmp_path / "work" / "02_read_sources" / "persons").set_index("key")["person"]
    assert len(members) == 4 and members["person"].is_unique          # every person once
    household_of = members.set_index("person")["household"]
    assert int(households.loc[household_of[persons[4]], "huishoudnr"]) == 103     # the later spell wins
    assert int(households.loc[household_of[persons[1]], "huishoudnr"]) == 101


# --- 4. a method domain without a source is named at the start of the run --------------

def test_domains_without_a_source_are_named_in_the_log_of_the_first_step(tmp_path):
    config = cbs_dataset(tmp_path)
    result = run_all(config, "inventory")
    assert result.returncode == 0, result.stderr
    log = (tmp_path / "work" / "logs" / "run.log").read_text(encoding="utf-8")
    # Only WMOBUS among the cost registers: JUSTITIEZAKENBUS (om_rechtspraak, sancties) and the others are named.
    assert "domains measured (with a source in this run): wmo" in log
    line = next(x for x in log.splitlines() if "WARNING not included:" in x)
    named = line.split("WARNING not included: ")[1].split(" (")[0].split(", ")
    assert {"om_rechtspraak", "sancties", "politie", "detentie", "halt", "jeugdhulp", "bijstand"} <= set(named)
    assert "wmo" not in named


# --- 5. bad files: read right, or a message ---------------------------------------------

WMO_HEADER = ["RINPERSOONS", "RINPERSOON", "WMOGELDIGHEIDBEGINDATUM", "WMOGELDIGHEIDEINDDATUM", "WMOSOORTVOORZIENING"]
WMO_TEXT_ROWS = [("R", "000000001", "20220101", "", "Begeleiding groep"),
                 ("R", "000000002", "20220301", "20221231", "Hulp bij het huishouden Crème")]


@pytest.fixture(params=["arrow", "pandas"])
def csv_path(request, monkeypatch):
    """Every CSV case on both reading paths (with and without pyarrow)."""
    import lib.readers
    if request.param == "arrow" and not lib.readers.HAS_ARROW:
        pytest.skip("pyarrow not importable")
    monkeypatch.setattr(lib.readers, "HAS_ARROW", request.param == "arrow")
    return request.param


@pytest.mark.parametrize("encoding, bom", [("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE),
                                           ("utf-16-be", codecs.BOM_UTF16_BE), ("utf-16-le", b"")])
def test_csv_with_a_byte_order_mark_or_in_utf16_is_read_right(tmp_path, csv_path, encoding, bom):
    path = tmp_path / "WMO2023BUSV1.csv"
    body = ("\r\n".join(";".join(r) for r in [WMO_HEADER] + WMO_TEXT_ROWS) + "\r\n").encode(encoding)
    path.write_bytes(bom + body)
    source = SourceFile("WMOBUS", path, 2023, 1, "csv")
    assert file_columns(source) == WMO_HEADER and row_count(source) == 2
    table = read_cbs_table(source, ["RINPERSOON", "WMOSOORTVOORZIENING"])
    assert table["RINPERSOON"].tolist() == [1, 2]
    assert table["WMOSOORTVOORZIENING"].astype(str).tolist() == ["Begeleiding groep", "Hulp bij het huishouden Crème"]


def test_csv_in_windows_1252_is_refused_with_its_row_or_read_with_the_setting(tmp_path, csv_path):
    path = write_csv(tmp_path / "WMO2023BUSV1.csv", WMO_HEADER, WMO_TEXT_ROWS, encoding="cp1252")
    with pytest.raises(ReadError) as err:
        read_cbs_table(SourceFile("WMOBUS", path, 2023, 1, "csv"), ["RINPERSOON", "WMOSOORTVOORZIENING"])
    assert str(err.value) == (
        f"{path}: row 2 (line 3), column WMOSOORTVOORZIENING, has bytes that are not UTF-8 text (hex E8). The file "
        "is in another encoding (Excel saves 'CSV' as Windows-1252). Save it as 'CSV UTF-8', or set [sources] "
        'csv_encoding = "cp1252" (or the encoding it was saved in) in the config')
    # The byte is in a column no step reads here: the file is read (the same on both paths).
    assert read_cbs_table(SourceFile("WMOBUS", path, 2023, 1, "csv"), ["RINPERSOON"])["RINPERSOON"].tolist() == [1, 2]
    table = read_cbs_table(SourceFile("WMOBUS", path, 2023, 1, "csv", encoding="cp1252"), ["WMOSOORTVOORZIENING"])
    assert table["WMOSOORTVOORZIENING"].astype(str).tolist()[1] == "Hulp bij het huishouden Crème"


def test_the_encoding_setting_reaches_the_files_of_the_inventory(tmp_path):
    config = write_config(tmp_path, sources='csv_encoding = "cp1252"')
    for name in ("GBAPERSOON2023TABV1", "GBAHUISHOUDENS2023BUSV1", "GBAADRESOBJECT2023BUSV1", "VSLGWB2023TABV1",
                 "WMO2023BUSV1"):
        write_csv(tmp_path / "cbs" / f"{name}.csv", ["RINPERSOONS", "RINPERSOON"], [])
    chosen, _ = locate_sources(load_config(config))
    assert {f.encoding for f in chosen} == {"cp1252"}
    with pytest.raises(ConfigError, match="csv_encoding = 'ascii' must be one of 'auto', 'utf-8', 'cp1252'"):
        load_config(write_config(tmp_path, sources='csv_encoding = "ascii"'))


@pytest.mark.parametrize("fmt", ["csv", "sav", "parquet"])
def test_an_empty_file_is_refused(tmp_path, fmt):
    path = tmp_path / f"WMO2023BUSV1.{fmt}"
    path.write_bytes(b"")
    source = SourceFile("WMOBUS", path, 2023, 1, fmt)
    message = (f"{path}: the file is empty (0 bytes): it was not copied or exported completely. Copy it again, or "
               "leave WMOBUS out of [sources.cbs]")
    for read in (file_columns, row_count, lambda s: read_cbs_table(s, ["RINPERSOON"])):
        with pytest.raises(ReadError) as err:
            read(source)
        assert str(err.value) == message


def test_a_csv_with_a_header_only_has_no_rows_and_one_without_a_header_is_refused(tmp_path, csv_path):
    header_only = write_csv(tmp_path / "WMO2023BUSV1.csv", WMO_HEADER, [])
    source = SourceFile("WMOBUS", header_only, 2023, 1, "csv")
    assert row_count(source) == 0 and len(read_cbs_table(source, ["RINPERSOON"])) == 0
    blank = tmp_path / "blank" / "WMO2023BUSV1.csv"
    blank.parent.mkdir()
    blank.write_bytes(b"\r\n\r\n")
    with pytest.raises(ReadError, match="the first line is empty: a CSV file of the CBS route starts with a header"):
        read_cbs_table(SourceFile("WMOBUS", blank, 2023, 1, "csv"), ["RINPERSOON"])


def test_a_csv_with_a_row_of_too_many_fields_is_refused_with_the_line(tmp_path, csv_path):
    path = write_csv(tmp_path / "WMO2023BUSV1.csv", WMO_HEADER,
                     [("R", "000000001", "20220101", "", "1"), ("R", "000000002", "20220101", "", "1", "extra")])
    with pytest.raises(ReadError) as err:
        read_cbs_table(SourceFile("WMOBUS", path, 2023, 1, "csv"), ["RINPERSOON"])
    assert str(err.value).startswith(f"{path}: the CSV file cannot be read (")
    assert "Check that every row has the header's number of fields" in str(err.value)


@pytest.mark.skipif(not HAS_SAV, reason="pyreadstat not importable")
@pytest.mark.parametrize("keep", [0.5, 0.999])
def test_a_truncated_sav_file_is_refused(tmp_path, keep):
    import pyreadstat
    frame = pd.DataFrame({"RINPERSOONS": ["R"] * 5000, "RINPERSOON": [f"{i:09d}" for i in range(5000)],
                          "WMOGELDIGHEIDBEGINDATUM": ["20220101"] * 5000})
    full = tmp_path / "full.sav"
    pyreadstat.write_sav(frame, str(full))
    path = tmp_path / "WMO2023BUSV1.sav"
    raw = full.read_bytes()
    path.write_bytes(raw[:int(len(raw) * keep)])
    with pytest.raises(ReadError) as err:
        read_cbs_table(SourceFile("WMOBUS", path, 2023, 1, "sav"), ["RINPERSOON"])
    assert str(err.value) == (
        f"{path}: the .sav file cannot be read (File did not contain the expected number of rows): it is probably "
        "incomplete (a copy that broke off) or damaged. Copy it again from the data drive, or point [sources.cbs] at "
        "another format of the same file")


@pytest.mark.skipif(not HAS_PARQUET, reason="pyarrow not importable")
def test_a_corrupt_parquet_file_is_refused(tmp_path):
    full = tmp_path / "full.parquet"
    pd.DataFrame({"RINPERSOONS": ["R"] * 100, "RINPERSOON": [f"{i:09d}" for i in range(100)]}).to_parquet(full)
    path = tmp_path / "WMO2023BUSV1.parquet"
    path.write_bytes(full.read_bytes()[:200])
    source = SourceFile("WMOBUS", path, 2023, 1, "parquet")
    for read in (file_columns, row_count, lambda s: read_cbs_table(s, ["RINPERSOON"])):
        with pytest.raises(ReadError) as err:
            read(source)
        assert str(err.value).startswith(f"{path}: not a readable parquet file (")
        assert str(err.value).endswith("it is probably incomplete (a copy that broke off) or damaged. Copy it again "
                                       "from the data drive, or point [sources.cbs] at the .sav or .csv version")


def test_a_file_gone_after_the_inventory_is_refused(tmp_path):
    source = SourceFile("WMOBUS", tmp_path / "WMO2023BUSV1.csv", 2023, 1, "csv")
    with pytest.raises(ReadError, match="WMO2023BUSV1.csv: file not found \\(was it moved or renamed after the "
                                        "inventory step\\? Rerun from the inventory step\\)"):
        read_cbs_table(source, ["RINPERSOON"])


@pytest.mark.parametrize("which", ["price table", "index"])
def test_a_missing_or_empty_price_table_or_index_is_a_message(tmp_path, which):
    load = load_price_table if which == "price table" else load_price_index
    setting = "price table ([prices] price_tables or fallback_tables)" if which == "price table" else \
        "price index ([prices] index)"
    with pytest.raises(PricingError) as err:
        load(tmp_path / "prijzen.csv")
    assert str(err.value) == (f"{tmp_path / 'prijzen.csv'}: {setting} not found. Check the path in the config (relative "
                              "paths are relative to the config file's folder; write / between folders)")
    (tmp_path / "leeg.csv").write_bytes(b"")
    with pytest.raises(PricingError) as err:
        load(tmp_path / "leeg.csv")
    assert str(err.value) == f"{tmp_path / 'leeg.csv'}: {setting} is empty or has no header row in its first line"


def test_a_missing_price_table_stops_the_price_step_with_exit_code_2(tmp_path):
    config = cbs_dataset(tmp_path)
    text = config.read_text(encoding="utf-8").replace("price_year = 2023", 'price_year = 2023\nindex = "cpi_eigen.csv"')
    config.write_text(text, encoding="utf-8")
    result = run_all(config, "inventory,read_sources,price")
    assert_refused(result, f"{tmp_path / 'cpi_eigen.csv'}: price index ([prices] index) not found")


BROKEN_PYARROW = '''
raise ImportError("DLL load failed while importing lib: The specified module could not be found.")
'''


def test_a_run_with_an_installed_pyarrow_that_fails_to_import_falls_back_to_csv(tmp_path):
    fake = tmp_path / "site" / "pyarrow"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(BROKEN_PYARROW, encoding="utf-8")
    config = cbs_dataset(tmp_path / "run")
    result = run_all(config, "inventory,read_sources", env={"PYTHONPATH": str(tmp_path / "site")})
    assert result.returncode == 0, result.stderr
    out = tmp_path / "run" / "work" / "02_read_sources"
    assert (out / "records.csv").is_file() and not (out / "records.parquet").exists()
    assert "WMOBUS: 2 read, 2 used, 0 rejected" in result.stdout


def test_an_installed_pyarrow_that_fails_to_import_counts_as_absent(tmp_path):
    fake = tmp_path / "site" / "pyarrow"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(BROKEN_PYARROW, encoding="utf-8")
    (fake / "parquet.py").write_text("", encoding="utf-8")
    path = write_csv(tmp_path / "WMO2023BUSV1.csv", WMO_HEADER, WMO[:1])
    script = textwrap.dedent(f"""
        import importlib.util, sys
        sys.path.insert(0, {str(tmp_path / 'site')!r})
        sys.path.insert(1, {str(ROOT)!r})
        assert importlib.util.find_spec("pyarrow") is not None      # installed, as far as find_spec sees
        from pathlib import Path
        import lib.readers
        from lib.sources import SourceFile, readable_formats
        assert lib.readers.HAS_ARROW is False
        assert "parquet" not in readable_formats(["parquet", "csv"])
        table = lib.readers.read_cbs_table(SourceFile("WMOBUS", Path({str(path)!r}), 2023, 1, "csv"), ["RINPERSOON"])
        print(table["RINPERSOON"].tolist())
        try:
            lib.readers.read_cbs_table(SourceFile("WMOBUS", Path("x.parquet"), 2023, 1, "parquet"), ["RINPERSOON"])
        except lib.readers.ReadError as exc:
            print(exc)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "[4]"
    assert lines[1].startswith("x.parquet: file not found") or "needs pyarrow" in lines[1]


# --- 6. the configuration checked at load -------------------------------------------------

def config_problems(tmp_path, **parts) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(write_config(tmp_path, **parts))
    return str(err.value)


def test_shares_outside_zero_to_one_negative_seeds_and_wrong_list_items(tmp_path):
    message = config_problems(tmp_path, run="seed = -1", extra="""
        [baseline]
        top_shares = [0.05, 1.5]
        lorenz_cuts = [0.01, "5%"]
        top_group_share = 0
        [selection]
        top_share = 1.2
        """, sources="max_rejected_share = 0\naccept_rejections = [\"WMOBUS\", 3]")
    assert "[run] seed must not be negative" in message
    assert "[baseline] top_shares must hold shares greater than 0 and at most 1 (e.g. 0.05 for 5%); not [1.5]" in message
    assert "[baseline] lorenz_cuts = [0.01, '5%']: every item must be a number; not '5%'" in message
    assert "[baseline] top_group_share must be a share greater than 0 and at most 1 (e.g. 0.05 for 5%)" in message
    assert ("[selection] top_share must be a share between 0 (no such criterion) and 1 (e.g. 0.05 for 5%)"
            in message)
    assert "[sources] max_rejected_share must be a share greater than 0 and at most 1" in message
    assert "[sources] accept_rejections = ['WMOBUS', 3]: every item must be text; not 3" in message


def test_price_tables_and_cost_files_must_be_lists_of_paths(tmp_path):
    text = write_config(tmp_path).read_text(encoding="utf-8").replace(
        "price_year = 2023", "price_year = 2023\nprice_tables = [\"prijzen.csv\", 2023]")
    (tmp_path / "run.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="\\[prices\\] price_tables = \\['prijzen.csv', 2023\\]: every item must be "
                                          "text; not 2023"):
        load_config(tmp_path / "run.toml")


@pytest.mark.parametrize("work, export, problem", [
    ("uitvoer", "uitvoer", "[run] work_dir and export_dir are the same folder"),
    ("uitvoer/werk", "uitvoer", "is inside export_dir"),
    ("werk", "werk/export", "is inside work_dir"),
    ("werk", "./werk/../werk/sub/../export", "is inside work_dir"),
])
def test_export_folder_apart_from_the_work_folder(tmp_path, work, export, problem):
    message = config_problems(tmp_path, run=f'work_dir = "{work}"\nexport_dir = "{export}"')
    assert problem in message and "microdata" in message


def test_export_inside_work_stops_the_run_before_anything_is_written(tmp_path):
    config = cbs_dataset(tmp_path)
    config.write_text(config.read_text(encoding="utf-8").replace(
        'name = "handmade"', 'name = "handmade"\nwork_dir = "run"\nexport_dir = "run/export"'), encoding="utf-8")
    result = run_all(config)
    assert_refused(result, f"{config}: the configuration has 1 problem(s)", "[run] export_dir",
                   "is inside work_dir")
    assert not (tmp_path / "run").exists()


def test_residence_date_no_data_covers(tmp_path):
    message = config_problems(tmp_path, study="residence_date = 2023-06-30")
    assert "[study] residence_date 2023-06-30 is before the peildatum 2023-12-31" in message
    # The BRP extract describes the peildatum only.
    municipal = write_config(tmp_path, run='route = "municipality"', study="residence_date = 2024-06-30").read_text(
        encoding="utf-8").split("[sources.cbs]")[0] + '[sources.municipality]\nbrp_extract = "brp.csv"\n' \
        'cost_files = ["kosten/*.csv"]\n'
    (tmp_path / "gemeente.toml").write_text(municipal, encoding="utf-8")
    with pytest.raises(ConfigError, match="the municipal route's BRP extract describes the peildatum only"):
        load_config(tmp_path / "gemeente.toml")
    # After the newest household and address registers: refused by the first step that sees the files.
    config = cbs_dataset(tmp_path)
    config.write_text(config.read_text(encoding="utf-8").replace("years = [2022, 2023]",
                                                                 "years = [2022, 2023]\nresidence_date = 2025-03-01"),
                      encoding="utf-8")
    with pytest.raises(SourceError) as err:
        locate_sources(load_config(config))
    assert str(err.value) == (
        "[study] residence_date 2025-03-01 is after the data: the newest file of GBAHUISHOUDENSBUS, "
        "GBAHUISHOUDENS2023BUSV1.csv (year 2023), describes households and addresses up to 2024-01-01 at the latest. "
        "Set residence_date to that date or earlier, or point [sources.cbs] GBAHUISHOUDENSBUS at a newer version.")
    config.write_text(config.read_text(encoding="utf-8").replace("2025-03-01", "2024-01-01"), encoding="utf-8")
    assert len(locate_sources(load_config(config))[0]) == 5


def test_windows_paths_with_backslashes_get_a_hint(tmp_path):
    # "C:\temp\werk": TOML reads \t as a tab: a valid file with a wrong path.
    message = config_problems(tmp_path, run='work_dir = "C:\\temp\\nieuw"')
    assert "[run] work_dir = 'C:\\temp\\nieuw' holds \\t (a tab), \\n (a new line)" in message
    assert 'Write paths with forward slashes, which work on Windows too ("G:/data/GBAPERSOON*.sav")' in message
    # "G:\data\...": an escape TOML does not know: not a TOML file, with the same hint.
    text = write_config(tmp_path).read_text(encoding="utf-8").replace('"cbs/WMO*.*"', '"G:\\data\\WMO*.sav"')
    (tmp_path / "win.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "win.toml")
    assert "not a valid TOML file: Unescaped '\\' in a string" in str(err.value)
    assert "That line has a backslash between double quotes: in a TOML string between double quotes" in str(err.value)
    # Between single quotes a backslash is a backslash: accepted.
    text = write_config(tmp_path).read_text(encoding="utf-8").replace('"cbs/WMO*.*"', "'G:\\data\\WMO*.sav'")
    (tmp_path / "literal.toml").write_text(text, encoding="utf-8")
    assert load_config(tmp_path / "literal.toml")["sources"]["cbs"]["WMOBUS"] == "G:\\data\\WMO*.sav"


def test_settings_of_the_municipal_helper_have_defaults_and_checks(tmp_path):
    cfg = load_config(cbs_dataset(tmp_path))
    assert cfg["sources"]["max_rejected_share"] == 0.2 and cfg["sources"]["accept_rejections"] == []
    assert cfg["sources"]["municipality"]["decimal"] == {} and cfg["sources"]["csv_encoding"] == "auto"
    message = config_problems(tmp_path, extra='[sources.municipality]\ndecimal = { "zorg.csv" = ";" }\n')
    assert "[sources.municipality] decimal must be \",\" or \".\"" in message


# --- through run_all: exit code 2, no traceback ------------------------------------------

def test_run_all_refuses_an_empty_register_file(tmp_path):
    config = cbs_dataset(tmp_path)
    (tmp_path / "cbs" / "WMO2023BUSV1.csv").write_bytes(b"")
    result = run_all(config, "inventory")
    assert_refused(result, f"{tmp_path / 'cbs' / 'WMO2023BUSV1.csv'}: the file is empty (0 bytes)")


@pytest.mark.skipif(not HAS_SAV, reason="pyreadstat not importable")
def test_run_all_refuses_a_truncated_sav_register(tmp_path):
    import pyreadstat
    config = cbs_dataset(tmp_path)
    csv = tmp_path / "cbs" / "GBAPERSOON2023TABV1.csv"
    frame = pd.read_csv(csv, sep=";", dtype=str, keep_default_na=False)
    frame = pd.concat([frame] * 500, ignore_index=True)       # enough rows for a data block worth cutting
    sav = tmp_path / "cbs" / "GBAPERSOON2023TABV1.sav"
    pyreadstat.write_sav(frame, str(sav))
    sav.write_bytes(sav.read_bytes()[:-200])
    csv.unlink()
    result = run_all(config, "inventory,read_sources")
    assert_refused(result, f"{sav}: the .sav file cannot be read (File did not contain the expected number of rows)")


def test_run_all_refuses_a_windows_1252_register_with_the_row(tmp_path):
    config = cbs_dataset(tmp_path)
    write_csv(tmp_path / "cbs" / "WMO2023BUSV1.csv", WMO_HEADER,
              [("R", "000000004", "20220101", "", "1"), ("R", "000000002", "20230301", "20230630", "Hulp é")],
              encoding="cp1252")
    result = run_all(config, "inventory,read_sources")
    assert_refused(result, f"{tmp_path / 'cbs' / 'WMO2023BUSV1.csv'}: row 2 (line 3), column WMOSOORTVOORZIENING",
                   '[sources] csv_encoding = "cp1252"')
