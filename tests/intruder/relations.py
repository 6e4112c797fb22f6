"""The catalogue: what every published table of this bundle says about the units, as LP relations.

An intruder who read the notes of an export knows what each table counts and sums. This
module turns every table into linear relations between *quantities* (counts and sums of
named groups of units), shared across tables wherever two tables describe the same group.
All knowledge of the bundle's table catalogue sits here, one function per table, registered
in :data:`CATALOGUE`; every number comes from the published files.

Quantities (LP variables, all non-negative; money in thousands of euros):

* ``n:<group>`` -- households in a group; ``p:<group>`` -- persons;
* ``cost:<group>`` -- five-year cost of the group's households; ``cost.d=<d>:<group>`` -- their
  cost in domain d; ``cost.y=<y>:<group>`` -- in year y; ``cost.d=<d>.y=<y>:all`` -- both;
* ``sumof.<x>:<group>`` -- the sum over the group's households of a per-household number
  (``ndom`` domains, ``persons``, ``kids``).

Groups: ``all`` (every household of the study area), ``cost`` (with costs), ``type=..``,
``kids=..``, ``ndom=..``, ``jaren=..``, ``year=..``, ``dom=..``, ``domyear=d|y``, ``res=..``,
``prof=<mask>`` (exact domain profile), ``items=<mask>`` (at least these domains),
``rank<=k`` (the k most expensive), ``top&prof=..``, ``cl=..``/``kl=..`` (clusters, classes)
and their intersections, ``sel`` (the selected households) and its intersections.

Relation families (the names used in every finding):
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
import numpy as np

from .model import INF, Model
from .reader import Cell, Export, Table

MONEY = 1e-3  # model unit: thousands of euros

F_PUBLISHED = "published cell (rounding interval)"
F_MARGIN = "margin (Totaal = sum of a partition)"
F_COVER = "margin of overlapping categories (max <= Totaal <= sum)"
F_SHARE = "share/mean x n (count or sum in disguise)"
F_IDENTITY = "identity inside a row"
F_SAME = "same quantity in several tables"
F_LATTICE = "domain profiles (inclusion-exclusion of combinations, pairs, reach)"
F_RANK = "ranked groups (nested top groups, rank order)"
F_ASSOC = "association measures (support/confidence/lift/phi/odds/leverage/conviction)"
F_SELECTION = "selection criteria (selected group = subset/ranked group)"
F_PERSONS = "persons by position vs households by type"
F_MISSING = "missing row of a code list = 0"
F_LINK = "count-sum link (no household costs more than the most expensive one)"
F_SUBSET = "subset (a group inside another group)"
F_MONITOR = "monitoring cohort and groups"

FAMILIES = [F_PUBLISHED, F_MARGIN, F_COVER, F_SHARE, F_IDENTITY, F_SAME, F_LATTICE, F_RANK, F_ASSOC, F_SELECTION,
            F_PERSONS, F_MISSING, F_LINK, F_SUBSET, F_MONITOR]
__doc__ += "".join(f"\n* {f}" for f in FAMILIES) + "\n"


@dataclass
class Target:
    """A suppressed quantity: what the intruder tries to pin down."""
    cell: Cell
    kind: str                      # "count" or "sum"
    expr: dict[str, float]
    constant: float = 0.0
    scale: float = 1.0             # published unit per model unit (1/MONEY for money)
    what: str = ""

    @property
    def key(self) -> tuple:
        return (tuple(sorted(self.expr.items())), self.constant)


@dataclass
class GroupSet:
    """A named group of households whose count (and cost) appears somewhere."""
    name: str
    count: str | None = None        # variable of its count
    cost: str | None = None         # variable of its five-year cost
    bits: int | None = None          # set of domain profiles (bit i = profile i), when lattice-defined
    parents: list[str] = field(default_factory=list)
    label: str = ""


@dataclass
class Nonlinear:
    """A published measure that is a non-linear function of counts: solved by enumeration."""
    family: str
    label: str
    unknown: str                    # variable to bound
    knowns: dict[str, str]          # role -> variable
    metric: object                  # f(unknown=..., **knowns) -> value
    lo: float
    hi: float
    rounded_inputs: bool = False


@dataclass
class Flag:
    family: str
    table: str
    cell: str
    message: str


def pct_numbers(label: str) -> list[float]:
    return [float(x.replace(",", ".")) / 100 for x in re.findall(r"(\d+(?:[.,]\d+)?)\s*%", label)]


def band_of(label: str) -> tuple[float, float] | None:
    """(from, to) as fractions of a ranked group label: 'top 1%', '1%-2%', 'b. 1-5%', 'd. overige 80%'."""
    m = re.search(r"(\d+(?:[.,]\d+)?)\s*%?\s*-\s*(\d+(?:[.,]\d+)?)\s*%", label)
    if m:
        return float(m.group(1).replace(",", ".")) / 100, float(m.group(2).replace(",", ".")) / 100
    shares = pct_numbers(label)
    if not shares:
        return None
    if "overige" in label:
        return 1 - shares[0], 1.0
    return 0.0, shares[0]


def ceil_share(share: float, n: int) -> int:
    return int(math.ceil(share * n - 1e-9))


class Builder:
    """Builds the LP of the study area's households and persons from one export."""

    def __init__(self, export: Export):
        self.x = export
        self.m = Model("households and persons of the study area")
        self.targets: list[Target] = []
        self.sets: dict[str, GroupSet] = {}
        self.nonlinear: list[Nonlinear] = []
        self.flags: list[Flag] = []
        self.pairs: list[tuple[str, str, str]] = []   # (count var, cost var, label): cost <= Cmax * count
        self.published_single: dict[str, tuple[float, float]] = {}
        self.rank_points: dict[int, str] = {}
        self.rank_labels: dict[int, list[str]] = {}
        self.rounding = export.rounding_base
        self.total = export.total_label
        self.notes: list[str] = []
        self._setup_constants()
        self._setup_domains()

    # ------------------------------------------------------------------ helpers
    def t(self, name: str) -> Table | None:
        return self.x.get(name)

    def is_total(self, label: str) -> bool:
        return label == self.total

    def group(self, name: str, count: str | None = None, cost: str | None = None, bits: int | None = None,
              parents=(), label: str = "") -> GroupSet:
        g = self.sets.get(name)
        if g is None:
            g = self.sets[name] = GroupSet(name, count, cost, bits, list(parents), label or name)
        else:
            g.count = g.count or count
            g.cost = g.cost or cost
            g.bits = g.bits if g.bits is not None else bits
            g.parents += [p for p in parents if p not in g.parents]
        if count and cost:
            self.pairs.append((count, cost, name))
        return g

    def rows_of(self, table: Table):
        for row in table.rows:
            yield row, table.labels_of(row)

    def _record_single(self, var: str, lo: float, hi: float) -> None:
        old = self.published_single.get(var, (-INF, INF))
        self.published_single[var] = (max(old[0], lo), min(old[1], hi))

    def count_cell(self, table: Table, row: dict, column: str, expr: dict[str, float] | str, what: str,
                   constant: float = 0.0) -> None:
        """A published or suppressed count: published -> its rounding interval; suppressed -> a target."""
        self._cell(table, row, column, expr, what, constant, "count")

    def sum_cell(self, table: Table, row: dict, column: str, expr: dict[str, float] | str, what: str,
                 constant: float = 0.0) -> None:
        """A published or suppressed sum of euros."""
        self._cell(table, row, column, expr, what, constant, "sum")

    def _cell(self, table: Table, row: dict, column: str, expr: dict[str, float] | str, what: str,
              constant: float, kind: str) -> None:
        """A count (in units) or a sum (in cents, MONEY): published -> the interval its text allows;
        suppressed -> a target."""
        if column not in row:
            return
        if isinstance(expr, str):
            expr = {expr: 1.0}
        scale = 1.0 if kind == "count" else MONEY
        cell = table.cell(row, column)
        if cell.suppressed:
            self.targets.append(Target(cell, kind, dict(expr), constant, 1.0 / scale, what))
            return
        if cell.value is None:
            return
        lo, hi = cell.interval(table.rounding_base, is_count=True) if kind == "count" else cell.interval()
        lo, hi = lo * scale - constant, hi * scale - constant
        self.m.add(expr, lo, hi, F_PUBLISHED, f"{cell.name} = {cell.text} ({what})")
        if len(expr) == 1 and next(iter(expr.values())) == 1.0:
            self._record_single(next(iter(expr)), lo, hi)

    def mean_cell(self, table: Table, row: dict, column: str, total: dict[str, float] | str,
                  count: dict[str, float] | str, what: str, money: bool = True, kind: str = "sum") -> None:
        """mean x n = total: published -> m_lo n <= total <= m_hi n; suppressed -> the total is a target."""
        if column not in row:
            return
        if isinstance(total, str):
            total = {total: 1.0}
        if isinstance(count, str):
            count = {count: 1.0}
        cell = table.cell(row, column)
        unit = MONEY if money else 1.0
        if cell.suppressed:
            self.targets.append(Target(cell, kind, dict(total), 0.0, 1 / unit, what))
            return
        if cell.value is None:
            return
        lo, hi = cell.interval()
        expr_lo = dict(total)
        for k, v in count.items():
            expr_lo[k] = expr_lo.get(k, 0.0) - lo * unit * v
        expr_hi = dict(total)
        for k, v in count.items():
            expr_hi[k] = expr_hi.get(k, 0.0) - hi * unit * v
        self.m.ge(expr_lo, 0.0, F_SHARE, f"{cell.name} = {cell.text}: mean x n <= {what}")
        self.m.le(expr_hi, 0.0, F_SHARE, f"{cell.name} = {cell.text}: {what} <= mean x n")

    def share_cell(self, table: Table, row: dict, column: str, part: dict[str, float] | str,
                   whole: dict[str, float] | str, what: str, kind: str = "count", money: bool = False) -> None:
        """pct x whole / 100 = part (a count or sum in disguise)."""
        if column not in row:
            return
        if isinstance(part, str):
            part = {part: 1.0}
        if isinstance(whole, str):
            whole = {whole: 1.0}
        cell = table.cell(row, column)
        if cell.suppressed:
            self.targets.append(Target(cell, kind, dict(part), 0.0, (1 / MONEY) if money else 1.0, what))
            return
        if cell.value is None:
            return
        lo, hi = cell.interval()
        slack = float(table.rounding_base) if (table.rounding_base and not money) else 0.0
        e_lo = dict(part)
        for k, v in whole.items():
            e_lo[k] = e_lo.get(k, 0.0) - lo / 100 * v
        e_hi = dict(part)
        for k, v in whole.items():
            e_hi[k] = e_hi.get(k, 0.0) - hi / 100 * v
        self.m.ge(e_lo, -slack, F_SHARE, f"{cell.name} = {cell.text}%: {what} >= pct x n")
        self.m.le(e_hi, slack, F_SHARE, f"{cell.name} = {cell.text}%: {what} <= pct x n")

    def partition(self, total: str, parts: list[str], label: str, family: str = F_MARGIN) -> None:
        if not parts:
            return
        expr = {total: 1.0}
        for p in parts:
            expr[p] = expr.get(p, 0.0) - 1.0
        self.m.eq(expr, 0.0, family, label)

    def cover(self, total: str, parts: list[str], label: str) -> None:
        """Units in several categories: every part <= total <= sum of parts."""
        if not parts:
            return
        for p in parts:
            self.m.le({p: 1.0, total: -1.0}, 0.0, F_COVER, f"{label}: {p} <= {total}")
        expr = {total: 1.0}
        for p in parts:
            expr[p] = expr.get(p, 0.0) - 1.0
        self.m.le(expr, 0.0, F_COVER, f"{label}: {total} <= sum of categories")

    def subset(self, small: str, big: str, label: str, family: str = F_SUBSET) -> None:
        self.m.le({small: 1.0, big: -1.0}, 0.0, family, label)

    def same(self, a: str, b: str, label: str) -> None:
        if a != b:
            self.m.eq({a: 1.0, b: -1.0}, 0.0, F_SAME, label)

    def zero(self, var: str, label: str) -> None:
        self.m.eq({var: 1.0}, 0.0, F_MISSING, label)

    # ------------------------------------------------------------------ constants
    def _published_count(self, table: str, column: str = "n_households", **labels) -> tuple[float, float] | None:
        t = self.t(table)
        if t is None or column not in t.columns:
            return None
        row = t.find(**labels) if labels else None
        if row is None:
            return None
        cell = t.cell(row, column)
        if cell.suppressed or cell.value is None:
            return None
        return cell.interval(t.rounding_base, is_count=True)

    def _intersect(self, candidates) -> tuple[int, int] | None:
        lo, hi = -INF, INF
        found = False
        for c in candidates:
            if c is None:
                continue
            found = True
            lo, hi = max(lo, c[0]), min(hi, c[1])
        if not found:
            return None
        return int(math.ceil(lo - 1e-9)), int(math.floor(hi + 1e-9))

    def _setup_constants(self) -> None:
        """N (all households) and NC (households with costs) from every Totaal row whose table's
        population (from the notes) is one of the two."""
        pops = [t.population for t in self.x.tables.values() if t.population and not t.population.startswith("cohort")]
        self.base_population = min(pops, key=len) if pops else ""
        found = {"all": [], "cost": []}
        for t in self.x.tables.values():
            kind = self.pop_kind(t)
            if kind is None or "n_households" not in t.columns or not t.label_columns:
                continue
            for row in t.rows:
                labels = t.labels_of(row)
                whole = all(self.is_total(l) for l in labels) or row.get("segment") == "all"
                if not whole:
                    continue
                cell = t.cell(row, "n_households")
                if not cell.suppressed and cell.value is not None:
                    found[kind].append(cell.interval(t.rounding_base, is_count=True))
        self.N = self._intersect(found["all"])
        self.NC = self._intersect(found["cost"])

    def pop_kind(self, t: Table) -> str | None:
        """'all' when the table is about every household of the study area, 'cost' when about the
        households with costs, None otherwise (a subgroup: selection, top group, cohort, ...)."""
        base, pop = self.base_population, t.population
        if not base or not pop:
            return None
        if pop == base:
            return "all"
        if pop.startswith(base):
            rest = pop[len(base):].strip(" ,")
            if re.match(r"^met kosten in (de studiejaren|ten minste 1 domein)( \(samenhang\))?$", rest):
                return "cost"
        return None

    def pop_var(self, t: Table) -> str:
        return {"all": "n:all", "cost": "n:cost"}.get(self.pop_kind(t), f"n:pop={t.name}")

    def rank_base(self, t: Table, text: str = "") -> tuple[tuple[int, int] | None, str]:
        """Which households a ranking runs over: all of them or those with costs (from the notes)."""
        notes = t.notes + " " + text
        if "rangorde van alle huishoudens" in notes.lower() or "Rangorde: alle huishoudens" in notes:
            return self.N, "all households"
        if "huishoudens met kosten" in (text or t.title) or self.pop_kind(t) == "cost":
            return self.NC, "the households with costs"
        return self.N, "all households"

    def exact(self, rng) -> int | None:
        return rng[0] if rng and rng[0] == rng[1] else None

    # ------------------------------------------------------------------ domains and the profile lattice
    def _groups_in_notes(self, pattern: str, flags: int = 0) -> dict[str, list[str]] | None:
        """The first list "group = a + b; group2 = c" that ``pattern`` (its first group) finds in a
        table's notes, as group -> members; None when no table states it."""
        for t in self.x.tables.values():
            m = re.search(pattern, t.notes, flags=flags)
            if m:
                groups = {}
                for part in m.group(1).split(";"):
                    if "=" in part:
                        g, members = part.split("=", 1)
                        groups[g.strip()] = [d.strip() for d in members.split("+")]
                return groups
        return None

    def _coherence_groups(self) -> dict[str, list[str]] | None:
        return self._groups_in_notes(r"Domeinen \(groepen\) in de samenhanganalyse: (.*?)\.\s*$", re.M)

    def _counting_groups(self) -> dict[str, list[str]]:
        """The method's domains each table states ("domeinen geteld zoals de methode ze telt ...:
        justitie = politie + ...; ... telt elk als een domein"): group -> its fine domains."""
        return self._groups_in_notes(r"domeinen geteld zoals de methode ze telt \([^)]*\): (.*?) "
                                     r"telt elk als een domein") or {}

    def _setup_domains(self) -> None:
        domains: set[str] = set()
        T = self.total
        # Reach, combinations, selection and coherence count the method's domains; costs per
        # domain and year are by fine domain. Items of the profile lattice are the method's domains.
        self.counting = self._counting_groups()
        group_of = {d: g for g, members in self.counting.items() for d in members}
        self.fine_domains: set[str] = set(group_of)
        for name, column in (("bereik_per_domein", None), ("kosten_domein_jaar", "domein"),
                             ("selectie_domeinen", None)):
            t = self.t(name)
            if t is None or not t.label_columns:
                continue
            col = column or t.label_columns[0]
            domains |= {r[col] for r in t.rows if r.get(col) not in (None, "", T)}
        self.groups = self._coherence_groups()
        self.absent_from_coherence: set[str] = set()
        for t in self.x.tables.values():
            m = re.search(r"Domeinen: gemeten, met een bron in deze run: ([^;\n]*)", t.notes)
            if m:
                domains |= {d.strip() for d in m.group(1).split(",") if d.strip()}
                break
        if self.groups:
            for members in self.groups.values():
                domains |= set(members)
        for name in ("samenhang_clusters", "samenhang_klassen"):
            t = self.t(name)
            if t is None:
                continue
            for c in t.columns:
                m = re.match(r"^(?:mean_|sum_)?kosten_(.+)$", c)
                if m and m.group(1) != "totaal":
                    domains.add(m.group(1))
        for name in ("correlatie_domeinen", "samenhang_correlatie_kosten"):
            t = self.t(name)
            if t is not None:
                for r in t.rows:
                    domains |= {r.get("domein_a", ""), r.get("domein_b", "")} - {""}
        self.domains = sorted({group_of.get(d, d) for d in domains})
        reach = self.t("bereik_per_domein")
        self.zero_domains: set[str] = set()
        if reach is not None and reach.label_columns:
            listed = {r[reach.label_columns[0]] for r in reach.rows}
            self.zero_domains = {d for d in self.domains if d not in listed}
        elif self.t("kosten_domein_jaar") is not None:
            listed = {r.get("domein") for r in self.t("kosten_domein_jaar").rows}
            self.zero_domains = {d for d in self.domains if d not in listed}
        if self.groups:
            # The coherence analyses run on the domains with costs in the study area: a measured domain
            # missing from their list has no households with costs (unless it was left out on purpose,
            # which shows as a published non-zero reach).
            members = set(self.groups) | {group_of.get(d, d) for v in self.groups.values() for d in v}
            absent = [d for d in self.domains if d not in members and d not in self.zero_domains]
            reach_pub = {}
            if reach is not None and reach.label_columns:
                for r in reach.rows:
                    c = reach.cell(r, "n_households") if "n_households" in r else None
                    if c is not None and not c.suppressed and c.value is not None:
                        reach_pub[r[reach.label_columns[0]]] = c.value
            if absent and not any(reach_pub.get(d, 0) > 0 for d in absent):
                self.zero_domains |= set(absent)
                self.absent_from_coherence = set(absent)
        singletons = self.groups is None or all((len(v) == 1 and v[0] == k) or sorted(v) == sorted(self.counting.get(k, []))
                                                for k, v in self.groups.items())
        coherence_items = set(self.groups) if self.groups else set(self.domains)
        # The coherence step's items are the domains when every group is one domain and no domain
        # with costs is left out; then the profile lattice links coherence and baseline tables.
        self.items = sorted(d for d in self.domains if d not in self.zero_domains)
        self.lattice = singletons and len(self.items) <= 13 and \
            set(self.items) <= coherence_items | self.zero_domains
        if not self.lattice:
            self.notes.append("profile lattice off (domain groups, excluded domains or too many domains)")
        self.bit = {d: 1 << i for i, d in enumerate(self.items)}
        self.n_masks = 1 << len(self.items) if self.lattice else 0
        self._lattice_done: set[str] = set()
        for g, members in self.counting.items():
            # A household has costs in a method's domain when it has costs in one or more of its
            # fine domains; its cost there is the sum of theirs.
            self.cover(self.dom(g), [f"n:dom={d}" for d in members], f"{g} = {' + '.join(members)} (households)")
            self.partition(f"cost.d={g}:all", [f"cost.d={d}:all" for d in members],
                           f"{g} = {' + '.join(members)} (costs)")

    def mask_of(self, names) -> int | None:
        """Bit mask of a set of domains; None when a domain is known to have no households."""
        mask = 0
        for d in names:
            d = d.strip()
            if d in self.zero_domains:
                return None
            if d not in self.bit:
                return None
            mask |= self.bit[d]
        return mask

    def prof(self, mask: int) -> str:
        return f"n:prof={mask}"

    def mask_label(self, mask: int) -> str:
        return " + ".join(d for d in self.items if mask & self.bit[d]) or "geen"

    def lattice_set(self, name: str, predicate, label: str) -> str:
        """Count variable of a set of profiles, tied to the exact-profile variables."""
        var = f"n:{name}"
        if not self.lattice:
            return var
        if name not in self._lattice_done:
            self._lattice_done.add(name)
            masks = [p for p in range(self.n_masks) if predicate(p)]
            expr = {var: 1.0}
            for p in masks:
                expr[self.prof(p)] = expr.get(self.prof(p), 0.0) - 1.0
            self.m.eq(expr, 0.0, F_LATTICE, f"{label} = sum of the exact domain profiles it holds")
            bits = 0
            for p in masks:
                bits |= 1 << p
            self.group(name, count=var, bits=bits, label=label)
        return var

    def dom(self, d: str) -> str:
        var = f"n:dom={d}"
        if d in self.zero_domains:
            why = ("absent from the domain list of the coherence tables (which holds the domains with costs)"
                   if d in self.absent_from_coherence else "absent from bereik_per_domein")
            self.zero(var, f"domain {d} is {why}: no households")
            return var
        if self.lattice and d in self.bit:
            b = self.bit[d]
            return self.lattice_set(f"dom={d}", lambda p: p & b, f"households with costs in {d}")
        return var

    def items_var(self, names) -> str | None:
        """Households with at least these domains (a pair, an itemset)."""
        names = sorted(n.strip() for n in names)
        if len(names) == 1:
            return self.dom(names[0])
        label = " + ".join(names)
        var = f"n:items={label}"
        if any(n in self.zero_domains for n in names):
            self.zero(var, f"{label}: a domain without households")
            return var
        mask = self.mask_of(names)
        if self.lattice and mask is not None:
            return self.lattice_set(f"items={label}", lambda p: p & mask == mask, f"households with at least {label}")
        return var

    def finish_lattice_baseline(self) -> None:
        if not self.lattice:
            return
        self.lattice_set("all", lambda p: True, "all households")
        self.lattice_set("cost", lambda p: p != 0, "households with costs")
        for d in self.items:
            self.dom(d)

    # ------------------------------------------------------------------ ranks
    def rank(self, k: int, label: str) -> str | None:
        """Cost of the k most expensive households (None for k = 0)."""
        if k <= 0:
            return None
        self.rank_labels.setdefault(k, []).append(label)
        return self.rank_points.setdefault(k, f"cost:rank<={k}")

    def rank_range(self, ka: int, kb: int, label: str) -> dict[str, float]:
        if ka == kb:
            v = self.rank(ka, label)
            return {v: 1.0} if v else {}
        var = f"cost:rank<=[{ka}..{kb}]"
        a, b = self.rank(ka, label), self.rank(kb, label)
        if a:
            self.m.ge({var: 1.0, a: -1.0}, 0.0, F_RANK, f"{label}: between the top {ka} and the top {kb}")
        self.m.le({var: 1.0, b: -1.0}, 0.0, F_RANK, f"{label}: between the top {ka} and the top {kb}")
        return {var: 1.0}

    def k_range(self, share: float, base) -> tuple[int, int] | None:
        if base is None:
            return None
        return ceil_share(share, base[0]), ceil_share(share, base[1])

    def finish_ranks(self) -> None:
        N, NC = self.exact(self.N), self.exact(self.NC)
        self.rank(1, "the most expensive household")
        points = sorted(self.rank_points)
        seq = [(0, None)] + [(k, self.rank_points[k]) for k in points]
        if N is not None and points[-1] < N:
            seq.append((N, "cost:all"))
        for k, v in seq[1:]:
            if v != "cost:all" and ((NC is not None and k >= NC) or (N is not None and k >= N)):
                self.same(v, "cost:all", f"the top {k} hold every household with costs: their cost is all cost")
        for (k1, v1), (k2, v2) in zip(seq, seq[1:]):
            expr = {v2: 1.0}
            if v1:
                expr[v1] = -1.0
            self.m.ge(expr, 0.0, F_RANK, f"rank order: the top {k2} cost at least the top {k1}")
            self.m.le({v2: 1.0, "cost:all": -1.0}, 0.0, F_RANK, f"the top {k2} cost at most all households")
        for (k1, v1), (k2, v2), (k3, v3) in zip(seq, seq[1:], seq[2:]):
            # Mean of the band (k1, k2] >= mean of the band (k2, k3].
            expr = {v2: float(k3 - k2) + float(k2 - k1)}
            if v1:
                expr[v1] = expr.get(v1, 0.0) - float(k3 - k2)
            expr[v3] = expr.get(v3, 0.0) - float(k2 - k1)
            self.m.ge(expr, 0.0, F_RANK, f"rank order: mean of ranks {k1 + 1}-{k2} >= mean of ranks {k2 + 1}-{k3}")

    # ------------------------------------------------------------------ build
    def build(self) -> "Builder":
        self.errors: list[str] = []
        modelled = set()
        for name, (func, _families) in CATALOGUE.items():
            for table_name in ([name] if isinstance(name, str) else name):
                modelled.add(table_name)
                t = self.t(table_name)
                if t is not None and t.rows:
                    try:
                        func(self, t)
                    except Exception as exc:  # a changed table format: keep attacking the rest
                        self.errors.append(f"{table_name}: {type(exc).__name__}: {exc}")
        other = sorted(n for n in self.x.tables if n not in modelled and not n.startswith("monitoring"))
        if other:
            self.notes.append("tables without relations (model figures, checked by the flags only): " + ", ".join(other))
        self.group("all", "n:all", "cost:all", label="all households")
        self.group("cost", "n:cost", "cost:all", parents=["all"], label="households with costs")
        self.finish_lattice_baseline()
        self.finish_ranks()
        return self


