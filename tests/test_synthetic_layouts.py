"""The generated files look like the real thing: layouts, quirks, formats, dirt."""
from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest

from lib.config import load_config
from lib.layouts import APPENDIX2, BRP_EXTRACT, CBS_DATASETS, PLHH_LABELS, TYPHH_LABELS
from lib.readers import file_columns, parse_yyyymmdd, read_cbs_table
from lib.sources import CBS_FILE_NAME, SourceFile, locate_sources
from lib.synthetic.identifiers import eleven_test
from tests.conftest import SMALL_SPEC


def chosen_files(dataset_dir):
    chosen, _ = locate_sources(load_config(dataset_dir / "config.toml"))
    return chosen


def all_versions(dataset_dir, dataset, fmt):
    d = CBS_DATASETS[dataset]
    return sorted((dataset_dir / "cbs" / d.theme / d.name).rglob(f"*.{fmt}"))


def test_every_cbs_file_is_named_and_laid_out_as_its_dataset(small_dataset):
    for f in chosen_files(small_dataset):
        d = CBS_DATASETS[f.dataset]
        m = CBS_FILE_NAME.match(f.path.name)
        assert m and m["stem"] == d.file_stem and m["kind"] == d.kind, f.path
        stored = [c.upper() for c in file_columns(f)]
        wanted = [c for c in d.columns if "{year}" not in c]
        assert stored[:len(wanted)] == wanted or set(wanted) <= set(stored), (f.path, stored)
        if d.yearly_folder:
            assert f.path.parent.name == str(f.year)


def test_column_case_differs_by_file_as_in_ra(small_dataset):
    def header(dataset):
        return file_columns(SourceFile(dataset, all_versions(small_dataset, dataset, "csv")[-1], None, None, "csv"))
    assert header("WMOBUS")[0] == "rinpersoons"
    assert header("VERDTAB")[2] == "vrdaantalvermogen"      # the yearly person form (layouts.toml)
    assert "BIJSTANDAanvangUitkeringPersoon1A" in header("BIJSTANDUITKERINGTAB")
    assert header("VSLGWBTAB")[2:] == ([f"gem{y}" for y in SMALL_SPEC.years] + [f"wc{y}" for y in SMALL_SPEC.years]
                                       + [f"bc{y}" for y in SMALL_SPEC.years])
    assert header("GBAHUISHOUDENSBUS")[0] == "RINPERSOONS"


def test_rinpersoon_is_a_number_in_verdtab_and_text_elsewhere(small_dataset):
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq
    verd = pq.read_table(all_versions(small_dataset, "VERDTAB", "parquet")[0])
    hh = pq.read_table(all_versions(small_dataset, "GBAHUISHOUDENSBUS", "parquet")[0])
    assert str(verd.schema.field("rinpersoon").type) == "int64"
    assert str(hh.schema.field("RINPERSOON").type) == "string"
    # The project's reader turns both into the same integer key, so they link.
    persons = read_cbs_table(SourceFile("GBAPERSOONTAB", all_versions(small_dataset, "GBAPERSOONTAB", "parquet")[0],
                                        None, None, "parquet"), ["RINPERSOON"])
    linked = rows = 0
    for path in all_versions(small_dataset, "VERDTAB", "parquet"):
        v = read_cbs_table(SourceFile("VERDTAB", path, None, None, "parquet"), ["RINPERSOONS", "RINPERSOON"])
        linkable = (v["RINPERSOONS"] == "R").to_numpy()
        rows += linkable.sum()
        linked += v.loc[linkable, "RINPERSOON"].isin(persons["RINPERSOON"]).sum()
        assert v.loc[~linkable, "RINPERSOONS"].isin(["F", "T"]).all()
    assert linked == rows > 0


def read(small_dataset, dataset, columns, numeric=()):
    frames = [read_cbs_table(f, columns, numeric) for f in chosen_files(small_dataset) if f.dataset == dataset]
    return pd.concat(frames, ignore_index=True)


def test_open_end_conventions_and_non_linkable_persons(small_dataset):
    end_of_data = f"{SMALL_SPEC.last_year}1231"
    hh = read(small_dataset, "GBAHUISHOUDENSBUS", ["DATUMEINDEHH", "TYPHH", "PLHH"])
    assert (hh["DATUMEINDEHH"] == end_of_data).mean() > 0.5          # open spells end at the version date
    assert set(hh["TYPHH"]) <= set(TYPHH_LABELS) and set(hh["PLHH"]) <= set(PLHH_LABELS)
    addr = read(small_dataset, "GBAADRESOBJECTBUS", ["GBADATUMEINDEADRESHOUDING"])
    assert (addr["GBADATUMEINDEADRESHOUDING"] == "20501231").mean() > 0.5
    jh = read(small_dataset, "JGDHULPBUS", ["RINPERSOONS", "JGDHGELDIGHEIDEINDDATUM"])
    assert (jh["JGDHGELDIGHEIDEINDDATUM"] == "").any()                 # running trajectories: blank
    assert (jh["RINPERSOONS"] != "R").any()
    wmo = read(small_dataset, "WMOBUS", ["WMOGELDIGHEIDEINDDATUM"])
    assert (wmo["WMOGELDIGHEIDEINDDATUM"] == "20991231").any()
    # (GEDETINEERDENTAB has no dates in the yearly person form the generator writes by default.)
    start, end = "BIJSTANDAANVANGUITKERINGPERSOON1A", "BIJSTANDEINDEUITKERINGPERSOON1A"
    t = read(small_dataset, "BIJSTANDUITKERINGTAB", [start, end])
    _, _, valid_start = parse_yyyymmdd(t[start])
    days_end, blank_end, valid_end = parse_yyyymmdd(t[end])
    assert valid_start.all() and (valid_end | blank_end).all()


