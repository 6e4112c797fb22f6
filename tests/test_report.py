"""The report: every exported table is in it, and nothing that was not exported."""
from __future__ import annotations

import json
import os
import re
import shutil
import sys

import pandas as pd
import pytest

from lib.config import load_config
from lib.pipeline import run_steps, step_folder
from lib.report import write_report
from lib.synthetic.identifiers import eleven_test
from lib.workfiles import read_table


def dutch(text: str) -> str:
    """A published cell (``5570572.84``) as a Dutch reader reads it (``5.570.572,84``), by plain
    string operations: a point between thousands, a comma before the decimals."""
    match = re.fullmatch(r"(-?)(\d+)(?:\.(\d+))?", text)
    if not match:
        return text
    sign, whole, fraction = match.groups()
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return sign + ".".join([whole] + groups) + ("," + fraction if fraction else "")


def test_the_test_helper_dutch():
    assert [dutch(t) for t in ("5570572.84", "360", "1155", "-3600.0", "x", "2019", "Totaal")] == [
        "5.570.572,84", "360", "1.155", "-3.600,0", "x", "2.019", "Totaal"]


@pytest.fixture(scope="module")
def run(small_dataset):
    config = load_config(small_dataset / "config.toml")
    run_steps(config)
    return config


def test_every_exported_table_is_in_the_report(run):
    folder = step_folder(run, "report")
    manifest = json.loads((run.export_dir / "disclosure_manifest.json").read_text(encoding="utf-8"))
    md = (folder / "report.md").read_text(encoding="utf-8")
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert len(manifest["tables"]) >= 15
    for name in manifest["tables"]:
        notes = (run.export_dir / f"{name}.notes.txt").read_text(encoding="utf-8")
        title = re.search(r"^Title: (.*)$", notes, re.MULTILINE).group(1)
        assert f"`{name}`" in md and f"<code>{name}</code>" in page, name
        assert title in md, name
    assert "Kernpunten" in md and "Bereik:" in md and "Concentratie:" in md
    assert page.count("<div class='tablewrap'><table>") == len(manifest["tables"])
    assert "<img" not in page or "data:image/png;base64," in page      # self-contained


def test_the_report_shows_the_exported_cells_and_no_others(run):
    folder = step_folder(run, "report")
    page = (folder / "report.html").read_text(encoding="utf-8")
    manifest = json.loads((run.export_dir / "disclosure_manifest.json").read_text(encoding="utf-8"))
    # Every cell of every exported table is in the page as published, numbers in Dutch format
    # (labels and the suppression symbol as they are)...
    # (categories in words: the label table's own test checks them by hand)
    from lib.report_labels import Labels
    words = Labels("nl")
    published = set()
    for csv in run.export_dir.glob("*.csv"):
        table = pd.read_csv(csv, dtype=str, keep_default_na=False)
        labels = set(manifest["tables"][csv.stem]["label_columns"])
        for column in table.columns:
            for value in table[column]:
                shown_as = words.category(value) if column in labels else dutch(value)
                assert f">{shown_as}<" in page, (csv.name, value, shown_as)
                published.add(value)
    # ...and no true value of a suppressed cell (kept in the evidence of the work folder) is.
    shown = {text.replace(".", "").replace(",", ".") for text in re.findall(r">([-0-9.,]+)<", page)}
    leaked = []
    for cells in (run.work_dir / "evidence").glob("*.cells.csv"):
        evidence = pd.read_csv(cells, dtype=str, keep_default_na=False)
        hidden = evidence[evidence["status"].isin(["primary", "secondary"])]
        for column in [c for c in hidden.columns if c.startswith("true_")]:
            for raw in hidden[column]:
                if raw in ("", "nan"):
                    continue
                value = float(raw)
                for text in {f"{value:.2f}", f"{value:.0f}", f"{value:.1f}"}:
                    # (a suppressed value that another released cell also has, e.g. 0.00, is no leak)
                    if len(text) >= 4 and text in shown and text not in published:
                        leaked.append((cells.name, column, text))
    assert not leaked, leaked[:5]
    # No person or household key, and no 9-digit number passing the BSN eleven-test.
    persons = read_table(step_folder(run, "read_sources") / "persons", columns=["key"])["key"]
    text = page + (folder / "report.md").read_text(encoding="utf-8")
    nine = [int(n) for n in re.findall(r"(?<!\d)\d{9}(?!\d)", text)]
    assert not any(eleven_test(nine)) if nine else True
    assert not set(nine) & set(persons.tolist())


