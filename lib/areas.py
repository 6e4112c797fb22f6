"""Where the households live: wijk (district) and buurt (neighbourhood) of each household.

**Sources.** CBS route: ``VSLGWBTAB`` gives per address object, besides the municipality
(``gem<YYYY>``), the wijk and buurt codes in the boundaries of each year: columns
``wc<YYYY>`` and ``bc<YYYY>``. The column names are confirmed by public Remote Access scripts
that read them (``wc``/``bc`` with the year, next to ``gem``); the form of the codes inside
(CBS's wijk code: municipality code + 2 digits, buurt code: wijk code + 2 digits, with or
without the ``WK``/``BU`` prefix of the published statistics) is assumed, and the bundle takes
them as they come (text, stripped). Both columns are optional: a VSLGWBTAB without them gives
no wijk tables. Municipal route: an optional column ``Wijk``/``Wijkcode`` (and
``Buurt``/``Buurtcode``) in the BRP extract.

**Attribution.** A household lives in the wijk and buurt of its reference person's address on
the peildatum (as its municipality, ``lib.households``), in the boundaries of the peildatum's
year; with monthly attribution a household spell lives where its reference person lived on its
first day in the study period (where it entered the population). On the municipal route the
wijk of the household's location code (its first row with a wijk).

**Classification for the tables** (``area_classification``): a wijk or buurt with fewer than
``[baseline] area_min_households`` households of the population is merged into a rest
category ("overige wijken in gemeente 0344", "overige buurten in wijk 034401"), so that most
cells can be published; households whose address has no code are "onbekend". The tables
themselves are in ``lib.baseline.area_tables``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

AREA_LEVELS = ("geen", "wijk", "buurt")
"""Choices of ``[baseline] area_level``: the finest level of the area tables (gemeente tables are
made whenever the study area holds more than one municipality)."""
UNKNOWN_AREA = "onbekend"
WIJK_ALIASES = ("WIJK", "WIJKCODE")
BUURT_ALIASES = ("BUURT", "BUURTCODE")


def area_columns(year: int) -> tuple[str, str]:
    """The VSLGWBTAB columns of the wijk and buurt codes in the boundaries of ``year``."""
    return f"WC{year}", f"BC{year}"


def text_codes(values) -> pd.Categorical:
    """Codes as a categorical of stripped text ("" for a missing or blank code), built through the
    distinct values (millions of addresses, a few thousand codes)."""
    series = pd.Series(values)
    if not isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype("category")
    categories = pd.Index(series.cat.categories).astype(str).str.strip()
    # Numbers read as numbers lose no leading zero here: the readers keep id-like text as text.
    new, code_of_category = np.unique(np.append(categories.to_numpy(dtype=object), ""), return_inverse=True)
    codes = series.cat.codes.to_numpy()
    blank = int(np.flatnonzero(new == "")[0])
    return pd.Categorical.from_codes(np.where(codes >= 0, code_of_category[np.maximum(codes, 0)], blank)
                                     .astype(np.int32), categories=list(new))


def codes_at(codes: pd.Categorical, rows: np.ndarray) -> pd.Categorical:
    """``codes`` taken at ``rows`` (positions; -1 gives a blank code), keeping the categories."""
    codes = pd.Categorical(codes)
    categories = list(codes.categories)
    if "" not in categories:
        categories.append("")
    blank = categories.index("")
    rows = np.asarray(rows, dtype=np.int64)
    values = codes.codes.astype(np.int32)
    taken = np.where(rows >= 0, values[np.maximum(rows, 0)] if values.size else blank, blank)
    return pd.Categorical.from_codes(np.where(taken >= 0, taken, blank).astype(np.int32), categories=categories)


def has_codes(values) -> bool:
    """Whether any value is a non-blank code."""
    series = pd.Series(values)
    if series.empty:
        return False
    if isinstance(series.dtype, pd.CategoricalDtype):
        used = series.cat.categories[np.unique(series.cat.codes[series.cat.codes >= 0])]
        return any(str(c).strip() for c in used)
    return bool(series.astype(str).str.strip().ne("").any())


def merge_small(code, parent, min_households: int, rest_label: str) -> pd.Categorical:
    """``code`` per household (text or a categorical) with every code of fewer than ``min_households``
    households replaced by ``rest_label.format(parent)``, its parent area (the parent of the code's
    first household; for a blank parent the code without its last two digits, as CBS codes nest); a
    blank code becomes ``UNKNOWN_AREA``. A categorical of the codes that occur, sorted.

    Worked on the codes' categories (a few thousand), not on the millions of households."""
    code, parent = text_codes(code), text_codes(parent)
    values, n_categories = code.codes.astype(np.int64), len(code.categories)
    size = np.bincount(values, minlength=n_categories)
    parent_code = pd.Series(parent.codes).groupby(values).first().reindex(range(n_categories), fill_value=-1)
    parent_names = np.append(np.asarray(parent.categories, dtype=object), "")[parent_code.to_numpy()]
    names = np.asarray(code.categories, dtype=object)
    labels = names.copy()
    for k in np.flatnonzero((size > 0) & (size < min_households)):      # the small codes, not households
        labels[k] = rest_label.format(parent_names[k] or names[k][:-2])
    labels[names == ""] = UNKNOWN_AREA
    used = np.flatnonzero(size > 0)
    final, position = np.unique(labels[used], return_inverse=True)
    code_of_category = np.full(n_categories, -1, dtype=np.int64)
    code_of_category[used] = position
    return pd.Categorical.from_codes(code_of_category[values].astype(np.int32), categories=list(final))


def area_classification(households: pd.DataFrame, level: str, min_households: int) -> tuple[pd.Categorical, list[str]]:
    """The area of each household (``households``: municipality, wijk, buurt) at ``level``
    ("gemeente", "wijk" or "buurt") as published (a categorical, categories sorted), and the notes
    that state the rule."""
    if level == "gemeente":
        municipality = merge_small(households["municipality"], households["municipality"], 1, "{}")
        return municipality, ["Gemeente: de gemeente van het adres van de referentiepersoon op de peildatum, in de "
                              "indeling van dat jaar."]
    rule = (f"Wijken en buurten met minder dan {min_households} huishoudens van de populatie zijn samengenomen "
            "('overige wijken in gemeente ...', 'overige buurten in wijk ...'); 'onbekend': het adres heeft geen "
            "wijk- of buurtcode.")
    where = ("Wijk en buurt: die van het adres van de referentiepersoon op de peildatum (CBS-route: VSLGWBTAB in de "
             "indeling van het jaar van de peildatum; gemeentelijke route: de wijk- of buurtkolom van de "
             "BRP-extractie).")
    if level == "wijk":
        return merge_small(households["wijk"], households["municipality"], min_households,
                           "overige wijken in gemeente {}"), [where, rule]
    return merge_small(households["buurt"], households["wijk"], min_households,
                       "overige buurten in wijk {}"), [where, rule]
