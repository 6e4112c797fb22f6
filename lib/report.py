"""The report of a run, built from the export folder only.

Every figure in the report comes from tables that passed disclosure control: the CSV (or
XLSX) tables, their notes and the manifest of the export folder. The exceptions are the
section "Bronnen" (lib.report_sources: the files read and the rows used, from the run's
accounting) and the price check (lib.report_findings.price_check_caveat), which the report step
passes in; without them, the same report can be made again outside the secure environment from the
released export (``python scripts/make_report.py EXPORT_DIR``), and then says that the sources are
in the run's own report. Without matplotlib there are no figures, and the report says so where they
would have been; it names the Excel workbook of all tables when the export has one, or says why not
when the run asked for one.

The report has two parts and a table of contents:

1. for policy makers: the key findings in plain Dutch with the caveats that matter beside them
   (lib.report_findings), the figures (lib.report_figures) and where the households live
   (lib.report_areas);
2. the annex: every exported table in the order of the method, the technical tables marked
   (lib.report_structure), the sources (lib.report_sources), the coverage of the providers
   (lib.provider_coverage) and the rules of disclosure control.

Every word of the report's own (headings, column labels, categories, figure texts) comes from one
label table in Dutch or English (lib.report_labels; ``[report] language``); every number it writes
is in Dutch format (lib.dutch_numbers: 1.155; EUR 15.048; 24,5%), or in English format in the English
report (1,155; EUR 15,048; 24.5%). The exported files it reads stay as they are (machine-readable, their
titles and notes in Dutch): the English report translates those titles, notes and caveats when it
shows them (lib.report_labels.Labels.translate), so the export and its disclosure evidence are the same
in both languages. It comes as Markdown and as one self-contained HTML file (styles
and images inside) that scrolls wide tables on screen and fits them to the page in print.
"""
from __future__ import annotations

import base64
import contextlib
import html
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pandas as pd

from lib import optional_packages
from lib.dutch_numbers import number, number_style, percent
from lib.errors import UserFacingError
from lib.provider_coverage import INTRODUCTION as COVERAGE_INTRODUCTION, coverage_sections
from lib.report_areas import area_html, area_markdown
from lib.report_comparison import comparison_html, comparison_markdown, comparison_sections
from lib.report_figures import Figure, figures
# The findings and the tables are read through this module by the tests and other modules.
from lib.report_findings import (FIELD_FIGURE, _monitoring_findings, caveat_findings,  # noqa: F401
                                 headline_findings, key_findings, residence_and_attribution_findings,
                                 sensitivity_findings, shortlist_findings)
from lib.report_labels import Labels
from lib.report_sources import CBS_STATEMENT, REGISTER_USE, SourcesSection
from lib.report_structure import STYLE, annex_parts, is_technical, overview_html, overview_markdown
from lib.report_tables import ExportedTable, find, published_number, read_export  # noqa: F401


@dataclass
class Report:
    run: dict[str, str]
    tables: list[ExportedTable]
    findings: list[str]
    """The key findings (lib.report_findings.key_findings)."""
    caveats: list[str] = field(default_factory=list)
    """What to keep in mind beside them (lib.report_findings.caveat_findings)."""
    figures: list[Figure] = field(default_factory=list)
    figure_notice: str = ""
    """Why there are no figures (matplotlib missing: lib.optional_packages.REPORT_NOTICES), or ""."""
    workbook: str = ""
    """What the report says about the Excel workbook of all tables: where it is, why there is none, or ""."""
    sources: SourcesSection | None = None
    """The section "Bronnen" (lib.report_sources), made by the report step from the work folder; None
    for a report made from an export folder alone."""
    rules: dict = field(default_factory=dict)
    """The disclosure rules of the export (its manifest)."""
    labels: Labels = field(default_factory=Labels)


# --- building ----------------------------------------------------------------------------