# --- association measures as functions of one unknown count u (numpy array) and known counts --------
def _div(num, den):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.true_divide(num, den)


def metric_rule_lift(u, a, ac, n):
    """lift = n_rule N / (n_antecedent n_consequent); u = n_consequent."""
    return _div(n * ac, a * u)


def metric_leverage(u, a, ac, n):
    return _div(n * ac - a * u, float(n) * n)


def metric_conviction(u, a, ac, n):
    if a == ac:
        return np.full(np.shape(u), np.inf)
    return _div((n - u) * a, float(n) * (a - ac))


def metric_zhang(u, a, ac, n):
    den = np.maximum(ac * (n - a), a * (u - ac))
    return np.where(den == 0, 0.0, _div(n * ac - a * u, np.where(den == 0, 1, den)))


def metric_phi(u, a, c, n):
    """phi of the 2x2 table of two domains; u = households with both."""
    return _div(n * u - a * c, math.sqrt(max(a * (n - a) * c * (n - c), 0)))


def metric_odds(u, a, c, n):
    u = np.asarray(u, dtype=float)
    c11, c10, c01, c00 = u, a - u, c - u, n - a - c + u
    bad = (c10 < 0) | (c01 < 0) | (c00 < 0)
    zero = np.minimum(np.minimum(c11, c10), np.minimum(c01, c00)) == 0
    h = np.where(zero, 0.5, 0.0)
    out = _div((c11 + h) * (c00 + h), (c10 + h) * (c01 + h))
    return np.where(bad, np.nan, out)


