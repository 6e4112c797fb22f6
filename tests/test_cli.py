"""run_all.py --init and --check, and the messages for the mistakes a user makes (issue 19, CLI).

Every test works in its own temporary folder on the session's synthetic data (``small_dataset``), read
only: the configs written here point at its files with absolute paths and keep their work folders in
``tmp_path``.
"""
from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path

import pytest

from lib.cli import EXIT_USER_ERROR, check_run
from lib.config import CBS_REQUIRED_DATASETS, ConfigError, SCHEMA, load_config
from lib.config_template import config_template, write_config_template
from lib.errors import UserFacingError
from lib.layouts import CBS_DATASETS
from lib.pipeline import run_steps

ROOT = Path(__file__).resolve().parents[1]


def run_all_main():
    """The ``main(argv)`` of scripts/run_all.py, imported as the script is run (exit code, no shell)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        spec = importlib.util.spec_from_file_location("run_all_script", ROOT / "scripts" / "run_all.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    return module.main


def filled_cbs_template(small_dataset: Path, folder: Path) -> Path:
    """The CBS template written by --init with the RA drive replaced by the synthetic data's folder."""
    path = write_config_template("cbs", folder / "my_run.toml")
    text = path.read_text(encoding="utf-8").replace('"G:/', f'"{(small_dataset / "cbs").as_posix()}/')
    path.write_text(text, encoding="utf-8")
    return path


def test_the_cbs_template_lists_every_setting_with_its_meaning_and_the_ra_paths():
    text = config_template("cbs")
    for section, settings in SCHEMA.items():
        assert f"[{section}]" in text
        for s in settings:
            if section == "sources" and s.key in ("cbs", "municipality"):
                continue
            assert f"\n{s.key} = " in text or f"\n# {s.key} = " in text, (section, s.key)
    # Required settings are active lines, marked, with an example; defaults are commented out.
    assert "# REQUIRED. Study area: municipality codes" in text and '\narea = ["0344"]\n' in text
    assert "\npeildatum = 2023-12-31\n" in text and "\nprice_year = 2023\n" in text
    assert '\n# top_shares = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2]\n' in text
    assert "\n# price_tables =                  (default: the bundle's prices_default.csv)\n" in text
    # Every CBS dataset with the folder and file pattern of its layout; the four registers marked required.
    for name, dataset in CBS_DATASETS.items():
        assert f'\n{name} = "G:/{dataset.theme}/{name}/' in text
    assert 'BIJSTANDUITKERINGTAB = "G:/SocialeZekerheid/BIJSTANDUITKERINGTAB/*/BIJSTANDUITKERING*TAB*V*.*"' in text
    assert 'GBAHUISHOUDENSBUS = "G:/Bevolking/GBAHUISHOUDENSBUS/GBAHUISHOUDENS*BUS*V*.*"' in text
    assert text.count("# REQUIRED (household and address registers).") == len(CBS_REQUIRED_DATASETS)
    assert "\n# min_units = 10\n" in text           # the disclosure rules, at CBS's defaults
    # It parses as TOML as written, with the route and no municipal section.
    parsed = tomllib.loads(text)
    assert parsed["run"]["route"] == "cbs" and "municipality" not in parsed["sources"]


def test_init_writes_a_template_that_with_the_paths_filled_validates_and_passes_the_check(small_dataset, tmp_path):
    config_path = filled_cbs_template(small_dataset, tmp_path)
    config = load_config(config_path)
    assert sorted(config["sources"]["cbs"]) == sorted(CBS_DATASETS)
    assert config.years == [2019, 2020, 2021, 2022, 2023] and config["disclosure_control"].min_units == 10
    lines: list[str] = []
    assert check_run(config_path, out=lines.append) == 0
    text = "\n".join(lines)
    assert text.startswith(f"config {config_path.resolve()}: valid (route cbs, study area 0344, years 2019-2023")
    assert "  ok   BIJSTANDUITKERINGTAB: 5 file(s)," in text and "READY: the config and the sources are fine" in text
    # Only the inventory ran: its folder, the log and nothing else (no export folder).
    work = tmp_path / "work"
    assert sorted(p.name for p in work.iterdir()) == ["01_inventory", "logs"]
    assert (work / "01_inventory" / "step.json").is_file() and not (tmp_path / "export").exists()