def build_report(export_dir: Path, sources: SourcesSection | None = None, workbook_requested: bool = False,
                 language: str = "nl", price_check: list[str] | None = None) -> Report:
    """The report of ``export_dir``; ``sources`` the section "Bronnen" and ``price_check`` the price
    check in words (both from the work folder, by the report step); ``workbook_requested`` when the run
    asked for the Excel workbook (output_format = "xlsx"), so that the report can say why there is
    none; ``language`` 'nl' or 'en' ([report] language)."""
    labels = Labels(language)
    with number_style(language):
        manifest, tables = read_export(export_dir)
        first = tables[0].notes if tables else {}
        run = {labels.text(key): labels.translate(first.get(note, "")) for key, note in (
            ("run.period", "Period"), ("run.price_year", "Price year"), ("run.attribution", "Attribution"),
            ("run.route", "Route"))}
        run[labels.text("run.tables")] = number(len(tables))
        made = figures(tables, labels)
        figure_notice = "" if made or optional_packages.available("matplotlib") else labels.translate(
            optional_packages.REPORT_NOTICES["matplotlib"])
        return Report(run=run, tables=tables, findings=key_findings(tables, labels),
                      caveats=caveat_findings(tables, price_check, labels), figures=made, figure_notice=figure_notice,
                      workbook=workbook_text(export_dir, workbook_requested, labels), sources=sources,
                      rules=manifest.get("rules", {}), labels=labels)


def workbook_text(export_dir: Path, requested: bool, labels: Labels = Labels()) -> str:
    """Where the Excel workbook of all tables is, or why there is none although the run asked for one."""
    from disclosure_control.workbook import WORKBOOK_NAME
    if (Path(export_dir) / WORKBOOK_NAME).is_file():
        return labels.text("doc.workbook", name=WORKBOOK_NAME)
    return labels.translate(optional_packages.REPORT_NOTICES["openpyxl"]) if requested else ""


SOURCE_COLUMNS = ("bron", "jaar", "versie", "formaat", "bestand", "bestanden", "rijen_gelezen", "rijen_gebruikt",
                  "domein", "telt_als", "bronnen")
"""The columns of the section "Bronnen" (their headers: the labels ``sources.column.<column>``)."""


def _row_count(value, threshold: int, labels: Labels) -> str:
    """A count of rows as the report shows it: in the report's number format; under the disclosure
    threshold only "minder dan N" (the report leaves the environment); none: a dash."""
    if value is None or pd.isna(value):
        return "-"
    value = int(value)
    return labels.text("sources.fewer_than", n=threshold) if 0 < value < threshold else number(value)


def sources_tables(section: SourcesSection, labels: Labels = Labels()) -> list[tuple[str, pd.DataFrame]]:
    """The three tables of the section "Bronnen" as shown (text cells, headers in words). Sources,
    file names and versions are shown as they are; in English the domain codes as names."""
    counts = {"rijen_gelezen", "rijen_gebruikt"}   # rows of the sources; "bestanden" counts files, never small
    shown = []
    for key, frame in (("sources.files", section.files), ("sources.use", section.use),
                       ("sources.domains", section.domains)):
        out = pd.DataFrame(index=frame.index)
        for column in frame.columns:
            if column in counts:
                out[column] = [_row_count(v, section.threshold, labels) for v in frame[column]]
            elif column == "bestanden":
                out[column] = [number(v) for v in frame[column]]
            elif column in ("domein", "telt_als", "bronnen"):
                out[column] = ["-" if pd.isna(v) else labels.translate(str(v)) for v in frame[column]]
            else:
                out[column] = ["-" if pd.isna(v) else str(v) for v in frame[column]]
        if "rijen_gebruikt" in frame:
            out.loc[frame["rijen_gebruikt"].isna().to_numpy(), "rijen_gebruikt"] = labels.translate(REGISTER_USE)
        shown.append((labels.text(key), out.rename(columns={c: labels.text(f"sources.column.{c}")
                                                            for c in SOURCE_COLUMNS})))
    return shown


def sources_paragraphs(section: SourcesSection | None, labels: Labels = Labels()) -> list[str]:
    """The text of the section "Bronnen" (before and after its tables)."""
    if section is None:
        return [labels.text("sources.export_only")]
    out = []
    if section.cbs_datasets:
        out.append(labels.translate(CBS_STATEMENT))
    out.append(labels.text("sources.rows", threshold=section.threshold))
    missing = [labels.translate(d) for d in section.not_measured]
    out.append(labels.text("sources.not_measured",
                           listed=", ".join(missing) if missing else labels.text("sources.all_measured")))
    return out


