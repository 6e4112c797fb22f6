"""The report of a run, built from the export folder only.

Every figure in the report comes from tables that passed disclosure control: the CSV (or
XLSX) tables, their notes and the manifest of the export folder. The one exception is the
section "Bronnen" (lib.report_sources: the files read and the rows used, from the run's
accounting), which the report step passes in; without it, the same report can be made again
outside the secure environment from the released export (``python scripts/make_report.py
EXPORT_DIR``), and then says that the sources are in the run's own report. Without matplotlib
there are no figures, and the report says so where they would have been; it names the Excel
workbook of all tables when the export has one, or says why not when the run asked for one. Plots (when matplotlib is
installed) are drawn from those tables too, never from unit data, and each plot names the
table it shows.

The report comes as Markdown and as one self-contained HTML file (styles and images inside).
Every number it writes, in the text and in the tables, is in Dutch format (lib.dutch_numbers:
1.155; EUR 15.048; 24,5%); the exported files it reads stay as they are (machine-readable).
"""
from __future__ import annotations

import base64
import contextlib
import html
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from lib import optional_packages
from lib.dutch_numbers import cell as dutch_cell, euro, number, percent
from lib.errors import UserFacingError
from lib.provider_coverage import coverage_html, coverage_markdown
from lib.report_areas import area_html, area_markdown
from lib.report_sources import CBS_STATEMENT, REGISTER_USE, SourcesSection

FIELD_FIGURE = ("In het veld wordt gevonden dat ongeveer de helft van de kosten in het sociaal domein bij minder dan 5% "
                "van de huishoudens valt, en een kwart tot een derde bij 1-2%.")


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
        return _number(rows[column].iloc[0], self.symbol)


@dataclass
class Report:
    run: dict[str, str]
    tables: list[ExportedTable]
    findings: list[str]
    figures: list[tuple[str, str, bytes]] = field(default_factory=list)
    """(title, table name, PNG bytes)."""
    figure_notice: str = ""
    """Why there are no figures (matplotlib missing: lib.optional_packages.REPORT_NOTICES), or ""."""
    workbook: str = ""
    """What the report says about the Excel workbook of all tables: where it is, why there is none, or ""."""
    sources: SourcesSection | None = None
    """The section "Bronnen" (lib.report_sources), made by the report step from the work folder; None
    for a report made from an export folder alone."""


def _number(text, symbol: str) -> float | None:
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    text = str(text).strip()
    if text in ("", symbol):
        return None
    try:
        return float(text.replace(",", ".")) if text.count(",") == 1 and "." not in text else float(text)
    except ValueError:
        return None


def _parse_notes(text: str) -> dict[str, str]:
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
        tables.append(ExportedTable(name, table, _parse_notes(notes_text), notes_text, entry, symbol, decimal))
    return manifest, tables


def _table(tables: list[ExportedTable], name: str) -> ExportedTable | None:
    return next((t for t in tables if t.name == name), None)


