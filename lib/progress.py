"""Progress of a run in the log: an estimate of the whole run, and elapsed and remaining time per step.

At the start of a run (or after the ``inventory`` step, which counts the rows of every source file)
the run estimates each step's time from the rows it will read and the measured rates of
``lib/reference_data/step_rates.csv``: per step a fixed part and seconds per million source rows,
fitted to the benchmark of docs/performance.md (``benchmarks/bench_pipeline.py``, the ``step.json``
wall times of the runs at 1 million households (11.9 million source rows) and of the whole synthetic
country (97.6 million), 5 December 2026, a 2-core 24 GB Linux machine, parquet inputs, monitoring
on). A row ``<step>.<format>`` is that step's rate when most source rows are in that format: reading
``.sav`` files (``read_sources.sav``: the national run from ``.sav``, 97.6 million source rows in 110.3 s,
same machine and day). Another machine or another study area run at other rates: once a step after
``read_sources`` has taken a few seconds, the estimates of the steps still to come are scaled by how
much slower (or faster) than the reference the finished steps were, and the log says by how much.

A step with a long loop (records priced in chunks, tables checked one by one) or with a few long
parts (the households step: the registers read, the households at the peildatum, the monthly
spells, the accounting) reports through one ``Progress``: a line with what is done, the step's
elapsed time and its remaining time (from the rate so far, or before anything is done from the
estimate) and the run's remaining time. Lines are throttled: at most one per ``MIN_SECONDS``, and
only when at least ``MIN_SHARE`` more of the step is done or ``MAX_SILENCE`` seconds passed since the
last line, so a long step writes about ten lines and a fast one none. Progress goes to the log only;
exported files never hold times, so exports stay byte-identical.

The clock is injected (``clock``: seconds, e.g. ``time.perf_counter``) so tests can drive time.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from lib.errors import UserFacingError

LOG = logging.getLogger("mph")
STEP_RATES_FILE = Path(__file__).resolve().parent / "reference_data" / "step_rates.csv"
REFERENCE_MACHINE = ("a 2-core 24 GB Linux machine with parquet inputs (reading .sav files: the national run from "
                     ".sav); benchmarks/bench_pipeline.py at 1 million households and the whole synthetic country, "
                     "5 December 2026")
MIN_SECONDS = 10.0
"""At most one progress line per this many seconds."""
MIN_SHARE = 0.10
"""...and only when this share more of the step is done since the last line (or MAX_SILENCE passed)."""
MAX_SILENCE = 60.0
CALIBRATE_FROM_SECONDS = 2.0
"""Finished steps estimated at less than this do not scale the estimates (their time is mostly fixed costs)."""
NOT_CALIBRATING = ("inventory", "read_sources")
"""Reading runs at the speed of the drive and the format (.sav is slower than parquet), not at the speed of
the computing steps after it: these steps do not scale the estimates of the others."""
RUNS_WHEN = ("always", "costs", "monitoring")
REPEATED_PER_PRICE_SCENARIO = ("price", "cube")


def format_duration(seconds: float) -> str:
    """'45 s', '12 min', '2 h 05 min': rounded as an estimate should be."""
    seconds = max(float(seconds), 0.0)
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def about(seconds: float) -> str:
    """An estimate in words: 'about 45 s', or 'under 1 s' (not 'about 0 s')."""
    return "under 1 s" if seconds < 1 else f"about {format_duration(seconds)}"


@dataclass(frozen=True)
class StepRate:
    step: str
    fixed_seconds: float
    seconds_per_million_rows: float
    runs_when: str
    """'always'; 'costs' (skipped in a run over the registers alone); 'monitoring' (only when enabled)."""

    def seconds(self, source_rows: int) -> float:
        return self.fixed_seconds + self.seconds_per_million_rows * source_rows / 1e6


def load_step_rates(path: Path = STEP_RATES_FILE) -> dict[str, StepRate]:
    """The reference rates per step (CSV: step, fixed_seconds, seconds_per_million_source_rows, runs_when)."""
    table = pd.read_csv(path, dtype={"step": str, "runs_when": str}, encoding="utf-8")
    needed = ["step", "fixed_seconds", "seconds_per_million_source_rows", "runs_when"]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise UserFacingError(f"{path}: missing column(s) {', '.join(missing)}; the columns are {', '.join(needed)}")
    bad = table[~table["runs_when"].isin(RUNS_WHEN)]
    if len(bad):
        raise UserFacingError(f"{path}, row {int(bad.index[0]) + 2}, column runs_when: {bad['runs_when'].iloc[0]!r} "
                              f"must be one of {', '.join(RUNS_WHEN)}")
    return {r.step: StepRate(r.step, float(r.fixed_seconds), float(r.seconds_per_million_source_rows), r.runs_when)
            for r in table.itertuples(index=False)}


def source_rows(sources_csv: Path) -> int | None:
    """Rows of every file the run reads, from the inventory's ``sources.csv`` (None when it is not there)."""
    if not sources_csv.is_file():
        return None
    rows = pd.read_csv(sources_csv, usecols=["rows"], encoding="utf-8")["rows"]
    return int(pd.to_numeric(rows, errors="coerce").fillna(0).sum())


