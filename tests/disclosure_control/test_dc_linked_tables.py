"""Linked tables: joint protection in a batch, counts beside suppressed means,
evidence names, clean failures.

Every protection claim is checked by an attacker built here from the
published CSV files alone (independently of the package's relation matrices),
on hand-made data whose cell values and primary cells are worked out in the
comments.
"""

import json
import math

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from disclosure_control import DisclosureRules, ReleaseBatch, SafeWriter, check_export



def _complete(export):
    """Mark a writer-only export complete, as the export step does after its last table."""
    import json as _json
    from disclosure_control.completion import write_completion_record
    manifest = _json.loads((Path(export) / "disclosure_manifest.json").read_text(encoding="utf-8"))
    write_completion_record(export, run_id="test", config_sha256=manifest.get("provenance", {}).get(
        "config_sha256", "0" * 64) or "0" * 64, n_tables=len(manifest["tables"]))
    return export

def _households(cells: dict) -> pd.DataFrame:
    rows, i = [], 0
    for (region, kind), n in cells.items():
        for _ in range(n):
            rows.append((f"h{i}", region, kind))
            i += 1
    return pd.DataFrame(rows, columns=["hh", "region", "type"])


# A 2x2 table with margins:        t1   t2 | total
#                            r1     3   20 |   23
#                            r2    25    0 |   25
#                         total    28   20 |   48
# Primary cells (min_units 10, zero and 100% cells flagged, protection 30%):
#   r1/t1 = 3: frequency, needs [3 - 1, 3 + 1];
#   r2/t2 = 0: zero cell, needs to reach 1;
#   r2/t1 = 25 holds all of row r2 and r1/t2 = 20 all of column t2: 100% cells,
#   they must be able to fall by one household (not all of the row or column).
CROSS = {("r1", "t1"): 3, ("r1", "t2"): 20, ("r2", "t1"): 25, ("r2", "t2"): 0}
NEEDS = {("r1", "t1"): (2, 4), ("r2", "t2"): (0, 1), ("r2", "t1"): (24, 25), ("r1", "t2"): (19, 20)}


def _release_three(writer, data, target):
    target.frequency_table(data, name="by_region", unit="hh", dimensions=["region"])
    target.frequency_table(data, name="by_type", unit="hh", dimensions=["type"])
    return target.frequency_table(data, name="cross", unit="hh", dimensions=["region", "type"])


def _attacker(export) -> dict:
    """Feasible interval of every cell of the region x type grid from all
    published files: margins are sums of their cells, counts are >= 0."""
    names = ["r1", "r2", "Totaal"], ["t1", "t2", "Totaal"]
    index = {(r, t): i for i, (r, t) in enumerate((r, t) for r in names[0] for t in names[1])}
    fixed = {}
    for path in export.glob("*.csv"):
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        for row in table.to_dict(orient="records"):
            region, kind = row.get("region", "Totaal"), row.get("type", "Totaal")
            if row["n_households"] != "x":
                fixed[index[(region, kind)]] = float(row["n_households"])
    rows = []
    for r in names[0]:
        rows.append([1 if (rr == r and t != "Totaal") else -1 if (rr == r and t == "Totaal") else 0
                     for rr in names[0] for t in names[1]])
    for t in names[1]:
        rows.append([1 if (tt == t and r != "Totaal") else -1 if (tt == t and r == "Totaal") else 0
                     for r in names[0] for tt in names[1]])
    bounds = [(fixed[i], fixed[i]) if i in fixed else (0, None) for i in range(len(index))]
    out = {}
    for key, i in index.items():
        objective = np.zeros(len(index))
        objective[i] = 1
        low = linprog(objective, A_eq=np.array(rows), b_eq=np.zeros(len(rows)), bounds=bounds, method="highs")
        high = linprog(-objective, A_eq=np.array(rows), b_eq=np.zeros(len(rows)), bounds=bounds, method="highs")
        out[key] = (low.fun, math.inf if high.status == 3 else -high.fun)
    return out


