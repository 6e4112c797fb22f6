"""The baseline (nulmeting): where the money goes, household by household.

Every function here turns the household cube into the unit-level data of one table and
the safe-writer call that publishes it; the export step publishes them through
disclosure control. Unit-level data stay in the work folder.

Tables (names as exported):

* ``bereik_aantal_domeinen``, ``bereik_per_domein``, ``bereik_per_jaar`` -- reach:
  households with costs in the five years by number of domains touched, by domain, by year
  (domains as the method counts them, ``lib.domains``: the justice chain is one domain);
* ``concentratie_top`` and ``concentratie_lorenz`` -- share of all costs of the top x% of
  households, and of each percentile band (Lorenz segments); cut-off values are never shown;
* ``gini`` -- the Gini coefficient of five-year household costs;
* ``kosten_topgroepen`` -- mean five-year cost per band of most expensive households;
* ``kosten_domein_jaar`` -- costs per fine domain and year (the cost breakdown);
* ``kosten_huishoudtype``, ``kosten_kinderen`` -- mean five-year cost by household type
  and by number of children;
* ``kosten_structureel`` -- households with costs by number of years with costs (1-5);
* ``kosten_woonachtig`` -- still resident versus moved away;
* ``combinaties_duurste`` -- combinations of the method's domains among the most expensive
  households;
* ``correlatie_domeinen`` -- correlation of five-year costs between the method's domains;
* ``<gemeente|wijk|buurt>_bereik``, ``_drie_domeinen``, ``_kosten``, ``_concentratie``, ``_selectie``
  -- where the households live (``area_tables``, ``lib.areas``).

Every classification is published with its whole code list (``with_code_list``): the
domains with a source in the run, the study years, 0..4+ domains, 1..n years with costs,
the household types of the population, 0..3+ children. An empty category is a zero cell
(suppressed by the zero-cell rule), never left out: a missing row would tell that it is
empty. Domains of the method without a source in the run are not measured, not zero: they
are left out and every table says which (metadata ``domeinen``). Domain combinations are
not a code list: those of fewer than ``min_units`` households are merged, as the notes say.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lib.domains import DomainCounting

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


RANKING = "rangorde van alle huishoudens in het onderzoeksgebied naar kosten over de studiejaren"
RANKING_NOTE = ("Rangorde: alle huishoudens van het onderzoeksgebied (ook zonder kosten) naar hun kosten over de "
                "studiejaren, van duur naar goedkoop, bij gelijke kosten in volgorde van huishouden; 'de duurste x%' "
                "zijn de eerste x% (naar boven afgerond op hele huishoudens). Alle tabellen met een rangorde "
                "gebruiken deze ene rangorde.")


def no_costs_note(top_share: float, min_units: int) -> str:
    """Where the households without costs of a top group are (``combinaties_duurste``).

    The same words whether or not the group holds any: a note that appeared only then would tell
    that fewer households have costs than the group counts."""
    return (f"Huishoudens zonder kosten: hebben minder dan {top_share:.0%} van de huishoudens kosten, dan horen "
            f"ook huishoudens zonder kosten bij de duurste {top_share:.0%} (zie de rangorde). Zij staan in de rij "
            f"'geen', of, als het er minder dan {min_units} zijn, onder 'overige combinaties'.")


def rank_bands(cost: np.ndarray, cuts: list[float]) -> np.ndarray:
    """Band of each household when sorted by cost, largest first: 0 = top cuts[0], ...

    Ties are broken by position, as the safe writer ranks them."""
    order = np.argsort(-cost, kind="stable")
    rank = np.empty(cost.size, dtype=np.int64)
    rank[order] = np.arange(cost.size)
    edges = np.ceil(np.asarray(cuts) * cost.size - 1e-9).astype(np.int64)
    return (rank[:, None] >= edges[None, :]).sum(axis=1)


def published_cuts(n_units: int, optional, required=(), min_units: int = 10) -> list[float]:
    """The cut points of the one ranking (shares x: the ceil(x N) most expensive) that the
    export may publish, sorted.

    Every ranked table of the export (concentration, Lorenz bands, mean cost per rank group,
    the combinations of the most expensive, the selection) takes its cuts from this one set:
    two published top groups differ by a band of households, and the remainder below a top
    group is the total minus the group, so every such band must hold 0 or at least
    ``min_units`` households. The ``required`` cuts (the configured top group and selection)
    come first: each is kept when its group and the rest hold at least ``min_units`` (a group
    whose size is known by definition cannot be hidden by suppressing its count; a required
    cut left out means its tables are not published); then an optional cut is kept, smallest
    first, only when the bands to its kept neighbours (0 and N included) are empty or at least
    ``min_units``.

    Examples
    --------
    >>> published_cuts(600, [0.005, 0.01, 0.02, 0.05, 0.10], required=[0.05])
    [0.02, 0.05, 0.1]
    """
    def size(share: float) -> int:
        return int(np.ceil(share * n_units - 1e-9))

    kept_sizes = [0, n_units]
    kept = set()
    for share in sorted(set(required)):
        k = size(share)
        below = max(v for v in kept_sizes if v <= k)
        above = min(v for v in kept_sizes if v >= k)
        if all(gap == 0 or gap >= min_units for gap in (k - below, above - k)) and k >= min_units:
            kept.add(share)
            kept_sizes = sorted(set(kept_sizes) | {k})
    for share in sorted(set(optional) - set(required)):
        k = size(share)
        below = max(v for v in kept_sizes if v <= k)
        above = min(v for v in kept_sizes if v >= k)
        if all(gap == 0 or gap >= min_units for gap in (k - below, above - k)):
            kept.add(share)
            kept_sizes = sorted(set(kept_sizes) | {k})
    return sorted(kept)


def dropped_cuts_note(dropped) -> list[str]:
    """The notes line that says which configured groups of the ranking are not published."""
    if not dropped:
        return []
    shares = ", ".join(f"{x * 100:g}%".replace(".", ",") for x in sorted(dropped))
    return [f"Niet gepubliceerd: de duurste {shares} (een groep, of het verschil met een andere gepubliceerde groep "
            "van de rangorde, van minder huishoudens dan de minimumcelvulling)."]


def rank_group_labels(cuts) -> list[str]:
    """Labels of the bands between consecutive cuts, lettered so that the published (sorted)
    order is the ranking order: "a. duurste 1%", "b. 1-5%", ..., then the rest."""
    def pct(x: float) -> str:
        return f"{x * 100:g}".replace(".", ",")

    edges = [0.0] + list(cuts)
    labels = [f"duurste {pct(edges[1])}%"] if len(edges) > 1 else []
    labels += [f"{pct(a)}-{pct(b)}%" for a, b in zip(edges[1:-1], edges[2:])]
    labels.append(f"overige {pct(1 - edges[-1])}%" if len(edges) > 1 else "alle huishoudens")
    return [f"{chr(ord('a') + i)}. {label}" for i, label in enumerate(labels)]


def with_code_list(values, code_list) -> pd.Categorical:
    """``values`` as a Categorical of the code list ``code_list`` (in that order), so that the
    safe writer publishes every code of the classification, the empty ones as zero cells (a
    category left out of a table would tell that it is empty). Whole numbers (years, counts)
    are coded by their text. A value outside the list is kept, after it (it must not become a
    missing value). The text is made once per distinct value, not per row."""
    values = pd.Series(values)
    if isinstance(values.dtype, pd.CategoricalDtype):
        row_code, distinct = values.cat.codes.to_numpy(), values.cat.categories
    else:
        row_code, distinct = pd.factorize(values, sort=True)
    text = [str(int(v)) if isinstance(v, (int, np.integer)) or (isinstance(v, (float, np.floating))
                                                                 and float(v).is_integer()) else str(v)
            for v in distinct]
    categories = list(dict.fromkeys([str(c) for c in code_list]))
    used = set(np.unique(row_code[row_code >= 0]).tolist())
    categories += sorted({t for i, t in enumerate(text) if i in used} - set(categories))
    position = pd.Index(categories).get_indexer(text)
    return pd.Categorical.from_codes(np.where(row_code >= 0, position[np.maximum(row_code, 0)], -1)
                                     if len(position) else row_code, categories=categories)


def _pct(share: float) -> str:
    """A share as a Dutch percentage with one decimal (6,6%): a percentage of one decimal is no statistic
    the export checker compares with the table's cells."""
    return f"{share * 100:.1f}".replace(".", ",") + "%"