def metric_pair_lift(u, a, c, n):
    return _div(n * u, float(a) * c)


# ====================================================================== table functions
def _label_col(t: Table) -> str:
    return t.label_columns[0] if t.label_columns else t.columns[0]


def tab_bereik_aantal_domeinen(b: Builder, t: Table) -> None:
    col = _label_col(t)
    parts = []
    listed = set()
    for row, (label, *_) in b.rows_of(t):
        if b.is_total(label):
            b.count_cell(t, row, "n_households", b.pop_var(t), "all households")
            continue
        listed.add(label)
        var = f"n:ndom={label}"
        parts.append(var)
        b.count_cell(t, row, "n_households", var, f"households with {label} domains")
        if b.lattice and re.match(r"^\d+\+?$", label):
            k = int(label.rstrip("+"))
            plus = label.endswith("+")
            b.lattice_set(f"ndom={label}", (lambda p, k=k, plus=plus: bin(p).count("1") >= k if plus
                                            else bin(p).count("1") == k), f"households with {label} domains")
    b.partition(b.pop_var(t), parts, f"{t.name}: Totaal = sum of categories")
    if "0" in listed:
        b.m.eq({"n:cost": 1.0, "n:all": -1.0, "n:ndom=0": 1.0}, 0.0, F_IDENTITY,
               f"{t.name}: households with costs = all - households with 0 domains")
    # Sum of domain reach = sum over households of their number of domains.
    reach = [b.dom(d) for d in b.domains if d not in b.zero_domains]
    if reach and all(re.match(r"^\d+\+?$", l) for l in listed):
        expr_lo, expr_hi = {}, {}
        for r in reach:
            expr_lo[r] = expr_lo.get(r, 0.0) + 1.0
            expr_hi[r] = expr_hi.get(r, 0.0) + 1.0
        for label in listed:
            k = int(label.rstrip("+"))
            expr_lo[f"n:ndom={label}"] = -float(k)
            expr_hi[f"n:ndom={label}"] = -float(len(b.items) if label.endswith("+") else k)
        b.m.ge(expr_lo, 0.0, F_IDENTITY, f"sum of domain reach >= sum of k x households with k domains ({t.name})")
        b.m.le(expr_hi, 0.0, F_IDENTITY, f"sum of domain reach <= sum of k x households with k domains ({t.name})")


def tab_bereik_per_domein(b: Builder, t: Table) -> None:
    col = _label_col(t)
    parts = []
    for row, (label, *_) in b.rows_of(t):
        if b.is_total(label):
            b.count_cell(t, row, "n_households", b.pop_var(t), "households with costs")
            continue
        var = b.dom(label)
        parts.append(var)
        b.count_cell(t, row, "n_households", var, f"households with costs in {label}")
    for d in b.zero_domains:
        b.dom(d)
    b.cover(b.pop_var(t), parts, f"{t.name}: domains overlap")


