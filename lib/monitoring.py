"""Monitoring: follow a cohort's costs after its start, against a comparison group.

The cohort (households selected for, or enrolled in, the tailored approach) is fixed at
its start date: its households and their members on that day. Members are followed
wherever they go, year by year (or half year by half year) before and after the start.
Households selected for high costs fall back toward the mean by themselves, so besides
the method's before/after comparison (shown with a warning) the effect is estimated
against a comparison group:

* **matching**: households not in the cohort (or, with ``comparison_pool``, only those of a
  given pool), matched one to one without replacement on a propensity score (logistic
  regression of cohort membership on the total cost before the start and that of the last
  period before it, the cost per domain (log), the number of domains, the number of
  children and the household type), exactly within household type and, when the study
  area has several, municipality (on the start date), nearest neighbour within a caliper
  of ``caliper`` standard deviations of the score's logit; the balance table shows the
  standardised mean differences before and after matching, every one above 0.1 flagged;
* **difference in differences**: ``cost ~ household + period + cohort x after + after x
  (level before the start)`` on the matched panel (two-way fixed effects by demeaning a
  balanced panel; the level terms adjust for what matching leaves of the difference in
  regression to the mean), with CR1 standard errors clustered by household in which the
  household effects, nested in the clusters, are not counted again (:func:`clustered_ols`)
  and 95% confidence intervals;
* **placebo (pre-trend) check**: the same difference in differences on the periods before
  the start only, with a fake start one period earlier (:func:`placebo_difference_in_differences`);
* **publication gate** (:func:`publication_gate`): the comparison estimates (effect and
  placebo) are published only when at least half of the cohort is matched and the matched
  groups overlap on the costs before the start (|SMD| < 0.1, every other covariate
  |SMD| <= 0.25); otherwise the notes say why and only the before/after is published.

Which design can identify an effect
-----------------------------------
With ``cohort = "selection"`` every household above the selection threshold is in the
cohort and every possible comparison household is below it: on the costs before the start
the groups do not overlap, the propensity score separates them, and matching finds either
no partner (a narrow caliper) or a partner that is not comparable (a wide caliper). This
design cannot identify an effect (no common support: Rosenbaum & Rubin 1983, Biometrika 70:
41-55; Crump, Hotz, Imbens & Mitnik 2009, Biometrika 96: 187-199), and the gate says so.
Designs that can, in the method's use case:

* an **enrolled cohort against eligible, not enrolled households** (``cohort = "file"``
  with ``comparison_pool`` = the households that meet the selection criteria but are not
  enrolled): both groups are above the threshold, so matching compares like with like and
  the DiD removes the common regression to the mean (Stuart 2010, Stat Sci 25: 1-21;
  Imbens & Wooldridge 2009, J Econ Lit 47: 5-86). It needs a municipality that cannot
  (or does not) enrol every eligible household, as in a capacity-limited or phased roll-out;
* a **comparison at the selection threshold** (regression discontinuity on the cost that
  decided selection; Lee & Lemieux 2010, J Econ Lit 48: 281-355): the households just
  above and just below are comparable, but the estimate holds only at the threshold;
* a **staggered start** (households enrolled in waves; the later waves are the comparison
  for the earlier: Callaway & Sant'Anna 2021, J Econometrics 225: 200-230).

The bundle implements the first (the comparison pool, ``run_monitoring(comparison_pool=)``)
(``[monitoring] comparison = "eligible"`` in the step) and diagnoses the others' absence
with the gate; ``benchmarks/simulate_monitoring.py`` measures bias, SD, standard error,
coverage and how often the gate publishes, for the default design, a random half of the
most expensive households against everyone else, and an enrolled half against the eligible
rest, on independent synthetic populations (a new seed per replication).

Households of which a member moved out of the study area, or that dissolved, during the
follow-up are counted; with ``movers = "exclude"`` they leave the analysis (with their
matched partner), with ``"follow"`` (default) their members are followed anyway.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lib.dates import year_of_month
from lib.domains import DomainCounting
from lib.households import id_positions

COVARIATE_LABELS = {"n_domains": "aantal domeinen", "n_children": "aantal kinderen"}
NAIVE_LABEL = "voor/na in het cohort (methode; vertekend door regressie naar het gemiddelde)"
EFFECT_LABEL = "effect t.o.v. gematchte vergelijkingsgroep (verschil-in-verschillen)"
PLACEBO_LABEL = ("placebotoets: hetzelfde verschil-in-verschillen met een start een periode eerder, alleen "
                 "perioden voor de start (hoort rond 0 te liggen)")

# Publication gate of the comparison estimates (effect and placebo); see publication_gate.
# |SMD| < 0.1 is the usual bound for a negligible imbalance after matching (Austin 2009,
# Stat Med 28: 3083-3107; Austin 2011, Multivariate Behav Res 46: 399-424; Stuart 2010,
# Stat Sci 25: 1-21); every covariate above it is flagged in the balance table.
SMD_FLAG = 0.1
# The costs before the start drive regression to the mean, the bias the comparison group is
# there to remove: their |SMD| after matching must be below SMD_FLAG. The other covariates
# (domain mix, children, number of domains) enter only through the household fixed effects
# and the adjustment; regression adjustment is trusted up to |SMD| 0.25 (Rubin 2001, Health
# Serv Outcomes Res Methodol 2: 169-188; Stuart 2010).
SMD_MAX_ADJUSTED = 0.25
LEVEL_COVARIATES = ("kosten_totaal_voor_start", "kosten_laatste_periode_voor_start")
# Cohort households without a partner within the caliper are discarded, which changes the
# estimand from the effect on the cohort to the effect on its matched part (Rosenbaum &
# Rubin 1985, Am Stat 39: 33-38; Stuart 2010; Crump et al. 2009, Biometrika 96:
# 187-199). Below half of the cohort that part is no longer "the cohort" (for a cohort
# selected on its own costs: the households near the threshold), so nothing is published.
MIN_MATCHED_SHARE = 0.5


@dataclass
class MonitoringResult:
    periods: list[str]
    follow_up: list[str]
    panel: pd.DataFrame
    """household, group (cohort / comparison), period, cost: the matched balanced panel."""
    balance: pd.DataFrame
    """covariate, smd_before, smd_after; per covariate the households that drive it in each group
    (:func:`covariate_units`): ``n_cohort_all``, ``n_comparison_pool`` (before matching),
    ``n_cohort_matched``, ``n_comparison_matched`` (after)."""
    estimates: pd.DataFrame
    """estimate, value, se, ci_low, ci_high, n_households; the households with costs behind it per
    group before and after the start (``n_cohort_before``, ``n_cohort_after``,
    ``n_comparison_before``, ``n_comparison_after``; NaN where the group is not behind it),
    ``residual_df`` (in households: clusters minus parameters) and ``n_parameters``."""
    status: pd.DataFrame
    """One row per cohort household: matched, moved_away, dissolved."""
    notes: list[str] = field(default_factory=list)
    gate: list[str] = field(default_factory=list)
    """Why the comparison estimates (effect and placebo) are not published, in Dutch
    (:func:`publication_gate`); empty when they are (``estimates["published"]``)."""


def period_of_month(month: np.ndarray, unit: str) -> np.ndarray:
    """Label of each month's period: ``2021`` or ``2021-1`` / ``2021-2`` (half years)."""
    year = year_of_month(month).astype(str)
    if unit == "year":
        return year.astype(object)
    half = np.where((np.asarray(month) % 12) < 6, "-1", "-2")
    return np.char.add(year, half).astype(object)


