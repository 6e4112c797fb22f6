"""The attack: from an export folder alone, the interval an intruder can prove for every suppressed
quantity, the small groups that can be derived, and the published figures that should not be.

``attack(folder)`` returns a :class:`Report`. Steps:

1. read the export (``reader``) and turn every table into LP relations (``relations``);
2. solve the non-linear association measures (lift, phi, odds ratio, leverage, conviction,
   Zhang) for the one count they leave unknown, by enumerating the integer counts that
   reproduce the published value, and add the result as bounds;
3. bound the cost of the most expensive household and add "a group of n households costs at
   most n times that" for every group with a count and a cost;
4. min and max of every suppressed quantity (the dual values of each optimum name the
   relations that prove it);
5. derivable groups: bands between two published top groups, differences of nested published
   groups, groups of one or two households whose cost is pinned down;
6. flags: correlations over fewer than 10 households with both domains, monitoring estimates
   on too few households, zero standard errors, impossible residual degrees of freedom.

The monitoring cohort is a population of its own, with its own LP (``monitoring_attack``).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

import numpy as np

from .model import Bound, Infeasible, Model
from .reader import Cell, Export, Table, read_export
from .relations import F_ASSOC, F_LINK, F_MONITOR, F_PUBLISHED, F_RANK, F_SUBSET, MONEY, Builder, Flag, Target

KNOWN_REL_WIDTH = 0.2
"""A sum counts as derived when its interval is narrower than 20% of its midpoint (i.e. it is known to
within +-10%, the protection a suppressed sum must have)."""


@dataclass
class Result:
    target: Target
    lo: float
    hi: float
    chain_lo: list[tuple[str, str]]
    chain_hi: list[tuple[str, str]]

    @property
    def cell(self) -> Cell:
        return self.target.cell

    @property
    def families(self) -> list[str]:
        fams = []
        for fam, _ in self.chain_lo + self.chain_hi:
            if fam not in fams and fam != F_PUBLISHED:
                fams.append(fam)
        return fams or [F_PUBLISHED]

    def chain_text(self, limit: int = 8) -> str:
        def part(chain):
            labels = [f"[{fam}] {label}" for fam, label in chain[:limit]]
            more = f" ... (+{len(chain) - limit} more)" if len(chain) > limit else ""
            return "; ".join(labels) + more if labels else "(no relation: the variable's own bound)"
        if self.chain_lo == self.chain_hi:
            return part(self.chain_lo)
        return f"lower bound from: {part(self.chain_lo)} || upper bound from: {part(self.chain_hi)}"

    def describe(self) -> str:
        return (f"{self.cell.name} ({self.target.kind}: {self.target.what}) derived in "
                f"[{self.lo:,.2f}, {self.hi:,.2f}] via {', '.join(self.families)}")


@dataclass
class Group:
    """A group of households the intruder can single out from published figures."""
    kind: str                     # "rank band", "difference", "published", "row"
    description: str
    size_lo: float
    size_hi: float
    cost_lo: float | None = None
    cost_hi: float | None = None
    chain: list[tuple[str, str]] = field(default_factory=list)
    tables: tuple[str, ...] = ()

    @property
    def cost_known(self) -> bool:
        if self.cost_lo is None or self.cost_hi is None or not math.isfinite(self.cost_hi):
            return False
        mid = (self.cost_lo + self.cost_hi) / 2
        return mid > 0 and (self.cost_hi - self.cost_lo) < KNOWN_REL_WIDTH * mid

    def describe(self) -> str:
        size = f"{self.size_lo:g}" if self.size_lo == self.size_hi else f"{self.size_lo:g}..{self.size_hi:g}"
        cost = ""
        if self.cost_lo is not None:
            cost = f"; its total cost in [{self.cost_lo:,.0f}, {self.cost_hi:,.0f}] euro"
        return f"{self.kind}: {self.description}: {size} households{cost}"


@dataclass
class CorrelationCheck:
    table: str
    a: str
    b: str
    pair_lo: float
    pair_hi: float


@dataclass
class Report:
    folder: Path
    results: list[Result] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    correlations: list[CorrelationCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    table_errors: list[str] = field(default_factory=list)
    """Tables the intruder could not read (a changed format): their relations are missing."""
    seconds: float = 0.0
    error: str | None = None

    def summary(self) -> str:
        lines = [f"intruder on {self.folder}: {len(self.results)} suppressed quantities, "
                 f"{len(self.groups)} derivable small groups, {len(self.flags)} flags, {self.seconds:.1f} s"]
        if self.error:
            lines.append(f"ERROR: {self.error}")
        return "\n".join(lines + self.notes)


# ---------------------------------------------------------------------------------------------
def _int_range(lo: float, hi: float) -> tuple[int, int]:
    return int(math.ceil(lo - 1e-6)), int(math.floor(hi + 1e-6))


class Attack:
    def __init__(self, export: Export):
        self.x = export
        self.b = Builder(export).build()
        self.m: Model = self.b.m
        self.cache: dict[tuple, Bound] = {}

    def bound(self, expr: dict[str, float]) -> Bound:
        key = tuple(sorted(expr.items()))
        if key not in self.cache:
            self.cache[key] = self.m.bounds(expr)
        return self.cache[key]

    def var_range(self, var: str, max_width: int = 60) -> tuple[int, int] | None:
        if var in self.b.published_single:
            lo, hi = self.b.published_single[var]
            if hi - lo <= max_width:
                return _int_range(lo, hi)
        bd = self.bound({var: 1.0})
        if not math.isfinite(bd.hi) or bd.hi - bd.lo > max_width:
            return None
        return _int_range(bd.lo, bd.hi)

    # -- step 2
    def propagate_nonlinear(self, rounds: int = 2) -> None:
        """Bound the count each published association measure leaves unknown: enumerate the integer
        values that reproduce the published value (given the ranges of the other counts), add them
        as bounds, and repeat once with the tighter model."""
        base = self.x.rounding_base or 0
        done: dict[str, tuple[float, float]] = {}
        for _ in range(rounds):
            new_rows = []
            for nl in self.b.nonlinear:
                got = self._solve_nonlinear(nl, base)
                if got is None:
                    continue
                lo, hi = got
                if done.get(nl.label) == (lo, hi):
                    continue
                done[nl.label] = (lo, hi)
                new_rows.append((nl, lo, hi))
            if not new_rows:
                break
            for nl, lo, hi in new_rows:
                self.m.add({nl.unknown: 1.0}, lo, hi, nl.family, nl.label)
            self.cache.clear()

    def _solve_nonlinear(self, nl, base: int):
        ranges = {}
        for role, var in nl.knowns.items():
            r = self.var_range(var)
            if r is None:
                return None
            ranges[role] = r
        u_bound = self.bound({nl.unknown: 1.0})
        u_lo, u_hi = _int_range(u_bound.lo, u_bound.hi if math.isfinite(u_bound.hi) else 10 ** 7)
        u_hi = min(u_hi, 10 ** 7)
        if u_hi < u_lo:
            return None
        u = np.arange(u_lo, u_hi + 1, dtype=float)
        ok_lo, ok_hi = math.inf, -math.inf
        roles = list(ranges)
        for n_combo, combo in enumerate(product(*[range(ranges[r][0], ranges[r][1] + 1) for r in roles])):
            if n_combo > 2000:
                return None
            values = nl.metric(u, **{r: float(v) for r, v in zip(roles, combo)})
            tol = 1e-9 * max(1.0, abs(nl.lo), abs(nl.hi))
            ok = (values >= nl.lo - tol) & (values <= nl.hi + tol)
            if ok.any():
                idx = np.flatnonzero(ok)
                ok_lo, ok_hi = min(ok_lo, u[idx[0]]), max(ok_hi, u[idx[-1]])
        if ok_lo > ok_hi:
            self.b.notes.append(f"no count reproduces {nl.label}")
            return None
        widen = base / 2 if nl.rounded_inputs else 0.0
        lo, hi = ok_lo - widen, ok_hi + widen
        if lo <= u_lo and hi >= u_hi:
            return None       # nothing new
        return lo, hi

    # -- step 3
    def link_counts_and_costs(self) -> None:
        top = self.bound({"cost:rank<=1": 1.0})
        if not math.isfinite(top.hi):
            self.b.notes.append("no upper bound on the most expensive household: count-sum links skipped")
            return
        cmax = top.hi
        seen = set()
        for count, cost, label in self.b.pairs:
            if (count, cost) in seen:
                continue
            seen.add((count, cost))
            self.m.le({cost: 1.0, count: -cmax}, 0.0, F_LINK,
                      f"{label}: cost <= households x {cmax / MONEY:,.0f} (the most expensive household's upper bound)")
        self.cache.clear()

    # -- step 4
    def solve_targets(self) -> list[Result]:
        out = []
        for t in self.b.targets:
            if not t.expr:
                out.append(Result(t, t.constant, t.constant, [(F_RANK, t.what)], [(F_RANK, t.what)]))
                continue
            single = next(iter(t.expr)) if len(t.expr) == 1 and next(iter(t.expr.values())) == 1.0 else None
            pub = self.b.published_single.get(single) if single else None
            if pub is not None and pub[0] == pub[1]:
                bd = Bound(pub[0], pub[1], [(F_PUBLISHED, f"{single} is published elsewhere")],
                           [(F_PUBLISHED, f"{single} is published elsewhere")])
            else:
                bd = self.bound(t.expr)
            lo, hi = (bd.lo + t.constant) * t.scale, (bd.hi + t.constant) * t.scale
            if t.kind == "count" and all(float(c).is_integer() for c in t.expr.values()):
                lo, hi = math.ceil(lo - 1e-4), math.floor(hi + 1e-4) if math.isfinite(hi) else hi
            out.append(Result(t, max(lo, 0.0), hi, bd.chain_lo, bd.chain_hi))
        return out

    # -- step 5
    def derive_groups(self, results: list[Result]) -> list[Group]:
        groups: list[Group] = []
        b = self.b
        # 5a: bands between two top groups (all rank points, from every table)
        points = [(0, None)] + sorted((k, v) for k, v in b.rank_points.items())
        for i, (k1, v1) in enumerate(points):
            for k2, v2 in points[i + 1:]:
                if not 1 <= k2 - k1 <= 9:
                    continue
                expr = {v2: 1.0}
                if v1:
                    expr[v1] = -1.0
                bd = self.bound(expr)
                names = sorted(set(b.rank_labels.get(k1, [])[:2] + b.rank_labels.get(k2, [])[:2]))
                g = Group("rank band", f"ranks {k1 + 1}..{k2} (between the top {k1} and the top {k2}: "
                                       f"{' | '.join(names)})", k2 - k1, k2 - k1, bd.lo / MONEY, bd.hi / MONEY,
                          bd.chain_lo + bd.chain_hi, tuple(sorted({n.split(' ')[0] for n in names})))
                if g.cost_known:
                    groups.append(g)
        # 5b: differences of nested published groups
        pub = b.published_single
        sets = [s for s in b.sets.values() if s.count and s.count in pub]
        parent_map = {s.name: set(s.parents) for s in b.sets.values()}

        def ancestors(name, seen=None):
            seen = seen if seen is not None else set()
            for p in parent_map.get(name, ()):
                if p not in seen:
                    seen.add(p)
                    ancestors(p, seen)
            return seen

        done = set()
        for small in sets:
            anc = ancestors(small.name)
            for big in sets:
                if big is small or big.count == small.count:
                    continue
                nested = big.name in anc or (small.bits is not None and big.bits is not None
                                             and small.bits & ~big.bits == 0 and small.bits != big.bits)
                if not nested:
                    continue
                key = (small.count, big.count)
                if key in done:
                    continue
                done.add(key)
                s_lo, s_hi = pub[small.count]
                g_lo, g_hi = pub[big.count]
                d_lo, d_hi = max(0.0, g_lo - s_hi), g_hi - s_lo
                d_lo, d_hi = math.ceil(d_lo - 1e-6), math.floor(d_hi + 1e-6)
                if not (d_lo >= 1 and d_hi <= 9):
                    continue
                cost_lo = cost_hi = None
                if small.cost and big.cost and small.cost in pub and big.cost in pub:
                    cost_lo = max(0.0, pub[big.cost][0] - pub[small.cost][1]) / MONEY
                    cost_hi = (pub[big.cost][1] - pub[small.cost][0]) / MONEY
                groups.append(Group("difference", f"'{big.label}' minus '{small.label}'", d_lo, d_hi, cost_lo, cost_hi,
                                    [(F_SUBSET, f"{small.label} is inside {big.label}"),
                                     (F_PUBLISHED, f"{big.count} in [{g_lo:g}, {g_hi:g}]"),
                                     (F_PUBLISHED, f"{small.count} in [{s_lo:g}, {s_hi:g}]")]))
        # 5c: published counts of 1..9 (a published small group) and rows whose count is 1..2 with a known cost
        for table in self.x.tables.values():
            count_cols = [c for c in table.columns if c.startswith("n_households") or c == "n_persons"]
            for row in table.rows:
                for c in count_cols:
                    cell = table.cell(row, c)
                    if cell.suppressed or cell.value is None:
                        continue
                    lo, hi = cell.interval(table.rounding_base, is_count=True)
                    lo, hi = _int_range(lo, hi)
                    if lo >= 1 and hi <= 9:
                        cost_lo = cost_hi = None
                        if c == "n_households":
                            for money in ("sum_kosten", "mean_kosten"):
                                mc = table.cell(row, money) if money in row else None
                                if mc is not None and not mc.suppressed and mc.value is not None:
                                    m_lo, m_hi = mc.interval()
                                    scale = (lo, hi) if money.startswith("mean") else (1, 1)
                                    cost_lo, cost_hi = m_lo * scale[0], m_hi * scale[1]
                                    break
                        groups.append(Group("published", f"{cell.name} = {cell.text}", lo, hi, cost_lo, cost_hi,
                                            chain=[(F_PUBLISHED, cell.name)], tables=(table.name,)))
        by_row: dict[tuple, list[Result]] = {}
        for r in results:
            by_row.setdefault((r.cell.table, r.cell.labels), []).append(r)
        for (tname, labels), rs in by_row.items():
            table = self.x.tables[tname]
            row = next((rw for rw in table.rows if table.labels_of(rw) == labels), None)
            counts = [r for r in rs if r.target.kind == "count" and r.cell.column.startswith("n_households")]
            if counts:
                n_lo, n_hi = counts[0].lo, counts[0].hi
            elif row is not None and "n_households" in row and not table.cell(row, "n_households").suppressed:
                n_lo, n_hi = _int_range(*table.cell(row, "n_households").interval(table.rounding_base, True))
            else:
                continue
            if not (1 <= n_lo and n_hi <= 2):
                continue
            for r in rs:
                if r.target.kind == "sum" and ("kosten" in r.cell.column) and r.cell.column.split("_")[-1] in (
                        "kosten", "totaal", "pct"):
                    g = Group("row", f"{r.cell.name}: a group of {n_lo:g}..{n_hi:g} households", n_lo, n_hi,
                              r.lo, r.hi, r.chain_lo + r.chain_hi, (tname,))
                    if g.cost_known:
                        groups.append(g)
        return groups

    # -- step 6
    def flags(self) -> tuple[list[Flag], list[CorrelationCheck]]:
        flags: list[Flag] = []
        checks: list[CorrelationCheck] = []
        for name in ("correlatie_domeinen", "samenhang_correlatie_kosten"):
            t = self.x.get(name)
            if t is None:
                continue
            value_cols = [c for c in t.value_columns]
            for row in t.rows:
                a, c = row.get("domein_a", ""), row.get("domein_b", "")
                if not a or not c:
                    continue
                if all(t.cell(row, col).suppressed for col in value_cols):
                    continue
                var = self.b.items_var([a, c])
                bd = self.bound({var: 1.0})
                lo, hi = _int_range(bd.lo, bd.hi if math.isfinite(bd.hi) else 1e12)
                checks.append(CorrelationCheck(name, a, c, lo, hi))
                if hi < 10:
                    flags.append(Flag(F_ASSOC, name, f"{a} x {c}",
                                      f"correlation published while at most {hi} households have costs in both "
                                      f"{a} and {c} (derived in [{lo}, {hi}])"))
        for t in self.x.tables.values():
            if t.residual_df is not None and t.n_observations is not None:
                # Both rounded to a base: each within half of it from the truth.
                slack = t.model_rounding
                if t.residual_df > t.n_observations - 1 + slack or t.residual_df < 0:
                    flags.append(Flag("models", t.name, "notes",
                                      f"{t.residual_df} residual degrees of freedom on {t.n_observations} observations"))
        return flags, checks


def monitoring_attack(export: Export) -> tuple[list[Result], list[Flag], list[Group]]:
    """The monitoring cohort: its own population and LP."""
    trend, cohort, effect, balance = (export.get(n) for n in ("monitoring_trend", "monitoring_cohort",
                                                                 "monitoring_effect", "monitoring_balans"))
    if not any((trend, cohort, effect)):
        return [], [], []
    # A tiny builder re-using the cell helpers.
    b = Builder.__new__(Builder)
    b.x, b.m = export, Model("monitoring cohort")
    b.targets, b.sets, b.nonlinear, b.flags, b.pairs = [], {}, [], [], []
    b.published_single, b.rank_points, b.rank_labels, b.notes = {}, {}, {}, []
    b.rounding, b.total = export.rounding_base, export.total_label
    flags: list[Flag] = []
    groups: list[Group] = []
    T = export.total_label
    if cohort is not None:
        col = cohort.label_columns[0] if cohort.label_columns else cohort.columns[0]
        parts = []
        for row in cohort.rows:
            label = row.get(col, "")
            if label == T:
                b.count_cell(cohort, row, "n_households", "n:cohortunion", "households in any row")
                continue
            words = label.lower()
            var = next((v for word, v in (("in cohort", "n:cohort"), ("niet gematcht", "n:unmatched"),
                                          ("gematcht", "n:matched"),
                                          ("verhuisd", "n:moved"), ("ontbonden", "n:dissolved")) if word in words),
                       f"n:status={label}")
            parts.append(var)
            b.count_cell(cohort, row, "n_households", var, label)
        b.m.eq({"n:cohortunion": 1.0, "n:cohort": -1.0}, 0.0, F_MONITOR,
               "matched, moved and dissolved households are cohort households: Totaal = cohort")
        if "n:unmatched" in parts and "n:matched" in parts:
            b.m.eq({"n:matched": 1.0, "n:unmatched": 1.0, "n:cohort": -1.0}, 0.0, F_MONITOR,
                   "matched + not matched = the cohort")
        for p in parts:
            if p != "n:cohort":
                b.m.le({p: 1.0, "n:cohort": -1.0}, 0.0, F_MONITOR, f"{p} is part of the cohort")
    if effect is not None:
        for row in effect.rows:
            label = next(iter(row.values()))
            n_col = next((c for c in effect.columns if "huishoudens" in c), None)
            if n_col is None:
                continue
            if "voor/na" in label:
                b.count_cell(effect, row, n_col, "n:cohort", "cohort households in the before/after estimate")
            elif "verschil" in label or "vergelijkingsgroep" in label:
                b.count_cell(effect, row, n_col, {"n:matched": 2.0},
                             "matched cohort households and their 1:1 comparison households")
            cell = effect.cell(row, n_col)
            se_col = next((c for c in effect.columns if "standaardfout" in c or c == "se"), None)
            per_group = cell.value / (2 if ("verschil" in label) else 1) if cell.value is not None else None
            if per_group is not None and per_group < 10:
                flags.append(Flag(F_MONITOR, effect.name, label,
                                  f"estimate published on {per_group:g} households per group (< 10)"))
            if se_col:
                se = effect.cell(row, se_col)
                if se.value is not None and se.value == 0:
                    flags.append(Flag(F_MONITOR, effect.name, label, "standard error 0 published"))
            if effect.residual_df is not None and cell.value is not None and effect.residual_df > cell.value - 1:
                flags.append(Flag(F_MONITOR, effect.name, label,
                                  f"{effect.residual_df} residual degrees of freedom stated for an estimate on "
                                  f"{cell.value:g} households (clustered by household: at most {cell.value - 1:g})"))
    if balance is not None and balance.n_observations is not None and balance.n_observations / 2 < 10:
        flags.append(Flag(F_MONITOR, balance.name, "notes",
                          f"balance published on {balance.n_observations / 2:g} matched pairs (< 10)"))
    if trend is not None:
        gcol, pcol = (trend.label_columns + ["groep", "periode"])[:2]
        groups_seen, periods = set(), set()
        for row in trend.rows:
            g, p = row.get(gcol, ""), row.get(pcol, "")
            groups_seen.add(g)
            periods.add(p)
            gv = {"cohort": "coh", "vergelijkingsgroep": "cmp"}.get(g, "tot" if g == T else g)
            n, s = f"n:trend={gv}|{p}", f"cost:trend={gv}|{p}"
            b.count_cell(trend, row, "n_households", n, f"{g} households, {p}")
            b.mean_cell(trend, row, "mean_kosten", s, n, f"cost of {g}, {p}")
        real_periods = sorted(p for p in periods if p != T)
        for p in real_periods + [T]:
            b.m.eq({f"n:trend=tot|{p}": 1.0, f"n:trend=coh|{p}": -1.0, f"n:trend=cmp|{p}": -1.0}, 0.0, F_MONITOR,
                   f"monitoring_trend {p}: Totaal = cohort + comparison group")
            b.m.eq({f"cost:trend=tot|{p}": 1.0, f"cost:trend=coh|{p}": -1.0, f"cost:trend=cmp|{p}": -1.0}, 0.0,
                   F_MONITOR, f"monitoring_trend {p}: cost Totaal = cohort + comparison group")
        for gv in ("tot", "coh", "cmp"):
            e = {f"cost:trend={gv}|{T}": 1.0}
            for p in real_periods:
                e[f"cost:trend={gv}|{p}"] = -1.0
                b.m.eq({f"n:trend={gv}|{p}": 1.0, f"n:trend={gv}|{T}": -1.0}, 0.0, F_MONITOR,
                       f"monitoring_trend: the {gv} group is followed in every period (a panel)")
            b.m.eq(e, 0.0, F_MONITOR, f"monitoring_trend {gv}: Totaal = sum of periods")
        b.m.eq({"n:trend=coh|" + T: 1.0, "n:matched": -1.0}, 0.0, F_MONITOR,
               "the cohort in the trend = the matched cohort households")
        b.m.eq({"n:trend=cmp|" + T: 1.0, "n:matched": -1.0}, 0.0, F_MONITOR, "1:1 matching: comparison = matched")
    results = []
    cache: dict = {}
    for t in b.targets:
        if not t.expr:
            results.append(Result(t, t.constant, t.constant, [], []))
            continue
        key = tuple(sorted(t.expr.items()))
        if key not in cache:
            cache[key] = b.m.bounds(t.expr)
        bd = cache[key]
        lo, hi = bd.lo * t.scale, bd.hi * t.scale
        if t.kind == "count":
            lo, hi = math.ceil(lo - 1e-4), math.floor(hi + 1e-4) if math.isfinite(hi) else hi
        results.append(Result(t, max(0.0, lo), hi, bd.chain_lo, bd.chain_hi))
    return results, flags, groups


def attack(folder: str | Path) -> Report:
    start = time.perf_counter()
    export = read_export(folder)
    report = Report(Path(folder))
    try:
        a = Attack(export)
        a.m.check_feasible()
        a.propagate_nonlinear()
        a.link_counts_and_costs()
        report.results = a.solve_targets()
        report.groups = a.derive_groups(report.results)
        report.flags, report.correlations = a.flags()
        report.notes += a.b.notes
        report.table_errors += a.b.errors
    except Infeasible as exc:
        report.error = str(exc)
    try:
        m_results, m_flags, m_groups = monitoring_attack(export)
        report.results += m_results
        report.flags += m_flags
        report.groups += m_groups
    except Infeasible as exc:
        report.error = (report.error or "") + f" monitoring: {exc}"
    report.seconds = time.perf_counter() - start
    return report
