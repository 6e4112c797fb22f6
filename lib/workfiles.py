"""Tables in the work folder: parquet when pyarrow is installed, CSV with a dtype file otherwise.

Work-folder tables are microdata-level and internal. Parquet keeps dtypes (including
categoricals) and is fast; without pyarrow, a CSV plus ``<name>.dtypes.json`` restores
the same dtypes, so every step runs in either environment.
"""
from __future__ import annotations

import importlib.util
import json
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pandas as pd

HAS_PARQUET = importlib.util.find_spec("pyarrow") is not None


def table_path(stem: Path) -> Path:
    return Path(stem).with_suffix(".parquet" if HAS_PARQUET else ".csv")


def write_table(frame: pd.DataFrame, stem: Path) -> Path:
    """Write ``frame`` to ``<stem>.parquet`` (or ``.csv`` + ``.dtypes.json``); return the path."""
    with TableWriter(stem) as writer:
        writer.write(frame)
    return writer.path


class TableWriter:
    """Writes a work table part by part (a national ledger, priced chunk by chunk), so that it
    never has to be in memory whole. Every part has the same columns and dtypes (categoricals
    with the same categories).

    With ``background=True`` each part is written on a second thread while the caller
    computes the next one (at most one part waits); an error in writing is raised by the
    next ``write`` or by ``close``.

    >>> with TableWriter(folder / "ledger") as ledger:     # doctest: +SKIP
    ...     for part in parts:
    ...         ledger.write(part)
    """

    def __init__(self, stem: Path, background: bool = False):
        self.path = table_path(stem)
        self.rows = 0
        self._parquet = None
        self._parts = 0
        self._executor = ThreadPoolExecutor(max_workers=1) if background else None
        self._pending: Future | None = None

    def write(self, frame: pd.DataFrame) -> None:
        if self._executor is None:
            self._write_part(frame)
            return
        self._wait()
        self._pending = self._executor.submit(self._write_part, frame)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def _write_part(self, frame: pd.DataFrame) -> None:
        if self._parts == 0:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if HAS_PARQUET:
            import pyarrow as pa
            import pyarrow.parquet as pq
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._parquet is None:
                # Dictionary encoding only where it pays: codes and text. For ids, days and
                # amounts it costs a quarter of the write time and saves little space.
                coded = [f.name for f in table.schema
                         if pa.types.is_dictionary(f.type) or pa.types.is_string(f.type)
                         or pa.types.is_large_string(f.type)]
                self._parquet = pq.ParquetWriter(self.path, table.schema, use_dictionary=coded)
            self._parquet.write_table(table)
        else:
            first = self._parts == 0
            frame.to_csv(self.path, mode="w" if first else "a", header=first, index=False, encoding="utf-8")
            if first:
                dtypes = {c: ({"category": [str(v) for v in frame[c].cat.categories]}
                              if isinstance(frame[c].dtype, pd.CategoricalDtype) else str(frame[c].dtype))
                          for c in frame.columns}
                self.path.with_suffix(".dtypes.json").write_text(json.dumps(dtypes), encoding="utf-8")
        self._parts += 1
        self.rows += len(frame)

    def close(self) -> None:
        try:
            self._wait()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
            if self._parquet is not None:
                self._parquet.close()
                self._parquet = None

    def __enter__(self) -> "TableWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_table(stem: Path, columns: list[str] | None = None) -> pd.DataFrame:
    path = table_path(stem)
    if not path.is_file():
        raise FileNotFoundError(path)
    if HAS_PARQUET:
        import pyarrow as pa
        import pyarrow.parquet as pq
        table = pq.read_table(path, columns=columns)
        # Free each Arrow column as it is converted and hand the freed pages back, so a large
        # table does not stay in memory twice for the rest of the step.
        frame = table.to_pandas(self_destruct=True, split_blocks=True)
        del table
        pa.default_memory_pool().release_unused()
        return frame
    dtypes = json.loads(path.with_suffix(".dtypes.json").read_text(encoding="utf-8"))
    plain = {c: (str if isinstance(t, dict) or t == "object" else t) for c, t in dtypes.items()}
    # round_trip: pandas' default fast float parser may change the last digit of a cost.
    frame = pd.read_csv(path, dtype=plain, usecols=columns, keep_default_na=False, na_values=[""], encoding="utf-8",
                        float_precision="round_trip")
    for c, t in dtypes.items():
        if c in frame.columns and isinstance(t, dict):
            frame[c] = pd.Categorical(frame[c], categories=t["category"])
        elif c in frame.columns and t == "object":
            frame[c] = frame[c].fillna("")
    return frame
