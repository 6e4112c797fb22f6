"""DisclosureRules: defaults, config parsing errors, documentation rows."""

import pytest

from disclosure_control import DisclosureRules


def test_defaults_are_the_cbs_rules():
    rules = DisclosureRules()
    assert (rules.min_units, rules.dominance_n, rules.dominance_k, rules.p_percent) == (10, 2, 0.90, 0.10)
    assert rules.allow_percentiles is False
    assert rules.rounding_base is None
    assert rules.min_residual_df == 10


def test_from_mapping_builds_rules_and_reads_zero_as_no_rounding():
    rules = DisclosureRules.from_mapping({"min_units": 15, "dominance_k": 0.8, "rounding_base": 0,
                                          "suppressed_symbol": "."})
    assert rules.min_units == 15 and rules.dominance_k == 0.8 and rules.rounding_base is None
    assert DisclosureRules.from_mapping({"rounding_base": 5}).rounding_base == 5


def test_from_mapping_names_every_unknown_key_and_wrong_type_at_once():
    with pytest.raises(ValueError) as error:
        DisclosureRules.from_mapping({"min_unit": 10, "colour": "red", "dominance_n": "2", "flag_zero_cells": 1,
                                      "p_percent": True})
    message = str(error.value)
    for part in ("'colour'", "'min_unit'", "'dominance_n' must be an integer", "'flag_zero_cells' must be true or false",
                 "'p_percent' must be a number"):
        assert part in message


def test_percentages_given_as_whole_numbers_are_errors():
    with pytest.raises(ValueError, match="'dominance_k' is a fraction"):
        DisclosureRules.from_mapping({"dominance_k": 90})
    with pytest.raises(ValueError, match="'rounding_base' must be 5, 10"):
        DisclosureRules.from_mapping({"rounding_base": 3})


def test_describe_has_a_row_with_meaning_for_every_setting():
    rows = DisclosureRules().describe()
    names = [r[0] for r in rows]
    assert names[:4] == ["min_units", "dominance_n", "dominance_k", "p_percent"]
    assert len(names) == len(set(names)) == len(DisclosureRules().as_dict())
    assert all(isinstance(meaning, str) and len(meaning) > 10 for _, _, meaning in rows)


def test_fingerprint_changes_with_any_rule():
    assert DisclosureRules().fingerprint() == DisclosureRules().fingerprint()
    assert DisclosureRules().fingerprint() != DisclosureRules(min_units=11).fingerprint()
