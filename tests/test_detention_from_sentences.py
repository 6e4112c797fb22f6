"""Detention priced from the sentenced days of the case file (issue 18), worked out by hand.

Without GEDETINEERDENTAB in the run, a court sentence of detention with its sentenced days
(JUSTITIEZAKENBUS DAGENDETENTIE) costs those days at the detention day price (GEDETINEERDENTAB GW,
JJI for JEUGDDETENTIE), day by day from the decision date; with GEDETINEERDENTAB the spells price
the detention and the sentence costs nothing: never both."""
from __future__ import annotations

import numpy as np
import pytest

from lib.accounting import SourceAccount
from lib.pricing import PRICED_BY_SENTENCE, SENTENCED_DAYS_CAVEAT, price_records, sentence_price_rows
from lib.records import case_records
from tests.test_pricing import d, index, m, records, table
from tests.test_records import persons, run, source  # noqa: F401  (persons is a fixture)

GW_2022 = "detentie,GEDETINEERDENTAB,GW,day,250,2022,2022-01-01,2022-12-31,test"
GW_2023 = "detentie,GEDETINEERDENTAB,GW,day,270,2023,2023-01-01,2023-12-31,test"
JJI = "detentie,GEDETINEERDENTAB,JJI,day,500,2023,2010-01-01,2099-12-31,test"
MK = "om_rechtspraak,JUSTITIEZAKENBUS,ZM:MK,case,7500,2023,2010-01-01,2099-12-31,test"
PRISON = "DETENTIEVONNIS:GEVANGENISSTRAF"
YOUTH = "DETENTIEVONNIS:JEUGDDETENTIE"


@pytest.fixture
def prices(tmp_path):
    return table(tmp_path, [GW_2022, GW_2023, JJI, MK])


@pytest.fixture
def idx(tmp_path):
    # Price year 2023; a 2022 price is worth 110/100 of it in euros of 2023.
    return index(tmp_path, {2022: 100, 2023: 110})


def ledger_of(result):
    """(person, month, domain) -> cost, rounded to the cent."""
    g = result.ledger.groupby(["person", "month", "domain"], observed=True)["cost"].sum()
    return {k: round(v, 2) for k, v in g.items() if v}


def total_matches(result):
    assert abs(result.ledger["cost"].sum() - result.record_cost.sum()) < 0.01


# 45 days from 20 December 2022: 20..31 Dec (12 days), all of January (31), 1..2 February (2).
SENTENCE_45 = (0, "JUSTITIEZAKENBUS", PRISON, "2022-12-20", "2023-02-02", 45, np.nan, "", "")
DECISION = (0, "JUSTITIEZAKENBUS", "ZM:MK", "2022-12-20", "2022-12-20", 1, np.nan, "", "")


def test_a_sentence_of_45_days_is_priced_day_by_day_from_the_decision_date(prices, idx):
    r = price_records(records([DECISION, SENTENCE_45]), prices, idx, 2023, detention_spells=False)
    # Dec 2022: 12 x 250 x 110/100 = 3,300; Jan 2023: 31 x 270 = 8,370; Feb 2023: 2 x 270 = 540.
    assert ledger_of(r) == {(0, m("2022-12-01"), "om_rechtspraak"): 7500.0, (0, m("2022-12-01"), "detentie"): 3300.0,
                            (0, m("2023-01-01"), "detentie"): 8370.0, (0, m("2023-02-01"), "detentie"): 540.0}
    assert r.record_cost.tolist() == [7500.0, 12210.0]
    assert r.ledger_cost_by_domain["detentie"] == pytest.approx(12210.0)
    total_matches(r)
    assert r.notes[0].startswith("detention priced from 1 sentences' days (no GEDETINEERDENTAB): 45 days sentenced, "
                                 "45 of them in the study period")
    assert SENTENCED_DAYS_CAVEAT in r.notes and "art. 15 Wetboek van Strafrecht" in SENTENCED_DAYS_CAVEAT
    assert r.warnings == []
    sentence_row = r.report[r.report["code"] == PRISON]
    assert sentence_row["priced_by"].tolist() == [PRICED_BY_SENTENCE] and sentence_row["cost"].sum() == 12210.0