def headline_findings(tables: list[ExportedTable]) -> list[str]:
    """The main figures of the run, in words, from published cells only."""
    out = _no_costs_findings(tables)
    reach = _table(tables, "bereik_aantal_domeinen")
    if reach is not None:
        total = reach.value("n_households", aantal_domeinen="Totaal")
        none = reach.value("n_households", aantal_domeinen="0")
        if total and none is not None:
            out.append(f"Bereik: {number(total - none)} van de {number(total)} huishoudens "
                       f"({percent((total - none) / total)}) had "
                       "kosten in het sociaal of veiligheidsdomein in de studiejaren.")
        multi = [reach.value("n_households", aantal_domeinen=k) for k in ("3", "4+")]
        if total and all(m is not None for m in multi):
            counted = re.search(r"domeinen geteld zoals de methode ze telt \([^)]*\): (.*?) telt elk als een domein",
                                reach.notes_text)
            how = (f" Domeinen zoals de methode ze telt: {counted.group(1)} telt elk als een domein (een zaak die "
                   "politie, OM en rechter doorloopt is een probleem, niet drie)." if counted else "")
            out.append(f"{number(sum(multi))} huishoudens ({percent(sum(multi) / total)}) hadden kosten in drie of "
                       "meer domeinen." + how)
    top = _table(tables, "concentratie_top")
    if top is not None:
        # The smallest top groups are suppressed in small areas: then the next published ones speak.
        segments = ("top 1%", "top 2%", "top 5%", "top 10%", "top 20%")
        shares = {seg: top.value("share_of_kosten_pct", segment=seg) for seg in segments}
        known = dict(list({k: v for k, v in shares.items() if v is not None}.items())[:3])
        if known:
            parts = [f"de duurste {k[4:]} van de huishoudens droeg {percent(v, scale=1)} van alle kosten"
                     for k, v in known.items()]
            out.append("Concentratie: " + "; ".join(parts) + ". " + FIELD_FIGURE)
    gini = _table(tables, "gini")
    if gini is not None and len(gini.table):
        value = _number(gini.table.iloc[0, -1], gini.symbol)
        if value is not None:
            out.append(f"Gini-coefficient van de kosten per huishouden: {number(value, 2)} (0 = gelijk verdeeld, "
                       "1 = alles bij een huishouden).")
    combos = _table(tables, "combinaties_duurste")
    if combos is not None and "n_households" in combos.table:
        rows = combos.table[~combos.table["combinatie"].isin(["Totaal", "overige combinaties"])].copy()
        rows["n"] = [(_number(v, combos.symbol) or 0) for v in rows["n_households"]]
        best = rows.sort_values("n", ascending=False).head(3)
        if len(best):
            listed = "; ".join(f"{r.combinatie} ({number(r.n)} huishoudens)" for r in best.itertuples())
            out.append(f"Meest voorkomende domeincombinaties bij de duurste huishoudens: {listed}.")
    out += _coherence_findings(tables)
    out += residence_and_attribution_findings(tables)
    out += shortlist_findings(tables)
    # Detention priced from sentenced days: the caveat of the tables' notes (households.detention_note), once.
    out += next(([t.notes["Detentie"]] for t in tables if t.notes.get("Detentie")), [])
    out += _monitoring_findings(tables)
    out += sensitivity_findings(tables)
    return out


def sensitivity_findings(tables: list[ExportedTable]) -> list[str]:
    """The price sensitivity run in words (lib.price_sensitivity), from published cells only."""
    domains = _table(tables, "prijsgevoeligheid_domeinen")
    if domains is None:
        return []
    out = []
    base, low, high = (domains.value(c, domein="Totaal") for c in ("sum_kosten", "sum_kosten_laag", "sum_kosten_hoog"))
    if base and low is not None and high is not None:
        out.append(f"Gevoeligheid voor de prijzen: de totale kosten zijn {percent(low / base, 0)} van die bij de "
                   f"prijzen van de run met de lage prijstabel en {percent(high / base, 0)} met de hoge.")
    top = _table(tables, "concentratie_top")
    shares = []
    for seg in ("top 1%", "top 5%", "top 10%"):
        values = [top.value("share_of_kosten_pct", segment=seg) if top is not None else None]
        for scenario in ("laag", "hoog"):
            t = _table(tables, f"prijsgevoeligheid_concentratie_{scenario}")
            values.append(t.value(f"share_of_kosten_{scenario}_pct", segment=seg) if t is not None else None)
        if all(v is not None for v in values):
            shares.append(f"de duurste {seg[4:]} {percent(values[0], scale=1)} (laag {percent(values[1], scale=1)}, "
                          f"hoog {percent(values[2], scale=1)})")
    if shares:
        out.append("Aandeel in de kosten bij de drie prijstabellen: " + "; ".join(shares) + ".")
    selection = _table(tables, "prijsgevoeligheid_selectie")
    if selection is not None:
        counts = [selection.value("n_households", prijzen=p) for p in ("prijzen van de run", "lage prijzen",
                                                                        "hoge prijzen")]
        if all(c is not None for c in counts):
            out.append(f"Selectie: {number(counts[0])} huishoudens bij de prijzen van de run, {number(counts[1])} bij "
                       f"lage en {number(counts[2])} bij hoge prijzen.")
    return out


