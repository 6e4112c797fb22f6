import textwrap

import pytest

from lib.config import ConfigError, config_reference, load_config

MINIMAL = """
[run]
name = "test"
route = "cbs"

[study]
area = ["0344"]
peildatum = 2023-12-31
years = [2019, 2020, 2021, 2022, 2023]

[prices]
price_year = 2023

[sources.cbs]
GBAPERSOONTAB = "cbs/GBAPERSOON*.csv"
GBAHUISHOUDENSBUS = "cbs/GBAHUISHOUDENS*.csv"
GBAADRESOBJECTBUS = "cbs/GBAADRESOBJECT*.csv"
VSLGWBTAB = "cbs/VSLGWB*.csv"
"""


def write(tmp_path, text, name="run.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_minimal_config_gets_defaults_and_resolves_paths_relative_to_the_file(tmp_path):
    cfg = load_config(write(tmp_path, MINIMAL))
    assert cfg["households"]["attribution"] == "peildatum"
    assert cfg["run"]["statistics_only"] is True
    assert cfg.work_dir == tmp_path / "work"
    assert cfg.export_dir == tmp_path / "export"
    assert cfg.years == [2019, 2020, 2021, 2022, 2023]
    assert cfg.peildatum.isoformat() == "2023-12-31"
    assert len(cfg.sha256) == 64


def test_unknown_and_missing_keys_are_named_with_the_file(tmp_path):
    text = MINIMAL.replace('name = "test"', 'name = "test"\ncolour = "blue"').replace("price_year = 2023", "")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message
    assert "unknown key 'colour' in [run]" in message
    assert "missing required key 'price_year' in [prices]" in message


def test_wrong_types_choices_and_cross_checks(tmp_path):
    bad = (MINIMAL.replace('route = "cbs"', 'route = "ftp"')
           .replace("years = [2019, 2020, 2021, 2022, 2023]", "years = [2019, 2021]")
           .replace('area = ["0344"]', 'area = [344]'))
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, bad))
    message = str(err.value)
    assert "route = 'ftp' must be one of 'cbs', 'municipality'" in message
    assert "years must be consecutive years" in message
    assert "area must be a non-empty list of municipality codes" in message


def test_peildatum_outside_years_and_unknown_dataset(tmp_path):
    bad = MINIMAL.replace("peildatum = 2023-12-31", "peildatum = 2025-01-01") + 'BESTAATNIETTAB = "x.csv"\n'
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, bad))
    assert "peildatum 2025-01-01 is not in the study years" in str(err.value)
    assert "unknown CBS dataset 'BESTAATNIETTAB'" in str(err.value)


def test_municipal_route_needs_its_files_and_invalid_toml_is_reported(tmp_path):
    text = MINIMAL.replace('route = "cbs"', 'route = "municipality"')
    with pytest.raises(ConfigError, match="route 'municipality' needs \\[sources.municipality\\] brp_extract"):
        load_config(write(tmp_path, text))
    with pytest.raises(ConfigError, match="not a valid TOML file"):
        load_config(write(tmp_path, "[run\nname=", name="broken.toml"))
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(tmp_path / "absent.toml")


def test_reference_lists_every_setting():
    ref = config_reference()
    for key in ("| study | peildatum | required |", "| households | attribution | 'peildatum' |",
                "| prices | price_tables | bundle default |"):
        assert key in ref


def test_disclosure_control_section_is_validated_by_its_package(tmp_path):
    good = MINIMAL + "\n[disclosure_control]\nmin_units = 15\noutput_format = \"csv_nl\"\n"
    cfg = load_config(write(tmp_path, good))
    assert cfg.disclosure_rules.min_units == 15 and cfg.disclosure_rules.output_format == "csv_nl"
    assert load_config(write(tmp_path, MINIMAL, "default.toml")).disclosure_rules.min_units == 10
    bad = MINIMAL + "\n[disclosure_control]\nminimum_units = 15\ndominance_k = 90\n"
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, bad, "bad.toml"))
    assert "[disclosure_control]" in str(err.value) and "minimum_units" in str(err.value)
    assert "dominance_k" in str(err.value)


@pytest.mark.parametrize("period, start, accepted", [
    ("year", "2021-01-01", True), ("year", "2021-07-01", False), ("half_year", "2021-07-01", True),
    ("half_year", "2021-03-01", False), ("year", "2019-01-01", False),
])
def test_monitoring_cohort_starts_on_the_first_day_of_a_period_after_the_first_year(tmp_path, period, start, accepted):
    text = MINIMAL + f'\n[monitoring]\nenabled = true\ncohort_start = {start}\nperiod = "{period}"\n'
    if accepted:
        assert load_config(write(tmp_path, text))["monitoring"]["cohort_start"].isoformat() == start
        return
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert f"[monitoring] cohort_start {start} must" in str(err.value)