def test_report_without_matplotlib_and_outside_the_environment(run, tmp_path, monkeypatch):
    export = tmp_path / "released"
    shutil.copytree(run.export_dir, export)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    written = write_report(export, tmp_path / "report")
    assert {p.name for p in written} == {"report.md", "report.html"}
    assert "Kernpunten" in (tmp_path / "report" / "report.md").read_text(encoding="utf-8")


def test_figures_come_from_published_tables(run):
    pytest.importorskip("matplotlib")
    folder = step_folder(run, "report")
    figures = sorted(folder.glob("figuur_*.png"))
    assert figures
    for figure in figures:
        table = figure.stem.split("_", 2)[2]
        assert (run.export_dir / f"{table}.csv").is_file()
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_output_request_package(run):
    import zipfile
    package = step_folder(run, "report") / "output_request.zip"
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
    exported = {p.name for p in run.export_dir.iterdir() if p.is_file()}
    assert {n.split("/", 1)[1] for n in names if n.startswith("export/")} == exported
    assert any(n.startswith("documentatie/") and n.endswith(".md") for n in names)
    report_files = {n.split("/", 1)[1] for n in names if n.startswith("rapport/")}
    assert {"report.html", "report.md"} <= report_files
    # A figure travels only with the released table it plots.
    for figure in (n for n in report_files if n.endswith(".png")):
        assert f"export/{figure.split('_', 2)[2].removesuffix('.png')}.csv" in names


def test_monitoring_findings_say_what_each_estimate_can_tell():
    """The before/after is marked as no effect of the approach; without a published comparison the
    report says the monitoring cannot show an effect; a placebo row comes with how to read it."""
    import pandas as pd
    from lib.monitoring import EFFECT_LABEL, PLACEBO_LABEL
    from lib.report import ExportedTable, _monitoring_findings
    from lib.steps.monitoring import NOT_PUBLISHED_NOTE

    def table(rows, notes):
        frame = pd.DataFrame(rows, columns=["schatting", "verschil_per_huishouden_per_periode", "ondergrens_95",
                                            "bovengrens_95"]).astype(str)
        return ExportedTable("monitoring_effect", frame, {}, notes, {}, "x")

    before_after = ["voor/na in het cohort", "-4917.0", "-10772.0", "938.0"]
    failed = _monitoring_findings([table([before_after], NOT_PUBLISHED_NOTE + ": te weinig gematcht")])
    assert failed[0] == ("Monitoring, voor/na in het cohort: EUR -4.917 per huishouden per periode (95%-interval "
                         "EUR -10.772 tot EUR 938) (geen effect van de aanpak: huishoudens die om hun hoge kosten zijn "
                         "geselecteerd, worden ook zonder aanpak goedkoper).")
    assert "niet gepubliceerd" in failed[1] and len(failed) == 2
    passed = _monitoring_findings([table([before_after, [EFFECT_LABEL, "-3600.0", "-13914.0", "6714.0"],
                                          [PLACEBO_LABEL, "-161.0", "-10918.0", "10597.0"]], "")])
    assert len(passed) == 3 and not any("niet gepubliceerd" in line for line in passed)
    assert passed[1].startswith(f"Monitoring, {EFFECT_LABEL}: EUR -3.600 per huishouden")
    assert passed[2].startswith("Monitoring, placebotoets") and "EUR -161 per huishouden" in passed[2]


