"""Selection: criteria worked out by hand, and the list of households never leaves the work folder."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.config import ConfigError, load_config
from lib.pipeline import run_steps, step_folder
from lib.selection import SelectionRefused, check_list_allowed, select_households
from lib.synthetic.truth import load_cpi
from tests.conftest import SMALL_SPEC as SPEC

DOMAINS = ["bijstand", "jeugdhulp", "wmo"]


def households():
    # Ten households with costs (h0..h9) and two without; h9 has moved away.
    cost = {"bijstand": [9000, 0, 500, 0, 800, 0, 0, 100, 0, 50000, 0, 0],
            "jeugdhulp": [9000, 20000, 0, 0, 900, 0, 300, 0, 700, 0, 0, 0],
            "wmo": [0, 0, 0, 4000, 900, 200, 0, 0, 0, 0, 0, 0]}
    frame = pd.DataFrame({"household": range(12), "still_resident": [True] * 9 + [False] + [True] * 2})
    for d in DOMAINS:
        frame[f"cost_{d}"] = cost[d]
    frame["cost_total"] = frame[[f"cost_{d}" for d in DOMAINS]].sum(axis=1)
    frame["n_domains"] = (frame[[f"cost_{d}" for d in DOMAINS]] > 0).sum(axis=1)
    return frame


def settings(**kw):
    base = {"top_share": 0.0, "min_domains": 0, "combinations": [], "min_cost": 0.0, "resident_only": True,
            "combine": "all"}
    return base | kw


def picked(**kw):
    return np.flatnonzero(select_households(households(), DOMAINS, settings(**kw))).tolist()


def test_each_criterion_by_hand():
    # Totals: h0 18000, h1 20000, h2 500, h3 4000, h4 2600, h5 200, h6 300, h7 100, h8 700, h9 50000.
    # The one ranking: all 12 households (also h10, h11 without costs); the top 20% are the
    # ceil(0.2 x 12) = 3 most expensive: h9 (moved away), h1 and h0.
    assert picked(top_share=0.2) == [0, 1]
    assert picked(top_share=0.2, resident_only=False) == [0, 1, 9]
    assert picked(top_share=0.1, resident_only=False) == [1, 9]          # ceil(1.2) = 2
    assert picked(min_domains=2) == [0, 4]
    assert picked(combinations=[["jeugdhulp", "wmo"], ["bijstand", "jeugdhulp"]]) == [0, 4]
    assert picked(min_cost=4000) == [0, 1, 3]
    assert picked(min_cost=4000, min_domains=2) == [0]
    assert picked(min_cost=4000, min_domains=2, combine="any") == [0, 1, 3, 4]


def test_nothing_selected_without_criteria_and_unknown_domains_are_named():
    with pytest.raises(ValueError, match="sets no criterion"):
        picked()
    with pytest.raises(ValueError, match=r"unknown domain\(s\) \['schulden'\]"):
        picked(combinations=[["schulden"]])


def test_a_statistics_only_run_refuses_the_list(small_dataset, tmp_path):
    with pytest.raises(SelectionRefused, match="statistics only"):
        check_list_allowed(statistics_only=True, write_list=True)
    check_list_allowed(statistics_only=False, write_list=True)
    text = (small_dataset / "config.toml").read_text(encoding="utf-8") + "\n[selection]\nwrite_list = true\n"
    path = tmp_path / "ra.toml"
    path.write_text(text.replace('"cbs/', f'"{(small_dataset / "cbs").as_posix()}/'), encoding="utf-8")
    with pytest.raises(ConfigError, match="write_list = true is refused in a statistics-only run"):
        load_config(path)


def _municipal_selection_run(small_dataset, tmp_path, name: str, selection: str):
    """The municipal route of the small data set with work and export folders of its own and the
    given [selection] settings, run whole."""
    text = (small_dataset / "config_gemeente.toml").read_text(encoding="utf-8")
    text = (text.replace('work_dir = "work_gemeente"', f'work_dir = "{(tmp_path / "work").as_posix()}"')
            .replace('export_dir = "export_gemeente"', f'export_dir = "{(tmp_path / "export").as_posix()}"')
            + f"\n[selection]\n{selection}")
    path = small_dataset / f"config_{name}.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    run_steps(config)
    return config


def test_the_list_stays_in_the_work_folder(small_dataset, tmp_path):
    config = _municipal_selection_run(small_dataset, tmp_path, "selection_list", "write_list = true\ntop_share = 0.10\n")
    listing = pd.read_csv(step_folder(config, "selection") / "selection_list.csv", dtype=str)
    assert len(listing) > 0 and listing["members"].str.fullmatch(r"\d{9}( \d{9})*").all()
    exported = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in (tmp_path / "export").rglob("*")
                         if p.is_file())
    assert "selection_list" not in exported
    for bsn in listing["members"].str.split().explode().head(50):
        assert bsn not in exported
    assert (tmp_path / "export" / "selectie_huishoudtype.csv").is_file()


def test_the_profile_lists_every_domain_with_a_source_and_every_household_type(small_dataset, tmp_path):
    """Municipal route: the selected group is small, so some domains and types have no selected
    household. They are published as (suppressed) zero cells, never left out."""
    config = _municipal_selection_run(small_dataset, tmp_path, "selection_profile",
                                      'top_share = 0.0\ncombinations = [["bijstand", "wmo"], ["bijstand", "schuldhulp"]]\n'
                                      'combine = "any"\n')

    # Independently: households of the BRP extract (one per location code, institutional ones
    # left out), their true costs per domain from the truth of the appendix-2 files, those with
    # costs in bijstand and in wmo or schuldhulp.
    brp = pd.read_csv(small_dataset / "gemeente" / "brp_extract.csv", sep=";", dtype=str)
    institutional = brp.groupby("Locatiecode")["Gezinsrelatie"].agg(lambda r: (r == "I").any())
    brp = brp[~brp["Locatiecode"].map(institutional)]
    costs = pd.read_csv(small_dataset / "truth" / "municipal_costs_person_year.csv", dtype={"bsn": str})
    cpi = load_cpi()
    costs["cost"] = costs["amount_nominal"] * cpi[SPEC.last_year] / cpi.reindex(costs["year"]).to_numpy()
    costs = costs.merge(brp[["BSN", "Locatiecode"]], left_on="bsn", right_on="BSN")
    has = costs.groupby(["Locatiecode", "domain"])["cost"].sum().unstack(fill_value=0.0) > 0
    top = has.index[has["bijstand"] & (has["wmo"] | has["schuldhulp"])]
    assert len(top) >= config.disclosure_rules.min_units
    per_domain = costs[costs["Locatiecode"].isin(top)].groupby(["Locatiecode", "domain"])["cost"].sum()
    domains = sorted(costs["domain"].unique())           # the domains the providers' files deliver
    assert domains == ["bijstand", "jeugdhulp", "schuldhulp", "wmo"]
    # The profile counts the method's domains (bijstand is Werk & Inkomen, youth care Jeugd).
    method_domain = {"bijstand": "werk_en_inkomen", "jeugdhulp": "jeugd", "schuldhulp": "schuldhulp", "wmo": "wmo"}
    counted = sorted(method_domain.values())
    n_domain = (per_domain[per_domain > 0].reset_index().assign(domain=lambda f: f["domain"].map(method_domain))
                .groupby("domain")["Locatiecode"].nunique().reindex(counted, fill_value=0))
    assert (n_domain == 0).any(), "the test needs a domain without selected households"
    children = (brp[brp["Locatiecode"].isin(top)].groupby("Locatiecode")["Gezinsrelatie"]
                .agg(lambda r: int((r == "K").sum())).clip(upper=3))
    n_children = children.value_counts().reindex([0, 1, 2, 3], fill_value=0).to_numpy()

    export, evidence = tmp_path / "export", tmp_path / "work" / "evidence"

    def cells(name):
        return pd.read_csv(evidence / f"{name}.cells.csv", dtype=str, keep_default_na=False)

    published = pd.read_csv(export / "selectie_domeinen.csv", dtype=str)
    assert published["domein"].tolist() == ["Totaal"] + counted
    got = cells("selectie_domeinen").set_index("domein")["true_n_households"].astype(float)
    assert got.to_dict() == {"Totaal": len(top), **n_domain.astype(float).to_dict()}
    for d in n_domain.index[n_domain == 0]:
        assert published.set_index("domein").loc[d, "n_households"] == "x"
    notes = (export / "selectie_domeinen.notes.txt").read_text(encoding="utf-8")
    assert ("Domeinen: gemeten, met een bron in deze run: bijstand, jeugdhulp, schuldhulp, wmo; niet opgenomen, want "
            "zonder bron in deze run (niet gemeten, dus niet nul): detentie, halt, jeugdbescherming, jeugdreclassering, "
            "om_rechtspraak, overige_uitkering, overige_zorg, politie, sancties") in notes

    types = pd.read_csv(export / "selectie_huishoudtype.csv", dtype=str)["huishoudtype"].tolist()
    assert types == ["Totaal", "eenpersoons", "paar zonder kinderen", "paar met kinderen", "eenouder", "overig"]
    n_types = cells("selectie_huishoudtype")["true_n_households"].astype(float).to_numpy()
    assert n_types[0] == len(top) == n_types[1:].sum() and (n_types[1:] == 0).any()

    kids = cells("selectie_kosten")
    assert kids["kinderen"].tolist() == ["Totaal", "0", "1", "2", "3+"]
    assert kids["true_n_households"].astype(float).tolist() == [len(top), *n_children]