def _monitoring_findings(tables: list[ExportedTable]) -> list[str]:
    """The monitoring estimates with what each can and cannot say: the before/after is regression to
    the mean as much as an effect; the comparison is published only where the groups overlap
    (lib.monitoring.publication_gate), and the placebo tells whether they diverged before the start."""
    from lib.monitoring import EFFECT_LABEL, PLACEBO_LABEL
    from lib.steps.monitoring import NOT_PUBLISHED_NOTE
    effect = _table(tables, "monitoring_effect")
    if effect is None or not len(effect.table):
        return []
    out = []
    for row in effect.table.itertuples():
        value = _number(getattr(row, "verschil_per_huishouden_per_periode", None), effect.symbol)
        low = _number(getattr(row, "ondergrens_95", None), effect.symbol)
        high = _number(getattr(row, "bovengrens_95", None), effect.symbol)
        if value is None or low is None or high is None:
            continue
        interval = f"{euro(value)} per huishouden per periode (95%-interval {euro(low)} tot {euro(high)})"
        if row.schatting == PLACEBO_LABEL:
            out.append(f"Monitoring, placebotoets (start een periode eerder, alleen perioden voor de start): {interval}; "
                       "ligt dit interval ver van 0, dan liepen de groepen al voor de start uiteen en is het effect "
                       "niet betrouwbaar.")
        elif row.schatting == EFFECT_LABEL:
            out.append(f"Monitoring, {row.schatting}: {interval}.")
        else:
            out.append(f"Monitoring, {row.schatting}: {interval} (geen effect van de aanpak: huishoudens die om hun "
                       "hoge kosten zijn geselecteerd, worden ook zonder aanpak goedkoper).")
    if NOT_PUBLISHED_NOTE in effect.notes_text or not (effect.table["schatting"] == EFFECT_LABEL).any():
        out.append("Monitoring: het effect van de aanpak t.o.v. een vergelijkingsgroep is niet gepubliceerd, omdat het "
                   "cohort en de vergelijkingsgroep onvoldoende overlappen (zie de toelichting bij monitoring_effect). "
                   "Deze monitoring kan een effect van de aanpak daarom niet aantonen of uitsluiten; daarvoor zijn "
                   "vergelijkbare huishoudens zonder aanpak nodig, bijvoorbeeld huishoudens die aan de selectiecriteria "
                   "voldoen maar niet zijn ingeschreven.")
    return out


# The notes of the baseline tables that say what residence and attribution do to the figures
# (lib.baseline.attribution_notes and residence_notes): a reader of the key findings must see them
# beside the figures, not only in one table's notes.
CAVEAT_STARTS = ("Toerekening op de peildatum:", "Woonplaats op ", "Van de vertrokken huishoudens",
                 "Vertrokken huishoudens zijn niet gemeten")


def residence_and_attribution_findings(tables: list[ExportedTable]) -> list[str]:
    """The caveats on attribution (from any table that states them) and residence (from
    ``kosten_woonachtig``), each once, in the words of the published notes."""
    out: list[str] = []
    woonachtig = _table(tables, "kosten_woonachtig")
    sources = ([woonachtig] if woonachtig is not None else []) + [t for t in tables if t is not woonachtig]
    for t in sources:
        for line in t.notes_text.splitlines():
            line = line.strip()
            if line.startswith(CAVEAT_STARTS) and line not in out:
                if line.startswith("Toerekening") and any(o.startswith("Toerekening") for o in out):
                    continue
                out.append(line)
    # Domains without a source in this run (detentie without GEDETINEERDENTAB, whose sentences the
    # price step counts in a WARNING): their costs are missing, not zero.
    listed = next((t.notes["Domeinen"].split(NOT_MEASURED, 1)[1].split(";")[0].strip() for t in tables
                   if NOT_MEASURED in t.notes.get("Domeinen", "")), "")
    if listed:
        out.append(f"Niet gemeten, want zonder bron in deze run: {listed}. Hun kosten ontbreken in alle cijfers "
                   "(niet nul: onbekend).")
    return out


