"""The layouts of every source the bundle reads: one place, used by readers and generator.

CBS microdata in Remote Access sit in folders like
``<Theme>/<DATASET>/[<YYYY>/]<FILE><YYYY><TAB|BUS>V<n>.sav``. A ``BUS`` file is
cumulative (all spells up to its year; take the newest file); a ``TAB`` file describes
one year (take each study year's file). Column names are given here in upper case;
readers upper-case whatever case a file uses.

**Layouts are data.** The built-in layouts are in ``lib/reference_data/layouts.toml`` (what each
key means is written at its top). A run overrides them per dataset with a file of the same form
named by ``[sources] layouts``: a key given there replaces the built-in one, a ``columns`` or
``optional`` table replaces the built-in table whole. ``layouts_for(config)`` gives a run's layouts;
``CBS_DATASETS`` are the built-in ones. A bad override stops the run with the file, the dataset and
the key (``LayoutError``).

**Columns by role.** Each column has a role (the person key, the start and end of a spell, the date
of an event, the code, the counts or flags of a yearly person table; or, for the register and case
files, the name a step knows it by) and the name it has in the file. Readers ask for a column by
its role name and get it under that name (``CbsDataset.stored_name``), so a renamed column is
fitted by the layout, not by code.

The code lists below are the values the synthetic data use and the default price
tables price. Real files may carry other codes: the price tables, not this module,
decide what a code costs, and an unpriced code is reported, never silently dropped.
"""
from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from lib.errors import UserFacingError

PERSON_KEY = ("RINPERSOONS", "RINPERSOON")
LINKABLE_RINPERSOONS = "R"
LAYOUTS_FILE = Path(__file__).resolve().parent / "reference_data" / "layouts.toml"
DATED_JUSTICE_LAYOUTS = LAYOUTS_FILE.with_name("layouts_justice_dated.toml")
"""Override file with the dated forms of VERDTAB, GEDETINEERDENTAB and HALTTAB."""
LAYOUTS_SETTING = "[sources] layouts"

FORMS = ("register", "spells", "events", "yearly", "cases", "amounts")
FORM_ROLES = {"spells": ("start", "end", "code"), "events": ("date", "code"),
              "yearly": ("code", "counts", "flags", "date", "days")}
"""The lower-case roles each reading form knows (``start``, ``end`` and ``code`` are needed by spells,
``date`` and ``code`` by events; a yearly form needs ``counts``, ``flags``, ``code`` or a fixed code)."""
NEEDED_ROLES = {"spells": ("start", "end", "code"), "events": ("date", "code"), "yearly": ()}
DATASET_KEYS = ("file_stem", "kind", "theme", "yearly_folder", "form", "description", "notes", "person_keyed",
                "fixed_code", "columns", "optional")


class LayoutError(UserFacingError):
    """A layout (built-in or a run's override file) that cannot be used; the message says where and what to do."""


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
    """Columns a step of the bundle uses, as named in the file (upper case): a file without one is
    refused. ``GEM{year}`` stands for one column per year."""
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
    form: str = "register"
    """How rows become records (``FORMS``; see lib/reference_data/layouts.toml)."""
    date_column: str | None = None
    """Events: the date of the action. Yearly form: a date that places the year's cost in its month."""
    count_columns: tuple[tuple[str, str], ...] = ()
    """Yearly form: (code, column holding a count) pairs."""
    flag_columns: tuple[tuple[str, str], ...] = ()
    """Yearly form: (code, column holding a flag) pairs."""
    days_column: str | None = None
    """Yearly form of detention: the days in custody in the year."""
    fixed_code: str = ""
    """Yearly form without counts, flags or a code column: the code every row is priced by."""
    renames: tuple[tuple[str, str], ...] = ()
    """(name a step asks for, name in the file) of the upper-case roles, e.g. ("RINPERSOON", "rinpersoon")."""
    source_file: str = ""
    """Where the layout was read: the built-in file, or the run's override file."""

    def file_name(self, year: int, version: int, extension: str) -> str:
        return f"{self.file_stem}{year}{self.kind}V{version}.{extension}"

    def relative_folder(self, year: int) -> str:
        folder = f"{self.theme}/{self.name}"
        return f"{folder}/{year}" if self.yearly_folder else folder

    def stored_name(self, wanted: str) -> str:
        """The name in the file of the column a step asks for (upper case); the name itself where
        the layout does not rename it. ``GEM2023`` follows a ``GEM{year}`` role."""
        wanted = wanted.upper()
        for role, stored in self.renames:
            if role == wanted:
                return stored
            if "{year}" in role:
                m = re.fullmatch(re.escape(role).replace(re.escape("{year}"), r"(\d{4})"), wanted)
                if m:
                    return stored.replace("{year}", m.group(1))
        return wanted

    def override_hint(self, column: str) -> str:
        """The override to write when ``column`` (a name in the file, as the layout has it) is missing."""
        for role, stored in self.renames:
            if stored == column or ("{year}" in stored and re.fullmatch(
                    re.escape(stored).replace(re.escape("{year}"), r"\d{4}"), column)):
                table = "optional" if stored in self.optional_columns else "columns"
                return f'[{self.name}.{table}] "{role}" = "<its name in the file>"'
        for role, attr in (("start", "start_column"), ("end", "end_column"), ("date", "date_column"),
                           ("days", "days_column")):
            if getattr(self, attr) == column:
                return f'[{self.name}.columns] {role} = "<its name in the file>"'
        if self.code_column == column:
            return f'[{self.name}.columns] code = "<its name in the file>"'
        for role, pairs in (("counts", self.count_columns), ("flags", self.flag_columns)):
            for code, stored in pairs:
                if stored == column:
                    return f'[{self.name}.columns.{role}] "{code}" = "<its name in the file>"'
        return f"[{self.name}.columns] (see lib/reference_data/layouts.toml for the keys)"


