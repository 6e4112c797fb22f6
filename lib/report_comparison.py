"""The report's section "Herhaalde meting": two baselines side by side, and their difference.

Made from the exported (protected) tables only (``lib.comparison`` requests them): per measurement
the persons, households, households with costs and with costs in three or more domains
(``vergelijking_bereik``), the costs and the mean cost per household, the costs per domain
(``vergelijking_kosten_domein``), the share of the most expensive households
(``vergelijking_concentratie``), and the persons of the earlier selection followed into the later
baseline (``selectie_vervolg``, ``selectie_vervolg_kosten``). The difference (later minus earlier)
is computed here from published cells; where a cell it needs is suppressed, the difference is shown
as suppressed too, so a suppressed cell never comes back.
"""
from __future__ import annotations

import pandas as pd

from lib.comparison import FOLLOW_STATUS, HOUSEHOLD_SCALE, HOUSEHOLDS, REACH
from lib.dutch_numbers import euro, number, percent
from lib.report_labels import Labels
from lib.report_structure import overview_html, overview_markdown
from lib.report_tables import by_name

DUTCH = Labels("nl")
"""The words of the section (labels ``comparison.*``); the report passes its own language."""
TITLE = DUTCH.text("doc.comparison")


def _product(*values):
    if any(v is None for v in values):
        return None
    result = 1.0
    for v in values:
        result *= v
    return result


def measurements(reach) -> list[str]:
    """The measurements' labels in the order of the table (earlier first)."""
    return [m for m in dict.fromkeys(reach.table["meting"].astype(str)) if m != "Totaal"]


def comparison_overview(tables, words: Labels = DUTCH) -> pd.DataFrame | None:
    """One row per figure, a column per measurement and the difference (later - earlier), in the
    report's number format and ``words``' language; None when the export has no ``vergelijking_bereik``."""
    row_label = words.text
    named = by_name(tables)
    reach = named.get("vergelijking_bereik")
    if reach is None:
        return None
    metings = measurements(reach)
    rows: list[tuple[str, list, callable]] = []

    def persons(m, bereik="Totaal"):
        return reach.value("n_persons", meting=m, bereik=bereik)

    def households(m, bereik="Totaal"):
        value = _product(reach.value(f"mean_{HOUSEHOLDS}", meting=m, bereik=bereik), persons(m, bereik))
        return None if value is None else round(value / HOUSEHOLD_SCALE)

    def costs(m, bereik="Totaal"):
        return _product(reach.value("mean_kosten", meting=m, bereik=bereik), persons(m, bereik))

    def with_costs(m):
        total, none = households(m), households(m, REACH[0])
        return None if total is None or none is None else total - none

    def mean_per_household(m):
        c, h = costs(m), households(m)
        return None if c is None or not h else c / h

    rows.append((row_label("comparison.persons"), [persons(m) for m in metings], number))
    rows.append((row_label("comparison.households"), [households(m) for m in metings], number))
    rows.append((row_label("comparison.with_costs"), [with_costs(m) for m in metings], number))
    rows.append((row_label("comparison.three_domains"), [households(m, REACH[2]) for m in metings], number))
    rows.append((row_label("comparison.costs"), [costs(m) for m in metings], euro))
    rows.append((row_label("comparison.mean_costs"), [mean_per_household(m) for m in metings], euro))
    domains = named.get("vergelijking_kosten_domein")
    if domains is not None:
        for d in [d for d in dict.fromkeys(domains.table["domein"].astype(str)) if d != "Totaal"]:
            rows.append((row_label("comparison.domain_costs", domain=d if words.language == "nl" else words.domain(d)),
                         [_product(domains.value("mean_kosten", meting=m, domein=d),
                                                  domains.value("n_persons", meting=m, domein=d)) for m in metings],
                         euro))
    concentration = named.get("vergelijking_concentratie")
    if concentration is not None:
        for segment in [s for s in dict.fromkeys(concentration.table["segment"].astype(str)) if s != "all"]:
            shares = [concentration.value("share_of_kosten_pct", meting=m, segment=segment) for m in metings]
            rows.append((row_label("comparison.share", group=segment.replace("top ", "")),
                         [None if s is None else s / 100 for s in shares], percent))
    out = []
    for label, values, form in rows:
        earlier, later = values[0], values[-1]
        difference = None if earlier is None or later is None else later - earlier
        row = {"": label} | {(m if words.language == "nl" else words.category(m)): _shown(v, form)
                             for m, v in zip(metings, values)}
        row[row_label("comparison.difference")] = (
            _shown(difference, form, signed=True) if form is not percent else
            _shown(None if difference is None else difference * 100,
                   lambda v: number(v, 1) + row_label("comparison.points"), signed=True))
        out.append(row)
    return pd.DataFrame(out)


def follow_overview(tables, words: Labels = DUTCH) -> pd.DataFrame | None:
    """The persons of the earlier selection by their situation at the later peildatum, and their mean
    costs per year (those in the study area); None without ``selectie_vervolg``."""
    named = by_name(tables)
    people = named.get("selectie_vervolg")
    if people is None:
        return None
    costs = named.get("selectie_vervolg_kosten")
    years = [] if costs is None else [y for y in dict.fromkeys(costs.table["jaar"].astype(str)) if y != "Totaal"]
    rows = []
    for situation in list(FOLLOW_STATUS) + ["Totaal"]:
        row = {words.text("comparison.situation"): words.translate(situation) if situation != "Totaal" else
               words.category(situation),
               words.text("comparison.persons"): _shown(people.value("n_persons", situatie=situation), number)}
        for year in years:
            in_area = situation != FOLLOW_STATUS[2]
            mean = costs.value("mean_kosten", situatie=situation if situation != "Totaal" else "Totaal", jaar=year) \
                if in_area else None
            row[words.text("comparison.mean_in_year", year=year)] = (_shown(mean, euro) if in_area else
                                                                     words.text("comparison.not_measured"))
        rows.append(row)
    return pd.DataFrame(rows)


def _shown(value, form, signed: bool = False) -> str:
    if value is None:
        return "x"
    text = form(value)
    return f"+{text}" if signed and value > 0 else text


def comparison_sections(tables, words: Labels = DUTCH) -> list[tuple[str, pd.DataFrame, str]]:
    sections = []
    overview = comparison_overview(tables, words)
    if overview is not None:
        sections.append((words.text("comparison.two_baselines"), overview, words.text("comparison.from_tables")))
    follow = follow_overview(tables, words)
    if follow is not None:
        sections.append((words.text("comparison.followed"), follow, words.text("comparison.follow_text")))
    return sections


def comparison_markdown(tables, words: Labels = DUTCH) -> list[str]:
    """The section's lines in the markdown report ([] when the export has no comparison)."""
    return overview_markdown(words.text("doc.comparison"), words.text("comparison.introduction"),
                             comparison_sections(tables, words))


def comparison_html(tables, words: Labels = DUTCH) -> list[str]:
    """The section's parts in the HTML report ([] when the export has no comparison)."""
    return overview_html("herhaalde-meting", words.text("doc.comparison"), words.text("comparison.introduction"),
                         comparison_sections(tables, words))