def test_one_call_per_table_protects_the_later_table_through_the_differences_it_sees(tmp_path):
    """Released one call at a time, by_type comes after by_region: all of r2 is t1 (r2/t2 = 0), so
    t1 and r2 differ by the 3 households of r1/t1, a small group the export-wide audit protects in
    by_type already; the cross table can then be protected too. A reader of every file cannot
    narrow a primary cell below its protection."""
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence")
    result = _release_three(writer, _households(CROSS), writer)
    assert result.status == "pass", result.reasons
    audit = json.loads((tmp_path / "evidence" / "by_type.evidence.json").read_text(encoding="utf-8"))["export_audit"]
    assert any(f["column"].endswith("(difference)") and f["true_value"] == 3 and f["protected"]
               for f in audit["figures"]), audit["figures"]
    intervals = _attacker(tmp_path / "export")
    for key, (low_needed, high_needed) in NEEDS.items():
        low, high = intervals[key]
        assert low <= low_needed + 1e-6 and high >= high_needed - 1e-6, (key, low, high)
    assert check_export(_complete(tmp_path / "export"), tmp_path / "evidence").ok


def test_a_batch_protects_linked_tables_jointly(tmp_path):
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence")
    with writer.batch() as batch:
        pending = _release_three(writer, _households(CROSS), batch)
        assert pending.status == "pending" and not (tmp_path / "export" / "by_region.csv").exists()
    assert [r.name for r in batch.results] == ["by_region", "by_type", "cross"]
    assert all(r.status == "pass" for r in batch.results), [r.reasons for r in batch.results]
    intervals = _attacker(tmp_path / "export")
    for key, (low_needed, high_needed) in NEEDS.items():
        low, high = intervals[key]
        assert low <= low_needed + 1e-6 and high >= high_needed - 1e-6, (key, low, high)
    # Shared cells read the same in every table.
    by_type = batch.results[1].table.set_index("type")["n_households"]
    cross = batch.results[2].table.set_index(["region", "type"])["n_households"]
    for kind in ("t1", "t2", "Totaal"):
        assert by_type[kind] == cross[("Totaal", kind)]
    manifest = json.loads((tmp_path / "export" / "disclosure_manifest.json").read_text(encoding="utf-8"))
    assert manifest["tables"]["cross"]["protected_with"] == ["by_region", "by_type"]
    assert check_export(_complete(tmp_path / "export"), tmp_path / "evidence").ok


# Mean costs by household type.  "overig": 15 households, one with 5000 and 14
# with 10 (total 5140): the two largest hold 5010 > 90% of 5140 (dominance,
# protection (5010 / 0.9) - 5140 = 426.67) and the rest 130 < 10% of 5000
# (p%-rule, 500 - 130 = 370).  "a": 20 households of 100 (2000), "b": 15 of
# 120 (1800).  Total 8940 over 50 households: mean 178.80.
def _costs() -> pd.DataFrame:
    rows = [("a", 100.0)] * 20 + [("b", 120.0)] * 15 + [("overig", 5000.0)] + [("overig", 10.0)] * 14
    frame = pd.DataFrame(rows, columns=["type", "cost"])
    frame["hh"] = [f"h{i}" for i in range(len(frame))]
    return frame


