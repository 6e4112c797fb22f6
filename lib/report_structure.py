"""How the report is ordered, and how it looks on screen and on paper.

The annex shows every exported table in the order of the method (reach, concentration, domains,
years, composition, coherence, selection, monitoring, a repeated baseline), then the technical evidence that belongs to
no step of its own (price sensitivity, coverage of registers and providers); a table no part names
comes last, under "Overige tabellen", so that a new table is never left out. Within a part the
tables keep the order listed here; the technical tables (model choice, agreement, balance) are
marked as such, after the tables a policy reader needs.
"""
from __future__ import annotations

import re

PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bereik", ("bereik_aantal_domeinen", "bereik_per_domein", "bereik_per_jaar", "huishoudens_naar_type",
                "personen_naar_positie")),
    ("concentratie", ("concentratie_top", "concentratie_lorenz", "kosten_topgroepen", "gini")),
    ("domeinen", ("kosten_domein_jaar", "combinaties_duurste", "samenhang_combinaties_kosten")),
    ("jaren", ("kosten_structureel", "kosten_woonachtig")),
    ("samenstelling", ("kosten_huishoudtype", "kosten_kinderen", r"(gemeente|wijk|buurt)_.*")),
    ("samenhang", ("samenhang_clusters", "samenhang_klassen", "samenhang_combinaties", "samenhang_paren",
                   "correlatie_domeinen", "samenhang_correlatie_kosten", "samenhang_clusters_klassen",
                   "samenhang_overeenstemming", "samenhang_keuze_clusters", "samenhang_keuze_klassen",
                   r"samenhang_.*")),
    ("selectie", ("selectie_kosten", "selectie_domeinen", "selectie_huishoudtype", r"selectie_(?!vervolg).*")),
    ("monitoring", ("monitoring_trend", "monitoring_effect", "monitoring_cohort", "monitoring_balans",
                    r"monitoring_.*")),
    # A repeated baseline ends one cycle and starts the next (lib.comparison).
    ("herhaling", (r"vergelijking_.*", r"selectie_vervolg.*")),
    ("prijzen", (r"prijsgevoeligheid_.*",)),
    ("dekking", (r"dekking_.*",)),
)
"""(part, the names of its tables in order; a name may be a regular expression for a family)."""

TECHNICAL = ("gini", "samenhang_keuze_clusters", "samenhang_keuze_klassen", "samenhang_overeenstemming",
             "samenhang_clusters_klassen", "samenhang_correlatie_kosten", "correlatie_domeinen", "samenhang_paren",
             "monitoring_balans", "monitoring_cohort", r"prijsgevoeligheid_.*", r"dekking_.*")
"""Tables of technical evidence (model choice by BIC or Zhang's metric, agreement, balance, coverage):
in the annex, marked, and after the policy tables of their part."""


def _matches(pattern: str, name: str) -> bool:
    return re.fullmatch(pattern, name) is not None


def is_technical(name: str) -> bool:
    return any(_matches(p, name) for p in TECHNICAL)


def annex_parts(names: list[str]) -> list[tuple[str, list[str]]]:
    """``names`` grouped into the parts of the method, in the method's order; ``("overig", rest)``
    last for names no part lists. Each name once; parts without tables left out."""
    placed: set[str] = set()
    out = []
    for part, patterns in PARTS:
        chosen: list[str] = []
        for pattern in patterns:
            chosen += sorted(n for n in names if n not in placed and n not in chosen and _matches(pattern, n))
        placed.update(chosen)
        # Policy tables first, the technical evidence of the part after them (order kept within each).
        chosen = [n for n in chosen if not is_technical(n)] + [n for n in chosen if is_technical(n)]
        if chosen:
            out.append((part, chosen))
    rest = sorted(n for n in names if n not in placed)
    if rest:
        out.append(("overig", rest))
    return out


