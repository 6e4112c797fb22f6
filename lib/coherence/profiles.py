"""Household domain profiles and their compression to distinct profiles.

A household's *profile* over the study period is, per domain group, whether it had costs
there (presence, binary) and optionally how much (level: none / low / high). A country
has millions of households but at most a few thousand distinct profiles, so every
coherence analysis runs on the distinct profiles with their numbers of households
(weights). :func:`compress_profiles` does that compression once, in O(n) when the space
of possible profiles is small (a counting sort with ``np.bincount``) and with a sort
otherwise; the inverse index maps every household back to its profile, so results per
profile expand to households exactly.

Domain groups are configurable groupings of the bundle's cost domains (e.g. youth
protection and youth probation together); :func:`resolve_domain_groups` validates them
against the domains the bundle knows and those present in the run.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from disclosure_control.identifiers import (
    forbidden_statistic_reason,
    identifier_name_reason,
)
from lib.domains import DomainGroupError, bundle_domains, resolve_groups
from lib.errors import UserFacingError

LEVEL_LABELS = ("geen", "laag", "hoog")
"""Cost levels of a domain group: 0 = no costs, 1 = low, 2 = high."""
# Counting sort (bincount) when the profile space is at most this many codes or at most a
# few times the number of rows; beyond that a sort is cheaper in memory.
_DENSE_CODE_LIMIT = 1 << 22
# Population count of every byte, for bit masks (np.bitwise_count needs numpy >= 2).
_BYTE_POPCOUNT = np.array([i.bit_count() for i in range(256)], dtype=np.int8)


class CoherenceConfigError(UserFacingError):
    """A problem in the ``[coherence]`` settings, found when the run's domains are known."""


@dataclass(frozen=True)
class DistinctProfiles:
    """Rows of an integer-coded categorical matrix, compressed to distinct rows with weights.

    ``profiles[inverse]`` reconstructs the rows; ``weights[p]`` is the number of rows (or
    the sum of their sample weights) with profile ``p``. Distinct profiles are in
    lexicographic order of their codes (first column most significant), so the order
    depends only on the multiset of rows, never on their order.
    """

    profiles: np.ndarray
    """(m, d) integer codes of the distinct rows."""
    weights: np.ndarray
    """(m,) number of rows (int64) or summed sample weights (float64) per profile."""
    inverse: np.ndarray
    """(n,) index of each row's profile."""
    n_categories: np.ndarray
    """(d,) number of possible codes per column (codes are 0 .. n_categories - 1)."""

    @property
    def n_distinct(self) -> int:
        return len(self.profiles)

    @property
    def n_rows(self) -> int:
        return len(self.inverse)


def popcount(masks: np.ndarray) -> np.ndarray:
    """Number of set bits of each non-negative int64 bit mask."""
    as_bytes = np.ascontiguousarray(masks, dtype=np.int64).view(np.uint8).reshape(-1, 8)
    return _BYTE_POPCOUNT[as_bytes].sum(axis=1, dtype=np.int64).reshape(np.shape(masks))


def compress_profiles(codes: np.ndarray, sample_weight: np.ndarray | None = None,
                      n_categories: Sequence[int] | None = None) -> DistinctProfiles:
    """Compress the rows of a non-negative integer matrix to distinct rows with weights.

    Parameters
    ----------
    codes : array of shape (n, d)
        Integer category codes, 0 .. n_categories[j] - 1 in column j.
    sample_weight : array of shape (n,), optional
        Weight of each row; default 1 per row (weights are then exact int64 counts).
    n_categories : sequence of int, optional
        Number of possible codes per column; default the largest code + 1.

    Returns
    -------
    DistinctProfiles

    Examples
    --------
    >>> import numpy as np
    >>> d = compress_profiles(np.array([[1, 0], [0, 1], [1, 0], [0, 0]]))
    >>> d.profiles.tolist(), d.weights.tolist(), d.inverse.tolist()
    ([[0, 0], [0, 1], [1, 0]], [1, 1, 2], [2, 1, 2, 0])
    """
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError("codes must be a 2-D array (rows x columns)")
    n, d = codes.shape
    if n and (codes.min() < 0):
        raise ValueError("codes must be non-negative integers")
    if n_categories is None:
        radix = (codes.max(axis=0).astype(np.int64) + 1) if n else np.ones(d, dtype=np.int64)
    else:
        radix = np.asarray(n_categories, dtype=np.int64)
        if n and (codes.max(axis=0) >= radix).any():
            raise ValueError("a code is not smaller than its column's n_categories")
    return _compress(codes, np.maximum(radix, 1), sample_weight)