def tab_bereik_per_jaar(b: Builder, t: Table) -> None:
    parts = []
    for row, (label, *_) in b.rows_of(t):
        if b.is_total(label):
            b.count_cell(t, row, "n_households", b.pop_var(t), "households with costs")
            continue
        var = f"n:year={label}"
        parts.append(var)
        b.count_cell(t, row, "n_households", var, f"households with costs in {label}")
    b.cover(b.pop_var(t), parts, f"{t.name}: years overlap")
    b.years = [l for _, (l, *_) in b.rows_of(t) if not b.is_total(l)]


def tab_kosten_structureel(b: Builder, t: Table) -> None:
    parts, cost_parts, listed = [], [], []
    for row, (label, *_) in b.rows_of(t):
        if b.is_total(label):
            b.count_cell(t, row, "n_households", b.pop_var(t), "households with costs")
            b.mean_cell(t, row, "mean_kosten", "cost:all", b.pop_var(t), "cost of households with costs")
            continue
        listed.append(label)
        parts.append(f"n:jaren={label}")
        cost_parts.append(f"cost:jaren={label}")
        b.group(f"jaren={label}", f"n:jaren={label}", f"cost:jaren={label}", parents=["cost"])
        b.count_cell(t, row, "n_households", f"n:jaren={label}", f"households with costs in {label} years")
        b.mean_cell(t, row, "mean_kosten", f"cost:jaren={label}", f"n:jaren={label}",
                    f"cost of households with costs in {label} years")
    b.partition(b.pop_var(t), parts, f"{t.name}: Totaal = sum of categories")
    b.partition("cost:all", cost_parts, f"{t.name}: total cost = sum of categories")
    # Sum over years of households with costs that year = sum of (years with costs) x households.
    jt = b.t("bereik_per_jaar")
    if jt is not None and all(l.isdigit() for l in listed):
        years = [r[_label_col(jt)] for r in jt.rows if not b.is_total(r[_label_col(jt)])]
        period = re.search(r"studiejaren (\d{4})-(\d{4})", t.notes)
        all_years = [str(y) for y in range(int(period.group(1)), int(period.group(2)) + 1)] if period else years
        expr = {}
        for y in all_years:
            expr[f"n:year={y}"] = 1.0
            if y not in years:
                b.zero(f"n:year={y}", f"bereik_per_jaar has no row {y}")
        for l in listed:
            expr[f"n:jaren={l}"] = expr.get(f"n:jaren={l}", 0.0) - float(l)
        b.m.eq(expr, 0.0, F_IDENTITY, "sum over years of households with costs = sum of k x households with "
                                      "costs in k years (bereik_per_jaar, kosten_structureel)")


def tab_kosten_domein_jaar(b: Builder, t: Table) -> None:
    T = b.total
    by_domain: dict[str, dict[str, dict]] = {}
    for row in t.rows:
        by_domain.setdefault(row["domein"], {})[row["jaar"]] = row
    years = sorted({r["jaar"] for r in t.rows if not b.is_total(r["jaar"])})
    domains = [d for d in by_domain if not b.is_total(d)]
    for d, rows in by_domain.items():
        for y, row in rows.items():
            if b.is_total(d) and b.is_total(y):
                n, s = b.pop_var(t), "cost:all"
            elif b.is_total(d):
                n, s = f"n:year={y}", f"cost.y={y}:all"
            elif b.is_total(y):
                n, s = b.dom(d), f"cost.d={d}:all"
            else:
                n, s = f"n:domyear={d}|{y}", f"cost.d={d}.y={y}:all"
            b.pairs.append((n, s, f"{d} {y}"))
            b.count_cell(t, row, "n_households", n, f"households with costs in {d}, {y}")
            b.sum_cell(t, row, "sum_kosten", s, f"cost in {d}, {y}")
    for d in domains:
        rows = by_domain[d]
        cells_n = [f"n:domyear={d}|{y}" for y in years]
        cells_s = [f"cost.d={d}.y={y}:all" for y in years]
        for y in years:
            if y not in rows:
                b.zero(cells_n[years.index(y)], f"{t.name} has no row {d}, {y}")
                b.zero(cells_s[years.index(y)], f"{t.name} has no row {d}, {y}")
        b.partition(f"cost.d={d}:all", cells_s, f"{t.name}: {d} Totaal = sum of its years")
        b.cover(b.dom(d), cells_n, f"{t.name}: a household has costs in {d} in one or more years")
    for y in years:
        b.partition(f"cost.y={y}:all", [f"cost.d={d}.y={y}:all" for d in domains],
                    f"{t.name}: year {y} Totaal = sum of domains")
        b.cover(f"n:year={y}", [f"n:domyear={d}|{y}" for d in domains],
                f"{t.name}: a household has costs in one or more domains in {y}")
    b.partition("cost:all", [f"cost.d={d}:all" for d in domains], f"{t.name}: total = sum of domains")
    b.partition("cost:all", [f"cost.y={y}:all" for y in years], f"{t.name}: total = sum of years")
    for d in b.zero_domains:
        b.zero(f"cost.d={d}:all", f"domain {d} has no households")


def _partition_mean_table(b: Builder, t: Table, prefix: str, population: str, what: str) -> None:
    """A mean table over a partition of ``population`` (all or with costs)."""
    n_total = b.pop_var(t)
    population = b.pop_kind(t) or t.name
    parts, cost_parts = [], []
    for row, (label, *_) in b.rows_of(t):
        if b.is_total(label):
            b.count_cell(t, row, "n_households", n_total, f"{population} households")
            b.mean_cell(t, row, "mean_kosten", "cost:all", n_total, "total cost")
            continue
        n, s = f"n:{prefix}={label}", f"cost:{prefix}={label}"
        parts.append(n)
        cost_parts.append(s)
        b.group(f"{prefix}={label}", n, s, parents=[population])
        b.count_cell(t, row, "n_households", n, f"{what} {label}")
        b.mean_cell(t, row, "mean_kosten", s, n, f"cost of {what} {label}")
    b.partition(n_total, parts, f"{t.name}: Totaal = sum of categories")
    b.partition("cost:all", cost_parts, f"{t.name}: total cost = sum of categories")
    return None


def tab_kosten_huishoudtype(b: Builder, t: Table) -> None:
    _partition_mean_table(b, t, "type", "all", "households of type")


def tab_kosten_kinderen(b: Builder, t: Table) -> None:
    _partition_mean_table(b, t, "kids", "all", "households with children")
    listed = {l for _, (l, *_) in b.rows_of(t)}
    for label in ("0", "1", "2", "3+"):
        if label not in listed:
            b.zero(f"n:kids={label}", f"{t.name} has no row {label}")


def tab_kosten_woonachtig(b: Builder, t: Table) -> None:
    _partition_mean_table(b, t, "res", "all", "households")
    listed = {l for _, (l, *_) in b.rows_of(t)}
    if "vertrokken" not in listed:
        b.zero("n:res=vertrokken", f"{t.name} has no row vertrokken")
    b.resident_all = "n:res=vertrokken"


def tab_huishoudens_naar_type(b: Builder, t: Table) -> None:
    parts = []
    for row, (label, *_) in b.rows_of(t):
        if b.is_total(label):
            b.count_cell(t, row, "n_households", b.pop_var(t), "all households")
            continue
        parts.append(f"n:type={label}")
        b.group(f"type={label}", f"n:type={label}", parents=["all"])
        b.count_cell(t, row, "n_households", f"n:type={label}", f"households of type {label}")
    b.partition(b.pop_var(t), parts, f"{t.name}: Totaal = sum of types")
    b.types = [l for _, (l, *_) in b.rows_of(t) if not b.is_total(l)]


def tab_personen_naar_positie(b: Builder, t: Table) -> None:
    """Households and persons by position in the household (a table about households).

    Per position: ``n_households`` = households with at least one person in that position
    (``n:pos=<position>``) and the persons in that position (``p:pos=<position>``, a sum or a mean
    per household); Totaal: every household once and every person. The definitions its notes state
    tie the positions to the household types (:data:`POSITION_DEFINITIONS`): only those are used."""
    n_all = b.pop_var(t)
    persons = next((c for c in t.columns if c.startswith("sum_") and "personen" in c), None)
    mean = None if persons else next((c for c in t.columns if c.startswith("mean_") and "personen" in c), None)

    def persons_cell(row: dict, var: str, count: str, what: str) -> None:
        """The persons of a row: a sum (a count of persons, not money) or a mean per household."""
        if mean:
            b.mean_cell(t, row, mean, var, count, what, money=False)
            return
        if not persons or persons not in row:
            return
        cell = t.cell(row, persons)
        if cell.suppressed:
            b.targets.append(Target(cell, "sum", {var: 1.0}, 0.0, 1.0, what))
        elif cell.value is not None:
            lo, hi = cell.interval()
            b.m.add({var: 1.0}, lo, hi, F_PUBLISHED, f"{cell.name} = {cell.text} ({what})")

    households, person_parts, listed = [], [], set()
    for row, (label, *_) in b.rows_of(t):
        if b.is_total(label):
            b.count_cell(t, row, "n_households", n_all, "all households")
            persons_cell(row, "p:all", n_all, "all persons")
            continue
        listed.add(label)
        n, p = f"n:pos={label}", f"p:pos={label}"
        households.append(n)
        person_parts.append(p)
        b.count_cell(t, row, "n_households", n, f"households with a person in position {label}")
        persons_cell(row, p, n, f"persons in position {label}")
        # Every household with a person in a position has at least one.
        b.m.ge({p: 1.0, n: -1.0}, 0.0, F_PERSONS, f"at least one {label} per household with one")
    # Every household has a person in some position; a household can have several positions.
    b.cover(n_all, households, f"{t.name}: households by position")
    b.partition("p:all", person_parts, f"{t.name}: all persons = sum of the persons per position")
    for label in ("alleenstaande", "ouder in eenoudergezin", "partner", "thuiswonend kind", "overig lid"):
        if label not in listed:
            b.zero(f"n:pos={label}", f"{t.name} has no row {label}")
            b.zero(f"p:pos={label}", f"{t.name} has no row {label}")
    # Children at home: the households with children are those with 1, 2 or 3+ children at home
    # (kosten_kinderen counts "thuiswonende kinderen", the same persons as this table's position).
    b.m.eq({"n:pos=thuiswonend kind": 1.0, "n:kids=1": -1.0, "n:kids=2": -1.0, "n:kids=3+": -1.0}, 0.0,
           F_PERSONS, "households with a child at home = households with 1, 2 or 3+ children")
    b.m.ge({"p:pos=thuiswonend kind": 1.0, "n:kids=1": -1.0, "n:kids=2": -2.0, "n:kids=3+": -3.0}, 0.0,
           F_PERSONS, "children at home >= sum of k x households with k children")
    # Positions against household types: only the definitions the notes of this export state.
    for clause in stated_definitions(t.notes):
        for op, expr, label in POSITION_DEFINITIONS[clause]:
            getattr(b.m, op)(expr, 0.0, F_PERSONS, label)


