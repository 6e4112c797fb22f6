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
functions; without it (or when it is installed but fails to import), pandas reads them.
Both paths give the same tables.

**Columns.** Only the columns a step uses are required. The layout of a dataset
(``lib.layouts``) names the columns the bundle reads but no step needs
(``optional_columns``): when a file lacks one, it comes out blank (``""``, ``NaN`` or
``-1``). A missing column that a step needs stops the run with the file, the column and
the columns the file has.

**CSV text.** A file that starts with a byte-order mark is read in the encoding the mark
names (UTF-8 or UTF-16), and a UTF-16 file without one is recognised by its zero bytes.
Any other file is read as UTF-8, or as ``[sources] csv_encoding`` says; a value that is
not text in that encoding stops the run with the file, the row, the column and the
setting to choose, never with a guess.

**Bad files.** An empty file, a truncated or damaged ``.sav`` or parquet file, a CSV
file that cannot be parsed, or a file that disappeared is a ``ReadError`` naming the file
and the problem (exit code 2), never a traceback.
"""
from __future__ import annotations

import codecs
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from lib import optional_packages
from lib.errors import UserFacingError
from lib.layouts import CBS_DATASETS, LAYOUTS_SETTING
from lib.sources import SourceFile

CHUNK_ROWS = 1_000_000
HAS_ARROW = optional_packages.available("pyarrow")
KEY_COLUMN = "RINPERSOON"
NUMERIC_ID_COLUMNS = ("HUISHOUDNR", "RINOBJECTNUMMER")
ENCODING_SETTING = '[sources] csv_encoding'
_UNDECODED = re.compile("[\udc80-\udcff]")


class ReadError(UserFacingError):
    """A file cannot be read as expected, with a message meant for the user."""


# --- opening files, with every failure as a message -------------------------------------

def _check_file(source: SourceFile) -> None:
    """A file that is gone or empty is refused before any reader sees it."""
    try:
        size = source.path.stat().st_size
    except FileNotFoundError:
        raise ReadError(f"{source.path}: file not found (was it moved or renamed after the inventory step? "
                        "Rerun from the inventory step)") from None
    except OSError as exc:
        raise ReadError(f"{source.path}: the file cannot be opened ({exc.strerror or exc})") from None
    if size == 0:
        raise ReadError(f"{source.path}: the file is empty (0 bytes): it was not copied or exported completely. "
                        f"Copy it again, or leave {source.dataset} out of [sources.cbs]")


def _failure(source: SourceFile, exc: BaseException) -> str | None:
    """The user's message for an exception raised while reading ``source``; None for a bug."""
    path, fmt = source.path, source.format
    if isinstance(exc, FileNotFoundError):
        return f"{path}: file not found (was it moved or renamed after the inventory step? Rerun from inventory)"
    if isinstance(exc, PermissionError):
        return f"{path}: no permission to read the file (is it open in another program?)"
    if fmt == "sav" and type(exc).__module__.startswith("pyreadstat"):
        return (f"{path}: the .sav file cannot be read ({exc}): it is probably incomplete (a copy that broke off) "
                "or damaged. Copy it again from the data drive, or point [sources.cbs] at another format of the "
                "same file")
    arrow_error = type(exc).__module__.startswith("pyarrow")
    if fmt == "parquet" and (arrow_error or isinstance(exc, OSError)):
        return (f"{path}: not a readable parquet file ({exc}): it is probably incomplete (a copy that broke off) "
                "or damaged. Copy it again from the data drive, or point [sources.cbs] at the .sav or .csv version")
    if fmt == "csv" and (isinstance(exc, UnicodeError) or "UTF8" in str(exc)):
        return _undecoded_message(source, csv_encoding(source), "the file", "") + f" ({str(exc).strip()})"
    if fmt == "csv" and (arrow_error or isinstance(exc, (pd.errors.ParserError, pd.errors.EmptyDataError))):
        return (f"{path}: the CSV file cannot be read ({str(exc).strip()}). Check that every row has the header's "
                "number of fields, with one separator (; or ,) and text with separators in double quotes")
    if isinstance(exc, OSError):
        return f"{path}: the file cannot be read ({exc})"
    return None


