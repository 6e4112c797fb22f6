"""Read CBS microdata files (.sav, .csv, .parquet) into compact, normalised pandas tables.

* Only the columns a caller asks for are read (matched case-insensitively, since column
  case differs between files); files are read in chunks of a million rows.
* Column names come out in upper case.
* ``RINPERSOON`` comes out as an ``int64`` key (the 9-digit pseudonym as a number,
  whether the file stored it as text with leading zeros or as a number), ``-1`` where
  it is missing or not a number of at most 9 digits. Integer keys hash and join several
  times faster than text, which matters for 18 million persons.
* ``HUISHOUDNR`` and ``RINOBJECTNUMMER`` come out as ``int64`` too when every value is a
  number (as in RA; ``-1`` where empty), otherwise as text categories: millions of
  distinct text values would cost far more as categories than as integers.
* Columns the caller names as numeric come out as ``float64``.
* ``RINPERSOONS`` comes out in upper case (``r`` is ``R``).
* Every other column comes out as a ``Categorical`` of its stripped text (``""`` where
  missing): codes and dates have few distinct values, so they are stored once and parsed
  once per distinct value (``parse_yyyymmdd``, ``integers``).

With pyarrow installed, parquet and CSV files are read and cleaned with Arrow compute
functions; without it, pandas reads them. Both paths give the same tables.
"""
from __future__ import annotations

import importlib.util
from typing import Iterator

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from lib.errors import UserFacingError
from lib.sources import SourceFile

CHUNK_ROWS = 1_000_000
HAS_ARROW = importlib.util.find_spec("pyarrow") is not None
KEY_COLUMN = "RINPERSOON"
NUMERIC_ID_COLUMNS = ("HUISHOUDNR", "RINOBJECTNUMMER")


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
    numeric = tuple(c.upper() for c in numeric)
    if source.format == "parquet" and HAS_ARROW:
        import pyarrow.parquet as pq
        for batch in pq.ParquetFile(source.path).iter_batches(batch_size=chunk_rows, columns=stored):
            yield _from_arrow(batch, rename, numeric)
    elif source.format == "csv" and HAS_ARROW:
        import pyarrow as pa
        import pyarrow.csv as pacsv
        with open(source.path, encoding="utf-8-sig", newline="") as f:
            sep = _csv_separator(f.readline())
        reader = pacsv.open_csv(source.path, read_options=pacsv.ReadOptions(block_size=64 << 20),
                                parse_options=pacsv.ParseOptions(delimiter=sep),
                                convert_options=pacsv.ConvertOptions(
                                    include_columns=stored, column_types={c: pa.string() for c in stored},
                                    strings_can_be_null=False, quoted_strings_can_be_null=False))
        for batch in reader:
            yield _from_arrow(batch, rename, numeric)
    elif source.format == "sav":
        import pyreadstat
        for chunk, _ in pyreadstat.read_file_in_chunks(pyreadstat.read_sav, str(source.path), chunksize=chunk_rows,
                                                       usecols=stored):
            yield _from_pandas(chunk.rename(columns=rename), numeric)
    elif source.format == "parquet":
        raise ReadError(f"{source.path}: reading parquet needs pyarrow; install it or point the config at the "
                        ".sav or .csv version of the file")
    else:
        with open(source.path, encoding="utf-8-sig", newline="") as f:
            sep = _csv_separator(f.readline())
        for chunk in pd.read_csv(source.path, sep=sep, usecols=stored, dtype=str, keep_default_na=False,
                                 encoding="utf-8-sig", chunksize=chunk_rows):
            yield _from_pandas(chunk.rename(columns=rename), numeric)


def read_cbs_table(source: SourceFile, columns: list[str], numeric: tuple[str, ...] = ()) -> pd.DataFrame:
    """All rows of ``columns`` of one CBS file, normalised (see module docstring)."""
    table = concat_tables([c for c in iter_cbs_table(source, columns, numeric)],
                          [c.upper() for c in columns], tuple(c.upper() for c in numeric))
    if "RINPERSOONS" in table:
        table["RINPERSOONS"] = _upper_categorical(table["RINPERSOONS"].array)
    return table


def _upper_categorical(values: pd.Categorical) -> pd.Categorical:
    upper = pd.Index(values.categories.astype(str)).str.upper()
    codes, categories = pd.factorize(upper)
    return pd.Categorical.from_codes(np.where(values.codes >= 0, codes[values.codes], -1), categories=categories)


