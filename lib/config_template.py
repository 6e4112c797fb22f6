"""A commented config template for the CBS route or the municipal route (``run_all.py --init``).

Written from the schema of ``lib.config`` (every setting, its meaning as a comment, its default) and
from the layouts (``lib.layouts``: the folder and file-name pattern of each CBS dataset on the RA data
drive), so the template cannot drift from what the bundle reads. Settings a user must fill are active
lines marked REQUIRED, with an example value; every other setting is a commented-out line with its
default (uncomment to change it).
"""
from __future__ import annotations

import datetime as _dt
import textwrap
from pathlib import Path
from typing import Any

from disclosure_control import DisclosureRules
from lib.config import (
    CBS_REQUIRED_DATASETS,
    CBS_SETTINGS,
    MUNICIPALITY_SETTINGS,
    REFERENCE_DATA,
    REQUIRED,
    SCHEMA,
    Setting,
)
from lib.errors import UserFacingError
from lib.layouts import CBS_DATASETS, CbsDataset

ROUTES = {"cbs": "cbs", "gemeente": "municipality"}
"""The names ``--init`` takes, and the ``[run] route`` each writes."""
DEFAULT_FILE_NAMES = {"cbs": "config_cbs.toml", "gemeente": "config_gemeente.toml"}
RA_DRIVE = "G:/"
"""Where CBS Remote Access mounts the microdata (``G:/<Theme>/<DATASET>/...``)."""
EXAMPLES: dict[tuple[str, str], Any] = {
    ("study", "area"): ["0344"],
    ("study", "peildatum"): _dt.date(2023, 12, 31),
    ("study", "years"): [2019, 2020, 2021, 2022, 2023],
    ("prices", "price_year"): 2023,
}
"""Example values of the required settings (Utrecht, 2019-2023): replace them."""
MUNICIPAL_EXAMPLES = {"brp_extract": "gemeente/brp_extract.csv", "cost_files": ["gemeente/kosten/*.csv"]}
WIDTH = 100


def dataset_pattern(dataset: CbsDataset, drive: str = RA_DRIVE) -> str:
    """The glob of a dataset's files on the RA drive: ``G:/<Theme>/<DATASET>/[*/]<STEM>*<KIND>*V*.*``
    (any year, any version, any format; ``[sources] format_preference`` and the highest version decide)."""
    folder = f"{drive}{dataset.theme}/{dataset.name}/" + ("*/" if dataset.yearly_folder else "")
    return f"{folder}{dataset.file_stem}*{dataset.kind}*V*.*"


