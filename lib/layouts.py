"""The layouts of every source the bundle reads: one place, used by readers and generator.

CBS microdata in Remote Access sit in folders like
``<Theme>/<DATASET>/[<YYYY>/]<FILE><YYYY><TAB|BUS>V<n>.sav``. A ``BUS`` file is
cumulative (all spells up to its year; take the newest file); a ``TAB`` file describes
one year (take each study year's file). Column names are given here in upper case;
readers upper-case whatever case a file uses.

The code lists below are the values the synthetic data use and the default price
tables price. Real files may carry other codes: the price tables, not this module,
decide what a code costs, and an unpriced code is reported, never silently dropped.
"""
from __future__ import annotations

from dataclasses import dataclass, field

PERSON_KEY = ("RINPERSOONS", "RINPERSOON")
LINKABLE_RINPERSOONS = "R"


@dataclass(frozen=True)
class CbsDataset:
    """One CBS microdata set: where it lives, how its files are named, what it holds."""

    name: str
    """Dataset name as in the CBS catalogue, e.g. ``GBAHUISHOUDENSBUS``."""
    file_stem: str
    """File name before the year, e.g. ``GBAHUISHOUDENS`` in ``GBAHUISHOUDENS2023BUSV1``."""
    kind: str
    """``BUS`` (cumulative spells, newest file wins) or ``TAB`` (one file per year)."""
    theme: str
    """Theme folder on the RA data drive, e.g. ``Bevolking``."""
    columns: tuple[str, ...]
    """Columns a step of the bundle uses, upper case: a file without one is refused. ``GEM{year}``
    stands for one column per year."""
    description: str
    start_column: str | None = None
    end_column: str | None = None
    code_column: str | None = None
    date_columns: tuple[str, ...] = ()
    yearly_folder: bool = False
    """True when each year's files sit in a ``<YYYY>`` sub-folder."""
    person_keyed: bool = True
    notes: str = ""
    optional_columns: tuple[str, ...] = ()
    """Columns of the dataset's documentation that no step uses (data minimisation: they are
    not required, and read only where a caller asks for them; a file without them is fine)."""

    def file_name(self, year: int, version: int, extension: str) -> str:
        return f"{self.file_stem}{year}{self.kind}V{version}.{extension}"

    def relative_folder(self, year: int) -> str:
        folder = f"{self.theme}/{self.name}"
        return f"{folder}/{year}" if self.yearly_folder else folder


def _dataset(**kwargs) -> CbsDataset:
    dates = tuple(c for c in (kwargs.get("start_column"), kwargs.get("end_column")) if c)
    kwargs.setdefault("date_columns", dates)
    return CbsDataset(**kwargs)


