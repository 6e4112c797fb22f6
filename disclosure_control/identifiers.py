"""Recognising identifiers and forbidden statistics in names and values.

Used twice on purpose: by the safe writer before anything is written, and by the
export checker on the files as they are in the export folder.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np
import pandas as pd

# Column names that hold identifiers of persons, households, addresses or births.
# Matched against the name lower-cased with separators removed, so "RINPERSOONS",
# "rin_persoon", "HuishoudNr" and "Date of birth" are all caught.
_IDENTIFIER_NAME_PARTS = (
    "rinpersoon", "rinobjectnummer", "objectnummer", "huishoudnr", "huishoudnummer",
    "burgerservicenummer", "sofinummer", "anummer", "geboortedatum", "gebdatum", "gebdat",
    "dateofbirth", "birthdate", "geboortejaarmaand", "geboortedag", "persoonsnummer",
    "clientnummer", "klantnummer", "dossiernummer", "zaaknummer", "parketnummer",
    "postcodehuisnummer", "huisnummer", "adresseerbaarobject", "vbonummer",
)
_IDENTIFIER_NAME_EXACT = ("bsn", "dob", "rin", "id", "pseudoniem", "pseudonym", "adres", "address")
# Tokens of a name split on separators/case: "household_id", "person id", "hh_key".
_IDENTIFIER_NAME_TOKENS = ("bsn", "id", "rin", "dob", "key", "pseudoniem", "pseudonym")

# Statistics that are one unit's value: never exported.  "p0" and "p100" are
# the minimum and maximum written as percentiles ("p0.5" is not: a dot or a
# digit after the number keeps it from matching).
_MIN_MAX_WORDS = ("min", "max", "minimum", "maximum", "minima", "maxima", "laagste", "hoogste", "kleinste",
                  "grootste")
_FORBIDDEN_STATISTIC = re.compile(
    r"(?:^|[^a-z])(minimaal|maximaal|" + "|".join(_MIN_MAX_WORDS) + r")(?:$|[^a-z])"
)
_MIN_MAX_PERCENTILE = re.compile(r"(?:^|[^a-z0-9.])(p(?:0+|100)(?:\.0+)?)(?=$|[^a-z0-9.])")
# In running text (notes, manifest texts) "maximaal"/"minimaal" are adverbs
# ("maximaal 5 domeinen per combinatie" states a limit, not a unit's value) and
# two fixed phrases use the words for "at most" / "more or less"; all other
# listed words are caught there as in names.
_FORBIDDEN_IN_TEXT = re.compile(r"(?:^|[^a-z0-9])(" + "|".join(_MIN_MAX_WORDS) + r")(?:$|[^a-z0-9])")
_TEXT_IDIOMS = re.compile(r"(?:^|[^a-z])(?:ten hoogste|min of meer)(?:$|[^a-z])")
# Percentiles and medians, refused unless the rules allow percentiles:
# "p50_kosten", "p99", "p2.5", "percentiel", "median", "kwartiel", ...
_PERCENTILE = re.compile(
    r"(?:^|[^a-z0-9.])(p[0-9]{1,3}(?:\.[0-9]+)?|percentiel(?:en)?|percentiles?|mediaan|medianen|medians?|"
    r"kwartiel(?:en)?|quartiles?|deciel(?:en)?|deciles?|kwantiel(?:en)?|quantiles?)(?=$|[^a-z0-9])"
)
_FORBIDDEN_MODEL_OUTPUT = re.compile(
    r"(?:^|[^a-z])(resid|residu|residual|residuals|residuen|predicted|prediction|predictions|"
    r"fitted|fit|yhat|voorspelling|voorspeld)(?:$|[^a-z])"
)


def _grouped_nine_digits(separator: str) -> str:
    """Nine digits grouped exactly 3-3-3 by one kind of separator ("123.456.782").

    A neighbouring group with the same separator makes it part of a longer
    number ("1.123.456.782" is over a billion, "123.456.782,50" an amount with
    decimals): only a number that is exactly three groups of three counts.
    """
    group = "[0-9]{3}"
    return (rf"(?<![0-9.,])(?<![0-9]{separator}){group}{separator}{group}{separator}{group}"
            rf"(?![0-9])(?![.,][0-9])(?!{separator}[0-9])")


# Nine digits written plainly, or grouped 3-3-3 with dots, spaces (also the
# no-break spaces of formatted numbers) or hyphens.  A plain run must not touch
# a decimal part: "123456782.00" is an amount, not a nine-digit number.
_NINE_DIGITS = re.compile("(" + "|".join([
    r"(?<![0-9.,])[0-9]{9}(?![0-9]|[.,][0-9])",
    _grouped_nine_digits(r"\."),
    _grouped_nine_digits("[ \u00a0\u202f]"),
    _grouped_nine_digits("-"),
]) + ")")


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _tokens(name: str) -> list[str]:
    # Split camelCase and separators: "HouseholdId" -> ["household", "id"].
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    return [t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t]


def identifier_name_reason(name: object) -> str | None:
    """Why a column name looks like an identifier, or None."""
    squashed = _squash(str(name))
    for part in _IDENTIFIER_NAME_PARTS:
        if part in squashed:
            return f"column name contains identifier word {part!r}"
    if squashed in _IDENTIFIER_NAME_EXACT:
        return f"column name {name!r} is an identifier name"
    tokens = _tokens(str(name))
    for token in tokens:
        if token in _IDENTIFIER_NAME_TOKENS:
            return f"column name has identifier token {token!r}"
    return None


def forbidden_statistic_reason(name: object) -> str | None:
    """Why a column or statistic name (or a label) denotes a minimum/maximum or
    model residuals/predictions."""
    text = str(name).lower().replace("_", " ")
    match = _FORBIDDEN_STATISTIC.search(text) or _MIN_MAX_PERCENTILE.search(text)
    if match:
        return f"{match.group(1)!r} is a single unit's value (minimum/maximum), never exported"
    match = _FORBIDDEN_MODEL_OUTPUT.search(text)
    if match:
        return f"{match.group(1)!r} is unit-level model output (residuals/predictions), never exported"
    return None


def forbidden_statistic_in_text(text: object, exempt: Sequence[str] = ()) -> str | None:
    """Why a line of running text (a notes file, a manifest text) names a
    minimum/maximum, or None.

    ``exempt``: setting names that merely contain such a word ("min_units",
    "milp_max_cells"); they are removed before the search, so "min_units = 10"
    passes while "max_kosten" and "de hoogste lift" do not.  "maximaal" and
    "minimaal" and the phrases "ten hoogste" (at most) and "min of meer" (more
    or less) are ordinary Dutch in a sentence and pass here (in column names
    and labels they are caught by :func:`forbidden_statistic_reason`).
    """
    lowered = str(text).lower()
    for name in sorted(exempt, key=len, reverse=True):
        lowered = lowered.replace(name.lower(), " ")
    lowered = _TEXT_IDIOMS.sub(" ", lowered.replace("_", " "))
    match = _FORBIDDEN_IN_TEXT.search(lowered) or _MIN_MAX_PERCENTILE.search(lowered)
    if match:
        return f"{match.group(1)!r} names a single unit's value (minimum/maximum), never exported"
    return None


def percentile_reason(name: object) -> str | None:
    """Why a column name or label denotes a percentile or median, or None
    (such output is allowed only with ``allow_percentiles = true``)."""
    match = _PERCENTILE.search(str(name).lower().replace("_", " "))
    if match:
        return f"{match.group(1)!r} is a percentile/median, not allowed by the rules (allow_percentiles = false)"
    return None


def bsn_like_tokens(texts: pd.Series) -> pd.DataFrame:
    """Nine-digit numbers in the texts that pass the BSN eleven-test.

    Returns a frame with the index of the text and the token as written.  The
    nine digits may be written plainly ("123456782") or grouped exactly 3-3-3
    with dots, spaces or hyphens ("123.456.782", "123 456 782",
    "123-456-782").  A number written with decimals ("123456782.00",
    "123.456.782,00") is an amount, and a group of a longer number
    ("1.123.456.782") is not a nine-digit number; Dutch thousands separators of
    other lengths ("1.155", "24.461.335,29") never match.
    """
    as_text = texts.astype("string").fillna("")
    # Only texts of nine characters or more can hold one (cheap to test first).
    as_text = as_text[(as_text.str.len() >= 9).to_numpy(dtype=bool)]
    found = as_text.str.extractall(_NINE_DIGITS)
    if found.empty:
        return pd.DataFrame({"row": pd.Series(dtype="int64"), "token": pd.Series(dtype="string")})
    tokens = found[0].astype(str)
    digits = tokens.str.replace(r"[^0-9]", "", regex=True)
    # extractall returns characters as str; convert each token's digits at once.
    digit_matrix = np.frombuffer("".join(digits).encode("ascii"), dtype=np.uint8).reshape(-1, 9).astype(np.int64) - 48
    weights = np.array([9, 8, 7, 6, 5, 4, 3, 2, -1], dtype=np.int64)
    valid = ((digit_matrix @ weights) % 11 == 0) & (digit_matrix.sum(axis=1) > 0)
    rows = found.index.get_level_values(0)
    return pd.DataFrame({"row": np.asarray(rows)[valid], "token": tokens.to_numpy()[valid]})


# Columns of a table's evidence beside its labels (see SafeWriter._evidence_cells): no dimension
# may take one of these names.
EVIDENCE_COLUMN = re.compile(r"status(?:_.+)?|(?:true|upl|lpl)_.+|rules_(?:failed|detail)")


def input_problems(data: pd.DataFrame, units, dimensions, values) -> list[str]:
    """Why columns of a table's input cannot be released as asked (empty: nothing)."""
    reasons = []
    missing = [c for c in list(units) + list(dimensions) + list(values) if c not in data.columns]
    if missing:
        return [f"columns not in the data: {missing}"]
    for unit in units:
        if unit in dimensions:
            reasons.append(f"unit column {unit!r} cannot be a dimension (it identifies units)")
    for column in dimensions:
        if EVIDENCE_COLUMN.fullmatch(str(column)):
            # The evidence lists labels beside these columns: a label of that name would be lost
            # there, and the checker could not match the published rows with their evidence.
            reasons.append(f"dimension {column!r} has the name of an evidence column; rename it")
    for column in list(dimensions) + list(values):
        why = identifier_name_reason(column)
        if why:
            reasons.append(f"column {column!r} cannot be released: {why}")
        why = forbidden_statistic_reason(column)
        if why:
            reasons.append(f"column {column!r} cannot be released: {why}")
    for column in values:
        if not pd.api.types.is_numeric_dtype(data[column]):
            reasons.append(f"value column {column!r} is not numeric")
    return reasons
