"""Dimensions given as a pandas Categorical are their code list: every category
is published, in the order of the categories, the unused ones as zero cells
(suppressed by the zero-cell rule when it applies); plain text columns publish
the codes that occur; they (and categoricals that merely carry the text sort
of ``astype("category")``) keep the natural sort ("2" before "10")."""

import numpy as np
import pandas as pd

from disclosure_control import DisclosureRules, SafeWriter

RULES = DisclosureRules(flag_zero_cells=False, flag_full_cells=False)


def _data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "hh": np.arange(n),
        "kids": rng.choice(["0", "1", "2", "3+"], n),
        "band": rng.choice(["a. duurste 1%", "b. 1-5%", "c. rest"], n),
        "size": rng.choice(["1", "2", "10"], n),
        "cost": rng.uniform(100, 200, n).round(2),
    })


def test_categories_give_the_order_and_counts_follow_their_codes(tmp_path):
    data = _data()
    data["kids"] = pd.Categorical(data["kids"], categories=["3+", "2", "1", "0"])          # unordered, explicit
    data["band"] = pd.Categorical(data["band"], categories=["c. rest", "a. duurste 1%", "b. 1-5%"], ordered=True)
    writer = SafeWriter(tmp_path / "e", tmp_path / "v", RULES)
    table = writer.frequency_table(data, name="k", unit="hh", dimensions=["kids"]).table
    assert table["kids"].tolist() == ["Totaal", "3+", "2", "1", "0"]
    expected = data["kids"].astype(str).value_counts()
    assert [int(x) for x in table["n_households"][1:]] == [expected[c] for c in ["3+", "2", "1", "0"]]
    mean = writer.magnitude_table(data, name="m", unit="hh", dimensions=["band", "kids"], values="cost",
                                  statistic="mean").table
    assert list(dict.fromkeys(mean["band"])) == ["Totaal", "c. rest", "a. duurste 1%", "b. 1-5%"]
    assert list(dict.fromkeys(mean["kids"])) == ["Totaal", "3+", "2", "1", "0"]
    row = mean[(mean["band"] == "a. duurste 1%") & (mean["kids"] == "0")].iloc[0]
    cell = data[(data["band"] == "a. duurste 1%") & (data["kids"] == "0")]
    assert row["n_households"] == str(len(cell)) and row["mean_cost"] == f"{cell['cost'].mean():.2f}"


def test_unused_categories_are_published_and_hierarchy_nodes_follow_their_first_part(tmp_path):
    data = _data()
    data["kids"] = pd.Categorical(data["kids"], categories=["0", "1", "2", "3+", "4+"])   # "4+" never occurs
    writer = SafeWriter(tmp_path / "e", tmp_path / "v", RULES)
    table = writer.frequency_table(data, name="k", unit="hh", dimensions=["kids"],
                                   hierarchies={"kids": {"0": "geen", "1": "wel", "2": "wel", "3+": "wel"}}).table
    # "4+" is in no hierarchy node: it hangs under the total, after the nodes of the codes before it.
    assert table["kids"].tolist() == ["Totaal", "geen", "0", "wel", "1", "2", "3+", "4+"]
    counts = dict(zip(table["kids"], table["n_households"]))
    by_kids = data["kids"].astype(str).value_counts()
    assert counts["4+"] == "0" and counts["Totaal"] == str(len(data))
    assert counts["wel"] == str(by_kids[["1", "2", "3+"]].sum()) and counts["0"] == str(by_kids["0"])


def _cells(tmp_path, name):
    return pd.read_csv(tmp_path / "v" / f"{name}.cells.csv", dtype=str, keep_default_na=False)


