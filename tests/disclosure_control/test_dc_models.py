"""Model tables row by row: the independent units behind every estimate, residual degrees
of freedom, standard errors of 0 and exactly identified estimates (hand-computed cases)."""

import json

import numpy as np
import pandas as pd
import pytest

from disclosure_control import DisclosureRules, SafeWriter, check_export
from disclosure_control.models import model_row_checks, standard_error_columns


def _writer(tmp_path, **rules):
    return SafeWriter(tmp_path / "export", tmp_path / "evidence", DisclosureRules(**rules))


def _cells(result) -> pd.DataFrame:
    return pd.DataFrame(json.loads(result.evidence.read_text(encoding="utf-8"))["cells"])


def _suppressed(result, column: str) -> list[bool]:
    return (result.table[column] == "x").tolist()


def test_a_row_on_nine_units_is_suppressed_and_one_on_ten_published(tmp_path):
    writer = _writer(tmp_path)
    coefficients = pd.DataFrame({"term": ["nine", "ten", "thirty"], "estimate": [1.5, -2.25, 0.125],
                                 "std_error": [0.5, 0.75, 0.025], "households": [9, 10, 30]})
    result = writer.model_table(coefficients, name="m", residual_df=100, n_observations=200, row_units="households",
                                unit_label="households")
    assert result.status == "pass"
    # 9 < 10: suppressed; 10 and 30 reach min_units = 10.
    assert _suppressed(result, "estimate") == [True, False, False]
    assert _suppressed(result, "std_error") == [True, False, False]
    assert result.table["estimate"].tolist()[1:] == ["-2.2500", "0.1250"]
    # The unit counts are not published, but are in the evidence with the reason.
    assert list(result.table.columns) == ["term", "estimate", "std_error"]
    cells = _cells(result)
    assert cells["n_households"].tolist() == [9, 10, 30]
    assert cells["rules_failed"].tolist() == ["frequency", "", ""]
    assert cells["status"].tolist() == ["primary", "safe", "safe"]
    assert result.primary_suppressed == 1
    written = (tmp_path / "export" / "m.csv").read_text(encoding="utf-8").splitlines()
    assert written[1] == "nine,x,x"
    # The export checker re-checks the published rows against the evidence.
    report = check_export(tmp_path / "export", tmp_path / "evidence")
    assert [f for f in report.findings if f.rule in ("threshold", "primary-published", "audit", "evidence")] == []


def test_a_standard_error_of_zero_or_undefined_suppresses_its_row(tmp_path):
    writer = _writer(tmp_path)
    coefficients = pd.DataFrame({"term": ["zero", "rounding zero", "undefined", "fine"],
                                 "estimate": [4.0, 1000.0, 2.0, 3.0], "se": [0.0, 1e-10, np.nan, 0.25],
                                 "n": [40, 40, 40, 40]})
    result = writer.model_table(coefficients, name="se0", residual_df=50, n_observations=160, row_units="n")
    assert _suppressed(result, "estimate") == [True, True, True, False]
    assert _cells(result)["rules_failed"].tolist() == ["standard-error"] * 3 + [""]
    # Without unit counts the standard error rule still holds (columns found by name).
    again = writer.model_table(coefficients.drop(columns="n"), name="se0_plain", residual_df=50, n_observations=160)
    assert _suppressed(again, "estimate") == [True, True, True, False]
    assert standard_error_columns(["term", "se", "std_err", "standaardfout", "se_total", "seq", "estimate"]) == \
        ["se", "std_err", "standaardfout", "se_total"]


