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

Rules (appendix 2 of the method): an empty end date is the end of the start's month,
or of its year when the start was given as a year. An amount covers its whole period:
it is spread over the months in proportion to the days in each month, or equally over
whole months when the period was given as months or years. Credit notes are netted.

Rows are rejected with a reason (and kept) when: the BSN is missing or invalid (the
eleven-test, where raw BSNs occur), a date or the amount cannot be read, the end is
before the start, the period lies outside the study period, or the domain label is not
in the domain mapping. A period partly outside the study period is clipped: only the
part inside counts, and the rest is accounted as clipped. Exact duplicate rows are
reported and (by default) dropped.
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

MONTHS = {"januari": 1, "jan": 1, "februari": 2, "feb": 2, "maart": 3, "mrt": 3, "mar": 3, "april": 4, "apr": 4,
          "mei": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "augustus": 8, "aug": 8, "september": 9,
          "sept": 9, "sep": 9, "oktober": 10, "okt": 10, "oct": 10, "november": 11, "nov": 11, "december": 12,
          "dec": 12}
GRAN_INVALID, GRAN_DAY, GRAN_MONTH, GRAN_YEAR, GRAN_BLANK = 0, 1, 2, 3, 4

REASON = {
    "bsn_missing": "no BSN",
    "bsn_invalid": "BSN is not 9 digits",
    "bsn_eleven": "BSN fails the eleven-test",
    "start_missing": "no start date",
    "start_invalid": "start date cannot be read",
    "end_invalid": "end date cannot be read",
    "end_before_start": "end date before start date",
    "amount_invalid": "amount cannot be read as a number",
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
    """line, provider, bsn, start, end, amount (inside the period), spread, domain, code."""
    rejected: pd.DataFrame
    """line, reason, amount (when readable), and the row's original fields."""
    rows_read: int = 0
    amount_read: float = 0.0
    amount_clipped: float = 0.0
    clipped_rows: int = 0
    credit_notes: int = 0
    credit_amount: float = 0.0
    notes: list[str] = field(default_factory=list)


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


def _canonical_header(path: Path, columns: list[str]) -> list[str]:
    names = []
    for c in columns:
        key = re.sub(r"\s+", " ", str(c).strip().lower())
        names.append(HEADER_ALIASES.get(key, key))
    missing = [r for r in REQUIRED if r not in names]
    if missing:
        raise UserFacingError(
            f"{path}: the header row lacks {', '.join(missing)} (found: {', '.join(map(str, columns))}). "
            "Appendix 2 asks for the columns Instelling, BSN, Begindatum, Einddatum, Domein, "
            "Code/verdeling kosten, Bedrag, Toelichting in the first row; ask the provider to resend the file.")
    return names


def read_rows(path: Path) -> tuple[pd.DataFrame, str, str]:
    """All rows as text in canonical columns, with their line numbers (1 = header)."""
    text, encoding = decode(path)
    first = text.split("\n", 1)[0]
    sep = _separator(first)
    frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=False,
                        quotechar='"')
    frame.columns = _canonical_header(path, list(frame.columns))
    for c in CANONICAL:
        if c not in frame.columns:
            frame[c] = ""
    frame = frame[list(CANONICAL)]
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
    frame.insert(0, "line", lines.astype(np.int64))
    blank = (frame[list(CANONICAL)].apply(lambda s: s.str.strip()) == "").all(axis=1)
    return frame[~blank].reset_index(drop=True), encoding, sep


# --- amounts ---------------------------------------------------------------------------

_COMMA_DECIMAL = re.compile(r"^-?(\d{1,3}(\.\d{3})+|\d+),\d{1,2}$")
_POINT_DECIMAL = re.compile(r"^-?(\d{1,3}(,\d{3})+|\d+)\.\d{1,2}$")


def _clean_amount_text(text: pd.Series) -> pd.Series:
    s = text.str.replace("\u00a0", "", regex=False).str.replace("€", "", regex=False)
    s = s.str.replace("EUR", "", regex=False).str.replace(" ", "", regex=False).str.strip()
    negative = s.str.startswith("(") & s.str.endswith(")") | s.str.endswith("-")
    s = s.str.strip("()").str.rstrip("-")
    return s.where(~negative, "-" + s.str.lstrip("-"))


def amount_decimal(text: pd.Series) -> str:
    """The file's decimal separator: the one most of its amounts use."""
    s = _clean_amount_text(text)
    comma = s.str.match(_COMMA_DECIMAL).sum()
    point = s.str.match(_POINT_DECIMAL).sum()
    return "," if comma >= point else "."


def parse_amounts(text: pd.Series, decimal: str) -> np.ndarray:
    """Amounts as floats (NaN where the text is not a number in the file's notation)."""
    s = _clean_amount_text(text)
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


def read_appendix2(path: Path, period_start: int, period_end: int, domain_mapping: pd.DataFrame,
                   check_eleven: bool = True, drop_duplicates: bool = True) -> Appendix2Result:
    """Read one appendix-2 file; see the module docstring for the rules."""
    rows, encoding, sep = read_rows(path)
    n = len(rows)
    reason = np.full(n, "", dtype=object)

    def reject(mask, key):
        new = np.asarray(mask) & (reason == "")
        reason[new] = REASON[key]

    bsn_raw = rows["bsn"].str.strip().str.replace(r"[\s.]", "", regex=True)
    digits = bsn_raw.str.fullmatch(r"\d{1,9}")
    bsn = bsn_raw.where(~digits, bsn_raw.str.zfill(9))
    reject(bsn_raw == "", "bsn_missing")
    reject(~digits, "bsn_invalid")
    if check_eleven:
        valid_digits = np.flatnonzero((reason == "") & digits.to_numpy())
        passes = np.zeros(n, dtype=bool)
        passes[valid_digits] = eleven_test(bsn.iloc[valid_digits])
        reject(~passes, "bsn_eleven")

    s_first, s_last, s_gran = parse_dates(rows["begindatum"])
    e_first, e_last, e_gran = parse_dates(rows["einddatum"])
    reject(s_gran == GRAN_BLANK, "start_missing")
    reject(s_gran == GRAN_INVALID, "start_invalid")
    reject(e_gran == GRAN_INVALID, "end_invalid")

    decimal = amount_decimal(rows["bedrag"])
    amount = parse_amounts(rows["bedrag"], decimal)
    readable = ~np.isnan(amount)
    reject(~readable, "amount_invalid")

    # An empty end date: the end of the start's month, or of its year.
    start_month_end = month_start(month_index(s_first) + 1).astype(np.int64) - 1
    start = s_first
    end = np.where(e_gran == GRAN_BLANK, np.where(s_gran == GRAN_YEAR, s_last, start_month_end), e_last)
    reject(end < start, "end_before_start")
    by_months = np.isin(s_gran, (GRAN_MONTH, GRAN_YEAR)) & np.isin(e_gran, (GRAN_MONTH, GRAN_YEAR, GRAN_BLANK))
    reject((end < period_start) | (start > period_end), "outside_period")

    by_code, by_label = _domain_lookup(domain_mapping)
    label = rows["domein"].str.strip().str.lower()
    domain = (label + "\x1f" + rows["code"].str.strip().str.lower()).map(by_code)
    domain = domain.fillna(label.map(by_label))
    reject(domain.isna().to_numpy(), "domain_unknown")

    if drop_duplicates:
        dup = rows[list(CANONICAL)].duplicated(keep="first").to_numpy()
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
        "bsn": bsn.to_numpy()[used], "start": c_start[used].astype(np.int32), "end": c_end[used].astype(np.int32),
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
