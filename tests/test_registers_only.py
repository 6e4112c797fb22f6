"""A run over the registers alone (issue 18): the CBS route with only the population, household and
address registers and no cost source. Allowed, to check households and residence first: the
households step publishes its tables, the cost steps make none, and the log, every table and the
report say that no costs were read (a domain without a source is not measured, never zero)."""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from lib.config import load_config
from lib.pipeline import run_steps, step_folder
from lib.steps.read_sources import registers_only
from lib.workfiles import read_table

REGISTERS = ("GBAPERSOONTAB", "GBAHUISHOUDENSBUS", "GBAADRESOBJECTBUS", "VSLGWBTAB")
NO_COSTS = "Kosten: geen kosten gelezen: alleen registers"
COST_STEPS = ("cube", "baseline", "coherence", "selection", "monitoring")


def _registers_only_config(small_dataset, tmp_path, name: str, extra: str = ""):
    """The small data set's CBS config without its cost datasets, with folders of its own."""
    lines = (small_dataset / "config.toml").read_text(encoding="utf-8").splitlines()
    in_cbs, kept = False, []
    for line in lines:
        if line.startswith("["):
            in_cbs = line.strip() == "[sources.cbs]"
        elif in_cbs and "=" in line and line.split("=")[0].strip() not in REGISTERS:
            continue
        kept.append(line)
    text = ("\n".join(kept) + "\n" + extra).replace(
        'work_dir = "work"', f'work_dir = "{(tmp_path / "work").as_posix()}"').replace(
        'export_dir = "export"', f'export_dir = "{(tmp_path / "export").as_posix()}"')
    path = small_dataset / f"config_{name}.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


@pytest.fixture(scope="module")
def registers_run(small_dataset, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("registers_only")
    # Monitoring enabled as well: it too is skipped, not run on costs that were never read.
    config = _registers_only_config(small_dataset, tmp_path, "registers_only",
                                    "\n[monitoring]\nenabled = true\ncohort_start = 2021-01-01\n")
    assert sorted(config["sources"]["cbs"]) == sorted(REGISTERS)
    results = run_steps(config)
    return config, results, tmp_path


def test_registers_only_is_decided_by_the_configured_sources(small_dataset, tmp_path):
    config = _registers_only_config(small_dataset, tmp_path, "registers_decided")
    assert registers_only(config)
    assert not registers_only(load_config(small_dataset / "config.toml"))
    assert not registers_only(load_config(small_dataset / "config_gemeente.toml"))


def test_only_the_household_tables_are_published_each_saying_no_costs_were_read(registers_run):
    config, _, tmp_path = registers_run
    export = tmp_path / "export"
    tables = sorted(p.name[:-len(".notes.txt")] for p in export.glob("*.notes.txt"))
    assert tables == ["huishoudens_naar_type", "personen_naar_positie"]
    assert (export / "export_complete.json").is_file()
    for name in tables:
        notes = (export / f"{name}.notes.txt").read_text(encoding="utf-8")
        assert notes.count(NO_COSTS) == 1, name
        assert "niet gemeten, dus niet nul" in notes
        assert "Shortlist" not in notes
        assert "prijspeil" not in notes          # no amounts, so no price level is stated
    # The households are those of the register at the peildatum: the published total is the
    # households step's included households (360 in the small data set's study area).
    households = read_table(step_folder(config, "households") / "households")
    evidence = pd.read_csv(tmp_path / "work" / "evidence" / "huishoudens_naar_type.cells.csv", dtype=str)
    total = float(evidence.set_index("huishoudtype").loc["Totaal", "true_n_households"])
    assert total == households["included"].sum() > 0


def test_the_cost_steps_are_skipped_with_a_note_and_the_log_says_no_costs_were_read(registers_run):
    config, results, tmp_path = registers_run
    for step in COST_STEPS:
        assert results[step].notes == ["skipped: no costs were read: a run over the registers alone ([sources] "
                                       "names no cost source); households and residence only; no cost tables"], step
        assert not list((step_folder(config, step) / "tables").glob("*.json")), step
        manifest = json.loads((step_folder(config, step) / "step.json").read_text(encoding="utf-8"))
        assert manifest["notes"] == results[step].notes
    assert results["read_sources"].counts["records"] == 0
    log = (tmp_path / "work" / "logs" / "run.log").read_text(encoding="utf-8")
    assert "a run over the registers alone ([sources] names no cost source): no costs will be read" in log
    assert "no costs were read: a run over the registers alone" in log
    assert "nothing to price, the ledger is empty" in log
    assert log.count("skipped: no costs were read") == len(COST_STEPS)
    # No euro amount is logged as if it were measured (no "total cost EUR 0.00", no price check).
    assert not re.search(r"EUR\s+0\.00|total cost EUR|price check", log)


def test_the_report_says_no_costs_were_read(registers_run):
    _, _, tmp_path = registers_run
    report = (tmp_path / "work" / "11_report" / "report.md").read_text(encoding="utf-8")
    findings = report.split("## Kernpunten", 1)[1].split("##", 1)[0]
    assert findings.strip().startswith("- Geen kosten gelezen: deze run las alleen de registers")
    assert "Bereik" not in findings and "Concentratie" not in findings
    assert (tmp_path / "work" / "11_report" / "report.html").read_text(encoding="utf-8").count(
        "Geen kosten gelezen: deze run las alleen de registers") == 1
