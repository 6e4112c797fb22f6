"""Safe writer outputs and the export checker, on small hand-checkable data."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from disclosure_control import DisclosureRules, SafeWriter, check_export

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_export.py"



def _complete(export):
    """Mark a writer-only export complete, as the export step does after its last table."""
    import json as _json
    from disclosure_control.completion import write_completion_record
    manifest = _json.loads((Path(export) / "disclosure_manifest.json").read_text(encoding="utf-8"))
    write_completion_record(export, run_id="test", config_sha256=manifest.get("provenance", {}).get(
        "config_sha256", "0" * 64) or "0" * 64, n_tables=len(manifest["tables"]))
    return export

def _data(seed=1, n=600):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "hh": [f"h{i}" for i in range(n)],
        "region": rng.choice(["north", "east", "south", "west"], n, p=[0.4, 0.3, 0.28, 0.02]),
        "hhtype": rng.choice(["single", "couple", "family"], n, p=[0.5, 0.3, 0.2]),
        "cost": np.round(rng.lognormal(7, 1, n), 2),
    })


def _write_all(root: Path, rules=None):
    writer = SafeWriter(root / "export", root / "evidence", rules or DisclosureRules(flag_zero_cells=False),
                        provenance={"script": "test", "config_sha256": "0" * 64})
    data = _data()
    meta = {"title": "Households", "unit": "household", "population": "all households", "period": "2023",
            "price_year": 2023, "attribution_mode": "reference date"}
    first = writer.frequency_table(data, name="households", unit="hh", dimensions=["region", "hhtype"], metadata=meta)
    second = writer.magnitude_table(data, name="costs", unit="hh", dimensions=["region", "hhtype"], values="cost",
                                    statistic="mean", metadata=meta)
    return writer, first, second


def test_exports_are_byte_identical_for_the_same_input(tmp_path):
    _write_all(tmp_path / "a")
    _write_all(tmp_path / "b")
    names = sorted(p.name for p in (tmp_path / "a" / "export").iterdir())
    assert names == ["costs.csv", "costs.notes.txt", "disclosure_manifest.json", "households.csv",
                     "households.notes.txt"]
    for name in names:
        assert (tmp_path / "a" / "export" / name).read_bytes() == (tmp_path / "b" / "export" / name).read_bytes()


def test_linked_tables_suppress_shared_cells_alike_and_evidence_stays_out_of_the_export(tmp_path):
    _, first, second = _write_all(tmp_path)
    assert first.status == second.status == "pass"
    a = first.table.set_index(["region", "hhtype"])["n_households"]
    b = second.table.set_index(["region", "hhtype"])["n_households"]
    assert (a == b).all()   # the count cells are the same cells in both tables
    west_small = a[("west", "family")]
    assert west_small == "x"
    # A suppressed count always takes its mean along (a mean may go alone).
    means = second.table.set_index(["region", "hhtype"])["mean_cost"]
    assert ((b != "x") | (means == "x")).all() and means[("west", "family")] == "x"
    export_text = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "export").iterdir())
    assert "largest" not in export_text and "top2_share" not in export_text
    assert (tmp_path / "evidence" / "costs.evidence.json").exists()
    notes = (tmp_path / "export" / "costs.notes.txt").read_text(encoding="utf-8")
    assert "'x' = suppressed" in notes and "Price year: 2023" in notes and "Attribution mode: reference date" in notes


def test_identifier_dimensions_are_never_written(tmp_path):
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence")
    data = _data().assign(RINPERSOON=lambda d: d["hh"].str[1:].str.zfill(9))
    for dimension in ("RINPERSOON", "huishoudnr", "Geboortedatum", "BSN"):
        frame = data.rename(columns={"RINPERSOON": dimension})
        result = writer.frequency_table(frame, name=f"bad_{dimension}", unit="hh", dimensions=[dimension])
        assert result.status == "fail" and result.written == []
        assert any("identifier" in r for r in result.reasons)
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == []


def test_dutch_excel_dialect_and_rounding(tmp_path):
    rules = DisclosureRules(output_format="csv_nl", rounding_base=5, flag_zero_cells=False)
    _, first, second = _write_all(tmp_path, rules)
    raw = (tmp_path / "export" / "costs.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    header, row = raw.decode("utf-8-sig").split("\r\n")[:2]
    assert header == "region;hhtype;n_households;mean_cost"
    assert row.split(";")[0] == "Totaal" and "," in row.split(";")[3]
    counts = first.table["n_households"]
    assert all(int(c) % 5 == 0 for c in counts if c != "x")


def test_xlsx_written_deterministically_or_csv_when_openpyxl_is_missing(tmp_path, monkeypatch):
    rules = DisclosureRules(output_format="xlsx", flag_zero_cells=False)
    pytest.importorskip("openpyxl")
    _write_all(tmp_path / "a", rules)
    _write_all(tmp_path / "b", rules)
    assert (tmp_path / "a/export/costs.xlsx").read_bytes() == (tmp_path / "b/export/costs.xlsx").read_bytes()
    back = pd.read_excel(tmp_path / "a/export/costs.xlsx", sheet_name="table", dtype=str)
    assert list(back.columns) == ["region", "hhtype", "n_households", "mean_cost"]
    import disclosure_control.writer as writer_module
    monkeypatch.setattr(writer_module, "openpyxl_available", lambda: False)
    _, first, _ = _write_all(tmp_path / "c", rules)
    assert first.written[0].suffix == ".csv" and "openpyxl is not installed" in first.warnings[0]


def test_checker_passes_a_clean_export_and_writes_the_documentation(tmp_path):
    _write_all(tmp_path)
    report = check_export(_complete(tmp_path / "export"), tmp_path / "evidence", tmp_path / "docs")
    assert report.ok, report.summary()
    doc = (tmp_path / "docs" / "output_request.md").read_text(encoding="utf-8")
    assert "### Households (`costs`)" in doc and "unweighted N (whole table) | households: 600" in doc
    assert "secondary (complementary)" in doc


def test_the_documentation_states_n_as_the_tables_publish_it(tmp_path):
    """Under rounding to 5 the documentation's N is rounded as the tables' counts (600 households: 600,
    rounded, never an exact count beside them); a model table's units are not stated (the 7 units
    behind a suppressed row are what that row protects, and the others are counts of other tables),
    and its notes state no N."""
    writer, _, _ = _write_all(tmp_path, DisclosureRules(flag_zero_cells=False, rounding_base=5))
    coefficients = pd.DataFrame({"term": ["small", "large"], "estimate": [1.0, 2.0], "households": [7, 42]})
    writer.model_table(coefficients, name="model", residual_df=45, n_observations=49, row_units="households",
                       unit_label="households")
    notes = (tmp_path / "export" / "model.notes.txt").read_text(encoding="utf-8")
    assert "not stated" in notes and "49" not in notes
    check_export(_complete(tmp_path / "export"), tmp_path / "evidence", tmp_path / "docs")
    doc = (tmp_path / "docs" / "output_request.md").read_text(encoding="utf-8")
    assert "unweighted N (whole table) | households: 600 (rounded to a multiple of 5)" in doc
    # A model's units are counts of other tables (a cohort's size beside its suppressed parts): not in the doc.
    assert "unweighted N (whole table) | not stated for a model table (see the evidence)" in doc


def test_checker_finds_tampering_foreign_files_identifiers_and_small_counts(tmp_path):
    _write_all(tmp_path)
    export = tmp_path / "export"
    (export / "extra.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    households = export / "households.csv"
    text = households.read_text(encoding="utf-8")
    # Reveal a suppressed cell and add a BSN-like label (123456782 passes the eleven-test).
    tampered = text.replace("west,family,x", "west,family,3").replace("north,single", "123456782,single")
    households.write_text(tampered, encoding="utf-8")
    # Even with a manifest updated to the new hash, the content checks fire.
    manifest = json.loads((export / "disclosure_manifest.json").read_text(encoding="utf-8"))
    from disclosure_control.output import sha256_of
    manifest["tables"]["households"]["files"]["households.csv"] = sha256_of(households)
    (export / "disclosure_manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    report = check_export(_complete(export), tmp_path / "evidence")
    rules = {f.rule for f in report.findings}
    assert {"not-safe-writer", "identifier", "threshold", "evidence"} <= rules
    assert any(f.file == "extra.csv" for f in report.findings)
    assert any("123456782" in f.message for f in report.findings)
    assert any(f.rule == "threshold" and "n_households" in f.cell for f in report.findings)


def test_checker_reruns_the_audit_from_the_evidence(tmp_path):
    _write_all(tmp_path)
    path = tmp_path / "evidence" / "households.evidence.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    # Pretend the secondary suppressions were never made.
    groups = record["problem"]["suppressed_groups"]
    primary_groups = {g for g, upl, lpl in zip(record["problem"]["group"], record["problem"]["upper_protection"],
                                               record["problem"]["lower_protection"]) if upl > 0 or lpl > 0}
    record["problem"]["suppressed_groups"] = [s and g in primary_groups for g, s in enumerate(groups)]
    path.write_text(json.dumps(record), encoding="utf-8")
    report = check_export(_complete(tmp_path / "export"), tmp_path / "evidence")
    assert any(f.rule == "audit" and f.file == "households" for f in report.findings)


def test_check_export_script_exit_codes(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("check_export_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _write_all(tmp_path)
    # Not marked complete (no export step ran): refused.
    assert module.main([str(tmp_path / "export"), "--evidence", str(tmp_path / "evidence")]) == 1
    _complete(tmp_path / "export")
    assert module.main([str(tmp_path / "export"), "--evidence", str(tmp_path / "evidence")]) == 0
    assert (tmp_path / "export_output_request" / "output_request.md").exists()
    (tmp_path / "export" / "households.notes.txt").write_text("changed\n", encoding="utf-8")
    assert module.main([str(tmp_path / "export")]) == 1
    assert "households.notes.txt: changed" in capsys.readouterr().out


@pytest.mark.parametrize("ids", ["text", "integers", "integers as objects"])
def test_differencing_between_populations_is_flagged(tmp_path, ids):
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence", DisclosureRules(flag_zero_cells=False))
    data = _data()
    numbers = pd.factorize(data["hh"])[0] + 1000
    data["hh"] = {"text": data["hh"], "integers": numbers, "integers as objects": numbers.astype(object)}[ids]
    everyone = writer.frequency_table(data, name="all_hh", unit="hh", dimensions=["hhtype"],
                                      metadata={"population": "all households"})
    # The same households minus three: differencing the totals would reveal three households (and
    # the types, one or two). The export-wide audit protects every such difference of nested
    # published groups as a small count: the later table's totals go.
    subset = data.iloc[3:]
    result = writer.frequency_table(subset, name="with_costs", unit="hh", dimensions=["hhtype"],
                                    metadata={"population": "households with costs"})
    assert everyone.status == "pass" and result.status == "pass"
    published = result.table.set_index("hhtype")["n_households"]
    full = everyone.table.set_index("hhtype")["n_households"]
    for label in published.index:
        if published[label] != "x":
            # What is still published in both differs by 0 or by at least min_units households.
            difference = int(full[label]) - int(published[label])
            assert difference == 0 or difference >= 10, label
    assert published["Totaal"] == "x"
    audit = json.loads((tmp_path / "evidence" / "with_costs.evidence.json").read_text(encoding="utf-8"))["export_audit"]
    differences = [f for f in audit["figures"] if f["column"].endswith("(difference)")]
    assert any(f["true_value"] == 3 and f["protected"] and f["derived_low"] <= 2 and f["derived_high"] >= 4
               for f in differences), differences


def test_model_tables_need_residual_degrees_of_freedom_and_refuse_residuals(tmp_path):
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence")
    coefficients = pd.DataFrame({"term": ["intercept", "age"], "estimate": [1.5, 0.25], "std_error": [0.1, 0.01]})
    assert writer.model_table(coefficients, name="m_small", residual_df=9, n_observations=11).status == "fail"
    ok = writer.model_table(coefficients, name="m_ok", residual_df=120, n_observations=122)
    assert ok.status == "pass" and ok.table["estimate"].tolist() == ["1.5000", "0.2500"]
    bad = writer.model_table(coefficients.assign(residual=[0.1, 0.2]), name="m_res", residual_df=120,
                             n_observations=122)
    assert bad.status == "fail" and any("residual" in r for r in bad.reasons)


def test_percentiles_only_when_allowed_and_as_a_window_mean(tmp_path):
    data = pd.DataFrame({"hh": [f"h{i}" for i in range(21)], "cost": np.arange(1.0, 22.0)})
    strict = SafeWriter(tmp_path / "e1", tmp_path / "v1")
    assert strict.percentiles(data, name="median", unit="hh", value="cost").status == "fail"
    allowed = SafeWriter(tmp_path / "e2", tmp_path / "v2", DisclosureRules(allow_percentiles=True))
    result = allowed.percentiles(data, name="median", unit="hh", value="cost")
    # Median position 10 (0-based) of 21 values 1..21; the 10 values around it are
    # positions 5..14, i.e. 6..15, mean 10.5 -- not the single value 11.
    assert result.table["p50_cost"].tolist() == ["10.50"]
    assert allowed.percentiles(data, name="maximum", unit="hh", value="cost", percentiles=[1.0]).status == "fail"


def test_association_rules_group_disclosure(tmp_path):
    n = 200
    data = pd.DataFrame({"hh": [f"h{i}" for i in range(n)],
                         "youth": np.arange(n) < 150,
                         "debt": (np.arange(n) < 60) | (np.arange(n) >= 150),
                         "police": np.arange(n) < 98})
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence")
    result = writer.association_rules(data, name="rules", unit="hh", items=["youth", "debt", "police"],
                                      rules=[(["youth"], ["debt"]), (["police"], ["youth"])])
    table = result.table.set_index("antecedent")
    # youth -> debt: 150 youth, 60 also debt: confidence 40%, support 30%; the consequent, debt, 110.
    assert table.loc["youth", "confidence_pct"] == "40.0" and table.loc["youth", "support_pct"] == "30.0"
    assert table.loc["youth", "n_households_rule"] == "60"
    assert table.loc["youth", "n_households_antecedent"] == "150"
    assert table.loc["youth", "n_households_consequent"] == "110"
    # The police row is one decision: its counts go with it (98 police households would give the
    # joint count of a 100% rule).
    assert (table.loc["police", ["n_households_antecedent", "n_households_rule"]] == "x").all()
    # police -> youth: all 98 police households have youth care: 100% confidence.
    assert table.loc["police", "confidence_pct"] == "x"


@pytest.mark.parametrize("n_cons, upl", [(13, 0.0), (20, 1.0)])
def test_a_near_100_pct_rule_needs_no_room_above_its_consequent(tmp_path, n_cons, upl):
    """14 households with police, 13 of them with om: one without (d = 1), so the joint count may be
    one higher as far as d goes; but when om has exactly those 13 households (the intruder reads 13
    in its reach), no count of households with both can exceed 13: the requirement upwards is then 0,
    downwards the 1 of d (found in a random export, seed 47, as an unsatisfiable level)."""
    n = 60
    data = pd.DataFrame({"hh": np.arange(n), "police": np.arange(n) < 14,
                         "om": (np.arange(n) < 13) | ((np.arange(n) >= 30) & (np.arange(n) < 30 + n_cons - 13))})
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence")
    writer.association_rules(data, name="rules", unit="hh", items=["police", "om"], rules=[(["police"], ["om"])])
    cells = pd.DataFrame(json.loads((tmp_path / "evidence" / "rules.evidence.json").read_text(
        encoding="utf-8"))["cells"])
    assert cells["true_n_households_rule"].tolist() == [13.0]
    assert cells["upl_n_households_rule"].tolist() == [upl]
    assert cells["lpl_n_households_rule"].tolist() == [1.0]


def test_concentration_top_shares_and_small_segments(tmp_path):
    # 100 households: one with 1000, the others 10 each (total 1990).
    data = pd.DataFrame({"hh": [f"h{i}" for i in range(100)], "cost": [1000.0] + [10.0] * 99})
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence")
    result = writer.concentration(data, name="conc", unit="hh", value="cost", top_shares=[0.1, 0.5])
    table = result.table.set_index("segment")
    # top 10% = 10 households: 1000 + 9*10 = 1090, dominated by one (1010/1090 > 90%) -> suppressed;
    # then top 50% (1490) would give the 10-50% band, and vice versa, so it goes too.
    assert table.loc["top 10%", "share_of_cost_pct"] == "x"
    assert table.loc["all", "share_of_cost_pct"] == "100.0"
    assert "cut" not in " ".join(result.table.columns)
    balanced = pd.DataFrame({"hh": [f"h{i}" for i in range(100)], "cost": np.arange(1.0, 101.0)})
    result = SafeWriter(tmp_path / "e2", tmp_path / "v2").concentration(balanced, name="c2", unit="hh",
                                                                        value="cost", top_shares=[0.2])
    # Top 20% = values 81..100, sum 1810 of 5050 = 35.8%.
    assert result.table.set_index("segment").loc["top 20%", "share_of_cost_pct"] == "35.8"


@pytest.mark.parametrize("segments", ["top", "bands"])
def test_concentration_by_group_against_an_independent_ranking(tmp_path, segments):
    # Households with several rows, in three regions, with many equal amounts.
    rng = np.random.default_rng(1)
    n = 600
    data = pd.DataFrame({"hh": rng.integers(0, 250, n), "cost": rng.choice([0.0, 10.0, 25.0, 100.0, 730.5], n),
                         "region": pd.Categorical(rng.choice(["b", "a", "c"], n), categories=["a", "b", "c", "d"])})
    open_rules = DisclosureRules(min_units=1, dominance_k=1.0, p_percent=1e-9, flag_zero_cells=False,
                                 flag_full_cells=False)
    shares = [0.1, 0.25, 0.5]
    result = SafeWriter(tmp_path / "e", tmp_path / "v", open_rules).concentration(
        data, name="c", unit="hh", value="cost", top_shares=shares, by="region", segments=segments)
    assert result.status == "pass", result.reasons
    got = result.table.set_index(["region", "segment"])
    groups = [("Totaal", data)] + [(r, data[data["region"] == r]) for r in ("a", "b", "c")]
    for region, rows in groups:
        amounts = np.sort(rows.groupby("hh")["cost"].sum().to_numpy())[::-1]
        cuts = [math.ceil(x * len(amounts) - 1e-9) for x in shares]
        if segments == "top":
            expected = {f"top {x:.0%}": (cut, amounts[:cut].sum()) for x, cut in zip(shares, cuts)}
        else:
            bounds = [0] + cuts + [len(amounts)]
            names = ["0%-10%", "10%-25%", "25%-50%", "50%-100%"]
            expected = {name: (hi - lo, amounts[lo:hi].sum()) for name, lo, hi in zip(names, bounds, bounds[1:])}
        expected["all"] = (len(amounts), amounts.sum())
        for segment, (count, amount) in expected.items():
            row = got.loc[(region, segment)]
            assert int(row["n_households"]) == count, (region, segment)
            assert float(row["share_of_cost_pct"]) == pytest.approx(100 * amount / amounts.sum(), abs=0.05 + 1e-9)
    assert list(dict.fromkeys(result.table["region"])) == ["Totaal", "a", "b", "c"]


def test_aggregated_table_with_unit_counts_and_top_contributions(tmp_path):
    table = pd.DataFrame({"area": ["a", "b", "c"], "n": [25, 4, 30], "cost": [2500.0, 400.0, 3000.0],
                          "top1": [300.0, 150.0, 2900.0], "top2": [200.0, 100.0, 20.0]})
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence", DisclosureRules(flag_full_cells=False))
    result = writer.aggregated_table(table, name="agg", dimensions=["area"], count_column="n", value_column="cost",
                                     statistic="sum", top_columns=["top1", "top2"], unit_label="households")
    shown = result.table.set_index("area")["sum_cost"]
    # b: 4 units -> frequency; c: 2900+20 of 3000 -> dominance; total 5900 = a + b + c.
    assert shown["b"] == "x" and shown["c"] == "x" and shown["Totaal"] == "5900.00"
    evidence = pd.read_csv(result.evidence.with_name("agg.cells.csv")).set_index("area")
    assert evidence.loc["c", "rules_failed"] == "dominance;p-percent"
    assert evidence.loc["Totaal", "cost_largest"] == 2900.0


def test_the_checker_names_row_and_column_of_each_identifier_like_number():
    from disclosure_control.checker import CheckReport, _check_table
    frame = pd.DataFrame({"a": ["x", "y", "z", "123456782"], "b": ["1", "2", "111222333", "123456789"]})
    report = CheckReport.__new__(CheckReport)
    report.findings = []
    _check_table(frame, "f.csv", {"label_columns": ["a"]}, DisclosureRules(), report)
    found = [(f.cell, f.message.rsplit(" ", 1)[-1]) for f in report.findings if f.rule == "identifier"]
    # 123456789 fails the eleven-test; the other two pass it.
    assert found == [("row 4, column a", "123456782"), ("row 3, column b", "111222333")]


@pytest.mark.parametrize("rows_per_unit", ["one", "several"])
def test_association_rule_counts_against_an_independent_count(tmp_path, rows_per_unit):
    rng = np.random.default_rng(5)
    n = 3000
    data = pd.DataFrame({"hh": np.arange(n) if rows_per_unit == "one" else rng.integers(0, 1200, n),
                         "youth": rng.random(n) < 0.4, "debt": rng.random(n) < 0.3,
                         "police": (rng.random(n) < 0.2).astype(int)})
    rules = [(["youth"], ["debt"]), (["youth", "debt"], ["police"]), (["police"], ["youth", "debt"])]
    open_rules = DisclosureRules(min_units=1, near_full_share=0.999, flag_zero_cells=False, flag_full_cells=False)
    result = SafeWriter(tmp_path / "e", tmp_path / "v", open_rules).association_rules(
        data, name="r", unit="hh", items=["youth", "debt", "police"], rules=rules)
    per_unit = data.astype({"police": bool}).groupby("hh")[["youth", "debt", "police"]].any()
    table = result.table
    for i, (antecedent, consequent) in enumerate(rules):
        has_a = per_unit[antecedent].all(axis=1)
        has_both = has_a & per_unit[consequent].all(axis=1)
        assert int(table["n_households_antecedent"].iloc[i]) == int(has_a.sum())
        assert int(table["n_households_rule"].iloc[i]) == int(has_both.sum())
        assert float(table["support_pct"].iloc[i]) == pytest.approx(100 * has_both.sum() / len(per_unit), abs=0.05)
