"""The definitions the notes of personen_naar_positie state (positions against household types) hold for
the households they are stated for, on both routes.

Municipal route, a BRP extract worked out by hand (every location code one household):

    L1  person 1 alone, Gezinsrelatie V (an other member)      -> alleenstaande, eenpersoons
    L2  person 2 alone, K (a child)                            -> alleenstaande, eenpersoons
    L3  person 3 alone, P; the partner, person 4, is listed at L3 and at L9, so placed nowhere
                                                               -> alleenstaande, eenpersoons
    L4  person 5 alone, O (a parent without a child there)      -> alleenstaande, eenpersoons
    L5  person 6 alone, I (a resident of an institution)        -> stays I, institutioneel
    L6  persons 7 (O) and 8 (V), no child                       -> overig (no one-parent family)
    L7  persons 9 (O) and 10 (K)                                -> eenouder
    L8  persons 11 and 12, both A (two singles sharing an address) -> overig, both stay A
    L10 persons 13, 14 (P) and 15 (K)                           -> paar met kinderen
    L11 persons 16-19, all P (two couples at one address)       -> paar zonder kinderen with 4 partners
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.households import brp_household_model
from lib.steps.households import (
    POSITION_DEFINITIONS,
    POSITION_NOTE,
    POSITION_SUBJECTS,
    position_definitions_hold,
    position_notes,
)

PERSONS = pd.DataFrame({"person": np.arange(20, dtype=np.int32), "key": np.arange(1, 21, dtype=np.int64)})
BRP = pd.DataFrame({
    "BSN": ["1", "2", "3", "4", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18",
            "19"],
    "LOCATIECODE": ["L1", "L2", "L3", "L3", "L9", "L4", "L5", "L6", "L6", "L7", "L7", "L8", "L8", "L10", "L10", "L10",
                    "L11", "L11", "L11", "L11"],
    "GEZINSRELATIE": ["V", "K", "P", "P", "P", "O", "I", "O", "V", "O", "K", "A", "A", "P", "P", "K", "P", "P", "P",
                      "P"]})
D = POSITION_DEFINITIONS
CLOSING = "Een huishouden kan personen in meer posities hebben."


def included(model):
    households = model.households[model.households["included"]]
    return households, model.members[model.members["household"].isin(households["household"])]


def test_the_only_person_at_a_location_is_its_alleenstaande():
    m = brp_household_model(BRP, PERSONS, "0344", include_institutional=False)
    h = m.households.set_index("household")
    roles = (m.members.assign(location=h["locatiecode"].reindex(m.members["household"]).to_numpy())
             .groupby("location")["role"].apply(lambda r: "".join(sorted(r))).to_dict())
    assert roles == {"L1": "A", "L2": "A", "L3": "A", "L4": "A", "L5": "I", "L6": "OV", "L7": "KO", "L8": "AA",
                     "L10": "KPP", "L11": "PPPP"}
    assert h.set_index("locatiecode")["household_type"].to_dict() == {
        "L1": "eenpersoons", "L10": "paar met kinderen", "L11": "paar zonder kinderen", "L2": "eenpersoons",
        "L3": "eenpersoons", "L4": "eenpersoons", "L5": "institutioneel", "L6": "overig", "L7": "eenouder",
        "L8": "overig"}
    assert ("BRP extract: 4 person(s) alone at their location code with a Gezinsrelatie other than A counted as "
            "alleenstaande (A): a one-person household consists of its alleenstaande") in m.notes
    # The composition counts the coded roles: L1-L4 one single each, no child, partner or parent left.
    by_location = h.set_index("locatiecode")
    assert by_location.loc[["L1", "L2", "L3", "L4"], ["n_persons", "n_singles", "n_children", "n_partners",
                                                      "n_single_parents", "n_other"]].to_numpy().tolist() == \
        [[1, 1, 0, 0, 0, 0]] * 4


def test_municipal_notes_state_what_the_household_model_guarantees():
    households, members = included(brp_household_model(BRP, PERSONS, "0344", include_institutional=False))
    # Two singles at L8, a parent living with an other member at L6 and two couples at L11: the CBS route's
    # two-way definitions do not hold here, the municipal route's one-way ones do.
    assert position_definitions_hold(households, members) == {
        "alleenstaande": False, "eenpersoons": True, "eenouder": False, "eenouder_ten_minste": True,
        "paar": False, "paar_ten_minste": True, "kinderen_per_type": True, "kinderen_bij_ouders": True,
        "overig": False}
    notes, left_out = position_notes("municipality", households, members)
    assert notes == [POSITION_NOTE,
                     f"Definities: {D['eenpersoons']}; {D['eenouder_ten_minste']}; {D['paar_ten_minste']}; "
                     f"{D['kinderen_per_type']}. {CLOSING}",
                     "Gemeentelijke route: een huishouden is een locatiecode van de BRP, de posities komen uit de "
                     "Gezinsrelatie (de enige persoon op een locatiecode is alleenstaande) en het huishoudtype is "
                     "daaruit afgeleid."]
    assert left_out == []
    # The same households described with the CBS route's clauses: per subject the strongest that holds.
    notes, left_out = position_notes("cbs", households, members)
    assert notes == [POSITION_NOTE,
                     f"Definities: {D['eenpersoons']}; {D['eenouder_ten_minste']}; {D['paar_ten_minste']}; "
                     f"{D['kinderen_per_type']}; {D['kinderen_bij_ouders']}. {CLOSING}"]
    assert left_out == [D["alleenstaande"], D["eenouder"], D["paar"], D["overig"]]


def test_a_subject_without_a_clause_that_holds_is_not_mentioned():
    """A couple with one partner (the other counted elsewhere) and a child living alone: no clause
    about couples or one-person households is stated, not even the weak one."""
    households = pd.DataFrame({"household": [10, 11, 12], "household_type": ["paar zonder kinderen", "eenpersoons",
                                                                             "paar met kinderen"]})
    members = pd.DataFrame({"household": [10, 11, 12, 12, 12], "role": ["P", "K", "P", "P", "K"]})
    notes, left_out = position_notes("cbs", households, members)
    assert notes[1] == f"Definities: {D['eenouder']}; {D['overig']}. {CLOSING}"
    assert left_out == [D["alleenstaande"], D["eenpersoons"], D["paar"], D["paar_ten_minste"],
                        D["kinderen_per_type"], D["kinderen_bij_ouders"]]
    # Nothing holds (a child alone, a one-parent household without its parent, a couple of one, an
    # 'overig' household without other members): no definitions at all.
    nothing = pd.DataFrame({"household": [1, 2, 3, 4],
                            "household_type": ["eenpersoons", "eenouder", "paar zonder kinderen", "overig"]})
    notes, left_out = position_notes("cbs", nothing, pd.DataFrame({"household": [1, 2, 3, 4],
                                                                   "role": ["K", "K", "P", "K"]}))
    assert notes == [POSITION_NOTE, CLOSING]
    assert left_out == [D[c] for clauses in POSITION_SUBJECTS["cbs"] for c in clauses]


@pytest.mark.parametrize("institutional", [False, True], ids=["without institutions", "with institutions"])
def test_municipal_definitions_hold_for_any_mix_of_gezinsrelatie_codes(institutional):
    """Whatever codes an extract has at one address (unknown codes too, persons placed nowhere), the
    clauses the municipal route states hold: they follow from how the type is derived."""
    rng = np.random.default_rng(5)
    locations = 3000
    size = rng.choice([1, 1, 2, 2, 3, 4, 6], locations)
    location = np.repeat(np.arange(locations), size)
    n = location.size
    code = rng.choice(["K", "P", "A", "O", "V", "I", "X", "p"], n, p=[0.3, 0.3, 0.15, 0.08, 0.08, 0.03, 0.03, 0.03])
    bsn = np.arange(1, n + 1)
    # A few persons listed at two locations: placed nowhere, which leaves their households short.
    twice = rng.choice(n, 40, replace=False)
    brp = pd.DataFrame({"BSN": np.concatenate([bsn, bsn[twice]]).astype(str),
                        "LOCATIECODE": np.concatenate([location, (location[twice] + 1) % locations]).astype(str),
                        "GEZINSRELATIE": np.concatenate([code, code[twice]])})
    persons = pd.DataFrame({"person": np.arange(n, dtype=np.int32), "key": bsn.astype(np.int64)})
    households, members = included(brp_household_model(brp, persons, "0344", include_institutional=institutional))
    holds = position_definitions_hold(households, members)
    assert {c: holds[c] for (c,) in POSITION_SUBJECTS["municipality"]} == {c: True for (c,) in
                                                                            POSITION_SUBJECTS["municipality"]}
    # The mix is rich enough that the CBS route's two-way clauses fail: the test is not vacuous.
    assert not any(holds[c] for c in ("alleenstaande", "eenouder", "paar", "overig"))
    notes, left_out = position_notes("municipality", households, members)
    assert left_out == [] and all(D[c] in notes[1] for (c,) in POSITION_SUBJECTS["municipality"])


def test_the_intruder_reads_every_clause_the_notes_can_state():
    """tests/intruder reads the definitions word for word (it imports nothing of the bundle): every clause
    the step can write is one it knows, and no two clauses contain one another."""
    from tests.intruder.relations import POSITION_DEFINITIONS as READ, stated_definitions
    assert sorted(c.lower() for c in D.values()) == sorted(READ)
    for route, subjects in POSITION_SUBJECTS.items():
        households = pd.DataFrame({"household": [1], "household_type": ["eenpersoons"]})
        notes, _ = position_notes(route, households, pd.DataFrame({"household": [1], "role": ["A"]}))
        stated = [D[c] for clauses in subjects for c in clauses[:1]]
        assert stated_definitions("\n".join(notes)) == [c.lower() for c in stated], route
    for a in D.values():
        assert not [b for b in D.values() if b != a and a.lower() in b.lower()], a
