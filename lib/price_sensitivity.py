"""Price sensitivity: the main figures of the baseline under a low and a high price table.

The default prices drive the domain shares, the ranking of households, who is selected and
which combinations are "most expensive". With ``[sensitivity] price_tables_laag`` and
``price_tables_hoog`` (price tables whose rows replace the run's prices of the same source
and code, as a later table of ``[prices] price_tables`` does) the price step prices every
record again under each, the cube step attributes those costs to the same households, and
the baseline step publishes, beside the run's own figures:

* ``prijsgevoeligheid_concentratie_laag`` / ``_hoog`` -- the share of all costs of the most
  expensive x% (the same cuts as ``concentratie_top``), each ranking by its own prices;
* ``prijsgevoeligheid_domeinen`` -- costs per domain (as the method counts them) under the
  run's, the low and the high prices side by side, with the households behind them;
* ``prijsgevoeligheid_top`` -- households of the most expensive ``top_group_share`` with
  costs in each domain, the group ranked by each price table;
* ``prijsgevoeligheid_selectie`` -- the number of households the selection criteria select
  under each price table.

Every table goes through disclosure control like any other: the costs under other prices are
other amounts (their own value names), the households are the same units, so the export-wide
audit links the counts with every other table's.

The bundle ships no low or high table: a range needs published figures for both ends, which
the default prices mostly lack (see their ``derivation``). The demo writes an illustrative
pair (every price at 75% and 125%) and says so.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lib.baseline import (RANKING, RANKING_NOTE, TableSpec, published_cuts, rank_bands, table_metadata,
                          with_code_list)
from disclosure_control import DisclosureRules
from disclosure_control.primary import dominance, p_percent
from lib.domains import DomainCounting
from lib.selection import select_households

SCENARIOS = ("laag", "hoog")
SCENARIO_LABELS = {"basis": "prijzen van de run", "laag": "lage prijzen", "hoog": "hoge prijzen"}


def scenario_tables_configured(config) -> dict[str, list[str]]:
    """The scenarios of the run with their price tables (none when sensitivity is not asked for)."""
    settings = config["sensitivity"]
    return {s: list(settings[f"price_tables_{s}"]) for s in SCENARIOS if settings[f"price_tables_{s}"]}


def segment_is_safe(cost: np.ndarray, share: float, rules: DisclosureRules) -> bool:
    """Does the most expensive ``share`` of the units (ranked as the concentration tables rank,
    ``lib.baseline.rank_bands``) pass the dominance and p% rules on its costs?"""
    top = -np.sort(-np.asarray(cost, dtype=float))[:int(np.ceil(share * len(cost) - 1e-9))]
    if len(top) < rules.min_units:
        return False
    contributions = np.zeros((1, max(2, rules.dominance_n)))
    largest = top[:contributions.shape[1]]
    contributions[0, :len(largest)] = largest
    total = np.array([top.sum()])
    return not (dominance(contributions, total, rules.dominance_n, rules.dominance_k)[1][0]
                or p_percent(contributions, total, rules.p_percent)[1][0])


def sensitivity_tables(base: pd.DataFrame, scenarios: dict[str, pd.DataFrame], domains: list[str],
                       counting: DomainCounting, settings: dict, selection_settings: dict,
                       rules: DisclosureRules, metadata: dict, residence: dict | None = None) -> list[TableSpec]:
    """The sensitivity tables (see module docstring).

    ``base``: the cube's household table (``cost_total``, ``cost_<domain>``, ...); ``scenarios``:
    per scenario the same households (same order and ids) with the costs under its prices;
    ``domains``: the fine domains of the cube's ``cost_<domain>`` columns; ``settings``: the
    ``[baseline]`` settings; ``rules``: the run's disclosure rules; ``metadata``: the run's
    (``run_metadata``)."""
    min_units = rules.min_units
    def meta(title: str, population: str | None = None, notes=()) -> dict:
        return table_metadata(metadata, residence, title, population, notes=list(notes))

    tables: list[TableSpec] = []
    households = base["household"].to_numpy()
    for name, frame in scenarios.items():
        if not np.array_equal(frame["household"].to_numpy(), households):
            raise ValueError(f"the households under the {name} prices are not the run's households (a bug)")
    costs = {"basis": base} | scenarios
    label = {s: SCENARIO_LABELS[s] for s in costs}
    common = ["Gevoeligheid voor de prijzen: dezelfde huishoudens en registraties, geprijsd met de prijstabellen van "
              "de run, met een lage en met een hoge prijstabel ([sensitivity] price_tables_laag en price_tables_hoog; "
              "hun prijzen vervangen die van de run voor dezelfde bron en code). Bedragen die als bedrag zijn "
              "aangeleverd (bijlage-2-bestanden, uitkeringsbedragen) zijn bij elke prijstabel gelijk."]

    # --- concentration under each price table, the same cuts as concentratie_top -------------
    # A cut whose segment fails a primary rule at the run's prices is left out at the other prices
    # too: under prices scaled alike the shares are (nearly) the same figure.
    kept = set(published_cuts(len(base), list(settings["top_shares"]), [], min_units))
    cuts = [x for x in settings["top_shares"] if x in kept and segment_is_safe(base["cost_total"].to_numpy(), x, rules)]
    for s in scenarios:
        column = f"kosten_{s}"
        data = pd.DataFrame({"household": households, column: costs[s]["cost_total"].to_numpy()})
        tables.append(TableSpec(f"prijsgevoeligheid_concentratie_{s}", "concentration", data,
                                {"unit": "household", "value": column, "top_shares": cuts, "segments": "top",
                                 "metadata": meta(f"Aandeel in de totale kosten van de duurste huishoudens bij "
                                                  f"{label[s]} (rangorde naar de kosten bij {label[s]})",
                                                  notes=common + [RANKING_NOTE])}))

    # --- costs per domain under each price table, side by side -------------------------------
    grouped = {s: counting.group_costs(costs[s][[f"cost_{d}" for d in domains]].to_numpy(), domains)
               for s in costs}
    names = grouped["basis"][1]
    any_cost = np.zeros_like(grouped["basis"][0], dtype=bool)
    for matrix, _ in grouped.values():
        any_cost |= matrix != 0
    row, column = np.nonzero(any_cost)
    per_domain = pd.DataFrame({"household": households[row],
                               "domein": with_code_list(np.asarray(names, dtype=object)[column], names)})
    value_columns = []
    for s in costs:
        value = "kosten" if s == "basis" else f"kosten_{s}"
        per_domain[value] = grouped[s][0][row, column]
        value_columns.append(value)
    tables.append(TableSpec("prijsgevoeligheid_domeinen", "magnitude_table", per_domain,
                            {"unit": "household", "dimensions": ["domein"], "values": value_columns,
                             "statistic": "sum", "value_dimensions": ["domein"], "values_together": True,
                             "value_groups": {"domein": {g: list(m) for g, m in counting.merged()}},
                             "metadata": meta("Kosten per domein bij de prijzen van de run (kosten), bij lage "
                                              "(kosten_laag) en bij hoge prijzen (kosten_hoog)",
                                              population=f"{metadata['population']}, met kosten in de studiejaren "
                                                         "bij een van de prijstabellen",
                                              notes=common)}))

    # --- the most expensive group: its households per domain, ranked by each price table ------
    share = settings["top_group_share"]
    if share in set(published_cuts(len(base), [share], [share], min_units)):
        parts = []
        for s in costs:
            top = rank_bands(costs[s]["cost_total"].to_numpy(), [share]) == 0
            matrix = grouped[s][0]
            r, c = np.nonzero(matrix[top] > 0)
            parts.append(pd.DataFrame({"household": households[top][r], "prijzen": label[s],
                                       "domein": np.asarray(names, dtype=object)[c]}))
        top_domains = pd.concat(parts, ignore_index=True)
        top_domains = top_domains.assign(prijzen=with_code_list(top_domains["prijzen"], list(label.values())),
                                         domein=with_code_list(top_domains["domein"], names))
        tables.append(TableSpec("prijsgevoeligheid_top", "frequency_table", top_domains,
                                {"unit": "household", "dimensions": ["prijzen", "domein"], "margins": ["domein"],
                                 "metadata": meta(f"Huishoudens met kosten per domein onder de duurste {share:.0%}, "
                                                  "de rangorde naar de kosten bij elke prijstabel (" + RANKING + ")",
                                                  notes=common + [RANKING_NOTE])}))

    # --- how many households the selection criteria select under each price table -------------
    selected = []
    for s in costs:
        frame = costs[s].assign(n_domains=(grouped[s][0] > 0).sum(axis=1),
                                still_resident=base["still_resident"].to_numpy(dtype=bool))
        chosen = select_households(frame, domains, selection_settings, counting).to_numpy()
        selected.append(pd.DataFrame({"household": households[chosen], "prijzen": label[s]}))
    chosen_all = pd.concat(selected, ignore_index=True)
    chosen_all = chosen_all.assign(prijzen=with_code_list(chosen_all["prijzen"], list(label.values())))
    tables.append(TableSpec("prijsgevoeligheid_selectie", "frequency_table", chosen_all,
                            {"unit": "household", "dimensions": ["prijzen"], "margins": False,
                             "metadata": meta("Aantal huishoudens dat aan de selectiecriteria voldoet, bij elke "
                                              "prijstabel", notes=common)}))
    return tables
