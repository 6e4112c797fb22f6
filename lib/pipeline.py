"""The steps of a run, in order, and the runner that executes them.

Each step reads the run's config and files of earlier steps in the work folder, and
writes its own sub-folder ``<work>/<NN>_<step>/`` with a ``step.json`` manifest (what
it read, what it wrote, row counts, wall time, the config hash, and what it was computed
from: see ``lib.provenance``). So a step can be rerun alone, and every file in the work
folder is traceable to the step and config that made it. Later capabilities plug in by
adding their ``Step`` to ``all_steps`` (and their ``Provenance``).

The runner keeps the work folder true to the config:

* a run holds the lock of its work folder (and of its export folder when it runs the
  ``export`` or ``report`` step), so two runs never write the same folders;
* before anything runs, every earlier step whose work files the chosen steps read must be
  complete and up to date (same config settings, input files and upstream outputs as when
  it ran); otherwise the run stops with a message naming what changed and the step to
  rerun from (``run_all.py --from STEP``);
* a step starts by removing its ``step.json`` and the rest of its folder, and writes its
  ``step.json`` last (atomically): a step that stops or is interrupted leaves no
  ``step.json``, so no later step reads its half-written files, and the next run reruns it.
"""
from __future__ import annotations

import functools
import logging
import os
import platform
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from lib import memory, optional_packages
from lib import provenance as prov
from lib.config import RunConfig
from lib.progress import Progress, RunClock, estimate_steps, load_step_rates, main_format, source_rows
from lib.errors import UserFacingError
from lib.workfiles import (
    export_folder_lock,
    is_temporary,
    remove_file,
    work_folder_lock,
    write_json_atomic,
)

LOG = logging.getLogger("mph")


@dataclass
class StepResult:
    """What a step reports: row counts per output and free-text notes for the log."""

    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    run: Callable[["RunContext"], StepResult]
    reads: tuple[str, ...]
    """What the step reads (sources, or earlier steps' folders), for the manifest and README."""
    writes: tuple[str, ...]
    provenance: prov.Provenance | None = None
    """What the step is computed from (earlier steps, config settings, input files); ``all_steps``
    fills in ``lib.provenance.PROVENANCE[name]`` when the step does not declare it."""


@dataclass
class RunContext:
    config: RunConfig
    step: Step
    number: int
    tracker: "_RunTracker | None" = None
    """Set by ``run_steps``: records which earlier steps' outputs the step reads."""
    clock: RunClock | None = None
    """Set by ``run_steps``: the run's estimates and times, for the progress lines (lib.progress)."""

    def progress(self, what: str, total: float) -> Progress:
        """Throttled progress lines of a long loop, or of the parts of a step, with the time left in the step
        and in the run (``lib.progress``)."""
        return self.clock.progress(what, total) if self.clock is not None else Progress(what, total)

    @property
    def step_dir(self) -> Path:
        return step_dir(self.config, self.number, self.step.name)

    def earlier_step_dir(self, name: str) -> Path:
        path = step_folder(self.config, name)
        if not (path / prov.STEP_JSON).is_file():
            raise StepOrderError(f"step '{self.step.name}' needs the output of step '{name}' in {path}, which has "
                                 f"not run to completion (no {prov.STEP_JSON}); run that step and every later one "
                                 f"first: {prov.rerun_command(self.config, name, all_steps()[0].name)}")
        if self.tracker is not None:
            self.tracker.read(self.step, name)
        return path


class StepOrderError(UserFacingError):
    """A step was run before the step whose output it needs."""


class _RunTracker:
    """The state of one ``run_steps``: which steps ran, and which upstream outputs a step read
    beyond those it declares (each checked before it is used, and recorded)."""

    def __init__(self, freshness: prov.Freshness, plan: list[str]):
        self.freshness = freshness
        self.plan = plan
        self.done: list[str] = []
        self.extra_reads: dict[str, dict[str, str | None]] = {}

    def read(self, step: Step, name: str) -> None:
        declared = step.provenance.upstream if step.provenance else ()
        if name in declared:
            return
        LOG.warning("    step '%s' reads the output of step '%s', which its provenance does not declare (a bug, "
                    "please report); checked and recorded", step.name, name)
        check = self.freshness
        check.forget()
        lines: list[str] = []
        starts: list[str] = []
        for n in [name] + check.closure([name]):
            if n not in self.done and check.problems(n):
                lines += check.problems(n)
                starts.append(n)
        if lines:
            start = min(starts, key=check.order.index)
            raise prov.StaleWorkFiles(prov.stale_message([step.name], lines, start, check.config, check.order[0]))
        self.extra_reads.setdefault(step.name, {})[name] = check.run_id(name)


