"""A small LP modelling layer: named non-negative variables, labelled linear rows, min/max.

Every row carries the relation family it belongs to and a readable label (which table,
which cell, which identity), so that the dual values of an optimum name the chain of
relations that proves a bound: the rows with a non-zero dual are the certificate.
Solved with ``scipy.optimize.linprog`` (HiGHS).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csc_matrix, csr_matrix

try:  # scipy's own HiGHS build, kept warm between objectives (the same solver linprog calls)
    from scipy.optimize._highspy import _core as _highs_core
except Exception:  # pragma: no cover - older or different scipy: linprog only
    _highs_core = None

INF = math.inf


@dataclass
class Row:
    coefs: dict[int, float]
    lo: float
    hi: float
    family: str
    label: str


@dataclass
class Bound:
    lo: float
    hi: float
    chain_lo: list[tuple[str, str]] = field(default_factory=list)
    chain_hi: list[tuple[str, str]] = field(default_factory=list)
    status: str = "ok"

    @property
    def width(self) -> float:
        return self.hi - self.lo


class Infeasible(RuntimeError):
    pass


class Model:
    """Named variables and labelled rows.

    ``backend="warm"`` (the default when available) keeps one HiGHS instance with the model loaded
    and only changes the objective between solves, re-optimising from the previous basis with the
    primal simplex: the same HiGHS that ``scipy.optimize.linprog(method="highs")`` runs, about ten
    times faster for the hundreds of min/max problems of one export. ``backend="linprog"`` solves
    every problem with ``linprog`` from scratch; the tests check that both give the same bounds.
    """

    def __init__(self, name: str = "model", backend: str | None = None):
        self.name = name
        self.backend = backend or ("warm" if _highs_core is not None else "linprog")
        self._highs = None
        self.index: dict[str, int] = {}
        self.names: list[str] = []
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.rows: list[Row] = []
        self._compiled = None

    # --- building -------------------------------------------------------------------
    def var(self, name: str, lo: float = 0.0, hi: float = INF) -> str:
        if name not in self.index:
            self.index[name] = len(self.names)
            self.names.append(name)
            self.lower.append(lo)
            self.upper.append(hi)
            self._compiled = None
            self._highs = None
        else:
            i = self.index[name]
            self.lower[i] = max(self.lower[i], lo)
            self.upper[i] = min(self.upper[i], hi)
        return name

    def has(self, name: str) -> bool:
        return name in self.index

    def add(self, expr: dict[str, float], lo: float, hi: float, family: str, label: str) -> None:
        """lo <= sum(coef * var) <= hi (variables are created on first use)."""
        coefs: dict[int, float] = {}
        for name, c in expr.items():
            if c == 0:
                continue
            self.var(name)
            i = self.index[name]
            coefs[i] = coefs.get(i, 0.0) + float(c)
        coefs = {i: c for i, c in coefs.items() if c != 0}
        if not coefs:
            return
        self.rows.append(Row(coefs, lo, hi, family, label))
        self._compiled = None
        self._highs = None

    def eq(self, expr: dict[str, float], value: float, family: str, label: str) -> None:
        self.add(expr, value, value, family, label)

    def le(self, expr: dict[str, float], value: float, family: str, label: str) -> None:
        self.add(expr, -INF, value, family, label)

    def ge(self, expr: dict[str, float], value: float, family: str, label: str) -> None:
        self.add(expr, value, INF, family, label)

    # --- solving --------------------------------------------------------------------
    def _compile(self):
        if self._compiled is not None:
            return self._compiled
        eq_rows, ub_rows = [], []   # (row index, sign)
        for k, r in enumerate(self.rows):
            if r.lo == r.hi:
                eq_rows.append(k)
            else:
                if r.hi < INF:
                    ub_rows.append((k, 1.0))
                if r.lo > -INF:
                    ub_rows.append((k, -1.0))
        n = len(self.names)

        def matrix(entries):
            data, ri, ci = [], [], []
            for j, (k, sign) in enumerate(entries):
                for i, c in self.rows[k].coefs.items():
                    data.append(sign * c)
                    ri.append(j)
                    ci.append(i)
            return csr_matrix((data, (ri, ci)), shape=(len(entries), n)) if entries else None

        a_eq = matrix([(k, 1.0) for k in eq_rows])
        b_eq = np.array([self.rows[k].lo for k in eq_rows]) if eq_rows else None
        a_ub = matrix(ub_rows)
        b_ub = np.array([self.rows[k].hi if s > 0 else -self.rows[k].lo for k, s in ub_rows]) if ub_rows else None
        bounds = list(zip(self.lower, [None if u == INF else u for u in self.upper]))
        self._compiled = (eq_rows, ub_rows, a_eq, b_eq, a_ub, b_ub, bounds)
        return self._compiled

    def _warm(self):
        if self._highs is not None:
            return self._highs
        core = _highs_core
        n, r = len(self.names), len(self.rows)
        data, ri, ci = [], [], []
        for k, row in enumerate(self.rows):
            for i, c in row.coefs.items():
                data.append(c)
                ri.append(k)
                ci.append(i)
        a = csc_matrix((data, (ri, ci)), shape=(r, n))
        inf = core.kHighsInf
        lp = core.HighsLp()
        lp.num_col_, lp.num_row_ = n, r
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_ = np.array([max(-inf, v) for v in self.lower], dtype=float)
        lp.col_upper_ = np.array([min(inf, v) for v in self.upper], dtype=float)
        lp.row_lower_ = np.array([max(-inf, row.lo) for row in self.rows], dtype=float)
        lp.row_upper_ = np.array([min(inf, row.hi) for row in self.rows], dtype=float)
        lp.a_matrix_.format_ = core.MatrixFormat.kColwise
        lp.a_matrix_.start_ = a.indptr
        lp.a_matrix_.index_ = a.indices
        lp.a_matrix_.value_ = a.data
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, r
        h = core._Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", "off")
        h.setOptionValue("simplex_strategy", 4)   # primal simplex: stays feasible when only the objective changes
        h.passModel(lp)
        self._highs = (h, np.arange(n, dtype=np.int32))
        return self._highs

    def _optimise_warm(self, expr: dict[str, float], sense: float):
        h, idx = self._warm()
        c = np.zeros(len(self.names))
        for name, coef in expr.items():
            c[self.index[name]] += sense * coef
        h.changeColsCost(len(c), idx, c)
        h.run()
        status = h.getModelStatus()
        if status != _highs_core.HighsModelStatus.kOptimal:
            return None
        value = sense * h.getInfo().objective_function_value
        duals = h.getSolution().row_dual
        order = sorted((abs(d), k) for k, d in enumerate(duals) if abs(d) > 1e-9)
        chain, seen = [], set()
        for _, k in reversed(order):
            row = self.rows[k]
            if row.label not in seen:
                seen.add(row.label)
                chain.append((row.family, row.label))
        return value, chain

    def _optimise(self, expr: dict[str, float], sense: float):
        if self.backend == "warm":
            got = self._optimise_warm(expr, sense)
            if got is not None:
                return got
            # Not optimal from the warm start (infeasible, unbounded or numerical trouble): decide
            # with linprog from scratch.
        eq_rows, ub_rows, a_eq, b_eq, a_ub, b_ub, bounds = self._compile()
        c = np.zeros(len(self.names))
        for name, coef in expr.items():
            c[self.index[name]] += sense * coef
        res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if res.status == 2:
            raise Infeasible(f"{self.name}: the published relations are infeasible ({res.message})")
        if res.status == 3:
            return sense * -INF if sense > 0 else INF, []   # unbounded
        if res.status != 0:
            raise RuntimeError(f"{self.name}: LP failed: {res.message}")
        value = sense * res.fun
        chain = []
        duals = []
        if eq_rows and res.eqlin is not None:
            duals += [(abs(m), self.rows[k]) for k, m in zip(eq_rows, res.eqlin.marginals) if abs(m) > 1e-9]
        if ub_rows and res.ineqlin is not None:
            duals += [(abs(m), self.rows[k]) for (k, _), m in zip(ub_rows, res.ineqlin.marginals) if abs(m) > 1e-9]
        duals.sort(key=lambda t: -t[0])
        seen = set()
        for _, row in duals:
            if row.label not in seen:
                seen.add(row.label)
                chain.append((row.family, row.label))
        return value, chain

    def bounds(self, expr: dict[str, float]) -> Bound:
        for name in expr:
            self.var(name)
        lo, chain_lo = self._optimise(expr, 1.0)
        hi, chain_hi = self._optimise(expr, -1.0)
        return Bound(lo, hi, chain_lo, chain_hi)

    def check_feasible(self) -> None:
        self._optimise({self.names[0]: 0.0} if self.names else {}, 1.0)

    def diagnose(self, keep_families: tuple[str, ...] = ()) -> list[tuple[float, str, str]]:
        """For an infeasible model: the rows that must be violated least (elastic LP).

        Every row not in ``keep_families`` gets a slack on each side, and the total slack is
        minimised; rows with slack are the conflicting relations (family, label, violation)."""
        n = len(self.names)
        elastic = [k for k, r in enumerate(self.rows) if r.family not in keep_families]
        extra = {k: (n + 2 * j, n + 2 * j + 1) for j, k in enumerate(elastic)}
        total = n + 2 * len(elastic)
        data, ri, ci, lo, hi = [], [], [], [], []
        for k, r in enumerate(self.rows):
            for i, c in r.coefs.items():
                data.append(c)
                ri.append(k)
                ci.append(i)
            if k in extra:
                scale = max(1.0, max(abs(c) for c in r.coefs.values()))
                p, m = extra[k]
                data += [scale, -scale]
                ri += [k, k]
                ci += [p, m]
            lo.append(r.lo)
            hi.append(r.hi)
        a = csr_matrix((data, (ri, ci)), shape=(len(self.rows), total))
        c = np.zeros(total)
        c[n:] = 1.0
        bounds = [(l, None if u == INF else u) for l, u in zip(self.lower, self.upper)]
        bounds += [(0, None)] * (2 * len(elastic))
        res = linprog(c, bounds=bounds, method="highs", **_two_sided(a, lo, hi))
        if res.status != 0:
            return [(math.inf, "?", f"elastic LP failed: {res.message}")]
        out = []
        for k, (p, m) in extra.items():
            v = res.x[p] + res.x[m]
            if v > 1e-7:
                out.append((v, self.rows[k].family, self.rows[k].label))
        return sorted(out, reverse=True)


def _two_sided(a, lo, hi):
    """linprog arguments for lo <= a x <= hi."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    eq = lo == hi
    a = a.tocsr()
    out = {}
    if eq.any():
        out["A_eq"] = a[np.flatnonzero(eq)]
        out["b_eq"] = lo[eq]
    up = (~eq) & np.isfinite(hi)
    dn = (~eq) & np.isfinite(lo)
    from scipy.sparse import vstack
    parts, rhs = [], []
    if up.any():
        parts.append(a[np.flatnonzero(up)])
        rhs.append(hi[up])
    if dn.any():
        parts.append(-a[np.flatnonzero(dn)])
        rhs.append(-lo[dn])
    if parts:
        out["A_ub"] = vstack(parts).tocsr()
        out["b_ub"] = np.concatenate(rhs)
    return out
