"""The export-wide audit: every figure about one population as a sum over shared atoms.

Tables protected one by one (or linked only where two tables publish the very
same cell) leave an intruder every relation *between* tables: a share times
its count is a count of another table, a mean times its count a sum, a rule
and its reverse share their joint count, the top 1% of all households and the
top 5% of the households with costs differ by a handful of households.  All
of these are linear relations between sets of units, so this module puts
every figure of every table about one population (a *universe* of units:
the households of the study area, persons, a monitoring cohort) on one
footing:

* an **item** is what a figure adds up: a unit for counts, a (unit, part of
  its amount) for sums -- the part being the codes of the value dimensions
  (domain, year) of the finest table that splits the amount, so the costs of
  a household in one domain in a profile table are the same items as its
  costs in that domain, year by year, in the domain-by-year table;
* an **atom** is the set of items that enter exactly the same figures; every
  figure (published, suppressed or hidden) is the sum of its atoms, and the
  atoms' values are the unknowns of the intruder;
* a published figure fixes its sum of atoms to the interval its published
  text allows (rounding of counts, decimals of sums, means times their
  count, shares times their denominator); ranked groups add that a higher
  band's mean is at least the next band's; every atom is non-negative
  (unless its items have negative amounts);
* for every suppressed figure with a protection requirement (a primary cell,
  or a hidden segment that is one), two linear programs give the interval an
  intruder can prove from **all** published figures of the population; it
  must reach the protection interval.

Where a figure fails, the published figures that bind the intruder's bound
(non-zero duals of the LP) are candidates for suppression; the cheapest is
suppressed (everywhere it is published, with the layers it implies) and the
figure is checked again, until it holds.  Suppressing more never narrows an
interval, so figures that held keep holding.

The atoms are built from the units actually present: an intruder who does
not know which combinations of categories occur has a larger feasible set,
so the audit is on the safe side.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import linprog

from .model import TableModel, layer_primary
from .primary import RULE_FULL, RULE_ZERO
from .output import format_number
from .rules import DisclosureRules
from .tables import compact_range_ranks, offsets_in_runs

LOG = logging.getLogger("disclosure_control")

_TOLERANCE = 1e-6          # relative, comparing an LP bound with a requirement
_RETRIES = ({"method": "highs-ds"}, {"method": "highs-ipm"}, {"method": "highs"})
_MAX_REPAIRS = 200         # suppressions added for one figure before it is declared unprotectable
# Above this many atoms in one (population, measure) the LPs take minutes per figure (a national
# run has millions of households): the audit then holds only identities between tables (the same
# quantity published elsewhere), and says so in the evidence and the manifest.
MAX_LP_ATOMS = 20_000
# At most this many pairs of linear programs per (population, measure): a bound that keeps the
# export step within minutes whatever the data (deterministic, unlike a time limit, so the same
# input gives the same export). The smallest figures are audited first; beyond the bound the
# rest get the identities only, and the evidence and manifest say how many.
MAX_LP_PAIRS = 1_500
# And at most this much work per (population, measure), counted as the nonzeros times the rows of
# every program solved (what the simplex method's time grows with): pairs alone do not bound the
# time, since one program over the 17,000 atoms of a run over 100,000 households takes about 2 s
# (2 cores, HiGHS from scipy 1.17) against milliseconds in the demo. That run's whole audit of its
# counts (99 pairs, 88 more checks held by earlier solutions) took 5.5 minutes, about 4e11; the
# bound leaves room for more figures. Deterministic, as the bound on pairs.
MAX_LP_WORK = 1e12
# The solutions of the latest programs kept to check later figures with (see _bounds_from_points).
_MAX_POINTS = 256
# A line in the log this often while one (population, measure) is audited with linear programs, and
# one before it starts from this many atoms on (the demo: at most 5,111 atoms, the whole audit 20 s;
# 100,000 households: 16,950 atoms, 2 s a program).
_PROGRESS_SECONDS = 30.0
_ANNOUNCE_ATOMS = 12_000
_SUPPRESSED = ("primary", "secondary", "hidden")


@dataclass
class FigureAudit:
    """The export-wide audit of one suppressed figure."""

    table: str
    column: str
    position: int
    true_value: float
    required_low: float
    required_high: float
    derived_low: float
    derived_high: float
    protected: bool
    quantity: int
    shared_with: list[str]


@dataclass
class TableAudit:
    """What the export-wide audit found for one table (kept on its model, written to its evidence)."""

    tables: list[str]            # the other tables about the same units
    figures: pd.DataFrame        # every suppressed figure: true value, required and derived interval
    added: list[dict]            # suppressions the audit added, each with the figure it protects
    notes: list[str]             # how each measure was audited, figures left out
    # per measure of the population ("count", "sum:<value>"): "programs" (linear programs for every
    # figure), "bounded" (for the smallest, until their bound; identities for the rest) or
    # "identities" (identities between tables only: a population too large)
    methods: dict[str, str] = field(default_factory=dict)

    @property
    def linear_programs(self) -> bool:
        """Every measure audited with linear programs for every figure."""
        return all(method == "programs" for method in self.methods.values())


@dataclass
class ExportAudit:
    """Outcome of :func:`audit_export` for one batch of tables."""

    figures: list[FigureAudit] = field(default_factory=list)
    # (table, column, position, why) of every suppression the audit added
    added: list[tuple[str, str, int, str]] = field(default_factory=list)
    failures: dict[str, list[str]] = field(default_factory=dict)      # table -> reasons
    warnings: dict[str, list[str]] = field(default_factory=dict)      # table -> notes
    populations: dict[str, list[str]] = field(default_factory=dict)   # universe -> tables
    # (universe, measure) -> (method: see TableAudit.methods, how: in words)
    modes: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    seconds: float = 0.0

    def for_table(self, universe: str, table: str) -> TableAudit:
        rows = [f.__dict__ for f in self.figures if f.table == table]
        return TableAudit(
            tables=sorted(set(self.populations.get(universe, [])) - {table}),
            figures=pd.DataFrame(rows, columns=list(FigureAudit.__dataclass_fields__)),
            added=[{"column": c, "position": p, "protects": why} for t, c, p, why in self.added if t == table],
            notes=self.warnings.get(table, []) + [f"{measure}: {how}" for (u, measure), (_, how)
                                                  in self.modes.items() if u == universe],
            methods={measure: method for (u, measure), (method, _) in self.modes.items() if u == universe})


@dataclass
class _Measure:
    """All figures of one (universe, measure) as sums of atoms."""

    universe: str
    measure: str
    owners: list[tuple[int, int]]        # (model index, layer index) per block of figures
    offsets: np.ndarray                  # first figure of each block
    figure_atoms: sp.csr_matrix | None   # figures x atoms, 0/1 (None: above MAX_LP_ATOMS, not needed)
    atom_lower: np.ndarray
    atom_value: np.ndarray
    quantity: np.ndarray                 # per figure: index of its distinct atom set
    excluded: np.ndarray                 # per figure: not modelled (its sum of atoms differs from its value)
    n_atoms: int
    modelled: np.ndarray                 # per figure: its sum of atoms
    has_items: np.ndarray                # per figure: any unit in it

    @property
    def n_figures(self) -> int:
        return len(self.quantity)

    def locate(self, figure: int) -> tuple[int, int, int]:
        block = int(np.searchsorted(self.offsets, figure, side="right") - 1)
        m, l = self.owners[block]
        return m, l, int(figure - self.offsets[block])


def audit_export(models: list[TableModel], rules: DisclosureRules, repair: bool = True,
                 frozen: set[int] = frozenset()) -> ExportAudit:
    """Audit (and, with ``repair``, complete) the suppression of ``models`` across tables.

    The models must carry their statuses (``layer_status``) from the per-table
    protection.  Statuses are changed in place where more suppression is
    needed, never in the models whose index is in ``frozen`` (tables already
    written).
    """
    start = time.perf_counter()
    result = ExportAudit()
    for model in models:
        if model.memberships is not None and model.layer_status is not None:
            result.populations.setdefault(model.universe, []).append(model.name)
    measures = _build_measures(models, result)
    # Counts first: suppressing a count suppresses the mean beside it, which only widens the sums.
    measures.sort(key=lambda m: (m.universe, m.measure != "count", m.measure))
    for measure in measures:
        _audit_measure(measure, models, rules, result, repair, frozen)
    result.seconds = time.perf_counter() - start
    return result


# ----------------------------------------------------------------- building

def _build_measures(models: list[TableModel], result: ExportAudit) -> list[_Measure]:
    blocks: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for m, model in enumerate(models):
        if model.memberships is None or model.layer_status is None:
            continue
        for l, membership in enumerate(model.memberships):
            if membership is None:
                continue
            measure = "count" if membership.amount is None else f"sum:{membership.value_name}"
            blocks[(model.universe, measure)].append((m, l))
    out = []
    for (universe, measure), owners in sorted(blocks.items()):
        unit_codes = _universe_unit_codes([models[m].memberships[l] for m, l in owners])
        if measure == "count":
            built = _count_items(models, owners, unit_codes)
        else:
            built = _sum_items(models, owners, unit_codes, result)
        measure_atoms = None if built is None else _atoms(universe, measure, models, *built)
        if measure_atoms is not None:
            out.append(measure_atoms)
    return out


def _universe_unit_codes(memberships) -> list[np.ndarray]:
    """Per membership, a code per unit id shared by every table of the universe."""
    ids = [np.asarray(mem.ids) for mem in memberships]
    # Household and person numbers lie in a compact range: a table over the range, no sort of
    # every table's ids together (nationally 30 tables of 8 million ids).
    ranked = compact_range_ranks(ids)
    if ranked is not None:
        return ranked[0]
    if ids and all(a.dtype.kind in "iu" for a in ids):
        joined = np.concatenate([a.astype(np.int64) for a in ids])
        _, inverse = np.unique(joined, return_inverse=True)
    else:
        joined = pd.Index(np.concatenate([a.astype(str).astype(object) for a in ids]))
        inverse, _ = pd.factorize(joined)
    inverse = np.asarray(inverse).reshape(-1)
    bounds = np.cumsum([0] + [len(a) for a in ids])
    return [inverse[bounds[i]:bounds[i + 1]].astype(np.int64) for i in range(len(ids))]


# The (figure, item) pairs of a measure are never held all at once (nationally several hundred
# million): a measure's pairs are a function that yields them layer by layer, called once to hash
# the items into atoms and once more, for a population small enough for linear programs, to build
# the figure-atom matrix.

@dataclass(frozen=True)
class _WholeUnits:
    """Pairs of a layer that takes every part of each of its units (an amount not split by a value
    dimension: costs by household type): handed over per unit, not per part, and hashed per unit
    (``_atoms``), since the parts of a unit enter such a layer's figures alike. Nationally most
    sum layers are of this kind, with several parts per household."""

    unit: np.ndarray


# Hash the layers that take whole units per unit (False: per part, as the other layers; the tests
# compare the two).
_HASH_WHOLE_UNITS = True


def _count_items(models, owners, unit_codes):
    """Counts add up units: the items are the units."""
    def pairs():
        for (m, l), codes in zip(owners, unit_codes):
            mem = models[m].memberships[l]
            yield (m, l), np.asarray(mem.position, dtype=np.int64), codes[np.asarray(mem.unit, dtype=np.int64)]
    n_items = int(max([c.max(initial=-1) for c in unit_codes], default=-1)) + 1
    return pairs, np.ones(n_items), np.zeros(n_items)


def _sum_items(models, owners, unit_codes, result: ExportAudit):
    """Sums add up parts of the units' amounts: the items are (unit, part), the parts those of the
    table that splits the amount finest (its value dimensions); a coarser table's figure takes
    every part of its units that lies under its codes."""
    dims_of = [tuple(sorted(models[m].memberships[l].components)) for m, l in owners]
    every_dimension = sorted(set().union(*map(set, dims_of)))
    finest = every_dimension
    base_blocks = [i for i, d in enumerate(dims_of) if list(d) == finest]
    if not base_blocks:
        # No table splits the amount by every value dimension at once (costs by domain and year,
        # and one domain's costs by provider): the split that the most tables' layers fit in (theirs
        # or a coarser one) is the base. Not the first table's split: one odd table would take every
        # other out of the audit. A layer split by a dimension the base lacks is linked by its totals
        # over that dimension only (the pairs below), and named.
        # (Between splits that as many layers fit in: the one whose tables hold more of the amount.)
        held = defaultdict(float)
        for (m, l), d in zip(owners, dims_of):
            held[d] = max(held[d], float(np.abs(np.asarray(models[m].memberships[l].amount, dtype=float)).sum()))
        candidates = sorted(set(dims_of), key=lambda d: (-sum(set(e) <= set(d) for e in dims_of), -round(held[d], 2),
                                                         -len(d), d))
        finest = list(candidates[0])
        base_blocks = [i for i, d in enumerate(dims_of) if list(d) == finest]
        for i, (m, l) in enumerate(owners):
            if not set(dims_of[i]) <= set(finest):
                result.warnings.setdefault(models[m].name, []).append(
                    f"{models[m].layers[l].column}: no table splits '{models[m].memberships[l].value_name}' by all "
                    f"of {every_dimension}; audited with the tables that split it by {finest} where they can be")
    # The base parts: (unit, codes of the finest split) with their amounts, from the base tables'
    # positions that name a code in every value dimension.
    # A position whose code is a group of finer codes (a tuple) is a base part only where no base
    # table publishes those finer codes (then the group is a code of its own, _group_code).
    plain = {d: set() for d in finest}
    for i in base_blocks:
        m, l = owners[i]
        for d in finest:
            plain[d] |= {str(c) for c in models[m].memberships[l].components[d]
                         if c is not None and not isinstance(c, (tuple, float))}
    part_unit, part_codes, part_amount = [], [], []
    for i in base_blocks:
        m, l = owners[i]
        mem = models[m].memberships[l]
        pos = np.asarray(mem.position, dtype=np.int64)
        leaf = np.ones(len(pos), dtype=bool)
        codes = {}
        for d in finest:
            per_position = pd.Series([_group_code(c, plain[d]) for c in mem.components[d]], dtype=object)
            leaf &= per_position.notna().to_numpy()[pos]
            codes[d] = per_position.to_numpy(dtype=object)[pos]
        part_unit.append(unit_codes[i][np.asarray(mem.unit, dtype=np.int64)][leaf])
        part_codes.append({d: codes[d][leaf] for d in finest})
        part_amount.append(np.asarray(mem.amount, dtype=float)[leaf])
    # Empty cells that must stay in doubt (zero cells) have no parts to audit: parts of amount 0 stand
    # for what their units might have had there (see _zero_cell_phantoms).
    extra_rows, phantom_unit, phantom_codes = _zero_cell_phantoms(models, owners, dims_of, unit_codes, finest, plain,
                                                                  part_codes)
    if len(phantom_unit):
        part_unit.append(phantom_unit)
        part_codes.append(phantom_codes)
        part_amount.append(np.zeros(len(phantom_unit)))
    units = np.concatenate(part_unit)
    amounts = np.concatenate(part_amount)
    code_cols = {d: np.concatenate([c[d] for c in part_codes]) for d in finest}
    del part_unit, part_codes, part_amount
    code_ints = {}
    code_maps = {}
    for d in finest:
        ints, uniques = pd.factorize(pd.Series(code_cols[d], dtype=object).astype(str))
        code_ints[d] = ints.astype(np.int64)
        code_maps[d] = {u: k for k, u in enumerate(uniques)}
    del code_cols
    # One int64 key per (unit, codes) (the codes are few: at most 64 per dimension) instead of a
    # frame of columns: nationally tens of millions of parts.
    key = units.astype(np.int64)
    for d in finest:
        key = key * (len(code_maps[d]) + 1) + code_ints[d]
    first = ~pd.Series(key).duplicated().to_numpy()
    del key
    part_unit_all = units[first]
    part_amount_all = amounts[first]
    part_code_all = {d: code_ints[d][first] for d in finest}
    del units, amounts, code_ints
    order = np.argsort(part_unit_all, kind="stable")
    part_unit_all = part_unit_all[order]
    part_amount_all = part_amount_all[order]
    part_code_all = {d: v[order] for d, v in part_code_all.items()}
    n_units = int(max([c.max(initial=-1) for c in unit_codes]) + 1)
    unit_start = np.searchsorted(part_unit_all, np.arange(n_units + 1))
    # The amount of each unit over all its parts, summed in part order (as a chunk's check sums them).
    unit_amount = np.bincount(part_unit_all, weights=part_amount_all, minlength=n_units)
    # Each part's code as its bit in the masks of _code_masks (a layer takes a part where they share it).
    part_bit = {d: np.left_shift(np.uint64(1), part_code_all[d].astype(np.uint64)) for d in finest}
    # Per layer: was it checked (and found to add up)? A layer that does not is warned about once.
    checked: dict[int, bool] = {}

    def pairs():
        """(layer, positions, items) in chunks of at most _CHUNK_PAIRS pairs.  A layer found not to
        add up after some of its chunks were handed out sets ``pairs.restart``: the caller starts
        over, without it."""
        pairs.restart = False
        for i, (m, l) in enumerate(owners):
            if checked.get(i) is False:
                continue
            mem = models[m].memberships[l]
            model = models[m]
            extra = [d for d in dims_of[i] if d not in finest]
            # A split by a dimension the finest split lacks (costs by provider): its positions that
            # take every code of that dimension (its total over providers) are still sums of the
            # finest parts, and linked; the others are left out (not modelled, so not audited).
            whole = np.ones(model.n_positions, dtype=bool)
            for d in extra:
                whole &= np.array([c is None or (isinstance(c, float) and np.isnan(c)) for c in mem.components[d]],
                                  dtype=bool)
            if extra and not whole.any():
                result.warnings.setdefault(model.name, []).append(
                    f"{model.layers[l].column}: split by {list(dims_of[i])}, not part of the finest split {finest}; "
                    "left out of the export-wide audit")
                checked[i] = False
                continue
            if extra and i not in checked:
                result.warnings.setdefault(model.name, []).append(
                    f"{model.layers[l].column}: split by {extra}, which no table of the finest split {finest} has; "
                    "only its totals over them are in the export-wide audit")
            masks = {d: _code_masks(mem.components[d], code_maps[d]) for d in dims_of[i] if d in finest}
            unit_all = unit_codes[i][np.asarray(mem.unit, dtype=np.int64)]
            position_all = np.asarray(mem.position, dtype=np.int64)
            own_amount = np.asarray(mem.amount, dtype=float)
            if extra:
                rows = whole[position_all]
                unit_all, position_all, own_amount = unit_all[rows], position_all[rows], own_amount[rows]
            if i in extra_rows:
                # The zero cells' possible units, with nothing of their own (amount 0).
                extra_position, extra_unit = extra_rows[i]
                position_all = np.concatenate([position_all, extra_position])
                unit_all = np.concatenate([unit_all, extra_unit])
                own_amount = np.concatenate([own_amount, np.zeros(len(extra_unit))])
            if not masks and i not in extra_rows and _HASH_WHOLE_UNITS:
                # Every part of its units: checked and handed over per unit (no restart needed).
                if i not in checked and len(own_amount) and _adds_up_not(unit_amount[unit_all], own_amount):
                    _warn_does_not_add_up(result, model, l, mem)
                    checked[i] = False
                    continue
                yield (m, l), position_all, _WholeUnits(unit_all)
                checked[i] = True
                continue
            per_row = unit_start[unit_all + 1] - unit_start[unit_all]
            bounds = _chunk_bounds(per_row, _CHUNK_PAIRS)
            for start, end in zip(bounds[:-1], bounds[1:]):
                pos = position_all[start:end]
                unit = unit_all[start:end]
                per_pair = per_row[start:end]
                pair = np.repeat(np.arange(len(pos)), per_pair)
                part = np.repeat(unit_start[unit], per_pair) + offsets_in_runs(per_pair)
                keep = np.ones(len(part), dtype=bool)
                pair_position = pos[pair] if masks else None
                for d, wanted in masks.items():
                    keep &= (wanted[pair_position] & part_bit[d][part]) != 0
                del pair_position
                pair, part = pair[keep], part[keep]
                del keep
                if i not in checked:
                    # The parts must add up to the table's own contributions: otherwise the amounts are
                    # not the same quantity (another period, another definition) and cannot be linked.
                    summed = np.bincount(pair, weights=part_amount_all[part], minlength=len(pos))
                    own = own_amount[start:end]
                    if len(own) and _adds_up_not(summed, own):
                        _warn_does_not_add_up(result, model, l, mem)
                        checked[i] = False
                        pairs.restart = pairs.restart or start > 0
                        break
                yield (m, l), pos[pair], part
            if checked.get(i) is not False:
                checked[i] = True

    lower = np.where(part_amount_all < 0, -np.inf, 0.0)
    return pairs, part_amount_all, lower, unit_start


def _adds_up_not(summed: np.ndarray, own: np.ndarray) -> bool:
    """Do a layer's amounts per unit differ from the sums of their parts (beyond rounding)?"""
    return bool(np.abs(summed - own).max() > 0.005 + 1e-9 * np.abs(own).max())


