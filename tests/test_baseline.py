"""The baseline: every published figure (before protection) against an independent computation.

The independent side reads the raw synthetic CSV files with pandas only (household
register, addresses, municipalities) and the truth folder's true costs; it shares no code
with the pipeline. The pipeline side is the safe writer's evidence: the true value of
every cell before suppression.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.config import load_config
from lib.pipeline import run_steps
from lib.synthetic.truth import load_cpi
from tests.conftest import SMALL_SPEC as SPEC

PEIL = f"{SPEC.last_year}1231"


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
    return households, costs.groupby(["HUISHOUDNR", "domain", "year"], as_index=False)["cost"].sum()


def true_n(cells: pd.DataFrame, label_column: str) -> dict:
    return dict(zip(cells[label_column], cells["true_n_households"].astype(float).astype(int)))


def test_reach_by_number_of_domains_by_domain_and_by_year(run, truth_households):
    households, cube = truth_households
    with_cost = cube[cube["cost"] > 0]
    n_domains = with_cost.groupby("HUISHOUDNR")["domain"].nunique().reindex(households["HUISHOUDNR"], fill_value=0)
    expected = n_domains.clip(upper=4).map({0: "0", 1: "1", 2: "2", 3: "3", 4: "4+"}).value_counts().to_dict()
    expected["Totaal"] = len(households)
    assert true_n(evidence(run, "bereik_aantal_domeinen"), "aantal_domeinen") == expected
    per_domain = with_cost.groupby("domain")["HUISHOUDNR"].nunique().to_dict()
    per_domain["Totaal"] = with_cost["HUISHOUDNR"].nunique()
    assert true_n(evidence(run, "bereik_per_domein"), "domein") == per_domain
    per_year = {str(k): v for k, v in with_cost.groupby("year")["HUISHOUDNR"].nunique().items()}
    per_year["Totaal"] = with_cost["HUISHOUDNR"].nunique()
    assert true_n(evidence(run, "bereik_per_jaar"), "jaar") == per_year


def test_concentration_matches_the_truth(run, truth_households):
    households, cube = truth_households
    total = cube.groupby("HUISHOUDNR")["cost"].sum().reindex(households["HUISHOUDNR"], fill_value=0.0)
    ordered = np.sort(total.to_numpy())[::-1]
    cells = evidence(run, "concentratie_top").set_index("segment")
    for share in run["baseline"]["top_shares"]:
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
    kind = households["TYPHH"].map({"1": "eenpersoons", "2": "paar zonder kinderen", "3": "paar zonder kinderen",
                                    "4": "paar met kinderen", "5": "paar met kinderen", "6": "eenouder",
                                    "7": "overig"}).to_numpy()
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
    # Ranked groups: the 1% most expensive households with costs, the next 4%, the next 15%, the rest.
    ordered = np.sort(with_costs.to_numpy())[::-1]
    edges = np.ceil(np.array([0.01, 0.05, 0.20]) * ordered.size - 1e-9).astype(int)
    bounds = np.concatenate([[0], edges, [ordered.size]])
    cells = evidence(run, "kosten_topgroepen").set_index("groep")
    for label, lo, hi in zip(["a. duurste 1%", "b. 1-5%", "c. 5-20%", "d. overige 80%"], bounds[:-1], bounds[1:]):
        assert int(float(cells.loc[label, "true_n_households"])) == hi - lo
        assert float(cells.loc[label, "true_sum_kosten"]) == pytest.approx(ordered[lo:hi].sum(), abs=0.01)
        assert float(cells.loc[label, "true_mean_kosten"]) == pytest.approx(ordered[lo:hi].mean(), abs=0.01)


def test_domain_combinations_of_the_most_expensive_households(run, truth_households):
    _, cube = truth_households
    total = cube.groupby("HUISHOUDNR")["cost"].sum()
    with_costs = total[total > 0].sort_values(ascending=False, kind="stable")
    top = with_costs.iloc[:int(np.ceil(run["baseline"]["top_group_share"] * len(with_costs) - 1e-9))]
    positive = cube[(cube["cost"] > 0) & cube["HUISHOUDNR"].isin(top.index)]
    combination = positive.groupby("HUISHOUDNR")["domain"].apply(lambda d: " + ".join(sorted(set(d))))
    counts = combination.value_counts()
    common = counts.index[counts >= run.disclosure_rules.min_units]
    label = combination.where(combination.isin(common), "overige combinaties")
    expected = label.value_counts().to_dict()
    expected["Totaal"] = len(top)
    assert true_n(evidence(run, "combinaties_duurste"), "combinatie") == expected


def test_correlations_between_domains(run, truth_households):
    _, cube = truth_households
    wide = cube.pivot_table(index="HUISHOUDNR", columns="domain", values="cost", aggfunc="sum", fill_value=0.0)
    wide = wide[wide.sum(axis=1) > 0]
    published = pd.read_csv(run.export_dir / "correlatie_domeinen.csv")
    assert len(published) > 10
    for row in published.itertuples():
        assert row.correlatie == pytest.approx(wide[row.domein_a].corr(wide[row.domein_b]), abs=5e-5)


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
