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

- ``text.<id>``: a Dutch text that other modules write (the titles and notes of the exported tables,
  the caveats among them, a notice): the ``nl`` column is the text as written, with ``{name}`` where
  it varies (an area code, a date, a percentage, a list of domains), the ``en`` column its
  translation with the same ``{name}``s. The English report translates such texts when it shows
  them (:meth:`Labels.translate`), so the exported files and their disclosure evidence stay exactly
  as written; the Dutch report shows them as they are. A ``{domains...}`` value has its domain codes
  replaced by their English names; every value has its Dutch numbers written in English
  (``2,9%`` is ``2.9%``) and is itself translated when the table has it;
- ``segment.<id>``: like ``text.<id>``, for a part of a longer text (a sentence of a note): replaced
  wherever it occurs in a text that no ``text.<id>`` matches as a whole.

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
PLACEHOLDER = re.compile(r"\{(\w+)\}")
DUTCH_NUMBER = re.compile(r"(?<![\d.,])(\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+,\d+)(?![\d])")
"""A number in Dutch format inside a text (1.155; 2,9; 15.048,5), not a date or a code (2023-12-31; 0344)."""
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


def _template_pattern(template: str) -> re.Pattern:
    """A ``text.<id>`` template as a regular expression: the words as written, every ``{name}`` any
    text (as short as possible), a name used twice the same text both times."""
    parts, seen, position = [], set(), 0
    for match in PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[position:match.start()]))
        name = match.group(1)
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts), re.DOTALL)


@lru_cache(maxsize=4)
def _texts(path: Path) -> tuple[dict[str, str], tuple[tuple[re.Pattern, str], ...]]:
    """The ``text.<id>`` entries: the fixed texts as {Dutch: English}, and the templates as (pattern,
    English), the longest Dutch template first (the most specific wins)."""
    fixed: dict[str, str] = {}
    templates = []
    for key, entry in _table(path).items():
        if not key.startswith("text."):
            continue
        if PLACEHOLDER.search(entry["nl"]):
            templates.append((len(PLACEHOLDER.sub("", entry["nl"])), _template_pattern(entry["nl"]), entry["en"]))
        else:
            fixed[entry["nl"]] = entry["en"]
    templates.sort(key=lambda t: -t[0])
    return fixed, tuple((pattern, english) for _, pattern, english in templates)


@lru_cache(maxsize=4)
def _segments(path: Path) -> tuple[tuple[str, re.Pattern | None, str], ...]:
    """The ``segment.<id>`` entries as (Dutch, pattern or None when fixed, English), the one with the
    most fixed words first."""
    entries = [(entry["nl"], _template_pattern(entry["nl"]) if PLACEHOLDER.search(entry["nl"]) else None,
                entry["en"]) for key, entry in _table(path).items() if key.startswith("segment.")]
    return tuple(sorted(entries, key=lambda e: -len(PLACEHOLDER.sub("", e[0]))))


def english_numbers(text: str) -> str:
    """``text`` with every number in Dutch format written in English format (2,9% is 2.9%; 1.155 is 1,155)."""
    return DUTCH_NUMBER.sub(lambda m: m.group(1).replace(".", "\0").replace(",", ".").replace("\0", ","), text)


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
                rest = self._with_domains(rest).replace("_", " ")
                if self.language != "nl":      # the rest a category too (a household type: "paar met kinderen")
                    rest = self.category(rest)
                return form.format(rest) if "{}" in form else form
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
        found = self.get(f"value.{value}") or self._prefixed(value)
        if found:
            return found
        return self._with_domains(self.translate(value) if self.language != "nl" else value)

    def translate(self, text: str) -> str:
        """A Dutch text another module wrote (a table's title or note, a caveat), in the report's
        language: as it is in Dutch; in English from the ``text.<id>`` and ``segment.<id>`` entries
        (the text unchanged where none matches)."""
        if self.language == "nl" or not text:
            return text
        return self._translated(text)

    @lru_cache(maxsize=4096)  # the same notes stand under every table
    def _translated(self, text: str) -> str:
        whole = self._translate_whole(text)
        if whole is None:
            # The longest segment first, fixed or with {name}s: a short one (", met kosten") must not
            # take the words of a longer one (", met kosten in ten minste {n} domein").
            for dutch, pattern, english in _segments(self.path):
                if pattern is None:
                    text = text.replace(dutch, english)
                else:
                    text = pattern.sub(lambda m, english=english: self._filled(english, m), text)
            whole = text
        # A domain code left in the text (a list of domains) is a Dutch word: its English name.
        return self._with_domains(whole)

    def _translate_whole(self, text: str) -> str | None:
        fixed, templates = _texts(self.path)
        if text in fixed:
            return fixed[text]
        for pattern, english in templates:
            match = pattern.fullmatch(text)
            if match:
                return self._filled(english, match)
        return None

    def _filled(self, english: str, match: re.Match) -> str:
        values = {}
        for name, value in match.groupdict().items():
            if name.startswith("domain"):
                value = self._with_domains(value)
            else:
                value = self._translate_whole(value) or value
            values[name] = english_numbers(value)
        return english.format(**values)

    def meta_key(self, key: str) -> str:
        """A note's key in words; a column named as a key (``overeenstemming_herstarts_ari``) by its
        column label in English (the Dutch report shows such a key as the export wrote it)."""
        found = self.get(f"meta.{key}")
        if found:
            return found
        return self.column(key) if self.language != "nl" and "_" in key else key

    def meta_value(self, key: str, value: str) -> str:
        """A note's value: the kind of table and the unit in words, the rest as the export wrote it (in
        English translated: :meth:`translate`)."""
        if key == "Kind":
            return self.get(f"kind.{value}") or value
        if key == "Unit":
            return self.get(f"unit.{value}") or value
        return self.translate(value)
