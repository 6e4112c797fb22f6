"""What a run hands over in CBS Remote Access (issue 19): the Excel workbook of all released
tables (``output_format = "xlsx"``), the report's section "Bronnen", and the same run in an
environment without pyarrow, matplotlib and openpyxl.

Two runs of the small synthetic data set with ``output_format = "xlsx"``: one here, one at the same
time in a subprocess in which the three packages cannot be imported (an import hook refuses them,
as on a machine without them). The workbook is compared with the exported CSV files as pandas reads
them (the suppression symbol as missing, the way docs/disclosure.md tells users to read it); the section
"Bronnen" with the work folder's accounting, by a plain second computation.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

openpyxl = pytest.importorskip("openpyxl")

from disclosure_control import check_export  # noqa: E402
from disclosure_control.completion import read_completion_record, write_completion_record  # noqa: E402
from disclosure_control.workbook import (INDEX_SHEET, WORKBOOK_NAME, sheet_names, workbook_problems,  # noqa: E402
                                         write_workbook)
from lib.config import load_config  # noqa: E402
from lib.pipeline import run_steps, step_folder  # noqa: E402

CBS_STATEMENT_START = ("Bron: resultaten gebaseerd op eigen berekeningen op basis van niet-openbare microdata van "
                       "het Centraal Bureau voor de Statistiek (CBS).")


def config_text(small_dataset, root, extra: str) -> str:
    text = (small_dataset / "config.toml").read_text(encoding="utf-8")
    text = text.replace('work_dir = "work"', f'work_dir = "{(root / "work").as_posix()}"')
    text = text.replace('export_dir = "export"', f'export_dir = "{(root / "export").as_posix()}"')
    assert "[disclosure_control]" not in text
    return text + extra


XLSX = '\n[disclosure_control]\noutput_format = "xlsx"\n'
ROOT = Path(__file__).resolve().parents[1]
WITHOUT_PACKAGES = """
import sys