STYLE = """
body{font-family:Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;
line-height:1.4}
h1{border-bottom:2px solid #154273}h2{color:#154273;margin-top:2em}h3{margin-bottom:.3em}
.tablewrap{max-width:100%;overflow-x:auto;margin:.5em 0 1.5em}
table{border-collapse:collapse;font-size:.9em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right;vertical-align:top}th{background:#eef2f7}
td.label{text-align:left}td.x{background:#fde8e8;color:#a00;font-weight:bold;text-align:center}
tr.total td{font-weight:bold;background:#f7f7f7}.meta{font-size:.85em;color:#444;overflow-wrap:anywhere}
.finding{margin:.3em 0}.notice{background:#fff6dd;border-left:4px solid #e0a800;padding:.4em .8em}
.summary{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:1.5em;align-items:start}
.summary aside{background:#fff6dd;border-left:4px solid #e0a800;padding:.2em 1em;font-size:.92em}
@media (max-width:800px){.summary{grid-template-columns:minmax(0,1fr)}}
figure{margin:1em 0;max-width:100%}figure img{max-width:100%;height:auto}figcaption{font-size:.85em;color:#555}
nav.toc ol{padding-left:1.4em}nav.toc li{margin:.15em 0}
p,li{overflow-wrap:anywhere}code{overflow-wrap:anywhere}
small.technical{color:#7a4b00;font-weight:normal}
@media print{
 body{max-width:none;margin:0;padding:0;font-size:9.5pt}
 .tablewrap{overflow:visible}
 table{width:100%;table-layout:auto;font-size:7.5pt;page-break-inside:auto}
 th,td{padding:1px 3px;overflow-wrap:anywhere;word-break:break-word}
 tr{page-break-inside:avoid}thead{display:table-header-group}
 h1.part{page-break-before:always}h2,h3,h4{page-break-after:avoid}
 figure{page-break-inside:avoid}figure img{max-width:100%;max-height:20cm}
 .summary{display:block}nav.toc{page-break-after:always}
}
@page{size:A4;margin:1.5cm}
"""
"""The report's CSS. On screen a wide table scrolls sideways inside its own box (``.tablewrap``), so the
page never becomes wider than the window; in print (PDF via the browser) tables take the page width
with a smaller font and cells that wrap, figures shrink to the page, and each of the two parts starts a
page."""


def overview_markdown(heading: str, introduction: str, sections) -> list[str]:
    """A report section of overviews made from published tables (areas, provider coverage, a
    repeated measurement) in markdown: its heading and introduction, then per (title, overview
    frame, text) a sub-heading, the text and the overview ([] without sections)."""
    from tabulate import tabulate
    if not sections:
        return []
    lines = ["", f"## {heading}", "", introduction, ""]
    for title, overview, text in sections:
        lines += [f"### {title}", "", text, "", tabulate(overview, headers="keys", tablefmt="github", showindex=False,
                                                          disable_numparse=True), ""]
    return lines


def overview_html(anchor: str, heading: str, introduction: str, sections, table_class: str = "overzicht",
                  mark_totals: bool = False, total: str = "Totaal") -> list[str]:
    """The same section in HTML; ``mark_totals``: a row whose first cell is ``total`` ('Totaal', in
    English 'Total') is a total row.
    The overviews are tables of their own class (not counted as exported tables)."""
    import html
    e = html.escape
    if not sections:
        return []
    parts = [f"<h2 id='{anchor}'>{e(heading)}</h2>", f"<p>{e(introduction)}</p>"]
    for title, overview, text in sections:
        head = "".join(f"<th>{e(str(c))}</th>" for c in overview.columns)
        body = "".join("<tr" + (" class='total'" if mark_totals and str(row.iloc[0]) == total else "") + ">"
                       + "".join(f"<td class='{'label' if i == 0 else ('x' if v == 'x' else '')}'>{e(str(v))}</td>"
                                 for i, v in enumerate(row)) + "</tr>" for _, row in overview.iterrows())
        parts.append(f"<h3>{e(title)}</h3><p>{e(text)}</p><table class='{table_class}'><tr>{head}</tr>{body}</table>")
    return parts