def attribution_notes(residence: dict | None) -> list[str]:
    """What attribution at the peildatum does to the costs of the tables, from the households step's
    accounting (``residence.json``, shares of the costs attributed to the population's households).
    Nothing under monthly attribution, where a month's cost goes where the person lived then."""
    if not residence or residence.get("attribution") != "peildatum" or not residence.get("shares"):
        return []
    shares = residence["shares"]
    if residence.get("route") == "municipality":
        return [f"Toerekening op de peildatum: kosten van personen in de kostenbestanden die op de peildatum niet in "
                f"de BRP-extractie staan (verhuisd, overleden of geëmigreerd; de extractie zegt niet welke) vallen weg: "
                f"{_pct(shares.get('no_household', 0.0))} ten opzichte van de kosten die aan de huishoudens van de "
                "populatie zijn toegerekend."]
    return [f"Toerekening op de peildatum: {_pct(shares.get('included_elsewhere', 0.0))} van de kosten is elders "
            "gemaakt (buiten het onderzoeksgebied) door personen die op de peildatum in het gebied wonen; kosten die in "
            "het gebied zijn gemaakt door personen die voor de peildatum overleden of emigreerden vallen weg "
            f"({_pct(shares.get('no_household_in_area', 0.0))}), evenals die van personen die voor de peildatum uit "
            f"het gebied verhuisden ({_pct(shares.get('outside_in_area', 0.0))}); alle drie ten opzichte van de kosten "
            "die aan de huishoudens van de populatie zijn toegerekend."]