def shown_table(t: ExportedTable, labels: Labels) -> pd.DataFrame:
    """An exported table as the report shows it: headers and categories in words (lib.report_labels),
    numbers in Dutch format, the suppression symbol as published."""
    label_columns = set(t.manifest.get("label_columns", []))
    shown = t.shown()
    for column in shown.columns:
        if column in label_columns:
            shown[column] = [labels.category(v) for v in shown[column]]
    return shown.rename(columns={c: labels.column(c) for c in shown.columns})


def table_notes(t: ExportedTable, labels: Labels) -> list[tuple[str, str]]:
    """The notes of a table as (key, value) in words: "Eenheid", "Populatie", "Soort tabel"..."""
    return [(labels.meta_key(k), labels.meta_value(k, v)) for k, v in t.notes.items() if k not in ("Title", "Table")]


def rules_text(report: Report) -> str:
    """The rules of disclosure control the export passed, in words (from its manifest)."""
    rules = report.rules
    if not rules:
        return ""
    return report.labels.text("doc.disclosure_text", min_units=number(rules.get("min_units", 10)),
                              dominance_n=number(rules.get("dominance_n", 2)),
                              dominance_k=percent(rules.get("dominance_k", 0.9), 0),
                              p_percent=percent(rules.get("p_percent", 0.1), 0),
                              protection_level=percent(rules.get("protection_level", 0.3), 0),
                              symbol=rules.get("suppressed_symbol", "x"))


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def contents(report: Report, has_areas: bool, has_coverage: bool) -> list[tuple[int, str, str]]:
    """The table of contents: (level, anchor, title), in the order of the report."""
    lab = report.labels.text
    out = [(1, "deel-1", lab("doc.part1")), (2, "kernpunten", lab("doc.findings")),
           (2, "figuren", lab("doc.figures"))]
    if has_areas:
        out.append((2, "waar-wonen", lab("doc.areas")))
    if comparison_sections(report.tables):
        out.append((2, "herhaalde-meting", lab("doc.comparison")))
    out += [(1, "deel-2", lab("doc.part2")), (2, "tabellen", lab("doc.tables"))]
    out += [(3, f"deel-{part}", _part_title(report.labels, part))
            for part, _ in annex_parts([t.name for t in report.tables])]
    out.append((2, "bronnen", lab("doc.sources")))
    if has_coverage:
        out.append((2, "dekking-aanbieders", lab("doc.coverage")))
    out.append((2, "geheimhouding", lab("doc.disclosure")))
    return out


def _part_title(labels: Labels, part: str) -> str:
    return labels.text("doc.other_tables") if part == "overig" else labels.text(f"part.{part}")


def _coverage_sections(report: Report) -> list[tuple[str, pd.DataFrame, str]]:
    """The sections of "Dekking van de aanbieders" (lib.provider_coverage writes them in Dutch): titles,
    texts and headers in the report's language; provider names and numbers as they are."""
    words = report.labels
    sections = []
    for title, overview, text in coverage_sections(report.tables):
        if words.language != "nl" and len(overview.columns):   # the first column: providers or years, in words
            first = overview.columns[0]
            overview = overview.assign(**{first: [words.category(v) for v in overview[first].astype(str)]})
        sections.append((words.translate(title), overview.rename(columns={c: words.translate(str(c))
                                                                          for c in overview.columns}),
                         words.translate(text)))
    return sections


def coverage_markdown(report: Report) -> list[str]:
    return overview_markdown(report.labels.text("doc.coverage"), report.labels.translate(COVERAGE_INTRODUCTION),
                             _coverage_sections(report))


def coverage_html(report: Report) -> list[str]:
    return overview_html("dekking-aanbieders", report.labels.text("doc.coverage"),
                         report.labels.translate(COVERAGE_INTRODUCTION), _coverage_sections(report))


# --- Markdown ---------------------------------------------------------------------------

def render_markdown(report: Report, figure_names: list[str] | None = None) -> str:
    with number_style(report.labels.language):
        return _render_markdown(report, figure_names)