def shortlist_findings(tables: list[ExportedTable]) -> list[str]:
    """The note of the sources that delivered only a shortlist of their most expensive clients (the
    ``Shortlist`` line every table of the costs states, lib.steps.households.shortlist_note), once."""
    note = next((t.notes["Shortlist"] for t in tables if t.notes.get("Shortlist")), "")
    return [f"{note} Dit geldt voor alle tabellen met kosten, niet alleen voor de selectie."] if note else []


NO_COSTS = "geen kosten gelezen"
"""How the ``Kosten`` line of every table of a run over the registers alone begins
(lib.steps.households.NO_COSTS_NOTE)."""


def _no_costs_findings(tables: list[ExportedTable]) -> list[str]:
    """A run over the registers alone read no cost source: the report says so first."""
    if not any(t.notes.get("Kosten", "").startswith(NO_COSTS) for t in tables):
        return []
    return ["Geen kosten gelezen: deze run las alleen de registers (geen kostenbron), om huishoudens en woonplaats "
            "eerst te controleren. De tabellen beschrijven huishoudens, geen kosten: die zijn niet gemeten (niet nul: "
            "onbekend)."]


NOT_MEASURED = "(niet gemeten, dus niet nul): "
"""How the ``Domeinen`` note of a table (lib.steps.households.domain_note) lists the domains without a source."""


def _coherence_findings(tables: list[ExportedTable]) -> list[str]:
    """How many types each typology found, and which one to read (the advice the coherence step
    wrote in the notes of samenhang_overeenstemming, from the stability it measured)."""
    out = []
    for name in ("samenhang_klassen", "samenhang_clusters"):
        t = _table(tables, name)
        if t is None or "n_households" not in t.table:
            continue
        rows = t.table[t.table.iloc[:, 0].astype(str) != "Totaal"]
        if len(rows):
            out.append(f"{t.title}: {number(len(rows))} typen.")
    agreement = _table(tables, "samenhang_overeenstemming")
    if agreement is not None:
        advice = next((line.strip() for line in agreement.notes_text.splitlines()
                       if line.strip().startswith("Lees ")), None)
        if advice:
            out.append(advice)
    return out


# --- figures -------------------------------------------------------------------------

def figures(tables: list[ExportedTable]) -> list[tuple[str, str, bytes]]:
    """PNG figures from published tables; empty when matplotlib is not installed (or does not import)."""
    if not optional_packages.available("matplotlib"):
        return []
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out = []
    for maker in (_lorenz_figure, _domain_year_figure, _monitoring_figure, _reach_figure):
        made = maker(tables, plt)
        if made is not None:
            out.append(made)
    return out


def _dutch_ticks(*axes) -> None:
    """Numeric tick labels in Dutch format (1.000; 0,5), as the report's text."""
    from matplotlib.ticker import FuncFormatter
    formatter = FuncFormatter(lambda value, _: number(value, 2).rstrip("0").rstrip(","))
    for axis in axes:
        axis.set_major_formatter(formatter)


