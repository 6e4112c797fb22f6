"""The baseline: every published figure (before protection) against an independent computation.

The independent side reads the raw synthetic CSV files with pandas only (household
register, addresses, municipalities) and the truth folder's true costs; it shares no code
with the pipeline. The pipeline side is the safe writer's evidence: the true value of
every cell before suppression.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from lib.config import load_config
from lib.pipeline import run_steps, step_folder
from lib.synthetic.truth import load_cpi
from lib.workfiles import read_table
from tests.conftest import SMALL_SPEC as SPEC

PEIL = f"{SPEC.last_year}1231"
# The synthetic CBS route reads every register; the domains they deliver (the default price
# table's domains of the registers, and the other benefits of UITKERINGBEDRAGTAB). Debt help
# and other care come only from municipal appendix-2 files: not measured in this run.
CBS_ROUTE_DOMAINS = ["bijstand", "detentie", "halt", "jeugdbescherming", "jeugdhulp", "jeugdreclassering",
                     "om_rechtspraak", "overige_uitkering", "politie", "sancties", "wmo"]
NOT_MEASURED = ["overige_zorg", "schuldhulp"]
# The method's domains, written out here from the method (paragraph 1.1: the safety domain "politie en
# justitie" is one domain; appendix 2's main groups Jeugd and Werk & Inkomen), not from lib.domains:
# reach, the number of domains, combinations and correlations count these; costs stay by fine domain.
METHOD_DOMAIN = {"politie": "justitie", "om_rechtspraak": "justitie", "sancties": "justitie", "detentie": "justitie",
                 "halt": "justitie", "jeugdreclassering": "justitie", "jeugdhulp": "jeugd", "jeugdbescherming": "jeugd",
                 "bijstand": "werk_en_inkomen", "overige_uitkering": "werk_en_inkomen", "wmo": "wmo"}
COUNTED_DOMAINS = ["jeugd", "justitie", "werk_en_inkomen", "wmo"]
HOUSEHOLD_TYPES = ["eenpersoons", "paar zonder kinderen", "paar met kinderen", "eenouder", "overig"]
TYPE_OF_TYPHH = {"1": "eenpersoons", "2": "paar zonder kinderen", "3": "paar zonder kinderen", "4": "paar met kinderen",
                 "5": "paar met kinderen", "6": "eenouder", "7": "overig"}
# Positions in the household (PLHH of GBAHUISHOUDENSBUS), as published.
POSITION_OF_PLHH = {"1": "thuiswonend kind", "2": "alleenstaande", "3": "partner", "4": "partner", "5": "partner",
                    "6": "partner", "7": "ouder in eenoudergezin", "8": "overig lid", "9": "overig lid"}
POSITIONS = ["alleenstaande", "ouder in eenoudergezin", "overig lid", "partner", "thuiswonend kind"]


@pytest.fixture(scope="module")
def run(small_dataset):
    config = load_config(small_dataset / "config.toml")
    run_steps(config)
    return config


def evidence(config, table: str) -> pd.DataFrame:
    return pd.read_csv(config.work_dir / "evidence" / f"{table}.cells.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def truth_households(small_dataset) -> pd.DataFrame:
    """Households of the study area at the peildatum with their true five-year cost per domain and year."""
    cbs = small_dataset / "cbs" / "Bevolking"
    hh = pd.read_csv(next((cbs / "GBAHUISHOUDENSBUS").glob("*.csv")), dtype=str)
    hh = hh[(hh["DATUMAANVANGHH"] <= PEIL) & (hh["DATUMEINDEHH"] >= PEIL)]
    addr = pd.read_csv(next((cbs / "GBAADRESOBJECTBUS").glob("*.csv")), dtype=str)
    addr = addr[(addr["GBADATUMAANVANGADRESHOUDING"] <= PEIL) & (addr["GBADATUMEINDEADRESHOUDING"] >= PEIL)]
    gem = pd.read_csv(next((small_dataset / "cbs" / "BouwenWonen" / "VSLGWBTAB").glob("*.csv")), dtype=str)
    addr = addr.merge(gem[["RINOBJECTNUMMER", f"gem{SPEC.last_year}"]], on="RINOBJECTNUMMER")
    ref = hh[hh["REFPERSOONHH"] == "1"].merge(addr[["RINPERSOON", f"gem{SPEC.last_year}"]], on="RINPERSOON")
    in_area = set(ref.loc[ref[f"gem{SPEC.last_year}"] == SPEC.municipal_route_code, "HUISHOUDNR"])
    members = hh[hh["HUISHOUDNR"].isin(in_area) & (hh["TYPHH"] != "8")]
    costs = pd.read_csv(small_dataset / "truth" / "costs_person_year.csv", dtype={"rinpersoon": str})
    costs = costs[costs["source"] != "kredietbank"]
    cpi = load_cpi()
    costs["cost"] = costs["cost_nominal"] * cpi[SPEC.last_year] / cpi.reindex(costs["year"]).to_numpy()
    costs = costs.merge(members[["RINPERSOON", "HUISHOUDNR"]], left_on="rinpersoon", right_on="RINPERSOON")
    households = members.drop_duplicates("HUISHOUDNR")[["HUISHOUDNR", "TYPHH", "AANTALKINDHH"]]
    cube = costs.groupby(["HUISHOUDNR", "domain", "year"], as_index=False)["cost"].sum()
    return households, cube.assign(method_domain=cube["domain"].map(METHOD_DOMAIN))


def true_n(cells: pd.DataFrame, label_column: str) -> dict:
    return dict(zip(cells[label_column], cells["true_n_households"].astype(float).astype(int)))


def test_reach_by_number_of_domains_by_domain_and_by_year(run, truth_households):
    households, cube = truth_households
    with_cost = cube[cube["cost"] > 0]
    n_domains = with_cost.groupby("HUISHOUDNR")["method_domain"].nunique().reindex(households["HUISHOUDNR"],
                                                                                  fill_value=0)
    labels = ["0", "1", "2", "3", "4+"]
    expected = n_domains.clip(upper=4).map(dict(enumerate(labels))).value_counts().reindex(labels, fill_value=0).to_dict()
    expected["Totaal"] = len(households)
    cells = evidence(run, "bereik_aantal_domeinen")
    assert true_n(cells[cells["status"] != "hidden"], "aantal_domeinen") == expected
    # The exact domain profiles behind those rows (hidden: never published, in the protection problem
    # with reach per domain): every combination of the counted domains, with its households.
    profile = with_cost.groupby("HUISHOUDNR")["method_domain"].agg(lambda d: " + ".join(sorted(set(d))))
    profile = profile.reindex(households["HUISHOUDNR"], fill_value="geen")
    expected_profiles = {f"profiel: {' + '.join(c) or 'geen'}": 0 for k in range(len(COUNTED_DOMAINS) + 1)
                         for c in itertools.combinations(sorted(COUNTED_DOMAINS), k)}
    expected_profiles |= {f"profiel: {p}": n for p, n in profile.value_counts().items()}
    assert true_n(cells[cells["status"] == "hidden"], "aantal_domeinen") == expected_profiles
    # Every domain with a source is in the table, also one without households (a zero cell).
    per_domain = with_cost.groupby("method_domain")["HUISHOUDNR"].nunique().reindex(COUNTED_DOMAINS,
                                                                                   fill_value=0).to_dict()
    per_domain["Totaal"] = with_cost["HUISHOUDNR"].nunique()
    assert true_n(evidence(run, "bereik_per_domein"), "domein") == per_domain
    per_year = {str(k): v for k, v in with_cost.groupby("year")["HUISHOUDNR"].nunique().items()}
    per_year["Totaal"] = with_cost["HUISHOUDNR"].nunique()
    assert true_n(evidence(run, "bereik_per_jaar"), "jaar") == per_year


def test_every_domain_with_a_source_every_year_and_every_household_type_is_published(run, truth_households):
    """No category is left out because it is empty (that would tell it is empty): an empty one
    is a zero cell, suppressed by the zero-cell rule; domains without a source are named."""
    households, cube = truth_households
    assert set(cube["domain"]) <= set(CBS_ROUTE_DOMAINS)
    with_cost = cube[cube["cost"] > 0]
    empty = sorted(set(CBS_ROUTE_DOMAINS) - set(with_cost["domain"]))
    assert empty, "the small data set should have a domain with a source but no household with costs"
    published = pd.read_csv(run.export_dir / "bereik_per_domein.csv", dtype=str)
    assert published["domein"].tolist() == ["Totaal"] + COUNTED_DOMAINS
    years = [str(y) for y in SPEC.years]
    for name in ("kosten_domein_jaar",):
        table = pd.read_csv(run.export_dir / f"{name}.csv", dtype=str)
        assert list(zip(table["domein"], table["jaar"])) == [(d, y) for d in ["Totaal"] + CBS_ROUTE_DOMAINS
                                                             for y in ["Totaal"] + years]
        cells = evidence(run, name)
        zero = cells["domein"].isin(empty)
        assert (cells.loc[zero, "true_n_households"].astype(float) == 0).all()
        assert (table.loc[zero.to_numpy(), ["n_households", "sum_kosten"]] == "x").all().all()
    assert pd.read_csv(run.export_dir / "bereik_per_jaar.csv", dtype=str)["jaar"].tolist() == ["Totaal"] + years
    n_years = pd.read_csv(run.export_dir / "kosten_structureel.csv", dtype=str)["jaren_met_kosten"].tolist()
    assert n_years == ["Totaal"] + [str(n) for n in range(1, len(SPEC.years) + 1)]
    counts = pd.read_csv(run.export_dir / "bereik_aantal_domeinen.csv", dtype=str)["aantal_domeinen"].tolist()
    assert counts == ["Totaal", "0", "1", "2", "3", "4+"]
    # Household types of the population (institutional households are excluded: no such row).
    kind = households["TYPHH"].map(TYPE_OF_TYPHH).value_counts().reindex(HOUSEHOLD_TYPES, fill_value=0)
    for name in ("huishoudens_naar_type", "kosten_huishoudtype"):
        table = pd.read_csv(run.export_dir / f"{name}.csv", dtype=str)
        assert table["huishoudtype"].tolist() == ["Totaal"] + HOUSEHOLD_TYPES
        assert true_n(evidence(run, name), "huishoudtype") == {"Totaal": len(households), **kind.to_dict()}
    # Households and persons by position: a table about households (every position of the code list).
    positions = pd.read_csv(run.export_dir / "personen_naar_positie.csv", dtype=str)
    assert positions.columns.tolist() == ["positie", "n_households", "mean_aantal_personen"]
    assert positions["positie"].tolist() == ["Totaal"] + POSITIONS
    # Every table says which domains the run measures and which of the method it does not.
    for name in ("bereik_per_domein", "kosten_domein_jaar", "selectie_domeinen", "samenhang_paren"):
        notes = (run.export_dir / f"{name}.notes.txt").read_text(encoding="utf-8")
        line = next(l for l in notes.splitlines() if l.startswith("Domeinen: "))
        assert ", ".join(CBS_ROUTE_DOMAINS) in line and ("niet nul): " + ", ".join(NOT_MEASURED) + ";") in line
        # ... and how it counts them.
        assert ("justitie = politie + om_rechtspraak + sancties + detentie + halt + jeugdreclassering" in line
                and "Kosten per domein naar de fijne domeinen" in line), line
    # Residence is decided on the peildatum only: nobody can have moved away, so no row "vertrokken".
    resident = pd.read_csv(run.export_dir / "kosten_woonachtig.csv", dtype=str)
    assert resident["woonachtig"].tolist() == ["Totaal", "nog woonachtig"]
    assert "Vertrokken huishoudens zijn niet gemeten" in (
        run.export_dir / "kosten_woonachtig.notes.txt").read_text(encoding="utf-8")


def test_households_and_persons_by_position_match_the_register(run, small_dataset, truth_households):
    """personen_naar_positie counts households (with a person in each position) and their persons (published
    as a mean per household): true values against the household register's positions (PLHH), counted here
    without the pipeline. It is protected together with the other household tables (one export-wide audit)."""
    import json

    households, _ = truth_households
    hh = pd.read_csv(next((small_dataset / "cbs" / "Bevolking" / "GBAHUISHOUDENSBUS").glob("*.csv")), dtype=str)
    hh = hh[(hh["DATUMAANVANGHH"] <= PEIL) & (hh["DATUMEINDEHH"] >= PEIL)
            & hh["HUISHOUDNR"].isin(set(households["HUISHOUDNR"]))]
    assert hh["RINPERSOON"].is_unique
    hh = hh.assign(positie=hh["PLHH"].map(POSITION_OF_PLHH))
    assert hh["positie"].notna().all()
    per_household = hh.groupby(["positie", "HUISHOUDNR"]).size()
    n_households = per_household.groupby(level="positie").size().reindex(POSITIONS, fill_value=0)
    persons = per_household.groupby(level="positie").sum().reindex(POSITIONS, fill_value=0)
    cells = evidence(run, "personen_naar_positie").set_index("positie")
    got_n = cells["true_n_households"].astype(float).astype(int)
    got_sum = cells["true_sum_aantal_personen"].astype(float)
    got_mean = cells["true_mean_aantal_personen"].astype(float)
    assert np.allclose(got_mean, got_sum / got_n)
    # Totaal: every household once (not once per position), and every person.
    assert got_n["Totaal"] == len(households) == hh["HUISHOUDNR"].nunique() < n_households.sum()
    assert got_sum["Totaal"] == len(hh)
    for p in POSITIONS:
        assert (got_n[p], got_sum[p]) == (n_households[p], persons[p]), p
    # The definitions the notes state: an alleenstaande per one-person household, one parent per
    # one-parent household, two partners per couple.
    kind = households["TYPHH"].map(TYPE_OF_TYPHH).value_counts()
    assert got_n["alleenstaande"] == got_sum["alleenstaande"] == kind["eenpersoons"]
    assert got_n["ouder in eenoudergezin"] == got_sum["ouder in eenoudergezin"] == kind["eenouder"]
    assert got_n["partner"] == got_sum["partner"] / 2 == kind["paar zonder kinderen"] + kind["paar met kinderen"]
    notes = (run.export_dir / "personen_naar_positie.notes.txt").read_text(encoding="utf-8")
    assert "Title: Huishoudens en personen naar positie in het huishouden" in notes
    assert "Unit: huishoudens" in notes and "twee partners" in notes and "Kind: magnitude table (mean)" in notes
    # Audited with the households' tables (so the household-type counts it implies are protected), and its
    # persons linked with the profiles' aantal_personen (same amounts per household: no warning).
    entry = json.loads((run.export_dir / "disclosure_manifest.json").read_text(encoding="utf-8"))["tables"][
        "personen_naar_positie"]
    assert entry["population_universe"] == "households"
    assert {"huishoudens_naar_type", "kosten_huishoudtype", "samenhang_clusters"} <= set(entry["same_population"])
    for name in ("personen_naar_positie", "samenhang_clusters", "samenhang_klassen"):
        proof = json.loads((run.work_dir / "evidence" / f"{name}.evidence.json").read_text(encoding="utf-8"))
        assert not [w for w in proof.get("warnings") or [] if "aantal_personen" in str(w)], name
    audit = json.loads((run.work_dir / "evidence" / "personen_naar_positie.evidence.json").read_text(
        encoding="utf-8"))["export_audit"]
    assert any(n.startswith("sum:aantal_personen") for n in audit["notes"])


def test_concentration_matches_the_truth(run, truth_households):
    households, cube = truth_households
    total = cube.groupby("HUISHOUDNR")["cost"].sum().reindex(households["HUISHOUDNR"], fill_value=0.0)
    ordered = np.sort(total.to_numpy())[::-1]
    cells = evidence(run, "concentratie_top").set_index("segment")
    published = [share for share in run["baseline"]["top_shares"] if f"top {share * 100:g}%" in cells.index]
    assert published, "no top group published"
    for share in published:
        k = int(np.ceil(share * ordered.size - 1e-9))
        label = f"top {share * 100:g}%"
        assert int(float(cells.loc[label, "true_n_households"])) == k
        assert float(cells.loc[label, "true_sum_kosten"]) == pytest.approx(ordered[:k].sum(), rel=1e-9)
        assert float(cells.loc[label, "true_share_of_kosten_pct"]) == pytest.approx(
            100 * ordered[:k].sum() / ordered.sum(), rel=1e-9)
    # Gini: 1 - 2 * area under the Lorenz curve, computed here from the cumulative shares.
    ascending = np.sort(total.to_numpy())
    lorenz = np.concatenate([[0], np.cumsum(ascending) / ascending.sum()])
    expected_gini = 1 - np.sum((lorenz[1:] + lorenz[:-1]) / ascending.size)
    published = pd.read_csv(run.export_dir / "gini.csv")
    assert float(published["waarde"].iloc[0]) == pytest.approx(expected_gini, abs=5e-5)


def test_costs_per_domain_and_year(run, truth_households):
    _, cube = truth_households
    cells = evidence(run, "kosten_domein_jaar")
    cells = cells[(cells["domein"] != "Totaal") & (cells["jaar"] != "Totaal")
                  & (cells["true_n_households"].astype(float) > 0)]
    got = {(d, int(y)): float(v) for d, y, v in zip(cells["domein"], cells["jaar"], cells["true_sum_kosten"])}
    expected = cube.groupby(["domain", "year"])["cost"].sum()
    expected = {k: v for k, v in expected.items() if v != 0}
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=0.01), key


def test_mean_costs_by_household_type_and_children(run, truth_households):
    households, cube = truth_households
    total = cube.groupby("HUISHOUDNR")["cost"].sum().reindex(households["HUISHOUDNR"], fill_value=0.0).to_numpy()
    kind = households["TYPHH"].map(TYPE_OF_TYPHH).to_numpy()
    cells = evidence(run, "kosten_huishoudtype").set_index("huishoudtype")
    for t in np.unique(kind):
        assert int(float(cells.loc[t, "true_n_households"])) == (kind == t).sum()
        assert float(cells.loc[t, "true_sum_kosten"]) == pytest.approx(total[kind == t].sum(), abs=0.01)
        assert float(cells.loc[t, "true_mean_kosten"]) == pytest.approx(total[kind == t].mean(), abs=0.01)
    children = np.minimum(households["AANTALKINDHH"].astype(int).to_numpy(), 3)
    cells = evidence(run, "kosten_kinderen").set_index("kinderen")
    for c, label in enumerate(["0", "1", "2", "3+"]):
        assert int(float(cells.loc[label, "true_n_households"])) == (children == c).sum()
        assert float(cells.loc[label, "true_sum_kosten"]) == pytest.approx(total[children == c].sum(), abs=0.01)


def test_structural_versus_incidental_and_ranked_groups(run, truth_households):
    households, cube = truth_households
    positive = cube[cube["cost"] > 0]
    years = positive.groupby("HUISHOUDNR")["year"].nunique()
    total = cube.groupby("HUISHOUDNR")["cost"].sum()
    with_costs = total[total > 0]
    cells = evidence(run, "kosten_structureel").set_index("jaren_met_kosten")
    for n_years in sorted(years.unique()):
        members = years.index[years == n_years]
        assert int(float(cells.loc[str(n_years), "true_n_households"])) == len(members)
        assert float(cells.loc[str(n_years), "true_sum_kosten"]) == pytest.approx(with_costs[members].sum(), abs=0.01)
    # Ranked groups: one ranking of all households of the area (also those without costs): the 1%
    # most expensive, the next 4%, the next 15%, the rest.
    every = total.reindex(households["HUISHOUDNR"], fill_value=0.0)
    ordered = np.sort(every.to_numpy())[::-1]
    cells = evidence(run, "kosten_topgroepen").set_index("groep")
    cells = cells[cells.index != "Totaal"]
    # The cuts of the published groups from their labels ("a. duurste 1%", "b. 1-5%", ..., "overige 80%").
    cuts = [float(label.split()[-1].split("-")[-1].rstrip("%").replace(",", ".")) / 100 for label in cells.index[:-1]]
    edges = np.ceil(np.array(cuts) * ordered.size - 1e-9).astype(int)
    bounds = np.concatenate([[0], edges, [ordered.size]])
    assert cells.index[-1] == f"{chr(ord('a') + len(cuts))}. overige {100 - cuts[-1] * 100:g}%"
    for label, lo, hi in zip(cells.index, bounds[:-1], bounds[1:]):
        assert int(float(cells.loc[label, "true_n_households"])) == hi - lo
        assert float(cells.loc[label, "true_sum_kosten"]) == pytest.approx(ordered[lo:hi].sum(), abs=0.01)
        assert float(cells.loc[label, "true_mean_kosten"]) == pytest.approx(ordered[lo:hi].mean(), abs=0.01)


def test_domain_combinations_of_the_most_expensive_households(run, truth_households):
    households, cube = truth_households
    # The same ranking as every ranked table: all households of the area, the top x% of them
    # (those among them with costs have a combination).
    total = cube.groupby("HUISHOUDNR")["cost"].sum().reindex(households["HUISHOUDNR"], fill_value=0.0)
    ranked = total.sort_values(ascending=False, kind="stable")
    top = ranked.iloc[:int(np.ceil(run["baseline"]["top_group_share"] * len(ranked) - 1e-9))]
    positive = cube[(cube["cost"] > 0) & cube["HUISHOUDNR"].isin(top.index)]
    combination = positive.groupby("HUISHOUDNR")["method_domain"].apply(lambda d: " + ".join(sorted(set(d))))
    # A household of the top group without costs (a small area) has the combination "geen".
    combination = combination.reindex(top.index, fill_value="geen")
    counts = combination.value_counts()
    common = counts.index[counts >= run.disclosure_rules.min_units]
    label = combination.where(combination.isin(common), "overige combinaties")
    expected = label.value_counts().to_dict()
    expected["Totaal"] = len(top)
    assert true_n(evidence(run, "combinaties_duurste"), "combinatie") == expected


def test_correlations_between_domains(run, truth_households):
    _, cube = truth_households
    wide = cube.pivot_table(index="HUISHOUDNR", columns="method_domain", values="cost", aggfunc="sum",
                            fill_value=0.0)
    wide = wide[wide.sum(axis=1) > 0]
    # The table request (work folder, unprotected) carries every pair's correlation and the households
    # that drive it: those with costs in both domains and in one or both (counted per pair, not published).
    request = read_table(step_folder(run, "baseline") / "tables" / "correlatie_domeinen")
    pairs = list(zip(request["domein_a"], request["domein_b"]))
    assert len(pairs) == len(COUNTED_DOMAINS) * (len(COUNTED_DOMAINS) - 1) // 2
    both = {(a, b): int(((wide[a] > 0) & (wide[b] > 0)).sum()) for a, b in pairs}
    assert dict(zip(pairs, request["huishoudens_kosten_beide"].astype(int))) == both
    either = {(a, b): int(((wide[a] > 0) | (wide[b] > 0)).sum()) for a, b in both}
    assert dict(zip(pairs, request["huishoudens_kosten_een_of_beide"].astype(int))) == either
    for (a, b), value in zip(pairs, request["correlatie"].astype(float)):
        assert value == pytest.approx(wide[a].corr(wide[b]), abs=5e-9)
    # A pair on fewer than min_units of them is suppressed, the others published; in these small
    # data (four method's domains) no pair reaches min_units, so the table is not released at all.
    rules = run.disclosure_rules
    path = run.export_dir / "correlatie_domeinen.csv"
    if max(both.values()) < rules.min_units:
        assert not path.exists()
        return
    published = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert "huishoudens_kosten_beide" not in published.columns
    for row in published.itertuples():
        if both[(row.domein_a, row.domein_b)] < rules.min_units:
            assert row.correlatie == rules.suppressed_symbol, row
        else:
            assert float(row.correlatie) == pytest.approx(wide[row.domein_a].corr(wide[row.domein_b]), abs=5e-5)


def test_an_earlier_cycle_is_a_config_change(small_dataset, run, tmp_path):
    text = (small_dataset / "config.toml").read_text(encoding="utf-8")
    last = SPEC.last_year
    earlier = (text.replace(f"peildatum = {last}-12-31", f"peildatum = {last - 1}-12-31")
               .replace(", ".join(str(y) for y in SPEC.years), ", ".join(str(y) for y in SPEC.years[:-1]))
               .replace('work_dir = "work"', f'work_dir = "{(tmp_path / "work").as_posix()}"')
               .replace('export_dir = "export"', f'export_dir = "{(tmp_path / "export").as_posix()}"')
               .replace(f"price_year = {last}", f"price_year = {last - 1}"))
    path = small_dataset / "config_earlier_cycle.toml"
    path.write_text(earlier, encoding="utf-8")
    config = load_config(path)
    run_steps(config)
    summary = pd.read_csv(tmp_path / "work" / "06_baseline" / "summary.csv", index_col=0)["value"]
    later = pd.read_csv(run.work_dir / "06_baseline" / "summary.csv", index_col=0)["value"]
    assert summary["households"] != later["households"] or summary["total cost"] != later["total cost"]
    notes = (tmp_path / "export" / "bereik_aantal_domeinen.notes.txt").read_text(encoding="utf-8")
    assert f"peildatum {last - 1}-12-31" in notes and f"{SPEC.first_year}-{last - 1}" in notes
    assert f"euro's van {last - 1}" in notes


def test_published_cuts_keep_every_band_of_the_ranking_at_min_units():
    from lib.baseline import published_cuts
    # 600 households: the top 0.5%, 1%, 2%, 5% and 10% are 3, 6, 12, 30 and 60 households. The
    # 5% is required; 3 and 6 are fewer than 10; 12 leaves 18 to the 30; 60 leaves 30 and 540.
    assert published_cuts(600, [0.005, 0.01, 0.02, 0.05, 0.10], required=[0.05]) == [0.02, 0.05, 0.10]
    # 100 households: 5 (too few), 10 (kept: 10 and 90), 15 (only 5 more than 10), 95 (5 left over).
    assert published_cuts(100, [0.05, 0.10, 0.15, 0.95]) == [0.10]
    # A required cut whose group is smaller than min_units goes too (its size is known by
    # definition; its tables are not published), and frees the optional cut beside it.
    assert published_cuts(100, [0.10], required=[0.05]) == [0.10]
    assert published_cuts(200, [0.06], required=[0.05]) == [0.05]          # 10 and 12: 2 apart
    assert published_cuts(200, [0.06], required=[0.96]) == [0.06]          # 192 leaves 8 below it
    # Two shares of one group (ceil(10.5) = ceil(11) = 11 households) differ by no household.
    assert published_cuts(1000, [0.0105, 0.011], required=[]) == [0.0105, 0.011]


def test_every_published_ranked_group_differs_from_every_other_by_zero_or_min_units(run):
    """Across the ranked tables of the export (one ranking), the true sizes of the published groups
    and bands, as prefix sizes, never differ by 1..min_units-1 households."""
    m = run.disclosure_rules.min_units
    prefixes = set()
    top = evidence(run, "concentratie_top")
    prefixes |= set(top["true_n_households"].astype(float).astype(int))
    for name, column in (("concentratie_lorenz", "segment"), ("kosten_topgroepen", "groep")):
        cells = evidence(run, name)
        # The published bands (hidden rows are the writer's own derived groups; 'all' is the total).
        cells = cells[(cells[column] != "Totaal") & (cells[column] != "all") & (cells["status"] != "hidden")]
        prefixes |= set(np.cumsum(cells["true_n_households"].astype(float).astype(int)))
    sizes = np.array(sorted(prefixes | {0}))
    gaps = np.diff(sizes)
    assert ((gaps == 0) | (gaps >= m)).all(), sizes
