"""Table requests: how analysis steps hand their tables to the one export step.

An analysis step never writes to the export folder. It writes, in its own work folder,
the unit-level data of each table it wants published and the call of the safe writer
that should publish it (``tables/<name>.json`` + ``tables/<name>.data``). The export
step replays every request of the run through one ``disclosure_control.SafeWriter``,
so that tables sharing cells are suppressed consistently, differencing between them is
checked, and rerunning one analysis step never leaves a half-protected export.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lib.parallel import map_in_order
from lib.workfiles import read_table, remove_file, write_json_atomic, write_table

WRITER_METHODS = ("frequency_table", "magnitude_table", "cluster_profiles", "aggregated_table", "concentration",
                  "association_rules", "percentiles", "model_table")


@dataclass(frozen=True)
class TableRequest:
    step_dir: Path
    name: str
    method: str
    kwargs: dict

    def data(self) -> pd.DataFrame:
        return read_table(self.step_dir / "tables" / f"{self.name}.data")


def request_table(step_dir: Path, name: str, method: str, data: pd.DataFrame, **kwargs) -> None:
    """Ask the export step to publish ``data`` with ``SafeWriter.<method>(data, name=name, **kwargs)``."""
    if method not in WRITER_METHODS:
        raise ValueError(f"unknown safe-writer method {method!r}")
    folder = step_dir / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    # The data first, then the request that points at it; each appears under its name only when complete.
    write_table(data, folder / f"{name}.data")
    spec = {"name": name, "method": method, "kwargs": kwargs}
    write_json_atomic(folder / f"{name}.json", spec, indent=2, ensure_ascii=False, default=str)


def request_tables(step_dir: Path, tables) -> None:
    """``request_table`` for each of ``tables`` (objects with ``name``, ``method``, ``data`` and
    ``kwargs``), two at a time: writing one table's data leaves the interpreter free for the
    next (a step's tables hold millions of rows nationally)."""
    for _ in map_in_order(lambda t: request_table(step_dir, t.name, t.method, t.data, **t.kwargs), tables):
        pass


def clear_requests(step_dir: Path) -> None:
    folder = step_dir / "tables"
    if folder.is_dir():
        for path in folder.iterdir():
            remove_file(path)


def collect_requests(work_dir: Path) -> list[TableRequest]:
    """Every table request of the run, in step order, then by name."""
    requests = []
    for spec_path in sorted(work_dir.glob("[0-9][0-9]_*/tables/*.json")):
        if spec_path.name.endswith(".dtypes.json"):  # the dtypes of a CSV table (no pyarrow), not a request
            continue
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
        requests.append(TableRequest(spec_path.parent.parent, spec["name"], spec["method"], spec["kwargs"]))
    return requests