@contextmanager
def _reading(source: SourceFile):
    """Turn a reader's exception into a ReadError that names the file and the problem."""
    try:
        yield
    except UserFacingError:
        raise
    except Exception as exc:
        message = _failure(source, exc)
        if message is None:
            raise
        raise ReadError(message) from None


def csv_encoding(source: SourceFile) -> str:
    """The text encoding of a CSV file: what its byte-order mark says; UTF-16 recognised by its
    zero bytes; otherwise the configured ``encoding`` (``auto``: UTF-8)."""
    _check_file(source)
    with _reading(source), open(source.path, "rb") as f:
        head = f.read(1 << 16)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        even, odd = head[0::2], head[1::2]
        if even and odd.count(0) >= len(odd) // 3 and even.count(0) == 0:
            return "utf-16-le"
        if odd and even.count(0) >= len(even) // 3 and odd.count(0) == 0:
            return "utf-16-be"
        raise ReadError(f"{source.path}: the file holds zero bytes, so it is no CSV text file (nor UTF-16 text); "
                        "check that the configured file is the right one, or save it again as CSV (UTF-8)")
    return "utf-8" if source.encoding in ("auto", "", None) else source.encoding


def _csv_header(source: SourceFile, encoding: str) -> str:
    with _reading(source), open(source.path, encoding=encoding, errors="surrogateescape", newline="") as f:
        header = f.readline().lstrip("\ufeff").rstrip("\r\n")
    if not header.strip():
        raise ReadError(f"{source.path}: the first line is empty: a CSV file of the CBS route starts with a header "
                        "row of column names")
    if _UNDECODED.search(header):
        raise ReadError(_undecoded_message(source, encoding, "the header row", header))
    return header


def _undecoded_message(source: SourceFile, encoding: str, where: str, text: str) -> str:
    bad = " ".join(f"{ord(c) - 0xDC00:02X}" for c in _UNDECODED.findall(text)[:3])
    name = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8"}.get(encoding, encoding)
    return (f"{source.path}: {where} has bytes that are not {name} text{f' (hex {bad})' if bad else ''}. "
            "The file is in another "
            "encoding (Excel saves 'CSV' as Windows-1252). Save it as 'CSV UTF-8', or set "
            f'{ENCODING_SETTING} = "cp1252" (or the encoding it was saved in) in the config')


def file_columns(source: SourceFile) -> list[str]:
    """Column names as stored in the file."""
    _check_file(source)
    with _reading(source):
        if source.format == "sav":
            import pyreadstat
            _, meta = pyreadstat.read_sav(str(source.path), metadataonly=True)
            return list(meta.column_names)
        if source.format == "parquet":
            _need_arrow(source)
            import pyarrow.parquet as pq
            return list(pq.read_schema(source.path).names)
    header = _csv_header(source, csv_encoding(source))
    # Names as the CSV readers see them: a name in double quotes without its quotes.
    return [c[1:-1] if len(c) > 1 and c[0] == c[-1] == '"' else c for c in header.split(_csv_separator(header))]


def row_count(source: SourceFile) -> int:
    """Number of data rows, from the file's metadata where the format has it."""
    _check_file(source)
    with _reading(source):
        if source.format == "sav":
            import pyreadstat
            _, meta = pyreadstat.read_sav(str(source.path), metadataonly=True)
            return int(meta.number_rows)
        if source.format == "parquet":
            _need_arrow(source)
            import pyarrow.parquet as pq
            return int(pq.ParquetFile(source.path).metadata.num_rows)
        encoding = csv_encoding(source)
        if encoding.startswith("utf-16"):
            with open(source.path, encoding=encoding, errors="replace") as f:
                return max(sum(1 for line in f if line.strip()) - 1, 0)
        with open(source.path, "rb") as f:
            lines = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
            f.seek(-1, 2)
            ends_with_newline = f.read(1) == b"\n"
        return max(lines - 1 + (0 if ends_with_newline else 1), 0)