def toml_value(value: Any) -> str:
    """``value`` as a TOML value (text in double quotes with escapes, so a path keeps its slashes)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}" if value else "{}"
    raise TypeError(f"no TOML form for {value!r}")


def toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() and key.isascii() else toml_value(key)


def _comment(text: str, prefix: str = "# ") -> list[str]:
    return textwrap.wrap(text, WIDTH - len(prefix), initial_indent=prefix, subsequent_indent=prefix,
                         break_on_hyphens=False, break_long_words=False)


def _default_line(key: str, default: Any) -> str:
    """The commented-out line of a setting left at its default."""
    if default is REQUIRED:
        return f"# {key} =                  (REQUIRED: fill in, and remove the '# ')"
    if default is None:
        return f"# {key} =                  (default: not set)"
    if isinstance(default, (str, list)) and str(REFERENCE_DATA) in str(default):
        shipped = [Path(p).name for p in (default if isinstance(default, list) else [default])]
        return f"# {key} =                  (default: the bundle's {', '.join(shipped)})"
    return f"# {key} = {toml_value(default)}"


def _setting_lines(setting: Setting, active: Any = REQUIRED, required: bool = False) -> list[str]:
    """Comment lines with the meaning, then the setting: active with ``active``, or commented out."""
    doc = ("REQUIRED. " if required else "") + setting.doc
    if setting.choices:
        doc += f" Choices: {', '.join(map(repr, setting.choices))}."
    lines = _comment(doc)
    lines.append(f"{setting.key} = {toml_value(active)}" if active is not REQUIRED
                 else _default_line(setting.key, setting.default))
    return lines + [""]


def config_template(route: str) -> str:
    """The commented config template of ``route`` ('cbs' or 'gemeente')."""
    if route not in ROUTES:
        raise UserFacingError(f"--init {route!r}: the routes are {' and '.join(ROUTES)} (CBS Remote Access, or the "
                              "municipality's own environment with its BRP extract and appendix-2 cost files)")
    cbs = route == "cbs"
    title = ("the CBS route (CBS Remote Access registers)" if cbs
             else "the municipal route (BRP extract and the appendix-2 cost files of providers and departments)")
    lines = [
        f"# Kostenanalyse multi-probleemhuishoudens: run configuration for {title}.",
        f"# Written by `python scripts/run_all.py --init {route}`. Every setting of the bundle is listed with its",
        "# meaning. Lines marked REQUIRED must be filled in (the values given are examples); a line starting",
        "# with '# key =' keeps the default: remove the '# ' to change it.",
        "# Paths: relative to this file, or absolute. Write Windows paths with forward slashes",
        "# (\"G:/Bevolking/...\"), or between single quotes ('G:\\Bevolking\\...'): between double quotes a",
        "# backslash starts an escape (\"C:\\Users\" is an error, \"C:\\temp\" holds a tab).",
        f"# Then check the config and the sources without running: python scripts/run_all.py --config <this file> --check",
        "",
    ]
    for section, settings in SCHEMA.items():
        if section == "disclosure_control":
            continue
        lines += [f"[{section}]", ""]
        for s in settings:
            if section == "sources" and s.key in ("cbs", "municipality"):
                continue    # their own tables below
            if section == "run" and s.key == "route":
                lines += _setting_lines(s, ROUTES[route])
            elif section == "run" and s.key == "statistics_only" and cbs:
                lines += _setting_lines(s, True)
            elif s.default is REQUIRED:
                lines += _setting_lines(s, EXAMPLES.get((section, s.key), REQUIRED), required=True)
            else:
                lines += _setting_lines(s)
    lines += _cbs_sources() if cbs else _municipal_sources()
    lines += ["[disclosure_control]", "", *_comment("The rules of CBS's output control, applied to every exported "
                                                    "table (see docs/disclosure.md). Keep the defaults in "
                                                    "CBS Remote Access."), ""]
    for name, value, meaning in DisclosureRules().describe():
        lines += _comment(meaning + ".")
        lines += [_default_line(name, value), ""]
    return "\n".join(lines).rstrip() + "\n"


def _cbs_sources() -> list[str]:
    lines = ["[sources.cbs]", ""]
    lines += _comment("The CBS datasets: DATASET = \"path or glob\" of its files on the RA data drive (the folders "
                      f"and file names of lib/reference_data/layouts.toml; {RA_DRIVE} is the drive Remote Access "
                      "mounts). Of a TAB dataset in year folders the highest V<n> of each study year is read, of "
                      "the others the newest file. Check the folders on your desktop, and fit the layouts with "
                      "scripts/inspect_sources.py.")
    lines += _comment("Cost datasets are optional: delete the line of a dataset your project has no access to; its "
                      "domain is then 'not measured' in every table (not zero). With only the four registers the "
                      "run checks households and residence and reads no costs.")
    lines.append("")
    for name, dataset in CBS_DATASETS.items():
        need = ("REQUIRED (household and address registers). " if name in CBS_REQUIRED_DATASETS
                else "Optional (costs). ")
        lines += _comment(need + " ".join(dataset.description.split()))
        lines += [f"{name} = {toml_value(dataset_pattern(dataset))}", ""]
    for s in CBS_SETTINGS:
        lines += _setting_lines(s)
    return lines


def _municipal_sources() -> list[str]:
    lines = ["[sources.municipality]", ""]
    for s in MUNICIPALITY_SETTINGS:
        if s.key in MUNICIPAL_EXAMPLES:
            lines += _setting_lines(s, MUNICIPAL_EXAMPLES[s.key], required=True)
        else:
            lines += _setting_lines(s)
    return lines


def write_config_template(route: str, path: str | Path | None = None) -> Path:
    """Write the template of ``route`` to ``path`` (default ``config_<route>.toml`` in the current folder);
    never over an existing file."""
    text = config_template(route)
    target = Path(path if path is not None else DEFAULT_FILE_NAMES[route])
    if target.exists():
        raise UserFacingError(f"{target.resolve()} exists already: --init never overwrites a file. Give another "
                              f"file name (python scripts/run_all.py --init {route} my_run.toml) or move that file "
                              "away first")
    if not target.parent.is_dir():
        raise UserFacingError(f"{target.resolve()}: the folder {target.parent.resolve()} does not exist; create it "
                              "first or give a file in an existing folder")
    with open(target, "x", encoding="utf-8", newline="\n") as handle:   # "x": never over a file made meanwhile
        handle.write(text)
    return target
