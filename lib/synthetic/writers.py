"""Write one logical table chunk by chunk in CSV, SPSS .sav and parquet.

CSV and parquet are streamed: memory stays bounded by one chunk. pyreadstat can only
write a whole table at once, so .sav chunks are collected and written at ``close``,
and only when the table has at most ``sav_row_limit`` rows (a national household
register would not fit in memory as Python strings); a skipped .sav is reported.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from lib import optional_packages

SAV_TIMESTAMP_OFFSET = 92
"""Creation date and time in a .sav header (``dd Mon yy`` + ``hh:mm:ss``, 17 bytes)."""
FIXED_SAV_TIMESTAMP = b"01 Jan 0000:00:00"


def available_formats() -> tuple[str, ...]:
    """CSV always; .sav when pyreadstat is installed; parquet when pyarrow is."""
    formats = ["csv"]
    if importlib.util.find_spec("pyreadstat") is not None:
        formats.append("sav")
    if optional_packages.available("pyarrow"):
        formats.append("parquet")
    return tuple(formats)


class ChunkedTableWriter:
    """Appends DataFrames to ``<stem>.csv`` / ``.sav`` / ``.parquet``."""

    def __init__(self, stem: Path, formats: tuple[str, ...], sav_row_limit: int,
                 csv_options: dict | None = None, file_label: str = ""):
        self.stem = Path(stem)
        self.formats = formats
        self.sav_row_limit = sav_row_limit
        self.csv_options = {"sep": ",", "encoding": "utf-8", "decimal": "."} | (csv_options or {})
        self.file_label = file_label
        self.rows = 0
        self._csv = None
        self._parquet = None
        self._parquet_schema = None
        self._sav_parts: list[pd.DataFrame] = []
        self.skipped: list[str] = []
        self.stem.parent.mkdir(parents=True, exist_ok=True)

    def append(self, frame: pd.DataFrame) -> None:
        if "csv" in self.formats:
            self._append_csv(frame)
        if "parquet" in self.formats:
            self._append_parquet(frame)
        if "sav" in self.formats:
            if self.rows + len(frame) <= self.sav_row_limit:
                self._sav_parts.append(frame)
            elif self._sav_parts or self.rows == 0:
                self._sav_parts = []
                self.skipped.append(f"{self.stem.name}.sav: more than {self.sav_row_limit:,} rows")
        self.rows += len(frame)

    def _append_csv(self, frame: pd.DataFrame) -> None:
        opts = self.csv_options
        if self._csv is None:
            self._csv = open(self.stem.with_suffix(".csv"), "w", encoding=opts["encoding"], newline="")
            frame.to_csv(self._csv, sep=opts["sep"], decimal=opts["decimal"], index=False, header=True,
                         lineterminator="\n")
        else:
            frame.to_csv(self._csv, sep=opts["sep"], decimal=opts["decimal"], index=False, header=False,
                         lineterminator="\n")

    def _append_parquet(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq
        if self._parquet is None:
            # Declared from the dtypes, not inferred from values: a first chunk without rows
            # would otherwise fix text columns to the null type.
            self._parquet_schema = pa.schema([(c, pa.string() if frame[c].dtype == object
                                               else pa.from_numpy_dtype(frame[c].dtype)) for c in frame.columns])
            self._parquet = pq.ParquetWriter(self.stem.with_suffix(".parquet"), self._parquet_schema)
        table = pa.Table.from_pandas(frame, schema=self._parquet_schema, preserve_index=False)
        self._parquet.write_table(table.replace_schema_metadata(None))

    def close(self) -> None:
        if self._csv is not None:
            self._csv.close()
        if self._parquet is not None:
            self._parquet.close()
        if self._sav_parts:
            import pyreadstat
            path = self.stem.with_suffix(".sav")
            table = pd.concat(self._sav_parts, ignore_index=True)
            pyreadstat.write_sav(table, str(path), file_label=self.file_label[:64])
            _fix_sav_timestamp(path)
            self._sav_parts = []


def _fix_sav_timestamp(path: Path) -> None:
    """Overwrite the creation time in the header so the same data give the same bytes."""
    with open(path, "r+b") as f:
        f.seek(SAV_TIMESTAMP_OFFSET)
        f.write(FIXED_SAV_TIMESTAMP)