def _need_arrow(source: SourceFile) -> None:
    if not HAS_ARROW:
        raise ReadError(f"{source.path}: reading parquet needs pyarrow, which is not installed or does not import "
                        "here; point the config at the .sav or .csv version of the file (or put \"parquet\" last "
                        "in [sources] format_preference)")


def _csv_separator(header: str) -> str:
    return max((";", ",", "\t", "|"), key=header.count)


def source_layout(source: SourceFile):
    """The layout of the source's dataset: the run's (carried by the file), else the built-in one."""
    return source.layout if source.layout is not None else CBS_DATASETS.get(source.dataset)


def optional_columns(source: SourceFile) -> tuple[str, ...]:
    """The columns of the source's dataset that the bundle reads when present but no step needs
    (as a step asks for them)."""
    dataset = source_layout(source)
    if dataset is None:
        return ()
    by_stored = {stored: role for role, stored in dataset.renames}
    return tuple(by_stored.get(c, c) for c in dataset.optional_columns)


def _match_columns(source: SourceFile, wanted: list[str], optional=()) -> dict[str, str]:
    """Map wanted upper-case names (as a step asks for them) to the names as stored (only those
    present), through the dataset's layout; error when a needed (not optional) one is missing."""
    stored = file_columns(source)
    by_upper = {}
    for c in stored:
        by_upper.setdefault(c.upper(), c)
    layout = source_layout(source)
    in_file = {w: (layout.stored_name(w) if layout is not None else w) for w in wanted}
    missing = [w for w in wanted if in_file[w] not in by_upper and not _is_optional(w, optional)]
    if missing:
        raise ReadError(missing_columns_message(source, layout, [in_file[w] for w in missing], stored))
    present = {w: by_upper[in_file[w]] for w in wanted if in_file[w] in by_upper}
    if not present:
        raise ReadError(f"{source.path}: none of the columns {wanted} is in the file (the file has: "
                        f"{', '.join(stored)})")
    return present


def _is_optional(wanted: str, optional) -> bool:
    """Whether a column a step asks for is optional: named, or one year of a ``GEM{year}``-like name."""
    return wanted in optional or any("{year}" in o and re.fullmatch(
        re.escape(o).replace(re.escape("{year}"), r"\d{4}"), wanted) for o in optional)


def missing_columns_message(source: SourceFile, layout, missing: list[str], stored: list[str]) -> str:
    """What the user reads when the file lacks columns of its layout: the dataset, the file, each
    column, the columns of the file that the layout does not know, and the override to write."""
    if layout is None:
        return (f"{source.path}: column(s) {missing} not found (the file has: {', '.join(stored)}). "
                "Check that the configured file is the right dataset.")
    known = {c.upper() for c in layout.columns + layout.optional_columns}
    unexpected = [c for c in stored if c.upper() not in known]
    hints = "; ".join(f"{c}: {layout.override_hint(c)}" for c in missing)
    return (f"{source.dataset}, file {source.path}: column(s) {', '.join(missing)} of the layout not found. "
            f"The file has: {', '.join(stored)}"
            + (f" (not in the layout: {', '.join(unexpected)})" if unexpected else "")
            + f". If the file names them otherwise, write in a layouts file named by {LAYOUTS_SETTING} in the "
            f"config: {hints} (layout from {layout.source_file}; run scripts/inspect_sources.py for a proposed "
            "entry). If it is another dataset, fix [sources.cbs].")


def iter_cbs_table(source: SourceFile, columns: list[str], numeric: tuple[str, ...] = (),
                   chunk_rows: int = CHUNK_ROWS, optional: tuple[str, ...] | None = None,
                   rows: tuple[int, int] | None = None) -> Iterator[pd.DataFrame]:
    """Yield normalised chunks of ``columns`` (upper case) of one CBS file.

    ``optional`` columns (default: those the dataset's layout marks optional) come out blank
    when the file lacks them; any other missing column is an error. ``rows`` (first, count), for a
    .sav file only: that range of rows (a piece read beside the others, ``read_side_by_side``)."""
    wanted = [c.upper() for c in columns]
    optional = tuple(c.upper() for c in (optional_columns(source) if optional is None else optional))
    mapping = _match_columns(source, wanted, optional)
    stored = list(mapping.values())
    rename = {v: k for k, v in mapping.items()}
    numeric = tuple(c.upper() for c in numeric)
    absent = [w for w in wanted if w not in mapping]
    if rows is not None and source.format != "sav":
        raise ValueError("a range of rows is read from .sav files only")
    for chunk in _iter_stored(source, stored, rename, numeric, chunk_rows, rows or (0, 0)):
        if absent:
            chunk = _with_blank_columns(chunk, absent, numeric)[wanted]
        yield chunk


