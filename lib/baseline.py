"""The baseline (nulmeting): where the money goes, household by household.

Every function here turns the household cube into the unit-level data of one table and
the safe-writer call that publishes it; the export step publishes them through
disclosure control. Unit-level data stay in the work folder.

Tables (names as exported):

* ``bereik_aantal_domeinen``, ``bereik_per_domein``, ``bereik_per_jaar`` -- reach:
  households with costs in the five years by number of domains touched, by domain, by year;
* ``concentratie_top`` and ``concentratie_lorenz`` -- share of all costs of the top x% of
  households, and of each percentile band (Lorenz segments); cut-off values are never shown;
* ``gini`` -- the Gini coefficient of five-year household costs;
* ``kosten_topgroepen`` -- mean five-year cost per band of most expensive households;
* ``kosten_domein_jaar`` -- costs per domain and year;
* ``kosten_huishoudtype``, ``kosten_kinderen`` -- mean five-year cost by household type
  and by number of children;
* ``kosten_structureel`` -- households with costs by number of years with costs (1-5);
* ``kosten_woonachtig`` -- still resident versus moved away;
* ``combinaties_duurste`` -- domain combinations among the most expensive households;
* ``correlatie_domeinen`` -- correlation of five-year costs between domains.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

FIELD_FIGURE = ("In het veld: ongeveer de helft van de kosten in het sociaal domein valt bij minder dan 5% van de "
                "huishoudens, een kwart tot een derde bij 1-2% van de huishoudens.")
DOMAIN_COUNT_LABELS = ("0", "1", "2", "3", "4+")
CHILD_LABELS = ("0", "1", "2", "3+")


@dataclass
class TableSpec:
    name: str
    method: str
    data: pd.DataFrame
    kwargs: dict = field(default_factory=dict)


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = equal, 1 = all at one household)."""
    v = np.sort(np.asarray(values, dtype=float))
    n = v.size
    if n == 0 or v.sum() == 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float((2 * (ranks * v).sum()) / (n * v.sum()) - (n + 1) / n)


def domain_combinations(present: np.ndarray, domains: list[str]) -> np.ndarray:
    """Readable label ("jeugdhulp + wmo") of each row's set of domains, built once per distinct set."""
    if present.size == 0:
        return np.zeros(len(present), dtype=object)
    masks = present.astype(np.int64) @ (1 << np.arange(present.shape[1], dtype=np.int64))
    distinct, position = np.unique(masks, return_inverse=True)
    labels = np.array([" + ".join(d for k, d in enumerate(domains) if m >> k & 1) or "geen" for m in distinct],
                      dtype=object)
    return labels[position]


def rank_bands(cost: np.ndarray, cuts: list[float]) -> np.ndarray:
    """Band of each household when sorted by cost, largest first: 0 = top cuts[0], ...

    Ties are broken by position, as the safe writer ranks them."""
    order = np.argsort(-cost, kind="stable")
    rank = np.empty(cost.size, dtype=np.int64)
    rank[order] = np.arange(cost.size)
    edges = np.ceil(np.asarray(cuts) * cost.size - 1e-9).astype(np.int64)
    return (rank[:, None] >= edges[None, :]).sum(axis=1)


def _as_text_codes(values: pd.Series) -> pd.Categorical:
    """Whole numbers (years, counts) as categories of their text, in numeric order; the text
    is made once per distinct value, not per row."""
    codes, distinct = pd.factorize(values, sort=True)
    return pd.Categorical.from_codes(codes, categories=[str(v) for v in distinct])


