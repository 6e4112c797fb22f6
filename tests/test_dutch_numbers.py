"""Dutch number formats of the report (lib.dutch_numbers): hand-written expectations."""
from __future__ import annotations

import pandas as pd
import pytest

from lib.dutch_numbers import cell, euro, number, percent


@pytest.mark.parametrize("value, decimals, expected", [
    (1155, 0, "1.155"),
    (5053, 0, "5.053"),
    (-3527, 0, "-3.527"),
    (1234567.891, 2, "1.234.567,89"),
    (0, 0, "0"),
    (999, 0, "999"),
    (1000, 0, "1.000"),
    (0.8960, 2, "0,90"),
    (-0.4, 0, "0"),            # rounds to zero: no "-0"
    (-1234.5, 1, "-1.234,5"),
])
def test_number(value, decimals, expected):
    assert number(value, decimals) == expected


def test_euro_is_whole_euros_in_text():
    assert euro(15048.4) == "EUR 15.048"
    assert euro(-3527.2) == "EUR -3.527"
    assert euro(938) == "EUR 938"
    assert euro(1234567.891, 2) == "EUR 1.234.567,89"


def test_percent_has_a_decimal_comma():
    assert percent(0.245) == "24,5%"
    assert percent(0.2417) == "24,2%"
    assert percent(0.98, 0) == "98%"
    assert percent(61.7, scale=1) == "61,7%"
    assert percent(-0.05) == "-5,0%"


@pytest.mark.parametrize("text, decimal, expected", [
    ("5570572.84", ".", "5.570.572,84"),
    ("360", ".", "360"),
    ("1155", ".", "1.155"),
    ("-3600.0", ".", "-3.600,0"),
    ("0.8960", ".", "0,8960"),
    ("61.7", ".", "61,7"),
    ("123456789012345678.25", ".", "123.456.789.012.345.678,25"),   # digits as published, no float
    ("5570572,84", ",", "5.570.572,84"),                            # csv_nl
    ("x", ".", "x"),                                                # the suppression symbol as is
    ("", ".", ""),
    ("Totaal", ".", "Totaal"),
    ("top 5%", ".", "top 5%"),
    ("007", ".", "007"),                                            # a code, not a number
])
def test_a_published_cell_keeps_its_decimals(text, decimal, expected):
    assert cell(text, decimal) == expected


def test_the_report_table_shows_dutch_numbers_and_keeps_labels():
    from lib.report import ExportedTable
    frame = pd.DataFrame({"jaar": ["Totaal", "2019"], "n_households": ["1155", "x"],
                          "sum_kosten": ["15048.40", "2019.00"]})
    t = ExportedTable("t", frame, {}, "", {"label_columns": ["jaar"]}, "x")
    shown = t.shown()
    assert shown.to_dict("list") == {"jaar": ["Totaal", "2019"], "n_households": ["1.155", "x"],
                                     "sum_kosten": ["15.048,40", "2.019,00"]}
    assert t.table["sum_kosten"].tolist() == ["15048.40", "2019.00"]     # the exported table is unchanged


def test_key_findings_in_dutch():
    from lib.report import ExportedTable, headline_findings
    reach = ExportedTable("bereik_aantal_domeinen", pd.DataFrame({
        "aantal_domeinen": ["Totaal", "0", "1", "2", "3", "4+"],
        "n_households": ["5053", "3898", "700", "300", "100", "55"]}), {}, "", {}, "x")
    top = ExportedTable("concentratie_top", pd.DataFrame({
        "group": ["Totaal"] * 2, "segment": ["top 1%", "top 5%"], "n_households": ["51", "253"],
        "share_of_kosten_pct": ["24.5", "61.7"]}), {}, "", {}, "x")
    gini = ExportedTable("gini", pd.DataFrame({"maat": ["Gini"], "waarde": ["0.8960"]}), {}, "", {}, "x")
    found = headline_findings([reach, top, gini])
    assert found[0].startswith("Bereik: 1.155 van de 5.053 huishoudens (22,9%) had kosten")
    assert found[1].startswith("155 huishoudens (3,1%) hadden kosten in drie of meer domeinen.")
    assert found[2].startswith("Concentratie: de duurste 1% van de huishoudens droeg 24,5% van alle kosten; "
                               "de duurste 5% van de huishoudens droeg 61,7% van alle kosten.")
    assert found[3].startswith("Gini-coefficient van de kosten per huishouden: 0,90 (0 = gelijk")


def test_a_csv_nl_export_is_shown_the_same():
    from lib.report import ExportedTable
    frame = pd.DataFrame({"domein": ["Totaal"], "sum_kosten": ["5570572,84"], "share_pct": ["61,7"]})
    t = ExportedTable("t", frame, {}, "", {"label_columns": ["domein"]}, "x", ",")
    assert t.shown().iloc[0].tolist() == ["Totaal", "5.570.572,84", "61,7"]
    assert t.value("sum_kosten", domein="Totaal") == 5570572.84