def _render_markdown(report: Report, figure_names: list[str] | None) -> str:
    from tabulate import tabulate
    lab = report.labels.text
    words = report.labels
    areas, coverage = area_markdown(report.tables, words), coverage_markdown(report)
    lines = [f"# {lab('doc.title')}", ""]
    lines += [f"- **{k}**: {v}" for k, v in report.run.items() if v]
    if lab("doc.english_note"):
        lines += ["", lab("doc.english_note")]
    lines += ["", f"## {lab('doc.toc')}", ""]
    # Markdown viewers make a heading's anchor from its text (GitHub: lower case, punctuation out).
    lines += [f"{'  ' * (level - 1)}- [{title}](#{_anchor(title)})" for level, _, title in
              contents(report, bool(areas), bool(coverage))]
    lines += ["", f"# {lab('doc.part1')}", "", lab("doc.part1_intro"), "", f"## {lab('doc.findings')}", ""]
    lines += [f"- {f}" for f in report.findings] or [f"- {lab('doc.no_findings')}"]
    lines += ["", f"## {lab('doc.caveats')}", ""]
    lines += [f"- {c}" for c in report.caveats] or [f"- {lab('doc.no_caveats')}"]
    lines += ["", f"## {lab('doc.figures')}", ""] + ([report.figure_notice, ""] if report.figure_notice else [])
    for figure, name in zip(report.figures, figure_names or [None] * len(report.figures)):
        lines += [f"### {figure.title}", "", f"![{figure.title}]({name})" if name else "",
                  f"*{lab('doc.figure_from').capitalize()} `{figure.table}`.*", ""]
    lines += areas                            # "Waar wonen de huishoudens" (lib.report_areas)
    lines += comparison_markdown(report.tables, words)  # "Herhaalde meting" (lib.report_comparison)
    lines += ["", f"# {lab('doc.part2')}", "", lab("doc.part2_intro"), ""]
    lines += [f"## {lab('doc.tables')}", ""]
    lines += [report.workbook, ""] if report.workbook else []
    for part, names in annex_parts([t.name for t in report.tables]):
        lines += [f"### {_part_title(report.labels, part)}", ""]
        for name in names:
            t = find(report.tables, name)
            mark = f" *({lab('doc.technical')})*" if is_technical(name) else ""
            lines += [f"#### {words.translate(t.title)} (`{t.name}`){mark}", ""]
            lines += [f"- **{k}**: {v}" for k, v in table_notes(t, report.labels)]
            lines += [f"- **{lab('doc.suppressed_cells')}**: {number(t.suppressed)}", "",
                      tabulate(shown_table(t, report.labels), headers="keys", tablefmt="github", showindex=False,
                               disable_numparse=True), ""]
    lines += ["", f"## {lab('doc.sources')}", ""]
    paragraphs = sources_paragraphs(report.sources, words)
    lines += [paragraphs[0], ""]
    if report.sources is not None:
        for title, shown in sources_tables(report.sources, words):
            lines += [f"### {title}", "", tabulate(shown, headers="keys", tablefmt="github", showindex=False,
                                                   disable_numparse=True), ""]
        lines += [p + "\n" for p in paragraphs[1:]]
    lines += coverage                         # "Dekking van de aanbieders" (lib.provider_coverage)
    lines += ["", f"## {lab('doc.disclosure')}", "", rules_text(report)]
    return "\n".join(lines) + "\n"


# --- HTML -------------------------------------------------------------------------------

def _wrapped(parts: list[str]) -> list[str]:
    """``parts`` with every table in a scroll box (``.tablewrap``): on screen a wide table scrolls
    inside it instead of widening the page (sections made by other modules included)."""
    return [re.sub(r"(<table\b.*?</table>)", r"<div class='tablewrap'>\1</div>", p, flags=re.DOTALL) for p in parts]


def render_html(report: Report) -> str:
    with number_style(report.labels.language):
        return _render_html(report)