CBS_DATASETS: dict[str, CbsDataset] = {d.name: d for d in (
    _dataset(
        name="GBAPERSOONTAB", file_stem="GBAPERSOON", kind="TAB", theme="Bevolking",
        columns=PERSON_KEY,
        optional_columns=("GBAGESLACHT", "GBAGEBOORTEJAAR", "GBAGEBOORTEMAAND", "GBAGEBOORTEDAG", "GBAGENERATIE"),
        description="Persons ever registered in the BRP: sex, date of birth, generation.",
        notes="One file covers everybody ever registered; the newest file wins. Only the person key is "
              "used (the population register of the run); sex, date of birth and generation are not read.",
    ),
    _dataset(
        name="GBAHUISHOUDENSBUS", file_stem="GBAHUISHOUDENS", kind="BUS", theme="Bevolking",
        columns=PERSON_KEY + ("DATUMAANVANGHH", "DATUMEINDEHH", "HUISHOUDNR", "TYPHH", "PLHH",
                              "REFPERSOONHH"),
        optional_columns=("AANTALPERSHH", "AANTALKINDHH"),
        start_column="DATUMAANVANGHH", end_column="DATUMEINDEHH", code_column="TYPHH",
        description="Household spells per person: household number, type, position.",
        notes="A new spell starts at every change of composition or address. "
              "Open spells end at the version's end date. A person with two spells that both cover the "
              "peildatum (registrations that overlap) is counted once, in the spell that starts latest; "
              "the households step reports how many.",
    ),
    _dataset(
        name="GBAADRESOBJECTBUS", file_stem="GBAADRESOBJECT", kind="BUS", theme="Bevolking",
        columns=PERSON_KEY + ("GBADATUMAANVANGADRESHOUDING", "GBADATUMEINDEADRESHOUDING",
                              "SOORTOBJECTNUMMER", "RINOBJECTNUMMER"),
        start_column="GBADATUMAANVANGADRESHOUDING", end_column="GBADATUMEINDEADRESHOUDING",
        description="Address spells per person (address object numbers).",
        notes="Open spells end at a far-future date (20501231).",
    ),
    _dataset(
        name="VSLGWBTAB", file_stem="VSLGWB", kind="TAB", theme="BouwenWonen",
        columns=("SOORTOBJECTNUMMER", "RINOBJECTNUMMER", "GEM{year}"),
        description="Municipality (gem), district and neighbourhood of each address object, "
                    "one column per year.",
        person_keyed=False,
        notes="Municipality codes follow the municipal boundaries of each year "
              "(mergers change codes between years).",
    ),
    _dataset(
        name="JGDHULPBUS", file_stem="JGDHULP", kind="BUS", theme="GezondheidWelzijn",
        columns=PERSON_KEY + ("JGDHGELDIGHEIDBEGINDATUM", "JGDHGELDIGHEIDEINDDATUM", "JGDHHULPVORM"),
        start_column="JGDHGELDIGHEIDBEGINDATUM", end_column="JGDHGELDIGHEIDEINDDATUM",
        code_column="JGDHHULPVORM",
        description="Youth care trajectories (Jeugdwet) by form of care.",
        notes="Trajectories still running at the version date have an empty end date.",
    ),
    _dataset(
        name="JGDBESCHERMBUS", file_stem="JGDBESCHERM", kind="BUS", theme="VeiligheidRecht",
        columns=PERSON_KEY + ("JGDBGELDIGHEIDBEGINDATUM", "JGDBGELDIGHEIDEINDDATUM", "JGDBMAATREGEL"),
        start_column="JGDBGELDIGHEIDBEGINDATUM", end_column="JGDBGELDIGHEIDEINDDATUM",
        code_column="JGDBMAATREGEL",
        description="Youth protection measures.",
        notes="Open measures end at the version's end date.",
    ),
    _dataset(
        name="JGDRECLASBUS", file_stem="JGDRECLAS", kind="BUS", theme="VeiligheidRecht",
        columns=PERSON_KEY + ("JGDRGELDIGHEIDBEGINDATUM", "JGDRGELDIGHEIDEINDDATUM", "JGDRMAATREGEL"),
        start_column="JGDRGELDIGHEIDBEGINDATUM", end_column="JGDRGELDIGHEIDEINDDATUM",
        code_column="JGDRMAATREGEL",
        description="Youth probation measures.",
        notes="Open measures end at the version's end date.",
    ),
    _dataset(
        name="WMOBUS", file_stem="WMO", kind="BUS", theme="GezondheidWelzijn",
        columns=PERSON_KEY + ("WMOGELDIGHEIDBEGINDATUM", "WMOGELDIGHEIDEINDDATUM", "WMOSOORTVOORZIENING"),
        start_column="WMOGELDIGHEIDBEGINDATUM", end_column="WMOGELDIGHEIDEINDDATUM",
        code_column="WMOSOORTVOORZIENING",
        description="Wmo arrangements (support at home) by type of provision.",
        notes="Open arrangements end at a far-future date (20991231).",
    ),
    _dataset(
        name="BIJSTANDUITKERINGTAB", file_stem="BIJSTANDUITKERING", kind="TAB", theme="SocialeZekerheid",
        columns=PERSON_KEY + ("BIJSTANDAANVANGUITKERINGPERSOON1A", "BIJSTANDEINDEUITKERINGPERSOON1A",
                              "BIJSTANDNORMA"),
        optional_columns=("BIJSTANDSTATISTIEKCODEA",),
        start_column="BIJSTANDAANVANGUITKERINGPERSOON1A", end_column="BIJSTANDEINDEUITKERINGPERSOON1A",
        code_column="BIJSTANDNORMA", yearly_folder=True,
        description="Social assistance (bijstand) spells per recipient; both partners of a "
                    "couple are recipients.",
        notes="Each year's file holds the spells that overlap that year, so one spell appears "
              "in several files; a spell still running at the end of the file's year has an "
              "empty end date there. Norm codes: A single, O single parent, G (per) partner.",
    ),
    _dataset(
        name="UITKERINGBEDRAGTAB", file_stem="UITKERINGBEDRAG", kind="TAB", theme="SocialeZekerheid",
        columns=PERSON_KEY + ("UITKERINGSOORT", "BEDRAGJAAR"),
        code_column="UITKERINGSOORT", yearly_folder=True,
        description="Yearly amounts of municipal benefits paid per person "
                    "(bijstand, bijzondere bijstand, IOAW), in euros of that year.",
    ),
    _dataset(
        name="VERDTAB", file_stem="VERD", kind="TAB", theme="VeiligheidRecht",
        columns=PERSON_KEY + ("VRDDATUMREGISTRATIE", "VRDMISDRIJFCATEGORIE"),
        start_column="VRDDATUMREGISTRATIE", code_column="VRDMISDRIJFCATEGORIE", yearly_folder=True,
        description="Registered suspects (police): one row per suspect per registered offence.",
        notes="RINPERSOON is stored as a number in this file (leading zeros lost).",
    ),
    _dataset(
        name="GEDETINEERDENTAB", file_stem="GEDETINEERDEN", kind="TAB", theme="VeiligheidRecht",
        columns=PERSON_KEY + ("DETDATUMINSTROOM", "DETDATUMUITSTROOM", "DETSOORTINRICHTING"),
        start_column="DETDATUMINSTROOM", end_column="DETDATUMUITSTROOM", code_column="DETSOORTINRICHTING",
        yearly_folder=True,
        description="Detention spells (DJI) by type of institution.",
        notes="Each year's file holds the spells that overlap that year; open spells have "
              "an empty end date.",
    ),
    _dataset(
        name="HALTTAB", file_stem="HALT", kind="TAB", theme="VeiligheidRecht",
        columns=PERSON_KEY + ("HALTDATUMVERWIJZING", "HALTAFDOENING"),
        start_column="HALTDATUMVERWIJZING", code_column="HALTAFDOENING", yearly_folder=True,
        description="Referrals of minors to Halt.",
    ),
    _dataset(
        name="JUSTITIEZAKENBUS", file_stem="JUSTITIEZAKEN", kind="BUS", theme="VeiligheidRecht",
        columns=PERSON_KEY + ("DATUMBESLISSING", "INSTANTIE", "BESLISSING", "RECHTER", "URENTAAKSTRAF",
                              "MAANDENTOEZICHT"),
        optional_columns=("ZAAKID", "DELICTCATEGORIE", "SANCTIE", "DAGENDETENTIE"),
        start_column="DATUMBESLISSING", code_column="BESLISSING",
        description="Prosecution (OM) and court (ZM) decisions with sanctions. Not a CBS "
                    "standard file: delivered by arrangement in this documented layout.",
        notes="One row per decision. INSTANTIE OM rows: BESLISSING SEPOT, TRANSACTIE, "
              "STRAFBESCHIKKING or DAGVAARDING. ZM rows: BESLISSING VRIJSPRAAK, "
              "SCHULDIG_ZONDER_STRAF or VEROORDELING, RECHTER PR (politierechter), "
              "MK (meervoudige kamer) or KR (kinderrechter), and for a conviction SANCTIE "
              "GEVANGENISSTRAF, JEUGDDETENTIE, TAAKSTRAF, GELDBOETE or VOORWAARDELIJK with "
              "DAGENDETENTIE (optional: the sentenced days of unconditional detention, whole days; "
              "where GEDETINEERDENTAB is not in the run they price the detention from the decision date, "
              "lib.pricing; with it the spells do, never both), "
              "URENTAAKSTRAF and MAANDENTOEZICHT (supervision by probation).",
    ),
)}


