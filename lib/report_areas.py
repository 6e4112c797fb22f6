"""The report's section "Waar wonen de huishoudens": the area tables of the export side by side.

Made from the exported (protected) tables only: per gemeente, wijk or buurt the households and those
with costs (``<level>_bereik``), with costs in three or more domains (``<level>_drie_domeinen``), the
area's costs (``<level>_kosten``), the mean cost per household (costs / households) and the area's share
of all costs, the
households among the most expensive of the ranking (``<level>_concentratie``) and the selected
households (``<level>_selectie``). A figure derived from a suppressed cell is shown as suppressed.
"""
from __future__ import annotations

import pandas as pd

from lib.dutch_numbers import euro, number, percent
from lib.report_labels import Labels
from lib.report_structure import overview_html, overview_markdown
from lib.report_tables import by_name

AREA_LEVELS = ("gemeente", "wijk", "buurt")
REACH = ("geen kosten", "met kosten")
DUTCH = Labels("nl")
"""The words of the section (labels ``areas.*``); the report passes its own language."""


def area_overview(tables, level: str, words: Labels = DUTCH) -> pd.DataFrame | None:
    """One row per area of ``level`` (and the total) with the published figures of its tables, in
    the report's number format; None when the export has no ``<level>_bereik``. Headers in ``words``'
    language; the areas by their code, or in words ("overige wijken in gemeente 0344", "Totaal")."""
    named = by_name(tables)
    reach = named.get(f"{level}_bereik")
    if reach is None:
        return None
    costs, concentration, selection = (named.get(f"{level}_{part}") for part in ("kosten", "concentratie", "selectie"))
    areas = list(dict.fromkeys(reach.table[level].astype(str)))
    areas = [a for a in areas if a != "Totaal"] + ["Totaal"]
    total_costs = costs.value("sum_kosten", **{level: "Totaal"}) if costs else None
    rows = []
    for area in areas:
        n = reach.value("n_households", **{level: area, "bereik": "Totaal"})
        some = reach.value("n_households", **{level: area, "bereik": REACH[1]})
        many = named[f"{level}_drie_domeinen"].value("n_households", **{level: area}) \
            if f"{level}_drie_domeinen" in named else None
        own = costs.value("sum_kosten", **{level: area}) if costs else None
        counted = costs.value("n_households", **{level: area}) if costs else None
        mean = own / counted if own is not None and counted else None
        head = words.text
        dutch = words.language == "nl"        # the Dutch report shows the level and the areas as exported
        row = {(level if dutch else words.column(level)): (area if dutch else words.category(area)),
               head("areas.households"): _shown(n, number), head("areas.with_costs"): _shown(some, number),
               head("areas.three_domains"): _shown(many, number), head("areas.mean_costs"): _shown(mean, euro),
               head("areas.costs"): _shown(own, euro),
               head("areas.share"): _shown(own / total_costs if own is not None and total_costs else None, percent)}
        if concentration is not None:
            top = [g for g in dict.fromkeys(concentration.table["groep"].astype(str)) if g != "Totaal"][0]
            row[head("areas.in_top", group=top[3:] if dutch else words.category(top[3:]))] = _shown(
                concentration.value("n_households", **{level: area, "groep": top}), number)
        if selection is not None:
            row[head("areas.selected")] = _shown(selection.value("n_households", **{level: area}), number)
        rows.append(row)
    return pd.DataFrame(rows)


def suppressed_cells(table) -> tuple[int, int]:
    """(cells shown as suppressed, cells) of an exported table: the cells of its figure columns."""
    labels = set(table.manifest.get("label_columns", []))
    figures = table.table[[c for c in table.table.columns if c not in labels]]
    return int((figures.astype(str) == table.symbol).to_numpy().sum()), int(figures.size)


def _shown(value, form) -> str:
    return "x" if value is None else form(value)


def area_sections(tables, words: Labels = DUTCH) -> list[tuple[str, pd.DataFrame, str]]:
    """(title, overview, which tables and how much of them is suppressed) per level in the export."""
    named = by_name(tables)
    sections = []
    for level in AREA_LEVELS:
        overview = area_overview(tables, level, words)
        if overview is None:
            continue
        parts = [named[n] for n in (f"{level}_{p}" for p in ("bereik", "drie_domeinen", "kosten", "concentratie",
                                                              "selectie"))
                 if n in named]
        suppressed, cells = (sum(part) for part in zip(*(suppressed_cells(t) for t in parts)))
        share = words.text("areas.share_of_cells", cells=number(cells), share=percent(suppressed / cells)) \
            if cells else ""
        text = words.text("areas.from_tables", tables=", ".join(t.name for t in parts), suppressed=number(suppressed),
                          share=share)
        sections.append((words.text(f"areas.per_{level}"), overview, text))
    return sections


def area_markdown(tables, words: Labels = DUTCH) -> list[str]:
    """The section's lines in the markdown report ([] when the export has no area tables)."""
    return overview_markdown(words.text("doc.areas"), words.text("areas.introduction"), area_sections(tables, words))


def area_html(tables, words: Labels = DUTCH) -> list[str]:
    """The section's parts in the HTML report ([] when the export has no area tables)."""
    return overview_html("waar-wonen", words.text("doc.areas"), words.text("areas.introduction"),
                         area_sections(tables, words), table_class="gebieden", mark_totals=True,
                         total=words.category("Totaal"))
