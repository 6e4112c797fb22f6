"""One household model from either the CBS household register or a municipal BRP extract.

**Households at the reference date (peildatum).** CBS route: the spells of
``GBAHUISHOUDENSBUS`` that cover the peildatum (a household is ``HUISHOUDNR`` with its
start date). Municipal route: every unique location code of the BRP extract, with the
role of each person from ``Gezinsrelatie`` (the method's way; the only person at a location
is its alleenstaande, whatever the code: ``lone_members_live_alone``). Only the three columns the
method asks for are read (``BSN``, ``Locatiecode``, ``Gezinsrelatie``; data minimisation).
The method counts every BSN as one person in one household, so (``brp_rows``):

* rows that repeat a person, location and role (also a BSN written with and without its
  leading zero) are one person: the repeats are counted and set aside;
* a BSN listed at more than one location, or twice with different roles, cannot be placed:
  which household it belongs to the extract does not tell, and the bundle does not guess.
  Every row of such a BSN is set aside (counted, with its reason, in the reconciliation and
  the rejected rows of ``read_sources``); the person stays a resident of the register, in
  no household, and is counted as such in ``population.csv``. Ask the BRP department for a
  corrected extract when they matter (their number is in the log);
* a row without a valid BSN or without a location code is set aside with its reason.

**Composition** per household: persons, children, partners, singles, single parents,
other members; the household type (``TYPHH`` where the register has it, and a coarse
type both routes share); institutional households flagged (and excluded unless
``include_institutional``).

**Residence.** CBS route: each person's address spell (``GBAADRESOBJECTBUS``) joined to
the municipality of the address object (``VSLGWBTAB``). The study area is taken in the
boundaries of the peildatum's year (column ``gem<year>``), for every month of the
period, so a municipal merger is no move. A household lives where its reference person
lives. Municipal route: the BRP extract lists the municipality's residents. The wijk and buurt
of a household (``lib.areas``; VSLGWBTAB's ``wc<year>``/``bc<year>`` or the BRP extract's
Wijk/Buurt column, when present) are those of its reference person's address on the peildatum,
in the same boundaries; a household spell's (monthly attribution) those on its first day in the
period.

**Still resident** (CBS route) is decided on the residence date: ``[study] residence_date``,
by default the last day the household register describes (``last_day_described``: the
latest end date of its spells, which is the version date for running spells, and never
after what the newest household and address files can hold). A household is still
resident when at least one of its members lives in the study area then (a death of the
reference person or a child leaving does not make a household leave); otherwise it
*moved* when a member has an address outside the area, or *left the registers* when no
member has an address any more: died or emigrated (the address register does not tell
which; ``residence_status``).

**Attribution** of persons' costs to households (stated in every output):

* ``peildatum``: the household a person belongs to on the peildatum carries that
  person's costs of all study years (``members``);
* ``monthly``: a cost of a month goes to the household the person belonged to on the
  15th of that month, when that household lived in the study area then
  (``membership_spells`` and ``area_spells``, resolved by ``attribute_months``).
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.areas import BUURT_ALIASES, WIJK_ALIASES, area_columns, codes_at, has_codes, text_codes
from lib.errors import UserFacingError
from lib.readers import concat_tables, parse_yyyymmdd, read_cbs_table
from lib.sources import SourceFile

OPEN = np.iinfo(np.int32).max
HOUSEHOLD_TYPES = {
    "1": "eenpersoons", "2": "paar zonder kinderen", "3": "paar zonder kinderen", "4": "paar met kinderen",
    "5": "paar met kinderen", "6": "eenouder", "7": "overig", "8": "institutioneel",
}
HOUSEHOLD_TYPE_ORDER = ("eenpersoons", "paar zonder kinderen", "paar met kinderen", "eenouder", "overig",
                        "institutioneel")
# Roles: the municipal Gezinsrelatie codes, and CBS positions (PLHH) mapped onto them.
ROLE_BY_PLHH = {"1": "K", "2": "A", "3": "P", "4": "P", "5": "P", "6": "P", "7": "O", "8": "V", "9": "V", "10": "I"}
ROLES = ("K", "P", "A", "O", "V", "I")


@dataclass
class HouseholdModel:
    households: pd.DataFrame
    """household, huishoudnr (CBS) or locatiecode (BRP), typhh, household_type, n_persons,
    n_children, n_partners, n_singles, n_single_parents, n_other, institutional,
    municipality, in_area, still_resident, included."""
    members: pd.DataFrame
    """person, household, role: who belongs to which household at the peildatum."""
    membership_spells: pd.DataFrame | None = None
    """person, household_spell, start, end (CBS route, for monthly attribution)."""
    household_spells: pd.DataFrame | None = None
    """household_spell, huishoudnr, start, end, typhh, household_type, composition, institutional."""
    area_spells: pd.DataFrame | None = None
    """person, start, end, in_area: where each person lived (CBS route)."""
    moves: pd.DataFrame | None = None
    """year, persons_in, persons_out, households_in, households_out."""
    notes: list[str] | None = None
    not_placed: np.ndarray | None = None
    """Person ids of the register left out of every household because the BRP extract places them
    in more than one (municipal route)."""
    residence_date: int | None = None
    """Day on which ``still_resident`` is decided (CBS route; the municipal route knows the peildatum only)."""


# --- the BRP extract (municipal route) ----------------------------------------------------------

BRP_COLUMNS = {"BSN": ("BSN", "BURGERSERVICENUMMER"), "LOCATIECODE": ("LOCATIECODE",),
               "GEZINSRELATIE": ("GEZINSRELATIE",)}
BRP_REASON = {
    "bsn": "BSN missing or not a number of at most 9 digits",
    "location": "no Locatiecode: the person cannot be placed in a household",
    "duplicate": "the same BSN, Locatiecode and Gezinsrelatie as an earlier row (counted once)",
    "locations": "BSN at more than one Locatiecode: in no household (the method places a person in one)",
    "roles": "BSN twice at one Locatiecode with different Gezinsrelatie: in no household (role unknown)",
}


def read_brp_extract(path) -> pd.DataFrame:
    """The BRP extract's rows: ``line`` (1 = header), ``BSN``, ``LOCATIECODE``, ``GEZINSRELATIE``
    as stripped text, and ``WIJK`` and ``BUURT`` when the extract has such a column (``Wijk`` or
    ``Wijkcode``, ``Buurt`` or ``Buurtcode``). Only these columns are read (other columns may be
    present or not); a missing required one is named with the file."""
    import io

    from lib.appendix2 import decode, read_text_table
    text, _ = decode(path)
    if not text.strip():
        raise UserFacingError(f"{path}: the BRP extract is empty (not even a header row)")
    first = text.split("\n", 1)[0]
    sep = max((";", ",", "\t"), key=first.count)
    header = [str(c).strip() for c in pd.read_csv(io.StringIO(first), sep=sep, dtype=str, nrows=0).columns]
    upper = [" ".join(c.upper().split()) for c in header]
    positions, missing = {}, []
    for name, aliases in BRP_COLUMNS.items():
        found = [i for i, c in enumerate(upper) if c in aliases]
        if found:
            positions[name] = found[0]
        else:
            missing.append(name.capitalize() if name != "BSN" else name)
    if missing:
        raise UserFacingError(f"{path}: the BRP extract lacks the column(s) {', '.join(missing)} (found: "
                              f"{', '.join(header)}). The method needs BSN, Locatiecode and Gezinsrelatie, in the "
                              "header row; other columns are not read")
    # The wijk and buurt of the address, when the extract has them (lib.areas): read, never required.
    for name, aliases in (("WIJK", WIJK_ALIASES), ("BUURT", BUURT_ALIASES)):
        found = [i for i, c in enumerate(upper) if c in aliases]
        if found:
            positions[name] = found[0]
    used = sorted(positions.values())
    frame = read_text_table(path, text, sep, "BRP extract", usecols=used)
    # Columns come in the file's order, after the line number.
    columns = {name: frame.iloc[:, 1 + used.index(i)].str.strip().to_numpy() for name, i in positions.items()}
    return pd.DataFrame({"line": frame["line"].to_numpy()} | columns)


def brp_rows(brp: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(key, reason) of every row of a BRP extract: the BSN as an integer (-1 when it is not a
    number) and why the row places no one ("" for a row that places its person in a household);
    see the module docstring for the rules."""
    bsn = brp["BSN"].astype(str).str.strip()
    digits = bsn.str.fullmatch(r"\d{1,9}").to_numpy(dtype=bool)
    key = np.full(len(bsn), -1, dtype=np.int64)
    key[digits] = bsn.to_numpy(dtype=object)[digits].astype("U9").astype(np.int64)
    location = brp["LOCATIECODE"].astype(str).str.strip()
    role = brp["GEZINSRELATIE"].astype(str).str.strip().str.upper()
    reason = np.full(len(bsn), "", dtype=object)
    reason[~digits] = BRP_REASON["bsn"]
    reason[(reason == "") & (location == "").to_numpy()] = BRP_REASON["location"]
    valid = reason == ""
    rows = pd.DataFrame({"key": key, "location": location.to_numpy(), "role": role.to_numpy()})[valid]
    repeat = rows.duplicated(keep="first").to_numpy()
    reason[np.flatnonzero(valid)[repeat]] = BRP_REASON["duplicate"]
    # A person listed differently more than once: every row of that BSN (repeats too) places no one.
    distinct = rows[~repeat]
    several = distinct["key"].duplicated(keep=False).to_numpy()
    if several.any():
        locations = distinct[several].groupby("key")["location"].nunique()
        count = pd.Series(rows["key"].to_numpy()).map(locations).to_numpy()
        conflict = ~np.isnan(count)
        reason[np.flatnonzero(valid)[conflict]] = np.where(count[conflict] > 1, BRP_REASON["locations"],
                                                           BRP_REASON["roles"])
    return key, reason