def stated_definitions(notes: str) -> list[str]:
    """The clauses of :data:`POSITION_DEFINITIONS` that the notes state (whitespace and case aside)."""
    text = " ".join(notes.split()).lower()
    return [clause for clause in POSITION_DEFINITIONS if clause in text]


_COUPLES = {"n:type=paar zonder kinderen": -1.0, "n:type=paar met kinderen": -1.0}
# The definitions personen_naar_positie can state, word for word as its notes write them (lower case),
# with what each says as relations (op, expr, label: expr op 0). The notes state only those that hold
# in the export: on the CBS route positions and types determine each other, on the municipal route (a
# household is an address, positions are the BRP's codes) a type only implies some positions.
POSITION_DEFINITIONS: dict[str, list[tuple[str, dict[str, float], str]]] = {
    "een eenpersoonshuishouden bestaat uit één alleenstaande, en een alleenstaande woont alleen": [
        ("eq", {"n:pos=alleenstaande": 1.0, "n:type=eenpersoons": -1.0},
         "households with an alleenstaande = one-person households"),
        ("eq", {"p:pos=alleenstaande": 1.0, "n:pos=alleenstaande": -1.0}, "one alleenstaande per one-person household"),
    ],
    "een eenpersoonshuishouden bestaat uit één persoon, een alleenstaande": [
        ("ge", {"n:pos=alleenstaande": 1.0, "n:type=eenpersoons": -1.0},
         "every one-person household has an alleenstaande"),
    ],
    "een eenoudergezin heeft één ouder in eenoudergezin, en een ouder in eenoudergezin woont in een eenoudergezin": [
        ("eq", {"n:pos=ouder in eenoudergezin": 1.0, "n:type=eenouder": -1.0},
         "households with a parent in a one-parent family = one-parent households"),
        ("eq", {"p:pos=ouder in eenoudergezin": 1.0, "n:pos=ouder in eenoudergezin": -1.0},
         "one parent per one-parent household"),
    ],
    "een eenoudergezin heeft ten minste één ouder in eenoudergezin": [
        ("ge", {"n:pos=ouder in eenoudergezin": 1.0, "n:type=eenouder": -1.0},
         "every one-parent household has a parent in a one-parent family"),
    ],
    "een paar (met of zonder kinderen) heeft twee partners, en partners wonen in een paar": [
        ("eq", {"n:pos=partner": 1.0, **_COUPLES}, "households with partners = couple households"),
        ("eq", {"p:pos=partner": 1.0, "n:pos=partner": -2.0}, "two partners per couple household"),
    ],
    "een paar (met of zonder kinderen) heeft ten minste twee partners": [
        ("ge", {"n:pos=partner": 1.0, **_COUPLES}, "every couple household has partners"),
        ("ge", {"p:pos=partner": 1.0, **{k: 2 * v for k, v in _COUPLES.items()}},
         "at least two partners per couple household"),
    ],
    "een paar met kinderen en een eenoudergezin hebben thuiswonende kinderen, een paar zonder kinderen en een "
    "eenpersoonshuishouden niet": [
        ("ge", {"n:pos=thuiswonend kind": 1.0, "n:type=paar met kinderen": -1.0, "n:type=eenouder": -1.0},
         "couples with children and one-parent households have a child at home"),
        ("ge", {"n:kids=0": 1.0, "n:type=eenpersoons": -1.0, "n:type=paar zonder kinderen": -1.0},
         "one-person households and couples without children have no children"),
    ],
    "thuiswonende kinderen wonen bij hun ouder(s), in een paar met kinderen of een eenoudergezin": [
        ("le", {"n:pos=thuiswonend kind": 1.0, "n:type=paar met kinderen": -1.0, "n:type=eenouder": -1.0},
         "children at home live in couples with children and one-parent households"),
    ],
    "een overig huishouden heeft ten minste één overig lid": [
        ("ge", {"n:pos=overig lid": 1.0, "n:type=overig": -1.0}, "an 'overig' household has at least one other member"),
    ],
}


def _ranked_band(b: Builder, t: Table, row: dict, label: str, base, base_name: str) -> tuple[str, str] | None:
    """A band of ranked households (from, to] as fractions of ``base`` households: its count is
    ceil(to N) - ceil(from N) (the notes' definition), its cost a difference of nested top groups."""
    band = band_of(label)
    if band is None or base is None:
        return None
    lo_share, hi_share = band
    k_lo = (0, 0) if lo_share <= 0 else b.k_range(lo_share, base)
    k_hi = b.k_range(hi_share, base)
    glabel = f"{t.name} '{label}': ranks {k_lo[0] + 1}..{k_hi[1]} of {base_name}"
    expr: dict[str, float] = dict(b.rank_range(*k_hi, glabel)) if k_hi[1] > 0 else {}
    if k_lo[1] > 0:
        for v, c in b.rank_range(*k_lo, glabel).items():
            expr[v] = expr.get(v, 0.0) - c
    size = (k_hi[0] - k_lo[1], k_hi[1] - k_lo[0])
    nvar, cvar = f"n:rankgroup={t.name}|{label}", f"cost:rankgroup={t.name}|{label}"
    b.m.add({nvar: 1.0}, max(0, size[0]), size[1], F_RANK, f"{glabel}: ceil(x N) households")
    e = dict(expr)
    e[cvar] = e.get(cvar, 0.0) - 1.0
    b.m.eq(e, 0.0, F_RANK, f"{glabel}: cost = difference of nested top groups")
    b.pairs.append((nvar, cvar, glabel))
    return nvar, cvar


def _concentration(b: Builder, t: Table) -> None:
    """concentratie_top / concentratie_lorenz: shares of all costs of nested ranked groups."""
    for row in t.rows:
        seg = row.get("segment", "")
        if seg == "all" or b.is_total(seg):
            b.count_cell(t, row, "n_households", b.pop_var(t), "all households")
            b.share_cell(t, row, "share_of_kosten_pct", "cost:all", "cost:all", "all cost", kind="sum", money=True)
            continue
        base, base_name = b.rank_base(t)
        got = _ranked_band(b, t, row, seg, base, base_name)
        if got is None:
            continue
        nvar, cvar = got
        b.count_cell(t, row, "n_households", nvar, f"households in {seg}")
        b.share_cell(t, row, "share_of_kosten_pct", cvar, "cost:all", f"cost of {seg}", kind="sum", money=True)


def tab_kosten_topgroepen(b: Builder, t: Table) -> None:
    for row, (label, *_) in b.rows_of(t):
        if b.is_total(label):
            b.count_cell(t, row, "n_households", b.pop_var(t), "households of the ranking")
            b.mean_cell(t, row, "mean_kosten", "cost:all", b.pop_var(t), "cost of all households of the ranking")
            continue
        base, base_name = b.rank_base(t)
        got = _ranked_band(b, t, row, label, base, base_name)
        if got is None:
            continue
        nvar, cvar = got
        b.count_cell(t, row, "n_households", nvar, f"households in {label}")
        b.mean_cell(t, row, "mean_kosten", cvar, nvar, f"cost of {label}")


def tab_combinaties_duurste(b: Builder, t: Table) -> None:
    m = re.search(r"duurste (\d+(?:[.,]\d+)?)\s*%", t.title + " " + t.population)
    base, base_name = b.rank_base(t)
    if not m or base is None:
        return
    share = float(m.group(1).replace(",", ".")) / 100
    k = b.k_range(share, base)
    b.top_share, b.top_k = share, k
    cost_top = b.rank_range(*k, f"{t.name}: the {share:.0%} most expensive households with costs")
    b.m.add({"n:top": 1.0}, k[0], k[1], F_RANK, f"{t.name}: top {share:.0%} of {base_name} ({base}) = ceil(x N) households")
    e = dict(cost_top)
    e["cost:top"] = -1.0
    b.m.eq(e, 0.0, F_RANK, f"{t.name}: cost of the top group = cost of the top {k} ranks")
    labels = {label for _, (label, *_) in b.rows_of(t)}
    # The ranking holds every household, also those without costs: where fewer households have costs
    # than the top group counts, it holds households without any domain ('geen', or pooled in
    # 'overige combinaties' when fewer than min_units). It is inside 'cost' when neither row is there,
    # or there is no 'geen' row and at least k households have costs (bereik_per_domein).
    with_costs = b._published_count("bereik_per_domein", domein=b.total) if "geen" not in labels else None
    inside_cost = not labels & {"geen", "overige combinaties"} or (with_costs is not None and with_costs[0] >= k[1])
    b.group("top", "n:top", "cost:top", parents=["cost"] if inside_cost else ["all"], label=f"the top {share:.0%}")
    parts_n, parts_s, listed = [], [], []
    for row, (label, *_) in b.rows_of(t):
        if b.is_total(label):
            b.count_cell(t, row, "n_households", "n:top", "top group")
            b.sum_cell(t, row, "sum_kosten", "cost:top", "cost of the top group")
            continue
        if label == "overige combinaties":
            n, s = "n:top&rest", "cost:top&rest"
        elif label == "geen":
            n, s = "n:top&prof=0", "cost:top&prof=0"
            listed.append(0)
            b.zero(s, "top households without domains have no cost")
            b.subset(n, b.prof(0), "top households without domains <= all households without domains")
        else:
            mask = b.mask_of(label.split("+"))
            if mask is None:
                n, s = f"n:top&combo={label}", f"cost:top&combo={label}"
                b.zero(n, f"{label}: a domain without households")
            else:
                listed.append(mask)
                n, s = f"n:top&prof={mask}", f"cost:top&prof={mask}"
                b.group(f"top&prof={mask}", n, s, parents=["top", f"prof={mask}"],
                        label=f"top group with exactly {label}")
                b.subset(n, b.prof(mask), f"top households with exactly {label} <= all households with exactly it")
        parts_n.append(n)
        parts_s.append(s)
        b.count_cell(t, row, "n_households", n, f"top households with {label}")
        b.sum_cell(t, row, "sum_kosten", s, f"cost of top households with {label}")
    b.partition("n:top", parts_n, f"{t.name}: Totaal = sum of combinations")
    b.partition("cost:top", parts_s, f"{t.name}: total cost = sum of combinations")
    b.top_listed = listed
    if b.lattice:
        listed_set = set(listed)
        # 'overige combinaties' pools the rare combinations, 'geen' among them when it is not listed.
        rest = b.lattice_set("rest_of_top_listing", lambda p: p not in listed_set,
                             "households with a combination (or none) not listed in combinaties_duurste")
        b.subset("n:top&rest", rest, "top households with other combinations <= all households with them")