def residence_notes(residence: dict | None, moves_measured: bool, min_units: int) -> list[str]:
    """What ``kosten_woonachtig`` says about residence: the date, what "vertrokken" covers and, where both
    parts hold at least ``min_units`` households, how the departed households split into movers and those
    gone from the registers (as shares, no counts)."""
    route = (residence or {}).get("route", "cbs")
    if route == "municipality":
        return ["Vertrokken huishoudens zijn niet gemeten (geen rij 'vertrokken'): de BRP-extractie van de "
                "gemeentelijke route beschrijft alleen de peildatum, dus elk huishouden van de populatie woont er dan "
                "nog. Vertrek is alleen te meten op de CBS-route (huishoudens- en adresregisters na de peildatum)."]
    if not moves_measured:
        return ["Vertrokken huishoudens zijn niet gemeten (geen rij 'vertrokken'): de woonplaats is alleen op de "
                "peildatum bepaald, want de registers van deze run beschrijven geen latere dag, dus elk huishouden van "
                "de populatie woont er dan nog. Een nieuwere versie van de huishoudens- en adresregisters (of [study] "
                "residence_date op een latere datum) meet vertrek."]
    if residence is None:
        return []
    how = ("ingesteld met [study] residence_date" if residence.get("residence_date_configured")
           else "de laatste dag die het huishoudensregister van deze run beschrijft")
    notes = [f"Woonplaats op {residence['residence_date']} ({how}): 'nog woonachtig' = ten minste een lid van het "
             "huishouden woont dan in het onderzoeksgebied; 'vertrokken' = geen lid meer: verhuisd naar een adres buiten "
             "het gebied, of niet meer in de registers (overleden of geëmigreerd; het adresregister onderscheidt die "
             "twee niet)."]
    h = residence.get("households", {})
    moved, left = int(h.get("moved_out", 0)), int(h.get("left_registers", 0))
    if moved >= min_units and left >= min_units:
        notes.append(f"Van de vertrokken huishoudens is {_pct(moved / (moved + left))} verhuisd en "
                     f"{_pct(left / (moved + left))} niet meer in de registers (overleden of geëmigreerd).")
    return notes


MAX_PROFILE_DOMAINS = 12
"""Up to this many domains the protection holds every exact domain profile (2^n unknowns)."""
PROFILE_PREFIX = "profiel: "
PROFILE_TEXT = ("de huishoudens met kosten in een domein (bereik_per_domein) en die naar aantal domeinen zijn sommen "
                "van dezelfde (niet gepubliceerde) aantallen huishoudens per precieze combinatie van domeinen")
COMBINATION_TEXT = ("de duurste huishoudens met precies een combinatie van domeinen (combinaties_duurste) zijn hooguit "
                    "alle huishoudens met precies die combinatie")


@dataclass
class DomainProfiles:
    """Every exact combination of the method's domains (a profile), as the protection holds them: the
    leaves (never published) of households by number of domains, so that the definitions that tie
    reach per domain and the combinations of the most expensive households to them are in its problem
    (an intruder combines them: all households of a domain in one published combination prove the
    other combinations with that domain, and so a zero row '4+', empty)."""
    codes: list[str]
    labels: np.ndarray
    """Per mask over ``codes`` (bit k: ``codes[k]``), its hidden row label."""

    @classmethod
    def of(cls, codes: list[str]) -> "DomainProfiles":
        masks = np.arange(1 << len(codes))
        names = [" + ".join(c for k, c in enumerate(codes) if m >> k & 1) or "geen" for m in masks]
        return cls(list(codes), np.array([PROFILE_PREFIX + n for n in names], dtype=object))

    def masks(self, present: np.ndarray, columns: list[str]) -> np.ndarray:
        """Mask of each row of ``present`` (rows x ``columns``, a subset of ``codes``)."""
        bits = np.array([1 << self.codes.index(c) for c in columns], dtype=np.int64)
        return np.asarray(present, dtype=np.int64).reshape(-1, len(columns)) @ bits

    def mask_of(self, combination: str) -> int:
        """Mask of a combination label of :func:`domain_combinations` ("geen" or "a + b")."""
        names = [] if combination == "geen" else combination.split(" + ")
        return sum(1 << self.codes.index(n) for n in names)

    def sizes(self) -> np.ndarray:
        """Per mask its number of domains."""
        return np.array([bin(m).count("1") for m in range(len(self.labels))])

    def order(self) -> np.ndarray:
        """Masks by number of domains, so that the rows '0', '1', ... come in that order."""
        masks = np.arange(len(self.labels))
        return masks[np.lexsort((masks, self.sizes()))]

    def size_label(self, count_labels: list[str]) -> dict[str, str]:
        """The row of households by number of domains that each profile is part of."""
        last = len(count_labels) - 1
        return {str(label): count_labels[min(size, last)] for label, size in zip(self.labels, self.sizes())}


def domain_count_labels(n_domains: int) -> list[str]:
    """Number of domains with costs: 0 up to the number of domains of the run, at most "4+"."""
    return list(DOMAIN_COUNT_LABELS[:min(n_domains, 4) + 1])


def table_metadata(metadata: dict, residence: dict | None, title: str, population: str | None = None,
                   **more) -> dict:
    """A baseline table's metadata: the run's (``run_metadata``) with its title and population.

    Tables about different groups say so: the safe writer links tables with the same population
    and requires their shared cells to agree. Every table rests on the attributed costs, so each
    states what the attribution moved (``residence``: the households step's ``residence.json``)."""
    more["notes"] = list(more.get("notes", [])) + attribution_notes(residence)
    return metadata | {"title": title, "unit": "huishoudens",
                       "population": population or metadata["population"]} | more


