"""The report's findings in words: the key findings of the analysis and, beside them, the caveats that
decide how far they carry (attribution and residence, domains without a source, shortlists,
estimated detention, the monitoring's overlap, the price check).

Made from published cells and notes only (lib.report_tables), except the price check, which the
report step reads from the work folder (:func:`price_check_caveat`): a comparison of the prices with
national figures, per domain, without counts of persons.
"""
from __future__ import annotations

import re

import pandas as pd

from lib.dutch_numbers import euro, number, number_style, percent
from lib.report_labels import Labels
from lib.report_tables import ExportedTable, find, published_number

DUTCH = Labels("nl")
"""Domain names in words in the findings ('werk en inkomen', not 'werk_en_inkomen')."""

FIELD_FIGURE = DUTCH.text("finding.field")


def headline_findings(tables: list[ExportedTable]) -> list[str]:
    """The main figures of the run and their caveats, in words, from published cells only."""
    return key_findings(tables) + caveat_findings(tables)


def key_findings(tables: list[ExportedTable], words: Labels = DUTCH) -> list[str]:
    """What the analysis found, in plain words (``words``: the sentences of the label table, Dutch
    unless the report is English): reach, concentration, combinations, types, monitoring estimates,
    sensitivity to the prices."""
    out = _no_costs_findings(tables, words)
    reach = find(tables, "bereik_aantal_domeinen")
    if reach is not None:
        total = reach.value("n_households", aantal_domeinen="Totaal")
        none = reach.value("n_households", aantal_domeinen="0")
        if total and none is not None:
            out.append(words.text("finding.reach", n=number(total - none), total=number(total),
                                  share=percent((total - none) / total)))
        multi = [reach.value("n_households", aantal_domeinen=k) for k in ("3", "4+")]
        if total and all(m is not None for m in multi):
            counted = re.search(r"domeinen geteld zoals de methode ze telt \([^)]*\): (.*?) telt elk als een domein",
                                reach.notes_text)
            how = " " + words.text("finding.multi_how", groups=words.translate(counted.group(1))) if counted else ""
            out.append(words.text("finding.multi", n=number(sum(multi)), share=percent(sum(multi) / total)) + how)
    top = find(tables, "concentratie_top")
    if top is not None:
        # The smallest top groups are suppressed in small areas: then the next published ones speak.
        segments = ("top 1%", "top 2%", "top 5%", "top 10%", "top 20%")
        shares = {seg: top.value("share_of_kosten_pct", segment=seg) for seg in segments}
        known = dict(list({k: v for k, v in shares.items() if v is not None}.items())[:3])
        if known:
            parts = [words.text("finding.top_part", share=k[4:], costs=percent(v, scale=1)) for k, v in known.items()]
            first, share = next(iter(known.items()))
            counted = top.value("n_households", segment=first)
            # "De duurste x%" is a share of ALL households (lib.baseline.RANKING), never of those with costs.
            which = (" " + words.text("finding.which", share=first[4:], n=number(counted))
                     if counted is not None else "")
            out.append(words.text("finding.concentration", parts="; ".join(parts)) + which + " "
                       + words.text("finding.field"))
    gini = find(tables, "gini")
    if gini is not None and len(gini.table):
        value = published_number(gini.table.iloc[0, -1], gini.symbol)
        if value is not None:
            out.append(words.text("finding.gini", gini=number(value, 2)))
    combos = find(tables, "combinaties_duurste")
    if combos is not None and "n_households" in combos.table:
        rows = combos.table[~combos.table["combinatie"].isin(["Totaal", "overige combinaties"])].copy()
        rows["n"] = [(published_number(v, combos.symbol) or 0) for v in rows["n_households"]]
        best = rows.sort_values("n", ascending=False).head(3)
        if len(best):
            listed = "; ".join(words.text("finding.combination", combination=words.category(r.combinatie),
                                          n=number(r.n)) for r in best.itertuples())
            # Which group: the share in the table's title, as a share of ALL households (the one ranking).
            share = re.search(r"duurste (\d+(?:[.,]\d+)?%)", combos.title)
            group = words.category(f"top {share.group(1)}") if share else words.text("finding.expensive")
            out.append(words.text("finding.combinations", group=group, listed=listed))
    out += _coherence_findings(tables, words)
    out += monitoring_estimates(tables, words)
    out += sensitivity_findings(tables, words)
    return out


