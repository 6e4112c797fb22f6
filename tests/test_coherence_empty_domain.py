"""A measured domain in which no household has costs: named in every coherence table, never shown as 0.

The cube has a ``cost_<domain>`` column only for domains with costs; the coherence step passes
the domains the run measures, so an empty one is an all-zero column. Independent side: every
analysis is also run without that domain (the cube as it is), and the results for the other
domains must be the same; the estimators are checked with and without a constant column; the
published tables are read back after the safe writer; one pipeline run on the small data set
has a measured source without records (Halt) and is read from its export.
"""
from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib.coherence.analysis import analyse_coherence, profile_min_households
from lib.coherence.kmodes import KModes
from lib.coherence.latent_class import LatentClassModel
from lib.config import SCHEMA, load_config
from lib.layouts import CBS_DATASETS

DOMAINS = ("bijstand", "jeugdhulp", "overige_uitkering", "politie", "wmo")
EMPTY = "halt"
# Probability of costs per domain for each planted kind of household: none, wmo, income, police.
PLANTED = {"wmo": [0.02, 0.9, 0.15, 0.1], "bijstand": [0.01, 0.1, 0.85, 0.3], "overige_uitkering": [0.01, 0.05, 0.7, 0.1],
           "politie": [0.01, 0.05, 0.1, 0.9], "jeugdhulp": [0.02, 0.1, 0.2, 0.3]}


