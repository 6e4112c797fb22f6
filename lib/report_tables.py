"""The released tables of an export folder, as the report reads them: each table with its notes and
its manifest entry (lib.report, lib.report_figures).

Only the export folder is read: the CSV (or XLSX) tables, their notes and the manifest the safe
writer wrote, so that the report can be made again outside the secure environment.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lib.dutch_numbers import cell as dutch_cell


@dataclass
class ExportedTable:
    name: str
    table: pd.DataFrame
    notes: dict[str, str]
    notes_text: str
    manifest: dict
    symbol: str
    decimal: str = "."
    """The decimal mark of the exported file (',' in csv_nl)."""

    @property
    def title(self) -> str:
        return self.notes.get("Title", self.name)

    @property
    def suppressed(self) -> int:
        return int(self.manifest.get("suppressed_cells", 0))

    def shown(self) -> pd.DataFrame:
        """The table as the report shows it: every number in a value column in Dutch format
        (lib.dutch_numbers.cell: 1.155; 5.570.572,84; 61,7), labels and the suppression symbol
        as published. The exported file itself is not changed."""
        labels = set(self.manifest.get("label_columns", []))
        shown = self.table.copy()
        for column in shown.columns:
            if column not in labels:
                shown[column] = [dutch_cell(v, self.decimal, self.symbol) for v in shown[column]]
        return shown

    def value(self, column: str, **where) -> float | None:
        """A published number (None when suppressed or absent)."""
        rows = self.table
        for key, wanted in where.items():
            rows = rows[rows[key].astype(str) == str(wanted)]
        if rows.empty or column not in rows:
            return None
        return published_number(rows[column].iloc[0], self.symbol)


def published_number(text, symbol: str) -> float | None:
    """A published cell as a number; None when suppressed (``symbol``), empty or text. A decimal comma
    (csv_nl) is read too."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    text = str(text).strip()
    if text in ("", symbol):
        return None
    try:
        return float(text.replace(",", ".")) if text.count(",") == 1 and "." not in text else float(text)
    except ValueError:
        return None


def parse_notes(text: str) -> dict[str, str]:
    """The ``Key: value`` lines of a table's notes (one-word keys, and ``Price year``); free sentences
    and the safe writer's explanations are left out."""
    notes = {}
    for line in text.splitlines():
        if ": " in line and not line.startswith("'"):
            key, value = line.split(": ", 1)
            if key and " " not in key.strip() or key in ("Price year",):
                notes[key.strip()] = value.strip()
    return notes


def read_export(export_dir: Path) -> tuple[dict, list[ExportedTable]]:
    """The manifest and every released table of an export folder."""
    manifest = json.loads((export_dir / "disclosure_manifest.json").read_text(encoding="utf-8"))
    symbol = manifest.get("rules", {}).get("suppressed_symbol", "x")
    sep_of = {"csv": (",", "."), "csv_nl": (";", ",")}
    output_format = manifest.get("rules", {}).get("output_format", "csv")
    sep, decimal = sep_of.get(output_format, (",", "."))
    tables = []
    for name, entry in sorted(manifest.get("tables", {}).items()):
        files = entry.get("files", {})
        data_file = next((f for f in files if f.endswith((".csv", ".xlsx"))), None)
        notes_file = next((f for f in files if f.endswith(".notes.txt")), None)
        if data_file is None:
            continue
        if data_file.endswith(".xlsx"):
            table = pd.read_excel(export_dir / data_file, dtype=str)
        else:
            table = pd.read_csv(export_dir / data_file, sep=sep, dtype=str, keep_default_na=False,
                                encoding="utf-8-sig")
        notes_text = (export_dir / notes_file).read_text(encoding="utf-8") if notes_file else ""
        tables.append(ExportedTable(name, table, parse_notes(notes_text), notes_text, entry, symbol, decimal))
    return manifest, tables


def find(tables: list[ExportedTable], name: str) -> ExportedTable | None:
    """The table ``name`` of the export, or None."""
    return next((t for t in tables if t.name == name), None)


def by_name(tables: list[ExportedTable]) -> dict[str, ExportedTable]:
    """The tables of the export by name."""
    return {t.name: t for t in tables}
