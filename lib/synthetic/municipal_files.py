"""The municipal route: a BRP extract and appendix-2 cost files, as Dutch Excel writes them.

One municipality (``spec.municipal_route_code``) delivers its own data and its
contracted providers' data for the months its residents received care or support:

==============================  ==========  ==========================================
file                            domain      how it is written
==============================  ==========  ==========================================
jeugdhulp_midden.csv            Jeugd       a row per month (``20190301``, empty end),
                                            UTF-8 with BOM, ``;``, decimal comma
kompas_jeugdzorg.csv            Jeugd       a row per period within a year (exact
                                            dates), Windows-1252, ``;``, ``1.234,56``
horizon_residentieel.csv        Jeugd       a row per year (``2019``), UTF-8, ``,``,
                                            decimal point (an English Excel)
gemeente_wmo.csv                Wmo         a row per month (``maart 2019``, ``mrt
                                            2019``), Windows-1252, ``;``, decimal comma
gemeente_werk_en_inkomen.csv    W&I         a row per period (``17-3-2019``), UTF-8
                                            with BOM, ``;``, decimal comma
kredietbank.csv                 Schulden    a row per trajectory year, UTF-8 with BOM
==============================  ==========  ==========================================

Every file also carries credit notes (a wrong charge and its reversal, which net to
zero) and a few planted bad rows, each listed with its line and the expected handling
in the truth folder's ``dirt.csv``. Row amounts are the true month costs summed over
the row's months, so a correct reader recovers the truth to the cent.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.dates import (
    days_from_ymd,
    days_in_month,
    month_start,
    ymd_from_days,
    yyyymmdd_text,
)
from lib.synthetic import identifiers as ids
from lib.synthetic.neighbourhoods import area_codes
from lib.synthetic.population import Population, municipality_at
from lib.synthetic.spec import MUNICIPALITY_NAMES, GeneratorSpec

MONTHS_NL = np.array(["", "januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
                      "september", "oktober", "november", "december"])
MONTHS_NL_SHORT = np.array(["", "jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sept", "okt", "nov",
                            "dec"])
GEZINSRELATIE_BY_PLHH = np.array(["", "K", "A", "P", "P", "P", "P", "O", "V", "V", "I"])


@dataclass(frozen=True)
class ProviderFile:
    name: str
    instelling: str
    domain_label: str
    truth_domain: str
    row_style: str          # month, month_name, period, period_excel, year
    encoding: str
    sep: str
    decimal: str
    thousands: bool
    cost_codes: dict[str, str]


def provider_files(spec: GeneratorSpec) -> dict[str, ProviderFile]:
    town = MUNICIPALITY_NAMES.get(spec.municipal_route_code, spec.municipal_route_code)
    jeugd_codes = {"1": "Ambulant wijkteam", "2": "Ambulant specialistisch", "3": "Dagbehandeling",
                   "4": "Pleegzorg", "5": "Gezinshuis", "6": "Residentieel verblijf"}
    return {p.name: p for p in (
        ProviderFile("jeugdhulp_midden", "Jeugdhulp Midden", "Jeugd", "jeugdhulp", "month", "utf-8-sig", ";",
                     ",", False, jeugd_codes),
        ProviderFile("kompas_jeugdzorg", "Stichting Kompas Jeugdzorg", "Jeugd", "jeugdhulp", "period", "cp1252",
                     ";", ",", True, jeugd_codes),
        ProviderFile("horizon_residentieel", "De Horizon Residentieel", "Jeugd", "jeugdhulp", "year", "utf-8",
                     ",", ".", False, jeugd_codes),
        ProviderFile("gemeente_wmo", f"Gemeente {town} Wmo", "Wmo", "wmo", "month_name", "cp1252", ";", ",",
                     False, {"1": "Hulp bij het huishouden", "2": "Begeleiding individueel", "3": "Dagbesteding",
                             "4": "Hulpmiddel", "5": "Beschermd wonen", "6": "Vervoer"}),
        ProviderFile("gemeente_werk_en_inkomen", f"Gemeente {town} Werk en Inkomen", "Werk & Inkomen", "bijstand",
                     "period_excel", "utf-8-sig", ";", ",", False,
                     {"A": "Levensonderhoud alleenstaande", "O": "Levensonderhoud alleenstaande ouder",
                      "G": "Levensonderhoud gehuwden"}),
        ProviderFile("kredietbank", f"Kredietbank {town}", "Schulden", "schuldhulp", "period", "utf-8-sig", ";",
                     ",", False, {"SHV": "Schuldhulpverlening traject"}),
    )}


def _provider_of(source: str, code: np.ndarray) -> np.ndarray:
    if source == "JGDHULPBUS":
        return np.where(np.isin(code, ["1", "2"]), "jeugdhulp_midden",
                        np.where(code == "6", "horizon_residentieel", "kompas_jeugdzorg")).astype(object)
    return np.full(code.size, {"WMOBUS": "gemeente_wmo", "BIJSTANDUITKERINGTAB": "gemeente_werk_en_inkomen",
                               "SCHULDHULP": "kredietbank"}[source], dtype=object)


RIN_FOLDER = "gemeente/kosten_rin"
"""The combined route: the same appendix-2 files after CBS linked them (``keyed_by_rin``)."""
RIN_UNLINKED = "B"
"""RINPERSOONS of a row whose BSN CBS could not link (missing, or no such person): never 'R'."""


def keyed_by_rin(frame: pd.DataFrame, bsn: np.ndarray, rin: np.ndarray) -> pd.DataFrame:
    """An appendix-2 file as CBS delivers it in Remote Access: the municipality sent it to CBS, which
    replaced the column BSN by RINPERSOONS and RINPERSOON. A BSN of the chunk's persons (``bsn``, as
    integers, beside their ``rin`` pseudonyms as text) links (``R``); another (the planted invalid and
    missing BSNs) does not (``RIN_UNLINKED``, no RINPERSOON). Every other field and the row order are
    the BSN file's, so a planted row keeps its line."""
    lookup = pd.Series(rin, index=ids.zero_padded(bsn, 9))
    linked = lookup.reindex(frame["BSN"].to_numpy()).to_numpy(dtype=object)
    found = pd.notna(linked)
    out = frame.drop(columns="BSN")
    out.insert(1, "RINPERSOONS", np.where(found, "R", RIN_UNLINKED).astype(object))
    out.insert(2, "RINPERSOON", np.where(found, linked, "").astype(object))
    return out