def _with_blank_columns(chunk: pd.DataFrame, absent: list[str], numeric: tuple[str, ...]) -> pd.DataFrame:
    n = len(chunk)
    for c in absent:
        if c == KEY_COLUMN or c in NUMERIC_ID_COLUMNS:
            chunk[c] = np.full(n, -1, dtype=np.int64)
        elif c in numeric:
            chunk[c] = np.full(n, np.nan)
        else:
            chunk[c] = pd.Categorical.from_codes(np.zeros(n, np.int8), categories=[""])
    return chunk


def _iter_stored(source: SourceFile, stored: list[str], rename: dict[str, str], numeric: tuple[str, ...],
                 chunk_rows: int, rows: tuple[int, int] = (0, 0)) -> Iterator[pd.DataFrame]:
    if source.format == "parquet":
        _need_arrow(source)
        import pyarrow.parquet as pq
        with _reading(source):
            for batch in pq.ParquetFile(source.path).iter_batches(batch_size=chunk_rows, columns=stored):
                yield _from_arrow(batch, rename, numeric)
    elif source.format == "sav":
        import pyreadstat
        with _reading(source):
            # Chunks by row ranges of our own (pyreadstat's chunked reader can read past a limit).
            first, end = rows[0], (rows[0] + rows[1] if rows[1] else None)
            while end is None or first < end:
                size = chunk_rows if end is None else min(chunk_rows, end - first)
                chunk, _ = pyreadstat.read_sav(str(source.path), usecols=stored, row_offset=first, row_limit=size)
                if not len(chunk):
                    break
                yield _from_pandas(chunk.rename(columns=rename), numeric)
                first += len(chunk)
    else:
        encoding = csv_encoding(source)
        sep = _csv_separator(_csv_header(source, encoding))
        if HAS_ARROW:
            yield from _iter_csv_arrow(source, stored, rename, numeric, chunk_rows, encoding, sep)
        else:
            yield from _iter_csv_pandas(source, stored, rename, numeric, chunk_rows, encoding, sep)


def _iter_csv_arrow(source, stored, rename, numeric, chunk_rows, encoding, sep) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    read_options = pacsv.ReadOptions(block_size=64 << 20)
    if encoding not in ("utf-8", "utf-8-sig"):
        read_options.encoding = encoding
    try:
        with _reading(source):
            reader = pacsv.open_csv(source.path, read_options=read_options,
                                    parse_options=pacsv.ParseOptions(delimiter=sep),
                                    convert_options=pacsv.ConvertOptions(
                                        include_columns=stored, column_types={c: pa.string() for c in stored},
                                        strings_can_be_null=False, quoted_strings_can_be_null=False))
            for batch in reader:
                yield _from_arrow(batch, rename, numeric)
    except ReadError as exc:
        if "are not" not in str(exc) or "text" not in str(exc):
            raise
        # Text that is not in the file's encoding: the pandas reader finds the row and column.
        for _ in _iter_csv_pandas(source, stored, rename, numeric, chunk_rows, encoding, sep):
            pass
        raise


