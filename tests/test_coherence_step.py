"""The coherence step end to end: work files against the cube row by row, every table through
disclosure control, determinism, configuration errors, and recovery of the planted
household types of the synthetic data (adjusted Rand index).

The independent side reads the cube's household table with pandas and counts household
by household; the truth folder gives the planted type of every household.
"""
from __future__ import annotations

import json
import re
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from lib.coherence.analysis import analyse_coherence
from lib.coherence.profiles import CoherenceConfigError
from lib.config import load_config
from lib.pipeline import RunContext, all_steps, run_steps
from lib.steps.coherence import STEP
from lib.steps.export import STEP as EXPORT
from lib.steps.households import run_domains
from lib.workfiles import read_table

UP_TO_CUBE = ["inventory", "read_sources", "price", "households", "cube"]


def national_config(dataset: Path, folder: Path, extra: str = "") -> Path:
    """The data set's CBS-route config for the whole country, with its own work and export folders."""
    text = (dataset / "config.toml").read_text(encoding="utf-8")
    text = re.sub(r'area = \[[^\]]*\]', 'area = ["NL"]', text)
    text = text.replace('work_dir = "work"', f'work_dir = "{(folder / "work").as_posix()}"')
    text = text.replace('export_dir = "export"', f'export_dir = "{(folder / "export").as_posix()}"')
    text = text.replace('= "cbs/', f'= "{(dataset / "cbs").as_posix()}/')
    path = folder / "config.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path


def step_number(name: str) -> int:
    names = [s.name for s in all_steps()]
    return names.index(name) + 1 if name in names else names.index("baseline") + 2


def run_coherence(config) -> Path:
    ctx = RunContext(config, STEP, step_number("coherence"))
    ctx.step_dir.mkdir(parents=True, exist_ok=True)
    STEP.run(ctx)
    return ctx.step_dir


@pytest.fixture(scope="module")
def small_run(small_dataset, tmp_path_factory):
    folder = tmp_path_factory.mktemp("coherence_small")
    config = load_config(national_config(small_dataset, folder, "\n[coherence]\nmin_support_households = 20\n"))
    run_steps(config, UP_TO_CUBE)
    out = run_coherence(config)
    ctx = RunContext(config, EXPORT, step_number("export"))
    ctx.step_dir.mkdir(parents=True, exist_ok=True)
    exported = EXPORT.run(ctx)
    cube = read_table(config.work_dir / "05_cube" / "households")
    # The cube has columns for the domains with costs; the coherence analyses cover every domain
    # the run measures, one without costs as all zeros (this data set has no youth probation).
    measured, _ = run_domains(config)
    cube = cube.assign(**{f"cost_{d}": 0.0 for d in measured if f"cost_{d}" not in cube.columns})
    return config, out, (ctx.step_dir, exported), method_domains(cube)


# The method's domains (the default [domains] counting_groups), written out from the method: the
# coherence analyses group the fine domains of the cube into these by default.
METHOD_DOMAIN = {"politie": "justitie", "om_rechtspraak": "justitie", "sancties": "justitie", "detentie": "justitie",
                 "halt": "justitie", "jeugdreclassering": "justitie", "jeugdhulp": "jeugd", "jeugdbescherming": "jeugd",
                 "bijstand": "werk_en_inkomen", "overige_uitkering": "werk_en_inkomen"}


def method_domains(cube: pd.DataFrame) -> pd.DataFrame:
    """The cube's household table with one cost column per method's domain (the sum of its fine domains)."""
    fine = [c for c in cube.columns if c.startswith("cost_") and c != "cost_total"]
    grouped = {}
    for column in fine:
        group = f"cost_{METHOD_DOMAIN.get(column[5:], column[5:])}"
        grouped[group] = grouped.get(group, 0.0) + cube[column].to_numpy()
    return pd.concat([cube.drop(columns=fine), pd.DataFrame(grouped, index=cube.index)], axis=1)


def presence_of(cube: pd.DataFrame) -> pd.DataFrame:
    domains = sorted(c[5:] for c in cube.columns if c.startswith("cost_") and c != "cost_total")
    return pd.DataFrame({d: cube[f"cost_{d}"].to_numpy() > 0 for d in domains})