def municipality_index(spec: GeneratorSpec) -> int:
    codes = [m.code for m in spec.municipalities]
    if spec.municipal_route_code not in codes:
        raise ValueError(f"municipal route municipality {spec.municipal_route_code} is not one of {codes}")
    m = spec.municipalities[codes.index(spec.municipal_route_code)]
    if m.merged_into:
        raise ValueError(f"municipal route municipality {m.code} disappears in a merger; choose another")
    return codes.index(spec.municipal_route_code)


def brp_extract(spec: GeneratorSpec, pop: Population, bsn: np.ndarray) -> pd.DataFrame:
    """Residents of the municipality on the reference date, as a BRP extract."""
    peil = spec.period_end
    m_idx = municipality_index(spec)
    mem = pop.memberships
    at = mem[(mem["start"].to_numpy() <= peil) & (mem["end"].to_numpy() >= peil)]
    person = at["person"].to_numpy()
    addr = pop.addresses
    addr_at = addr[(addr["start"].to_numpy() <= peil) & (addr["end"].to_numpy() >= peil)].set_index("person")
    obj = addr_at["obj"].reindex(person).to_numpy()
    muni = addr_at["muni"].reindex(person).to_numpy()
    since = addr_at["start"].reindex(person).to_numpy()
    resident = muni == m_idx
    person, obj, since, plhh = person[resident], obj[resident], since[resident], at["plhh"].to_numpy()[resident]
    y, mo, d = ymd_from_days(pop.persons["birth_day"].to_numpy()[person])
    # The wijk and buurt of the address, as VSLGWBTAB has them (lib.synthetic.neighbourhoods).
    wijk, buurt = area_codes(spec, obj, np.full(obj.size, m_idx), spec.last_year)
    return pd.DataFrame({
        "BSN": ids.zero_padded(bsn[person], 9),
        "Locatiecode": ids.locatiecode(obj, spec.municipal_route_code, spec.seed),
        "Gezinsrelatie": GEZINSRELATIE_BY_PLHH[plhh],
        "Geboortedatum": (y.astype(np.int64) * 10000 + mo * 100 + d).astype("U8"),
        "Geslacht": np.where(pop.persons["sex"].to_numpy()[person] == 1, "M", "V"),
        "DatumVestiging": yyyymmdd_text(since),
        "Wijkcode": wijk,
        "Buurtcode": buurt,
    })


