"""Read cost files in the format of the method's appendix 2, with every rule of the method.

A file has a header row with ``Instelling, BSN, Begindatum, Einddatum, <domain>,
Code/verdeling kosten, Bedrag, Toelichting`` and is usually saved by Dutch Excel. The
reader accepts:

* separators ``;``, ``,`` or tab; UTF-8 with or without BOM, or Windows-1252;
* amounts with a decimal comma or point, with or without thousands separators,
  negative (credit notes) as ``-12,50``, ``12,50-`` or ``(12,50)``, with or without ``€``;
* dates as ``20140301``, ``2014``, ``maart 2014`` / ``mrt 2014`` / ``mrt. 2014``,
  ``03-2014``, ``201403``, ``1-3-2014`` / ``01/03/2014`` / ``1.3.2014``, ``2014-03-01``
  and ``1 maart 2014``.

**Decimal separator.** Decided for the whole file from its amounts (``amount_decimal``):
an amount with both separators (``1.234,56``), one separator repeated (``1.234.567``) or
one separator not followed by exactly three digits (``12,5``, ``12,50``) shows the file's
notation. An amount like ``1,200`` or ``12.000`` (one separator, three digits after it)
can be read both ways; it is never guessed: when no amount of the file settles the
notation, or the file shows both notations, reading stops with the file, example rows and
the setting to choose (``[sources.municipality] decimal``). With a clear notation, an
amount written in the other notation is rejected with its own reason.

Rules (appendix 2 of the method): an empty end date is the end of the start's month,
or of its year when the start was given as a year. An amount covers its whole period:
a period of whole calendar months (given as months, years or dates: ``20140101`` to
``20141231``) is spread equally over its months; a period that starts or ends inside a
month is spread in proportion to its days in each month (``lib.spreading``). Credit
notes are netted.

**Persons.** On the municipal route a file names its persons by ``BSN`` (eleven-tested) or by a
trusted third party's pseudonym in a column the configuration names (``[sources.municipality]
key_column``; digits only, no eleven-test: a pseudonym is no BSN). In CBS Remote Access the
municipality delivers its files to CBS, which links them and replaces the BSN by ``RINPERSOONS`` and
``RINPERSOON`` (``[sources.cbs] cost_files``); only ``RINPERSOONS`` 'R' links, as in the registers.

**Providers.** Each record keeps its provider (``Instelling``) as a small integer code
(``ProviderCodes``): the same name, whatever its capitals and spaces, is one provider over all files.

Rows are rejected with a reason (and kept) when: the person key is missing or invalid (the
BSN's eleven-test, where raw BSNs occur; RINPERSOONS other than 'R'), a date or the amount cannot be read, the end is
before the start, the period lies outside the study period, or the domain label is not
in the domain mapping. A period partly outside the study period is clipped: only the
part inside counts, and the rest is accounted as clipped. Exact duplicate rows (every
field the same as an earlier row) are always reported, with their euros; by default they
are dropped (rejected as duplicates), with ``drop_duplicates`` false they are kept.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lib.dates import days_from_ymd, days_in_month, month_index, month_start
from lib.errors import UserFacingError
from lib.spreading import covers_whole_months

CANONICAL = ("instelling", "bsn", "begindatum", "einddatum", "domein", "code", "bedrag", "toelichting")
HEADER_ALIASES = {
    "instelling": "instelling", "aanbieder": "instelling", "zorgaanbieder": "instelling",
    "bsn": "bsn", "burgerservicenummer": "bsn",
    "begindatum": "begindatum", "startdatum": "begindatum", "datum begin": "begindatum",
    "einddatum": "einddatum", "datum einde": "einddatum",
    "domein": "domein", "hoofdgroep": "domein", "domain": "domein",
    "code/verdeling kosten": "code", "code / verdeling kosten": "code", "code": "code", "verdeling kosten": "code",
    "bedrag": "bedrag", "kosten": "bedrag",
    "toelichting": "toelichting", "opmerking": "toelichting",
}
REQUIRED = ("bsn", "begindatum", "einddatum", "domein", "bedrag")

KEY_KINDS = ("bsn", "pseudonym", "rin")
"""How a file names its persons: ``bsn`` (the municipal route's raw BSN, column ``BSN``), ``pseudonym``
(the municipal route with a trusted third party's pseudonym in a column the configuration names; no
eleven-test) or ``rin`` (the CBS route: CBS linked the file and replaced the BSN by ``RINPERSOONS`` and
``RINPERSOON``)."""
KEY_COLUMNS = {"bsn": ("bsn",), "pseudonym": ("pseudoniem",), "rin": ("rinpersoons", "rinpersoon")}
KEY_HEADER = {"bsn": "BSN", "pseudonym": None, "rin": "RINPERSOONS, RINPERSOON"}

MONTHS = {"januari": 1, "jan": 1, "februari": 2, "feb": 2, "maart": 3, "mrt": 3, "mar": 3, "april": 4, "apr": 4,
          "mei": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "augustus": 8, "aug": 8, "september": 9,
          "sept": 9, "sep": 9, "oktober": 10, "okt": 10, "oct": 10, "november": 11, "nov": 11, "december": 12,
          "dec": 12}
GRAN_INVALID, GRAN_DAY, GRAN_MONTH, GRAN_YEAR, GRAN_BLANK = 0, 1, 2, 3, 4

REASON = {
    "bsn_missing": "no BSN",
    "bsn_invalid": "BSN is not 9 digits",
    "bsn_eleven": "BSN fails the eleven-test",
    "pseudonym_missing": "no pseudonym",
    "pseudonym_invalid": "pseudonym is not a number of at most 9 digits",
    "rin_not_r": "RINPERSOONS is not 'R': the person cannot be linked",
    "rin_invalid": "RINPERSOON missing or not a number of at most 9 digits",
    "start_missing": "no start date",
    "start_invalid": "start date cannot be read",
    "end_invalid": "end date cannot be read",
    "end_before_start": "end date before start date",
    "amount_invalid": "amount cannot be read as a number",
    "amount_notation": "amount written with the other decimal separator than the rest of the file",
    "outside_period": "period entirely outside the study period",
    "domain_unknown": "domain label not in the domain mapping",
    "duplicate": "exact duplicate of an earlier row",
}


@dataclass
class Appendix2Result:
    """The usable records and the rejected rows of one file, with its accounting."""

    path: Path
    encoding: str
    separator: str
    decimal: str
    records: pd.DataFrame
    """line, provider, key (the person's BSN, pseudonym or RINPERSOON as an integer), start, end, amount
    (inside the period), spread, domain, code."""
    rejected: pd.DataFrame
    """line, reason, amount (when readable), and the row's original fields."""
    rows_read: int = 0
    amount_read: float = 0.0
    amount_clipped: float = 0.0
    clipped_rows: int = 0
    credit_notes: int = 0
    credit_amount: float = 0.0
    duplicates: pd.DataFrame | None = None
    """Every exact duplicate row that would otherwise be used: line, first_line (the earlier row
    it repeats), amount (as read), kept (False: dropped, among the rejected rows)."""
    notes: list[str] = field(default_factory=list)

    @property
    def duplicate_rows(self) -> int:
        return 0 if self.duplicates is None else len(self.duplicates)

    @property
    def duplicate_amount(self) -> float:
        return 0.0 if self.duplicates is None else float(np.nansum(self.duplicates["amount"].to_numpy(dtype=float)))


def decode(path: Path) -> tuple[str, str]:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise UserFacingError(f"{path}: the file is neither UTF-8 nor Windows-1252 text (byte {exc.start}); "
                              "save it from Excel as 'CSV (gescheiden door lijstscheidingsteken)'") from None


def _separator(header: str) -> str:
    return max((";", ",", "\t"), key=header.count)


def _header_name(column) -> str:
    return re.sub(r"\s+", " ", str(column).strip().lower())


def _canonical_header(path: Path, columns: list[str], key: str = "bsn", key_column: str = "BSN") -> list[str]:
    aliases = dict(HEADER_ALIASES)
    if key != "bsn":
        # Data minimisation: a file keyed otherwise may still carry a BSN column; it is not read.
        aliases = {k: v for k, v in aliases.items() if v != "bsn"}
    if key == "pseudonym":
        aliases[_header_name(key_column)] = "pseudoniem"
    elif key == "rin":
        aliases |= {"rinpersoons": "rinpersoons", "rinpersoon": "rinpersoon"}
    names = [aliases.get(_header_name(c), _header_name(c)) for c in columns]
    required = KEY_COLUMNS[key] + REQUIRED[1:]
    missing = [r for r in required if r not in names]
    if missing:
        shown = [key_column if m == "pseudoniem" else m for m in missing]
        person = KEY_HEADER[key] or key_column
        where = {"bsn": "", "pseudonym": " (the column of the trusted third party's pseudonym, [sources.municipality] "
                 "key_column)", "rin": " (CBS replaces the BSN by these two columns when it links the file)"}[key]
        raise UserFacingError(
            f"{path}: the header row lacks {', '.join(shown)} (found: {', '.join(map(str, columns))}). "
            f"Appendix 2 asks for the columns Instelling, {person}{where}, Begindatum, Einddatum, Domein, "
            "Code/verdeling kosten, Bedrag, Toelichting in the first row; ask the provider to resend the file.")
    return names


def read_text_table(path: Path, text: str, sep: str, what: str, usecols=None) -> pd.DataFrame:
    """The rows of a delimited text as text columns, with their line numbers (``line``, 1 = the
    header); blank rows are left out. Problems of the file's structure are messages: a row with
    more fields than the header (which pandas would read as a shifted row, or cut short)."""
    _check_field_counts(path, text, sep, what)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=False,
                            quotechar='"', usecols=usecols, index_col=False)
    except pd.errors.EmptyDataError:
        raise UserFacingError(f"{path}: the {what} is empty (not even a header row)") from None
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise UserFacingError(
            f"{path}: the {what} cannot be read as {sep!r}-separated text ({detail}). A field that holds the "
            f"separator {sep!r} (an amount like 1{sep}200 or a remark) must be in double quotes; save the file from "
            "Excel as 'CSV (gescheiden door lijstscheidingsteken)' or ask the sender to resend it") from None
    # Line numbers: exact when no quoted field holds a line break, otherwise counted by the csv module.
    physical = text.count("\n") + (0 if text.endswith("\n") else 1)
    if physical - 1 == len(frame):
        lines = np.arange(2, len(frame) + 2)
    else:
        import csv
        # A record starts on the line after the previous record ended.
        reader = csv.reader(io.StringIO(text), delimiter=sep)
        next(reader)
        starts, previous_end = [], reader.line_num
        for _ in reader:
            starts.append(previous_end + 1)
            previous_end = reader.line_num
        lines = np.array(starts[:len(frame)])
    columns = list(frame.columns)
    blank = (frame[columns].apply(lambda c: c.str.strip()) == "").all(axis=1).to_numpy() if columns else \
        np.ones(len(frame), bool)
    frame.insert(0, "line", lines.astype(np.int64))
    return frame[~blank].reset_index(drop=True)


def _check_field_counts(path: Path, text: str, sep: str, what: str) -> None:
    """Refuse a row with more fields than the header row, counted on the lines without quotes
    (a quoted field may hold the separator; the csv parser reads those)."""
    lines = pd.Series(text.split("\n")).str.rstrip("\r")
    if lines.empty:
        return
    header_fields = int(lines.str.count(re.escape(sep)).iloc[0]) + 1
    fields = lines.str.count(re.escape(sep)).to_numpy() + 1
    plain = ~lines.str.contains('"', regex=False).to_numpy()
    too_many = np.flatnonzero(plain & (fields > header_fields))
    if too_many.size:
        first = int(too_many[0])
        others = f" (and {too_many.size - 1:,} more line(s))" if too_many.size > 1 else ""
        raise UserFacingError(
            f"{path}: line {first + 1} has {int(fields[first])} fields where the header row has {header_fields}"
            f"{others}: {lines.iloc[first][:120]!r}. A field that holds the separator {sep!r} (an amount like "
            f"300{sep}50, a name or a remark) must be in double quotes; save the {what} from Excel as 'CSV "
            "(gescheiden door lijstscheidingsteken)' or ask the sender to resend it")


def canonical_columns(key: str = "bsn") -> tuple[str, ...]:
    """The canonical fields of a file whose persons are named by ``key`` (see ``KEY_KINDS``)."""
    return (CANONICAL[0],) + KEY_COLUMNS[key] + CANONICAL[2:]


def read_rows(path: Path, key: str = "bsn", key_column: str = "BSN") -> tuple[pd.DataFrame, str, str]:
    """All rows as text in canonical columns (``canonical_columns(key)``), with their line numbers
    (1 = header)."""
    text, encoding = decode(path)
    if not text.strip():
        raise UserFacingError(f"{path}: the cost file is empty (not even a header row); ask the provider to resend it")
    first = text.split("\n", 1)[0]
    sep = _separator(first)
    frame = read_text_table(path, text, sep, "cost file")
    lines = frame.pop("line")
    frame.columns = _canonical_header(path, list(frame.columns), key, key_column)
    canonical = canonical_columns(key)
    for c in canonical:
        if c not in frame.columns:
            frame[c] = ""
    frame = frame[list(canonical)]
    frame.insert(0, "line", lines.to_numpy())
    return frame, encoding, sep


# --- amounts ---------------------------------------------------------------------------

def _clean_amount_text(text: pd.Series) -> pd.Series:
    s = text.str.replace("\u00a0", "", regex=False).str.replace("€", "", regex=False)
    s = s.str.replace("EUR", "", regex=False).str.replace(" ", "", regex=False).str.strip()
    negative = s.str.startswith("(") & s.str.endswith(")") | s.str.endswith("-")
    s = s.str.strip("()").str.rstrip("-")
    return s.where(~negative, "-" + s.str.lstrip("-"))


def amount_notation(text: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What each amount says about the decimal separator: (says ',', says '.', ambiguous).

    An amount shows its notation when it has both separators (the last one is the decimal:
    ``1.234,56``), one separator more than once (a thousands separator: ``1.234.567``), or one
    separator once that cannot group thousands: not followed by exactly three digits (``12,5``,
    ``12,50``), after more than three digits (``1234,567``) or after a leading zero (``0,500``).
    One separator followed by three digits (``1,200``, ``12.000``) reads both ways: ambiguous.
    Amounts without a separator, or that are not numbers, say nothing."""
    s = _clean_amount_text(text.fillna("").astype(str)).str.lstrip("-")
    numeric = s.str.fullmatch(r"\d([\d.,]*\d)?").fillna(False).to_numpy(dtype=bool)
    n_comma, n_point = s.str.count(",").to_numpy(), s.str.count(r"\.").to_numpy()
    last_comma, last_point = s.str.rfind(",").to_numpy(), s.str.rfind(".").to_numpy()
    length = s.str.len().to_numpy()
    leading_zero = s.str.startswith("0").to_numpy(dtype=bool)
    both = (n_comma > 0) & (n_point > 0)
    says_comma = both & (last_comma > last_point)
    says_point = both & (last_point > last_comma)
    ambiguous = np.zeros(len(s), dtype=bool)
    for count, other, last, says_self, says_other in ((n_comma, n_point, last_comma, says_comma, says_point),
                                                      (n_point, n_comma, last_point, says_point, says_comma)):
        only = (count > 0) & (other == 0)
        says_other |= only & (count > 1)                   # repeated: it groups thousands
        once = only & (count == 1)
        decimal_only = (length - last - 1 != 3) | (last > 3) | leading_zero
        says_self |= once & decimal_only
        ambiguous |= once & ~decimal_only
    return says_comma & numeric, says_point & numeric, ambiguous & numeric


def amount_decimal(text: pd.Series, lines=None, path: Path | str = "the file", setting: str | None = None,
                   setting_key: str | None = None) -> str:
    """The file's decimal separator, decided from all its amounts (see ``amount_notation``).

    ``setting`` (``","`` or ``"."``, from the configuration) decides without looking; ``setting_key``
    names the file in ``[sources.municipality] decimal`` for the message ("" for the file's name,
    None for a table that has no such setting). Otherwise
    the notation the amounts show; when they show both, the one most show, provided no amount
    is ambiguous. Returns ``""`` when no amount has a separator (whole numbers). Raises a
    ``UserFacingError`` naming the file, example rows and the setting to choose when an
    ambiguous amount cannot be settled by the file."""
    if setting:
        return setting
    says_comma, says_point, ambiguous = amount_notation(text)
    comma, point = int(says_comma.sum()), int(says_point.sum())
    if not ambiguous.any() and comma != point:
        return "," if comma > point else "."
    if not ambiguous.any() and comma == 0:
        return ""
    if ambiguous.any() and (comma == 0) != (point == 0):
        return "," if comma else "."
    lines = np.arange(2, len(text) + 2) if lines is None else np.asarray(lines)
    values = text.to_numpy(dtype=object)

    def examples(mask: np.ndarray) -> str:
        rows = np.flatnonzero(mask)
        shown = ", ".join(f"{str(values[i]).strip()!r} (line {int(lines[i])})" for i in rows[:3])
        return f"{rows.size:,} such as {shown}"

    if setting_key is None:          # a table of the bundle's own (prices, index): no setting to choose
        choose = "Write every amount with its decimals (1200.00 or 1200,00), so the file shows its notation."
    else:
        key = setting_key or Path(path).name
        choose = (f'Choose the reading for this file in the run configuration, under [sources.municipality]: '
                  f'decimal = {{ "{key}" = "," }} (decimal comma: 1.234,56 and 1,20; then 1,200 is 1.20) or '
                  f'decimal = {{ "{key}" = "." }} (decimal point: 1,234.56 and 1.20; then 1,200 is 1200.00); '
                  'or ask the provider to resend the file with two decimals in every amount (1200,00).')
    if comma and point:
        found = (f"the amounts show both notations: decimal comma in {examples(says_comma)}; decimal point in "
                 f"{examples(says_point)}")
        if ambiguous.any():
            found += f"; and {examples(ambiguous)} read either way"
        raise UserFacingError(f"{path}: cannot tell the decimal separator of the amounts (Bedrag): {found}. {choose}")
    raise UserFacingError(
        f"{path}: cannot tell the decimal separator of the amounts (Bedrag): {examples(ambiguous)} can be read "
        "either way (one separator followed by three digits: 1,200 is 1200.00 with a thousands separator or 1.20 "
        f"with a decimal comma), and no amount in the file settles it. {choose}")


def parse_amounts(text: pd.Series, decimal: str) -> np.ndarray:
    """Amounts as floats (NaN where the text is not a number in the file's notation)."""
    s = _clean_amount_text(text)
    decimal = decimal or ","                     # whole numbers: either reading is the same
    thousands = "." if decimal == "," else ","
    grouped = s.str.contains(re.escape(thousands), regex=True)
    plain = s.str.replace(thousands, "", regex=False).str.replace(decimal, ".", regex=False)
    valid = plain.str.match(r"^-?\d+(\.\d+)?$")
    # Thousands separators must group by three (1.234,56), otherwise "1.5" in a comma file is ambiguous.
    bad_grouping = grouped & ~s.str.match(r"^-?\d{1,3}(" + re.escape(thousands) + r"\d{3})+(" + re.escape(decimal)
                                          + r"\d+)?$")
    values = pd.to_numeric(plain.where(valid & ~bad_grouping), errors="coerce")
    return values.to_numpy(dtype=float)


# --- dates -------------------------------------------------------------------------------

_MONTH_PATTERN = "|".join(sorted(MONTHS, key=len, reverse=True))
_DATE_FORMS = (
    (re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$"), GRAN_DAY),
    (re.compile(r"^(?P<y>\d{4})$"), GRAN_YEAR),
    (re.compile(r"^(?P<d>\d{1,2})[-/.](?P<m>\d{1,2})[-/.](?P<y>\d{4})$"), GRAN_DAY),
    (re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$"), GRAN_DAY),
    (re.compile(rf"^(?P<mn>{_MONTH_PATTERN})\.?\s+(?P<y>\d{{4}})$"), GRAN_MONTH),
    (re.compile(rf"^(?P<d>\d{{1,2}})\s+(?P<mn>{_MONTH_PATTERN})\.?\s+(?P<y>\d{{4}})$"), GRAN_DAY),
    (re.compile(r"^(?P<m>\d{1,2})[-/](?P<y>\d{4})$"), GRAN_MONTH),
    (re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})$"), GRAN_MONTH),
)


def parse_dates(text: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first day, last day, granularity) of each date text.

    A day covers itself; a month (``maart 2014``) runs from its first to its last day;
    a year (``2014``) from 1 January to 31 December. Invalid dates (``31-2-2014``,
    month 13) get granularity GRAN_INVALID, empty texts GRAN_BLANK.
    """
    s = text.fillna("").astype(str).str.strip().str.lower()
    n = len(s)
    year = np.zeros(n, np.int64)
    month = np.zeros(n, np.int64)
    day = np.zeros(n, np.int64)
    gran = np.where(s.to_numpy() == "", GRAN_BLANK, GRAN_INVALID).astype(np.int8)
    todo = gran == GRAN_INVALID
    for pattern, g in _DATE_FORMS:
        if not todo.any():
            break
        found = s[todo].str.extract(pattern)
        hit = found["y"].notna().to_numpy()
        if not hit.any():
            continue
        rows = np.flatnonzero(todo)[hit]
        f = found[hit]
        year[rows] = f["y"].astype(np.int64).to_numpy()
        if "mn" in f:
            month[rows] = f["mn"].map(MONTHS).to_numpy(dtype=np.int64)
        elif "m" in f:
            month[rows] = f["m"].astype(np.int64).to_numpy()
        else:
            month[rows] = 1
        day[rows] = f["d"].astype(np.int64).to_numpy() if "d" in f else 1
        gran[rows] = g
        todo[rows] = False
    parsed = (gran == GRAN_DAY) | (gran == GRAN_MONTH) | (gran == GRAN_YEAR)
    ok = parsed & (month >= 1) & (month <= 12) & (year >= 1900) & (year <= 2100)
    m_index = np.where(ok, (year - 1970) * 12 + month - 1, 0)
    ok &= day <= days_in_month(m_index)
    ok &= day >= 1
    gran = np.where(parsed & ~ok, GRAN_INVALID, gran).astype(np.int8)
    first = days_from_ymd(np.where(ok, year, 1970), np.where(ok, month, 1), np.where(ok, day, 1)).astype(np.int64)
    last = first.copy()
    is_month = gran == GRAN_MONTH
    last[is_month] = first[is_month] + days_in_month(m_index[is_month]) - 1
    is_year = gran == GRAN_YEAR
    last[is_year] = days_from_ymd(year[is_year], 12, 31)
    return first, last, gran


def eleven_test(bsn: pd.Series) -> np.ndarray:
    """True where a 9-digit text passes the BSN eleven-test (9d1 + 8d2 + ... + 2d8 - d9 = 0 mod 11)."""
    digits = bsn.to_numpy(dtype="U9").view("U1").reshape(-1, 9).astype(np.int64)
    total = digits @ np.array([9, 8, 7, 6, 5, 4, 3, 2, -1])
    return (total % 11 == 0) & (digits.sum(axis=1) > 0)


def _person_keys(rows: pd.DataFrame, key: str, check_eleven: bool, reject) -> np.ndarray:
    """Each row's person key as an integer (-1 where the row is rejected for it), by ``key``
    (``KEY_KINDS``): a BSN (eleven-test when ``check_eleven``), a pseudonym (digits only, no
    eleven-test: a pseudonym is no BSN) or RINPERSOONS/RINPERSOON (only 'R' links, as in the CBS
    registers)."""
    n = len(rows)
    if key == "rin":
        reject((rows["rinpersoons"].str.strip() != "R").to_numpy(), "rin_not_r")
        raw = rows["rinpersoon"].str.strip()
        digits = raw.str.fullmatch(r"\d{1,9}").to_numpy(dtype=bool)
        reject(~digits, "rin_invalid")
    else:
        column = KEY_COLUMNS[key][0]
        raw = rows[column].str.strip().str.replace(r"[\s.]", "", regex=True)
        digits = raw.str.fullmatch(r"\d{1,9}").to_numpy(dtype=bool)
        kind = "bsn" if key == "bsn" else "pseudonym"
        reject((raw == "").to_numpy(), f"{kind}_missing")
        reject(~digits, f"{kind}_invalid")
        if key == "bsn" and check_eleven:
            valid_digits = np.flatnonzero(digits)
            passes = np.zeros(n, dtype=bool)
            passes[valid_digits] = eleven_test(raw.iloc[valid_digits].str.zfill(9))
            reject(~passes, "bsn_eleven")
    keys = np.full(n, -1, dtype=np.int64)
    keys[digits] = raw[digits].astype(np.int64).to_numpy()
    return keys


def read_appendix2(path: Path, period_start: int, period_end: int, domain_mapping: pd.DataFrame,
                   check_eleven: bool = True, drop_duplicates: bool = True, decimal: str | None = None,
                   decimal_key: str = "", key: str = "bsn", key_column: str = "BSN") -> Appendix2Result:
    """Read one appendix-2 file; see the module docstring for the rules.

    ``decimal`` (``","`` or ``"."``) is the file's decimal separator when the configuration
    sets it; by default it is decided from the file's amounts (``amount_decimal``), and
    ``decimal_key`` is how a message names the file in the setting to choose. ``key`` says how
    the file names its persons (``KEY_KINDS``); with ``pseudonym``, ``key_column`` is the header
    of the pseudonym's column."""
    if key not in KEY_KINDS:
        raise ValueError(f"unknown person key {key!r}")
    rows, encoding, sep = read_rows(path, key, key_column)
    n = len(rows)
    reason = np.full(n, "", dtype=object)

    def reject(mask, why):
        new = np.asarray(mask) & (reason == "")
        reason[new] = REASON[why]

    person_key = _person_keys(rows, key, check_eleven, reject)

    s_first, s_last, s_gran = parse_dates(rows["begindatum"])
    e_first, e_last, e_gran = parse_dates(rows["einddatum"])
    reject(s_gran == GRAN_BLANK, "start_missing")
    reject(s_gran == GRAN_INVALID, "start_invalid")
    reject(e_gran == GRAN_INVALID, "end_invalid")

    decimal = amount_decimal(rows["bedrag"], rows["line"].to_numpy(), path, decimal, decimal_key)
    amount = parse_amounts(rows["bedrag"], decimal)
    readable = ~np.isnan(amount)
    says_comma, says_point, _ = amount_notation(rows["bedrag"])
    reject(~readable & {",": says_point, ".": says_comma, "": says_comma | says_point}[decimal], "amount_notation")
    reject(~readable, "amount_invalid")

    # An empty end date: the end of the start's month, or of its year.
    start_month_end = month_start(month_index(s_first) + 1).astype(np.int64) - 1
    start = s_first
    end = np.where(e_gran == GRAN_BLANK, np.where(s_gran == GRAN_YEAR, s_last, start_month_end), e_last)
    reject(end < start, "end_before_start")
    # Whole calendar months (as months, years or dates) are spread equally over the months.
    by_months = covers_whole_months(start, end)
    reject((end < period_start) | (start > period_end), "outside_period")

    by_code, by_label = _domain_lookup(domain_mapping)
    label = rows["domein"].str.strip().str.lower()
    domain = (label + "\x1f" + rows["code"].str.strip().str.lower()).map(by_code)
    domain = domain.where(domain.notna(), label.map(by_label))
    reject(domain.isna().to_numpy(), "domain_unknown")

    # Exact duplicates (every field as an earlier row) are reported whether they are dropped or kept.
    canonical = list(canonical_columns(key))
    fields = rows[canonical]
    group = fields.groupby(canonical, sort=False, dropna=False).ngroup().to_numpy()
    _, first_of_group = np.unique(group, return_index=True)
    dup = fields.duplicated(keep="first").to_numpy() & (reason == "")
    duplicates = pd.DataFrame({"line": rows["line"].to_numpy()[dup],
                               "first_line": rows["line"].to_numpy()[first_of_group[group[dup]]],
                               "amount": amount[dup], "kept": not drop_duplicates})
    if drop_duplicates:
        reject(dup, "duplicate")

    used = reason == ""
    # Clip to the study period: the share of the amount inside, by days or by whole months.
    c_start = np.maximum(start, period_start)
    c_end = np.minimum(end, period_end)
    total_days = end - start + 1
    inside_days = np.maximum(c_end - c_start + 1, 0)
    total_months = month_index(end).astype(np.int64) - month_index(start) + 1
    inside_months = np.maximum(month_index(c_end).astype(np.int64) - month_index(c_start) + 1, 0)
    share = np.where(by_months, inside_months / np.maximum(total_months, 1), inside_days / np.maximum(total_days, 1))
    amount_inside = np.where(used, amount * share, 0.0)
    clipped = used & (share < 1)

    records = pd.DataFrame({
        "line": rows["line"].to_numpy()[used], "provider": rows["instelling"].str.strip().to_numpy()[used],
        "key": person_key[used], "start": c_start[used].astype(np.int32), "end": c_end[used].astype(np.int32),
        "amount": amount_inside[used], "spread": np.where(by_months[used], "months", "days"),
        "domain": domain.to_numpy()[used], "code": rows["code"].str.strip().to_numpy()[used],
    })
    rejected = rows.loc[~used].copy()
    rejected.insert(1, "reason", reason[~used])
    rejected.insert(2, "amount", amount[~used])
    credit = used & (amount < 0)
    return Appendix2Result(
        path=path, encoding=encoding, separator=sep, decimal=decimal, records=records, rejected=rejected,
        rows_read=n, amount_read=float(np.nansum(amount)), amount_clipped=float(np.sum((amount - amount_inside)[used])),
        clipped_rows=int(clipped.sum()), credit_notes=int(credit.sum()), credit_amount=float(amount[credit].sum()),
        duplicates=duplicates,
    )


def load_domain_mapping(path: Path) -> pd.DataFrame:
    mapping = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    missing = {"domain_label", "cost_code", "domain"} - set(mapping.columns)
    if missing:
        raise UserFacingError(f"{path}: the domain mapping needs the columns domain_label, cost_code, domain "
                              f"(missing {', '.join(sorted(missing))})")
    return mapping


def _domain_lookup(mapping: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Domain by (label, cost code) and by label alone; labels and codes compared without case."""
    label = mapping["domain_label"].str.strip().str.lower()
    code = mapping["cost_code"].str.strip().str.lower()
    specific = (code != "").to_numpy()
    by_code = pd.Series(mapping["domain"].to_numpy()[specific], index=(label + "\x1f" + code)[specific].to_numpy())
    by_label = pd.Series(mapping["domain"].to_numpy()[~specific], index=label[~specific].to_numpy())
    return by_code[~by_code.index.duplicated()], by_label[~by_label.index.duplicated()]


class ProviderCodes:
    """Integer codes of the providers (``Instelling``) of a run's appendix-2 files: 1, 2, ... in the
    order they are first met (files in the inventory's order, rows in file order), 0 for a record
    without a provider (a register). One provider is one name compared without case and with spaces
    collapsed; the code table keeps the first spelling met. The ledger is national in size: it
    carries the code, never the name."""

    def __init__(self):
        self._codes: dict[str, int] = {}
        self._names: list[str] = []
        self._files: list[set[str]] = []

    def codes(self, names: np.ndarray, file: str) -> np.ndarray:
        """The code of each provider name of one file's records (``int16``)."""
        text = pd.Series(names, dtype=object).fillna("").astype(str).str.strip()
        normal = text.str.replace(r"\s+", " ", regex=True).str.casefold()
        distinct, inverse = np.unique(normal.to_numpy(dtype=object), return_inverse=True) if len(text) else \
            (np.zeros(0, dtype=object), np.zeros(0, np.int64))
        first_spelling = text.groupby(normal.to_numpy(), sort=True).first()
        # Codes in order of first appearance within the file, so they do not depend on sorting.
        order = pd.unique(normal.to_numpy(dtype=object))
        for name in order:
            if name not in self._codes:
                self._codes[name] = len(self._names) + 1
                self._names.append(first_spelling[name] or "(zonder naam)")
                self._files.append(set())
            self._files[self._codes[name] - 1].add(file)
        mapped = np.array([self._codes[d] for d in distinct], dtype=np.int16)
        return mapped[inverse.reshape(-1)] if len(text) else np.zeros(0, np.int16)

    def table(self) -> pd.DataFrame:
        """provider (code), name (as first met), files (the file names, ``;``-separated)."""
        return pd.DataFrame({"provider": np.arange(1, len(self._names) + 1, dtype=np.int16),
                             "name": pd.Series(self._names, dtype=object),
                             "files": pd.Series([";".join(sorted(f)) for f in self._files], dtype=object)})