RANK_GROUPS = [0.01, 0.05, 0.20]
"""The bands of ``kosten_topgroepen`` (optional cuts of the one ranking)."""


def ranking_cuts(n_households: int, settings: dict, selection_share: float, min_units: int) -> set[float]:
    """The cuts of the one ranking that the baseline's tables may publish (``published_cuts`` over every
    configured share of ``[baseline]``, with the top group and the selection's share required)."""
    required = [x for x in (selection_share, settings["top_group_share"]) if 0 < x < 1]
    return set(published_cuts(n_households, list(settings["top_shares"]) + list(settings["lorenz_cuts"])
                              + RANK_GROUPS, required, min_units))


def baseline_tables(households: pd.DataFrame, household_cube: pd.DataFrame, domains: list[str],
                    settings: dict, min_units: int, metadata: dict, domain_codes: list[str] | None = None,
                    years: list[int] | None = None, household_types: list[str] | None = None,
                    moves_measured: bool = True, selection_share: float = 0.0,
                    residence: dict | None = None, counting: DomainCounting | None = None) -> list[TableSpec]:
    """Every baseline table of one run (see module docstring).

    ``domains``: the domains of the cube (its ``cost_<domain>`` columns). The code lists every
    table publishes in full (an empty category is a zero cell, never left out): ``domain_codes``
    (the domains with a source in the run), ``years`` (the study years) and ``household_types``;
    by default the codes that occur. ``moves_measured``: whether a household can have moved
    away (residence decided after the peildatum, or monthly attribution); if not, "vertrokken"
    is not measured, and left out with a note, rather than published as zero. ``selection_share``:
    the selection's share of the ranking (a required cut of :func:`published_cuts`). ``residence``: the
    households step's ``residence.json`` (residence date, who left, the shares attribution at the
    peildatum moves), stated in the notes (:func:`residence_notes`, :func:`attribution_notes`).
    ``counting``: the method's domains (``lib.domains``) that reach, the number of domains, the
    combinations and the correlation count; costs per domain and year stay by fine domain. By
    default every fine domain counts as a domain."""
    h = households
    tables: list[TableSpec] = []
    domain_codes = sorted(set(domain_codes or []) | set(domains))
    counting = counting or DomainCounting.from_groups({}, domain_codes)
    counted_codes, _ = counting.group_index(domain_codes)
    # Costs per household of the method's domains, from the cube's fine-domain columns.
    counted_costs, counted = counting.group_costs(h[[f"cost_{d}" for d in domains]].to_numpy(), domains)
    years = list(years) if years else sorted(map(int, household_cube["year"].unique()))
    household_types = list(household_types) if household_types else sorted(map(str, h["household_type"].unique()))

    population = metadata["population"]
    with_costs_population = f"{population}, met kosten in de studiejaren"

    def meta(title: str, population: str = population, **more) -> dict:
        return table_metadata(metadata, residence, title, population, **more)

    # --- reach -----------------------------------------------------------------------
    n_dom = np.minimum(h["n_domains"].to_numpy(), 4)
    reach = pd.DataFrame({"household": h["household"].to_numpy(),
                          "aantal_domeinen": pd.Categorical.from_codes(
                              n_dom, categories=domain_count_labels(max(len(counted_codes), int(n_dom.max(initial=0)))))})
    row, column = np.nonzero(counted_costs > 0)
    touched = pd.DataFrame({"household": h["household"].to_numpy()[row],
                            "domein": with_code_list(np.asarray(counted, dtype=object)[column], counted_codes)})
    count_labels = list(reach["aantal_domeinen"].cat.categories)
    # A household with costs in k domains is counted in k rows of bereik_per_domein ("4+": 4 up to
    # every domain): the two tables are protected as one problem with that definition, or a zero
    # row (no household in 3 domains) is read back from both. Declared only where the data keep it
    # (a wrong definition would stop both tables).
    identities = []
    if len(touched) == int(h["n_domains"].sum()) and set(touched["domein"].astype(str)) <= set(counted_codes):
        top = {label: len(counted_codes) for label in count_labels if label.endswith("+")}
        identities = [{"column": "n_households", "weights": {label: int(label.rstrip("+")) for label in count_labels},
                       "upper_weights": ({label: top.get(label, int(label.rstrip("+"))) for label in count_labels}
                                         if top else None),
                       "table": "bereik_per_domein", "other_column": "n_households",
                       "other_weights": {str(d): 1 for d in counted_codes},
                       "text": "de som over de domeinen van de huishoudens met kosten in dat domein "
                               "(bereik_per_domein) is de som over k van k x de huishoudens met kosten in k domeinen"}]
    # The exact domain profiles behind the rows (hidden leaves), tied to reach per domain; declared
    # where every household's profile gives its number of domains (as the identity above).
    profiles = None
    reach_kwargs = {}
    if identities and len(counted_codes) <= MAX_PROFILE_DOMAINS:
        profiles = DomainProfiles.of(counted_codes)
        mask = profiles.masks(counted_costs > 0, counted)
        if (np.minimum(profiles.sizes()[mask], 4) == n_dom).all():
            size_label = profiles.size_label(count_labels)
            reach["aantal_domeinen"] = pd.Categorical.from_codes(
                np.argsort(profiles.order())[mask], categories=profiles.labels[profiles.order()])
            reach_kwargs = {"hierarchies": {"aantal_domeinen": size_label}, "hidden_leaves": ["aantal_domeinen"]}
            identities += [{"column": "n_households", "table": "bereik_per_domein", "other_column": "n_households",
                            "weights": {str(profiles.labels[m]): 1 for m in range(len(profiles.labels))
                                        if m >> k & 1},
                            "other_weights": {d: 1}, "text": PROFILE_TEXT}
                           for k, d in enumerate(profiles.codes)]
        else:
            profiles = None
    tables.append(TableSpec("bereik_aantal_domeinen", "frequency_table", reach,
                            {"unit": "household", "dimensions": ["aantal_domeinen"], "identities": identities,
                             **reach_kwargs,
                             "metadata": meta("Huishoudens naar aantal domeinen met kosten in de studiejaren")}))
    tables.append(TableSpec("bereik_per_domein", "frequency_table", touched[["household", "domein"]],
                            {"unit": "household", "dimensions": ["domein"],
                             "metadata": meta("Huishoudens met kosten per domein (een huishouden kan in meer domeinen "
                                              "voorkomen; het totaal telt elk huishouden eenmaal)",
                                              with_costs_population)}))
    per_year = household_cube.groupby(["household", "year"], as_index=False, observed=True)["cost"].sum()
    per_year = per_year[per_year["cost"] > 0].assign(jaar=lambda x: with_code_list(x["year"], years))
    tables.append(TableSpec("bereik_per_jaar", "frequency_table", per_year[["household", "jaar"]],
                            {"unit": "household", "dimensions": ["jaar"],
                             "metadata": meta("Huishoudens met kosten per jaar (het totaal telt elk huishouden "
                                              "eenmaal)", with_costs_population)}))

    # --- concentration ---------------------------------------------------------------
    # One ranking, one set of published cuts for every ranked table (see published_cuts).
    rank_groups = RANK_GROUPS
    cuts_kept = ranking_cuts(len(h), settings, selection_share, min_units)

    def cuts_of(shares) -> tuple[list[float], list[str]]:
        kept = [x for x in shares if x in cuts_kept]
        return kept, dropped_cuts_note(sorted(set(shares) - set(kept)))

    costs = h[["household", "cost_total"]].rename(columns={"cost_total": "kosten"})
    top_shares, dropped = cuts_of(settings["top_shares"])
    note = meta("Aandeel in de totale kosten van de duurste huishoudens", notes=[FIELD_FIGURE, RANKING_NOTE] + dropped)
    tables.append(TableSpec("concentratie_top", "concentration", costs,
                            {"unit": "household", "value": "kosten", "top_shares": top_shares,
                             "segments": "top", "metadata": note}))
    lorenz_cuts, dropped = cuts_of(settings["lorenz_cuts"])
    tables.append(TableSpec("concentratie_lorenz", "concentration", costs,
                            {"unit": "household", "value": "kosten", "top_shares": lorenz_cuts,
                             "segments": "bands",
                             "metadata": meta("Lorenz-segmenten: aandeel in de totale kosten per percentielgroep van "
                                              "huishoudens, van duur naar goedkoop",
                                              notes=[FIELD_FIGURE, RANKING_NOTE] + dropped)}))
    g = gini(h["cost_total"].to_numpy())
    tables.append(TableSpec("gini", "model_table", pd.DataFrame({"maat": ["Gini-coefficient kosten per huishouden"],
                                                                 "waarde": [g]}),
                            {"residual_df": int(len(h)) - 1, "n_observations": int(len(h)),
                             "metadata": meta("Gini-coefficient van de kosten per huishouden over de studiejaren")}))
    with_costs_rows = (h["cost_total"] > 0).to_numpy()
    with_costs = h.loc[with_costs_rows, ["household", "n_years_with_costs", "cost_total"]]
    # One ranking throughout the export: every household of the study area (also those without
    # costs) by its costs over the study years, ties by household order; "the most expensive x%"
    # are the ceil(x * N) first. The concentration tables rank the same way.
    cuts, dropped = cuts_of(rank_groups)
    band = rank_bands(h["cost_total"].to_numpy(), cuts)
    labels = np.array(rank_group_labels(cuts), dtype=object)
    groups = pd.DataFrame({"household": h["household"].to_numpy(), "kosten": h["cost_total"].to_numpy(),
                           "groep": pd.Categorical(labels[band], categories=list(labels))})
    tables.append(TableSpec("kosten_topgroepen", "magnitude_table", groups[["household", "groep", "kosten"]],
                            {"unit": "household", "dimensions": ["groep"], "values": "kosten", "statistic": "mean",
                             "ranked": "groep",
                             "metadata": meta("Gemiddelde kosten per huishouden naar rangorde (" + RANKING + ")",
                                              notes=[RANKING_NOTE] + dropped)}))

    # --- costs per domain and year, and by composition ----------------------------------
    nonzero = household_cube[household_cube["cost"] != 0]
    cube = pd.DataFrame({"household": nonzero["household"].to_numpy(),
                         "domein": with_code_list(nonzero["domain"], domain_codes),
                         "jaar": with_code_list(nonzero["year"], years), "kosten": nonzero["cost"].to_numpy()})
    del nonzero
    tables.append(TableSpec("kosten_domein_jaar", "magnitude_table", cube[["household", "domein", "jaar", "kosten"]],
                            {"unit": "household", "dimensions": ["domein", "jaar"], "values": "kosten",
                             "statistic": "sum", "value_dimensions": ["domein", "jaar"],
                             "metadata": meta("Kosten per domein en jaar",
                                                                  with_costs_population)}))
    # Frames of the columns a table needs only (a copy of every household column, nationally
    # millions of rows and dozens of columns, took seconds per table).
    composition = pd.DataFrame({"household": h["household"].to_numpy(),
                                "huishoudtype": with_code_list(h["household_type"], household_types),
                                "kosten": h["cost_total"].to_numpy(),
                                "kinderen": pd.Categorical(np.asarray(CHILD_LABELS, dtype=object)[
                                    np.minimum(h["n_children"].to_numpy(), 3)], categories=CHILD_LABELS)})
    tables.append(TableSpec("kosten_huishoudtype", "magnitude_table",
                            composition[["household", "huishoudtype", "kosten"]],
                            {"unit": "household", "dimensions": ["huishoudtype"], "values": "kosten",
                             "statistic": "mean",
                             "metadata": meta("Gemiddelde kosten per huishouden over de studiejaren naar huishoudtype "
                                              "(alle huishoudens, ook zonder kosten)")}))
    tables.append(TableSpec("kosten_kinderen", "magnitude_table", composition[["household", "kinderen", "kosten"]],
                            {"unit": "household", "dimensions": ["kinderen"], "values": "kosten", "statistic": "mean",
                             "metadata": meta("Gemiddelde kosten per huishouden naar aantal thuiswonende kinderen")}))
    structural = pd.DataFrame({"household": with_costs["household"].to_numpy(),
                               "jaren_met_kosten": with_code_list(with_costs["n_years_with_costs"],
                                                                  range(1, len(years) + 1)),
                               "kosten": with_costs["cost_total"].to_numpy()})
    tables.append(TableSpec("kosten_structureel", "magnitude_table",
                            structural[["household", "jaren_met_kosten", "kosten"]],
                            {"unit": "household", "dimensions": ["jaren_met_kosten"], "values": "kosten",
                             "statistic": "mean",
                             # A household with costs in k years is counted in k rows of bereik_per_jaar:
                             # without this definition in its problem, a zero row "5 years" is read back
                             # from the published rows of both tables.
                             "identities": [{
                                 "column": "n_households", "weights": {str(k): k for k in range(1, len(years) + 1)},
                                 "table": "bereik_per_jaar", "other_column": "n_households",
                                 "other_weights": {str(y): 1 for y in years},
                                 "text": "de som over de jaren van de huishoudens met kosten in dat jaar "
                                         "(bereik_per_jaar) is de som over k van k x de huishoudens met kosten in "
                                         "k jaren"}],
                             "metadata": meta("Huishoudens met kosten naar aantal jaren met kosten (1 = incidenteel, "
                                              f"{len(years)} = structureel) en hun gemiddelde "
                                              "kosten", with_costs_population)}))
    residence_codes = ["nog woonachtig", "vertrokken"] if moves_measured else ["nog woonachtig"]
    resident = pd.DataFrame({"household": h["household"].to_numpy(),
                             "woonachtig": with_code_list(np.where(h["still_resident"].to_numpy(dtype=bool),
                                                                   "nog woonachtig", "vertrokken"), residence_codes),
                             "kosten": h["cost_total"].to_numpy()})
    not_moved = residence_notes(residence, moves_measured, min_units)
    tables.append(TableSpec("kosten_woonachtig", "magnitude_table", resident[["household", "woonachtig", "kosten"]],
                            {"unit": "household", "dimensions": ["woonachtig"], "values": "kosten", "statistic": "mean",
                             "metadata": meta("Gemiddelde kosten van huishoudens die nog in het onderzoeksgebied wonen "
                                              "en van vertrokken huishoudens", notes=not_moved)}))

    # --- the most expensive households: domain combinations, correlation ----------------
    top_share = settings["top_group_share"]
    if top_share not in cuts_kept:
        # Its size follows from its definition: below min_units households (or fewer than that
        # outside it), nothing about the group can be published.
        return tables + [_correlation_table(counted_costs[with_costs_rows], counted, meta, with_costs_population)]
    # The ceil(x N) first of the ranking; in a small area some may have no costs ("geen").
    top_rows = rank_bands(h["cost_total"].to_numpy(), [top_share]) == 0
    top = h[top_rows]
    combination = domain_combinations(counted_costs[top_rows] > 0, counted)
    counts = pd.Series(combination).value_counts()
    rare = ~pd.Series(combination).isin(counts.index[counts >= min_units]).to_numpy()
    combination[rare] = "overige combinaties"
    combos = top[["household"]].assign(combinatie=combination, kosten=top["cost_total"].to_numpy())
    combination_identities = []
    if profiles is not None:
        # A row of the top group is part of the households with that exact profile; the pooled row of
        # those of the profiles not listed (households without costs too, when not listed as 'geen').
        rows = sorted(set(map(str, combination)))
        listed = {profiles.mask_of(c) for c in rows if c != "overige combinaties"}
        combination_identities = [
            {"column": "n_households", "weights": {c: 1}, "table": "bereik_aantal_domeinen",
             "other_column": "n_households", "only": "at_most", "text": COMBINATION_TEXT,
             "other_weights": ({str(label): 1 for m, label in enumerate(profiles.labels) if m not in listed}
                               if c == "overige combinaties" else {str(profiles.labels[profiles.mask_of(c)]): 1})}
            for c in rows]
    tables.append(TableSpec("combinaties_duurste", "magnitude_table", combos,
                            {"unit": "household", "dimensions": ["combinatie"], "values": "kosten", "statistic": "sum",
                             "identities": combination_identities,
                             "metadata": meta(f"Combinaties van domeinen bij de duurste {top_share:.0%} van de "
                                              "huishoudens: aantal en kosten (combinaties van minder dan "
                                              f"{min_units} huishoudens samengenomen)",
                                              f"{population}, de duurste {top_share:.0%} ({RANKING})",
                                              notes=[RANKING_NOTE, no_costs_note(top_share, min_units)])}))
    tables.append(_correlation_table(counted_costs[with_costs_rows], counted, meta, with_costs_population))
    return tables


