"""Municipal inputs as municipalities and providers deliver them: read right, or refused with a reason.

Every file here is written from the public description of the layouts (MISSION.md and
appendix 2 of the method: a BRP extract with ``BSN;Locatiecode;Gezinsrelatie``, cost files
with ``Instelling, BSN, Begindatum, Einddatum, <domain>, Code/verdeling kosten, Bedrag,
Toelichting`` saved by Excel), never from the bundle's own synthetic generator. Each case
runs the real steps (inventory, read_sources, price, households) and checks the exact
outcome, and that every row and euro is still accounted for (read = used + rejected
(+ clipped)).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lib.config import load_config
from lib.dates import day_number, month_index
from lib.errors import UserFacingError
from lib.pipeline import run_steps, step_folder
from lib.workfiles import read_table

ROOT = Path(__file__).resolve().parents[1]
STEPS = ["inventory", "read_sources", "price", "households"]
HEADER = "Instelling;BSN;Begindatum;Einddatum;Domein;Code/verdeling kosten;Bedrag;Toelichting"
CONFIG = """[run]
name = "gemeente test"
route = "municipality"
statistics_only = false
work_dir = "work"
export_dir = "export"

[study]
area = ["0344"]
peildatum = 2023-12-31
years = [2019, 2020, 2021, 2022, 2023]

[prices]
price_year = 2023

[sources.municipality]
brp_extract = "brp.csv"
cost_files = ["kosten/*.csv"]
{extra}
"""


def bsns(n: int, start: int = 1_000_000) -> list[str]:
    """``n`` nine-digit numbers that pass the BSN eleven-test (9d1 + 8d2 + ... + 2d8 - d9 = 0 mod 11)."""
    out, base = [], start
    while len(out) < n:
        digits = [int(c) for c in f"{base:08d}"]
        check = sum(w * d for w, d in zip(range(9, 1, -1), digits)) % 11
        if check < 10:
            out.append(f"{base:08d}{check}")
        base += 1
    return out


# Persons of the municipality. Their numbers start with a zero, as many BSNs do, so Excel may drop it.
A, B, C, D, E, F, G, H, I, J, X = bsns(11)


def toml(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{k}" = {toml(v)}' for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return f'"{value}"' if isinstance(value, str) else str(value)


class Municipality:
    """A municipality's folder: config, BRP extract, cost files."""

    def __init__(self, folder: Path):
        self.folder = folder
        (folder / "kosten").mkdir(parents=True, exist_ok=True)
        self.config()

    def brp(self, lines: list[str], header: str = "BSN;Locatiecode;Gezinsrelatie") -> Path:
        path = self.folder / "brp.csv"
        path.write_bytes(("\r\n".join([header] + lines) + "\r\n").encode("cp1252"))
        return path

    def costs(self, name: str, lines: list[str], header: str = HEADER, encoding: str = "cp1252") -> Path:
        path = self.folder / "kosten" / name
        path.write_bytes(("\r\n".join([header] + lines) + "\r\n").encode(encoding))
        return path

    def config(self, **settings):
        """The run configuration with ``settings``: those of [sources] (max_rejected_share,
        accept_rejections) and of [sources.municipality] (the others), written as a user writes them."""
        sources = {k: v for k, v in settings.items() if k in ("max_rejected_share", "accept_rejections")}
        municipal = {k: v for k, v in settings.items() if k not in sources}
        extra = "".join(f"{k} = {toml(v)}\n" for k, v in municipal.items())
        if sources:
            extra += "\n[sources]\n" + "".join(f"{k} = {toml(v)}\n" for k, v in sources.items())
        (self.folder / "config.toml").write_text(CONFIG.format(extra=extra), encoding="utf-8")
        return load_config(self.folder / "config.toml")

    def run(self, steps=STEPS, **settings):
        config = self.config(**settings)
        return config, run_steps(config, steps)


def plain_brp() -> list[str]:
    return [f"{A};L1;P", f"{B};L1;P", f"{C};L1;K", f"{D};L2;A", f"{E};L3;O", f"{F};L3;K", f"{G};L4;A",
            f"{H};L6;P", f"{I};L7;A", f"{J};L8;A"]


@pytest.fixture
def gemeente(tmp_path) -> Municipality:
    return Municipality(tmp_path / "gemeente")


def reconciliation(config) -> pd.DataFrame:
    return pd.read_csv(step_folder(config, "read_sources") / "reconciliation.csv").set_index("source")


