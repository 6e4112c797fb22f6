"""Read a published export folder the way an output checker does: CSV tables, notes, manifest.

Only the files an export folder holds are read (``<table>.csv``, ``<table>.notes.txt``,
``disclosure_manifest.json``); nothing from the work folder, nothing from the protection
code. Every cell keeps its text, so the number of published decimals (and with it the
rounding interval of the value) is known.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Cell:
    table: str
    labels: tuple[str, ...]
    """Values of the table's label columns in this row."""
    column: str
    text: str
    suppressed: bool
    value: float | None
    decimals: int

    @property
    def name(self) -> str:
        return f"{self.table}[{', '.join(self.labels)}].{self.column}"

    def interval(self, rounding_base: int | None = None, is_count: bool = False) -> tuple[float, float]:
        """The values the true quantity can have given the published text."""
        if self.value is None:
            raise ValueError(f"{self.name} is not published")
        if is_count and rounding_base:
            half = rounding_base / 2.0
            return max(0.0, self.value - half), self.value + half
        # A count without decimals is exact; any other figure is known to half its last digit.
        half = 0.0 if (is_count and self.decimals == 0) else 0.5 * 10.0 ** (-self.decimals)
        return self.value - half, self.value + half


@dataclass
class Table:
    name: str
    columns: list[str]
    label_columns: list[str]
    rows: list[dict[str, str]]
    notes: str = ""
    kind: str = ""
    title: str = ""
    population: str = ""
    unit: str = ""
    manifest: dict = field(default_factory=dict)
    symbol: str = "x"
    total_label: str = "Totaal"
    rounding_base: int | None = None
    pct_from_published_counts: bool = False
    n_observations: int | None = None
    residual_df: int | None = None
    model_rounding: int = 0             # base N and residual df of the notes are rounded to (0: exact)

    @property
    def value_columns(self) -> list[str]:
        return [c for c in self.columns if c not in self.label_columns]

    def labels_of(self, row: dict[str, str]) -> tuple[str, ...]:
        return tuple(row[c] for c in self.label_columns)

    def cell(self, row: dict[str, str], column: str) -> Cell:
        text = (row.get(column) or "").strip()
        suppressed = text == self.symbol
        value, decimals = parse_number(text)
        return Cell(self.name, self.labels_of(row), column, text, suppressed, None if suppressed else value,
                    decimals)

    def find(self, **labels: str) -> dict[str, str] | None:
        for row in self.rows:
            if all(row.get(k) == v for k, v in labels.items()):
                return row
        return None

    def cells(self, column: str):
        for row in self.rows:
            yield self.cell(row, column)


@dataclass
class Export:
    folder: Path
    tables: dict[str, Table]
    manifest: dict
    rounding_base: int | None
    symbol: str
    total_label: str

    def get(self, name: str) -> Table | None:
        return self.tables.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self.tables


NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def parse_number(text: str) -> tuple[float | None, int]:
    text = text.strip()
    if not text or not NUMBER.match(text):
        try:
            value = float(text)
        except ValueError:
            return None, 0
        return (value if math.isfinite(value) else None), 0
    decimals = len(text.split(".")[1]) if "." in text else 0
    return float(text), decimals


def _read_csv(path: Path, output_format: str) -> tuple[list[str], list[dict[str, str]]]:
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig")
    first = text.splitlines()[0] if text else ""
    delimiter = ";" if output_format == "csv_nl" or first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = list(reader)
    if not rows:
        return [], []
    header = [h.strip() for h in rows[0]]
    out = []
    for r in rows[1:]:
        if not r:
            continue
        record = {h: (v.strip() if v is not None else "") for h, v in zip(header, r)}
        if delimiter == ";":
            # Dutch Excel: decimal comma, maybe a thousands point.
            for h, v in record.items():
                if re.match(r"^-?[\d.]+,\d+$", v):
                    record[h] = v.replace(".", "").replace(",", ".")
        out.append(record)
    return header, out


def _note_field(notes: str, key: str) -> str:
    m = re.search(rf"^{re.escape(key)}:\s*(.*)$", notes, flags=re.M)
    return m.group(1).strip() if m else ""


def read_export(folder: str | Path) -> Export:
    folder = Path(folder)
    manifest_path = folder / "disclosure_manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    rules = manifest.get("rules", {})
    symbol = str(rules.get("suppressed_symbol") or "x")
    total_label = str(rules.get("total_label") or "Totaal")
    output_format = str(rules.get("output_format") or "csv")
    rounding = rules.get("rounding_base") or None
    tables: dict[str, Table] = {}
    for path in sorted(folder.glob("*.csv")):
        name = path.stem
        header, rows = _read_csv(path, output_format)
        notes_path = folder / f"{name}.notes.txt"
        notes = notes_path.read_text(encoding="utf-8-sig") if notes_path.is_file() else ""
        meta = manifest.get("tables", {}).get(name, {})
        labels = list(meta.get("label_columns") or [])
        if not labels:
            # Without a manifest: the leading columns whose values are not numbers.
            # Without a manifest: the leading columns holding text (a label such as 'Totaal' or a
            # category); value columns hold only numbers, the suppression symbol and '.'.
            for column in header:
                values = [r.get(column, "") for r in rows]
                if any(parse_number(v)[0] is None and v not in (symbol, ".", "") for v in values):
                    labels.append(column)
                else:
                    break
        table = Table(name=name, columns=header, label_columns=labels, rows=rows, notes=notes,
                      kind=_note_field(notes, "Kind") or str(meta.get("kind", "")),
                      title=_note_field(notes, "Title"), population=_note_field(notes, "Population"),
                      unit=_note_field(notes, "Unit"), manifest=meta, symbol=symbol, total_label=total_label)
        m = re.search(r"Counts are rounded to multiples of (\d+)", notes)
        table.rounding_base = int(m.group(1)) if m else (int(rounding) if rounding else None)
        table.pct_from_published_counts = "computed from the published counts" in notes
        m = re.search(r"Model estimated on (\d+) observations with (-?\d+) residual degrees of freedom", notes)
        if m:
            table.n_observations, table.residual_df = int(m.group(1)), int(m.group(2))
            rounded = re.search(r"These numbers are rounded to multiples of (\d+)", notes)
            table.model_rounding = int(rounded.group(1)) if rounded else 0
        tables[name] = table
    rounding_any = next((t.rounding_base for t in tables.values() if t.rounding_base), None)
    return Export(folder=folder, tables=tables, manifest=manifest, rounding_base=rounding_any or
                  (int(rounding) if rounding else None), symbol=symbol, total_label=total_label)