@pytest.mark.parametrize("batched", [False, True])
def test_a_published_count_beside_a_dominated_mean(tmp_path, batched):
    data = _costs()
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence")
    if batched:
        with writer.batch() as batch:
            batch.frequency_table(data, name="households", unit="hh", dimensions=["type"])
            batch.magnitude_table(data, name="costs", unit="hh", dimensions=["type"], values="cost",
                                  statistic="mean")
        counts, means = batch.results
    else:
        counts = writer.frequency_table(data, name="households", unit="hh", dimensions=["type"])
        means = writer.magnitude_table(data, name="costs", unit="hh", dimensions=["type"], values="cost",
                                       statistic="mean")
    assert counts.status == "pass" and means.status == "pass", means.reasons
    shown = means.table.set_index("type")
    # Counts are not disclosive here: all published, the same as in the frequency table.
    assert shown["n_households"].to_dict() == {"Totaal": "50", "a": "20", "b": "15", "overig": "15"}
    assert counts.table.set_index("type")["n_households"].to_dict() == shown["n_households"].to_dict()
    # The dominated mean and its cheapest complement (b: sum 1800 < a: 2000) go.
    assert shown["mean_cost"].to_dict() == {"Totaal": "178.80", "a": "100.00", "b": "x", "overig": "x"}
    # Attacker: sum = count * mean for every published mean; overig + b = 8940 - 2000.
    n = shown["n_households"].astype(float)
    known = {t: n[t] * float(m) for t, m in shown["mean_cost"].items() if m != "x"}
    free = known["Totaal"] - known["a"]
    low, high = 0.0, free          # overig = free - b, with b >= 0 and overig >= 0
    level = 5010 / 0.9 - 5140
    assert free == pytest.approx(6940.0)
    assert low <= 5140 - level and high >= 5140 + level
    cells = pd.read_csv(tmp_path / "evidence" / "costs.cells.csv").set_index("type")
    assert cells.loc["overig", "true_sum_cost"] == pytest.approx(5140.0)
    assert cells.loc["overig", "true_mean_cost"] == pytest.approx(5140.0 / 15)
    assert cells.loc["Totaal", "true_mean_cost"] == pytest.approx(178.8)
    assert cells.loc["overig", "true_n_households"] == 15
    assert cells.loc["overig", "upl_sum_cost"] == pytest.approx(level)
    assert cells.loc["overig", "status_n_households"] == "safe"
    assert cells.loc["overig", "status_sum_cost"] == "primary"
    assert cells.loc["b", "status_sum_cost"] == "secondary"
    assert "true_mean_kosten" not in cells.columns
    assert check_export(_complete(tmp_path / "export"), tmp_path / "evidence").ok


def test_a_suppressed_count_always_takes_its_mean_along(tmp_path):
    # Region "small" has 4 households: its count and its mean are primary; the
    # complement count (and with it that mean) goes too.
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"hh": [f"h{i}" for i in range(124)],
                         "region": ["small"] * 4 + ["x1"] * 40 + ["x2"] * 30 + ["x3"] * 50,
                         "cost": rng.uniform(50, 60, 124).round(2)})
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence")
    result = writer.magnitude_table(data, name="m", unit="hh", dimensions=["region"], values="cost",
                                    statistic="mean")
    table = result.table.set_index("region")
    assert table.loc["small", "n_households"] == "x" and table.loc["small", "mean_cost"] == "x"
    assert (table["n_households"] == "x").sum() >= 2
    assert ((table["n_households"] != "x") | (table["mean_cost"] == "x")).all()


def test_evidence_names_say_what_they_hold_in_a_sum_table(tmp_path):
    data = _costs()
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence")
    writer.magnitude_table(data, name="sums", unit="hh", dimensions=["type"], values="cost", statistic="sum")
    cells = pd.read_csv(tmp_path / "evidence" / "sums.cells.csv").set_index("type")
    assert cells.loc["Totaal", "true_sum_cost"] == pytest.approx(8940.0)
    assert cells.loc["a", "true_n_households"] == 20
    assert "true_mean_cost" not in cells.columns


def test_checker_finds_a_published_primary_statistic_in_the_evidence(tmp_path):
    data = _costs()
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence")
    writer.magnitude_table(data, name="costs", unit="hh", dimensions=["type"], values="cost", statistic="mean")
    path = tmp_path / "evidence" / "costs.evidence.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    for cell in record["cells"]:
        if cell["type"] == "overig":
            cell["status_sum_cost"] = "safe"   # pretend the dominated mean was published
    path.write_text(json.dumps(record), encoding="utf-8")
    report = check_export(_complete(tmp_path / "export"), tmp_path / "evidence")
    assert any(f.rule == "primary-published" and "type=overig" in f.cell and "sum_cost" in f.message
               for f in report.findings), report.summary()


def test_batch_falls_back_to_one_table_after_another_when_linked_tables_disagree(tmp_path):
    data = _costs()
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence")
    with writer.batch() as batch:
        batch.frequency_table(data, name="all", unit="hh", dimensions=["type"], metadata={"population": "p"})
        # The same population label for fewer households: the shared total differs.
        batch.frequency_table(data.iloc[5:], name="fewer", unit="hh", dimensions=["type"],
                              metadata={"population": "p"})
    first, second = batch.results
    assert first.status == "pass"
    assert second.status == "fail" and second.written == []
    assert any("different values" in r for r in second.reasons)
    assert any("could not be protected jointly" in r for r in second.reasons)
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == ["all.csv", "all.notes.txt",
                                                                        "disclosure_manifest.json"]


