"""Writing released tables byte-for-byte reproducibly.

Numbers are formatted here, not by pandas' float repr, so the same input gives
identical files on every platform.  XLSX files are normalised after openpyxl
writes them (fixed zip timestamps and document dates), for the same reason.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

CSV_DIALECTS = {
    # name: (separator, decimal mark, encoding, line terminator)
    "csv": (",", ".", "utf-8", "\n"),
    # Dutch Excel opens this directly: semicolons, decimal commas, a BOM so the
    # accents survive, CRLF line ends.
    "csv_nl": (";", ",", "utf-8-sig", "\r\n"),
}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def round_counts(values: np.ndarray, base: int | None) -> np.ndarray:
    """Counts as published under ``rounding_base`` (unchanged without one)."""
    values = np.asarray(values, dtype=float)
    if not base:
        return values
    # Conventional rounding, halves up (deterministic on every platform).
    return np.floor(values / base + 0.5) * base


def format_number(values: np.ndarray, decimals: int) -> np.ndarray:
    """Fixed-decimal text, '-0' normalised to '0' (platform-independent)."""
    values = np.asarray(values, dtype=float)
    rounded = np.round(values, decimals)
    rounded = np.where(rounded == 0, 0.0, rounded)
    return np.array([f"{v:.{decimals}f}" for v in rounded], dtype=object)


def _quote(text: str, separator: str) -> str:
    if any(ch in text for ch in (separator, '"', "\n", "\r")):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_csv(table: pd.DataFrame, path: Path, dialect: str) -> None:
    """Write a table of text cells; decimal points become commas in csv_nl."""
    separator, decimal, encoding, newline = CSV_DIALECTS[dialect]
    numeric_pattern = re.compile(r"^-?\d+\.\d+$")
    lines = [separator.join(_quote(str(c), separator) for c in table.columns)]
    body = table.astype(str).to_numpy()
    for row in body:
        cells = []
        for cell in row:
            if decimal != "." and numeric_pattern.match(cell):
                cell = cell.replace(".", decimal)
            cells.append(_quote(cell, separator))
        lines.append(separator.join(cells))
    data = newline.join(lines) + newline
    path.write_bytes(data.encode(encoding))


def read_table_text(path: Path) -> tuple[pd.DataFrame, str]:
    """A released table file as text cells, and its decimal mark: a CSV in either dialect
    (a BOM marks ``csv_nl``) or the 'table' sheet of a per-table XLSX. Raises what pandas
    raises on an unreadable file; the callers say which file."""
    path = Path(path)
    if path.name.endswith(".xlsx"):
        return pd.read_excel(path, sheet_name="table", dtype=str, keep_default_na=False), "."
    raw = path.read_bytes()
    dialect = "csv_nl" if raw.startswith(b"\xef\xbb\xbf") else "csv"
    separator, decimal, encoding, _ = CSV_DIALECTS[dialect]
    return pd.read_csv(io.StringIO(raw.decode(encoding)), sep=separator, dtype=str, keep_default_na=False), decimal


def openpyxl_available() -> bool:
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        return False
    return True


_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_FIXED_DOC_TIME = "2000-01-01T00:00:00Z"


def write_xlsx(table: pd.DataFrame, notes: str, path: Path, numeric_columns: set[str]) -> None:
    """Table on sheet 'table', notes on sheet 'notes'; numbers stored as numbers."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "table"
    sheet.append([str(c) for c in table.columns])
    for row in table.astype(str).itertuples(index=False):
        out = []
        for column, cell in zip(table.columns, row):
            if column in numeric_columns and re.match(r"^-?\d+(\.\d+)?$", cell):
                out.append(float(cell) if "." in cell else int(cell))
            else:
                out.append(cell)
        sheet.append(out)
    notes_sheet = workbook.create_sheet("notes")
    for line in notes.splitlines():
        notes_sheet.append([line])
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(_normalise_zip(buffer.getvalue()))


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps and fixed document dates."""
    source = zipfile.ZipFile(io.BytesIO(data))
    target_buffer = io.BytesIO()
    with zipfile.ZipFile(target_buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = content.decode("utf-8")
                text = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)", rf"\g<1>{_FIXED_DOC_TIME}\g<3>", text)
                content = text.encode("utf-8")
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            target.writestr(fixed, content)
    return target_buffer.getvalue()


def percent_text(x: float) -> str:
    """A share as a percentage label, without trailing zeros (0.05 -> "5%", 0.125 -> "12.5%")."""
    text = f"{x * 100:.4f}".rstrip("0").rstrip(".")
    return f"{text}%"


def count_text(n: float, rounding_base: int | None) -> str:
    """A count as notes may state it: rounded as the tables round counts, and from 10,000 on to
    four significant digits ("about 218300"), since notes carry no statistic (a value of five
    digits or more is one to the checker, and an exact total beside rounded tables undoes the
    rounding)."""
    shown = int(round_counts(np.array([float(n)]), rounding_base)[0])
    if abs(shown) < 10_000:
        return str(shown)
    step = 10 ** (len(str(abs(shown))) - 4)
    return f"about {int(np.floor(shown / step + 0.5)) * step}"


def rounded_counts_note(rounding_base: int | None) -> str:
    """The sentence a table's notes add where counts are rounded (empty where they are not)."""
    return f" These numbers are rounded to multiples of {rounding_base}." if rounding_base else ""
