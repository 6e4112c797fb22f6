"""The price check (lib.price_check): implied cost per client-year and per unit against national
figures, on a ledger small enough to compute by hand."""
from __future__ import annotations

from pathlib import Path

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


# The bundle's default prices (issue 17): each corrected price is recomputed here by hand from the
# published figures its derivation names, so a changed figure or unit in the table shows as a failure.
DEFAULT_PRICES = Path(__file__).resolve().parents[1] / "lib" / "reference_data" / "prices_default.csv"


@pytest.fixture(scope="module")
def default_table():
    return pd.read_csv(DEFAULT_PRICES, dtype=str, keep_default_na=False, encoding="utf-8")


def rows_of(table, source, code=None):
    rows = table[table["source"] == source]
    return rows if code is None else rows[rows["code"] == code]


def test_default_police_price_is_one_price_per_suspect_year(default_table):
    verdtab = rows_of(default_table, "VERDTAB")
    # Algemene Rekenkamer: EUR 2.3 bn of the 2023 police cost is investigation, half of it direct investigation;
    # CBS 81960NED: 158,290 registered suspects of misdrijven in 2022*.
    per_suspect = round(2_300_000_000 / 2 / 158_290, 2)
    assert per_suspect == 7265.15
    assert len(verdtab) == 6 and (verdtab["unit"] == "person_year").all()
    assert (verdtab["price"].astype(float) == per_suspect).all() and (verdtab["price_year"] == "2023").all()
    figures = load_national_figures()
    national = figures[(figures["domain"] == "politie") & (figures["measure"] == "cost_per_client_year")].iloc[0]
    assert national["value"] == pytest.approx(per_suspect) and national["unit"] == "suspect-year"
    # A suspect priced once a year costs the price itself per suspect-year: ratio 1 in the check.
    ledger_2023 = ledger([(1, (2023 - 1970) * 12 + 2, "politie", per_suspect),
                          (2, (2023 - 1970) * 12 + 7, "politie", per_suspect)])
    check = price_check(client_years(ledger_2023), load_price_table(DEFAULT_PRICES), load_national_figures(),
                        pd.Series({2019: 100.0, 2020: 102.0, 2023: 110.0}), 2023)
    politie = check[(check["domain"] == "politie") & (check["measure"] == "cost_per_client_year")].iloc[0]
    assert politie["client_years"] == 2 and politie["ratio"] == pytest.approx(1.0) and politie["flag"] == ""


def test_default_wmo_prices_are_cbs_2019_spending_per_client_of_each_type(default_table):
    clients = 1_164_800  # CBS: Wmo-maatwerk clients 2019*, and the shares by type
    per_client_year = {"hbh": 1_133_291_000 / (0.38 * clients), "thuis": 1_612_512_000 / (0.27 * clients),
                       "verblijf": 1_867_392_000 / (0.04 * clients), "hulpmiddel": 671_885_000 / (0.65 * clients)}
    expected = {"1": ("month", per_client_year["hbh"] / 12), "2": ("month", per_client_year["thuis"] / 12),
                "3": ("month", per_client_year["thuis"] / 12), "4": ("case", per_client_year["hulpmiddel"]),
                "5": ("day", per_client_year["verblijf"] / 365), "6": ("month", per_client_year["hulpmiddel"] / 12)}
    for code, (unit, price) in expected.items():
        row = rows_of(default_table, "WMOBUS", code).iloc[0]
        assert row["unit"] == unit and row["price_year"] == "2019"
        assert float(row["price"]) == pytest.approx(price, abs=0.005), code
    # Beschermd wonen: EUR 40,080 a year (EUR 109.81 a day), no longer EUR 190 a day (EUR 69,350 a year).
    assert float(rows_of(default_table, "WMOBUS", "5")["price"].iloc[0]) * 365 == pytest.approx(40_080, abs=1)
    figures = load_national_figures()
    wmo = figures[figures["domain"] == "wmo"].set_index(["measure", "code"])["value"]
    assert wmo[("cost_per_client_year", "")] == pytest.approx(5_319_499_000 / clients, abs=0.005)
    assert wmo[("price_per_unit", "5")] == pytest.approx(109.81)


def test_default_bijstand_gross_cost_uses_the_gross_to_net_ratio_of_each_household_type(default_table):
    # 2017, full-year benefit: gross EUR 15,030 (single), EUR 9,720 (per partner); net incl. vakantietoeslag
    # six months of the 1 January norm (excl. / 0.95) and six of the 1 July norm.
    single_ratio = round(15_030 / (6 * 982.79 + 6 * 986.52), 4)
    partner_ratio = round(9_720 / ((6 * 1_403.98 + 6 * 1_409.31) / 2), 4)
    assert (single_ratio, partner_ratio) == (1.2720, 1.1517)
    bijstand = rows_of(default_table, "BIJSTANDUITKERINGTAB").set_index(["code", "price_year"])["price"].astype(float)
    # 1 January 2019 and 2024: single EUR 1,025.55 and EUR 1,283.83, couple EUR 1,465.07 and EUR 1,834.04 (incl.).
    assert bijstand[("A", "2019")] == pytest.approx(round(1_025.55 * single_ratio, 2))
    assert bijstand[("O", "2019")] == bijstand[("A", "2019")]
    assert bijstand[("G", "2019")] == pytest.approx(round(732.54 * partner_ratio, 2))
    assert bijstand[("A", "2024")] == pytest.approx(round(1_283.83 * single_ratio, 2))
    assert bijstand[("G", "2024")] == pytest.approx(round(917.02 * partner_ratio, 2))
    # A couple costs two partner prices, below the former couple norm x 1.30.
    assert 2 * bijstand[("G", "2019")] < 1_465.07 * 1.30


def test_every_default_price_row_has_a_derivation_or_says_no_source(default_table):
    assert (default_table["derivation"].str.len() > 0).all()
    unsourced = default_table["published_source"].str.strip() == ""
    said = (default_table["published_figure"].str.contains("no source found")
            | default_table["derivation"].str.contains("no source found"))
    assert (said[unsourced]).all(), default_table.loc[unsourced & ~said, ["source", "code"]]


def test_a_priced_code_whose_price_year_the_index_lacks_is_named_as_such(national, tmp_path):
    # GW is priced in euros of 2021, a year the index lacks: the price cannot be brought to 2023 euros.
    path = tmp_path / "prices.csv"
    path.write_text("domain,source,code,unit,price,price_year,valid_from,valid_to,figure_source\n"
                    "detentie,GEDETINEERDENTAB,GW,day,100,2021,2010-01-01,2099-12-31,test\n", encoding="utf-8")
    check = price_check(client_years(LEDGER), load_price_table(path), national, INDEX, 2023)
    gw = check[(check["domain"] == "detentie") & (check["measure"] == "price_per_unit")].iloc[0]
    assert np.isnan(gw["implied"]) and gw["flag"] == "price year not in the price index"
