"""The report: every exported table is in it, and nothing that was not exported."""
from __future__ import annotations

import json
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
    assert page.count("<table>") == len(manifest["tables"])
    assert "<img" not in page or "data:image/png;base64," in page      # self-contained


def test_the_report_shows_the_exported_cells_and_no_others(run):
    folder = step_folder(run, "report")
    page = (folder / "report.html").read_text(encoding="utf-8")
    manifest = json.loads((run.export_dir / "disclosure_manifest.json").read_text(encoding="utf-8"))
    # Every cell of every exported table is in the page as published, numbers in Dutch format
    # (labels and the suppression symbol as they are)...
    published = set()
    for csv in run.export_dir.glob("*.csv"):
        table = pd.read_csv(csv, dtype=str, keep_default_na=False)
        labels = set(manifest["tables"][csv.stem]["label_columns"])
        for column in table.columns:
            for value in table[column]:
                shown_as = value if column in labels else dutch(value)
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
