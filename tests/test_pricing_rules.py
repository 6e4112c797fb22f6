"""Pricing rules for traps of the real files (issue 17), each worked out by hand on small records
in the form lib.records writes them."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.pricing import (
    DETENTION_SENTENCE,
    PRICED_BY,
    FLAG_PERSON_YEAR_REPEAT,
    FLAG_YOUTH_PROBATION,
    PricingError,
    load_bijstand_codes,
    price_records,
    regulation_price_rows,
)
from lib.config import REFERENCE_DATA
from tests.test_pricing import d, index, ledger_of, m, records, table


@pytest.fixture
def flat(tmp_path):
    return index(tmp_path, {2019: 100, 2020: 100})


def total_matches(result):
    # price_ledger's own check: the ledger and the records' costs agree to the cent.
    assert abs(result.ledger["cost"].sum() - result.record_cost.sum()) < 0.01


# --- police: once per suspect and year ------------------------------------------------------

def test_person_year_charges_the_first_record_of_each_person_source_and_year(tmp_path, flat):
    prices = table(tmp_path, ["politie,VERDTAB,3,person_year,7500,2019,2010-01-01,2099-12-31,test",
                              "politie,VERDTAB,4,person_year,7500,2019,2010-01-01,2099-12-31,test"])
    r = price_records(records([
        (0, "VERDTAB", "3", "2019-06-10", "2019-06-10", 1, np.nan, "", ""),   # second of 2019 (by date)
        (0, "VERDTAB", "4", "2019-02-03", "2019-02-03", 1, np.nan, "", ""),   # first of 2019
        (0, "VERDTAB", "3", "2019-11-30", "2019-11-30", 1, np.nan, "", ""),   # third of 2019
        (0, "VERDTAB", "3", "2020-01-05", "2020-01-05", 1, np.nan, "", ""),   # first of 2020
        (1, "VERDTAB", "3", "2019-06-10", "2019-06-10", 1, np.nan, "", ""),   # another suspect
    ]), prices, flat, 2019)
    assert r.record_cost.tolist() == [0.0, 7500.0, 0.0, 7500.0, 7500.0]
    # The year's price sits in the month of the person's first record of that year.
    assert ledger_of(r) == {(0, m("2019-02-01")): 7500.0, (0, m("2020-01-01")): 7500.0,
                            (1, m("2019-06-01")): 7500.0}
    total_matches(r)
    assert r.excluded["VERDTAB records after the first of their person and year (unit person_year: the person is "
                      "priced once a year)"] == 2
    repeats = r.report[r.report["priced_by"] == PRICED_BY[FLAG_PERSON_YEAR_REPEAT]]
    assert repeats["records"].sum() == 2 and repeats["cost"].sum() == 0


def test_person_year_does_not_depend_on_chunks(tmp_path, flat):
    prices = table(tmp_path, ["politie,VERDTAB,3,person_year,100,2019,2010-01-01,2099-12-31,test"])
    rows = [(p, "VERDTAB", "3", f"2019-0{k + 1}-0{p + 1}", f"2019-0{k + 1}-0{p + 1}", 1, np.nan, "", "")
            for p in range(5) for k in range(3)]
    whole = price_records(records(rows), prices, flat, 2019)
    chunked = price_records(records(rows), prices, flat, 2019, chunk_records=2)
    assert whole.record_cost.sum() == chunked.record_cost.sum() == 500.0
    np.testing.assert_array_equal(whole.record_cost, chunked.record_cost)


# --- a judge's supervision of a minor and youth probation ------------------------------------

@pytest.fixture
def supervision_prices(tmp_path):
    return table(tmp_path, ["sancties,JUSTITIEZAKENBUS,TOEZICHT,month,450,2019,2010-01-01,2099-12-31,test",
                            "jeugdreclassering,JGDRECLASBUS,1,month,750,2019,2010-01-01,2099-12-31,test"])


def test_supervision_days_under_youth_probation_are_not_priced(supervision_prices, flat):
    r = price_records(records([
        # Person 0: a year of supervision, youth probation March to May: 9 whole months priced.
        (0, "JUSTITIEZAKENBUS", "TOEZICHT", "2019-01-01", "2019-12-31", 1, np.nan, "", ""),
        (0, "JGDRECLASBUS", "1", "2019-03-01", "2019-05-31", 1, np.nan, "", ""),
        # Person 1: supervision without youth probation of its own (person 0's does not count).
        (1, "JUSTITIEZAKENBUS", "TOEZICHT", "2019-01-01", "2019-12-31", 1, np.nan, "", ""),
        # Person 2: two overlapping youth-probation spells (15 Feb - 15 Apr together) inside
        # half a year of supervision: Jan 450, Feb 14/28 x 450 = 225, Mar 0, Apr 15/30 x 450 = 225,
        # May 450, Jun 450.
        (2, "JUSTITIEZAKENBUS", "TOEZICHT", "2019-01-01", "2019-06-30", 1, np.nan, "", ""),
        (2, "JGDRECLASBUS", "2", "2019-02-15", "2019-03-31", 1, np.nan, "", ""),
        (2, "JGDRECLASBUS", "1", "2019-03-15", "2019-04-15", 1, np.nan, "", ""),
        # Person 3: youth probation after the supervision: no overlap, nothing changes.
        (3, "JUSTITIEZAKENBUS", "TOEZICHT", "2019-01-01", "2019-03-31", 1, np.nan, "", ""),
        (3, "JGDRECLASBUS", "1", "2020-01-01", "2020-01-31", 1, np.nan, "", ""),
    ]), table_with_code_2(supervision_prices), flat, 2019)
    cost = np.round(r.record_cost, 6).tolist()
    # Youth probation keeps its own price: 15-28 Feb and March; 15-31 March and 1-15 April.
    assert cost == [450 * 9, 750 * 3, 450 * 12, 450 + 225 + 225 + 450 + 450,
                    750 * 14 / 28 + 750, round(750 * 17 / 31 + 750 * 15 / 30, 6), 450 * 3, 750]
    month_total = r.ledger.groupby(["person", "month"])["cost"].sum().round(6)
    assert month_total[(0, m("2019-04-01"))] == 750.0                # the youth-probation month only
    assert month_total[(2, m("2019-02-01"))] == 225 + 750 * 14 / 28  # 1-14 Feb supervised, 15-28 youth probation
    total_matches(r)
    key = next(k for k in r.excluded if "records with days a JGDRECLASBUS spell" in k)
    assert r.excluded[key] == 2                                     # persons 0 and 2
    days = next(k for k in r.excluded if "days not priced" in k)
    assert r.excluded[days] == (31 + 30 + 31) + (14 + 31 + 15)
    flagged = r.report[r.report["priced_by"] == PRICED_BY[FLAG_YOUTH_PROBATION]]
    assert flagged["records"].sum() == 2 and flagged["cost"].sum() == pytest.approx(450 * 9 + 1800)


def table_with_code_2(prices):
    extra = prices[prices["code"] == "1"].assign(code="2", price=750.0)
    return pd.concat([prices, extra], ignore_index=True)


def test_supervision_wholly_under_youth_probation_costs_nothing(supervision_prices, flat):
    r = price_records(records([
        (0, "JUSTITIEZAKENBUS", "TOEZICHT", "2019-03-10", "2019-04-20", 1, np.nan, "", ""),
        (0, "JGDRECLASBUS", "1", "2019-03-01", "2019-05-31", 1, np.nan, "", ""),
    ]), supervision_prices, flat, 2019)
    assert r.record_cost.tolist() == [0.0, 2250.0]
    total_matches(r)


# --- detention sentenced, no detention source -------------------------------------------------

def test_detention_sentences_without_a_detention_source_are_a_warning(tmp_path, flat):
    prices = table(tmp_path, ["om_rechtspraak,JUSTITIEZAKENBUS,ZM:MK,case,7500,2019,2010-01-01,2099-12-31,test"])
    rows = [(0, "JUSTITIEZAKENBUS", "ZM:MK", "2019-05-01", "2019-05-01", 1, np.nan, "", ""),
            (0, "JUSTITIEZAKENBUS", DETENTION_SENTENCE, "2019-05-01", "2019-05-01", 1, np.nan, "", ""),
            (1, "JUSTITIEZAKENBUS", "ZM:MK", "2019-07-01", "2019-07-01", 1, np.nan, "", ""),
            (1, "JUSTITIEZAKENBUS", DETENTION_SENTENCE, "2019-07-01", "2019-07-01", 1, np.nan, "", "")]
    r = price_records(records(rows), prices, flat, 2019, detention_spells=False)
    assert r.record_cost.tolist() == [7500.0, 0.0, 7500.0, 0.0]    # no price needed for a sentence
    assert len(r.warnings) == 1 and r.warnings[0].startswith("WARNING: 2 court decision(s) in JUSTITIEZAKENBUS "
                                                             "sentence detention")
    assert "GEDETINEERDENTAB is not part of this run" in r.warnings[0]
    assert next(v for k, v in r.excluded.items() if DETENTION_SENTENCE in k) == 2
    # With detention spells in the run (said, or found among the records) there is nothing to warn.
    assert price_records(records(rows), prices, flat, 2019, detention_spells=True).warnings == []
    det = table(tmp_path, ["detentie,GEDETINEERDENTAB,GW,day,259,2019,2010-01-01,2099-12-31,test",
                           "om_rechtspraak,JUSTITIEZAKENBUS,ZM:MK,case,7500,2019,2010-01-01,2099-12-31,test"],
                name="det.csv")
    with_spell = rows + [(0, "GEDETINEERDENTAB", "GW", "2019-06-01", "2019-06-02", 1, np.nan, "", "")]
    assert price_records(records(with_spell), det, flat, 2019).warnings == []


def test_detention_is_not_measured_without_its_source(tmp_path):
    from lib.config import load_config
    from lib.steps.households import run_domains
    path = tmp_path / "config.toml"
    path.write_text('[study]\narea = ["0344"]\npeildatum = 2019-12-31\nyears = [2019]\n\n'
                    '[prices]\nprice_year = 2019\n\n[sources.cbs]\n'
                    + "".join(f'{name} = "x/*.csv"\n' for name in (
                        "GBAPERSOONTAB", "GBAHUISHOUDENSBUS", "GBAADRESOBJECTBUS", "VSLGWBTAB", "JUSTITIEZAKENBUS")),
                    encoding="utf-8")
    measured, not_measured = run_domains(load_config(path))
    assert "detentie" in not_measured and "detentie" not in measured
    assert "om_rechtspraak" in measured


def test_the_report_names_the_domains_without_a_source():
    from lib.report import ExportedTable, residence_and_attribution_findings
    note = ("gemeten, met een bron in deze run: bijstand, politie; niet opgenomen, want zonder bron in deze run "
            "(niet gemeten, dus niet nul): detentie, schuldhulp")
    t = ExportedTable("t", pd.DataFrame(), {"Domeinen": note}, f"Domeinen: {note}\n", {}, "x")
    lines = residence_and_attribution_findings([t])
    assert lines == ["Niet gemeten, want zonder bron in deze run: detentie, schuldhulp. Hun kosten ontbreken in "
                     "alle cijfers (niet nul: onbekend)."]


# --- the bijstand statistics code -------------------------------------------------------------

@pytest.fixture
def codes():
    return load_bijstand_codes(REFERENCE_DATA / "bijstand_statistiekcodes.csv")


@pytest.fixture
def norm_prices(tmp_path, codes):
    prices = table(tmp_path, ["bijstand,BIJSTANDUITKERINGTAB,A,month,1000,2019,2019-01-01,2019-12-31,test",
                              "bijstand,BIJSTANDUITKERINGTAB,A,month,1100,2020,2020-01-01,2020-12-31,test"])
    return regulation_price_rows(prices, codes)


def test_the_code_list_documents_every_code(codes):
    assert codes.set_index("code")["regulation"].to_dict() == {
        "01": "BIJSTAND", "02": "IOAW", "03": "IOAZ", "11": "BIJZONDERE_BIJSTAND", "12": "BIJZONDERE_BIJSTAND",
        "14": "BBZ"}
    assert (codes["source"].str.contains("BWBR0031830")).all()
    assert codes.set_index("code").loc[["02", "03", "14"], "domain"].eq("overige_uitkering").all()


def test_regulations_are_priced_at_their_norm_in_their_own_domain(norm_prices, codes, flat):
    # IOAW:A got the norm A's rows, in overige_uitkering; a table's own IOAW:A row would win.
    ioaw = norm_prices[norm_prices["code"] == "IOAW:A"]
    assert ioaw["price"].tolist() == [1000.0, 1100.0] and set(ioaw["domain"]) == {"overige_uitkering"}
    r = price_records(records([
        (0, "BIJSTANDUITKERINGTAB", "01:A", "2019-01-01", "2019-12-31", 1, np.nan, "", ""),   # algemene bijstand
        (1, "BIJSTANDUITKERINGTAB", "2:A", "2019-07-01", "2019-12-31", 1, np.nan, "", ""),    # IOAW ("2" = "02")
        (1, "UITKERINGBEDRAGTAB", "IOAW", "2019-01-01", "2019-12-31", 1, 6000.0, "months", "overige_uitkering"),
        (1, "UITKERINGBEDRAGTAB", "IOAW", "2020-01-01", "2020-12-31", 1, 1200.0, "months", "overige_uitkering"),
        (2, "BIJSTANDUITKERINGTAB", "11:A", "2019-01-01", "2019-03-31", 1, np.nan, "", ""),   # bijzondere bijstand
        (3, "BIJSTANDUITKERINGTAB", "A", "2019-01-01", "2019-01-31", 1, np.nan, "", ""),     # no statistics code
        (4, "BIJSTANDUITKERINGTAB", "14:A", "2020-01-01", "2020-02-29", 1, np.nan, "", ""),  # Bbz
    ]), norm_prices, flat, 2019, bijstand_codes=codes)
    # The IOAW amount of 2019 is the spell's benefit (not priced twice); that of 2020 has no spell.
    assert r.record_cost.tolist() == [12000.0, 6000.0, 0.0, 1200.0, 0.0, 1000.0, 2200.0]
    assert r.ledger_cost_by_domain.to_dict() == {"bijstand": 13000.0, "overige_uitkering": 6000.0 + 1200.0 + 2200.0}
    assert r.excluded["BIJSTANDUITKERINGTAB spells of regulation BIJZONDERE_BIJSTAND (the bijstand code list "
                      "marks it not priced)"] == 1
    assert next(v for k, v in r.excluded.items() if k.startswith("UITKERINGBEDRAGTAB amounts of IOAW")) == 1
    assert set(r.report["code"]) >= {"A", "IOAW:A", "BBZ:A", "BIJZONDERE_BIJSTAND:A"}
    total_matches(r)


def test_an_unknown_statistics_code_stops_with_the_codes_and_counts(norm_prices, codes, flat):
    rows = [(p, "BIJSTANDUITKERINGTAB", code, "2019-01-01", "2019-01-31", 1, np.nan, "", "")
            for p, code in enumerate(["13:A", "13:G", "20:A", "01:A"])]
    with pytest.raises(PricingError) as error:
        price_records(records(rows), norm_prices, flat, 2019, bijstand_codes=codes)
    text = str(error.value)
    assert "3 spell(s) have a statistics code" in text
    assert "BIJSTANDSTATISTIEKCODEA '13': 2 spell(s)" in text and "BIJSTANDSTATISTIEKCODEA '20': 1 spell(s)" in text
    assert "'01'" not in text


def test_spells_without_a_statistics_code_beside_ioaw_amounts_are_a_warning(norm_prices, codes, flat):
    rows = [(0, "BIJSTANDUITKERINGTAB", "A", "2019-01-01", "2019-01-31", 1, np.nan, "", ""),
            (1, "BIJSTANDUITKERINGTAB", "A", "2019-01-01", "2019-01-31", 1, np.nan, "", ""),
            (1, "UITKERINGBEDRAGTAB", "IOAW", "2019-01-01", "2019-12-31", 1, 1200.0, "months", "overige_uitkering")]
    r = price_records(records(rows), norm_prices, flat, 2019, bijstand_codes=codes)
    assert r.record_cost.tolist() == [1000.0, 1000.0, 1200.0]       # nothing can be told apart: all priced
    assert len(r.warnings) == 1
    assert r.warnings[0].startswith("WARNING: 2 BIJSTANDUITKERINGTAB spell(s) have no statistics code")
    assert "1 UITKERINGBEDRAGTAB IOAW, IOAZ or BBZ amount(s)" in r.warnings[0]
    # With the code the IOAW spell is known and its amount is not priced twice: no warning.
    coded = [(0, "BIJSTANDUITKERINGTAB", "01:A", "2019-01-01", "2019-01-31", 1, np.nan, "", ""),
             (1, "BIJSTANDUITKERINGTAB", "02:A", "2019-01-01", "2019-01-31", 1, np.nan, "", ""),
             rows[2]]
    r = price_records(records(coded), norm_prices, flat, 2019, bijstand_codes=codes)
    assert r.warnings == [] and r.record_cost.tolist() == [1000.0, 1000.0, 0.0]


def test_records_carry_the_statistics_code_and_the_detention_sentences(tmp_path):
    from lib.accounting import SourceAccount
    from lib.records import PersonIndex, case_records, spell_records
    from tests.test_records import run, source
    persons = PersonIndex(np.array([1, 2, 3], dtype=np.int64))
    columns = ["RINPERSOONS", "RINPERSOON", "BIJSTANDAanvangUitkeringPersoon1A", "BIJSTANDEindeUitkeringPersoon1A",
               "BIJSTANDStatistiekcodeA", "BIJSTANDNormA"]
    f = source(tmp_path, "BIJSTANDUITKERINGTAB", "BIJSTANDUITKERING2020TABV1.csv", 2020,
               [columns, ["R", "000000001", "20200101", "", "02", "A"], ["R", "000000002", "20200101", "", "", "G"],
                ["R", "000000003", "20200101", "", "14", "O"]])
    records, _ = run(spell_records, "BIJSTANDUITKERINGTAB", [f], persons, SourceAccount("BIJSTANDUITKERINGTAB"))
    assert records["code"].tolist() == ["02:A", "G", "14:O"]        # blank code: the norm alone
    # A file without the column: every spell keeps its norm code (priced as algemene bijstand).
    g = source(tmp_path, "BIJSTANDUITKERINGTAB", "BIJSTANDUITKERING2021TABV1.csv", 2021,
               [[c for c in columns if "Statistiek" not in c], ["R", "000000001", "20210101", "", "A"]])
    records, _ = run(spell_records, "BIJSTANDUITKERINGTAB", [g], persons, SourceAccount("BIJSTANDUITKERINGTAB"))
    assert records["code"].tolist() == ["A"]
    # Detention sentences of court decisions inside the period; not of the prosecutor, not without SANCTIE.
    h = source(tmp_path, "JUSTITIEZAKENBUS", "JUSTITIEZAKEN2023BUSV1.csv", 2023, [
        ["RINPERSOONS", "RINPERSOON", "DATUMBESLISSING", "INSTANTIE", "BESLISSING", "RECHTER", "SANCTIE",
         "URENTAAKSTRAF", "MAANDENTOEZICHT"],
        ["R", "000000001", "20210301", "ZM", "VEROORDELING", "KR", "jeugddetentie ", 0, 0],
        ["R", "000000002", "20210301", "ZM", "VEROORDELING", "PR", "GEVANGENISSTRAF", 0, 0],
        ["R", "000000002", "20180301", "ZM", "VEROORDELING", "PR", "GEVANGENISSTRAF", 0, 0],   # before the period
        ["R", "000000003", "20210301", "ZM", "VEROORDELING", "PR", "TAAKSTRAF", 20, 0]])
    records, _ = run(case_records, "JUSTITIEZAKENBUS", [h], persons, SourceAccount("JUSTITIEZAKENBUS"))
    from lib import records as records_module
    assert records_module.DETENTION_SENTENCE == DETENTION_SENTENCE     # one code in both modules
    sentences = records[records["code"].str.startswith(DETENTION_SENTENCE + ":")]
    assert sentences["person"].tolist() == [0, 1] and (sentences["start"] == d("2021-03-01")).all()
    # The code carries the sanction (which day price prices its days); no DAGENDETENTIE: no days.
    assert sentences["code"].tolist() == ["DETENTIEVONNIS:JEUGDDETENTIE", "DETENTIEVONNIS:GEVANGENISSTRAF"]
    assert (sentences["units"] == 0).all() and (sentences["end"] == sentences["start"]).all()
