"""Write an SPSS system file (.sav) chunk by chunk, in bounded memory.

pyreadstat writes a .sav from one DataFrame in memory; a national household register (tens of
millions of rows of text) does not fit that way. This writer streams: the dictionary is written
from the first chunk, every chunk's cases are appended with SPSS's bytecode compression (the
``compressed`` files SPSS writes by default), and the number of cases is
filled in on ``close``. The layout follows the system file format as PSPP documents it
("System File Format": file header, variable records, machine integer and floating point info,
long variable names, character encoding, dictionary termination, then the data); pyreadstat reads
the result back to the same values as a file pyreadstat wrote itself (tests/test_sav_files.py).

Types: a numeric column is written as an 8-byte IEEE number (NaN is system-missing); every other
column as text, UTF-8, its width the longest value in bytes rounded up to a multiple of 8 (a case
stores text in 8-byte elements, so the rounding costs nothing). The widths are set by the first
chunk with rows; a later, longer value widens its column by writing the file again from what is
already in it (read back in chunks, so memory stays bounded), which happens in the first chunks if
at all. The file's bytes do not depend on how the rows were cut into chunks.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pandas as pd

BIAS = 100.0
"""Compression bias: codes 1-251 stand for the whole numbers code - 100 (-99 to 151)."""
CODE_PADDING, CODE_RAW, CODE_SPACES, CODE_MISSING = 0, 253, 254, 255
SYSMIS = -np.finfo(np.float64).max
SPACES = np.frombuffer(b" " * 8, "<u8")[0]
"""An element of eight spaces, as a word."""
HEADER_CASES_OFFSET = 80
"""Byte offset of the number of cases in the file header (after "$FL2", product, layout code,
case size, compression and weight index)."""
MAX_TEXT_WIDTH = 255
"""Longer text needs SPSS's "very long string" segments, which no CBS register column needs."""