# --- Code lists -----------------------------------------------------------------------

TYPHH_LABELS = {
    "1": "Eenpersoonshuishouden",
    "2": "Niet-gehuwd paar zonder kinderen",
    "3": "Gehuwd paar zonder kinderen",
    "4": "Niet-gehuwd paar met kinderen",
    "5": "Gehuwd paar met kinderen",
    "6": "Eenouderhuishouden",
    "7": "Overig huishouden",
    "8": "Institutioneel huishouden",
}

PLHH_LABELS = {
    "1": "Thuiswonend kind",
    "2": "Alleenstaande",
    "3": "Partner in niet-gehuwd paar zonder kinderen",
    "4": "Partner in gehuwd paar zonder kinderen",
    "5": "Partner in niet-gehuwd paar met kinderen",
    "6": "Partner in gehuwd paar met kinderen",
    "7": "Ouder in eenouderhuishouden",
    "8": "Referentiepersoon in overig huishouden",
    "9": "Overig lid huishouden",
    "10": "Lid institutioneel huishouden",
}

JGDHHULPVORM_LABELS = {
    "1": "Jeugdhulp zonder verblijf: ambulant, wijk-/buurtteam",
    "2": "Jeugdhulp zonder verblijf: ambulant, aanbieder",
    "3": "Jeugdhulp zonder verblijf: daghulp",
    "4": "Jeugdhulp met verblijf: pleegzorg",
    "5": "Jeugdhulp met verblijf: gezinsgericht",
    "6": "Jeugdhulp met verblijf: overig (residentieel)",
}