def tab_samenhang_combinaties_kosten(b: Builder, t: Table) -> None:
    parts_n, parts_s, listed = [], [], []
    share_col = next((c for c in t.columns if "aandeel" in c), None)
    for row, (label, *_) in b.rows_of(t):
        if b.is_total(label):
            b.count_cell(t, row, "n_households", b.pop_var(t), "all households")
            b.sum_cell(t, row, "sum_kosten", "cost:all", "all cost")
            continue
        if label == "overige combinaties":
            n, s = "n:prof=rest", "cost:prof=rest"
        elif label == "geen":
            n, s = b.prof(0), "cost:prof=0"
            b.zero(s, "households without domains have no cost")
            listed.append(0)
        else:
            mask = b.mask_of(label.split("+"))
            if mask is None:
                n, s = f"n:combo={label}", f"cost:combo={label}"
                b.zero(n, f"{label}: a domain without households")
            else:
                listed.append(mask)
                n, s = b.prof(mask), f"cost:prof={mask}"
                b.group(f"prof={mask}", n, s, parents=["all"], label=f"households with exactly {label}",
                        bits=(1 << mask) if b.lattice else None)
                names = [d.strip() for d in label.split("+")]
                if len(names) == 1:
                    b.subset(s, f"cost.d={names[0]}:all", f"cost of households with only {names[0]} is {names[0]} cost")
        parts_n.append(n)
        parts_s.append(s)
        b.count_cell(t, row, "n_households", n, f"households with exactly {label}")
        if "sum_kosten" in row:
            b.sum_cell(t, row, "sum_kosten", s, f"cost of households with exactly {label}")
        if share_col and (("sum_kosten" not in row) or not t.cell(row, share_col).suppressed):
            b.share_cell(t, row, share_col, s, "cost:all", f"share of all cost of {label}", kind="sum", money=True)
    b.partition(b.pop_var(t), parts_n, f"{t.name}: Totaal = sum of combinations")
    b.partition("cost:all", parts_s, f"{t.name}: total cost = sum of combinations")
    b.comb_listed = listed
    if b.lattice:
        listed_set = set(listed)
        rest = b.lattice_set("prof=rest", lambda p: p != 0 and p not in listed_set,
                             "households with a combination pooled in 'overige combinaties'")
        # Domain cost is at most the cost of households that have the domain.
        for d in b.items:
            expr = {f"cost.d={d}:all": 1.0, "cost:all": -1.0}
            for mask in listed:
                if mask and not mask & b.bit[d]:
                    expr[f"cost:prof={mask}"] = expr.get(f"cost:prof={mask}", 0.0) + 1.0
            b.m.le(expr, 0.0, F_LATTICE, f"cost in {d} <= all cost - cost of listed combinations without {d}")


def tab_samenhang_combinaties(b: Builder, t: Table) -> None:
    masks = []
    for row, (label, *_) in b.rows_of(t):
        if b.is_total(label):
            continue
        var = b.items_var(label.split("+"))
        b.count_cell(t, row, "n_households", var, f"households with at least {label}")
        m = b.mask_of(label.split("+"))
        if m is not None:
            masks.append(m)
    for row, (label, *_) in b.rows_of(t):
        if b.is_total(label) and b.lattice:
            var = b.lattice_set("anyof_frequent", lambda p: any(p & m == m for m in masks),
                                "households with at least one listed combination")
            b.count_cell(t, row, "n_households", var, "households with a listed combination")


def _rule_counts(b: Builder, t: Table, row: dict, a_names: list[str], c_names: list[str]) -> None:
    A = b.items_var(a_names)
    AC = b.items_var(a_names + c_names)
    C = b.items_var(c_names)
    label = f"{' + '.join(a_names)} -> {' + '.join(c_names)}"
    b.count_cell(t, row, "n_households_antecedent", A, f"households with {' + '.join(a_names)}")
    if "n_households_consequent" in row:
        b.count_cell(t, row, "n_households_consequent", C, f"households with {' + '.join(c_names)}")
    rule_cell = t.cell(row, "n_households_rule") if "n_households_rule" in row else None
    b.count_cell(t, row, "n_households_rule", AC, f"households with {' + '.join(sorted(a_names + c_names))}")
    suppressed_rule = rule_cell is not None and rule_cell.suppressed
    for col in t.columns:
        if col.startswith("support"):
            if not (suppressed_rule and t.cell(row, col).suppressed):
                b.share_cell(t, row, col, AC, "n:all", f"support of {label}")
        elif col.startswith("confidence"):
            if not (suppressed_rule and t.cell(row, col).suppressed):
                b.share_cell(t, row, col, AC, A, f"confidence of {label}")
        elif col == "lift":
            cell = t.cell(row, col)
            if not cell.suppressed and cell.value is not None:
                lo, hi = cell.interval()
                b.nonlinear.append(Nonlinear(F_ASSOC, f"{cell.name} = {cell.text}: lift = n_rule N / (n_a n_c)",
                                             C, {"a": A, "ac": AC, "n": "n:all"},
                                             metric_rule_lift, lo, hi,
                                             bool(t.rounding_base)))
    b.subset(AC, A, f"{label}: households with the rule have the antecedent", F_LATTICE)
    b.subset(AC, C, f"{label}: households with the rule have the consequent", F_LATTICE)


def tab_samenhang_paren(b: Builder, t: Table) -> None:
    for row in t.rows:
        a, c = row.get("antecedent", ""), row.get("consequent", "")
        if not a or not c:
            continue
        _rule_counts(b, t, row, [x.strip() for x in a.split("+")], [x.strip() for x in c.split("+")])


def tab_samenhang_regels(b: Builder, t: Table) -> None:
    tab_samenhang_paren(b, t)
    b.rules_rows = {(r.get("antecedent"), r.get("consequent")): r for r in t.rows}


def tab_samenhang_regels_maten(b: Builder, t: Table) -> None:
    rules = b.t("samenhang_regels")
    if rules is None:
        return
    rounded = bool(t.rounding_base) or "gepubliceerde aantallen" in t.notes
    for row in t.rows:
        a_names = [x.strip() for x in row.get("antecedent", "").split("+")]
        c_names = [x.strip() for x in row.get("consequent", "").split("+")]
        A, AC, C = b.items_var(a_names), b.items_var(a_names + c_names), b.items_var(c_names)
        for col, f in (("leverage", metric_leverage), ("conviction", metric_conviction), ("zhang", metric_zhang)):
            if col not in row:
                continue
            cell = t.cell(row, col)
            if cell.suppressed or cell.value is None:
                continue
            lo, hi = cell.interval()
            b.nonlinear.append(Nonlinear(F_ASSOC, f"{cell.name} = {cell.text}: {col} of the rule", C,
                                         {"a": A, "ac": AC, "n": "n:all"}, f, lo, hi, rounded))


def tab_samenhang_paren_maten(b: Builder, t: Table) -> None:
    for row in t.rows:
        a, c = row.get("domein_a", ""), row.get("domein_b", "")
        if not a or not c:
            continue
        A, B, AB = b.dom(a), b.dom(c), b.items_var([a, c])

        for col, f in (("phi", metric_phi), ("odds_ratio", metric_odds), ("lift", metric_pair_lift)):
            if col not in row:
                continue
            cell = t.cell(row, col)
            if cell.suppressed or cell.value is None:
                continue
            lo, hi = cell.interval()
            b.nonlinear.append(Nonlinear(F_ASSOC, f"{cell.name} = {cell.text}: {col} of the pair", AB,
                                         {"a": A, "c": B, "n": "n:all"}, f, lo, hi, bool(t.rounding_base)))