def test_an_unused_category_is_a_zero_cell_suppressed_by_the_zero_cell_rule(tmp_path):
    data = _data()
    data["kids"] = pd.Categorical(data["kids"], categories=["0", "1", "2", "3+", "4+"])   # "4+" never occurs
    data["band"] = pd.Categorical(data["band"], categories=["a. duurste 1%", "b. 1-5%", "c. rest", "d. leeg"])
    by_kids = data["kids"].astype(str).value_counts()
    # Published as 0 where zero cells are not group disclosure.
    writer = SafeWriter(tmp_path / "e0", tmp_path / "v0", RULES)
    result = writer.frequency_table(data, name="k", unit="hh", dimensions=["kids"])
    assert result.status == "pass"
    assert dict(zip(result.table["kids"], result.table["n_households"])) == {
        "Totaal": "400", **{c: str(by_kids[c]) for c in ["0", "1", "2", "3+"]}, "4+": "0"}

    # Suppressed with the zero-cell rule (the default), with a complement so it cannot be recomputed.
    rules = DisclosureRules(flag_full_cells=False)
    assert rules.flag_zero_cells
    writer = SafeWriter(tmp_path / "e", tmp_path / "v", rules)
    result = writer.frequency_table(data, name="k", unit="hh", dimensions=["kids"])
    assert result.status == "pass", result.reasons
    shown = dict(zip(result.table["kids"], result.table["n_households"]))
    assert list(shown) == ["Totaal", "0", "1", "2", "3+", "4+"]
    assert shown["4+"] == "x" and shown["Totaal"] == "400"
    assert result.primary_suppressed == 1 and result.secondary_suppressed == 1
    complement = [c for c in ["0", "1", "2", "3+"] if shown[c] == "x"]
    assert len(complement) == 1
    assert all(shown[c] == str(by_kids[c]) for c in ["0", "1", "2", "3+"] if c not in complement)
    cells = _cells(tmp_path, "k").set_index("kids")
    assert float(cells.loc["4+", "true_n_households"]) == 0 and cells.loc["4+", "status"] == "primary"
    assert cells.loc["4+", "rules_failed"] == "zero-cell"
    assert cells.loc[complement[0], "status"] == "secondary"
    # The audit: from the published cells the zero cell can be anything from 0 to the complement's count.
    audit = result.audit.set_index("cell")
    assert audit.loc["kids=4+", "feasible_lower"] == 0
    assert audit.loc["kids=4+", "feasible_upper"] == by_kids[complement[0]] >= audit.loc["kids=4+", "required_upper"] >= 1

    # Two dimensions: an empty row ("d. leeg") and an empty column ("4+") are all zero cells, protected.
    result = writer.magnitude_table(data, name="m", unit="hh", dimensions=["band", "kids"], values="cost",
                                    statistic="mean")
    assert result.status == "pass", result.reasons
    table = result.table
    assert list(dict.fromkeys(table["band"])) == ["Totaal", "a. duurste 1%", "b. 1-5%", "c. rest", "d. leeg"]
    assert list(dict.fromkeys(table["kids"])) == ["Totaal", "0", "1", "2", "3+", "4+"]
    empty = (table["band"] == "d. leeg") | (table["kids"] == "4+")
    assert (table.loc[empty, "n_households"] == "x").all() and (table.loc[empty, "mean_cost"] == "x").all()
    cells = _cells(tmp_path, "m")
    zero = (cells["band"] == "d. leeg") | (cells["kids"] == "4+")
    assert (cells.loc[zero, "true_n_households"].astype(float) == 0).all()
    assert (cells.loc[zero, "status"] == "primary").all()
    assert result.audit["protected"].all()
    published = table[~empty & (table["band"] != "Totaal") & (table["kids"] != "Totaal") & (table["n_households"] != "x")]
    assert len(published) >= 6
    for r in published.itertuples():
        cell = data[(data["band"].astype(str) == r.band) & (data["kids"].astype(str) == r.kids)]
        assert r.n_households == str(len(cell)) and r.mean_cost == f"{cell['cost'].mean():.2f}"


def test_unused_total_label_and_aggregate_categories_are_not_leaves(tmp_path):
    data = _data()
    data["kids"] = pd.Categorical(data["kids"], categories=["Totaal", "wel", "0", "1", "2", "3+"])
    writer = SafeWriter(tmp_path / "e", tmp_path / "v", RULES)
    table = writer.frequency_table(data, name="k", unit="hh", dimensions=["kids"],
                                   hierarchies={"kids": {"1": "wel", "2": "wel", "3+": "wel"}}).table
    assert table["kids"].tolist() == ["Totaal", "wel", "1", "2", "3+", "0"]


def test_a_code_list_too_long_for_one_table_is_refused_before_it_is_built(tmp_path):
    data = _data()
    data["size"] = pd.Categorical(data["size"], categories=[str(i) for i in range(1000)])
    data["kids"] = pd.Categorical(data["kids"], categories=[f"k{i}" for i in range(300)] + ["0", "1", "2", "3+"])
    writer = SafeWriter(tmp_path / "e", tmp_path / "v", RULES)
    result = writer.frequency_table(data, name="big", unit="hh", dimensions=["size", "kids"])
    assert result.status == "fail"
    # 1000 + 1 codes (the total) times 304 + 1: refused without building the relations.
    assert "305305 cells" in result.reasons[0] and "size: 1001, kids: 305" in result.reasons[0]


def test_text_and_default_categoricals_are_sorted_naturally(tmp_path):
    data = _data()
    writer = SafeWriter(tmp_path / "e", tmp_path / "v", RULES)
    plain = writer.frequency_table(data, name="plain", unit="hh", dimensions=["size"]).table
    assert plain["size"].tolist() == ["Totaal", "1", "2", "10"]
    data["size"] = data["size"].astype("category")    # categories ["1", "10", "2"]: just the text sort
    default = writer.frequency_table(data, name="default", unit="hh", dimensions=["size"]).table
    assert default["size"].tolist() == ["Totaal", "1", "2", "10"]
    # Its unused categories are published too, in the natural order.
    data["size"] = data["size"].cat.add_categories(["3"]).cat.reorder_categories(["1", "10", "2", "3"])
    more = writer.frequency_table(data[data["size"] != "2"], name="subset", unit="hh", dimensions=["size"],
                                  metadata={"population": "subset"}).table
    assert more["size"].tolist() == ["Totaal", "1", "2", "3", "10"]
    assert dict(zip(more["size"], more["n_households"]))["2"] == "0"
