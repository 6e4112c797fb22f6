"""Several named index series: which series brings which price or amount to the price year,
each factor worked out by hand."""
from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from lib.config import REFERENCE_DATA, ConfigError, load_config
from lib.dates import day_number, month_index
from lib.pricing import PriceIndex, PricingError, load_price_index, load_price_table, price_records
from tests.test_config import MINIMAL

HEADER = "domain,source,code,unit,price,price_year,valid_from,valid_to,figure_source"


def m(text):
    return int(month_index(day_number(text)))


def series_file(tmp_path, name, values):
    path = tmp_path / f"{name}.csv"
    path.write_text("year,index,source\n" + "\n".join(f"{y},{v},test" for y, v in values.items()) + "\n",
                    encoding="utf-8")
    return path


def price_table(tmp_path, lines, header=HEADER):
    path = tmp_path / "prices.csv"
    path.write_text("\n".join([header] + lines) + "\n", encoding="utf-8")
    return load_price_table(path)


def records(rows):
    """rows: (person, source, code, start, end, amount, spread, domain)."""
    frame = pd.DataFrame(rows, columns=["person", "source", "code", "start", "end", "amount", "spread", "domain"])
    frame["start"] = frame["start"].map(day_number)
    frame["end"] = frame["end"].map(day_number)
    frame["units"] = 1.0
    return frame.astype({"person": np.int32, "start": np.int32, "end": np.int32, "units": np.float32,
                         "amount": float})


@pytest.fixture
def two_series(tmp_path):
    # CPI: 2019 = 100, 2023 = 120 (factor 1.2); government deflator: 2019 = 100, 2023 = 110 (1.1).
    paths = {"cpi": series_file(tmp_path, "cpi", {2019: 100, 2022: 115, 2023: 120}),
             "overheid": series_file(tmp_path, "overheid", {2019: 100, 2022: 104, 2023: 110})}
    return PriceIndex.load(paths, {"jeugdhulp": "overheid", "overige_uitkering": "overheid"})


def month_costs(result):
    return {(r.person, r.month): round(r.cost, 6) for r in result.ledger.itertuples()}


def test_each_price_row_is_indexed_with_its_domains_series(tmp_path, two_series):
    prices = price_table(tmp_path, [
        "jeugdhulp,JGDHULPBUS,1,month,1000,2019,2010-01-01,2099-12-31,test",
        "bijstand,BIJSTANDUITKERINGTAB,A,month,1000,2019,2010-01-01,2099-12-31,test",
    ])
    rec = records([(0, "JGDHULPBUS", "1", "2023-03-01", "2023-03-31", np.nan, "", ""),
                   (1, "BIJSTANDUITKERINGTAB", "A", "2023-03-01", "2023-03-31", np.nan, "", "")])
    result = price_records(rec, prices, two_series, 2023)
    # Youth care on the deflator: 1000 x 110 / 100; bijstand (no domain_index entry) on the CPI: 1000 x 120 / 100.
    assert month_costs(result) == {(0, m("2023-03-01")): 1100.0, (1, m("2023-03-01")): 1200.0}
    assert list(two_series.for_rows(prices)) == ["overheid", "cpi"]
    np.testing.assert_allclose(two_series.factor(["overheid", "cpi"], [2019, 2019], 2023), [1.1, 1.2])


def test_a_price_rows_own_series_overrides_its_domains(tmp_path, two_series):
    prices = price_table(tmp_path, [
        "jeugdhulp,JGDHULPBUS,1,month,1000,2019,2010-01-01,2099-12-31,test,cpi",
        "jeugdhulp,JGDHULPBUS,2,month,1000,2019,2010-01-01,2099-12-31,test,",
        "bijstand,BIJSTANDUITKERINGTAB,A,month,1000,2019,2010-01-01,2099-12-31,test,OVERHEID",
    ], header=HEADER + ",index_series")
    rec = records([(0, "JGDHULPBUS", "1", "2023-03-01", "2023-03-31", np.nan, "", ""),
                   (1, "JGDHULPBUS", "2", "2023-03-01", "2023-03-31", np.nan, "", ""),
                   (2, "BIJSTANDUITKERINGTAB", "A", "2023-03-01", "2023-03-31", np.nan, "", "")])
    result = price_records(rec, prices, two_series, 2023)
    assert month_costs(result) == {(0, m("2023-03-01")): 1200.0,   # own column: cpi
                                   (1, m("2023-03-01")): 1100.0,   # empty: the domain's overheid
                                   (2, m("2023-03-01")): 1100.0}   # own column (any case): overheid


def test_an_amounts_months_are_indexed_with_their_domains_series(tmp_path, two_series):
    prices = price_table(tmp_path, ["bijstand,BIJSTANDUITKERINGTAB,A,month,1000,2019,2010-01-01,2099-12-31,test"])
    # EUR 1,200 over 2022, spread evenly: EUR 100 a month in euros of 2022.
    rec = records([(0, "UITKERINGBEDRAGTAB", "X", "2022-01-01", "2022-12-31", 1200.0, "months", "overige_uitkering"),
                   (1, "UITKERINGBEDRAGTAB", "X", "2022-01-01", "2022-12-31", 1200.0, "months", "bijstand_other")])
    result = price_records(rec, prices, two_series, 2023)
    costs = month_costs(result)
    # overige_uitkering -> overheid: 100 x 110 / 104; a domain without an entry -> cpi: 100 x 120 / 115.
    assert costs[(0, m("2022-06-01"))] == round(100 * 110 / 104, 6)
    assert costs[(1, m("2022-06-01"))] == round(100 * 120 / 115, 6)
    assert result.record_cost == pytest.approx([1200 * 110 / 104, 1200 * 120 / 115])