def _warn_does_not_add_up(result: ExportAudit, model: TableModel, l: int, mem) -> None:
    result.warnings.setdefault(model.name, []).append(
        f"{model.layers[l].column}: its amounts per unit differ from '{mem.value_name}' in the tables that split "
        "it finest; left out of the export-wide audit (give it its own value name or universe)")


# Above this many units in a population the zero cells get no possible parts: such a population has
# more atoms than the linear programs take (MAX_LP_ATOMS) and is audited by identities only, which
# parts of amount 0 cannot change (and nationally they would be tens of millions of items).
_MAX_PHANTOM_UNITS = 250_000
# At most this many code combinations stand for one zero cell (a cell empty over many years of many domains).
_MAX_PHANTOM_CODES = 4_096


def _zero_cell_phantoms(models, owners, dims_of, unit_codes, finest, plain, part_codes):
    """Possible parts for the zero cells of sum layers: the units that could have had an amount there.

    A zero cell (no unit has an amount under its codes) that must be protected has no atoms, so the
    linear programs cannot ask whether the published figures prove it empty: the costs of a domain
    group in one table minus those of its only other member in another leave nothing for an empty
    domain. Such a cell gets parts (unit, ``c``) of amount 0 for every code combination ``c`` it
    covers that no unit has (an empty domain, or a domain in a year without any amount).

    The parts must enter every figure that would hold them, as a real amount there would, or the
    intruder's unknowns would break a definition (a total that is its parts) and the audit would
    judge other cells safer than they are. Figures list their units, and a unit's listing may depend
    on its amounts: so a unit gets the part only where every zero cell covering ``c`` whose table
    row lists the unit would list it too, that is where the unit is in every non-empty figure of
    that row (same codes outside the value dimensions) whose codes cover ``c``. Each zero cell then
    lists the parts' units (``extra_rows``); every other figure takes the parts of its units under its
    codes, as it takes real parts. A table without value dimensions (a zero count of a category of
    units) is about which units exist, not their amounts: no parts.

    Returns per block index the extra (position, unit) rows, and the parts' units and codes."""
    no_rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    nothing = (no_rows, np.zeros(0, dtype=np.int64), {d: np.zeros(0, dtype=object) for d in finest})
    n_units = int(max([c.max(initial=-1) for c in unit_codes]) + 1)
    if n_units > _MAX_PHANTOM_UNITS or not finest:
        return nothing
    universe_codes = {d: sorted({str(c) for p in part_codes for c in p[d]} | plain[d]) for d in finest}
    real = set()
    for p in part_codes:
        if len(p[finest[0]]):
            distinct = pd.DataFrame({d: p[d] for d in finest}).astype(str).drop_duplicates()
            real |= set(map(tuple, distinct.to_numpy()))
    # Per zero cell: its block, position, and per empty combination the units its row admits (E)
    # and the units of its row (R).
    cells = []
    admit: dict[tuple, np.ndarray] = {}
    reject: dict[tuple, np.ndarray] = {}
    for i, (m, l) in enumerate(owners):
        model = models[m]
        mem = model.memberships[l]
        dims = dims_of[i]
        if not dims or not set(dims) <= set(finest):
            continue
        n_in = np.bincount(np.asarray(mem.position, dtype=np.int64), minlength=model.n_positions)
        zero = np.flatnonzero(layer_primary(model.layers[l]) & (n_in == 0) & ~np.asarray(model.hidden, dtype=bool))
        if not len(zero):
            continue
        others = [c for c in model.key_codes.columns if c not in dims]
        row_key = (pd.util.hash_pandas_object(model.key_codes[others].astype(str), index=False).to_numpy()
                   if others else np.zeros(model.n_positions, dtype=np.uint64))
        units_of = unit_codes[i][np.asarray(mem.unit, dtype=np.int64)]
        order = np.argsort(np.asarray(mem.position, dtype=np.int64), kind="stable")
        starts = np.concatenate([[0], np.cumsum(n_in)])
        sorted_units = units_of[order]

        def covered(position: int, d: str) -> set[str]:
            code = mem.components[d][position] if d in mem.components else None
            if code is None or (isinstance(code, float) and np.isnan(code)):
                return set(universe_codes[d])
            return {str(c) for c in code} if isinstance(code, tuple) else {str(code)}

        def units_in(q: int) -> np.ndarray:
            out = np.zeros(n_units, dtype=bool)
            out[sorted_units[starts[q]:starts[q + 1]]] = True
            return out

        for p in zero:     # zero cells (few), not units
            combos = [()]
            for d in finest:
                codes = sorted(covered(p, d)) if d in dims else universe_codes[d]
                combos = [c + (x,) for c in combos for x in codes]
                if len(combos) > _MAX_PHANTOM_CODES:
                    break
            combos = [c for c in combos if c not in real]
            if not combos or len(combos) > _MAX_PHANTOM_CODES:
                continue
            row = [q for q in np.flatnonzero((row_key == row_key[p]) & (n_in > 0))]
            if not row:
                continue
            row_units = np.zeros(n_units, dtype=bool)
            for q in row:
                row_units |= units_in(q)
            cover = {q: [covered(q, d) for d in dims] for q in row}
            per_combo = {}
            for combo in combos:
                code_of = dict(zip(finest, combo))
                covering = [q for q in row if all(code_of[d] in cv for d, cv in zip(dims, cover[q]))]
                if not covering:
                    continue
                eligible = row_units.copy()
                for q in covering:
                    eligible &= units_in(q)
                per_combo[combo] = eligible
                admit[combo] = admit[combo] | eligible if combo in admit else eligible
                outside = row_units & ~eligible
                reject[combo] = reject[combo] | outside if combo in reject else outside
            if per_combo:
                cells.append((i, p, per_combo))
    found_units, found_codes = [], {d: [] for d in finest}
    for combo, eligible in admit.items():
        who = np.flatnonzero(eligible & ~reject[combo])
        admit[combo] = who
        found_units.append(who.astype(np.int64))
        for d, code in zip(finest, combo):
            found_codes[d].append(np.full(len(who), code, dtype=object))
    rows: dict[int, tuple[list, list]] = {}
    for i, p, per_combo in cells:
        listed = np.zeros(n_units, dtype=bool)
        for combo, eligible in per_combo.items():
            who = admit[combo]
            listed[who[eligible[who]]] = True
        who = np.flatnonzero(listed)
        if len(who):
            rows.setdefault(i, ([], []))
            rows[i][0].append(np.full(len(who), p, dtype=np.int64))
            rows[i][1].append(who.astype(np.int64))
    if not found_units or not sum(len(u) for u in found_units):
        return nothing
    extra_rows = {i: (np.concatenate(ps), np.concatenate(us)) for i, (ps, us) in rows.items()}
    return (extra_rows, np.concatenate(found_units), {d: np.concatenate(found_codes[d]) for d in finest})