def test_yearly_files_repeat_spells_that_overlap_their_year(small_dataset):
    """A bijstand spell running from one year into the next appears in both years' files."""
    by_year = {}
    for f in chosen_files(small_dataset):
        if f.dataset == "BIJSTANDUITKERINGTAB":
            t = read_cbs_table(f, ["RINPERSOON", "BIJSTANDAANVANGUITKERINGPERSOON1A", "BIJSTANDEINDEUITKERINGPERSOON1A"])
            by_year[f.year] = t
    first, second = by_year[SMALL_SPEC.years[0]], by_year[SMALL_SPEC.years[1]]
    running = first[first["BIJSTANDEINDEUITKERINGPERSOON1A"] == ""]
    key = ["RINPERSOON", "BIJSTANDAANVANGUITKERINGPERSOON1A"]
    assert len(running) > 0
    assert running[key].merge(second[key]).shape[0] == len(running)


def test_older_versions_miss_some_records(small_dataset):
    v1, v2 = (read_cbs_table(SourceFile("JGDHULPBUS", p, None, None, "csv"), ["RINPERSOON"])
              for p in all_versions(small_dataset, "JGDHULPBUS", "csv"))
    assert 0.9 * len(v2) < len(v1) < len(v2)


@pytest.mark.parametrize("dataset", ["GBAHUISHOUDENSBUS", "VERDTAB", "WMOBUS", "JUSTITIEZAKENBUS"])
def test_every_format_holds_the_same_data(small_dataset, dataset):
    columns = [c for c in CBS_DATASETS[dataset].columns]
    numeric = ("AANTALPERSHH", "AANTALKINDHH", "DAGENDETENTIE", "URENTAAKSTRAF", "MAANDENTOEZICHT")
    frames = {}
    for fmt in SMALL_SPEC.formats:
        path = all_versions(small_dataset, dataset, fmt)[0]
        frames[fmt] = read_cbs_table(SourceFile(dataset, path, None, None, fmt), columns,
                                     numeric=tuple(c for c in numeric if c in columns))
    frames = {fmt: f.astype({c: object for c in f.columns if isinstance(f[c].dtype, pd.CategoricalDtype)})
              for fmt, f in frames.items()}
    base = frames.pop("csv")
    assert len(base) > 0
    for fmt, frame in frames.items():
        pd.testing.assert_frame_equal(frame, base, check_dtype=False, obj=f"{dataset} {fmt} vs csv")


def read_appendix2(path):
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    sep = ";" if text.splitlines()[0].count(";") > text.splitlines()[0].count(",") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    return raw, encoding, sep, rows


def parse_amount(text, decimal):
    if decimal == ",":
        return float(text.replace(".", "").replace(",", "."))
    return float(text)


def test_appendix2_files_follow_the_method_and_dutch_excel(small_dataset):
    files = sorted((small_dataset / "gemeente" / "kosten").glob("*.csv"))
    assert len(files) == 6
    encodings, separators = set(), set()
    for path in files:
        raw, encoding, sep, rows = read_appendix2(path)
        assert rows[0] == list(APPENDIX2.columns), path
        assert all(len(r) == len(APPENDIX2.columns) for r in rows), path
        encodings.add((encoding, raw.startswith(b"\xef\xbb\xbf")))
        separators.add(sep)
        assert all(";" not in r[0] and "," not in r[0] for r in rows[1:])   # appendix 2: no separators in names
    assert ("cp1252", False) in encodings and ("utf-8-sig", True) in encodings
    assert separators == {";", ","}
    kompas = read_appendix2(small_dataset / "gemeente" / "kosten" / "kompas_jeugdzorg.csv")[3]
    assert any("één" in r[7] for r in kompas[1:])
    assert any("." in r[6] and "," in r[6] for r in kompas[1:])       # 1.234,56
    wmo = read_appendix2(small_dataset / "gemeente" / "kosten" / "gemeente_wmo.csv")[3]
    assert any(r[2].startswith("maart ") for r in wmo[1:]) and any(r[2].startswith("mrt ") for r in wmo[1:])
    wi = read_appendix2(small_dataset / "gemeente" / "kosten" / "gemeente_werk_en_inkomen.csv")[3]
    assert any(len(r[2].split("-")) == 3 for r in wi[1:])              # 17-3-2019


