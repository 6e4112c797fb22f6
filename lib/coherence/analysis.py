"""The coherence (samenhang) analyses of one run, and the tables they request for export.

:func:`analyse_coherence` takes the cube's household table and the ``[coherence]``
settings and returns every result (internal, unprotected) and the table requests
(unit-level data plus the safe-writer call) that the export step publishes through
disclosure control. Tables (names as exported):

* ``samenhang_paren`` -- every ordered pair of domain groups as a rule a -> b: households
  with a, with both, support, confidence and lift (association_rules). Phi, the odds ratio
  (with its Woolf interval), leverage, conviction and Zhang's metric are functions of these
  counts and the total: the reader computes them from the published counts (the report
  does). Published as columns of their own they would give back every count the writer
  suppresses (a phi beside a suppressed joint count is that count), so they are not;
* ``samenhang_combinaties`` -- frequent combinations of two or more groups: households
  having at least those groups (frequency_table);
* ``samenhang_regels`` -- association rules among three or more groups with their counts,
  support, confidence and lift (association_rules);
* ``samenhang_combinaties_kosten`` -- households and costs per exact combination of groups
  (magnitude_table; the share of all costs is sum / total, computed by the reader, not
  published as a column of its own: a second column of the same amounts would be a second
  statistic to protect);
* ``samenhang_correlatie_kosten`` -- Pearson and Spearman correlation of costs between
  groups among households with costs (model_table); a pair is published only when at least
  ``min_units`` households have costs in both groups (the units that drive the coefficient);
* ``samenhang_clusters`` and ``samenhang_klassen`` -- profiles of the k-modes clusters and
  the latent classes: size, share with each group, mean costs per group, composition
  (cluster_profiles); a group on fewer households than :func:`profile_min_households` has no
  columns there (a profile publishes 0% as it is); ``samenhang_clusters_klassen`` -- how they
  cross (frequency_table);
* ``samenhang_keuze_clusters``, ``samenhang_keuze_klassen`` -- the evidence for the number
  of clusters and classes (the k-modes cost curve, the share of it each cluster removes and
  the agreement between restarts; log-likelihood, BIC, AIC and entropy), with the rule and
  the resampling in the notes; ``samenhang_overeenstemming`` -- how the typologies agree and,
  for the chosen numbers, their stability under resampling of the households (mean and
  standard deviation of the adjusted Rand index against the full-data typology: aggregated
  statistics; rows of this table, as the stability is measured only at the chosen number and
  no published cell may be empty), and in the notes of all three which typology to read
  (:func:`reading_advice`).

Every domain the run measures is analysed, also one in which no household has costs (an
all-zero column), so that no table tells which domains are empty: the notes list it, its
pairs and correlations are rows whose counts are zero (suppressed by the writer's rules), it
is left out of the profiles by the same rule that leaves out a group on a few households, and
the typologies count its parameters.

No membership list, medoid or single household's value is ever requested.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from disclosure_control import IDENTITY_LABEL_JOIN
from lib.baseline import TableSpec, rank_bands
from lib.coherence.association import association_rules, frequent_itemsets, pairwise_cooccurrence
from lib.coherence.costs import cost_by_combination, cost_correlations
from lib.coherence.profiles import (LEVEL_LABELS, CoherenceConfigError, DistinctProfiles, HouseholdProfiles,
                                    compress_profiles, cost_levels, household_profiles, popcount,
                                    resolve_domain_groups)
from lib.coherence.typology import (KMODES_MIN_GAIN, STABILITY_RESAMPLES, TypologyChoice, adjusted_rand_index,
                                    choose_kmodes, choose_latent_classes, matched_agreement)

OTHER_COMBINATIONS = "overige combinaties"
PAIR_CELLS = ("n_both", "n_a_only", "n_b_only", "n_neither")
MEASURES_FROM_COUNTS = ("Phi, odds ratio, leverage, conviction en Zhang's maat volgen uit de aantallen (huishoudens met a, met b, met a en b, en het totaal) en worden niet apart gepubliceerd: naast een onderdrukt aantal zouden ze dat aantal verraden.")


@dataclass
class CoherenceResult:
    """Everything the coherence step computed (internal) and the tables it requests."""

    groups: dict[str, tuple[str, ...]]
    profiles: HouseholdProfiles
    pairs: pd.DataFrame
    itemsets: pd.DataFrame
    rules: pd.DataFrame
    combinations: pd.DataFrame
    correlations: pd.DataFrame
    typology_profiles: pd.DataFrame
    """Distinct profiles clustered (one column per group: 0/1, or level 0/1/2), their
    number of households, cluster and class."""
    cluster_choice: TypologyChoice | None
    class_choice: TypologyChoice | None
    household_types: pd.DataFrame
    """household, profile, n_groups, cluster, klasse, klasse_kans (-1 / NaN outside the clustered group)."""
    cluster_profiles: pd.DataFrame
    class_profiles: pd.DataFrame
    agreement: pd.DataFrame
    level_cutoffs: dict[str, float]
    tables: list[TableSpec] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: dict[str, float] = field(default_factory=dict)


def cube_domains(households: pd.DataFrame) -> list[str]:
    """The domains of the cube: its ``cost_<domain>`` columns (``cost_total`` excluded).

    The cube has a column only for a domain in which some household has costs; the domains a
    run *measures* (``run_domains``) can be more."""
    return sorted(c[len("cost_"):] for c in households.columns if c.startswith("cost_") and c != "cost_total")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_") or "onbekend"


# One text per kind of relation, not per domain: the table's notes state each definition once.
PROFILE_IN_REACH = ("de huishoudens met kosten in een domein in dit profiel zijn een deel van de huishoudens met "
                    "kosten in dat domein (bereik_per_domein)")
PROFILE_IN_FINE_DOMAINS = ("de huishoudens met kosten in een domein in dit profiel hebben kosten in een van de fijne "
                           "domeinen ervan (kosten_domein_jaar)")
PROFILE_COSTS_IN_DOMAIN = ("de kosten in een domein van de huishoudens in dit profiel zijn een deel van de kosten in "
                           "dat domein (kosten_domein_jaar)")


@dataclass(frozen=True)
class BaselineReach:
    """What the baseline publishes per domain of the whole study population, which the clustered
    households' figures in the profiles are part of: their households with a domain are among
    ``households[domain]`` (``bereik_per_domein``, the method's domains) and among the households of
    its fine domains (``households_fine``, a lower bound of ``n_households`` of
    ``kosten_domein_jaar[domain, total_label]``), their costs there part of ``costs_fine`` (its
    ``sum_kosten``). A cluster holding all of them leaves the other clusters none: a zero cell
    the writer protects across the tables when the profiles declare these relations."""

    households: Mapping[str, int]
    households_fine: Mapping[str, int]
    costs_fine: Mapping[str, float]
    total_label: str = "Totaal"

    def profile_identities(self, groups: Mapping[str, Sequence[str]], shown: Sequence[str],
                           units: pd.DataFrame) -> list[dict]:
        """The relations 'at most' of a profile's total row (``units``: one row per clustered
        household, ``pct_<group>`` and ``kosten_<group>``), where the numbers agree."""
        total, out = self.total_label, []
        for g in shown:
            members = list(groups[g])
            n = int(np.count_nonzero(units[f"pct_{g}"].to_numpy()))
            fine_rows = {f"{d}{IDENTITY_LABEL_JOIN}{total}": 1 for d in members}
            if g in self.households and n <= int(self.households[g]):
                out.append({"column": f"pct_{g}", "weights": {total: 1}, "table": "bereik_per_domein",
                            "other_column": "n_households", "other_weights": {g: 1}, "only": "at_most",
                            "text": PROFILE_IN_REACH})
            if set(members) <= set(self.households_fine) and n <= sum(int(self.households_fine[d]) for d in members):
                out.append({"column": f"pct_{g}", "weights": {total: 1}, "table": "kosten_domein_jaar",
                            "other_column": "n_households", "other_weights": fine_rows, "only": "at_most",
                            "text": PROFILE_IN_FINE_DOMAINS})
            if set(members) <= set(self.costs_fine) and _at_most(float(units[f"kosten_{g}"].sum()),
                                                                 sum(self.costs_fine[d] for d in members)):
                out.append({"column": f"mean_kosten_{g}", "weights": {total: 1}, "table": "kosten_domein_jaar",
                            "other_column": "sum_kosten", "other_weights": fine_rows, "only": "at_most",
                            "text": PROFILE_COSTS_IN_DOMAIN})
        return out


def analyse_coherence(households: pd.DataFrame, settings: dict, *, seed: int, min_units: int,
                      near_full_share: float = 0.95, rounding_base: int | None = None, min_residual_df: int = 10,
                      baseline_top_share: float | None = None, metadata: dict | None = None,
                      domains: Sequence[str] | None = None, protection_level: float = 0.3,
                      reach: BaselineReach | None = None) -> CoherenceResult:
    """Run every coherence analysis on the cube's household table (see module docstring).

    ``domains`` are the domains the run measures (``run_domains(config)[0]``; default: the
    cube's ``cost_<domain>`` columns). A measured domain without a column (no household has
    costs there) is analysed as an all-zero column and treated as any group on too few
    households (see the module docstring). Leaving it out would tell a reader that no
    household has costs there, which other tables hide as a zero cell. ``protection_level``
    is the writer's (``[disclosure_control]``), for :func:`profile_min_households`. ``reach``: what
    the baseline publishes per domain, which the profiles declare their total row part of
    (:class:`BaselineReach`).

    ``baseline_top_share`` is the baseline's ``top_group_share``: the baseline publishes the
    domain combinations of that most expensive share, so combinations whose households
    lie, all but fewer than ``min_units``, in that group are pooled here (see
    :func:`_tables`) and the two tables cannot be subtracted to reveal a small group.
    """
    metadata = dict(metadata or {"population": "huishoudens"})
    notes: list[str] = []
    run_domains = sorted(set(cube_domains(households)) | set(domains or ()))
    groups, group_notes = resolve_domain_groups(run_domains, settings["domain_groups"], settings["exclude_domains"])
    notes += group_notes
    names = list(groups)
    profiles = household_profiles(households, groups)
    n_households = len(households)
    presence = profiles.distinct.profiles.astype(bool)
    weights = profiles.distinct.weights

    # --- co-occurrence and association, on the distinct profiles ------------------------
    pairs = pairwise_cooccurrence(presence, weights, item_names=names,
                                  confidence_level=settings["confidence_level"])
    min_count = max(int(settings["min_support_households"]), int(min_units))
    itemsets = frequent_itemsets(presence, weights, min_count=min_count, max_len=settings["max_itemset_size"],
                                 method=settings["miner"], item_names=names)
    rules = association_rules(itemsets, n_households, item_names=names)
    combinations = cost_by_combination(profiles)
    n_groups = profiles.n_groups
    with_costs = n_groups >= 1
    correlations = cost_correlations(profiles.costs, with_costs)

    # --- typologies, on the distinct profiles of the clustered households ---------------
    min_domains = int(settings["min_domains"])
    clustered = n_groups >= min_domains
    levels, cutoffs = (cost_levels(profiles.costs, settings["level_quantile"], settings["level_cutoffs"])
                       if settings["typology_profile"] == "levels" else (None, {}))
    unknown_cutoffs = sorted(set(settings["level_cutoffs"]) - set(names))
    if unknown_cutoffs:
        raise CoherenceConfigError(f"[coherence] level_cutoffs names groups that do not exist: {unknown_cutoffs} "
                                   f"(groups: {', '.join(names)})")
    if levels is not None:
        typology = compress_profiles(levels[clustered], n_categories=[3] * len(names))
    else:
        # The clustered profiles are a subset of the distinct presence profiles: no second
        # pass over the households.
        kept = popcount(profiles.profile_masks()) >= min_domains
        new_index = np.cumsum(kept) - 1
        typology = DistinctProfiles(profiles=profiles.distinct.profiles[kept], weights=weights[kept],
                                    inverse=new_index[profiles.distinct.inverse[clustered]],
                                    n_categories=np.full(len(names), 2, dtype=np.int64))
    n_levels = 3 if levels is not None else 2
    n_clustered = int(clustered.sum())
    # A number of types is tried when there are at least as many distinct profiles and the
    # latent class model keeps min_residual_df degrees of freedom (its (k - 1) + k g (V - 1)
    # parameters are more than k-modes' k g modes). g counts every group, one without costs too,
    # as the parameters below do: the numbers tried must not tell how many groups are empty.
    wanted = range(int(settings["cluster_range"][0]), int(settings["cluster_range"][1]) + 1)
    k_values = [k for k in wanted if k <= typology.n_distinct
                and n_clustered - ((k - 1) + k * len(names) * (n_levels - 1)) >= min_residual_df]
    if k_values and len(k_values) < len(wanted):
        notes.append(f"numbers of types tried: {k_values or 'none'} (of {list(wanted)}): more need more distinct "
                     f"profiles ({typology.n_distinct}) or households ({n_clustered})")
    cluster_choice = class_choice = None
    cluster_of_profile = np.full(typology.n_distinct, -1)
    class_of_profile = np.full(typology.n_distinct, -1)
    class_probability = np.full(typology.n_distinct, np.nan)
    if k_values:
        cluster_choice = choose_kmodes(typology.profiles, typology.weights, k_values, init=settings["kmodes_init"],
                                       n_init=settings["kmodes_restarts"], n_seeds=settings["stability_runs"],
                                       seed=seed, n_clusters=_fixed(settings["n_clusters"], k_values, "n_clusters"),
                                       min_gain=float(settings.get("kmodes_min_gain", KMODES_MIN_GAIN)),
                                       n_resamples=int(settings.get("stability_resamples", STABILITY_RESAMPLES)))
        # Parameters counted over every category a group can take (2, or 3 levels), also where
        # no clustered household has it: the published parameters, BIC and AIC (and the
        # residual degrees of freedom, and the numbers of types tried above) must not tell how
        # many groups or levels are empty.
        class_choice = choose_latent_classes(typology.profiles, typology.weights, k_values,
                                             n_init=settings["lca_starts"], seed=seed,
                                             n_classes=_fixed(settings["n_classes"], k_values, "n_classes"),
                                             n_categories=typology.n_categories,
                                             n_resamples=int(settings.get("stability_resamples",
                                                                          STABILITY_RESAMPLES)))
        kmodes = cluster_choice.models[cluster_choice.chosen]
        lca = class_choice.models[class_choice.chosen]
        cluster_of_profile = kmodes.labels_
        posterior = lca.predict_proba(typology.profiles)
        class_of_profile = np.argmax(posterior, axis=1)
        class_probability = posterior.max(axis=1)
    else:
        notes.append(f"no typology: {typology.n_distinct} distinct profiles among the households with at least "
                     f"{min_domains} domain group(s), fewer than the smallest number of clusters")
    cluster_labels = _type_labels("cluster", cluster_choice, names, levels is not None)
    class_labels = _type_labels("klasse", class_choice, names, levels is not None)

    cluster_of_household = np.full(n_households, -1, dtype=np.int16)
    class_of_household = np.full(n_households, -1, dtype=np.int16)
    class_probability_of_household = np.full(n_households, np.nan, dtype=np.float32)
    cluster_of_household[clustered] = cluster_of_profile[typology.inverse]
    class_of_household[clustered] = class_of_profile[typology.inverse]
    class_probability_of_household[clustered] = class_probability[typology.inverse]
    household_types = pd.DataFrame({"household": profiles.household,
                                    "profile": profiles.distinct.inverse.astype(np.int32),
                                    "n_groups": n_groups.astype(np.int16), "cluster": cluster_of_household,
                                    "klasse": class_of_household, "klasse_kans": class_probability_of_household})

    typology_profiles = pd.DataFrame(typology.profiles, columns=names)
    typology_profiles["n_households"] = typology.weights
    typology_profiles["cluster"] = cluster_of_profile
    typology_profiles["klasse"] = class_of_profile
    typology_profiles["klasse_kans"] = class_probability

    # --- unit-level data of the type profiles (composition, rates, costs) ---------------
    units = _type_units(households, profiles, clustered, levels)
    cluster_profiles = class_profiles = pd.DataFrame()
    agreement = pd.DataFrame(columns=["measure", "value"])
    if k_values:
        cluster_text = np.asarray(cluster_labels, dtype=object)
        class_text = np.asarray(class_labels, dtype=object)
        units["cluster"] = pd.Categorical(cluster_text[cluster_of_profile[typology.inverse]], categories=cluster_labels)
        units["klasse"] = pd.Categorical(class_text[class_of_profile[typology.inverse]], categories=class_labels)
        value_columns = [c for c in units.columns if c not in ("household", "cluster", "klasse")]
        cluster_profiles = _profile_summary(units, "cluster", value_columns)
        class_profiles = _profile_summary(units, "klasse", value_columns)
        cluster_stability, class_stability = _stability(cluster_choice), _stability(class_choice)
        agreement = pd.DataFrame({"measure": [
            "adjusted Rand index k-modes clusters vs latent classes (modal class)",
            "share of households in matching types after the best one-to-one matching",
            "stability of the k-modes clusters under resampling of households (mean adjusted Rand index)",
            "stability of the k-modes clusters under resampling of households (standard deviation)",
            "stability of the latent classes under resampling of households (mean adjusted Rand index)",
            "stability of the latent classes under resampling of households (standard deviation)",
            "relative entropy of the latent class posterior probabilities"],
            "value": [adjusted_rand_index(cluster_of_profile, class_of_profile, typology.weights),
                      matched_agreement(cluster_of_profile, class_of_profile, typology.weights),
                      *cluster_stability, *class_stability,
                      class_choice.models[class_choice.chosen].entropy_]})

    result = CoherenceResult(groups=groups, profiles=profiles, pairs=pairs, itemsets=itemsets, rules=rules,
                             combinations=combinations, correlations=correlations,
                             typology_profiles=typology_profiles, cluster_choice=cluster_choice,
                             class_choice=class_choice, household_types=household_types,
                             cluster_profiles=cluster_profiles, class_profiles=class_profiles, agreement=agreement,
                             level_cutoffs=cutoffs, notes=notes)
    result.summary = {
        "households": n_households, "households with costs": int(with_costs.sum()),
        "domain groups": len(names), "distinct profiles": profiles.distinct.n_distinct,
        f"households clustered (at least {min_domains} group(s))": int(clustered.sum()),
        "distinct profiles clustered": typology.n_distinct,
        "frequent itemsets": len(itemsets), "association rules": len(rules),
        "minimum support (households)": min_count,
        "clusters (k-modes)": cluster_choice.chosen if cluster_choice else 0,
        "classes (latent class model)": class_choice.chosen if class_choice else 0,
    }
    if k_values:
        result.summary["ARI k-modes vs latent classes"] = float(agreement["value"].iloc[0])
        result.summary["resampling stability k-modes (mean ARI)"] = float(agreement["value"].iloc[2])
        result.summary["resampling stability latent classes (mean ARI)"] = float(agreement["value"].iloc[4])
        notes.append("typology to read: " + reading_advice(cluster_choice, class_choice,
                                                           bool(settings["n_classes"]))[0])
    result.tables = _tables(result, households, units if k_values else None, settings, min_units, near_full_share,
                            rounding_base, metadata, min_count, baseline_top_share, protection_level,
                            reach)
    return result


STABLE_ARI = 0.8
"""A typology is called stable when its mean adjusted Rand index under resampling is at least
this (a common bound for 'good' agreement of partitions; the planted-type benchmarks of
docs/analyses.md lie above it for latent classes)."""


def _stability(choice: TypologyChoice) -> tuple[float, float]:
    """Mean and standard deviation of the resampling ARIs of the chosen number (NaN without)."""
    valid = choice.stability[np.isfinite(choice.stability)]
    return (float(valid.mean()) if len(valid) else np.nan, float(valid.std(ddof=1)) if len(valid) > 1 else np.nan)


def reading_advice(cluster_choice: TypologyChoice, class_choice: TypologyChoice,
                   classes_fixed: bool = False) -> tuple[str, str]:
    """Which typology to read, and why, from what the run itself measured (Dutch, for the notes).

    The latent class model is read first when it is stable under resampling: it chooses its
    number by a fit criterion (BIC), gives every household a probability per class, and found
    planted types better than k-modes on the synthetic validation data (docs/analyses.md). k-modes is
    advised instead only when the classes are not stable and the clusters are; when neither is
    stable, the advice is to read neither as a fixed classification. Returns (code, text);
    code is 'klassen', 'clusters' or 'geen'. No statistic is written in the text (the notes
    must not repeat table values). ``classes_fixed``: the number of classes was set in the
    config, not chosen by BIC.
    """
    cluster_mean, _ = _stability(cluster_choice)
    class_mean, _ = _stability(class_choice)
    class_stable = bool(np.isfinite(class_mean) and class_mean >= STABLE_ARI)
    cluster_stable = bool(np.isfinite(cluster_mean) and cluster_mean >= STABLE_ARI)
    bound = f"{STABLE_ARI:.1f}".replace(".", ",")
    if class_stable:
        code, text = "klassen", (
            "Lees in de eerste plaats de latente klassen (samenhang_klassen): "
            + ("hun aantal is vast ingesteld" if classes_fixed else "hun aantal volgt uit een fitcriterium (BIC)")
            + ", elk huishouden heeft een kans per klasse, en de klassen zijn stabiel bij "
            f"hersteekproeven van de huishoudens (gemiddelde adjusted Rand index ten minste {bound}). Op synthetische "
            "gegevens met bekende typen vond het latente-klassenmodel die typen duidelijk beter terug dan k-modes "
            "(docs/analyses.md, validatie). De k-modes-clusters zijn een eenvoudiger indeling ter vergelijking.")
    elif cluster_stable:
        code, text = "clusters", (
            "Lees in de eerste plaats de k-modes-clusters (samenhang_clusters): de latente klassen zijn in deze "
            "run niet stabiel bij hersteekproeven van de huishoudens, de clusters wel (stabiel: een gemiddelde "
            f"adjusted Rand index van ten minste {bound}).")
    else:
        code, text = "geen", (
            "Geen van beide typologieen is stabiel bij hersteekproeven van de huishoudens (stabiel: een gemiddelde "
            f"adjusted Rand index van ten minste {bound}): lees de typen als een beschrijving van deze gegevens, "
            "niet als een vaste indeling van huishoudens.")
    if class_choice.at_edge and code == "klassen":
        text += (" Let op: de BIC is het best bij de bovengrens van het geprobeerde bereik; met een ruimer "
                 "bereik (cluster_range) kan het gekozen aantal hoger zijn. Bij veel huishoudens kiest de BIC vaak "
                 "meer klassen dan inhoudelijk te onderscheiden zijn.")
    return code, text


def _fixed(value: int, k_values: list[int], key: str) -> int:
    if value and value not in k_values:
        raise CoherenceConfigError(f"[coherence] {key} = {value} is outside the cluster_range or above the number of "
                                   f"distinct profiles (possible: {k_values[0]}-{k_values[-1]})")
    return value


def _type_labels(word: str, choice: TypologyChoice | None, names: list[str], with_levels: bool) -> list[str]:
    """Readable labels of the types: the domain groups of the mode (k-modes) or with probability >= 0.5 (classes)."""
    if choice is None:
        return []
    model = choice.models[choice.chosen]
    labels = []
    if word == "cluster":
        centres = np.asarray(model.cluster_centroids_, dtype=np.int64)
    else:
        # Most probable category of every group per class.
        probabilities = model.item_probabilities_
        centres = np.array([[int(model.categories_[j][np.argmax(probabilities[c, j, :len(model.categories_[j])])])
                             for j in range(len(names))] for c in range(len(probabilities))])
    for index, centre in enumerate(centres, start=1):
        if with_levels:
            parts = [f"{g} ({LEVEL_LABELS[v]})" for g, v in zip(names, centre) if v > 0]
        else:
            parts = [g for g, v in zip(names, centre) if v > 0]
        labels.append(f"{word} {index:02d}: {' + '.join(parts) if parts else 'gemengd'}")
    return labels


def _type_units(households: pd.DataFrame, profiles: HouseholdProfiles, clustered: np.ndarray,
                levels: np.ndarray | None) -> pd.DataFrame:
    """One row per clustered household with the values whose means describe a type.

    Indicators are 0/100 (their mean is a percentage) and counts small integers, both exact
    in float32; amounts stay float64.
    """
    columns: dict[str, np.ndarray] = {"household": profiles.household[clustered]}
    masks = profiles.masks[clustered]
    for j, group in enumerate(profiles.groups):
        columns[f"pct_{group}"] = ((masks >> j) & 1).astype(np.float32) * np.float32(100)
        if levels is not None:
            columns[f"pct_{group}_hoog"] = (levels[clustered, j] == 2).astype(np.float32) * np.float32(100)
    for group in profiles.groups:
        columns[f"kosten_{group}"] = profiles.costs[group][clustered]
    columns["kosten_totaal"] = profiles.cost_total[clustered]
    columns["aantal_domeinen"] = popcount(masks).astype(np.float32)
    if "n_persons" in households:
        columns["aantal_personen"] = households["n_persons"].to_numpy()[clustered].astype(np.float32)
    if "n_children" in households:
        columns["aantal_kinderen"] = households["n_children"].to_numpy()[clustered].astype(np.float32)
    if "household_type" in households:
        # Through categorical codes: no comparison of millions of Python strings.
        kind = pd.Categorical(households["household_type"])
        kinds = sorted(str(c) for c in kind.categories)
        codes = pd.Categorical(kind, categories=[c for c in kind.categories]).codes[clustered]
        lookup = np.array([kinds.index(str(c)) for c in kind.categories] + [-1])
        codes = lookup[codes]
        for index, value in enumerate(kinds):
            columns[f"pct_type_{_slug(value)}"] = (codes == index).astype(np.float32) * np.float32(100)
    return pd.DataFrame(columns)


def _at_most(part: float, whole: float) -> bool:
    """``part <= whole`` up to the rounding of two sums of the same amounts in another order."""
    return part <= whole + 1e-9 * (1.0 + abs(whole))


def _profile_summary(units: pd.DataFrame, by: str, value_columns: list[str]) -> pd.DataFrame:
    """Internal (unprotected) profile of every type: households and mean of every value."""
    grouped = units.groupby(by, observed=False, sort=True)
    table = grouped[value_columns].mean()
    table.insert(0, "n_households", grouped.size())
    table.insert(1, "share_households", table["n_households"] / max(1, len(units)))
    return table.reset_index()


def profile_min_households(min_units: int, protection_level: float) -> int:
    """Fewest households of the clustered population a group needs for columns in the type profiles.

    Leaving a group out tells a reader that it has fewer. The writer protects a count t below
    ``min_units`` (zero included) with an interval of max(1, ceil(protection_level x t)) units on
    either side, so the bound lies above the largest such upper end: for a group left out,
    "fewer than the bound" is then no narrower than what its suppressed count may show.

    >>> profile_min_households(10, 0.3)
    13
    """
    largest = max(0, int(min_units) - 1)
    return largest + max(1, math.ceil(protection_level * largest - 1e-9)) + 1


def _tables(result: CoherenceResult, households: pd.DataFrame, units: pd.DataFrame | None, settings: dict,
            min_units: int, near_full_share: float, rounding_base: int | None, metadata: dict,
            min_count: int, baseline_top_share: float | None, protection_level: float = 0.3,
            reach: BaselineReach | None = None) -> list[TableSpec]:
    names = list(result.groups)
    population = metadata.get("population", "huishoudens")
    min_domains = int(settings["min_domains"])
    clustered_population = (f"{population}, met kosten in ten minste {min_domains} "
                            f"{'domein' if min_domains == 1 else 'domeinen'}")
    with_costs_population = f"{population}, met kosten in ten minste 1 domein (samenhang)"
    grouping = "; ".join(f"{g} = {' + '.join(d)}" for g, d in result.groups.items())
    common_notes = [f"Domeinen (groepen) in de samenhanganalyse: {grouping}.",
                    "Een huishouden heeft een domein als zijn kosten daar over de studiejaren groter dan 0 zijn."]

    def meta(title: str, population_text: str = population, *extra: str) -> dict:
        return metadata | {"title": title, "unit": "huishoudens", "population": population_text,
                           "notes": common_notes + list(extra)}

    tables: list[TableSpec] = []
    profiles = result.profiles
    presence = pd.DataFrame(profiles.presence(), columns=names)
    presence.insert(0, "household", profiles.household)

    # --- pairs -------------------------------------------------------------------------
    ordered_pairs = [([a], [b]) for a in names for b in names if a != b]
    tables.append(TableSpec("samenhang_paren", "association_rules", presence,
                            {"unit": "household", "items": names, "rules": ordered_pairs,
                             "metadata": meta("Samen voorkomen van domeinen binnen huishoudens: huishoudens met "
                                              "domein a, met a en b, steun, betrouwbaarheid (confidence) en lift "
                                              "van a -> b", population, MEASURES_FROM_COUNTS)}))

    # --- frequent combinations and rules -------------------------------------------------
    frequent = _without_implied(result.itemsets, min_units, near_full_share)
    if len(frequent):
        tables.append(TableSpec("samenhang_combinaties", "frequency_table",
                                _itemset_units(profiles, frequent),
                                {"unit": "household", "dimensions": ["domeinen_samen"],
                                 "metadata": meta("Frequente combinaties van domeinen: huishoudens met ten minste "
                                                  "deze domeinen samen (een huishouden telt bij elke combinatie die "
                                                  "het heeft; het totaal telt elk huishouden eenmaal)",
                                                  f"{population} (frequente combinaties van domeinen)",
                                                  f"Minimale steun: {min_count} huishoudens; niet meer dan "
                                                  f"{settings['max_itemset_size']} domeinen per combinatie.",
                                                  IMPLIED_NOTE.format(share=f"{near_full_share:.0%}",
                                                                      min_units=min_units))}))
    exported = _exportable_rules(result.rules, settings, min_units, near_full_share, result.itemsets)
    if len(exported):
        rule_pairs = [(a.split(" + "), c.split(" + ")) for a, c in zip(exported["antecedent"], exported["consequent"])]
        rule_notes = (f"Regels uit combinaties van drie of meer domeinen met steun >= {min_count} huishoudens, "
                      f"confidence >= {settings['min_confidence']:.0%} en lift >= {settings['min_lift']:g}; de eerste "
                      f"{settings['max_exported_rules']} in volgorde van lift (sterkste samenhang eerst).")
        tables.append(TableSpec("samenhang_regels", "association_rules", presence,
                                {"unit": "household", "items": names, "rules": rule_pairs,
                                 "metadata": meta("Associatieregels tussen domeinen (drie of meer domeinen)",
                                                  population, rule_notes, MEASURES_FROM_COUNTS)}))

    # --- cost-weighted combinations and cost correlations -------------------------------
    combination = result.combinations
    # combinations is sorted by cost; map each household's profile to its row.
    row_of_mask = pd.Series(np.arange(len(combination)), index=combination["mask"].to_numpy())
    row = row_of_mask.reindex(profiles.masks).to_numpy()
    rare = combination["n_households"].to_numpy() < min_units
    if baseline_top_share:
        # The baseline tabulates the combinations of its most expensive households (its one
        # ranking: all households of the area, those with costs among the top have a combination).
        # A combination with fewer than min_units households outside that group would let the
        # two tables be subtracted: pool it.
        top = (rank_bands(profiles.cost_total, [baseline_top_share]) == 0) & (profiles.cost_total > 0)
        outside = np.bincount(row[~top], minlength=len(combination))
        rare |= (outside > 0) & (outside < min_units)
    label_of_profile = np.where(rare, OTHER_COMBINATIONS, combination["combination"].to_numpy())
    labels = np.asarray(label_of_profile, dtype=object)[row]
    categories = list(dict.fromkeys(label_of_profile.tolist()))
    costs = pd.DataFrame({"household": profiles.household,
                          "combinatie": pd.Categorical(labels, categories=categories),
                          "kosten": profiles.cost_total})
    tables.append(TableSpec("samenhang_combinaties_kosten", "magnitude_table", costs,
                            {"unit": "household", "dimensions": ["combinatie"],
                             "values": "kosten", "statistic": "sum",
                             "metadata": meta("Huishoudens en kosten per combinatie van domeinen (precies deze "
                                              "domeinen); het aandeel in alle kosten is som / totaal", population,
                                              f"Combinaties van minder dan {min_units} huishoudens, of met minder "
                                              f"dan {min_units} huishoudens buiten de duurste groep van de "
                                              f"nulmeting, samengenomen in '{OTHER_COMBINATIONS}'.")}))
    corr = result.correlations
    n_with = int(corr["n_households"].iloc[0]) if len(corr) else 0
    if len(corr) and n_with > 2:
        # The households that drive a coefficient: those with costs in both groups (and in at
        # least one), per pair; not published, checked per row.
        both, either = pair_households(profiles, corr["a"].to_numpy(), corr["b"].to_numpy())
        # A coefficient is undefined (NaN) when a group's costs do not vary among the households
        # with costs. For a group without costs no household has costs in both, so the row rule
        # suppresses the pair: it stays in the table like a pair of a small group (leaving it out
        # would tell that the group is empty) and is never shown as a number. Only a group with
        # the same costs for every household with costs could leave an undefined row unsuppressed:
        # such a row is left out.
        undefined = corr[["pearson", "spearman"]].isna().any(axis=1).to_numpy()
        keep = ~undefined | (both < min_units)
        corr, both, either = corr[keep], both[keep], either[keep]
        tables.append(TableSpec("samenhang_correlatie_kosten", "model_table", pd.DataFrame({
            "domein_a": corr["a"].to_numpy(), "domein_b": corr["b"].to_numpy(),
            "pearson": corr["pearson"].to_numpy(), "spearman": corr["spearman"].to_numpy(),
            "huishoudens_kosten_beide": both, "huishoudens_kosten_een_of_beide": either}),
            {"residual_df": n_with - 2, "n_observations": n_with,
             "row_units": ["huishoudens_kosten_beide", "huishoudens_kosten_een_of_beide"], "n_parameters": 2,
             "unit_label": "households",
             "metadata": meta("Correlatie van de kosten per domein over de studiejaren (Pearson en Spearman), onder "
                              "huishoudens met kosten", with_costs_population)}))

    # --- typologies -------------------------------------------------------------------------
    if units is not None and result.cluster_choice is not None:
        # Shares of indicators are counts of households (protected as such); the number of domains is
        # the sum of the domain shares, so it is not published beside them (the report adds them up).
        # A group on fewer than profile_min households of the clustered population has no columns
        # in the profiles: a profile publishes a share of 0% (and a mean of 0) as it is, so a group
        # without households there would show as one (also in the total row, where it is the
        # group's reach, a zero cell elsewhere). The bound lies above what the writer protects of
        # a count below min_units, so that a group left out tells no more than its suppressed count.
        profile_min = profile_min_households(min_units, protection_level)
        shown = [g for g in names if int(np.count_nonzero(units[f"pct_{g}"].to_numpy())) >= profile_min]
        left_out = {f"{prefix}{g}{suffix}" for g in names if g not in shown
                    for prefix, suffix in (("pct_", ""), ("pct_", "_hoog"), ("kosten_", ""))}
        share_columns = [c for c in units.columns if c.startswith("pct_") and c not in left_out]
        value_columns = [c for c in units.columns if c not in ("household", "cluster", "klasse", "aantal_domeinen")
                         and c not in share_columns and c not in left_out]
        parts = {f"kosten_{g}": ["kosten", {"domein": list(result.groups[g])}] for g in shown}
        parts["kosten_totaal"] = ["kosten", {}]
        # Every household has one household type: the type shares of a row add up to 100% (declared, so
        # that a suppressed type share, or a type's zero in a small type, is protected as the rest).
        type_shares = [c[len("pct_"):] for c in share_columns if c.startswith("pct_type_")]
        # The clustered households with a domain, and their costs there, are part of what the baseline
        # publishes of the domain: a cluster holding all of them leaves the others none.
        within_reach = reach.profile_identities(result.groups, shown, units) if reach is not None else []
        profile_kwargs = {"values": value_columns, "shares": [c[len("pct_"):] for c in share_columns],
                          "parts": parts, "partitions": [type_shares] if type_shares else [],
                          "identities": within_reach}
        profile_units = units.rename(columns={c: c[len("pct_"):] for c in share_columns})
        profile_note = ("Per type: aantal huishoudens; pct_<domein>: percentage van de huishoudens van het type met "
                        "kosten in het domein (= aantal / n_households, in procenten); mean_kosten_<domein>: kosten in het "
                        "domein, gemiddeld over alle huishoudens van het type (= som / n_households); gemiddeld "
                        "aantal personen en kinderen; pct_type_<huishoudtype>: percentage per huishoudtype. "
                        f"Een domein met minder dan {profile_min} huishoudens in deze populatie heeft geen kolommen "
                        "in deze tabel (aandelen en kosten op zo weinig huishoudens worden niet gepubliceerd); "
                        "mean_kosten_totaal omvat ook de kosten in die domeinen.")
        what = "kostenniveaus (geen/laag/hoog)" if settings["typology_profile"] == "levels" else "domeinprofielen"
        profile_columns = value_columns + profile_kwargs["shares"]
        cluster_units = profile_units[["household", "cluster"] + profile_columns]
        tables.append(TableSpec("samenhang_clusters", "cluster_profiles", cluster_units,
                                {"unit": "household", "cluster": "cluster", **profile_kwargs,
                                 "metadata": meta(f"Typen huishoudens (k-modes op {what}): profiel per cluster",
                                                  clustered_population, profile_note,
                                                  "Een cluster wordt benoemd naar de domeinen in zijn modus.")}))
        tables.append(TableSpec("samenhang_klassen", "cluster_profiles",
                                profile_units[["household", "klasse"] + profile_columns],
                                {"unit": "household", "cluster": "klasse", **profile_kwargs,
                                 "metadata": meta(f"Typen huishoudens (latente-klassenmodel op {what}): profiel per "
                                                  "klasse (meest waarschijnlijke klasse)", clustered_population,
                                                  profile_note, "Een klasse wordt benoemd naar de domeinen met een "
                                                  "kans van ten minste 50% in die klasse.")}))
        tables.append(TableSpec("samenhang_clusters_klassen", "frequency_table",
                                units[["household", "cluster", "klasse"]],
                                {"unit": "household", "dimensions": ["cluster", "klasse"],
                                 "metadata": meta("Overeenstemming tussen k-modes-clusters en latente klassen",
                                                  clustered_population)}))
        n_clustered = len(units)
        kt = result.cluster_choice.table
        n_resamples = int(kt["resamples"].max())
        resample_note = (f"Stabiliteit: de huishoudens zijn {n_resamples} keer met teruglegging getrokken (bootstrap); "
                         "op elke trekking is het gekozen aantal typen opnieuw geschat en vergeleken met de indeling op "
                         "alle huishoudens (adjusted Rand index over de huishoudens: 1 = dezelfde indeling, rond 0 = "
                         "niet meer overeenstemming dan toeval). Gemiddelde en standaardafwijking over de trekkingen, "
                         "voor het gekozen aantal clusters en klassen: tabel samenhang_overeenstemming.")
        advice = reading_advice(result.cluster_choice, result.class_choice, bool(settings["n_classes"]))[1]
        min_gain = float(settings.get("kmodes_min_gain", KMODES_MIN_GAIN))
        gain_pct = f"{100 * min_gain:g}".replace(".", ",")
        if settings["n_clusters"]:
            cluster_rule = "Het aantal is vast ingesteld."
        else:
            cluster_rule = ("Gekozen: het eerste aantal clusters (van klein naar groot) waarbij een cluster meer het aantal afwijkingen met "
                            f"minder dan {gain_pct}% van de afwijkingen bij een enkel cluster verlaagt "
                            "(afname_door_dit_cluster: de afname van k - 1 naar k clusters, als aandeel). De regel vergelijkt alleen k en k + 1: een ruimer "
                            "bereik verandert de keuze niet.")
            if result.cluster_choice.at_edge:
                cluster_rule += (" Geen kleiner aantal voldeed: de bovengrens van het geprobeerde bereik is gekozen; "
                                 "met een ruimer bereik kan het hoger zijn.")
        restart_note = ("overeenstemming_herstarts_ari: gemiddelde adjusted Rand index tussen onafhankelijke k-modes-runs "
                        "op dezelfde gegevens (elk met eigen herstarts); 1 = elke run vond dezelfde oplossing, dus de "
                        "oplossing hangt niet af van de seed. Dit is geen stabiliteit over huishoudens.")
        tables.append(TableSpec("samenhang_keuze_clusters", "model_table", pd.DataFrame({
            "aantal_clusters": kt["k"].astype(str).to_numpy(),
            "mismatches_per_huishouden": kt["mismatches_per_household"].to_numpy(),
            "afname_door_dit_cluster": kt["gain"].to_numpy(dtype=float),
            "overeenstemming_herstarts_ari": kt["restart_ari"].to_numpy(dtype=float),
            "gekozen": np.where(kt["chosen"], "ja", "nee")}),
            {"residual_df": n_clustered - int(kt["k"].max()) * len(names), "n_observations": n_clustered,
             "metadata": meta("Keuze van het aantal k-modes-clusters: kostencurve (gemiddeld aantal afwijkingen van "
                              "de modus per huishouden), afname per extra cluster en overeenstemming tussen herstarts",
                              clustered_population, cluster_rule, restart_note, resample_note, advice)}))
        ct = result.class_choice.table
        class_rule = ("Het aantal is vast ingesteld." if settings["n_classes"] else
                      "Gekozen: het aantal klassen met de beste (kleinere is beter) BIC. Elk aantal is geschat vanuit "
                      "willekeurige starts en vanuit de oplossing met een klasse minder (elke klasse in tweeen "
                      "gesplitst), zodat de keuze niet van de seed afhangt.")
        if result.class_choice.at_edge:
            class_rule += (" De BIC is het best bij de bovengrens van het geprobeerde bereik: met een ruimer bereik "
                           "(cluster_range) kan het gekozen aantal hoger zijn.")
        tables.append(TableSpec("samenhang_keuze_klassen", "model_table", pd.DataFrame({
            "aantal_klassen": ct["k"].astype(str).to_numpy(), "loglikelihood": ct["loglik"].to_numpy(),
            "parameters": ct["n_parameters"].to_numpy(dtype=float), "bic": ct["bic"].to_numpy(),
            "aic": ct["aic"].to_numpy(), "entropie": ct["entropy"].to_numpy(),
            "gekozen": np.where(ct["chosen"], "ja", "nee")}),
            {"residual_df": n_clustered - int(ct["n_parameters"].max()), "n_observations": n_clustered,
             "metadata": meta("Keuze van het aantal latente klassen: loglikelihood, BIC, AIC en relatieve entropie",
                              clustered_population, class_rule, resample_note, advice)}))
        tables.append(TableSpec("samenhang_overeenstemming", "model_table", pd.DataFrame({
            "maat": ["adjusted Rand index clusters en klassen", "aandeel huishoudens in overeenkomend type",
                     "stabiliteit clusters bij hersteekproeven (gemiddelde ARI)",
                     "stabiliteit clusters bij hersteekproeven (sd ARI)",
                     "stabiliteit klassen bij hersteekproeven (gemiddelde ARI)",
                     "stabiliteit klassen bij hersteekproeven (sd ARI)", "relatieve entropie klassen"],
            "waarde": result.agreement["value"].to_numpy(dtype=float)}),
            {"residual_df": n_clustered - 1, "n_observations": n_clustered,
             "metadata": meta("Overeenstemming en stabiliteit van de twee typologieen", clustered_population,
                              advice, resample_note)}))
    return tables


def rule_cells(rules: pd.DataFrame) -> dict[str, np.ndarray]:
    """The 2x2 table of antecedent and consequent behind each rule: households with both,
    with the antecedent only, with the consequent only, with neither (as ``PAIR_CELLS``)."""
    total, antecedent, consequent, both = (rules[c].to_numpy(dtype=np.int64) for c in
                                           ("n_total", "n_antecedent", "n_consequent", "n_rule"))
    return {"n_both": both, "n_a_only": antecedent - both, "n_b_only": consequent - both,
            "n_neither": total - antecedent - consequent + both}


def pair_households(profiles: HouseholdProfiles, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pair of groups (``a[i]``, ``b[i]``) the households with costs in both, and in at
    least one, counted on the distinct profiles."""
    presence = profiles.distinct.profiles.astype(bool)
    index = {g: j for j, g in enumerate(profiles.groups)}
    ja = np.array([index[g] for g in a], dtype=np.int64)
    jb = np.array([index[g] for g in b], dtype=np.int64)
    weights = profiles.distinct.weights.astype(np.int64)
    in_a, in_b = presence[:, ja], presence[:, jb]
    return weights @ (in_a & in_b), weights @ (in_a | in_b)