def test_a_missing_year_names_the_series_and_the_year(tmp_path):
    paths = {"cpi": series_file(tmp_path, "cpi", {2019: 100, 2023: 120}),
             "overheid": series_file(tmp_path, "overheid", {2020: 100, 2023: 110})}
    index = PriceIndex.load(paths, {"jeugdhulp": "overheid"})
    prices = price_table(tmp_path, [
        "jeugdhulp,JGDHULPBUS,1,month,1000,2019,2010-01-01,2024-12-31,test",
        # A row of a year no series has, valid only after the records: never used, never an error.
        "jeugdhulp,JGDHULPBUS,1,month,1000,2031,2025-01-01,2099-12-31,test",
    ])
    rec = records([(0, "JGDHULPBUS", "1", "2023-03-01", "2023-03-31", np.nan, "", "")])
    with pytest.raises(PricingError) as err:
        price_records(rec, prices, index, 2023)
    message = str(err.value)
    assert "series 'overheid'" in message and "overheid.csv" in message and "[2019]" in message
    assert "2031" not in message
    # An amount whose year the domain's series lacks: the same message.
    amounts = records([(0, "UITKERINGBEDRAGTAB", "X", "2019-01-01", "2019-12-31", 1200.0, "months", "jeugdhulp")])
    with pytest.raises(PricingError, match=r"series 'overheid'.*\[2019\]"):
        price_records(amounts, prices, index, 2023)


def test_an_unknown_series_in_a_price_table_is_an_error(tmp_path, two_series):
    prices = price_table(tmp_path, ["jeugdhulp,JGDHULPBUS,1,month,1000,2019,2010-01-01,2099-12-31,test,lonen"],
                         header=HEADER + ",index_series")
    rec = records([(0, "JGDHULPBUS", "1", "2023-03-01", "2023-03-31", np.nan, "", "")])
    with pytest.raises(PricingError, match="'lonen' unknown.*cpi, overheid"):
        price_records(rec, prices, two_series, 2023)


def test_a_single_series_still_prices_everything_as_before(tmp_path):
    cpi = load_price_index(series_file(tmp_path, "cpi", {2019: 100, 2023: 120}))
    prices = price_table(tmp_path, ["jeugdhulp,JGDHULPBUS,1,month,1000,2019,2010-01-01,2099-12-31,test"])
    rec = records([(0, "JGDHULPBUS", "1", "2023-03-01", "2023-03-31", np.nan, "", "")])
    assert month_costs(price_records(rec, prices, cpi, 2023)) == {(0, m("2023-03-01")): 1200.0}


def test_the_bundles_series_files_load_and_say_where_each_value_comes_from():
    for name in ("cpi.csv", "overheid_consumptie.csv"):
        series = load_price_index(REFERENCE_DATA / name)
        assert series.index.is_monotonic_increasing and (series > 0).all()
        text = pd.read_csv(REFERENCE_DATA / name, encoding="utf-8")
        assert text["source"].str.contains("CBS").all()
    cpi = load_price_index(REFERENCE_DATA / "cpi.csv")
    assert list(cpi.index) == list(range(2010, 2026))
    assert cpi[2015] == 100


def config(tmp_path, prices):
    """The config test's minimal config with ``prices`` (lines of [prices]) added."""
    path = tmp_path / "run.toml"
    path.write_text(textwrap.dedent(MINIMAL.replace("price_year = 2023", "price_year = 2023\n" + prices)),
                    encoding="utf-8")
    return load_config(path)


def test_config_defaults_keep_the_single_index_and_accept_named_series(tmp_path):
    cfg = config(tmp_path, "")
    assert cfg["prices"]["index"].endswith("cpi.csv")
    assert cfg["prices"]["index_series"] == {} and cfg["prices"]["domain_index"] == {}
    cfg = config(tmp_path, 'index = "my_cpi.csv"\nindex_series = { overheid = "deflator.csv" }\n'
                           'domain_index = { jeugdhulp = "overheid", bijstand = "cpi" }')
    assert cfg["prices"]["domain_index"] == {"jeugdhulp": "overheid", "bijstand": "cpi"}


@pytest.mark.parametrize("prices, expected", [
    ('domain_index = { jeugdhulp = "overheid" }', "domain 'jeugdhulp' names index series 'overheid', which is not "
                                                  "defined"),
    ('index_series = { cpi = "x.csv" }', "must not name 'cpi'"),
    ('index_series = { "Overheid Lonen" = "x.csv" }', "not lower-case letters"),
    ('domain_index = { jeugdhulp = 3 }', "every item must be text"),
])
def test_config_names_unknown_or_bad_series(tmp_path, prices, expected):
    with pytest.raises(ConfigError) as err:
        config(tmp_path, prices)
    assert expected in str(err.value)