def assert_balanced(config) -> None:
    """Rows read = used + rejected + superseded, euros read = used + rejected + clipped, and every
    rejected row is kept with its reason."""
    folder = step_folder(config, "read_sources")
    rec = pd.read_csv(folder / "reconciliation.csv")
    assert (rec["rows_read"] == rec["rows_used"] + rec["rows_rejected"] + rec["rows_superseded"]).all()
    amounts = rec.dropna(subset=["amount_read"])
    assert ((amounts["amount_used"] + amounts["amount_rejected"] + amounts["amount_clipped"]
             - amounts["amount_read"]).abs() <= 0.01).all()
    rejections = pd.read_csv(folder / "rejections.csv")
    kept = {p.stem: pd.read_csv(p) for p in (folder / "rejected").glob("*.csv")}
    assert sum(len(k) for k in kept.values()) == rejections["rows"].sum() == rec["rows_rejected"].sum()
    for k in kept.values():
        assert (k["reason"].fillna("") != "").all()


def amounts_of(config, file: str) -> dict[int, float]:
    records = read_table(step_folder(config, "read_sources") / "records")
    records = records[records["file"].astype(str) == file]
    return dict(zip(records["row"].astype(int), records["amount"].round(2)))


# --- 1. A BSN twice in the BRP extract ------------------------------------------------------------------

def test_a_bsn_twice_in_the_brp_extract_is_one_person_or_in_no_household(gemeente):
    """Exact repeats (also the same number with and without its leading zero) are one person;
    a BSN at two locations is placed in neither (the method puts a person in one household and
    the extract does not tell which), reported, and its costs are accounted for as such."""
    gemeente.brp([
        f"{A};L1;P", f"{B};L1;P", f"{C};L1;K",
        f"{C};L1;K",                       # line 5: an exact duplicate row
        f"{D};L2;A",
        f"{D[1:]};L2;A",                   # line 7: the same BSN without its leading zero (8 digits)
        f"{E};L3;O", f"{F};L3;K", f"{G};L4;A",
        f"{X};L5;A",                       # line 11: X at two locations ...
        f"{X};L6;P",                       # line 12: ... with H
        f"{H};L6;P", f"{I};L7;A", f"{J};L8;A", f"{B};L1;P",   # line 16: B again
    ])
    gemeente.costs("zorg.csv", [f"Zorg BV;{A};20230101;20231231;Jeugd;Ambulant;1200,00;",
                                f"Zorg BV;{X};20230101;20230630;Jeugd;Ambulant;600,00;"])
    config, results = gemeente.run()

    rec = reconciliation(config).loc["BRP-extract"]
    assert (rec.rows_read, rec.rows_used, rec.rows_rejected, rec.rows_duplicate) == (15, 10, 5, 3)
    assert rec.duplicates == "dropped"
    rejected = pd.read_csv(step_folder(config, "read_sources") / "rejected" / "BRP-extract.csv", dtype=str)
    repeat = "the same BSN, Locatiecode and Gezinsrelatie as an earlier row (counted once)"
    two_places = "BSN at more than one Locatiecode: in no household (the method places a person in one)"
    assert dict(zip(rejected["line"].astype(int), rejected["reason"])) == {
        5: repeat, 7: repeat, 11: two_places, 12: two_places, 16: repeat}
    assert rejected.loc[rejected["line"] == "7", "BSN"].tolist() == [D[1:]]        # kept as delivered
    rejections = pd.read_csv(step_folder(config, "read_sources") / "rejections.csv")
    brp = rejections[rejections["source"] == "BRP-extract"].set_index("reason")["rows"].to_dict()
    assert brp == {repeat: 3, two_places: 2}
    assert_balanced(config)

    persons = read_table(step_folder(config, "read_sources") / "persons")
    assert persons.columns.tolist() == ["person", "key", "in_register"]
    registered = sorted(int(k) for k in (A, B, C, D, E, F, G, H, I, J, X))
    assert sorted(persons.loc[persons["in_register"], "key"]) == registered
    households = read_table(step_folder(config, "households") / "households").set_index("locatiecode")
    assert households["n_persons"].to_dict() == {"L1": 3, "L2": 1, "L3": 2, "L4": 1, "L6": 1, "L7": 1, "L8": 1}
    assert households.loc["L6", "household_type"] == "eenpersoons"
    members = read_table(step_folder(config, "households") / "members")
    x = int(persons.loc[persons["key"] == int(X), "person"].iloc[0])
    assert x not in set(members["person"]) and len(members) == 10
    population = pd.read_csv(step_folder(config, "households") / "population.csv").set_index("what")
    not_placed = "  of which in no household: the BRP extract lists them at more than one location or role"
    assert population.loc[not_placed, "number"] == 1 and population.loc[not_placed, "euros"] == pytest.approx(600)
    assert population.loc["  of which in an included household of the study area at the peildatum", "euros"] \
        == pytest.approx(1200)
    parts = population[population.index.str.startswith("  of which")]
    assert parts["number"].sum() == population.loc["persons with a cost record", "number"] == 2
    assert parts["euros"].sum() == pytest.approx(population.loc["persons with a cost record", "euros"])
    notes = results["households"].notes
    assert "BRP extract: 3 row(s) set aside: the same BSN, Locatiecode and Gezinsrelatie as an earlier row " \
           "(counted once)" in notes
    assert "BRP extract: 2 row(s) set aside: BSN at more than one Locatiecode: in no household (the method " \
           "places a person in one)" in notes
    assert any(n.startswith("BRP extract: 1 person(s) listed in more than one way are in no household") for n in notes)
    log = (config.work_dir / "logs" / "run.log").read_text(encoding="utf-8")
    assert "rejected 3: the same BSN, Locatiecode and Gezinsrelatie as an earlier row (counted once)" in log
    assert "rejected 2: BSN at more than one Locatiecode" in log


