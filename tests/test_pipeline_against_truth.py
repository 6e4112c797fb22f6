"""Reading, validation, pricing and households on the synthetic data, end to end, against the truth."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.config import load_config
from lib.dates import year_of_month
from lib.pipeline import run_steps, step_folder
from lib.synthetic.truth import load_cpi
from lib.workfiles import read_table

STEPS = ["inventory", "read_sources", "price", "households"]


@pytest.fixture(scope="module")
def cbs_run(small_dataset):
    config = load_config(small_dataset / "config.toml")
    run_steps(config, STEPS)
    return config


@pytest.fixture(scope="module")
def municipal_run(small_dataset):
    config = load_config(small_dataset / "config_gemeente.toml")
    run_steps(config, STEPS)
    return config


def test_every_row_and_euro_balances(cbs_run, municipal_run):
    for config in (cbs_run, municipal_run):
        rec = pd.read_csv(step_folder(config, "read_sources") / "reconciliation.csv")
        assert (rec["rows_read"] == rec["rows_used"] + rec["rows_rejected"] + rec["rows_superseded"]).all()
        amounts = rec.dropna(subset=["amount_read"])
        assert ((amounts["amount_used"] + amounts["amount_rejected"] + amounts["amount_clipped"]
                 - amounts["amount_read"]).abs() <= 0.01).all()
        rejections = pd.read_csv(step_folder(config, "read_sources") / "rejections.csv")
        kept = sum(len(pd.read_csv(p)) for p in (step_folder(config, "read_sources") / "rejected").glob("*.csv"))
        assert rejections["rows"].sum() == kept == rec["rows_rejected"].sum()


def test_municipal_route_recovers_the_truth_to_the_cent(small_dataset, municipal_run):
    records = read_table(step_folder(municipal_run, "read_sources") / "records")
    got = records.groupby("domain", observed=True)["amount"].sum()
    got.index = got.index.astype(str)
    truth = pd.read_csv(small_dataset / "truth" / "municipal_costs_person_year.csv").groupby("domain")["amount_nominal"].sum()
    pd.testing.assert_series_equal(got.sort_index(), truth.sort_index(), check_names=False, atol=0.01, rtol=0)


def test_rejected_rows_are_exactly_the_planted_bad_rows(small_dataset, municipal_run):
    dirt = pd.read_csv(small_dataset / "truth" / "dirt.csv")
    expected = dirt[~dirt["kind"].isin(["credit_note_pair", "straddles_start"])]
    folder = step_folder(municipal_run, "read_sources") / "rejected"
    got = pd.concat([pd.read_csv(p).assign(file=f"gemeente/kosten/{p.stem.split('_', 1)[1]}")
                     for p in folder.glob("appendix2*.csv")])
    assert sorted(zip(got["file"], got["line"])) == sorted(zip(expected["file"], expected["line"]))


def test_non_linkable_cbs_rows_are_set_aside_and_counted(small_dataset, cbs_run):
    rejections = pd.read_csv(step_folder(cbs_run, "read_sources") / "rejections.csv")
    not_r = rejections[rejections["reason"].str.startswith("RINPERSOONS is not")].set_index("source")["rows"]
    assert set(not_r.index) == {"JGDHULPBUS", "WMOBUS", "VERDTAB"}
    assert (not_r > 0).all()


def test_both_routes_find_the_same_households(cbs_run, municipal_run):
    cbs = read_table(step_folder(cbs_run, "households") / "households")
    brp = read_table(step_folder(municipal_run, "households") / "households")
    cbs = cbs[cbs["in_area"]]
    assert len(cbs) == len(brp)
    for column in ("household_type", "n_persons", "n_children", "institutional"):
        assert cbs[column].value_counts().sort_index().equals(brp[column].value_counts().sort_index()), column


def test_every_person_with_costs_is_accounted_for(cbs_run):
    population = pd.read_csv(step_folder(cbs_run, "households") / "population.csv").set_index("what")["number"]
    parts = [v for k, v in population.items() if k.startswith("  of which")]
    assert sum(parts) == population["persons with a cost record"]
    # Every euro of the ledger, computed here from the ledger itself.
    euros = pd.read_csv(step_folder(cbs_run, "households") / "population.csv").set_index("what")["euros"]
    ledger = read_table(step_folder(cbs_run, "price") / "ledger", columns=["person", "cost"])
    assert euros["persons with a cost record"] == pytest.approx(ledger["cost"].sum(), abs=0.005)
    parts = euros[[k for k in euros.index if k.startswith("  of which")]]
    assert parts.sum() == pytest.approx(ledger["cost"].sum(), abs=0.005)
    households = read_table(step_folder(cbs_run, "households") / "households")
    members = read_table(step_folder(cbs_run, "households") / "members")
    included = members.loc[members["household"].isin(households.loc[households["included"], "household"]), "person"]
    expected = ledger.loc[ledger["person"].isin(included), "cost"].sum()
    assert expected > 0
    assert parts["  of which in an included household of the study area at the peildatum"] == pytest.approx(
        expected, abs=0.005)


def test_monthly_attribution_run(small_dataset, tmp_path):
    text = (small_dataset / "config.toml").read_text(encoding="utf-8")
    text = text.replace('attribution = "peildatum"', 'attribution = "monthly"').replace(
        'work_dir = "work"', f'work_dir = "{(tmp_path / "work").as_posix()}"').replace(
        'export_dir = "export"', f'export_dir = "{(tmp_path / "export").as_posix()}"')
    path = small_dataset / "config_monthly.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    run_steps(config, STEPS + ["cube", "baseline"])
    spells = read_table(step_folder(config, "households") / "membership_spells")
    assert len(spells) > 0 and (spells["end"] >= spells["start"]).all()
    # Every euro of the monthly cube comes from the ledger, month by month: a household
    # spell's costs are those of its members in the months they belonged to it.
    cube = read_table(step_folder(config, "cube") / "household_cube")
    households = read_table(step_folder(config, "cube") / "households")
    ledger = read_table(step_folder(config, "price") / "ledger")
    assert 0 < cube["cost"].sum() < ledger["cost"].sum()
    assert set(cube["household"]) <= set(households["household"])
    assert abs(households["cost_total"].sum() - cube["cost"].sum()) < 0.01
    at_peildatum = read_table(step_folder(load_config(small_dataset / "config.toml"), "households") / "households")
    # The monthly population also holds the household spells that ended during the period.
    assert len(households) > int(at_peildatum["included"].sum())


def ledger_by_person_year_domain(config) -> pd.Series:
    ledger = read_table(step_folder(config, "price") / "ledger")
    persons = read_table(step_folder(config, "read_sources") / "persons")
    key = persons["key"].to_numpy()[ledger["person"].to_numpy()]
    frame = pd.DataFrame({"key": key, "year": year_of_month(ledger["month"].to_numpy()),
                          "domain": ledger["domain"].astype(str), "cost": ledger["cost"]})
    return frame.groupby(["key", "year", "domain"])["cost"].sum()


def in_price_year(truth: pd.DataFrame, nominal: str, price_year: int) -> pd.Series:
    cpi = load_cpi()
    return truth[nominal] * cpi[price_year] / cpi.reindex(truth["year"]).to_numpy()


def compare(got: pd.Series, truth: pd.Series) -> pd.DataFrame:
    truth.index.names = got.index.names
    both = pd.concat([got.rename("got"), truth.rename("truth")], axis=1).fillna(0.0)
    return both.assign(diff=(both["got"] - both["truth"]).abs())


def test_cbs_route_recovers_every_persons_true_cost_to_the_cent(small_dataset, cbs_run):
    truth = pd.read_csv(small_dataset / "truth" / "costs_person_year.csv")
    truth = truth[truth["source"] != "kredietbank"]               # debt help exists only in the municipal route
    truth = truth.assign(cost=in_price_year(truth, "cost_nominal", cbs_run["prices"]["price_year"]))
    both = compare(ledger_by_person_year_domain(cbs_run), truth.groupby(["rinpersoon", "year", "domain"])["cost"].sum())
    assert len(both) > 1000 and both["truth"].sum() > 0
    assert both["diff"].max() < 0.005, both.sort_values("diff").tail()


def test_municipal_route_recovers_the_delivered_amounts_to_the_cent(small_dataset, municipal_run):
    truth = pd.read_csv(small_dataset / "truth" / "municipal_costs_person_year.csv")
    truth = truth.assign(cost=in_price_year(truth, "amount_nominal", municipal_run["prices"]["price_year"]))
    both = compare(ledger_by_person_year_domain(municipal_run), truth.groupby(["bsn", "year", "domain"])["cost"].sum())
    assert both["diff"].max() < 0.005, both.sort_values("diff").tail()


def test_bijstand_from_yearly_amounts_equals_the_spells_within_rounding(small_dataset, cbs_run, tmp_path):
    text = (small_dataset / "config.toml").read_text(encoding="utf-8").replace(
        'bijstand_from = "spells"', 'bijstand_from = "yearly_amounts"').replace(
        'work_dir = "work"', f'work_dir = "{(tmp_path / "work").as_posix()}"')
    path = small_dataset / "config_amounts.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    run_steps(config, ["inventory", "read_sources", "price"])
    amounts = ledger_by_person_year_domain(config).xs("bijstand", level="domain")
    spells = ledger_by_person_year_domain(cbs_run).xs("bijstand", level="domain")
    both = compare(amounts, spells)
    # Amounts paid are the spells' costs rounded to the cent per person and year (then indexed).
    assert both["diff"].max() < 0.006 and len(both) > 10


def test_pricing_in_small_chunks_gives_the_same_ledger(cbs_run):
    from lib.pricing import load_price_index, load_price_table, price_records
    records = read_table(step_folder(cbs_run, "read_sources") / "records")
    prices = load_price_table(cbs_run.resolve(cbs_run["prices"]["price_tables"][0]))
    index = load_price_index(cbs_run.resolve(cbs_run["prices"]["index"]))
    whole = price_records(records, prices, index, 2023)
    chunked = price_records(records, prices, index, 2023, chunk_records=500)
    pd.testing.assert_frame_equal(whole.ledger, chunked.ledger)
    np.testing.assert_allclose(whole.record_cost, chunked.record_cost, rtol=0, atol=1e-9)


def test_cube_summed_in_small_chunks_equals_a_plain_groupby(cbs_run):
    from lib.cube import build_cube
    ledger = read_table(step_folder(cbs_run, "price") / "ledger")
    households = read_table(step_folder(cbs_run, "households") / "households")
    members = read_table(step_folder(cbs_run, "households") / "members")
    whole = build_cube(ledger, households, members, "peildatum")
    chunked = build_cube(ledger, households, members, "peildatum", chunk_rows=997)
    pd.testing.assert_frame_equal(whole.person_cube, chunked.person_cube)
    pd.testing.assert_frame_equal(whole.household_cube, chunked.household_cube, rtol=1e-12)
    # Independently: every ledger row of a member of an included household, to that household.
    included = members[members["household"].isin(households.loc[households["included"], "household"])]
    expected = (ledger.merge(included[["person", "household"]], on="person")
                .assign(year=lambda x: year_of_month(x["month"].to_numpy()), domain=lambda x: x["domain"].astype(str))
                .groupby(["household", "domain", "year"])["cost"].sum())
    got = chunked.household_cube.astype({"domain": str}).set_index(["household", "domain", "year"])["cost"]
    pd.testing.assert_series_equal(got, expected, check_names=False, check_index_type=False, rtol=1e-9)
    assert len(ledger) > 997 * 3  # several chunks were really summed
