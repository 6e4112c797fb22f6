"""Repeated measurements (issue 18, paragraph 2.5): two baselines in one export, protected together;
the earlier selection followed into the later baseline; the refusals; the synthetic second cycle."""
from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from disclosure_control import SafeWriter
from lib.comparison import (FOLLOW_STATUS, HOUSEHOLDS, REACH, Measurement, check_earlier_run, comparison_tables,
                            earlier_manifests, follow_selection)
from lib.config import load_config
from lib.errors import UserFacingError
from lib.export_requests import collect_requests
from lib.pipeline import freshness, run_steps, step_folder
from lib.report import read_export
from lib.report_comparison import comparison_markdown, comparison_overview, follow_overview
from lib.synthetic.generate import generate
from lib.synthetic.spec import GeneratorSpec
from lib.workfiles import read_table, table_path

COMPARISON_TABLES = ("vergelijking_bereik", "vergelijking_kosten_domein", "vergelijking_concentratie",
                     "selectie_vervolg", "selectie_vervolg_kosten")
BASE_STEPS = ["inventory", "read_sources", "price", "households", "cube", "baseline", "selection"]


def publish(tables, folder: Path):
    """The tables through one safe writer batch, as the export step publishes them; the exported tables."""
    writer = SafeWriter(folder / "export", folder / "evidence")
    with writer.batch() as batch:
        for t in tables:
            getattr(batch, t.method)(t.data, name=t.name, **t.kwargs)
    return {t.name: t for t in read_export(folder / "export")[1]}


# ------------------------------------------------------------------ the differencing of two measurements

