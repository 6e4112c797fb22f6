"""Recognising identifiers and forbidden statistics in names and values.

Used twice on purpose: by the safe writer before anything is written, and by the
export checker on the files as they are in the export folder.
"""

from __future__ import annotations

import re

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

# Statistics that are one unit's value: never exported.
_FORBIDDEN_STATISTIC = re.compile(
    r"(?:^|[^a-z])(min|max|minimum|maximum|minimaal|maximaal|laagste|hoogste|kleinste|grootste)(?:$|[^a-z])"
)
_FORBIDDEN_MODEL_OUTPUT = re.compile(
    r"(?:^|[^a-z])(resid|residu|residual|residuals|residuen|predicted|prediction|predictions|"
    r"fitted|fit|yhat|voorspelling|voorspeld)(?:$|[^a-z])"
)

_NINE_DIGITS = re.compile(r"(?<![0-9.,])([0-9]{9})(?![0-9]|[.,][0-9])")


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
    """Why a column or statistic name denotes a minimum/maximum or model residuals/predictions."""
    text = str(name).lower().replace("_", " ")
    match = _FORBIDDEN_STATISTIC.search(text)
    if match:
        return f"{match.group(1)!r} is a single unit's value (minimum/maximum), never exported"
    match = _FORBIDDEN_MODEL_OUTPUT.search(text)
    if match:
        return f"{match.group(1)!r} is unit-level model output (residuals/predictions), never exported"
    return None


def bsn_like_tokens(texts: pd.Series) -> pd.DataFrame:
    """Nine-digit numbers in the texts that pass the BSN eleven-test.

    Returns a frame with the index of the text and the token.  A number written
    with decimals ("123456782.00") is an amount, not a nine-digit number.
    """
    as_text = texts.astype("string").fillna("")
    # Only texts of nine characters or more can hold one (cheap to test first).
    as_text = as_text[(as_text.str.len() >= 9).to_numpy(dtype=bool)]
    found = as_text.str.extractall(_NINE_DIGITS)
    if found.empty:
        return pd.DataFrame({"row": pd.Series(dtype="int64"), "token": pd.Series(dtype="string")})
    tokens = found[0].astype(str)
    # extractall returns characters as str; convert each token's digits at once.
    digit_matrix = np.frombuffer("".join(tokens).encode("ascii"), dtype=np.uint8).reshape(-1, 9).astype(np.int64) - 48
    weights = np.array([9, 8, 7, 6, 5, 4, 3, 2, -1], dtype=np.int64)
    valid = ((digit_matrix @ weights) % 11 == 0) & (digit_matrix.sum(axis=1) > 0)
    rows = found.index.get_level_values(0)
    return pd.DataFrame({"row": np.asarray(rows)[valid], "token": tokens.to_numpy()[valid]})
