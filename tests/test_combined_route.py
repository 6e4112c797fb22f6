"""The combined route: CBS registers and appendix-2 files linked by CBS to RINPERSOON in one run,
with the overlap rule ([sources] overlap), against the generator's truth."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from lib.appendix2 import read_appendix2
from lib.config import ConfigError, load_config
from lib.errors import UserFacingError
from lib.pipeline import run_steps, step_folder
from lib.synthetic.generate import COMBINED_OVERLAP
from lib.synthetic.truth import load_cpi
from lib.workfiles import read_table

STEPS = ["inventory", "read_sources", "price"]


def config_variant(small_dataset, tmp_path, name: str, old: str, new: str):
    text = (small_dataset / "config_gecombineerd.toml").read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new).replace('work_dir = "work_gecombineerd"',
                                          f'work_dir = "{(tmp_path / "work").as_posix()}"').replace(
        'export_dir = "export_gecombineerd"', f'export_dir = "{(tmp_path / "export").as_posix()}"')
    path = small_dataset / f"config_{name}.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


@pytest.fixture(scope="module")
def combined_run(small_dataset):
    config = load_config(small_dataset / "config_gecombineerd.toml")
    run_steps(config, STEPS)
    return config


def in_price_year(frame: pd.DataFrame, nominal: str, price_year: int) -> pd.Series:
    cpi = load_cpi()
    return frame[nominal] * cpi[price_year] / cpi.reindex(frame["year"]).to_numpy()


def truth_of_combined_run(small_dataset, price_year: int, provider_priced: set[str]) -> pd.Series:
    """Cost per RINPERSOON, year and domain: the registers' truth for the domains they price, the
    linked appendix-2 files' truth (what a correct reading gives) for the domains the providers
    price and for debt help (which only the municipality's file has)."""
    registers = pd.read_csv(small_dataset / "truth" / "costs_person_year.csv")
    registers = registers[(registers["source"] != "kredietbank") & ~registers["domain"].isin(provider_priced)]
    files = pd.read_csv(small_dataset / "truth" / "municipal_costs_person_year.csv")
    files = files[files["domain"].isin(provider_priced | {"schuldhulp"})]
    both = pd.concat([registers.assign(cost=in_price_year(registers, "cost_nominal", price_year)),
                      files.assign(cost=in_price_year(files, "amount_nominal", price_year))])
    return both.groupby(["rinpersoon", "year", "domain"])["cost"].sum()


def ledger_by_person_year_domain(config) -> pd.Series:
    from lib.dates import year_of_month
    ledger = read_table(step_folder(config, "price") / "ledger")
    persons = read_table(step_folder(config, "read_sources") / "persons")
    frame = pd.DataFrame({"key": persons["key"].to_numpy()[ledger["person"].to_numpy()],
                          "year": year_of_month(ledger["month"].to_numpy()),
                          "domain": ledger["domain"].astype(str), "cost": ledger["cost"]})
    return frame.groupby(["key", "year", "domain"])["cost"].sum()


def compare(got: pd.Series, truth: pd.Series) -> pd.DataFrame:
    truth.index.names = got.index.names
    both = pd.concat([got.rename("got"), truth.rename("truth")], axis=1).fillna(0.0)
    return both.assign(diff=(both["got"] - both["truth"]).abs())


def log_euros(config, pattern: str) -> list[float]:
    """The euros of the last log line that matches ``pattern`` (its groups, as written: 1,234.56)."""
    text = (config.work_dir / "logs" / "run.log").read_text(encoding="utf-8")
    found = re.findall(pattern, text)
    assert found, pattern
    return [float(x.replace(",", "")) for x in found[-1]]


def test_combined_run_costs_equal_the_truth_to_the_cent(small_dataset, combined_run):
    provider_priced = {d for d, rule in COMBINED_OVERLAP.items() if rule == "provider"}
    assert provider_priced == {"jeugdhulp"}
    truth = truth_of_combined_run(small_dataset, combined_run["prices"]["price_year"], provider_priced)
    both = compare(ledger_by_person_year_domain(combined_run), truth)
    assert len(both) > 1000 and both["truth"].sum() > 0
    assert both["diff"].max() < 0.005, both.sort_values("diff").tail()
    per_domain = both.groupby(level="domain")[["got", "truth"]].sum()
    assert {"jeugdhulp", "schuldhulp", "wmo", "bijstand", "politie"} <= set(per_domain.index)
    assert (per_domain["got"] - per_domain["truth"]).abs().max() < 0.01


def test_the_log_and_the_accounts_show_both_totals_of_an_overlap(small_dataset, combined_run):
    price_year = combined_run["prices"]["price_year"]
    registers = pd.read_csv(small_dataset / "truth" / "costs_person_year.csv")
    files = pd.read_csv(small_dataset / "truth" / "municipal_costs_person_year.csv")
    register_jeugd = in_price_year(registers[registers["domain"] == "jeugdhulp"], "cost_nominal", price_year).sum()
    files_jeugd = files[files["domain"] == "jeugdhulp"]
    # The providers price youth care; the register's euros (every person of the country) are shown beside.
    priced, other = log_euros(combined_run, r"overlap jeugdhulp: priced from the providers' files, EUR ([\d,.]+); "
                                            r"the register\(s\) would price it at EUR ([\d,.]+)")
    assert priced == pytest.approx(in_price_year(files_jeugd, "amount_nominal", price_year).sum(), abs=0.02)
    assert other == pytest.approx(register_jeugd, abs=0.02)
    overlap = pd.read_csv(step_folder(combined_run, "read_sources") / "overlap.csv").set_index("domain")
    assert overlap["priced_by"].to_dict() == COMBINED_OVERLAP
    assert overlap.loc["jeugdhulp", "register_sources"] == "JGDHULPBUS"
    assert overlap.loc["jeugdhulp", "provider_euros"] == pytest.approx(files_jeugd["amount_nominal"].sum(), abs=0.01)
    # Wmo is priced by the register: its providers' euros are in the log, not in the ledger.
    priced, other = log_euros(combined_run, r"overlap wmo: priced from the register\(s\), EUR ([\d,.]+); the "
                                            r"providers' files hold EUR ([\d,.]+)")
    files_wmo = files[files["domain"] == "wmo"]
    assert other == pytest.approx(in_price_year(files_wmo, "amount_nominal", price_year).sum(), abs=0.02)
    assert priced == pytest.approx(in_price_year(registers[registers["domain"] == "wmo"], "cost_nominal",
                                                 price_year).sum(), abs=0.02)


def test_the_overlap_rule_switches_which_source_prices(small_dataset, combined_run, tmp_path):
    config = config_variant(small_dataset, tmp_path, "jeugd_register", 'jeugdhulp = "provider"',
                            'jeugdhulp = "register"')
    run_steps(config, STEPS)
    price_year = config["prices"]["price_year"]
    truth = truth_of_combined_run(small_dataset, price_year, set())
    both = compare(ledger_by_person_year_domain(config), truth)
    assert both["diff"].max() < 0.005, both.sort_values("diff").tail()
    jeugd = both.xs("jeugdhulp", level="domain")
    combined = ledger_by_person_year_domain(combined_run).xs("jeugdhulp", level="domain")
    assert jeugd["got"].sum() > 3 * combined.sum() > 0     # the register prices every client of the country
    files = pd.read_csv(small_dataset / "truth" / "municipal_costs_person_year.csv")
    priced, other = log_euros(config, r"overlap jeugdhulp: priced from the register\(s\), EUR ([\d,.]+); the "
                                      r"providers' files hold EUR ([\d,.]+)")
    assert priced == pytest.approx(jeugd["truth"].sum(), abs=0.02)
    assert other == pytest.approx(combined.sum(), abs=0.02)
    assert other == pytest.approx(in_price_year(files[files["domain"] == "jeugdhulp"], "amount_nominal",
                                                price_year).sum(), abs=0.02)


def test_a_domain_in_both_without_a_rule_is_refused(small_dataset, tmp_path):
    config = config_variant(small_dataset, tmp_path, "no_wmo_rule", 'wmo = "register", ', "")
    with pytest.raises(UserFacingError) as err:
        run_steps(config, ["inventory", "read_sources"])
    message = str(err.value)
    assert "domain 'wmo' is in the register(s) WMOBUS and in providers' appendix-2 files" in message
    assert 'under [sources]: overlap = { wmo = "register" }' in message
    assert "jeugdhulp" not in message


def test_unlinkable_rows_of_the_linked_files_are_rejected_with_their_reason(small_dataset, combined_run):
    dirt = pd.read_csv(small_dataset / "truth" / "dirt.csv")
    expected = dirt[~dirt["kind"].isin(["credit_note_pair", "straddles_start"])]
    folder = step_folder(combined_run, "read_sources") / "rejected"
    got = pd.concat([pd.read_csv(p, dtype=str).assign(file=f"gemeente/kosten/{p.stem.split('_', 1)[1]}")
                     for p in folder.glob("appendix2*.csv")])
    got["line"] = got["line"].astype(int)
    assert sorted(zip(got["file"], got["line"])) == sorted(zip(expected["file"], expected["line"]))
    merged = got.merge(expected, on=["file", "line"])
    unlinked = merged[merged["kind"].isin(["invalid_bsn", "missing_bsn"])]
    assert len(unlinked) >= 12
    assert (unlinked["reason"] == "RINPERSOONS is not 'R': the person cannot be linked").all()
    assert (unlinked["rinpersoons"] == "B").all()
    rejections = pd.read_csv(step_folder(combined_run, "read_sources") / "rejections.csv")
    not_r = rejections[rejections["reason"].str.startswith("RINPERSOONS is not")]
    assert not_r[not_r["source"].str.startswith("appendix2:")]["rows"].sum() == len(unlinked)


def test_the_ledger_carries_each_providers_code(small_dataset, combined_run):
    ledger = read_table(step_folder(combined_run, "price") / "ledger")
    assert ledger["provider"].dtype == np.int16
    providers = pd.read_csv(step_folder(combined_run, "read_sources") / "providers.csv")
    assert providers["provider"].tolist() == list(range(1, len(providers) + 1))
    from lib.dates import year_of_month
    price_year = combined_run["prices"]["price_year"]
    named = ledger[ledger["provider"] > 0].assign(
        instelling=lambda x: providers.set_index("provider")["name"].reindex(x["provider"]).to_numpy(),
        year=lambda x: year_of_month(x["month"].to_numpy()))
    got = named.groupby(["instelling", "year"])["cost"].sum()
    truth = pd.read_csv(small_dataset / "truth" / "municipal_costs_provider_year.csv")
    truth = truth[truth["domain"].isin(["jeugdhulp", "schuldhulp"])]       # the providers price these
    expected = truth.assign(cost=in_price_year(truth, "amount_nominal", price_year)).groupby(
        ["instelling", "year"])["cost"].sum()
    both = compare(got, expected)
    assert set(both.index.get_level_values(0)) >= {"Jeugdhulp Midden", "Stichting Kompas Jeugdzorg"}
    assert both["diff"].max() < 0.01, both


def test_linked_files_and_pseudonyms_are_read_by_their_key(tmp_path):
    mapping = pd.DataFrame({"domain_label": ["Jeugd"], "cost_code": [""], "domain": ["jeugdhulp"]})
    start, end = 17897, 19722            # 2019-01-01 .. 2023-12-31
    rin = tmp_path / "rin.csv"
    rin.write_text("Instelling;RINPERSOONS;RINPERSOON;BSN;Begindatum;Einddatum;Domein;Code/verdeling kosten;Bedrag\n"
                   "Zorg BV;R;000012345;111222333;20190301;;Jeugd;A;100,00\n"
                   "Zorg BV;B;;;20190301;;Jeugd;A;200,00\n"
                   "zorg  bv;R;12x;;20190301;;Jeugd;A;300,00\n", encoding="utf-8")
    result = read_appendix2(rin, start, end, mapping, key="rin")
    assert result.records["key"].tolist() == [12345]
    assert result.rejected.set_index("line")["reason"].to_dict() == {
        3: "RINPERSOONS is not 'R': the person cannot be linked",
        4: "RINPERSOON missing or not a number of at most 9 digits"}
    assert "bsn" not in result.rejected.columns         # a BSN column beside the RIN is not read
    pseudo = tmp_path / "pseudo.csv"
    # 123456789 fails the eleven-test: a pseudonym is never eleven-tested.
    pseudo.write_text("Instelling;Pseudoniem;Begindatum;Einddatum;Domein;Code/verdeling kosten;Bedrag\n"
                      "Zorg BV;123456789;20190301;;Jeugd;A;100,00\n"
                      "Zorg BV;;20190301;;Jeugd;A;200,00\n"
                      "Zorg BV;AB12;20190301;;Jeugd;A;300,00\n", encoding="utf-8")
    result = read_appendix2(pseudo, start, end, mapping, key="pseudonym", key_column="Pseudoniem")
    assert result.records["key"].tolist() == [123456789]
    assert result.rejected.set_index("line")["reason"].to_dict() == {
        3: "no pseudonym", 4: "pseudonym is not a number of at most 9 digits"}
    with pytest.raises(UserFacingError, match="lacks Pseudoniem"):
        read_appendix2(rin, start, end, mapping, key="pseudonym", key_column="Pseudoniem")


def test_linked_cost_files_belong_to_the_cbs_route(small_dataset, tmp_path):
    text = (small_dataset / "config_gemeente.toml").read_text(encoding="utf-8")
    path = tmp_path / "wrong.toml"
    path.write_text(text + '\n[sources.cbs]\ncost_files = ["x.csv"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[sources.cbs\] cost_files .* belong to route 'cbs'"):
        load_config(path)
    path.write_text(text.replace("[sources.municipality]", "[sources]\noverlap = { wmo = \"beide\" }\n\n"
                                 "[sources.municipality]"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[sources\] overlap must map domains to 'register' or 'provider'"):
        load_config(path)


def test_the_overlap_marks_worked_out_by_hand():
    from lib.steps.read_sources import mark_overlap
    records = pd.DataFrame({
        "person": [0, 1, 1, 2, 3, 4],
        "source": pd.Categorical(["JGDHULPBUS", "appendix2:a.csv", "UITKERINGBEDRAGTAB", "UITKERINGBEDRAGTAB",
                                  "appendix2:a.csv", "BIJSTANDUITKERINGTAB"]),
        "domain": pd.Categorical(["", "jeugdhulp", "bijstand", "overige_uitkering", "bijstand", ""]),
        "amount": [np.nan, 100.0, 50.0, 25.0, 70.0, np.nan]})
    overlap, lines = mark_overlap(records, {"jeugdhulp": "provider", "bijstand": "register", "wmo": "register"})
    # Youth care priced by the file: the register's row is marked; bijstand by the registers: the file's row.
    assert records["priced_elsewhere"].tolist() == [True, False, False, False, True, False]
    assert overlap.set_index("domain")[["register_sources", "register_records", "provider_euros"]].to_dict(
        "index") == {"bijstand": {"register_sources": "BIJSTANDUITKERINGTAB;UITKERINGBEDRAGTAB", "register_records": 2,
                                  "provider_euros": 70.0},
                     "jeugdhulp": {"register_sources": "JGDHULPBUS", "register_records": 1, "provider_euros": 100.0}}
    assert any("overlap wmo" in line and "not used" in line for line in lines)
    # A register of several domains (IOAW, IOAZ and Bbz spells are overige_uitkering) cannot give one up.
    with pytest.raises(UserFacingError, match="BIJSTANDUITKERINGTAB prices its records in several domains"):
        mark_overlap(records.drop(columns="priced_elsewhere"), {"jeugdhulp": "provider", "bijstand": "provider"})


def test_the_route_and_key_column_say_how_files_name_their_persons(small_dataset, tmp_path):
    from lib.steps.read_sources import person_key
    assert person_key(load_config(small_dataset / "config_gecombineerd.toml")) == ("rin", "")
    assert person_key(load_config(small_dataset / "config_gemeente.toml")) == ("bsn", "BSN")
    text = (small_dataset / "config_gemeente.toml").read_text(encoding="utf-8").replace(
        "[sources.municipality]\n", '[sources.municipality]\nkey_column = "Pseudoniem"\n')
    path = tmp_path / "pseudoniem.toml"
    path.write_text(text, encoding="utf-8")
    assert person_key(load_config(path)) == ("pseudonym", "Pseudoniem")