def _compress(codes: np.ndarray, radix: np.ndarray, sample_weight) -> DistinctProfiles:
    """compress_profiles without its checks: codes known to lie in 0 .. radix - 1."""
    n, d = codes.shape
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != (n,):
            raise ValueError("sample_weight must have one weight per row")
        if (sample_weight < 0).any():
            raise ValueError("sample weights must be non-negative")
    space = float(np.prod(radix.astype(float))) if d else 1.0
    if space < 2.0 ** 62:
        row_code = _mixed_radix_codes(codes, radix, space)
        if space <= max(_DENSE_CODE_LIMIT, 4 * n):
            present = np.bincount(row_code, minlength=int(space)) > 0
            distinct_code = np.flatnonzero(present)
            position = np.cumsum(present) - 1
            inverse = position[row_code]
        else:
            distinct_code, inverse = np.unique(row_code, return_inverse=True)
        stride = np.ones(d, dtype=np.int64)
        for j in range(d - 2, -1, -1):
            stride[j] = stride[j + 1] * radix[j + 1]
        profiles = (distinct_code.astype(np.int64)[:, None] // stride[None, :]) % radix[None, :]
    else:
        profiles, inverse = np.unique(codes.astype(np.int64), axis=0, return_inverse=True)
    inverse = np.asarray(inverse, dtype=np.int64).reshape(-1)
    if sample_weight is None:
        weights = np.bincount(inverse, minlength=len(profiles)).astype(np.int64)
    else:
        weights = np.bincount(inverse, weights=sample_weight, minlength=len(profiles))
    return DistinctProfiles(profiles=profiles.astype(np.int64), weights=weights, inverse=inverse,
                            n_categories=radix)


def _mixed_radix_codes(codes: np.ndarray, radix: np.ndarray, space: float) -> np.ndarray:
    """Mixed-radix code of every row, first column most significant (Horner's scheme).

    Computed in chunks of rows with in-place operations in the narrowest integer type that
    holds every code, so coding millions of rows stays in cache and allocates one array.
    """
    n, d = codes.shape
    kind = np.uint32 if space <= 2.0 ** 32 else np.int64
    out = np.zeros(n, dtype=kind)
    chunk = 1 << 16
    for start in range(0, n, chunk):
        part = out[start:start + chunk]
        for j in range(d):
            if j:
                np.multiply(part, kind(radix[j]), out=part)
            np.add(part, codes[start:start + chunk, j], out=part, casting="unsafe")
    return out


def presence_masks(presence: np.ndarray) -> np.ndarray:
    """Bit mask (int64) of each row of a boolean matrix: bit j set when column j is true."""
    presence = np.asarray(presence, dtype=bool)
    if presence.shape[1] > 62:
        raise ValueError("at most 62 items fit in a bit mask")
    masks = np.zeros(len(presence), dtype=np.int64)
    for j in range(presence.shape[1]):
        masks |= presence[:, j].astype(np.int64) << j
    return masks


def mask_labels(masks: np.ndarray, names: Sequence[str], empty: str = "geen") -> np.ndarray:
    """Readable label ("bijstand + wmo") of each bit mask, in the order of ``names``."""
    masks = np.asarray(masks, dtype=np.int64)
    distinct, position = np.unique(masks, return_inverse=True)
    labels = np.array([" + ".join(n for j, n in enumerate(names) if m >> j & 1) or empty for m in distinct.tolist()],
                      dtype=object)
    return labels[position.reshape(-1)]


def resolve_domain_groups(run_domains: Sequence[str], configured: Mapping[str, Sequence[str]],
                          exclude: Sequence[str] = (), known_domains: set[str] | None = None
                          ) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """The domain groups of a run, validated: ``{group: (domain, ...)}`` sorted by group name.

    ``run_domains`` are the domains the run measures, with costs or without (an empty domain
    stays in: leaving it out would tell that it is empty). A configured domain must be a
    domain the bundle knows (or one present in the run);
    a domain may be in one group only. Domains of the run that no group names and that
    are not excluded get a group of their own, named after the domain. Groups none of
    whose domains occur in the run are left out. Returns the groups and notes for the log.

    Raises
    ------
    CoherenceConfigError
        For unknown domains, a domain in two groups, or a group name that cannot be a
        column name of an exported table.
    """
    known = set(known_domains if known_domains is not None else bundle_domains()) | set(run_domains)
    try:
        return resolve_groups(run_domains, configured, known, "[coherence] domain_groups", exclude,
                              name_reason=lambda name: identifier_name_reason(name) or forbidden_statistic_reason(name))
    except DomainGroupError as exc:
        raise CoherenceConfigError(str(exc)) from None


def group_costs(households: pd.DataFrame, groups: Mapping[str, Sequence[str]]) -> dict[str, np.ndarray]:
    """Five-year cost per domain group (sum of its domains' ``cost_<domain>`` columns), per household.

    A domain without a column is a measured domain in which no household has costs (the cube
    has columns only for domains with costs; the groups are resolved against the measured
    domains): its cost is 0 for every household.
    """
    out = {}
    zero = None
    for group, domains in groups.items():
        present = [d for d in domains if f"cost_{d}" in households.columns]
        if not present:
            # One shared read-only zero column for every empty group: no copy per group.
            if zero is None:
                zero = np.zeros(len(households), dtype=np.float64)
                zero.flags.writeable = False
            out[group] = zero
            continue
        columns = [households[f"cost_{d}"].to_numpy(dtype=np.float64) for d in present]
        # A one-domain group shares the cube's column: no copy of millions of amounts.
        out[group] = columns[0] if len(columns) == 1 else np.sum(columns, axis=0)
    return out


def cost_levels(costs: Mapping[str, np.ndarray], quantile: float = 0.5,
                cutoffs: Mapping[str, float] | None = None) -> tuple[np.ndarray, dict[str, float]]:
    """Level of every household in every group: 0 no costs, 1 low, 2 high.

    A household with costs in a group is *high* when its cost there is above the group's
    cut-off: the configured amount in ``cutoffs``, else the ``quantile`` of the positive
    costs of the group (the lower empirical quantile, so a real amount). The cut-offs are
    internal: published tables state the rule, never the amount.

    Returns the (n, g) int8 matrix of levels and the cut-off used per group.
    """
    cutoffs = dict(cutoffs or {})
    names = list(costs)
    n = len(next(iter(costs.values()))) if names else 0
    levels = np.zeros((n, len(names)), dtype=np.int8)
    used = {}
    for j, group in enumerate(names):
        cost = costs[group]
        positive = cost > 0
        if group in cutoffs:
            cut = float(cutoffs[group])
        elif positive.any():
            cut = float(np.quantile(cost[positive], quantile, method="inverted_cdf"))
        else:
            cut = 0.0
        used[group] = cut
        levels[:, j] = np.where(positive, np.where(cost > cut, 2, 1), 0)
    return levels, used


@dataclass
class HouseholdProfiles:
    """The profiles of the households of a run: presence per domain group, costs, distinct profiles."""

    household: np.ndarray
    """(n,) household ids."""
    groups: list[str]
    costs: dict[str, np.ndarray]
    """Five-year cost per group, (n,) each."""
    cost_total: np.ndarray
    """(n,) five-year cost over all domains of the cube (also those excluded from the groups)."""
    masks: np.ndarray
    """(n,) bit mask of the groups with costs (bit j = ``groups[j]``)."""
    distinct: DistinctProfiles
    """The distinct presence profiles (binary, one column per group) with household counts."""

    @property
    def n_groups(self) -> np.ndarray:
        """(n,) number of groups with costs per household (counted once per distinct profile)."""
        return popcount(self.profile_masks())[self.distinct.inverse]

    def presence(self) -> np.ndarray:
        """(n, g) boolean presence matrix."""
        out = np.empty((len(self.masks), len(self.groups)), dtype=bool)
        for j in range(len(self.groups)):   # column by column: no (n, g) int64 temporary
            out[:, j] = (self.masks >> j) & 1
        return out

    def profile_masks(self) -> np.ndarray:
        """(m,) bit mask of each distinct profile."""
        return presence_masks(self.distinct.profiles.astype(bool))

    def profile_costs(self) -> np.ndarray:
        """(m, g) summed cost per distinct profile and group."""
        return np.column_stack([np.bincount(self.distinct.inverse, weights=self.costs[g],
                                            minlength=self.distinct.n_distinct) for g in self.groups]) \
            if self.groups else np.zeros((self.distinct.n_distinct, 0))


def household_profiles(households: pd.DataFrame, groups: Mapping[str, Sequence[str]]) -> HouseholdProfiles:
    """Presence profiles of every household of the cube's ``households`` table, compressed once.

    Examples
    --------
    >>> import pandas as pd
    >>> cube = pd.DataFrame({"household": [1, 2, 3], "cost_total": [10.0, 0.0, 5.0],
    ...                      "cost_wmo": [10.0, 0.0, 0.0], "cost_bijstand": [0.0, 0.0, 5.0]})
    >>> p = household_profiles(cube, {"bijstand": ["bijstand"], "wmo": ["wmo"]})
    >>> p.masks.tolist(), p.distinct.weights.tolist()
    ([2, 0, 1], [1, 1, 1])
    """
    names = list(groups)
    costs = group_costs(households, groups)
    masks = np.zeros(len(households), dtype=np.int64)
    for j, group in enumerate(names):
        masks |= (costs[group] > 0).astype(np.int64) << j
    distinct = compress_masks(masks, len(names))
    return HouseholdProfiles(household=households["household"].to_numpy(), groups=names, costs=costs,
                             cost_total=households["cost_total"].to_numpy(dtype=np.float64), masks=masks,
                             distinct=distinct)


def compress_masks(masks: np.ndarray, n_bits: int) -> DistinctProfiles:
    """Distinct bit masks as binary profiles (column j = bit j), without an (n, n_bits) matrix.

    Gives the same result as ``compress_profiles`` on the 0/1 matrix of the bits: profiles
    in lexicographic order with the first column (bit 0) most significant.
    """
    masks = np.asarray(masks, dtype=np.int64)
    if n_bits <= 22:
        # Counting pass over the 2**n_bits possible masks, then one lookup per row.
        counts = np.bincount(masks, minlength=1 << n_bits)
        distinct = np.flatnonzero(counts)
        distinct = distinct[np.argsort(_reverse_bits(distinct, n_bits), kind="stable")]
        lookup = np.zeros(1 << n_bits, dtype=np.int64)
        lookup[distinct] = np.arange(len(distinct))
        inverse = lookup[masks]
        weights = counts[distinct].astype(np.int64)
    else:
        reversed_code, inverse = np.unique(_reverse_bits(masks, n_bits), return_inverse=True)
        inverse = np.asarray(inverse, dtype=np.int64).reshape(-1)
        distinct = _reverse_bits(reversed_code, n_bits)
        weights = np.bincount(inverse, minlength=len(distinct)).astype(np.int64)
    profiles = (distinct[:, None] >> np.arange(n_bits, dtype=np.int64)) & 1
    return DistinctProfiles(profiles=profiles.astype(np.int64), weights=weights, inverse=inverse,
                            n_categories=np.full(n_bits, 2, dtype=np.int64))


def _reverse_bits(masks: np.ndarray, n_bits: int) -> np.ndarray:
    out = np.zeros(len(masks), dtype=np.int64)
    for j in range(n_bits):
        out |= ((masks >> j) & 1) << (n_bits - 1 - j)
    return out