def make_cube(n: int = 3000, seed: int = 5, rare: int = 0) -> pd.DataFrame:
    """Households with planted kinds and costs in five domains (none in halt: no column); with
    ``rare`` > 0 also a domain 'detentie' in which exactly that many households have costs."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(4, size=n, p=[0.4, 0.25, 0.2, 0.15])
    cube = pd.DataFrame({"household": np.arange(n, dtype=np.int64),
                         "household_type": rng.choice(["eenpersoons", "paar zonder kinderen", "paar met kinderen"], n),
                         "n_persons": rng.integers(1, 5, n), "n_children": rng.integers(0, 3, n)})
    for domain, p in PLANTED.items():
        has = rng.random(n) < np.asarray(p)[kind]
        cube[f"cost_{domain}"] = np.where(has, np.round(rng.gamma(2.0, 1500.0, n), 2), 0.0)
    if rare:
        cost = np.zeros(n)
        cost[rng.choice(np.flatnonzero(kind == 3), size=rare, replace=False)] = 25_000.0
        cube["cost_detentie"] = cost
    cube["cost_total"] = cube[[c for c in cube.columns if c.startswith("cost_")]].sum(axis=1)
    return cube


def settings(**changes) -> dict:
    return {s.key: s.default for s in SCHEMA["coherence"]} | {"cluster_range": [2, 5]} | changes


@pytest.fixture(scope="module")
def both():
    cube = make_cube()
    assert not any(c == f"cost_{EMPTY}" for c in cube.columns)
    with_empty = analyse_coherence(cube, settings(), seed=3, min_units=10, domains=sorted(DOMAINS + (EMPTY,)))
    without = analyse_coherence(cube, settings(), seed=3, min_units=10)
    return cube, with_empty, without


def table(result, name):
    return next(t for t in result.tables if t.name == name)


# ---------------------------------------------------------------------------------- estimators

def categorical_data(seed: int = 1, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    kind = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    p = np.array([[0.9, 0.1, 0.2, 0.7], [0.1, 0.8, 0.7, 0.2], [0.2, 0.2, 0.9, 0.9]])
    X = (rng.random((n, 4)) < p[kind]).astype(np.int64)
    X[:, 3] += (rng.random(n) < 0.3) * (X[:, 3] == 1)      # a third category in the last column
    return X, rng.integers(1, 4, n)


def with_zero_column(X: np.ndarray, at: int = 2) -> np.ndarray:
    return np.insert(X, at, 0, axis=1)


@pytest.mark.parametrize("init", ["huang", "cao", "random"])
def test_kmodes_is_the_same_with_a_constant_column(init):
    X, weights = categorical_data()
    for k in (2, 3, 4):
        plain = KModes(k, init=init, n_init=8, random_state=11).fit(X, sample_weight=weights)
        padded = KModes(k, init=init, n_init=8, random_state=11).fit(with_zero_column(X), sample_weight=weights)
        assert padded.labels_.tolist() == plain.labels_.tolist()
        assert padded.cost_ == plain.cost_
        centroids = np.asarray(padded.cluster_centroids_)
        assert (centroids[:, 2] == 0).all()
        assert np.delete(centroids, 2, axis=1).tolist() == np.asarray(plain.cluster_centroids_).tolist()
        # The cost counted row by row: mismatches with the own mode, weighted.
        modes = np.asarray(plain.cluster_centroids_)[plain.labels_]
        assert plain.cost_ == float(weights @ (X != modes).sum(axis=1))


def test_latent_class_model_with_a_constant_column():
    X, weights = categorical_data(seed=2, n=600)
    n = weights.sum()
    for k in (2, 3):
        plain = LatentClassModel(k, n_init=4, random_state=5).fit(X, sample_weight=weights)
        padded = LatentClassModel(k, n_init=4, random_state=5).fit(with_zero_column(X), sample_weight=weights)
        # The same fit to the last bit: EM runs without the column (no extra zero terms in its sums).
        assert np.isfinite(padded.loglik_) and padded.loglik_ == plain.loglik_
        assert padded.weights_.tolist() == plain.weights_.tolist()
        assert (padded.entropy_, padded.n_iter_) == (plain.entropy_, plain.n_iter_)
        # The constant column's only category has probability exactly 1 in every class (log 1 = 0).
        assert (padded.item_probabilities_[:, 2, 0] == 1.0).all() and (padded.item_probabilities_[:, 2, 1:] == 0).all()
        kept = np.delete(padded.item_probabilities_, 2, axis=1)
        assert kept.tolist() == plain.item_probabilities_.tolist()
        posterior = padded.predict_proba(with_zero_column(X))
        assert posterior.tolist() == plain.predict_proba(X).tolist()
        assert np.isfinite(posterior).all() and posterior.sum(axis=1) == pytest.approx(1.0)
        # The likelihood recomputed row by row from the fitted parameters, the constant column included.
        # (The values are their category codes: 0/1, 0/1/2 in the last column, 0 in the constant one.)
        Xp = with_zero_column(X)
        per_class = padded.weights_[:, None] * np.ones((k, len(Xp)))
        for j in range(Xp.shape[1]):
            per_class *= padded.item_probabilities_[:, j, Xp[:, j]]
        assert float(weights @ np.log(per_class.sum(axis=0))) == pytest.approx(padded.loglik_, rel=1e-12)
        # Parameters counted over the categories seen: the constant column adds none ...
        assert padded.n_parameters_ == plain.n_parameters_ == (k - 1) + k * (1 + 1 + 1 + 2)
        # ... or over the categories it can take (a 0/1 indicator: one parameter per class), as
        # the coherence analysis counts them, so that the count does not tell that it is empty.
        counted = LatentClassModel(k, n_init=4, random_state=5, n_categories=[2, 2, 2, 2, 3]).fit(
            with_zero_column(X), sample_weight=weights)
        assert counted.n_parameters_ == plain.n_parameters_ + k
        assert counted.bic_ == pytest.approx(plain.bic_ + k * math.log(n), rel=1e-12)
        assert counted.aic_ == pytest.approx(plain.aic_ + 2 * k, rel=1e-12)
    with pytest.raises(ValueError, match="n_categories"):
        LatentClassModel(2, n_categories=[2, 1, 2, 2]).fit(X)        # fewer than seen in column 2


# ---------------------------------------------------------------------------------- the analysis

def test_the_empty_domain_is_a_group_named_in_every_table(both):
    _, result, without = both
    assert list(result.groups) == sorted(DOMAINS + (EMPTY,)) and EMPTY not in without.groups
    assert result.profiles.costs[EMPTY].tolist() == [0.0] * len(result.profiles.household)
    line = re.compile(r"^Domeinen \(groepen\) in de samenhanganalyse: (.*)\.$")
    for spec in result.tables:
        listed = [line.match(n).group(1) for n in spec.kwargs["metadata"]["notes"] if line.match(n)]
        assert listed == ["; ".join(f"{g} = {g}" for g in sorted(DOMAINS + (EMPTY,)))], spec.name
    pairs = table(result, "samenhang_paren")
    assert {(a[0], c[0]) for a, c in pairs.kwargs["rules"] if EMPTY in a + c} == \
        {(EMPTY, d) for d in DOMAINS} | {(d, EMPTY) for d in DOMAINS}
    assert not pairs.data[EMPTY].any()
    corr = table(result, "samenhang_correlatie_kosten").data
    empty_rows = corr[(corr["domein_a"] == EMPTY) | (corr["domein_b"] == EMPTY)]
    # Every pair with the empty domain is requested (undefined, on no household with both).
    assert len(empty_rows) == len(DOMAINS) and empty_rows[["pearson", "spearman"]].isna().all().all()
    assert (empty_rows["huishoudens_kosten_beide"] == 0).all()
    assert summary_groups(result) == len(DOMAINS) + 1


def summary_groups(result) -> int:
    return int(result.summary["domain groups"])


def test_the_other_domains_are_analysed_as_without_it(both):
    _, result, without = both
    # Households' profiles, clusters and classes.
    types, plain_types = result.household_types, without.household_types
    for column in ("household", "n_groups", "cluster", "klasse"):
        assert types[column].tolist() == plain_types[column].tolist(), column
    assert types["klasse_kans"].equals(plain_types["klasse_kans"])
    assert result.profiles.distinct.weights.tolist() == without.profiles.distinct.weights.tolist()
    # Pairs: the same counts and measures for every pair of the other domains.
    key = ["a", "b"]
    pairs = result.pairs[(result.pairs["a"] != EMPTY) & (result.pairs["b"] != EMPTY)].reset_index(drop=True)
    pd.testing.assert_frame_equal(pairs, without.pairs.reset_index(drop=True), check_dtype=False)
    empty_pairs = result.pairs[(result.pairs["a"] == EMPTY) | (result.pairs["b"] == EMPTY)]
    assert len(empty_pairs) == len(DOMAINS) and (empty_pairs["n_both"] == 0).all()
    assert empty_pairs["phi"].isna().all()                       # a zero margin: undefined, not a number
    # Frequent combinations and rules (their bit masks move with the extra group; labels and counts do not).
    drop = ["mask"]
    pd.testing.assert_frame_equal(result.itemsets.drop(columns=drop), without.itemsets.drop(columns=drop))
    drop = ["antecedent_mask", "consequent_mask"]
    pd.testing.assert_frame_equal(result.rules.drop(columns=drop), without.rules.drop(columns=drop))
    pd.testing.assert_frame_equal(result.combinations.drop(columns="mask"), without.combinations.drop(columns="mask"))
    corr = result.correlations[(result.correlations["a"] != EMPTY) & (result.correlations["b"] != EMPTY)]
    merged = corr.merge(without.correlations, on=key, suffixes=("", "_without"))
    assert len(merged) == len(without.correlations) == math.comb(len(DOMAINS), 2)
    assert merged["pearson"].to_numpy() == pytest.approx(merged["pearson_without"].to_numpy(), abs=1e-12)
    assert merged["spearman"].to_numpy() == pytest.approx(merged["spearman_without"].to_numpy(), abs=1e-12)
    # The published correlations and pair measures of the other domains are the same rows.
    for name in ("samenhang_correlatie_kosten",):
        got = table(result, name).data
        got = got[(got["domein_a"] != EMPTY) & (got["domein_b"] != EMPTY)].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, table(without, name).data.reset_index(drop=True))


def test_typologies_count_the_empty_group_but_fit_the_same(both):
    cube, result, without = both
    kt, plain_kt = result.cluster_choice.table, without.cluster_choice.table
    assert kt["k"].tolist() == plain_kt["k"].tolist() == [2, 3, 4, 5]
    # The gain rule, the restart agreement and the resampling stability too (NaN where not
    # computed, in the same places).
    for column in ("cost", "mismatches_per_household", "gain", "restart_ari", "resample_ari_mean",
                   "resample_ari_sd", "chosen"):
        pd.testing.assert_series_equal(kt[column], plain_kt[column], check_exact=True, obj=column)
    ct, plain_ct = result.class_choice.table, without.class_choice.table
    assert ct["loglik"].tolist() == plain_ct["loglik"].tolist()
    pd.testing.assert_series_equal(ct["resample_ari_mean"], plain_ct["resample_ari_mean"], check_exact=True)
    assert ct["entropy"].tolist() == plain_ct["entropy"].tolist()
    # One more parameter per class (P(costs in the empty group | class)), so the BIC is higher by
    # k ln N: the number published does not depend on whether a group is empty.
    n = int(result.summary["households clustered (at least 1 group(s))"])
    assert n == int((cube[[f"cost_{d}" for d in DOMAINS]] > 0).any(axis=1).sum())
    assert (ct["n_parameters"] - plain_ct["n_parameters"]).tolist() == ct["k"].tolist()
    assert ct["n_parameters"].tolist() == [(k - 1) + k * (len(DOMAINS) + 1) for k in ct["k"]]
    assert ct["bic"].to_numpy() == pytest.approx((plain_ct["bic"] + ct["k"] * math.log(n)).to_numpy(), rel=1e-10)
    expected = int(plain_ct["k"][np.argmin(-2 * plain_ct["loglik"] + ct["n_parameters"] * math.log(n))])
    assert result.class_choice.chosen == expected
    # The labels name the groups of the modes / the classes' likely groups: never the empty one.
    choice = table(result, "samenhang_keuze_klassen")
    assert choice.data["parameters"].tolist() == ct["n_parameters"].astype(float).tolist()
    assert choice.kwargs["residual_df"] == n - int(ct["n_parameters"].max())
    assert table(result, "samenhang_keuze_clusters").kwargs["residual_df"] == n - 5 * (len(DOMAINS) + 1)
    assert not any(EMPTY in str(label) for label in table(result, "samenhang_clusters").data["cluster"].unique())


def test_profiles_leave_out_the_empty_group_as_any_group_on_few_households():
    assert profile_min_households(10, 0.3) == 13 and profile_min_households(5, 0.3) == 7
    # 12 households in detentie: below the bound, left out like the empty group; 13: shown.
    for rare, shown in ((12, False), (13, True)):
        cube = make_cube(rare=rare)
        result = analyse_coherence(cube, settings(), seed=3, min_units=10, domains=sorted(DOMAINS + (EMPTY,)))
        assert "detentie" in result.groups
        for name in ("samenhang_clusters", "samenhang_klassen"):
            spec = table(result, name)
            assert EMPTY not in spec.kwargs["shares"] and f"kosten_{EMPTY}" not in spec.kwargs["values"]
            assert ("detentie" in spec.kwargs["shares"]) == shown
            assert (f"kosten_detentie" in spec.kwargs["values"]) == shown
            assert ("kosten_detentie" in spec.kwargs["parts"]) == shown
            assert set(spec.kwargs["shares"]) - {c for c in spec.kwargs["shares"] if c.startswith("type_")} == \
                set(DOMAINS) | ({"detentie"} if shown else set())
            assert any("minder dan 13 huishoudens" in note for note in spec.kwargs["metadata"]["notes"])
            # The total cost still holds every domain's costs.
            assert spec.data["kosten_totaal"].sum() == pytest.approx(cube["cost_total"].sum())


def test_published_cells_of_the_empty_domain_are_suppressed(both, tmp_path):
    from disclosure_control import SafeWriter
    _, result, _ = both
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence")
    with writer.batch() as batch:
        for spec in result.tables:
            getattr(batch, spec.method)(spec.data, name=spec.name, **spec.kwargs)
    assert {r.name: r.status for r in batch.results} == {s.name: "pass" for s in result.tables}

    def published(name):
        return pd.read_csv(tmp_path / "export" / f"{name}.csv", dtype=str, keep_default_na=False)

    pairs = published("samenhang_paren")
    with_empty = (pairs["antecedent"] == EMPTY) | (pairs["consequent"] == EMPTY)
    assert with_empty.sum() == 2 * len(DOMAINS)
    assert (pairs.loc[with_empty].drop(columns=["antecedent", "consequent"]) == "x").all().all()
    # The other pairs are published with their counts (households with both, from the cube).
    assert (pairs.loc[~with_empty, "n_households_rule"] != "x").any()
    corr = published("samenhang_correlatie_kosten")
    rows = (corr["domein_a"] == EMPTY) | (corr["domein_b"] == EMPTY)
    assert rows.sum() == len(DOMAINS) and (corr.loc[rows, ["pearson", "spearman"]] == "x").all().all()
    assert not corr.loc[~rows, "pearson"].isin(["x", "nan", ""]).all()
    for name in ("samenhang_clusters", "samenhang_klassen"):
        profile = published(name)
        assert not any(EMPTY in c for c in profile.columns)
        notes = (tmp_path / "export" / f"{name}.notes.txt").read_text(encoding="utf-8")
        assert f"{EMPTY} = {EMPTY}" in notes
    # No published figure of the whole export is 'nan' or 'inf'.
    for path in (tmp_path / "export").glob("samenhang_*.csv"):
        text = path.read_text(encoding="utf-8").lower()
        assert "nan" not in re.findall(r"[a-z]+", text) and "inf" not in re.findall(r"[a-z]+", text), path.name


# ---------------------------------------------------------------------------------- a pipeline run

@pytest.fixture(scope="module")
def run_without_halt(small_dataset, tmp_path_factory):
    """The small data set for the whole country, with Halt configured but without records."""
    from lib.pipeline import all_steps, run_steps
    from tests.test_coherence_step import national_config
    folder = tmp_path_factory.mktemp("coherence_empty_halt")
    empty = folder / "halt"
    for year in range(2018, 2024):
        (empty / str(year)).mkdir(parents=True)
        (empty / str(year) / f"HALT{year}TABV1.csv").write_text(      # the built-in (yearly) layout's header
            ",".join(CBS_DATASETS["HALTTAB"].columns) + "\n", encoding="utf-8")
    # Every fine domain counts as a domain of its own ([domains] counting_groups = {}): Halt is then a
    # coherence group of its own without costs (counted with the justice chain, the group has costs).
    path = national_config(small_dataset, folder, "\n[domains]\ncounting_groups = {}\n")
    text = re.sub(r'^HALTTAB = .*$', f'HALTTAB = "{empty.as_posix()}/*/HALT*TABV*.*"', path.read_text(encoding="utf-8"),
                  flags=re.M)
    assert f'HALTTAB = "{empty.as_posix()}' in text
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    run_steps(config, [s.name for s in all_steps()])
    return config


def test_a_run_names_the_measured_domain_without_costs(run_without_halt):
    from lib.steps.households import run_domains
    from lib.workfiles import read_table
    config = run_without_halt
    measured, _ = run_domains(config)
    cube = read_table(config.work_dir / "05_cube" / "households")
    # Halt has no records here (the data set has no youth probation records either).
    empty = {d for d in measured if f"cost_{d}" not in cube.columns}
    assert EMPTY in measured and EMPTY in empty and len(empty) < len(measured)
    export = config.export_dir
    notes = (export / "samenhang_paren.notes.txt").read_text(encoding="utf-8")
    listed = re.search(r"Domeinen \(groepen\) in de samenhanganalyse: (.*)\.$", notes, flags=re.M).group(1)
    assert [part.split(" = ")[0] for part in listed.split("; ")] == measured
    assert re.search(r"Domeinen: gemeten, met een bron in deze run: ([^;\n]*)", notes).group(1).split(", ") == measured
    # Every pair with an empty domain is in the pair table, every figure suppressed; a published
    # pair's count is the cube's number of households with costs in both.
    pairs = pd.read_csv(export / "samenhang_paren.csv", dtype=str, keep_default_na=False)
    assert len(pairs) == len(measured) * (len(measured) - 1)
    rows = pairs["antecedent"].isin(empty) | pairs["consequent"].isin(empty)
    assert (pairs.loc[rows].drop(columns=["antecedent", "consequent"]) == "x").all().all()
    present = {d: cube[f"cost_{d}"].to_numpy() > 0 for d in measured if d not in empty}
    shown = pairs[~rows & (pairs["n_households_rule"] != "x")]
    assert len(shown)
    for row in shown.itertuples():
        assert int(row.n_households_rule) == int((present[row.antecedent] & present[row.consequent]).sum())
    corr = pd.read_csv(export / "samenhang_correlatie_kosten.csv", dtype=str, keep_default_na=False)
    assert len(corr) == math.comb(len(measured), 2)
    rows = corr["domein_a"].isin(empty) | corr["domein_b"].isin(empty)
    assert (corr.loc[rows, ["pearson", "spearman"]] == "x").all().all()
    for name in ("samenhang_clusters", "samenhang_klassen"):
        profile = pd.read_csv(export / f"{name}.csv", dtype=str, keep_default_na=False)
        assert not any(c.endswith(f"_{d}") for c in profile.columns for d in empty)
        # Only groups on at least 13 clustered households have columns (the empty ones have none).
        shown_groups = {c[len("pct_"):] for c in profile.columns if c.startswith("pct_") and not c.startswith("pct_type")}
        assert shown_groups == {d for d, v in present.items() if v.sum() >= profile_min_households(10, 0.3)}
        assert shown_groups and not (profile == "nan").any().any()
    # The other tables keep Halt as a suppressed zero cell, as before.
    reach = pd.read_csv(export / "bereik_per_domein.csv", dtype=str, keep_default_na=False).set_index("domein")
    assert (reach.loc[sorted(empty), "n_households"] == "x").all()
    # The latent class models count a parameter per class for every measured domain.
    choice = pd.read_csv(export / "samenhang_keuze_klassen.csv", dtype=str, keep_default_na=False)
    k = choice["aantal_klassen"].astype(int)
    assert choice["parameters"].astype(float).tolist() == [float((x - 1) + x * len(measured)) for x in k]
