"""Association rules between item (domain) indicators as a table model for the safe writer.

A rule's counts (antecedent, both, consequent) are cells; what each rule discloses decides their
protection (:func:`rule_count_protection`): too few units, or a confidence near 100% (the few
units with the antecedent but not the consequent).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import primary as rules_mod
from .identifiers import input_problems
from .model import Layer, Membership, TableModel
from .output import count_text, format_number, round_counts
from .rules import DisclosureRules
from .tables import default_unit_label

def association_model(disclosure_rules: DisclosureRules, data: pd.DataFrame, name: str, unit: str, items: list[str],
                      rules, metadata: dict, unit_label: str | None) -> TableModel:
    """The model of a table of association ``rules`` (antecedent items, consequent items) between
    the boolean ``items`` of ``data`` (see ``SafeWriter.association_rules``).

    Raises ValueError naming what in the input cannot be released."""
    reasons = input_problems(data, [unit], items, [])
    if reasons:
        raise ValueError("; ".join(reasons))
    for item in items:
        if not (pd.api.types.is_bool_dtype(data[item]) or set(pd.unique(data[item])) <= {0, 1}):
            raise ValueError(f"item column {item!r} must be boolean (or 0/1)")
    # Each unit's items (any of its rows) as a bit mask; the units per distinct mask are
    # all a rule's counts need.
    unit_code, unit_ids = pd.factorize(data[unit])
    if (unit_code < 0).any():
        raise ValueError(f"unit column {unit!r} has missing values")
    n_total = len(unit_ids)
    one_row_each = n_total == len(data)
    if len(items) > 62:
        raise ValueError(f"at most 62 item columns ({len(items)} given)")
    mask = np.zeros(n_total, dtype=np.int64)
    for bit, item in enumerate(items):
        flag = data[item].to_numpy(dtype=bool)
        if not one_row_each:
            flag = np.bincount(unit_code, weights=flag, minlength=n_total) > 0
        # With one row per unit, units are numbered by row: the flags are already per unit.
        mask |= flag.astype(np.int64) << bit
    masks, units_with_mask = np.unique(mask, return_counts=True)
    index = {item: i for i, item in enumerate(items)}
    ant_counts, both_counts, cons_counts, ant_labels, cons_labels = [], [], [], [], []
    rule_bits = []
    for antecedent, consequent in rules:  # loops over rules (few), each vectorised over the masks
        antecedent, consequent = list(antecedent), list(consequent)
        unknown = [i for i in antecedent + consequent if i not in index]
        if unknown:
            raise ValueError(f"rule uses items that are not item columns: {unknown}")
        a_bits = sum(1 << index[i] for i in set(antecedent))
        c_bits = sum(1 << index[i] for i in set(consequent))
        rule_bits.append((a_bits, c_bits))
        has_a = (masks & a_bits) == a_bits
        has_c = (masks & c_bits) == c_bits
        ant_counts.append(int(units_with_mask[has_a].sum()))
        cons_counts.append(int(units_with_mask[has_c].sum()))
        both_counts.append(int(units_with_mask[has_a & has_c].sum()))
        ant_labels.append(" + ".join(antecedent))
        cons_labels.append(" + ".join(consequent))
    n_ant = np.array(ant_counts, dtype=float)
    n_both = np.array(both_counts, dtype=float)
    n_cons = np.array(cons_counts, dtype=float)
    m = disclosure_rules.min_units
    with np.errstate(divide="ignore", invalid="ignore"):
        confidence = np.where(n_ant > 0, n_both / n_ant, 0.0)
    reasons_per_rule = []
    unsafe = np.zeros(len(rules), dtype=bool)
    for i in range(len(rules)):
        why = []
        if min(n_ant[i], n_both[i], n_cons[i]) < m:
            why.append(rules_mod.RULE_FREQUENCY)
        if n_ant[i] - n_both[i] < m or confidence[i] >= disclosure_rules.near_full_share:
            why.append("group disclosure (near 100% confidence)")
        unsafe[i] = bool(why)
        reasons_per_rule.append(";".join(why))
    shown_ant = round_counts(n_ant, disclosure_rules.rounding_base)
    shown_both = round_counts(n_both, disclosure_rules.rounding_base)
    shown_cons = round_counts(n_cons, disclosure_rules.rounding_base)
    shown_total = round_counts(np.array([float(n_total)]), disclosure_rules.rounding_base)[0]
    # Shares are computed from the published (possibly rounded) counts.
    with np.errstate(divide="ignore", invalid="ignore"):
        support = np.where(shown_total > 0, shown_both / shown_total * 100, 0.0)
        conf = np.where(shown_ant > 0, shown_both / shown_ant * 100, 0.0)
        lift = np.where((shown_ant > 0) & (shown_cons > 0), (shown_both / shown_ant) / (shown_cons / shown_total), 0.0)
    label = unit_label or default_unit_label(unit, 0)
    labels = pd.DataFrame({"antecedent": ant_labels, "consequent": cons_labels})
    n_rules = len(rules)
    # Three counts per rule, each a count of units (the export-wide audit links them with the
    # same units elsewhere: a rule and its reverse share the joint count; the antecedent of a
    # one-item rule is the domain's reach).  A row is one decision.
    layers = []
    rule_upl, rule_lpl = rule_count_protection(disclosure_rules, n_ant, n_both, n_cons)
    # A rule and its reverse (and any rule over the same items) publish the same joint count:
    # one number, so one decision and the strictest requirement of them all.
    joint = np.unique(np.array([a | c for a, c in rule_bits], dtype=np.int64), return_inverse=True)[1].reshape(-1)
    shared = np.bincount(joint, weights=unsafe.astype(float), minlength=joint.max(initial=-1) + 1)[joint] > 0
    for i in np.flatnonzero(shared & ~unsafe):   # loops over the rules that take over a shared count
        reasons_per_rule[i] = "joint count shared with an unsafe rule over the same items"
    unsafe = shared
    for level_array in (rule_upl, rule_lpl):
        strictest = np.zeros(joint.max(initial=-1) + 1)
        np.maximum.at(strictest, joint, level_array)
        level_array[:] = strictest[joint]
    for suffix, counts, unsafe_here in (("antecedent", n_ant, n_ant < m), ("consequent", n_cons, n_cons < m),
                                        ("rule", n_both, unsafe)):
        level = rules_mod.count_protection(counts, disclosure_rules.protection_level)
        flag = unsafe_here & (counts > 0) if suffix != "rule" else unsafe_here
        upl, lpl = (level, np.minimum(level, counts)) if suffix != "rule" else (rule_upl, rule_lpl)
        layers.append(Layer(column=f"n_{label}_{suffix}", statistic="count", source=f"{unit}#{suffix}", values=counts,
                            lower_bound=np.zeros(n_rules), upper_protection=np.where(flag, upl, 0.0),
                            lower_protection=np.where(flag, lpl, 0.0), display="count",
                            cost=counts))
    model = TableModel(
        name=name, population=f"{metadata.get('population', '')}/rules:{name}", label_columns=["antecedent", "consequent"],
        labels=labels, key_codes=labels.copy(), relations=sp.csr_matrix((0, n_rules)), layers=layers,
        evidence=pd.DataFrame({f"n_{label}_antecedent": n_ant.astype(int), f"n_{label}_rule": n_both.astype(int),
                               f"n_{label}_consequent": n_cons.astype(int),
                               "confidence": np.round(confidence, 6), "rules_failed": reasons_per_rule}),
        hidden=np.zeros(n_rules, dtype=bool),
    )
    def units_with(bits: int) -> np.ndarray:
        return np.flatnonzero((mask & bits) == bits)

    # The units behind each count, in the order of the layers: antecedent, consequent, both.
    memberships = []
    for bits_of in (lambda a, c: a, lambda a, c: c, lambda a, c: a | c):
        per_rule = [units_with(bits_of(a, c)) for a, c in rule_bits]
        sizes = np.array([len(u) for u in per_rule], dtype=np.int64)
        memberships.append(Membership(np.repeat(np.arange(n_rules), sizes),
                                      np.concatenate(per_rule) if per_rule else np.zeros(0, np.int64),
                                      np.asarray(unit_ids)))
    model.memberships = memberships
    model.universe = str(metadata.get("universe") or label)
    model.derived = {
        "support_pct": format_number(support, disclosure_rules.share_decimals),
        "confidence_pct": format_number(conf, disclosure_rules.share_decimals),
        "lift": format_number(lift, 2),
    }
    total = count_text(n_total, disclosure_rules.rounding_base)
    model.notes.append(f"Support is a percentage of all {total} {label}; confidence is the "
                       "percentage of units with the antecedent that also have the consequent.")
    return model


def rule_count_protection(disclosure_rules: DisclosureRules, n_ant: np.ndarray, n_both: np.ndarray,
                          n_cons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(upper, lower) protection of a rule's joint count, by what each rule discloses.

    Too few units in a count (frequency): the joint count itself, a fraction of it both
    ways.  Near 100% confidence: the units with the antecedent but not the consequent
    are few (``d``): ``d`` is protected as a small count (the joint count may be
    ``p(d)`` lower and, as far as ``d`` and the consequent allow, higher), and the confidence must not be
    provably at least ``near_full_share``.  A joint count can never exceed its
    antecedent, so a 100% rule (``d = 0``) needs room below only.  (A rule of near 0%
    confidence is not a group disclosure of its own: the few units with both are a small
    count, which the frequency rule protects; a joint count of 251 among 5,000 households
    with the antecedent says nothing about any of them, and protecting it by 30% cost
    hundreds of suppressions at 100,000 households.)"""
    m, level = disclosure_rules.min_units, disclosure_rules.protection_level
    own = rules_mod.count_protection(n_both, level)
    d = n_ant - n_both
    p_d = rules_mod.count_protection(d, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        confidence = np.where(n_ant > 0, n_both / n_ant, 0.0)
    near_full = (d < m) | (confidence >= disclosure_rules.near_full_share)
    below_threshold = n_both - np.ceil(disclosure_rules.near_full_share * n_ant - 1e-9) + 1
    full_lpl = np.maximum(p_d, np.where(confidence >= disclosure_rules.near_full_share, below_threshold, 0.0))
    # Room above: as far as d allows, and the consequent: a joint count never exceeds either
    # side (all 13 households of a domain also in another one: 13 is the most it can be).
    full_upl = np.minimum(np.minimum(p_d, d), n_cons - n_both)
    frequency = np.minimum(np.minimum(n_ant, n_both), n_cons) < m
    upl = np.where(frequency, own, 0.0)
    lpl = np.where(frequency, own, 0.0)
    upl = np.where(near_full, np.maximum(upl, full_upl), upl)
    lpl = np.where(near_full, np.maximum(lpl, full_lpl), lpl)
    return upl, np.minimum(lpl, n_both)