def _exportable_rules(rules: pd.DataFrame, settings: dict, min_units: int, near_full_share: float,
                      itemsets: pd.DataFrame) -> pd.DataFrame:
    """Rules among three or more groups worth publishing, that pass the safe writer's rule checks.

    A rule publishes the counts of its antecedent, consequent and all its groups together: each
    of these combinations (of two or more groups) must be one that no smaller combination
    nearly implies (:func:`_without_implied`), or the rule would show that implication."""
    r = rules[(rules["n_items"] >= 3) & (rules["confidence"] >= settings["min_confidence"])
              & (rules["lift"] >= settings["min_lift"])]
    allowed = {frozenset(label.split(" + ")) for label in _without_implied(itemsets, min_units, near_full_share)["itemset"]}

    def shown(label: str) -> bool:
        groups = frozenset(label.split(" + "))
        return len(groups) < 2 or groups in allowed

    r = r[np.array([shown(a) and shown(c) and shown(f"{a} + {c}") for a, c in zip(r["antecedent"], r["consequent"])],
                   dtype=bool)]
    # The writer's checks: enough units in antecedent, rule and consequent, and no
    # (near) 100% or 0% confidence; and every cell of the 2x2 table of antecedent and
    # consequent (from which a reader computes the rule's measures) at least min_units.
    cells = rule_cells(r)
    passes = ((r[["n_antecedent", "n_rule", "n_consequent"]].min(axis=1) >= min_units)
              & (np.column_stack(list(cells.values())).min(axis=1) >= min_units)
              & (r["confidence"] < near_full_share) & (r["confidence"] > 1 - near_full_share))
    r = r[passes]
    return r.sort_values(["lift", "n_rule"], ascending=[False, False], kind="mergesort").head(
        int(settings["max_exported_rules"])).reset_index(drop=True)