def _png(fig, plt) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def _lorenz_figure(tables, plt):
    t = _table(tables, "concentratie_lorenz")
    if t is None:
        return None
    bands = t.table[t.table["segment"] != "all"]
    shares = [_number(v, t.symbol) for v in bands["share_of_kosten_pct"]]
    if any(s is None for s in shares):
        return None
    upper = [float(seg.split("-")[1].rstrip("%")) for seg in bands["segment"]]
    x = np.concatenate([[0], upper])
    y = np.concatenate([[0], np.cumsum(shares)])
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.plot(x, y, marker="o", label="kosten (cumulatief)")
    ax.plot([0, 100], [0, 100], linestyle="--", color="grey", label="gelijke verdeling")
    ax.set_xlabel("duurste huishoudens (%)")
    ax.set_ylabel("aandeel in de kosten (%)")
    ax.set_title("Concentratie van de kosten")
    _dutch_ticks(ax.xaxis, ax.yaxis)
    ax.legend()
    return ("Concentratie van de kosten (Lorenz-segmenten, van duur naar goedkoop)", t.name, _png(fig, plt))


def _domain_year_figure(tables, plt):
    t = _table(tables, "kosten_domein_jaar")
    if t is None:
        return None
    body = t.table[(t.table["domein"] != "Totaal") & (t.table["jaar"] != "Totaal")].copy()
    body["value"] = [_number(v, t.symbol) for v in body["sum_kosten"]]
    wide = body.pivot(index="jaar", columns="domein", values="value")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    bottom = np.zeros(len(wide))
    colours = plt.get_cmap("tab20").colors
    for i, domain in enumerate(wide.columns):
        values = np.nan_to_num(wide[domain].to_numpy(dtype=float)) / 1e6
        ax.bar(wide.index.astype(str), values, bottom=bottom, label=domain, color=colours[i % len(colours)])
        bottom += values
    ax.set_ylabel("miljoen euro")
    _dutch_ticks(ax.yaxis)
    ax.set_title("Kosten per domein en jaar (onderdrukte cellen weggelaten)")
    ax.legend(fontsize=7, ncol=2)
    return ("Kosten per domein en jaar", t.name, _png(fig, plt))


def _monitoring_figure(tables, plt):
    t = _table(tables, "monitoring_trend")
    if t is None:
        return None
    body = t.table[(t.table["groep"] != "Totaal") & (t.table["periode"] != "Totaal")].copy()
    body["value"] = [_number(v, t.symbol) for v in body["mean_kosten"]]
    if body["value"].isna().all() or body.empty:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for group, rows in body.groupby("groep"):
        ax.plot(rows["periode"].astype(str), rows["value"], marker="o", label=group)
    ax.set_ylabel("gemiddelde kosten per huishouden (euro)")
    _dutch_ticks(ax.yaxis)
    ax.set_title("Cohort en vergelijkingsgroep")
    ax.legend()
    return ("Monitoring: cohort en gematchte vergelijkingsgroep", t.name, _png(fig, plt))


def _reach_figure(tables, plt):
    t = _table(tables, "bereik_per_domein")
    if t is None:
        return None
    body = t.table[t.table["domein"] != "Totaal"].copy()
    body["value"] = [_number(v, t.symbol) for v in body["n_households"]]
    body = body.dropna(subset=["value"]).sort_values("value")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.barh(body["domein"], body["value"])
    ax.set_xlabel("huishoudens met kosten")
    _dutch_ticks(ax.xaxis)
    ax.set_title("Bereik per domein")
    return ("Huishoudens met kosten per domein", t.name, _png(fig, plt))


# --- rendering ---------------------------------------------------------------------------

def build_report(export_dir: Path, sources: SourcesSection | None = None, workbook_requested: bool = False) -> Report:
    """The report of ``export_dir``; ``sources`` the section "Bronnen" (from the work folder, by the
    report step); ``workbook_requested`` when the run asked for the Excel workbook (output_format =
    "xlsx"), so that the report can say why there is none."""
    manifest, tables = read_export(export_dir)
    first = tables[0].notes if tables else {}
    run = {"Periode": first.get("Period", ""), "Prijspeil": first.get("Price year", ""),
           "Toerekening": first.get("Attribution", ""), "Route": first.get("Route", ""),
           "Aantal tabellen": number(len(tables))}
    made = figures(tables)
    figure_notice = "" if made or optional_packages.available("matplotlib") else optional_packages.REPORT_NOTICES[
        "matplotlib"]
    return Report(run=run, tables=tables, findings=headline_findings(tables), figures=made,
                  figure_notice=figure_notice, workbook=workbook_text(export_dir, workbook_requested), sources=sources)