def _render_html(report: Report) -> str:
    e = html.escape
    lab = report.labels.text
    words = report.labels
    areas, coverage = _wrapped(area_html(report.tables, words)), _wrapped(coverage_html(report))
    parts = [f"<!DOCTYPE html><html lang='{report.labels.language}'><head><meta charset='utf-8'>",
             "<meta name='viewport' content='width=device-width, initial-scale=1'>",
             f"<title>{e(lab('doc.title'))}</title>", f"<style>{STYLE}</style></head><body>",
             f"<h1>{e(lab('doc.title'))}</h1><ul class='meta'>"]
    parts += [f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in report.run.items() if v]
    parts.append("</ul>")
    if lab("doc.english_note"):
        parts.append(f"<p class='notice'>{e(lab('doc.english_note'))}</p>")
    parts.append(f"<nav class='toc'><h2 class='first'>{e(lab('doc.toc'))}</h2>" + _html_contents(
        contents(report, bool(areas), bool(coverage))) + "</nav>")
    parts.append(f"<h1 class='part' id='deel-1'>{e(lab('doc.part1'))}</h1><p>{e(lab('doc.part1_intro'))}</p>")
    parts.append(f"<h2 id='kernpunten'>{e(lab('doc.findings'))}</h2><div class='summary'><div>")
    parts += [f"<p class='finding'>{e(f)}</p>" for f in report.findings] or [f"<p>{e(lab('doc.no_findings'))}</p>"]
    parts.append(f"</div><aside><h3>{e(lab('doc.caveats'))}</h3>")
    parts += [f"<p class='finding'>{e(c)}</p>" for c in report.caveats] or [f"<p>{e(lab('doc.no_caveats'))}</p>"]
    parts.append(f"</aside></div><h2 id='figuren'>{e(lab('doc.figures'))}</h2>")
    if report.figure_notice:
        parts.append(f"<p class='notice'>{e(report.figure_notice)}</p>")
    for figure in report.figures:
        data = base64.b64encode(figure.png).decode("ascii")
        parts.append(f"<figure><img alt='{e(figure.title)}' src='data:image/png;base64,{data}'>"
                     f"<figcaption>{e(figure.title)} ({e(lab('doc.figure_from'))} <code>{e(figure.table)}</code>)"
                     "</figcaption></figure>")
    parts += areas                            # "Waar wonen de huishoudens" (lib.report_areas)
    parts += _wrapped(comparison_html(report.tables, words))  # "Herhaalde meting" (lib.report_comparison)
    parts.append(f"<h1 class='part' id='deel-2'>{e(lab('doc.part2'))}</h1><p>{e(lab('doc.part2_intro'))}</p>")
    parts.append(f"<h2 id='tabellen'>{e(lab('doc.tables'))}</h2>")
    if report.workbook:
        parts.append(f"<p class='notice'>{e(report.workbook)}</p>")
    for part, names in annex_parts([t.name for t in report.tables]):
        parts.append(f"<h3 id='deel-{part}'>{e(_part_title(report.labels, part))}</h3>")
        for name in names:
            t = find(report.tables, name)
            mark = f" <small class='technical'>({e(lab('doc.technical'))})</small>" if is_technical(name) else ""
            parts.append(f"<h4 id='{e(t.name)}'>{e(words.translate(t.title))} <small>(<code>{e(t.name)}</code>)"
                         f"</small>{mark}</h4><ul class='meta'>")
            parts += [f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in table_notes(t, report.labels)]
            parts.append(f"<li><b>{e(lab('doc.suppressed_cells'))}</b>: {number(t.suppressed)}</li></ul>")
            parts.append(_html_table(t, report.labels))
    parts.append(f"<h2 id='bronnen'>{e(lab('doc.sources'))}</h2>")
    paragraphs = sources_paragraphs(report.sources, words)
    parts.append(f"<p>{e(paragraphs[0])}</p>")
    if report.sources is not None:
        for title, shown in sources_tables(report.sources, words):
            parts.append(f"<h3>{e(title)}</h3><div class='tablewrap'>" + _html_plain_table(shown) + "</div>")
        parts += [f"<p>{e(p)}</p>" for p in paragraphs[1:]]
    parts += coverage                         # "Dekking van de aanbieders" (lib.provider_coverage)
    parts.append(f"<h2 id='geheimhouding'>{e(lab('doc.disclosure'))}</h2><p>{e(rules_text(report))}</p></body></html>")
    return "\n".join(parts) + "\n"


