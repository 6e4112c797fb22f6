"""The words of the report: every heading, column label, category and figure text, in Dutch or
English, from ONE label table (``lib/reference_data/report_labels.csv``: key, nl, en).

Keys by kind:

- ``doc.*``, ``run.*``, ``part.*``, ``figure.*``: the report's own text;
- ``meta.<note key>``: the keys of a table's notes (``Unit`` is ``Eenheid``), ``kind.<kind>``: the
  kind of table the safe writer states (``frequency table``), ``unit.<unit>``;
- ``column.<column>``: the columns of the exported tables (``n_households`` is ``huishoudens``);
- ``value.<category>``: categories shown as something else (``all`` is "alle huishoudens");
- ``rank.top``: a group of the ranking, ``top 1%`` or ``a. duurste 1%``, is "duurste 1% van alle
  huishoudens" (``a. duurste 1% van alle huishoudens``): every table ranks all households of the study
  area (lib.baseline.RANKING), never only those with costs, and the label says so everywhere;
- ``domain.<code>``: the domains (``om_rechtspraak`` is "OM en rechtspraak"). These are display
  names; ``domain_labels.csv`` beside this table maps the words in providers' files *to* the codes;
- ``prefix.<start>``: a column or category that starts with ``<start>``: the rest (a domain or a
  household type) fills the ``{}`` (``mean_kosten_wmo`` is "gemiddelde kosten Wmo (euro)").

A column or category not in the table is shown as a readable text: domain codes inside it are
replaced by their names ("schuldhulp + werk_en_inkomen" is "schuldhulp + werk en inkomen"), so a
new column never shows a code name with underscores.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

LABEL_FILE = Path(__file__).resolve().parent / "reference_data" / "report_labels.csv"
LANGUAGES = ("nl", "en")
RANK_GROUP = re.compile(r"^((?:[a-z]\. )?)(?:top|duurste) (\d+(?:\.\d+)?)%$")
"""A group of the one ranking: 'top 1%' (concentratie_top), 'a. duurste 1%' (kosten_topgroepen)."""


@lru_cache(maxsize=4)
def _table(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    table: dict[str, dict[str, str]] = {}
    for number, row in enumerate(rows, start=2):
        key = (row.get("key") or "").strip()
        if not key or key in table:
            raise ValueError(f"{path}, row {number}: {'empty' if not key else 'duplicate'} key {key!r}; every "
                             "key once")
        table[key] = {language: row.get(language) or "" for language in LANGUAGES}
    return table


@lru_cache(maxsize=4)
def _domain_pattern(path: Path) -> re.Pattern | None:
    """The domain codes of the label table as one pattern of whole words (longest first)."""
    codes = sorted((k.split(".", 1)[1] for k in _table(path) if k.startswith("domain.")), key=len, reverse=True)
    if not codes:
        return None
    return re.compile(r"(?<![A-Za-z_])(" + "|".join(map(re.escape, codes)) + r")(?![A-Za-z_])")


@dataclass(frozen=True)
class Labels:
    """The label table in one language ('nl' or 'en')."""
    language: str = "nl"
    path: Path = LABEL_FILE

    def __post_init__(self):
        if self.language not in LANGUAGES:
            raise ValueError(f"report language {self.language!r}: use one of {', '.join(LANGUAGES)}")

    @property
    def entries(self) -> dict[str, dict[str, str]]:
        return _table(self.path)

    def get(self, key: str) -> str | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        return entry[self.language] or (entry["nl"] if self.language != "nl" else "")

    def text(self, key: str, **values) -> str:
        """The report's own text ``key`` (a missing key is a programming error: KeyError)."""
        found = self.get(key)
        if found is None:
            raise KeyError(f"no label {key!r} in {self.path.name}")
        return found.format(**values) if values else found

    def domain(self, code: str) -> str:
        return self.get(f"domain.{code}") or code.replace("_", " ")

    def _with_domains(self, text: str) -> str:
        """``text`` with every domain code in it (a whole word) replaced by its name."""
        pattern = _domain_pattern(self.path)
        return pattern.sub(lambda m: self.domain(m.group(1)), text) if pattern else text

    def _prefixed(self, name: str) -> str | None:
        starts = sorted((k.split(".", 1)[1] for k in self.entries if k.startswith("prefix.")), key=len, reverse=True)
        for start in starts:
            if name.startswith(start):
                rest = name[len(start):]
                form = self.text(f"prefix.{start}")
                return form.format(self._with_domains(rest).replace("_", " ")) if "{}" in form else form
        return None

    def column(self, name: str) -> str:
        """The header of an exported column."""
        return (self.get(f"column.{name}") or self._prefixed(name)
                or self._with_domains(name).replace("_", " "))

    def category(self, value: str) -> str:
        """A category (a cell of a label column) as the reader reads it."""
        value = str(value)
        ranked = RANK_GROUP.match(value)
        if ranked:
            share = ranked.group(2).replace(".", ",") if self.language == "nl" else ranked.group(2)
            return ranked.group(1) + self.text("rank.top").format(share)
        return (self.get(f"value.{value}") or self._prefixed(value) or self._with_domains(value))

    def meta_key(self, key: str) -> str:
        return self.get(f"meta.{key}") or key

    def meta_value(self, key: str, value: str) -> str:
        """A note's value: the kind of table and the unit in words, the rest as the export wrote it."""
        if key == "Kind":
            return self.get(f"kind.{value}") or value
        if key == "Unit":
            return self.get(f"unit.{value}") or value
        return value
