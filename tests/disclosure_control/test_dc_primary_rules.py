"""Primary rules on worked examples computed by hand.

Dominance (n,k) and p%-rule follow the definitions of the SDC Handbook
(Hundepool et al.): a cell with total X and largest contributions x1 >= x2 >= ...
is unsafe under (n,k) when x1+..+xn > k X, and under the p%-rule when
X - x1 - x2 < p x1 (the second largest contributor could estimate x1 within p%).
The required protection levels are those of the tau-Argus manual:
(x1+..+xn)/k - X and p x1 - (X - x1 - x2).
"""

import numpy as np
import pandas as pd
import pytest

from disclosure_control import DisclosureRules, SafeWriter
from disclosure_control import primary


def test_dominance_rule_worked_example():
    # Cell A: contributions 80, 15, 3, 2 (X = 100): 80 + 15 = 95 > 90 -> unsafe,
    # protection level 95 / 0.9 - 100 = 5.5556.
    # Cell B: 50, 30, 10, 10: 80 <= 90 -> safe.
    top = np.array([[80.0, 15.0], [50.0, 30.0]])
    total = np.array([100.0, 100.0])
    share, unsafe, level = primary.dominance(top, total, n=2, k=0.90)
    assert share.tolist() == [0.95, 0.80]
    assert unsafe.tolist() == [True, False]
    assert level[0] == pytest.approx(95 / 0.9 - 100)
    assert level[1] == 0.0


def test_p_percent_rule_worked_example():
    # Cell A: 100, 5, 3, 2 (X = 110): remainder 110 - 100 - 5 = 5 < 0.10 * 100 -> unsafe,
    # the second largest (5) estimates x1 as 110 - 5 = 105, within 5% of 100; the
    # cell needs 10 - 5 = 5 more uncertainty.  Cell B: 100, 40, 20: remainder 20 >= 10 -> safe.
    top = np.array([[100.0, 5.0], [100.0, 40.0]])
    total = np.array([110.0, 160.0])
    ratio, unsafe, level = primary.p_percent(top, total, p=0.10)
    assert ratio.tolist() == [0.05, 0.20]
    assert unsafe.tolist() == [True, False]
    assert level.tolist() == [5.0, 0.0]


def test_frequency_rule_counts_every_unit_kind_and_leaves_empty_cells_to_the_zero_rule():
    households = np.array([0, 3, 12, 12])
    persons = np.array([0, 9, 30, 9])
    unsafe = primary.frequency_unsafe({"hh": households, "p": persons}, 10)
    assert unsafe.tolist() == [False, True, False, True]


def test_count_protection_is_thirty_percent_rounded_up_and_at_least_one():
    assert primary.count_protection(np.array([1.0, 3.0, 4.0, 10.0, 20.0]), 0.30).tolist() == [1, 1, 2, 3, 6]


def _writer(tmp_path, **rules):
    return SafeWriter(tmp_path / "export", tmp_path / "evidence", DisclosureRules(**rules))


def _cells(result_table, column):
    return dict(zip(result_table["area"], result_table[column]))


def test_magnitude_rules_on_unit_contributions_through_the_writer(tmp_path):
    # Area "dom": 12 households, one with 1000 and eleven with 10 each:
    # top2 = 1010 of 1110 = 91% > 90% -> dominance; remainder 100 >= 0.1 * 1000 -> p% safe.
    # Area "pp": 12 households 500, 480 and ten of 1: remainder 10 < 0.1 * 500 -> p%-rule;
    # top2 = 980 / 990 = 99% -> dominance as well.
    # Area "ok": 12 households of 100 each.  A household's rows are summed first.
    rows = ([("dom", "h0", 600.0), ("dom", "h0", 400.0)] + [("dom", f"h{i}", 10.0) for i in range(1, 12)]
            + [("pp", "p0", 500.0), ("pp", "p1", 480.0)] + [("pp", f"p{i}", 1.0) for i in range(2, 12)]
            + [("ok", f"o{i}", 100.0) for i in range(12)])
    data = pd.DataFrame(rows, columns=["area", "hh", "cost"])
    writer = _writer(tmp_path, flag_full_cells=False)
    result = writer.magnitude_table(data, name="costs", unit="hh", dimensions=["area"], values="cost")
    assert result.released
    evidence = pd.read_csv(result.evidence.with_name("costs.cells.csv"))
    failed = dict(zip(evidence["area"], evidence["rules_failed"].fillna("")))
    assert failed["dom"] == "dominance"
    assert failed["pp"] == "dominance;p-percent"
    assert failed["ok"] == ""
    share = dict(zip(evidence["area"], evidence["cost_top2_share"]))
    assert share["dom"] == pytest.approx(1010 / 1110, abs=1e-6)
    shown = _cells(result.table, "sum_cost")
    assert shown["dom"] == "x" and shown["pp"] == "x"
    # dom (1110) and pp (990) protect each other: the attacker only learns
    # dom + pp = 3300 - 1200 = 2100, so each lies anywhere in [0, 2100].
    assert shown["ok"] == "1200.00"
    assert shown["Totaal"] == "3300.00"
    intervals = result.audit[result.audit["layer"] == "sum_cost"].set_index("cell")
    assert intervals.loc["area=dom", "feasible_lower"] == pytest.approx(0.0, abs=1e-6)
    assert intervals.loc["area=dom", "feasible_upper"] == pytest.approx(2100.0)
    assert intervals.loc["area=pp", "feasible_upper"] == pytest.approx(2100.0)