def follow_up_periods(periods: list[str], start_month: int, unit: str) -> list[str]:
    first = str(period_of_month(np.array([start_month]), unit)[0])
    return [p for p in periods if p >= first]


_LEDGER_SLICE_ROWS = 2_000_000
"""Ledger rows taken at a time: the temporaries of a slice (16 MB an array) are reused from the
process's heap, where whole national columns (a GB an array) took fresh pages from the system
for every operation, which cost more than the operations themselves."""


def cohort_costs(ledger: pd.DataFrame, members: pd.DataFrame, unit: str, domains: list[str]) -> pd.DataFrame:
    """Cost per household, period and domain from its members (fixed at the start).

    Returns columns ``household``, ``period`` (categorical of the period labels, in order),
    ``domain`` (categorical of ``domains``) and ``cost``; ledger rows of persons who are
    not members, or of other domains, are left out. Integer keys throughout: the ledger
    has tens of millions of rows at national scale."""
    member_person = members["person"].to_numpy()
    empty = pd.DataFrame({"household": np.zeros(0, np.int64), "period": pd.Categorical([]),
                          "domain": pd.Categorical([], categories=domains), "cost": np.zeros(0)})
    if member_person.size == 0 or len(ledger) == 0:
        return empty
    person, month, cost = ledger["person"].to_numpy(), ledger["month"].to_numpy(), ledger["cost"].to_numpy()
    domain = ledger["domain"].astype("category")
    domain_position = pd.Index(domains).get_indexer(domain.cat.categories)
    domain_codes = domain.cat.codes.to_numpy()
    # Each person's member row (-1: not a member), looked up once per slice: by one index into a
    # table over the ids when they are dense codes (as the reading step makes them), else by hash.
    member_row_of = pd.Index(member_person).get_indexer
    if person.dtype.kind in "iu" and member_person.dtype.kind in "iu":
        high = max(int(person.max()), int(member_person.max()))
        if min(int(person.min()), int(member_person.min())) >= 0 and high < 4 * len(ledger) + 1_000_000:
            member_row_of = id_positions(member_person, np.arange(high + 1)).__getitem__
    # Periods over every month of the ledger; trimmed below to those from the members' first month
    # to their last (the periods in between with or without costs), as the result names them.
    low = int(month.min())
    periods, period_of = np.unique(period_of_month(np.arange(low, int(month.max()) + 1), unit).astype(str),
                                   return_inverse=True)
    period_of = period_of.reshape(-1)
    n_periods, n_domains = len(periods), len(domains)
    cells = n_periods * n_domains
    keys, sums = [], []
    for at in range(0, len(ledger), _LEDGER_SLICE_ROWS):
        part = slice(at, at + _LEDGER_SLICE_ROWS)
        member_row = member_row_of(person[part])
        domain_code = domain_position[domain_codes[part]]
        keep = (member_row >= 0) & (domain_code >= 0)
        if not keep.any():
            continue
        key = member_row[keep] * cells + period_of[month[part][keep] - low] * n_domains + domain_code[keep]
        # The ledger comes by person and month: the months of one (person, period, domain) are
        # mostly adjacent, so summing runs first leaves far fewer rows to group by household.
        run_start = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
        keys.append(key[run_start])
        sums.append(np.add.reduceat(cost[part][keep], run_start))
    if not keys:
        return empty
    key, run_cost = np.concatenate(keys), np.concatenate(sums)
    household = members["household"].to_numpy().astype(np.int64)[key // cells]
    grouped = pd.Series(run_cost).groupby(household * cells + key % cells).sum()
    key = grouped.index.to_numpy()
    period_code = (key // n_domains) % n_periods
    first, last = int(period_code.min()), int(period_code.max())
    return pd.DataFrame({
        "household": key // cells,
        "period": pd.Categorical.from_codes(period_code - first, categories=periods[first:last + 1].tolist()),
        "domain": pd.Categorical.from_codes(key % n_domains, categories=domains),
        "cost": grouped.to_numpy()})


def household_matrix(costs: pd.DataFrame, household_ids: np.ndarray, column: str, labels: list[str]) -> np.ndarray:
    """Summed ``cost`` per household (rows, in the order of ``household_ids``) and label of the
    categorical ``column`` (columns, in the order of ``labels``); zeros where there is none."""
    rows = id_positions(household_ids, costs["household"].to_numpy())
    values = costs[column].astype("category")
    columns = pd.Index(labels).get_indexer(values.cat.categories.astype(str))[values.cat.codes.to_numpy()]
    keep = (rows >= 0) & (columns >= 0)
    flat = rows[keep].astype(np.int64) * len(labels) + columns[keep]
    total = np.bincount(flat, weights=costs["cost"].to_numpy()[keep], minlength=len(household_ids) * len(labels))
    return total.reshape(len(household_ids), len(labels))


def _distinct_rows(columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Number of each row's distinct value (numbered by first appearance) and the first row
    of each, for float columns of one length without NaN (a matrix's columns, taken one at a
    time: nationally the whole matrix at once meant GB of temporaries).

    Rows are told apart by a 64-bit hash of their bits, then checked against the first row
    of their number: a hash collision (never seen, but possible) falls back to grouping
    on the columns themselves."""
    columns = [np.asarray(column, dtype=np.float64) for column in columns]
    multipliers = np.random.default_rng(20231231).integers(1, 2**63, size=len(columns), dtype=np.uint64) | np.uint64(1)
    digest = np.zeros(len(columns[0]) if columns else 0, dtype=np.uint64)
    for column, multiplier in zip(columns, multipliers):     # over the few columns, not the rows
        digest ^= (column + 0.0).view(np.uint64)             # -0.0 becomes 0.0: equal values, equal bits
        digest *= multiplier
        digest ^= digest >> np.uint64(29)
    group = pd.factorize(digest)[0]
    first = _first_rows(group)
    if not all((column == column[first][group]).all() for column in columns):
        group = pd.DataFrame({j: column + 0.0 for j, column in enumerate(columns)}).groupby(
            list(range(len(columns))), sort=False).ngroup().to_numpy()
        first = _first_rows(group)
    return group, first


def _first_rows(group: np.ndarray) -> np.ndarray:
    """First row of each number, for numbers given by first appearance (0, 1, 2, ... as met)."""
    if group.size == 0:
        return group.astype(np.int64)
    running = np.maximum.accumulate(group)
    return np.flatnonzero(np.concatenate([[True], group[1:] > running[:-1]]))


def _propensity(features: pd.DataFrame, treated: np.ndarray) -> np.ndarray:
    """Logit of the propensity score: logistic regression on standardised features.

    A light ridge penalty (scikit-learn, L-BFGS) keeps the score finite when the cohort is
    (almost) separable from the rest, as a cohort selected on its own costs is; on
    overlapping groups it is the maximum-likelihood fit to a few decimals."""
    from sklearn.linear_model import LogisticRegression
    # Standardised column by column into one matrix (column-major, so each column is contiguous).
    x = np.empty((len(features), features.shape[1]), order="F")
    for j, name in enumerate(features.columns):
        column = features[name].to_numpy(dtype=float)
        scale = column.std()
        x[:, j] = (column - column.mean()) / (scale if scale > 0 else 1.0)
    # Most households have no costs before the start and share a few covariate rows: fit on the
    # distinct (row, cohort) combinations weighted by their number (the same likelihood).
    group, first = _distinct_rows([x[:, j] for j in range(x.shape[1])] + [treated.astype(float)])
    model = LogisticRegression(C=1.0, solver="lbfgs", max_iter=1000, tol=1e-8)
    model.fit(x[first], treated[first].astype(np.int8), sample_weight=np.bincount(group).astype(float))
    return model.decision_function(x)


def match_comparison_group(covariates: pd.DataFrame, treated: np.ndarray, caliper: float,
                           seed: int, strata: np.ndarray | None = None) -> np.ndarray:
    """For each treated household the row of its matched control (-1 when none within the caliper).

    Greedy nearest-neighbour matching on the logit propensity score without replacement,
    exactly within ``strata`` (default: household type); treated households are matched in
    a random order fixed by ``seed`` (greedy matching depends on the order)."""
    features = covariates.drop(columns=["household_type"])
    logit = _propensity(features, treated)
    width = caliper * logit.std()
    match = np.full(len(covariates), -1, dtype=np.int64)
    rng = np.random.default_rng(seed)
    kind = pd.factorize(covariates["household_type"].to_numpy() if strata is None else strata, sort=True)[0]
    # Rows grouped by stratum once; only strata with cohort households are visited.
    by_stratum = np.argsort(kind, kind="stable")
    bounds = np.searchsorted(kind[by_stratum], np.arange(kind.max(initial=-1) + 2))
    for t in np.unique(kind[treated]):
        rows = by_stratum[bounds[t]:bounds[t + 1]]
        treated_rows, controls = rows[treated[rows]], rows[~treated[rows]]
        if controls.size == 0:
            continue
        order = np.argsort(logit[controls], kind="stable")
        sorted_controls, sorted_logit = controls[order], logit[controls][order].tolist()
        n = len(sorted_logit)
        # Taken controls are skipped through pointers with path compression (a union-find),
        # not scanned one by one: the nearest available control at or right of position i
        # is _root(right, i) (n: none), at or left of it _root(left, i + 1) - 1 (-1: none).
        right = list(range(n + 1))
        left = list(range(n + 1))
        # Greedy matching is sequential by nature; it loops over the cohort's households,
        # never over the whole population.
        cohort_order = rng.permutation(treated_rows)
        for row, value in zip(cohort_order.tolist(), logit[cohort_order].tolist()):
            pos = bisect_left(sorted_logit, value)
            best, best_gap = -1, np.inf
            i = _root(left, pos) - 1                       # the nearest on the left first: it wins ties
            if i >= 0:
                best, best_gap = i, abs(sorted_logit[i] - value)
            i = _root(right, pos)
            if i < n and abs(sorted_logit[i] - value) < best_gap:
                best, best_gap = i, abs(sorted_logit[i] - value)
            if best >= 0 and best_gap <= width:
                right[best] = best + 1
                left[best + 1] = best
                match[row] = sorted_controls[best]
    return match


def _root(parent: list[int], i: int) -> int:
    """The representative of ``i`` in a pointer forest, compressing the path walked."""
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        parent[i], i = root, parent[i]
    return root


def _covariate_columns(covariates: pd.DataFrame) -> tuple[list[str], list[np.ndarray], pd.Categorical]:
    """The balance's names (every numeric covariate, then one indicator per household type), the
    numeric covariates as float columns (one at a time: the rows of all of them at once are GB
    nationally), and the household types."""
    numeric = covariates.drop(columns=["household_type"])
    types = pd.Categorical(covariates["household_type"])
    names = list(numeric.columns) + [f"household_type_{t}" for t in types.categories]
    return names, [numeric[name].to_numpy(dtype=float) for name in numeric.columns], types


def standardised_differences(covariates: pd.DataFrame, treated: np.ndarray, control: np.ndarray) -> pd.Series:
    """Standardised mean difference of every covariate between two groups of rows, the
    household type as one indicator per type: (mean_a - mean_b) / sqrt((var_a + var_b) / 2),
    sample variances; 0 where both groups are constant."""
    names, columns, types = _covariate_columns(covariates)

    def moments(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = rows.size
        mean, var = np.full(len(columns), np.nan), np.full(len(columns), np.nan)
        # Column by column through one buffer: the comparison pool is nearly every household of
        # the country, whose rows of all covariates at once (and numpy's temporaries for their
        # variance) took several GB of fresh memory.
        buffer = np.empty(n)
        for j, column in enumerate(columns if n else []):
            np.take(column, rows, out=buffer)
            mean[j] = buffer.mean()
            if n > 1:
                buffer -= mean[j]
                var[j] = np.square(buffer, out=buffer).sum() / (n - 1)
        # An indicator's sample variance follows from its share.
        share = np.bincount(types.codes[rows], minlength=len(types.categories)) / max(n, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            var = np.concatenate([var, share * (1 - share) * n / (n - 1) if n > 1 else np.full(share.size, np.nan)])
        mean = np.concatenate([mean, share if n else share * np.nan])
        return mean, var

    mean_a, var_a = moments(np.flatnonzero(treated))
    mean_b, var_b = moments(np.flatnonzero(control))
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = np.sqrt((var_a + var_b) / 2)
        smd = (mean_a - mean_b) / np.where(pooled == 0, np.nan, pooled)
    return pd.Series(smd, index=names).fillna(0.0)


def covariate_units(covariates: pd.DataFrame, rows: np.ndarray) -> pd.Series:
    """Per covariate (named as by :func:`standardised_differences`) the households among
    ``rows`` (boolean) that drive its mean and variance in that group: those with a value
    other than 0, and for an indicator (a 0/1 covariate, and every household type) the
    smaller of the households with and without it (a share tells about the few on either
    side). A standardised difference is published only when each of its groups has at
    least ``min_units`` such households."""
    names, columns, types = _covariate_columns(covariates)
    n = int(rows.sum())
    nonzero = np.array([np.count_nonzero((column != 0) & rows) for column in columns], dtype=np.int64)
    # The kind of covariate, over all households.
    binary = np.array([bool(((column == 0) | (column == 1)).all()) for column in columns], dtype=bool)
    units = np.where(binary, np.minimum(nonzero, n - nonzero), nonzero)
    codes = types.codes[rows]
    per_type = np.bincount(codes[codes >= 0], minlength=len(types.categories))
    return pd.Series(np.concatenate([units, np.minimum(per_type, n - per_type)]).astype(np.int64), index=names)


def households_with_costs(panel: pd.DataFrame, follow_up: list[str]) -> dict[str, float]:
    """Households (not household-periods) with costs (other than 0) in the periods before and
    after the start, per group of ``panel``: the units whose amounts make the means behind a
    before/after comparison. ``n_<group>_before`` / ``n_<group>_after`` for the groups
    ``cohort`` and ``comparison``; NaN for a group that is not in the panel."""
    after = panel["period"].isin(follow_up).to_numpy()
    with_costs = panel["cost"].to_numpy() != 0
    group = panel["group"].to_numpy()
    household = panel["household"].to_numpy()
    out = {}
    for name in ("cohort", "comparison"):
        in_group = group == name
        for when, period_rows in (("before", ~after), ("after", after)):
            rows = in_group & period_rows & with_costs
            out[f"n_{name}_{when}"] = float(pd.unique(household[rows]).size) if in_group.any() else np.nan
    return out


def _two_way_within(values: np.ndarray, household: np.ndarray, period: np.ndarray) -> np.ndarray:
    """Two-way within transformation of the columns of ``values`` on a balanced panel:
    x - household mean - period mean + grand mean (codes 0..H-1 and 0..T-1)."""
    n_households, n_periods = household.max() + 1, period.max() + 1
    out = np.empty_like(values, dtype=float)
    for j in range(values.shape[1]):     # over the few regressors, not the rows
        x = values[:, j]
        by_household = np.bincount(household, weights=x, minlength=n_households) / np.bincount(household)
        by_period = np.bincount(period, weights=x, minlength=n_periods) / np.bincount(period)
        out[:, j] = x - by_household[household] - by_period[period] + x.mean()
    return out


def clustered_ols(y: np.ndarray, x: np.ndarray, cluster: np.ndarray, n_absorbed: int) -> tuple[np.ndarray, np.ndarray]:
    """OLS coefficients of ``y`` on ``x`` (already within-transformed) and their CR1 standard
    errors clustered by ``cluster`` (codes 0..G-1):

        V = G / (G - 1) * (N - 1) / (N - K) * (X'X)^-1 (sum_g X_g' u_g u_g' X_g) (X'X)^-1

    with K = the columns of ``x`` plus ``n_absorbed``: the absorbed effects that are *not*
    nested in the clusters (period effects and the intercept). Household effects are nested
    in household clusters and are not counted: counting them as well (as a dummy regression
    with cluster standard errors, or Stata's ``areg``, does) inflates the standard errors by
    about sqrt(T / (T - 1)) on T periods, 12% on five years (Cameron & Miller 2015, "A
    practitioner's guide to cluster-robust inference", J. Human Resources 50(2): 317-372, on
    fixed effects nested in clusters; Stata's ``xtreg, fe vce(cluster)`` and ``reghdfe`` do
    not count them)."""
    n, k = x.shape
    n_clusters = int(cluster.max()) + 1
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ (x.T @ y)
    residual = y - x @ beta
    scores = np.zeros((n_clusters, k))
    np.add.at(scores, cluster, x * residual[:, None])
    correction = n_clusters / (n_clusters - 1) * (n - 1) / (n - k - n_absorbed)
    variance = correction * bread @ (scores.T @ scores) @ bread
    return beta, np.sqrt(np.diag(variance))


def difference_in_differences(panel: pd.DataFrame, follow_up: list[str], adjust_for: list[str] = ()) -> dict:
    """Two-way fixed effects DiD on a balanced panel, standard errors clustered by household.

    ``cost ~ household + period + cohort x after + after x (adjust_for)``: the household and
    period effects are absorbed by the two-way within transformation, the standard errors
    are CR1 clustered by household (:func:`clustered_ols`: the household effects, nested in
    the clusters, are not counted again as parameters). ``adjust_for`` names household
    columns of ``panel`` (values before the start) whose interaction with "after the start"
    enters the model: households regress toward the mean in proportion to their level
    before the start, so a residual imbalance in that level after matching would otherwise
    bias the estimate."""
    household = pd.factorize(panel["household"].to_numpy())[0]
    period = pd.factorize(panel["period"].to_numpy())[0]
    after = panel["period"].isin(follow_up).to_numpy(dtype=float)
    columns = [(panel["group"].to_numpy() == "cohort") * after]
    for column in adjust_for:
        level = panel[column].to_numpy(dtype=float)
        columns.append(after * (level - level.mean()))
    x = _two_way_within(np.column_stack(columns), household, period)
    y = _two_way_within(panel["cost"].to_numpy(dtype=float)[:, None], household, period)[:, 0]
    n_households, n_periods = household.max() + 1, period.max() + 1
    beta, se = clustered_ols(y, x, household, n_absorbed=n_periods)   # T - 1 period effects and the intercept
    value, se = float(beta[0]), float(se[0])
    # Standard errors clustered by household: the independent units are the households, so
    # the residual degrees of freedom are the clusters minus the parameters estimated.
    return {"value": value, "se": se, "ci_low": value - 1.959964 * se, "ci_high": value + 1.959964 * se,
            "residual_df": int(n_households - len(columns)), "n_parameters": len(columns)}


def placebo_difference_in_differences(panel: pd.DataFrame, baseline_periods: list[str]) -> dict | None:
    """Pre-trend (placebo) check: the same difference in differences on the periods before
    the start only, with a fake start at the last of them, adjusted for the total and the
    last-period cost before the fake start. Without an effect before the start it should be
    near 0; an estimate far from 0 says the groups were on different paths already. None
    with fewer than two periods before the start.

    The matching used the last period before the start (its cost is a covariate), so the
    check is not independent of the matching: it tests whether the match also holds the
    change into that period, not only its level. When the comparison households may lie
    below a selection threshold on the costs before the start (cohort = "selection", or an
    enrolled cohort against every other household), the selection itself makes the cohort's
    last period before the start high relative to its partners', and the placebo is away
    from 0 by construction: that is the design's problem it is there to show (simulation:
    about +6,000 per household for a random half of the top 5% against all others, about 0
    against the eligible rest)."""
    if len(baseline_periods) < 2:
        return None
    before = panel[panel["period"].isin(baseline_periods).to_numpy()].reset_index(drop=True)
    fake_follow_up = baseline_periods[-1:]
    earlier = before[before["period"].isin(baseline_periods[:-1]).to_numpy()]
    per_household = earlier.groupby("household", sort=False)["cost"]
    levels = {"placebo_total": per_household.sum(),
              "placebo_last": earlier[earlier["period"] == baseline_periods[-2]].set_index("household")["cost"]}
    adjust = ["placebo_total"] + (["placebo_last"] if len(baseline_periods) > 2 else [])  # one earlier period: equal
    before = before.assign(**{name: before["household"].map(levels[name]).to_numpy(dtype=float) for name in adjust})
    did = difference_in_differences(before, fake_follow_up, adjust_for=adjust)
    return did | households_with_costs(before, fake_follow_up)


def publication_gate(balance: pd.DataFrame, n_cohort: int, n_matched: int) -> list[str]:
    """Why the comparison estimates may not be published (Dutch sentences; empty: they may).

    * fewer than ``MIN_MATCHED_SHARE`` of the cohort matched: the estimate would be about a
      small, unrepresentative part of the cohort;
    * the costs before the start (``LEVEL_COVARIATES``) with |SMD| >= ``SMD_FLAG`` after
      matching: the groups do not overlap on what drives regression to the mean;
    * another covariate with |SMD| > ``SMD_MAX_ADJUSTED`` after matching."""
    reasons = []
    if n_cohort == 0 or n_matched < MIN_MATCHED_SHARE * n_cohort:
        share = n_matched / n_cohort if n_cohort else 0.0
        reasons.append(f"slechts {share:.0%} van het cohort heeft een vergelijkbaar huishouden binnen de caliper "
                       f"(vereist: ten minste {MIN_MATCHED_SHARE:.0%}); de schatting zou alleen over dat deel gaan")
    smd = balance.set_index("covariate")["smd_after"].abs()
    level = smd.reindex([c for c in LEVEL_COVARIATES if c in smd.index])
    off = level[~(level < SMD_FLAG)]
    if len(off):
        reasons.append(f"geen overlap in de kosten voor de start: na matching is het gestandaardiseerde verschil van "
                       f"{', '.join(off.index)} niet kleiner dan {SMD_FLAG:.1f}".replace(".", ",")
                       + " (Austin 2011; Stuart 2010)")
    other = smd.drop(index=level.index)
    other = other[~(other <= SMD_MAX_ADJUSTED)]
    if len(other):
        reasons.append(f"na matching is het gestandaardiseerde verschil van {', '.join(other.index)} groter dan "
                       f"{SMD_MAX_ADJUSTED:.2f}".replace(".", ",") + " (Rubin 2001; Stuart 2010)")
    return reasons


def naive_before_after(panel: pd.DataFrame, follow_up: list[str]) -> dict:
    """The method's comparison: the cohort's mean cost per period after the start minus before."""
    cohort = panel[panel["group"] == "cohort"].assign(after=lambda x: x["period"].isin(follow_up))
    per_household = cohort.groupby(["household", "after"])["cost"].mean().unstack()
    change = (per_household[True] - per_household[False]).to_numpy()
    se = change.std(ddof=1) / np.sqrt(change.size)
    value = float(change.mean())
    return {"value": value, "se": float(se), "ci_low": value - 1.959964 * se, "ci_high": value + 1.959964 * se}


def _varies(values: np.ndarray) -> bool:
    """More than one distinct value (missing values not counted), without a count of them all."""
    present = values[~pd.isna(values)]
    return bool(present.size) and bool((present != present[0]).any())


def run_monitoring(costs: pd.DataFrame, households: pd.DataFrame, cohort: np.ndarray,
                   start_month: int, periods: list[str], unit: str, domains: list[str], caliper: float, seed: int,
                   moved: np.ndarray, dissolved: np.ndarray, movers: str = "follow",
                   comparison_pool: np.ndarray | None = None, counting: DomainCounting | None = None,
                   part_done=None) -> MonitoringResult:
    """Monitor ``cohort`` (boolean per row of ``households``, which are the households at the start).

    ``costs``: the households' costs per period and domain, ``cohort_costs`` of the ledger
    (computed once by the caller, who may also select the cohort on them).
    ``moved`` / ``dissolved``: per household, whether a member left the study area or the
    household ended during the follow-up. ``comparison_pool``: per household, whether it may
    be a comparison household (default: every household not in the cohort), e.g. the
    households that meet the selection criteria but were not enrolled. ``counting``: the
    method's domains that the covariate ``n_domains`` counts (default: every domain). ``part_done(label)``,
    when given, is called once the comparison group is matched (most of the time here), for the step's
    progress lines."""
    follow_up = follow_up_periods(periods, start_month, unit)
    baseline_periods = [p for p in periods if p not in follow_up]
    if not baseline_periods or not follow_up:
        raise ValueError("monitoring needs periods both before and after the cohort start")
    ids = households["household"].to_numpy()
    in_baseline = costs["period"].isin(baseline_periods).to_numpy()
    base = household_matrix(costs[in_baseline], ids, "domain", domains)
    # Households selected for high costs regress toward the mean in proportion to how high
    # they were, so the levels of the total and of the last period before the start are
    # matched too, not only the (log) cost per domain.
    last = household_matrix(costs[(costs["period"] == baseline_periods[-1]).to_numpy()], ids, "domain", domains)
    covariates = pd.DataFrame({"kosten_totaal_voor_start": base.sum(axis=1), "kosten_laatste_periode_voor_start":
                               last.sum(axis=1)})
    for j, d in enumerate(domains):
        covariates[f"log_kosten_{d}"] = np.log1p(np.maximum(base[:, j], 0))
    covariates["n_domains"] = (counting or DomainCounting.from_groups({}, domains)).count_present(base, domains)
    covariates["n_children"] = households["n_children"].to_numpy()
    covariates["household_type"] = households["household_type"].to_numpy()
    covariates = covariates.loc[:, [c for c in covariates.columns if _varies(covariates[c].to_numpy())]]
    if "household_type" not in covariates:
        covariates["household_type"] = households["household_type"].to_numpy()
    eligible = np.ones(len(households), dtype=bool)
    if movers == "exclude":
        eligible = ~(moved | dissolved)
    treated = cohort & eligible
    control_pool = ~cohort & eligible
    if comparison_pool is not None:
        control_pool &= np.asarray(comparison_pool, dtype=bool)
    # Exactly within household type, and within municipality when the area has several.
    strata = households["household_type"].astype(str).to_numpy()
    if "municipality" in households and households["municipality"].nunique() > 1:
        strata = pd.DataFrame({"t": strata, "m": households["municipality"].astype(str).to_numpy()}).groupby(
            ["t", "m"], sort=True).ngroup().to_numpy()
    pool = treated | control_pool
    in_pool = covariates if pool.all() else covariates[pool].reset_index(drop=True)
    match = match_comparison_group(in_pool, treated[pool], caliper, seed, strata=strata[pool])
    if part_done is not None:
        part_done("comparison group matched")
    pool_rows = np.flatnonzero(pool)
    matched_treated = pool_rows[np.flatnonzero(match >= 0)]
    matched_control = pool_rows[match[match >= 0]]
    before = standardised_differences(covariates, treated, control_pool)
    after_mask_t = np.zeros(len(households), bool)
    after_mask_t[matched_treated] = True
    after_mask_c = np.zeros(len(households), bool)
    after_mask_c[matched_control] = True
    after = standardised_differences(covariates, after_mask_t, after_mask_c)
    balance = pd.DataFrame({"covariate": before.index, "smd_before": before.to_numpy(),
                            "smd_after": after.reindex(before.index).to_numpy()})
    balance["flag_after"] = balance["smd_after"].abs() > SMD_FLAG
    for column, rows in (("n_cohort_all", treated), ("n_comparison_pool", control_pool),
                         ("n_cohort_matched", after_mask_t), ("n_comparison_matched", after_mask_c)):
        balance[column] = covariate_units(covariates, rows).reindex(before.index).to_numpy()

    # Cost per household and period, only for the households in the panel or the cohort.
    panel_rows = np.concatenate([matched_treated, matched_control])
    wanted = np.unique(np.concatenate([panel_rows, np.flatnonzero(treated)]))
    by_period = household_matrix(costs[np.isin(costs["household"].to_numpy(), ids[wanted])], ids[wanted], "period",
                                 periods)

    def period_panel(rows: np.ndarray, group: np.ndarray) -> pd.DataFrame:
        cost = by_period[np.searchsorted(wanted, rows)]
        return pd.DataFrame({"household": np.repeat(ids[rows], len(periods)), "group": np.repeat(group, len(periods)),
                             "period": np.tile(np.asarray(periods, dtype=object), rows.size),
                             "cost": cost.reshape(-1)})

    panel = period_panel(panel_rows, np.array(["cohort"] * matched_treated.size + ["comparison"] * matched_control.size))
    panel["before_total"] = np.repeat(covariates["kosten_totaal_voor_start"].to_numpy()[panel_rows], len(periods))
    panel["before_last"] = np.repeat(covariates["kosten_laatste_periode_voor_start"].to_numpy()[panel_rows],
                                     len(periods))

    # The method's before/after comparison is over the whole cohort, matched or not.
    treated_rows = np.flatnonzero(treated)
    cohort_panel = period_panel(treated_rows, np.full(treated_rows.size, "cohort"))
    # Every estimate carries the households behind it per group (before and after the start)
    # and its residual degrees of freedom in households: the mean change of n households has
    # n - 1.
    estimates = [{"estimate": NAIVE_LABEL,
                  **naive_before_after(cohort_panel, follow_up), "n_households": int(treated_rows.size),
                  **households_with_costs(cohort_panel, follow_up), "residual_df": int(treated_rows.size) - 1,
                  "n_parameters": 1, "published": True, "reason": ""}]
    notes = []
    comparison_rows = []
    if matched_treated.size >= 2:
        did = difference_in_differences(panel, follow_up, adjust_for=["before_total", "before_last"])
        comparison_rows.append({"estimate": EFFECT_LABEL, **did,
                                "n_households": int(matched_treated.size + matched_control.size),
                                **households_with_costs(panel, follow_up)})
        placebo = placebo_difference_in_differences(panel, baseline_periods)
        if placebo is not None:
            comparison_rows.append({"estimate": PLACEBO_LABEL, **placebo,
                                    "n_households": int(matched_treated.size + matched_control.size)})
        else:
            notes.append("no placebo (pre-trend) check: it needs at least two periods before the start")
    else:
        notes.append("no comparison effect: fewer than two cohort households have a comparable household within the "
                     "caliper (widen [monitoring] caliper, or monitor an enrolled cohort that overlaps the rest)")
    if treated.sum() and matched_treated.size < MIN_MATCHED_SHARE * treated.sum():
        notes.append(f"only {matched_treated.size / treated.sum():.0%} of the cohort has a comparable household within "
                     "the caliper: the effect applies to that part (for a cohort selected on its own costs, the "
                     "households near the selection threshold), not to the whole cohort")
    gate = publication_gate(balance, int(treated.sum()), int(matched_treated.size))
    for row in comparison_rows:
        row["published"], row["reason"] = not gate, "; ".join(gate)
    if comparison_rows and gate:
        notes.append("comparison estimates not published (overlap and balance gate): " + "; ".join(gate))
    estimates = estimates + comparison_rows
    status = pd.DataFrame({"household": ids[cohort], "matched": np.isin(np.flatnonzero(cohort), matched_treated),
                           "moved_away": moved[cohort], "dissolved": dissolved[cohort]})
    notes += [f"cohort: {int(cohort.sum()):,} households, matched: {matched_treated.size:,}; "
             f"moved away during follow-up: {int(moved[cohort].sum()):,}, dissolved: {int(dissolved[cohort].sum()):,} "
             f"(movers {'followed' if movers == 'follow' else 'excluded'})"]
    return MonitoringResult(periods=periods, follow_up=follow_up,
                            panel=panel[["household", "group", "period", "cost"]], balance=balance,
                            estimates=pd.DataFrame(estimates),
                            status=status, notes=notes, gate=gate)