def test_residual_degrees_of_freedom_per_row_and_per_model(tmp_path):
    writer = _writer(tmp_path)
    coefficients = pd.DataFrame({"term": ["a", "b"], "estimate": [1.0, 2.0], "se": [0.1, 0.2],
                                 "households": [50, 50], "dof": [9, 10]})
    # Rows from different models: 9 < min_residual_df = 10 suppressed, 10 published.
    rows = writer.model_table(coefficients, name="df_rows", n_observations=100, row_units="households",
                              row_residual_df="dof")
    assert rows.status == "pass" and _suppressed(rows, "estimate") == [True, False]
    assert "dof" not in rows.table.columns and "households" not in rows.table.columns
    assert _cells(rows)["rules_failed"].tolist() == ["residual-df", ""]
    # One model for the whole table with 9 residual degrees of freedom: every row fails, as before.
    whole = writer.model_table(coefficients.drop(columns=["households", "dof"]), name="df_model", residual_df=9,
                               n_observations=100)
    assert whole.status == "fail" and any("9 residual degrees of freedom" in r for r in whole.reasons)
    assert not (tmp_path / "export" / "df_model.csv").exists()


def test_an_exactly_identified_estimate_is_never_published(tmp_path):
    # Rules low enough that only the identification rule can act: 3 units and 3 parameters
    # fit exactly; 4 units leave one degree of freedom.
    writer = _writer(tmp_path, min_units=2, min_residual_df=1)
    coefficients = pd.DataFrame({"term": ["three", "four"], "estimate": [1.0, 2.0], "units": [3, 4]})
    result = writer.model_table(coefficients, name="ident", residual_df=5, n_observations=50, row_units="units",
                                n_parameters=3)
    assert _suppressed(result, "estimate") == [True, False]
    assert _cells(result)["rules_failed"].tolist() == ["exactly-identified", ""]
    # No residual degree of freedom at all is exact identification too.
    checks = model_row_checks(coefficients, min_units=2, min_residual_df=0, row_residual_df=[0, 1])
    assert checks.reasons == ["exactly-identified", ""]


def test_groups_behind_a_row_each_need_min_units(tmp_path):
    writer = _writer(tmp_path)
    # Per row the households of the treated and the control group; a missing count: the
    # group is not behind the row; no count at all: no units.
    coefficients = pd.DataFrame({"estimate": ["before/after", "effect", "effect small control", "nothing"],
                                 "value": [1.0, 2.0, 3.0, 4.0],
                                 "n_treated": [12, 12, 12, np.nan], "n_control": [np.nan, 15, 9, np.nan]})
    result = writer.model_table(coefficients, name="groups", residual_df=20, n_observations=60,
                                row_units=["n_treated", "n_control"], unit_label="households")
    assert _suppressed(result, "value") == [False, False, True, True]
    cells = _cells(result)
    assert cells["n_households"].tolist() == [12, 12, 9, 0]       # the smallest group behind each row
    assert list(result.table.columns) == ["estimate", "value"]
    # Counts may also be given as one number per row.
    listed = writer.model_table(coefficients[["estimate", "value"]], name="listed", residual_df=20, n_observations=60,
                                row_units=[12, 10, 9, 0])
    assert _suppressed(listed, "value") == [False, False, True, True]


def test_the_table_fails_only_when_every_row_fails(tmp_path):
    writer = _writer(tmp_path)
    coefficients = pd.DataFrame({"term": ["a", "b"], "estimate": [1.0, 2.0], "se": [0.1, 0.0], "n": [2, 40]})
    result = writer.model_table(coefficients, name="all_fail", residual_df=50, n_observations=100, row_units="n")
    assert result.status == "fail"
    assert any("term=a" in r and "2 independent units" in r for r in result.reasons)
    assert any("term=b" in r and "standard error" in r for r in result.reasons)
    assert not (tmp_path / "export" / "all_fail.csv").exists()


def test_model_tables_in_a_batch_stay_separate_from_other_tables(tmp_path):
    writer = _writer(tmp_path, flag_zero_cells=False)
    data = pd.DataFrame({"hh": [f"h{i}" for i in range(40)], "kind": ["a"] * 20 + ["b"] * 20})
    model = pd.DataFrame({"kind": ["a", "b"], "estimate": [1.0, 2.0], "n": [20, 5]})
    with writer.batch() as batch:
        batch.frequency_table(data, name="counts", unit="hh", dimensions=["kind"], metadata={"population": "p"})
        batch.model_table(model, name="model", residual_df=30, n_observations=40, row_units="n",
                          metadata={"population": "p"})
    counts, fitted = batch.results
    assert counts.status == "pass" and fitted.status == "pass"
    assert _suppressed(fitted, "estimate") == [False, True]
    manifest = json.loads((tmp_path / "export" / "disclosure_manifest.json").read_text(encoding="utf-8"))
    assert manifest["tables"]["model"]["protected_with"] == []