def _iter_csv_pandas(source, stored, rename, numeric, chunk_rows, encoding, sep) -> Iterator[pd.DataFrame]:
    first_row = 1
    # Every column is parsed (pandas checks the number of fields only then, as Arrow does), in
    # chunks made smaller for wide files so that a chunk holds about as much text as the columns read.
    width = len(file_columns(source))
    chunk_rows = max(10_000, chunk_rows * max(len(stored), 1) // max(width, 1))
    with _reading(source):
        # Undecodable bytes are kept as surrogates and refused below, with their row, when they
        # are in a column the step reads (a stray byte in another column does not matter).
        for chunk in pd.read_csv(source.path, sep=sep, dtype=str, keep_default_na=False,
                                 encoding=encoding, encoding_errors="surrogateescape", chunksize=chunk_rows):
            chunk = chunk[stored]
            converted = _from_pandas(chunk.rename(columns=rename), numeric)
            _refuse_undecoded(source, encoding, chunk.rename(columns=rename), converted, first_row)
            first_row += len(chunk)
            yield converted


def _refuse_undecoded(source: SourceFile, encoding: str, raw: pd.DataFrame, converted: pd.DataFrame,
                      first_row: int) -> None:
    """Stop at the first value of a read column that held bytes not in the file's encoding. Only
    the values that did not convert (blank keys and amounts) or the distinct text values are looked at."""
    for column in converted.columns:
        values = converted[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            bad_categories = values.cat.categories.astype(str).str.contains(_UNDECODED)
            if not bad_categories.any():
                continue
            rows = np.flatnonzero(np.isin(values.cat.codes.to_numpy(), np.flatnonzero(bad_categories)))
        else:
            failed = (values.to_numpy() < 0) if values.dtype.kind in "iu" else np.isnan(values.to_numpy(dtype=float))
            if not failed.any():
                continue
            text = raw[column].iloc[np.flatnonzero(failed)].astype(str)
            rows = np.flatnonzero(failed)[text.str.contains(_UNDECODED).to_numpy()]
        if rows.size:
            row = first_row + int(rows[0])
            raise ReadError(_undecoded_message(source, encoding, f"row {row:,} (line {row + 1:,}), column {column},",
                                               str(raw[column].iloc[int(rows[0])])))


def read_cbs_table(source: SourceFile, columns: list[str], numeric: tuple[str, ...] = (),
                   optional: tuple[str, ...] | None = None, rows: tuple[int, int] | None = None) -> pd.DataFrame:
    """All rows of ``columns`` of one CBS file (or the ``rows`` of a .sav file: first, count), normalised
    (see module docstring)."""
    table = concat_tables([c for c in iter_cbs_table(source, columns, numeric, optional=optional, rows=rows)],
                          [c.upper() for c in columns], tuple(c.upper() for c in numeric))
    if "RINPERSOONS" in table:
        table["RINPERSOONS"] = _upper_categorical(table["RINPERSOONS"].array)
    return table


def _upper_categorical(values: pd.Categorical) -> pd.Categorical:
    upper = pd.Index(values.categories.astype(str)).str.upper()
    codes, categories = pd.factorize(upper)
    return pd.Categorical.from_codes(np.where(values.codes >= 0, codes[values.codes], -1), categories=categories)


@dataclass(frozen=True)
class ReadRequest:
    """Columns of one file to read (see ``read_cbs_table``); ``name`` says what the table is for."""
    name: str
    source: SourceFile
    columns: tuple[str, ...]
    numeric: tuple[str, ...] = ()
    optional: tuple[str, ...] | None = None


SAV_PIECE_ROWS = 4_000_000
"""A larger .sav file is read in pieces of this many rows, side by side: one national register
(tens of millions of rows) would otherwise keep one core busy while the other is idle."""
PROCESSES_FROM_BYTES = 256 << 20
"""Reading .sav files in worker processes pays from about this many bytes on (a process starts
in about a second and its tables are copied back); smaller runs read in the main process."""


def read_side_by_side(requests: list[ReadRequest], workers: int = 2, piece_rows: int = SAV_PIECE_ROWS,
                      processes_from_bytes: int = PROCESSES_FROM_BYTES, process_peaks: dict[int, float] | None = None,
                      ) -> Iterator[tuple[ReadRequest, pd.DataFrame]]:
    """Every requested table (``read_cbs_table``), ``workers`` files or pieces at a time; each is
    yielded as soon as all its pieces are read, so a caller can write it and let it go.

    pyreadstat holds the interpreter lock while it decodes, so .sav files are read in worker
    processes (started with ``spawn``, as on Windows: nothing depends on ``fork``), a large one in
    pieces of ``piece_rows`` rows, largest first; the normalised tables (integer keys and
    categoricals) are small to send back. Arrow (parquet, CSV) releases the lock: those files are
    read in threads. The tables are the same as ``read_cbs_table`` gives, whichever way.
    ``process_peaks``, when given, receives the peak memory (MB) of each worker process by its id
    (the step's own peak does not include them)."""
    # Every file's columns are checked first, in the requests' order: a missing column stops the run
    # before minutes of reading, with the same message whichever file a worker would reach first.
    for request in requests:
        optional = request.optional if request.optional is not None else optional_columns(request.source)
        _match_columns(request.source, [c.upper() for c in request.columns], tuple(c.upper() for c in optional))
    pieces = []
    for request in requests:
        total = _sav_rows(request.source) if request.source.format == "sav" else None
        if total is None or total <= piece_rows:
            pieces.append((request, None, _file_size(request.source)))
        else:
            size = _file_size(request.source)
            pieces += [(request, (first, min(piece_rows, total - first)), size * min(piece_rows, total - first) // total)
                       for first in range(0, total, piece_rows)]
    sav_bytes = sum(size for request, _, size in pieces if request.source.format == "sav")
    in_processes = workers > 1 and sav_bytes >= processes_from_bytes
    # Largest first, so the last piece to finish is a small one (both cores busy to the end).
    order = sorted(range(len(pieces)), key=lambda i: -pieces[i][2])
    read = (_pieces_in_processes if in_processes else _pieces_in_threads)(pieces, order, workers)
    left = {id(request): sum(p[0] is request for p in pieces) for request in requests}
    parts: dict[int, dict] = {id(request): {} for request in requests}
    try:
        for i, (table, process, peak) in read:
            request, rows, _ = pieces[i]
            if in_processes and process_peaks is not None and peak is not None:
                process_peaks[process] = max(peak, process_peaks.get(process, 0.0))
            parts[id(request)][rows[0] if rows else 0] = table
            left[id(request)] -= 1
            if left[id(request)] == 0:
                ordered = [t for _, t in sorted(parts.pop(id(request)).items())]
                table = ordered[0] if len(ordered) == 1 else concat_tables(
                    ordered, list(ordered[0].columns), tuple(c.upper() for c in request.numeric))
                yield request, table
    finally:
        read.close()            # stops the workers now, not when the generator is collected


def _pieces_in_processes(pieces: list, order: list[int], workers: int) -> Iterator[tuple[int, tuple]]:
    """(index, result of ``_read_piece``) of every piece as it is read, in worker processes. A failed
    piece, an interruption or a caller that stops early terminates the workers at once: none is left
    reading (or waiting to hand over a table) after the run stopped."""
    import multiprocessing
    import queue
    finished: queue.SimpleQueue = queue.SimpleQueue()
    pool = multiprocessing.get_context("spawn").Pool(workers, initializer=_start_worker)
    try:
        for i in order:
            pool.apply_async(_read_piece, pieces[i][:2], callback=lambda result, i=i: finished.put((i, result, None)),
                             error_callback=lambda error, i=i: finished.put((i, None, error)))
        pool.close()
        for _ in order:
            while True:
                try:        # with a timeout, so that Ctrl+C gets through on every platform
                    i, result, error = finished.get(timeout=1.0)
                    break
                except queue.Empty:
                    continue
            if error is not None:
                raise error
            yield i, result
        pool.join()
    finally:
        pool.terminate()


def _pieces_in_threads(pieces: list, order: list[int], workers: int) -> Iterator[tuple[int, tuple]]:
    from concurrent.futures import ThreadPoolExecutor, as_completed
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(_read_piece, *pieces[i][:2]): i for i in order}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            for future in futures:      # pieces not started are dropped after a failure
                future.cancel()


def _start_worker() -> None:
    """In a worker: Ctrl+C is the main process's to handle (it stops the workers); the memory of
    one piece is reused for the next (``lib.memory``)."""
    import signal
    from lib.memory import reuse_freed_memory
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    reuse_freed_memory()


def _read_piece(request: ReadRequest, rows: tuple[int, int] | None) -> tuple[pd.DataFrame, int, float | None]:
    """(table, process id, the process's peak memory in MB) of one file or piece of a file."""
    import os
    from lib.pipeline import peak_memory_mb
    table = read_cbs_table(request.source, list(request.columns), request.numeric, request.optional, rows)
    return table, os.getpid(), peak_memory_mb()


def _sav_rows(source: SourceFile) -> int | None:
    """The number of rows a .sav file states in its header (None: it does not say)."""
    import pyreadstat
    _check_file(source)
    with _reading(source):
        _, meta = pyreadstat.read_sav(str(source.path), metadataonly=True)
    return meta.number_rows if meta.number_rows is not None and meta.number_rows >= 0 else None


def _file_size(source: SourceFile) -> int:
    _check_file(source)
    return source.path.stat().st_size


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
        elif col in NUMERIC_ID_COLUMNS and (number := _id_numbers_pandas(values)) is not None:
            out[col] = number
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


def _id_numbers_pandas(values: pd.Series) -> np.ndarray | None:
    """An id column as int64 (-1 where empty), or None when some value is not a whole number of at most
    18 digits."""
    if pd.api.types.is_integer_dtype(values):
        return values.to_numpy(dtype=np.int64)
    number, digits, blank = _ascii_digits(values, 18)
    if (digits | blank).all():
        return number
    text = values.fillna("").astype(str).str.strip()
    if not text.str.fullmatch(r"([0-9]{1,18})?").all():
        return None
    filled = text.to_numpy(dtype=object)
    return np.where(filled == "", -1, np.where(filled == "", "0", filled).astype("U18").astype(np.int64))


def _ascii_digits(values: pd.Series, max_digits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(number, digits, blank) of a text column, in numpy's loops rather than one Python call per value
    (tens of millions of keys nationally): ``number`` where the text is 1 to ``max_digits`` ASCII digits
    (``digits``), else -1; ``blank`` where the text is empty. Anything else (spaces, '.0', signs) is
    left to the caller's exact rules."""
    n = len(values)
    number = np.full(n, -1, np.int64)
    if n == 0 or values.dtype != object:
        return number, np.zeros(n, bool), np.asarray(pd.isna(values), dtype=bool)
    text = values.to_numpy(dtype=object)
    missing = pd.isna(text)
    if missing.any():
        text = np.where(missing, "", text)
    # A value longer than a number can be (or no text at all) is left to the caller, and kept out of
    # the fixed-width copy below, whose width is that of the longest value.
    length = np.fromiter((len(v) if isinstance(v, str) else -1 for v in text), dtype=np.int64, count=n)
    other = (length > max_digits) | (length < 0)
    if other.any():
        text = np.where(other, "", text)
    fixed = text.astype(str)                     # fixed-width unicode: one code point per 4 bytes
    width = fixed.dtype.itemsize // 4
    if width == 0:
        return number, np.zeros(n, bool), ~other
    points = fixed.view(np.uint32).reshape(n, width)
    digits = (((points >= 48) & (points <= 57)) | (points == 0)).all(axis=1) & (length >= 1) & ~other
    if digits.any():
        number[digits] = fixed[digits].astype(np.int64)
    return number, digits, length == 0


def _key_from_float(values: np.ndarray) -> np.ndarray:
    ok = np.isfinite(values) & (values >= 0) & (values < 1e9) & (values == np.round(values))
    return np.where(ok, np.nan_to_num(values), -1).astype(np.int64)


def _numbers_of_text(values: pd.Series) -> np.ndarray:
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    text = pd.Series(uniques, dtype=object).astype(str).str.strip()
    numbers = _exact_floats(text.where(text.str.fullmatch(_POINT)))
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
    out, digits, blank = _ascii_digits(values, 9)
    other = ~digits & ~blank                     # spaces, a '.0' of a number stored as text, or no number
    if other.any():
        text = values[other].fillna("").astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
        valid = text.str.fullmatch(r"[0-9]{1,9}").to_numpy(dtype=bool)       # ASCII digits only
        rows = np.flatnonzero(other)
        out[rows[valid]] = text.to_numpy(dtype=object)[valid].astype("U9").astype(np.int64)
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


# --- amounts written as text -------------------------------------------------------------

AMOUNT_OK, AMOUNT_BLANK, AMOUNT_OTHER_NOTATION, AMOUNT_AMBIGUOUS, AMOUNT_NOT_A_NUMBER = range(5)
_POINT = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
_DOT_THOUSANDS = r"[+-]?\d{1,3}(\.\d{3})+"
_COMMA_DECIMAL = r"[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+"
_COMMA_THOUSANDS = r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?"


def amounts_of_text(values) -> tuple[np.ndarray, np.ndarray]:
    """Amounts of a column as CBS writes them (``12345.67``), decided once per distinct value.

    Returns (amount, status). ``AMOUNT_OK``: a number with a decimal point (or none).
    ``AMOUNT_OTHER_NOTATION``: not how CBS writes amounts but readable all the same: a
    decimal comma (``12.345,67``, ``1234,5``) or thousands commas (``1,234,567.50``);
    ``amount`` holds that reading. ``AMOUNT_AMBIGUOUS``: two readings, never guessed
    (``1,200`` is 1.2 with a decimal comma and 1200 with a thousands comma; ``1.234`` is
    1.234 or, in a column that also has decimal commas, 1234); ``amount`` is NaN.
    ``AMOUNT_BLANK`` and ``AMOUNT_NOT_A_NUMBER``: NaN."""
    codes, uniques = _per_distinct_value(values)
    text = pd.Series(uniques, dtype=object).astype(str).str.strip().str.replace(" ", "", regex=False)
    point = text.str.fullmatch(_POINT).to_numpy(dtype=bool)
    comma_decimal = text.str.fullmatch(_COMMA_DECIMAL).to_numpy(dtype=bool)
    comma_thousands = text.str.fullmatch(_COMMA_THOUSANDS).to_numpy(dtype=bool)
    dot_thousands = text.str.fullmatch(_DOT_THOUSANDS).to_numpy(dtype=bool)
    present = np.isin(np.arange(len(text)), codes[codes >= 0])
    column_has_decimal_commas = bool((comma_decimal & ~comma_thousands & present).any())
    status = np.full(len(text), AMOUNT_NOT_A_NUMBER, dtype=np.int8)
    status[text.to_numpy(dtype=str) == ""] = AMOUNT_BLANK
    status[point] = AMOUNT_OK
    status[comma_decimal ^ comma_thousands] = AMOUNT_OTHER_NOTATION
    status[comma_decimal & comma_thousands] = AMOUNT_AMBIGUOUS
    if column_has_decimal_commas:
        status[point & dot_thousands] = AMOUNT_AMBIGUOUS
    as_point = _exact_floats(text.where(point))
    dutch = _exact_floats(text.where(comma_decimal).str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
    english = _exact_floats(text.where(comma_thousands).str.replace(",", "", regex=False))
    number = np.where(status == AMOUNT_OK, as_point, np.nan)
    number = np.where((status == AMOUNT_OTHER_NOTATION) & comma_decimal, dutch, number)
    number = np.where((status == AMOUNT_OTHER_NOTATION) & comma_thousands, english, number)
    known = codes >= 0
    take = np.maximum(codes, 0)
    amount = np.where(known, number[take] if number.size else np.nan, np.nan)
    out_status = np.where(known, status[take] if status.size else AMOUNT_BLANK, AMOUNT_BLANK).astype(np.int8)
    return amount.astype(float), out_status



def _exact_floats(text: pd.Series) -> np.ndarray:
    """Numbers of text that is known to be numbers (NaN elsewhere), parsed exactly: pandas'
    fast parser (``to_numeric``) may change the last bit ('0.30000000000000004' becomes 0.3)."""
    return text.to_numpy(dtype=object).astype(float)