# Pairs of a sum layer expanded at a time (item arrays of this length, a few hundred MB at most).
_CHUNK_PAIRS = 8_000_000


def _chunk_bounds(per_row: np.ndarray, most: int) -> np.ndarray:
    """Row bounds of consecutive chunks of rows: a chunk ends after the row whose running total of
    ``per_row`` reaches the next multiple of ``most``."""
    if not len(per_row):
        return np.array([0, 0], dtype=np.int64)
    ends = np.cumsum(per_row, dtype=np.int64)
    cuts = np.searchsorted(ends, np.arange(most, int(ends[-1]), most), side="right")
    return np.unique(np.concatenate([[0], cuts, [len(per_row)]])).astype(np.int64)


def _group_code(code, plain: set[str]):
    """A position's code as a base part: a plain code as it is; a group (tuple) of codes of which a
    base table publishes some is no base part (None: its finer parts are); otherwise the group is a
    code of its own ("a+b"). A total stays a total (NaN)."""
    if not isinstance(code, tuple):
        return code
    return None if any(str(c) in plain for c in code) else "+".join(map(str, code))


def _code_masks(codes, code_map: dict) -> np.ndarray:
    """Per position the codes of a value dimension it takes, as a bit mask over the codes
    (all bits for a total; a tuple of codes for a group)."""
    if len(code_map) > 64:
        raise ValueError("a value dimension of the export-wide audit has more than 64 codes")
    every = np.uint64((1 << len(code_map)) - 1) if len(code_map) < 64 else np.uint64(np.iinfo(np.uint64).max)
    out = np.zeros(len(codes), dtype=np.uint64)
    for i, code in enumerate(codes):   # loops over positions (cells), not units
        if code is None or (isinstance(code, float) and np.isnan(code)):
            out[i] = every
            continue
        for c in (code if isinstance(code, tuple) else (code,)):
            if str(c) in code_map:
                out[i] |= np.uint64(1 << code_map[str(c)])
        if isinstance(code, tuple) and "+".join(map(str, code)) in code_map:
            out[i] |= np.uint64(1 << code_map["+".join(map(str, code))])
    return out


