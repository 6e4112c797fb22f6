"""Synthetic households and persons, with the changes of five years, as the BRP records them.

A *family* is the generator's own unit: the people who form one household at the start
of the study period. During the period at most one event happens to a family: a move
within or out of its municipality, a birth, a separation, a child leaving home or the
death of an elderly member (which ends a one-person household). Every
change ends the household spell and starts new ones with new household numbers, as in
GBAHUISHOUDENSBUS; a person who leaves (separated partner, child leaving home) starts a
one-person household at a new address.

Everything is vectorised over the families of one chunk; a chunk is reproducible from
``(seed, chunk index)`` alone.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.synthetic.spec import GeneratorSpec

OPEN_END = np.iinfo(np.int32).max
"""End day of a spell that is still running."""

(EVENT_NONE, EVENT_MOVE_WITHIN, EVENT_MOVE_OUT, EVENT_BIRTH, EVENT_SEPARATION, EVENT_CHILD_LEAVES,
 EVENT_DEATH) = range(7)
EVENT_LABELS = {EVENT_NONE: "none", EVENT_MOVE_WITHIN: "move within municipality",
                EVENT_MOVE_OUT: "move to another municipality", EVENT_BIRTH: "birth",
                EVENT_SEPARATION: "separation", EVENT_CHILD_LEAVES: "child leaves home",
                EVENT_DEATH: "death of a member"}
GROUP_STAYS, GROUP_LEAVES, GROUP_DIES = 0, 1, 2

ROLE_ADULT, ROLE_CHILD, ROLE_OTHER, ROLE_INSTITUTION = range(4)
MALE, FEMALE = 1, 2
MAX_MEMBERS = 32
DAYS_PER_YEAR = 365.25


@dataclass
class Population:
    """One chunk of families with their persons, household spells and addresses."""

    families: pd.DataFrame
    """fam, fam_global, typhh0, ref_age, event, event_day, muni0, muni1, muni_b, hh_start."""
    persons: pd.DataFrame
    """fam, member, person_global, dense, role, sex, birth_day, last_day (day of death or
    OPEN_END), group, baby,
    hh_before, hh_after, obj_before, obj_after, change_day (day the person's household
    and address spell changes; OPEN_END when it does not)."""
    households: pd.DataFrame
    """One row per household spell: hh_global, fam, slot, start, end, typhh, n_persons,
    n_children, obj, muni."""
    memberships: pd.DataFrame
    """One row per person per household spell: fam, person index, hh (row in households),
    start, end, plhh, is_reference."""
    addresses: pd.DataFrame
    """One row per person per address spell: person index, obj, muni, start, end."""


# Household types at the start of the period. Five years of births, separations, children
# leaving home and deaths shift the mix (more singles, fewer childless couples), so the
# start is tuned, by iterating the generator, until the mix at the reference date matches
# the national shares in ``spec.TYPHH_SHARES``.
START_TYPHH_SHARES = {1: 0.319, 2: 0.1225, 3: 0.2487, 4: 0.0373, 5: 0.2206, 6: 0.0448, 7: 0.0055, 8: 0.0015}


def _household_type_shares() -> tuple[np.ndarray, np.ndarray]:
    types = np.array(sorted(START_TYPHH_SHARES), dtype=np.int8)
    shares = np.array([START_TYPHH_SHARES[t] for t in types], dtype=float)
    return types, shares / shares.sum()


def _draw_reference_age(rng: np.random.Generator, typhh: np.ndarray) -> np.ndarray:
    n = typhh.size
    age = np.empty(n)
    u = rng.random(n)
    # One-person households: a third young, a third middle-aged, a third 65+.
    single = typhh == 1
    age[single] = np.where(u[single] < 0.33, rng.uniform(19, 35, n)[single],
                           np.where(u[single] < 0.64, rng.uniform(35, 65, n)[single],
                                    rng.uniform(65, 97, n)[single]))
    m = typhh == 2
    age[m] = np.where(u[m] < 0.72, rng.uniform(21, 40, n)[m], rng.uniform(40, 80, n)[m])
    m = typhh == 3
    age[m] = np.where(u[m] < 0.18, rng.uniform(27, 55, n)[m], rng.uniform(55, 92, n)[m])
    m = (typhh == 4) | (typhh == 5)
    age[m] = np.clip(rng.normal(41.0, 7.0, n)[m], 22, 64)
    m = typhh == 6
    age[m] = np.clip(rng.normal(42.0, 8.0, n)[m], 21, 68)
    m = typhh == 7
    age[m] = rng.uniform(18, 80, n)[m]
    m = typhh == 8
    age[m] = np.where(u[m] < 0.7, rng.uniform(75, 100, n)[m], rng.uniform(18, 75, n)[m])
    return age


def _pick_other(rng: np.random.Generator, current: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """A municipality index different from ``current``, drawn in proportion to ``weights``."""
    n_muni = weights.size
    cand = rng.choice(n_muni, size=current.size, p=weights)
    same = cand == current
    cand[same] = (current[same] + 1 + rng.integers(0, n_muni - 1, same.sum())) % n_muni
    return cand


def build_population(spec: GeneratorSpec, rng: np.random.Generator, chunk_index: int,
                     n_families: int, dense_offset: int) -> Population:
    """Families ``chunk_index * spec.chunk_households ...`` of the synthetic country."""
    t0, t_end = spec.period_start, spec.period_end
    weights = np.array([m.weight for m in spec.municipalities], dtype=float)
    weights /= weights.sum()

    # --- families ---------------------------------------------------------------------
    fam_global = chunk_index * np.int64(spec.chunk_households) + np.arange(n_families, dtype=np.int64)
    types, shares = _household_type_shares()
    typhh0 = rng.choice(types, size=n_families, p=shares)
    ref_age = _draw_reference_age(rng, typhh0)

    n_adults = np.ones(n_families, dtype=np.int16)
    n_adults[np.isin(typhh0, (2, 3, 4, 5))] = 2
    other = typhh0 == 7
    n_adults[other] = np.where(rng.random(n_families) < 0.75, 2, 3)[other]
    inst = typhh0 == 8
    n_adults[inst] = rng.integers(6, 31, n_families)[inst]
    n_kids = np.zeros(n_families, dtype=np.int16)
    couple_kids = (typhh0 == 4) | (typhh0 == 5)
    n_kids[couple_kids] = rng.choice([1, 2, 3, 4, 5], size=n_families,
                                     p=[0.35, 0.43, 0.16, 0.05, 0.01])[couple_kids]
    one_parent = typhh0 == 6
    n_kids[one_parent] = rng.choice([1, 2, 3, 4], size=n_families, p=[0.56, 0.32, 0.09, 0.03])[one_parent]
    n_members = (n_adults + n_kids).astype(np.int64)

    # --- persons at the start ---------------------------------------------------------
    fam_of = np.repeat(np.arange(n_families, dtype=np.int32), n_members)
    first = np.repeat(np.cumsum(n_members) - n_members, n_members)
    member = (np.arange(fam_of.size) - first).astype(np.int16)
    n_p = fam_of.size
    is_adult = member < n_adults[fam_of]
    role = np.where(is_adult, ROLE_ADULT, ROLE_CHILD).astype(np.int8)
    role[is_adult & other[fam_of]] = ROLE_OTHER
    role[inst[fam_of]] = ROLE_INSTITUTION

    age = np.empty(n_p)
    ref = member == 0
    age[ref] = ref_age[fam_of[ref]]
    partner = is_adult & (member == 1) & ~other[fam_of] & ~inst[fam_of]
    age[partner] = np.clip(ref_age[fam_of[partner]] + rng.normal(-1.5, 3.0, partner.sum()), 18, 100)
    extra_adult = is_adult & (member >= 1) & (other | inst)[fam_of]
    age[extra_adult] = _draw_reference_age(rng, typhh0[fam_of[extra_adult]])
    kid = role == ROLE_CHILD
    parent_age = ref_age[fam_of[kid]]
    age[kid] = rng.random(kid.sum()) * np.clip(np.minimum(parent_age - 20.0, 25.0), 1.0, None)

    sex = np.where(rng.random(n_p) < 0.5, MALE, FEMALE).astype(np.int8)
    one_parent_ref = ref & one_parent[fam_of]
    sex[one_parent_ref] = np.where(rng.random(one_parent_ref.sum()) < 0.85, FEMALE, MALE)
    # Partners are mostly of the other sex than the reference person.
    ref_sex_of_fam = np.zeros(n_families, dtype=np.int8)
    ref_sex_of_fam[fam_of[ref]] = sex[ref]
    opposite = 3 - ref_sex_of_fam[fam_of[partner]]
    sex[partner] = np.where(rng.random(partner.sum()) < 0.97, opposite, ref_sex_of_fam[fam_of[partner]])
    birth_day = (t0 - np.floor(age * DAYS_PER_YEAR) - rng.integers(0, 2, n_p)).astype(np.int32)

    # --- one event per family ---------------------------------------------------------
    is_couple = np.isin(typhh0, (2, 3, 4, 5))
    has_female_adult = np.zeros(n_families, dtype=bool)
    np.logical_or.at(has_female_adult, fam_of[is_adult & (sex == FEMALE)], True)
    oldest_kid_age = np.full(n_families, -1.0)
    np.maximum.at(oldest_kid_age, fam_of[kid], age[kid])

    p_move = np.where(ref_age < 35, 0.45, np.where(ref_age >= 65, 0.12, 0.28))
    p_move[inst] = 0.0
    p_birth = np.zeros(n_families)
    p_birth[is_couple & (ref_age <= 40)] = 0.30
    p_birth[(typhh0 == 1) & (ref_age >= 20) & (ref_age <= 40) & has_female_adult] = 0.03
    p_birth[one_parent & (ref_age <= 40) & has_female_adult] = 0.05
    p_birth[~has_female_adult] = 0.0
    p_sep = np.where(is_couple & (ref_age < 60), 0.08, 0.0)
    p_leave = np.where(oldest_kid_age >= 17, 0.35, 0.0)
    p_death = np.where(inst, 0.0, np.clip((ref_age - 65.0) * 0.02, 0.0, 0.6))
    probs = np.column_stack([p_move, p_birth, p_sep, p_leave, p_death])
    total = probs.sum(axis=1)
    scale = np.where(total > 0.95, 0.95 / np.maximum(total, 1e-12), 1.0)
    cum = np.cumsum(probs * scale[:, None], axis=1)
    u = rng.random(n_families)
    pick = (u[:, None] >= cum).sum(axis=1)         # 0..4 an event, 5 no event
    event = np.choose(pick, [EVENT_MOVE_WITHIN, EVENT_BIRTH, EVENT_SEPARATION,
                             EVENT_CHILD_LEAVES, EVENT_DEATH, EVENT_NONE]).astype(np.int8)
    moving = event == EVENT_MOVE_WITHIN
    event[moving & (rng.random(n_families) < 0.45)] = EVENT_MOVE_OUT
    event_day = np.where(event == EVENT_NONE, OPEN_END,
                         rng.integers(t0 + 30, t_end - 30, n_families)).astype(np.int32)

    muni0 = rng.choice(weights.size, size=n_families, p=weights).astype(np.int16)
    muni1 = muni0.copy()
    out = event == EVENT_MOVE_OUT
    muni1[out] = _pick_other(rng, muni0[out], weights)
    muni_b = np.where(rng.random(n_families) < 0.6, muni0, _pick_other(rng, muni0, weights)).astype(np.int16)

    # Who leaves: at a separation mostly the father (children stay with the mother);
    # when a child leaves home, the oldest child of 17 or over.
    group = np.zeros(n_p, dtype=np.int8)
    sep_fam = event == EVENT_SEPARATION
    adults_of_sep = is_adult & sep_fam[fam_of]
    leave_score = np.where(sex == MALE, 1.0, 0.0) * 0.8 + rng.random(n_p) * 0.2 + rng.random(n_p) * 0.6
    leave_score[~adults_of_sep] = -1.0
    best = np.full(n_families, -1.0)
    np.maximum.at(best, fam_of, leave_score)
    group[adults_of_sep & (leave_score == best[fam_of])] = GROUP_LEAVES
    leave_fam = event == EVENT_CHILD_LEAVES
    oldest = kid & leave_fam[fam_of] & (age == oldest_kid_age[fam_of])
    group[oldest] = GROUP_LEAVES
    # At a death, the oldest adult dies.
    death_fam = event == EVENT_DEATH
    oldest_adult = np.full(n_families, -1.0)
    np.maximum.at(oldest_adult, fam_of[is_adult], age[is_adult])
    group[is_adult & death_fam[fam_of] & (age == oldest_adult[fam_of])] = GROUP_DIES

    # Babies born at the event join the family as its last member.
    born = np.flatnonzero(event == EVENT_BIRTH)
    baby = np.zeros(n_p, dtype=bool)
    if born.size:
        fam_of = np.concatenate([fam_of, born.astype(np.int32)])
        member = np.concatenate([member, n_members[born].astype(np.int16)])
        role = np.concatenate([role, np.full(born.size, ROLE_CHILD, np.int8)])
        sex = np.concatenate([sex, np.where(rng.random(born.size) < 0.5, MALE, FEMALE).astype(np.int8)])
        birth_day = np.concatenate([birth_day, event_day[born]])
        group = np.concatenate([group, np.zeros(born.size, np.int8)])
        baby = np.concatenate([baby, np.ones(born.size, bool)])
        order = np.lexsort((member, fam_of))
        fam_of, member, role, sex, birth_day, group, baby = (
            a[order] for a in (fam_of, member, role, sex, birth_day, group, baby))
    n_p = fam_of.size

    # The household began some years before the study, but not before its youngest member.
    youngest = np.full(n_families, np.iinfo(np.int32).min, dtype=np.int64)
    np.maximum.at(youngest, fam_of[~baby], birth_day[~baby])
    hh_start = np.maximum(t0 - rng.integers(0, int(12 * DAYS_PER_YEAR), n_families), youngest).astype(np.int32)

    families = pd.DataFrame({
        "fam": np.arange(n_families, dtype=np.int32), "fam_global": fam_global, "typhh0": typhh0,
        "ref_age": ref_age.astype(np.float32), "event": event, "event_day": event_day,
        "muni0": muni0, "muni1": muni1, "muni_b": muni_b, "hh_start": hh_start,
    })

    # --- household spells ---------------------------------------------------------------
    has_event = (event[fam_of] != EVENT_NONE) & (group != GROUP_DIES)
    slot_after = np.where(group == GROUP_LEAVES, 2, 1).astype(np.int8)
    m_person = np.concatenate([np.flatnonzero(~baby), np.flatnonzero(has_event)])
    m_slot = np.concatenate([np.zeros((~baby).sum(), np.int8), slot_after[has_event]])
    m_fam = fam_of[m_person]
    m_start = np.where(m_slot == 0, hh_start[m_fam], event_day[m_fam]).astype(np.int32)
    m_end = np.where((m_slot == 0) & (event[m_fam] != EVENT_NONE), event_day[m_fam] - 1, OPEN_END).astype(np.int32)
    # The person who leaves lives alone afterwards: an adult of a one-person household.
    m_role = role[m_person].copy()
    m_role[m_slot == 2] = ROLE_ADULT

    hh_key = m_fam.astype(np.int64) * 3 + m_slot
    hh_keys, m_hh = np.unique(hh_key, return_inverse=True)
    h_fam = (hh_keys // 3).astype(np.int32)
    h_slot = (hh_keys % 3).astype(np.int8)
    n_h = hh_keys.size
    count = np.bincount(m_hh, minlength=n_h)
    n_child = np.bincount(m_hh, weights=m_role == ROLE_CHILD, minlength=n_h).astype(np.int16)
    n_adult = np.bincount(m_hh, weights=m_role == ROLE_ADULT, minlength=n_h).astype(np.int16)
    married = np.isin(typhh0[h_fam], (3, 5))
    typhh = np.where(n_adult >= 2, np.where(n_child > 0, np.where(married, 5, 4), np.where(married, 3, 2)),
                     np.where(n_child > 0, 6, 1)).astype(np.int8)
    typhh[typhh0[h_fam] == 7] = 7
    typhh[typhh0[h_fam] == 8] = 8
    h_start = np.where(h_slot == 0, hh_start[h_fam], event_day[h_fam]).astype(np.int32)
    h_end = np.where((h_slot == 0) & (event[h_fam] != EVENT_NONE), event_day[h_fam] - 1, OPEN_END).astype(np.int32)
    moved = np.isin(event[h_fam], (EVENT_MOVE_WITHIN, EVENT_MOVE_OUT)) & (h_slot == 1)
    obj_slot = np.where(h_slot == 2, 2, np.where(moved, 1, 0))
    h_obj = fam_global[h_fam] * 4 + obj_slot
    h_muni = np.where(obj_slot == 2, muni_b[h_fam], np.where(obj_slot == 1, muni1[h_fam], muni0[h_fam])).astype(np.int16)
    households = pd.DataFrame({
        "hh_global": fam_global[h_fam] * 4 + h_slot, "fam": h_fam, "slot": h_slot,
        "start": h_start, "end": h_end, "typhh": typhh, "n_persons": count.astype(np.int16),
        "n_children": n_child, "obj": h_obj, "muni": h_muni,
    })

    # Position in the household and the reference person (the first adult member).
    m_typhh = typhh[m_hh]
    adult_plhh = np.array([0, 2, 3, 4, 5, 6, 7, 8, 10], dtype=np.int8)   # indexed by TYPHH
    plhh = np.where(m_role == ROLE_CHILD, 1, adult_plhh[m_typhh]).astype(np.int8)
    m_member = member[m_person]
    ref_rank = np.where(m_role == ROLE_CHILD, MAX_MEMBERS + m_member, m_member).astype(np.int64)
    lowest = np.full(n_h, np.iinfo(np.int64).max)
    np.minimum.at(lowest, m_hh, ref_rank)
    is_ref = ref_rank == lowest[m_hh]
    plhh[(m_typhh == 7) & ~is_ref] = 9
    memberships = pd.DataFrame({
        "fam": m_fam, "person": m_person.astype(np.int32), "hh": m_hh.astype(np.int32),
        "start": np.maximum(m_start, birth_day[m_person]), "end": m_end, "plhh": plhh, "is_reference": is_ref,
    }).sort_values(["person", "start"], kind="stable").reset_index(drop=True)

    # --- persons: identifiers and their spells in compact form --------------------------
    before = memberships.drop_duplicates("person", keep="first")
    after = memberships.drop_duplicates("person", keep="last")
    hh_before = np.full(n_p, -1, np.int32)
    hh_before[before["person"].to_numpy()] = before["hh"].to_numpy()
    hh_after = np.full(n_p, -1, np.int32)
    hh_after[after["person"].to_numpy()] = after["hh"].to_numpy()
    change_day = np.where(hh_before != hh_after, event_day[fam_of], OPEN_END).astype(np.int32)
    change_day[baby] = OPEN_END
    last_day = np.where(group == GROUP_DIES, event_day[fam_of] - 1, OPEN_END).astype(np.int32)
    obj_before = households["obj"].to_numpy()[hh_before]
    obj_after = households["obj"].to_numpy()[hh_after]
    obj_change = np.where(obj_before != obj_after, change_day, OPEN_END).astype(np.int32)
    persons = pd.DataFrame({
        "fam": fam_of, "member": member, "person_global": fam_global[fam_of] * MAX_MEMBERS + member,
        "dense": dense_offset + np.arange(n_p, dtype=np.int64), "role": role, "sex": sex,
        "birth_day": birth_day, "last_day": last_day, "group": group, "baby": baby,
        "hh_before": hh_before, "hh_after": hh_after, "change_day": change_day,
        "obj_before": obj_before, "obj_after": obj_after, "obj_change_day": obj_change,
        "muni_before": households["muni"].to_numpy()[hh_before],
        "muni_after": households["muni"].to_numpy()[hh_after],
    })

    # --- address spells: one, or two when the person's address changed ----------------
    idx = np.arange(n_p)
    two = obj_change != OPEN_END
    a_person = np.concatenate([idx, idx[two]])
    a_obj = np.concatenate([np.where(two, obj_before, obj_after), obj_after[two]])
    a_muni = np.concatenate([np.where(two, persons["muni_before"], persons["muni_after"]),
                             persons["muni_after"].to_numpy()[two]])
    first_start = np.maximum(hh_start[fam_of], birth_day)
    first_start[baby] = birth_day[baby]
    a_start = np.concatenate([first_start, obj_change[two]]).astype(np.int32)
    a_end = np.concatenate([np.where(two, obj_change - 1, last_day), np.full(two.sum(), OPEN_END)]).astype(np.int32)
    addresses = pd.DataFrame({"person": a_person.astype(np.int32), "obj": a_obj, "muni": a_muni.astype(np.int16),
                              "start": a_start, "end": a_end}).sort_values(["person", "start"], kind="stable")
    return Population(families, persons, households, memberships, addresses.reset_index(drop=True))


def household_at(persons: pd.DataFrame, day) -> np.ndarray:
    """Row in ``households`` of each person's household on ``day`` (scalar or per person)."""
    return np.where(np.asarray(day) < persons["change_day"].to_numpy(),
                    persons["hh_before"].to_numpy(), persons["hh_after"].to_numpy())


def municipality_at(persons: pd.DataFrame, person_idx: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Municipality index of the address of ``person_idx`` on ``day``."""
    change = persons["obj_change_day"].to_numpy()[person_idx]
    return np.where(day < change, persons["muni_before"].to_numpy()[person_idx],
                    persons["muni_after"].to_numpy()[person_idx])