def read_dataset(files: list[SourceFile], dataset: str, columns: list[str], numeric: tuple[str, ...] = ()) -> pd.DataFrame:
    """All files of one dataset, read and concatenated."""
    chosen = [f for f in files if f.dataset == dataset]
    return concat_tables([read_cbs_table(f, columns, numeric) for f in chosen], [c.upper() for c in columns],
                         tuple(c.upper() for c in numeric))


def read_datasets(files: list[SourceFile], requests: dict[str, list[str]], workers: int = 2) -> dict[str, pd.DataFrame]:
    """Several datasets read side by side in threads (Arrow and pyreadstat release the GIL
    while they decode, so two cores read about twice as fast)."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(read_dataset, files, name, columns) for name, columns in requests.items()}
        return {name: future.result() for name, future in futures.items()}


def concat_tables(chunks: list[pd.DataFrame], columns: list[str], numeric: tuple[str, ...] = ()) -> pd.DataFrame:
    """Concatenate normalised tables, keeping text columns categorical."""
    if not chunks:
        return pd.DataFrame({c: (np.zeros(0, np.int64) if c == KEY_COLUMN else np.zeros(0) if c in numeric
                                 else pd.Categorical([])) for c in columns})
    if len(chunks) == 1:
        return chunks[0]
    out = {}
    for c in chunks[0].columns:
        parts = [chunk[c] for chunk in chunks]
        categorical = [isinstance(p.dtype, pd.CategoricalDtype) for p in parts]
        if all(categorical):
            out[c] = union_categoricals([p.array for p in parts])
        elif any(categorical):      # an id column with text in some chunk only: text throughout
            out[c] = union_categoricals([p.array if isinstance(p.dtype, pd.CategoricalDtype)
                                         else text_categorical(pd.Series(np.where(p < 0, "", p.astype(str))))
                                         for p in parts])
        else:
            out[c] = np.concatenate([p.to_numpy() for p in parts])
    return pd.DataFrame(out)


# --- conversion of one chunk ------------------------------------------------------------

def _from_arrow(batch, rename: dict[str, str], numeric: tuple[str, ...]) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.compute as pc
    out = {}
    for name in batch.schema.names:
        column, target = batch.column(name), rename[name]
        if target == KEY_COLUMN:
            if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
                values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
                out[target] = _key_from_float(values)
            else:
                text = pc.utf8_trim_whitespace(pc.cast(column, pa.string()))
                valid = pc.fill_null(pc.match_substring_regex(text, r"^\d{1,9}$"), False)
                number = pc.cast(pc.if_else(valid, text, pa.scalar(None, pa.string())), pa.int64())
                out[target] = pc.fill_null(number, -1).to_numpy(zero_copy_only=False)
        elif target in numeric:
            if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
                out[target] = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
            else:
                out[target] = _numbers_of_text(pd.Series(column.to_pandas()))
        elif target in NUMERIC_ID_COLUMNS and (number := _arrow_id_numbers(column)) is not None:
            out[target] = number
        else:
            text = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())
            text = pc.fill_null(pc.utf8_trim_whitespace(text), "")
            out[target] = pd.Categorical(text.dictionary_encode().to_pandas())
    return pd.DataFrame(out)


def _from_pandas(frame: pd.DataFrame, numeric: tuple[str, ...]) -> pd.DataFrame:
    out = {}
    for col in frame.columns:
        values = frame[col]
        if col == KEY_COLUMN:
            out[col] = normalise_rinpersoon(values)
        elif col in numeric:
            out[col] = (values.to_numpy(dtype=float) if pd.api.types.is_numeric_dtype(values)
                        else _numbers_of_text(values))
        elif col in NUMERIC_ID_COLUMNS and _all_digits_pandas(values):
            text = values.fillna("").astype(str).str.strip()
            filled = text.to_numpy(dtype=object)
            out[col] = np.where(filled == "", -1, np.where(filled == "", "0", filled).astype("U18").astype(np.int64))
        else:
            out[col] = text_categorical(values)
    return pd.DataFrame(out, index=frame.index).reset_index(drop=True)


def _arrow_id_numbers(column) -> np.ndarray | None:
    """An id column as int64 (-1 where empty), or None when some value is not a whole number."""
    import pyarrow as pa
    import pyarrow.compute as pc
    if pa.types.is_integer(column.type):
        return pc.fill_null(pc.cast(column, pa.int64()), -1).to_numpy(zero_copy_only=False)
    text = pc.utf8_trim_whitespace(pc.cast(column, pa.string()))
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    try:
        number = pc.cast(text, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if pc.any(pc.less(number, 0)).as_py():
        return None
    return pc.fill_null(number, -1).to_numpy(zero_copy_only=False)


def _all_digits_pandas(values: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(values):
        return True
    return bool(values.fillna("").astype(str).str.strip().str.fullmatch(r"(\d{1,18})?").all())


def _key_from_float(values: np.ndarray) -> np.ndarray:
    ok = np.isfinite(values) & (values >= 0) & (values < 1e9) & (values == np.round(values))
    return np.where(ok, np.nan_to_num(values), -1).astype(np.int64)


def _numbers_of_text(values: pd.Series) -> np.ndarray:
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    numbers = pd.to_numeric(pd.Series(uniques, dtype=object).astype(str).str.strip(), errors="coerce").to_numpy(float)
    return np.where(codes >= 0, numbers[np.maximum(codes, 0)], np.nan)


def _text_of_unique_values(uniques: pd.Index) -> pd.Index:
    """Stored values as text: numbers without a trailing '.0', stripped."""
    if pd.api.types.is_float_dtype(uniques):
        v = uniques.to_numpy(dtype=float)
        whole = np.isfinite(v) & (v == np.round(v))
        text = np.where(whole, np.where(whole, v, 0).astype(np.int64).astype(str), v.astype(str))
        return pd.Index(text, dtype=object)
    return pd.Index(uniques.astype(str), dtype=object).str.strip()


def text_categorical(values: pd.Series) -> pd.Categorical:
    """A column as a Categorical of stripped text, '' where missing; work done per distinct value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = _text_of_unique_values(pd.Index(uniques))
    final_codes, final_categories = pd.factorize(pd.Index(np.append(text.to_numpy(dtype=object), "")))
    mapped = final_codes[np.where(codes >= 0, codes, len(text))]
    return pd.Categorical.from_codes(mapped, categories=final_categories)