def test_profiles_pairs_and_itemsets_agree_with_the_cube(small_run):
    config, out, _, cube = small_run
    present = presence_of(cube)
    domains = list(present.columns)
    profiles = read_table(out / "profiles")
    # Distinct profiles with their households and costs: a groupby over the households.
    expected = pd.concat([present.astype(np.int8), cube[[f"cost_{d}" for d in domains]]], axis=1) \
        .groupby(domains).agg(n_households=(f"cost_{domains[0]}", "size"),
                              **{f"cost_{d}": (f"cost_{d}", "sum") for d in domains}).reset_index()
    got = profiles.sort_values(domains).reset_index(drop=True)
    expected = expected.sort_values(domains).reset_index(drop=True)
    assert got["n_households"].tolist() == expected["n_households"].tolist()
    for d in domains:
        assert got[f"cost_{d}"].to_numpy() == pytest.approx(expected[f"cost_{d}"].to_numpy(), rel=1e-12)
    pairs = pd.read_csv(out / "pairs.csv")
    for p in pairs.itertuples():
        a, b = present[p.a], present[p.b]
        assert (p.n_both, p.n_a_only, p.n_b_only, p.n_neither) == ((a & b).sum(), (a & ~b).sum(), (~a & b).sum(),
                                                                     (~a & ~b).sum())
    itemsets = pd.read_csv(out / "itemsets.csv")
    minimum = max(20, config.disclosure_rules.min_units)
    expected_sets = {}
    for size in range(1, config["coherence"]["max_itemset_size"] + 1):
        for items in combinations(domains, size):
            count = int(present[list(items)].all(axis=1).sum())
            if count >= minimum:
                expected_sets[" + ".join(items)] = count
    assert dict(zip(itemsets["itemset"], itemsets["count"])) == expected_sets
    summary = pd.read_csv(out / "summary.csv", index_col=0)["value"]
    assert int(summary["households"]) == len(cube)
    assert int(summary["households with costs"]) == int(present.any(axis=1).sum())


def test_household_types_cover_exactly_the_households_with_costs(small_run):
    _, out, _, cube = small_run
    types = read_table(out / "household_types")
    present = presence_of(cube)
    assert types["household"].tolist() == cube["household"].tolist()
    assert types["n_groups"].tolist() == present.sum(axis=1).tolist()
    clustered = types["n_groups"] >= 1
    assert (types.loc[clustered, "cluster"] >= 0).all() and (types.loc[~clustered, "cluster"] == -1).all()
    assert (types.loc[clustered, "klasse"] >= 0).all() and types.loc[~clustered, "klasse_kans"].isna().all()
    # The internal cluster profile counts are the household counts per cluster.
    profiles = pd.read_csv(out / "cluster_profiles.csv")
    assert profiles["n_households"].tolist() == np.bincount(types.loc[clustered, "cluster"]).tolist()


