"""What each step is computed from, recorded in its ``step.json``, and whether its work files are
still true to it.

A step's output depends on three things, and its ``step.json`` records all three:

* **config** -- the values of the config settings the step uses (``PROVENANCE[step].config``:
  whole sections such as ``prices``, or single keys such as ``run.seed``). The choice per step is
  in the table below; a config section that the table does not know, or a new key of ``[run]``,
  counts for every step (when unsure, a setting is assumed to matter). ``[run] name``,
  ``work_dir`` and ``export_dir`` change no figure and count only for the export (its provenance
  states the run name and the config file's hash, so the export counts the whole config file);
* **input files** that are not work files (price tables, the price index, the domain mapping,
  the cohort file, the source files the inventory chose): size and modification time, and the
  SHA-256 of the content for files up to ``HASH_LIMIT`` bytes (all of these except the large CBS
  microdata files, which are compared by size and modification time: hashing them would read
  tens of gigabytes on every run). A small file that is rewritten with the same content is not
  a change; a large one whose time changes is;
* **upstream outputs** -- the ``run_id`` of every earlier step whose work files it reads. Every
  run of a step gets a new ``run_id``, so a step that ran again (even with the same result)
  makes the steps after it out of date.

The step's own work files are recorded with their sizes (``work_files``), and the export with
the SHA-256 of every file in the export folder, so a work file deleted or replaced afterwards,
or an export folder rewritten by another run, is noticed too.

A step is **out of date** when any of this differs now; :class:`Freshness` says what differs,
for the message that stops a run using it.
"""
from __future__ import annotations

import datetime as _dt
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from disclosure_control.output import sha256_of
from lib.config import REFERENCE_DATA, RunConfig
from lib.errors import UserFacingError

STEP_JSON = "step.json"
RECORD_FORMAT = 2
HASH_LIMIT = 64 * 1024 * 1024
"""Input files up to this size (64 MiB) are compared by content (SHA-256), larger ones by size and time."""
CONFIG_FILE = "config file"
"""The config part that stands for the whole config file (its SHA-256)."""


def _no_files(config: RunConfig) -> list[Path]:
    return []


@dataclass(frozen=True)
class Provenance:
    """What a step reads: earlier steps, config settings, input files; and folders it writes outside
    its own (``outside``), recorded with their contents."""

    upstream: tuple[str, ...]
    config: tuple[str, ...]
    files: Callable[[RunConfig], list[Path]] = _no_files
    outside: Callable[[RunConfig], list[Path]] = _no_files


# Settings that every table's metadata states (lib.steps.households.run_metadata: population,
# period, attribution, price year, route, the measured domains, found from the sources, the
# price tables and the domain mapping, how domains are counted, the sources that delivered only a
# shortlist, and whether the run reads any cost source at all).
TABLE_METADATA = ("study", "households", "domains", "run.route", "prices.price_year", "prices.price_tables",
                  "prices.fallback_tables", "prices.bijstand_from", "prices.bijstand_codes", "sources.cbs",
                  "sources.municipality", "sources.layouts", "sources.detention_days_per_year",
                  "selection.shortlist_sources")
RUN_KEYS = ("name", "route", "statistics_only", "work_dir", "export_dir", "seed")
"""The keys of [run] that the table below assigns; any other key of [run] counts for every step."""


def _unique(paths: Iterable[Path]) -> list[Path]:
    return list(dict.fromkeys(Path(p).resolve() for p in paths))


def source_files(config: RunConfig) -> list[Path]:
    """The source files the inventory chooses (the files every later step reads), and the run's
    layouts file (which column of them has which role)."""
    from lib.layouts import layout_file
    from lib.sources import locate_sources
    chosen, _ = locate_sources(config)
    layouts = layout_file(config)
    return _unique([f.path for f in chosen] + ([layouts] if layouts is not None else []))


def price_files(config: RunConfig) -> list[Path]:
    prices = config["prices"]
    # The national figures the price check compares with: a new figure changes the step's warnings.
    scenarios = config["sensitivity"]["price_tables_laag"] + config["sensitivity"]["price_tables_hoog"]
    return _unique([config.resolve(p) for p in prices["price_tables"] + prices["fallback_tables"] + scenarios]
                   + [config.resolve(prices["index"])]
                   + [config.resolve(path) for path in prices["index_series"].values()]
                   + [config.resolve(prices["bijstand_codes"])]
                   + [REFERENCE_DATA / "national_figures.csv"])