def test_batch_mechanics(tmp_path):
    data = _costs()
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence", DisclosureRules())
    batch = writer.batch()
    assert isinstance(batch, ReleaseBatch)
    with pytest.raises(RuntimeError):
        writer.frequency_table(data, name="direct", unit="hh", dimensions=["type"])
    with pytest.raises(RuntimeError):
        writer.batch()
    bad = batch.frequency_table(data.assign(BSN="1"), name="bad", unit="hh", dimensions=["BSN"])
    assert bad.status == "fail"
    batch.frequency_table(data, name="good", unit="hh", dimensions=["type"])
    with pytest.raises(ValueError):
        batch.frequency_table(data, name="good", unit="hh", dimensions=["type"])
    results = batch.release()
    assert [(r.name, r.status) for r in results] == [("bad", "fail"), ("good", "pass")]
    assert batch.release() is results
    with pytest.raises(RuntimeError):
        batch.frequency_table(data, name="late", unit="hh", dimensions=["type"])
    # An exception inside the with block releases nothing, and frees the names.
    with pytest.raises(KeyError):
        with writer.batch() as second:
            second.frequency_table(data, name="lost", unit="hh", dimensions=["type"])
            raise KeyError("stop")
    assert not (tmp_path / "export" / "lost.csv").exists()
    assert writer.frequency_table(data, name="lost", unit="hh", dimensions=["type"]).status == "pass"


def test_checker_finds_a_suppressed_count_beside_a_published_mean_in_the_evidence(tmp_path):
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence")
    writer.magnitude_table(_costs(), name="costs", unit="hh", dimensions=["type"], values="cost", statistic="mean")
    assert check_export(_complete(tmp_path / "export"), tmp_path / "evidence").ok
    path = tmp_path / "evidence" / "costs.evidence.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    problem = record["problem"]
    assert len(problem["implies"]) == 4          # one count -> mean link per position
    count, mean = next((a, b) for a, b in problem["implies"] if not problem["suppressed_groups"][b])
    problem["suppressed_groups"][count] = True   # suppressing more passes the audit, but not this rule
    path.write_text(json.dumps(record), encoding="utf-8")
    report = check_export(_complete(tmp_path / "export"), tmp_path / "evidence")
    assert any(f.rule == "audit" and "takes it along" in f.message for f in report.findings), report.summary()


def test_rules_about_the_units_make_the_amount_primary_too(tmp_path):
    # "few": 3 households, all without costs (sum 0): frequency-unsafe, so its
    # sum of 0 ("these 3 have no costs") must not be published beside a
    # suppressed count.  r2/t2 has no households (zero cell): its sum of 0
    # would show it is empty.
    rows = ([("few", "t1", 0.0)] * 3 + [("r1", "t1", 100.0)] * 20 + [("r1", "t2", 50.0)] * 20
            + [("r2", "t1", 80.0)] * 25 + [("few", "t2", 70.0)] * 12)
    data = pd.DataFrame(rows, columns=["region", "type", "cost"])
    data["hh"] = [f"h{i}" for i in range(len(data))]
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence", DisclosureRules(flag_full_cells=False))
    result = writer.magnitude_table(data, name="s", unit="hh", dimensions=["region", "type"], values="cost")
    table = result.table.set_index(["region", "type"])
    for cell in (("few", "t1"), ("r2", "t2")):
        assert table.loc[cell, "n_households"] == "x" and table.loc[cell, "sum_cost"] == "x", cell
    cells = pd.read_csv(tmp_path / "evidence" / "s.cells.csv").set_index(["region", "type"])
    assert cells.loc[("few", "t1"), "status_sum_cost"] == "primary"
    assert cells.loc[("r2", "t2"), "status_sum_cost"] == "primary"
    # A typical household's amount: the grand total 3*0 + 20*100 + 20*50 + 25*80 + 12*70 = 5840 over
    # 80 households = 73. The empty cell and the frequency-unsafe cell with nothing to take 30% of
    # both get room for 30% of it (the empty cell's count has room for a whole unit).
    assert cells.loc[("r2", "t2"), "upl_sum_cost"] == pytest.approx(0.3 * 73.0)
    assert cells.loc[("few", "t1"), "upl_sum_cost"] == pytest.approx(0.3 * 73.0)
    assert cells.loc[("r2", "t2"), "upl_n_households"] == 1


