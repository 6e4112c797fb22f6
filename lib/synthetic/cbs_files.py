"""Turn one chunk of synthetic records into the CBS Remote Access file layouts.

The quirks of real files are planted on purpose, each described in ``lib.layouts``:
column-name case differing by file, RINPERSOON as a number in VERDTAB, a few records of
persons with RINPERSOONS other than ``R``, open spells ending at the version end date,
at a far-future date or blank, yearly TAB files repeating spells that overlap the year,
and more than one version of some files (older versions miss late registrations).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.dates import days_from_ymd, ymd_from_days, yyyymmdd_text
from lib.layouts import CBS_DATASETS
from lib.synthetic import identifiers as ids
from lib.synthetic.neighbourhoods import area_codes
from lib.synthetic.population import OPEN_END, Population
from lib.synthetic.problems import ProblemRecords
from lib.synthetic.spec import GeneratorSpec

FAR_FUTURE_ADDRESS = "20501231"
FAR_FUTURE_WMO = "20991231"
NON_LINKABLE_RINPERSOONS = ("F", "T")
# Share of records of persons without a linkable key, per file (set aside by readers).
NON_LINKABLE_SHARE = {"VERDTAB": 0.010, "JGDHULPBUS": 0.005, "WMOBUS": 0.003}
# Share of records missing from the older of two versions of a file.
OLD_VERSION_MISSING = 0.03
YEARLY_FORM, DATED_FORM = "yearly", "dated"
"""The forms of the justice registers (``GeneratorSpec.justice_form``): the yearly person tables of
the public documentation (lib/reference_data/layouts.toml), or dated rows
(lib/reference_data/layouts_justice_dated.toml)."""


@dataclass(frozen=True)
class CbsFile:
    """One file to write: its dataset, year and version, and the rows of this chunk."""

    dataset: str
    year: int
    version: int
    frame: pd.DataFrame

    @property
    def relative_stem(self) -> str:
        d = CBS_DATASETS[self.dataset]
        return f"cbs/{d.relative_folder(self.year)}/{d.file_stem}{self.year}{d.kind}V{self.version}"


def _text_dates(days, open_text: str, limit: int | None = None) -> np.ndarray:
    """YYYYMMDD text, with ``open_text`` for open ends (and for ends after ``limit``)."""
    days = np.asarray(days, dtype=np.int64)
    is_open = days >= OPEN_END if limit is None else days > limit
    out = yyyymmdd_text(np.where(is_open, 0, days)).astype(object)
    out[is_open] = open_text
    return out


def _non_linkable(rng, frame: pd.DataFrame, share: float, key_columns=("RINPERSOONS", "RINPERSOON"),
                  numeric: bool = False) -> pd.DataFrame:
    """Copies of a share of rows under keys of persons that cannot be linked."""
    if len(frame) == 0:
        return frame
    n = max(1, int(round(len(frame) * share)))      # at least one, so small data sets have the quirk too
    extra = frame.iloc[rng.choice(len(frame), n, replace=False)].copy()
    extra[key_columns[0]] = rng.choice(NON_LINKABLE_RINPERSOONS, n)
    rin = rng.integers(0, 10**9, n)
    extra[key_columns[1]] = rin if numeric else ids.zero_padded(rin, 9)
    return pd.concat([frame, extra], ignore_index=True)


def build_cbs_files(spec: GeneratorSpec, pop: Population, rec: ProblemRecords, bijstand_amounts: pd.DataFrame,
                    rng: np.random.Generator) -> list[CbsFile]:
    """Every CBS file's rows for one chunk. ``bijstand_amounts``: person, year, amount."""
    seed, last, years = spec.seed, spec.last_year, spec.years
    version_end = str(yyyymmdd_text(spec.period_end))
    persons = pop.persons
    rin = ids.rinpersoon(persons["person_global"].to_numpy(), seed)
    files: list[CbsFile] = []

    # GBAPERSOONTAB: everybody ever registered.
    b_year, b_month, b_day = ymd_from_days(persons["birth_day"].to_numpy())
    files.append(CbsFile("GBAPERSOONTAB", last, 1, pd.DataFrame({
        "RINPERSOONS": "R", "RINPERSOON": rin,
        "GBAGESLACHT": persons["sex"].astype(str).to_numpy(),
        "GBAGEBOORTEJAAR": b_year.astype("U4"),
        "GBAGEBOORTEMAAND": ids.zero_padded(b_month, 2),
        "GBAGEBOORTEDAG": ids.zero_padded(b_day, 2),
        "GBAGENERATIE": rng.choice(["0", "1", "2"], size=len(persons), p=[0.75, 0.14, 0.11]),
    })))

    # GBAHUISHOUDENSBUS: one row per person per household spell.
    m = pop.memberships
    h = pop.households.iloc[m["hh"].to_numpy()]
    files.append(CbsFile("GBAHUISHOUDENSBUS", last, 1, pd.DataFrame({
        "RINPERSOONS": "R", "RINPERSOON": rin[m["person"].to_numpy()],
        "DATUMAANVANGHH": yyyymmdd_text(m["start"].to_numpy()),
        "DATUMEINDEHH": _text_dates(m["end"], version_end),
        "HUISHOUDNR": ids.huishoudnr(h["hh_global"].to_numpy(), seed),
        "TYPHH": h["typhh"].astype(str).to_numpy(),
        "PLHH": m["plhh"].astype(str).to_numpy(),
        "REFPERSOONHH": np.where(m["is_reference"].to_numpy(), "1", "0"),
        "AANTALPERSHH": h["n_persons"].to_numpy().astype(np.int64),
        "AANTALKINDHH": h["n_children"].to_numpy().astype(np.int64),
    })))

    # GBAADRESOBJECTBUS and VSLGWBTAB.
    a = pop.addresses
    files.append(CbsFile("GBAADRESOBJECTBUS", last, 1, pd.DataFrame({
        "RINPERSOONS": "R", "RINPERSOON": rin[a["person"].to_numpy()],
        "GBADATUMAANVANGADRESHOUDING": yyyymmdd_text(a["start"].to_numpy()),
        "GBADATUMEINDEADRESHOUDING": _text_dates(a["end"], FAR_FUTURE_ADDRESS),
        "SOORTOBJECTNUMMER": "A", "RINOBJECTNUMMER": ids.rinobjectnummer(a["obj"].to_numpy(), seed),
    })))
    objects = pop.households.drop_duplicates("obj")
    vsl = {"SOORTOBJECTNUMMER": "A", "RINOBJECTNUMMER": ids.rinobjectnummer(objects["obj"].to_numpy(), seed)}
    muni_idx = objects["muni"].to_numpy()
    for year in years:
        codes = np.array([m_.merged_into if (m_.merged_into and year >= m_.merger_year) else m_.code
                          for m_ in spec.municipalities], dtype=object)
        vsl[f"gem{year}"] = codes[muni_idx]       # lower case, as in the real file
    # Wijk and buurt codes per year (lib.synthetic.neighbourhoods: from the object number, no
    # draw from this generator's random stream).
    areas = {year: area_codes(spec, objects["obj"].to_numpy(), muni_idx, year) for year in years}
    vsl |= {f"wc{year}": areas[year][0] for year in years} | {f"bc{year}": areas[year][1] for year in years}
    files.append(CbsFile("VSLGWBTAB", last, 1, pd.DataFrame(vsl)))

    pr = rec.priced

    def spells(source: str) -> pd.DataFrame:
        return pr[pr["source"] == source]

    # JGDHULPBUS: open trajectories blank; V2 complete, V1 misses late registrations.
    s = spells("JGDHULPBUS")
    jh = pd.DataFrame({"RINPERSOONS": "R", "RINPERSOON": rin[s["person"].to_numpy()],
                       "JGDHGELDIGHEIDBEGINDATUM": yyyymmdd_text(s["start"].to_numpy()),
                       "JGDHGELDIGHEIDEINDDATUM": _text_dates(s["end"], "", limit=spec.period_end),
                       "JGDHHULPVORM": s["code"].to_numpy(dtype=object)})
    jh = _non_linkable(rng, jh, NON_LINKABLE_SHARE["JGDHULPBUS"])
    files.append(CbsFile("JGDHULPBUS", last, 2, jh))
    files.append(CbsFile("JGDHULPBUS", last, 1, jh[rng.random(len(jh)) >= OLD_VERSION_MISSING]))

    # JGDBESCHERMBUS: last year's file and the year before's (newest must win).
    s = spells("JGDBESCHERMBUS")
    for year in (last - 1, last):
        cut = int(days_from_ymd(year, 12, 31))
        s_y = s[s["start"].to_numpy() <= cut]
        files.append(CbsFile("JGDBESCHERMBUS", year, 1, pd.DataFrame({
            "RINPERSOONS": "R", "RINPERSOON": rin[s_y["person"].to_numpy()],
            "JGDBGELDIGHEIDBEGINDATUM": yyyymmdd_text(s_y["start"].to_numpy()),
            "JGDBGELDIGHEIDEINDDATUM": _text_dates(s_y["end"], str(yyyymmdd_text(cut)), limit=cut),
            "JGDBMAATREGEL": s_y["code"].to_numpy(dtype=object)})))

    s = spells("JGDRECLASBUS")
    files.append(CbsFile("JGDRECLASBUS", last, 1, pd.DataFrame({
        "RINPERSOONS": "R", "RINPERSOON": rin[s["person"].to_numpy()],
        "JGDRGELDIGHEIDBEGINDATUM": yyyymmdd_text(s["start"].to_numpy()),
        "JGDRGELDIGHEIDEINDDATUM": _text_dates(s["end"], version_end, limit=spec.period_end),
        "JGDRMAATREGEL": s["code"].to_numpy(dtype=object)})))

    # WMOBUS: lower-case column names, open arrangements end in 2099.
    s = spells("WMOBUS")
    wmo = pd.DataFrame({"rinpersoons": "R", "rinpersoon": rin[s["person"].to_numpy()],
                        "wmogeldigheidbegindatum": yyyymmdd_text(s["start"].to_numpy()),
                        "wmogeldigheideinddatum": _text_dates(s["end"], FAR_FUTURE_WMO, limit=spec.period_end),
                        "wmosoortvoorziening": s["code"].to_numpy(dtype=object)})
    files.append(CbsFile("WMOBUS", last, 1, _non_linkable(rng, wmo, NON_LINKABLE_SHARE["WMOBUS"],
                                                          ("rinpersoons", "rinpersoon"))))

    # Yearly TAB files of spells: each year's file holds the spells overlapping it. In the yearly
    # person form (spec.justice_form), GEDETINEERDENTAB holds each person of those spells once.
    for source, dataset, columns in (
            ("BIJSTANDUITKERINGTAB", "BIJSTANDUITKERINGTAB",
             ("BIJSTANDAanvangUitkeringPersoon1A", "BIJSTANDEindeUitkeringPersoon1A", "BIJSTANDNormA")),
            ("GEDETINEERDENTAB", "GEDETINEERDENTAB", ("DETDATUMINSTROOM", "DETDATUMUITSTROOM", "DETSOORTINRICHTING"))):
        s = spells(source)
        for year in years:
            y0, y1 = int(days_from_ymd(year, 1, 1)), int(days_from_ymd(year, 12, 31))
            s_y = s[(s["start"].to_numpy() <= y1) & (s["end"].to_numpy() >= y0)]
            frame = {"RINPERSOONS": "R", "RINPERSOON": rin[s_y["person"].to_numpy()],
                     columns[0]: yyyymmdd_text(s_y["start"].to_numpy()),
                     columns[1]: _text_dates(s_y["end"], "", limit=y1),
                     columns[2]: s_y["code"].to_numpy(dtype=object)}
            if dataset == "BIJSTANDUITKERINGTAB":
                frame = {k: frame[k] for k in ("RINPERSOONS", "RINPERSOON", columns[0], columns[1])} | {
                    "BIJSTANDStatistiekcodeA": "1", columns[2]: frame[columns[2]]}
            elif spec.justice_form == YEARLY_FORM:
                frame = yearly_detainees(pd.DataFrame(frame))
            files.append(CbsFile(dataset, year, 1, pd.DataFrame(frame)))

    # UITKERINGBEDRAGTAB: bijstand amounts (the priced spells) and other benefits, per year.
    other = rec.benefit_amounts
    for year in years:
        b = bijstand_amounts[bijstand_amounts["year"] == year]
        o = other[other["year"] == year]
        frame = pd.DataFrame({
            "RINPERSOONS": "R",
            "RINPERSOON": np.concatenate([rin[b["person"].to_numpy()], rin[o["person"].to_numpy()]]),
            "UITKERINGSOORT": np.concatenate([np.full(len(b), "BIJSTAND", object), o["soort"].to_numpy(dtype=object)]),
            "BEDRAGJAAR": np.concatenate([b["amount"].to_numpy(float), o["amount"].to_numpy(float)]),
        })
        files.append(CbsFile("UITKERINGBEDRAGTAB", year, 1, frame))

    # VERDTAB and HALTTAB per year, including the year before the study (to be ignored).
    rin_num = ids.rinpersoon_int(persons["person_global"].to_numpy(), seed)
    s_v, s_h = spells("VERDTAB"), spells("HALTTAB")
    for year in [years[0] - 1] + years:
        y0, y1 = int(days_from_ymd(year, 1, 1)), int(days_from_ymd(year, 12, 31))
        v = s_v[(s_v["start"].to_numpy() >= y0) & (s_v["start"].to_numpy() <= y1)]
        verd = pd.DataFrame({"rinpersoons": "R", "rinpersoon": rin_num[v["person"].to_numpy()],
                             "vrddatumregistratie": yyyymmdd_text(v["start"].to_numpy()),
                             "vrdmisdrijfcategorie": v["code"].to_numpy(dtype=object)})
        verd = _non_linkable(rng, verd, NON_LINKABLE_SHARE["VERDTAB"], ("rinpersoons", "rinpersoon"), numeric=True)
        yearly = spec.justice_form == YEARLY_FORM
        files.append(CbsFile("VERDTAB", year, 2 if year == years[2] else 1, yearly_suspects(verd) if yearly else verd))
        if year == years[2]:
            older = verd[rng.random(len(verd)) >= OLD_VERSION_MISSING]
            files.append(CbsFile("VERDTAB", year, 1, yearly_suspects(older) if yearly else older))
        hl = s_h[(s_h["start"].to_numpy() >= y0) & (s_h["start"].to_numpy() <= y1)]
        halt = pd.DataFrame({
            "RINPERSOONS": "R", "RINPERSOON": rin[hl["person"].to_numpy()],
            "HALTDATUMVERWIJZING": yyyymmdd_text(hl["start"].to_numpy()),
            "HALTAFDOENING": hl["code"].to_numpy(dtype=object)})
        files.append(CbsFile("HALTTAB", year, 1, yearly_halt(halt) if yearly else halt))

    # The justice case file (our own layout).
    d = rec.justice_decisions
    zaak_global = (pop.families["fam_global"].to_numpy()[persons["fam"].to_numpy()[d["person"].to_numpy()]] * 10_000
                   + d["zaak"].to_numpy())
    files.append(CbsFile("JUSTITIEZAKENBUS", last, 1, pd.DataFrame({
        "RINPERSOONS": "R", "RINPERSOON": rin[d["person"].to_numpy()],
        "ZAAKID": np.char.add("Z", ids.zero_padded(zaak_global, 12)),
        "DATUMBESLISSING": yyyymmdd_text(d["day"].to_numpy()),
        "INSTANTIE": d["instantie"].to_numpy(dtype=object), "BESLISSING": d["beslissing"].to_numpy(dtype=object),
        "RECHTER": d["rechter"].to_numpy(dtype=object), "DELICTCATEGORIE": d["delict"].to_numpy(dtype=object),
        "SANCTIE": d["sanctie"].to_numpy(dtype=object),
        "DAGENDETENTIE": d["dagen"].to_numpy(np.int64), "URENTAAKSTRAF": d["uren"].to_numpy(np.int64),
        "MAANDENTOEZICHT": d["maanden"].to_numpy(np.int64)})))
    return files