def _without_implied(itemsets: pd.DataFrame, min_units: int, near_full_share: float) -> pd.DataFrame:
    """The frequent combinations of two or more groups that no smaller combination (nearly)
    implies.  A combination whose count is that of one of its sub-combinations, or within
    ``min_units`` of it, or at least ``near_full_share`` of it, tells that (nearly) every
    household with the smaller one also has the rest: the group disclosure that the pairs and
    rules suppress (near-100% confidence).  Every sub-combination of a frequent one is frequent,
    so its count is in ``itemsets``."""
    count_of = dict(zip(itemsets["mask"].to_numpy(dtype=np.int64), itemsets["count"].to_numpy(dtype=float)))
    keep = []
    for mask, n_items, count in zip(itemsets["mask"].to_numpy(dtype=np.int64), itemsets["n_items"],
                                    itemsets["count"].to_numpy(dtype=float)):
        if n_items < 2:
            keep.append(False)
            continue
        # Loops over itemsets and their items (a handful of domains), not over households.
        subsets = [count_of[mask & ~(1 << bit)] for bit in range(int(mask).bit_length()) if mask >> bit & 1]
        keep.append(all(sub - count >= min_units and count < near_full_share * sub for sub in subsets))
    return itemsets[np.array(keep, dtype=bool)]