def _text(value, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LayoutError(f"{where} must be a column name as text (found {value!r})")
    return value.strip().upper()


def _pairs(value, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not value:
        raise LayoutError(f"{where} must be a table of code = \"column name\" "
                          '(e.g. { "1" = "VRDAANTALVERMOGEN" })')
    return tuple((str(code).strip(), _text(column, f"{where}.{code}")) for code, column in value.items())


def dataset_from_entry(name: str, entry: dict, source: str) -> CbsDataset:
    """A ``CbsDataset`` from one table of a layouts file; every problem a ``LayoutError`` that names
    the file, the dataset and the key."""
    where = f"{source}: [{name}]"
    unknown = sorted(set(entry) - set(DATASET_KEYS))
    if unknown:
        raise LayoutError(f"{where}: unknown key(s) {unknown} (known: {', '.join(DATASET_KEYS)})")
    for key in ("file_stem", "kind", "theme", "form", "description"):
        if key not in entry:
            raise LayoutError(f"{where}: {key} is missing")
    form = entry["form"]
    if form not in FORMS:
        raise LayoutError(f"{where}: form = {form!r} is not one of {', '.join(FORMS)}")
    if entry["kind"] not in ("BUS", "TAB"):
        raise LayoutError(f"{where}: kind = {entry['kind']!r} must be \"BUS\" or \"TAB\"")
    columns = entry.get("columns", {})
    optional = entry.get("optional", {})
    if not isinstance(columns, dict) or not isinstance(optional, dict):
        raise LayoutError(f"{where}: columns and optional must be tables of role = \"column name\"")
    roles = FORM_ROLES.get(form, ())
    renames, required, optional_stored = [], [], []
    role_of: dict[str, object] = {}
    for table, is_optional in ((columns, False), (optional, True)):
        for role, value in table.items():
            section = f"{where[:-1]}.{'optional' if is_optional else 'columns'}]"
            if role in roles:
                if role in ("counts", "flags"):
                    role_of[role] = _pairs(value, f"{section} {role}")
                    (optional_stored if is_optional else required).extend(c for _, c in role_of[role])
                else:
                    role_of[role] = _text(value, f"{section} {role}")
                    (optional_stored if is_optional else required).append(role_of[role])
            elif role.isupper() or "{year}" in role:
                stored = _text(value, f"{section} {role}").replace("{YEAR}", "{year}")
                renames.append((role.upper().replace("{YEAR}", "{year}"), stored))
                (optional_stored if is_optional else required).append(stored)
            else:
                known = ", ".join(roles) or "none"
                raise LayoutError(f"{section}: unknown role {role!r} for form {form!r} (the roles of this form: "
                                  f"{known}; a column a step knows by name is written in upper case, e.g. "
                                  "RINPERSOON = \"rinpersoon\")")
    missing = [r for r in NEEDED_ROLES.get(form, ()) if r not in role_of]
    if missing:
        raise LayoutError(f"{where[:-1]}.columns]: form {form!r} needs the role(s) {', '.join(missing)} "
                          f"(e.g. {missing[0]} = \"<column name in the file>\")")
    fixed_code = str(entry.get("fixed_code", "")).strip()
    if form == "yearly" and not any(r in role_of for r in ("counts", "flags", "code")) and not fixed_code:
        raise LayoutError(f"{where}: a yearly form needs counts, flags or code in [{name}.columns], or a fixed_code "
                          "(the code every row is priced by)")
    if entry.get("person_keyed", True) and not {"RINPERSOONS", "RINPERSOON"} <= {r for r, _ in renames}:
        raise LayoutError(f"{where[:-1]}.columns]: the person key is missing: write RINPERSOONS = \"<name>\" and "
                          "RINPERSOON = \"<name>\" (the names of the two key columns in the file)")
    start, end, date = role_of.get("start"), role_of.get("end"), role_of.get("date")
    return CbsDataset(
        name=name, file_stem=str(entry["file_stem"]).upper(), kind=entry["kind"], theme=str(entry["theme"]),
        columns=tuple(dict.fromkeys(required)), description=str(entry["description"]),
        start_column=start or (date if form == "events" else None), end_column=end, code_column=role_of.get("code"),
        date_columns=tuple(c for c in (start, end, date) if c), yearly_folder=bool(entry.get("yearly_folder", False)),
        person_keyed=bool(entry.get("person_keyed", True)), notes=str(entry.get("notes", "")),
        optional_columns=tuple(dict.fromkeys(optional_stored)), form=form, date_column=date,
        count_columns=role_of.get("counts", ()), flag_columns=role_of.get("flags", ()),
        days_column=role_of.get("days"), fixed_code=fixed_code, renames=tuple(renames), source_file=source)


def _read_toml(path: Path, what: str) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise LayoutError(f"{what} {path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(f"{what} {path}: not valid TOML ({exc})") from None


def builtin_entries() -> dict[str, dict]:
    """The entries of the built-in layouts file, as read (a copy each call)."""
    return _read_toml(LAYOUTS_FILE, "the bundle's layouts file")


def merged_entries(overrides: dict[str, dict], source: str) -> dict[str, dict]:
    """The built-in layout entries with ``overrides`` applied (a key replaces; ``columns`` and
    ``optional`` replace their table whole)."""
    entries = builtin_entries()
    for name, entry in overrides.items():
        if name not in entries:
            raise LayoutError(f"{source}: [{name}] is not a dataset the bundle reads (known: {', '.join(entries)})")
        if not isinstance(entry, dict):
            raise LayoutError(f"{source}: [{name}] must be a table")
        entries[name] = {**entries[name], **entry}
    return entries


def load_layouts(override_file: Path | None = None) -> dict[str, CbsDataset]:
    """Every dataset's layout: the built-in file, with ``override_file`` applied when given."""
    source = str(LAYOUTS_FILE)
    overrides = {}
    if override_file is not None:
        overrides = _read_toml(override_file, f"the layouts file of {LAYOUTS_SETTING}")
        source = str(override_file)
    entries = merged_entries(overrides, source)
    return {name: dataset_from_entry(name, entry, source if name in overrides else str(LAYOUTS_FILE))
            for name, entry in entries.items()}


def layout_file(config) -> Path | None:
    """The run's layout override file (``[sources] layouts``), or None."""
    value = config["sources"].get("layouts", "")
    return config.resolve(value) if value else None


def layouts_for(config) -> dict[str, CbsDataset]:
    """The layouts of a run: the built-in ones with the run's override file applied."""
    return load_layouts(layout_file(config))


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def entry_as_toml(name: str, entry: dict) -> str:
    """One dataset's layout entry as the text of a layouts file (the form lib/reference_data/layouts.toml has)."""
    lines = [f"[{name}]"]
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in entry.items() if not isinstance(v, dict)]
    for table in ("columns", "optional"):
        roles = entry.get(table)
        if roles is None:
            continue
        lines.append(f"[{name}.{table}]")
        lines += [f"{_toml_key(r)} = {_toml_value(v)}" for r, v in roles.items() if not isinstance(v, dict)]
        for role, pairs in ((r, v) for r, v in roles.items() if isinstance(v, dict)):
            lines.append(f"[{name}.{table}.{_toml_key(role)}]")
            lines += [f"{_toml_key(code)} = {_toml_value(column)}" for code, column in pairs.items()]
    return "\n".join(lines) + "\n"


CBS_DATASETS: dict[str, CbsDataset] = load_layouts()
"""The built-in layouts (lib/reference_data/layouts.toml)."""


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
    columns=("BSN", "Locatiecode", "Gezinsrelatie", "Geboortedatum", "Geslacht", "DatumVestiging", "Wijkcode",
             "Buurtcode"),
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
