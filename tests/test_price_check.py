"""The price check (lib.price_check): implied cost per client-year and per unit against national
figures, on a ledger small enough to compute by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.price_check import BAND, ClientYears, check_lines, client_years, load_national_figures, price_check
from lib.pricing import load_price_table

JAN_2020, FEB_2020, JAN_2021 = (2020 - 1970) * 12, (2020 - 1970) * 12 + 1, (2021 - 1970) * 12


def ledger(rows):
    frame = pd.DataFrame(rows, columns=["person", "month", "domain", "cost"])
    return frame.assign(domain=frame["domain"].astype("category"), source="X")


LEDGER = ledger([
    (1, JAN_2020, "wmo", 100.0), (1, FEB_2020, "wmo", 200.0),  # person 1: one client-year in 2020, EUR 300
    (1, JAN_2021, "wmo", 50.0),                                 # and one in 2021, EUR 50
    (2, JAN_2020, "wmo", 150.0), (2, JAN_2020, "politie", 1000.0),
    (3, JAN_2020, "wmo", -10.0), (3, FEB_2020, "wmo", 10.0),    # a correction to zero: not a client
    (4, JAN_2021, "halt", 80.0),
])
INDEX = pd.Series({2020: 100.0, 2023: 120.0})


def test_client_years_by_hand():
    table = client_years(LEDGER)
    expected = pd.DataFrame({"domain": ["halt", "politie", "wmo", "wmo"], "year": [2021, 2020, 2020, 2021],
                             "client_years": [1, 1, 2, 1], "cost": [80.0, 1000.0, 450.0, 50.0]})
    pd.testing.assert_frame_equal(table.astype({"year": int}), expected, check_dtype=False)


def test_client_years_add_up_over_parts_of_whole_persons():
    tally = ClientYears()
    tally.add(LEDGER[LEDGER["person"] == 1])
    tally.add(LEDGER[LEDGER["person"] != 1])
    tally.add(LEDGER.iloc[:0])
    pd.testing.assert_frame_equal(tally.table(), client_years(LEDGER))


@pytest.fixture
def national(tmp_path):
    path = tmp_path / "national.csv"
    pd.DataFrame([
        ("wmo", "cost_per_client_year", "", "", "100", "client-year", "2020"),
        ("politie", "cost_per_client_year", "", "", "400", "suspect-year", "2023"),
        ("detentie", "price_per_unit", "gedetineerdentab", "GW", "250", "day", "2023"),
        ("om_rechtspraak", "cost_per_client_year", "", "", "", "client-year", ""),  # no source found
    ], columns=["domain", "measure", "source", "code", "value", "unit", "year"]).assign(
        published_figure="", publisher="", title_or_url="", derivation="").to_csv(path, index=False)
    return load_national_figures(path)


@pytest.fixture
def prices(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text(
        "domain,source,code,unit,price,price_year,valid_from,valid_to,figure_source\n"
        "detentie,GEDETINEERDENTAB,GW,day,100,2020,2010-01-01,2022-12-31,test\n"
        "detentie,GEDETINEERDENTAB,GW,day,110,2023,2023-01-01,2099-12-31,test\n", encoding="utf-8")
    return load_price_table(path)


def test_price_check_by_hand(national, prices):
    check = price_check(client_years(LEDGER), prices, national, INDEX, 2023).set_index(["domain", "measure"])
    wmo = check.loc[("wmo", "cost_per_client_year")]
    # EUR 500 over 3 client-years; the national EUR 100 of 2020 is EUR 120 in 2023 euros.
    assert wmo["client_years"] == 3 and wmo["cost"] == pytest.approx(500.0)
    assert wmo["implied"] == pytest.approx(500 / 3)
    assert wmo["national"] == pytest.approx(120.0)
    assert wmo["ratio"] == pytest.approx(500 / 3 / 120)
    assert wmo["flag"] == ""
    politie = check.loc[("politie", "cost_per_client_year")]
    assert politie["implied"] == pytest.approx(1000.0) and politie["ratio"] == pytest.approx(2.5)
    assert politie["flag"] == "above 2"
    # The price valid on 1 July 2023 (EUR 110 of 2023) against EUR 250: 0.44.
    gw = check.loc[("detentie", "price_per_unit")]
    assert gw["implied"] == pytest.approx(110.0) and gw["ratio"] == pytest.approx(0.44)
    assert gw["flag"] == "below 0.5"
    # A national line without a figure, and a priced domain the national file does not name.
    assert check.loc[("om_rechtspraak", "cost_per_client_year"), "flag"] == "no cost in this run"
    halt = check.loc[("halt", "cost_per_client_year")]
    assert halt["implied"] == pytest.approx(80.0) and halt["flag"] == "no national figure"
    assert np.isnan(halt["ratio"])


def test_price_per_unit_indexes_an_older_price(national, prices):
    # In price year 2020 the first row (EUR 100 of 2020) is valid; the national EUR 250 of 2023 is 250 / 1.2.
    check = price_check(client_years(LEDGER), prices, national, INDEX, 2020).set_index(["domain", "measure"])
    gw = check.loc[("detentie", "price_per_unit")]
    assert gw["implied"] == pytest.approx(100.0)
    assert gw["national"] == pytest.approx(250 / 1.2)
    assert gw["flag"] == "below 0.5"


def test_warnings_name_each_flagged_line(national, prices):
    check = price_check(client_years(LEDGER), prices, national, INDEX, 2023)
    lines, warnings = check_lines(check, 2023, BAND)
    assert len(lines) == 1 + len(check)
    assert len(warnings) == 2
    assert warnings[0].startswith("WARNING price check: detentie per day GEDETINEERDENTAB GW: EUR 110 against "
                                  "the national EUR 250 (ratio 0.44, below 0.5)")
    assert "politie per client-year: EUR 1,000 against the national EUR 400 (ratio 2.50, above 2)" in warnings[1]


def test_bundle_national_figures_load_and_every_value_has_a_source():
    figures = load_national_figures()
    with_value = figures[figures["value"].notna()]
    assert len(with_value) >= 5
    assert (with_value["title_or_url"].str.len() > 0).all() and (with_value["derivation"].str.len() > 0).all()
    assert with_value["year"].notna().all()
    without = figures[figures["value"].isna()]
    assert without["published_figure"].str.startswith("no source found").all()


def test_a_national_year_outside_the_index_and_a_code_without_a_price_are_reported_not_fatal(tmp_path, prices):
    path = tmp_path / "national.csv"
    pd.DataFrame([
        ("wmo", "cost_per_client_year", "", "", "100", "client-year", "1999"),
        ("detentie", "price_per_unit", "GEDETINEERDENTAB", "JJI", "547", "day", "2020"),
    ], columns=["domain", "measure", "source", "code", "value", "unit", "year"]).assign(
        published_figure="", publisher="", title_or_url="", derivation="").to_csv(path, index=False)
    check = price_check(client_years(LEDGER), prices, load_national_figures(path), INDEX, 2023)
    flags = dict(zip(check["domain"] + " " + check["measure"], check["flag"]))
    assert flags["wmo cost_per_client_year"] == "year of the national figure not in the price index"
    assert flags["detentie price_per_unit"] == "code not in the price tables"
