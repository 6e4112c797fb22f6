"""Where the households live: wijk and buurt codes from VSLGWBTAB and the BRP extract, the
classification of small areas, the area tables against an independent count, and the report section.

A register worked out by hand (study area Utrecht, 0344; peildatum 31 December 2023):

    H1  couple, persons 1 (reference) and 2, at O1 (wijk 034401, buurt 03440101) until 30 June 2023,
        then at O2 (wijk 034402, buurt 03440203): on the peildatum in 034402.
    H2  person 3 (reference) at O3 (034401, 03440102); person 4, a member, still registered at O2
        (034402): the household lives where its reference person lives, 034401.
    H3  person 5 alone at O4, an address without wijk or buurt code: wijk "" (unknown).
    H4  person 6 alone at O5 in Rotterdam (0599, wijk 059901): outside the study area.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from disclosure_control import DisclosureRules, SafeWriter
from lib.areas import UNKNOWN_AREA, area_classification, merge_small
from lib.baseline import area_levels, area_tables
from lib.config import load_config
from lib.dates import day_number
from lib.households import brp_household_model, cbs_household_model, read_brp_extract
from lib.pipeline import run_steps, step_folder
from lib.report import build_report, render_markdown
from lib.sources import SourceFile
from lib.synthetic.neighbourhoods import area_codes
from lib.synthetic.spec import GeneratorSpec
from lib.workfiles import read_table
from tests.conftest import SMALL_SPEC

PEIL = day_number("2023-12-31")
PERIOD = (day_number("2019-01-01"), PEIL)
PERSONS = pd.DataFrame({"person": np.arange(6, dtype=np.int32), "key": np.arange(1, 7, dtype=np.int64)})


def rin(k: int) -> str:
    return f"{k:09d}"


@pytest.fixture
def register(tmp_path):
    hh = [(1, "20150101", "20231231", "H1", "2", "3", "1"), (2, "20150101", "20231231", "H1", "2", "3", "0"),
          (3, "20150101", "20231231", "H2", "2", "3", "1"), (4, "20150101", "20231231", "H2", "2", "3", "0"),
          (5, "20150101", "20231231", "H3", "1", "2", "1"), (6, "20150101", "20231231", "H4", "1", "2", "1")]
    pd.DataFrame([("R", rin(p), s, e, n.rjust(12, "0"), t, pl, r) for p, s, e, n, t, pl, r in hh],
                 columns=["RINPERSOONS", "RINPERSOON", "DATUMAANVANGHH", "DATUMEINDEHH", "HUISHOUDNR", "TYPHH",
                          "PLHH", "REFPERSOONHH"]).to_csv(tmp_path / "hh.csv", index=False)
    addresses = [(1, "O1", "20150101", "20230630"), (1, "O2", "20230701", "20501231"),
                 (2, "O1", "20150101", "20230630"), (2, "O2", "20230701", "20501231"),
                 (3, "O3", "20150101", "20501231"), (4, "O2", "20150101", "20501231"),
                 (5, "O4", "20150101", "20501231"), (6, "O5", "20150101", "20501231")]
    pd.DataFrame([("R", rin(p), s, e, "A", o) for p, o, s, e in addresses],
                 columns=["RINPERSOONS", "RINPERSOON", "GBADATUMAANVANGADRESHOUDING", "GBADATUMEINDEADRESHOUDING",
                          "SOORTOBJECTNUMMER", "RINOBJECTNUMMER"]).to_csv(tmp_path / "adres.csv", index=False)
    objects = {"O1": ("0344", "034401", "03440101"), "O2": ("0344", "034402", "03440203"),
               "O3": ("0344", "034401", "03440102"), "O4": ("0344", "", ""), "O5": ("0599", "059901", "05990101")}
    years = range(2019, 2024)
    rows = [["A", o] + [g] * 5 + [w] * 5 + [b] * 5 for o, (g, w, b) in objects.items()]
    pd.DataFrame(rows, columns=["SOORTOBJECTNUMMER", "RINOBJECTNUMMER"] + [f"gem{y}" for y in years]
                 + [f"wc{y}" for y in years] + [f"bc{y}" for y in years]).to_csv(tmp_path / "vsl.csv", index=False)
    return [SourceFile("GBAHUISHOUDENSBUS", tmp_path / "hh.csv", 2023, 1, "csv"),
            SourceFile("GBAADRESOBJECTBUS", tmp_path / "adres.csv", 2023, 1, "csv"),
            SourceFile("VSLGWBTAB", tmp_path / "vsl.csv", 2023, 1, "csv")]


def test_a_household_lives_in_the_wijk_of_its_reference_persons_address_on_the_peildatum(register):
    m = cbs_household_model(register, PERSONS, PEIL, PERIOD, ["0344"], False, PEIL)
    h = m.households.set_index("huishoudnr")
    got = {k.lstrip("0"): (h.loc[k, "wijk"], h.loc[k, "buurt"], bool(h.loc[k, "in_area"])) for k in h.index}
    assert got == {"H1": ("034402", "03440203", True), "H2": ("034401", "03440102", True), "H3": ("", "", True),
                   "H4": ("059901", "05990101", False)}
    # Codes, not strings per household (8.2 million households nationally).
    assert isinstance(h["wijk"].dtype, pd.CategoricalDtype)
    assert any("wijk code (wc2023) for 2 and buurt code (bc2023) for 2 of 3 households" in n for n in m.notes)


def test_with_monthly_attribution_a_spell_lives_where_it_entered_the_period(register):
    m = cbs_household_model(register, PERSONS, PEIL, PERIOD, ["0344"], False, PEIL)
    spells = m.household_spells.set_index("huishoudnr")
    # H1 started before 2019 at O1: its first day in the period (1 January 2019) was in 034401.
    assert spells.loc["0000000000H1", "wijk"] == "034401"
    assert spells.loc["0000000000H4", "municipality"] == "0599"


def test_a_vslgwbtab_without_wijk_codes_gives_no_wijk_columns(register, tmp_path):
    vsl = pd.read_csv(tmp_path / "vsl.csv", dtype=str)
    vsl[[c for c in vsl.columns if not c.startswith(("wc", "bc"))]].to_csv(tmp_path / "vsl.csv", index=False)
    m = cbs_household_model(register, PERSONS, PEIL, PERIOD, ["0344"], False, PEIL)
    assert "wijk" not in m.households and "wijk" not in m.area_spells
    assert "VSLGWBTAB has no wijk codes (wc2023): no tables by wijk or buurt" in m.notes
    levels, log = area_levels(m.households, ["0344"], "wijk")
    assert levels == [] and "no tables by wijk or buurt" in log[0]


def test_the_brp_extract_gives_the_wijk_of_the_location_when_it_has_a_wijk_column(tmp_path):
    path = tmp_path / "brp.csv"
    path.write_text("BSN;Locatiecode;Gezinsrelatie;Wijkcode;Buurtcode\n"
                    "1;L1;P;034401;03440101\n2;L1;P;034401;03440101\n3;L2;A;;\n4;L3;O;034402;03440201\n"
                    "5;L3;K;034402;03440201\n", encoding="utf-8")
    brp = read_brp_extract(path)
    persons = pd.DataFrame({"person": np.arange(5, dtype=np.int32), "key": np.arange(1, 6, dtype=np.int64)})
    m = brp_household_model(brp, persons, "0344", False)
    h = m.households.set_index("locatiecode")
    assert h["wijk"].astype(str).to_dict() == {"L1": "034401", "L2": "", "L3": "034402"}
    assert h["buurt"].astype(str).to_dict() == {"L1": "03440101", "L2": "", "L3": "03440201"}
    assert "BRP extract: wijk codes of 2 of 3 households (column Wijk)" in m.notes
    # Without the column: no wijk, and the log says so.
    path.write_text("BSN;Locatiecode;Gezinsrelatie\n1;L1;A\n", encoding="utf-8")
    m = brp_household_model(read_brp_extract(path), persons, "0344", False)
    assert "wijk" not in m.households
    assert "BRP extract: no column Wijk or Wijkcode: no tables by wijk or buurt" in m.notes


def test_small_wijken_and_buurten_are_merged_into_a_rest_category():
    wijk = np.array(["A01"] * 5 + ["A02"] * 2 + ["A03"] * 1 + [""] * 2, dtype=object)
    merged = merge_small(wijk, np.array(["A"] * 10, dtype=object), 3, "overige wijken in gemeente {}")
    assert merged.tolist() == ["A01"] * 5 + ["overige wijken in gemeente A"] * 3 + [UNKNOWN_AREA] * 2
    households = pd.DataFrame({"municipality": ["0344"] * 6,
                               "wijk": ["034401"] * 5 + ["034402"],
                               "buurt": ["03440101"] * 3 + ["03440102"] * 2 + ["03440201"]})
    buurt, notes = area_classification(households, "buurt", 3)
    assert buurt.tolist() == ["03440101"] * 3 + ["overige buurten in wijk 034401"] * 2 + \
        ["overige buurten in wijk 034402"]
    assert "minder dan 3 huishoudens" in notes[1]


def test_generated_codes_nest_in_their_municipality_and_do_not_depend_on_the_chunks():
    spec = GeneratorSpec(households=1_000, seed=5)
    obj = np.arange(40_000)
    muni = obj % len(spec.municipalities)
    wijk, buurt = area_codes(spec, obj, muni, 2023)
    codes = np.array([m.merged_into or m.code for m in spec.municipalities], dtype=object)[muni]
    assert all(w.startswith(c) and len(w) == 6 and b.startswith(w) and len(b) == 8
               for w, b, c in zip(wijk[:2000], buurt[:2000], codes[:2000]))
    per_municipality = pd.Series(wijk).groupby(muni).nunique()
    assert per_municipality.between(5, 30).all() and per_municipality.iloc[0] > per_municipality.iloc[-1]
    # A chunk of the objects gets the same codes as the whole (the hash of the object number decides).
    part_w, part_b = area_codes(spec, obj[1234:1300], muni[1234:1300], 2023)
    assert part_w.tolist() == wijk[1234:1300].tolist() and part_b.tolist() == buurt[1234:1300].tolist()
    # Before its merger Appingedam (0003) has codes of its own; from 2021 those of Eemsdelta (1979).
    appingedam = muni == [m.code for m in spec.municipalities].index("0003")
    assert all(w.startswith("0003") for w in area_codes(spec, obj[appingedam], muni[appingedam], 2020)[0])


def test_area_tables_by_hand():
    # Six households of two wijken: (wijk, method's domains with costs, five-year cost).
    h = pd.DataFrame({"household": np.arange(6), "municipality": ["0344"] * 6,
                      "wijk": ["034401", "034401", "034401", "034402", "034402", "034402"],
                      "n_domains": [0, 1, 3, 0, 2, 4], "cost_total": [0.0, 100.0, 900.0, 0.0, 50.0, 2000.0]})
    settings = {"top_shares": [0.5], "lorenz_cuts": [], "top_group_share": 0.5, "area_top_share": 0.5,
                "area_min_households": 1}
    selected = np.array([False, False, True, False, False, True])
    tables, _ = area_tables(h, ["wijk"], settings, 1, {"population": "p"}, selected=selected,
                            selection_metadata={"population": "p, geselecteerd", "notes": []})
    by_name = {t.name: t for t in tables}
    reach = by_name["wijk_bereik"].data
    assert reach.groupby(["wijk", "bereik"], observed=True).size().to_dict() == {
        ("034401", "geen kosten"): 1, ("034401", "met kosten"): 2, ("034402", "geen kosten"): 1,
        ("034402", "met kosten"): 2}
    assert by_name["wijk_drie_domeinen"].data["household"].tolist() == [2, 5]
    # The top 50% of six households: the three most expensive (2000, 900, 100): two live in 034401.
    ranked = by_name["wijk_concentratie"].data
    top = ranked[ranked["groep"] == "a. duurste 50%"]
    assert top.groupby("wijk", observed=True).size().to_dict() == {"034401": 2, "034402": 1}
    costs = by_name["wijk_kosten"]
    assert costs.kwargs["statistic"] == "sum"
    assert costs.data.groupby("wijk", observed=True)["kosten"].sum().to_dict() == {"034401": 1000.0, "034402": 2050.0}
    assert by_name["wijk_selectie"].data["household"].tolist() == [2, 5]
    assert by_name["wijk_selectie"].kwargs["metadata"]["population"] == "p, geselecteerd"
    # A study area of two municipalities: tables by gemeente too, before those by wijk.
    h["municipality"] = ["0344", "0344", "0599", "0599", "0599", "0599"]
    levels, _ = area_levels(h, ["0344", "0599"], "wijk")
    assert levels == ["gemeente", "wijk"]
    tables, _ = area_tables(h, levels, settings, 1, {"population": "p"})
    gemeente = {t.name: t for t in tables}["gemeente_kosten"].data
    assert gemeente.groupby("gemeente", observed=True)["kosten"].sum().to_dict() == {"0344": 100.0, "0599": 2950.0}


@pytest.fixture(scope="module")
def area_run(small_dataset):
    """The small synthetic run up to the baseline, with wijken of at least 20 households as themselves."""
    text = (small_dataset / "config.toml").read_text(encoding="utf-8")
    text = text.replace('work_dir = "work"', 'work_dir = "work_areas"').replace('export_dir = "export"',
                                                                                'export_dir = "export_areas"')
    text += "\n[baseline]\narea_level = \"wijk\"\narea_min_households = 20\n"
    path = small_dataset / "config_areas.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    run_steps(config, ["inventory", "read_sources", "price", "households", "cube", "baseline"])
    return config


def independent_wijken(small_dataset) -> pd.Series:
    """Households of the study area per wijk, from the raw CSV files with pandas alone: the wijk (wc of the
    peildatum's year) of the reference person's address on the peildatum, institutions left out."""
    peil, year = f"{SMALL_SPEC.last_year}1231", SMALL_SPEC.last_year
    cbs = small_dataset / "cbs"
    hh = pd.read_csv(next((cbs / "Bevolking" / "GBAHUISHOUDENSBUS").glob("*.csv")), dtype=str)
    hh = hh[(hh["DATUMAANVANGHH"] <= peil) & (hh["DATUMEINDEHH"] >= peil)]
    addr = pd.read_csv(next((cbs / "Bevolking" / "GBAADRESOBJECTBUS").glob("*.csv")), dtype=str)
    addr = addr[(addr["GBADATUMAANVANGADRESHOUDING"] <= peil) & (addr["GBADATUMEINDEADRESHOUDING"] >= peil)]
    vsl = pd.read_csv(next((cbs / "BouwenWonen" / "VSLGWBTAB").glob("*.csv")), dtype=str)
    ref = hh[hh["REFPERSOONHH"] == "1"].merge(addr, on="RINPERSOON").merge(vsl, on="RINOBJECTNUMMER")
    ref = ref[(ref[f"gem{year}"] == SMALL_SPEC.municipal_route_code) & (ref["TYPHH"] != "8")]
    return ref.groupby(f"wc{year}")["HUISHOUDNR"].nunique()


def test_the_wijk_tables_count_the_households_of_each_wijk(area_run, small_dataset):
    expected = independent_wijken(small_dataset)
    requests = step_folder(area_run, "baseline") / "tables"
    counted = read_table(requests / "wijk_bereik.data").groupby("wijk", observed=True)["household"].nunique()
    # Wijken of at least 20 households as themselves; the others together in the rest category.
    kept = expected[expected >= 20]
    assert {w: int(counted[w]) for w in kept.index} == kept.to_dict()
    rest = "overige wijken in gemeente " + SMALL_SPEC.municipal_route_code
    assert int(counted[rest]) == expected[expected < 20].sum() and int(counted.sum()) == expected.sum()
    assert {"wijk_drie_domeinen", "wijk_kosten", "wijk_concentratie", "wijk_selectie"} <= {
        p.stem for p in requests.glob("wijk_*.json")}


def test_the_report_shows_the_published_area_figures(tmp_path):
    # 300 households in three wijken (100 each), costs in a pattern worked out by hand: in wijk k
    # (k = 0, 1, 2) the households i = 0..99 have 0 costs for i < 60 and 1,000 x (k + 1) for i >= 60.
    k = np.repeat(np.arange(3), 100)
    i = np.tile(np.arange(100), 3)
    cost = np.where(i >= 60, 1000.0 * (k + 1), 0.0)
    h = pd.DataFrame({"household": np.arange(300), "municipality": "0344",
                      "wijk": np.array(["034401", "034402", "034403"], dtype=object)[k],
                      "n_domains": np.where(i >= 60, np.where(i >= 85, 3, 1), 0), "cost_total": cost})
    settings = {"top_shares": [0.1], "lorenz_cuts": [], "top_group_share": 0.1, "area_top_share": 0.1,
                "area_min_households": 50}
    tables, _ = area_tables(h, ["wijk"], settings, 10, {"population": "huishoudens van de test"})
    export = tmp_path / "export"
    with SafeWriter(export, tmp_path / "evidence", rules=DisclosureRules()).batch() as batch:
        for t in tables:
            getattr(batch, t.method)(t.data, name=t.name, **t.kwargs)
    text = render_markdown(build_report(export))
    section = text.split("## Waar wonen de huishoudens")[1].split("## Tabellen")[0]
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in section.splitlines() if line.startswith("| 0344")}
    # Wijk 034402: 100 households, 40 with costs, 15 in 3+ domains, costs 40 x 2,000 = 80,000 (mean 800),
    # share 80,000 / (40 x 1,000 + 40 x 2,000 + 40 x 3,000) = 1/3.
    assert rows["034402"][:6] == ["100", "40", "15", "EUR 800", "EUR 80.000", "33,3%"]
    assert rows["034403"][:6] == ["100", "40", "15", "EUR 1.200", "EUR 120.000", "50,0%"]
    # The top 10% (30 households) all live in 034403: the other wijken's cells are zero cells (suppressed),
    # and 034403's 30 would follow from them and the total, so it is suppressed too.
    assert [rows[w][6] for w in ("034401", "034402", "034403")] == ["x", "x", "x"]
    total = next(line for line in section.splitlines() if line.startswith("| Totaal"))
    assert [c.strip() for c in total.split("|")[2:-1]] == ["300", "120", "45", "EUR 800", "EUR 240.000", "100,0%", "30"]