def composition(members: pd.DataFrame) -> pd.DataFrame:
    """Counts per household of persons and of each role (members: household, role).

    Indexed by the households that have members, in increasing order."""
    ids = members["household"].to_numpy()
    # The model's own ids are dense integers: counted straight by id, without a sort.
    dense = ids.size > 0 and np.issubdtype(ids.dtype, np.integer) and ids.min() >= 0 and ids.max() < 2 * ids.size
    if dense:
        h, size = ids.astype(np.int64), int(ids.max()) + 1
    else:
        households, h = np.unique(ids, return_inverse=True)
        h, size = h.astype(np.int64), households.size
    role = pd.Categorical(members["role"], categories=list(ROLES)).codes
    cell = h * len(ROLES) + np.where(role >= 0, role, ROLES.index("V"))
    counts = np.bincount(cell, minlength=size * len(ROLES)).astype(np.int32).reshape(-1, len(ROLES))
    if dense:
        households = np.flatnonzero(counts.any(axis=1)).astype(ids.dtype)
        counts = counts[households]
    k, p, a, o, v, i = (counts[:, ROLES.index(r)] for r in ROLES)
    return pd.DataFrame({"n_persons": counts.sum(axis=1), "n_children": k, "n_partners": p, "n_singles": a,
                         "n_single_parents": o, "n_other": v + i, "institutional": i > 0},
                        index=pd.Index(households, name="household"))


def household_type_of(typhh: pd.Series) -> np.ndarray:
    """The coarse household type of each TYPHH code ("overig" for an unknown or missing one)."""
    if isinstance(typhh.dtype, pd.CategoricalDtype):
        # Through the few categories instead of millions of rows.
        types = np.array([HOUSEHOLD_TYPES.get(str(c), "overig") for c in typhh.cat.categories] + ["overig"],
                         dtype=object)
        return types[typhh.cat.codes.to_numpy()]       # code -1 (missing) is the last entry
    return typhh.map(lambda c: HOUSEHOLD_TYPES.get(str(c), "overig")).to_numpy(dtype=object)


def household_type_from_roles(comp: pd.DataFrame) -> pd.Series:
    """The coarse household type from composition (for the BRP route, which has no TYPHH).

    Which positions each type then has for certain (what the notes of ``personen_naar_positie``
    may state on this route): a one-person household one alleenstaande (``lone_members_live_alone``
    codes them so), a couple at least two partners, with children at least one child at home and
    without none, a one-parent household at least one parent in a one-parent family and a child."""
    # As CBS types households: by their core (a couple, a parent with children, one person);
    # other members (a lodger, a grandparent) do not change the type. A parent code without a
    # child at the location is no one-parent family (CBS: a parent living with their child).
    t = np.select(
        [comp["institutional"], (comp["n_partners"] >= 2) & (comp["n_children"] > 0), comp["n_partners"] >= 2,
         (comp["n_single_parents"] > 0) & (comp["n_children"] > 0), comp["n_persons"] == 1],
        ["institutioneel", "paar met kinderen", "paar zonder kinderen", "eenouder", "eenpersoons"],
        "overig")
    return pd.Series(t, index=comp.index)