def test_the_report_writes_numbers_in_dutch(run):
    """Issue 19: '1,155 van de 5,053 huishoudens' reads wrong to a Dutch reader. The key findings
    and the tables use a point between thousands and a decimal comma; the CSV files stay as they are."""
    folder = step_folder(run, "report")
    md = (folder / "report.md").read_text(encoding="utf-8")
    page = (folder / "report.html").read_text(encoding="utf-8")
    findings = md.split("## Kernpunten", 1)[1].split("\n## ", 1)[0]
    reach = pd.read_csv(run.export_dir / "bereik_aantal_domeinen.csv", dtype=str).set_index("aantal_domeinen")
    total, none = int(reach.loc["Totaal", "n_households"]), int(reach.loc["0", "n_households"])
    share = f"{(total - none) / total * 100:.1f}".replace(".", ",")
    expected = f"Bereik: {dutch(str(total - none))} van de {dutch(str(total))} huishoudens ({share}%) had kosten"
    assert expected in findings and expected in page
    gini = pd.read_csv(run.export_dir / "gini.csv", dtype=str)["waarde"].iloc[0]
    assert f"per huishouden: {float(gini):.2f}".replace(".", ",") in findings
    top = pd.read_csv(run.export_dir / "concentratie_top.csv", dtype=str)
    first = next(r for r in top.itertuples() if r.share_of_kosten_pct != "x" and r.segment != "all")
    assert f"de duurste {first.segment[4:]} van de huishoudens droeg {first.share_of_kosten_pct.replace('.', ',')}%" \
        in findings
    # No English decimal point in the key findings (a point only before three digits of thousands).
    assert not re.search(r"\d\.(?!\d{3}(?!\d))\d", findings), findings
    # The tables: amounts with a point between thousands and a decimal comma, the CSV unchanged.
    costs = pd.read_csv(run.export_dir / "kosten_domein_jaar.csv", dtype=str)
    amount = costs["sum_kosten"].iloc[0]
    assert float(amount) >= 1000 and "." in amount and "," not in amount
    assert f"| {dutch(amount)} " in md and f">{dutch(amount)}<" in page
    assert f">{amount}<" not in page


# --- issue 19: a report a municipality reads ------------------------------------------------

def test_the_labels_read_as_dutch_and_english():
    """One label table (lib/reference_data/report_labels.csv): every key once, both languages; code
    names become words, the rank groups say whose share they are."""
    import csv
    from lib.report_labels import LABEL_FILE, Labels
    with LABEL_FILE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    keys = [r["key"] for r in rows]
    assert len(keys) == len(set(keys))
    assert all(r["en"] for r in rows) and all(r["nl"] for r in rows if r["key"] != "doc.english_note")
    nl, en = Labels("nl"), Labels("en")
    assert nl.column("n_households") == "huishoudens" and en.column("n_households") == "households"
    assert nl.column("mean_kosten_werk_en_inkomen") == "gemiddelde kosten werk en inkomen (euro)"
    assert nl.column("pct_type_paar_met_kinderen") == "% huishoudtype paar met kinderen"
    assert nl.category("schuldhulp + werk_en_inkomen") == "schuldhulp + werk en inkomen"
    assert nl.category("cluster 02: om_rechtspraak + wmo") == "cluster 02: OM en rechtspraak + Wmo"
    assert nl.category("log_kosten_jeugdhulp") == "kosten jeugdhulp (logaritme)"
    assert nl.category("top 1%") == "duurste 1% van alle huishoudens"
    assert nl.category("top 0.5%") == "duurste 0,5% van alle huishoudens"
    assert en.category("top 0.5%") == "most expensive 0.5% of all households"
    assert nl.category("a. duurste 10%") == "a. duurste 10% van alle huishoudens"
    assert nl.category("b. 1-5%") == "b. 1-5%"
    assert nl.meta_key("Unit") == "Eenheid"
    assert nl.meta_value("Kind", "frequency table") == "frequentietabel (aantallen)"
    assert en.meta_key("Unit") == "Unit" and nl.category("jeugdhulp") == "jeugdhulp"