def step_dir(config: RunConfig, number: int, name: str) -> Path:
    return config.work_dir / f"{number:02d}_{name}"


def step_folder(config: RunConfig, name: str) -> Path:
    """The work folder of the step called ``name`` (e.g. ``<work>/04_households``)."""
    return step_dir(config, [s.name for s in all_steps()].index(name) + 1, name)


@functools.cache
def all_steps() -> tuple[Step, ...]:
    """The pipeline's steps in order (imported here because steps import this module)."""
    from lib.steps.baseline import STEP as baseline
    from lib.steps.coherence import STEP as coherence
    from lib.steps.cube import STEP as cube
    from lib.steps.export import STEP as export
    from lib.steps.households import STEP as households
    from lib.steps.inventory import STEP as inventory
    from lib.steps.monitoring import STEP as monitoring
    from lib.steps.price import STEP as price
    from lib.steps.read_sources import STEP as read_sources
    from lib.steps.report import STEP as report
    from lib.steps.selection import STEP as selection
    steps = (inventory, read_sources, price, households, cube, baseline, coherence, selection, monitoring, export,
             report)
    return tuple(s if s.provenance is not None else replace(s, provenance=prov.PROVENANCE[s.name]) for s in steps)


def freshness(config: RunConfig) -> prov.Freshness:
    """The up-to-date check of the work folder of ``config``."""
    steps = {s.name: s for s in all_steps()}
    return prov.Freshness(config, list(steps), lambda name: step_folder(config, name),
                          lambda name: steps[name].provenance)


def check_steps(config: RunConfig, names: list[str]) -> None:
    """Refuse (``StaleWorkFiles``) when the steps ``names`` would read work files that are missing, incomplete
    or out of date; the message names every such step, what changed, and the step to rerun from."""
    check = freshness(config)
    lines, start = check.plan_problems(names)
    if lines:
        raise prov.StaleWorkFiles(prov.stale_message(names, lines, start, config, check.order[0]))


def steps_from(name: str) -> list[str]:
    """``name`` and every later step (``run_all.py --from``)."""
    known = [s.name for s in all_steps()]
    if name not in known:
        raise StepOrderError(f"unknown step '{name}'; the steps are: {', '.join(known)}")
    return known[known.index(name):]


def clear_step_folder(folder: Path) -> bool:
    """Empty a step's folder before the step runs, ``step.json`` first (so an interruption from here on
    leaves a folder without one). True when the folder held files of a run that did not finish."""
    unfinished = folder.is_dir() and not (folder / prov.STEP_JSON).is_file() and any(folder.iterdir())
    remove_file(folder / prov.STEP_JSON)
    if not folder.is_dir():
        return False
    for root, dirs, files in os.walk(folder, topdown=False):
        for name in files:
            remove_file(Path(root) / name)
        for name in dirs:
            try:
                (Path(root) / name).rmdir()
            except OSError as exc:
                raise UserFacingError(f"cannot remove the folder {Path(root) / name} from an earlier run ({exc}); "
                                      "close any program that uses it and run again") from None
    return unfinished


def setup_logging(config: RunConfig) -> Path:
    """Log to the console and to ``<work>/logs/run.log`` (appended, one block per run)."""
    log_dir = config.work_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "run.log"
    fmt = logging.Formatter("%(asctime)s  %(message)s", datefmt="%Y-%m-%d %H:%M:%S")
    handlers = [logging.StreamHandler(sys.stdout), logging.FileHandler(path, encoding="utf-8")]
    for handler in handlers:
        handler.setFormatter(fmt)
    # The disclosure-control package logs the progress of a long export-wide audit on its own logger.
    for logger in (LOG, logging.getLogger("disclosure_control")):
        for old in logger.handlers:
            old.close()
        logger.handlers.clear()
        logger.setLevel(logging.INFO)
        for handler in handlers:
            logger.addHandler(handler)
        logger.propagate = False
    return path


