"""Domains as the method counts them: one classification for reach, number of domains, selection,
combinations, coherence and the monitoring covariate; costs stay by fine domain.

Expected values are worked out by hand from the small household tables below.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.domains import DEFAULT_COUNTING_GROUPS, DomainCounting, DomainGroupError
from lib.selection import select_households

FINE = ["bijstand", "detentie", "jeugdhulp", "om_rechtspraak", "politie", "sancties", "wmo"]
# Five-year cost per fine domain (columns in FINE order), one row per household:
#   0: one offender: police, prosecution and a sanction        -> 1 method's domain (justitie)
#   1: bijstand, youth care and police                          -> 3 (werk_en_inkomen, jeugd, justitie)
#   2: bijstand and Wmo                                         -> 2
#   3: detention only                                           -> 1
#   4: nothing                                                  -> 0
COSTS = np.array([[0, 0, 0, 900, 7500, 400, 0],
                  [14000, 0, 9000, 0, 7500, 0, 0],
                  [14000, 0, 0, 0, 0, 0, 3000],
                  [0, 30000, 0, 0, 0, 0, 0],
                  [0, 0, 0, 0, 0, 0, 0]], dtype=float)


def households_table(counting: DomainCounting) -> pd.DataFrame:
    frame = pd.DataFrame(COSTS, columns=[f"cost_{d}" for d in FINE])
    frame.insert(0, "household", np.arange(len(COSTS)))
    frame["cost_total"] = COSTS.sum(axis=1)
    frame["n_domains"] = counting.count_present(COSTS, FINE)
    frame["still_resident"] = True
    return frame


def settings(**chosen) -> dict:
    return {"top_share": 0.0, "min_domains": 0, "combinations": [], "min_cost": 0.0, "resident_only": True,
            "combine": "all"} | chosen


def test_the_justice_chain_counts_as_one_domain():
    counting = DomainCounting.from_groups(DEFAULT_COUNTING_GROUPS, FINE)
    assert counting.names == ["jeugd", "justitie", "werk_en_inkomen", "wmo"]
    assert counting.groups["justitie"] == ("politie", "om_rechtspraak", "sancties", "detentie")
    assert counting.count_present(COSTS, FINE).tolist() == [1, 3, 2, 1, 0]
    # Counted by fine domain, the one offender was a "three-domain household".
    fine = DomainCounting.from_groups({}, FINE)
    assert fine.count_present(COSTS, FINE).tolist() == [3, 3, 2, 1, 0]
    costs, names = counting.group_costs(COSTS, FINE)
    assert names == counting.names
    assert costs[0].tolist() == [0, 8800, 0, 0] and costs[1].tolist() == [9000, 7500, 14000, 0]
    note = counting.note()
    assert "justitie = politie + om_rechtspraak + sancties + detentie;" in note and "telt elk als een domein" in note


def test_selection_by_number_of_domains_and_by_combinations_counts_the_methods_domains():
    counting = DomainCounting.from_groups(DEFAULT_COUNTING_GROUPS, FINE)
    households = households_table(counting)
    picked = lambda **s: np.flatnonzero(select_households(households, FINE, settings(**s), counting)).tolist()
    # min_domains = 2 no longer picks the offender whose case passed three justice organisations.
    assert picked(min_domains=2) == [1, 2]
    assert picked(min_domains=3) == [1]
    # A combination names the method's domains, or a fine domain for a narrower criterion.
    assert picked(combinations=[["justitie", "werk_en_inkomen"]]) == [1]
    assert picked(combinations=[["justitie"]]) == [0, 1, 3]
    assert picked(combinations=[["detentie"]]) == [3]
    with pytest.raises(Exception, match="unknown domain"):
        picked(combinations=[["veiligheid"]])


def test_a_grouping_that_cannot_be_used_is_refused_with_the_setting_and_every_problem():
    with pytest.raises(DomainGroupError) as refused:
        DomainCounting.from_groups({"justitie": ["politie", "jeugdzorg"], "Zorg": ["wmo"],
                                    "veiligheid": ["politie"]}, FINE, known_domains=set(FINE))
    text = str(refused.value)
    assert "[domains] counting_groups" in text
    assert "unknown domain 'jeugdzorg'" in text
    assert "'politie' is in two groups" in text
    assert "'Zorg'" in text


def test_a_group_without_domains_in_the_run_is_left_out_and_said():
    counting = DomainCounting.from_groups({"justitie": ["politie"], "jeugd": ["jeugdhulp", "jeugdbescherming"]},
                                          ["bijstand", "politie"], known_domains={"jeugdhulp", "jeugdbescherming"})
    assert counting.groups == {"bijstand": ("bijstand",), "justitie": ("politie",)}
    assert any("'jeugd' left out" in n for n in counting.notes)


def test_households_without_any_domain_count_zero_domains():
    """A run (or a population) in which no domain has costs: every household counts 0 domains, with
    the rows kept (numpy before 2.0 cannot reshape an empty array without columns)."""
    from lib.domains import DomainCounting
    counting = DomainCounting(groups={})
    costs, names = counting.group_costs(np.zeros((290, 0)), [])
    assert costs.shape == (290, 0) and names == []
    assert counting.count_present(np.zeros((290, 0)), []).tolist() == [0] * 290