JGDBMAATREGEL_LABELS = {"1": "Voorlopige ondertoezichtstelling", "2": "Ondertoezichtstelling",
                        "3": "Voogdij"}

JGDRMAATREGEL_LABELS = {"1": "Toezicht en begeleiding", "2": "Intensieve trajectbegeleiding",
                        "3": "Scholings- en trainingsprogramma"}

WMOSOORTVOORZIENING_LABELS = {
    "1": "Hulp bij het huishouden",
    "2": "Begeleiding",
    "3": "Dagbesteding",
    "4": "Hulpmiddel of woningaanpassing",
    "5": "Beschermd wonen",
    "6": "Vervoersvoorziening",
}

BIJSTANDNORM_LABELS = {"A": "Alleenstaande", "O": "Alleenstaande ouder",
                       "G": "Gehuwde of samenwonende partner"}

UITKERINGSOORT_LABELS = {"BIJSTAND": "Algemene bijstand", "BIJZONDEREBIJSTAND": "Bijzondere bijstand",
                         "IOAW": "IOAW-uitkering"}
UITKERINGSOORT_DOMAINS = {"BIJSTAND": "bijstand", "BIJZONDEREBIJSTAND": "overige_uitkering",
                          "IOAW": "overige_uitkering"}

MISDRIJFCATEGORIE_LABELS = {"1": "Vermogensmisdrijf", "2": "Vernieling en openbare orde",
                            "3": "Geweldsmisdrijf", "4": "Verkeersmisdrijf", "5": "Drugsmisdrijf",
                            "6": "Overig misdrijf"}

DETSOORTINRICHTING_LABELS = {"GW": "Gevangeniswezen (PI, huis van bewaring)",
                             "JJI": "Justitiele jeugdinrichting"}

HALTAFDOENING_LABELS = {"1": "Positief afgerond", "2": "Negatief afgerond"}


# --- Municipal route ------------------------------------------------------------------

@dataclass(frozen=True)
class MunicipalLayout:
    """A file of the municipal route (BRP extract or appendix-2 cost file)."""

    name: str
    columns: tuple[str, ...]
    description: str
    codes: dict[str, str] = field(default_factory=dict)


BRP_EXTRACT = MunicipalLayout(
    name="BRP-extract",
    columns=("BSN", "Locatiecode", "Gezinsrelatie", "Geboortedatum", "Geslacht", "DatumVestiging"),
    description="Persons registered in the municipality at the reference date. Every unique "
                "location code is one household; Gezinsrelatie gives each person's role.",
    codes={"K": "Kind", "P": "Partner", "A": "Alleenstaande", "O": "Ouder in eenoudergezin",
           "V": "Overig lid", "I": "Bewoner instelling"},
)

APPENDIX2 = MunicipalLayout(
    name="Bijlage 2 kostenbestand",
    columns=("Instelling", "BSN", "Begindatum", "Einddatum", "Domein", "Code/verdeling kosten",
             "Bedrag", "Toelichting"),
    description="Cost file of a provider or municipal department in the format of appendix 2 "
                "of the method: one row per person and period, the amount for the whole period.",
)