def test_the_report_is_dutch_with_contents_a_policy_part_and_an_annex_in_the_method_order(run):
    from lib.report_structure import PARTS
    page = (step_folder(run, "report") / "report.html").read_text(encoding="utf-8")
    # No English note keys or code names in the Dutch report (the table names in <code> aside).
    for english in ("Unit", "Population", "Kind", "Price year", "Attribution"):
        assert f"<b>{english}</b>" not in page, english
    headers = re.findall(r"<th>([^<]*)</th>", page)
    assert headers and not [h for h in headers if "_" in h]
    assert "<th>huishoudens</th>" in page and "<b>Eenheid</b>: huishoudens" in page
    # Every link of the table of contents leads to a heading of the page.
    toc = page.split("<nav class='toc'>", 1)[1].split("</nav>", 1)[0]
    anchors = re.findall(r"href='#([^']+)'", toc)
    assert len(anchors) >= 12 and all(f"id='{a}'" in page for a in anchors)
    policy, annex = page.split("<h1 class='part' id='deel-2'>", 1)
    assert "id='kernpunten'" in policy and "<aside>" in policy and "<table>" not in policy
    # The annex: the parts in the order of the method, each exported table once, BIC and Zhang's
    # metric only there, marked as technical.
    order = [p for p, _ in PARTS]
    shown_parts = re.findall(r"<h3 id='deel-([a-z]+)'>", annex)
    assert shown_parts == [p for p in order if p in shown_parts] and shown_parts[:3] == ["bereik", "concentratie",
                                                                                          "domeinen"]
    manifest = json.loads((run.export_dir / "disclosure_manifest.json").read_text(encoding="utf-8"))
    assert sorted(re.findall(r"<h4 id='([a-z_0-9]+)'>", annex)) == sorted(manifest["tables"])
    for technical in ("samenhang_keuze_klassen", "samenhang_keuze_clusters"):
        if technical in manifest["tables"]:
            assert technical not in policy
            heading = annex.split(f"<h4 id='{technical}'>", 1)[1].split("</h4>", 1)[0]
            assert "(technische tabel)" in heading


