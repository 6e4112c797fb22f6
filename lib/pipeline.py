"""The steps of a run, in order, and the runner that executes them.

Each step reads the run's config and files of earlier steps in the work folder, and
writes its own sub-folder ``<work>/<NN>_<step>/`` with a ``step.json`` manifest (what
it read, what it wrote, row counts, wall time, the config hash). So a step can be rerun
alone, and every file in the work folder is traceable to the step and config that made
it. Later capabilities plug in by adding their ``Step`` to ``all_steps``.
"""
from __future__ import annotations

import functools
import gc
import json
import logging
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from lib.config import RunConfig
from lib.errors import UserFacingError

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


class Progress:
    """Logs progress of a long loop with an estimate of the time left, at most every few seconds."""

    def __init__(self, what: str, total: int, every_seconds: float = 5.0, clock=time.perf_counter):
        self.what, self.total, self.every, self.clock = what, max(total, 1), every_seconds, clock
        self.started = self.last = clock()

    def __call__(self, done: int) -> None:
        now = self.clock()
        if now - self.last < self.every or done >= self.total:
            return
        self.last = now
        left = (now - self.started) / max(done, 1) * (self.total - done)
        LOG.info("    %s: %s of %s (%d%%), about %s left", self.what, f"{done:,}", f"{self.total:,}",
                 100 * done // self.total, _duration(left))


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


@dataclass
class RunContext:
    config: RunConfig
    step: Step
    number: int

    def progress(self, what: str, total: int) -> Progress:
        return Progress(what, total)

    @property
    def step_dir(self) -> Path:
        return step_dir(self.config, self.number, self.step.name)

    def earlier_step_dir(self, name: str) -> Path:
        path = step_folder(self.config, name)
        if not (path / "step.json").is_file():
            raise StepOrderError(f"step '{self.step.name}' needs the output of step '{name}' in {path}; "
                                 f"run that step first (or run_all.py)")
        return path


class StepOrderError(UserFacingError):
    """A step was run before the step whose output it needs."""


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
    return (inventory, read_sources, price, households, cube, baseline, coherence, selection, monitoring, export,
            report)


def setup_logging(config: RunConfig) -> Path:
    """Log to the console and to ``<work>/logs/run.log`` (appended, one block per run)."""
    log_dir = config.work_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "run.log"
    LOG.setLevel(logging.INFO)
    LOG.handlers.clear()
    fmt = logging.Formatter("%(asctime)s  %(message)s", datefmt="%Y-%m-%d %H:%M:%S")
    for handler in (logging.StreamHandler(sys.stdout), logging.FileHandler(path, encoding="utf-8")):
        handler.setFormatter(fmt)
        LOG.addHandler(handler)
    LOG.propagate = False
    return path


def release_memory() -> None:
    """Hand memory freed by a finished step back to the system before the next step allocates:
    cycles, Arrow's pool, and (Linux) the C heap's free pages, which would otherwise stay
    with the process and add to every later step's peak."""
    gc.collect()
    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to trim
            pass


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


def run_steps(config: RunConfig, names: list[str] | None = None) -> dict[str, StepResult]:
    """Run the named steps (default: all) in pipeline order; log counts and wall time."""
    steps = all_steps()
    known = [s.name for s in steps]
    wanted = known if names is None else names
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise StepOrderError(f"unknown step(s) {unknown}; the steps are: {', '.join(known)}")
    config.work_dir.mkdir(parents=True, exist_ok=True)
    config.export_dir.mkdir(parents=True, exist_ok=True)
    log_path = setup_logging(config)
    LOG.info("=" * 72)
    LOG.info("run '%s' with %s (sha256 %s)", config["run"]["name"], config.path, config.sha256[:12])
    LOG.info("work folder %s | export folder %s | log %s", config.work_dir, config.export_dir, log_path)
    LOG.info("python %s on %s", platform.python_version(), platform.platform())
    results: dict[str, StepResult] = {}
    run_start = time.perf_counter()
    for number, step in enumerate(steps, start=1):
        if step.name not in wanted:
            continue
        ctx = RunContext(config, step, number)
        ctx.step_dir.mkdir(parents=True, exist_ok=True)
        LOG.info("step %d/%d %s: %s", number, len(steps), step.name, step.title)
        per_step_peak = reset_peak_memory()
        started = time.perf_counter()
        result = step.run(ctx)
        seconds = time.perf_counter() - started
        release_memory()
        for key, value in result.counts.items():
            LOG.info("    %-40s %14s", key, f"{value:,}")
        for note in result.notes:
            LOG.info("    %s", note)
        peak = peak_memory_mb()
        peak_text = f", peak memory {peak:,.0f} MB{'' if per_step_peak else ' (whole run so far)'}" if peak else ""
        LOG.info("    done in %.2f s%s", seconds, peak_text)
        manifest = {
            "step": step.name, "title": step.title, "number": number, "reads": list(step.reads),
            "writes": list(step.writes), "outputs": result.outputs, "counts": result.counts, "notes": result.notes,
            "seconds": round(seconds, 3), "config": str(config.path), "config_sha256": config.sha256,
            "peak_memory_mb": None if peak is None else round(peak), "peak_memory_of": "step" if per_step_peak else "run",
        }
        (ctx.step_dir / "step.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        results[step.name] = result
    LOG.info("run finished in %.2f s", time.perf_counter() - run_start)
    return results
