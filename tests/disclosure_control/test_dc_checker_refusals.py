"""The export checker refuses tampered exports: each refusal with its rule, file and cell.

The export: 50 households, hand-checkable.

* ``households`` (count by region): Totaal 50, east 12, north 35, west 3.
  west fails the frequency rule (primary), east is its complement (secondary).
* ``costs`` (mean cost by type): a 20 households of 100, b 15 of 120, overig
  15 with one of 5000 and 14 of 10 (sum 5140, dominated: primary).  Its mean
  goes, b's mean is the complement (secondary); every count is published.

Published rows (``row r`` counts data rows from 1, the header not counted)::

    households.csv           costs.csv
    1 Totaal 50              1 Totaal 50 178.80
    2 east   x               2 a      20 100.00
    3 north  35              3 b      15 x
    4 west   x               4 overig 15 x

Tampering that also changes a file's hash is followed by ``_cover_tracks``
(hashes in manifest and evidence and the completion record made to match), so
that each test sees only the refusal it is about.
"""

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from disclosure_control import DisclosureRules, SafeWriter, check_export
from disclosure_control.checker import CheckReport, _check_table, _check_text
from disclosure_control.completion import COMPLETION_NAME, remove_completion_record, write_completion_record
from disclosure_control.identifiers import bsn_like_tokens, forbidden_statistic_in_text, percentile_reason
from disclosure_control.output import sha256_of

MANIFEST = "disclosure_manifest.json"
CONFIG = "0" * 64


def _data() -> pd.DataFrame:
    rows = ([("a", "north", 100.0)] * 20 + [("b", "east", 120.0)] * 12 + [("b", "west", 120.0)] * 3
            + [("overig", "north", 5000.0)] + [("overig", "north", 10.0)] * 14)
    frame = pd.DataFrame(rows, columns=["type", "region", "cost"])
    frame["hh"] = [f"h{i}" for i in range(len(frame))]
    return frame


def _export(root: Path, rules: DisclosureRules | None = None, data: pd.DataFrame | None = None) -> Path:
    """Release the two tables in one batch and mark the export complete."""
    writer = SafeWriter(root / "export", root / "evidence", rules or DisclosureRules(),
                        provenance={"script": "test", "config_sha256": CONFIG})
    meta = {"title": "Huishoudens", "unit": "huishoudens", "population": "alle huishoudens",
            "period": "2019-2023"}
    data = _data() if data is None else data
    with writer.batch() as batch:
        batch.frequency_table(data, name="households", unit="hh", dimensions=["region"], metadata=meta)
        batch.magnitude_table(data, name="costs", unit="hh", dimensions=["type"], values="cost",
                              statistic="mean", metadata=meta)
    assert [r.status for r in batch.results] == ["pass", "pass"], [r.reasons for r in batch.results]
    _drop_manifest_values(root / "export")
    write_completion_record(root / "export", run_id="test", config_sha256=CONFIG, n_tables=2)
    return root / "export"