def test_every_table_is_released_through_disclosure_control(small_run):
    config, out, (export_step, exported), cube = small_run
    requested = sorted(p.stem for p in (out / "tables").glob("*.json"))
    assert {"samenhang_paren", "samenhang_combinaties", "samenhang_combinaties_kosten",
            "samenhang_correlatie_kosten", "samenhang_clusters", "samenhang_klassen", "samenhang_clusters_klassen",
            "samenhang_keuze_clusters", "samenhang_keuze_klassen", "samenhang_overeenstemming"} <= set(requested)
    released = pd.read_csv(export_step / "released.csv").set_index("table")
    assert (released.loc[requested, "status"].isin(["pass", "review"])).all(), released.loc[requested, "reasons"]
    assert exported.counts["export check findings"] == 0
    # Published cells before protection equal the cube's: households and costs per combination.
    cells = pd.read_csv(config.work_dir / "evidence" / "samenhang_combinaties_kosten.cells.csv", dtype=str,
                        keep_default_na=False).set_index("combinatie")
    present = presence_of(cube)
    label = present.apply(lambda r: " + ".join(d for d in present.columns if r[d]) or "geen", axis=1)
    # The baseline's one ranking: the most expensive 5% of all households (ties by position),
    # those with costs among them.
    ranked = cube["cost_total"].sort_values(ascending=False, kind="stable")
    top = ranked.index[:int(np.ceil(config["baseline"]["top_group_share"] * len(ranked) - 1e-9))]
    top = set(top[cube.loc[top, "cost_total"] > 0])
    outside = label[~label.index.isin(top)].value_counts().reindex(label.unique(), fill_value=0)
    counts = label.value_counts()
    minimum = config.disclosure_rules.min_units
    published = [c for c, n in counts.items() if n >= minimum and not 0 < outside[c] < minimum]
    pooled = [c for c in counts.index if c not in published]
    assert set(cells.index) == set(published) | {"Totaal"} | ({"overige combinaties"} if pooled else set())
    for combination in published:
        assert int(float(cells.loc[combination, "true_n_households"])) == counts[combination]
        assert float(cells.loc[combination, "true_sum_kosten"]) == pytest.approx(
            cube.loc[label == combination, "cost_total"].sum(), abs=0.01)
    if pooled:
        assert int(float(cells.loc["overige combinaties", "true_n_households"])) == counts[pooled].sum()
    # Only counts and sums: a share of all costs beside them would be a second statistic to protect.
    assert not any(c.startswith("true_sum_aandeel") for c in cells.columns)
    assert float(cells.loc["Totaal", "true_sum_kosten"]) == pytest.approx(cube["cost_total"].sum(), abs=0.01)
    # No membership list leaves: every exported table is an aggregate with a total.
    exported = pd.read_csv(config.export_dir / "samenhang_clusters.csv", dtype=str)
    assert exported["cluster"].iloc[0] == "Totaal" and len(exported) <= 11


def test_the_step_is_deterministic(small_run):
    config, out, _, _ = small_run
    first = {p.name: p.read_bytes() for p in sorted((out / "tables").glob("*.json"))}
    data = {p.stem: read_table(out / "tables" / p.stem) for p in sorted((out / "tables").glob("*.json"))}
    again = run_coherence(config)
    assert {p.name: p.read_bytes() for p in sorted((again / "tables").glob("*.json"))} == first
    for name, frame in data.items():
        pd.testing.assert_frame_equal(read_table(again / "tables" / name), frame)


def test_configuration_problems_are_reported_clearly(small_run):
    config, _, _, cube = small_run
    settings = dict(config["coherence"])
    with pytest.raises(CoherenceConfigError, match="unknown domain 'jeugdzorg'"):
        analyse_coherence(cube, settings | {"domain_groups": {"jeugd": ["jeugdzorg"]}}, seed=1, min_units=10)
    with pytest.raises(CoherenceConfigError, match="level_cutoffs names groups that do not exist"):
        analyse_coherence(cube, settings | {"typology_profile": "levels", "level_cutoffs": {"wmoo": 10.0}}, seed=1,
                          min_units=10)
    with pytest.raises(CoherenceConfigError, match="n_clusters = 40"):
        analyse_coherence(cube, settings | {"n_clusters": 40}, seed=1, min_units=10)


def test_grouped_domains_levels_and_minimum_support(small_run):
    config, _, _, _ = small_run
    cube = read_table(config.work_dir / "05_cube" / "households")     # by fine domain
    settings = dict(config["coherence"]) | {
        "domain_groups": {"justitie": ["politie", "om_rechtspraak", "sancties", "detentie"]},
        "typology_profile": "levels", "min_support_households": 1, "cluster_range": [3, 3]}
    result = analyse_coherence(cube, settings, seed=1, min_units=10, metadata={"population": "test"})
    assert "justitie" in result.groups and "politie" not in result.groups
    justice = cube[["cost_politie", "cost_om_rechtspraak", "cost_sancties", "cost_detentie"]].sum(axis=1)
    assert result.profiles.costs["justitie"] == pytest.approx(justice.to_numpy())
    # Minimum support never below the disclosure threshold.
    assert result.summary["minimum support (households)"] == 10 and (result.itemsets["count"] >= 10).all()
    clusters = next(t for t in result.tables if t.name == "samenhang_clusters")
    # Indicators are shares (published as pct_<indicator>, protected as counts); a group's costs
    # are declared as the costs of all its domains, so they link with the domain tables.
    assert "justitie_hoog" in clusters.kwargs["shares"] and "justitie" in clusters.kwargs["shares"]
    assert clusters.kwargs["parts"]["kosten_justitie"] == ["kosten", {"domein": ["politie", "om_rechtspraak",
                                                                                 "sancties", "detentie"]}]
    assert "aantal_domeinen" not in clusters.kwargs["values"]
    # Level cut-offs are internal: no exported metadata states an amount.
    text = json.dumps([t.kwargs.get("metadata", {}) for t in result.tables])
    assert all(f"{v:.2f}" not in text for v in result.level_cutoffs.values() if v)