def _correlation_table(values: np.ndarray, domains: list[str], meta, population: str) -> TableSpec:
    """Pearson correlations of the five-year costs (``values``: households with costs x ``domains``)."""
    values = np.asarray(values, dtype=float)
    keep = values.std(axis=0) > 0
    names = [d for d, k in zip(domains, keep) if k]
    corr = np.corrcoef(values[:, keep], rowvar=False) if keep.sum() >= 2 else np.zeros((0, 0))
    i, j = np.triu_indices(len(names), k=1)
    # The households that drive a coefficient are those with costs in both domains (and those
    # with costs in at least one): counted per pair, checked per row, not published.
    positive = (values[:, keep] > 0).astype(np.int64)
    both = positive.T @ positive
    either = np.diag(both)[:, None] + np.diag(both)[None, :] - both
    table = pd.DataFrame({"domein_a": np.asarray(names, dtype=object)[i], "domein_b": np.asarray(names, dtype=object)[j],
                          "correlatie": corr[i, j] if len(names) >= 2 else np.zeros(0),
                          "huishoudens_kosten_beide": both[i, j], "huishoudens_kosten_een_of_beide": either[i, j]})
    return TableSpec("correlatie_domeinen", "model_table", table,
                     {"residual_df": int(len(values)) - 2, "n_observations": int(len(values)),
                      "row_units": ["huishoudens_kosten_beide", "huishoudens_kosten_een_of_beide"], "n_parameters": 2,
                      "unit_label": "households",
                      "metadata": meta("Correlatie (Pearson) van de kosten per domein over de studiejaren, onder "
                                       "huishoudens met kosten", population)})