def domain_mapping(config: RunConfig) -> list[Path]:
    return _unique([config.resolve(config["sources"]["municipality"]["domain_labels"])])


def metadata_files(config: RunConfig) -> list[Path]:
    """The files behind every table's metadata: the domain mappings, the price tables (the
    bundle's defaults and the run's) and the bijstand code list, from which the measured domains
    are found."""
    prices = config["prices"]
    return _unique([REFERENCE_DATA / "domain_labels.csv", *domain_mapping(config), REFERENCE_DATA / "prices_default.csv",
                    *[config.resolve(p) for p in prices["price_tables"] + prices["fallback_tables"]],
                    config.resolve(prices["bijstand_codes"])])


def comparison_files(config: RunConfig) -> list[Path]:
    """The earlier run's ``step.json`` files that a comparison reads (``[comparison] earlier_work_dir``):
    a rerun of a step of the earlier run makes the baseline out of date."""
    from lib.comparison import provenance_files
    return provenance_files(config)


def monitoring_files(config: RunConfig) -> list[Path]:
    settings = config["monitoring"]
    cohort = [config.resolve(settings["cohort_file"])] if settings["enabled"] and settings["cohort"] == "file" else []
    return _unique(metadata_files(config) + cohort)


PROVENANCE: dict[str, Provenance] = {
    "inventory": Provenance((), ("sources", "study.years"), source_files),
    # The peildatum's year names the object register's municipality column that is read for the households step.
    "read_sources": Provenance(("inventory",), ("run.route", "sources", "study.years", "study.peildatum"),
                               domain_mapping),
    "price": Provenance(("read_sources",), ("prices", "sensitivity"), price_files),
    "households": Provenance(("inventory", "read_sources", "price"),
                             TABLE_METADATA + ("monitoring.enabled",), metadata_files),
    "cube": Provenance(("households", "price"), ("households", "study", "domains")),
    # The tables of provider coverage (lib.provider_coverage) read the providers' ledger rows, the
    # records and provider codes, and the households and members.
    "baseline": Provenance(("cube", "price", "read_sources", "households"), TABLE_METADATA + ("baseline", "selection", "sensitivity", "disclosure_control", "comparison"),
                           lambda config: metadata_files(config) + comparison_files(config)),
    "coherence": Provenance(("cube",), TABLE_METADATA + ("coherence", "baseline.top_group_share", "run.seed",
                                                         "disclosure_control"), metadata_files),
    "selection": Provenance(("cube", "households", "read_sources"),
                            TABLE_METADATA + ("selection", "run.statistics_only", "disclosure_control"),
                            metadata_files),
    "monitoring": Provenance(("price", "households", "read_sources"),
                             TABLE_METADATA + ("monitoring", "selection", "run.seed", "disclosure_control"),
                             monitoring_files),
    "export": Provenance(("households", "baseline", "coherence", "selection", "monitoring"),
                         ("disclosure_control", "run.name", "run.export_dir", CONFIG_FILE),
                         outside=lambda config: [config.export_dir]),
    # The section "Bronnen" reads the inventory, the reading step's accounting and the prices used, and
    # finds the domains of the method as the tables do; the workbook notice follows output_format.
    # The price check and the language ([report], the label table) too.
    "report": Provenance(("export", "inventory", "read_sources", "price"),
                         TABLE_METADATA + ("run.export_dir", "disclosure_control", "report"),
                         lambda config: metadata_files(config) + [REFERENCE_DATA / "report_labels.csv"]),
}


def config_parts(config: RunConfig, declared: Iterable[str]) -> list[str]:
    """The declared parts, plus any config section or [run] key the table above does not know."""
    known_sections = {part.split(".")[0] for p in PROVENANCE.values() for part in p.config} | {"run"}
    extra = [s for s in config.values if s not in known_sections]
    extra += [f"run.{k}" for k in config.values.get("run", {}) if k not in RUN_KEYS]
    return list(dict.fromkeys([*declared, *extra]))