def main_format(sources_csv: Path) -> str | None:
    """The format ('sav', 'parquet', 'csv') that holds most source rows of the inventory's ``sources.csv``."""
    if not sources_csv.is_file():
        return None
    table = pd.read_csv(sources_csv, usecols=lambda c: c in ("format", "rows"), encoding="utf-8")
    if "format" not in table or not len(table):
        return None
    rows = pd.to_numeric(table.get("rows"), errors="coerce").fillna(0) if "rows" in table else 1
    return str(pd.Series(rows, index=table.index).groupby(table["format"].astype(str)).sum().idxmax())


def estimate_steps(rates: dict[str, StepRate], plan: Iterable[str], rows: int, *, costs: bool = True,
                   monitoring: bool = True, price_scenarios: int = 0, source_format: str | None = None
                   ) -> dict[str, float]:
    """Estimated seconds of each step of ``plan`` for ``rows`` source rows. A step the run skips (the cost
    steps of a run over the registers alone, monitoring when not enabled) takes no time; a step without
    a rate is left out (unknown). ``price_scenarios`` (price sensitivity: 2, the low and the high prices):
    the price and cube steps price and attribute every record again per scenario, so they count
    ``1 + price_scenarios`` times (the reference runs had none). ``source_format``: the format of most
    source rows; a step with a rate for it (``read_sources.sav``) takes that rate."""
    runs = {"always": True, "costs": costs, "monitoring": monitoring and costs}
    repeats = {name: 1 + price_scenarios for name in REPEATED_PER_PRICE_SCENARIO}
    chosen = {name: rates.get(f"{name}.{source_format}", rates[name]) for name in plan if name in rates}
    return {name: (rate.seconds(rows) * repeats.get(name, 1) if runs[rate.runs_when] else 0.0)
            for name, rate in chosen.items()}