def _atoms(universe, measure, models, pairs, item_value, item_lower, unit_start=None) -> _Measure:
    """Group items that enter the same figures into atoms (by two 64-bit hashes of their figure sets),
    and figures with the same items into quantities (by two hashes of their item sets).

    The pairs are hashed layer by layer, never all at once; the figure-atom matrix is built (a
    second pass) only for a population with at most ``MAX_LP_ATOMS`` atoms, the only one audited
    with linear programs.  A memberships lists a unit once per position; were an item listed
    twice in a figure, its figure would not add up to its value and be left out (``excluded``).

    ``unit_start``: for items that are parts of units, grouped by unit, the first item of each unit
    (and one past the last). Layers that take whole units (``_WholeUnits``) are then hashed per unit:
    a unit's hash is spread to its parts at the end, and a figure takes the sums of its units' item
    hashes, amounts and numbers of parts, as it would by adding up their parts one by one."""
    rng = np.random.default_rng(20261204)
    n_items = len(item_value)
    u1 = rng.integers(1, np.iinfo(np.int64).max, size=n_items, dtype=np.int64).astype(np.uint64)
    u2 = rng.integers(1, np.iinfo(np.int64).max, size=n_items, dtype=np.int64).astype(np.uint64)
    if unit_start is not None:
        parts_of_unit = np.diff(unit_start)
        unit_of_item = np.repeat(np.arange(len(parts_of_unit)), parts_of_unit)
        amount_of_unit = np.bincount(unit_of_item, weights=item_value, minlength=len(parts_of_unit))
    while True:
        h1 = np.zeros(n_items, dtype=np.uint64)
        h2 = np.zeros(n_items, dtype=np.uint64)
        used = np.zeros(n_items, dtype=bool)
        if unit_start is not None:
            unit_h1, unit_h2 = np.zeros(len(parts_of_unit), np.uint64), np.zeros(len(parts_of_unit), np.uint64)
            unit_used = np.zeros(len(parts_of_unit), dtype=bool)
            unit_u1, unit_u2 = _sums_per_unit(u1, unit_start), _sums_per_unit(u2, unit_start)
        owners, offsets, q1, q2, modelled, n_in, values = [], [], [], [], [], [], []
        n_figures = 0
        for owner, position, item in pairs():
            m, l = owner
            n_positions = models[m].n_positions
            if not owners or owners[-1] != owner:
                owners.append(owner)
                offsets.append(n_figures)
                n_figures += n_positions
                # Per figure a random weight; an item's hash is the sum over the figures it enters.
                w1 = rng.integers(1, np.iinfo(np.int64).max, size=n_positions, dtype=np.int64).astype(np.uint64)
                w2 = rng.integers(1, np.iinfo(np.int64).max, size=n_positions, dtype=np.int64).astype(np.uint64)
                q1.append(np.zeros(n_positions, dtype=np.uint64))
                q2.append(np.zeros(n_positions, dtype=np.uint64))
                modelled.append(np.zeros(n_positions))
                n_in.append(np.zeros(n_positions, dtype=np.int64))
                values.append(np.asarray(models[m].layers[l].values, dtype=float))
            # A pair is (figure, item), or (figure, unit) standing for every part of the unit: the unit's
            # hashes are spread to its parts below, and a figure takes its units' sums.
            if isinstance(item, _WholeUnits):
                key, hashes, seen, weights, amount = (item.unit, (unit_h1, unit_h2), unit_used, (unit_u1, unit_u2),
                                                      amount_of_unit)
                size = np.bincount(position, weights=parts_of_unit[key], minlength=n_positions).astype(np.int64)
            else:
                key, hashes, seen, weights, amount = item, (h1, h2), used, (u1, u2), item_value
                size = np.bincount(position, minlength=n_positions)
            with np.errstate(over="ignore"):
                np.add.at(hashes[0], key, w1[position])
                np.add.at(hashes[1], key, w2[position])
                np.add.at(q1[-1], position, weights[0][key])
                np.add.at(q2[-1], position, weights[1][key])
            seen[key] = True
            modelled[-1] += np.bincount(position, weights=amount[key], minlength=n_positions)
            n_in[-1] += size
        if unit_start is not None:
            with np.errstate(over="ignore"):
                h1 += unit_h1[unit_of_item]
                h2 += unit_h2[unit_of_item]
            used |= unit_used[unit_of_item]
            del unit_h1, unit_h2, unit_used
        if not getattr(pairs, "restart", False):
            break
        # A layer turned out not to add up after some of its pairs were hashed: again without it.
        rng = np.random.default_rng(20261204)
        u1 = rng.integers(1, np.iinfo(np.int64).max, size=n_items, dtype=np.int64).astype(np.uint64)
        u2 = rng.integers(1, np.iinfo(np.int64).max, size=n_items, dtype=np.int64).astype(np.uint64)
    if not owners:
        return None
    atom_index = _groups_of_hash_pairs(h1[used], h2[used])
    del h1, h2
    n_atoms = int(atom_index.max(initial=-1)) + 1
    atom_of_item = np.full(n_items, -1, dtype=np.int64)
    atom_of_item[used] = atom_index
    atom_value = np.bincount(atom_index, weights=item_value[used], minlength=n_atoms)
    atom_lower = np.zeros(n_atoms)
    np.minimum.at(atom_lower, atom_index, item_lower[used])
    del atom_index
    # Figures with the same items are one quantity (the same number published twice).
    quantity = _groups_of_hash_pairs(np.concatenate(q1), np.concatenate(q2))
    modelled = np.concatenate(modelled)
    n_in = np.concatenate(n_in)
    values = np.concatenate(values)
    matrix = None
    if n_atoms <= MAX_LP_ATOMS:
        rows, columns = [], []
        first_of = dict(zip(owners, offsets))
        for owner, position, item in pairs():
            if isinstance(item, _WholeUnits):
                position, item = _parts_of_units(position, item.unit, unit_start)
            rows.append(first_of[owner] + position)
            columns.append(atom_of_item[item])
        # Figure x atom, 0/1: duplicates summed by the sparse constructor (per row, not one global sort).
        matrix = sp.csr_matrix((np.ones(sum(len(r) for r in rows)), (np.concatenate(rows), np.concatenate(columns))),
                               shape=(n_figures, n_atoms))
        matrix.sum_duplicates()
        matrix.data[:] = 1.0
    # Every figure must be its sum of atoms; one that is not is not what the model says it is.
    excluded = np.abs(modelled - values) > 0.005 + 1e-9 * np.abs(values)
    return _Measure(universe, measure, owners, np.asarray(offsets, dtype=np.int64), matrix, atom_lower, atom_value,
                    quantity.reshape(-1), excluded, n_atoms, modelled, n_in > 0)