def workbook_text(export_dir: Path, requested: bool) -> str:
    """Where the Excel workbook of all tables is, or why there is none although the run asked for one."""
    from disclosure_control.workbook import WORKBOOK_NAME
    if (Path(export_dir) / WORKBOOK_NAME).is_file():
        return (f"Alle tabellen staan ook in één Excel-werkmap in de exportmap: {WORKBOOK_NAME} (een blad per tabel "
                "en een inhoudsblad met titel, populatie, eenheid en toelichting van elke tabel).")
    return optional_packages.REPORT_NOTICES["openpyxl"] if requested else ""


SOURCE_COLUMNS = {"bron": "bron", "jaar": "jaar", "versie": "versie", "formaat": "formaat", "bestand": "bestand",
                  "bestanden": "bestanden", "rijen_gelezen": "rijen gelezen", "rijen_gebruikt": "rijen gebruikt",
                  "domein": "domein", "telt_als": "telt als domein van de methode", "bronnen": "bronnen in deze run"}


def _row_count(value, threshold: int) -> str:
    """A count of rows as the report shows it: Dutch format; under the disclosure threshold only
    "minder dan N" (the report leaves the environment); none: a dash."""
    if value is None or pd.isna(value):
        return "-"
    value = int(value)
    return f"minder dan {threshold}" if 0 < value < threshold else number(value)


def sources_tables(section: SourcesSection) -> list[tuple[str, pd.DataFrame]]:
    """The three tables of the section "Bronnen" as shown (text cells, Dutch headers)."""
    counts = {"rijen_gelezen", "rijen_gebruikt"}   # rows of the sources; "bestanden" counts files, never small
    shown = []
    for title, frame in (("Gelezen bestanden", section.files), ("Rijen per bron", section.use),
                         ("Domeinen van de methode", section.domains)):
        out = pd.DataFrame(index=frame.index)
        for column in frame.columns:
            if column in counts:
                out[column] = [_row_count(v, section.threshold) for v in frame[column]]
            elif column == "bestanden":
                out[column] = [number(v) for v in frame[column]]
            else:
                out[column] = ["-" if pd.isna(v) else str(v) for v in frame[column]]
        if "rijen_gebruikt" in frame:
            out.loc[frame["rijen_gebruikt"].isna().to_numpy(), "rijen_gebruikt"] = REGISTER_USE
        shown.append((title, out.rename(columns=SOURCE_COLUMNS)))
    return shown


def sources_paragraphs(section: SourcesSection | None) -> list[str]:
    """The text of the section "Bronnen" (before and after its tables)."""
    if section is None:
        return ["Dit rapport is gemaakt uit de exportmap alleen: welke bestanden de run las en hoeveel rijen hij "
                "gebruikte, staat in het rapport dat de run zelf maakt (stap report)."]
    out = []
    if section.cbs_datasets:
        out.append(CBS_STATEMENT)
    out.append("Rijen zijn records (uitkeringen, trajecten, verrichtingen, registerregels), geen personen. Wat gelezen "
               "maar niet gebruikt is, is afgewezen (met de reden per rij in de werkmap: 02_read_sources/"
               "reconciliation.csv en rejections.csv) of vervangen door een latere levering. Aantallen onder "
               f"{section.threshold} staan als 'minder dan {section.threshold}' (geheimhouding).")
    missing = section.not_measured
    out.append("Domeinen van de methode zonder bron in deze run (niet gemeten, dus niet nul): "
               + (", ".join(missing) if missing else "geen: elk domein heeft een bron") + ".")
    return out