def normalise_rinpersoon(values: pd.Series) -> np.ndarray:
    """RINPERSOON as an int64 key; -1 where missing or not a number of at most 9 digits."""
    if pd.api.types.is_numeric_dtype(values):
        return _key_from_float(values.to_numpy(dtype=float))
    text = values.fillna("").astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    valid = text.str.fullmatch(r"\d{1,9}").to_numpy(dtype=bool)
    out = np.full(len(values), -1, dtype=np.int64)
    out[valid] = text.to_numpy(dtype=object)[valid].astype("U9").astype(np.int64)
    return out


def _per_distinct_value(values) -> tuple[np.ndarray, pd.Index]:
    """(codes, distinct values as stripped text); code -1 for missing."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(), pd.Index(values.cat.categories.astype(str), dtype=object).str.strip()
    codes, uniques = pd.factorize(pd.Series(values).astype(object), use_na_sentinel=True)
    return codes, _text_of_unique_values(pd.Index(uniques))


def parse_yyyymmdd(text) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse ``YYYYMMDD`` text to day numbers, once per distinct value.

    Returns (days as int64 with 0 where not a date, is_blank, is_valid). A value is
    valid when it is a real calendar date; blanks are reported separately because in
    CBS files a blank end date means "still running".
    """
    codes, uniques = _per_distinct_value(text)
    s = uniques.to_numpy(dtype=str) if len(uniques) else np.zeros(0, dtype="U8")
    u_blank = s == ""
    digits = np.char.isdigit(s) & (np.char.str_len(s) == 8)
    n = np.where(digits, s, "0").astype(np.int64)
    y, m, d = n // 10000, (n // 100) % 100, n % 100
    plausible = digits & (m >= 1) & (m <= 12) & (d >= 1) & (y >= 1800) & (y <= 9999)
    months = np.where(plausible, (y - 1970) * 12 + (m - 1), 0)
    first = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    next_first = (months + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    u_valid = plausible & (d <= next_first - first)
    u_days = np.where(u_valid, first + d - 1, 0)
    known = codes >= 0
    take = np.maximum(codes, 0)
    days = np.where(known, u_days[take] if u_days.size else 0, 0)
    blank = np.where(known, u_blank[take] if u_blank.size else True, True)
    valid = np.where(known, u_valid[take] if u_valid.size else False, False)
    return days.astype(np.int64), blank.astype(bool), valid.astype(bool)


def integers(text) -> tuple[np.ndarray, np.ndarray]:
    """Whole numbers of a text column, once per distinct value: (values, is_valid)."""
    codes, uniques = _per_distinct_value(text)
    numbers = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy(float)
    ok_u = np.isfinite(numbers) & (numbers == np.round(numbers))
    take = np.maximum(codes, 0)
    valid = (codes >= 0) & (ok_u[take] if ok_u.size else False)
    values = np.where(valid, np.nan_to_num(numbers)[take] if numbers.size else 0, 0).astype(np.int64)
    return values, valid