def test_with_detention_spells_the_spell_prices_and_the_sentence_costs_nothing(prices, idx):
    spell = (0, "GEDETINEERDENTAB", "GW", "2023-01-10", "2023-01-19", 1, np.nan, "", "")
    rows = [DECISION, SENTENCE_45, spell]
    for said in (True, None):       # said by the price step, or found among the records
        r = price_records(records(rows), prices, idx, 2023, detention_spells=said)
        assert r.record_cost.tolist() == [7500.0, 0.0, 2700.0]      # 10 days x 270
        assert ledger_of(r) == {(0, m("2022-12-01"), "om_rechtspraak"): 7500.0,
                                (0, m("2023-01-01"), "detentie"): 2700.0}
        assert r.notes == [] and r.warnings == []
        assert next(v for k, v in r.excluded.items() if "DETENTIEVONNIS" in k) == 1
        total_matches(r)


def test_a_youth_detention_sentence_costs_the_jji_day_price(prices, idx):
    youth = (1, "JUSTITIEZAKENBUS", YOUTH, "2023-03-01", "2023-03-10", 10, np.nan, "", "")
    r = price_records(records([SENTENCE_45, youth]), prices, idx, 2023, detention_spells=False)
    assert r.record_cost.tolist() == [12210.0, 5000.0]              # 10 days x 500
    assert ledger_of(r)[(1, m("2023-03-01"), "detentie")] == 5000.0
    total_matches(r)


def test_a_sentence_without_days_stays_unpriced_with_a_warning(prices, idx):
    no_days = (1, "JUSTITIEZAKENBUS", PRISON, "2023-05-01", "2023-05-01", 0, np.nan, "", "")
    r = price_records(records([no_days]), prices, idx, 2023, detention_spells=False)
    assert r.record_cost.tolist() == [0.0] and r.notes == []
    assert len(r.warnings) == 1 and "without sentenced days (DAGENDETENTIE)" in r.warnings[0]
    assert "detentie is not measured, not zero" in r.warnings[0]
    assert next(v for k, v in r.excluded.items() if "without sentenced days" in k) == 1
    # Beside a sentence with days: that one is priced, and the warning says detentie is too low.
    r = price_records(records([SENTENCE_45, no_days]), prices, idx, 2023, detention_spells=False)
    assert r.record_cost.tolist() == [12210.0, 0.0]
    assert "too low" in r.warnings[0]
    total_matches(r)


def test_a_table_may_price_the_sentenced_days_itself(tmp_path, idx):
    own = table(tmp_path, [GW_2022, GW_2023,
                           f"detentie,JUSTITIEZAKENBUS,{PRISON},day,100,2023,2010-01-01,2099-12-31,test"])
    assert len(sentence_price_rows(own)) == 2 + 1 + 0 + 0        # GW kept, its own row kept, no JJI to copy
    r = price_records(records([SENTENCE_45]), own, idx, 2023, detention_spells=False)
    assert r.record_cost.tolist() == [4500.0]                       # 45 days x 100


def test_the_case_file_gives_each_sentence_its_days_clipped_to_the_period(tmp_path, persons):  # noqa: F811
    f = source(tmp_path, "JUSTITIEZAKENBUS", "JUSTITIEZAKEN2023BUSV1.csv", 2023, [
        ["RINPERSOONS", "RINPERSOON", "DATUMBESLISSING", "INSTANTIE", "BESLISSING", "RECHTER", "SANCTIE",
         "DAGENDETENTIE", "URENTAAKSTRAF", "MAANDENTOEZICHT"],
        ["R", "000000001", "20221220", "ZM", "VEROORDELING", "MK", "GEVANGENISSTRAF", 45, 0, 0],
        ["R", "000000002", "20181201", "ZM", "VEROORDELING", "PR", "GEVANGENISSTRAF", 60, 0, 0],  # into 2019
        ["R", "000000003", "20231220", "ZM", "VEROORDELING", "KR", "JEUGDDETENTIE", 30, 0, 0],    # past the end
        ["R", "000000003", "20210301", "ZM", "VEROORDELING", "PR", "GEVANGENISSTRAF", "", 0, 0],  # days unknown
        ["R", "000000002", "20180101", "ZM", "VEROORDELING", "PR", "GEVANGENISSTRAF", 30, 0, 0],  # all before
    ])
    account = SourceAccount("JUSTITIEZAKENBUS", files=1)
    recs, rejected = run(case_records, "JUSTITIEZAKENBUS", [f], persons, account)
    sentences = recs[recs["code"].str.startswith("DETENTIEVONNIS")]
    assert sentences[["person", "code", "start", "end", "units"]].values.tolist() == [
        [0, PRISON, d("2022-12-20"), d("2023-02-02"), 45.0],
        [1, PRISON, d("2019-01-01"), d("2019-01-29"), 60.0],      # 1 Dec 2018 + 59 days, from the period's start
        [2, YOUTH, d("2023-12-20"), d("2023-12-31"), 30.0],       # to 18 Jan 2024, clipped at the period's end
        [2, PRISON, d("2021-03-01"), d("2021-03-01"), 0.0],       # no days: the decision day, never priced
    ]
    # The sentence of before the period counts for its days inside it (no decision record: decided before).
    assert recs[recs["person"] == 1]["code"].tolist() == [PRISON]
    assert rejected["reason"].tolist() == ["outside the study period"]
    assert (account.rows_read, account.rows_used, account.rows_clipped) == (5, 4, 2)