def test_init_for_the_municipal_route_round_trips(small_dataset, tmp_path):
    path = write_config_template("gemeente", tmp_path / "gemeente.toml")
    text = path.read_text(encoding="utf-8")
    assert "# REQUIRED. BRP extract of the municipality" in text and '\nroute = "municipality"\n' in text
    assert "\n[sources.cbs]\n" not in text
    path.write_text(text.replace('"gemeente/', f'"{(small_dataset / "gemeente").as_posix()}/'), encoding="utf-8")
    lines: list[str] = []
    assert check_run(path, out=lines.append) == 0
    cost_files = len(list((small_dataset / "gemeente" / "kosten").glob("*.csv")))
    assert any(line.startswith(f"  ok   APPENDIX2: {cost_files} file(s)") for line in lines) and cost_files > 1
    assert any(line.startswith("  ok   BRP_EXTRACT: 1 file(s)") for line in lines)


def test_init_never_overwrites_and_names_the_routes(tmp_path, capsys):
    main = run_all_main()
    target = tmp_path / "mine.toml"
    target.write_text("# my own config\n", encoding="utf-8")
    with pytest.raises(UserFacingError) as err:
        main(["--init", "cbs", str(target)])
    assert str(err.value).startswith(f"{target.resolve()} exists already: --init never overwrites a file.")
    assert target.read_text(encoding="utf-8") == "# my own config\n"
    with pytest.raises(UserFacingError) as err:
        main(["--init", "rijk", str(tmp_path / "x.toml")])
    assert str(err.value).startswith("--init 'rijk': the routes are cbs and gemeente")
    assert main(["--init", "gemeente", str(tmp_path / "new.toml")]) == 0
    assert f"wrote {(tmp_path / 'new.toml').resolve()}: fill in the lines marked REQUIRED" in capsys.readouterr().out


def test_check_names_every_missing_source_with_its_setting_pattern_and_folder(small_dataset, tmp_path):
    config_path = filled_cbs_template(small_dataset, tmp_path)
    text = config_path.read_text(encoding="utf-8")
    cbs = (small_dataset / "cbs").as_posix()
    # A wrong folder (Wmo sits under GezondheidWelzijn) and a required register whose folder is empty.
    text = text.replace(f'WMOBUS = "{cbs}/GezondheidWelzijn/WMOBUS/', f'WMOBUS = "{cbs}/Zorg/WMOBUS/')
    empty = tmp_path / "leeg"
    empty.mkdir()
    text = text.replace(f'VSLGWBTAB = "{cbs}/BouwenWonen/VSLGWBTAB/', f'VSLGWBTAB = "{empty.as_posix()}/')
    config_path.write_text(text, encoding="utf-8")
    lines: list[str] = []
    assert check_run(config_path, out=lines.append) == EXIT_USER_ERROR
    out = "\n".join(lines)
    assert "NOT READY: 2 problem(s):" in out
    assert (f"  - [sources.cbs] VSLGWBTAB = '{empty.as_posix()}/VSLGWB*TAB*V*.*': no file matches. Searched the "
            f"folder {empty}, which is empty. Correct the path (with / between folders): this register is "
            "required") in out
    assert (f"  - [sources.cbs] WMOBUS = '{cbs}/Zorg/WMOBUS/WMO*BUS*V*.*': no file matches. Searched the folder "
            f"{Path(cbs) / 'Zorg' / 'WMOBUS'}, which does not exist (the nearest folder that exists: {Path(cbs)}). "
            "Correct the path (with / between folders), or remove the setting if the run has no such source") in out
    assert not (tmp_path / "work").exists()          # nothing ran