def _sums_per_unit(values: np.ndarray, unit_start: np.ndarray) -> np.ndarray:
    """Per unit the sum of ``values`` over its items (``unit_start``: as for ``_atoms``), modulo 2**64
    for hashes."""
    with np.errstate(over="ignore"):
        running = np.concatenate([np.zeros(1, dtype=values.dtype), np.cumsum(values, dtype=values.dtype)])
        return running[unit_start[1:]] - running[unit_start[:-1]]


def _parts_of_units(position: np.ndarray, unit: np.ndarray, unit_start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position, unit) pairs as the (position, item) pairs of every part of each unit."""
    per_unit = unit_start[unit + 1] - unit_start[unit]
    return np.repeat(position, per_unit), np.repeat(unit_start[unit], per_unit) + offsets_in_runs(per_unit)


def _groups_of_hash_pairs(h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
    """Per row the index of its distinct (h1, h2) pair, in the sorted order of the pairs: what
    ``np.unique`` of the two columns with ``axis=0`` gives, without its sort of every row (nationally
    tens of millions of items, half a minute). The pairs are grouped by ``h1`` alone through a hash
    table; only were two pairs to share an ``h1`` (a 64-bit collision) is the sort needed."""
    h1, h2 = np.asarray(h1, dtype=np.uint64), np.asarray(h2, dtype=np.uint64)
    group, distinct = pd.factorize(h1, sort=True)
    first_h2 = np.zeros(len(distinct), dtype=np.uint64)
    first_h2[group] = h2
    if np.array_equal(first_h2[group], h2):
        return np.asarray(group, dtype=np.int64)
    return np.unique(np.column_stack([h1, h2]), axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)


# ----------------------------------------------------------------- auditing

def _published_interval(model: TableModel, l: int, rules: DisclosureRules) -> tuple[np.ndarray, np.ndarray]:
    """What a layer's published text tells of its true values (as counts or sums)."""
    layer = model.layers[l]
    v = np.asarray(layer.values, dtype=float)
    if layer.display == "count":
        base = rules.rounding_base
        if base and base > 1:
            shown = np.round(v / base) * base
            return np.maximum(shown - base / 2, 0.0), shown + base / 2
        return v.copy(), v.copy()
    if layer.display == "sum":
        half = 0.5 * 10.0 ** -rules.magnitude_decimals
        shown = _shown(v, rules.magnitude_decimals)
        return shown - half, shown + half
    if layer.display == "mean":
        n = _position_counts(model)
        half = 0.5 * 10.0 ** -rules.magnitude_decimals
        with np.errstate(divide="ignore", invalid="ignore"):
            shown = _shown(np.where(n > 0, v / n, 0.0), rules.magnitude_decimals)
        return (shown - half) * n, (shown + half) * n
    if layer.display == "share":
        total = np.asarray(layer.share_of, dtype=float)
        half = 0.5 * 10.0 ** -rules.share_decimals
        with np.errstate(divide="ignore", invalid="ignore"):
            shown = _shown(np.where(total > 0, v / total * 100, 0.0), rules.share_decimals)
        return (shown - half) / 100 * total, (shown + half) / 100 * total
    return np.full(len(v), -np.inf), np.full(len(v), np.inf)


def _shown(values: np.ndarray, decimals: int) -> np.ndarray:
    """The number a reader reads back from the published text."""
    return np.array([float(t) for t in format_number(np.nan_to_num(values), decimals)], dtype=float)


def _position_counts(model: TableModel) -> np.ndarray:
    for layer in model.layers:
        if layer.statistic == "count":
            return np.asarray(layer.values, dtype=float)
    n_columns = [c for c in model.evidence.columns if c.startswith("n_")]
    return model.evidence[n_columns[0]].to_numpy(dtype=float)


def _all_of_a_group_only(model: TableModel) -> np.ndarray:
    """Positions unsafe only because they hold all or none of a group: a zero cell, a 100% cell,
    a rule of 100% confidence.  Their protection needs units the data do not have (one outside
    the full cell), which the atoms, built from the units present, cannot hold: a full cell has
    the very atoms of its margin, so the atoms would even call it published wherever the margin
    is.  Their own table's audit protects them (with the categories no unit has).  Rules of near
    100% confidence with units on both sides are audited here like any figure."""
    if "rules_failed" not in model.evidence:
        return np.zeros(model.n_positions, dtype=bool)
    failed = [[rule for rule in text.split(";") if rule]
              for text in model.evidence["rules_failed"].fillna("").astype(str)]
    group = np.array([bool(f) and all(r in (RULE_ZERO, RULE_FULL) or r.startswith(("group disclosure", "joint count"))
                                      for r in f) for f in failed], dtype=bool)
    antecedent = [c for c in model.evidence.columns if c.endswith("_antecedent")]
    consequent = [c for c in model.evidence.columns if c.endswith("_consequent")]
    joint = [c for c in model.evidence.columns if c.endswith("_rule")]
    if antecedent and consequent and joint:
        # A rule (or its reverse, which shares the joint count): only where every unit with one
        # side has the other (100%), or none has both (0%).
        n_ant, n_cons, n_both = (model.evidence[c[0]].to_numpy(dtype=float) for c in (antecedent, consequent, joint))
        return group & ((n_ant == n_both) | (n_cons == n_both) | (n_both == 0))
    return group


def _requirement(model: TableModel, l: int) -> tuple[np.ndarray, np.ndarray]:
    layer = model.layers[l]
    v = np.asarray(layer.values, dtype=float)
    lpl = np.minimum(layer.lower_protection, v - layer.lower_bound)
    return v + layer.upper_protection, v - lpl


