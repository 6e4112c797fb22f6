"""CBS register rows to records: every rule on small files worked out by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.accounting import SourceAccount, check_balance
from lib.dates import day_number
from lib.layouts import DATED_JUSTICE_LAYOUTS, load_layouts
from lib.records import (
    Period,
    PersonIndex,
    amount_records,
    case_records,
    event_records,
    read_source_files,
    spell_records,
)
from lib.sources import SourceFile

PERIOD = Period(day_number("2019-01-01"), day_number("2023-12-31"))


def d(text):
    return day_number(text)


def run(reader, dataset, files, persons, account):
    return reader(dataset, read_source_files(dataset, files), PERIOD, persons, account)


def source(tmp_path, dataset, name, year, rows):
    path = tmp_path / name
    pd.DataFrame(rows[1:], columns=rows[0]).to_csv(path, index=False)
    return SourceFile(dataset, path, year, 1, "csv")


@pytest.fixture
def persons():
    return PersonIndex(np.array([1, 2, 3, 12345], dtype=np.int64))


def test_spells_open_ends_clipping_and_rejections(tmp_path, persons):
    f = source(tmp_path, "WMOBUS", "WMO2023BUSV1.csv", 2023, [
        ["rinpersoons", "rinpersoon", "wmogeldigheidbegindatum", "wmogeldigheideinddatum", "wmosoortvoorziening"],
        ["R", "000000001", "20180601", "20190331", "1"],     # starts before the period: clipped
        ["R", "000000001", "20230101", "20991231", "2"],     # far-future end: runs to the period's end
        ["R", "000000002", "20200101", "", "3"],             # blank end: still running
        ["R", "12345", "20200101", "20200131", "4"],         # number stored without zeros: linked
        ["R", "000000003", "20150101", "20171231", "1"],     # entirely before the period
        ["R", "000000003", "20200301", "20200201", "1"],     # end before start
        ["F", "000000009", "20200101", "20200131", "1"],     # not linkable
        ["R", "000000003", "20230230", "", "1"],             # not a date
        ["R", "000000004", "20210101", "20210630", "5"],     # person not in the register
        ["R", "000000002", "20200101", "", "3"],             # exact duplicate
    ])
    account = SourceAccount("WMOBUS", files=1)
    records, rejected = run(spell_records, "WMOBUS", [f], persons, account)
    assert records[["person", "code", "start", "end"]].values.tolist() == [
        [0, "1", d("2019-01-01"), d("2019-03-31")], [0, "2", d("2023-01-01"), d("2023-12-31")],
        [1, "3", d("2020-01-01"), d("2023-12-31")], [3, "4", d("2020-01-01"), d("2020-01-31")],
        [4, "5", d("2021-01-01"), d("2021-06-30")]]
    assert rejected["reason"].tolist() == [
        "outside the study period", "end date before start date", "RINPERSOONS is not 'R': the person cannot be linked",
        "start date missing or not a date", "exact duplicate row"]
    assert (account.rows_read, account.rows_used, account.rows_rejected, account.rows_clipped) == (10, 5, 5, 3)
    assert (account.persons, account.persons_not_in_register) == (4, 1)
    assert persons.keys[4] == 4 and persons.registered == 4
    check_balance([account])


def test_a_spell_repeated_in_yearly_files_counts_once_with_its_newest_end(tmp_path, persons):
    columns = ["RINPERSOONS", "RINPERSOON", "BIJSTANDAanvangUitkeringPersoon1A", "BIJSTANDEindeUitkeringPersoon1A",
               "BIJSTANDStatistiekcodeA", "BIJSTANDNormA"]
    y2019 = source(tmp_path, "BIJSTANDUITKERINGTAB", "BIJSTANDUITKERING2019TABV1.csv", 2019,
                   [columns, ["R", "000000001", "20190315", "", "1", "A"]])
    y2020 = source(tmp_path, "BIJSTANDUITKERINGTAB", "BIJSTANDUITKERING2020TABV1.csv", 2020,
                   [columns, ["R", "000000001", "20190315", "20200630", "1", "A"],
                    ["R", "000000002", "20200101", "", "1", "G"]])
    account = SourceAccount("BIJSTANDUITKERINGTAB", files=2)
    records, rejected = run(spell_records, "BIJSTANDUITKERINGTAB", [y2019, y2020], persons, account)
    # The statistics code goes before the norm (lib.pricing.apply_bijstand_codes maps it).
    assert records[["person", "code", "start", "end", "file"]].values.tolist() == [
        [0, "1:A", d("2019-03-15"), d("2020-06-30"), "BIJSTANDUITKERING2020TABV1.csv"],
        [1, "1:G", d("2020-01-01"), d("2023-12-31"), "BIJSTANDUITKERING2020TABV1.csv"]]
    assert (account.rows_read, account.rows_used, account.rows_superseded, len(rejected)) == (3, 2, 1, 0)
    check_balance([account])


def test_events_inside_the_period_only(tmp_path, persons):
    f = source(tmp_path, "VERDTAB", "VERD2019TABV1.csv", 2019, [
        ["rinpersoons", "rinpersoon", "vrddatumregistratie", "vrdmisdrijfcategorie"],
        ["R", 1, "20190505", "3"], ["R", 2, "20181231", "1"], ["R", 3, "", "2"]])
    account = SourceAccount("VERDTAB", files=1)
    dated = load_layouts(DATED_JUSTICE_LAYOUTS)["VERDTAB"]       # the dated form (not CBS's yearly one)
    records, rejected = run(event_records, dated, [f], persons, account)
    assert records[["person", "code", "start", "end"]].values.tolist() == [[0, "3", d("2019-05-05"), d("2019-05-05")]]
    assert rejected["reason"].tolist() == ["outside the study period", "date missing or not a date"]


def test_court_decision_with_community_service_and_supervision(tmp_path, persons):
    f = source(tmp_path, "JUSTITIEZAKENBUS", "JUSTITIEZAKEN2023BUSV1.csv", 2023, [
        ["RINPERSOONS", "RINPERSOON", "ZAAKID", "DATUMBESLISSING", "INSTANTIE", "BESLISSING", "RECHTER",
         "DELICTCATEGORIE", "SANCTIE", "DAGENDETENTIE", "URENTAAKSTRAF", "MAANDENTOEZICHT"],
        ["R", "000000001", "Z1", "20200110", "OM", "DAGVAARDING", "", "3", "", 0, 0, 0],
        ["R", "000000001", "Z1", "20200615", "ZM", "VEROORDELING", "PR", "3", "TAAKSTRAF", 0, 40, 0],
        ["R", "000000002", "Z2", "20230315", "ZM", "VEROORDELING", "MK", "1", "VOORWAARDELIJK", 0, 0, 12],
        ["R", "000000003", "Z3", "20210101", "ZM", "VEROORDELING", "MK", "1", "GEVANGENISSTRAF", 300, 0, 0],
        ["R", "000000003", "Z4", "20210101", "XX", "SEPOT", "", "1", "", 0, 0, 0],
    ])
    account = SourceAccount("JUSTITIEZAKENBUS", files=1)
    records, rejected = run(case_records, "JUSTITIEZAKENBUS", [f], persons, account)
    got = records[["person", "code", "start", "end", "units"]].values.tolist()
    assert got == [
        [0, "OM:DAGVAARDING", d("2020-01-10"), d("2020-01-10"), 1.0],
        [0, "ZM:PR", d("2020-06-15"), d("2020-06-15"), 1.0],
        [1, "ZM:MK", d("2023-03-15"), d("2023-03-15"), 1.0],
        [2, "ZM:MK", d("2021-01-01"), d("2021-01-01"), 1.0],       # the decision itself
        [0, "TAAKSTRAF", d("2020-06-15"), d("2020-06-15"), 40.0],
        [1, "TOEZICHT", d("2023-03-15"), d("2023-12-31"), 1.0],   # 12 months from 15 March, clipped at the end
        # 300 sentenced days from the decision date (priced only without GEDETINEERDENTAB, lib.pricing)
        [2, "DETENTIEVONNIS:GEVANGENISSTRAF", d("2021-01-01"), d("2021-10-27"), 300.0],
    ]
    assert rejected["reason"].tolist() == ["INSTANTIE is neither OM nor ZM"]
    assert (account.rows_read, account.rows_used, account.records, account.rows_clipped) == (5, 4, 7, 1)


def test_yearly_amounts_and_their_accounting(tmp_path, persons):
    f = source(tmp_path, "UITKERINGBEDRAGTAB", "UITKERINGBEDRAG2020TABV1.csv", 2020, [
        ["RINPERSOONS", "RINPERSOON", "UITKERINGSOORT", "BEDRAGJAAR"],
        ["R", "000000001", "BIJSTAND", 12000.50], ["R", "000000002", "IOAW", 9000.0],
        ["R", "000000003", "BIJSTAND", None], ["R", "000000003", "WW", 100.0], ["T", "000000003", "IOAW", 50.0]])
    account = SourceAccount("UITKERINGBEDRAGTAB", files=1)
    records, rejected = run(amount_records, "UITKERINGBEDRAGTAB", [f], persons, account)
    assert records[["person", "domain", "start", "end", "amount", "spread"]].values.tolist() == [
        [0, "bijstand", d("2020-01-01"), d("2020-12-31"), 12000.5, "months"],
        [1, "overige_uitkering", d("2020-01-01"), d("2020-12-31"), 9000.0, "months"]]
    assert rejected["reason"].tolist() == ["amount missing or not a number",
                                           "benefit type has no domain (see UITKERINGSOORT_DOMAINS)",
                                           "RINPERSOONS is not 'R': the person cannot be linked"]
    assert account.amount_read == pytest.approx(21150.5)
    assert account.amount_used == pytest.approx(21000.5) and account.amount_rejected == pytest.approx(150.0)
    check_balance([account])


def test_an_unbalanced_account_is_caught():
    account = SourceAccount("X", rows_read=10, rows_used=8, has_amounts=True, amount_read=100.0, amount_used=99.0)
    account.rejected["bad"] = 1
    with pytest.raises(AssertionError) as err:
        check_balance([account])
    assert "10 rows read but 9 accounted for" in str(err.value)
    assert "EUR 100.00 read but EUR 99.00 accounted for" in str(err.value)