def resident_month_costs(spec: GeneratorSpec, pop: Population, month_costs: pd.DataFrame) -> pd.DataFrame:
    """Month costs of the months in which the person lived in the municipal-route municipality."""
    m_idx = municipality_index(spec)
    mid_month = month_start(month_costs["month"].to_numpy()) + 14
    muni = municipality_at(pop.persons, month_costs["person"].to_numpy(), mid_month)
    return month_costs[muni == m_idx]


def provider_rows(spec: GeneratorSpec, costs: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """Rows of every provider file before formatting.

    ``costs``: record, person, source, code, month, year, cost (resident months only);
    ``records``: the records' start and end days (indexed by ``record``).
    Returns provider, person, record, source, code, start, end (days), year, amount,
    style (how dates are written), sorted per provider and person.
    """
    styles = {p.name: p.row_style for p in provider_files(spec).values()}
    costs = costs.assign(provider=_provider_of_all(costs))
    costs = costs.assign(style=costs["provider"].map(styles))
    by_month = costs["style"].isin(["month", "month_name"]).to_numpy()
    m = costs[by_month]
    first = month_start(m["month"].to_numpy())
    monthly = pd.DataFrame({"provider": m["provider"].to_numpy(), "person": m["person"].to_numpy(),
                            "record": m["record"].to_numpy(), "source": m["source"].to_numpy(),
                            "code": m["code"].to_numpy(), "start": first,
                            "end": first + days_in_month(m["month"].to_numpy()) - 1,
                            "year": m["year"].to_numpy(), "amount": m["cost"].to_numpy()})
    p = costs[~by_month]
    grouped = (p.groupby(["provider", "record", "year"], sort=False)
               .agg(person=("person", "first"), source=("source", "first"), code=("code", "first"),
                    first_month=("month", "min"), last_month=("month", "max"), amount=("cost", "sum"))
               .reset_index())
    rec_start = records["start"].to_numpy()[grouped["record"].to_numpy()]
    rec_end = records["end"].to_numpy()[grouped["record"].to_numpy()]
    m_first, m_last = grouped["first_month"].to_numpy(), grouped["last_month"].to_numpy()
    period_start = np.maximum(rec_start, month_start(m_first))
    period_end = np.minimum(rec_end, month_start(m_last) + days_in_month(m_last) - 1)
    periods = pd.DataFrame({"provider": grouped["provider"].to_numpy(), "person": grouped["person"].to_numpy(),
                            "record": grouped["record"].to_numpy(), "source": grouped["source"].to_numpy(),
                            "code": grouped["code"].to_numpy(), "start": period_start, "end": period_end,
                            "year": grouped["year"].to_numpy(), "amount": grouped["amount"].to_numpy()})
    rows = pd.concat([monthly, periods], ignore_index=True)
    # A provider reports one row per person, code and period: records that would give
    # identical rows (two aids bought in one month) are summed, so that the only exact
    # duplicates in a file are the planted ones.
    rows = (rows.groupby(["provider", "person", "source", "code", "start", "end", "year"], sort=False)
            .agg(record=("record", "first"), amount=("amount", "sum")).reset_index())
    rows["amount"] = np.round(rows["amount"].to_numpy(), 2)
    rows = rows[rows["amount"] != 0]
    return rows.sort_values(["provider", "person", "start", "record"], kind="stable").reset_index(drop=True)


def _provider_of_all(costs: pd.DataFrame) -> np.ndarray:
    out = np.empty(len(costs), dtype=object)
    source = costs["source"].to_numpy()
    code = costs["code"].to_numpy().astype(str)
    for s in np.unique(source):
        sel = source == s
        out[sel] = _provider_of(s, code[sel])
    return out


# --- formatting ------------------------------------------------------------------------

def format_amounts(amount: np.ndarray, decimal: str, thousands: bool) -> np.ndarray:
    amount = np.asarray(amount, dtype=float)
    cents = np.round(np.abs(amount) * 100).astype(np.int64)
    units, frac = cents // 100, cents % 100
    if thousands:
        millions, thousand, rest = units // 1_000_000, (units // 1000) % 1000, units % 1000
        text = np.where(millions > 0,
                        np.char.add(np.char.add(millions.astype(str), "."),
                                    np.char.add(np.char.add(ids.zero_padded(thousand, 3), "."),
                                                ids.zero_padded(rest, 3))),
                        np.where(thousand > 0,
                                 np.char.add(np.char.add(thousand.astype(str), "."), ids.zero_padded(rest, 3)),
                                 rest.astype(str)))
    else:
        text = units.astype(str)
    text = np.char.add(np.char.add(text, decimal), ids.zero_padded(frac, 2))
    return np.where(amount < 0, np.char.add("-", text), text).astype(object)


def format_dates(rows: pd.DataFrame, style: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    start, end = rows["start"].to_numpy(), rows["end"].to_numpy()
    n = len(rows)
    if style == "month":
        return yyyymmdd_text(start).astype(object), np.full(n, "", dtype=object)
    if style == "month_name":
        y, m, _ = ymd_from_days(start)
        names = np.where(rng.random(n) < 0.7, MONTHS_NL[m], MONTHS_NL_SHORT[m])
        return np.char.add(np.char.add(names, " "), y.astype(str)).astype(object), np.full(n, "", dtype=object)
    if style == "year":
        y = rows["year"].to_numpy().astype(str)
        return y.astype(object), np.where(rng.random(n) < 0.5, y, "").astype(object)
    if style == "period_excel":
        return _excel_date(start), _excel_date(end)
    return yyyymmdd_text(start).astype(object), yyyymmdd_text(end).astype(object)


def _excel_date(days) -> np.ndarray:
    y, m, d = ymd_from_days(days)
    return np.char.add(np.char.add(np.char.add(d.astype(str), "-"), np.char.add(m.astype(str), "-")),
                       y.astype(str)).astype(object)


DIRT_KINDS = {
    "invalid_bsn": "reject: BSN fails the eleven-test",
    "missing_bsn": "reject: no BSN",
    "bad_amount": "reject: amount is not a number",
    "bad_date": "reject: date does not exist",
    "end_before_start": "reject: end date before start date",
    "outside_period": "reject: period entirely before the study period",
    "unknown_domain": "reject unless the domain mapping names it: unknown domain label",
    "straddles_start": "clip: only the part inside the study period counts (spread by days)",
    "duplicate": "report: exact duplicate of the previous row (counted once in the truth)",
    "credit_note_pair": "use: a wrong charge and its credit note, netting to zero",
}


def appendix2_frame(spec: GeneratorSpec, provider: ProviderFile, rows: pd.DataFrame, bsn: np.ndarray,
                    rng: np.random.Generator, plant_all: bool) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The formatted rows of one provider file for one chunk, with planted dirt.

    Returns (frame to write, dirt rows with their position in the frame, extra truth:
    person, year, amount for clipped rows).
    """
    n = len(rows)
    start_text, end_text = format_dates(rows, provider.row_style, rng)
    code_text = np.array([provider.cost_codes.get(c, c) for c in rows["code"].astype(str).unique()], dtype=object)
    code_map = dict(zip(rows["code"].astype(str).unique(), code_text))
    frame = pd.DataFrame({
        "Instelling": provider.instelling,
        "BSN": ids.zero_padded(bsn[rows["person"].to_numpy()], 9).astype(object),
        "Begindatum": start_text, "Einddatum": end_text,
        "Domein": provider.domain_label,
        "Code/verdeling kosten": rows["code"].astype(str).map(code_map).to_numpy(dtype=object),
        "Bedrag": format_amounts(rows["amount"].to_numpy(), provider.decimal, provider.thousands),
        "Toelichting": "",
    })
    if provider.encoding == "cp1252" and n:
        frame.loc[rng.random(n) < 0.05, "Toelichting"] = "Tarief conform contract; één traject"
    if provider.name == "jeugdhulp_midden" and n:
        # The same domain written in other capitals by hand: a label variant, not an error.
        frame.loc[rng.random(n) < 0.02, "Domein"] = "jeugd"
    order_key = np.arange(n, dtype=float)
    extras, dirt, clipped = [], [], []

    def count(rate: float) -> int:
        k = int(round(rate * n))
        return max(k, 1) if plant_all and n else k

    def copy_of(k: int) -> tuple[pd.DataFrame, np.ndarray]:
        pick = rng.choice(n, size=k, replace=k > n)
        return frame.iloc[pick].copy(), pick

    def plant(kind: str, new: pd.DataFrame, keys: np.ndarray, amount_text=None) -> None:
        extras.append(new)
        dirt.append(pd.DataFrame({"kind": kind, "key": keys, "expected": DIRT_KINDS[kind],
                                  "amount_text": new["Bedrag"].to_numpy() if amount_text is None else amount_text}))

    if n:
        k = count(0.002)
        new, pick = copy_of(k)
        new["BSN"] = ids.zero_padded(ids.invalid_bsn(rng, k), 9)
        plant("invalid_bsn", new, pick + 0.6)
        new, pick = copy_of(count(0.001))
        new["BSN"] = ""
        plant("missing_bsn", new, pick + 0.6)
        new, pick = copy_of(count(0.001))
        new["Bedrag"] = "n.v.t."
        plant("bad_amount", new, pick + 0.6)
        new, pick = copy_of(count(0.001))
        bad = {"month": "20190231", "month_name": "31 februari 2019", "year": "2019x",
               "period_excel": "31-2-2019", "period": "20190231"}[provider.row_style]
        new["Begindatum"] = bad
        plant("bad_date", new, pick + 0.6)
        new, pick = copy_of(count(0.001))
        y0 = spec.first_year
        new["Begindatum"], new["Einddatum"] = f"{y0 + 1}0601", f"{y0 + 1}0301"
        plant("end_before_start", new, pick + 0.6)
        new, pick = copy_of(count(0.001))
        new["Begindatum"], new["Einddatum"] = f"{y0 - 3}0101", f"{y0 - 3}1231"
        plant("outside_period", new, pick + 0.6)
        new, pick = copy_of(count(0.001))
        new["Domein"] = "Onbekend"
        plant("unknown_domain", new, pick + 0.6)
        # A period from 15 November before the study to 14 February of its first year:
        # 45 of the 92 days (31 in January, 14 in February) lie inside, so 45/92 of the amount counts.
        k = count(0.001)
        new, pick = copy_of(k)
        amount = np.round(rng.uniform(300, 3000, k), 2)
        new["Begindatum"], new["Einddatum"] = f"{y0 - 1}1115", f"{y0}0214"
        new["Bedrag"] = format_amounts(amount, provider.decimal, provider.thousands)
        plant("straddles_start", new, pick + 0.6)
        days_in = int(days_from_ymd(y0, 2, 14) - days_from_ymd(y0, 1, 1)) + 1
        days_all = int(days_from_ymd(y0, 2, 14) - days_from_ymd(y0 - 1, 11, 15)) + 1
        clipped.append(pd.DataFrame({"person": rows["person"].to_numpy()[pick], "year": y0,
                                     "amount": amount * days_in / days_all}))
        new, pick = copy_of(count(0.001))
        plant("duplicate", new, pick + 0.2)
        k = count(0.003)
        wrong, pick = copy_of(k)
        wrong_amount = np.round(rng.uniform(50, 900, k), 2)
        wrong["Bedrag"] = format_amounts(wrong_amount, provider.decimal, provider.thousands)
        credit = wrong.copy()
        credit["Bedrag"] = format_amounts(-wrong_amount, provider.decimal, provider.thousands)
        credit["Toelichting"] = "Creditnota: onterecht gefactureerd"
        plant("credit_note_pair", wrong, pick + 0.3)
        plant("credit_note_pair", credit, pick + 0.35)

    if extras:
        all_rows = pd.concat([frame] + extras, ignore_index=True)
        keys = np.concatenate([order_key] + [d["key"].to_numpy() for d in dirt])
        kinds = np.concatenate([np.full(n, "", dtype=object)] + [d["kind"].to_numpy(dtype=object) for d in dirt])
        expected = np.concatenate([np.full(n, "", dtype=object)] + [d["expected"].to_numpy(dtype=object) for d in dirt])
        order = np.argsort(keys, kind="stable")
        all_rows = all_rows.iloc[order].reset_index(drop=True)
        kinds, expected = kinds[order], expected[order]
        planted = np.flatnonzero(kinds != "")
        dirt_frame = pd.DataFrame({"position": planted, "kind": kinds[planted], "expected": expected[planted],
                                   "bsn": all_rows["BSN"].to_numpy()[planted],
                                   "amount_text": all_rows["Bedrag"].to_numpy()[planted]})
    else:
        all_rows = frame
        dirt_frame = pd.DataFrame(columns=["position", "kind", "expected", "bsn", "amount_text"])
    clipped_frame = pd.concat(clipped, ignore_index=True) if clipped else pd.DataFrame(columns=["person", "year", "amount"])
    return all_rows, dirt_frame, clipped_frame