# --- 2. A BRP extract with only what the method asks --------------------------------------------------

def test_a_brp_extract_with_only_the_three_columns_of_the_method_is_read(gemeente):
    """BSN, Locatiecode and Gezinsrelatie are all the method asks; nothing else is read, also when
    other columns are there (in any order and case)."""
    gemeente.brp(plain_brp())
    gemeente.costs("zorg.csv", [f"Zorg BV;{A};2023;;Jeugd;Ambulant;1200,00;"])
    config, _ = gemeente.run()
    households = read_table(step_folder(config, "households") / "households").set_index("locatiecode")
    assert households["n_persons"].to_dict() == {"L1": 3, "L2": 1, "L3": 2, "L4": 1, "L6": 1, "L7": 1, "L8": 1}
    assert households["household_type"].to_dict() == {
        "L1": "paar met kinderen", "L2": "eenpersoons", "L3": "eenouder", "L4": "eenpersoons", "L6": "eenpersoons",
        "L7": "eenpersoons", "L8": "eenpersoons"}
    persons = read_table(step_folder(config, "read_sources") / "persons")
    assert persons.columns.tolist() == ["person", "key", "in_register"]       # no sex, no date of birth
    rec = reconciliation(config).loc["BRP-extract"]
    assert (rec.rows_read, rec.rows_used, rec.rows_rejected) == (10, 10, 0)
    assert_balanced(config)

    # The same extract with more columns, in another order and case: the same households.
    other = Municipality(gemeente.folder.parent / "anders")
    other.brp([f"19800101;{r.split(';')[2]};V;{r.split(';')[1]};{r.split(';')[0]}" for r in plain_brp()],
              header="Geboortedatum;GEZINSRELATIE;Geslacht;locatiecode;Bsn")
    other.costs("zorg.csv", [f"Zorg BV;{A};2023;;Jeugd;Ambulant;1200,00;"])
    config2, _ = other.run()
    again = read_table(step_folder(config2, "households") / "households").set_index("locatiecode")
    pd.testing.assert_frame_equal(again, households)


def test_a_brp_extract_without_a_column_the_method_needs_is_refused_naming_it(gemeente):
    path = gemeente.brp([f"{A};L1", f"{B};L1"], header="BSN;Locatiecode")
    gemeente.costs("zorg.csv", [f"Zorg BV;{A};2023;;Jeugd;Ambulant;1200,00;"])
    with pytest.raises(UserFacingError) as err:
        gemeente.run()
    assert str(err.value) == (f"{path}: the BRP extract lacks the column(s) Gezinsrelatie (found: BSN, Locatiecode). "
                              "The method needs BSN, Locatiecode and Gezinsrelatie, in the header row; other columns "
                              "are not read")


# --- 3. Amounts whose decimal separator the file must settle -----------------------------------------------

