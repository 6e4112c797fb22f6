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
    domain = ledger["domain"].astype(str).to_numpy()[attributed]
    year = year_of_month(ledger["month"].to_numpy()[attributed])
    frame = pd.DataFrame({"person": person[attributed], "household": household[attributed], "domain": domain,
                          "year": year, "cost": ledger["cost"].to_numpy()[attributed]})
    person_cube = frame.groupby(["person", "household", "domain", "year"], sort=True)["cost"].sum().reset_index()
    household_cube = frame.groupby(["household", "domain", "year"], sort=True)["cost"].sum().reset_index()
    domains = sorted(pd.unique(domain).tolist())
    return Cube(household_cube=household_cube, person_cube=person_cube,
                households=_household_table(unit_table, household_cube, domains), domains=domains)


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