def caveat_findings(tables: list[ExportedTable], price_check: list[str] | None = None,
                    words: Labels = DUTCH) -> list[str]:
    """What a reader of the key findings must see beside them: attribution and residence, domains
    without a source, shortlists, estimated detention, the monitoring's overlap, and the price check
    (``price_check``: :func:`price_check_caveat`, from the work folder, already in the report's language;
    None for a report made from the export alone). The notes they quote are translated in English."""
    out = residence_and_attribution_findings(tables, words)
    out += shortlist_findings(tables, words)
    # Detention priced from sentenced days: the caveat of the tables' notes (households.detention_note), once.
    out += next(([words.translate(t.notes["Detentie"])] for t in tables if t.notes.get("Detentie")), [])
    out += monitoring_caveats(tables, words)
    out += price_check or []
    return out


def sensitivity_findings(tables: list[ExportedTable], words: Labels = DUTCH) -> list[str]:
    """The price sensitivity run in words (lib.price_sensitivity), from published cells only."""
    domains = find(tables, "prijsgevoeligheid_domeinen")
    if domains is None:
        return []
    out = []
    base, low, high = (domains.value(c, domein="Totaal") for c in ("sum_kosten", "sum_kosten_laag", "sum_kosten_hoog"))
    if base and low is not None and high is not None:
        out.append(words.text("finding.sensitivity", low=percent(low / base, 0), high=percent(high / base, 0)))
    top = find(tables, "concentratie_top")
    shares = []
    for seg in ("top 1%", "top 5%", "top 10%"):
        values = [top.value("share_of_kosten_pct", segment=seg) if top is not None else None]
        for scenario in ("laag", "hoog"):
            t = find(tables, f"prijsgevoeligheid_concentratie_{scenario}")
            values.append(t.value(f"share_of_kosten_{scenario}_pct", segment=seg) if t is not None else None)
        if all(v is not None for v in values):
            shares.append(words.text("finding.sensitivity_share", share=seg[4:], costs=percent(values[0], scale=1),
                                     low=percent(values[1], scale=1), high=percent(values[2], scale=1)))
    if shares:
        out.append(words.text("finding.sensitivity_shares", parts="; ".join(shares)))
    selection = find(tables, "prijsgevoeligheid_selectie")
    if selection is not None:
        counts = [selection.value("n_households", prijzen=p) for p in ("prijzen van de run", "lage prijzen",
                                                                        "hoge prijzen")]
        if all(c is not None for c in counts):
            out.append(words.text("finding.sensitivity_selection", run=number(counts[0]), low=number(counts[1]),
                                  high=number(counts[2])))
    return out


def _monitoring_findings(tables: list[ExportedTable]) -> list[str]:
    """The monitoring estimates with what each can and cannot say: the before/after is regression to
    the mean as much as an effect; the comparison is published only where the groups overlap
    (lib.monitoring.publication_gate), and the placebo tells whether they diverged before the start."""
    return monitoring_estimates(tables) + monitoring_caveats(tables)


def monitoring_estimates(tables: list[ExportedTable], words: Labels = DUTCH) -> list[str]:
    """Each published monitoring estimate with its interval and how to read it."""
    from lib.monitoring import EFFECT_LABEL, PLACEBO_LABEL
    effect = find(tables, "monitoring_effect")
    if effect is None or not len(effect.table):
        return []
    out = []
    for row in effect.table.itertuples():
        value = published_number(getattr(row, "verschil_per_huishouden_per_periode", None), effect.symbol)
        low = published_number(getattr(row, "ondergrens_95", None), effect.symbol)
        high = published_number(getattr(row, "bovengrens_95", None), effect.symbol)
        if value is None or low is None or high is None:
            continue
        interval = words.text("finding.interval", value=euro(value), low=euro(low), high=euro(high))
        if row.schatting == PLACEBO_LABEL:
            out.append(words.text("finding.placebo", interval=interval))
        elif row.schatting == EFFECT_LABEL:
            out.append(words.text("finding.effect", estimate=words.category(row.schatting), interval=interval))
        else:
            out.append(words.text("finding.before_after", estimate=words.category(row.schatting), interval=interval))
    return out


def monitoring_caveats(tables: list[ExportedTable], words: Labels = DUTCH) -> list[str]:
    """The comparison with the matched group not published (the groups do not overlap): then the
    monitoring cannot show an effect."""
    from lib.monitoring import EFFECT_LABEL
    from lib.steps.monitoring import NOT_PUBLISHED_NOTE
    effect = find(tables, "monitoring_effect")
    if effect is None or not len(effect.table):
        return []
    out = []
    if NOT_PUBLISHED_NOTE in effect.notes_text or not (effect.table["schatting"] == EFFECT_LABEL).any():
        out.append(words.text("finding.no_comparison"))
    return out


