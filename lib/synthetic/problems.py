"""Planted problem types and the records they leave in the social and safety domain.

Every family gets one latent problem type when the period starts. The type decides
which of its members meet which domains and how often: youth care for the children of
a youth-and-family household, Wmo for the elderly of an elderly-care household, a
chain of police registration, prosecution, court decision and sanction for the
offender of a justice-involved household, and so on. A household of type ``geen``
leaves no record at all, so the planted structure is exact: the truth folder holds the
type of every household, and clustering can be scored against it.

Records are expressed in one long table of *priced records* (person, source, code,
start and end day, units) that the truth costing prices and the file writers turn
into CBS and municipal layouts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.dates import add_months, days_from_ymd
from lib.synthetic.population import (
    DAYS_PER_YEAR,
    MALE,
    ROLE_ADULT,
    ROLE_CHILD,
    ROLE_OTHER,
    Population,
    household_at,
)
from lib.synthetic.spec import GeneratorSpec

PROBLEM_TYPES = ("geen", "incidenteel", "ouderenzorg", "jeugd_gezin", "armoede_schulden",
                 "justitie", "multi")
(GEEN, INCIDENTEEL, OUDERENZORG, JEUGD_GEZIN, ARMOEDE, JUSTITIE, MULTI) = range(len(PROBLEM_TYPES))
PROBLEM_TYPE_LABELS = {
    "geen": "No contact with the social or safety domain",
    "incidenteel": "One short, incidental contact in one domain",
    "ouderenzorg": "Elderly care: Wmo support of older members",
    "jeugd_gezin": "Youth and family: youth care, sometimes youth protection",
    "armoede_schulden": "Poverty and debt: bijstand, special assistance, debt help",
    "justitie": "Justice-involved: a member repeatedly suspected, prosecuted, sanctioned",
    "multi": "Complex multi-problem: youth protection, bijstand, debt and justice together",
}

# Probability of each type by the family's composition at the start (rows sum to <= 1;
# the rest is "geen"). Tuned so that the yearly rates in ``spec.YEARLY_RATES`` and a
# five-year reach of about 20% of households come out.
_TYPE_PROBS = {
    #                 incid  ouder  jeugd  armoede justitie multi
    "elderly":       (0.025, 0.440, 0.000, 0.010, 0.000, 0.000),
    "single_young":  (0.040, 0.000, 0.000, 0.100, 0.048, 0.006),
    "couple_nokids": (0.040, 0.030, 0.000, 0.015, 0.006, 0.000),
    "couple_kids":   (0.060, 0.000, 0.110, 0.025, 0.012, 0.010),
    "one_parent":    (0.080, 0.000, 0.180, 0.120, 0.020, 0.050),
    "other":         (0.050, 0.000, 0.000, 0.050, 0.030, 0.010),
    "institution":   (0.000, 0.000, 0.000, 0.000, 0.000, 0.000),
}


@dataclass
class ProblemRecords:
    """Everything the planted problems produce for one chunk."""

    family_type: np.ndarray
    """Problem type index per family."""
    priced: pd.DataFrame
    """person, source, code, start, end, units: one row per spell, action or sanction."""
    justice_decisions: pd.DataFrame
    """person, zaak, day, instantie, beslissing, rechter, delict, sanctie, dagen, uren, maanden."""
    benefit_amounts: pd.DataFrame
    """person, year, soort, amount: yearly amounts of other municipal benefits (nominal)."""
    debt_help: pd.DataFrame
    """person, start, end, amount: debt-help trajectories (nominal euros of the start year)."""


def _composition_class(pop: Population) -> np.ndarray:
    fam = pop.families
    typhh0 = fam["typhh0"].to_numpy()
    ref_age = fam["ref_age"].to_numpy()
    cls = np.full(len(fam), "couple_nokids", dtype=object)
    cls[typhh0 == 1] = "single_young"
    cls[np.isin(typhh0, (4, 5))] = "couple_kids"
    cls[typhh0 == 6] = "one_parent"
    cls[typhh0 == 7] = "other"
    cls[(ref_age >= 70) & np.isin(typhh0, (1, 2, 3))] = "elderly"
    cls[typhh0 == 8] = "institution"
    return cls


def draw_family_types(pop: Population, rng: np.random.Generator) -> np.ndarray:
    cls = _composition_class(pop)
    probs = np.array([_TYPE_PROBS[c] for c in cls], dtype=float)
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(cls))
    pick = (u[:, None] >= cum).sum(axis=1)          # 0..5 a problem type, 6 none
    return np.where(pick == 6, GEEN, pick + 1).astype(np.int8)


class _Frame:
    """Per-person arrays and the helpers that draw spells for them."""

    def __init__(self, spec: GeneratorSpec, pop: Population, family_type: np.ndarray, rng):
        self.spec, self.pop, self.rng = spec, pop, rng
        p = pop.persons
        self.fam = p["fam"].to_numpy()
        self.birth = p["birth_day"].to_numpy().astype(np.int64)
        self.last = p["last_day"].to_numpy().astype(np.int64)
        self.role = p["role"].to_numpy()
        self.sex = p["sex"].to_numpy()
        self.family_type = family_type
        self.ptype = family_type[self.fam]
        self.window = (spec.period_start - 730, spec.period_end)
        self.parts: list[pd.DataFrame] = []

    def age_at(self, person, day) -> np.ndarray:
        return (np.asarray(day, dtype=np.int64) - self.birth[person]) / DAYS_PER_YEAR

    def spells(self, person: np.ndarray, k: np.ndarray, codes: list[str], code_probs: np.ndarray,
               median_days: dict[str, float], sigma: float = 0.7, max_age: float | None = None,
               min_age: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``k`` spells per person, uniform starts in the window, lognormal lengths."""
        rng = self.rng
        person = np.repeat(person, k)
        if person.size == 0:
            empty = np.zeros(0, np.int64)
            return empty, empty, empty, np.zeros(0, dtype=object)
        probs = code_probs if code_probs.ndim == 1 else np.repeat(code_probs, k, axis=0)
        if probs.ndim == 1:
            code_idx = rng.choice(len(codes), size=person.size, p=probs)
        else:
            code_idx = (rng.random(person.size)[:, None] >= np.cumsum(probs, axis=1)).sum(axis=1)
            code_idx = np.minimum(code_idx, len(codes) - 1)
        code = np.asarray(codes, dtype=object)[code_idx]
        med = np.array([median_days[c] for c in codes])[code_idx]
        length = np.maximum(1, np.round(med * np.exp(rng.normal(0.0, sigma, person.size)))).astype(np.int64)
        start = rng.integers(self.window[0], self.window[1] + 1, person.size)
        start = np.maximum(start, self.birth[person] + int(min_age * DAYS_PER_YEAR))
        end = start + length - 1
        end = np.minimum(end, self.last[person])
        if max_age is not None:
            end = np.minimum(end, self.birth[person] + int(max_age * DAYS_PER_YEAR) - 1)
        keep = (end >= start) & (start <= self.window[1])
        return person[keep], start[keep], end[keep], code[keep]

    def add(self, source: str, person, start, end, code, units=None) -> None:
        n = np.asarray(person).size
        if n == 0:
            return
        self.parts.append(pd.DataFrame({
            "person": np.asarray(person, dtype=np.int32), "source": source,
            "code": np.asarray(code, dtype=object), "start": np.asarray(start, dtype=np.int64),
            "end": np.asarray(end, dtype=np.int64),
            "units": np.ones(n) if units is None else np.asarray(units, dtype=float),
        }))