def _audit_measure(measure: _Measure, models, rules, result: ExportAudit, repair: bool, frozen) -> None:
    n = measure.n_figures
    status = np.empty(n, dtype=object)
    primary = np.zeros(n, dtype=bool)
    all_or_none = np.zeros(n, dtype=bool)
    lo_pub, hi_pub = np.zeros(n), np.zeros(n)
    need_hi, need_lo = np.zeros(n), np.zeros(n)
    values, cost = np.zeros(n), np.zeros(n)
    in_frozen = np.zeros(n, dtype=bool)

    def refresh_status():
        for (m, l), first in zip(measure.owners, measure.offsets):
            model = models[m]
            status[first:first + model.n_positions] = model.layer_status[l]

    for (m, l), first in zip(measure.owners, measure.offsets):
        model, layer = models[m], models[m].layers[l]
        sl = slice(first, first + model.n_positions)
        primary[sl] = layer_primary(layer) & ~measure.excluded[sl]
        all_or_none[sl] = _all_of_a_group_only(model)
        if measure.measure != "count":
            # An empty cell of an amount has the parts its units might have had (_zero_cell_phantoms):
            # whether the published figures prove it empty is a linear program like any other.
            all_or_none[sl] &= np.asarray(layer.values, dtype=float) != 0
        lo_pub[sl], hi_pub[sl] = _published_interval(model, l, rules)
        need_hi[sl], need_lo[sl] = _requirement(model, l)
        values[sl] = layer.values
        in_frozen[sl] = m in frozen
        cost[sl] = np.asarray(layer.cost, dtype=float) + 1e-3 * (1 + np.abs(layer.values).mean())
    refresh_status()
    # What the published text says must hold for the true atoms; a figure for which it does not is
    # not the sum the model says it is (left out, and named).
    modelled = measure.modelled
    slack = 1e-6 * (1 + np.abs(modelled))
    off = (status == "safe") & ~measure.excluded & ((modelled < lo_pub - slack) | (modelled > hi_pub + slack))
    for f in np.flatnonzero(off):
        m, l, p = measure.locate(int(f))
        result.warnings.setdefault(models[m].name, []).append(
            f"{models[m].layers[l].column} of {_position_text(models[m], p)}: its published text does not hold "
            "the sum of its units (see the evidence); left out of the export-wide audit")
    measure.excluded = measure.excluded | off
    n_atoms = measure.n_atoms
    use_lp = measure.figure_atoms is not None
    rank_rows = _rank_rows(measure, models) if use_lp else None
    # A published share is numerator / denominator, both figures of this measure: two rows
    # num - r_hi * den <= 0 and r_lo * den - num <= 0 (the intruder does not know the denominator
    # when it is suppressed); such a share does not publish its numerator as a quantity.
    ratio_figure, ratio_rows = (_ratio_rows(measure, models, rules) if use_lp else
                                (_share_figures(measure, models), sp.csr_matrix((0, 0))))
    is_share = np.zeros(n, dtype=bool)
    is_share[ratio_figure] = True
    all_rows = sp.vstack([r for r in (rank_rows, ratio_rows) if r is not None and r.shape[0]]).tocsr() \
        if (rank_rows is not None and rank_rows.shape[0]) or ratio_rows.shape[0] else None
    rank_key = _rank_key(all_rows, n_atoms)

    def extra_rows():
        """The rows with right-hand side 0 that hold now: rank order, and the ratio rows of the
        shares still published; tagged -1 (rank) or -2 - figure (a share)."""
        blocks, tags = [], []
        if rank_rows is not None and rank_rows.shape[0]:
            blocks.append(rank_rows)
            tags.append(np.full(rank_rows.shape[0], -1))
        live = (status[ratio_figure] == "safe") & ~measure.excluded[ratio_figure]
        if live.any():
            rows = np.flatnonzero(np.repeat(live, 2))
            blocks.append(ratio_rows[rows])
            tags.append(-2 - np.repeat(ratio_figure, 2)[rows])
        if not blocks:
            return None, np.zeros(0, dtype=np.int64)
        return sp.vstack(blocks).tocsr(), np.concatenate(tags)
    n_q = int(measure.quantity.max(initial=-1)) + 1
    # One row of atoms per quantity.
    first_fig = np.full(n_q, -1, dtype=np.int64)
    first_fig[measure.quantity[::-1]] = np.arange(n)[::-1]
    q_atoms = measure.figure_atoms[first_fig] if use_lp else None

    def published_quantities(n_rows: int = n_q):
        """Per quantity (and ``n_rows - n_q`` derived ones, never published): published?, and the
        interval its published texts allow."""
        published = (status == "safe") & ~measure.excluded & ~is_share
        lo = np.full(n_rows, -np.inf)
        hi = np.full(n_rows, np.inf)
        np.maximum.at(lo, measure.quantity[published], lo_pub[published])
        np.minimum.at(hi, measure.quantity[published], hi_pub[published])
        is_pub = np.zeros(n_rows, dtype=bool)
        is_pub[measure.quantity[published]] = True
        return is_pub, lo, hi

    # An empty figure has no atoms to move: whether it could hold units is a question of the
    # categories no unit has, which its own table's audit answers (the zero-cell rule).
    targets = np.flatnonzero(primary & np.isin(status, _SUPPRESSED) & ~in_frozen & measure.has_items)
    audited: dict[int, tuple[float, float, bool]] = {}
    lp_pairs = [0]
    lp_work = [0.0]
    budget_reached = [0]
    # Solutions of the programs solved so far, in atoms (a column each, the latest _MAX_POINTS): every
    # one satisfies every published figure, and keeps doing so as more is suppressed (fewer constraints).
    points = [np.zeros((n_atoms, 0))]
    by_points = [0]
    started = time.perf_counter()
    last_line = [started]

    def bound_used() -> float:
        """The part of the bound on the programs spent (pairs or their size, whichever is further)."""
        return max(lp_pairs[0] / MAX_LP_PAIRS, lp_work[0] / MAX_LP_WORK)
    # The smallest figures first: a small count or amount is what an intruder is after.
    targets = targets[np.argsort(np.abs(values[targets]), kind="stable")]
    if use_lp and len(targets) and n_atoms >= _ANNOUNCE_ATOMS:
        # The run's estimate of the export step cannot foresee this part (it comes from source rows).
        LOG.info("    export-wide audit of %s, %s: %d suppressed figures, linear programs over %d atoms; at this "
                 "size a program takes seconds, so this part can take minutes (progress every %.0f s)",
                 measure.universe or "these units", measure.measure, len(targets), n_atoms, _PROGRESS_SECONDS)

    def protect(q: int, value: float, low_needed: float, high_needed: float, why: str, rows,
                identity_only: bool = False):
        """Bound quantity ``q`` (a row of ``rows``) by every published figure; with ``repair``,
        suppress binding published quantities until it reaches [low_needed, high_needed].

        Suppressing more never narrows an interval: a bound that reached its side is kept, and only
        the other side is bounded again after a repair."""
        held_low = held_high = None
        for _ in range(_MAX_REPAIRS + 1):
            is_pub, lo, hi = published_quantities(n_q if rows is None else rows.shape[0])
            if identity_only:
                # All or none of a group: see _all_of_a_group_only (left to the table's own audit).
                low, high, ok = -np.inf, np.inf, True
                binding = pd.Series(dtype=float)
            elif is_pub[q]:
                # The same quantity is published in another table: nothing hides it.
                low = high = value
                binding = pd.Series([1.0], index=[q])
                ok = False
            elif use_lp and (from_points := _bounds_from_points(rows, q, points[0], low_needed, high_needed,
                                                                held_low, held_high)) is not None:
                # Points the intruder cannot exclude (solutions of earlier programs) already give q
                # values at both ends of its protection interval: no program needed.
                low, high, ok = *from_points, True
                by_points[0] += 1
                binding = pd.Series(dtype=float)
            elif not use_lp or bound_used() >= 1:
                # Identities only: the quantity is not published elsewhere; the per-table audit holds.
                budget_reached[0] += use_lp
                low, high, ok = -np.inf, np.inf, True
                binding = pd.Series(dtype=float)
            else:
                lp_pairs[0] += 1
                zero_rows, tags = extra_rows()
                low, high, binding_low, binding_high, work, solutions = _interval(
                    rows, q, is_pub, lo, hi, measure, zero_rows, rank_key, tags, held=(held_low, held_high))
                lp_work[0] += work
                if solutions and _MAX_POINTS:
                    points[0] = np.column_stack([points[0], *solutions])[:, -_MAX_POINTS:]
                if time.perf_counter() - last_line[0] >= _PROGRESS_SECONDS:
                    last_line[0] = time.perf_counter()
                    used = bound_used()
                    LOG.info("    export-wide audit of %s, %s: %d of %d figures checked, %d pairs of linear programs "
                             "over %d atoms (%.0f%% of their bound), %s", measure.universe or "these units",
                             measure.measure, len(audited), len(targets), lp_pairs[0], n_atoms, min(100.0, 100 * used),
                             _time_left_text(last_line[0] - started, len(audited), len(targets), used))
                ok_high, ok_low = _reaches_high(high, high_needed), _reaches_low(low, low_needed)
                held_low, held_high = (low if ok_low else None), (high if ok_high else None)
                ok = ok_high and ok_low
                parts = [b for b, failed in ((binding_high, not ok_high), (binding_low, not ok_low)) if failed]
                binding = pd.concat(parts).groupby(level=0).sum() if parts else pd.Series(dtype=float)
            if ok or not repair:
                break
            # A quantity published in a table already written cannot be taken back.
            fixed = set(np.unique(measure.quantity[in_frozen & (status == "safe")]).tolist())
            safe = status == "safe"
            # Candidates: a binding published quantity (all its figures), or a binding share (that figure).
            candidates = [int(c) for c in binding.index if int(c) >= 0 and is_pub[int(c)] and int(c) not in fixed]
            shares = [-2 - int(c) for c in binding.index if int(c) <= -2]
            shares = [f for f in shares if safe[f] and not in_frozen[f]]
            if not candidates and not shares:
                break
            # The one that frees the bound most for its cost goes: cost per unit of dual.
            published_cost = np.bincount(measure.quantity[safe], weights=cost[safe], minlength=n_q)
            options = [(published_cost[c] / max(float(binding[c]), 1e-12), "quantity", c) for c in candidates]
            options += [(cost[f] / max(float(binding[-2 - f]), 1e-12), "share", f) for f in shares]
            _, kind, chosen = min(options, key=lambda o: o[0])
            figures = (np.flatnonzero((measure.quantity == chosen) & safe) if kind == "quantity"
                       else np.array([chosen]))
            for g in figures:
                m, l, p = measure.locate(int(g))
                _suppress(models[m], l, p, result, why)
            refresh_status()
        return low, high, ok

    for f in targets:
        tm, tl, tp = measure.locate(int(f))
        why = f"{models[tm].name}: {models[tm].layers[tl].column} of {_position_text(models[tm], tp)}"
        audited[int(f)] = protect(int(measure.quantity[f]), values[f], need_lo[f], need_hi[f], why, q_atoms,
                                  identity_only=bool(all_or_none[f]))
    if measure.measure == "count" and use_lp:
        _protect_small_differences(measure, models, rules, q_atoms, published_quantities, protect, result)
    method = "identities" if not use_lp else "bounded" if budget_reached[0] else "programs"
    result.modes[(measure.universe, measure.measure)] = (method, (
        f"identities between tables only ({n_atoms} atoms, above {MAX_LP_ATOMS}): a figure published in another "
        "table is suppressed there too; each table keeps its own audit" if not use_lp else
        f"linear programs over {n_atoms} atoms ({lp_pairs[0]} pairs"
        + (f"; {by_points[0]} checks held by the solutions of earlier programs" if by_points[0] else "") + ")" + (
            f"; the bound of {MAX_LP_PAIRS} pairs or of their size ({MAX_LP_WORK:.0e} nonzeros times rows) was "
            f"reached: {budget_reached[0]} later checks held the identities between tables only"
            if budget_reached[0] else "")))
    for f, (low, high, ok) in audited.items():
        m, l, p = measure.locate(f)
        model = models[m]
        q = measure.quantity[f]
        shared = sorted({models[measure.locate(int(g))[0]].name for g in np.flatnonzero(measure.quantity == q)}
                        - {model.name})
        result.figures.append(FigureAudit(
            table=model.name, column=model.layers[l].column, position=p, true_value=float(values[f]),
            required_low=float(need_lo[f]), required_high=float(need_hi[f]), derived_low=float(low),
            derived_high=float(high), protected=bool(ok), quantity=int(q), shared_with=shared))
        if not ok:
            result.failures.setdefault(model.name, []).append(
                f"export-wide audit: {model.layers[l].column} of {_position_text(model, p)} can be derived to "
                f"[{low:.2f}, {high:.2f}] from the published figures of the tables about {measure.universe or 'these units'}"
                f" (true {values[f]:.2f}; protection needs [{need_lo[f]:.2f}, {need_hi[f]:.2f}])")