def _config(tmp_path, names, days_column=True):
    from lib.config import load_config
    folder = tmp_path / "x"
    folder.mkdir(parents=True)
    header = ("RINPERSOONS,RINPERSOON,DATUMBESLISSING,INSTANTIE,BESLISSING,RECHTER,SANCTIE,URENTAAKSTRAF,"
              "MAANDENTOEZICHT" + (",DAGENDETENTIE" if days_column else ""))
    (folder / "JUSTITIEZAKEN2019BUSV1.csv").write_text(header + "\n", encoding="utf-8")
    path = tmp_path / "config.toml"
    path.write_text('[study]\narea = ["0344"]\npeildatum = 2019-12-31\nyears = [2019]\n\n'
                    '[prices]\nprice_year = 2019\n\n[sources.cbs]\n'
                    + "".join(f'{name} = "x/{name}*.csv"\n' for name in names)
                    + 'JUSTITIEZAKENBUS = "x/JUSTITIEZAKEN*.csv"\n', encoding="utf-8")
    return load_config(path)


def test_detention_is_measured_from_a_case_file_with_days_and_said_in_every_table(tmp_path):
    from lib.config import load_config
    from lib.layouts import DATED_JUSTICE_LAYOUTS
    from lib.steps.households import detention_note, run_domains
    registers = ["GBAPERSOONTAB", "GBAHUISHOUDENSBUS", "GBAADRESOBJECTBUS", "VSLGWBTAB"]
    config = _config(tmp_path, registers)
    measured, not_measured = run_domains(config)
    assert "detentie" in measured and "detentie" not in not_measured
    assert "bovengrens" in detention_note(config) and "art. 27 Wetboek van Strafrecht" in detention_note(config)
    # Without the column: not measured, no note.
    config = _config(tmp_path / "b", registers, days_column=False)
    assert "detentie" in run_domains(config)[1] and detention_note(config) == ""
    # With GEDETINEERDENTAB in its built-in yearly person form (no days in custody): measured, and the
    # note states the assumed days per detainee-year and that covering sentences' days replace them.
    config = _config(tmp_path / "c", registers + ["GEDETINEERDENTAB"])
    note = detention_note(config)
    assert "detentie" in run_domains(config)[0]
    assert "elk gedetineerde-jaar telt als [sources] detention_days_per_year = 123 dagen" in note
    assert "in plaats van de aanname (nooit beide)" in note
    # With GEDETINEERDENTAB read as dated spells (their own days), the spells measure it: no note.
    layouts = tmp_path / "c" / "layouts.toml"
    layouts.write_text(DATED_JUSTICE_LAYOUTS.read_text(encoding="utf-8"), encoding="utf-8")
    text = config.path.read_text(encoding="utf-8").replace("[sources.cbs]", '[sources]\nlayouts = "layouts.toml"\n\n'
                                                                          "[sources.cbs]")
    config.path.write_text(text, encoding="utf-8")
    config = load_config(config.path)
    assert "detentie" in run_domains(config)[0] and detention_note(config) == ""


def test_the_report_states_the_caveat_once_from_a_table_note():
    import pandas as pd
    from lib.report import ExportedTable, headline_findings
    note = "Let op: detentie is geschat uit de opgelegde dagen ... bovengrens ..."
    tables = [ExportedTable(name, pd.DataFrame(), {"Detentie": note}, f"Detentie: {note}\n", {}, "x")
              for name in ("a", "b")]
    assert headline_findings(tables).count(note) == 1