NOTATION = ("Getallen staan in Nederlandse notatie: een punt tussen duizendtallen en een komma voor decimalen "
            "(1.155; EUR 15.048; 24,5%). De tabelbestanden in de exportmap zijn ongewijzigd en machineleesbaar.")


def render_markdown(report: Report, figure_names: list[str] | None = None) -> str:
    from tabulate import tabulate
    lines = ["# Kostenanalyse multi-probleemhuishoudens: rapport", ""]
    lines += [f"- **{k}**: {v}" for k, v in report.run.items() if v]
    lines += ["", "Alle cijfers komen uit tabellen die de geheimhoudingscontrole hebben doorstaan (de exportmap). "
              "Een 'x' is een onderdrukte cel. " + NOTATION, "", "## Kernpunten", ""]
    lines += [f"- {f}" for f in report.findings] or ["- (geen kernpunten: de tabellen ontbreken)"]
    if report.figures or report.figure_notice:
        lines += ["", "## Figuren", ""] + ([report.figure_notice, ""] if report.figure_notice else [])
        for (title, table, _), name in zip(report.figures, figure_names or [None] * len(report.figures)):
            lines += [f"### {title}", "", f"![{title}]({name})" if name else "", f"*Gemaakt uit tabel `{table}`.*", ""]
    lines += ["", "## Bronnen", ""]
    paragraphs = sources_paragraphs(report.sources)
    lines += [paragraphs[0], ""]
    if report.sources is not None:
        for title, shown in sources_tables(report.sources):
            lines += [f"### {title}", "", tabulate(shown, headers="keys", tablefmt="github", showindex=False,
                                                   disable_numparse=True), ""]
        lines += [p + "\n" for p in paragraphs[1:]]
    lines += area_markdown(report.tables)      # "Waar wonen de huishoudens" (lib.report_areas)
    lines += coverage_markdown(report.tables)  # "Dekking van de aanbieders" (lib.provider_coverage)
    lines += ["", "## Tabellen", ""] + ([report.workbook, ""] if report.workbook else [])
    for t in report.tables:
        lines += [f"### {t.title} (`{t.name}`)", ""]
        lines += [f"- **{k}**: {v}" for k, v in t.notes.items() if k not in ("Title", "Table")]
        lines += [f"- **Onderdrukte cellen**: {number(t.suppressed)}", "",
                  tabulate(t.shown(), headers="keys", tablefmt="github", showindex=False, disable_numparse=True), ""]
    lines += ["## Geheimhouding", "", _rules_text(report)]
    return "\n".join(lines) + "\n"


def _rules_text(report: Report) -> str:
    if not report.tables:
        return ""
    text = report.tables[0].notes_text
    rules = [line for line in text.splitlines() if line.startswith(("Disclosure control:", "'x'"))]
    return "\n\n".join(rules)


HTML_STYLE = """
body{font-family:Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.4}
h1{border-bottom:2px solid #154273}h2{color:#154273;margin-top:2em}h3{margin-bottom:.3em}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#eef2f7}
td.label{text-align:left}td.x{background:#fde8e8;color:#a00;font-weight:bold;text-align:center}
tr.total td{font-weight:bold;background:#f7f7f7}.meta{font-size:.85em;color:#444}
.finding{margin:.3em 0}.notice{background:#fff6dd;border-left:4px solid #e0a800;padding:.4em .8em}figure{margin:1em 0}figcaption{font-size:.85em;color:#555}
"""