def _without_overlap(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Clip spells so that the spells of one key never overlap (a register has no double spells)."""
    if df.empty:
        return df
    df = df.sort_values(keys + ["start", "end"], kind="stable").reset_index(drop=True)
    groups = df.groupby(keys, sort=False)
    running_end = df["end"].groupby(groups.ngroup()).cummax()
    prev_end = running_end.groupby(groups.ngroup()).shift(1)
    prev_end = prev_end.fillna(np.iinfo(np.int64).min).to_numpy()
    start = np.maximum(df["start"].to_numpy(), prev_end + 1)
    df = df.assign(start=start)
    return df[df["start"] <= df["end"]].reset_index(drop=True)


def draw_problem_records(spec: GeneratorSpec, pop: Population, rng: np.random.Generator) -> ProblemRecords:
    family_type = draw_family_types(pop, rng)
    f = _Frame(spec, pop, family_type, rng)
    n_p = f.fam.size
    idx = np.arange(n_p)
    t0 = spec.period_start
    incid_domain = _incidental_domains(pop, family_type, rng)
    ptype = f.ptype
    is_child = f.role == ROLE_CHILD
    age_t0 = f.age_at(idx, t0)
    incid_of = incid_domain[f.fam]

    # --- youth care -------------------------------------------------------------------
    lam = np.select([ptype == JEUGD_GEZIN, ptype == MULTI, ptype == ARMOEDE, ptype == JUSTITIE],
                    [4.0, 4.0, 0.5, 0.5], 0.0)
    youth = is_child & (age_t0 < 21) & (lam > 0)
    probs = np.where((ptype == MULTI)[:, None], [[0.15, 0.30, 0.10, 0.17, 0.10, 0.18]],
                     np.where((ptype == JEUGD_GEZIN)[:, None], [[0.25, 0.40, 0.12, 0.10, 0.05, 0.08]],
                              [[0.45, 0.45, 0.10, 0.0, 0.0, 0.0]]))
    codes = ["1", "2", "3", "4", "5", "6"]
    durations = {"1": 200, "2": 300, "3": 330, "4": 700, "5": 450, "6": 330}
    person, start, end, code = f.spells(idx[youth], rng.poisson(lam[youth]), codes, probs[youth], durations,
                                        max_age=23)
    f.add("JGDHULPBUS", person, start, end, code)
    # Incidental: one short ambulant trajectory of one child.
    pick = _one_member_per_family(f, (incid_of == "jeugdhulp") & is_child & (age_t0 < 18))
    person, start, end, code = f.spells(pick, np.ones(pick.size, np.int64), ["1", "2"], np.array([0.6, 0.4]),
                                        {"1": 100, "2": 140}, sigma=0.4, max_age=23)
    f.add("JGDHULPBUS", person, start, end, code)

    # --- youth protection -------------------------------------------------------------
    lam = np.select([ptype == JEUGD_GEZIN, ptype == MULTI], [0.12, 0.9], 0.0)
    prot = is_child & (age_t0 < 16) & (lam > 0)
    person, start, end, code = f.spells(idx[prot], rng.poisson(lam[prot]), ["1", "2", "3"], np.array([0.2, 0.7, 0.1]),
                                        {"1": 90, "2": 500, "3": 1200}, max_age=18)
    f.add("JGDBESCHERMBUS", person, start, end, code)

    # --- Wmo -------------------------------------------------------------------------------
    old = (ptype == OUDERENZORG) & (age_t0 >= 63) & (f.role != ROLE_CHILD)
    codes = ["1", "2", "3", "4", "5", "6"]
    durations = {"1": 1800, "2": 900, "3": 1100, "4": 1, "5": 1100, "6": 1800}
    person, start, end, code = f.spells(idx[old], rng.poisson(np.full(old.sum(), 4.0)), codes,
                                        np.array([0.42, 0.18, 0.12, 0.16, 0.02, 0.10]), durations)
    f.add("WMOBUS", person, start, end, code)
    lam = np.select([ptype == MULTI, ptype == ARMOEDE, ptype == JEUGD_GEZIN, ptype == JUSTITIE],
                    [0.8, 0.5, 0.3, 0.2], 0.0)
    adult = (f.role != ROLE_CHILD) & (lam > 0)
    person, start, end, code = f.spells(idx[adult], rng.poisson(lam[adult]), codes,
                                        np.array([0.20, 0.45, 0.10, 0.05, 0.15, 0.05]), durations)
    f.add("WMOBUS", person, start, end, code)
    pick = _one_member_per_family(f, (incid_of == "wmo") & (f.role != ROLE_CHILD))
    person, start, end, code = f.spells(pick, np.ones(pick.size, np.int64), ["1", "4"], np.array([0.4, 0.6]),
                                        {"1": 120, "4": 1}, sigma=0.4)
    f.add("WMOBUS", person, start, end, code)

    # --- bijstand (a household benefit: both partners are recipients) -------------------
    bijstand = _bijstand_spells(f, incid_of)
    f.parts.append(bijstand)

    # --- justice chain ----------------------------------------------------------------
    decisions = _justice_chain(f, incid_of)

    priced = pd.concat(f.parts, ignore_index=True)
    spells_keyed = priced["source"].isin(["JGDHULPBUS", "JGDBESCHERMBUS", "JGDRECLASBUS", "WMOBUS"])
    priced = pd.concat([
        _without_overlap(priced[spells_keyed], ["person", "source", "code"]),
        _without_overlap(priced[priced["source"].isin(["BIJSTANDUITKERINGTAB", "GEDETINEERDENTAB"])],
                         ["person", "source"]),
        priced[~spells_keyed & ~priced["source"].isin(["BIJSTANDUITKERINGTAB", "GEDETINEERDENTAB"])],
    ], ignore_index=True)
    # Clipping overlaps can push a start past the end of the data: such records do not exist.
    priced = priced[priced["start"] <= spec.period_end]
    # Wmo provisions priced per case are one-day records.
    case_like = (priced["source"] == "WMOBUS") & (priced["code"] == "4")
    priced.loc[case_like, "end"] = priced.loc[case_like, "start"]
    priced = priced.sort_values(["person", "source", "start", "code"], kind="stable").reset_index(drop=True)

    return ProblemRecords(
        family_type=family_type,
        priced=priced,
        justice_decisions=decisions,
        benefit_amounts=_other_benefits(f),
        debt_help=_debt_help(f),
    )


def _incidental_domains(pop: Population, family_type: np.ndarray, rng) -> np.ndarray:
    """The one domain an incidental family meets."""
    fam = pop.families
    has_kids = np.isin(fam["typhh0"].to_numpy(), (4, 5, 6))
    elderly = fam["ref_age"].to_numpy() >= 70
    u = rng.random(len(fam))
    domain = np.where(has_kids, np.select([u < 0.5, u < 0.7, u < 0.8], ["jeugdhulp", "politie", "wmo"], "bijstand"),
                      np.where(elderly, np.select([u < 0.85, u < 0.9], ["wmo", "bijstand"], "politie"),
                               np.select([u < 0.4, u < 0.75], ["bijstand", "politie"], "wmo")))
    return np.where(family_type == INCIDENTEEL, domain, "").astype(object)


def _one_member_per_family(f: _Frame, eligible: np.ndarray) -> np.ndarray:
    """One random eligible person of each family that has any."""
    idx = np.flatnonzero(eligible)
    if idx.size == 0:
        return idx
    order = idx[np.argsort(f.rng.random(idx.size), kind="stable")]
    _, first = np.unique(f.fam[order], return_index=True)
    return np.sort(order[first])


def _bijstand_spells(f: _Frame, incid_of: np.ndarray) -> pd.DataFrame:
    pop, rng = f.pop, f.rng
    ftype = f.family_type
    n_f = ftype.size
    lam = np.select([ftype == ARMOEDE, ftype == MULTI, ftype == JUSTITIE], [3.2, 2.4, 0.6], 0.0)
    median = np.select([ftype == ARMOEDE, ftype == MULTI], [1500.0, 1000.0], 400.0)
    incidental = np.zeros(n_f, dtype=bool)
    incidental[f.fam[incid_of == "bijstand"]] = True
    k = rng.poisson(lam) + incidental
    median = np.where(incidental, 150.0, median)
    fam_of = np.repeat(np.arange(n_f), k)
    length = np.maximum(30, np.round(np.repeat(median, k) * np.exp(rng.normal(0, 0.6, fam_of.size)))).astype(np.int64)
    start = rng.integers(f.window[0], f.window[1] + 1, fam_of.size)
    end = start + length - 1

    # Recipients: the adults of 18-66 in the household of the family's first member on
    # the start day. Expand every episode to the family's members and filter.
    sizes = np.bincount(f.fam, minlength=n_f)
    offsets = np.cumsum(sizes) - sizes
    ep = np.repeat(np.arange(fam_of.size), sizes[fam_of])
    member_pos = np.arange(ep.size) - np.repeat(np.cumsum(sizes[fam_of]) - sizes[fam_of], sizes[fam_of])
    person = offsets[fam_of[ep]] + member_pos
    day = start[ep]
    hh = household_at(pop.persons.iloc[person], day)
    head_hh = household_at(pop.persons.iloc[offsets[fam_of]], start)
    age = f.age_at(person, day)
    ok = (np.isin(f.role[person], (ROLE_ADULT, ROLE_OTHER)) & (age >= 18) & (age < 67)
          & (f.birth[person] <= day) & (day <= f.last[person]) & (hh == head_hh[ep]))
    ep, person, hh = ep[ok], person[ok], hh[ok]
    n_recipients = np.bincount(ep, minlength=fam_of.size)
    n_children = pop.households["n_children"].to_numpy()[hh]
    norm = np.where(n_recipients[ep] >= 2, "G", np.where(n_children > 0, "O", "A")).astype(object)
    # The benefit stops when the household changes (separation, move, death).
    change = pop.persons["change_day"].to_numpy()[person].astype(np.int64)
    spell_end = end[ep]
    spell_end = np.where(start[ep] < change, np.minimum(spell_end, change - 1), spell_end)
    spell_end = np.minimum(spell_end, f.last[person])
    keep = spell_end >= start[ep]
    return pd.DataFrame({"person": person[keep].astype(np.int32), "source": "BIJSTANDUITKERINGTAB",
                         "code": norm[keep], "start": start[ep][keep], "end": spell_end[keep],
                         "units": 1.0})


def _justice_chain(f: _Frame, incid_of: np.ndarray) -> pd.DataFrame:
    """Registrations, prosecution and court decisions, sanctions, detention and Halt."""
    rng = f.rng
    n_p = f.fam.size
    idx = np.arange(n_p)
    t0, t_end = f.spec.period_start, f.spec.period_end
    age_t0 = f.age_at(idx, t0)
    # The offender of a justice-involved or multi-problem family: preferably a man of 14-40.
    score = (f.sex == MALE) * 2.0 + ((age_t0 >= 14) & (age_t0 <= 40)) * 3.0 + rng.random(n_p)
    score[(age_t0 < 10) | (f.last < t0)] = -1.0
    involved = np.isin(f.ptype, (JUSTITIE, MULTI))
    best = np.full(f.pop.families.shape[0], -2.0)
    np.maximum.at(best, f.fam[involved], score[involved])
    offender = involved & (score == best[f.fam]) & (score >= 0)
    lam = np.where(f.ptype == JUSTITIE, 7.0, 5.0)
    k = np.where(offender, 1 + rng.poisson(lam), 0)
    incid = _one_member_per_family(f, (incid_of == "politie") & (age_t0 >= 12) & (f.last >= t0))
    k[incid] += 1
    incidental = np.zeros(n_p, dtype=bool)
    incidental[incid] = True

    person = np.repeat(idx, k)
    n = person.size
    reg_day = rng.integers(t0 - 365, t_end + 1, n)
    reg_day = np.maximum(reg_day, f.birth[person] + int(12 * DAYS_PER_YEAR))
    keep = (reg_day <= np.minimum(f.last[person], t_end))
    person, reg_day = person[keep], reg_day[keep]
    n = person.size
    minor = f.age_at(person, reg_day) < 18
    only_light = incidental[person]
    delict = rng.choice(["1", "2", "3", "4", "5", "6"], size=n, p=[0.35, 0.18, 0.20, 0.10, 0.07, 0.10])
    f.add("VERDTAB", person, reg_day, reg_day, delict)

    halt = minor & (rng.random(n) < 0.45)
    halt_day = reg_day + rng.integers(14, 61, n)
    f.add("HALTTAB", person[halt], halt_day[halt], halt_day[halt],
          np.where(rng.random(halt.sum()) < 0.85, "1", "2"))

    om = ~halt
    u = rng.random(n)
    om_decision = np.select([u < 0.22, u < 0.30, u < 0.60], ["SEPOT", "TRANSACTIE", "STRAFBESCHIKKING"], "DAGVAARDING")
    om_decision = np.where(minor & (om_decision == "TRANSACTIE"), "STRAFBESCHIKKING", om_decision)
    om_decision = np.where(only_light & (om_decision == "DAGVAARDING"), "STRAFBESCHIKKING", om_decision)
    om_day = reg_day + rng.integers(20, 181, n)
    zaak = np.arange(n)
    rows = [pd.DataFrame({"person": person[om], "zaak": zaak[om], "day": om_day[om], "instantie": "OM",
                          "beslissing": om_decision[om], "rechter": "", "delict": delict[om], "sanctie": "",
                          "dagen": 0, "uren": 0, "maanden": 0})]
    f.add("JUSTITIEZAKENBUS", person[om], om_day[om], om_day[om], "OM:" + om_decision[om].astype(object))

    court = om & (om_decision == "DAGVAARDING")
    c_person, c_reg, c_minor, c_zaak, c_delict = person[court], reg_day[court], minor[court], zaak[court], delict[court]
    m = c_person.size
    c_day = om_day[court] + rng.integers(40, 251, m)
    rechter = np.where(c_minor, "KR", np.where(rng.random(m) < 0.2, "MK", "PR"))
    u = rng.random(m)
    verdict = np.select([u < 0.07, u < 0.10], ["VRIJSPRAAK", "SCHULDIG_ZONDER_STRAF"], "VEROORDELING")
    u = rng.random(m)
    adult_sanction = np.select([u < np.where(rechter == "MK", 0.55, 0.14), u < 0.72, u < 0.86],
                               ["GEVANGENISSTRAF", "TAAKSTRAF", "GELDBOETE"], "VOORWAARDELIJK")
    minor_sanction = np.select([u < 0.15, u < 0.75], ["JEUGDDETENTIE", "TAAKSTRAF"], "VOORWAARDELIJK")
    sanction = np.where(verdict == "VEROORDELING", np.where(c_minor, minor_sanction, adult_sanction), "")
    median_days = np.where(rechter == "MK", 365.0, np.where(c_minor, 40.0, 30.0))
    days = np.where(np.isin(sanction, ("GEVANGENISSTRAF", "JEUGDDETENTIE")),
                    np.minimum(3000, np.maximum(1, np.round(median_days * np.exp(rng.normal(0, 0.8, m))))), 0).astype(np.int64)
    hours = np.where(sanction == "TAAKSTRAF", rng.integers(2, 25, m) * 10, 0)
    # Adults under a conditional sentence are supervised by probation (priced per month);
    # minors get youth probation instead (JGDRECLASBUS), so their case row has no months.
    months = np.where((sanction == "VOORWAARDELIJK") & ~c_minor, rng.integers(12, 25, m), 0)
    rows.append(pd.DataFrame({"person": c_person, "zaak": c_zaak, "day": c_day, "instantie": "ZM",
                              "beslissing": verdict, "rechter": rechter, "delict": c_delict, "sanctie": sanction,
                              "dagen": days, "uren": hours, "maanden": months}))
    f.add("JUSTITIEZAKENBUS", c_person, c_day, c_day, "ZM:" + rechter.astype(object))
    taak = hours > 0
    f.add("JUSTITIEZAKENBUS", c_person[taak], c_day[taak], c_day[taak], np.full(taak.sum(), "TAAKSTRAF", object),
          units=hours[taak])
    adult_toezicht = months > 0
    toezicht_end = add_months(c_day[adult_toezicht], months[adult_toezicht]).astype(np.int64) - 1
    f.add("JUSTITIEZAKENBUS", c_person[adult_toezicht], c_day[adult_toezicht], toezicht_end,
          np.full(adult_toezicht.sum(), "TOEZICHT", object))
    # Minors under a conditional sentence or community service get youth probation.
    jr = c_minor & np.isin(sanction, ("VOORWAARDELIJK", "TAAKSTRAF")) & (rng.random(m) < 0.6)
    jr_len = rng.integers(180, 366, jr.sum())
    f.add("JGDRECLASBUS", c_person[jr], c_day[jr], c_day[jr] + jr_len - 1,
          rng.choice(["1", "2", "3"], size=jr.sum(), p=[0.7, 0.2, 0.1]))

    # Detention: the sentence, and pre-trial detention for cases before the full bench. The sentence's
    # spell lasts its `dagen` (the case file's DAGENDETENTIE), cut only at death or emigration, so a
    # run without GEDETINEERDENTAB can price the same days from the sentences (lib.pricing).
    jail = days > 0
    d_start = c_day[jail] + rng.integers(0, 91, jail.sum())
    d_end = d_start + days[jail] - 1
    inst = np.where(sanction[jail] == "JEUGDDETENTIE", "JJI", "GW")
    pre = (rechter == "MK") & (rng.random(m) < 0.4)
    p_start = c_reg[pre] + rng.integers(0, 8, pre.sum())
    p_end = np.minimum(p_start + rng.integers(14, 101, pre.sum()), c_day[pre] - 1)
    p_inst = np.where(c_minor[pre], "JJI", "GW")
    det_person = np.concatenate([c_person[jail], c_person[pre]])
    det_start = np.concatenate([d_start, p_start])
    det_end = np.minimum(np.concatenate([d_end, p_end]), f.last[det_person])
    ok = det_end >= det_start
    f.add("GEDETINEERDENTAB", det_person[ok], det_start[ok], det_end[ok], np.concatenate([inst, p_inst])[ok])
    return pd.concat(rows, ignore_index=True).sort_values(["person", "day", "zaak"], kind="stable").reset_index(drop=True)


def _other_benefits(f: _Frame) -> pd.DataFrame:
    """Special assistance and IOAW: yearly amounts for the poor households' first adult."""
    rng = f.rng
    years = np.array(f.spec.years)
    first_adult = _one_member_per_family(f, np.isin(f.ptype, (ARMOEDE, MULTI)) & (f.role != ROLE_CHILD))
    person = np.repeat(first_adult, years.size)
    year = np.tile(years, first_adult.size)
    jan1 = days_from_ymd(year, 1, 1)
    alive = f.last[person] >= jan1
    age = f.age_at(person, jan1)
    bijz = alive & (rng.random(person.size) < 0.5) & (age >= 18)
    ioaw = alive & (age >= 55) & (age < 67) & (rng.random(person.size) < 0.15)
    amount_bijz = np.round(np.exp(rng.normal(np.log(700), 0.6, person.size)), 2)
    amount_ioaw = np.round(rng.uniform(9000, 16000, person.size), 2)
    out = pd.concat([
        pd.DataFrame({"person": person[bijz], "year": year[bijz], "soort": "BIJZONDEREBIJSTAND", "amount": amount_bijz[bijz]}),
        pd.DataFrame({"person": person[ioaw], "year": year[ioaw], "soort": "IOAW", "amount": amount_ioaw[ioaw]}),
    ], ignore_index=True)
    return out.sort_values(["person", "year", "soort"], kind="stable").reset_index(drop=True)


def _debt_help(f: _Frame) -> pd.DataFrame:
    rng = f.rng
    lam = np.select([f.ptype == ARMOEDE, f.ptype == MULTI], [0.6, 0.8], 0.0)
    first_adult = _one_member_per_family(f, (lam > 0) & (f.role != ROLE_CHILD))
    k = rng.poisson(lam[first_adult])
    person = np.repeat(first_adult, k)
    start = rng.integers(f.window[0], f.window[1] + 1, person.size)
    months = rng.integers(6, 31, person.size)
    end = add_months(start, months).astype(np.int64) - 1
    end = np.minimum(end, f.last[person])
    amount = np.round(rng.uniform(1200, 4500, person.size), 2)
    keep = end >= start
    return pd.DataFrame({"person": person[keep].astype(np.int32), "start": start[keep], "end": end[keep],
                         "amount": amount[keep]})