# --- where the households live (lib.areas) ------------------------------------------------------

AREA_REACH_LABELS = ("geen kosten", "met kosten")
MANY_DOMAINS = 3
"""Households with costs in at least this many ("drie") of the method's domains are counted per area apart
(``<level>_drie_domeinen``): a few per cent of the households, so a table of their own, whose
suppressed cells do not take the area's households with costs along (as a third reach category would)."""


def area_levels(households: pd.DataFrame, study_area: list[str], area_level: str) -> tuple[list[str], list[str]]:
    """The levels at which the area tables are made ("gemeente", "wijk", "buurt"), and the log lines
    that say why a level is not: gemeente when the study area holds more than one municipality (or is
    the whole country); wijk or buurt as ``[baseline] area_level`` says, when the households carry
    their codes (VSLGWBTAB's wc/bc columns, or the BRP extract's wijk/buurt column)."""
    from lib.areas import has_codes
    levels, log = [], []
    several = study_area == ["NL"] or len(study_area) > 1
    if several and "municipality" in households:
        levels.append("gemeente")
    if area_level == "geen":
        log.append("area tables: [baseline] area_level = 'geen': no tables by wijk or buurt")
        return levels, log
    if "wijk" not in households or not has_codes(households["wijk"]):
        log.append("area tables: the households carry no wijk codes (VSLGWBTAB without wc/bc columns, or a BRP "
                   "extract without a Wijk column): no tables by wijk or buurt")
        return levels, log
    levels.append("wijk")
    if area_level == "buurt":
        if "buurt" in households and has_codes(households["buurt"]):
            levels.append("buurt")
        else:
            log.append("area tables: the households carry no buurt codes: no tables by buurt")
    return levels, log