def reset_peak_memory() -> bool:
    """Start a new peak-memory measurement (Linux); False where the OS cannot reset it."""
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
        return True
    except OSError:
        return False


def peak_memory_mb() -> float | None:
    """Peak resident memory of this process in MB: since the last reset on Linux, else since start."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    if sys.platform == "win32":
        return _windows_peak_working_set_mb()
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 1024 / 1024


def _windows_peak_working_set_mb() -> float | None:
    import ctypes
    from ctypes import wintypes

    class Counters(ctypes.Structure):
        _fields_ = [("cb", wintypes.DWORD), ("PageFaultCount", wintypes.DWORD),
                    ("PeakWorkingSetSize", ctypes.c_size_t), ("WorkingSetSize", ctypes.c_size_t),
                    ("QuotaPeakPagedPoolUsage", ctypes.c_size_t), ("QuotaPagedPoolUsage", ctypes.c_size_t),
                    ("QuotaPeakNonPagedPoolUsage", ctypes.c_size_t), ("QuotaNonPagedPoolUsage", ctypes.c_size_t),
                    ("PagefileUsage", ctypes.c_size_t), ("PeakPagefileUsage", ctypes.c_size_t)]
    try:
        counters = Counters()
        counters.cb = ctypes.sizeof(counters)
        process = ctypes.windll.kernel32.GetCurrentProcess()
        if not ctypes.windll.psapi.GetProcessMemoryInfo(process, ctypes.byref(counters), counters.cb):
            return None
        return counters.PeakWorkingSetSize / 1024 / 1024
    except (AttributeError, OSError):
        return None


def run_steps(config: RunConfig, names: list[str] | None = None, *,
              from_step: str | None = None) -> dict[str, StepResult]:
    """Run the named steps (default: all; ``from_step``: that step and every later one) in pipeline
    order; log counts and wall time.

    Refuses (before anything runs) when another run holds the work or export folder, or when an
    earlier step whose work files the chosen steps read is missing, incomplete or out of date."""
    steps = all_steps()
    known = [s.name for s in steps]
    if names is not None and from_step is not None:
        raise StepOrderError("give the steps to run or the step to run from, not both")
    wanted = known if names is None else list(names)
    if from_step is not None:
        wanted = steps_from(from_step)
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise StepOrderError(f"unknown step(s) {unknown}; the steps are: {', '.join(known)}")
    plan = [n for n in known if n in wanted]
    config.work_dir.mkdir(parents=True, exist_ok=True)
    locks = [work_folder_lock(config.work_dir)]
    if {"export", "report"} & set(plan):
        locks.append(export_folder_lock(config.export_dir))
    acquired = []
    try:
        for lock in locks:
            acquired.append(lock.acquire())
        if {"export", "report"} & set(plan):   # only they write there (run_all.py --check runs the inventory alone)
            config.export_dir.mkdir(parents=True, exist_ok=True)
        log_path = setup_logging(config)
        LOG.info("=" * 72)
        LOG.info("run '%s' with %s (sha256 %s)", config["run"]["name"], config.path, config.sha256[:12])
        LOG.info("work folder %s | export folder %s | log %s", config.work_dir, config.export_dir, log_path)
        LOG.info("python %s on %s", platform.python_version(), platform.platform())
        for line in optional_packages.missing_package_lines():  # once per run, with what the run does without it
            LOG.info("%s", line)
        if memory.reuse_freed_memory():
            LOG.info("memory: freed memory is reused within a step (glibc) and handed back between steps")
        for lock in acquired:
            if lock.describe_taken_over():
                LOG.info("%s", lock.describe_taken_over())
        return _run_plan(config, steps, plan)
    finally:
        for lock in reversed(acquired):
            lock.release()


def _run_plan(config: RunConfig, steps: tuple[Step, ...], plan: list[str]) -> dict[str, StepResult]:
    check = freshness(config)
    lines, start = check.plan_problems(plan)
    if lines:
        LOG.info("refused: %d earlier step(s) missing, unfinished or out of date; rerun from '%s' (the message says "
                 "what changed)", len(lines), start)
        raise prov.StaleWorkFiles(prov.stale_message(plan, lines, start, config, check.order[0]))
    tracker = _RunTracker(check, plan)
    results: dict[str, StepResult] = {}
    run_start = time.perf_counter()
    run_clock = RunClock(plan)
    if "inventory" not in plan:
        _estimate_run(config, run_clock)          # from the inventory of an earlier run, when there is one
    for number, step in enumerate(steps, start=1):
        if step.name not in plan:
            continue
        ctx = RunContext(config, step, number, tracker=tracker, clock=run_clock)
        LOG.info("step %d/%d %s: %s", number, len(steps), step.name, step.title)
        run_clock.start_step(step.name)
        if clear_step_folder(ctx.step_dir):
            LOG.info("    an earlier run of this step did not finish (no %s): its files were removed", prov.STEP_JSON)
        ctx.step_dir.mkdir(parents=True, exist_ok=True)
        check.forget()
        inputs = check.inputs_now(step.name)
        per_step_peak = reset_peak_memory()
        started = time.perf_counter()
        try:
            result = step.run(ctx)
        except KeyboardInterrupt:
            LOG.info("    interrupted: step '%s' did not finish and left no %s, so no later step uses its files; "
                     "run again with --from %s", step.name, prov.STEP_JSON, step.name)
            raise
        seconds = time.perf_counter() - started
        memory.release_memory()
        for key, value in result.counts.items():
            LOG.info("    %-40s %14s", key, f"{value:,}")
        for note in result.notes:
            LOG.info("    %s", note)
        peak = peak_memory_mb()
        peak_text = f", peak memory {peak:,.0f} MB{'' if per_step_peak else ' (whole run so far)'}" if peak else ""
        LOG.info("    done in %.2f s%s", seconds, peak_text)
        if step.name == "inventory":
            _estimate_run(config, run_clock)      # its sources.csv counts the rows of every source
        run_clock.finish_step(step.name)
        computed_from = inputs.as_dict()
        computed_from["upstream"].update(tracker.extra_reads.get(step.name, {}))
        manifest = {
            "step": step.name, "title": step.title, "number": number, "reads": list(step.reads),
            "writes": list(step.writes), "outputs": result.outputs, "counts": result.counts, "notes": result.notes,
            "seconds": round(seconds, 3), "config": str(config.path), "config_sha256": config.sha256,
            "peak_memory_mb": None if peak is None else round(peak), "peak_memory_of": "step" if per_step_peak else "run",
            "format": prov.RECORD_FORMAT, "run_id": prov.new_run_id(), "finished": prov.now_text(),
            "computed_from": computed_from,
            "work_files": {name: {"bytes": entry["bytes"]}
                           for name, entry in prov.folder_contents(ctx.step_dir, with_hash=False).items()
                           if not is_temporary(Path(name))},
            "outside": {str(folder): prov.folder_contents(folder, with_hash=True)
                        for folder in step.provenance.outside(config)},
        }
        # Written last, under a temporary name and then renamed: the step is complete once it exists.
        write_json_atomic(ctx.step_dir / prov.STEP_JSON, manifest, indent=2, default=str)
        results[step.name] = result
        tracker.done.append(step.name)
    LOG.info("run finished in %.2f s", time.perf_counter() - run_start)
    check.forget()
    stale = check.stale_after_run(plan)
    if stale:
        start = min(stale, key=check.order.index)
        LOG.info("note: the work files of step(s) %s (not run now) are out of date since this run; to bring them up "
                 "to date: %s", ", ".join(stale), prov.rerun_command(config, start, check.order[0]))
    return results


def _estimate_run(config: RunConfig, run_clock: RunClock) -> None:
    """Give ``run_clock`` the estimate of every step from the inventory's source rows and the reference rates
    (``lib/reference_data/step_rates.csv``); nothing when there is no inventory yet."""
    from lib.steps.read_sources import registers_only
    rows = source_rows(step_folder(config, "inventory") / "sources.csv")
    if rows is None:
        return
    from lib.price_sensitivity import scenario_tables_configured
    run_clock.set_estimates(estimate_steps(load_step_rates(), run_clock.plan, rows, costs=not registers_only(config),
                                           monitoring=config["monitoring"]["enabled"],
                                           price_scenarios=len(scenario_tables_configured(config)),
                                           source_format=main_format(step_folder(config, "inventory") / "sources.csv")),
                            rows)