def comma_file(gemeente, amounts: list[str], name: str = "provider.csv") -> Path:
    """A ','-separated file (an English-locale Excel), amounts quoted as Excel quotes them."""
    return gemeente.costs(name, [f'Care Ltd,{A},2023,,Jeugd,Residentieel,"{a}",' for a in amounts],
                          header=HEADER.replace(";", ","), encoding="utf-8")


def test_amounts_without_decimals_that_read_both_ways_stop_the_run_with_the_setting_to_choose(gemeente):
    gemeente.brp(plain_brp())
    path = comma_file(gemeente, ["1,200", "12,000", "950"])
    with pytest.raises(UserFacingError) as err:
        gemeente.run()
    message = str(err.value)
    assert message.startswith(f"{path}: cannot tell the decimal separator of the amounts (Bedrag): 2 such as "
                              "'1,200' (line 2), '12,000' (line 3) can be read either way")
    assert 'decimal = { "provider.csv" = "," }' in message and 'decimal = { "provider.csv" = "." }' in message
    assert not (step_folder(gemeente.config(), "read_sources") / "records").exists()


@pytest.mark.parametrize("decimal, expected", [(".", {2: 1200.0, 3: 12000.0, 4: 950.0}),
                                               (",", {2: 1.2, 3: 12.0, 4: 950.0})])
def test_the_decimal_setting_of_a_file_decides_the_reading(gemeente, decimal, expected):
    gemeente.brp(plain_brp())
    comma_file(gemeente, ["1,200", "12,000", "950"])
    config, results = gemeente.run(["inventory", "read_sources"], decimal={"provider.csv": decimal})
    assert amounts_of(config, "provider.csv") == expected
    assert f"    read as utf-8, separator ',', decimal {decimal!r} (set in the configuration)" \
        in results["read_sources"].notes
    assert_balanced(config)


@pytest.mark.parametrize("amounts, expected, decimal", [
    # One amount with both separators settles it: ',' groups thousands.
    (["1,200", "12,000", "1,234.50"], {2: 1200.0, 3: 12000.0, 4: 1234.5}, "."),
    # One amount with two decimals after a comma settles it: '.' groups thousands.
    (["1.200", "12.000", "12,50"], {2: 1200.0, 3: 12000.0, 4: 12.5}, ","),
    # A separator repeated groups thousands: 1.234.567 has a decimal comma.
    (["1.200", "1.234.567"], {2: 1200.0, 3: 1234567.0}, ","),
    # A leading zero cannot group thousands: 0,500 is a half.
    (["0,500", "1,200"], {2: 0.5, 3: 1.2}, ","),
])
def test_a_file_whose_amounts_settle_the_notation_is_read_without_a_setting(gemeente, amounts, expected, decimal):
    gemeente.brp(plain_brp())
    comma_file(gemeente, amounts)
    config, results = gemeente.run(["inventory", "read_sources"])
    assert amounts_of(config, "provider.csv") == expected
    notes = results["read_sources"].notes
    assert f"    read as utf-8, separator ',', decimal {decimal!r} (read from the amounts)" in notes
    assert_balanced(config)


def test_an_amount_in_the_other_notation_is_rejected_with_its_reason_and_counted(gemeente):
    gemeente.brp(plain_brp())
    gemeente.costs("zorg.csv", [f"Zorg BV;{p};2023;;Jeugd;Ambulant;{a};"
                                for p, a in zip((A, B, C, D, E, F), ("100,50", "200,25", "1.300,00", "400,00",
                                                                     "500,00", "7.25"))])
    config, _ = gemeente.run(["inventory", "read_sources"])
    assert amounts_of(config, "zorg.csv") == {2: 100.5, 3: 200.25, 4: 1300.0, 5: 400.0, 6: 500.0}
    rejected = pd.read_csv(step_folder(config, "read_sources") / "rejected" / "appendix2_zorg.csv.csv", dtype=str)
    assert rejected[["line", "reason", "bedrag"]].values.tolist() == [
        ["7", "amount written with the other decimal separator than the rest of the file", "7.25"]]
    rec = reconciliation(config).loc["appendix2:zorg.csv"]
    assert (rec.rows_read, rec.rows_used, rec.rows_rejected, rec.amount_read) == (6, 5, 1, 2500.75)
    assert_balanced(config)


