"""The household cost cube: costs per household, domain and year, in the run's price year.

Persons' ledger costs go to households by the run's attribution (``lib.households``):

* ``peildatum``: every cost of a person goes to the household the person belongs to on
  the peildatum, for all study years; a household is one of the peildatum;
* ``monthly``: a month's cost goes to the household (spell) the person belonged to on
  the 15th of that month, when it lived in the study area then; a household is a
  household spell, and one that ended before the peildatum is "not still resident".

Only included households (in the study area; institutional ones only when configured)
carry costs; what the cube leaves out is accounted for by the households step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.dates import year_of_month
from lib.domains import DomainCounting
from lib.households import SpellIndex, attribute_months, id_positions
from lib.parallel import map_in_order


@dataclass
class Cube:
    household_cube: pd.DataFrame
    """household, domain, year, cost."""
    person_cube: pd.DataFrame
    """person, household, domain, year, cost."""
    households: pd.DataFrame
    """One row per included household: composition, type, residence (with municipality, wijk and
    buurt where the households step has them, ``lib.areas``), five-year cost,
    number of domains (the method's, ``lib.domains``) and of years with costs, cost per fine domain
    (columns ``cost_<domain>``)."""
    domains: list[str]


# Ledger rows summed at a time: bounds the step's working memory (a national ledger has
# over a hundred million rows; each chunk's keys and codes take about 60 bytes per row).
LEDGER_CHUNK_ROWS = 4_000_000


def build_cube(ledger: pd.DataFrame, households: pd.DataFrame, members: pd.DataFrame, attribution: str,
               membership_spells: pd.DataFrame | None = None, area_spells: pd.DataFrame | None = None,
               household_spells: pd.DataFrame | None = None, chunk_rows: int = LEDGER_CHUNK_ROWS,
               counting: DomainCounting | None = None) -> Cube:
    """The cube of ``ledger``'s costs attributed to households. ``counting``: the method's domains
    (``lib.domains``) that ``n_domains`` counts; by default every fine domain counts."""
    person = ledger["person"].to_numpy()
    if attribution == "peildatum":
        unit_table = households[households["included"]]
        member_of = np.full(int(max(person.max(initial=-1), members["person"].max()) + 1), -1, dtype=np.int64)
        included_members = members[members["household"].isin(unit_table["household"])]
        member_of[included_members["person"].to_numpy()] = included_members["household"].to_numpy()
    else:
        spells = household_spells.rename(columns={"household_spell": "household"})
        unit_table = spells[spells["included"]]
        included_spells = unit_table["household"].to_numpy()
    domain_cat = pd.Categorical(ledger["domain"])
    domain_names = np.asarray(domain_cat.categories, dtype=object)
    month = ledger["month"].to_numpy()
    y0 = int(year_of_month(np.array([month.min()]))[0]) if len(month) else 0
    cost = ledger["cost"].to_numpy()

    if attribution != "peildatum":
        membership_spells, area_spells = SpellIndex(membership_spells), SpellIndex(area_spells)

    def sum_slice(rows: slice):
        if attribution == "peildatum":
            household = member_of[person[rows]]
        else:
            household = attribute_months(person[rows], month[rows], membership_spells, area_spells)
            household = np.where(np.isin(household, included_spells), household, -1)
        attributed = household >= 0
        # Sums on packed integer keys (domain and year as small codes).
        return _sum_by(person[rows][attributed].astype(np.int64), household[attributed].astype(np.int64),
                       domain_cat.codes[rows][attributed].astype(np.int64),
                       year_of_month(month[rows][attributed]).astype(np.int64) - y0, cost[rows][attributed])

    # Two slices summed at a time; the parts come back in slice order.
    parts = [part for _, part in map_in_order(sum_slice, _person_slices(person, chunk_rows))]
    # Slices hold whole persons in increasing order, so the concatenation is sorted by the key.
    p_person, p_household, p_domain, p_year, p_cost = (np.concatenate([part[i] for part in parts])
                                                       if parts else np.zeros(0, np.int64 if i < 4 else float)
                                                       for i in range(5))
    # Domains stay codes (a Categorical): tens of millions of rows nationally.
    person_cube = pd.DataFrame({"person": p_person, "household": p_household,
                                "domain": pd.Categorical.from_codes(p_domain, categories=domain_names),
                                "year": p_year + y0, "cost": p_cost})
    hh = _sum_by(None, p_household, p_domain, p_year, p_cost)
    household_cube = pd.DataFrame({"household": hh[1],
                                   "domain": pd.Categorical.from_codes(hh[2], categories=domain_names),
                                   "year": hh[3] + y0, "cost": hh[4]})
    domains = sorted(domain_names[np.unique(p_domain)].tolist())
    return Cube(household_cube=household_cube, person_cube=person_cube,
                households=_household_table(unit_table, household_cube, domains, counting), domains=domains)


def _person_slices(person: np.ndarray, chunk_rows: int) -> list[slice]:
    """Row slices of about ``chunk_rows`` that never split a person (the ledger is sorted by
    person, as the price step writes it); one slice when it is not sorted."""
    n = len(person)
    if n <= chunk_rows or np.any(person[1:] < person[:-1]):
        return [slice(0, n)]
    cuts = [0]
    while cuts[-1] + chunk_rows < n:
        # Move the cut forward to the first row of the next person.
        cut = int(np.searchsorted(person, person[cuts[-1] + chunk_rows], side="left"))
        cuts.append(cut if cut > cuts[-1] else int(np.searchsorted(person, person[cuts[-1] + chunk_rows], side="right")))
    return [slice(a, b) for a, b in zip(cuts, cuts[1:] + [n]) if b > a]


def _sum_by(person, household, domain, year, cost):
    """Sums of ``cost`` per (person, household, domain, year), sorted by that key; with
    ``person=None`` the sums are per (household, domain, year).

    Keys are packed into one integer: (person, household) first as the code of the pair
    (persons and households each need ~25 bits nationally, too many for one word with
    domain and year), then domain (8 bits) and year (6 bits)."""
    by_person = person is not None
    owner = (person << 27) | household if by_person else household
    if owner.size and bool(np.all(owner[1:] >= owner[:-1])):
        # Ledger order (by person, one household each on the peildatum): the pairs are runs.
        new_pair = np.concatenate([[True], owner[1:] != owner[:-1]])
        pair_codes, pairs = np.cumsum(new_pair) - 1, owner[new_pair]
    else:
        pair_codes, pairs = pd.factorize(owner, sort=True)
    key = (pair_codes.astype(np.int64) << 14) | (domain << 6) | year
    # A person's months of one domain and year are mostly adjacent: sum those runs first,
    # then sort what is left.
    run_start = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]])) if key.size else key
    key, cost = key[run_start], np.add.reduceat(cost, run_start) if key.size else cost
    unique, inverse = np.unique(key, return_inverse=True)
    total = np.bincount(inverse.reshape(-1), weights=cost, minlength=unique.size)
    owner_of = pairs[unique >> 14]
    return ((owner_of >> 27) if by_person else None, owner_of & ((1 << 27) - 1) if by_person else owner_of,
            (unique >> 6) & 0xFF, unique & 0x3F, total)


def _household_table(unit_table: pd.DataFrame, household_cube: pd.DataFrame, domains: list[str],
                     counting: DomainCounting | None = None) -> pd.DataFrame:
    columns = ["household", "household_type", "n_persons", "n_children", "n_partners", "n_singles",
               "n_single_parents", "n_other", "institutional", "still_resident", "municipality", "wijk", "buurt"]
    # Built column by column into one frame at the end: nationally each copy of the whole table
    # (a selection, a reset index, a concatenation) took seconds.
    table = {}
    for column in [c for c in columns if c in unit_table]:
        values = unit_table[column].array
        if column in ("municipality", "wijk", "buurt") and not isinstance(values.dtype, pd.CategoricalDtype):
            # Codes, not millions of strings (a few hundred municipalities, some thousands of buurten).
            values = pd.Categorical(values)
        table[column] = values
    n_households = len(unit_table)
    # Cost per household and domain, and years with costs, by integer position (no pivot).
    row = id_positions(np.asarray(table["household"]), household_cube["household"].to_numpy())
    domain = pd.Categorical(household_cube["domain"])
    column = pd.Index(domains).get_indexer(domain.categories.astype(str))[domain.codes]
    column[domain.codes < 0] = -1
    cost = household_cube["cost"].to_numpy()
    inside = (row >= 0) & (column >= 0)
    per_domain = np.bincount(row[inside] * len(domains) + column[inside], weights=cost[inside],
                             minlength=n_households * len(domains)).reshape(n_households, len(domains))
    table["cost_total"] = per_domain.sum(axis=1)
    table["n_domains"] = (counting.count_present(per_domain, domains) if counting is not None
                          else (per_domain > 0).sum(axis=1).astype(np.int16))
    year = household_cube["year"].to_numpy().astype(np.int64)
    positive = (row >= 0) & (cost > 0)
    first_year = int(year.min()) if year.size else 0
    n_years = int(year.max()) - first_year + 1 if year.size else 1
    with_costs = np.zeros(n_households * n_years, dtype=bool)
    with_costs[row[positive] * n_years + year[positive] - first_year] = True
    table["n_years_with_costs"] = with_costs.reshape(n_households, n_years).sum(axis=1).astype(np.int16)
    for k, d in enumerate(domains):
        table[f"cost_{d}"] = per_domain[:, k]
    return pd.DataFrame(table)
