"""One Excel workbook with every released table of an export folder.

The workbook is made from the safe writer's output, never from unit data: every sheet is
one released table file as it lies in the export folder (after the writer protected,
audited and wrote it), and the index sheet (``inhoud``) gives each table's title, unit,
population, period and notes and explains the suppression symbol. So the workbook shows
nothing the checked tables do not, and the export checker refuses one whose sheets differ
from them (:func:`workbook_problems`).

Sheet names are the table names, sorted, made safe for Excel (at most 31 characters, none of
``[]:*?/\\``, unique without regard to case): the same tables always give the same names.
The file is byte-identical for the same tables: fixed document dates and zip entry times
(``output._normalise_zip``).

Needs openpyxl; without it no workbook is written (the caller says so).
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import re
from pathlib import Path

import pandas as pd

from .output import _normalise_zip, read_table_text

WORKBOOK_NAME = "alle_tabellen.xlsx"
"""The workbook's file name in the export folder (no table is called ``alle_tabellen``)."""
INDEX_SHEET = "inhoud"
MAX_SHEET_NAME = 31
INDEX_COLUMNS = ["blad", "tabel", "titel", "eenheid", "populatie", "periode", "toelichting"]
_NOTES_FIELDS = {"titel": "Title", "eenheid": "Unit", "populatie": "Population", "periode": "Period"}
_NOT_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_FIXED_TIME = _dt.datetime(2000, 1, 1)
# The parts openpyxl writes for a workbook of plain sheets; anything else (comments, drawings,
# embedded objects, macros, external links) has no place in a released workbook.
_ALLOWED_PARTS = re.compile(r"^(\[Content_Types\]\.xml|_rels/\.rels|docProps/(app|core)\.xml|xl/workbook\.xml|"
                            r"xl/_rels/workbook\.xml\.rels|xl/styles\.xml|xl/sharedStrings\.xml|"
                            r"xl/theme/theme1\.xml|xl/worksheets/sheet\d+\.xml)$")


def symbol_lines(symbol: str) -> list[str]:
    """How to read the suppression symbol, in Dutch, at the top of the index sheet."""
    return [
        "Alle tabellen van deze export, een blad per tabel; elk blad is de tabel zoals die als bestand in de "
        "exportmap staat en door de geheimhoudingscontrole is gekomen.",
        f"'{symbol}' = onderdrukte cel (statistische geheimhouding, zoals het CBS het teken gebruikt): het getal is "
        "niet gepubliceerd. Lees het als ontbrekend, niet als nul.",
        f"Inlezen: R readxl::read_excel(pad, sheet = \"...\", na = \"{symbol}\"); pandas pd.read_excel(pad, "
        f"sheet_name=\"...\", na_values=[\"{symbol}\"]); SPSS: kolom als tekst inlezen en '{symbol}' als "
        "ontbrekende waarde behandelen (of de CSV-bestanden gebruiken).",
    ]


def sheet_names(tables) -> dict[str, str]:
    """Table name -> sheet name: at most 31 characters, no character Excel refuses, unique
    without regard to case and different from the index sheet; the same tables always give
    the same names (a clash gets ``~2``, ``~3`` ... in the order of the sorted names)."""
    used = {INDEX_SHEET.casefold(), "history"}   # 'History' is reserved by Excel
    names = {}
    for table in sorted(tables):
        base = _NOT_IN_SHEET_NAMES.sub("_", str(table)).strip("'") or "tabel"
        candidate, number = base[:MAX_SHEET_NAME], 1
        while candidate.casefold() in used:
            number += 1
            suffix = f"~{number}"
            candidate = base[:MAX_SHEET_NAME - len(suffix)] + suffix
        used.add(candidate.casefold())
        names[table] = candidate
    return names


def _cell(text: str, is_label: bool, decimal: str):
    """A published text cell as the workbook holds it: numbers of value columns as numbers (so
    Excel can compute with them), labels, the suppression symbol and other text as text, an
    empty cell as empty."""
    if text == "":
        return None
    if not is_label:
        plain = text.replace(decimal, ".") if decimal != "." and text.count(decimal) == 1 else text
        if _NUMBER.match(plain):
            return float(plain) if "." in plain else int(plain)
    return text