def test_check_names_input_files_that_are_not_there(small_dataset, tmp_path):
    config_path = filled_cbs_template(small_dataset, tmp_path)
    text = config_path.read_text(encoding="utf-8").replace("# fallback_tables = []",
                                                           'fallback_tables = ["prijzen_extra.csv"]')
    config_path.write_text(text, encoding="utf-8")
    lines: list[str] = []
    assert check_run(config_path, out=lines.append) == EXIT_USER_ERROR
    assert f"  - [prices] fallback_tables: file not found: {tmp_path / 'prijzen_extra.csv'}" in lines


def test_a_windows_path_with_backslashes_says_to_write_slashes_or_single_quotes(tmp_path):
    # "C:\Users\..." : TOML reads \U as the start of a unicode escape and refuses the file.
    path = write_config_template("cbs", tmp_path / "win.toml")
    text = path.read_text(encoding="utf-8").replace('# work_dir = "work"', 'work_dir = "C:\\Users\\onderzoek\\werk"')
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index('work_dir = "C:\\Users\\onderzoek\\werk"') + 1
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(f"{path.resolve()}: not a valid TOML file: Invalid hex value (at line {line}, column")
    assert f'line {line}: work_dir = "C:\\Users\\onderzoek\\werk"' in message
    assert "That line has a backslash between double quotes: in a TOML string between double quotes a backslash " \
           "starts an escape" in message
    assert ('Write paths with forward slashes, which work on Windows too ("G:/data/GBAPERSOON*.sav"), or between '
            "single quotes ('G:\\data\\GBAPERSOON*.sav')") in message
    # Written as the message says, it is read.
    path.write_text(text.replace('"C:\\Users\\onderzoek\\werk"', "'C:\\Users\\onderzoek\\werk'"), encoding="utf-8")
    assert load_config(path)["run"]["work_dir"] == "C:\\Users\\onderzoek\\werk"


def test_a_step_run_out_of_order_names_the_step_and_the_command_to_run_first(small_dataset, tmp_path):
    config_path = filled_cbs_template(small_dataset, tmp_path)
    config = load_config(config_path)
    command = f'python scripts/run_all.py --config "{config.path}"'
    with pytest.raises(UserFacingError) as err:
        run_steps(config, ["households"])
    message = str(err.value)
    assert message.startswith("cannot run step 'households': work files it reads are missing or out of date:")
    assert "needs the output of step 'inventory', which has not run to completion" in message
    assert message.endswith(f"Run the steps again from 'inventory' (that step and every later one):\n    {command}")
    # After the inventory, the price step alone still needs read_sources: the command runs from there.
    run_steps(config, ["inventory"])
    with pytest.raises(UserFacingError) as err:
        run_steps(config, ["price"])
    assert "needs the output of step 'read_sources'" in str(err.value)
    assert str(err.value).endswith(f"Run the steps again from 'read_sources' (that step and every later one):\n    "
                                   f"{command} --from read_sources")
    with pytest.raises(UserFacingError) as err:
        run_steps(config, None, from_step="prijs")
    assert str(err.value).startswith("unknown step 'prijs'; the steps are: inventory, read_sources, price,")


def test_a_missing_register_is_named_with_the_pattern_to_write(tmp_path):
    path = write_config_template("cbs", tmp_path / "run.toml")
    text = path.read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines() if not line.startswith("VSLGWBTAB = "))
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert ("route 'cbs' needs [sources.cbs] VSLGWBTAB (the household and address registers), e.g. VSLGWBTAB = "
            '"G:/BouwenWonen/VSLGWBTAB/VSLGWB*TAB*V*.*" (python scripts/run_all.py --init cbs writes a template '
            "with every dataset)") in str(err.value)
