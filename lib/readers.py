"""Read CBS microdata files (.sav, .csv, .parquet) into normalised pandas tables.

* Only the columns a caller asks for are read (matched case-insensitively, since column
  case differs between files); large .sav and .csv files are read in chunks.
* Column names come out in upper case.
* ``RINPERSOON`` comes out as 9-character zero-padded text, whether the file stored
  it as text or as a number; ``RINPERSOONS`` as stripped upper-case text.
* Every other column is returned as text, exactly as stored (dates stay ``YYYYMMDD``
  text), except columns the caller names as numeric.

Date parsing, validation and the accounting of rejected rows are separate steps
(``parse_yyyymmdd`` here and the source readers of the pipeline).
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import pandas as pd

from lib.errors import UserFacingError
from lib.sources import SourceFile

CHUNK_ROWS = 1_000_000


class ReadError(UserFacingError):
    """A file cannot be read as expected, with a message meant for the user."""


def file_columns(source: SourceFile) -> list[str]:
    """Column names as stored in the file."""
    if source.format == "sav":
        import pyreadstat
        _, meta = pyreadstat.read_sav(str(source.path), metadataonly=True)
        return list(meta.column_names)
    if source.format == "parquet":
        import pyarrow.parquet as pq
        return list(pq.read_schema(source.path).names)
    with open(source.path, encoding="utf-8-sig", newline="") as f:
        header = f.readline().rstrip("\r\n")
    return header.split(_csv_separator(header))


def row_count(source: SourceFile) -> int:
    """Number of data rows, from the file's metadata where the format has it."""
    if source.format == "sav":
        import pyreadstat
        _, meta = pyreadstat.read_sav(str(source.path), metadataonly=True)
        return int(meta.number_rows)
    if source.format == "parquet":
        import pyarrow.parquet as pq
        return int(pq.ParquetFile(source.path).metadata.num_rows)
    with open(source.path, "rb") as f:
        lines = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
        f.seek(-1, 2)
        ends_with_newline = f.read(1) == b"\n"
    return lines - 1 + (0 if ends_with_newline else 1)


def _csv_separator(header: str) -> str:
    return max((";", ",", "\t", "|"), key=header.count)


def _match_columns(source: SourceFile, wanted: list[str]) -> dict[str, str]:
    """Map wanted upper-case names to the names as stored; error when one is missing."""
    stored = file_columns(source)
    by_upper = {c.upper(): c for c in stored}
    missing = [w for w in wanted if w not in by_upper]
    if missing:
        raise ReadError(f"{source.path}: column(s) {missing} not found (the file has: {', '.join(stored)}). "
                        "Check that the configured file is the right dataset.")
    return {w: by_upper[w] for w in wanted}


def iter_cbs_table(source: SourceFile, columns: list[str], numeric: tuple[str, ...] = (),
                   chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Yield normalised chunks of ``columns`` (upper case) of one CBS file."""
    mapping = _match_columns(source, [c.upper() for c in columns])
    stored = list(mapping.values())
    rename = {v: k for k, v in mapping.items()}
    if source.format == "sav":
        import pyreadstat
        for chunk, _ in pyreadstat.read_file_in_chunks(pyreadstat.read_sav, str(source.path), chunksize=chunk_rows,
                                                       usecols=stored):
            yield _normalise(chunk.rename(columns=rename), numeric)
    elif source.format == "parquet":
        import pyarrow.parquet as pq
        pf = pq.ParquetFile(source.path)
        for batch in pf.iter_batches(batch_size=chunk_rows, columns=stored):
            yield _normalise(batch.to_pandas().rename(columns=rename), numeric)
    else:
        with open(source.path, encoding="utf-8-sig", newline="") as f:
            sep = _csv_separator(f.readline())
        reader = pd.read_csv(source.path, sep=sep, usecols=stored, dtype=str, keep_default_na=False,
                             encoding="utf-8-sig", chunksize=chunk_rows)
        for chunk in reader:
            yield _normalise(chunk.rename(columns=rename), numeric)


def read_cbs_table(source: SourceFile, columns: list[str], numeric: tuple[str, ...] = ()) -> pd.DataFrame:
    """All rows of ``columns`` of one CBS file, normalised (see module docstring)."""
    chunks = list(iter_cbs_table(source, columns, numeric))
    if not chunks:
        return pd.DataFrame(columns=[c.upper() for c in columns])
    return pd.concat(chunks, ignore_index=True)


def _as_text(values: pd.Series) -> pd.Series:
    """Text as stored: numbers without a trailing '.0', missing as ''."""
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        return values.fillna("").astype(str).str.strip()
    if pd.api.types.is_float_dtype(values):
        v = values.to_numpy(dtype=float)
        finite = np.isfinite(v)
        whole = finite & (v == np.round(v))
        as_int = np.where(whole, v, 0).astype(np.int64).astype(str)
        out = np.where(whole, as_int, np.where(finite, v.astype(str), ""))
        return pd.Series(out.astype(object), index=values.index)
    return values.astype(str)


def normalise_rinpersoon(values: pd.Series) -> pd.Series:
    """RINPERSOON as 9-character text with leading zeros ('' where missing)."""
    if pd.api.types.is_numeric_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce")
        ok = numbers.notna().to_numpy()
        out = np.full(len(values), "", dtype=object)
        out[ok] = np.char.zfill(numbers.to_numpy()[ok].astype(np.int64).astype(str), 9)
        return pd.Series(out, index=values.index)
    text = values.fillna("").astype(str).str.strip()
    text = text.str.replace(r"\.0$", "", regex=True)
    return text.where(text == "", text.str.zfill(9))


def _normalise(frame: pd.DataFrame, numeric: tuple[str, ...]) -> pd.DataFrame:
    out = {}
    for col in frame.columns:
        if col == "RINPERSOON":
            out[col] = normalise_rinpersoon(frame[col])
        elif col in numeric:
            out[col] = pd.to_numeric(frame[col], errors="coerce")
        elif col == "RINPERSOONS":
            out[col] = _as_text(frame[col]).str.upper()
        else:
            out[col] = _as_text(frame[col])
    return pd.DataFrame(out, index=frame.index)


def parse_yyyymmdd(text: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse ``YYYYMMDD`` text to day numbers.

    Returns (days as int64 with 0 where not a date, is_blank, is_valid). A value is
    valid when it is a real calendar date; blanks are reported separately because in
    CBS files a blank end date means "still running".
    """
    s = text.fillna("").astype(str).str.strip().to_numpy(dtype=str)
    blank = s == ""
    digits = np.char.isdigit(s) & (np.char.str_len(s) == 8)
    n = np.where(digits, s, "0").astype(np.int64)
    y, m, d = n // 10000, (n // 100) % 100, n % 100
    plausible = digits & (m >= 1) & (m <= 12) & (d >= 1) & (y >= 1800) & (y <= 9999)
    months = np.where(plausible, (y - 1970) * 12 + (m - 1), 0)
    first = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    next_first = (months + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    valid = plausible & (d <= next_first - first)
    days = np.where(valid, first + d - 1, 0)
    return days, blank, valid