def baseline_tables(households: pd.DataFrame, household_cube: pd.DataFrame, domains: list[str],
                    settings: dict, min_units: int, metadata: dict) -> list[TableSpec]:
    """Every baseline table of one run (see module docstring)."""
    h = households
    tables: list[TableSpec] = []

    population = metadata["population"]
    with_costs_population = f"{population}, met kosten in de studiejaren"

    def meta(title: str, population: str = population, **more) -> dict:
        # Tables about different groups say so: the safe writer links tables with the same
        # population and requires their shared cells to agree.
        return metadata | {"title": title, "unit": "huishoudens", "population": population} | more

    # --- reach -----------------------------------------------------------------------
    n_dom = np.minimum(h["n_domains"].to_numpy(), 4)
    reach = pd.DataFrame({"household": h["household"].to_numpy(),
                          "aantal_domeinen": pd.Categorical.from_codes(n_dom, categories=DOMAIN_COUNT_LABELS)})
    tables.append(TableSpec("bereik_aantal_domeinen", "frequency_table", reach,
                            {"unit": "household", "dimensions": ["aantal_domeinen"],
                             "metadata": meta("Huishoudens naar aantal domeinen met kosten in de studiejaren")}))
    per_domain_total = household_cube.groupby(["household", "domain"], as_index=False, observed=True)["cost"].sum()
    touched = per_domain_total[per_domain_total["cost"] > 0].rename(columns={"domain": "domein"})
    tables.append(TableSpec("bereik_per_domein", "frequency_table", touched[["household", "domein"]],
                            {"unit": "household", "dimensions": ["domein"],
                             "metadata": meta("Huishoudens met kosten per domein (een huishouden kan in meer domeinen "
                                              "voorkomen; het totaal telt elk huishouden eenmaal)",
                                              with_costs_population)}))
    per_year = household_cube.groupby(["household", "year"], as_index=False, observed=True)["cost"].sum()
    years = per_year[per_year["cost"] > 0].assign(jaar=lambda x: _as_text_codes(x["year"]))
    tables.append(TableSpec("bereik_per_jaar", "frequency_table", years[["household", "jaar"]],
                            {"unit": "household", "dimensions": ["jaar"],
                             "metadata": meta("Huishoudens met kosten per jaar (het totaal telt elk huishouden "
                                              "eenmaal)", with_costs_population)}))

    # --- concentration ---------------------------------------------------------------
    costs = h[["household", "cost_total"]].rename(columns={"cost_total": "kosten"})
    note = meta("Aandeel in de totale kosten van de duurste huishoudens", notes=[FIELD_FIGURE])
    tables.append(TableSpec("concentratie_top", "concentration", costs,
                            {"unit": "household", "value": "kosten", "top_shares": list(settings["top_shares"]),
                             "segments": "top", "metadata": note}))
    tables.append(TableSpec("concentratie_lorenz", "concentration", costs,
                            {"unit": "household", "value": "kosten", "top_shares": list(settings["lorenz_cuts"]),
                             "segments": "bands",
                             "metadata": meta("Lorenz-segmenten: aandeel in de totale kosten per percentielgroep van "
                                              "huishoudens, van duur naar goedkoop", notes=[FIELD_FIGURE])}))
    g = gini(h["cost_total"].to_numpy())
    tables.append(TableSpec("gini", "model_table", pd.DataFrame({"maat": ["Gini-coefficient kosten per huishouden"],
                                                                 "waarde": [g]}),
                            {"residual_df": int(len(h)) - 1, "n_observations": int(len(h)),
                             "metadata": meta("Gini-coefficient van de kosten per huishouden over de studiejaren")}))
    with_costs = h[h["cost_total"] > 0]
    cuts = [0.01, 0.05, 0.20]
    band = rank_bands(with_costs["cost_total"].to_numpy(), cuts)
    # Lettered so that the published order (sorted) is the ranking order.
    labels = np.array(["a. duurste 1%", "b. 1-5%", "c. 5-20%", "d. overige 80%"], dtype=object)
    groups = with_costs[["household", "cost_total"]].rename(columns={"cost_total": "kosten"}).assign(
        groep=pd.Categorical(labels[band], categories=list(labels)))
    tables.append(TableSpec("kosten_topgroepen", "magnitude_table", groups[["household", "groep", "kosten"]],
                            {"unit": "household", "dimensions": ["groep"], "values": "kosten", "statistic": "mean",
                             "metadata": meta("Gemiddelde kosten per huishouden naar rangorde, onder huishoudens met "
                                              "kosten (de totaalrij: alle huishoudens met kosten)",
                                              with_costs_population)}))

    # --- costs per domain and year, and by composition ----------------------------------
    cube = household_cube[household_cube["cost"] != 0].rename(columns={"domain": "domein", "cost": "kosten"})
    cube = cube.assign(jaar=_as_text_codes(cube["year"]))
    tables.append(TableSpec("kosten_domein_jaar", "magnitude_table", cube[["household", "domein", "jaar", "kosten"]],
                            {"unit": "household", "dimensions": ["domein", "jaar"], "values": "kosten",
                             "statistic": "sum", "metadata": meta("Kosten per domein en jaar",
                                                                  with_costs_population)}))
    composition = h.assign(huishoudtype=h["household_type"], kosten=h["cost_total"],
                           kinderen=pd.Categorical(np.asarray(CHILD_LABELS, dtype=object)[
                               np.minimum(h["n_children"].to_numpy(), 3)], categories=CHILD_LABELS))
    tables.append(TableSpec("kosten_huishoudtype", "magnitude_table",
                            composition[["household", "huishoudtype", "kosten"]],
                            {"unit": "household", "dimensions": ["huishoudtype"], "values": "kosten",
                             "statistic": "mean",
                             "metadata": meta("Gemiddelde kosten per huishouden over de studiejaren naar huishoudtype "
                                              "(alle huishoudens, ook zonder kosten)")}))
    tables.append(TableSpec("kosten_kinderen", "magnitude_table", composition[["household", "kinderen", "kosten"]],
                            {"unit": "household", "dimensions": ["kinderen"], "values": "kosten", "statistic": "mean",
                             "metadata": meta("Gemiddelde kosten per huishouden naar aantal thuiswonende kinderen")}))
    structural = with_costs.assign(jaren_met_kosten=_as_text_codes(with_costs["n_years_with_costs"]),
                                   kosten=with_costs["cost_total"])
    tables.append(TableSpec("kosten_structureel", "magnitude_table",
                            structural[["household", "jaren_met_kosten", "kosten"]],
                            {"unit": "household", "dimensions": ["jaren_met_kosten"], "values": "kosten",
                             "statistic": "mean",
                             "metadata": meta("Huishoudens met kosten naar aantal jaren met kosten (1 = incidenteel, "
                                              f"{len(settings.get('years', [])) or 5} = structureel) en hun gemiddelde "
                                              "kosten", with_costs_population)}))
    resident = h.assign(woonachtig=pd.Categorical.from_codes(np.where(h["still_resident"].to_numpy(dtype=bool), 0, 1),
                                                             categories=["nog woonachtig", "vertrokken"]),
                        kosten=h["cost_total"])
    tables.append(TableSpec("kosten_woonachtig", "magnitude_table", resident[["household", "woonachtig", "kosten"]],
                            {"unit": "household", "dimensions": ["woonachtig"], "values": "kosten", "statistic": "mean",
                             "metadata": meta("Gemiddelde kosten van huishoudens die nog in het onderzoeksgebied wonen "
                                              "en van vertrokken huishoudens")}))

    # --- the most expensive households: domain combinations, correlation ----------------
    top_share = settings["top_group_share"]
    top = with_costs[rank_bands(with_costs["cost_total"].to_numpy(), [top_share]) == 0]
    combination = domain_combinations(top[[f"cost_{d}" for d in domains]].to_numpy() > 0, domains)
    counts = pd.Series(combination).value_counts()
    rare = ~pd.Series(combination).isin(counts.index[counts >= min_units]).to_numpy()
    combination[rare] = "overige combinaties"
    combos = top[["household"]].assign(combinatie=combination, kosten=top["cost_total"].to_numpy())
    tables.append(TableSpec("combinaties_duurste", "magnitude_table", combos,
                            {"unit": "household", "dimensions": ["combinatie"], "values": "kosten", "statistic": "sum",
                             "metadata": meta(f"Combinaties van domeinen bij de duurste {top_share:.0%} van de "
                                              "huishoudens met kosten: aantal en kosten (combinaties van minder dan "
                                              f"{min_units} huishoudens samengenomen)",
                                              f"{with_costs_population}, de duurste {top_share:.0%}")}))
    tables.append(_correlation_table(with_costs, domains, meta, with_costs_population))
    return tables


def _correlation_table(with_costs: pd.DataFrame, domains: list[str], meta, population: str) -> TableSpec:
    values = with_costs[[f"cost_{d}" for d in domains]].to_numpy(dtype=float)
    keep = values.std(axis=0) > 0
    names = [d for d, k in zip(domains, keep) if k]
    corr = np.corrcoef(values[:, keep], rowvar=False) if keep.sum() >= 2 else np.zeros((0, 0))
    i, j = np.triu_indices(len(names), k=1)
    table = pd.DataFrame({"domein_a": np.asarray(names, dtype=object)[i], "domein_b": np.asarray(names, dtype=object)[j],
                          "correlatie": corr[i, j] if len(names) >= 2 else np.zeros(0)})
    return TableSpec("correlatie_domeinen", "model_table", table,
                     {"residual_df": int(len(with_costs)) - 2, "n_observations": int(len(with_costs)),
                      "metadata": meta("Correlatie (Pearson) van de kosten per domein over de studiejaren, onder "
                                       "huishoudens met kosten", population)})
