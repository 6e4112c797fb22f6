"""Issue 19: ``[report] language = "en"`` gives a report entirely in English, with English number
formats, while the export (Dutch titles and notes) and the Dutch report stay as they are.

One run of the demo's analyses (the combined route with monitoring and the price sensitivity, as
``python scripts/run_all.py --demo`` runs them) on the session's small synthetic data set; the English
report is rendered from its export and work folder as the report step does."""
from __future__ import annotations

import csv
import html
import re

import pandas as pd
import pytest

from lib.config import load_config
from lib.demo import DEMO_MONITORING, DEMO_SENSITIVITY, combined_config_text, write_demo_price_tables
from lib.dutch_numbers import cell, euro, number, number_style, percent
from lib.pipeline import run_steps, step_folder
from lib.report import write_report
from lib.report_labels import LABEL_FILE, Labels
from lib.report_sources import read_sources_section
from lib.steps.report import read_price_check

# Dutch words that are also English words (or names) and so say nothing about the language of a text.
FUNCTION_WORDS = ("huishoudens", "huishouden", "kosten", "gemiddeld", "gemiddelde", "niet", "geen", "bron",
                  "het", "een", "de", "van", "met", "voor", "zijn", "naar", "bij", "uit", "ook", "alle", "elk",
                  "jaar", "op", "dat", "die", "deze", "wordt", "en", "rangorde", "peildatum", "studiejaren")
WORD = re.compile(r"[A-Za-zÀ-ÿ0-9_]+")


def _words(text: str) -> set[str]:
    """The words of ``text`` in lower case; names with a digit or an underscore (files, tables,
    datasets such as GBAPERSOON2023TABV1) are not words."""
    return {w.lower() for w in WORD.findall(text) if not re.search(r"[_0-9]", w)}


def dutch_only_words() -> set[str]:
    """The words of the label table's Dutch column that no English value has, and common Dutch words."""
    with LABEL_FILE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    def words_of(column):
        return set().union(*(_words(re.sub(r"\{\w+\}", " ", r[column])) for r in rows))
    return (words_of("nl") - words_of("en")) | set(FUNCTION_WORDS)


def visible_text(page: str, proper_names: set[str]) -> str:
    """The text a reader sees in ``page``, without the table names (in <code>), the styles, the images,
    the name of the setting (language = "en") and the proper names (files, providers)."""
    body = re.sub(r"<code>.*?</code>|<(style|script)\b.*?</\1>", " ", page, flags=re.DOTALL)
    body = re.sub(r"src='data:[^']*'", " ", body)
    text = html.unescape(re.sub(r"<[^>]+>", "\n", body)).replace('language = "en"', " ")
    for name in sorted(proper_names, key=len, reverse=True):
        text = text.replace(name, " ")
    return text


def english(text: str) -> str:
    """A published cell (``5570572.84``) in English format (``5,570,572.84``), by plain string operations."""
    sign, whole, fraction = re.fullmatch(r"(-?)(\d+)(?:\.(\d+))?", text).groups()
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return sign + ",".join([whole] + groups) + ("." + fraction if fraction else "")


@pytest.fixture(scope="module")
def demo_run(small_dataset):
    """The demo's configuration (combined route, monitoring, price sensitivity) on the small data set."""
    write_demo_price_tables(small_dataset)
    text = (combined_config_text(small_dataset).replace('work_dir = "work"', 'work_dir = "work_report_english"')
            .replace('export_dir = "export"', 'export_dir = "export_report_english"'))
    path = small_dataset / "config_report_english.toml"
    path.write_text(text + DEMO_MONITORING + DEMO_SENSITIVITY, encoding="utf-8")
    config = load_config(path)
    run_steps(config)
    return config


@pytest.fixture(scope="module")
def english_report(demo_run, tmp_path_factory):
    """The English report of the run, made as the report step makes it (sources and price check too)."""
    config = demo_run
    out = tmp_path_factory.mktemp("report_en")
    sources = read_sources_section(config, step_folder(config, "inventory"), step_folder(config, "read_sources"),
                                   step_folder(config, "price"))
    write_report(config.export_dir, out, sources=sources, language="en",
                 price_check=read_price_check(step_folder(config, "price"), "en"))
    return out, sources


