"""Coherence (samenhang): which problem domains cluster within households, and which types of households there are.

Every analysis runs on the households' *distinct* domain profiles with their numbers of
households, so a country's millions of households cost no more than a few thousand
profiles, and the results equal the household-by-household computation exactly.

* :mod:`lib.coherence.profiles` -- profiles per household (presence, levels, costs per
  domain group) and their compression;
* :mod:`lib.coherence.association` -- pairwise co-occurrence, frequent combinations
  (three identical miners) and association rules with exact metrics;
* :mod:`lib.coherence.costs` -- cost-weighted combinations, correlation of costs;
* :mod:`lib.coherence.kmodes` -- :class:`KModes`, scikit-learn style;
* :mod:`lib.coherence.latent_class` -- :class:`LatentClassModel`, EM for categorical indicators;
* :mod:`lib.coherence.typology` -- choice of the number of types, agreement of typologies;
* :mod:`lib.coherence.analysis` -- the analyses of a run and the tables requested for export.
"""
from lib.coherence.association import MINERS, association_rules, frequent_itemsets, pairwise_cooccurrence, rule_metrics
from lib.coherence.costs import cost_by_combination, cost_correlations
from lib.coherence.kmodes import KModes
from lib.coherence.latent_class import LatentClassModel
from lib.coherence.profiles import (CoherenceConfigError, DistinctProfiles, HouseholdProfiles, compress_profiles,
                                    cost_levels, household_profiles, resolve_domain_groups)
from lib.coherence.typology import (adjusted_rand_index, choose_kmodes, choose_latent_classes, elbow,
                                    matched_agreement)

__all__ = ["MINERS", "CoherenceConfigError", "DistinctProfiles", "HouseholdProfiles", "KModes", "LatentClassModel",
           "adjusted_rand_index", "association_rules", "choose_kmodes", "choose_latent_classes", "compress_profiles",
           "cost_by_combination", "cost_correlations", "cost_levels", "elbow", "frequent_itemsets",
           "household_profiles", "matched_agreement", "pairwise_cooccurrence", "resolve_domain_groups",
           "rule_metrics"]