def _html_contents(entries: list[tuple[int, str, str]]) -> str:
    """Nested lists of links from (level, anchor, title)."""
    e = html.escape
    out, depth = [], 0
    for level, anchor, title in entries:
        while depth < level:
            out.append("<ol>")
            depth += 1
        while depth > level:
            out.append("</li></ol>")
            depth -= 1
        if out and not out[-1].endswith("<ol>"):
            out.append("</li>")
        out.append(f"<li><a href='#{e(anchor)}'>{e(title)}</a>")
    while depth > 0:
        out.append("</li></ol>")
        depth -= 1
    return "".join(out)


def _html_table(t: ExportedTable, labels: Labels) -> str:
    e = html.escape
    columns = list(t.table.columns)
    label_columns = set(t.manifest.get("label_columns", []))
    rows = ["<div class='tablewrap'><table><thead><tr>" + "".join(f"<th>{e(labels.column(c))}</th>" for c in columns)
            + "</tr></thead><tbody>"]
    for published, values in zip(t.table.itertuples(index=False), t.shown().itertuples(index=False)):
        total = any(str(v) == "Totaal" for v, c in zip(published, columns) if c in label_columns)
        cells = []
        for column, value in zip(columns, values):
            if column in label_columns:
                cells.append(f"<td class='label'>{e(labels.category(value))}</td>")
            else:
                cells.append(f"<td class='{'x' if str(value) == t.symbol else ''}'>{e(str(value))}</td>")
        rows.append(f"<tr class='{'total' if total else ''}'>" + "".join(cells) + "</tr>")
    return "".join(rows) + "</tbody></table></div>"


def _html_plain_table(shown: pd.DataFrame) -> str:
    """A table of text cells (the section "Bronnen"), counts right-aligned."""
    e = html.escape
    rows = ["<table class='bronnen'><tr>" + "".join(f"<th>{e(str(c))}</th>" for c in shown.columns) + "</tr>"]
    for values in shown.itertuples(index=False):
        rows.append("<tr>" + "".join(f"<td class='{'' if re.fullmatch(r'[0-9.]+', str(v)) else 'label'}'>"
                                     f"{e(str(v))}</td>" for v in values) + "</tr>")
    return "".join(rows) + "</table>"


@contextlib.contextmanager
def atomic_output(target: Path) -> Iterator[Path]:
    """A temporary path in ``target``'s folder to write; renamed over ``target`` when the block ends
    without an error (``os.replace``: atomic on one volume, Windows too), removed otherwise. So
    ``target`` is always either the previous file or the whole new one, never part of one.

    A ``target`` that cannot be replaced (on Windows: open in another program) is a
    :class:`~lib.errors.UserFacingError` naming it.
    """
    target = Path(target)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        yield temporary
        try:
            os.replace(temporary, target)
        except PermissionError as error:
            raise UserFacingError(
                f"cannot replace {target}: it is open in another program or not writable ({error.strerror or error})"
                f". Close it, then run the step again; the previous {target.name} is as it was.") from None
    finally:
        if temporary.exists():  # only when writing or renaming failed
            temporary.unlink()


def write_report(export_dir: Path, out_dir: Path, sources: SourcesSection | None = None,
                 workbook_requested: bool = False, language: str = "nl",
                 price_check: list[str] | None = None) -> list[Path]:
    """Write report.md, report.html and the figures (PNG) to ``out_dir``, each under a temporary
    name first (a stopped run leaves the previous file or the whole new one). ``sources``,
    ``workbook_requested``, ``language`` and ``price_check``: see :func:`build_report`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = build_report(export_dir, sources, workbook_requested, language, price_check)
    names = []
    for i, figure in enumerate(report.figures, start=1):
        name = f"figuur_{i}_{figure.table}.png"
        with atomic_output(out_dir / name) as temporary:
            temporary.write_bytes(figure.png)
        names.append(name)
    md, page = out_dir / "report.md", out_dir / "report.html"
    # Both written before either is renamed: a stop leaves the previous pair (a report made from the
    # export folder alone differs from the run's in its section "Bronnen").
    with atomic_output(md) as temporary_md, atomic_output(page) as temporary_page:
        temporary_md.write_bytes(render_markdown(report, names).encode("utf-8"))
        temporary_page.write_bytes(render_html(report).encode("utf-8"))
    return [md, page] + [out_dir / n for n in names]