def test_the_english_report_has_no_dutch_words(demo_run, english_report):
    out, sources = english_report
    page = (out / "report.html").read_text(encoding="utf-8")
    md = (out / "report.md").read_text(encoding="utf-8")
    names = set(sources.files["bestand"]) | set(sources.use["bron"]) | set(sources.files["bron"])
    for table in demo_run.export_dir.glob("dekking_aanbieders_*.csv"):   # providers published by name
        names |= {p for p in pd.read_csv(table, dtype=str)["aanbieder"] if not re.fullmatch(r"aanbieder \d+", p)}
    dutch = dutch_only_words()
    assert {"huishoudens", "woonachtig", "onderzoeksgebied", "toerekening", "aanbieders"} <= dutch
    found = {}
    for name, text in (("report.html", visible_text(page, names)),
                       ("report.md", visible_text(re.sub(r"`[^`]*`|\(#[^)]*\)|\([^)]*\.png\)", " ", md), names))):
        for line in text.splitlines():
            hits = _words(line) & dutch
            if hits:
                found.setdefault(name, []).append((sorted(hits), line.strip()[:160]))
    assert not found, found
    assert len(re.findall(r"<h4 id=", page)) >= 40          # every exported table is in it, in English
    assert "<html lang='en'>" in page and len(list(out.glob("figuur_*.png"))) >= 8


def test_the_english_report_translates_headings_titles_notes_and_caveats(demo_run, english_report):
    out, _ = english_report
    page = (out / "report.html").read_text(encoding="utf-8")
    for heading in ("Key findings", "What to keep in mind", "Where the households live", "Tables",
                    "Reach: which households have costs", "Sources", "Coverage of the providers",
                    "Disclosure control", "Files read", "Rows per source", "Domains of the method"):
        assert f">{heading}<" in page, heading
    # A table's title and notes, translated from what the export wrote (the export keeps its Dutch).
    notes = (demo_run.export_dir / "bereik_aantal_domeinen.notes.txt").read_text(encoding="utf-8")
    assert "Title: Huishoudens naar aantal domeinen met kosten in de studiejaren" in notes
    assert ">Households by number of domains with costs in the study years <small>" in page
    peildatum = demo_run.peildatum.isoformat()
    assert (f"<b>Population</b>: households living in 0344 on {peildatum} (excluding institutional households)"
            "</li>") in page
    assert f"<b>Period</b>: reference date {peildatum}; study years 2019-2023</li>" in page
    assert "<b>Kind of table</b>: frequency table (counts)</li>" in page
    # The caveat on attribution: its shares from the Dutch note (2,9%), in English format (2.9%).
    line = next(l for l in notes.splitlines() if l.startswith("Toerekening op de peildatum:"))
    shares = [s.replace(",", ".") for s in re.findall(r"\((\d+,\d)%\)|(\d+,\d)% van de kosten", line)
              for s in s if s]
    assert len(shares) == 3
    expected = (f"Attribution on the reference date: {shares[0]}% of the costs was incurred elsewhere (outside the "
                "study area) by persons living in the area on the reference date; costs incurred in the area by "
                f"persons who died or emigrated before the reference date drop out ({shares[1]}%), as do those of "
                f"persons who moved out of the area before the reference date ({shares[2]}%)")
    assert expected in page
    assert html.escape("Source: results based on own calculations using non-public microdata from Statistics "
                       "Netherlands (CBS).") in page
    # Categories and domain names in words: the top group of the ranking, a domain, a household type.
    assert ">most expensive 5% of all households<" in page and ">youth care<" in page
    assert ">couple with children<" in page


def test_the_english_report_writes_numbers_in_english(demo_run, english_report):
    out, _ = english_report
    page = (out / "report.html").read_text(encoding="utf-8")
    reach = pd.read_csv(demo_run.export_dir / "bereik_aantal_domeinen.csv", dtype=str).set_index("aantal_domeinen")
    total, none = int(reach.loc["Totaal", "n_households"]), int(reach.loc["0", "n_households"])
    share = f"{(total - none) / total * 100:.1f}"
    assert f"Reach: {english(str(total - none))} of the {english(str(total))} households ({share}%) had costs" in page
    costs = pd.read_csv(demo_run.export_dir / "kosten_domein_jaar.csv", dtype=str)
    amount = next(a for a in costs["sum_kosten"] if a != "x" and float(a) >= 1000)
    assert f">{english(amount)}<" in page and f">{amount}<" not in page
    gini = pd.read_csv(demo_run.export_dir / "gini.csv", dtype=str)["waarde"].iloc[0]
    assert f"per household: {float(gini):.2f} (0 = spread equally" in page
    # No Dutch decimal comma in the key findings and caveats (a comma only between thousands).
    summary = page.split("id='kernpunten'", 1)[1].split("id='figuren'", 1)[0]
    assert not re.search(r"\d,(?!\d{3}(?!\d))\d", html.unescape(re.sub(r"<[^>]+>", " ", summary)))