def area_tables(households: pd.DataFrame, levels: list[str], settings: dict, min_units: int, metadata: dict,
                residence: dict | None = None, selection_share: float = 0.0, selected: np.ndarray | None = None,
                selection_metadata: dict | None = None) -> tuple[list[TableSpec], list[str]]:
    """Reach, costs, concentration and the selected households by area (``levels``, see
    ``area_levels``), and log lines on the classification.

    Per level L (gemeente, wijk, buurt; areas of fewer than ``[baseline] area_min_households``
    households merged as ``lib.areas.area_classification`` says):

    * ``L_bereik``: households by area, without and with costs; the margins are the households per area;
    * ``L_drie_domeinen``: households with costs in 3 or more of the method's domains by area;
    * ``L_kosten``: five-year costs by area (all households, also those without costs: costs /
      households is the mean cost per household; costs / total the area's share);
    * ``L_concentratie``: households of the most expensive ``area_top_share`` of the one ranking and
      the rest, by area (only when that cut is published, ``ranking_cuts``);
    * ``L_selectie``: the selected households by area (``selected``, a boolean per household, with the
      selection's metadata, so that the export-wide audit links it with the selection's tables).

    Every table is about the same households as the other baseline tables (the same population), so
    the safe writer protects them together: the area rows add up to the totals published elsewhere."""
    from lib.areas import area_classification, text_codes
    h = households
    tables: list[TableSpec] = []
    log: list[str] = []
    population = metadata["population"]
    cuts_kept = ranking_cuts(len(h), settings, selection_share, min_units)
    top_share = settings["area_top_share"]
    n_domains = h["n_domains"].to_numpy()
    # "Met kosten" as bereik_aantal_domeinen counts it: costs in at least one domain (codes, not strings).
    reach = pd.Categorical.from_codes((n_domains > 0).astype(np.int8), categories=list(AREA_REACH_LABELS))
    for level in levels:
        # Categoricals throughout (8.2 million households nationally, a few thousand areas).
        area, notes = area_classification(h, level, settings["area_min_households"])
        given = text_codes(h["municipality" if level == "gemeente" else level])
        used = np.unique(given.codes)
        distinct = int(sum(1 for k in used if given.categories[k] != ""))
        merged = "" if level == "gemeente" else f" (fewer than {settings['area_min_households']} households merged)"
        log.append(f"area tables by {level}: {len(area.categories)} categories for {distinct} {level} codes of the "
                   f"population{merged}")

        def meta(title: str, population: str = population, more_notes=(), base=metadata) -> dict:
            return table_metadata(base, residence, title, population, notes=list(notes) + list(more_notes))

        frame = pd.DataFrame({"household": h["household"].to_numpy(), level: area, "bereik": reach,
                              "kosten": h["cost_total"].to_numpy()})
        name = level        # the Dutch word of the level: gemeente, wijk, buurt
        tables.append(TableSpec(f"{level}_bereik", "frequency_table", frame[["household", level, "bereik"]],
                                {"unit": "household", "dimensions": [level, "bereik"],
                                 "metadata": meta(f"Huishoudens per {name}, zonder en met kosten in de studiejaren")}))
        many = frame[n_domains >= MANY_DOMAINS]
        # "drie" in words: a digit in the notes that equals a cell value is refused by the export check.
        tables.append(TableSpec(f"{level}_drie_domeinen", "frequency_table", many[["household", level]],
                                {"unit": "household", "dimensions": [level],
                                 "metadata": meta(f"Huishoudens met kosten in drie of meer domeinen (zoals de methode "
                                                  f"ze telt) per {name}",
                                                  f"{population}, met kosten in drie of meer domeinen")}))
        tables.append(TableSpec(f"{level}_kosten", "magnitude_table", frame[["household", level, "kosten"]],
                                {"unit": "household", "dimensions": [level], "values": "kosten", "statistic": "sum",
                                 "metadata": meta(f"Kosten over de studiejaren per {name} (alle huishoudens, ook "
                                                  "zonder kosten; kosten / aantal = de gemiddelde kosten per "
                                                  "huishouden)")}))
        if top_share in cuts_kept:
            # Counts only: where the most expensive live. Their costs by area would be a second set of
            # amounts beside <level>_kosten for the export-wide audit to reconcile (more linear programs),
            # for a figure the concentration tables already give for the whole area.
            band = rank_bands(h["cost_total"].to_numpy(), [top_share])
            ranked = frame.assign(groep=pd.Categorical.from_codes(band.astype(np.int8),
                                                                   categories=rank_group_labels([top_share])))
            tables.append(TableSpec(f"{level}_concentratie", "frequency_table", ranked[["household", level, "groep"]],
                                    {"unit": "household", "dimensions": [level, "groep"],
                                     "metadata": meta(f"Huishoudens per {name} naar rangorde: de duurste "
                                                      f"{_share_text(top_share)}% en de overige ({RANKING})",
                                                      more_notes=[RANKING_NOTE])}))
        else:
            log.append(f"area tables by {level}: no concentration table (the most expensive {top_share:.0%} is not a "
                       "published cut of the ranking: not among [baseline] top_shares or lorenz_cuts, or a group of "
                       "too few households)")
        if selected is not None and selection_metadata is not None and int(selected.sum()) >= min_units:
            chosen = frame[np.asarray(selected, dtype=bool)]
            tables.append(TableSpec(f"{level}_selectie", "frequency_table", chosen[["household", level]],
                                    {"unit": "household", "dimensions": [level],
                                     "metadata": meta(f"Geselecteerde huishoudens per {name}",
                                                      selection_metadata["population"],
                                                      more_notes=selection_metadata.get("notes", []),
                                                      base=selection_metadata)}))
    return tables, log


def _share_text(share: float) -> str:
    """A share as a Dutch percentage without trailing zeros (0.1 -> "10", 0.005 -> "0,5")."""
    return f"{share * 100:g}".replace(".", ",")