@pytest.fixture(scope="module")
def national_calibration(calibration_dataset, tmp_path_factory):
    folder = tmp_path_factory.mktemp("coherence_calibration")
    config = load_config(national_config(calibration_dataset, folder))
    run_steps(config, UP_TO_CUBE)
    cube = read_table(config.work_dir / "05_cube" / "households")
    households = read_table(config.work_dir / "04_households" / "households", columns=["household", "huishoudnr"])
    truth = pd.read_csv(calibration_dataset / "truth" / "households.csv", dtype={"huishoudnr": str},
                        usecols=["huishoudnr", "problem_type"])
    truth["huishoudnr"] = truth["huishoudnr"].astype(np.int64)
    planted = households.merge(truth, on="huishoudnr", how="left").set_index("household")["problem_type"]
    return config, cube, planted


def test_recovery_of_the_planted_household_types(national_calibration):
    config, cube, planted = national_calibration
    # Six planted types meet the social or safety domain (the seventh, 'geen', has no records).
    settings = dict(config["coherence"]) | {"cluster_range": [6, 6], "n_clusters": 6, "n_classes": 6}
    result = analyse_coherence(cube, settings, seed=config["run"]["seed"], min_units=10)
    types = result.household_types[result.household_types["n_groups"] >= 1]
    truth = planted.reindex(types["household"]).to_numpy()
    assert pd.notna(truth).all() and (truth != "geen").all()
    kmodes_ari = adjusted_rand_score(truth, types["cluster"])
    lca_ari = adjusted_rand_score(truth, types["klasse"])
    # The best any partition of the domain profiles can do: each profile to its most common
    # planted type. 'incidenteel' households look like single-domain households of other
    # types, which caps the index below 1.
    profile = types["profile"].to_numpy()
    frame = pd.DataFrame({"profile": profile, "truth": truth})
    best = frame.groupby("profile")["truth"].agg(lambda s: s.value_counts().index[0])
    ceiling = adjusted_rand_score(truth, best.reindex(profile).to_numpy())
    assert 0.75 < ceiling < 0.9
    assert lca_ari > 0.7 and lca_ari <= ceiling + 0.01
    assert kmodes_ari > 0.5
    # Without the incidental type the latent classes are close to the planted types.
    regular = truth != "incidenteel"
    assert adjusted_rand_score(truth[regular], types["klasse"].to_numpy()[regular]) > 0.8


def test_combinations_that_would_difference_with_the_baseline_are_pooled():
    # 400 households: 40 with wmo only (EUR 1,000), 14 with wmo + bijstand: 8 of them very
    # expensive, 6 at EUR 2,000. The baseline tabulates the combinations of its most
    # expensive households with costs.
    n = 400
    wmo = np.zeros(n)
    bijstand = np.zeros(n)
    wmo[:54] = 1000.0
    bijstand[40:54] = 1000.0
    wmo[40:48] = 100_000.0
    cube = pd.DataFrame({"household": np.arange(n), "household_type": "eenpersoons", "n_persons": 1,
                         "n_children": 0, "cost_wmo": wmo, "cost_bijstand": bijstand, "cost_total": wmo + bijstand})
    settings = load_config_defaults()
    # The baseline ranks all 400 households. Top 0.75%: 3 households, so 11 of the 14 lie outside
    # (published). Top 2.75%: 11 households, all with both domains, so 3 lie outside: the two
    # tables would differ by 3 households, and the combination is pooled.
    for share, pooled in ((0.0075, False), (0.0275, True)):
        result = analyse_coherence(cube, settings, seed=1, min_units=10, baseline_top_share=share)
        table = next(t for t in result.tables if t.name == "samenhang_combinaties_kosten")
        labels = set(table.data["combinatie"].astype(str))
        assert ("bijstand + wmo" not in labels) == pooled
        assert ("overige combinaties" in labels) == pooled
    without = analyse_coherence(cube, settings, seed=1, min_units=10)
    table = next(t for t in without.tables if t.name == "samenhang_combinaties_kosten")
    assert "bijstand + wmo" in set(table.data["combinatie"].astype(str))