IMPLIED_NOTE = ("Niet getoond: combinaties die vrijwel samenvallen met een kleinere combinatie (ten minste {share} van "
                "de huishoudens met de kleinere combinatie, of minder dan {min_units} huishoudens verschil): zo'n "
                "combinatie zou tonen dat (bijna) alle huishoudens met de kleinere combinatie ook de rest hebben.")


def _itemset_units(profiles: HouseholdProfiles, itemsets: pd.DataFrame) -> pd.DataFrame:
    """(household, combination) for every frequent itemset each household contains."""
    profile_masks = profiles.profile_masks()
    item_masks = itemsets["mask"].to_numpy(dtype=np.int64)
    contains = (profile_masks[:, None] & item_masks[None, :]) == item_masks[None, :]   # (m, itemsets)
    profile_index, itemset_index = np.nonzero(contains)
    # Households grouped by profile: expand each (profile, itemset) pair to its households.
    order = np.argsort(profiles.distinct.inverse, kind="stable")
    sizes = profiles.distinct.weights
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    repeat = sizes[profile_index]
    offsets = np.arange(repeat.sum()) - np.repeat(np.cumsum(repeat) - repeat, repeat)
    household_rows = order[np.repeat(starts[profile_index], repeat) + offsets]
    labels = itemsets["itemset"].to_numpy(dtype=object)
    return pd.DataFrame({"household": profiles.household[household_rows],
                         "domeinen_samen": pd.Categorical(np.repeat(labels[itemset_index], repeat),
                                                          categories=list(labels))})


def level_cutoff_text(cutoffs: dict[str, float]) -> list[str]:
    """Internal note of the level cut-offs (never exported: a cut-off is close to one household's value)."""
    return [f"level cut-off {group}: EUR {value:,.2f}" for group, value in cutoffs.items()]