def test_callers_without_row_information_work_as_before(tmp_path):
    writer = _writer(tmp_path)
    coefficients = pd.DataFrame({"maat": ["Gini"], "waarde": [0.4321]})
    result = writer.model_table(coefficients, name="gini", residual_df=99, n_observations=100)
    assert result.status == "pass" and result.table["waarde"].tolist() == ["0.4321"]
    assert _cells(result)["status"].tolist() == ["safe"]
    with pytest.raises(TypeError):
        writer.model_table(coefficients, name="no_n", residual_df=99)          # n_observations stays required
    missing = writer.model_table(coefficients, name="no_df", n_observations=100)
    assert missing.status == "fail" and "residual_df" in missing.reasons[0]


@pytest.mark.parametrize("rounding_base, n_observations, residual_df, expected", [
    # Nationally: four significant digits, halves up (218,270 -> 218,300; 218,268 -> 218,300).
    (None, 218_270, 218_268, "Model estimated on about 218300 observations with about 218300 residual degrees"),
    (None, 1_024_904, 99_950, "Model estimated on about 1025000 observations with about 99950 residual degrees"),
    # Below 10,000 exact, unless the export rounds counts: then as the tables round them (22 -> 20).
    (None, 9_999, 9_997, "Model estimated on 9999 observations with 9997 residual degrees"),
    (5, 22, 21, "Model estimated on 20 observations with 20 residual degrees"),
])
def test_notes_state_the_number_of_observations_as_the_tables_would(tmp_path, rounding_base, n_observations,
                                                                    residual_df, expected):
    """An exact count of five digits or more in notes is a statistic to the checker, and an exact
    count beside tables rounded to 5 undoes their rounding: notes state N and the degrees of
    freedom rounded the same way."""
    writer = _writer(tmp_path, rounding_base=rounding_base)
    coefficients = pd.DataFrame({"term": ["a"], "estimate": [0.25]})
    result = writer.model_table(coefficients, name="m", residual_df=residual_df, n_observations=n_observations)
    assert result.status == "pass"
    notes = (tmp_path / "export" / "m.notes.txt").read_text(encoding="utf-8")
    assert expected in notes
    assert ("rounded to multiples of 5" in notes) == (rounding_base == 5)
    report = check_export(tmp_path / "export", tmp_path / "evidence")
    assert [f for f in report.findings if f.rule == "value-in-notes"] == []


def test_a_dimension_named_like_an_evidence_column_is_refused(tmp_path):
    """The evidence lists every cell's labels beside its status: a dimension called "status" would be
    lost there and the checker could not match the published rows (it did, for the monitoring cohort)."""
    writer = _writer(tmp_path)
    data = pd.DataFrame({"household": np.arange(40), "status": ["a", "b"] * 20})
    result = writer.frequency_table(data, name="t", unit="household", dimensions=["status"])
    assert result.status == "fail"
    assert any("'status' has the name of an evidence column" in r for r in result.reasons)
    renamed = writer.frequency_table(data.rename(columns={"status": "cohortstatus"}), name="t2", unit="household",
                                     dimensions=["cohortstatus"])
    assert renamed.status == "pass"


def test_notes_can_leave_the_number_of_observations_out(tmp_path):
    """A cohort's periods x households would give its size back beside a cohort table that suppresses it."""
    writer = _writer(tmp_path)
    coefficients = pd.DataFrame({"term": ["a"], "estimate": [0.25]})
    writer.model_table(coefficients, name="m", residual_df=100, n_observations=120, observations_in_notes=False)
    notes = (tmp_path / "export" / "m.notes.txt").read_text(encoding="utf-8")
    assert "120" not in notes and "100" not in notes and "are not stated (they would give back counts" in notes
