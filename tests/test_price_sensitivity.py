"""The price sensitivity run: the main figures under a low and a high price table, beside the run's.

Independent side: the truth folder's true costs per household and domain (as in test_baseline).
The high table doubles every police price, the low one halves it, so under them a household's
cost is its true cost plus (or minus half) its true police cost, computed here with pandas.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from lib.config import REFERENCE_DATA, load_config
from lib.errors import UserFacingError
from lib.pipeline import run_steps
from tests.test_baseline import COUNTED_DOMAINS, evidence, truth_households  # noqa: F401  (a fixture)

FACTOR = {"laag": 0.5, "hoog": 2.0}


@pytest.fixture(scope="module")
def run(small_dataset, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sensitivity")
    prices = pd.read_csv(REFERENCE_DATA / "prices_default.csv", dtype=str, keep_default_na=False)
    police = prices[prices["source"] == "VERDTAB"]
    assert len(police)
    tables = {}
    for scenario, factor in FACTOR.items():
        # Not rounded to cents: the expected costs below are the true costs times the factor exactly.
        table = police.assign(price=(police["price"].astype(float) * factor).map(repr))
        tables[scenario] = folder / f"prices_{scenario}.csv"
        table.to_csv(tables[scenario], index=False, encoding="utf-8")
    text = (small_dataset / "config.toml").read_text(encoding="utf-8")
    text = (text.replace('work_dir = "work"', f'work_dir = "{(folder / "work").as_posix()}"')
            .replace('export_dir = "export"', f'export_dir = "{(folder / "export").as_posix()}"'))
    text += (f'\n[sensitivity]\nprice_tables_laag = ["{tables["laag"].as_posix()}"]\n'
             f'price_tables_hoog = ["{tables["hoog"].as_posix()}"]\n')
    path = small_dataset / "config_sensitivity.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    run_steps(config)
    return config


def test_costs_per_domain_under_each_price_table(run, truth_households):
    _, cube = truth_households
    police = cube[cube["domain"] == "politie"].groupby("method_domain")["cost"].sum()
    base = cube.groupby("method_domain")["cost"].sum().reindex(COUNTED_DOMAINS, fill_value=0.0)
    cells = evidence(run, "prijsgevoeligheid_domeinen").set_index("domein")
    for d in COUNTED_DOMAINS:
        assert float(cells.loc[d, "true_sum_kosten"]) == pytest.approx(base[d], abs=0.05)
        for scenario, factor in FACTOR.items():
            expected = base[d] + (factor - 1) * police.get(d, 0.0)
            assert float(cells.loc[d, f"true_sum_kosten_{scenario}"]) == pytest.approx(expected, abs=0.05)
    assert police["justitie"] > 0          # the police prices matter in these data
    published = pd.read_csv(run.export_dir / "prijsgevoeligheid_domeinen.csv", dtype=str)
    assert published.columns.tolist() == ["domein", "n_households", "sum_kosten", "sum_kosten_laag", "sum_kosten_hoog"]
    assert published["domein"].tolist() == ["Totaal"] + COUNTED_DOMAINS


def test_concentration_under_each_price_table_ranks_by_its_own_prices(run, truth_households):
    households, cube = truth_households
    police = cube[cube["domain"] == "politie"].groupby("HUISHOUDNR")["cost"].sum()
    total = cube.groupby("HUISHOUDNR")["cost"].sum().reindex(households["HUISHOUDNR"], fill_value=0.0)
    police = police.reindex(total.index, fill_value=0.0)
    for scenario, factor in FACTOR.items():
        cost = (total + (factor - 1) * police).sort_values(ascending=False).to_numpy()
        cells = evidence(run, f"prijsgevoeligheid_concentratie_{scenario}")
        shown = cells[cells["segment"].str.startswith("top ")]
        assert len(shown)
        for row in shown.itertuples():
            share = float(row.segment[4:].rstrip("%").replace(",", ".")) / 100
            k = int(np.ceil(share * len(cost) - 1e-9))
            assert float(getattr(row, f"true_share_of_kosten_{scenario}_pct")) == pytest.approx(100 * cost[:k].sum() / cost.sum(), abs=1e-6)


def test_the_top_group_and_the_selection_under_each_price_table(run, truth_households):
    households, cube = truth_households
    n_top = int(np.ceil(run["baseline"]["top_group_share"] * len(households) - 1e-9))
    top = evidence(run, "prijsgevoeligheid_top")
    totals = top[top["domein"] == "Totaal"].set_index("prijzen")["true_n_households"].astype(float)
    # Every ranking's top group has ceil(x N) households, those without costs included.
    with_costs = top[(top["domein"] != "Totaal")]
    assert set(totals.index) == {"prijzen van de run", "lage prijzen", "hoge prijzen"}
    assert (totals <= n_top).all() and len(with_costs)
    selection = evidence(run, "prijsgevoeligheid_selectie").set_index("prijzen")["true_n_households"].astype(float)
    selected = evidence(run, "selectie_huishoudtype").set_index("huishoudtype")["true_n_households"].astype(float)
    assert selection["prijzen van de run"] == selected["Totaal"]
    notes = (run.export_dir / "prijsgevoeligheid_selectie.notes.txt").read_text(encoding="utf-8")
    assert "Gevoeligheid voor de prijzen" in notes and "price_tables_laag" in notes
    # The whole export, sensitivity tables included, passes the export check (no statistic in notes).
    assert "RESULT: no findings" in (run.work_dir / "10_export" / "check_export.txt").read_text(encoding="utf-8")


def test_one_end_only_is_refused(small_dataset, tmp_path):
    text = (small_dataset / "config.toml").read_text(encoding="utf-8")
    text = text.replace('work_dir = "work"', f'work_dir = "{(tmp_path / "work").as_posix()}"')
    text += f'\n[sensitivity]\nprice_tables_hoog = ["{(REFERENCE_DATA / "prices_default.csv").as_posix()}"]\n'
    path = small_dataset / "config_sensitivity_one_end.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserFacingError, match="give both price_tables_laag and price_tables_hoog"):
        run_steps(load_config(path), ["inventory", "read_sources", "price"])


def test_the_report_states_the_sensitivity_beside_the_main_figures(run):
    html = next((run.work_dir).glob("11_report/report.html")).read_text(encoding="utf-8")
    domains = pd.read_csv(run.export_dir / "prijsgevoeligheid_domeinen.csv", dtype=str).set_index("domein")
    base, low, high = (float(domains.loc["Totaal", c]) for c in ("sum_kosten", "sum_kosten_laag", "sum_kosten_hoog"))
    # Percentages in Dutch format, computed here with plain arithmetic (whole percents: no decimal comma).
    assert (f"de totale kosten zijn {round(low / base * 100)}% van die bij de prijzen van de run met de lage "
            f"prijstabel en {round(high / base * 100)}% met de hoge") in html
    # The shares of the three price tables with a decimal comma, as published in the tables.
    top = pd.read_csv(run.export_dir / "concentratie_top.csv", dtype=str).set_index("segment")
    low_top = pd.read_csv(run.export_dir / "prijsgevoeligheid_concentratie_laag.csv", dtype=str).set_index("segment")
    high_top = pd.read_csv(run.export_dir / "prijsgevoeligheid_concentratie_hoog.csv", dtype=str).set_index("segment")
    shares = [t.loc["top 5%", c].replace(".", ",") for t, c in ((top, "share_of_kosten_pct"),
              (low_top, "share_of_kosten_laag_pct"), (high_top, "share_of_kosten_hoog_pct"))]
    assert f"de duurste 5% {shares[0]}% (laag {shares[1]}%, hoog {shares[2]}%)" in html
    assert not re.search(r"\d\.\d%", html)      # no percentage with an English decimal point