def test_the_run_stops_with_exit_code_2_and_no_traceback(gemeente):
    gemeente.brp(plain_brp())
    comma_file(gemeente, ["1,200", "12,000"])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "run_all.py"), "--config",
                           str(gemeente.folder / "config.toml"), "--steps", "inventory,read_sources"],
                          capture_output=True, text=True, encoding="utf-8", env=env, timeout=300)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert "ERROR: " in done.stderr and "provider.csv: cannot tell the decimal separator" in done.stderr


# --- 4. Exact duplicates are reported whatever the setting ------------------------------------------------

@pytest.mark.parametrize("setting", ["drop", "keep"])
def test_every_exact_duplicate_is_reported_with_its_euros(gemeente, setting):
    gemeente.brp(plain_brp())
    row = f"Zorg BV;{A};maart 2023;;Jeugd;Ambulant;250,00;"
    gemeente.costs("zorg.csv", [row, f"Zorg BV;{B};2023;;Wmo;HH;1.000,00;", row, row,
                                f"Zorg BV;{A};maart 2023;;Jeugd;Ambulant;250,00;tweede sessie"]
                   + [f"Zorg BV;{p};2023;;Wmo;HH;100,00;" for p in (C, D, E, F, G, H)])
    config, results = gemeente.run(["inventory", "read_sources"], exact_duplicates=setting)
    rec = reconciliation(config).loc["appendix2:zorg.csv"]
    assert (rec.rows_duplicate, rec.amount_duplicate) == (2, 500.0)
    kept = setting == "keep"
    assert rec.duplicates == ("kept" if kept else "dropped")
    assert (rec.rows_read, rec.rows_used, rec.rows_rejected) == ((11, 11, 0) if kept else (11, 9, 2))
    assert (rec.amount_read, rec.amount_used) == (2600.0, 2600.0 if kept else 2100.0)
    duplicates = pd.read_csv(step_folder(config, "read_sources") / "duplicates" / "appendix2_zorg.csv.csv")
    assert duplicates.values.tolist() == [[4, 2, 250.0, kept], [5, 2, 250.0, kept]]
    what = ("kept and counted (among the used rows; [sources.municipality] exact_duplicates = 'keep')" if kept
            else "dropped (among the rejected rows)")
    assert f"    exact duplicate rows: 2, EUR 500.00, {what}" in results["read_sources"].notes
    log = (config.work_dir / "logs" / "run.log").read_text(encoding="utf-8")
    assert f"exact duplicate rows: 2, EUR 500.00, {what}" in log
    assert_balanced(config)


# --- 5. Whole calendar months given as dates are spread equally -------------------------------------------

def test_a_year_given_as_dates_is_spread_equally_over_its_months(gemeente):
    gemeente.brp(plain_brp())
    gemeente.costs("zorg.csv", [
        f"Zorg BV;{A};20230101;20231231;Jeugd;Ambulant;1.200,00;",       # a whole year as dates: 100 a month
        f"Zorg BV;{B};20230301;20230531;Jeugd;Ambulant;900,00;",         # three whole months: 300 a month
        f"Zorg BV;{C};20230115;20230314;Jeugd;Ambulant;590,00;",         # starts and ends inside months: by days
    ])
    config, _ = gemeente.run(["inventory", "read_sources", "price"])
    records = read_table(step_folder(config, "read_sources") / "records")
    assert records.sort_values("row")["spread"].astype(str).tolist() == ["months", "months", "days"]
    ledger = read_table(step_folder(config, "price") / "ledger")
    persons = read_table(step_folder(config, "read_sources") / "persons").set_index("key")["person"]
    jan = int(month_index(day_number("2023-01-01")))

    def months(bsn):
        rows = ledger[ledger["person"] == persons[int(bsn)]]
        return dict(zip((rows["month"] - jan + 1).astype(int), rows["cost"].round(2)))
    assert months(A) == {m: 100.0 for m in range(1, 13)}                  # not 31/365 of it in January
    assert months(B) == {3: 300.0, 4: 300.0, 5: 300.0}
    assert months(C) == {1: 170.0, 2: 280.0, 3: 140.0}                    # 17 + 28 + 14 days of EUR 10
    assert_balanced(config)


# --- 6. A source that loses most of its rows stops the run ----------------------------------------------------