def test_a_panel_dimension_is_not_a_full_cell():
    """A cohort followed over periods is in every period by design: along a declared panel dimension
    the full-cell rule does not apply; along the other dimensions it still does."""
    import tempfile
    rows = [(f"c{i}", "cohort", p, 10.0 * (i + 1)) for i in range(12) for p in ("2021", "2022")]
    rows += [(f"v{i}", "vergelijking", p, 5.0 * (i + 1)) for i in range(12) for p in ("2021", "2022")]
    data = pd.DataFrame(rows, columns=["hh", "groep", "periode", "kosten"])
    folder = Path(tempfile.mkdtemp())
    for panel, expect_full in ((None, True), ("periode", False)):
        writer = SafeWriter(folder / f"e{panel}", folder / f"v{panel}")
        result = writer.magnitude_table(data, name="trend", unit="hh", dimensions=["groep", "periode"],
                                        values="kosten", statistic="mean", panel=panel)
        cells = pd.read_csv(folder / f"v{panel}" / "trend.cells.csv", dtype=str, keep_default_na=False)
        full = cells["rules_failed"].str.contains("full-cell")
        assert full.any() == expect_full, (panel, cells["rules_failed"].tolist())
        if not expect_full:
            assert result.status == "pass" and (result.table["n_households"] != "x").all()


