"""The export-wide audit: figures of different tables about the same units protected as one system.

Each test builds tables that are safe one by one but give a suppressed value away together,
and checks, from the published tables alone (as an intruder would), that it no longer comes
back; the expected values are computed by hand from the data.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from disclosure_control import DisclosureRules, SafeWriter, check_export

RULES = DisclosureRules(flag_full_cells=False)


def _households(n: int = 300, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"hh": np.arange(n)})
    frame["cluster"] = np.where(np.arange(n) < n // 2, "c1", "c2")
    frame["wmo"] = rng.random(n) < 0.5
    frame["jeugd"] = rng.random(n) < 0.4
    frame["halt"] = False
    frame.loc[[3, 17, 160, 171], "halt"] = True          # 4 households: below 10
    for domain in ("wmo", "jeugd", "halt"):
        frame[f"kosten_{domain}"] = np.where(frame[domain], rng.uniform(500, 5000, n).round(2), 0.0)
    frame["kosten_totaal"] = frame[[f"kosten_{d}" for d in ("wmo", "jeugd", "halt")]].sum(axis=1)
    return frame


def _long(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for domain in ("wmo", "jeugd", "halt"):
        part = frame.loc[frame[domain], ["hh", f"kosten_{domain}"]].rename(columns={f"kosten_{domain}": "kosten"})
        rows.append(part.assign(domein=domain))
    return pd.concat(rows, ignore_index=True)


PROFILE = dict(values=["kosten_wmo", "kosten_jeugd", "kosten_halt", "kosten_totaal"], shares=["wmo", "jeugd", "halt"],
               parts={f"kosten_{d}": ("kosten", {"domein": d}) for d in ("wmo", "jeugd", "halt")}
               | {"kosten_totaal": ("kosten", {})})


def _release(tmp_path, frame: pd.DataFrame, with_profile: bool = True, profile: dict = PROFILE):
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence", RULES)
    long = _long(frame)
    with writer.batch() as batch:
        # Different groups (households with costs; all households): the population labels say so.
        with_costs = {"population": "huishoudens met kosten"}
        batch.frequency_table(long, name="bereik", unit="hh", dimensions=["domein"], metadata=with_costs)
        batch.magnitude_table(long, name="kosten", unit="hh", dimensions=["domein"], values="kosten",
                              value_dimensions=["domein"], metadata=with_costs)
        if with_profile:
            batch.cluster_profiles(frame, name="profiel", unit="hh", cluster="cluster", **profile,
                                   metadata={"population": "alle huishoudens"})
    return {r.name: r for r in batch.results}


def test_a_share_times_its_count_does_not_give_back_a_suppressed_count(tmp_path):
    frame = _households()
    results = _release(tmp_path, frame)
    assert all(r.status in ("pass", "review") for r in results.values()), {n: r.reasons for n, r in results.items()}
    bereik = results["bereik"].table.set_index("domein")
    assert bereik.loc["halt", "n_households"] == "x"          # 4 households: primary
    profile = results["profiel"].table.set_index("cluster")
    # pct_halt x n / 100 in the total row is the reach of halt: it must not be published.
    total_row = profile.loc["Totaal"]
    n_total = int(total_row["n_households"])
    assert n_total == len(frame)
    assert total_row["pct_halt"] == "x"
    # Nor can it be rebuilt from the clusters: their shares times their counts add up to it.
    per_cluster = [(profile.loc[c, "pct_halt"], profile.loc[c, "n_households"]) for c in ("c1", "c2")]
    assert any("x" in pair for pair in per_cluster)


def test_a_mean_times_its_count_does_not_give_back_a_suppressed_sum(tmp_path):
    frame = _households()
    results = _release(tmp_path, frame)
    kosten = results["kosten"].table.set_index("domein")
    assert kosten.loc["halt", "sum_kosten"] == "x"
    profile = results["profiel"].table.set_index("cluster")
    true_halt = frame["kosten_halt"].sum()
    # mean x n over the total row would be the suppressed sum (to the cent).
    assert profile.loc["Totaal", "mean_kosten_halt"] == "x"
    # The total cost minus the published domains would give it too (a row identity).
    published = [profile.loc["Totaal", f"mean_kosten_{d}"] for d in ("wmo", "jeugd", "totaal")]
    if "x" not in published:
        n = int(profile.loc["Totaal", "n_households"])
        derived = (float(published[2]) - float(published[0]) - float(published[1])) * n
        assert abs(derived - true_halt) > 0.1 * true_halt


def test_the_evidence_holds_the_export_wide_interval_of_every_suppressed_figure(tmp_path):
    import json
    frame = _households()
    _release(tmp_path, frame)
    record = json.loads((tmp_path / "evidence" / "bereik.evidence.json").read_text(encoding="utf-8"))
    audit = record["export_audit"]
    assert set(audit["tables"]) == {"kosten", "profiel"}
    halt = [f for f in audit["figures"] if f["column"] == "n_households" and f["true_value"] == 4.0]
    assert halt and all(f["protected"] for f in halt)
    # The derived interval reaches the required one on both sides (4 +- 1 unit at least).
    assert halt[0]["derived_low"] <= 3.0 + 1e-6 and halt[0]["derived_high"] >= 5.0 - 1e-6


def test_without_the_profile_nothing_more_is_suppressed_than_the_tables_need(tmp_path):
    frame = _households()
    results = _release(tmp_path, frame, with_profile=False)
    bereik = results["bereik"].table.set_index("domein")
    # halt (4) is primary; the total counts each household once (multi-membership), so the
    # table protects halt with one more domain suppressed; wmo and jeugd are not both lost.
    assert bereik.loc["halt", "n_households"] == "x"
    assert (bereik["n_households"] != "x").sum() >= 2


def test_pairs_hashed_in_small_chunks_give_the_same_audit_and_a_layer_that_does_not_add_up_is_left_out(
        tmp_path, monkeypatch):
    """Nationally the pairs of a sum layer are hashed a few million at a time; a layer found not to
    add up after some of its chunks were hashed makes the audit start over without it. Chunks of
    7 pairs must give what one chunk gives, with a profile column declared as the wrong domain."""
    import json
    import disclosure_control.population as population

    frame = _households()
    # All costs, but one euro more for the last 50 households: the layer adds up for its first chunks.
    frame["kosten_laat"] = frame["kosten_totaal"] + (frame["hh"] >= 250)
    # And one euro more for every household: a later layer that fails in its first chunk (it must not
    # undo the start-over the first one asked for).
    frame["kosten_vroeg"] = frame["kosten_totaal"] + 1

    # kosten_laat and kosten_vroeg declared as all costs: they differ for some or all households.
    profile = dict(values=["kosten_laat", "kosten_jeugd", "kosten_totaal", "kosten_vroeg"], shares=["halt"],
                   parts={"kosten_laat": ("kosten", {}), "kosten_vroeg": ("kosten", {}),
                          "kosten_jeugd": ("kosten", {"domein": "jeugd"}), "kosten_totaal": ("kosten", {})})

    def release(folder):
        results = _release(folder, frame, profile=profile)
        tables = {name: r.table.to_csv(index=False) for name, r in results.items()}
        audit = json.loads((folder / "evidence" / "profiel.evidence.json").read_text(encoding="utf-8"))["export_audit"]
        return tables, audit

    whole_tables, whole_audit = release(tmp_path / "whole")
    monkeypatch.setattr(population, "_CHUNK_PAIRS", 7)
    chunked_tables, chunked_audit = release(tmp_path / "chunked")
    assert chunked_tables == whole_tables
    assert chunked_audit["figures"] == whole_audit["figures"]
    for audit in (whole_audit, chunked_audit):
        left_out = sorted(n.split(":")[0] for n in audit["notes"] if "amounts per unit differ" in n)
        assert left_out == ["mean_kosten_laat", "mean_kosten_vroeg"]


def test_chunk_bounds_split_rows_by_their_pairs():
    from disclosure_control.population import _chunk_bounds
    # Pairs per row 3, 3, 3, 10, 1 (running totals 3, 6, 9, 19, 20): a chunk ends after the row that
    # reaches 6, 12, 18 pairs -> rows [0, 2), [2, 3), [3, 5) (a large row makes a large chunk).
    assert _chunk_bounds(np.array([3, 3, 3, 10, 1]), 6).tolist() == [0, 2, 3, 5]
    assert _chunk_bounds(np.array([], dtype=np.int64), 6).tolist() == [0, 0]
    assert _chunk_bounds(np.array([2, 2]), 100).tolist() == [0, 2]


def test_a_category_that_groups_finer_codes_is_audited_with_its_parts(tmp_path):
    """Costs per domain group ("zorg" = wmo + jeugd, and halt) beside costs per domain: the group's sum
    is the sum of the domains' sums. Declared with value_groups, the grouped table is audited with the
    domain table (its halt cannot come back as the group table's total minus the published domains);
    without it, its amounts do not match any finer part and the audit leaves it out."""
    import json
    frame = _households()
    long = _long(frame)
    grouped = long.assign(domein=long["domein"].replace({"wmo": "zorg", "jeugd": "zorg"}))
    grouped = grouped.groupby(["hh", "domein"], as_index=False)["kosten"].sum()

    def release(folder, value_groups):
        writer = SafeWriter(folder / "export", folder / "evidence", RULES)
        meta = {"population": "huishoudens met kosten"}
        with writer.batch() as batch:
            batch.magnitude_table(long, name="kosten", unit="hh", dimensions=["domein"], values="kosten",
                                  value_dimensions=["domein"], metadata=meta)
            batch.magnitude_table(grouped, name="kosten_groepen", unit="hh", dimensions=["domein"], values="kosten",
                                  value_dimensions=["domein"], value_groups=value_groups, metadata=meta)
        results = {r.name: r for r in batch.results}
        audit = json.loads((folder / "evidence" / "kosten_groepen.evidence.json").read_text(encoding="utf-8"))
        return results, audit["export_audit"]

    results, audit = release(tmp_path / "grouped", {"domein": {"zorg": ["wmo", "jeugd"]}})
    assert not [n for n in audit["notes"] if "amounts per unit differ" in n]
    assert "kosten" in audit["tables"]
    by_domain = results["kosten"].table.set_index("domein")["sum_kosten"]
    by_group = results["kosten_groepen"].table.set_index("domein")["sum_kosten"]
    assert by_domain["halt"] == "x" and by_group["halt"] == "x"          # 4 households: primary
    true_halt = frame["kosten_halt"].sum()
    # Totals of either table minus the published domains or groups never give halt back.
    for total in (by_domain["Totaal"], by_group["Totaal"]):
        for rest in ([by_domain["wmo"], by_domain["jeugd"]], [by_group["zorg"]]):
            if "x" not in [total, *rest]:
                derived = float(total) - sum(float(v) for v in rest)
                assert abs(derived - true_halt) > 0.1 * true_halt, (total, rest)
    # Undeclared, "zorg" matches no part of the domain table: left out of the audit, and said.
    _, undeclared = release(tmp_path / "undeclared", None)
    assert [n for n in undeclared["notes"] if "amounts per unit differ" in n]


def test_value_columns_released_together_share_every_suppression(tmp_path):
    """Costs at the run's prices and at prices 25% higher: the same amounts scaled, so a suppressed cell of
    one column beside the published cell of the other gives it back (x 1.25). Together, every layer of a
    cell is one decision; apart (the default), the column without a risk is published."""
    frame = _households()
    long = _long(frame)
    # One household dominates jeugd: the dominance rule suppresses its sum.
    long.loc[long["domein"] == "jeugd", "kosten"] = 10.0
    long.loc[long.index[long["domein"] == "jeugd"][0], "kosten"] = 1_000_000.0
    long["kosten_hoog"] = long["kosten"] * 1.25
    long.loc[long["domein"] == "jeugd", "kosten_hoog"] = 12.5        # at the high prices no household dominates

    def release(folder, together):
        writer = SafeWriter(folder / "export", folder / "evidence", RULES)
        result = writer.magnitude_table(long, name="kosten", unit="hh", dimensions=["domein"],
                                        values=["kosten", "kosten_hoog"], values_together=together,
                                        metadata={"population": "huishoudens met kosten"})
        return result.table.set_index("domein")

    apart, together = release(tmp_path / "apart", False), release(tmp_path / "together", True)
    assert apart.loc["jeugd", "sum_kosten"] == "x" and apart.loc["jeugd", "sum_kosten_hoog"] != "x"
    assert (together.loc["jeugd"] == "x").all()
    # Every cell is published or suppressed whole, and the table still adds up to nothing more.
    for _, row in together.iterrows():
        assert (row == "x").all() or not (row == "x").any()
    suppressed = together.index[(together == "x").any(axis=1)]
    assert len(suppressed) >= 2                                       # jeugd and a secondary cell



def test_an_empty_domain_does_not_come_back_as_its_group_minus_its_published_member(tmp_path):
    """No household has youth-protection costs: the zero cells "jeugdbescherming" of the domain-by-year
    table are suppressed (zero-cell rule) and, wmo being cheapest, the table hides the wmo row beside
    them. The cluster profile publishes the mean costs of the group "jeugd" (jeugdhulp +
    jeugdbescherming) over all households: mean x n minus the published jeugdhulp total gives the
    empty domain back as 0, unless the export-wide audit asks whether the published figures prove the
    cell empty (its households might have had costs there) and suppresses what does. Checked by an
    independent linear program over the published figures alone."""
    import json
    from scipy.optimize import linprog
    rng = np.random.default_rng(11)
    n = 200
    frame = pd.DataFrame({"hh": np.arange(n)})
    frame["cluster"] = np.where(np.arange(n) < n // 2, "c1", "c2")
    frame["jaar"] = rng.choice([2020, 2021], n)
    frame["wmo"] = rng.random(n) < 0.5
    frame["jeugdhulp"] = rng.random(n) < 0.4
    frame["kosten_wmo"] = np.where(frame["wmo"], rng.uniform(10, 50, n).round(2), 0.0)
    frame["kosten_jeugd"] = np.where(frame["jeugdhulp"], rng.uniform(500, 5000, n).round(2), 0.0)
    frame["kosten_totaal"] = frame["kosten_wmo"] + frame["kosten_jeugd"]
    long = pd.concat([frame.loc[frame[d], ["hh", "jaar", f"kosten_{k}"]].rename(columns={f"kosten_{k}": "kosten"})
                      .assign(domein=d) for d, k in (("wmo", "wmo"), ("jeugdhulp", "jeugd"))], ignore_index=True)
    long["domein"] = pd.Categorical(long["domein"], categories=["wmo", "jeugdhulp", "jeugdbescherming"])
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence", RULES)
    with writer.batch() as batch:
        batch.magnitude_table(long, name="kosten", unit="hh", dimensions=["domein", "jaar"], values="kosten",
                              value_dimensions=["domein", "jaar"], metadata={"population": "huishoudens met kosten"})
        batch.cluster_profiles(frame, name="profiel", unit="hh", cluster="cluster",
                               values=["kosten_wmo", "kosten_jeugd", "kosten_totaal"], shares=[],
                               parts={"kosten_wmo": ("kosten", {"domein": "wmo"}),
                                      "kosten_jeugd": ("kosten", {"domein": ["jeugdhulp", "jeugdbescherming"]}),
                                      "kosten_totaal": ("kosten", {})},
                               metadata={"population": "alle huishoudens"})
    tables = {r.name: r.table for r in batch.results}
    kosten = tables["kosten"].set_index(["domein", "jaar"])["sum_kosten"]
    assert (kosten.loc["jeugdbescherming"] == "x").all()

    # The intruder: unknowns are the costs per (domain, year) of the households of each cluster
    # (2 clusters x 3 domains x 2 years, non-negative); every published figure is a constraint within
    # its rounding. Bound the youth-protection costs of all years from above.
    cells = [(c, d, y) for c in ("c1", "c2") for d in ("wmo", "jeugdhulp", "jeugdbescherming") for y in (2020, 2021)]
    rows, low, high = [], [], []

    def published(text, member, half):
        if text != "x":
            rows.append([1.0 if member(*cell) else 0.0 for cell in cells])
            low.append(float(text) - half)
            high.append(float(text) + half)
    for (domain, year), text in kosten.items():
        published(text, lambda c, d, y, domain=domain, year=year: domain in ("Totaal", d) and year in ("Totaal", str(y)),
                  0.005)
    profile = tables["profiel"].set_index("cluster")
    for cluster, row in profile.iterrows():
        size = int(row["n_households"])
        for column, domains in (("mean_kosten_wmo", ("wmo",)), ("mean_kosten_jeugd", ("jeugdhulp", "jeugdbescherming")),
                                ("mean_kosten_totaal", ("wmo", "jeugdhulp", "jeugdbescherming"))):
            if row[column] != "x":
                published(float(row[column]) * size, lambda c, d, y, cluster=cluster, domains=domains:
                          cluster in ("Totaal", c) and d in domains, 0.005 * size)
    a = np.array(rows)
    objective = -np.array([1.0 if d == "jeugdbescherming" else 0.0 for _, d, _ in cells])
    bound = linprog(objective, A_ub=np.vstack([a, -a]), b_ub=np.concatenate([high, -np.array(low)]),
                    bounds=[(0, None)] * len(cells), method="highs")
    assert bound.status == 0
    # A tenth of a typical household's amount at least (what the zero-cell rule asks, here EUR 515).
    assert -bound.fun > 100, -bound.fun
    evidence = json.loads((tmp_path / "evidence" / "kosten.evidence.json").read_text(encoding="utf-8"))
    position = list(tables["kosten"].index[(tables["kosten"]["domein"] == "jeugdbescherming")
                                           & (tables["kosten"]["jaar"] == "Totaal")])[0]
    required = [f for f in evidence["export_audit"]["figures"] if f["position"] == position
                and f["column"] == "sum_kosten"][0]
    # The writer asked room above 0 for the empty cell, and the published figures leave it.
    assert float(required["required_high"]) > 0 and required["protected"]
    assert -bound.fun >= float(required["required_high"]) - 1e-6, (-bound.fun, required)


def test_one_table_with_an_odd_split_does_not_take_the_others_out_of_the_audit(tmp_path):
    """Costs by provider (a split no other table has) released first, beside costs by domain and a
    profile: no table splits the amount by domain and provider at once, so the audit takes the split
    most tables fit in (domain) and links only the odd table's total over the providers, named in its
    notes."""
    import json
    frame = _households()
    long = _long(frame)
    long["aanbieder"] = np.where(long["hh"] % 2 == 0, "A", "B")
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence", RULES)
    with writer.batch() as batch:
        batch.magnitude_table(long, name="per_aanbieder", unit="hh", dimensions=["aanbieder"], values="kosten",
                              value_dimensions=["aanbieder"], metadata={"population": "huishoudens met kosten"})
        batch.magnitude_table(long, name="kosten", unit="hh", dimensions=["domein"], values="kosten",
                              value_dimensions=["domein"], metadata={"population": "huishoudens met kosten"})
        batch.cluster_profiles(frame, name="profiel", unit="hh", cluster="cluster", **PROFILE,
                               metadata={"population": "alle huishoudens"})

    def audit(name):
        return json.loads((tmp_path / "evidence" / f"{name}.evidence.json").read_text(encoding="utf-8"))["export_audit"]
    left_out = {name: [n for n in audit(name)["notes"] if "left out" in n] for name in ("per_aanbieder", "kosten", "profiel")}
    assert not any(left_out.values()), left_out
    # The odd table: only its total over the providers is linked (the households' costs), and said.
    assert [n for n in audit("per_aanbieder")["notes"] if "only its totals over them" in n]
    # The halt costs (4 households, primary) are audited against the profile's means x n.
    halt = [f for f in audit("kosten")["figures"] if f["column"] == "sum_kosten" and f["true_value"] > 0]
    assert halt and all(f["protected"] for f in halt)


def test_a_profile_whose_domain_groups_add_up_protects_each_row_as_a_sum(tmp_path, monkeypatch):
    """A profile's mean costs beside its mean costs per domain group that hold every domain: in each
    row the total is the sum of the groups, so a suppressed group's mean is the total minus the
    others unless a second cell of the row is suppressed too. Checked with the export-wide audit
    reduced to identities (as for a large population): the table's own protection must see the row."""
    import disclosure_control.population as population
    monkeypatch.setattr(population, "MAX_LP_ATOMS", 0)
    frame = _households()
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence", RULES)
    released = writer.cluster_profiles(frame, name="profiel", unit="hh", cluster="cluster", **PROFILE,
                                       metadata={"population": "alle huishoudens"})
    table = released.table.set_index("cluster")
    parts = ["mean_kosten_wmo", "mean_kosten_jeugd", "mean_kosten_halt"]
    assert (table["mean_kosten_halt"] == "x").all()          # 4 households with halt costs: primary
    for cluster, row in table.iterrows():
        hidden = [c for c in parts + ["mean_kosten_totaal"] if row[c] == "x"]
        assert len(hidden) >= 2, (cluster, row.to_dict())
        if row["mean_kosten_totaal"] != "x":
            shown = sum(float(row[c]) for c in parts if row[c] != "x")
            rest = float(row["mean_kosten_totaal"]) - shown
            true = frame.loc[frame["cluster"] == cluster, "kosten_halt"].mean() if cluster != "Totaal" \
                else frame["kosten_halt"].mean()
            assert rest > true * 1.05 or not true, (cluster, rest, true)


def test_a_total_over_a_split_no_other_table_has_is_linked_with_the_domain_tables(tmp_path):
    """Costs of one domain by provider (domain a dimension of one category, provider a split that no
    other table has) beside costs by domain and year: the total over the providers is the domain's
    costs of the same households, one quantity with the domain table's cell, audited as one; the
    providers' own rows stay out of the audit (named)."""
    import json
    frame = _households()
    long = _long(frame).assign(jaar=lambda t: np.where(t["hh"] % 3 == 0, "2020", "2021"))
    halt = long[long["domein"] == "halt"].assign(aanbieder=lambda t: np.where(t["hh"] < 100, "A", "B"))
    halt["domein"] = pd.Categorical(halt["domein"], categories=["halt"])
    writer = SafeWriter(tmp_path / "export", tmp_path / "evidence", RULES)
    with writer.batch() as batch:
        batch.magnitude_table(long, name="kosten", unit="hh", dimensions=["domein", "jaar"], values="kosten",
                              value_dimensions=["domein", "jaar"], metadata={"population": "huishoudens met kosten"})
        batch.magnitude_table(halt.drop(columns="jaar"), name="aanbieders_halt", unit="hh", dimensions=["domein", "aanbieder"],
                              margins=["aanbieder"], values="kosten", value_dimensions=["domein", "aanbieder"],
                              metadata={"population": "huishoudens met kosten van halt"})

    def audit(name):
        return json.loads((tmp_path / "evidence" / f"{name}.evidence.json").read_text(encoding="utf-8"))["export_audit"]
    by_provider = audit("aanbieders_halt")
    assert [n for n in by_provider["notes"] if "only its totals over them" in n]
    # The halt costs (4 households, primary in both): one quantity, published nowhere.
    kosten = json.loads((tmp_path / "export" / "disclosure_manifest.json").read_text(encoding="utf-8"))
    position = [i for i, r in enumerate(batch.results[0].table.itertuples()) if (r.domein, r.jaar) == ("halt", "Totaal")]
    halt_figure = [f for f in audit("kosten")["figures"] if f["column"] == "sum_kosten" and f["position"] in position]
    assert halt_figure and "aanbieders_halt" in halt_figure[0]["shared_with"], halt_figure


def test_a_linear_program_with_numerical_trouble_is_solved_again_by_another_method(tmp_path, monkeypatch):
    """Older HiGHS builds (scipy 1.11) give up on some larger programs with an unknown status: the
    audit solves the same program by another method, and the release is the one without trouble."""
    import types
    import disclosure_control.population as population
    frame = _households()
    plain = {name: r.table.to_csv(index=False) for name, r in _release(tmp_path / "plain", frame).items()}
    real, calls = population.linprog, []

    def troubled(*args, **kwargs):
        calls.append(kwargs.get("method"))
        if len(calls) % 2 == 1 and kwargs.get("method") == "highs":
            return types.SimpleNamespace(status=4, message="numerical difficulties")
        return real(*args, **kwargs)
    monkeypatch.setattr(population, "linprog", troubled)
    again = {name: r.table.to_csv(index=False) for name, r in _release(tmp_path / "again", frame).items()}
    assert again == plain
    assert "highs-ds" in calls


def test_solutions_of_earlier_programs_prove_later_figures_within_the_intervals_of_their_own_programs(
        tmp_path, monkeypatch):
    """A figure whose protection interval the solutions of earlier programs already reach needs no
    program of its own: the same tables, and every interval in the evidence lies within the one its
    own programs give (the intruder's), reaching the protection interval."""
    import json
    import disclosure_control.population as population

    def figures(folder):
        out = {}
        for path in sorted((folder / "evidence").glob("*.evidence.json")):
            audit = json.loads(path.read_text(encoding="utf-8")).get("export_audit") or {"figures": [], "notes": []}
            out |= {(f["table"], f["column"], f["position"]): f for f in audit["figures"]}
            notes = audit["notes"]
        return out, notes
    frame = _households(n=600, seed=5)
    with_points = {n: r.table.to_csv(index=False) for n, r in _release(tmp_path / "points", frame).items()}
    monkeypatch.setattr(population, "_MAX_POINTS", 0)
    own = {n: r.table.to_csv(index=False) for n, r in _release(tmp_path / "own", frame).items()}
    assert with_points == own
    (by_points, notes), (by_programs, own_notes) = figures(tmp_path / "points"), figures(tmp_path / "own")
    assert by_points.keys() == by_programs.keys() and len(by_points) >= 5
    held = [n for n in notes if "checks held by the solutions of earlier programs" in n]
    assert held and not [n for n in own_notes if "solutions of earlier programs" in n]
    for key, f in by_points.items():
        g = by_programs[key]
        low, high, own_low, own_high = (float(f["derived_low"]), float(f["derived_high"]), float(g["derived_low"]),
                                        float(g["derived_high"]))
        assert own_low - 1e-6 <= low and high <= own_high + 1e-6 * (1 + abs(own_high)), key
        assert low <= f["required_low"] + 1e-6 and high >= f["required_high"] - 1e-6, key


def test_items_grouped_by_their_hash_pairs_as_a_sort_of_the_pairs_groups_them():
    """The atoms and quantities are the distinct (h1, h2) pairs numbered in sorted order, as
    ``np.unique(axis=0)`` numbers them; a collision of h1 alone (two pairs, one h1) still
    gives two groups."""
    from disclosure_control.population import _groups_of_hash_pairs

    rng = np.random.default_rng(11)
    h1 = rng.integers(1, 2 ** 63, size=50, dtype=np.int64).astype(np.uint64)[rng.integers(0, 50, 2_000)]
    h2 = h1 * np.uint64(3) + np.uint64(1)
    expected = np.unique(np.column_stack([h1, h2]), axis=0, return_inverse=True)[1].reshape(-1)
    assert np.array_equal(_groups_of_hash_pairs(h1, h2), expected)
    # Rows 0 and 1 share h1 but not h2.
    h2_collided = h2.copy()
    h1[1] = h1[0]
    h2_collided[1] = h2[0] + np.uint64(7)
    expected = np.unique(np.column_stack([h1, h2_collided]), axis=0, return_inverse=True)[1].reshape(-1)
    grouped = _groups_of_hash_pairs(h1, h2_collided)
    assert np.array_equal(grouped, expected)
    assert grouped[0] != grouped[1]
    assert len(_groups_of_hash_pairs(np.zeros(0, np.uint64), np.zeros(0, np.uint64))) == 0


def test_layers_that_take_whole_units_hashed_per_unit_give_the_audit_of_hashing_every_part(tmp_path, monkeypatch):
    """A layer of all costs (not split by domain) takes every part of each household: hashed per
    household, its atoms, quantities and linear programs must be those of hashing it part by part."""
    import json
    import disclosure_control.population as population

    frame = _households()

    def release(folder):
        results = _release(folder, frame)
        audit = json.loads((folder / "evidence" / "profiel.evidence.json").read_text(encoding="utf-8"))["export_audit"]
        return {name: r.table.to_csv(index=False) for name, r in results.items()}, audit

    per_unit_tables, per_unit_audit = release(tmp_path / "per_unit")
    monkeypatch.setattr(population, "_HASH_WHOLE_UNITS", False)
    per_part_tables, per_part_audit = release(tmp_path / "per_part")
    assert per_unit_tables == per_part_tables
    assert per_unit_audit["figures"] == per_part_audit["figures"] and per_unit_audit["figures"]
    assert per_unit_audit["notes"] == per_part_audit["notes"]
    assert any(n.startswith("sum:kosten: linear programs over") for n in per_unit_audit["notes"])


def test_parts_of_units_and_their_sums_follow_the_unit_pointer():
    from disclosure_control.population import _parts_of_units, _sums_per_unit
    # Units 0, 1, 2 hold items [0, 2), [2, 2) (none), [2, 5).
    unit_start = np.array([0, 2, 2, 5])
    position, item = _parts_of_units(np.array([7, 8, 9]), np.array([2, 1, 0]), unit_start)
    assert position.tolist() == [7, 7, 7, 9, 9] and item.tolist() == [2, 3, 4, 0, 1]
    big = np.array([2 ** 63, 2 ** 63, 5, 1, 2], dtype=np.uint64)   # 2**63 + 2**63 wraps to 0
    assert _sums_per_unit(big, unit_start).tolist() == [0, 0, 8]


def _largest_type_count(table: pd.DataFrame, cluster: str, share: str, types: list[str]) -> float:
    """What a reader of ``table`` alone can prove of the most households of type ``share`` in
    ``cluster``: a linear program over the counts per (cluster, type), with every published
    number (a share to its decimal, times its row's count), the columns' totals and each row's
    types adding up to its households."""
    from scipy.optimize import linprog
    rows = list(table["cluster"])
    index = {(r, t): k for k, (r, t) in enumerate((r, t) for r in rows for t in types + ["n"])}
    a_eq, b_eq, a_ub, b_ub = [], [], [], []

    def row_of(pairs):
        v = np.zeros(len(index))
        for key, w in pairs:
            v[index[key]] += w
        return v

    for r in rows:
        a_eq.append(row_of([((r, t), 1.0) for t in types] + [((r, "n"), -1.0)]))
        b_eq.append(0.0)
    for t in types + ["n"]:
        a_eq.append(row_of([(("Totaal", t), 1.0)] + [((r, t), -1.0) for r in rows if r != "Totaal"]))
        b_eq.append(0.0)
    for _, line in table.iterrows():
        r = line["cluster"]
        if line["n_households"] != "x":
            a_eq.append(row_of([((r, "n"), 1.0)]))
            b_eq.append(float(line["n_households"]))
        for t in types:
            text = line[f"pct_{t}"]
            if text == "x":
                continue
            low, high = (float(text) - 0.05) / 100, (float(text) + 0.05) / 100   # count / n within these
            a_ub.append(row_of([((r, t), 1.0), ((r, "n"), -high)]))
            b_ub.append(0.0)
            a_ub.append(row_of([((r, "n"), low), ((r, t), -1.0)]))
            b_ub.append(0.0)
    objective = -row_of([((cluster, share), 1.0)])
    solved = linprog(objective, A_ub=np.array(a_ub), b_ub=b_ub, A_eq=np.array(a_eq), b_eq=b_eq, bounds=(0, None),
                     method="highs")
    assert solved.status == 0
    return -solved.fun


def test_household_type_shares_that_add_up_to_100_percent_keep_a_small_clusters_zero_in_doubt(tmp_path):
    """Each household has one type: a profile's type shares add up to 100% in every row. Cluster B (6
    households) is suppressed, its 0 households of type 'overig' with it (a zero in a group below the
    minimum). Type 'overig' has no household at all, so the total row's 'overig' is hidden to protect
    B's; but the total row's other shares then give it back as 100% minus the rest (and B's zero with
    it), unless the writer knows that the types add up. Checked by a linear program on the published
    table alone."""
    types = ["type_een", "type_twee", "type_overig"]
    cluster = np.array(["A"] * 100 + ["B"] * 6)
    kind = np.array(["type_een"] * 50 + ["type_twee"] * 50 + ["type_een"] * 3 + ["type_twee"] * 3)
    frame = pd.DataFrame({"hh": np.arange(len(cluster)), "cluster": cluster,
                          "kosten_totaal": np.linspace(100.0, 5000.0, len(cluster)).round(2)})
    for t in types:
        frame[t] = (kind == t).astype(int)

    def release(folder, partitions):
        writer = SafeWriter(folder / "export", folder / "evidence", RULES)
        result = writer.cluster_profiles(frame, name="profiel", unit="hh", cluster="cluster", values=["kosten_totaal"],
                                         shares=types, parts={"kosten_totaal": ("kosten", {})},
                                         partitions=partitions)
        assert result.status in ("pass", "review"), result.reasons
        return result.table.astype(str)

    declared = release(tmp_path / "declared", [types])
    assert declared.set_index("cluster").loc["B", "pct_type_overig"] == "x"
    assert _largest_type_count(declared, "B", "type_overig", types) >= 1.0 - 1e-6
    # The export checker re-audits the table with the identity (written without a run: no completion record).
    findings = check_export(tmp_path / "declared" / "export", evidence_dir=tmp_path / "declared" / "evidence").findings
    assert [f for f in findings if f.rule != "incomplete"] == []
    # Without the declaration the table is protected as if the shares were unrelated: B's zero comes back
    # (fewer than one household: none).
    undeclared = release(tmp_path / "undeclared", [])
    assert _largest_type_count(undeclared, "B", "type_overig", types) < 1.0


def test_a_profiles_domain_households_within_all_households_of_the_domain_keep_a_small_clusters_zero_in_doubt(
        tmp_path):
    """All 30 households with wmo are in cluster A of a profile (40 households); clusters C (12) and B
    (6 households) have none, B's a zero in a small group. Households outside the profile (14, no wmo)
    are in the reach table: 30 households with wmo. A reader who knows that the profile's households with wmo are among
    those 30 reads B's zero back from A's 75% of 40, unless the profile declares it (an identity
    'at most' with the reach table). Checked by a linear program on the published tables alone."""
    from scipy.optimize import linprog
    n = 72
    cluster = np.array(["A"] * 40 + ["C"] * 12 + ["B"] * 6 + [None] * 14, dtype=object)
    wmo = np.zeros(n, dtype=int)
    wmo[:30] = 1
    jeugd = np.zeros(n, dtype=int)
    jeugd[30:] = 1
    frame = pd.DataFrame({"hh": np.arange(n), "cluster": cluster, "wmo": wmo, "jeugd": jeugd,
                          "kosten_totaal": np.linspace(200.0, 9000.0, n).round(2)})
    long = pd.concat([frame.loc[frame["wmo"] == 1, ["hh"]].assign(domein="wmo"),
                      frame.loc[frame["jeugd"] == 1, ["hh"]].assign(domein="jeugd")], ignore_index=True)
    within = [{"column": "pct_wmo", "weights": {"Totaal": 1}, "table": "bereik", "other_column": "n_households",
               "other_weights": {"wmo": 1}, "only": "at_most", "text": "households with wmo among all"}]

    def release(folder, identities):
        writer = SafeWriter(folder / "export", folder / "evidence", RULES)
        with writer.batch() as batch:
            batch.frequency_table(long, name="bereik", unit="hh", dimensions=["domein"],
                                  metadata={"population": "alle huishoudens"})
            batch.cluster_profiles(frame[frame["cluster"].notna()], name="profiel", unit="hh", cluster="cluster",
                                   values=["kosten_totaal"], shares=["wmo", "jeugd"],
                                   parts={"kosten_totaal": ("kosten", {})}, identities=identities,
                                   metadata={"population": "geclusterde huishoudens"})
        results = {r.name: r for r in batch.results}
        assert all(r.status in ("pass", "review") for r in results.values()), {k: r.reasons for k, r in results.items()}
        return (results["profiel"].table.astype(str).set_index("cluster"),
                results["bereik"].table.astype(str).set_index("domein"))

    def most_wmo_in_b(profile, reach):
        # Variables: households with wmo in A, B, C and the profile's total, then n of each.
        rows = ["A", "B", "C", "Totaal"]
        a_eq, b_eq, a_ub, b_ub = [[1, 1, 1, -1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, -1]], [0, 0], [], []
        for k, row in enumerate(rows):
            if profile.loc[row, "n_households"] != "x":
                a_eq.append([0] * 4 + [1 if j == k else 0 for j in range(4)])
                b_eq.append(float(profile.loc[row, "n_households"]))
            share = profile.loc[row, "pct_wmo"]
            if share != "x":      # count / n within the share's rounding
                low, high = (float(share) - 0.05) / 100, (float(share) + 0.05) / 100
                a_ub.append([1 if j == k else 0 for j in range(4)] + [-high if j == k else 0 for j in range(4)])
                a_ub.append([-1 if j == k else 0 for j in range(4)] + [low if j == k else 0 for j in range(4)])
                b_ub += [0, 0]
        if reach.loc["wmo", "n_households"] != "x":      # the profile's households with wmo are among them
            a_ub.append([0, 0, 0, 1, 0, 0, 0, 0])
            b_ub.append(float(reach.loc["wmo", "n_households"]))
        solved = linprog([0, -1, 0, 0, 0, 0, 0, 0], A_ub=np.array(a_ub, dtype=float), b_ub=b_ub,
                         A_eq=np.array(a_eq, float), b_eq=b_eq, bounds=(0, None), method="highs")
        assert solved.status == 0
        return -solved.fun

    profile, reach = release(tmp_path / "declared", within)
    assert profile.loc["B", "pct_wmo"] == "x"
    assert most_wmo_in_b(profile, reach) >= 1.0 - 1e-6
    profile, reach = release(tmp_path / "undeclared", [])
    assert most_wmo_in_b(profile, reach) < 1.0


def test_an_identity_names_a_row_of_a_table_with_two_label_columns_by_its_labels_joined():
    """The costs of a profile's households in a domain are part of that domain's costs over all years:
    row "wmo | Totaal" of a table by domain and year. A row the table does not have fails the profile."""
    import tempfile
    from pathlib import Path
    from disclosure_control import IDENTITY_LABEL_JOIN

    frame = _households()
    long = _long(frame).assign(jaar=lambda x: np.where(x["hh"] % 2 == 0, "2022", "2023"))

    def release(folder, row):
        writer = SafeWriter(folder / "export", folder / "evidence", RULES)
        within = [{"column": "mean_kosten_wmo", "weights": {"Totaal": 1}, "table": "kosten", "only": "at_most",
                   "other_column": "sum_kosten", "other_weights": {row: 1}, "text": "part of the domain's costs"}]
        with writer.batch() as batch:
            batch.magnitude_table(long, name="kosten", unit="hh", dimensions=["domein", "jaar"], values="kosten",
                                  value_dimensions=["domein", "jaar"], metadata={"population": "met kosten"})
            batch.cluster_profiles(frame, name="profiel", unit="hh", cluster="cluster", **PROFILE, identities=within,
                                   metadata={"population": "alle huishoudens"})
        return {r.name: r for r in batch.results}

    with tempfile.TemporaryDirectory() as folder:
        joined = release(Path(folder) / "a", f"wmo{IDENTITY_LABEL_JOIN}Totaal")
        assert joined["profiel"].status in ("pass", "review"), joined["profiel"].reasons
        assert "Protected together with kosten: part of the domain's costs" in \
            (Path(folder) / "a" / "export" / "profiel.notes.txt").read_text(encoding="utf-8")
        unknown = release(Path(folder) / "b", "wmo")
        assert unknown["profiel"].status == "fail"
        assert any("does not have" in reason for reason in unknown["profiel"].reasons)


def test_a_bound_on_the_work_of_the_linear_programs_leaves_the_later_figures_to_identities_and_says_so(
        tmp_path, monkeypatch):
    """The bound on the programs' size (nonzeros times rows, MAX_LP_WORK) keeps a large population's
    export step within minutes: once reached, the later (larger) figures are held by identities only,
    the evidence says how many, and the log shows how far the audit is while it runs."""
    import json
    import logging
    import disclosure_control.population as population

    def count_notes(folder):
        """The audit's note on the counts, and the suppressed counts of every table it audited."""
        figures = {}
        for name in ("bereik", "kosten", "profiel"):
            audit = json.loads((folder / "evidence" / f"{name}.evidence.json").read_text(encoding="utf-8"))[
                "export_audit"]
            figures |= {(f["table"], f["column"], f["position"]): f for f in audit["figures"]
                        if f["column"] == "n_households" or f["column"].startswith("pct_")}
        return [n for n in audit["notes"] if n.startswith("count:")], figures

    frame = _households()
    monkeypatch.setattr(population, "_MAX_POINTS", 0)
    _release(tmp_path / "whole", frame)
    notes, figures = count_notes(tmp_path / "whole")
    assert "was reached" not in notes[0] and len(figures) >= 2
    assert all(np.isfinite(float(f["derived_low"])) and np.isfinite(float(f["derived_high"]))
               for f in figures.values())

    monkeypatch.setattr(population, "MAX_LP_WORK", 1.0)       # any one pair of programs reaches it
    monkeypatch.setattr(population, "_MAX_POINTS", 0)         # and no later figure is held by its solutions
    monkeypatch.setattr(population, "_PROGRESS_SECONDS", 0.0)
    monkeypatch.setattr(population, "_ANNOUNCE_ATOMS", 0)
    # A handler of its own: a run's log (lib.pipeline.setup_logging) stops this logger's records from
    # reaching the root logger, where pytest's caplog listens.
    logger, lines = logging.getLogger("disclosure_control"), []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        _release(tmp_path / "bounded", frame)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    notes, bounded = count_notes(tmp_path / "bounded")
    assert "(1 pairs)" in notes[0] and "was reached" in notes[0], notes
    # The smallest figure of the count was audited with programs (the same interval as without the
    # bound); every later check of the count held the identities only (no finite interval).
    audited = [key for key, f in bounded.items() if np.isfinite(float(f["derived_high"]))]
    assert len(audited) == 1, audited
    assert bounded[audited[0]]["true_value"] == min(f["true_value"] for f in figures.values())
    assert bounded[audited[0]]["derived_high"] == pytest.approx(figures[audited[0]]["derived_high"])
    assert all(float(f["derived_high"]) == np.inf for key, f in bounded.items() if key != audited[0])
    later = int(notes[0].split("was reached: ")[1].split(" ")[0])
    assert later == len(bounded) - 1
    # The manifest (what the output checker reads) says so per measure, without numbers.
    def method(folder):
        manifest = json.loads((folder / "export" / "disclosure_manifest.json").read_text(encoding="utf-8"))
        return manifest["tables"]["bereik"]["export_audit"]["method"]
    assert method(tmp_path / "whole") == "one linear program per suppressed figure over all tables of the population"
    bounded_text = ("linear programs for the smallest suppressed figures up to their bound (a large population), "
                    "identities between tables for the rest; the evidence says which")
    assert method(tmp_path / "bounded") == f"counts: {bounded_text}; sums of kosten: {bounded_text}"
    assert [line for line in lines if "export-wide audit of households, count: " in line
            and " 1 pairs of linear programs over" in line and "(100% of their bound)" in line], lines
    # Before the programs: how many figures, over how many atoms.
    assert lines[0] == (f"    export-wide audit of households, count: {len(bounded)} suppressed figures, linear "
                        "programs over 11 atoms; at this size a program takes seconds, so this part can take "
                        "minutes (progress every 0 s)"), lines


def test_the_audits_progress_line_gives_the_time_left_at_its_pace_or_until_its_bound():
    from disclosure_control.population import _time_left_text
    # 9 of 108 figures in 42 s: 99 more at 42/9 s each is 462 s (8 min); the bound, 4% spent in
    # 42 s, ends after 42 * 96 / 4 = 1008 s: the sooner is the pace.
    assert _time_left_text(42, 9, 108, 0.04) == "42 s elapsed, about 8 min left"
    # 10 of 20 figures in 100 s, 90% of the bound spent: the bound ends first, after 11 s.
    assert _time_left_text(100, 10, 20, 0.9) == "2 min elapsed, about 11 s left"
    assert _time_left_text(30, 0, 100, 0.0) == "30 s elapsed"
