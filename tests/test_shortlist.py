"""Sources marked as shortlists (issue 18): a provider that delivered only its most expensive clients
biases reach downward and concentration upward, so the note goes on every table that rests on the
costs (baseline, coherence, selection), once each, and among the report's key findings; not on the
tables of households alone."""
from __future__ import annotations

from lib.pipeline import step_folder
from lib.provenance import PROVENANCE, TABLE_METADATA
from tests.test_selection import _municipal_selection_run

SOURCE = "horizon_residentieel.csv"
NOTE = (f"Shortlist: Let op: {SOURCE} leverde alleen een shortlist van de duurste cliënten; kosten van andere "
        "cliënten van deze bronnen ontbreken. Het bereik is daardoor te laag en de concentratie van de kosten te hoog.")


def test_every_table_of_the_costs_says_once_that_a_source_is_a_shortlist(small_dataset, tmp_path):
    assert (small_dataset / "gemeente" / "kosten" / SOURCE).is_file()
    config = _municipal_selection_run(small_dataset, tmp_path, "shortlist",
                                      f'top_share = 0.10\nshortlist_sources = ["{SOURCE}"]\n')
    export = tmp_path / "export"
    notes = {p.name[:-len(".notes.txt")]: p.read_text(encoding="utf-8") for p in export.glob("*.notes.txt")}
    for name in ("bereik_per_domein", "concentratie_top", "samenhang_paren", "selectie_huishoudtype",
                 "selectie_domeinen", "selectie_kosten"):
        assert notes[name].count(NOTE) == 1, name
        assert notes[name].count("shortlist") == 1, name
    # Every table resting on the costs, of every step that makes them; the households step's tables
    # describe households and persons only.
    of_costs = [n for n in notes if n not in ("huishoudens_naar_type", "personen_naar_positie")]
    assert len(of_costs) > 10 and all(notes[n].count(NOTE) == 1 for n in of_costs)
    assert "shortlist" not in notes["huishoudens_naar_type"] + notes["personen_naar_positie"]

    report = (step_folder(config, "report") / "report.md").read_text(encoding="utf-8")
    # In the policy part, once, among the caveats beside the key findings.
    caveats = report.split("## Waar u op moet letten", 1)[1].split("\n## ", 1)[0]
    assert caveats.count(f"- Let op: {SOURCE} leverde alleen een shortlist van de duurste cliënten") == 1
    assert "Dit geldt voor alle tabellen met kosten, niet alleen voor de selectie." in caveats


def test_the_shortlist_setting_is_part_of_every_tables_metadata():
    assert "selection.shortlist_sources" in TABLE_METADATA
    for step in ("households", "baseline", "coherence", "selection", "monitoring"):
        parts = PROVENANCE[step].config
        assert "selection.shortlist_sources" in parts or "selection" in parts, step