def _profile_table(b: Builder, t: Table, typ: str) -> None:
    """Cluster/class profiles: per type its size, domain shares, mean costs, composition."""
    m = re.search(r"met kosten in ten minste (\d+) domein", t.population)
    min_dom = int(m.group(1)) if m else 1
    clu = "cost" if min_dom <= 1 else f"clustered{min_dom}"
    if clu != "cost" and b.lattice:
        b.lattice_set(clu, lambda p: bin(p).count("1") >= min_dom, f"households with >= {min_dom} domains")
    b.clustered = clu
    rows = []
    for row, (label, *_) in b.rows_of(t):
        g = clu if b.is_total(label) else f"{typ}={label}"
        rows.append((row, label, g))
    # Column meanings.
    dom_share, dom_count, dom_cost, type_share, other = {}, {}, {}, {}, {}
    for c in t.columns:
        if c in t.label_columns:
            continue
        base = re.sub(r"^(mean_|sum_|n_)", "", c)
        if c == "n_households":
            continue
        if re.match(r"^(mean_)?pct_type_", c):
            type_share[c] = re.sub(r"^(mean_)?pct_type_", "", c)
        elif re.match(r"^(mean_)?pct_(.+)_hoog$", c):
            continue
        elif re.match(r"^(mean_)?pct_", c):
            dom_share[c] = re.sub(r"^(mean_)?pct_", "", c)
        elif re.match(r"^n_(households_)?(.+)$", c) and re.sub(r"^n_(households_)?", "", c) in b.domains:
            dom_count[c] = re.sub(r"^n_(households_)?", "", c)
        elif re.match(r"^(mean_|sum_)?kosten_", c):
            dom_cost[c] = re.sub(r"^(mean_|sum_)?kosten_", "", c)
        elif base in ("aantal_domeinen", "aantal_personen", "aantal_kinderen"):
            other[c] = base
    type_names = {}
    for slug in type_share.values():
        type_names[slug] = next((tt for tt in getattr(b, "types", []) if re.sub(r"[^a-z0-9]+", "_", tt) == slug),
                                slug.replace("_", " "))
    for row, label, g in rows:
        n = f"n:{g}" if g != "cost" else "n:cost"
        b.count_cell(t, row, "n_households", n, f"households in {label}")
        for c, d in dom_share.items():
            part = b.dom(d) if g == "cost" else (
                b.lattice_set(f"{clu}&dom={d}", lambda p, bit=b.bit.get(d, 0), k=min_dom:
                              p & bit and bin(p).count("1") >= k, f"clustered households with {d}")
                if g == clu else f"n:{g}&dom={d}")
            if d in b.zero_domains:
                b.zero(part, f"domain {d} has no households")
            b.share_cell(t, row, c, part, n, f"households of {label} with {d}")
        for c, d in dom_count.items():
            part = b.dom(d) if g == "cost" else f"n:{g}&dom={d}"
            b.count_cell(t, row, c, part, f"households of {label} with {d}")
        for c, d in dom_cost.items():
            s = (f"cost.d={d}:all" if g == "cost" else f"cost.d={d}:{g}") if d != "totaal" else (
                "cost:all" if g == "cost" else f"cost:{g}")
            if c.startswith("sum_"):
                b.sum_cell(t, row, c, s, f"cost in {d} of {label}")
            else:
                b.mean_cell(t, row, c, s, n, f"cost in {d} of {label}")
        for c, slug in type_share.items():
            part = f"n:{g}&type={type_names[slug]}"
            b.share_cell(t, row, c, part, n, f"households of {label} of type {type_names[slug]}")
        for c, what in other.items():
            s = f"sumof.{what}:{g}"
            if c.startswith("sum_"):
                b.sum_cell(t, row, c, s, f"{what} of {label}")
            else:
                b.mean_cell(t, row, c, s, n, f"sum of {what} in {label}", money=False)
    type_rows = [(row, label, g) for row, label, g in rows if g != clu]
    if not type_rows:
        return
    groups = [g for _, _, g in type_rows]
    tot = "n:cost" if clu == "cost" else f"n:{clu}"
    b.partition(tot, [f"n:{g}" for g in groups], f"{t.name}: Totaal = sum of types")
    for d in b.domains:
        tot_d = b.dom(d) if clu == "cost" else f"n:{clu}&dom={d}"
        b.partition(tot_d, [f"n:{g}&dom={d}" for g in groups], f"{t.name}: {d} Totaal = sum over types")
        b.partition(f"cost.d={d}:all" if clu == "cost" else f"cost.d={d}:{clu}",
                    [f"cost.d={d}:{g}" for g in groups], f"{t.name}: cost in {d}, Totaal = sum over types")
        for g in groups:
            b.subset(f"n:{g}&dom={d}", f"n:{g}", f"{g}: households with {d} <= households", F_IDENTITY)
            b.pairs.append((f"n:{g}&dom={d}", f"cost.d={d}:{g}", f"{g} {d}"))
        if d in b.zero_domains:
            for g in groups:
                b.zero(f"n:{g}&dom={d}", f"domain {d} has no households")
    b.partition("cost:all" if clu == "cost" else f"cost:{clu}", [f"cost:{g}" for g in groups],
                f"{t.name}: total cost = sum over types")
    for tt in type_names.values():
        b.partition(f"n:{clu}&type={tt}", [f"n:{g}&type={tt}" for g in groups],
                    f"{t.name}: type {tt}, Totaal = sum over types")
        b.subset(f"n:{clu}&type={tt}", f"n:type={tt}", f"households of type {tt} with costs <= all of that type")
    for what in set(other.values()):
        b.partition(f"sumof.{what}:{clu}", [f"sumof.{what}:{g}" for g in groups], f"{t.name}: {what} summed")
    for g in [clu] + groups:
        n = "n:cost" if g == "cost" else f"n:{g}"
        doms = [(b.dom(d) if g == "cost" else f"n:{g}&dom={d}") for d in b.domains]
        if "aantal_domeinen" in other.values():
            e = {f"sumof.aantal_domeinen:{g}": 1.0}
            for v in doms:
                e[v] = e.get(v, 0.0) - 1.0
            b.m.eq(e, 0.0, F_IDENTITY, f"{t.name} {g}: number of domains = sum of domain shares")
        b.m.ge({f"sumof.aantal_domeinen:{g}": 1.0, n: -float(min_dom)}, 0.0, F_IDENTITY,
               f"{g}: every clustered household has >= {min_dom} domains")
        if type_names:
            b.partition(n, [f"n:{g}&type={tt}" for tt in type_names.values()], f"{t.name} {g}: types sum to 100%",
                        F_IDENTITY)
        costs = [(f"cost.d={d}:all" if g == "cost" else f"cost.d={d}:{g}") for d in b.domains]
        b.partition("cost:all" if g == "cost" else f"cost:{g}", costs,
                    f"{t.name} {g}: total cost = sum of domain costs", F_IDENTITY)
        b.pairs.append((n, "cost:all" if g == "cost" else f"cost:{g}", g))
        if "aantal_personen" in other.values():
            b.m.ge({f"sumof.aantal_personen:{g}": 1.0, n: -1.0}, 0.0, F_IDENTITY, f"{g}: >= 1 person per household")
    if "aantal_personen" in other.values():
        b.m.le({f"sumof.aantal_personen:{clu}": 1.0, "p:all": -1.0}, 0.0, F_PERSONS,
               "persons in clustered households <= all persons")
    if "aantal_kinderen" in other.values():
        b.m.le({f"sumof.aantal_kinderen:{clu}": 1.0, "p:pos=thuiswonend kind": -1.0}, 0.0, F_PERSONS,
               "children in clustered households <= all children at home")
    if b.lattice and "aantal_domeinen" in other.values() and clu == "cost":
        e = {"sumof.aantal_domeinen:cost": 1.0}
        for p in range(1, b.n_masks):
            e[b.prof(p)] = -float(bin(p).count("1"))
        b.m.eq(e, 0.0, F_LATTICE, "number of domains summed = sum over profiles of their size")
    b.typologies = getattr(b, "typologies", {})
    b.typologies[typ] = groups


def tab_samenhang_clusters(b: Builder, t: Table) -> None:
    _profile_table(b, t, "cl")


def tab_samenhang_klassen(b: Builder, t: Table) -> None:
    _profile_table(b, t, "kl")


def tab_samenhang_clusters_klassen(b: Builder, t: Table) -> None:
    clu = getattr(b, "clustered", "cost")
    tot = "n:cost" if clu == "cost" else f"n:{clu}"
    cells: dict[tuple[str, str], str] = {}
    for row in t.rows:
        c, k = row.get("cluster", ""), row.get("klasse", "")
        if b.is_total(c) and b.is_total(k):
            var = tot
        elif b.is_total(c):
            var = f"n:kl={k}"
        elif b.is_total(k):
            var = f"n:cl={c}"
        else:
            var = f"n:cl={c}&kl={k}"
            cells[(c, k)] = var
        b.count_cell(t, row, "n_households", var, f"households in cluster {c} and class {k}")
    clusters = sorted({c for c, _ in cells})
    classes = sorted({k for _, k in cells})
    for c in clusters:
        b.partition(f"n:cl={c}", [cells[(c, k)] for k in classes if (c, k) in cells], f"{t.name}: {c} = sum of classes")
    for k in classes:
        b.partition(f"n:kl={k}", [cells[(c, k)] for c in clusters if (c, k) in cells], f"{t.name}: {k} = sum of clusters")
    b.partition(tot, [f"n:cl={c}" for c in clusters], f"{t.name}: Totaal = sum of clusters")
    b.partition(tot, [f"n:kl={k}" for k in classes], f"{t.name}: Totaal = sum of classes")


# --- selection ----------------------------------------------------------------------------
def parse_selection(notes: str) -> dict | None:
    m = re.search(r"Selectiecriteria: (.*)$", notes, flags=re.M)
    if not m:
        return None
    text = m.group(1).strip()
    if text.endswith("."):
        text = text[:-1]
    crit = {"resident_only": "; nog woonachtig in het onderzoeksgebied" in text}
    text = text.replace("; nog woonachtig in het onderzoeksgebied", "")
    mm = re.search(r"de duurste (\d+(?:[.,]\d+)?)% van (?:de|alle) huishoudens( met kosten)?", text)
    crit["top_share"] = float(mm.group(1).replace(",", ".")) / 100 if mm else 0.0
    crit["top_with_costs"] = bool(mm and mm.group(2))
    mm = re.search(r"kosten in minstens (\d+) domeinen", text)
    crit["min_domains"] = int(mm.group(1)) if mm else 0
    mm = re.search(r"een van de combinaties (.*?)(?: en | of |$)", text)
    crit["combinations"] = ([[d.strip() for d in c.split("+")] for c in mm.group(1).split(";")] if mm else [])
    mm = re.search(r"minstens EUR ([\d,.]+) kosten", text)
    crit["min_cost"] = float(mm.group(1).replace(",", "")) if mm else 0.0
    n_criteria = sum(bool(crit[k]) for k in ("top_share", "min_domains", "combinations", "min_cost"))
    crit["combine"] = "any" if (n_criteria > 1 and " of " in text) else "all"
    return crit


