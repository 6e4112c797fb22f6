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
from lib.households import attribute_months


@dataclass
class Cube:
    household_cube: pd.DataFrame
    """household, domain, year, cost."""
    person_cube: pd.DataFrame
    """person, household, domain, year, cost."""
    households: pd.DataFrame
    """One row per included household: composition, type, residence, five-year cost,
    number of domains and of years with costs, cost per domain (columns ``cost_<domain>``)."""
    domains: list[str]


def build_cube(ledger: pd.DataFrame, households: pd.DataFrame, members: pd.DataFrame, attribution: str,
               membership_spells: pd.DataFrame | None = None, area_spells: pd.DataFrame | None = None,
               household_spells: pd.DataFrame | None = None) -> Cube:
    person = ledger["person"].to_numpy()
    if attribution == "peildatum":
        unit_table = households[households["included"]]
        member_of = np.full(int(max(person.max(initial=-1), members["person"].max()) + 1), -1, dtype=np.int64)
        included_members = members[members["household"].isin(unit_table["household"])]
        member_of[included_members["person"].to_numpy()] = included_members["household"].to_numpy()
        household = member_of[person]
    else:
        household = attribute_months(person, ledger["month"].to_numpy(), membership_spells, area_spells)
        spells = household_spells.rename(columns={"household_spell": "household"})
        unit_table = spells[spells["included"]]
        household = np.where(np.isin(household, unit_table["household"].to_numpy()), household, -1)
    attributed = household >= 0
    # Sums on packed integer keys (domain and year as small codes): millions of ledger rows.
    domain_cat = pd.Categorical(ledger["domain"])
    domain_codes = domain_cat.codes[attributed].astype(np.int64)
    domain_names = np.asarray(domain_cat.categories, dtype=object)
    year = year_of_month(ledger["month"].to_numpy()[attributed]).astype(np.int64)
    y0 = int(year.min()) if year.size else 0
    cost = ledger["cost"].to_numpy()[attributed]
    person_cube = _sum_by(person[attributed].astype(np.int64), household[attributed].astype(np.int64),
                          domain_codes, year - y0, cost)
    person_cube = pd.DataFrame({"person": person_cube[0], "household": person_cube[1],
                                "domain": domain_names[person_cube[2]], "year": person_cube[3] + y0,
                                "cost": person_cube[4]})
    hh = _sum_by(np.zeros(0, np.int64), household[attributed].astype(np.int64), domain_codes, year - y0, cost)
    household_cube = pd.DataFrame({"household": hh[1], "domain": domain_names[hh[2]], "year": hh[3] + y0,
                                   "cost": hh[4]})
    domain = domain_names[np.unique(domain_codes)] if domain_codes.size else np.zeros(0, object)
    domains = sorted(pd.unique(domain).tolist())
    return Cube(household_cube=household_cube, person_cube=person_cube,
                households=_household_table(unit_table, household_cube, domains), domains=domains)


def _sum_by(person, household, domain, year, cost):
    """Sums of ``cost`` per (person, household, domain, year), sorted by that key; with an empty
    ``person`` array the sums are per (household, domain, year).

    Keys are packed into one integer: (person, household) first as the code of the pair
    (persons and households each need ~25 bits nationally, too many for one word with
    domain and year), then domain (8 bits) and year (6 bits)."""
    by_person = person.size > 0
    owner = (person << 27) | household if by_person else household
    pair_codes, pairs = pd.factorize(owner, sort=True)
    key = (pair_codes.astype(np.int64) << 14) | (domain << 6) | year
    unique, inverse = np.unique(key, return_inverse=True)
    total = np.bincount(inverse, weights=cost)
    owner_of = pairs[unique >> 14]
    return ((owner_of >> 27) if by_person else None, owner_of & ((1 << 27) - 1) if by_person else owner_of,
            (unique >> 6) & 0xFF, unique & 0x3F, total)


def _household_table(unit_table: pd.DataFrame, household_cube: pd.DataFrame, domains: list[str]) -> pd.DataFrame:
    columns = ["household", "household_type", "n_persons", "n_children", "n_partners", "n_singles",
               "n_single_parents", "n_other", "institutional", "still_resident"]
    table = unit_table[[c for c in columns if c in unit_table]].set_index("household")
    per_domain = household_cube.pivot_table(index="household", columns="domain", values="cost", aggfunc="sum",
                                            fill_value=0.0)
    per_domain = per_domain.reindex(index=table.index, columns=domains, fill_value=0.0)
    table["cost_total"] = per_domain.sum(axis=1)
    table["n_domains"] = (per_domain > 0).sum(axis=1).astype(np.int16)
    years = household_cube[household_cube["cost"] > 0].groupby("household")["year"].nunique()
    table["n_years_with_costs"] = years.reindex(table.index, fill_value=0).astype(np.int16)
    for d in domains:
        table[f"cost_{d}"] = per_domain[d]
    return table.reset_index()