# --- The justice registers as yearly person tables ------------------------------------------
# Made from the dated rows of the same file (no random draw: the other files stay as they are), in
# the built-in layout's column names (lib/reference_data/layouts.toml), lower case for VERDTAB as
# its dated form.

def yearly_suspects(verd: pd.DataFrame) -> pd.DataFrame:
    """VERDTAB of one year: per suspect, the number of registered offences per offence category."""
    counts = CBS_DATASETS["VERDTAB"].count_columns
    table = (verd.groupby(["rinpersoons", "rinpersoon", "vrdmisdrijfcategorie"], sort=True).size()
             .unstack(fill_value=0).reindex(columns=[c for c, _ in counts], fill_value=0))
    out = table.index.to_frame(index=False)
    for code, column in counts:
        out[column.lower()] = table[code].to_numpy(np.int64)
    return out


def yearly_detainees(spells: pd.DataFrame) -> pd.DataFrame:
    """GEDETINEERDENTAB of one year: each person of the year's detention spells once, with a most
    serious offence (SCMDELZWAARST; synthetic: a category of the person's key, never priced)."""
    people = spells[["RINPERSOONS", "RINPERSOON"]].drop_duplicates().reset_index(drop=True)
    key = people["RINPERSOON"].astype(str).str[-1].astype(int).to_numpy()
    people["SCMDELZWAARST"] = (key % 6 + 1).astype(str)
    return people


def yearly_halt(referrals: pd.DataFrame) -> pd.DataFrame:
    """HALTTAB of one year: per minor, the number of referrals, whether one ended positively and
    whether one ended negatively (flags 1/0), and the date of the first."""
    d = CBS_DATASETS["HALTTAB"]
    flags = dict(d.flag_columns)
    g = referrals.assign(pos=referrals["HALTAFDOENING"] == "1", neg=referrals["HALTAFDOENING"] == "2").groupby(
        ["RINPERSOONS", "RINPERSOON"], sort=True)
    out = g.agg(n=("pos", "size"), pos=("pos", "any"), neg=("neg", "any"),
                first=("HALTDATUMVERWIJZING", "min")).reset_index()
    return pd.DataFrame({"RINPERSOONS": out["RINPERSOONS"], "RINPERSOON": out["RINPERSOON"],
                         "HALTAANTALDELICTEN": out["n"].to_numpy(np.int64),
                         flags["1"]: out["pos"].astype(np.int64).to_numpy(),
                         flags["2"]: out["neg"].astype(np.int64).to_numpy(),
                         d.date_column: out["first"].to_numpy(dtype=object)})
