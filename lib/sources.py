"""Find the files of every configured source and pick the versions to read.

CBS files are named ``<FILE><YYYY><TAB|BUS>[nn]V<n>.<ext>``. Several versions of a
year can exist; the highest ``V<n>`` wins. A dataset with one file per year (TAB files
in year folders) contributes each study year's file; any other dataset contributes
only its newest file (highest year, then highest version). When one version exists in
several formats, ``format_preference`` decides. Every file that was found but not
chosen is listed with the reason, so the inventory explains itself.

A format counts as readable only when its package imports: an installed package that
fails to import (on Windows often a missing DLL) is treated as absent, so the run falls
back to the other formats instead of stopping with a traceback.
"""
from __future__ import annotations

import datetime as _dt
import glob
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from lib import optional_packages
from lib.config import RunConfig
from lib.errors import UserFacingError
from lib.layouts import CbsDataset, layouts_for
from lib.optional_packages import importable  # noqa: F401 -- imported from here by older callers and tests

CBS_FILE_NAME = re.compile(
    r"^(?P<stem>[A-Za-z_]+?)(?P<year>(19|20)\d{2})(?P<kind>TAB|BUS)?\d{0,2}V(?P<version>\d+)"
    r"\.(?P<ext>sav|csv|parquet)$", re.IGNORECASE)
FORMAT_OF_EXTENSION = {"sav": "sav", "csv": "csv", "parquet": "parquet"}


class SourceError(UserFacingError):
    """A configured source cannot be used, with a message meant for the user."""


@dataclass(frozen=True)
class SourceFile:
    dataset: str
    path: Path
    year: int | None
    version: int | None
    format: str
    encoding: str = "auto"
    """Text encoding of a CSV file (``[sources] csv_encoding``); ``auto``: UTF-8, or what a BOM says."""
    layout: CbsDataset | None = field(default=None, compare=False, repr=False)
    """The run's layout of the file's dataset (``lib.layouts.layouts_for``): which column has which role."""


@dataclass(frozen=True)
class SkippedFile:
    dataset: str
    path: Path
    reason: str


def readable_formats(preference: list[str]) -> list[str]:
    """The preferred formats this environment can read (.sav needs pyreadstat, parquet pyarrow)."""
    usable = {"sav": importable("pyreadstat"), "parquet": optional_packages.available("pyarrow"), "csv": True}
    return [f for f in preference if usable[f]]


def expand_pattern(config: RunConfig, pattern: str) -> list[Path]:
    full = pattern if Path(pattern).is_absolute() else str(config.base_dir / pattern)
    return sorted(Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file())


def choose_cbs_files(dataset: CbsDataset, paths: list[Path], years: list[int],
                     formats: list[str]) -> tuple[list[SourceFile], list[SkippedFile]]:
    """The files of ``dataset`` to read among ``paths``, and why the others are not read."""
    skipped: list[SkippedFile] = []
    candidates: list[SourceFile] = []
    for path in paths:
        m = CBS_FILE_NAME.match(path.name)
        if not m:
            skipped.append(SkippedFile(dataset.name, path, "name does not follow <FILE><YYYY><TAB|BUS>V<n>.<ext>"))
            continue
        if m["stem"].upper() != dataset.file_stem:
            skipped.append(SkippedFile(dataset.name, path, f"file name is not of {dataset.file_stem}"))
            continue
        fmt = FORMAT_OF_EXTENSION[m["ext"].lower()]
        if fmt not in formats:
            skipped.append(SkippedFile(dataset.name, path, f"format {fmt} not in the readable preferred formats {formats}"))
            continue
        candidates.append(SourceFile(dataset.name, path, int(m["year"]), int(m["version"]), fmt, layout=dataset))
    if dataset.yearly_folder:
        wanted_years = set(years)
        for c in candidates:
            if c.year not in wanted_years:
                skipped.append(SkippedFile(dataset.name, c.path, f"year {c.year} is not a study year"))
        candidates = [c for c in candidates if c.year in wanted_years]
    chosen: list[SourceFile] = []
    groups = sorted({c.year for c in candidates}) if dataset.yearly_folder else [None]
    for year in groups:
        group = [c for c in candidates if year is None or c.year == year]
        if not group:
            continue
        best = max(group, key=lambda c: (c.year, c.version, -formats.index(c.format)))
        chosen.append(best)
        for c in group:
            if c is best:
                continue
            if (c.year, c.version) == (best.year, best.version):
                reason = f"same version read as {best.format}"
            elif c.year == best.year:
                reason = f"older version V{c.version} (V{best.version} is read)"
            else:
                reason = f"older file {c.year} ({best.year} is read)"
            skipped.append(SkippedFile(dataset.name, c.path, reason))
    return chosen, skipped


