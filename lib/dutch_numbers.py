"""Dutch number formats for the report: the one place where the report turns a number into text.

A Dutch reader reads ``15,048`` as fifteen (a decimal comma), so every number the report writes
in Dutch text or shows in a rendered table goes through these functions:

- ``number(1155)`` is ``1.155``: a point between thousands, a comma before decimals
  (``number(1234567.891, 2)`` is ``1.234.567,89``), a minus sign before negatives (``-3.527``);
- ``euro(15048.4)`` is ``EUR 15.048``: whole euros in text;
- ``percent(0.245)`` is ``24,5%`` (from a fraction), ``percent(61.7, scale=1)`` is ``61,7%``
  (from a number that is already a percentage);
- ``cell("5570572.84")`` is ``5.570.572,84``: a published cell as published (its decimals, no
  rounding), in Dutch; the suppression symbol and text cells stay as they are.

The exported CSV files are not touched: they stay machine-readable (lib.report only displays them).
"""
from __future__ import annotations

import math
import re

MINUS = "-"
"""The minus sign before a negative number (ASCII, so a reader can copy the number into a program)."""


def number(value: float, decimals: int = 0) -> str:
    """``value`` rounded to ``decimals`` places, '.' between thousands and ',' before decimals."""
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return str(value)
    english = f"{abs(value):,.{decimals}f}"                       # 1,234,567.89
    dutch = english.replace(",", " ").replace(".", ",").replace(" ", ".")
    negative = value < 0 and any(ch not in "0.," for ch in dutch)  # no "-0" for a value that rounds to zero
    return (MINUS if negative else "") + dutch


def euro(value: float, decimals: int = 0) -> str:
    """An amount: ``EUR 15.048`` (whole euros unless ``decimals`` says otherwise), ``EUR -3.527``."""
    return f"EUR {number(value, decimals)}"


def percent(value: float, decimals: int = 1, *, scale: float = 100) -> str:
    """A percentage with a decimal comma: ``percent(0.245)`` is ``24,5%``; a value that is already
    a percentage (a ``_pct`` column) with ``scale=1``: ``percent(61.7, scale=1)`` is ``61,7%``."""
    return f"{number(float(value) * scale, decimals)}%"


_PUBLISHED = {".": re.compile(r"^-?\d+(\.\d+)?$"), ",": re.compile(r"^-?\d+(,\d+)?$")}


def cell(text, decimal: str = ".", symbol: str = "x") -> str:
    """A published table cell in Dutch: a number keeps the decimals it was published with
    (``-3600.0`` is ``-3.600,0``, ``0.8960`` is ``0,8960``); the suppression symbol, empty cells
    and text stay as they are. ``decimal`` is the decimal mark of the export (',' in csv_nl)."""
    text = "" if text is None else str(text)
    stripped = text.strip()
    if stripped == symbol or not _PUBLISHED.get(decimal, _PUBLISHED["."]).match(stripped):
        return text
    whole, _, fraction = stripped.partition(decimal)
    sign, digits = (MINUS, whole[1:]) if whole.startswith("-") else ("", whole)
    if len(digits) > 1 and digits.startswith("0"):               # a code ("007"), not a number
        return text
    grouped = f"{int(digits):,}".replace(",", ".")                 # digits as published, no float
    return sign + grouped + ("," + fraction if fraction else "")