def test_dirt_manifest_points_at_the_planted_rows(small_dataset):
    dirt = pd.read_csv(small_dataset / "truth" / "dirt.csv", dtype=str, keep_default_na=False)
    assert set(dirt["kind"]) == set(json.loads((small_dataset / "truth" / "summary.json").read_text())["dirt_kinds"])
    cache = {}
    for _, d in dirt.iterrows():
        if d["file"] not in cache:
            cache[d["file"]] = read_appendix2(small_dataset / d["file"])[3]
        row = cache[d["file"]][int(d["line"]) - 1]
        assert row[1] == d["bsn"] and row[6] == d["amount_text"], (d["file"], d["line"])
        kind = d["kind"]
        if kind == "invalid_bsn":
            assert not eleven_test([int(row[1])])[0]
        elif kind == "missing_bsn":
            assert row[1] == ""
        elif kind == "bad_amount":
            assert row[6] == "n.v.t."
        elif kind == "unknown_domain":
            assert row[4] == "Onbekend"
        elif kind == "duplicate":
            assert cache[d["file"]][int(d["line"]) - 2] == row
    # Credit notes net to zero per file.
    for file, group in dirt[dirt["kind"] == "credit_note_pair"].groupby("file"):
        decimal = "." if "horizon" in file else ","
        assert sum(parse_amount(a, decimal) for a in group["amount_text"]) == pytest.approx(0, abs=1e-9)
    # Every valid BSN in the files passes the eleven-test.
    for path in (small_dataset / "gemeente" / "kosten").glob("*.csv"):
        rows = read_appendix2(path)[3][1:]
        bad_lines = set(dirt.loc[dirt["file"].str.endswith(path.name) & dirt["kind"].isin(["invalid_bsn", "missing_bsn"]),
                                 "line"].astype(int))
        bsns = [int(r[1]) for i, r in enumerate(rows, start=2) if i not in bad_lines]
        assert eleven_test(bsns).all()


def test_municipal_truth_equals_the_files_read_by_hand(small_dataset):
    """An independent parse of the appendix-2 files (valid rows, credit notes netted) gives the truth."""
    dirt = pd.read_csv(small_dataset / "truth" / "dirt.csv", dtype=str, keep_default_na=False)
    rejected = dirt[~dirt["kind"].isin(["credit_note_pair"])]
    domain_of = {"jeugdhulp_midden": "jeugdhulp", "kompas_jeugdzorg": "jeugdhulp", "horizon_residentieel": "jeugdhulp",
                 "gemeente_wmo": "wmo", "gemeente_werk_en_inkomen": "bijstand", "kredietbank": "schuldhulp"}
    totals = {}
    for path in (small_dataset / "gemeente" / "kosten").glob("*.csv"):
        decimal = "." if path.stem == "horizon_residentieel" else ","
        skip = set(rejected.loc[rejected["file"].str.endswith(path.name), "line"].astype(int))
        rows = read_appendix2(path)[3]
        total = sum(parse_amount(r[6], decimal) for i, r in enumerate(rows[1:], start=2) if i not in skip)
        totals[domain_of[path.stem]] = totals.get(domain_of[path.stem], 0.0) + total
    clipped = dirt[dirt["kind"] == "straddles_start"]
    truth = pd.read_csv(small_dataset / "truth" / "municipal_costs_person_year.csv")
    truth_by_domain = truth.groupby("domain")["amount_nominal"].sum()
    # A straddling row runs 15 November - 14 February: 16 + 31 + 31 + 14 = 92 days, of which
    # 31 + 14 = 45 fall in the study period. The by-hand total above left these rows out.
    for domain, expected in totals.items():
        straddle = sum(parse_amount(a, "." if "horizon" in f else ",") * 45 / 92
                       for f, a in zip(clipped["file"], clipped["amount_text"])
                       if domain_of[f.split("/")[-1][:-4]] == domain)
        assert truth_by_domain[domain] == pytest.approx(expected + straddle, abs=0.01), domain


def test_brp_extract_has_households_by_location_and_roles(small_dataset):
    brp = pd.read_csv(small_dataset / "gemeente" / "brp_extract.csv", sep=";", dtype=str)
    assert list(brp.columns) == list(BRP_EXTRACT.columns)
    assert set(brp["Gezinsrelatie"]) <= set(BRP_EXTRACT.codes)
    assert eleven_test(brp["BSN"].astype(np.int64)).all()
    sizes = brp.groupby("Locatiecode").size()
    assert 1.8 < sizes.mean() < 2.6
    assert brp["Locatiecode"].str.startswith(SMALL_SPEC.municipal_route_code).all()