class NotInstalled:
    \"\"\"pyarrow, matplotlib and openpyxl cannot be imported, as on a machine without them.\"\"\"
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pyarrow", "matplotlib", "openpyxl"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
sys.path.insert(0, sys.argv[1])
from lib.config import load_config
from lib.pipeline import run_steps
run_steps(load_config(sys.argv[2]))
"""


@pytest.fixture(scope="module")
def runs(small_dataset, tmp_path_factory):
    """(the run here, the run without the three packages); the second runs in a subprocess while
    the first runs here."""
    configs = {}
    for name in ("xlsx", "bare"):
        root = tmp_path_factory.mktemp(f"{name}_run")
        configs[name] = small_dataset / f"config_{name}.toml"
        configs[name].write_text(config_text(small_dataset, root, XLSX), encoding="utf-8")
    script = tmp_path_factory.mktemp("script") / "run_without_packages.py"
    script.write_text(WITHOUT_PACKAGES, encoding="utf-8")
    bare = subprocess.Popen([sys.executable, str(script), str(ROOT), str(configs["bare"])], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        config = load_config(configs["xlsx"])
        run_steps(config)
    finally:
        output, _ = bare.communicate(timeout=600)
    assert bare.returncode == 0, output.decode("utf-8", "replace")[-3000:]
    return config, load_config(configs["bare"])


@pytest.fixture(scope="module")
def run(runs):
    return runs[0]


@pytest.fixture(scope="module")
def bare(runs):
    return runs[1]


def file_findings(check_text: str) -> list[str]:
    """The export check's findings about the files of the folder (written by the safe writer, listed
    in the completion record, the workbook): what these tests are about. (Findings about a table's
    contents belong to the tests of the steps that make them.)"""
    return [line for line in check_text.splitlines() if line.startswith("FINDING") and
            re.search(r": (not-safe-writer|missing|changed|incomplete|workbook|unreadable): ", line)]


def manifest_of(export_dir):
    return json.loads((export_dir / "disclosure_manifest.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------ the workbook

def test_sheet_names_are_short_unique_and_deterministic():
    long = "a" * 40
    names = sheet_names(["x:y", long + "b", "inhoud", long])
    assert names == {long: "a" * 31, long + "b": "a" * 29 + "~2", "inhoud": "inhoud~2", "x:y": "x_y"}
    assert sheet_names([long, "x:y", "inhoud", long + "b"]) == names


def test_text_that_looks_like_a_formula_stays_text_and_decimal_commas_become_numbers(tmp_path):
    """A hand-made export folder of one Dutch-Excel table (csv_nl: a BOM, semicolons, decimal commas)."""
    export = tmp_path / "export"
    export.mkdir()
    (export / "t.csv").write_bytes("groep;n;gemiddelde\r\n=1+1;12;1234,50\r\nb;x;\r\n".encode("utf-8-sig"))
    (export / "t.notes.txt").write_text("Table: t\nTitle: Een tabel\nUnit: huishoudens\n", encoding="utf-8")
    manifest = {"rules": {"suppressed_symbol": "x"},
                "tables": {"t": {"files": {"t.csv": "", "t.notes.txt": ""}, "label_columns": ["groep"]}}}
    (export / "disclosure_manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    book = openpyxl.load_workbook(write_workbook(export))
    cells = [[(c.value, c.data_type) for c in row] for row in book["t"].iter_rows()]
    assert cells == [[("groep", "s"), ("n", "s"), ("gemiddelde", "s")],
                     [("=1+1", "s"), (12, "n"), (1234.5, "n")],
                     [("b", "s"), ("x", "s"), (None, "n")]]
    index = [list(r) for r in book[INDEX_SHEET].iter_rows(values_only=True)]
    assert index[-1] == ["t", "t", "Een tabel", "huishoudens", None, None,
                         "Table: t\nTitle: Een tabel\nUnit: huishoudens"]
    assert workbook_problems(export) == []


def test_the_workbook_holds_every_released_table_as_its_csv(run):
    export = run.export_dir
    manifest = manifest_of(export)
    book = export / WORKBOOK_NAME
    assert book.is_file()
    # The tables are CSV (what the checker and the report read); no workbook per table.
    assert not [p.name for p in export.glob("*.xlsx") if p.name != WORKBOOK_NAME]
    tables = sorted(manifest["tables"])
    sheets = openpyxl.load_workbook(book, read_only=True).sheetnames
    assert sheets[0] == INDEX_SHEET and len(sheets) == len(tables) + 1
    assert all(len(s) <= 31 for s in sheets) and len({s.casefold() for s in sheets}) == len(sheets)
    for table, sheet in zip(tables, sheets[1:]):
        assert sheet == table[:31]   # the bundle's table names need no other change
        published = pd.read_csv(export / f"{table}.csv", dtype=str, keep_default_na=False)
        read = pd.read_excel(book, sheet_name=sheet, na_values=["x"], keep_default_na=False)
        assert list(read.columns) == list(published.columns), table
        labels = set(manifest["tables"][table]["label_columns"])
        for column in published.columns:
            if column in labels:
                assert read[column].astype(str).tolist() == published[column].tolist(), (table, column)
                continue
            for got, text in zip(read[column], published[column]):
                if text == "x":
                    assert pd.isna(got), (table, column)
                elif text == "":
                    assert pd.isna(got), (table, column)
                else:
                    assert float(got) == float(text), (table, column, got, text)


def test_the_index_sheet_gives_title_population_unit_notes_and_the_symbol(run):
    export = run.export_dir
    rows = [list(r) for r in openpyxl.load_workbook(export / WORKBOOK_NAME)[INDEX_SHEET].iter_rows(values_only=True)]
    header = rows.index(["blad", "tabel", "titel", "eenheid", "populatie", "periode", "toelichting"])
    assert "'x' = onderdrukte cel" in rows[1][0] and 'na_values=["x"]' in rows[2][0] and 'na = "x"' in rows[2][0]
    index = {r[1]: r for r in rows[header + 1:]}
    assert sorted(index) == sorted(manifest_of(export)["tables"])
    for table, row in index.items():
        notes = (export / f"{table}.notes.txt").read_text(encoding="utf-8")
        field = {k: re.search(rf"^{k}: (.*)$", notes, re.MULTILINE).group(1) for k in
                 ("Title", "Unit", "Population", "Period")}
        assert row[2:6] == [field["Title"], field["Unit"], field["Population"], field["Period"]], table
        assert row[6] == notes.strip()


def test_the_workbook_is_byte_identical_for_the_same_tables(run, tmp_path):
    book = run.export_dir / WORKBOOK_NAME
    again = write_workbook(run.export_dir, tmp_path / "again.xlsx")
    assert again.read_bytes() == book.read_bytes()
    with zipfile.ZipFile(book) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode("utf-8")
    assert re.findall(r"<dcterms:(created|modified)[^>]*>([^<]*)<", core) == [
        ("created", "2000-01-01T00:00:00Z"), ("modified", "2000-01-01T00:00:00Z")]
    # The completion record lists it with its SHA-256, and the export step's check found nothing.
    record = read_completion_record(run.export_dir)
    assert record["files"][WORKBOOK_NAME] == hashlib.sha256(book.read_bytes()).hexdigest()
    checked = (step_folder(run, "export") / "check_export.txt").read_text(encoding="utf-8")
    assert "RESULT:" in checked and not file_findings(checked), checked


def _tampered(run, tmp_path, change) -> list[str]:
    """Check a copy of the export whose workbook ``change`` altered (its record made to match, so
    that only the workbook rule can refuse it; without the evidence, whose audits take seconds)."""
    export = tmp_path / "export"
    shutil.copytree(run.export_dir, export)
    book = openpyxl.load_workbook(export / WORKBOOK_NAME)
    change(book)
    book.save(export / WORKBOOK_NAME)
    (export / "export_complete.json").unlink()
    write_completion_record(export, run_id="test", config_sha256=run.sha256, n_tables=len(manifest_of(export)["tables"]))
    report = check_export(export)
    assert {f.rule for f in report.findings} == {"workbook"}, report.summary()
    return [f"{f.cell}: {f.message}" for f in report.findings]


def test_the_checker_refuses_a_workbook_whose_sheets_differ_from_the_tables(run, tmp_path):
    def other_sheets(book):
        book.create_sheet("extra")["A1"] = 12345
        book.remove(book["gini"])
    assert _tampered(run, tmp_path / "a", other_sheets) == [
        "sheets: sheets that are no released table: extra; released tables without their sheet: gini"]

    published = pd.read_csv(run.export_dir / "huishoudens_naar_type.csv", dtype=str, keep_default_na=False)

    def changed_cell_and_formula(book):
        book["huishoudens_naar_type"]["B2"] = 999999
        book["bereik_per_domein"]["Z1"] = "=1+1"
    assert sorted(_tampered(run, tmp_path / "b", changed_cell_and_formula)) == sorted([
        "bereik_per_domein!Z1: a formula",
        "bereik_per_domein: row 1, column 26: the workbook has '=1+1', the released table file None",
        f"huishoudens_naar_type: row 2, column 2: the workbook has 999999, the released table file "
        f"{int(published.iloc[0, 1])!r}"])


# ------------------------------------------------------------------ the report

def md_table(md: str, heading: str) -> list[list[str]]:
    """The rows (cells stripped) of the Markdown table under ``### heading``."""
    block = md.split(f"### {heading}\n", 1)[1].lstrip("\n").split("\n\n", 1)[0]
    lines = [line for line in block.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def dutch_count(value: int) -> str:
    """A count as the section shows it: under 10 "minder dan 10", else points between thousands."""
    if 0 < value < 10:
        return "minder dan 10"
    return f"{value:,}".replace(",", ".")


def test_the_report_names_every_source_file_and_the_rows_used(run):
    md = (step_folder(run, "report") / "report.md").read_text(encoding="utf-8")
    page = (step_folder(run, "report") / "report.html").read_text(encoding="utf-8")
    assert CBS_STATEMENT_START in md and CBS_STATEMENT_START in page
    inventory = pd.read_csv(step_folder(run, "inventory") / "sources.csv", dtype=str, keep_default_na=False)
    expected_files = [[r.dataset, r.year, r.version, r.format, r.path.replace("\\", "/").rsplit("/", 1)[1]]
                      for r in inventory.itertuples()]
    assert md_table(md, "Gelezen bestanden") == expected_files
    accounts = pd.read_csv(step_folder(run, "read_sources") / "reconciliation.csv")
    expected_use = [[r.source, str(r.files), dutch_count(r.rows_read), dutch_count(r.rows_used)]
                    for r in accounts.itertuples()]
    for dataset in dict.fromkeys(inventory["dataset"]):
        if dataset not in set(accounts["source"]):   # a register of the households step
            files = inventory[inventory["dataset"] == dataset]
            expected_use.append([dataset, str(len(files)), dutch_count(int(files["rows"].astype(int).sum())),
                                 "register: gelezen voor huishoudens en woonplaats"])
    assert md_table(md, "Rijen per bron") == expected_use
    assert "GBAHUISHOUDENSBUS" in [row[0] for row in expected_use[len(accounts):]]


def test_the_report_names_every_domain_without_a_source(run):
    md = (step_folder(run, "report") / "report.md").read_text(encoding="utf-8")
    notes = (run.export_dir / "kosten_domein_jaar.notes.txt").read_text(encoding="utf-8")
    not_measured = re.search(r"\(niet gemeten, dus niet nul\): ([a-z_, ]+)", notes).group(1).split(", ")
    assert not_measured == ["overige_zorg", "schuldhulp"]
    rows = {row[0]: row for row in md_table(md, "Domeinen van de methode")}
    assert [d for d, row in rows.items() if row[2].startswith("geen bron")] == not_measured
    assert ("Domeinen van de methode zonder bron in deze run (niet gemeten, dus niet nul): overige_zorg, schuldhulp."
            in md)
    # The sources of a measured domain: the sources with records in it (their own domain, or the
    # domain of their prices), by a second computation.
    records = pd.read_parquet(step_folder(run, "read_sources") / "records.parquet", columns=["source", "domain"])
    records = records.astype(str)
    prices = pd.read_csv(step_folder(run, "price") / "prices_used.csv", dtype=str)
    prices = prices.loc[prices["source"].isin(set(records["source"])), ["source", "domain"]]
    pairs = pd.concat([records, prices]).drop_duplicates()
    pairs = pairs[pairs["domain"] != ""]
    expected = {domain: ", ".join(sorted(group["source"])) for domain, group in pairs.groupby("domain")}
    for domain, row in rows.items():
        if domain in expected:
            assert row[2] == expected[domain], domain
        elif domain not in not_measured:
            assert row[2] == "bron in deze run, geen records", domain
    assert len(expected) >= 9
    assert rows["politie"][1] == "justitie" and rows["jeugdhulp"][1] == "jeugd"


def test_the_report_says_where_the_workbook_is(run):
    md = (step_folder(run, "report") / "report.md").read_text(encoding="utf-8")
    assert f"Alle tabellen staan ook in één Excel-werkmap in de exportmap: {WORKBOOK_NAME}" in md
    with zipfile.ZipFile(step_folder(run, "report") / "output_request.zip") as archive:
        assert f"export/{WORKBOOK_NAME}" in archive.namelist()


# ------------------------------------------------------------------ without pyarrow, matplotlib, openpyxl

MISSING_LINES = [
    "pyarrow is not installed (or does not import): work files are written as CSV instead of parquet and the run is "
    "slower (about 3.7 times at 200,000 households); parquet sources cannot be read. Ask for it with requirements.txt.",
    "matplotlib is not installed (or does not import): the report has no figures. Ask for it with requirements.txt.",
    "openpyxl is not installed (or does not import): no Excel workbook (output_format = \"xlsx\"): the tables are "
    "exported as CSV only. Ask for it with requirements.txt.",
]


def test_without_the_packages_the_log_says_so_once_each(bare, run):
    log = (bare.work_dir / "logs" / "run.log").read_text(encoding="utf-8")
    for line in MISSING_LINES:
        assert log.count(line) == 1, line
    here = (run.work_dir / "logs" / "run.log").read_text(encoding="utf-8")
    assert "is not installed (or does not import)" not in here


def test_without_the_packages_the_run_completes_with_the_same_tables(bare, run):
    assert (step_folder(bare, "report") / "step.json").is_file()
    checked = (step_folder(bare, "export") / "check_export.txt").read_text(encoding="utf-8")
    assert "RESULT:" in checked and not file_findings(checked), checked
    # Work files as CSV, no workbook, no figures...
    assert (step_folder(bare, "read_sources") / "records.csv").is_file()
    assert not list(bare.work_dir.rglob("*.parquet"))
    assert not list(bare.export_dir.glob("*.xlsx")) and not list(step_folder(bare, "report").glob("*.png"))
    # ...and every released table the same, byte for byte, as with the packages.
    tables = sorted(p.name for p in run.export_dir.glob("*") if p.name.endswith((".csv", ".notes.txt")))
    assert tables == sorted(p.name for p in bare.export_dir.glob("*") if p.name.endswith((".csv", ".notes.txt")))
    assert len(tables) > 30
    for name in tables:
        assert (bare.export_dir / name).read_bytes() == (run.export_dir / name).read_bytes(), name


def test_without_the_packages_the_report_says_what_is_missing_where(bare):
    md = (step_folder(bare, "report") / "report.md").read_text(encoding="utf-8")
    page = (step_folder(bare, "report") / "report.html").read_text(encoding="utf-8")
    no_figures = ("Geen figuren: het pakket matplotlib is niet geïnstalleerd in de omgeving waarin dit rapport is "
                  "gemaakt.")
    no_workbook = ("Geen Excel-werkmap: om een werkmap gevraagd (output_format = \"xlsx\"), maar het pakket openpyxl is "
                   "niet geïnstalleerd in deze omgeving.")
    figures, rest = md.split("## Figuren\n", 1)[1].split("\n## ", 1)
    assert no_figures in figures and "![" not in figures
    assert no_workbook in rest.split("## Tabellen\n", 1)[1].split("### ", 1)[0]
    assert no_figures in page and no_workbook.replace('"', "&quot;") in page
    assert CBS_STATEMENT_START in md