# The notes of the baseline tables that say what residence and attribution do to the figures
# (lib.baseline.attribution_notes and residence_notes): a reader of the key findings must see them
# beside the figures, not only in one table's notes.
CAVEAT_STARTS = ("Toerekening op de peildatum:", "Woonplaats op ", "Van de vertrokken huishoudens",
                 "Vertrokken huishoudens zijn niet gemeten")


def residence_and_attribution_findings(tables: list[ExportedTable], words: Labels = DUTCH) -> list[str]:
    """The caveats on attribution (from any table that states them) and residence (from
    ``kosten_woonachtig``), each once, in the words of the published notes (translated in English)."""
    out: list[str] = []
    woonachtig = find(tables, "kosten_woonachtig")
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
    out = [words.translate(line) for line in out]
    if listed:
        listed = ", ".join(words.domain(d.strip()) for d in listed.split(","))
        out.append(words.text("finding.not_measured", listed=listed))
    return out


def shortlist_findings(tables: list[ExportedTable], words: Labels = DUTCH) -> list[str]:
    """The note of the sources that delivered only a shortlist of their most expensive clients (the
    ``Shortlist`` line every table of the costs states, lib.steps.households.shortlist_note), once."""
    note = next((t.notes["Shortlist"] for t in tables if t.notes.get("Shortlist")), "")
    return [words.text("finding.shortlist", note=words.translate(note))] if note else []


NO_COSTS = "geen kosten gelezen"
"""How the ``Kosten`` line of every table of a run over the registers alone begins
(lib.steps.households.NO_COSTS_NOTE)."""


def _no_costs_findings(tables: list[ExportedTable], words: Labels = DUTCH) -> list[str]:
    """A run over the registers alone read no cost source: the report says so first."""
    if not any(t.notes.get("Kosten", "").startswith(NO_COSTS) for t in tables):
        return []
    return [words.text("finding.no_costs")]


NOT_MEASURED = "(niet gemeten, dus niet nul): "
"""How the ``Domeinen`` note of a table (lib.steps.households.domain_note) lists the domains without a source."""


def _coherence_findings(tables: list[ExportedTable], words: Labels = DUTCH) -> list[str]:
    """How many types each typology found, and which one to read (the advice the coherence step
    wrote in the notes of samenhang_overeenstemming, from the stability it measured)."""
    out = []
    for name in ("samenhang_klassen", "samenhang_clusters"):
        t = find(tables, name)
        if t is None or "n_households" not in t.table:
            continue
        rows = t.table[t.table.iloc[:, 0].astype(str) != "Totaal"]
        if len(rows):
            out.append(words.text("finding.types", title=words.translate(t.title), n=number(len(rows))))
    agreement = find(tables, "samenhang_overeenstemming")
    if agreement is not None:
        advice = next((line.strip() for line in agreement.notes_text.splitlines()
                       if line.strip().startswith("Lees ")), None)
        if advice:
            out.append(words.translate(advice))
    return out


def price_check_caveat(check: pd.DataFrame, band: tuple[float, float], words: Labels = DUTCH) -> list[str]:
    """The price check of the run (lib.price_check: the price step's ``price_check.csv``) in words: the
    domains whose implied cost per client-year or price per unit lies outside ``band`` times the national
    figure, and those without a national figure. Ratios and domain names only, no counts of persons.
    In ``words``' language and number format."""
    if check.empty or not {"domain", "ratio", "flag"} <= set(check.columns):
        return []
    ratio = pd.to_numeric(check["ratio"], errors="coerce")
    outside = check[(ratio < band[0]) | (ratio > band[1])]
    compared = sorted(set(check.loc[ratio.notna(), "domain"].astype(str)))
    without = sorted(set(check.loc[ratio.isna(), "domain"].astype(str)) - set(compared))
    with number_style(words.language):
        low, high = (number(b, 1).removesuffix(",0").removesuffix(".0") for b in band)
        text = words.text("finding.price_check", low=low, high=high) + " "
        named = (lambda code: code) if words.language == "nl" else words.domain
        if len(outside):
            listed = "; ".join(words.text("finding.price_ratio", domain=named(str(r.domain)),
                                          ratio=number(float(r.ratio), 2)) for r in outside.itertuples())
            text += words.text("finding.price_outside", listed=listed) + " "
        elif compared:
            text += words.text("finding.price_inside", n=number(len(compared))) + " "
        if without:
            text += words.text("finding.price_unchecked", listed=", ".join(named(d) for d in without))
    return [text.strip()]
