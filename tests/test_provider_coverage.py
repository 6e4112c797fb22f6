"""Coverage of the providers (paragraph 2.2b): tables per provider and against the register, worked
out by hand, through the safe writer with the household as contributor, and the report's section."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from disclosure_control import SafeWriter
from lib.appendix2 import ProviderCodes
from lib.config import load_config
from lib.dates import day_number, month_index
from lib.pipeline import run_steps, step_folder
from lib.provider_coverage import provider_overview, provider_tables, register_coverage_tables
from lib.report import ExportedTable
from lib.workfiles import read_table


def meta(title, population, notes):
    return {"title": title, "population": population, "notes": notes}


def test_provider_table_worked_out_by_hand():
    march = int(month_index(day_number("2019-03-01")))
    ledger = pd.DataFrame({"person": [0, 1, 2, 3, 4], "month": march, "domain": "jeugdhulp",
                           "provider": np.array([1, 2, 1, 3, 1], np.int16),
                           "cost": [100.0, 50.0, 30.0, 500.0, 999.0]})
    providers = pd.DataFrame({"provider": [1, 2, 3], "name": ["Zorg A", "Zorg B", "Zorg C"]})
    household = np.array([10, 10, 11, 12, -1])            # person 4 lives outside the study population
    (table,) = provider_tables(ledger, providers, lambda person, month: household[person], ["ZORG b "], meta)
    assert table.name == "dekking_aanbieders_jeugdhulp" and table.method == "magnitude_table"
    # The writer's dominance and p%-rules work on the unit's contributions: the household.
    assert table.kwargs["unit"] == "household" and table.kwargs["value_dimensions"] == ["aanbieder"]
    # Euros in the population: Zorg C 500, Zorg A 130 (not 1,129: person 4 is outside), Zorg B 50. The
    # unnamed are numbered in the order of their names (A, C), never of their euros (C, A).
    assert list(table.data["aanbieder"].cat.categories) == ["aanbieder 1", "Zorg B", "aanbieder 2"]
    got = table.data.assign(aanbieder=table.data["aanbieder"].astype(str)).sort_values(["household", "aanbieder"])
    assert got.values.tolist() == [[10, "Zorg B", 50.0], [10, "aanbieder 1", 100.0], [11, "aanbieder 1", 30.0],
                                   [12, "aanbieder 2", 500.0]]
    assert not any(ch.isdigit() for note in table.kwargs["metadata"]["notes"] for ch in note.replace("90%", "")
                   .replace("2.2b", "").replace("aanbieder 1", "").replace("aanbieder 2", ""))


def test_a_provider_dominated_by_one_household_is_suppressed(tmp_path):
    # Provider A: 12 households, one holds 95% of its euros (the (2, 90%) dominance rule fails);
    # provider B: 12 households of 100 each.
    month = int(month_index(day_number("2020-01-01")))
    cost_a = [19_000.0] + [1_000.0 / 11] * 11
    ledger = pd.DataFrame({"person": np.arange(24), "month": month, "domain": "wmo",
                           "provider": np.array([1] * 12 + [2] * 12, np.int16), "cost": cost_a + [100.0] * 12})
    providers = pd.DataFrame({"provider": [1, 2], "name": ["A", "B"]})
    (table,) = provider_tables(ledger, providers, lambda person, month: person + 100, ["A", "B"],
                               lambda t, p, n: {"title": t, "population": p, "unit": "huishoudens"})
    released = SafeWriter(tmp_path / "export", tmp_path / "evidence").magnitude_table(
        table.data, name=table.name, **table.kwargs)
    shown = released.table.set_index("aanbieder")
    assert shown.loc["B", "sum_kosten_wmo"] != "x" and float(shown.loc["B", "sum_kosten_wmo"]) == pytest.approx(1200.0)
    assert shown.loc["A", "sum_kosten_wmo"] == "x"


def test_register_coverage_worked_out_by_hand():
    d = day_number
    records = pd.DataFrame({
        "person": [0, 0, 2, 3, 1],
        "source": ["JGDHULPBUS", "appendix2:zorg.csv", "appendix2:zorg.csv", "JGDHULPBUS", "WMOBUS"],
        "domain": ["", "jeugdhulp", "jeugdhulp", "", ""],
        "start": [d("2019-06-01"), d("2020-01-01"), d("2021-02-01"), d("2019-01-01"), d("2019-01-01")],
        "end": [d("2020-03-31"), d("2020-01-31"), d("2021-02-28"), d("2019-12-31"), d("2023-12-31")],
        "provider": np.array([0, 1, 1, 0, 0], np.int16)})
    member_of = np.array([10, 10, 11, -1])                 # person 3 is outside the study population
    (table,) = register_coverage_tables(records, member_of, [2019, 2020, 2021, 2022, 2023], meta)
    assert table.name == "dekking_register_jeugdhulp" and table.kwargs["unit"] == "household"
    got = table.data.assign(jaar=table.data["jaar"].astype(str), bron=table.data["bron"].astype(str))
    assert sorted(got.itertuples(index=False, name=None)) == [
        (10, "2019", "alleen register"), (10, "2020", "beide"), (10, "studiejaren samen", "beide"),
        (11, "2021", "alleen aanbieders"), (11, "studiejaren samen", "alleen aanbieders")]
    assert table.kwargs["margins"] is False


def exported(rows: list[tuple], symbol: str = "x") -> ExportedTable:
    table = pd.DataFrame(rows, columns=["aanbieder", "n_households", "sum_kosten_jeugdhulp"]).astype(str)
    return ExportedTable("dekking_aanbieders_jeugdhulp", table, {}, "", {"label_columns": ["aanbieder"]}, symbol)


def test_the_report_counts_the_providers_that_reach_90_percent():
    overview, text = provider_overview(exported([("Totaal", 40, 1000.0), ("aanbieder 1", 20, 700.0),
                                                  ("aanbieder 2", 12, 220.0), ("Zorg B", 11, 80.0)]))
    assert overview["aandeel"].tolist() == ["70,0%", "22,0%", "8,0%"]
    assert overview["cumulatief"].tolist() == ["70,0%", "92,0%", "100,0%"]
    assert text.startswith("2 van de 3 aanbieder(s)")
    # Published in the order of the names, shown by euros: the suppressed last. The published ones
    # reach 30%: how many reach 90% is unknown.
    overview, text = provider_overview(exported([("Totaal", 40, 1000.0), ("aanbieder 1", "x", "x"),
                                                  ("aanbieder 2", 12, 220.0), ("Zorg B", 11, 80.0)]))
    assert overview["aanbieder"].tolist() == ["aanbieder 2", "Zorg B", "aanbieder 1"]
    assert overview["cumulatief"].tolist() == ["22,0%", "30,0%", "x"] and overview["aandeel"].tolist() == [
        "22,0%", "8,0%", "x"]
    assert "niet vast te stellen" in text
    # A small suppressed provider after two that reach 90% together: the count holds whatever it holds.
    overview, text = provider_overview(exported([("Totaal", 40, 1000.0), ("aanbieder 1", "x", "x"),
                                                  ("aanbieder 2", 12, 700.0), ("Zorg B", 11, 220.0)]))
    assert overview["cumulatief"].tolist() == ["70,0%", "92,0%", "x"]
    assert text.startswith("2 van de 3 aanbieder(s)")


def test_the_baseline_requests_the_coverage_tables_of_the_combined_run(small_dataset):
    config = load_config(small_dataset / "config_gecombineerd.toml")
    run_steps(config, ["inventory", "read_sources", "price", "households", "cube", "baseline"])
    tables = step_folder(config, "baseline") / "tables"
    providers = read_table(tables / "dekking_aanbieders_jeugdhulp.data")
    # Independently: the providers' jeugdhulp euros of the ledger, of members of included households.
    ledger = read_table(step_folder(config, "price") / "ledger")
    households = read_table(step_folder(config, "households") / "households")
    members = read_table(step_folder(config, "households") / "members")
    included = members[members["household"].isin(households.loc[households["included"], "household"])]
    rows = ledger[(ledger["provider"] > 0) & (ledger["domain"].astype(str) == "jeugdhulp")].merge(included, on="person")
    assert providers["kosten_jeugdhulp"].sum() == pytest.approx(rows["cost"].sum(), abs=0.005) and rows["cost"].sum() > 0
    assert providers["household"].nunique() == rows["household"].nunique()
    assert {"dekking_register_jeugdhulp", "dekking_register_wmo", "dekking_aanbieders_schuldhulp"} <= {
        p.stem for p in tables.glob("*.json")}
    # Youth care: the providers' clients are the register's clients of the study population months.
    coverage = read_table(tables / "dekking_register_jeugdhulp.data")
    assert set(coverage["bron"].astype(str)) <= {"alleen register", "alleen aanbieders", "beide"}
    assert set(coverage.loc[coverage["bron"].astype(str) != "alleen register", "household"]) == set(
        rows["household"])


def test_provider_codes_are_one_per_name_whatever_the_spelling():
    codes = ProviderCodes()
    assert codes.codes(np.array(["Zorg  BV", "Kompas", "zorg bv "], dtype=object), "a.csv").tolist() == [1, 2, 1]
    assert codes.codes(np.array(["KOMPAS", "Horizon"], dtype=object), "b.csv").tolist() == [2, 3]
    assert codes.table().values.tolist() == [[1, "Zorg  BV", "a.csv"], [2, "Kompas", "a.csv;b.csv"],
                                             [3, "Horizon", "b.csv"]]


def test_the_report_shows_the_share_of_the_registers_households_the_files_reach():
    from lib.provider_coverage import register_overview
    rows = [("2019", "alleen register", 10), ("2019", "alleen aanbieders", "x"), ("2019", "beide", 15),
            ("studiejaren samen", "alleen register", 12), ("studiejaren samen", "alleen aanbieders", "x"),
            ("studiejaren samen", "beide", 36)]
    table = pd.DataFrame(rows, columns=["jaar", "bron", "n_households"]).astype(str)
    shown = register_overview(ExportedTable("dekking_register_wmo", table, {}, "", {"label_columns": ["jaar", "bron"]},
                                            "x"))
    assert shown.values.tolist() == [["2019", "10", "x", "15", "60,0%"],
                                     ["studiejaren samen", "12", "x", "36", "75,0%"]]
