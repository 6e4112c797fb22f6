"""Reading, validation and households on the synthetic data, end to end, against the truth."""
from __future__ import annotations

import pandas as pd
import pytest

from lib.config import load_config
from lib.pipeline import run_steps
from lib.workfiles import read_table

STEPS = ["inventory", "read_sources", "households"]


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
        rec = pd.read_csv(config.work_dir / "02_read_sources" / "reconciliation.csv")
        assert (rec["rows_read"] == rec["rows_used"] + rec["rows_rejected"] + rec["rows_superseded"]).all()
        amounts = rec.dropna(subset=["amount_read"])
        assert ((amounts["amount_used"] + amounts["amount_rejected"] + amounts["amount_clipped"]
                 - amounts["amount_read"]).abs() <= 0.01).all()
        rejections = pd.read_csv(config.work_dir / "02_read_sources" / "rejections.csv")
        kept = sum(len(pd.read_csv(p)) for p in (config.work_dir / "02_read_sources" / "rejected").glob("*.csv"))
        assert rejections["rows"].sum() == kept == rec["rows_rejected"].sum()


def test_municipal_route_recovers_the_truth_to_the_cent(small_dataset, municipal_run):
    records = read_table(municipal_run.work_dir / "02_read_sources" / "records")
    got = records.groupby("domain", observed=True)["amount"].sum()
    got.index = got.index.astype(str)
    truth = pd.read_csv(small_dataset / "truth" / "municipal_costs_person_year.csv").groupby("domain")["amount_nominal"].sum()
    pd.testing.assert_series_equal(got.sort_index(), truth.sort_index(), check_names=False, atol=0.01, rtol=0)


def test_rejected_rows_are_exactly_the_planted_bad_rows(small_dataset, municipal_run):
    dirt = pd.read_csv(small_dataset / "truth" / "dirt.csv")
    expected = dirt[~dirt["kind"].isin(["credit_note_pair", "straddles_start"])]
    folder = municipal_run.work_dir / "02_read_sources" / "rejected"
    got = pd.concat([pd.read_csv(p).assign(file=f"gemeente/kosten/{p.stem.split('_', 1)[1]}")
                     for p in folder.glob("appendix2*.csv")])
    assert sorted(zip(got["file"], got["line"])) == sorted(zip(expected["file"], expected["line"]))


def test_non_linkable_cbs_rows_are_set_aside_and_counted(small_dataset, cbs_run):
    rejections = pd.read_csv(cbs_run.work_dir / "02_read_sources" / "rejections.csv")
    not_r = rejections[rejections["reason"].str.startswith("RINPERSOONS is not")].set_index("source")["rows"]
    assert set(not_r.index) == {"JGDHULPBUS", "WMOBUS", "VERDTAB"}
    assert (not_r > 0).all()


def test_both_routes_find_the_same_households(cbs_run, municipal_run):
    cbs = read_table(cbs_run.work_dir / "03_households" / "households")
    brp = read_table(municipal_run.work_dir / "03_households" / "households")
    cbs = cbs[cbs["in_area"]]
    assert len(cbs) == len(brp)
    for column in ("household_type", "n_persons", "n_children", "institutional"):
        assert cbs[column].value_counts().sort_index().equals(brp[column].value_counts().sort_index()), column


def test_every_person_with_costs_is_accounted_for(cbs_run):
    population = pd.read_csv(cbs_run.work_dir / "03_households" / "population.csv").set_index("what")["number"]
    parts = [v for k, v in population.items() if k.startswith("  of which")]
    assert sum(parts) == population["persons with a cost record"]


def test_monthly_attribution_run(small_dataset, tmp_path):
    text = (small_dataset / "config.toml").read_text(encoding="utf-8")
    text = text.replace('attribution = "peildatum"', 'attribution = "monthly"').replace(
        'work_dir = "work"', f'work_dir = "{(tmp_path / "work").as_posix()}"').replace(
        'export_dir = "export"', f'export_dir = "{(tmp_path / "export").as_posix()}"')
    path = small_dataset / "config_monthly.toml"
    path.write_text(text, encoding="utf-8")
    run_steps(load_config(path), STEPS)
    spells = read_table(tmp_path / "work" / "03_households" / "membership_spells")
    assert len(spells) > 0 and (spells["end"] >= spells["start"]).all()