class SavWriter:
    """Append DataFrames with the same columns to one compressed .sav file.

    >>> import tempfile, pyreadstat
    >>> path = Path(tempfile.mkdtemp()) / "example.sav"
    >>> writer = SavWriter(path, file_label="example")
    >>> writer.append(pd.DataFrame({"RINPERSOON": ["000000001", "000000002"], "BEDRAG": [12.5, float("nan")]}))
    >>> writer.append(pd.DataFrame({"RINPERSOON": ["000000003"], "BEDRAG": [-3.0]}))
    >>> writer.close()
    >>> pyreadstat.read_sav(str(path))[0].to_dict("list")
    {'RINPERSOON': ['000000001', '000000002', '000000003'], 'BEDRAG': [12.5, nan, -3.0]}
    """

    def __init__(self, path: Path | str, file_label: str = ""):
        self.path = Path(path)
        self.file_label = file_label
        self.rows = 0
        self._handle = None
        self._columns: list[str] = []
        self._widths: list[int] = []          # 0: numeric; else the text width in bytes
        self._pending_codes = np.zeros(0, np.uint8)
        self._pending_raw = np.zeros(0, "<u8")
        self._empty = pd.DataFrame()

    # ------------------------------------------------------------------ public

    def append(self, frame: pd.DataFrame) -> None:
        if self._handle is None and not len(frame):
            # The dictionary waits for rows: the widths of text come from the first values.
            self._empty = frame
            return
        if self._handle is None:
            text = {c: EncodedText(frame[c]) for c in frame.columns if not _is_numeric(frame[c])}
            self._start(frame, text)
        elif list(frame.columns) != self._columns:
            raise ValueError(f"{self.path.name}: chunk columns {list(frame.columns)} differ from {self._columns}")
        else:
            text = {c: EncodedText(frame[c]) for c, w in zip(self._columns, self._widths) if w}
        wider = [max(w, text[c].width) if w else 0 for c, w in zip(self._columns, self._widths)]
        if wider != self._widths:
            self._write_again(wider)
        if len(frame):
            codes, raw = self._elements(frame, text)
            self._write_blocks(codes, raw)
            self.rows += len(frame)

    def close(self) -> None:
        if self._handle is None:
            self._start(self._empty, {c: EncodedText(self._empty[c]) for c in self._empty.columns
                                      if not _is_numeric(self._empty[c])})
        self._finish()

    def _finish(self) -> None:
        if self._pending_codes.size:
            # The last command block is filled up with padding codes, which readers skip.
            fill = 8 - self._pending_codes.size
            self._handle.write(np.concatenate([self._pending_codes, np.zeros(fill, np.uint8)]).tobytes())
            self._handle.write(self._pending_raw[self._pending_codes == CODE_RAW].tobytes())
        self._handle.seek(HEADER_CASES_OFFSET)
        self._handle.write(struct.pack("<i", self.rows))
        self._handle.close()
        self._pending_codes = np.zeros(0, np.uint8)
        self._pending_raw = np.zeros(0, "<u8")

    def _write_again(self, widths: list[int]) -> None:
        """Write the file again with wider text columns, from the cases already written."""
        import pyreadstat
        self._finish()
        earlier = self.path.with_name(self.path.name + ".narrower")
        self.path.replace(earlier)
        rows, self.rows = self.rows, 0
        self._widths = widths
        self._handle = open(self.path, "wb")
        self._handle.write(self._dictionary())
        if rows:
            for chunk, _ in pyreadstat.read_file_in_chunks(pyreadstat.read_sav, str(earlier), chunksize=1_000_000):
                codes, raw = self._elements(chunk, {c: EncodedText(chunk[c]) for c, w in zip(self._columns, widths)
                                                    if w})
                self._write_blocks(codes, raw)
                self.rows += len(chunk)
        earlier.unlink()

    # ------------------------------------------------------------------ dictionary

    def _start(self, frame: pd.DataFrame, text: dict[str, "EncodedText"]) -> None:
        self._columns = [str(c) for c in frame.columns]
        self._widths = [text[c].width if c in text else 0 for c in frame.columns]
        self._handle = open(self.path, "wb")
        self._handle.write(self._dictionary())

    @property
    def _elements_per_case(self) -> int:
        return sum(1 if w == 0 else _storage(w) // 8 for w in self._widths)

    def _dictionary(self) -> bytes:
        out = bytearray()
        # The creation date and time are fixed, so the same data give the same bytes.
        out += b"$FL2" + _padded(b"@(#) SPSS DATA FILE - kostenanalyse-mph synthetic data", 60)
        out += struct.pack("<iiiii", 2, self._elements_per_case, 1, 0, -1)
        out += struct.pack("<d", BIAS)
        # At most 64 bytes of label, cut at a whole character.
        label = self.file_label.encode("utf-8")[:64].decode("utf-8", "ignore").encode("utf-8")
        out += b"01 Jan 00" + b"00:00:00" + _padded(label, 64) + b"\0\0\0"
        short_names = _short_names(self._columns)
        for short, width in zip(short_names, self._widths):
            if width == 0:
                fmt = (5 << 16) | (12 << 8) | 2               # F12.2
                out += struct.pack("<iiiiii", 2, 0, 0, 0, fmt, fmt) + short
            else:
                fmt = (1 << 16) | (width << 8)                  # A<width>
                out += struct.pack("<iiiiii", 2, width, 0, 0, fmt, fmt) + short
                for _ in range(_storage(width) // 8 - 1):       # continuation records of long text
                    out += struct.pack("<iiiiii", 2, -1, 0, 0, 0, 0) + b" " * 8
        # Machine integer info: version 20.0.0, IEEE 754, bytecode compression, little-endian, UTF-8.
        out += struct.pack("<iiii", 7, 3, 4, 8) + struct.pack("<8i", 20, 0, 0, -1, 1, 1, 2, 65001)
        out += struct.pack("<iiii", 7, 4, 8, 3) + struct.pack("<3d", SYSMIS, np.finfo(np.float64).max,
                                                             np.nextafter(SYSMIS, 0))
        long_names = "\t".join(f"{s.decode('ascii').strip()}={c}" for s, c in zip(short_names, self._columns))
        encoded = long_names.encode("utf-8")
        out += struct.pack("<iiii", 7, 13, 1, len(encoded)) + encoded
        out += struct.pack("<iiii", 7, 20, 1, 5) + b"UTF-8"
        out += struct.pack("<ii", 999, 0)
        return bytes(out)

    # ------------------------------------------------------------------ data

    def _elements(self, frame: pd.DataFrame, text: dict[str, "EncodedText"]) -> tuple[np.ndarray, np.ndarray]:
        """(codes, raw): one compression code per 8-byte element of every case, case after case,
        and the 8 bytes of each element (used where the code is CODE_RAW). ``text``: the text
        columns, encoded."""
        n, per_case = len(frame), self._elements_per_case
        codes = np.empty((n, per_case), np.uint8)
        raw = np.empty((n, per_case), "<u8")          # an element's 8 bytes as one little-endian word
        at = 0
        for column, width in zip(self._columns, self._widths):
            if width == 0:
                values = pd.to_numeric(frame[column]).to_numpy(dtype=np.float64)
                missing = np.isnan(values)
                whole = ~missing & (values == np.round(values)) & (values >= 1 - BIAS) & (values <= 251 - BIAS)
                codes[:, at] = np.where(missing, CODE_MISSING,
                                        np.where(whole, np.where(whole, values, 0) + BIAS, CODE_RAW)).astype(np.uint8)
                raw[:, at] = values.astype("<f8").view("<u8")
                at += 1
            else:
                k = _storage(width) // 8
                words = text[column].padded(width).view("<u8").reshape(n, k)
                raw[:, at:at + k] = words
                codes[:, at:at + k] = np.where(words == SPACES, CODE_SPACES, CODE_RAW)
                at += k
        return codes.reshape(-1), raw.reshape(-1)

    def _write_blocks(self, codes: np.ndarray, raw: np.ndarray) -> None:
        """Write every complete block of 8 codes, each followed by the raw elements it announces;
        the rest waits for the next chunk (blocks run across cases and chunks)."""
        codes = np.concatenate([self._pending_codes, codes])
        raw = np.concatenate([self._pending_raw, raw])
        complete = codes.size // 8 * 8
        self._pending_codes, self._pending_raw = codes[complete:].copy(), raw[complete:].copy()
        if not complete:
            return
        # In 8-byte words: a block is one word of 8 codes, then one word per raw element.
        blocks = codes[:complete].reshape(-1, 8)
        is_raw = blocks == CODE_RAW
        size = 1 + is_raw.sum(axis=1)
        start = np.concatenate([[0], np.cumsum(size)[:-1]])
        out = np.empty(int(size.sum()), "<u8")
        out[start] = blocks.view("<u8").reshape(-1)
        rank = np.cumsum(is_raw, axis=1) - 1                 # the place of a raw element behind its block
        block_of, slot = np.nonzero(is_raw)
        out[start[block_of] + 1 + rank[block_of, slot]] = raw[:complete][block_of * 8 + slot]
        self._handle.write(out.tobytes())


def _is_numeric(values: pd.Series) -> bool:
    return values.dtype.kind in "iufb"


def _storage(width: int) -> int:
    """Bytes a text of ``width`` takes in a case: whole 8-byte elements."""
    return -(-width // 8) * 8


def _as_text(values: pd.Series) -> pd.Series:
    return values.where(values.notna(), "").astype(str)


class EncodedText:
    """A text column as UTF-8, each distinct value encoded once (dates and codes repeat a lot)."""

    def __init__(self, values: pd.Series):
        self.codes, uniques = pd.factorize(_as_text(values))
        self.uniques = [u.encode("utf-8") for u in uniques]
        longest = max(map(len, self.uniques), default=0)
        if longest > MAX_TEXT_WIDTH:
            raise ValueError(f"column {values.name}: text of {longest} bytes; at most {MAX_TEXT_WIDTH} can be written")
        self.width = min(max(8, _storage(longest)), MAX_TEXT_WIDTH)

    def padded(self, width: int) -> np.ndarray:
        """(rows, storage of ``width``) bytes, padded with spaces as SPSS pads."""
        storage = _storage(width)
        # A fixed-width bytes array pads with NUL bytes; SPSS pads text with spaces.
        table = np.array(self.uniques or [b""], dtype=f"S{storage}").view(np.uint8).reshape(-1, storage).copy()
        table[table == 0] = 0x20
        return table[self.codes]


def _short_names(columns: list[str]) -> list[bytes]:
    """Unique 8-character upper-case names (the long names follow in their own record)."""
    taken: set[str] = set()
    out = []
    for i, column in enumerate(columns):
        base = "".join(c for c in column.upper() if c.isalnum() or c == "_")[:8] or "V"
        if not base[0].isalpha():
            base = ("V" + base)[:8]
        name, n = base, 1
        while name in taken:
            suffix = str(n)
            name, n = base[:8 - len(suffix)] + suffix, n + 1
        taken.add(name)
        out.append(_padded(name.encode("ascii"), 8))
    return out


def _padded(text: bytes, size: int) -> bytes:
    return text[:size].ljust(size, b" ")