def _years_with_costs(tmp_path, identities):
    """50 households with costs in 2021-2023: 10 in each single year, 10 in 2021+2022, 10 in 2022+2023,
    none in all three (a zero cell). Households per year: 20, 30, 20 (sum 70 = 30 x 1 + 20 x 2)."""
    years = {h: [2021 + h // 10] for h in range(30)}
    years |= {h: [2021, 2022] for h in range(30, 40)} | {h: [2022, 2023] for h in range(40, 50)}
    per_year = pd.DataFrame([(h, str(y)) for h, ys in years.items() for y in ys], columns=["household", "jaar"])
    per_year["jaar"] = pd.Categorical(per_year["jaar"], categories=["2021", "2022", "2023"])
    structural = pd.DataFrame({"household": list(years), "jaren": [str(len(ys)) for ys in years.values()],
                               "kosten": 1000.0})
    structural["jaren"] = pd.Categorical(structural["jaren"], categories=["1", "2", "3"])
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence", DisclosureRules())
    with writer.batch() as batch:
        batch.frequency_table(per_year, name="bereik_per_jaar", unit="household", dimensions=["jaar"],
                              unit_labels=["households"])
        batch.magnitude_table(structural, name="kosten_structureel", unit="household", dimensions=["jaren"],
                              values="kosten", statistic="mean", unit_labels=["households"],
                              identities=identities)
    return (pd.read_csv(tmp_path / "export" / f"{n}.csv", dtype=str).set_index(n_col)["n_households"]
            for n, n_col in (("bereik_per_jaar", "jaar"), ("kosten_structureel", "jaren")))


def _most_households_in_all_years(per_year, structural):
    """An intruder's LP from the two published tables: households with costs in all 3 years, at most.
    Unknowns: n1, n2, n3 (by years with costs), r2021..r2023 (per year); published values fixed;
    Totaal = n1 + n2 + n3, each r <= Totaal, and the definition r2021 + r2022 + r2023 = n1 + 2 n2 + 3 n3."""
    names = ["1", "2", "3", "2021", "2022", "2023"]
    total = float(structural["Totaal"])
    a_eq, b_eq = [[1, 1, 1, 0, 0, 0], [1, 2, 3, -1, -1, -1]], [total, 0.0]
    for i, name in enumerate(names):
        shown = (structural if i < 3 else per_year)[name]
        if shown != "x":
            a_eq.append([1.0 if j == i else 0.0 for j in range(6)])
            b_eq.append(float(shown))
    bounds = [(0, total)] * 6
    res = linprog(-np.eye(6)[2], A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    assert res.status == 0
    return -res.fun


def test_tables_tied_by_a_definition_are_protected_as_one_problem(tmp_path):
    identity = {"column": "n_households", "weights": {"1": 1, "2": 2, "3": 3}, "table": "bereik_per_jaar",
                "other_column": "n_households", "other_weights": {"2021": 1, "2022": 1, "2023": 1},
                "text": "households per year summed over the years = k x households with costs in k years"}
    per_year, structural = _years_with_costs(tmp_path / "tied", [identity])
    assert structural["3"] == "x"      # the zero cell (group disclosure) is suppressed
    # Its protection: at least one household could have costs in all three years.
    assert _most_households_in_all_years(per_year, structural) >= 1
    notes = (tmp_path / "tied" / "export" / "kosten_structureel.notes.txt").read_text(encoding="utf-8")
    assert "Protected together with bereik_per_jaar" in notes
    manifest = json.loads((tmp_path / "tied" / "export" / "disclosure_manifest.json").read_text(encoding="utf-8"))
    entry = manifest["tables"]["kosten_structureel"]
    assert entry["protected_with"] == ["bereik_per_jaar"]
    assert entry["identities"] == ["bereik_per_jaar: " + identity["text"]]
    # Without the definition each table is protected alone, and the intruder pins the zero cell.
    per_year, structural = _years_with_costs(tmp_path / "alone", [])
    assert structural["3"] == "x"
    assert _most_households_in_all_years(per_year, structural) == pytest.approx(0.0, abs=1e-9)


def test_an_identity_that_does_not_hold_fails_the_tables(tmp_path):
    wrong = {"column": "n_households", "weights": {"1": 1, "2": 1, "3": 1}, "table": "bereik_per_jaar",
             "other_column": "n_households", "other_weights": {"2021": 1, "2022": 1, "2023": 1}, "text": "wrong"}
    writer_dir = tmp_path / "wrong"
    _years_with_costs(writer_dir, [wrong])    # the files are read lazily: nothing read here
    assert not (writer_dir / "export" / "kosten_structureel.csv").exists()
    evidence = json.loads((writer_dir / "evidence" / "kosten_structureel.evidence.json").read_text(encoding="utf-8"))
    assert evidence["status"] == "fail"
    assert any("does not hold for the data" in r for r in evidence["reasons"])


@pytest.mark.parametrize("upper, holds", [(3, True), (2, False)])
def test_an_identity_with_a_top_category_bounds_the_other_table(tmp_path, upper, holds):
    """"2+" years weighs 2 up to ``upper``: with 10 households in 3 years the sum over the years (20 +
    10 x 3 = 50 household-years) lies between 20 + 2 x 10 = 40 and 20 + 3 x 10; an upper weight of 2
    does not hold for these data: the table declaring it fails rather than be protected on a false
    relation (the other one is then protected on its own, as a table that shares nothing)."""
    per_year = pd.DataFrame([(h, str(2021 + h % 3)) for h in range(20)]
                            + [(h, str(y)) for h in range(20, 30) for y in (2021, 2022, 2023)],
                            columns=["household", "jaar"])
    structural = pd.DataFrame({"household": range(30), "jaren": ["1"] * 20 + ["2+"] * 10, "kosten": 1000.0})
    identity = {"column": "n_households", "weights": {"1": 1, "2+": 2}, "upper_weights": {"1": 1, "2+": upper},
                "table": "bereik_per_jaar", "other_column": "n_households",
                "other_weights": {"2021": 1, "2022": 1, "2023": 1}, "text": "years"}
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence", DisclosureRules())
    with writer.batch() as batch:
        batch.frequency_table(per_year, name="bereik_per_jaar", unit="household", dimensions=["jaar"],
                              unit_labels=["households"])
        batch.frequency_table(structural, name="kosten_structureel", unit="household", dimensions=["jaren"],
                              unit_labels=["households"], identities=[identity])
    statuses = {r.name: r.status for r in batch.results}
    assert statuses == {"bereik_per_jaar": "pass", "kosten_structureel": "pass" if holds else "fail"}
    if not holds:
        reasons = json.loads((tmp_path / "evidence" / "kosten_structureel.evidence.json").read_text(
            encoding="utf-8"))["reasons"]
        assert any("does not hold for the data" in r for r in reasons)
