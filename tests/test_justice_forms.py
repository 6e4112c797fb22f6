"""The generator writes the justice registers in the yearly person form (the default, as CBS
documents them) or in the dated form; each is read and priced to the cent of the generator's truth
for that form, and the other files do not depend on the form."""
from __future__ import annotations

import dataclasses
import filecmp
from pathlib import Path

import pandas as pd
import pytest

from lib.config import load_config
from lib.pipeline import run_steps, step_folder
from lib.readers import file_columns, read_cbs_table
from lib.sources import SourceFile
from lib.synthetic.generate import generate
from lib.synthetic.truth import load_cpi, load_prices
from lib.workfiles import read_table
from tests.conftest import SMALL_SPEC
from tests.test_pipeline_against_truth import compare, in_price_year, ledger_by_person_year_domain

STEPS = ["inventory", "read_sources", "price"]
JUSTICE_DOMAINS = ("politie", "detentie", "halt")


def chosen(config) -> list[SourceFile]:
    """The files the inventory chose (any format)."""
    return [SourceFile(r.dataset, Path(r.path), r.year, r.version, r.format)
            for r in pd.read_csv(step_folder(config, "inventory") / "sources.csv").itertuples()]


def justice_truth(dataset_dir, price_year: int) -> pd.Series:
    truth = pd.read_csv(dataset_dir / "truth" / "costs_person_year.csv")
    truth = truth[truth["domain"].isin(JUSTICE_DOMAINS)]
    truth = truth.assign(cost=in_price_year(truth, "cost_nominal", price_year))
    return truth.groupby(["rinpersoon", "year", "domain"])["cost"].sum()


def justice_ledger(config) -> pd.Series:
    got = ledger_by_person_year_domain(config)
    return got[got.index.get_level_values("domain").isin(JUSTICE_DOMAINS)]


@pytest.fixture(scope="module")
def yearly_run(small_dataset, tmp_path_factory):
    text = (small_dataset / "config.toml").read_text(encoding="utf-8").replace(
        'work_dir = "work"', f'work_dir = "{(tmp_path_factory.mktemp("forms") / "work").as_posix()}"')
    path = small_dataset / "config_forms.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    run_steps(config, STEPS)
    return config


@pytest.fixture(scope="module")
def dated_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("dated")
    generate(out, dataclasses.replace(SMALL_SPEC, justice_form="dated", formats=("csv",)), progress=lambda _: None)
    return out


def test_the_default_form_is_the_yearly_person_table(small_dataset, yearly_run):
    verd = [f for f in chosen(yearly_run) if f.dataset == "VERDTAB"]
    assert file_columns(verd[0])[:3] == ["rinpersoons", "rinpersoon", "vrdaantalvermogen"]
    assert "layouts" not in (small_dataset / "config.toml").read_text(encoding="utf-8")


def test_yearly_justice_costs_match_the_truth_to_the_cent(small_dataset, yearly_run):
    both = compare(justice_ledger(yearly_run), justice_truth(small_dataset, yearly_run["prices"]["price_year"]))
    assert set(both.index.get_level_values("domain")) == set(JUSTICE_DOMAINS)
    assert both["diff"].max() < 0.005, both.sort_values("diff").tail()


def test_detention_is_the_detainee_years_times_the_assumed_days(small_dataset, tmp_path):
    """By hand, in a run without the case file (no sentenced days replace any detainee-year): every
    detainee-year of the files in the study period x 123 days x the GW day price in euros of the price
    year (price 2020 brought to 2023 with the CPI)."""
    text = (small_dataset / "config.toml").read_text(encoding="utf-8").replace(
        'work_dir = "work"', f'work_dir = "{(tmp_path / "work").as_posix()}"')
    text = "\n".join(line for line in text.splitlines() if not line.startswith("JUSTITIEZAKENBUS ="))
    path = small_dataset / "config_no_cases.toml"
    path.write_text(text, encoding="utf-8")
    yearly_run = load_config(path)
    run_steps(yearly_run, STEPS)
    persons = read_table(step_folder(yearly_run, "read_sources") / "persons")
    linked = set(persons["key"])
    detainee_years = 0
    for f in chosen(yearly_run):
        if f.dataset == "GEDETINEERDENTAB":
            rows = read_cbs_table(f, ["RINPERSOONS", "RINPERSOON"])
            detainee_years += int(((rows["RINPERSOONS"] == "R") & rows["RINPERSOON"].isin(linked)).sum())
    price = load_prices().query("source == 'GEDETINEERDENTAB' and code == 'GW'").iloc[0]
    cpi = load_cpi()
    expected = detainee_years * 123 * price["price"] * cpi[2023] / cpi[int(price["price_year"])]
    ledger = read_table(step_folder(yearly_run, "price") / "ledger")
    assert detainee_years > 10
    assert ledger.loc[ledger["domain"] == "detentie", "cost"].sum() == pytest.approx(expected, abs=0.01)


def test_the_dated_form_is_read_with_its_layouts_and_matches_its_truth(dated_dataset, small_dataset):
    config = load_config(dated_dataset / "config.toml")
    assert config["sources"]["layouts"] == "layouts_justice_dated.toml"
    run_steps(config, STEPS)
    both = compare(justice_ledger(config), justice_truth(dated_dataset, config["prices"]["price_year"]))
    assert both["diff"].max() < 0.005 and both["truth"].sum() > 0
    # The other files are the same as those of the yearly form: the form draws nothing at random.
    justice = ("VERDTAB", "GEDETINEERDENTAB", "HALTTAB")
    dated_files = [p for p in (dated_dataset / "cbs").rglob("*.csv") if not any(j in p.parts for j in justice)]
    assert len(dated_files) > 10
    for path in dated_files:
        assert filecmp.cmp(path, small_dataset / path.relative_to(dated_dataset), shallow=False), path
