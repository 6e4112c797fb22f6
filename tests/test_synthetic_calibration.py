"""Calibration of the synthetic data to published Dutch figures, on 100,000 households.

Every figure is computed from the generated files read back with the project's own
readers (lib.readers), independently of the generator's internal arrays; costs come
from the truth folder.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.config import load_config
from lib.dates import days_from_ymd
from lib.readers import integers, parse_yyyymmdd, read_cbs_table
from lib.sources import locate_sources
from lib.synthetic.spec import PLHH_PERSON_SHARES, TYPHH_SHARES
from lib.synthetic.truth import load_cpi
from tests.conftest import CALIBRATION_SPEC as SPEC

pytestmark = pytest.mark.slow


class Files:
    def __init__(self, folder):
        self.folder = folder
        self.chosen, _ = locate_sources(load_config(folder / "config.toml"))
        self.cache = {}

    def read(self, dataset, columns, numeric=()):
        key = (dataset, tuple(columns))
        if key not in self.cache:
            parts = []
            for f in self.chosen:
                if f.dataset == dataset:
                    t = read_cbs_table(f, columns, numeric)
                    parts.append(t.assign(FILE_YEAR=f.year))
            self.cache[key] = pd.concat(parts, ignore_index=True)
        return self.cache[key]

    def spells(self, dataset, start, end, extra=()):
        """Linkable (RINPERSOONS R) rows with parsed start and end days; open ends = far future."""
        t = self.read(dataset, ["RINPERSOONS", "RINPERSOON", start, end, *extra])
        t = t[t["RINPERSOONS"] == "R"]
        s, _, _ = parse_yyyymmdd(t[start])
        e, blank, _ = parse_yyyymmdd(t[end])
        return t.assign(S=s, E=np.where(blank, 10**7, e))


@pytest.fixture(scope="module")
def files(calibration_dataset):
    return Files(calibration_dataset)


def day(y, m, d):
    return int((np.datetime64(f"{y:04d}-{m:02d}-{d:02d}") - np.datetime64("1970-01-01")).astype(int))


PEIL = day(SPEC.last_year, 12, 31)


@pytest.fixture(scope="module")
def at_peildatum(files):
    hh = files.spells("GBAHUISHOUDENSBUS", "DATUMAANVANGHH", "DATUMEINDEHH", ["HUISHOUDNR", "TYPHH", "PLHH"])
    return hh[(hh["S"] <= PEIL) & (hh["E"] >= PEIL)]


def test_persons_per_household(at_peildatum):
    assert at_peildatum["RINPERSOON"].is_unique
    ratio = len(at_peildatum) / at_peildatum["HUISHOUDNR"].nunique()
    assert 2.15 <= ratio <= 2.20, ratio


def test_household_types_and_positions_follow_the_national_distribution(at_peildatum):
    households = at_peildatum.drop_duplicates("HUISHOUDNR")
    typhh = households["TYPHH"].astype(int).value_counts(normalize=True)
    for t, share in TYPHH_SHARES.items():
        assert abs(typhh.get(t, 0.0) - share) <= 0.01, (t, typhh.get(t, 0.0), share)
    plhh = at_peildatum["PLHH"].value_counts(normalize=True)
    for p, share in PLHH_PERSON_SHARES.items():
        assert abs(plhh.get(p, 0.0) - share) <= 0.02, (p, plhh.get(p, 0.0), share)


@pytest.fixture(scope="module")
def yearly_rates(files):
    hh = files.spells("GBAHUISHOUDENSBUS", "DATUMAANVANGHH", "DATUMEINDEHH")
    persons = files.read("GBAPERSOONTAB", ["RINPERSOON", "GBAGEBOORTEJAAR", "GBAGEBOORTEMAAND", "GBAGEBOORTEDAG"])
    year, month, day_ = (integers(persons[c])[0] for c in ("GBAGEBOORTEJAAR", "GBAGEBOORTEMAAND", "GBAGEBOORTEDAG"))
    birth = pd.Series(days_from_ymd(year, month, day_), index=persons["RINPERSOON"])
    youth = files.spells("JGDHULPBUS", "JGDHGELDIGHEIDBEGINDATUM", "JGDHGELDIGHEIDEINDDATUM")
    wmo = files.spells("WMOBUS", "WMOGELDIGHEIDBEGINDATUM", "WMOGELDIGHEIDEINDDATUM")
    bijstand = files.spells("BIJSTANDUITKERINGTAB", "BIJSTANDAANVANGUITKERINGPERSOON1A", "BIJSTANDEINDEUITKERINGPERSOON1A")
    # The justice registers are yearly person tables (the generator's default form): a person in a year.
    detained = files.read("GEDETINEERDENTAB", ["RINPERSOONS", "RINPERSOON"])
    detained = detained[detained["RINPERSOONS"] == "R"]
    suspects = files.read("VERDTAB", ["RINPERSOONS", "RINPERSOON"])
    suspects = suspects[suspects["RINPERSOONS"] == "R"]
    rows = []
    for y in SPEC.years:
        y0, y1 = day(y, 1, 1), day(y, 12, 31)

        def in_year(t, y0=y0, y1=y1):
            return set(t.loc[(t["S"] <= y1) & (t["E"] >= y0), "RINPERSOON"])
        population = in_year(hh)
        under23 = {p for p in population if (day(y, 7, 1) - birth[p]) / 365.25 < 23}
        rows.append({
            "year": y,
            "jeugdhulp_under23": len(in_year(youth) & under23) / len(under23),
            "wmo_persons": len(in_year(wmo) & population) / len(population),
            "bijstand_persons": len(set(bijstand.loc[bijstand["FILE_YEAR"] == y, "RINPERSOON"]) & population) / len(population),
            "suspects_persons": len(set(suspects.loc[suspects["FILE_YEAR"] == y, "RINPERSOON"]) & population) / len(population),
            "detainees_persons": len(set(detained.loc[detained["FILE_YEAR"] == y, "RINPERSOON"]) & population) / len(population),
        })
    return pd.DataFrame(rows).set_index("year").mean()


@pytest.mark.parametrize("rate, low, high", [
    ("jeugdhulp_under23", 0.085, 0.115),     # ~10% of under-23s
    ("wmo_persons", 0.060, 0.080),           # ~7% of persons
    ("bijstand_persons", 0.019, 0.027),      # ~2.3%
    ("suspects_persons", 0.0070, 0.0100),    # ~0.85%
    ("detainees_persons", 0.0013, 0.0021),   # ~0.17%
])
def test_yearly_rates_near_national_ones(yearly_rates, rate, low, high):
    assert low <= yearly_rates[rate] <= high, yearly_rates.to_dict()


@pytest.fixture(scope="module")
def household_costs(calibration_dataset, at_peildatum):
    """Five-year true cost per household at the reference date (CBS route), in euros of the last year."""
    costs = pd.read_csv(calibration_dataset / "truth" / "costs_person_year.csv")
    costs = costs[costs["source"] != "kredietbank"]      # debt help exists only in the municipal route
    cpi = load_cpi()
    costs["cost"] = costs["cost_nominal"] * cpi[SPEC.last_year] / cpi.reindex(costs["year"]).to_numpy()
    per_person = costs.groupby("rinpersoon")["cost"].sum()
    members = at_peildatum[["RINPERSOON", "HUISHOUDNR"]]
    cost = members["RINPERSOON"].map(per_person).fillna(0.0)
    return cost.groupby(members["HUISHOUDNR"]).sum()


def test_about_a_fifth_of_households_meet_the_social_or_safety_domain(files, at_peildatum, household_costs):
    # From the files alone: any member with any record in the five study years.
    y0, y1 = day(SPEC.first_year, 1, 1), PEIL
    touched = set()
    for dataset, start, end in (("JGDHULPBUS", "JGDHGELDIGHEIDBEGINDATUM", "JGDHGELDIGHEIDEINDDATUM"),
                                ("JGDBESCHERMBUS", "JGDBGELDIGHEIDBEGINDATUM", "JGDBGELDIGHEIDEINDDATUM"),
                                ("JGDRECLASBUS", "JGDRGELDIGHEIDBEGINDATUM", "JGDRGELDIGHEIDEINDDATUM"),
                                ("WMOBUS", "WMOGELDIGHEIDBEGINDATUM", "WMOGELDIGHEIDEINDDATUM"),
                                ("BIJSTANDUITKERINGTAB", "BIJSTANDAANVANGUITKERINGPERSOON1A", "BIJSTANDEINDEUITKERINGPERSOON1A"),
                                ("JUSTITIEZAKENBUS", "DATUMBESLISSING", "DATUMBESLISSING")):
        t = files.spells(dataset, start, end)
        touched |= set(t.loc[(t["S"] <= y1) & (t["E"] >= y0), "RINPERSOON"])
    for dataset in ("GEDETINEERDENTAB", "VERDTAB", "HALTTAB"):      # yearly person tables of the study years
        t = files.read(dataset, ["RINPERSOONS", "RINPERSOON"])
        touched |= set(t.loc[t["RINPERSOONS"] == "R", "RINPERSOON"])
    amounts = files.read("UITKERINGBEDRAGTAB", ["RINPERSOONS", "RINPERSOON"])
    touched |= set(amounts.loc[amounts["RINPERSOONS"] == "R", "RINPERSOON"])
    member_touched = at_peildatum["RINPERSOON"].isin(touched)
    reach = member_touched.groupby(at_peildatum["HUISHOUDNR"]).any().mean()
    assert 0.17 <= reach <= 0.24, reach
    # The truth's costs agree: the same households have a cost.
    assert (household_costs > 0).mean() == pytest.approx(reach, abs=0.002)


def test_cost_concentration_in_line_with_the_field(household_costs):
    ordered = np.sort(household_costs.to_numpy())[::-1]
    total = ordered.sum()

    def top(share):
        return ordered[:int(round(share * ordered.size))].sum() / total
    # About half of all costs on under 5% of households ...
    half_at = np.searchsorted(np.cumsum(ordered), total / 2) / ordered.size
    assert half_at < 0.05, half_at
    # ... and a quarter to a third on the top 1-2%.
    assert 0.22 <= top(0.01) <= 1 / 3, top(0.01)
    assert 0.25 <= top(0.02) <= 0.50, top(0.02)


def test_households_change_over_the_five_years(files, at_peildatum):
    hh = files.spells("GBAHUISHOUDENSBUS", "DATUMAANVANGHH", "DATUMEINDEHH", ["HUISHOUDNR", "TYPHH"])
    y0 = day(SPEC.first_year, 1, 1)
    persons = files.read("GBAPERSOONTAB", ["RINPERSOON", "GBAGEBOORTEJAAR"])
    mean_population = len(at_peildatum)
    births = pd.Series(integers(persons["GBAGEBOORTEJAAR"])[0]).between(SPEC.first_year, SPEC.last_year).sum()
    births_per_1000_per_year = births / mean_population / SPEC.n_years * 1000
    assert 6 <= births_per_1000_per_year <= 12, births_per_1000_per_year     # NL: about 9-10
    # Every change starts a new household number.
    spells_per_person = hh.groupby("RINPERSOON")["HUISHOUDNR"].nunique()
    changed = spells_per_person[spells_per_person > 1].index
    assert 0.2 < len(changed) / spells_per_person.size < 0.6
    new_in_period = hh[(hh["S"] >= y0)]
    assert (new_in_period.groupby("HUISHOUDNR")["S"].nunique() == 1).all()
    # Separations: one-parent households that start in the period.
    assert (new_in_period.drop_duplicates("HUISHOUDNR")["TYPHH"].astype(object) == "6").sum() > 100
    # Moves between municipalities (codes of the last year, so a merger is no move).
    addr = files.spells("GBAADRESOBJECTBUS", "GBADATUMAANVANGADRESHOUDING", "GBADATUMEINDEADRESHOUDING",
                        ["RINOBJECTNUMMER"])
    gem = files.read("VSLGWBTAB", ["RINOBJECTNUMMER", f"GEM{SPEC.last_year}"]).set_index("RINOBJECTNUMMER")
    addr = addr.assign(GEM=addr["RINOBJECTNUMMER"].map(gem[f"GEM{SPEC.last_year}"]))
    moved = addr[addr["S"] >= y0]
    previous = addr[addr["S"] < y0].drop_duplicates("RINPERSOON").set_index("RINPERSOON")["GEM"]
    out_of_municipality = (moved["RINPERSOON"].map(previous) != moved["GEM"]) & moved["RINPERSOON"].isin(previous.index)
    rate = out_of_municipality.sum() / mean_population / SPEC.n_years
    assert 0.01 <= rate <= 0.06, rate


def test_planted_types_are_exact_and_recognisable(calibration_dataset):
    truth = calibration_dataset / "truth"
    persons = pd.read_csv(truth / "persons.csv", usecols=["rinpersoon", "family_id", "problem_type"])
    costs = pd.read_csv(truth / "costs_person_year.csv")
    fam_domain = costs.merge(persons, on="rinpersoon").groupby(["family_id", "domain"])["cost_nominal"].sum() > 0
    presence = fam_domain.unstack(fill_value=False)
    types = persons.drop_duplicates("family_id").set_index("family_id")["problem_type"]
    presence = presence.reindex(types.index, fill_value=False)
    rates = presence.groupby(types).mean()
    # "geen" families leave no record at all: the structure is exact.
    assert not presence[types == "geen"].any(axis=None)
    characteristic = {"ouderenzorg": "wmo", "jeugd_gezin": "jeugdhulp", "armoede_schulden": "bijstand",
                      "justitie": "politie", "multi": "jeugdbescherming"}
    for planted, domain in characteristic.items():
        # Multi-problem families meet every domain, so compare with the other types only.
        others = rates.drop(index=list({planted, "multi"}))[domain]
        assert rates.loc[planted, domain] > 0.4, (planted, domain, rates.loc[planted, domain])
        assert rates.loc[planted, domain] > 2 * others.max(), (planted, rates[domain].to_dict())
    domains_per_family = presence.sum(axis=1).groupby(types).mean()
    assert domains_per_family.idxmax() == "multi", domains_per_family.to_dict()


def test_truth_costs_match_the_records_in_the_files(files, calibration_dataset):
    truth = pd.read_csv(calibration_dataset / "truth" / "costs_person_year.csv")
    y0, y1 = day(SPEC.first_year, 1, 1), PEIL
    youth = files.spells("JGDHULPBUS", "JGDHGELDIGHEIDBEGINDATUM", "JGDHGELDIGHEIDEINDDATUM")
    in_period = set(youth.loc[(youth["S"] <= y1) & (youth["E"] >= y0), "RINPERSOON"])
    assert set(truth.loc[truth["domain"] == "jeugdhulp", "rinpersoon"]) == in_period
    amounts = files.read("UITKERINGBEDRAGTAB", ["RINPERSOONS", "RINPERSOON", "UITKERINGSOORT", "BEDRAGJAAR"],
                         numeric=("BEDRAGJAAR",))
    paid = amounts[amounts["UITKERINGSOORT"] == "BIJSTAND"].groupby(["RINPERSOON", "FILE_YEAR"])["BEDRAGJAAR"].sum()
    priced = truth[truth["domain"] == "bijstand"].set_index(["rinpersoon", "year"])["cost_nominal"]
    priced.index.names = paid.index.names
    both = pd.concat([paid, priced], axis=1, keys=["paid", "priced"]).dropna(how="all")
    assert both.notna().all(axis=None)
    assert (both["paid"] - both["priced"]).abs().max() <= 0.005 + 1e-9