def test_a_file_that_loses_most_rows_to_one_reason_stops_the_run_unless_accepted(gemeente):
    gemeente.brp(plain_brp())
    gemeente.costs("goed.csv", [f"Zorg BV;{A};2023;;Jeugd;Ambulant;100,00;"])
    gemeente.costs("slecht.csv", [f"Zorg BV;{p};01-01-23;31-12-23;Jeugd;Ambulant;100,00;" for p in (B, C, D, E)]
                   + [f"Zorg BV;{F};2023;;Jeugd;Ambulant;100,00;"])
    with pytest.raises(UserFacingError) as err:
        gemeente.run()
    folder = step_folder(gemeente.config(), "read_sources")
    assert str(err.value) == (
        f"1 source(s) lose more than 20% of their rows or euros to one reason (see reconciliation.csv and "
        f"rejections.csv in {folder}):\n"
        "  - appendix2:slecht.csv: 4 of 5 rows (80%) and EUR 400.00 of EUR 500.00 (80%) rejected for "
        "'start date cannot be read'. Fix: dates must be written as appendix 2 asks (20140301, maart 2014 "
        "or 2014; CBS files: YYYYMMDD); check that the configured file is the right dataset and version, or ask the "
        f"sender to resend it. The rejected rows with their reason are in {folder / 'rejected'}. If these rejections "
        'are right, accept them: [sources] accept_rejections = ["appendix2:slecht.csv"]')
    # The reconciliation is written before the run stops, and balances.
    assert_balanced(gemeente.config())

    # Accepted: the run goes on, and says so.
    config, results = gemeente.run(accept_rejections=["slecht.csv"])
    assert any(n.startswith("WARNING (accepted in [sources] accept_rejections) appendix2:slecht.csv: 4 of 5 rows")
               for n in results["read_sources"].notes)
    assert amounts_of(config, "slecht.csv") == {6: 100.0}
    # A higher limit lets it pass as well.
    config, _ = gemeente.run(["inventory", "read_sources"], max_rejected_share=0.9)
    assert_balanced(config)


def test_a_few_rows_that_carry_most_of_the_euros_count_too(gemeente):
    gemeente.brp(plain_brp())
    gemeente.costs("zorg.csv", [f"Zorg BV;{p};2023;;Jeugd;Ambulant;100,00;" for p in (A, B, C, D)]
                   + [f"Zorg BV;{E};2023;;Sport;Ambulant;9.600,00;"])       # 1 row in 5, 96% of the euros
    with pytest.raises(UserFacingError, match=r"appendix2:zorg\.csv: 1 of 5 rows \(20%\) and EUR 9,600\.00 of "
                                              r"EUR 10,000\.00 \(96%\) rejected for 'domain label not in the domain "
                                              r"mapping'\. Fix: add the file's domain labels"):
        gemeente.run(["inventory", "read_sources"])


def test_rows_outside_the_study_period_are_no_problem(gemeente):
    gemeente.brp(plain_brp())
    gemeente.costs("zorg.csv", [f"Zorg BV;{p};2012;;Jeugd;Ambulant;100,00;" for p in (A, B, C, D)]
                   + [f"Zorg BV;{E};2023;;Jeugd;Ambulant;100,00;"])
    config, results = gemeente.run(["inventory", "read_sources"])
    assert reconciliation(config).loc["appendix2:zorg.csv", "rows_rejected"] == 4
    assert not any(n.startswith("WARNING") for n in results["read_sources"].notes)
    assert_balanced(config)


def test_scattered_bad_rows_of_several_reasons_are_rejected_without_stopping(gemeente):
    """The limit is per reason: the odd bad row of each kind is data, not a misread column."""
    gemeente.brp(plain_brp())
    good = [f"Zorg BV;{p};2023;;Jeugd;Ambulant;100,00;" for p in (A, B, C, D, E, F, G)]
    gemeente.costs("zorg.csv", good + [f"Zorg BV;;2023;;Jeugd;Ambulant;100,00;",            # no BSN
                                       f"Zorg BV;{H};2023;;Sport;Ambulant;100,00;",          # unknown domain
                                       f"Zorg BV;{I};20230231;;Jeugd;Ambulant;100,00;"])     # no such date
    config, results = gemeente.run(["inventory", "read_sources"])
    rec = reconciliation(config).loc["appendix2:zorg.csv"]
    assert (rec.rows_read, rec.rows_used, rec.rows_rejected, rec.amount_used, rec.amount_rejected) == (
        10, 7, 3, 700.0, 300.0)
    assert not any(n.startswith("WARNING") for n in results["read_sources"].notes)
    assert_balanced(config)
