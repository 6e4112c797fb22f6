"""Write one logical table chunk by chunk in CSV, SPSS .sav and parquet.

All three are streamed, so memory stays bounded by one chunk at every size: CSV and parquet
by their writers, .sav by ``lib.synthetic.sav_writer`` (pyreadstat can only write a whole table
from memory, which a national household register does not fit).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from lib import optional_packages
from lib.synthetic.sav_writer import SavWriter


def available_formats() -> tuple[str, ...]:
    """CSV and .sav always (the .sav writer is the bundle's own); parquet when pyarrow is installed."""
    formats = ["csv", "sav"]
    if optional_packages.available("pyarrow"):
        formats.append("parquet")
    return tuple(formats)


class ChunkedTableWriter:
    """Appends DataFrames to ``<stem>.csv`` / ``.sav`` / ``.parquet``."""

    def __init__(self, stem: Path, formats: tuple[str, ...], csv_options: dict | None = None, file_label: str = ""):
        self.stem = Path(stem)
        self.formats = formats
        self.csv_options = {"sep": ",", "encoding": "utf-8", "decimal": "."} | (csv_options or {})
        self.rows = 0
        self._csv = None
        self._parquet = None
        self._parquet_schema = None
        self._sav = SavWriter(self.stem.with_suffix(".sav"), file_label=file_label) if "sav" in formats else None
        self.stem.parent.mkdir(parents=True, exist_ok=True)

    def append(self, frame: pd.DataFrame) -> None:
        if "csv" in self.formats:
            self._append_csv(frame)
        if "parquet" in self.formats:
            self._append_parquet(frame)
        if self._sav is not None:
            self._sav.append(frame)
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
        if self._sav is not None:
            self._sav.close()