def test_measures_carry_the_households_that_drive_each_row(small_run):
    config, out, _, cube = small_run
    present = presence_of(cube)
    minimum = config.disclosure_rules.min_units
    tables = out / "tables"

    def spec(name: str) -> dict:
        return json.loads((tables / f"{name}.json").read_text(encoding="utf-8"))["kwargs"]

    # Correlations: per pair the households with costs in both groups (and in one of them),
    # counted here household by household; a pair on fewer than min_units of them is suppressed.
    corr = read_table(tables / "samenhang_correlatie_kosten")
    assert spec("samenhang_correlatie_kosten")["row_units"] == ["huishoudens_kosten_beide",
                                                                "huishoudens_kosten_een_of_beide"]
    both = [int((present[a] & present[b]).sum()) for a, b in zip(corr["domein_a"], corr["domein_b"])]
    assert corr["huishoudens_kosten_beide"].tolist() == both
    assert corr["huishoudens_kosten_een_of_beide"].tolist() == [
        int((present[a] | present[b]).sum()) for a, b in zip(corr["domein_a"], corr["domein_b"])]
    published = pd.read_csv(config.export_dir / "samenhang_correlatie_kosten.csv", dtype=str, keep_default_na=False)
    assert list(published.columns) == ["domein_a", "domein_b", "pearson", "spearman"]
    assert ((published["pearson"] == "x").to_numpy() == (np.array(both) < minimum)).all()
    # Published pairs occur in these data (the method's domains); a suppressed pair is the next test's case.
    assert (np.array(both) >= minimum).any()
    # Phi, odds ratios and rule measures are functions of the published counts: not requested as
    # tables of their own (beside a suppressed count they would give it back).
    assert not {"samenhang_paren_maten", "samenhang_regels_maten"} & {p.stem for p in tables.glob("*.json")}
    notes = (config.export_dir / "samenhang_paren.notes.txt").read_text(encoding="utf-8")
    assert "worden niet apart gepubliceerd" in notes


def test_a_correlation_on_a_few_households_with_both_costs_is_suppressed(tmp_path):
    from disclosure_control import SafeWriter
    # 400 households: 100 with bijstand, 150 with jeugd, 200 with wmo; only 6 have both
    # bijstand and wmo, 30 bijstand and jeugd, 50 jeugd and wmo.
    n = 400
    rng = np.random.default_rng(2)
    index = np.arange(n)
    bijstand = (index < 100)
    jeugd = (index >= 70) & (index < 220)
    wmo = (index >= 94) & (index < 100) | (index >= 176) & (index < 370)
    costs = {d: np.where(flag, np.round(rng.gamma(2.0, 800.0, n), 2), 0.0)
             for d, flag in (("bijstand", bijstand), ("jeugd", jeugd), ("wmo", wmo))}
    cube = pd.DataFrame({"household": index, "household_type": "eenpersoons", "n_persons": 1, "n_children": 0,
                         **{f"cost_{d}": v for d, v in costs.items()}})
    cube["cost_total"] = cube[[f"cost_{d}" for d in costs]].sum(axis=1)
    result = analyse_coherence(cube, load_config_defaults(), seed=1, min_units=10)
    table = next(t for t in result.tables if t.name == "samenhang_correlatie_kosten")
    flags = {"bijstand": bijstand, "jeugd": jeugd, "wmo": wmo}
    both = {(a, b): int((flags[a] & flags[b]).sum()) for a, b in zip(table.data["domein_a"], table.data["domein_b"])}
    assert both == {("bijstand", "jeugd"): 30, ("bijstand", "wmo"): 6, ("jeugd", "wmo"): 50}
    assert table.data["huishoudens_kosten_beide"].tolist() == list(both.values())
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence")
    released = writer.model_table(table.data, name=table.name, **table.kwargs)
    assert released.status == "pass"
    shown = released.table.set_index(["domein_a", "domein_b"])
    assert (shown.loc[("bijstand", "wmo")] == "x").all()
    with_costs = bijstand | jeugd | wmo                 # the correlations are among households with costs
    assert float(shown.loc[("jeugd", "wmo"), "pearson"]) == pytest.approx(
        np.corrcoef(costs["jeugd"][with_costs], costs["wmo"][with_costs])[0, 1], abs=5e-5)


