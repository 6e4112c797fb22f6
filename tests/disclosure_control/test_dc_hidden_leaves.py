"""Hidden leaves: households by number of domains with their exact domain profiles as unpublished leaves.

An intruder who reads households per domain, households by number of domains and the domain
combinations of a group knows that each is a sum of the same exact domain profiles. When every
household of one domain is in one published combination of that domain alone, no household has that
domain together with another: with three domains, the zero row "3" (all three) is proven empty.
The tables are protected with the profiles as hidden leaves (``hidden_leaves``) tied to the other
tables by identities; the attacker here is a linear program built from the published CSV files
alone, over the eight profiles.
"""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from disclosure_control import DisclosureRules, SafeWriter, check_export
from disclosure_control.completion import write_completion_record

DOMAINS = ("a", "b", "c")
# Households per exact profile: 30 without domains, 6 with only a, 4 with only b, 12 with only c.
# Per domain: a 6, b 4 (fewer than 10: primary), c 12. By number of domains: 0: 30, 1: 22, 2 and 3:
# none (zero cells, primary). The group's combinations: all 12 of c ("c"), and a and b pooled
# ("overige combinaties", 10).
PROFILES = {(): 30, ("a",): 6, ("b",): 4, ("c",): 12}
MASKS = list(range(1 << len(DOMAINS)))


def _label(mask: int) -> str:
    return " + ".join(d for k, d in enumerate(DOMAINS) if mask >> k & 1) or "geen"


def _mask(names) -> int:
    return sum(1 << DOMAINS.index(d) for d in names)


def _publish(folder, with_profiles: bool):
    households = [(f"h{i}", names) for i, names in enumerate(n for n, k in PROFILES.items() for _ in range(k))]
    size_labels = ["0", "1", "2", "3"]
    reach = pd.DataFrame([(h, d) for h, names in households for d in names], columns=["household", "domein"])
    reach["domein"] = pd.Categorical(reach["domein"], categories=list(DOMAINS))
    counted = pd.DataFrame({"household": [h for h, _ in households]})
    identities = [{"column": "n_households", "weights": {k: int(k) for k in size_labels}, "table": "per_domein",
                   "other_column": "n_households", "other_weights": {d: 1 for d in DOMAINS},
                   "text": "sum over domains = sum of k x households with k domains"}]
    combos = pd.DataFrame({"household": [h for h, names in households if names],
                           "combinatie": ["c" if names == ("c",) else "overige combinaties"
                                          for _, names in households if names]})
    combo_identities = []
    kwargs = {}
    if with_profiles:
        leaves = [f"profiel: {_label(m)}" for m in sorted(MASKS, key=lambda m: (bin(m).count("1"), m))]
        counted["aantal"] = pd.Categorical([f"profiel: {_label(_mask(n))}" for _, n in households], categories=leaves)
        kwargs = {"hierarchies": {"aantal": {f"profiel: {_label(m)}": size_labels[bin(m).count("1")] for m in MASKS}},
                  "hidden_leaves": ["aantal"]}
        identities += [{"column": "n_households", "table": "per_domein", "other_column": "n_households",
                        "weights": {f"profiel: {_label(m)}": 1 for m in MASKS if m >> k & 1},
                        "other_weights": {d: 1}, "text": "profiles"} for k, d in enumerate(DOMAINS)]
        combo_identities = [
            {"column": "n_households", "weights": {"c": 1}, "table": "aantal_domeinen", "other_column": "n_households",
             "other_weights": {"profiel: c": 1}, "only": "at_most", "text": "combination <= profile"},
            {"column": "n_households", "weights": {"overige combinaties": 1}, "table": "aantal_domeinen",
             "other_column": "n_households", "only": "at_most", "text": "combination <= profile",
             "other_weights": {f"profiel: {_label(m)}": 1 for m in MASKS if m != _mask(["c"])}}]
    else:
        counted["aantal"] = pd.Categorical([str(len(n)) for _, n in households], categories=size_labels)
    writer = SafeWriter(folder / "export", folder / "evidence", DisclosureRules())
    with writer.batch() as batch:
        batch.frequency_table(reach, name="per_domein", unit="household", dimensions=["domein"],
                              unit_labels=["households"], metadata={"population": "households with costs"})
        batch.frequency_table(counted, name="aantal_domeinen", unit="household", dimensions=["aantal"],
                              unit_labels=["households"], identities=identities, **kwargs,
                              metadata={"population": "all households"})
        batch.frequency_table(combos, name="combinaties", unit="household", dimensions=["combinatie"],
                              unit_labels=["households"], identities=combo_identities,
                              metadata={"population": "a group of households"})
    assert [r.status for r in batch.results] == ["pass"] * 3
    return {name: pd.read_csv(folder / "export" / f"{name}.csv", dtype=str).set_index(column)["n_households"]
            for name, column in (("per_domein", "domein"), ("aantal_domeinen", "aantal"),
                                 ("combinaties", "combinatie"))}