class RunClock:
    """The time of one run: estimates per step, the step running, and what the log says about them."""

    def __init__(self, plan: list[str], *, clock: Callable[[], float] = time.perf_counter,
                 log: Callable[[str], None] | None = None):
        self.plan = list(plan)
        self.clock = clock
        self.log = log if log is not None else (lambda text: LOG.info("%s", text))
        self.estimates: dict[str, float] = {}
        self.actual: dict[str, float] = {}
        self.started = clock()
        self.current: str | None = None
        self.step_started = self.started

    # --- estimates -----------------------------------------------------------------------------
    def set_estimates(self, estimates: dict[str, float], rows: int) -> None:
        """Take the estimates of the steps and log the run's."""
        self.estimates = dict(estimates)
        left = [n for n in self.plan if n not in self.actual]
        known = [n for n in left if n in self.estimates]
        if not known:
            return
        parts = ", ".join(f"{n} {format_duration(self.estimates[n])}" for n in known if self.estimates[n] >= 1)
        self.log(f"estimate: {about(sum(self.estimates[n] for n in known))} for "
                 f"{'the steps left' if self.actual else 'this run'} ({rows:,} source rows"
                 f"{'; ' + parts if parts else ''}), at the reference rates of {STEP_RATES_FILE.name} "
                 f"({REFERENCE_MACHINE})")

    def factor(self) -> float:
        """How much slower (>1) or faster than the reference rates the finished computing steps ran."""
        done = [n for n in self.actual if n not in NOT_CALIBRATING
                and self.estimates.get(n, 0.0) >= CALIBRATE_FROM_SECONDS]
        if not done:
            return 1.0
        return sum(self.actual[n] for n in done) / sum(self.estimates[n] for n in done)

    def later_seconds(self) -> float | None:
        """Estimated seconds of the steps of the plan after the one running (scaled by ``factor``);
        None when a step to come has no estimate."""
        later = [n for n in self.plan if n not in self.actual and n != self.current]
        if any(n not in self.estimates for n in later):
            return None
        return self.factor() * sum(self.estimates[n] for n in later)

    def step_estimate(self, name: str) -> float | None:
        return self.factor() * self.estimates[name] if name in self.estimates else None

    # --- steps ---------------------------------------------------------------------------------
    def start_step(self, name: str) -> None:
        self.current = name
        self.step_started = self.clock()
        estimate = self.step_estimate(name)
        run = self._run_text(estimate)
        if estimate is not None or run:
            self.log(f"    estimate: {about(estimate) if estimate is not None else 'unknown'} "
                     f"for this step{'; ' + run if run else ''}")

    def finish_step(self, name: str) -> float:
        """Record the step's time; log the run's elapsed and remaining time (when steps are left)."""
        seconds = self.clock() - self.step_started
        self.actual[name] = seconds
        self.current = None
        if any(n not in self.actual for n in self.plan):
            later = self.later_seconds()
            factor = self.factor()
            scaled = f" (the steps so far ran at {factor:.1f} x the reference time)" if abs(factor - 1) >= 0.25 else ""
            self.log(f"    run: {format_duration(self.clock() - self.started)} elapsed"
                     + (f", {about(later)} left{scaled}" if later is not None else ""))
        return seconds

    def _run_text(self, step_left: float | None) -> str:
        later = self.later_seconds()
        elapsed = format_duration(self.clock() - self.started)
        if step_left is None or later is None:
            return f"run {elapsed} elapsed" if self.actual else ""
        return f"run {elapsed} elapsed, {about(step_left + later)} left"

    def progress(self, what: str, total: float) -> "Progress":
        return Progress(what, total, clock=self.clock, log=self.log, run=self)


class Progress:
    """Progress of one long loop (or of the parts of a step): ``progress(done)`` after each chunk, or
    ``progress.part(label, done)`` when a part of the step is finished; ``done`` counts in the units of
    ``total`` (records, tables, or a share of the step's work)."""

    def __init__(self, what: str, total: float, *, clock: Callable[[], float] = time.perf_counter,
                 log: Callable[[str], None] | None = None, run: RunClock | None = None,
                 min_seconds: float = MIN_SECONDS, min_share: float = MIN_SHARE, max_silence: float = MAX_SILENCE):
        self.what, self.total = what, max(float(total), 1.0)
        self.clock = clock
        self.log = log if log is not None else (lambda text: LOG.info("%s", text))
        self.run = run
        self.min_seconds, self.min_share, self.max_silence = min_seconds, min_share, max_silence
        self.last_line = clock()
        # Within a run the step's time counts from the step's start (a loop may begin after other work).
        self.started = run.step_started if run is not None and run.current is not None else self.last_line
        self.done_at_last_line = 0.0

    def step_left(self, done: float, now: float) -> float | None:
        """Seconds left in the step: from the rate so far once something is done, else from the estimate."""
        elapsed = now - self.started
        if done > 0:
            return elapsed / done * (self.total - done)
        estimate = self.run.step_estimate(self.run.current) if self.run is not None and self.run.current else None
        return None if estimate is None else max(estimate - elapsed, 0.0)

    def __call__(self, done: float, label: str | None = None) -> bool:
        """Note that ``done`` of ``total`` is done; True when a line was logged."""
        now = self.clock()
        since = now - self.last_line
        if done >= self.total or since < self.min_seconds:
            return False
        if (done - self.done_at_last_line) / self.total < self.min_share and since < self.max_silence:
            return False
        self.last_line, self.done_at_last_line = now, done
        left = self.step_left(done, now)
        what = f"{self.what}: {label}" if label else (
            f"{self.what}: {done:,.0f} of {self.total:,.0f} ({100 * done / self.total:.0f}%)")
        text = f"    {what}; {format_duration(now - self.started)} elapsed"
        text += f", {about(left)} left in this step" if left is not None else ""
        later = self.run.later_seconds() if self.run is not None else None
        if left is not None and later is not None:
            text += f", {about(left + later)} left in the run"
        self.log(text)
        return True

    def part(self, label: str, done: float) -> bool:
        """A part of the step (``label``) is finished, ``done`` of ``total`` with it."""
        return self(done, label=f"{label} ({100 * done / self.total:.0f}% of the step)")
