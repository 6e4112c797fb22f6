"""Yearly person tables (a person in a year, with counts or flags): read into records and priced per
person-year, per count or per flagged category, spread over the year's months or placed in the month
of a date; detention without days at the assumed days per detainee-year. Every figure by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.accounting import SourceAccount
from lib.dates import day_number, month_index
from lib.layouts import CBS_DATASETS, dataset_from_entry
from lib.pricing import load_price_index, load_price_table, price_records
from lib.records import Period, PersonIndex, ReadingOptions, read_source_files, yearly_records
from lib.sources import SourceFile

PERIOD = Period(day_number("2019-01-01"), day_number("2023-12-31"))
HEADER = "domain,source,code,unit,price,price_year,valid_from,valid_to,figure_source"
PRICES = [
    "politie,VERDTAB,1,person_year,1200,2021,2010-01-01,2099-12-31,test",
    "politie,VERDTAB,3,person_year,1200,2021,2010-01-01,2099-12-31,test",
    "halt,HALTTAB,1,case,50,2021,2010-01-01,2099-12-31,test",
    "halt,HALTTAB,2,case,80,2021,2010-01-01,2099-12-31,test",
    "detentie,GEDETINEERDENTAB,GW,day,250,2021,2010-01-01,2099-12-31,test",
    "wmo,WMOBUS,9,month,10,2021,2010-01-01,2099-12-31,test",
]


def m(text):
    return int(month_index(day_number(text)))


@pytest.fixture
def prices(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("\n".join([HEADER] + PRICES) + "\n", encoding="utf-8")
    return load_price_table(path)


@pytest.fixture
def flat(tmp_path):
    path = tmp_path / "index.csv"
    path.write_text("year,index\n2021,100\n", encoding="utf-8")
    return load_price_index(path)


def yearly(rows):
    """rows: (person, source, code, start, end, units) of records of yearly person tables."""
    frame = pd.DataFrame(rows, columns=["person", "source", "code", "start", "end", "units"])
    frame["start"], frame["end"] = frame["start"].map(day_number), frame["end"].map(day_number)
    return frame.assign(amount=np.nan, spread="year", domain="").astype(
        {"person": np.int32, "start": np.int32, "end": np.int32, "units": np.float32})


def by_month(result):
    return {(r.person, r.month): round(r.cost, 6) for r in result.ledger.itertuples()}


def test_a_suspect_year_is_priced_once_and_spread_over_the_months(prices, flat):
    # Two offence categories in one year (counts 2 and 1): one person-year price, EUR 1,200 / 12 a month.
    r = price_records(yearly([(0, "VERDTAB", "1", "2021-01-01", "2021-12-31", 2),
                              (0, "VERDTAB", "3", "2021-01-01", "2021-12-31", 1)]), prices, flat, 2021)
    assert by_month(r) == {(0, m(f"2021-{k:02d}-01")): 100.0 for k in range(1, 13)}
    assert r.record_cost.tolist() == [1200.0, 0.0]


def test_a_flagged_outcome_in_the_month_of_its_date_and_counts_per_case(prices, flat):
    r = price_records(yearly([(0, "HALTTAB", "1", "2021-06-11", "2021-06-11", 1),
                              (0, "HALTTAB", "2", "2021-06-11", "2021-06-11", 1),
                              (1, "HALTTAB", "1", "2021-01-01", "2021-12-31", 3)]), prices, flat, 2021)
    # Person 0: 50 + 80 in June. Person 1: a count of 3 at 50 per case, 150 spread: 12.50 a month.
    expected = {(0, m("2021-06-01")): 130.0} | {(1, m(f"2021-{k:02d}-01")): 12.5 for k in range(1, 13)}
    assert by_month(r) == expected


def test_a_detainee_year_costs_its_days_at_the_day_price(prices, flat):
    r = price_records(yearly([(0, "GEDETINEERDENTAB", "GW", "2021-01-01", "2021-12-31", 123),
                              (1, "WMOBUS", "9", "2021-01-01", "2021-12-31", 1)]), prices, flat, 2021)
    # 123 days x EUR 250 = 30,750, 2,562.50 a month; per month unit: 12 x 10 = 120, 10 a month.
    assert r.record_cost.tolist() == [30750.0, 120.0]
    assert by_month(r)[(0, m("2021-07-01"))] == 2562.5 and by_month(r)[(1, m("2021-12-01"))] == 10.0


def test_a_sentence_with_days_replaces_the_assumed_detainee_years_it_covers(prices, tmp_path):
    path = tmp_path / "index_flat.csv"
    path.write_text("year,index\n2019,100\n2020,100\n2021,100\n2022,100\n", encoding="utf-8")
    index = load_price_index(path)
    rows = yearly([(0, "GEDETINEERDENTAB", "GW", "2021-01-01", "2021-12-31", 123),
                   (0, "GEDETINEERDENTAB", "GW", "2022-01-01", "2022-12-31", 123),
                   (0, "JUSTITIEZAKENBUS", "DETENTIEVONNIS:GEVANGENISSTRAF", "2021-11-20", "2022-01-03", 45),
                   (1, "GEDETINEERDENTAB", "GW", "2021-01-01", "2021-12-31", 123),
                   (1, "JUSTITIEZAKENBUS", "DETENTIEVONNIS:GEVANGENISSTRAF", "2019-03-01", "2019-03-10", 10)])
    rows["spread"] = ["year, assumed days"] * 2 + [""] + ["year, assumed days", ""]
    r = price_records(rows, prices, index, 2021)
    # Person 0: the sentence's 45 days from 20 November 2021 cover 2021 and 2022, so both detainee-years
    # give way to it: 11 days in November, 31 in December, 3 in January, at EUR 250 a day.
    # Person 1: the 2019 sentence covers no detainee-year (not priced); 2021 is 123 days x 250 = 30,750.
    assert r.record_cost.tolist() == [0.0, 0.0, 11250.0, 30750.0, 0.0]
    months = by_month(r)
    assert (months[(0, m("2021-11-01"))], months[(0, m("2021-12-01"))], months[(0, m("2022-01-01"))]) == (
        2750.0, 7750.0, 750.0)
    assert months[(1, m("2021-05-01"))] == 2562.5
    assert r.excluded["GEDETINEERDENTAB detainee-years of assumed days that a sentence's days cover (costed from the "
                      "sentence, never both)"] == 2


def source(tmp_path, name, year, rows):
    path = tmp_path / name
    pd.DataFrame(rows[1:], columns=rows[0]).to_csv(path, index=False)
    return SourceFile(name.split("2")[0], path, year, 1, "csv")


def run(layout, files, options=None):
    persons = PersonIndex(np.array([1, 2, 3], dtype=np.int64))
    account = SourceAccount(layout.name, files=len(files))
    records, rejected = yearly_records(layout, read_source_files(layout, files), PERIOD, persons, account, options)
    return records, rejected, account


def test_counts_become_one_record_per_category_with_a_count(tmp_path):
    layout = CBS_DATASETS["VERDTAB"]
    header = ["rinpersoons", "rinpersoon"] + [c.lower() for _, c in layout.count_columns]
    f = source(tmp_path, "VERD2021TABV1.csv", 2021, [
        header,
        ["R", 1, 0, 2, 0, 0, 0, 1],          # two categories with offences
        ["R", 2, 0, 0, 0, 0, 0, 0],          # no offence at all
        ["R", 3, 0, 0, -1, 0, 0, 0],         # a negative count
        ["T", 4, 1, 0, 0, 0, 0, 0],          # not linkable
    ])
    records, rejected, account = run(layout, [f])
    assert records[["person", "code", "units", "start", "end", "spread"]].values.tolist() == [
        [0, "2", 2.0, day_number("2021-01-01"), day_number("2021-12-31"), "year"],
        [0, "6", 1.0, day_number("2021-01-01"), day_number("2021-12-31"), "year"]]
    assert rejected["reason"].tolist() == ["no count above 0 and no flag set: nothing to price",
                                           "VRDAANTALGEWELD is not a whole count of 0 or more",
                                           "RINPERSOONS is not 'R': the person cannot be linked"]
    assert (account.rows_read, account.rows_used) == (4, 1)


def test_detention_without_days_counts_the_assumed_days_and_with_days_its_own(tmp_path):
    f = source(tmp_path, "GEDETINEERDEN2021TABV1.csv", 2021, [
        ["RINPERSOONS", "RINPERSOON", "SCMDELZWAARST", "DAGEN"], ["R", "000000001", "3", "40"],
        ["R", "000000002", "1", ""]])
    records, _, account = run(CBS_DATASETS["GEDETINEERDENTAB"], [f], ReadingOptions(detention_days_per_year=90))
    assert records[["person", "code", "units"]].values.tolist() == [[0, "GW", 90.0], [1, "GW", 90.0]]
    assert account.notes == ["2 detainee-year(s) without days in custody, each counted as 90 days (assumption: "
                             "[sources] detention_days_per_year)"]
    # A layout with a days column: the row's own days where filled, the assumption elsewhere.
    with_days = dataset_from_entry("GEDETINEERDENTAB", {
        "file_stem": "GEDETINEERDEN", "kind": "TAB", "theme": "VeiligheidRecht", "form": "yearly",
        "description": "test", "fixed_code": "GW",
        "columns": {"RINPERSOONS": "RINPERSOONS", "RINPERSOON": "RINPERSOON", "days": "DAGEN"}}, "test")
    records, _, account = run(with_days, [f])
    assert records[["person", "units"]].values.tolist() == [[0, 40.0], [1, 123.0]]
    assert account.notes == ["1 detainee-year(s) without days in custody, each counted as 123 days (assumption: "
                             "[sources] detention_days_per_year)"]
