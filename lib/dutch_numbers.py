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

The English report (``[report] language = "en"``) writes English formats instead (``1,155``;
``EUR 15,048``; ``24.5%``): the report renders inside ``number_style("en")``, and every function
here follows the style of the block it runs in (Dutch outside any block). One switch instead of a
language argument through every module that writes a number (areas, coverage, figures, findings).
"""
from __future__ import annotations

import contextlib
import contextvars
import math
import re
from typing import Iterator

MINUS = "-"
"""The minus sign before a negative number (ASCII, so a reader can copy the number into a program)."""


STYLES = ("nl", "en")
_STYLE: contextvars.ContextVar[str] = contextvars.ContextVar("number_style", default="nl")


@contextlib.contextmanager
def number_style(language: str) -> Iterator[None]:
    """Inside the block every function here writes numbers in ``language``'s format: 'nl' (1.155;
    24,5%) or 'en' (1,155; 24.5%). Blocks nest; the previous style returns when the block ends."""
    if language not in STYLES:
        raise ValueError(f"number style {language!r}: use one of {', '.join(STYLES)}")
    token = _STYLE.set(language)
    try:
        yield
    finally:
        _STYLE.reset(token)


def current_style() -> str:
    """'nl' or 'en': the style of the enclosing :func:`number_style` block ('nl' outside one)."""
    return _STYLE.get()


def number(value: float, decimals: int = 0) -> str:
    """``value`` rounded to ``decimals`` places, '.' between thousands and ',' before decimals
    (English style: ',' between thousands and '.' before decimals)."""
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return str(value)
    written = f"{abs(value):,.{decimals}f}"                       # 1,234,567.89
    if _STYLE.get() == "nl":
        written = written.replace(",", " ").replace(".", ",").replace(" ", ".")
    negative = value < 0 and any(ch not in "0.," for ch in written)  # no "-0" for a value that rounds to zero
    return (MINUS if negative else "") + written


def euro(value: float, decimals: int = 0) -> str:
    """An amount: ``EUR 15.048`` (whole euros unless ``decimals`` says otherwise), ``EUR -3.527``."""
    return f"EUR {number(value, decimals)}"


def percent(value: float, decimals: int = 1, *, scale: float = 100) -> str:
    """A percentage with a decimal comma: ``percent(0.245)`` is ``24,5%``; a value that is already
    a percentage (a ``_pct`` column) with ``scale=1``: ``percent(61.7, scale=1)`` is ``61,7%``."""
    return f"{number(float(value) * scale, decimals)}%"


_PUBLISHED = {".": re.compile(r"^-?\d+(\.\d+)?$"), ",": re.compile(r"^-?\d+(,\d+)?$")}


def cell(text, decimal: str = ".", symbol: str = "x") -> str:
    """A published table cell in Dutch (English in an English block): a number keeps the decimals it was published with
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
    if _STYLE.get() == "en":
        return sign + f"{int(digits):,}" + ("." + fraction if fraction else "")
    grouped = f"{int(digits):,}".replace(",", ".")                 # digits as published, no float
    return sign + grouped + ("," + fraction if fraction else "")
