"""Dimensions given as a pandas Categorical are published in the order of their
categories; plain text columns (and categoricals that merely carry the text
sort of ``astype("category")``) keep the natural sort ("2" before "10")."""

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


def test_unused_categories_are_left_out_and_hierarchy_nodes_follow_their_first_part(tmp_path):
    data = _data()
    data["kids"] = pd.Categorical(data["kids"], categories=["0", "1", "2", "3+", "4+"])   # "4+" never occurs
    writer = SafeWriter(tmp_path / "e", tmp_path / "v", RULES)
    table = writer.frequency_table(data, name="k", unit="hh", dimensions=["kids"],
                                   hierarchies={"kids": {"0": "geen", "1": "wel", "2": "wel", "3+": "wel"}}).table
    assert table["kids"].tolist() == ["Totaal", "geen", "0", "wel", "1", "2", "3+"]


def test_text_and_default_categoricals_are_sorted_naturally(tmp_path):
    data = _data()
    writer = SafeWriter(tmp_path / "e", tmp_path / "v", RULES)
    plain = writer.frequency_table(data, name="plain", unit="hh", dimensions=["size"]).table
    assert plain["size"].tolist() == ["Totaal", "1", "2", "10"]
    data["size"] = data["size"].astype("category")    # categories ["1", "10", "2"]: just the text sort
    default = writer.frequency_table(data, name="default", unit="hh", dimensions=["size"]).table
    assert default["size"].tolist() == ["Totaal", "1", "2", "10"]