def lone_members_live_alone(household: np.ndarray, role: np.ndarray) -> np.ndarray:
    """``role`` with the only member of a household coded alleenstaande (A), whatever its code said
    (an institution's resident, I, excepted).

    A person alone at a location lives alone: a Gezinsrelatie code of partner, child, parent or
    other member names a relation with persons who are not at that location (or whom the extract
    could not place), so in the household of the location the person is its alleenstaande, as
    CBS would code a one-person household. Without this a one-person household could hold a
    "thuiswonend kind" or a "partner" and no alleenstaande."""
    household = np.asarray(household)
    role = np.asarray(role, dtype=object)
    if household.size == 0:
        return role.copy()
    _, code, size = np.unique(household, return_inverse=True, return_counts=True)
    lone = (size[code] == 1) & ~np.isin(role, ["A", "I"])
    return np.where(lone, "A", role).astype(object)


class PersonLookup:
    """Person ids of int64 keys, with the hash index over the register built once."""

    def __init__(self, persons: pd.DataFrame):
        self.index = pd.Index(persons["key"].to_numpy(dtype=np.int64))
        self.ids = persons["person"].to_numpy()
        # Built here, once: pandas builds an index's hash table lazily on first use, and two
        # threads look keys up at the same time.
        self.index.get_indexer(self.index[:1])

    def __call__(self, keys: np.ndarray) -> np.ndarray:
        """-1 for a key that is missing or not in the register."""
        keys = np.asarray(keys, dtype=np.int64)
        pos = self.index.get_indexer(keys)
        return np.where((pos >= 0) & (keys >= 0), self.ids[np.maximum(pos, 0)], -1)