def _parse_notes(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key in _NOTES_FIELDS.values() and key not in fields:
            fields[key] = value.strip()
    return fields


def workbook_contents(export_dir: str | Path) -> list[tuple[str, list[list]]]:
    """What the workbook of ``export_dir`` holds: (sheet name, rows of cell values) for the
    index sheet and then every table of the manifest, sorted by name."""
    export_dir = Path(export_dir)
    manifest = json.loads((export_dir / "disclosure_manifest.json").read_text(encoding="utf-8"))
    tables = manifest.get("tables", {})
    symbol = str(manifest.get("rules", {}).get("suppressed_symbol", "x"))
    names = sheet_names(tables)
    index_rows: list[list] = [[line] for line in symbol_lines(symbol)] + [[], list(INDEX_COLUMNS)]
    sheets = []
    for table in sorted(tables):
        entry = tables[table]
        files = sorted(entry.get("files", {}))
        data_file = next((f for f in files if f.endswith((".csv", ".xlsx"))), None)
        notes_file = next((f for f in files if f.endswith(".notes.txt")), None)
        if data_file is None:
            continue
        frame, decimal = read_table_text(export_dir / data_file)
        labels = set(entry.get("label_columns", []))
        rows: list[list] = [[str(c) for c in frame.columns]]
        flags = [str(c) in labels for c in frame.columns]
        rows += [[_cell(v, is_label, decimal) for v, is_label in zip(values, flags)]
                 for values in frame.itertuples(index=False)]
        notes = (export_dir / notes_file).read_bytes().decode("utf-8") if notes_file else ""
        fields = _parse_notes(notes)
        index_rows.append([names[table], str(table)] + [fields.get(_NOTES_FIELDS[c], "") or None
                                                        for c in INDEX_COLUMNS[2:6]] + [notes.strip() or None])
        sheets.append((names[table], rows))
    return [(INDEX_SHEET, index_rows)] + sheets


def write_workbook(export_dir: str | Path, target: str | Path | None = None) -> Path:
    """Write the workbook of every released table of ``export_dir`` (by default into it, as
    :data:`WORKBOOK_NAME`). Byte-identical for the same tables."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    export_dir = Path(export_dir)
    target = Path(target) if target is not None else export_dir / WORKBOOK_NAME
    workbook = Workbook()
    workbook.remove(workbook.active)
    workbook.properties.creator = "disclosure_control"
    workbook.properties.created = workbook.properties.modified = _FIXED_TIME
    bold = Font(bold=True)
    for sheet_name, rows in workbook_contents(export_dir):
        sheet = workbook.create_sheet(sheet_name)
        header = len(symbol_lines("x")) + 2 if sheet_name == INDEX_SHEET else 1
        widths: dict[int, int] = {}
        for r, values in enumerate(rows, start=1):
            for c, value in enumerate(values, start=1):
                if value is None:
                    continue
                cell = sheet.cell(row=r, column=c)
                cell.value = value
                if isinstance(value, str) and value.startswith("="):
                    cell.data_type = "s"   # text, never a formula
                if r == header:
                    cell.font = bold
                if sheet_name != INDEX_SHEET or r >= header:
                    widths[c] = max(widths.get(c, 0), min(len(str(value)), 60))
        if sheet_name == INDEX_SHEET:
            for r in range(header + 1, len(rows) + 1):
                sheet.cell(row=r, column=len(INDEX_COLUMNS)).alignment = Alignment(wrap_text=True, vertical="top")
            widths[len(INDEX_COLUMNS)] = 100
        for c, width in widths.items():
            sheet.column_dimensions[_column_letter(c)].width = max(width, 6) + 2
        sheet.freeze_panes = sheet.cell(row=header + 1, column=1)
    buffer = io.BytesIO()
    workbook.save(buffer)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_bytes(_normalise_zip(buffer.getvalue()))
    temporary.replace(target)
    return target


def _column_letter(number: int) -> str:
    from openpyxl.utils import get_column_letter
    return get_column_letter(number)


def workbook_problems(export_dir: str | Path, path: str | Path | None = None) -> list[tuple[str, str]]:
    """How the workbook differs from the released tables of ``export_dir``: (where, what) for a
    missing or extra sheet, sheets in another order, a cell that differs from the table file,
    a formula, or a part of the file that a workbook of plain sheets does not have. Empty when
    the workbook holds exactly the checked tables."""
    import zipfile

    from openpyxl import load_workbook

    export_dir = Path(export_dir)
    path = Path(path) if path is not None else export_dir / WORKBOOK_NAME
    problems: list[tuple[str, str]] = []
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.namelist()
        workbook = load_workbook(path)
    except Exception as error:  # noqa: BLE001 -- an unreadable workbook is a finding, not a crash
        return [("", f"cannot read the workbook: {error}")]
    for part in parts:
        if not _ALLOWED_PARTS.match(part):
            problems.append((part, "a part a workbook of plain sheets does not have (comments, drawings, objects, "
                                   "macros or links are not released)"))
    expected = workbook_contents(export_dir)
    expected_names = [name for name, _ in expected]
    if workbook.sheetnames != expected_names:
        extra = [s for s in workbook.sheetnames if s not in expected_names]
        missing = [s for s in expected_names if s not in workbook.sheetnames]
        what = []
        if extra:
            what.append(f"sheets that are no released table: {', '.join(extra)}")
        if missing:
            what.append(f"released tables without their sheet: {', '.join(missing)}")
        if not what:
            what.append("the sheets are not in the order of the tables")
        problems.append(("sheets", "; ".join(what)))
    for name, rows in expected:
        if name not in workbook.sheetnames:
            continue
        sheet = workbook[name]
        if sheet.sheet_state != "visible":
            problems.append((name, f"the sheet is {sheet.sheet_state}"))
        found = []
        for cells in sheet.iter_rows():
            for cell in cells:
                if cell.data_type == "f":
                    problems.append((f"{name}!{cell.coordinate}", "a formula"))
            found.append([cell.value for cell in cells])
        wanted = [list(r) for r in rows]
        if _trimmed(found) != _trimmed(wanted):
            problems.append((name, _first_difference(_trimmed(found), _trimmed(wanted))))
    return problems


def _trimmed(rows: list[list]) -> list[list]:
    """Rows without trailing empty cells, and without trailing empty rows."""
    out = []
    for row in rows:
        row = list(row)
        while row and row[-1] is None:
            row.pop()
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out


def _first_difference(found: list[list], wanted: list[list]) -> str:
    for r in range(max(len(found), len(wanted))):
        a = found[r] if r < len(found) else []
        b = wanted[r] if r < len(wanted) else []
        if a != b:
            for c in range(max(len(a), len(b))):
                x = a[c] if c < len(a) else None
                y = b[c] if c < len(b) else None
                if x != y:
                    return (f"row {r + 1}, column {c + 1}: the workbook has {x!r}, the released table file "
                            f"{y!r}")
    return "the sheet differs from the released table file"