def test_the_dutch_report_is_unchanged_by_the_english_one(demo_run, english_report):
    """The Dutch report the run wrote (language nl) is the one rendered again after the English one in
    the same process (the English number format does not leak), with its Dutch headings, notes and
    number formats."""
    config = demo_run
    out, sources = english_report
    folder = step_folder(config, "report")
    dutch_md = (folder / "report.md").read_text(encoding="utf-8")
    again = out.parent / "report_nl_again"
    write_report(config.export_dir, again, sources=sources, price_check=read_price_check(step_folder(config, "price")))
    assert (again / "report.md").read_text(encoding="utf-8") == dutch_md
    page = (folder / "report.html").read_text(encoding="utf-8")
    for heading in ("Kernpunten", "Waar u op moet letten", "Waar wonen de huishoudens", "Tabellen", "Bronnen",
                    "Dekking van de aanbieders", "Geheimhouding"):
        assert f">{heading}<" in page, heading
    assert "<b>Populatie</b>: huishoudens woonachtig in 0344 op" in page
    assert "Bron: resultaten gebaseerd op eigen berekeningen op basis van niet-openbare microdata" in page
    reach = pd.read_csv(config.export_dir / "bereik_aantal_domeinen.csv", dtype=str).set_index("aantal_domeinen")
    total, none = int(reach.loc["Totaal", "n_households"]), int(reach.loc["0", "n_households"])
    share = f"{(total - none) / total * 100:.1f}".replace(".", ",")
    dotted = english(str(total)).replace(",", ".")
    assert f"van de {dotted} huishoudens ({share}%) had kosten" in page
    assert "Prijscontrole: de kosten die de prijstabellen geven" in page


def test_number_style_switches_every_format_and_comes_back():
    assert (number(1155), euro(15048.4), percent(0.245), cell("5570572.84")) == ("1.155", "EUR 15.048", "24,5%",
                                                                                 "5.570.572,84")
    with number_style("en"):
        assert (number(1155), euro(15048.4), percent(0.245), cell("5570572.84")) == ("1,155", "EUR 15,048", "24.5%",
                                                                                     "5,570,572.84")
        assert (number(-3527), number(-0.4), cell("-3600.0"), cell("007"), cell("x")) == ("-3,527", "0", "-3,600.0",
                                                                                          "007", "x")
        with number_style("nl"):
            assert number(1234567.891, 2) == "1.234.567,89"
        assert number(1234567.891, 2) == "1,234,567.89"
    assert number(1234567.891, 2) == "1.234.567,89"
    with pytest.raises(ValueError):
        with number_style("de"):
            pass


def test_translate_fills_templates_and_leaves_dutch_alone():
    nl, en = Labels("nl"), Labels("en")
    note = ("huishoudens woonachtig in 0344, 0363 op 2023-12-31 (exclusief institutionele huishoudens), de duurste "
            "5% (rangorde van alle huishoudens in het onderzoeksgebied naar kosten over de studiejaren)")
    assert nl.translate(note) == note
    assert en.translate(note) == ("households living in 0344, 0363 on 2023-12-31 (excluding institutional households)"
                                  ", the most expensive 5% (ranking of all households in the study area by their costs "
                                  "over the study years)")
    # A Dutch number in a value is written in English; domain codes become their English names.
    assert en.translate("Van de vertrokken huishoudens is 61,5% verhuisd en 38,5% niet meer in de registers "
                        "(overleden of geëmigreerd).") == ("Of the departed households, 61.5% moved and 38.5% are no "
                                                           "longer in the registers (died or emigrated).")
    assert en.translate("Aanbieders van jeugdhulp: huishoudens met een cliënt en kosten per aanbieder") == (
        "Providers of youth care: households with a client and costs per provider")
    assert en.category("overige buurten in wijk 034401") == "other neighbourhoods in district 034401"
    assert en.column("pct_type_paar_met_kinderen") == "% household type couple with children"
    assert nl.column("pct_type_paar_met_kinderen") == "% huishoudtype paar met kinderen"
    # A text the table does not know stays as it is (the test above finds it in a report).
    assert en.translate("iets nieuws") == "iets nieuws"
    # A segment is found inside a longer text: it must begin and end with fixed words (a {name} at an
    # end would take as little text as possible there: one character).
    with LABEL_FILE.open(encoding="utf-8", newline="") as handle:
        segments = [r["nl"] for r in csv.DictReader(handle) if r["key"].startswith("segment.")]
    assert segments and not [s for s in segments if s.startswith("{") or s.rstrip().endswith("}")]