def _plain(value: Any) -> Any:
    """``value`` as plain JSON data (dates as text, tuples as lists), for recording and comparing."""
    if hasattr(value, "as_dict"):
        value = value.as_dict()
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def config_value(config: RunConfig, part: str) -> Any:
    if part == CONFIG_FILE:
        return config.sha256
    section, _, key = part.partition(".")
    value = config.values.get(section)
    if hasattr(value, "as_dict"):
        value = value.as_dict()
    if key:
        value = value.get(key) if isinstance(value, dict) else None
    return _plain(value)


def config_record(config: RunConfig, parts: Iterable[str]) -> dict[str, Any]:
    return {part: config_value(config, part) for part in parts}


# ------------------------------------------------------------------ file identities

_HASHES: dict[tuple[str, int, int], str] = {}
_HASHES_LOCK = threading.Lock()


# The same digest as the export manifest's (one implementation of a file's SHA-256).
sha256_file = sha256_of


def file_identity(path: Path) -> dict[str, Any]:
    """Size, modification time and (up to ``HASH_LIMIT`` bytes) the SHA-256 of ``path``."""
    path = Path(path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {"missing": True}
    except OSError as exc:
        return {"unreadable": str(exc)}
    if not path.is_file():
        return {"not_a_file": True}
    identity: dict[str, Any] = {"bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if stat.st_size <= HASH_LIMIT:
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with _HASHES_LOCK:
            known = _HASHES.get(key)
        if known is None:
            try:
                known = sha256_file(path)
            except OSError as exc:
                return {"unreadable": str(exc)}
            with _HASHES_LOCK:
                _HASHES[key] = known
        identity["sha256"] = known
    return identity


def identity_change(recorded: dict, current: dict) -> str | None:
    """How a file changed between two identities, or None when it did not."""
    if recorded.get("missing") or current.get("missing"):
        if recorded.get("missing") and current.get("missing"):
            return None
        return "is missing now" if current.get("missing") else "exists now (it was missing)"
    if "unreadable" in current:
        return f"cannot be read now ({current['unreadable']})"
    if "sha256" in recorded and "sha256" in current:
        return None if recorded["sha256"] == current["sha256"] else "has other contents"
    if recorded.get("bytes") != current.get("bytes"):
        return f"has another size ({recorded.get('bytes')} bytes then, {current.get('bytes')} now)"
    if recorded.get("mtime_ns") != current.get("mtime_ns"):
        return "was modified (another modification time)"
    return None


def path_key(config: RunConfig, path: Path) -> str:
    """How an input file is named in a step.json: relative to the config file's folder when it lies
    under it (so a project folder with its config, data and work folder can be moved or copied as a
    whole), else its absolute path."""
    path = Path(path)
    try:
        return path.relative_to(config.base_dir).as_posix()
    except ValueError:
        return str(path)


def files_record(config: RunConfig, paths: Iterable[Path]) -> dict[str, dict]:
    return {path_key(config, p): file_identity(p) for p in paths}


def folder_contents(folder: Path, with_hash: bool) -> dict[str, dict]:
    """Every file under ``folder`` (relative names, ``/``-separated): size, and SHA-256 if asked."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != STEP_JSON:
            entry: dict[str, Any] = {"bytes": path.stat().st_size}
            if with_hash:
                entry["sha256"] = sha256_file(path)
            out[path.relative_to(folder).as_posix()] = entry
    return out


# ------------------------------------------------------------------ the record of a step


def new_run_id() -> str:
    import uuid
    return uuid.uuid4().hex


@dataclass
class StepInputs:
    """What a step is about to be computed from (recorded in its step.json when it finishes)."""

    config: dict[str, Any]
    files: dict[str, dict]
    upstream: dict[str, str | None]

    def as_dict(self) -> dict[str, Any]:
        return {"config": self.config, "files": self.files, "upstream": self.upstream}


def read_manifest(folder: Path) -> dict | None:
    """The step.json of a step folder, or None when there is none (or it cannot be read)."""
    try:
        value = json.loads((Path(folder) / STEP_JSON).read_bytes().decode("utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


def describe_config_change(part: str, recorded: Any, current: Any) -> list[str]:
    """What changed in one config part, key by key: "[prices] price_year changed (was 2023, now 2022)"."""
    if part == CONFIG_FILE:
        return ["the config file changed (the export states the SHA-256 of the config file it was made with)"]
    section, _, key = part.partition(".")
    if not key and isinstance(recorded, dict) and isinstance(current, dict):
        keys = sorted(set(recorded) | set(current))
        return [line for k in keys if recorded.get(k) != current.get(k)
                for line in describe_config_change(f"{section}.{k}", recorded.get(k), current.get(k))]
    where = f"[{section}] {key}" if key else f"[{section}]"
    if section == "sources" and "." in key:
        sub, _, leaf = key.partition(".")
        where = f"[sources.{sub}] {leaf}"
    if isinstance(recorded, dict) and isinstance(current, dict) and section == "sources" and "." not in key:
        keys = sorted(set(recorded) | set(current))
        return [f"[sources.{key}] {k} changed (was {_short(recorded.get(k))}, now {_short(current.get(k))})"
                for k in keys if recorded.get(k) != current.get(k)]
    return [f"{where} changed (was {_short(recorded)}, now {_short(current)})"]


# ------------------------------------------------------------------ freshness


@dataclass
class Freshness:
    """Whether the work files of steps are complete and true to the current config, input files and
    upstream outputs. ``folder_of(name)`` is the step's work folder; ``provenance_of(name)`` its
    ``Provenance``; ``order`` the steps in pipeline order."""

    config: RunConfig
    order: list[str]
    folder_of: Callable[[str], Path]
    provenance_of: Callable[[str], Provenance]
    _manifests: dict[str, dict | None] = field(default_factory=dict)
    _problems: dict[str, list[str]] = field(default_factory=dict)

    def forget(self) -> None:
        """Read step.json files and input files again (a step has run since)."""
        self._manifests.clear()
        self._problems.clear()

    def manifest(self, name: str) -> dict | None:
        if name not in self._manifests:
            self._manifests[name] = read_manifest(self.folder_of(name))
        return self._manifests[name]

    def run_id(self, name: str) -> str | None:
        manifest = self.manifest(name)
        return manifest.get("run_id") if manifest else None

    def inputs_now(self, name: str) -> StepInputs:
        """The inputs step ``name`` would be computed from now (files it cannot list count as a problem
        of the step: ``UserFacingError`` is raised, as the step itself would)."""
        provenance = self.provenance_of(name)
        parts = config_parts(self.config, provenance.config)
        return StepInputs(config=config_record(self.config, parts),
                          files=files_record(self.config, provenance.files(self.config)),
                          upstream={u: self.run_id(u) for u in provenance.upstream})

    def missing_text(self, name: str) -> str:
        return (f"needs the output of step '{name}', which has not run to completion (no {STEP_JSON} in "
                f"{self.folder_of(name)}; a step that stopped or was interrupted leaves none)")

    def problems(self, name: str) -> list[str]:
        """Why the work files of step ``name`` cannot be used now (empty: they can)."""
        if name not in self._problems:
            self._problems[name] = self._find_problems(name)
        return self._problems[name]

    def _find_problems(self, name: str) -> list[str]:
        manifest = self.manifest(name)
        folder = self.folder_of(name)
        if manifest is None:
            return [self.missing_text(name)]
        recorded = manifest.get("computed_from")
        if manifest.get("format") != RECORD_FORMAT or not isinstance(recorded, dict) or not manifest.get("run_id"):
            return [f"step '{name}' ({folder}) was run by an earlier version of the bundle, which did not record what "
                    "it was computed from"]
        provenance = self.provenance_of(name)
        changes: list[str] = []
        # Config settings.
        recorded_config = recorded.get("config", {})
        for part in config_parts(self.config, provenance.config):
            now = config_value(self.config, part)
            if part not in recorded_config:
                changes.append(f"the setting {part} was not recorded when it ran")
            elif recorded_config[part] != now:
                changes += describe_config_change(part, recorded_config[part], now)
        # Input files.
        recorded_files = recorded.get("files", {})
        try:
            current_paths = [path_key(self.config, p) for p in provenance.files(self.config)]
        except UserFacingError as exc:
            changes.append(f"its input files cannot be found now ({exc})")
            current_paths = list(recorded_files)
        for path in current_paths:
            if path not in recorded_files:
                changes.append(f"it did not read {path}, which it would read now")
                continue
            change = identity_change(recorded_files[path], file_identity(self.config.resolve(path)))
            if change:
                changes.append(f"the file {self.config.resolve(path)} {change}")
        for path in recorded_files:
            if path not in current_paths:
                changes.append(f"it read {path}, which it would not read now")
        # Upstream outputs.
        recorded_upstream = recorded.get("upstream", {})
        for upstream in provenance.upstream:
            now = self.run_id(upstream)
            if now is None:
                continue  # the upstream step's own problem says it has not run
            if upstream not in recorded_upstream:
                changes.append(f"it did not read the output of step '{upstream}'")
            elif recorded_upstream[upstream] != now:
                changes.append(f"step '{upstream}' ran again since, so this is not its output any more")
        # Its own work files, and folders outside its own that it wrote.
        for relative, entry in manifest.get("work_files", {}).items():
            path = folder / relative
            if not path.is_file():
                changes.append(f"its work file {path} is missing")
            elif path.stat().st_size != entry.get("bytes"):
                changes.append(f"its work file {path} changed since")
        recorded_outside = manifest.get("outside", {})
        for outside in map(str, provenance.outside(self.config)):
            if outside not in recorded_outside:
                changes.append(f"it wrote {', '.join(recorded_outside) or 'nothing'} outside its own folder, but the "
                               f"config now names {outside}")
            elif folder_contents(Path(outside), with_hash=True) != recorded_outside[outside]:
                changes.append(f"the folder {outside} it wrote has changed since (another run, or files added, "
                               "removed or edited)")
        if not changes:
            return []
        return [f"step '{name}' ({folder}) is out of date: " + "; ".join(changes)]

    def closure(self, names: Iterable[str]) -> list[str]:
        """Every step that ``names`` read, directly or through other steps, in pipeline order."""
        seen: set[str] = set()
        stack = list(names)
        while stack:
            for upstream in self.provenance_of(stack.pop()).upstream:
                if upstream not in seen:
                    seen.add(upstream)
                    stack.append(upstream)
        return [n for n in self.order if n in seen]

    def plan_problems(self, plan: list[str], done: Iterable[str] = ()) -> tuple[list[str], str | None]:
        """Why the steps of ``plan`` cannot run on the work files there are, and the step to rerun
        from. Steps in ``plan`` and in ``done`` (run already in this run) are up to date by then."""
        fresh = set(plan) | set(done)
        lines: list[str] = []
        starts: list[str] = []
        for upstream in self.closure(plan):
            if upstream in fresh:
                continue
            rerun = [p for p in self.provenance_of(upstream).upstream if p in set(plan)]
            if rerun and self.manifest(upstream) is not None:
                lines.append(f"step '{upstream}' ({self.folder_of(upstream)}) reads the output of step "
                             f"{_names(rerun)}, which this run runs again: it has to run again too")
                starts += [upstream, *rerun]
                continue
            problems = self.problems(upstream)
            if problems:
                lines += problems
                starts.append(upstream)
        start = min(starts, key=self.order.index) if starts else None
        return lines, start

    def stale_after_run(self, ran: Iterable[str]) -> list[str]:
        """The steps not run now whose (complete) work files are out of date."""
        ran = set(ran)
        return [n for n in self.order if n not in ran and self.manifest(n) is not None and self.problems(n)]


def _names(names: list[str]) -> str:
    return " and ".join(f"'{n}'" for n in names)


class StaleWorkFiles(UserFacingError):
    """A step would read work files that are missing, incomplete or out of date."""


def rerun_command(config: RunConfig, start: str, first_step: str) -> str:
    base = f'python scripts/run_all.py --config "{config.path}"'
    return base if start == first_step else f"{base} --from {start}"


def stale_message(plan: list[str], lines: list[str], start: str | None, config: RunConfig, first_step: str) -> str:
    what = f"step '{plan[0]}'" if len(plan) == 1 else "steps " + ", ".join(plan)
    text = (f"cannot run {what}: work files {'it reads' if len(plan) == 1 else 'they read'} are missing or out of "
            "date:\n  - " + "\n  - ".join(lines))
    if start:
        text += (f"\nRun the steps again from '{start}' (that step and every later one):\n    "
                 f"{rerun_command(config, start, first_step)}")
    return text


def now_text() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")