def load_config_defaults() -> dict:
    from lib.config import SCHEMA
    return {s.key: s.default for s in SCHEMA["coherence"]}


def test_combinations_nearly_implied_by_a_smaller_one_are_not_published():
    from lib.coherence.analysis import _without_implied
    # a 100, b 60, c 50 households; a+b 55 (5 short of b: nearly every b has a), a+c 30, b+c 20,
    # a+b+c 19 (1 short of b+c).
    itemsets = pd.DataFrame({"itemset": ["a", "b", "c", "a + b", "a + c", "b + c", "a + b + c"],
                             "mask": [1, 2, 4, 3, 5, 6, 7], "n_items": [1, 1, 1, 2, 2, 2, 3],
                             "count": [100, 60, 50, 55, 30, 20, 19]})
    assert _without_implied(itemsets, 10, 0.95)["itemset"].tolist() == ["a + c", "b + c"]
    # 96% of a sub-combination, even with more than min_units difference, is implied too.
    big = pd.DataFrame({"itemset": ["a", "b", "a + b"], "mask": [1, 2, 3], "n_items": [1, 1, 2],
                        "count": [1000, 500, 480]})
    assert _without_implied(big, 10, 0.95).empty
    assert _without_implied(big, 10, 0.97)["itemset"].tolist() == ["a + b"]


def test_a_profiles_total_row_is_declared_part_of_what_the_baseline_publishes_where_the_numbers_agree():
    """Clustered households with 'justitie' (a group of two fine domains) are among the baseline's
    households with costs there, per method domain and per fine domain, and their costs part of the
    fine domains' costs: three relations 'at most' for the profile's total row. Where a number does
    not agree (fewer households in the baseline than in the profile), that relation is left out."""
    from lib.coherence.analysis import BaselineReach
    units = pd.DataFrame({"pct_justitie": [100.0, 100.0, 0.0, 100.0], "kosten_justitie": [10.0, 20.0, 0.0, 5.5]})
    groups = {"justitie": ["halt", "reclassering"]}
    reach = BaselineReach(households={"justitie": 5}, households_fine={"halt": 2, "reclassering": 1},
                          costs_fine={"halt": 30.0, "reclassering": 5.5}, total_label="Totaal")
    declared = reach.profile_identities(groups, ["justitie"], units)
    assert [(i["column"], i["table"], i["other_column"], i["other_weights"]) for i in declared] == [
        ("pct_justitie", "bereik_per_domein", "n_households", {"justitie": 1}),
        ("pct_justitie", "kosten_domein_jaar", "n_households", {"halt | Totaal": 1, "reclassering | Totaal": 1}),
        ("mean_kosten_justitie", "kosten_domein_jaar", "sum_kosten", {"halt | Totaal": 1, "reclassering | Totaal": 1})]
    assert all(i["only"] == "at_most" and i["weights"] == {"Totaal": 1} for i in declared)
    # 3 clustered households with justitie, but 2 in the baseline; 35.5 of costs, but 35.0 there.
    short = BaselineReach(households={"justitie": 2}, households_fine={"halt": 1, "reclassering": 1},
                          costs_fine={"halt": 30.0, "reclassering": 5.0}, total_label="Totaal")
    assert short.profile_identities(groups, ["justitie"], units) == []