def render_html(report: Report) -> str:
    e = html.escape
    parts = ["<!DOCTYPE html><html lang='nl'><head><meta charset='utf-8'>",
             "<title>Kostenanalyse multi-probleemhuishoudens: rapport</title>", f"<style>{HTML_STYLE}</style></head><body>",
             "<h1>Kostenanalyse multi-probleemhuishoudens: rapport</h1><ul class='meta'>"]
    parts += [f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in report.run.items() if v]
    parts.append("</ul><p>Alle cijfers komen uit tabellen die de geheimhoudingscontrole hebben doorstaan (de exportmap). "
                 f"Een <span class='x'>x</span> is een onderdrukte cel. {e(NOTATION)}</p><h2>Kernpunten</h2>")
    parts += [f"<p class='finding'>{e(f)}</p>" for f in report.findings]
    if report.figures or report.figure_notice:
        parts.append("<h2>Figuren</h2>")
        if report.figure_notice:
            parts.append(f"<p class='notice'>{e(report.figure_notice)}</p>")
        for title, table, png in report.figures:
            data = base64.b64encode(png).decode("ascii")
            parts.append(f"<figure><img alt='{e(title)}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{e(title)} (gemaakt uit tabel <code>{e(table)}</code>)</figcaption></figure>")
    parts.append("<h2 id='bronnen'>Bronnen</h2>")
    paragraphs = sources_paragraphs(report.sources)
    parts.append(f"<p>{e(paragraphs[0])}</p>")
    if report.sources is not None:
        for title, shown in sources_tables(report.sources):
            parts.append(f"<h3>{e(title)}</h3>" + _html_plain_table(shown))
        parts += [f"<p>{e(p)}</p>" for p in paragraphs[1:]]
    parts += area_html(report.tables)          # "Waar wonen de huishoudens" (lib.report_areas)
    parts += coverage_html(report.tables)      # "Dekking van de aanbieders" (lib.provider_coverage)
    parts.append("<h2>Tabellen</h2>")
    if report.workbook:
        parts.append(f"<p class='notice'>{e(report.workbook)}</p>")
    for t in report.tables:
        parts.append(f"<h3 id='{e(t.name)}'>{e(t.title)} <small>(<code>{e(t.name)}</code>)</small></h3><ul class='meta'>")
        parts += [f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in t.notes.items() if k not in ("Title", "Table")]
        parts.append(f"<li><b>Onderdrukte cellen</b>: {number(t.suppressed)}</li></ul>")
        parts.append(_html_table(t))
    parts.append(f"<h2>Geheimhouding</h2><p>{e(_rules_text(report))}</p></body></html>")
    return "\n".join(parts) + "\n"


def _html_table(t: ExportedTable) -> str:
    e = html.escape
    columns = list(t.table.columns)
    labels = set(t.manifest.get("label_columns", []))
    rows = ["<table><tr>" + "".join(f"<th>{e(c)}</th>" for c in columns) + "</tr>"]
    for values in t.shown().itertuples(index=False):
        total = any(str(v) == "Totaal" for v, c in zip(values, columns) if c in labels)
        cells = []
        for column, value in zip(columns, values):
            css = "label" if column in labels else ("x" if str(value) == t.symbol else "")
            cells.append(f"<td class='{css}'>{e(str(value))}</td>")
        rows.append(f"<tr class='{'total' if total else ''}'>" + "".join(cells) + "</tr>")
    return "".join(rows) + "</table>"


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
                 workbook_requested: bool = False) -> list[Path]:
    """Write report.md, report.html and the figures (PNG) to ``out_dir``, each under a temporary
    name first (a stopped run leaves the previous file or the whole new one). ``sources`` and
    ``workbook_requested``: see :func:`build_report`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = build_report(export_dir, sources, workbook_requested)
    names = []
    for i, (title, table, png) in enumerate(report.figures, start=1):
        name = f"figuur_{i}_{table}.png"
        with atomic_output(out_dir / name) as temporary:
            temporary.write_bytes(png)
        names.append(name)
    md, page = out_dir / "report.md", out_dir / "report.html"
    # Both written before either is renamed: a stop leaves the previous pair (a report made from the
    # export folder alone differs from the run's in its section "Bronnen").
    with atomic_output(md) as temporary_md, atomic_output(page) as temporary_page:
        temporary_md.write_bytes(render_markdown(report, names).encode("utf-8"))
        temporary_page.write_bytes(render_html(report).encode("utf-8"))
    return [md, page] + [out_dir / n for n in names]