def measurement(peildatum: str, years, leavers: bool, offset: int) -> Measurement:
    """30 households of two persons (keys 1..60), each person with one cost in one of three domains;
    with ``leavers`` also household 99 of persons 901 and 902, who cost 50,000 and 70,000 in wmo. The
    shared persons have the same costs in both measurements, so that A minus B is exactly the leavers."""
    keys = np.arange(1, 61)
    domains = np.array(["wmo", "bijstand", "jeugdhulp"])[keys % 3]
    members = pd.DataFrame({"key": keys, "household": offset + (keys - 1) // 2})
    costs = pd.DataFrame({"key": keys, "household": members["household"], "domain": domains, "year": 2021,
                          "cost": 1000.0 + 10 * keys})
    if leavers:
        members = pd.concat([members, pd.DataFrame({"key": [901, 902], "household": offset + 99})], ignore_index=True)
        costs = pd.concat([costs, pd.DataFrame({"key": [901, 902], "household": offset + 99, "domain": "wmo",
                                                "year": 2021, "cost": [50_000.0, 70_000.0]})], ignore_index=True)
    households = pd.DataFrame({"household": np.unique(members["household"])})
    households["cost_total"] = households["household"].map(costs.groupby("household")["cost"].sum()).fillna(0.0)
    households["n_domains"] = households["household"].map(costs.groupby("household")["domain"].nunique()).fillna(0)
    return Measurement(f"nulmeting {peildatum}", dt.date.fromisoformat(peildatum), list(years), households, members,
                       costs, np.array([], dtype=np.int64))


def known_sums(table, value: str, dimension: str) -> dict[tuple[str, str], float]:
    """Every sum a reader gets from the published table by arithmetic: mean x count where both are
    published, and a cell or total from the others of its measurement (the cells of ``dimension`` add up
    to its Totaal: each person's costs are split over them)."""
    rows = table.table.assign(**{c: table.table[c].astype(str) for c in ("meting", dimension)})
    sums = {}
    for r in rows.itertuples(index=False):
        mean, n = getattr(r, f"mean_{value}"), getattr(r, "n_persons")
        if mean != table.symbol and n != table.symbol:
            sums[(r.meting, getattr(r, dimension))] = float(mean) * float(n)
    for m in set(rows["meting"]):
        cells = [c for c in rows.loc[rows["meting"] == m, dimension] if c != "Totaal"]
        unknown = [c for c in cells + ["Totaal"] if (m, c) not in sums]
        if len(unknown) == 1:
            total = sums.get((m, "Totaal"))
            parts = sum(sums[(m, c)] for c in cells if (m, c) in sums)
            sums[(m, unknown[0])] = parts if unknown[0] == "Totaal" else total - parts
    return sums


def test_two_persons_who_left_cannot_be_derived_as_a_difference(tmp_path):
    earlier = measurement("2023-01-01", range(2018, 2023), True, 0)
    later = measurement("2025-01-01", range(2020, 2025), False, 500)
    tables = comparison_tables(earlier, later, {"population": "p"}, 10, ["wmo", "bijstand", "jeugdhulp"])
    # Every figure is about persons, with one universe and the same ids in both measurements.
    for t in tables[:2]:
        assert t.kwargs["unit"] == ["person", "household"] and t.kwargs["metadata"]["universe"] == tables[0].kwargs[
            "metadata"]["universe"]
        assert set(t.data.loc[t.data["meting"] == later.label, "person"]) < set(
            t.data.loc[t.data["meting"] == earlier.label, "person"])
    published = publish(tables, tmp_path)
    secrets = {50_000.0, 70_000.0, 120_000.0}
    for name, dimension in (("vergelijking_bereik", "bereik"), ("vergelijking_kosten_domein", "domein")):
        sums = known_sums(published[name], "kosten", dimension)
        # The figures a reader has: not one difference of the two measurements' cells gives the leavers'
        # costs (without them the two measurements are equal: 120,000 in total, all in wmo).
        for (m, code), value in sums.items():
            if m == earlier.label and (later.label, code) in sums:
                assert min(abs(value - sums[(later.label, code)] - s) for s in secrets) > 1.0, (name, code)
        # Nor any pair of cells at all.
        values = list(sums.values())
        assert not any(abs(a - b - s) < 1.0 for a in values for b in values for s in secrets), name
    # The earlier measurement is published: the protection is on the pair, not by leaving one out.
    bereik = published["vergelijking_bereik"]
    assert bereik.value("n_persons", meting=earlier.label, bereik="Totaal") == 62


# ------------------------------------------------------------------ the selection followed, by hand

def test_selection_followed_worked_out_by_hand():
    # Earlier: household 1 (persons 11, 12, 13) selected, household 2 (14) not. Later: person 11 lives in
    # household 7, selected again; 12 in household 8, not selected; 13 is gone; 14 in household 7.
    earlier = Measurement("nulmeting 2023-01-01", dt.date(2023, 1, 1), [2018, 2019, 2020, 2021, 2022],
                          pd.DataFrame({"household": [1, 2], "cost_total": [9.0, 1.0], "n_domains": [3, 1]}),
                          pd.DataFrame({"key": [11, 12, 13, 14], "household": [1, 1, 1, 2]}),
                          pd.DataFrame(columns=["key", "household", "domain", "year", "cost"]), np.array([1]))
    later = Measurement("nulmeting 2025-01-01", dt.date(2025, 1, 1), [2020, 2021, 2022, 2023, 2024],
                        pd.DataFrame({"household": [7, 8], "cost_total": [500.0, 30.0], "n_domains": [2, 1]}),
                        pd.DataFrame({"key": [11, 14, 12], "household": [7, 7, 8]}),
                        pd.DataFrame({"key": [11, 11, 12, 14], "household": [7, 7, 8, 7], "domain": "wmo",
                                      "year": [2020, 2024, 2024, 2024], "cost": [100.0, 400.0, 30.0, 0.5]}),
                        np.array([7]))
    people, costs = follow_selection(earlier, later, {"population": "p"}, "de duurste 5%")
    got = people.data.assign(situatie=people.data["situatie"].astype(str)).sort_values("person")
    assert got.values.tolist() == [[11, 1, FOLLOW_STATUS[0]], [12, 1, FOLLOW_STATUS[1]], [13, 1, FOLLOW_STATUS[2]]]
    # A panel of the two in the area over the later study years, zero costs included; person 14 (not
    # selected) is not in it.
    panel = costs.data.assign(jaar=costs.data["jaar"].astype(str))
    assert costs.kwargs["panel"] == "jaar" and len(panel) == 2 * 5
    by = panel.set_index(["person", "jaar"])["kosten"]
    assert by[(11, "2020")] == 100.0 and by[(11, "2024")] == 400.0 and by[(12, "2024")] == 30.0
    assert by.sum() == 530.0


# ------------------------------------------------------------------ two cycles of the synthetic data

@pytest.fixture(scope="module")
def two_cycles(tmp_path_factory) -> tuple[Path, Path]:
    """A synthetic population over seven years, two cycles of five; both runs to the selection."""
    out = tmp_path_factory.mktemp("cycles")
    generate(out, GeneratorSpec(households=3_000, seed=11, chunk_households=1_000, n_years=7, cycle_years=5,
                                formats=("csv",)), progress=lambda _: None)
    first, second = out / "config_cyclus1.toml", out / "config_cyclus2.toml"
    run_steps(load_config(first), BASE_STEPS)
    run_steps(load_config(second), BASE_STEPS)
    return first, second


def test_the_generator_writes_a_second_cycle(two_cycles):
    first, second = (load_config(p) for p in two_cycles)
    assert first.years == [2019, 2020, 2021, 2022, 2023] and second.years == [2021, 2022, 2023, 2024, 2025]
    assert first.peildatum == dt.date(2023, 12, 31) and second.peildatum == dt.date(2025, 12, 31)
    assert second.resolve(second["comparison"]["earlier_work_dir"]) == first.work_dir
    # The same synthetic persons in both cycles: most persons of the first baseline are in the second.
    keys = [set(read_table(step_folder(c, "read_sources") / "persons")["key"]) for c in (first, second)]
    assert len(keys[0] & keys[1]) > 0.9 * len(keys[0])


def test_comparison_tables_equal_the_two_runs_cubes(two_cycles, tmp_path):
    first, second = (load_config(p) for p in two_cycles)
    requests = [r for r in collect_requests(second.work_dir) if r.name in COMPARISON_TABLES]
    assert sorted(r.name for r in requests) == sorted(COMPARISON_TABLES)
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence")
    with writer.batch() as batch:
        for r in requests:
            getattr(batch, r.method)(r.data(), name=r.name, **r.kwargs)
    published = {t.name: t for t in read_export(tmp_path / "export")[1]}

    checked = 0
    for config in (first, second):
        label = f"nulmeting {config.peildatum.isoformat()}"
        cube = step_folder(config, "cube")
        households = read_table(cube / "households")
        household_cube = read_table(cube / "household_cube")
        members = read_table(step_folder(config, "households") / "members")
        members = members[members["household"].isin(households["household"])]
        # Independently: persons, households and costs per class of the number of domains.
        klass = np.where(households["cost_total"] > 0, np.where(households["n_domains"] >= 3, 2, 1), 0)
        size = members.groupby("household").size()
        for code, name in [(None, "Totaal")] + list(enumerate(REACH)):
            chosen = households["household"] if code is None else households.loc[klass == code, "household"]
            n_persons = int(size.reindex(chosen).fillna(0).sum())
            reach = published["vergelijking_bereik"]
            shown = reach.value("n_persons", meting=label, bereik=name)
            if shown is not None:
                assert shown == n_persons
                checked += 1
                per = reach.value(f"mean_{HOUSEHOLDS}", meting=label, bereik=name)
                if per is not None:
                    assert round(per * n_persons / 10_000) == len(chosen)
                mean = reach.value("mean_kosten", meting=label, bereik=name)
                if mean is not None:
                    cost = households.set_index("household").loc[chosen, "cost_total"].sum()
                    assert mean == pytest.approx(cost / n_persons, abs=0.006)
        # Costs per domain: the household cube's, domain by domain.
        by_domain = household_cube.groupby("domain", observed=True)["cost"].sum()
        domains = published["vergelijking_kosten_domein"]
        for domain, cost in by_domain.items():
            mean, n = (domains.value(c, meting=label, domein=domain) for c in ("mean_kosten", "n_persons"))
            if mean is not None:
                assert mean * n == pytest.approx(cost, abs=0.006 * n)
                checked += 1
        # Concentration: the share of the most expensive 5% of the households (ceil(5% of N), ties by id).
        cost = households.sort_values(["cost_total", "household"], ascending=[False, True])["cost_total"].to_numpy()
        share = published["vergelijking_concentratie"].value("share_of_kosten_pct", meting=label, segment="top 5%")
        assert share == pytest.approx(100 * cost[:int(np.ceil(0.05 * len(cost)))].sum() / cost.sum(), abs=0.05)
    assert checked >= 6
    # The report's side-by-side figures and differences come from the published cells only.
    overview = comparison_overview(list(published.values())).set_index("")
    persons = [published["vergelijking_bereik"].value("n_persons", meting=f"nulmeting {c.peildatum}", bereik="Totaal")
               for c in (first, second)]
    assert overview.loc["personen", "verschil"] == f"{'+' if persons[1] > persons[0] else ''}{persons[1] - persons[0]:,.0f}".replace(",", ".")
    markdown = "\n".join(comparison_markdown(list(published.values())))
    assert "## Herhaalde meting" in markdown and "| personen " in markdown and "De selectie gevolgd" in markdown
    # The earlier selection followed: its persons, from the earlier run's selected households.
    follow = follow_overview(list(published.values())).set_index("situatie")
    earlier_households = read_table(step_folder(first, "cube") / "households")
    cutoff = int(np.ceil(0.05 * len(earlier_households)))
    chosen = earlier_households.sort_values(["cost_total", "household"], ascending=[False, True]).head(cutoff)
    chosen = chosen[chosen["still_resident"]]["household"]
    earlier_members = read_table(step_folder(first, "households") / "members")
    assert follow.loc["Totaal", "personen"] == str(int(earlier_members["household"].isin(chosen).sum()))


def test_a_rerun_of_the_earlier_run_makes_the_baseline_out_of_date(two_cycles, tmp_path):
    first, second = (load_config(p) for p in two_cycles)
    assert not freshness(second).problems("baseline")
    manifest = earlier_manifests(first.work_dir)["cube"]
    original = manifest.read_bytes()
    try:
        record = json.loads(original)
        manifest.write_text(json.dumps(record | {"run_id": "a later run"}), encoding="utf-8")
        check = freshness(second)
        assert any(str(manifest) in line or "cube" in line for line in check.problems("baseline"))
    finally:
        manifest.write_bytes(original)


# ------------------------------------------------------------------ refusals

def fake_earlier_run(folder: Path, source: Path, with_files: bool = True, **changes) -> Path:
    """A copy of the manifests of the run in ``source`` (and of the work files the comparison reads, unless
    not ``with_files``), with the selection's recorded config changed by ``changes``."""
    for name, path in earlier_manifests(source).items():
        target = earlier_manifests(folder)[name]
        target.parent.mkdir(parents=True, exist_ok=True)
        for stem in ("persons", "members", "households", "person_cube"):
            if with_files and table_path(path.parent / stem).is_file():
                shutil.copy2(table_path(path.parent / stem), table_path(target.parent / stem))
        record = json.loads(path.read_text(encoding="utf-8"))
        if name == "selection":
            record["computed_from"]["config"] |= changes
        target.write_text(json.dumps(record), encoding="utf-8")
    return folder


def test_refusals_name_the_folder_and_the_setting(two_cycles, tmp_path):
    first, second = (load_config(p) for p in two_cycles)
    with pytest.raises(UserFacingError, match=r"\[comparison\] earlier_work_dir = .*no such folder"):
        check_earlier_run(tmp_path / "nowhere", second)
    incomplete = fake_earlier_run(tmp_path / "incomplete", first.work_dir)
    earlier_manifests(incomplete)["selection"].unlink()
    with pytest.raises(UserFacingError, match="incomplete: its step 'selection' did not run to completion"):
        check_earlier_run(incomplete, second)
    # The manifests alone: a run whose work files are not there (over the registers alone, no costs).
    with pytest.raises(UserFacingError, match="the earlier run has no .*persons.*: it read no costs"):
        check_earlier_run(fake_earlier_run(tmp_path / "no_files", first.work_dir, with_files=False), second)
    mixed = fake_earlier_run(tmp_path / "mixed", first.work_dir)
    cube = earlier_manifests(mixed)["cube"]
    cube.write_text(json.dumps(json.loads(cube.read_text(encoding="utf-8")) | {"run_id": "rerun"}), encoding="utf-8")
    with pytest.raises(UserFacingError, match="step 'selection' was computed from another run of its step 'cube'.*"
                                              "--from selection"):
        check_earlier_run(mixed, second)
    study = json.loads(earlier_manifests(first.work_dir)["selection"].read_text(encoding="utf-8"))[
        "computed_from"]["config"]["study"]
    other = fake_earlier_run(tmp_path / "other_area", first.work_dir, study=study | {"area": ["0363"]})
    with pytest.raises(UserFacingError, match=r"another study area .*\['0363'\].*\['0344'\]"):
        check_earlier_run(other, second)
    prices = fake_earlier_run(tmp_path / "prices", first.work_dir, **{"prices.price_year": 2023})
    with pytest.raises(UserFacingError, match=r"euros of 2023, this run's in euros of 2025.*\[prices\] price_year = "
                                              r"2025"):
        check_earlier_run(prices, second)
    with pytest.raises(UserFacingError, match="this run's own work folder"):
        check_earlier_run(second.work_dir, second)
    with pytest.raises(UserFacingError, match="is not before this run's"):
        check_earlier_run(second.work_dir, first)
