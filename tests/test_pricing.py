"""Pricing rules, each worked out by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.dates import day_number, month_index
from lib.pricing import (
    MissingPrices,
    PricingError,
    combine_price_tables,
    load_price_index,
    load_price_table,
    price_records,
)

HEADER = "domain,source,code,unit,price,price_year,valid_from,valid_to,figure_source"


def d(text):
    return day_number(text)


def m(text):
    return int(month_index(d(text)))


def table(tmp_path, lines, name="prices.csv", header=HEADER, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(("\n".join([header] + lines) + "\n").encode(encoding))
    return load_price_table(path)


def index(tmp_path, values):
    path = tmp_path / "index.csv"
    path.write_text("year,index\n" + "\n".join(f"{y},{v}" for y, v in values.items()) + "\n", encoding="utf-8")
    return load_price_index(path)


def records(rows):
    """rows: (person, source, code, start, end, units, amount, spread, domain)."""
    frame = pd.DataFrame(rows, columns=["person", "source", "code", "start", "end", "units", "amount", "spread",
                                        "domain"])
    frame["start"] = frame["start"].map(d)
    frame["end"] = frame["end"].map(d)
    return frame.astype({"person": np.int32, "start": np.int32, "end": np.int32, "units": np.float32,
                         "amount": float})


@pytest.fixture
def prices(tmp_path):
    return table(tmp_path, [
        "wmo,WMOBUS,2,month,310,2019,2010-01-01,2099-12-31,test",
        "detentie,GEDETINEERDENTAB,GW,day,259,2019,2010-01-01,2099-12-31,test",
        "bijstand,BIJSTANDUITKERINGTAB,A,month,1000,2019,2019-01-01,2019-12-31,test",
        "bijstand,BIJSTANDUITKERINGTAB,A,month,1200,2020,2020-01-01,2020-12-31,test",
        "politie,VERDTAB,3,case,3600,2019,2010-01-01,2099-12-31,test",
        "sancties,JUSTITIEZAKENBUS,TAAKSTRAF,hour,9.07,2019,2010-01-01,2099-12-31,test",
        "wmo,WMOBUS,9,year,4400,2019,2010-01-01,2099-12-31,test",
    ])


@pytest.fixture
def flat(tmp_path):
    return index(tmp_path, {2018: 100, 2019: 100, 2020: 110, 2021: 104})


def ledger_of(result):
    return {(r.person, r.month): round(r.cost, 6) for r in result.ledger.itertuples()}


def test_part_months_are_pro_rata_by_days(prices, flat):
    # EUR 310 a month from 17 March to 10 May 2019: 15/31, 31/31, 10/31 of EUR 310.
    r = price_records(records([(0, "WMOBUS", "2", "2019-03-17", "2019-05-10", 1, np.nan, "", "")]), prices, flat, 2019)
    assert ledger_of(r) == {(0, m("2019-03-01")): 150.0, (0, m("2019-04-01")): 310.0, (0, m("2019-05-01")): 100.0}


def test_days_times_the_day_price(prices, flat):
    r = price_records(records([(0, "GEDETINEERDENTAB", "GW", "2019-01-30", "2019-02-02", 1, np.nan, "", "")]),
                      prices, flat, 2019)
    assert ledger_of(r) == {(0, m("2019-01-01")): 2 * 259.0, (0, m("2019-02-01")): 2 * 259.0}


def test_a_price_change_within_a_spell_and_indexing_to_the_price_year(prices, flat):
    # 16 December 2019 - 15 January 2020, in euros of 2020 (index 2019 = 100, 2020 = 110):
    # December: 16/31 of EUR 1,000 (2019 euros) x 1.1; January: 15/31 of EUR 1,200 (2020 euros).
    r = price_records(records([(0, "BIJSTANDUITKERINGTAB", "A", "2019-12-16", "2020-01-15", 1, np.nan, "", "")]),
                      prices, flat, 2020)
    assert ledger_of(r) == {(0, m("2019-12-01")): round(16 / 31 * 1000 * 1.1, 6),
                            (0, m("2020-01-01")): round(15 / 31 * 1200, 6)}


def test_cases_hours_and_yearly_prices(prices, flat):
    rows = [(0, "VERDTAB", "3", "2021-05-05", "2021-05-05", 1, np.nan, "", ""),
            (1, "JUSTITIEZAKENBUS", "TAAKSTRAF", "2021-06-10", "2021-06-10", 40, np.nan, "", ""),
            (2, "WMOBUS", "9", "2018-01-01", "2018-06-30", 1, np.nan, "", "")]
    r = price_records(records(rows), prices, flat, 2021)
    got = ledger_of(r)
    assert got[(0, m("2021-05-01"))] == round(3600 * 1.04, 6)
    assert got[(1, m("2021-06-01"))] == round(40 * 9.07 * 1.04, 6)
    # EUR 4,400 a year is EUR 366.67 a month; six whole months of 2018 in euros of 2021 (x 1.04).
    assert sum(v for (p, _), v in got.items() if p == 2) == pytest.approx(4400 / 2 * 1.04)
    assert r.record_cost.tolist() == pytest.approx([3744.0, 377.312, 2288.0])


def test_amounts_are_spread_and_indexed_by_their_own_year(prices, flat):
    # EUR 1,060 for 17 March - 30 June 2019 (EUR 10 a day), in euros of 2021: x 104/100.
    r = price_records(records([(0, "appendix2:x.csv", "A", "2019-03-17", "2019-06-30", 1, 1060.0, "days", "jeugdhulp")]),
                      prices, flat, 2021)
    assert list(ledger_of(r).values()) == [round(v * 1.04, 6) for v in (150, 300, 310, 300)]
    assert set(r.ledger["domain"].astype(str)) == {"jeugdhulp"}


def test_bijstand_from_spells_or_from_yearly_amounts_never_both(prices, flat):
    rows = [(0, "BIJSTANDUITKERINGTAB", "A", "2019-01-01", "2019-12-31", 1, np.nan, "", ""),
            (0, "UITKERINGBEDRAGTAB", "BIJSTAND", "2019-01-01", "2019-12-31", 1, 12000.5, "months", "bijstand")]
    spells = price_records(records(rows), prices, flat, 2019, bijstand_from="spells")
    assert spells.record_cost.tolist() == pytest.approx([12000.0, 0.0])
    amounts = price_records(records(rows), prices, flat, 2019, bijstand_from="yearly_amounts")
    assert amounts.record_cost.tolist() == pytest.approx([0.0, 12000.5])


def test_missing_prices_are_listed_never_zero(prices, flat, tmp_path):
    rows = [(0, "WMOBUS", "7", "2019-02-01", "2019-02-10", 1, np.nan, "", ""),
            (1, "WMOBUS", "7", "2019-05-01", "2019-05-10", 1, np.nan, "", ""),
            (2, "WMOBUS", "7", "2020-05-01", "2020-05-10", 1, np.nan, "", ""),
            # A price that ends before the spell does: the 2020 part has no price.
            (3, "BIJSTANDUITKERINGTAB", "O", "2019-06-01", "2020-03-31", 1, np.nan, "", "")]
    partial = table(tmp_path, ["bijstand,BIJSTANDUITKERINGTAB,O,month,900,2019,2019-01-01,2019-12-31,test"], "o.csv")
    for chunk_records in (1, 500_000):        # one person a chunk, or all in one: every missing price is listed
        with pytest.raises(MissingPrices) as err:
            price_records(records(rows), combine_price_tables([prices, partial]), flat, 2019,
                          chunk_records=chunk_records)
        assert err.value.missing.values.tolist() == [["BIJSTANDUITKERINGTAB", "O", 2020, 1],
                                                     ["WMOBUS", "7", 2019, 2], ["WMOBUS", "7", 2020, 1]]
        assert "WMOBUS code '7' in 2019: 2 record(s)" in str(err.value)
    # A fallback prices exactly what is missing, and its use is reported.
    fallback = table(tmp_path, ["onbekend,WMOBUS,*,month,100,2019,2010-01-01,2099-12-31,fallback",
                                "bijstand,BIJSTANDUITKERINGTAB,*,month,500,2019,2010-01-01,2099-12-31,fallback"],
                     "fallback.csv")
    r = price_records(records(rows), combine_price_tables([prices, partial]), flat, 2019, fallback=fallback)
    assert r.record_cost[3] == pytest.approx(7 * 900 + 3 * 500)     # June-December main, January-March fallback
    assert r.record_cost[0] == pytest.approx(10 / 28 * 100)
    uses = r.fallback_uses.set_index(["source", "code", "year"])["records"].to_dict()
    assert uses == {("BIJSTANDUITKERINGTAB", "O", 2020): 1, ("WMOBUS", "7", 2019): 2, ("WMOBUS", "7", 2020): 1}


def test_price_tables_from_dutch_excel_and_overrides(tmp_path):
    dutch = table(tmp_path, ["wmo;WMOBUS;1;month;1.234,50;2019;2010-01-01;2099-12-31;gemeente"],
                  "nl.csv", header=HEADER.replace(",", ";"), encoding="cp1252")
    assert dutch["price"].tolist() == [1234.5]
    base = table(tmp_path, ["wmo,WMOBUS,1,month,100,2019,2010-01-01,2099-12-31,a",
                            "wmo,WMOBUS,2,month,200,2019,2010-01-01,2099-12-31,a"], "base.csv")
    combined = combine_price_tables([base, dutch])
    assert sorted(zip(combined["code"], combined["price"])) == [("1", 1234.5), ("2", 200.0)]


@pytest.mark.parametrize("line, message", [
    ("wmo,WMOBUS,1,week,100,2019,2010-01-01,2099-12-31,a", "unit 'week'"),
    ("wmo,WMOBUS,1,month,honderd,2019,2010-01-01,2099-12-31,a", "is not a non-negative number"),
    ("wmo,WMOBUS,1,month,100,2019,2020-01-01,2019-12-31,a", "valid_to before valid_from"),
])
def test_bad_price_tables_say_what_is_wrong(tmp_path, line, message):
    with pytest.raises(PricingError, match=message):
        table(tmp_path, [line])


def test_overlapping_prices_and_missing_index_years(tmp_path, prices):
    with pytest.raises(PricingError, match="two prices for WMOBUS code '1'"):
        table(tmp_path, ["wmo,WMOBUS,1,month,100,2019,2010-01-01,2020-12-31,a",
                         "wmo,WMOBUS,1,month,110,2020,2020-01-01,2099-12-31,a"])
    short = index(tmp_path, {2019: 100})
    with pytest.raises(PricingError, match=r"no value for year\(s\) \[2021\]"):
        price_records(records([(0, "WMOBUS", "2", "2019-03-01", "2019-03-31", 1, np.nan, "", "")]), prices, short, 2021)


def test_random_spells_priced_day_by_day_with_price_changes_gaps_and_a_fallback(tmp_path, flat):
    """Every record's cost and every ledger month against a plain day-by-day count: prices
    per day, month and year that change inside spells, a period without a main price that
    the fallback fills, and cases priced on their start day only."""
    import calendar
    import datetime as dt
    main = table(tmp_path, [
        "wmo,WMOBUS,D,day,10,2019,2018-01-01,2019-06-30,test",
        "wmo,WMOBUS,D,day,12,2019,2019-07-01,2019-12-31,test",          # 2020 on: fallback only
        "wmo,WMOBUS,M,month,310,2019,2018-01-01,2019-03-15,test",
        "wmo,WMOBUS,M,month,400,2019,2019-03-16,2099-12-31,test",
        "wmo,WMOBUS,Y,year,3650,2019,2018-01-01,2099-12-31,test",
        "politie,VERDTAB,C,case,500,2019,2019-01-01,2099-12-31,test",   # 2018 cases: fallback
    ])
    fallback = table(tmp_path, ["wmo,WMOBUS,*,day,7,2019,2010-01-01,2099-12-31,fb",
                                "politie,VERDTAB,*,case,100,2019,2010-01-01,2099-12-31,fb"], "fallback.csv")
    day_price = {"D": [("2018-01-01", "2019-06-30", 10.0), ("2019-07-01", "2019-12-31", 12.0)],
                 "M": [("2018-01-01", "2019-03-15", 310.0), ("2019-03-16", "2099-12-31", 400.0)],
                 "Y": [("2018-01-01", "2099-12-31", 3650.0)]}
    rng = np.random.default_rng(11)
    rows = []
    for person in range(80):
        code = ["D", "M", "Y", "C"][person % 4]
        start = dt.date(2017, 7, 1) + dt.timedelta(days=int(rng.integers(0, 1100)))   # some before any main price
        end = start + dt.timedelta(days=int(rng.integers(0, 500)) if code != "C" else 0)
        source = "VERDTAB" if code == "C" else "WMOBUS"
        rows.append((person, source, code, start.isoformat(), end.isoformat(), 1, np.nan, "", ""))
    result = price_records(records(rows), main, flat, 2019, fallback=fallback)
    expected_ledger = {}
    for person, source, code, start, end, *_ in rows:
        day, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
        while day <= last:
            key = (person, int(month_index(day_number(day.isoformat()))))
            month_days = calendar.monthrange(day.year, day.month)[1]
            if code == "C":
                cost = 500.0 if day.year >= 2019 else 100.0
            else:
                periods = [p for lo, hi, p in day_price[code] if lo <= day.isoformat() <= hi]
                if not periods:
                    cost = 7.0                                            # the fallback's day price
                elif code == "D":
                    cost = periods[0]
                elif code == "M":
                    cost = periods[0] / month_days
                else:
                    cost = periods[0] / 12 / month_days
            expected_ledger[key] = expected_ledger.get(key, 0.0) + cost
            day += dt.timedelta(days=1)
    got = result.ledger.groupby(["person", "month"])["cost"].sum().to_dict()
    assert got.keys() == expected_ledger.keys()
    for key, cost in expected_ledger.items():
        assert got[key] == pytest.approx(cost, abs=1e-6), key
    per_person = pd.Series(expected_ledger).groupby(level=0).sum()
    assert result.record_cost == pytest.approx(per_person.reindex(range(80)).to_numpy(), abs=1e-6)
    assert len(result.fallback_uses) > 0
    # Priced in many small chunks (two at a time): the same ledger, in person order.
    chunked = price_records(records(rows), main, flat, 2019, fallback=fallback, chunk_records=7)
    pd.testing.assert_frame_equal(chunked.ledger, result.ledger)
    assert chunked.record_cost == pytest.approx(result.record_cost, abs=1e-9)
    pd.testing.assert_frame_equal(chunked.fallback_uses, result.fallback_uses)