def id_positions(keys: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Position in ``keys`` (distinct ids) of each of ``ids``; -1 for an id not among them.

    Persons, households and spells carry dense integer codes, so a table indexed by id
    answers each look-up with one index (tens of millions of rows nationally, no hashing);
    other ids, or codes spread too thin for such a table, go through a hash index."""
    keys, ids = np.asarray(keys), np.asarray(ids)
    if keys.size == 0 or ids.size == 0:
        return np.full(ids.size, -1, dtype=np.int64)
    if keys.dtype.kind in "iu" and ids.dtype.kind in "iu":
        low = min(int(keys.min()), int(ids.min()))
        span = max(int(keys.max()), int(ids.max())) - low + 1
        if span <= 4 * (keys.size + ids.size) + 1_000_000:
            position_of = np.full(span, -1, dtype=np.int64)
            position_of[keys.astype(np.int64) - low] = np.arange(keys.size)
            return position_of[ids.astype(np.int64) - low] if low else position_of[ids]
    return pd.Index(keys).get_indexer(ids)


def _spell_dates(start_text: pd.Series, end_text: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    start, _, start_ok = parse_yyyymmdd(start_text)
    end, end_blank, end_ok = parse_yyyymmdd(end_text)
    end = np.where(end_blank, OPEN, end)
    return start, end, start_ok & (end_ok | end_blank) & (end >= start)


def order_by_person_and_start(person: np.ndarray, start: np.ndarray) -> np.ndarray | None:
    """The stable order that sorts spells by (person, start), or None when they already are.

    Registers come sorted by person as a rule, and the model keeps its spells in that order,
    so the many lookups below skip sorts of tens of millions of spells at national scale."""
    p, s = np.asarray(person), np.asarray(start)
    if p.size < 2:
        return None
    later = p[1:] > p[:-1]
    if (later | ((p[1:] == p[:-1]) & (s[1:] >= s[:-1]))).all():
        return None
    return np.lexsort((s, p))


def sorted_by_person_and_start(spells: pd.DataFrame) -> pd.DataFrame:
    """``spells`` in (person, start) order (stable), with a fresh index; ``spells`` itself when
    it already is (no copy of a national table)."""
    order = order_by_person_and_start(spells["person"].to_numpy(), spells["start"].to_numpy())
    if order is None:
        return spells if spells.index.equals(pd.RangeIndex(len(spells))) else spells.reset_index(drop=True)
    ordered = spells.iloc[order]
    ordered.index = pd.RangeIndex(len(ordered))
    return ordered


def at_date(spells: pd.DataFrame, day: int) -> pd.DataFrame:
    """The spell of each person covering ``day`` (the latest-starting one if several)."""
    covering = spells[(spells["start"].to_numpy() <= day) & (spells["end"].to_numpy() >= day)]
    person = covering["person"].to_numpy()
    order = order_by_person_and_start(person, covering["start"].to_numpy())
    if order is None:
        order = np.arange(person.size)
    last_of_person = np.append(person[order][1:] != person[order][:-1], True)
    return covering.iloc[order[last_of_person]]


class SpellIndex:
    """Spells (columns person, start, end) ready for look-ups by (person, day): sorted once by
    (person, start) for binary searches, however often they are asked.

    The household model asks the same national tables (tens of millions of spells) for every slice
    of the ledger; building the sorted keys per question took longer than the questions.

    Examples
    --------
    >>> spells = pd.DataFrame({"person": [1, 1, 2], "start": [10, 20, 10], "end": [19, 29, 15]})
    >>> spell_on(np.array([1, 1, 2, 2]), np.array([12, 25, 15, 16]), SpellIndex(spells)).tolist()
    [0, 1, 2, -1]
    """

    def __init__(self, spells: pd.DataFrame):
        self.spells = spells
        self.person = spells["person"].to_numpy().astype(np.int64)
        self.start = spells["start"].to_numpy().astype(np.int64)
        self.end = spells["end"].to_numpy().astype(np.int64)
        self.order = order_by_person_and_start(self.person, self.start)
        # Days are counted from the day before the first start, so a day before every spell
        # (clipped to 0) finds no spell of its person.
        self._base = int(self.start.min()) - 1 if self.start.size else 0
        offset = self.start - self._base
        if offset.size and int(offset.max()) >= 2**32 - 1:
            raise ValueError("spells over more than 2**32 days: not day numbers")
        self._keys = (self.person << 32) | offset if self.order is None else (
            (self.person[self.order] << 32) | offset[self.order])

    def search(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Position in the sorted spells of the last spell starting by each (person, day), -1 when
        none at all (the spell found may be another person's: the caller checks)."""
        offset = np.clip(day - self._base, 0, 2**32 - 1)
        return np.searchsorted(self._keys, (person << 32) | offset, side="right") - 1


def spell_index(spells: pd.DataFrame | SpellIndex) -> SpellIndex:
    """``spells`` ready for look-ups (itself when it already is)."""
    return spells if isinstance(spells, SpellIndex) else SpellIndex(spells)


def spell_on(person: np.ndarray, day: np.ndarray, spells: pd.DataFrame | SpellIndex) -> np.ndarray:
    """Position in ``spells`` (columns person, start, end; or their ``SpellIndex``) of the spell
    covering each (person, day): the latest-starting one if several, -1 when none.

    A binary search on the spells sorted by (person, start) instead of a join of every query
    with every spell of its person: tens of millions of queries at national scale."""
    person = np.asarray(person, dtype=np.int64)
    day = np.asarray(day, dtype=np.int64)
    out = np.full(person.size, -1, dtype=np.int64)
    index = spell_index(spells)
    sp, st, en = index.person, index.start, index.end
    if sp.size == 0 or person.size == 0:
        return out
    pos = index.search(person, day)
    candidate = np.maximum(pos, 0) if index.order is None else index.order[np.maximum(pos, 0)]
    started = (pos >= 0) & (sp[candidate] == person)
    covers = started & (en[candidate] >= day)
    out[covers] = candidate[covers]
    # The person's latest spell starting by the day ended before it: an earlier, longer spell
    # may still cover the day (overlapping spells). Rare; those queries are joined.
    again = np.flatnonzero(started & ~covers)
    if again.size:
        query = pd.DataFrame({"person": person[again], "day": day[again], "query": again})
        of_query = np.flatnonzero(np.isin(sp, np.unique(person[again])))
        table = pd.DataFrame({"person": sp[of_query], "start": st[of_query], "end": en[of_query], "spell": of_query})
        joined = query.merge(table, on="person")
        joined = joined[(joined["start"] <= joined["day"]) & (joined["end"] >= joined["day"])]
        joined = joined.sort_values(["query", "start", "spell"]).drop_duplicates("query", keep="last")
        out[joined["query"].to_numpy()] = joined["spell"].to_numpy()
    return out


def joint_codes(a: pd.Series, b: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of two id columns (int64 or categorical) on one shared scale."""
    if isinstance(a.dtype, pd.CategoricalDtype) and isinstance(b.dtype, pd.CategoricalDtype):
        # Codes over the union of the categories, without materialising millions of strings.
        categories = a.cat.categories.union(b.cat.categories)

        def recoded(s):   # a missing value (code -1) gets a code of its own, len(categories)
            return np.append(categories.get_indexer(s.cat.categories), len(categories))[s.cat.codes.to_numpy()]
        return recoded(a).astype(np.int64), recoded(b).astype(np.int64)

    def values(s):
        return s.astype(object).to_numpy() if isinstance(s.dtype, pd.CategoricalDtype) else s.to_numpy()
    va, vb = values(a), values(b)
    if va.dtype.kind in "iu" and vb.dtype.kind in "iu" and va.size and vb.size:
        # Whole numbers (object numbers, -1 where missing) are their own codes, shifted to start
        # at 0: no hash table over millions of addresses.
        low, high = min(int(va.min()), int(vb.min())), max(int(va.max()), int(vb.max()))
        if high - low < 2**40:
            return va.astype(np.int64) - low, vb.astype(np.int64) - low
    if va.dtype != vb.dtype:
        va, vb = va.astype(str), vb.astype(str)
    codes = pd.factorize(np.concatenate([va, vb]))[0]
    return codes[:len(va)].astype(np.int64), codes[len(va):].astype(np.int64)


def last_day_described(spells_end: np.ndarray, files: list[SourceFile], peildatum: int) -> int:
    """The default residence date: the last day the household register describes.

    Running spells of ``GBAHUISHOUDENSBUS`` end at the version's end date, so the latest end
    date of its spells is the day up to which the register is known (a blank end, ``OPEN``, says
    nothing about a date). It is capped at the last day the newest household and address files
    can describe (``lib.sources.covered_until``: a wrong far-future end is no later knowledge),
    and is never before the peildatum."""
    from lib.dates import day_number
    from lib.sources import COVERAGE_REGISTERS, covered_until
    ends = np.asarray(spells_end, dtype=np.int64)
    ends = ends[ends < OPEN]
    last = int(ends.max()) if ends.size else int(peildatum)
    for dataset in COVERAGE_REGISTERS:
        covered = covered_until(files, dataset)
        if covered is not None:
            last = min(last, int(day_number(covered[0])))
    return max(last, int(peildatum))


def residence_status(household: np.ndarray, person: np.ndarray, day: int,
                     area_spells: pd.DataFrame | SpellIndex) -> pd.DataFrame:
    """Where the members (``household``, ``person``: one row per member) of each household live on
    ``day``, indexed by household (sorted): ``still_resident`` (a member lives in the study area),
    ``moved`` (none does; a member has an address outside it) and ``left_registers`` (no member has
    an address: died or emigrated, which the address register does not tell apart). Exactly one of
    the three is true per household."""
    person = np.asarray(person)
    index = spell_index(area_spells)
    spell = spell_on(person, np.full(person.size, day), index)
    has_address = spell >= 0
    inside = has_address.copy()
    if has_address.any():
        inside[has_address] = index.spells["in_area"].to_numpy(dtype=bool)[spell[has_address]]
    ids, code = np.unique(np.asarray(household), return_inverse=True)
    any_inside = np.bincount(code, weights=inside, minlength=ids.size) > 0
    any_address = np.bincount(code, weights=has_address, minlength=ids.size) > 0
    return pd.DataFrame({"still_resident": any_inside, "moved": ~any_inside & any_address,
                         "left_registers": ~any_address}, index=ids)


HOUSEHOLD_REGISTERS = ("GBAHUISHOUDENSBUS", "GBAADRESOBJECTBUS", "VSLGWBTAB")
"""The registers the household model reads (besides the persons of GBAPERSOONTAB)."""


def register_columns(dataset: str, year: int) -> tuple[list[str], tuple[str, ...]]:
    """(columns, optional columns) the household model reads of a register; ``year``: the year of the
    municipality boundaries (the peildatum's), whose wijk and buurt codes are read when present."""
    if dataset == "GBAHUISHOUDENSBUS":
        return ["RINPERSOONS", "RINPERSOON", "DATUMAANVANGHH", "DATUMEINDEHH", "HUISHOUDNR", "TYPHH", "PLHH",
                "REFPERSOONHH"], ()
    if dataset == "GBAADRESOBJECTBUS":
        return ["RINPERSOONS", "RINPERSOON", "GBADATUMAANVANGADRESHOUDING", "GBADATUMEINDEADRESHOUDING",
                "SOORTOBJECTNUMMER", "RINOBJECTNUMMER"], ()
    # The wijk and buurt codes are read when the file has them (lib.areas): optional columns.
    wijk, buurt = area_columns(year)
    return ["SOORTOBJECTNUMMER", "RINOBJECTNUMMER", f"GEM{year}", wijk, buurt], (wijk, buurt)


def read_register(files: list[SourceFile], dataset: str, year: int) -> pd.DataFrame:
    """The columns of ``register_columns`` of every file of a register, read and concatenated."""
    columns, optional = register_columns(dataset, year)
    return concat_tables([read_cbs_table(f, columns, optional=optional) for f in files if f.dataset == dataset],
                         columns)


def cbs_household_model(files: list[SourceFile], persons: pd.DataFrame, peildatum: int, period: tuple[int, int],
                        area: list[str], include_institutional: bool, residence_date: int | None,
                        monthly: bool = True,
                        table_ready: Callable[[str, pd.DataFrame], None] | None = None,
                        part_done: Callable[[str], None] | None = None,
                        registers: Callable[[str], pd.DataFrame] | None = None) -> HouseholdModel:
    """The household model of the CBS registers; ``monthly`` adds what monthly attribution needs.

    ``table_ready(name, frame)``, when given, is called with each table of the model as soon as
    it is final (``households``, ``members`` and, when ``monthly``, ``area_spells``,
    ``membership_spells``, ``household_spells``), so a caller can write it while the rest is
    computed. The frames are not changed afterwards. ``residence_date`` None: the last day the
    household register describes (``last_day_described``). ``part_done(label)``, when given, is called when
    a long part is finished ("registers read", "households at the peildatum", "monthly spells"), for the
    progress lines of the step (nationally the step takes over a minute). ``registers(dataset)`` gives
    the table of a register of ``HOUSEHOLD_REGISTERS`` as ``read_register`` reads it (the pipeline's
    step takes those the reading step wrote to the work folder); default: read from ``files``."""
    def ready(name: str, frame: pd.DataFrame) -> None:
        if table_ready is not None:
            table_ready(name, frame)

    def done(label: str) -> None:
        if part_done is not None:
            part_done(label)

    notes: list[str] = []
    year = int(pd.Timestamp(np.datetime64(int(peildatum), "D")).year)
    person_of = PersonLookup(persons)
    if registers is None:
        def registers(dataset: str) -> pd.DataFrame:
            return read_register(files, dataset, year)
    # The household register and the address registers are read and turned into spells side
    # by side: Arrow, numpy and pandas' hash tables release the GIL, so both cores work.
    with ThreadPoolExecutor(max_workers=2) as pool:
        household_part = pool.submit(_household_spells, registers, person_of)
        area_part = pool.submit(_area_spells_of_registers, registers, person_of, area, year)
        spells, note = household_part.result()
        area_spells = area_part.result()
    notes.append(note)
    del person_of
    area_index = SpellIndex(area_spells)      # asked up to four times below
    done("registers read")
    if monthly:
        ready("area_spells", area_spells)

    # --- households at the peildatum ----------------------------------------------------------
    at_peil = at_date(spells, peildatum)
    # A person in two households on the peildatum (overlapping spells in the register) is counted
    # in one: the household whose spell started last (at_date). Said, with how many.
    covering = (spells["start"].to_numpy() <= peildatum) & (spells["end"].to_numpy() >= peildatum)
    if int(covering.sum()) > len(at_peil):
        twice = int((np.bincount(spells["person"].to_numpy()[covering]) > 1).sum())
        notes.append(f"GBAHUISHOUDENSBUS: {twice:,} person(s) in more than one household on the peildatum "
                     "(overlapping spells); each is counted once, in the household whose spell started last")
    members = at_peil[["person", "household_spell", "role", "reference"]].rename(columns={"household_spell": "household"})
    comp = composition(members)
    first = at_peil.drop_duplicates("household_spell").set_index("household_spell")
    households = comp.assign(huishoudnr=first["huishoudnr"].reindex(comp.index),
                             typhh=first["typhh"].reindex(comp.index))
    households["household_type"] = household_type_of(households["typhh"])
    households["institutional"] = households["institutional"] | (households["typhh"] == "8")
    where = _household_residence(members, area_spells, peildatum)
    households["in_area"] = where["in_area"].reindex(households.index).fillna(False).astype(bool)
    households["municipality"] = where["municipality"].reindex(households.index).fillna("")
    for column in ("wijk", "buurt"):
        if column in where:
            households[column] = codes_at(where[column].array, id_positions(where.index.to_numpy(),
                                                                             households.index.to_numpy()))
    wc, bc = area_columns(year)
    if "wijk" in households:
        inside = households["in_area"].to_numpy(dtype=bool)
        notes.append(f"VSLGWBTAB: wijk code ({wc.lower()}) for {int((households['wijk'][inside] != '').sum()):,} and "
                     f"buurt code ({bc.lower()}) for {int((households['buurt'][inside] != '').sum()):,} of "
                     f"{int(inside.sum()):,} households of the study area (their reference person's address on the "
                     "peildatum)")
    else:
        notes.append(f"VSLGWBTAB has no wijk codes ({wc.lower()}): no tables by wijk or buurt")
    if residence_date is None:
        residence_date = last_day_described(spells["end"].to_numpy(), files, peildatum)
        notes.append(f"residence date {_iso(residence_date)}: the last day the household register describes (its "
                     "latest spell end; [study] residence_date not set)")
    # Still resident: a member of the peildatum household lives in the area on the residence date.
    status = residence_status(members["household"].to_numpy(), members["person"].to_numpy(), residence_date,
                              area_index).reindex(households.index, fill_value=False)
    households["still_resident"] = status["still_resident"].to_numpy(dtype=bool)
    households["moved_out"] = status["moved"].to_numpy(dtype=bool)
    households["left_registers"] = status["left_registers"].to_numpy(dtype=bool)
    households["included"] = households["in_area"] & (include_institutional | ~households["institutional"])
    households.index.name = "household"
    households.reset_index(inplace=True)   # in place: no copy of a national table

    members = members[["person", "household", "role"]]
    ready("households", households)
    ready("members", members)
    moves = _moves(area_spells, spells, period)
    done("households at the peildatum")
    if not monthly:
        return HouseholdModel(households=households, members=members, area_spells=area_spells, moves=moves,
                              notes=notes, residence_date=int(residence_date))

    # --- monthly attribution: spells of membership, and household spells' composition ----------
    in_period = spells[(spells["end"] >= period[0]) & (spells["start"] <= period[1])]
    membership = in_period[["person", "household_spell", "start", "end"]].reset_index(drop=True)
    ready("membership_spells", membership)
    spell_comp = composition(in_period.rename(columns={"household_spell": "household"})[["household", "role"]])
    spell_first = in_period.drop_duplicates("household_spell").set_index("household_spell")
    household_spells = spell_comp.assign(
        huishoudnr=spell_first["huishoudnr"].reindex(spell_comp.index),
        start=spell_first["start"].reindex(spell_comp.index), end=spell_first["end"].reindex(spell_comp.index),
        typhh=spell_first["typhh"].reindex(spell_comp.index))
    household_spells["household_type"] = household_type_of(household_spells["typhh"])
    household_spells["institutional"] = household_spells["institutional"] | (household_spells["typhh"] == "8")
    household_spells.index.name = "household_spell"
    household_spells.reset_index(inplace=True)
    # A household spell belongs to the study population when its reference person lived in
    # the study area on its first day within the period; it is still resident when one of its
    # members lives in the area on the residence date (as a household at the peildatum: a spell
    # ended by a birth or a child leaving home has not left the area).
    ref = _reference_members(in_period.rename(columns={"household_spell": "household"}))
    ref = ref.set_index("household").reindex(household_spells["household_spell"])
    first_day = np.maximum(household_spells["start"].to_numpy(), period[0])
    household_spells["in_area"] = _lives_in_area(ref["person"].to_numpy(), first_day, area_index)
    # Where it lived then: municipality, wijk and buurt (lib.areas), as codes.
    address = spell_on(ref["person"].to_numpy(), first_day, area_index)
    for column in ("municipality", "wijk", "buurt"):
        if column in area_spells:
            household_spells[column] = codes_at(area_spells[column].array, address)
    household_spells["included"] = household_spells["in_area"] & (include_institutional
                                                                  | ~household_spells["institutional"])
    status = residence_status(membership["household_spell"].to_numpy(), membership["person"].to_numpy(),
                              residence_date, area_index).reindex(household_spells["household_spell"].to_numpy(),
                                                                   fill_value=False)
    household_spells["still_resident"] = status["still_resident"].to_numpy(dtype=bool)
    household_spells["moved_out"] = status["moved"].to_numpy(dtype=bool)
    household_spells["left_registers"] = status["left_registers"].to_numpy(dtype=bool)
    ready("household_spells", household_spells)
    done("monthly spells")
    return HouseholdModel(households=households, members=members,
                          membership_spells=membership, household_spells=household_spells,
                          area_spells=area_spells, moves=moves, notes=notes, residence_date=int(residence_date))


def _iso(day: int) -> str:
    return str(np.datetime64(int(day), "D"))


def _household_spells(registers: Callable[[str], pd.DataFrame], person_of: "PersonLookup") -> tuple[pd.DataFrame, str]:
    """Spells of GBAHUISHOUDENSBUS (person, huishoudnr, start, end, typhh, role, reference,
    household_spell) in (person, start) order, and a note on the rows used."""
    hh = registers("GBAHUISHOUDENSBUS")
    rows_read = len(hh)
    hh = hh[(hh["RINPERSOONS"] == "R").to_numpy()]
    person = person_of(hh["RINPERSOON"].to_numpy())
    start, end, ok = _spell_dates(hh["DATUMAANVANGHH"], hh["DATUMEINDEHH"])
    ok &= person >= 0
    note = (f"GBAHUISHOUDENSBUS: {rows_read:,} rows, {int(ok.sum()):,} usable spells of linked persons "
            f"({rows_read - int(ok.sum()):,} not: RINPERSOONS not R, person not in GBAPERSOONTAB, or bad dates)")
    # Roles as a categorical through the few PLHH codes (tens of millions of spells nationally).
    plhh = hh["PLHH"].astype("category")
    role_of_code = pd.Index(ROLES).get_indexer([ROLE_BY_PLHH.get(c, "V") for c in plhh.cat.categories])
    plhh_codes = plhh.cat.codes.to_numpy()
    role = np.where(plhh_codes >= 0, role_of_code[np.maximum(plhh_codes, 0)], ROLES.index("V"))
    spells = pd.DataFrame({"person": person[ok].astype(np.int32), "huishoudnr": hh["HUISHOUDNR"].to_numpy()[ok],
                           "start": start[ok].astype(np.int32), "end": end[ok].astype(np.int32),
                           "typhh": (hh["TYPHH"].array[ok] if isinstance(hh["TYPHH"].dtype, pd.CategoricalDtype)
                                     else hh["TYPHH"].to_numpy()[ok]),
                           "role": pd.Categorical.from_codes(role[ok], categories=list(ROLES)),
                           "reference": (hh["REFPERSOONHH"] == "1").to_numpy()[ok]})
    # The raw table goes as soon as it is turned into spells: gigabytes at national scale.
    del hh, plhh, plhh_codes, role, person, start, end, ok
    spells = sorted_by_person_and_start(spells)
    # A household is its number together with its start date (numbers can be reused).
    number = pd.factorize(spells["huishoudnr"].to_numpy())[0].astype(np.int64)
    spell_key = (number << 32) | spells["start"].to_numpy().astype(np.int64)
    spells["household_spell"] = pd.factorize(spell_key, sort=True)[0].astype(np.int32)
    return spells, note


def _area_spells_of_registers(registers: Callable[[str], pd.DataFrame], person_of: "PersonLookup", area: list[str],
                              year: int) -> pd.DataFrame:
    return _area_spells(registers("GBAADRESOBJECTBUS"), registers("VSLGWBTAB"), person_of, area, year)


def _area_spells(addr: pd.DataFrame, gem: pd.DataFrame, person_of: "PersonLookup", area: list[str],
                 year: int) -> pd.DataFrame:
    """Address spells per person with the municipality (in the boundaries of ``year``)."""
    addr = addr[(addr["RINPERSOONS"] == "R").to_numpy()]
    person = person_of(addr["RINPERSOON"].to_numpy())
    start, end, ok = _spell_dates(addr["GBADATUMAANVANGADRESHOUDING"], addr["GBADATUMEINDEADRESHOUDING"])
    ok &= person >= 0
    # Join addresses to objects on (SOORTOBJECTNUMMER, RINOBJECTNUMMER) as integer codes.
    gem_obj, addr_obj = joint_codes(gem["RINOBJECTNUMMER"], addr["RINOBJECTNUMMER"])
    gem_kind, addr_kind = joint_codes(gem["SOORTOBJECTNUMMER"], addr["SOORTOBJECTNUMMER"])
    scale = max(gem_obj.max(initial=0), addr_obj.max(initial=0)) + 1
    # Municipalities as codes of a categorical ("" for an address without one): tens of
    # millions of address spells nationally, a few hundred municipalities.
    names = gem[f"GEM{year}"]
    names = (names.array if isinstance(names.dtype, pd.CategoricalDtype)
             else pd.Categorical(names.astype(object).fillna("").to_numpy()))
    categories = list(names.categories) + ([""] if "" not in names.categories else [])
    # The object row of each address (the first row of a repeated object), -1 when not found.
    object_row = pd.Series(np.arange(len(gem), dtype=np.int64), index=gem_kind * scale + gem_obj)
    object_row = object_row[~object_row.index.duplicated()]
    found = object_row.reindex((addr_kind * scale + addr_obj)[ok]).to_numpy()
    row = np.where(np.isnan(found), -1, found).astype(np.int64)
    muni_code = np.where(names.codes >= 0, names.codes, categories.index("")).astype(np.int32)
    muni = pd.Categorical.from_codes(np.where(row >= 0, muni_code[np.maximum(row, 0)], categories.index(""))
                                     .astype(np.int32), categories=categories)
    in_area = (np.ones(len(muni), bool) if area == ["NL"]
               else np.isin(np.asarray(categories, dtype=object), area)[muni.codes])
    frame = {"person": person[ok].astype(np.int32), "start": start[ok].astype(np.int32),
             "end": end[ok].astype(np.int32), "municipality": muni, "in_area": in_area}
    # Wijk and buurt of the address (lib.areas), as codes of categoricals; only when the file has them.
    wijk, buurt = area_columns(year)
    if wijk in gem and has_codes(gem[wijk]):
        frame["wijk"] = codes_at(text_codes(gem[wijk]), row)
        frame["buurt"] = codes_at(text_codes(gem[buurt]), row)
    return sorted_by_person_and_start(pd.DataFrame(frame))


def _reference_members(members: pd.DataFrame) -> pd.DataFrame:
    """One member per household: the reference person, or else the member with the lowest id."""
    household = members["household"].to_numpy()
    order = np.lexsort((members["person"].to_numpy(), ~members["reference"].to_numpy(dtype=bool), household))
    first = np.append(True, household[order][1:] != household[order][:-1])
    return members.iloc[order[first]]


def _household_residence(members: pd.DataFrame, area_spells: pd.DataFrame, day: int) -> pd.DataFrame:
    """Municipality and in-area flag of each household on ``day``: where its reference person lives."""
    ref = _reference_members(members)
    where = at_date(area_spells, day)
    # Person ids are dense (0..n-1), so arrays indexed by person replace joins.
    size = int(max(where["person"].to_numpy().max(initial=-1), ref["person"].to_numpy().max(initial=-1))) + 1
    in_area = np.zeros(size, dtype=bool)
    in_area[where["person"].to_numpy()] = where["in_area"].to_numpy(dtype=bool)
    municipality = np.full(size, "", dtype=object)
    municipality[where["person"].to_numpy()] = where["municipality"].to_numpy()
    person = ref["person"].to_numpy()
    out = pd.DataFrame({"in_area": in_area[person], "municipality": municipality[person]},
                       index=ref["household"].to_numpy())
    for column in ("wijk", "buurt"):
        if column in area_spells:
            # Codes indexed by person (blank: no address that day); categoricals of a few thousand codes.
            categories = list(area_spells[column].cat.categories)      # "" among them (lib.areas.codes_at)
            code = np.full(size, categories.index(""), dtype=np.int32)
            code[where["person"].to_numpy()] = where[column].cat.codes.to_numpy()
            out[column] = pd.Categorical.from_codes(code[person], categories=categories)
    return out


def _lives_in_area(person: np.ndarray, day: np.ndarray, area_spells: pd.DataFrame | SpellIndex) -> np.ndarray:
    """Whether each person lived in the study area on the given day (one day per person row)."""
    index = spell_index(area_spells)
    spell = spell_on(person, day, index)
    return np.where(spell >= 0, index.spells["in_area"].to_numpy(dtype=bool)[np.maximum(spell, 0)], False)


def _moves(area_spells: pd.DataFrame, spells: pd.DataFrame, period: tuple[int, int]) -> pd.DataFrame:
    """Moves into and out of the study area per year: persons, and their households on the move day."""
    a = sorted_by_person_and_start(area_spells)
    person, start = a["person"].to_numpy(), a["start"].to_numpy()
    inside = a["in_area"].to_numpy(dtype=bool)
    # A move across the area's border: a person's address spell in or out of the area after
    # one on the other side.
    crossed = np.zeros(len(a), dtype=bool)
    crossed[1:] = (person[1:] == person[:-1]) & (inside[1:] != inside[:-1])
    moved = np.flatnonzero(crossed & (start >= period[0]) & (start <= period[1]))
    year = pd.to_datetime(start[moved], unit="D").year
    # The household of the mover on the day of the move.
    household = spell_on(person[moved], start[moved], spells)
    frame = pd.DataFrame({"year": year, "direction": np.where(inside[moved], "in", "out"), "person": person[moved],
                          "household": np.where(household >= 0,
                                                spells["household_spell"].to_numpy()[np.maximum(household, 0)],
                                                np.nan)})
    persons = frame.groupby(["year", "direction"])["person"].nunique().unstack(fill_value=0)
    hhs = frame.dropna(subset=["household"]).groupby(["year", "direction"])["household"].nunique().unstack(fill_value=0)
    out = pd.DataFrame(index=pd.Index(range(pd.Timestamp(np.datetime64(period[0], "D")).year,
                                            pd.Timestamp(np.datetime64(period[1], "D")).year + 1), name="year"))
    for d in ("in", "out"):
        out[f"persons_{d}"] = persons.get(d, pd.Series(dtype=int)).reindex(out.index, fill_value=0).astype(int)
        out[f"households_{d}"] = hhs.get(d, pd.Series(dtype=int)).reindex(out.index, fill_value=0).astype(int)
    return out.reset_index()


def brp_household_model(brp: pd.DataFrame, persons: pd.DataFrame, municipality: str,
                        include_institutional: bool) -> HouseholdModel:
    """Households of a BRP extract (columns BSN, LOCATIECODE, GEZINSRELATIE): every location code
    is a household, every BSN one person in one household (see ``brp_rows`` for the rows that
    place no one)."""
    key, reason = brp_rows(brp)
    person = PersonLookup(persons)(key)
    ok = (reason == "") & (person >= 0)
    role = brp["GEZINSRELATIE"].astype(str).str.strip().str.upper()
    known_role = role.isin(ROLES).to_numpy()
    household, codes = pd.factorize(brp["LOCATIECODE"].astype(str).str.strip().to_numpy(dtype=object)[ok], sort=True)
    coded = np.where(known_role, role.to_numpy(dtype=object), "V")[ok]
    lived = lone_members_live_alone(household, coded)
    members = pd.DataFrame({"person": person[ok].astype(np.int32), "household": household.astype(np.int32),
                            "role": lived})
    comp = composition(members)
    households = comp.assign(locatiecode=np.asarray(codes)[comp.index], typhh="",
                             household_type=household_type_from_roles(comp), municipality=municipality,
                             in_area=True, still_resident=True, moved_out=False, left_registers=False)
    households["included"] = include_institutional | ~households["institutional"]
    households = households.rename_axis("household").reset_index()
    notes = [f"BRP extract: {len(brp):,} rows, {int(ok.sum()):,} persons in {len(households):,} households "
             "(every location code one household)"]
    for column in ("WIJK", "BUURT"):
        if column in brp:
            # The household's code: that of its location's first row with one (lib.areas).
            code = pd.Series(brp[column].astype(str).str.strip().to_numpy(dtype=object)[ok]).replace("", np.nan)
            first = code.groupby(household).first().reindex(households["household"].to_numpy())
            households[column.lower()] = text_codes(first.fillna("").to_numpy(dtype=object))
            notes.append(f"BRP extract: {column.lower()} codes of {int((first.fillna('') != '').sum()):,} of "
                         f"{len(households):,} households (column {column.capitalize()})")
    if "WIJK" not in brp:
        notes.append("BRP extract: no column Wijk or Wijkcode: no tables by wijk or buurt")
    counts = pd.Series(reason[reason != ""]).value_counts()
    for text in (BRP_REASON[k] for k in ("duplicate", "locations", "roles", "bsn", "location")):
        if text in counts:
            notes.append(f"BRP extract: {int(counts[text]):,} row(s) set aside: {text}")
    conflict = np.isin(reason, [BRP_REASON["locations"], BRP_REASON["roles"]])
    not_placed = np.unique(person[conflict & (person >= 0)]).astype(np.int32)
    if not_placed.size:
        notes.append(f"BRP extract: {not_placed.size:,} person(s) listed in more than one way are in no household "
                     "(the extract does not tell which; the rows are in read_sources' rejected/BRP-extract.csv)")
    alone = int((lived != coded).sum())
    if alone:
        notes.append(f"BRP extract: {alone:,} person(s) alone at their location code with a Gezinsrelatie other than "
                     "A counted as alleenstaande (A): a one-person household consists of its alleenstaande")
    unknown = ok & ~known_role
    if unknown.any():
        found = ", ".join(map(repr, sorted(pd.unique(role.to_numpy(dtype=object)[unknown]))[:10]))
        notes.append(f"BRP extract: {int(unknown.sum()):,} person(s) with a Gezinsrelatie code other than "
                     f"{', '.join(ROLES)} ({found}) counted as other members (V)")
    return HouseholdModel(households=households, members=members, notes=notes, not_placed=not_placed)


def households_on(day: int, household_spells: pd.DataFrame, membership_spells: pd.DataFrame,
                  area_spells: pd.DataFrame, period_end: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Household spells existing on ``day`` with their members then, and what became of them.

    Returns (households, members). ``households`` has the household spells' composition
    plus ``in_area`` and ``municipality`` (where its first member lived on ``day``),
    ``moved_away`` (a member lived outside the area at some time up to ``period_end``) and
    ``dissolved`` (on ``period_end`` the members no longer all share one household: a
    separation, a death, a child leaving; a birth does not dissolve a household).
    """
    on_day = at_date(membership_spells, day)
    person = on_day["person"].to_numpy()
    members = pd.DataFrame({"person": person, "household": on_day["household_spell"].to_numpy()})
    # Members grouped by household once (numbered by first appearance) for every per-household
    # question below: first member, anyone outside the area, everyone together at the end.
    member_code, household_ids = pd.factorize(members["household"].to_numpy())
    by_household = np.argsort(member_code, kind="stable")
    group_start = np.searchsorted(member_code[by_household], np.arange(len(household_ids)))
    code = id_positions(household_ids, household_spells["household_spell"].to_numpy())
    households = household_spells.take(np.flatnonzero(code >= 0))
    households.columns = ["household" if c == "household_spell" else c for c in households.columns]  # no copy
    code = code[code >= 0]
    first_person = person[by_household[group_start]]
    address = spell_on(first_person[code], np.full(len(households), day), area_spells)
    found, address = address >= 0, np.maximum(address, 0)
    households["in_area"] = found & area_spells["in_area"].to_numpy(dtype=bool)[address]
    households["municipality"] = np.where(found, area_spells["municipality"].to_numpy(dtype=object)[address], "")
    later = (area_spells["end"].to_numpy() >= day) & (area_spells["start"].to_numpy() <= period_end)
    outside = np.unique(area_spells["person"].to_numpy()[later & ~area_spells["in_area"].to_numpy(dtype=bool)])
    moved = np.bincount(member_code, weights=np.isin(person, outside), minlength=len(household_ids)) > 0
    # Each member's household spell at the end (-1: none).
    at_end = spell_on(person, np.full(person.size, period_end), membership_spells)
    end_household = np.where(at_end >= 0, membership_spells["household_spell"].to_numpy()[np.maximum(at_end, 0)], -1)
    ends = end_household.astype(np.int64)[by_household]
    low = np.minimum.reduceat(ends, group_start) if ends.size else ends
    high = np.maximum.reduceat(ends, group_start) if ends.size else ends
    together = (low >= 0) & (low == high)
    households["moved_away"] = moved[code]
    households["dissolved"] = ~together[code]
    return households.reset_index(drop=True), members


def attribute_months(person: np.ndarray, month: np.ndarray, membership_spells: pd.DataFrame | SpellIndex,
                     area_spells: pd.DataFrame | SpellIndex) -> np.ndarray:
    """Household spell of each (person, month) on the month's 15th, or -1 when the person then
    belonged to no household or lived outside the study area. Asked slice by slice of a ledger:
    pass the spells as ``SpellIndex`` (built once)."""
    from lib.dates import month_start
    day = month_start(month).astype(np.int64) + 14
    membership = spell_index(membership_spells)
    household = spell_on(person, day, membership)
    out = np.where(household >= 0, membership.spells["household_spell"].to_numpy()[np.maximum(household, 0)], -1)
    in_area = _lives_in_area(person, day, area_spells)
    return np.where(in_area, out, -1)


def costs_moved_by_peildatum_attribution(person: np.ndarray, month: np.ndarray, cost: np.ndarray, group: np.ndarray,
                                         area_spells: pd.DataFrame | SpellIndex) -> np.ndarray:
    """Which ledger rows (``person``, ``month``, ``cost``) attribution at the peildatum moves across the
    study area's border, given each row's ``group``: 0 for a person of an included household at the
    peildatum, 1 for a person in a household outside the area, 2 for a person in no household then
    (died or emigrated), -1 for anybody else.

    A cost is made where the person lived on the 15th of its month (as ``attribute_months`` decides):
    a row of group 0 made outside the area is moved into it; a row of group 1 or 2 made inside the
    area drops out of it. Boolean per row."""
    from lib.dates import month_start
    group = np.asarray(group)
    concerned = np.flatnonzero(group >= 0)
    inside = _lives_in_area(np.asarray(person)[concerned],
                            month_start(np.asarray(month)[concerned]).astype(np.int64) + 14, area_spells)
    moved = np.zeros(group.size, dtype=bool)
    moved[concerned] = np.where(group[concerned] == 0, ~inside, inside)
    return moved