def _drop_manifest_values(export: Path) -> None:
    # Writers up to 1.0.0 recorded the unweighted N of every table in the
    # manifest (the grand total, a table value: refused by the checker, see
    # test_a_manifest_repeating_a_table_value_is_refused).  The clean export is
    # made without it, whichever writer made it (a no-op when it is absent).
    path = export / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for entry in manifest["tables"].values():
        entry.pop("unweighted_n", None)
    path.write_bytes((json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def _cover_tracks(root: Path) -> None:
    """Make hashes and completion record match the tampered files, as someone
    hiding a change would: only the content checks can then refuse it."""
    export = root / "export"
    manifest = json.loads((export / MANIFEST).read_text(encoding="utf-8"))
    for name, entry in manifest["tables"].items():
        entry["files"] = {f: sha256_of(export / f) for f in entry["files"]}
        evidence = root / "evidence" / f"{name}.evidence.json"
        if evidence.exists():
            record = json.loads(evidence.read_text(encoding="utf-8"))
            record["released_files"] = entry["files"]
            evidence.write_text(json.dumps(record), encoding="utf-8")
    (export / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    write_completion_record(export, run_id="test", config_sha256=CONFIG, n_tables=len(manifest["tables"]))


def _replace(path: Path, old: str, new: str, encoding: str = "utf-8") -> None:
    text = path.read_bytes().decode(encoding)
    assert old in text, (old, text)
    path.write_bytes(text.replace(old, new, 1).encode(encoding))


def _found(report) -> set[tuple[str, str, str]]:
    return {(f.file, f.cell, f.rule) for f in report.findings}


def _check(root: Path):
    return check_export(root / "export", root / "evidence")


# ------------------------------------------------------------ a clean export


@pytest.mark.parametrize("output_format", ["csv", "csv_nl", "xlsx"])
def test_an_untampered_export_has_no_findings(tmp_path, output_format):
    if output_format == "xlsx":
        pytest.importorskip("openpyxl")
    export = _export(tmp_path, DisclosureRules(output_format=output_format))
    report = _check(tmp_path)
    assert report.findings == []
    suffix = ".xlsx" if output_format == "xlsx" else ".csv"
    assert sorted(p.name for p in export.iterdir()) == sorted(
        ["costs" + suffix, "costs.notes.txt", "households" + suffix, "households.notes.txt", MANIFEST,
         COMPLETION_NAME])


def test_the_published_cells_are_those_the_docstring_describes(tmp_path):
    export = _export(tmp_path)
    households = pd.read_csv(export / "households.csv", dtype=str)
    costs = pd.read_csv(export / "costs.csv", dtype=str)
    assert households.values.tolist() == [["Totaal", "50"], ["east", "x"], ["north", "35"], ["west", "x"]]
    assert costs.values.tolist() == [["Totaal", "50", "178.80"], ["a", "20", "100.00"], ["b", "15", "x"],
                                     ["overig", "15", "x"]]


# ------------------------------------------- 1. a number where evidence says x


def test_a_revealed_primary_count_is_refused_with_its_row_and_column(tmp_path):
    export = _export(tmp_path)
    _replace(export / "households.csv", "west,x", "west,3")
    _cover_tracks(tmp_path)
    report = _check(tmp_path)
    assert _found(report) == {
        ("households.csv", "row 4, column n_households", "suppressed-published"),
        ("households.csv", "row 4, column n_households", "threshold"),
    }
    message = next(f.message for f in report.findings if f.rule == "suppressed-published")
    assert "primary" in message and "region=west" in message and "'3'" in message


def test_a_revealed_secondary_count_is_refused_even_when_it_is_large_enough(tmp_path):
    export = _export(tmp_path)
    _replace(export / "households.csv", "east,x", "east,12")
    _cover_tracks(tmp_path)
    report = _check(tmp_path)
    assert _found(report) == {("households.csv", "row 2, column n_households", "suppressed-published")}
    assert "secondary" in report.findings[0].message


def test_a_revealed_mean_is_refused_but_the_published_count_beside_it_is_not(tmp_path):
    # overig: count published (status_n_households safe), mean primary (status_sum_cost).
    export = _export(tmp_path)
    _replace(export / "costs.csv", "overig,15,x", "overig,15,342.67")
    _cover_tracks(tmp_path)
    assert _found(_check(tmp_path)) == {("costs.csv", "row 4, column mean_cost", "suppressed-published")}


def test_a_revealed_mean_in_the_dutch_dialect_is_refused(tmp_path):
    export = _export(tmp_path, DisclosureRules(output_format="csv_nl"))
    _replace(export / "costs.csv", "b;15;x", "b;15;120,00", encoding="utf-8-sig")
    _cover_tracks(tmp_path)
    assert _found(_check(tmp_path)) == {("costs.csv", "row 3, column mean_cost", "suppressed-published")}


def test_reordered_rows_do_not_match_the_evidence_and_a_moved_cell_is_still_found(tmp_path):
    export = _export(tmp_path)
    path = export / "households.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[1:] == ["Totaal,50", "east,x", "north,35", "west,x"]
    path.write_text("\n".join([lines[0], "Totaal,50", "north,35", "east,x", "west,x"]) + "\n", encoding="utf-8")
    _cover_tracks(tmp_path)
    report = _check(tmp_path)
    assert _found(report) == {("households.csv", "row 2, column region", "evidence")}
    assert "'north'" in report.findings[0].message and "'east'" in report.findings[0].message
    # Moved to row 2 and revealed: matched to the evidence on its label.
    path.write_text("\n".join([lines[0], "Totaal,50", "west,3", "north,35", "east,x"]) + "\n", encoding="utf-8")
    _cover_tracks(tmp_path)
    assert _found(_check(tmp_path)) == {("households.csv", "row 2, column region", "evidence"),
                                        ("households.csv", "row 2, column n_households", "suppressed-published"),
                                        ("households.csv", "row 2, column n_households", "threshold")}


# ------------------------------------------------- 2. evidence and manifest


def test_a_manifest_table_without_its_evidence_record_is_refused(tmp_path):
    _export(tmp_path)
    (tmp_path / "evidence" / "costs.evidence.json").unlink()
    assert _found(_check(tmp_path)) == {("costs.evidence.json", "", "evidence")}


def test_a_manifest_table_without_its_evidence_cells_is_refused(tmp_path):
    _export(tmp_path)
    (tmp_path / "evidence" / "households.cells.csv").unlink()
    report = _check(tmp_path)
    assert _found(report) == {("households.cells.csv", "", "evidence")}
    assert "no evidence cells file for table 'households'" in report.findings[0].message


def test_evidence_of_another_release_is_refused_by_its_hash(tmp_path):
    _export(tmp_path)
    path = tmp_path / "evidence" / "households.evidence.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    record["released_files"]["households.csv"] = "f" * 64
    path.write_text(json.dumps(record), encoding="utf-8")
    report = _check(tmp_path)
    assert _found(report) == {("households.csv", "", "evidence")}
    assert "SHA-256 in the evidence differs" in report.findings[0].message


def test_evidence_of_a_released_table_missing_from_the_manifest_is_refused(tmp_path):
    _export(tmp_path)
    evidence = tmp_path / "evidence"
    (evidence / "dropped.evidence.json").write_bytes((evidence / "costs.evidence.json").read_bytes())
    (evidence / "dropped.cells.csv").write_bytes((evidence / "costs.cells.csv").read_bytes())
    # A table that failed disclosure control leaves evidence with status "fail": only noted.
    (evidence / "failed.evidence.json").write_text(json.dumps({"table": "failed", "status": "fail",
                                                               "released_files": {}}), encoding="utf-8")
    report = _check(tmp_path)
    assert _found(report) == {("dropped.evidence.json", "", "evidence"), ("dropped.cells.csv", "", "evidence")}
    assert "tables not released (evidence status 'fail'): failed" in report.warnings


# ------------------------------------------------------ 3. completion record


def test_the_completion_record_holds_the_run_and_the_manifest_hash(tmp_path):
    export = _export(tmp_path)
    record = json.loads((export / COMPLETION_NAME).read_text(encoding="utf-8"))
    assert record["run_id"] == "test" and record["config_sha256"] == CONFIG and record["n_tables"] == 2
    assert record["manifest_sha256"] == sha256_of(export / MANIFEST)
    assert record["format"] == 2 and record["completed_utc"].endswith("Z") and len(record["completed_utc"]) == 20
    # Every other file of the folder, with its SHA-256.
    assert record["files"] == {p.name: sha256_of(p) for p in sorted(export.iterdir()) if p.name != COMPLETION_NAME}
    # Written under a temporary name and renamed: nothing else is left behind.
    assert not [p.name for p in export.iterdir() if p.name.endswith(".tmp")]


def test_a_completion_record_needs_a_manifest(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="nothing was released"):
        write_completion_record(tmp_path / "empty", run_id="r", config_sha256=CONFIG, n_tables=0)
    assert list((tmp_path / "empty").iterdir()) == []


def test_an_export_without_a_completion_record_is_refused(tmp_path):
    export = _export(tmp_path)
    assert remove_completion_record(export) is True and remove_completion_record(export) is False
    report = _check(tmp_path)
    assert _found(report) == {(COMPLETION_NAME, "", "incomplete")}
    assert "not marked complete" in report.findings[0].message


def test_a_completion_record_with_another_table_count_is_refused(tmp_path):
    export = _export(tmp_path)
    write_completion_record(export, run_id="test", config_sha256=CONFIG, n_tables=3)
    report = _check(tmp_path)
    assert _found(report) == {(COMPLETION_NAME, "n_tables", "incomplete")}
    assert "released 3 table(s), the manifest lists 2" in report.findings[0].message


def test_a_manifest_changed_after_completion_is_refused(tmp_path):
    export = _export(tmp_path)
    manifest = json.loads((export / MANIFEST).read_text(encoding="utf-8"))
    del manifest["tables"]["costs"]
    (export / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    for name in ("costs.csv", "costs.notes.txt"):
        (export / name).unlink()
    report = _check(tmp_path)
    # The record names 2 tables, the manifest as it was and the files of the costs table, now missing;
    # the costs evidence is now unlisted.
    assert _found(report) == {(COMPLETION_NAME, "manifest_sha256", "incomplete"),
                              (COMPLETION_NAME, "n_tables", "incomplete"),
                              (COMPLETION_NAME, "files.costs.csv", "incomplete"),
                              (COMPLETION_NAME, "files.costs.notes.txt", "incomplete"),
                              ("costs.evidence.json", "", "evidence"), ("costs.cells.csv", "", "evidence")}


def test_a_completion_record_with_other_fields_or_config_is_refused(tmp_path):
    export = _export(tmp_path)
    path = export / COMPLETION_NAME
    record = json.loads(path.read_text(encoding="utf-8"))
    record["total_households"] = 50
    record["config_sha256"] = "1" * 64
    path.write_text(json.dumps(record), encoding="utf-8")
    assert _found(_check(tmp_path)) == {(COMPLETION_NAME, "total_households", "incomplete"),
                                        (COMPLETION_NAME, "config_sha256", "incomplete")}


# ------------------------------------------------ 4. identifiers with separators


@pytest.mark.parametrize("written", ["123.456.782", "123 456 782", "123-456-782", "123456782"])
def test_a_bsn_written_with_separators_in_a_label_is_refused(tmp_path, written):
    export = _export(tmp_path)
    _replace(export / "households.csv", "north,35", f"{written},35")
    _cover_tracks(tmp_path)
    report = _check(tmp_path)
    identifiers = [f for f in report.findings if f.rule == "identifier"]
    assert [(f.file, f.cell) for f in identifiers] == [("households.csv", "row 3, column region")]
    assert identifiers[0].message.endswith(written)
    # The relabelled row no longer matches the evidence either.
    assert ("households.csv", "row 3, column region", "evidence") in _found(report)


def test_a_bsn_with_dots_in_a_notes_file_is_refused_with_its_line(tmp_path):
    export = _export(tmp_path)
    with open(export / "households.notes.txt", "a", encoding="utf-8") as notes:
        notes.write("Contact voor vragen: 123.456.782\n")
    _cover_tracks(tmp_path)
    report = _check(tmp_path)
    lines = (export / "households.notes.txt").read_text(encoding="utf-8").splitlines()
    assert _found(report) == {("households.notes.txt", f"line {len(lines)}", "identifier")}
    assert report.findings[0].message.endswith("123.456.782")


def test_a_bsn_in_the_manifest_is_refused_with_its_field(tmp_path):
    export = _export(tmp_path)
    manifest = json.loads((export / MANIFEST).read_text(encoding="utf-8"))
    manifest["provenance"]["script"] = "run_all.py --voor 123 456 782"
    manifest["tables"]["households"]["kind"] = "frequency table 123-456-782"
    (export / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    _cover_tracks(tmp_path)
    assert _found(_check(tmp_path)) == {(MANIFEST, "provenance.script", "identifier"),
                                        (MANIFEST, "tables.households.kind", "identifier")}


def test_a_bsn_in_a_column_name_is_refused(tmp_path):
    export = _export(tmp_path)
    _replace(export / "households.csv", "region,n_households", "region,n_123.456.782")
    _cover_tracks(tmp_path)
    found = _found(_check(tmp_path))
    assert ("households.csv", "column n_123.456.782", "identifier") in found


def test_dutch_formatted_numbers_are_not_identifiers():
    texts = pd.Series([
        "1.155", "24.461.335,29", "111744150.56", "111744150,56", "123456782,00", "123.456.782,00",
        "1.123.456.782", "123.456.782.001", "12 123 456 782", "2019-2023", "123456789", "123.456.789",
        "Totaal 24.461.335,29 euro over 1.155 huishoudens", "0,30", "10.000", "-123.456.782,5",
    ])
    assert bsn_like_tokens(texts).empty
    grouped = pd.Series(["123.456.782", "a 123 456 782.", "(123-456-782)", "123\u00a0456\u00a0782", "111.222.333"])
    assert bsn_like_tokens(grouped)["token"].tolist() == ["123.456.782", "123 456 782", "123-456-782",
                                                         "123\u00a0456\u00a0782", "111.222.333"]


def test_a_dutch_table_with_nine_digit_amounts_is_not_refused(tmp_path):
    # Household a pays 6172839.10 twenty times: its sum is 123456782.00, nine
    # digits that pass the eleven-test, written "123456782,00" in csv_nl.
    data = _data()
    data.loc[data["type"] == "a", "cost"] = 6172839.10
    rules = DisclosureRules(output_format="csv_nl")
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence", rules,
                        provenance={"script": "test", "config_sha256": CONFIG})
    result = writer.magnitude_table(data, name="sums", unit="hh", dimensions=["type"], values="cost",
                                    statistic="sum", metadata={"title": "Kosten", "period": "2023"})
    assert result.status == "pass", result.reasons
    text = (tmp_path / "export" / "sums.csv").read_bytes().decode("utf-8-sig")
    assert "a;20;123456782,00" in text.splitlines()
    _drop_manifest_values(tmp_path / "export")
    write_completion_record(tmp_path / "export", run_id="test", config_sha256=CONFIG, n_tables=1)
    assert _check(tmp_path).findings == []
    # The Dutch thousands notation in a table is no identifier either.
    report = CheckReport(tmp_path)
    frame = pd.DataFrame({"gemeente": ["Totaal", "0344"], "som": ["24.461.335,29", "111.744.150,56"],
                          "n": ["1.155", "111744150,56"]})
    _check_table(frame, "t.csv", {"label_columns": ["gemeente"]}, rules, report)
    assert report.findings == []


# --------------------------------------- 5. minimum, maximum and percentiles


def test_a_p100_column_is_refused_as_a_maximum_and_a_percentile(tmp_path):
    export = _export(tmp_path)
    path = export / "costs.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([lines[0] + ",p100_kosten"] + [line + ",5000.00" for line in lines[1:]]) + "\n",
                    encoding="utf-8")
    _cover_tracks(tmp_path)
    found = _found(_check(tmp_path))
    assert ("costs.csv", "column p100_kosten", "min-max-or-unit-output") in found
    assert ("costs.csv", "column p100_kosten", "percentile") in found


def test_a_highest_label_is_refused(tmp_path):
    export = _export(tmp_path)
    _replace(export / "costs.csv", "overig,15,x", "hoogste,15,x")
    _cover_tracks(tmp_path)
    found = _found(_check(tmp_path))
    assert ("costs.csv", "row 4, column type", "min-max-or-unit-output") in found


def test_a_median_label_is_refused_unless_percentiles_are_allowed(tmp_path):
    export = _export(tmp_path)
    _replace(export / "costs.csv", "a,20,100.00", "mediaan,20,100.00")
    _cover_tracks(tmp_path)
    found = _found(_check(tmp_path))
    assert ("costs.csv", "row 2, column type", "percentile") in found
    assert percentile_reason("mediaan") and percentile_reason("p99") and percentile_reason("percentile")
    assert percentile_reason("kosten_per_huishouden") is None and percentile_reason("top 5%") is None


def test_released_percentiles_pass_when_the_rules_allow_them(tmp_path):
    rules = DisclosureRules(allow_percentiles=True)
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence", rules,
                        provenance={"script": "test", "config_sha256": CONFIG})
    result = writer.percentiles(_data(), name="median", unit="hh", value="cost", metadata={"period": "2023"})
    assert result.status == "pass" and list(result.table.columns) == ["n_households", "p50_cost"]
    _drop_manifest_values(tmp_path / "export")
    write_completion_record(tmp_path / "export", run_id="test", config_sha256=CONFIG, n_tables=1)
    assert _check(tmp_path).findings == []


def test_minimum_and_maximum_words_in_notes_and_manifest_are_refused(tmp_path):
    export = _export(tmp_path)
    with open(export / "costs.notes.txt", "a", encoding="utf-8") as notes:
        notes.write("Regels met ten hoogste 5 domeinen; maximaal 3 per huishouden; min_units = 10.\n")
        notes.write("De hoogste kosten vallen in 'overig'.\n")
    manifest = json.loads((export / MANIFEST).read_text(encoding="utf-8"))
    manifest["tables"]["households"]["kind"] = "frequency table (max)"
    (export / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    _cover_tracks(tmp_path)
    lines = (export / "costs.notes.txt").read_text(encoding="utf-8").splitlines()
    assert _found(_check(tmp_path)) == {("costs.notes.txt", f"line {len(lines)}", "min-max-or-unit-output"),
                                        (MANIFEST, "tables.households.kind", "min-max-or-unit-output")}


def test_every_listed_word_is_caught_in_text_and_settings_are_not():
    for word in ("hoogste", "laagste", "minimum", "maximum", "min", "max", "grootste", "kleinste"):
        assert forbidden_statistic_in_text(f"De {word} waarde is weggelaten.") is not None, word
        assert forbidden_statistic_in_text(f"{word.upper()}_KOSTEN") is not None, word
    for text in ("min_units = 10 en milp_max_cells = 2500", "ten hoogste 5 domeinen", "maximaal 3 jaar",
                 "min of meer gelijk", "Minimale steun: 50 huishoudens", "hoogstens"):
        assert forbidden_statistic_in_text(text, ("min_units", "milp_max_cells")) is None, text


# ----------------------------------------------------- 6. values in notes


@pytest.mark.parametrize("table, sentence, why", [
    ("costs", "In totaal 50 huishoudens.", "published count (Totaal)"),
    ("households", "In west wonen 3 huishoudens.", "true count of a suppressed cell"),
    ("costs", "Een huishouden betaalt 5000 euro.", "largest contribution in the evidence"),
    ("costs", "Gemiddeld 342,67 euro in overig.", "true mean of a suppressed cell, Dutch decimals"),
    ("costs", "Samen 8.940 euro.", "true sum with a Dutch thousands separator"),
    ("costs", "Bedrag 12345,67 euro.", "more than four significant digits"),
])
def test_a_statistic_in_a_notes_file_is_refused_with_its_line(tmp_path, table, sentence, why):
    export = _export(tmp_path)
    target = f"{table}.notes.txt"
    with open(export / target, "a", encoding="utf-8") as notes:
        notes.write(sentence + "\n")
    _cover_tracks(tmp_path)
    lines = (export / target).read_text(encoding="utf-8").splitlines()
    assert _found(_check(tmp_path)) == {(target, f"line {len(lines)}", "value-in-notes")}, why


def test_settings_years_dates_codes_and_label_numbers_may_be_in_notes(tmp_path):
    export = _export(tmp_path)
    with open(export / "costs.notes.txt", "a", encoding="utf-8") as notes:
        notes.write("Regels: min_units = 10, 2 decimalen, dominantie 90%, p = 10%, beschermingsniveau 30%.\n")
        notes.write("Studiejaren 2019-2023, peildatum 2023-12-31 (31 december 2023), gemeente 0344.\n")
        notes.write("Alleen kosten groter dan 0; aandeel 35,5% van de huishoudens.\n")
        # Thresholds and settings equal to counts of the table (a: 20, b: 15) are settings here.
        notes.write("Minimale steun: 20 huishoudens; steun >= 20; ten minste 15 per groep; de eerste 15 regels.\n")
    _cover_tracks(tmp_path)
    assert _check(tmp_path).findings == []


def test_a_manifest_repeating_a_table_value_is_refused(tmp_path):
    export = _export(tmp_path)
    manifest = json.loads((export / MANIFEST).read_text(encoding="utf-8"))
    # What the writer records today: the grand total of every table.
    manifest["tables"]["households"]["unweighted_n"] = {"households": 50}
    manifest["total_costs"] = 8940.0
    # A value written in a text: the true mean of the suppressed overig cell (342.666...).
    manifest["tables"]["costs"]["export_audit"] = {
        "notes": ["mean_cost of type=overig: published interval [0.0000, 465.3333] does not hold its value "
                  "342.6667; left out of the export-wide audit"], "suppressed_figures_checked": 2}
    (export / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    _cover_tracks(tmp_path)
    assert _found(_check(tmp_path)) == {(MANIFEST, "tables.households.unweighted_n.households", "value-in-manifest"),
                                        (MANIFEST, "total_costs", "value-in-manifest"),
                                        (MANIFEST, "tables.costs.export_audit.notes[0]", "value-in-manifest")}


def test_the_check_of_a_text_reports_each_line():
    report = CheckReport(Path("."))
    _check_text("eerste regel\nBSN 123-456-782\nde kleinste groep\n", "n.txt", report)
    assert [(f.cell, f.rule) for f in report.findings] == [("line 2", "identifier"),
                                                          ("line 3", "min-max-or-unit-output")]


def test_the_completion_record_survives_no_interrupted_write(tmp_path, monkeypatch):
    export = _export(tmp_path)
    before = (export / COMPLETION_NAME).read_bytes()

    def fail(*_):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_completion_record(export, run_id="other", config_sha256=CONFIG, n_tables=2)
    # The old record is intact and the temporary file is gone.
    assert (export / COMPLETION_NAME).read_bytes() == before
    assert not [p.name for p in export.iterdir() if p.name.startswith(".")]


def test_rules_changed_in_the_manifest_are_refused(tmp_path):
    # Allowing percentiles afterwards would let a p50 column through: the
    # rules no longer match the fingerprint the writer recorded.
    export = _export(tmp_path)
    manifest = json.loads((export / MANIFEST).read_text(encoding="utf-8"))
    manifest["rules"]["allow_percentiles"] = True
    (export / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    _cover_tracks(tmp_path)
    assert _found(_check(tmp_path)) == {(MANIFEST, "rules", "manifest")}


def test_each_published_column_is_compared_with_the_status_of_its_own_statistic():
    from disclosure_control.checker import _status_column
    # The evidence columns in the writer's order: per statistic its status, true values and protection.
    columns = ["cluster", "status", "status_n_households", "true_n_households", "upl_n_households",
               "lpl_n_households", "status_sum_jeugdhulp", "true_sum_jeugdhulp", "true_pct_jeugdhulp",
               "upl_sum_jeugdhulp", "lpl_sum_jeugdhulp", "status_sum_cost", "true_sum_cost", "true_mean_cost",
               "upl_sum_cost", "lpl_sum_cost", "n_households", "rules_failed"]
    assert _status_column("n_households", columns) == "status_n_households"
    assert _status_column("pct_jeugdhulp", columns) == "status_sum_jeugdhulp"
    assert _status_column("mean_cost", columns) == "status_sum_cost"
    assert _status_column("share_of_cost_pct", columns) == "status_sum_cost"
    assert _status_column("confidence_pct", columns) == "status"