def _selection_setup(b: Builder, t: Table) -> dict | None:
    if getattr(b, "selection", None) is not None:
        return b.selection
    crit = parse_selection(t.notes)
    b.selection = crit
    if crit is None:
        return None
    b.group("sel", "n:sel", "cost:sel", parents=["cost"], label="selected households")
    all_resident = b.published_single.get("n:res=vertrokken") == (0.0, 0.0) or (
        b.t("kosten_woonachtig") is not None and "vertrokken" not in
        {r[_label_col(b.t("kosten_woonachtig"))] for r in b.t("kosten_woonachtig").rows})
    exact_resident = (not crit["resident_only"]) or all_resident
    crit["exact"] = exact_resident
    sel_fam = F_SELECTION
    lattice_preds = []
    if crit["min_domains"]:
        k = crit["min_domains"]
        lattice_preds.append(lambda p, k=k: bin(p).count("1") >= k)
    if crit["combinations"]:
        masks = [b.mask_of(c) for c in crit["combinations"]]
        masks = [m for m in masks if m is not None]
        lattice_preds.append(lambda p, masks=tuple(masks): any(p & m == m for m in masks))
    has_rank = crit["top_share"] > 0
    has_cost = crit["min_cost"] > 0
    if crit["min_cost"] > 0:
        b.m.ge({"cost:sel": 1.0, "n:sel": -crit["min_cost"] * MONEY}, 0.0, sel_fam,
               f"every selected household costs at least EUR {crit['min_cost']:,.0f}")
    pred = None
    if lattice_preds:
        if crit["combine"] == "all" or len(lattice_preds) + has_rank + has_cost == 1:
            pred = lambda p, ps=tuple(lattice_preds): all(f(p) for f in ps)
        else:
            pred = lambda p, ps=tuple(lattice_preds): any(f(p) for f in ps)
    only_lattice = pred is not None and not has_rank and not has_cost
    crit["pred"] = pred
    crit["only_lattice"] = only_lattice and exact_resident and b.lattice
    if b.lattice and pred is not None:
        var = b.lattice_set("selcrit", pred, "households meeting the domain criteria of the selection")
        if crit["only_lattice"]:
            b.same("n:sel", var, "the selection = the households meeting its domain criteria")
        elif crit["combine"] == "all":
            b.subset("n:sel", var, "selected households meet the domain criteria", sel_fam)
    base, _ = b.rank_base(t, "huishoudens met kosten" if crit.get("top_with_costs") else "huishoudens")
    if has_rank and base is not None:
        k = b.k_range(crit["top_share"], base)
        top_cost = b.rank_range(*k, f"selection: the top {crit['top_share']:.1%} of households with costs")
        if not lattice_preds and not has_cost and exact_resident:
            b.m.add({"n:sel": 1.0}, k[0], k[1], sel_fam, f"selection = top {crit['top_share']:.1%}: ceil(x N) households")
            e = dict(top_cost)
            e["cost:sel"] = -1.0
            b.m.eq(e, 0.0, sel_fam, f"selection = the top {crit['top_share']:.1%}: its cost is the top-{k} cost")
            crit["is_top"] = k
        elif crit["combine"] == "all":
            b.m.le({"n:sel": 1.0}, k[1], sel_fam, "selected households are in the top group")
            e = {"cost:sel": 1.0}
            for v, c in top_cost.items():
                e[v] = -c
            b.m.le(e, 0.0, sel_fam, "selected households are in the top group: cost <= cost of the top group")
    return crit


def tab_selectie_huishoudtype(b: Builder, t: Table) -> None:
    crit = _selection_setup(b, t)
    parts, listed = [], set()
    for row, (label, *_) in b.rows_of(t):
        if b.is_total(label):
            b.count_cell(t, row, "n_households", "n:sel", "selected households")
            continue
        listed.add(label)
        var = f"n:sel&type={label}"
        parts.append(var)
        b.group(f"sel&type={label}", var, parents=["sel", f"type={label}"])
        b.count_cell(t, row, "n_households", var, f"selected households of type {label}")
        b.subset(var, f"n:type={label}", f"selected households of type {label} <= households of that type")
    for tt in getattr(b, "types", []):
        if tt not in listed:
            b.zero(f"n:sel&type={tt}", f"{t.name} has no row {tt}")
    b.partition("n:sel", parts, f"{t.name}: Totaal = sum of types")


def tab_selectie_domeinen(b: Builder, t: Table) -> None:
    crit = _selection_setup(b, t) or {}
    parts_n, parts_s, listed = [], [], set()
    for row, (label, *_) in b.rows_of(t):
        if b.is_total(label):
            b.count_cell(t, row, "n_households", "n:sel", "selected households")
            b.sum_cell(t, row, "sum_kosten", "cost:sel", "cost of the selected households")
            continue
        listed.add(label)
        n, s = f"n:sel&dom={label}", f"cost.d={label}:sel"
        parts_n.append(n)
        parts_s.append(s)
        b.pairs.append((n, s, f"selected with {label}"))
        b.group(f"sel&dom={label}", n, parents=["sel", f"dom={label}"])
        b.count_cell(t, row, "n_households", n, f"selected households with {label}")
        b.sum_cell(t, row, "sum_kosten", s, f"cost in {label} of the selected households")
        b.subset(n, b.dom(label), f"selected households with {label} <= households with {label}")
        b.subset(s, f"cost.d={label}:all", f"cost in {label} of the selected <= all cost in {label}")
    for d in b.domains:
        if d not in listed:
            b.zero(f"n:sel&dom={d}", f"{t.name} has no row {d}")
            b.zero(f"cost.d={d}:sel", f"{t.name} has no row {d}")
    b.cover("n:sel", parts_n, f"{t.name}: domains overlap")
    b.partition("cost:sel", parts_s, f"{t.name}: total cost = sum of domain costs", F_IDENTITY)
    b.subset("cost:sel", "cost:all", "selected cost <= all cost")
    b.pairs.append(("n:sel", "cost:sel", "selected"))
    if crit.get("only_lattice") and b.lattice:
        for d in b.items:
            var = b.lattice_set(f"selcrit&dom={d}", lambda p, bit=b.bit[d], f=crit["pred"]: p & bit and f(p),
                                f"households meeting the selection criteria with {d}")
            b.same(f"n:sel&dom={d}", var, f"selected households with {d} = profiles meeting the criteria with {d}")
    if crit.get("is_top") and crit.get("is_top") == getattr(b, "top_k", None):
        # The selection is the top group of combinaties_duurste: its domains follow from the combinations.
        listed_masks = getattr(b, "top_listed", [])
        for d in b.items:
            with_d = [f"n:top&prof={m}" for m in listed_masks if m & b.bit[d]]
            e_lo = {f"n:sel&dom={d}": 1.0}
            for v in with_d:
                e_lo[v] = e_lo.get(v, 0.0) - 1.0
            b.m.ge(e_lo, 0.0, F_SELECTION, f"selected with {d} >= listed top combinations with {d}")
            e_hi = dict(e_lo)
            e_hi["n:top&rest"] = -1.0
            b.m.le(e_hi, 0.0, F_SELECTION, f"selected with {d} <= listed top combinations with {d} + other combinations")
        b.same("n:sel", "n:top", "the selection is the top group of combinaties_duurste")
        b.same("cost:sel", "cost:top", "the selection is the top group of combinaties_duurste")


def tab_selectie_kosten(b: Builder, t: Table) -> None:
    _selection_setup(b, t)
    parts_n, parts_s, listed = [], [], set()
    for row, (label, *_) in b.rows_of(t):
        if b.is_total(label):
            b.count_cell(t, row, "n_households", "n:sel", "selected households")
            b.mean_cell(t, row, "mean_kosten", "cost:sel", "n:sel", "cost of the selected households")
            continue
        listed.add(label)
        n, s = f"n:sel&kids={label}", f"cost:sel&kids={label}"
        parts_n.append(n)
        parts_s.append(s)
        b.group(f"sel&kids={label}", n, s, parents=["sel", f"kids={label}"])
        b.count_cell(t, row, "n_households", n, f"selected households with {label} children")
        b.mean_cell(t, row, "mean_kosten", s, n, f"cost of selected households with {label} children")
        b.subset(n, f"n:kids={label}", f"selected with {label} children <= households with {label} children")
        b.subset(s, f"cost:kids={label}", f"cost of selected with {label} children <= cost of all with them")
    for label in ("0", "1", "2", "3+"):
        if label not in listed:
            b.zero(f"n:sel&kids={label}", f"{t.name} has no row {label}")
            b.zero(f"cost:sel&kids={label}", f"{t.name} has no row {label}")
    b.partition("n:sel", parts_n, f"{t.name}: Totaal = sum of categories")
    b.partition("cost:sel", parts_s, f"{t.name}: total cost = sum of categories")


CATALOGUE = {
    "huishoudens_naar_type": (tab_huishoudens_naar_type, [F_MARGIN]),
    "kosten_woonachtig": (tab_kosten_woonachtig, [F_MARGIN, F_SHARE]),
    "bereik_aantal_domeinen": (tab_bereik_aantal_domeinen, [F_MARGIN, F_IDENTITY, F_LATTICE]),
    "bereik_per_domein": (tab_bereik_per_domein, [F_COVER, F_LATTICE, F_MISSING]),
    "bereik_per_jaar": (tab_bereik_per_jaar, [F_COVER]),
    "kosten_structureel": (tab_kosten_structureel, [F_MARGIN, F_SHARE, F_IDENTITY]),
    "kosten_domein_jaar": (tab_kosten_domein_jaar, [F_MARGIN, F_COVER, F_SAME, F_MISSING]),
    "kosten_huishoudtype": (tab_kosten_huishoudtype, [F_MARGIN, F_SHARE]),
    "kosten_kinderen": (tab_kosten_kinderen, [F_MARGIN, F_SHARE, F_MISSING]),
    "personen_naar_positie": (tab_personen_naar_positie, [F_PERSONS, F_MISSING]),
    ("concentratie_top", "concentratie_lorenz"): (_concentration, [F_RANK, F_SHARE]),
    "kosten_topgroepen": (tab_kosten_topgroepen, [F_RANK, F_SHARE]),
    "combinaties_duurste": (tab_combinaties_duurste, [F_RANK, F_MARGIN, F_LATTICE]),
    "samenhang_combinaties_kosten": (tab_samenhang_combinaties_kosten, [F_LATTICE, F_MARGIN, F_SHARE]),
    "samenhang_combinaties": (tab_samenhang_combinaties, [F_LATTICE]),
    "samenhang_paren": (tab_samenhang_paren, [F_LATTICE, F_ASSOC, F_SHARE]),
    "samenhang_regels": (tab_samenhang_regels, [F_LATTICE, F_ASSOC, F_SHARE]),
    "samenhang_regels_maten": (tab_samenhang_regels_maten, [F_ASSOC]),
    "samenhang_paren_maten": (tab_samenhang_paren_maten, [F_ASSOC]),
    "samenhang_clusters": (tab_samenhang_clusters, [F_SHARE, F_IDENTITY, F_SAME, F_MARGIN]),
    "samenhang_klassen": (tab_samenhang_klassen, [F_SHARE, F_IDENTITY, F_SAME, F_MARGIN]),
    "samenhang_clusters_klassen": (tab_samenhang_clusters_klassen, [F_MARGIN]),
    "selectie_huishoudtype": (tab_selectie_huishoudtype, [F_SELECTION, F_MARGIN, F_MISSING]),
    "selectie_domeinen": (tab_selectie_domeinen, [F_SELECTION, F_COVER, F_MISSING]),
    "selectie_kosten": (tab_selectie_kosten, [F_SELECTION, F_MARGIN, F_SHARE]),
}
"""Table -> (function adding its relations, relation families it uses). Order matters a little:
tables that fix code lists (types, residence, top group) come before tables that use them."""
