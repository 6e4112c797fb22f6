"""The disclosure-control rules of a run: one frozen dataclass, built from the
``[disclosure_control]`` section of the run's TOML config.

Every parameter has the default that CBS Remote Access output checking uses
(see ``disclosure_control/README.md``).  Fractions are given as fractions
(``0.90`` for 90%), never as percentages, so a config value of ``90`` is an
error rather than a silently disabled rule.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Mapping

# Suppression cost functions the secondary suppression can minimise.
SUPPRESSION_COSTS = ("value", "unity", "frequency")
OUTPUT_FORMATS = ("csv", "csv_nl", "xlsx")


@dataclass(frozen=True)
class DisclosureRules:
    """All parameters of primary and secondary disclosure control.

    Build it from config with :meth:`from_mapping`; document it with
    :meth:`describe`.
    """

    min_units: int = 10
    dominance_n: int = 2
    dominance_k: float = 0.90
    p_percent: float = 0.10
    protection_level: float = 0.30
    flag_zero_cells: bool = True
    flag_full_cells: bool = True
    near_full_share: float = 0.95
    allow_percentiles: bool = False
    rounding_base: int | None = None
    min_residual_df: int = 10
    milp_max_cells: int = 2500
    milp_time_limit_seconds: float = 60.0
    suppression_cost: str = "value"
    suppressed_symbol: str = "x"
    magnitude_decimals: int = 2
    share_decimals: int = 1
    total_label: str = "Totaal"
    output_format: str = "csv"
    differencing_check: bool = True

    # (name, meaning) for describe(); kept next to the fields so they stay in step.
    _MEANINGS = {
        "min_units": "every published cell rests on at least this many distinct units, "
                     "counted unweighted (households and/or persons)",
        "dominance_n": "n of the (n,k) dominance rule: number of largest contributors",
        "dominance_k": "k of the (n,k) dominance rule: a cell is unsafe when its n largest "
                       "contributors hold more than this fraction of the cell total",
        "p_percent": "p of the p%-rule: a cell is unsafe when the total minus its two largest "
                     "contributions is less than this fraction of the largest contribution",
        "protection_level": "required width of the feasible interval of a suppressed count or "
                            "frequency-unsafe cell, as a fraction of its value (at least 1 unit "
                            "for counts); magnitude rules use the levels the rule itself implies",
        "flag_zero_cells": "treat empty cells (no units) as group disclosure and suppress them",
        "flag_full_cells": "treat 100% cells (all units of a row/column in one category) as "
                           "group disclosure and suppress them",
        "near_full_share": "association rules with confidence at or above this share are group "
                           "disclosure (nearly every unit with the antecedent has the consequent)",
        "allow_percentiles": "allow medians/percentiles, each computed as the mean of the "
                             "min_units values around the position, never one unit's value",
        "rounding_base": "round published counts to this base (5 or 10); 0/none = no rounding",
        "min_residual_df": "a model is only released with at least this many residual "
                           "degrees of freedom",
        "milp_max_cells": "tables (or linked tables protected together) whose relations do not "
                          "form a flow network (3-D tables, hierarchies in two dimensions, counts "
                          "of units that fall in several categories) get the exact (MILP) "
                          "secondary suppression up to this many cells, the LP heuristic above "
                          "it; 1-D and 2-D tables and 1-D hierarchies (a flow network) always "
                          "get the fast flow-network heuristic, whatever their size",
        "milp_time_limit_seconds": "time limit of the exact secondary suppression (MILP); on "
                                   "time-out the heuristic pattern is used",
        "suppression_cost": "information loss minimised by secondary suppression: "
                            "'value' (cell value), 'frequency' (unit count) or 'unity' (cells)",
        "suppressed_symbol": "symbol written in place of a suppressed cell",
        "magnitude_decimals": "decimals of published sums and means (at least 1 keeps "
                              "published amounts from looking like 9-digit identifiers)",
        "share_decimals": "decimals of published percentages",
        "total_label": "label of total (margin) rows and columns",
        "output_format": "'csv' (comma, decimal point, UTF-8), 'csv_nl' (Dutch Excel: "
                         "semicolon, decimal comma, UTF-8 with BOM) or 'xlsx' (needs openpyxl)",
        "differencing_check": "compare the units behind cells of tables released in the same "
                              "export and flag subgroups that differ by fewer than min_units",
    }

    def __post_init__(self) -> None:
        problems = _value_problems(self)
        if problems:
            raise ValueError("invalid disclosure_control settings: " + "; ".join(problems))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> "DisclosureRules":
        """Build the rules from a config section.

        Raises ``ValueError`` naming every unknown key and every wrongly typed
        or out-of-range value at once, so one run shows all config mistakes.
        """
        mapping = dict(mapping or {})
        fields = {f.name: f for f in dataclasses.fields(cls)}
        problems: list[str] = []
        unknown = sorted(set(mapping) - set(fields))
        if unknown:
            problems.append(
                "unknown key(s) " + ", ".join(repr(k) for k in unknown)
                + " (known keys: " + ", ".join(sorted(fields)) + ")"
            )
        values: dict[str, Any] = {}
        for name in sorted(set(mapping) & set(fields)):
            value = mapping[name]
            if name == "rounding_base" and (value is None or value == 0 or value == "none") and not isinstance(value, bool):
                # TOML has no null; 0 or "none" says "no rounding" explicitly.
                values[name] = None
                continue
            expected = _expected_type(name)
            if not _has_type(value, expected):
                problems.append(
                    f"{name!r} must be {_type_words(expected)}, got {type(value).__name__} {value!r}"
                )
                continue
            values[name] = float(value) if expected is float else value
        if not problems:
            try:
                return cls(**values)
            except ValueError as error:
                raise ValueError(str(error)) from None
        # Also report range problems of the well-typed values in the same message.
        defaults = cls.__new__(cls)
        for f in dataclasses.fields(cls):
            object.__setattr__(defaults, f.name, values.get(f.name, f.default))
        problems.extend(p for p in _value_problems(defaults) if p.split(" ")[0].strip("'") in values)
        raise ValueError("invalid [disclosure_control] settings: " + "; ".join(problems))

    def describe(self) -> list[tuple[str, Any, str]]:
        """(name, value, meaning) rows for documentation and evidence."""
        return [(f.name, getattr(self, f.name), self._MEANINGS[f.name]) for f in dataclasses.fields(self)]

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def fingerprint(self) -> str:
        """SHA-256 of the canonical JSON of the rules (recorded in every evidence file)."""
        text = json.dumps(self.as_dict(), sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


# The class attribute _MEANINGS is not a dataclass field (no annotation); keep it so.
assert "_MEANINGS" not in {f.name for f in dataclasses.fields(DisclosureRules)}

_TYPES = {
    "min_units": int, "dominance_n": int, "dominance_k": float, "p_percent": float,
    "protection_level": float, "flag_zero_cells": bool, "flag_full_cells": bool,
    "near_full_share": float, "allow_percentiles": bool, "rounding_base": int,
    "min_residual_df": int, "milp_max_cells": int, "milp_time_limit_seconds": float,
    "suppression_cost": str, "suppressed_symbol": str, "magnitude_decimals": int,
    "share_decimals": int, "total_label": str, "output_format": str,
    "differencing_check": bool,
}
assert set(_TYPES) == {f.name for f in dataclasses.fields(DisclosureRules)}


def _expected_type(name: str) -> type:
    return _TYPES[name]


def _has_type(value: Any, expected: type) -> bool:
    # bool is a subclass of int in Python; a TOML `true` is never a number here.
    if isinstance(value, bool):
        return expected is bool
    if expected is float:
        return isinstance(value, (int, float))
    return isinstance(value, expected)


def _type_words(expected: type) -> str:
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}[expected]


def _value_problems(rules: DisclosureRules) -> list[str]:
    problems: list[str] = []
    for name, expected in _TYPES.items():
        value = getattr(rules, name)
        if name == "rounding_base" and value is None:
            continue
        if not _has_type(value, expected):
            problems.append(f"{name!r} must be {_type_words(expected)}, got {value!r}")
    if problems:
        return problems

    def check(ok: bool, message: str) -> None:
        if not ok:
            problems.append(message)

    check(rules.min_units >= 1, f"'min_units' must be at least 1, got {rules.min_units}")
    check(rules.dominance_n >= 1, f"'dominance_n' must be at least 1, got {rules.dominance_n}")
    for name in ("dominance_k", "p_percent", "protection_level", "near_full_share"):
        value = getattr(rules, name)
        check(0 < value <= 1, f"'{name}' is a fraction in (0, 1] (e.g. 0.90 for 90%), got {value}")
    check(rules.rounding_base in (None, 5, 10), f"'rounding_base' must be 5, 10 or 0 (none), got {rules.rounding_base}")
    check(rules.min_residual_df >= 1, f"'min_residual_df' must be at least 1, got {rules.min_residual_df}")
    check(rules.milp_max_cells >= 0, f"'milp_max_cells' must be 0 or more, got {rules.milp_max_cells}")
    check(rules.milp_time_limit_seconds > 0, f"'milp_time_limit_seconds' must be positive, got {rules.milp_time_limit_seconds}")
    check(rules.suppression_cost in SUPPRESSION_COSTS,
          f"'suppression_cost' must be one of {', '.join(SUPPRESSION_COSTS)}, got {rules.suppression_cost!r}")
    check(rules.output_format in OUTPUT_FORMATS,
          f"'output_format' must be one of {', '.join(OUTPUT_FORMATS)}, got {rules.output_format!r}")
    symbol = rules.suppressed_symbol
    check(bool(symbol.strip()) and not any(c.isdigit() for c in symbol) and not any(c in symbol for c in ",;\"\n\r"),
          f"'suppressed_symbol' must be a visible non-numeric symbol without separators, got {symbol!r}")
    check(0 <= rules.magnitude_decimals <= 6, f"'magnitude_decimals' must be 0..6, got {rules.magnitude_decimals}")
    check(0 <= rules.share_decimals <= 6, f"'share_decimals' must be 0..6, got {rules.share_decimals}")
    check(bool(rules.total_label.strip()), "'total_label' must not be empty")
    return problems