def test_de_duurste_x_procent_is_the_same_households_everywhere(run):
    """Issue 19: 'de duurste 1%' was 51 households in one table and 12 in another. Both tables rank all
    households; the report labels both as a share of ALL households and says how many that is."""
    top = pd.read_csv(run.export_dir / "concentratie_top.csv", dtype=str).set_index("segment")
    groups = pd.read_csv(run.export_dir / "kosten_topgroepen.csv", dtype=str).set_index("groep")
    households = int(top.loc["all", "n_households"])
    segment = next(s for s in top.index if s != "all" and top.loc[s, "n_households"] != "x")  # the smallest published
    share = segment.removeprefix("top ")
    expected = -(-households * int(share.rstrip("%")) // 100)      # ceil(x% of all households), by hand
    assert int(top.loc[segment, "n_households"]) == expected == int(groups.loc[f"a. duurste {share}", "n_households"])
    page = (step_folder(run, "report") / "report.html").read_text(encoding="utf-8")
    assert f">duurste {share} van alle huishoudens<" in page and f">a. duurste {share} van alle huishoudens<" in page
    assert f"de duurste {share} zijn {dutch(str(expected))} huishoudens" in page
    assert f">{segment}<" not in page


def test_figures_have_no_legend_over_their_data(run):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from lib.report import build_report
    from lib.report_figures import legend_covers_data
    report = build_report(run.export_dir)
    assert len(report.figures) >= 8
    expected = {"concentration", "domain_years", "types", "areas", "reach"}
    combinations = pd.read_csv(run.export_dir / "combinaties_duurste.csv", dtype=str)
    named = ~combinations["combinatie"].isin(["Totaal", "overige combinaties"])
    if (named & (combinations["n_households"] != "x")).any():
        expected.add("combinations")      # (in a small area every combination is merged into 'overige')
    assert {f.key for f in report.figures} >= expected
    assert [f.key for f in report.figures if f.covered] == []
    # The measurement sees a legend over bars: four bars of height 10, the legend in the middle.
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.bar(range(4), [10] * 4, label="bars")
    ax.legend(loc="center")
    assert legend_covers_data(fig) >= 2
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    assert legend_covers_data(fig) == 0
    plt.close(fig)


def test_the_english_variant(run, tmp_path):
    write_report(run.export_dir, tmp_path, language="en")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<html lang='en'>" in page and ">Key findings<" in page and ">Kernpunten<" not in page
    assert "<th>households</th>" in page and "<b>Unit</b>: households" in page
    reach = pd.read_csv(run.export_dir / "bereik_aantal_domeinen.csv", dtype=str).set_index("aantal_domeinen")
    total, none = int(reach.loc["Totaal", "n_households"]), int(reach.loc["0", "n_households"])
    assert f"Reach: {dutch(str(total - none))} of the {dutch(str(total))} households" in page


def test_the_price_check_in_words():
    from lib.report_findings import price_check_caveat
    check = pd.DataFrame({"domain": ["wmo", "jeugdhulp", "halt", "wmo"], "ratio": [2.5, 1.2, None, 0.9],
                          "flag": ["above 2", "", "no national figure", ""]})
    [text] = price_check_caveat(check, (0.5, 2.0))
    assert "Buiten die band: wmo (verhouding 2,50)" in text
    assert "Zonder landelijk cijfer, dus niet gecontroleerd: halt." in text
    assert price_check_caveat(check[check["domain"] == "jeugdhulp"], (0.5, 2.0)) == [
        "Prijscontrole: de kosten die de prijstabellen geven zijn per domein vergeleken met landelijke cijfers "
        "(een verhouding tussen 0,5 en 2 geldt als aannemelijk). Alle 1 vergeleken domeinen liggen binnen die band."]


def _chromium_or_skip():
    from tests import browser
    if browser.chromium() is None and not os.environ.get("CI"):
        pytest.skip("Chromium is not installed (apt-get install chromium); in CI (CI set) this test fails instead")
    return browser


def test_the_report_renders_in_a_browser_without_overflow(run, tmp_path):
    """The report in a real headless Chromium: on a wide and a narrow screen no element is wider than
    the window (wide tables scroll inside their own box), in print (A4) every table fits the page, and
    every figure is drawn. The screenshot stays in the test's folder."""
    browser = _chromium_or_skip()
    page = step_folder(run, "report") / "report.html"
    manifest = json.loads((run.export_dir / "disclosure_manifest.json").read_text(encoding="utf-8"))
    figures = len(list(step_folder(run, "report").glob("figuur_*.png")))
    for width, print_mode in ((1280, False), (760, False), (browser.A4_PRINTABLE_PX, True)):
        layout = browser.measure_layout(page, tmp_path, width, print_mode=print_mode)
        assert layout["too_wide"] == [] and layout["page_width"] <= width, (width, print_mode, layout["too_wide"][:5])
        assert layout["tables"] >= len(manifest["tables"]) and layout["tables_outside_scroll_box"] == 0
        assert layout["images"] == layout["images_drawn"] == figures and layout["images_too_wide"] == 0
        if not print_mode and width < 800:
            assert layout["scrolling_boxes"] >= 1        # the widest tables scroll, the page does not
    shot = browser.screenshot(page, tmp_path / "report.png", 1280, 1800)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_the_combinations_finding_names_its_group_in_words():
    from lib.report import ExportedTable, key_findings
    from lib.report_labels import Labels
    frame = pd.DataFrame({"combinatie": ["Totaal", "jeugd + werk_en_inkomen", "overige combinaties"],
                          "n_households": ["30", "20", "10"]})
    title = {"Title": "Combinaties van domeinen bij de duurste 5% van de huishoudens: aantal en kosten"}
    combos = ExportedTable("combinaties_duurste", frame, title, "", {"label_columns": ["combinatie"]}, "x")
    assert key_findings([combos]) == ["Meest voorkomende domeincombinaties bij de duurste 5% van alle huishoudens: "
                                      "jeugd + werk en inkomen (20 huishoudens)."]
    assert key_findings([combos], Labels("en")) == [
        "Most frequent combinations of domains among the most expensive 5% of all households: youth + work and "
        "income (20 households)."]