def _intruder_interval(published, row: str) -> tuple[float, float]:
    """Households by number of domains in ``row``, from the published files: the eight exact profiles
    are the unknowns (non-negative); a published figure fixes its sum of profiles; the combinations of
    the group are at most the households with that profile (the pooled row: the profiles not listed)."""
    a_eq, b_eq, a_ub, b_ub = [], [], [], []

    def fix(members, value):
        if value != "x":
            a_eq.append([1.0 if m in members else 0.0 for m in MASKS])
            b_eq.append(float(value))

    fix(MASKS, published["aantal_domeinen"]["Totaal"])
    fix([m for m in MASKS if m], published["per_domein"]["Totaal"])
    for k, d in enumerate(DOMAINS):
        fix([m for m in MASKS if m >> k & 1], published["per_domein"][d])
    for size in range(4):
        fix([m for m in MASKS if bin(m).count("1") == size], published["aantal_domeinen"][str(size)])
    combos = published["combinaties"]
    for label, members in (("c", [_mask(["c"])]), ("overige combinaties", [m for m in MASKS if m != _mask(["c"])])):
        if combos[label] != "x":      # combination <= households with those profiles
            a_ub.append([-1.0 if m in members else 0.0 for m in MASKS])
            b_ub.append(-float(combos[label]))
    target = np.array([1.0 if bin(m).count("1") == int(row) else 0.0 for m in MASKS])
    bounds = []
    for sign in (1.0, -1.0):
        res = linprog(sign * target, A_ub=a_ub or None, b_ub=b_ub or None, A_eq=a_eq, b_eq=b_eq,
                      bounds=[(0, None)] * len(MASKS), method="highs")
        assert res.status == 0
        bounds.append(sign * res.fun)
    return bounds[0], bounds[1]


@pytest.mark.parametrize("with_profiles", [True, False])
def test_a_zero_row_keeps_its_protection_with_the_domain_profiles(tmp_path, with_profiles):
    published = _publish(tmp_path, with_profiles)
    assert published["aantal_domeinen"]["3"] == "x" and published["aantal_domeinen"]["2"] == "x"
    low, high = _intruder_interval(published, "3")
    if with_profiles:
        # The zero cell could hold a household (the zero-cell rule: room for one unit).
        assert low == pytest.approx(0.0, abs=1e-9) and high >= 1.0 - 1e-9
        # The profiles are never published: the table shows the numbers of domains only.
        assert list(published["aantal_domeinen"].index) == ["Totaal", "0", "1", "2", "3"]
        cells = pd.read_csv(tmp_path / "evidence" / "aantal_domeinen.cells.csv", dtype=str, keep_default_na=False)
        hidden = cells[cells["status"] == "hidden"]
        assert dict(zip(hidden["aantal"], hidden["true_n_households"].astype(float).astype(int))) == {
            f"profiel: {_label(m)}": PROFILES.get(tuple(d for k, d in enumerate(DOMAINS) if m >> k & 1), 0)
            for m in MASKS}
        # The evidence holds the protection problem with the eight leaves as silent unknowns (not audited
        # themselves), and the export checker re-runs its audit from it.
        record = json.loads((tmp_path / "evidence" / "aantal_domeinen.evidence.json").read_text(encoding="utf-8"))
        problem = record["problem"]
        assert sorted(problem["keys"][i] for i in problem["silent"]) == sorted(
            f"all households|count:household|aantal=profiel: {_label(m)}" for m in MASKS)
        write_completion_record(tmp_path / "export", run_id="test", config_sha256="0" * 64, n_tables=3)
        report = check_export(tmp_path / "export", tmp_path / "evidence")
        assert report.ok, report.summary()
    else:
        # Without them each identity holds, but the combination and the reach of c prove that no
        # household has c with another domain: "3" (all three) is pinned to 0.
        assert (low, high) == pytest.approx((0.0, 0.0), abs=1e-9)