def test_negative_contributions_send_the_cell_to_review_and_suppress_it(tmp_path):
    rows = [("a", f"u{i}", 50.0) for i in range(15)] + [("b", f"v{i}", 40.0) for i in range(14)] + [("b", "v14", -20.0)] \
        + [("c", f"w{i}", 30.0) for i in range(15)]
    data = pd.DataFrame(rows, columns=["area", "hh", "cost"])
    result = _writer(tmp_path, flag_full_cells=False).magnitude_table(data, name="neg", unit="hh",
                                                                         dimensions=["area"], values="cost")
    assert result.status == "review"
    assert any("area=b" in r and "negative" in r for r in result.reasons)
    assert _cells(result.table, "sum_cost")["b"] == "x"


def test_frequency_rule_on_persons_when_households_pass(tmp_path):
    # Area "a": 12 households, 12 persons; "b": 10 and 10; "c": 10 households whose
    # rows name only 8 distinct persons (two persons feed two households each), so
    # the person count fails while the household count passes.
    rows = [("a", f"a{i}", f"pa{i}") for i in range(12)] + [("b", f"b{i}", f"pb{i}") for i in range(10)] \
        + [("c", f"c{i}", f"pc{i % 8}") for i in range(10)]
    data = pd.DataFrame(rows, columns=["area", "hh", "person"])
    result = _writer(tmp_path, flag_full_cells=False).frequency_table(
        data, name="f", unit=["hh", "person"], dimensions=["area"])
    evidence = pd.read_csv(result.evidence.with_name("f.cells.csv"))
    failed = dict(zip(evidence["area"], evidence["rules_failed"].fillna("")))
    assert failed == {"Totaal": "", "a": "", "b": "", "c": "frequency"}
    assert _cells(result.table, "n_households")["c"] == "x"


def test_zero_and_full_cells_are_group_disclosure(tmp_path):
    # Region r1: all 20 households are singles (100% cell), couples 0 (zero cell).
    rows = [("r1", "single", f"a{i}") for i in range(20)] + [("r2", "single", f"b{i}") for i in range(15)] \
        + [("r2", "couple", f"c{i}") for i in range(25)] + [("r3", "single", f"d{i}") for i in range(30)] \
        + [("r3", "couple", f"e{i}") for i in range(12)]
    data = pd.DataFrame(rows, columns=["region", "type", "hh"])
    result = _writer(tmp_path).frequency_table(data, name="g", unit="hh", dimensions=["region", "type"])
    evidence = pd.read_csv(result.evidence.with_name("g.cells.csv")).fillna("")
    key = dict(zip(zip(evidence["region"], evidence["type"]), evidence["rules_failed"]))
    assert key[("r1", "couple")] == "zero-cell"
    assert key[("r1", "single")] == "full-cell"
    assert key[("r2", "single")] == ""
    table = result.table.set_index(["region", "type"])["n_households"]
    assert table[("r1", "single")] == "x" and table[("r1", "couple")] == "x"
    # Without the group rules nothing needs suppressing.
    plain = SafeWriter(tmp_path / "e2", tmp_path / "v2", DisclosureRules(flag_zero_cells=False, flag_full_cells=False))
    result = plain.frequency_table(data, name="g", unit="hh", dimensions=["region", "type"])
    assert (result.table["n_households"] != "x").all()