def _protect_small_differences(measure: _Measure, models, rules: DisclosureRules, q_atoms, published_quantities,
                               protect, result: ExportAudit) -> None:
    """Two published counts of nested groups (one group's units all in the other's) give the
    count of their difference: households of the selection without wmo costs, a cluster's
    households outside a class.  A difference of 1 to ``min_units - 1`` units is a small group
    no table publishes but every reader derives: it is protected as a suppressed count of that
    size would be (its own protection interval), by suppressing published figures that bind it."""
    m = rules.min_units
    is_pub, _, _ = published_quantities()
    pub = np.flatnonzero(is_pub)
    if len(pub) < 2:
        return
    member = (q_atoms[pub] != 0).astype(np.float64).tocsr()
    weighted = (member @ sp.diags(measure.atom_value)).tocsr()
    size = np.asarray(weighted.sum(axis=1)).ravel()
    order = np.argsort(size, kind="stable")
    sorted_size = size[order]
    # Candidate pairs: a larger group by 1..m-1 units (sizes sorted, so a window per group).
    first = np.searchsorted(sorted_size, sorted_size + 1 - 1e-9, side="left")
    last = np.searchsorted(sorted_size, sorted_size + m - 1 + 1e-9, side="right")
    per = np.maximum(last - first, 0)
    if not per.sum():
        return
    small = np.repeat(order, per)
    large = order[np.repeat(first, per) + offsets_in_runs(per)]
    # Nested: every unit of the smaller group is in the larger one.
    inside = np.asarray(weighted[small].multiply(member[large]).sum(axis=1)).ravel()
    nested = np.abs(inside - size[small]) < 0.5
    small, large = small[nested], large[nested]
    if not len(small):
        return
    differences = (member[large] - member[small]).tocsr()
    differences.eliminate_zeros()
    # The same difference from several pairs is one group.
    key = np.asarray(differences @ np.random.default_rng(5).random((differences.shape[1], 2))).round(9)
    _, keep = np.unique(key, axis=0, return_index=True)
    keep = np.sort(keep)
    rows = sp.vstack([q_atoms, differences[keep]]).tocsr()
    n_q = q_atoms.shape[0]
    for k, pair in enumerate(keep):
        value = float(size[large[pair]] - size[small[pair]])
        level = float(max(1.0, np.ceil(rules.protection_level * value - 1e-9)))
        big, little = _figure_of(measure, pub[large[pair]]), _figure_of(measure, pub[small[pair]])
        why = (f"the {value:.0f} unit(s) of {_figure_text(models, measure, big)} not in "
               f"{_figure_text(models, measure, little)}")
        low, high, ok = protect(n_q + k, value, max(0.0, value - level), value + level, why, rows)
        # Recorded with the smaller group's table: usually the later one (its subset of a population).
        mb, lb, pb = measure.locate(little)
        result.figures.append(FigureAudit(
            table=models[mb].name, column=f"{models[mb].layers[lb].column} (difference)", position=pb,
            true_value=value, required_low=max(0.0, value - level), required_high=value + level,
            derived_low=float(low), derived_high=float(high), protected=bool(ok), quantity=-1,
            shared_with=[models[measure.locate(big)[0]].name]))
        if not ok:
            result.failures.setdefault(models[mb].name, []).append(
                f"export-wide audit: {why} can be derived to [{low:.2f}, {high:.2f}] (protection needs "
                f"[{max(0.0, value - level):.2f}, {value + level:.2f}])")


def _figure_of(measure: _Measure, quantity: int) -> int:
    return int(np.flatnonzero(measure.quantity == quantity)[0])


def _figure_text(models, measure: _Measure, figure: int) -> str:
    m, l, p = measure.locate(figure)
    return f"{models[m].name}: {models[m].layers[l].column} of {_position_text(models[m], p)}"


def _time_left_text(elapsed: float, checked: int, figures: int, used: float) -> str:
    """Elapsed and what is left of one (population, measure)'s audit, for the log: at the pace so far
    (figures checked), or until the bound on the programs (``used``: its part spent), the sooner. The
    checks held by earlier solutions take no time, so the pace overstates what is left."""
    def text(seconds: float) -> str:
        return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"
    left = [elapsed * (1 - used) / used] if used > 0 else []
    if checked:
        left.append(elapsed * (figures - checked) / checked)
    return f"{text(elapsed)} elapsed" + (f", about {text(min(left))} left" if left else "")


def _reaches_low(low: float, needed: float) -> bool:
    return low <= needed + _TOLERANCE * (1 + abs(needed))


def _reaches_high(high: float, needed: float) -> bool:
    return high >= needed - _TOLERANCE * (1 + abs(needed))


def _interval(q_atoms, q, is_pub, lo, hi, measure: _Measure, rank_rows, rank_key, tags=None,
              held=(None, None)):
    """The intruder's bounds on quantity ``q``, per bound the published quantities that bind it, and
    the work of the programs solved (nonzeros times rows, see MAX_LP_WORK).

    Each published figure is one row: its sum of atoms equals a variable bounded by the interval its
    text allows, solved without HiGHS's presolve. Two inequalities per figure with presolve (as
    before) took about twice the time on a run over 100,000 households. A bound in ``held`` (low,
    high; None: not yet reached) is not sought again: suppressing more only widens an interval.
    Also returned: the programs' solutions, in atoms (see _in_atoms).

    Atoms that enter the same published figures (and rank rows), with the same bound, and are
    all in ``q`` or all outside it, are one column of the LP: merged, exactly (their sum is what
    the constraints see).  Suppressed figures split atoms without constraining them; on the demo
    export this merging took a tenth off the audit's time (most atoms differ in published figures)."""
    pub = np.flatnonzero(is_pub & (np.isfinite(lo) | np.isfinite(hi)))
    columns = _column_classes(q_atoms, pub, q, measure, rank_key)
    merge = sp.csr_matrix((np.ones(len(columns)), (np.arange(len(columns)), columns)),
                          shape=(len(columns), int(columns.max(initial=-1)) + 1))
    atom_lower = np.full(merge.shape[1], 0.0)
    np.minimum.at(atom_lower, columns, measure.atom_lower)
    q_atoms = (q_atoms @ merge).tocsr()
    n_columns, n_pub = merge.shape[1], len(pub)
    # sum of atoms - figure = 0, the figure within its published interval.
    a_eq = sp.hstack([q_atoms[pub], -sp.identity(n_pub, format="csr")]).tocsr()
    bounds = ([(None if np.isinf(a) else a, None) for a in atom_lower]
              + [(None if np.isinf(a) else a, None if np.isinf(b) else b) for a, b in zip(lo[pub], hi[pub])])
    a_ub = b_ub = None
    row_tags = np.zeros(0, dtype=np.int64)
    if rank_rows is not None and rank_rows.shape[0]:
        a_ub = sp.hstack([rank_rows @ merge, sp.csr_matrix((rank_rows.shape[0], n_pub))]).tocsr()
        b_ub = np.zeros(rank_rows.shape[0])
        row_tags = np.full(rank_rows.shape[0], -1) if tags is None else np.asarray(tags)
    objective = np.concatenate([q_atoms[q].toarray().ravel(), np.zeros(n_pub)])
    program = dict(A_ub=a_ub, b_ub=b_ub, A_eq=a_eq if n_pub else None, b_eq=np.zeros(n_pub) if n_pub else None,
                   bounds=bounds)
    size = (a_eq.nnz + (a_ub.nnz if a_ub is not None else 0)) * max(n_pub + len(row_tags), 1)
    work = 0.0
    out, solutions = [], []
    for sign, known in ((1.0, held[0]), (-1.0, held[1])):   # min, then max
        if known is not None:
            out.append((known, pd.Series(dtype=float)))
            continue
        work += size
        res = linprog(sign * objective, method="highs", options={"presolve": False}, **program)
        for options in _RETRIES:
            if res.status in (0, 3):
                break
            # Numerical trouble (older HiGHS builds give up on some larger programs; the true values
            # are a solution, so "infeasible" is trouble too): the same program by another of
            # HiGHS's methods.
            res = linprog(sign * objective, **options, **program)
        if res.status == 3:        # unbounded
            out.append((sign * -np.inf, pd.Series(dtype=float)))
            continue
        if res.status != 0:
            raise RuntimeError(f"export-wide audit LP failed: {res.message}")
        # Per binding published quantity, how much its figure moves the bound (|dual|): the reduced
        # cost of its variable at a bound of its interval; per binding rank or share row, its dual.
        figure_dual = np.abs(res.lower.marginals[n_columns:]) + np.abs(res.upper.marginals[n_columns:])
        row_dual = np.abs(res.ineqlin.marginals) if a_ub is not None else np.zeros(0)
        marginals = np.concatenate([figure_dual, row_dual])
        row_quantity = np.concatenate([pub, row_tags])
        binding = (marginals > 1e-9) & (row_quantity != -1)
        bind = pd.Series(marginals[binding]).groupby(row_quantity[binding]).sum()
        out.append((sign * res.fun, bind))
        solutions.append(_in_atoms(res.x[:n_columns], columns, measure.atom_value))
    (low, bind_low), (high, bind_high) = out
    return low, high, bind_low, bind_high, work, solutions