def locate_sources(config: RunConfig) -> tuple[list[SourceFile], list[SkippedFile]]:
    """Every file the run will read, per configured source, and every file it will not."""
    formats = readable_formats(config["sources"]["format_preference"])
    if not formats:
        raise SourceError("none of the formats in [sources] format_preference can be read here")
    chosen: list[SourceFile] = []
    skipped: list[SkippedFile] = []
    encoding = config["sources"]["csv_encoding"]
    layouts = layouts_for(config)
    for name, pattern in config["sources"]["cbs"].items():
        dataset = layouts[name]
        paths = expand_pattern(config, pattern)
        if not paths:
            raise SourceError(f"[sources.cbs] {name} = {pattern!r}: no file matches (looked in {config.base_dir})")
        c, s = choose_cbs_files(dataset, paths, config.years, formats)
        if not c:
            reasons = "; ".join(f"{x.path.name}: {x.reason}" for x in s[:5])
            raise SourceError(f"[sources.cbs] {name}: files were found but none can be used ({reasons})")
        if dataset.yearly_folder:
            missing = sorted(set(config.years) - {f.year for f in c})
            if missing:
                raise SourceError(f"[sources.cbs] {name}: no file for study year(s) {missing}")
        if encoding != "auto":
            c = [replace(f, encoding=encoding) if f.format == "csv" else f for f in c]
        chosen += c
        skipped += s
    if config["run"]["route"] == "cbs":
        check_dates_covered(config, chosen)
    municipal = config["sources"]["municipality"]
    if municipal["brp_extract"]:
        paths = expand_pattern(config, municipal["brp_extract"])
        if len(paths) != 1:
            raise SourceError(f"[sources.municipality] brp_extract = {municipal['brp_extract']!r} must match exactly "
                              f"one file (matches {len(paths)})")
        chosen.append(SourceFile("BRP_EXTRACT", paths[0], None, None, "csv"))
    # Appendix-2 files: keyed by BSN or a pseudonym (municipal route) or linked by CBS to RINPERSOON
    # ([sources.cbs] cost_files, the combined route); the route says which.
    for section, patterns in (("sources.municipality", municipal["cost_files"]),
                              ("sources.cbs", config["sources"].get("cbs_settings", {}).get("cost_files", []))):
        for pattern in patterns:
            paths = expand_pattern(config, pattern)
            if not paths:
                raise SourceError(f"[{section}] cost_files: no file matches {pattern!r}")
            chosen += [SourceFile("APPENDIX2", p, None, None, "csv") for p in paths]
    return chosen, skipped


# Registers whose newest file decides up to which date households and residence are known.
COVERAGE_REGISTERS = ("GBAHUISHOUDENSBUS", "GBAADRESOBJECTBUS")


def covered_until(files: list[SourceFile], dataset: str) -> tuple[_dt.date, SourceFile] | None:
    """The last day a cumulative (BUS) register can describe, and its newest file: a BUS file of
    year Y holds the spells registered up to its version date, at the latest 1 January of Y + 1
    (CBS documents the BUS files up to that date)."""
    of_dataset = [f for f in files if f.dataset == dataset and f.year is not None]
    if not of_dataset:
        return None
    newest = max(of_dataset, key=lambda f: (f.year, f.version or 0))
    return _dt.date(newest.year + 1, 1, 1), newest


def check_dates_covered(config: RunConfig, files: list[SourceFile]) -> None:
    """Refuse a peildatum or residence date after the newest household or address register:
    every open spell would seem to run on, and every household would seem still resident."""
    study = config["study"]
    dates = [("peildatum", study["peildatum"])]
    if study["residence_date"] is not None:
        dates.append(("residence_date", study["residence_date"]))
    for dataset in COVERAGE_REGISTERS:
        covered = covered_until(files, dataset)
        if covered is None:
            continue
        last_day, newest = covered
        for key, day in dates:
            if day > last_day:
                raise SourceError(
                    f"[study] {key} {day.isoformat()} is after the data: the newest file of {dataset}, "
                    f"{newest.path.name} (year {newest.year}), describes households and addresses up to "
                    f"{last_day.isoformat()} at the latest. Set {key} to that date or earlier, or point "
                    f"[sources.cbs] {dataset} at a newer version.")