def _in_atoms(merged: np.ndarray, columns: np.ndarray, atom_value: np.ndarray) -> np.ndarray:
    """A solution over merged columns as one over atoms: each column's value shared among its atoms
    in proportion to their true values (evenly where those add up to 0). The atoms of a column enter
    the same published figures and rank rows with the same lower bound, so the point satisfies all
    the programs' constraints as the merged solution does."""
    total = np.bincount(columns, weights=atom_value, minlength=len(merged))
    size = np.bincount(columns, minlength=len(merged))
    even = np.abs(total) <= 1e-12 * (1 + np.abs(atom_value).max(initial=0.0))
    share = np.where(even[columns], 1.0 / size[columns], atom_value / np.where(even, 1.0, total)[columns])
    return merged[columns] * share


def _bounds_from_points(rows: sp.csr_matrix, q: int, points: np.ndarray, low_needed: float,
                        high_needed: float, held_low, held_high) -> tuple[float, float] | None:
    """(low, high) of quantity ``q`` over ``points`` (atoms x points; with the bounds already held)
    where they reach both sides of its protection interval; None where they do not."""
    if not points.shape[1]:
        return None
    values = np.asarray(rows[q] @ points).ravel()
    low = held_low if held_low is not None else float(values.min())
    high = held_high if held_high is not None else float(values.max())
    if _reaches_low(low, low_needed) and _reaches_high(high, high_needed):
        return low, high
    return None


def _column_classes(q_atoms, pub, q, measure: _Measure, rank_key: np.ndarray) -> np.ndarray:
    """Per atom its LP column: atoms with the same published quantities, rank-row
    coefficients (``rank_key``), membership of ``q`` and lower bound share one."""
    rng = np.random.default_rng(7)
    n_q = q_atoms.shape[0]
    weights = rng.integers(1, 2 ** 62, size=(n_q, 2), dtype=np.int64).astype(np.uint64)
    coo = q_atoms[pub].tocoo()
    h = np.zeros((q_atoms.shape[1], 2), dtype=np.uint64)
    with np.errstate(over="ignore"):
        np.add.at(h[:, 0], coo.col, weights[pub[coo.row], 0])
        np.add.at(h[:, 1], coo.col, weights[pub[coo.row], 1])
    key = np.column_stack([h, (q_atoms[q].toarray().ravel() != 0).astype(np.uint64)[:, None],
                           np.isinf(measure.atom_lower).astype(np.uint64)[:, None], rank_key])
    _, columns = np.unique(key, axis=0, return_inverse=True)
    return columns.reshape(-1)


def _share_layers(measure: _Measure, models):
    """(layer, its figures, the figures of their denominators) of every layer published as a share
    of another figure of the same measure."""
    where = {(m, l): first for (m, l), first in zip(measure.owners, measure.offsets)}
    for (m, l), first in where.items():
        layer = models[m].layers[l]
        if layer.display != "share" or layer.share_of_position is None or (m, layer.share_of_layer) not in where:
            continue
        yield (layer, first + np.arange(models[m].n_positions),
               where[(m, layer.share_of_layer)] + np.asarray(layer.share_of_position, dtype=np.int64))


def _share_figures(measure: _Measure, models) -> np.ndarray:
    """The figures published as a share of another figure of the same measure (see _ratio_rows):
    a share does not publish its numerator as a quantity."""
    figures = [num for _, num, _ in _share_layers(measure, models)]
    return np.concatenate(figures) if figures else np.zeros(0, dtype=np.int64)


def _ratio_rows(measure: _Measure, models, rules: DisclosureRules) -> tuple[np.ndarray, sp.csr_matrix]:
    """Per share figure whose denominator is a figure of the same measure: the figure, and two
    rows num - r_hi * den and r_lo * den - num (both <= 0), r the shown percentage +- half its
    last decimal, over 100."""
    figures, rows = [], []
    half = 0.5 * 10.0 ** -rules.share_decimals
    for layer, num, den in _share_layers(measure, models):
        total = np.asarray(layer.share_of, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            shown = _shown(np.where(total > 0, np.asarray(layer.values, dtype=float) / total * 100, 0.0),
                           rules.share_decimals)
        for f, g, s in zip(num, den, shown):   # loops over a table's share cells, not units
            a, b = measure.figure_atoms[f], measure.figure_atoms[g]
            rows.append(a - (s + half) / 100 * b)
            rows.append(max(s - half, 0.0) / 100 * b - a)
            figures.append(f)
    if not rows:
        return np.zeros(0, dtype=np.int64), sp.csr_matrix((0, measure.figure_atoms.shape[1]))
    return np.asarray(figures, dtype=np.int64), sp.vstack(rows).tocsr()


def _rank_key(rank_rows: sp.csr_matrix | None, n_atoms: int) -> np.ndarray:
    """Per atom two numbers that are equal for atoms every rank row treats alike (random
    combinations of the atom's coefficients, as bits): computed once per measure."""
    if rank_rows is None or not rank_rows.shape[0]:
        return np.zeros((n_atoms, 2), dtype=np.uint64)
    weights = np.random.default_rng(11).random((rank_rows.shape[0], 2))
    return np.ascontiguousarray(rank_rows.T @ weights).view(np.uint64)


def _rank_rows(measure: _Measure, models) -> sp.csr_matrix | None:
    """mean(band b) >= mean(band b+1): n_b * S_(b+1) - n_(b+1) * S_b <= 0, in atoms."""
    rows = []
    for (m, l), first in zip(measure.owners, measure.offsets):
        model = models[m]
        counts = _position_counts(model)
        for layer_index, chain in model.rank_chains:
            if layer_index != l:
                continue
            for a, b in zip(chain[:-1], chain[1:]):
                if counts[a] <= 0 or counts[b] <= 0:
                    continue
                rows.append(counts[a] * measure.figure_atoms[first + b] - counts[b] * measure.figure_atoms[first + a])
    return sp.vstack(rows).tocsr() if rows else None


def _suppress(model: TableModel, l: int, p: int, result: ExportAudit, why: str) -> None:
    """Suppress one figure with what it takes along (the mean beside a count; a whole row of a
    table whose layers are one decision)."""
    if model.layer_mode == "separate":
        layers = {l} | {j for i, j in model.implies if i == l}
    else:
        layers = set(range(len(model.layers)))
    for j in sorted(layers):
        if model.layer_status[j][p] == "safe":
            model.layer_status[j][p] = "secondary"
            result.added.append((model.name, model.layers[j].column, p, why))
    if model.status is not None and model.status[p] == "safe":
        model.status[p] = "secondary"


def _position_text(model: TableModel, p: int) -> str:
    if not model.label_columns:
        return f"row {p + 1}"
    row = model.labels.iloc[p]
    return ", ".join(f"{c}={row[c]}" for c in model.label_columns)
