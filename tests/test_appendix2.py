"""Appendix-2 cost files: every rule of the method, on small files worked out by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.appendix2 import (
    GRAN_BLANK,
    GRAN_DAY,
    GRAN_INVALID,
    GRAN_MONTH,
    GRAN_YEAR,
    amount_decimal,
    amount_notation,
    load_domain_mapping,
    parse_amounts,
    parse_dates,
    read_appendix2,
)
from lib.config import REFERENCE_DATA
from lib.dates import day_number, month_index
from lib.errors import UserFacingError
from lib.spreading import spread_over_months

MAPPING = load_domain_mapping(REFERENCE_DATA / "domain_labels.csv")
P0, P1 = day_number("2019-01-01"), day_number("2023-12-31")
HEADER = "Instelling;BSN;Begindatum;Einddatum;Domein;Code/verdeling kosten;Bedrag;Toelichting"
VALID = "123456782"            # 9+16+21+24+25+24+21+16-2 = 154 = 14*11
VALID_8 = "11222335"           # Excel dropped the leading zero of 011222335: 0+8+7+12+10+8+9+6-5 = 55 = 5*11
INVALID = "123456789"


def d(text):
    return day_number(text)


def test_amounts_in_dutch_and_english_notation():
    s = pd.Series(["1.234,56", "-12,50", "12,50-", "(7,00)", "€ 3,5", "1234", "n.v.t.", "1.5", "1.234.567,89", ""])
    assert amount_decimal(s) == ","
    got = parse_amounts(s, ",")
    expected = [1234.56, -12.5, -12.5, -7.0, 3.5, 1234.0, np.nan, np.nan, 1234567.89, np.nan]
    np.testing.assert_array_equal(got, expected)
    english = pd.Series(["1,234.56", "12.50", "-3.25", "12,5"])
    assert amount_decimal(english) == "."
    np.testing.assert_array_equal(parse_amounts(english, "."), [1234.56, 12.5, -3.25, np.nan])


@pytest.mark.parametrize("text, first, last, gran", [
    ("20140301", "2014-03-01", "2014-03-01", GRAN_DAY),
    ("maart 2014", "2014-03-01", "2014-03-31", GRAN_MONTH),
    ("mrt. 2014", "2014-03-01", "2014-03-31", GRAN_MONTH),
    ("Sept 2014", "2014-09-01", "2014-09-30", GRAN_MONTH),
    ("februari 2016", "2016-02-01", "2016-02-29", GRAN_MONTH),
    ("03-2014", "2014-03-01", "2014-03-31", GRAN_MONTH),
    ("201403", "2014-03-01", "2014-03-31", GRAN_MONTH),
    ("2014", "2014-01-01", "2014-12-31", GRAN_YEAR),
    ("1-3-2014", "2014-03-01", "2014-03-01", GRAN_DAY),
    ("01/03/2014", "2014-03-01", "2014-03-01", GRAN_DAY),
    ("17.3.2014", "2014-03-17", "2014-03-17", GRAN_DAY),
    ("2014-03-17", "2014-03-17", "2014-03-17", GRAN_DAY),
    ("1 maart 2014", "2014-03-01", "2014-03-01", GRAN_DAY),
])
def test_date_forms(text, first, last, gran):
    f, l_, g = parse_dates(pd.Series([text]))
    assert (g[0], f[0], l_[0]) == (gran, d(first), d(last))


def test_impossible_dates_and_blanks():
    _, _, g = parse_dates(pd.Series(["31-2-2014", "20141301", "20140231", "maart", "31 februari 2019", "", "13-2014"]))
    assert g.tolist() == [GRAN_INVALID, GRAN_INVALID, GRAN_INVALID, GRAN_INVALID, GRAN_INVALID, GRAN_BLANK,
                          GRAN_INVALID]


def test_spreading_by_days_and_by_whole_months():
    # 17 March - 30 June 2019: 15 + 30 + 31 + 30 = 106 days; EUR 1,060 is EUR 10 a day.
    # March 2019 - May 2019 given as months: EUR 900 is EUR 300 a month.
    record, month, amount = spread_over_months([d("2019-03-17"), d("2019-03-01")], [d("2019-06-30"), d("2019-05-31")],
                                               [1060.0, 900.0], [False, True])
    march = int(month_index(d("2019-03-01")))
    assert record.tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert (month - march).tolist() == [0, 1, 2, 3, 0, 1, 2]
    np.testing.assert_allclose(amount, [150, 300, 310, 300, 300, 300, 300])


def write(tmp_path, lines, encoding="cp1252", name="aanbieder.csv", header=HEADER):
    path = tmp_path / name
    path.write_bytes(("\r\n".join([header] + lines) + "\r\n").encode(encoding))
    return path


def test_a_provider_file_worked_out_by_hand(tmp_path):
    rows = [
        f"Zorg BV;{VALID};20190301;;Jeugd;Ambulant;300,00;",                    # 2  one month (empty end)
        f"Zorg BV;{VALID};maart 2019;mei 2019;Jeugd;Ambulant;900,00;",           # 3  three months, by months
        f"Zorg BV;{VALID};2019;;Wmo;HH;1.200,00;",                               # 4  a year (empty end)
        f"Zorg BV;{VALID};15-11-2018;14-2-2019;Jeugd;Pleegzorg;920,00;",         # 5  straddles the start: 45/92
        f"Zorg BV;{VALID};nov 2018;feb 2019;Jeugd;Pleegzorg;400,00;",            # 6  straddles, months: 2/4
        f"Zorg BV;{VALID};20190301;;Jeugd;Ambulant;-100,00;Creditnota",          # 7  credit note: netted
        f"Zorg BV;{INVALID};20190301;;Jeugd;Ambulant;50,00;",                    # 8  eleven-test
        "Zorg BV;;20190301;;Jeugd;Ambulant;60,00;",                              # 9  no BSN
        f"Zorg BV;{VALID};20190301;;Jeugd;Ambulant;n.v.t.;",                     # 10 amount
        f"Zorg BV;{VALID};31-02-2019;;Jeugd;Ambulant;70,00;",                    # 11 impossible date
        f"Zorg BV;{VALID};20190601;20190301;Jeugd;Ambulant;80,00;",              # 12 end before start
        f"Zorg BV;{VALID};2016;;Jeugd;Ambulant;90,00;",                          # 13 before the study
        f"Zorg BV;{VALID};20190301;;Sport;Ambulant;110,00;",                     # 14 unknown domain
        f"Zorg BV;{VALID};20190301;;Jeugd;Ambulant;300,00;",                     # 15 duplicate of line 2
        f"Zorg BV;{VALID_8};20190301;;werk & inkomen;Bijzondere bijstand;25,00;één",  # 16 8-digit BSN
    ]
    result = read_appendix2(write(tmp_path, rows), P0, P1, MAPPING)
    assert (result.encoding, result.separator, result.decimal) == ("cp1252", ";", ",")
    rec = result.records.set_index("line")
    assert rec.index.tolist() == [2, 3, 4, 5, 6, 7, 16]
    # The first of a month with an empty end: that whole month (spread over its one month).
    assert (rec.loc[2, "start"], rec.loc[2, "end"], rec.loc[2, "spread"]) == (d("2019-03-01"), d("2019-03-31"),
                                                                              "months")
    assert (rec.loc[3, "start"], rec.loc[3, "end"], rec.loc[3, "spread"]) == (d("2019-03-01"), d("2019-05-31"), "months")
    assert (rec.loc[4, "start"], rec.loc[4, "end"], rec.loc[4, "domain"]) == (d("2019-01-01"), d("2019-12-31"), "wmo")
    assert rec.loc[5, "amount"] == pytest.approx(920 * 45 / 92) and rec.loc[5, "start"] == P0
    assert rec.loc[6, "amount"] == pytest.approx(200.0) and rec.loc[6, "spread"] == "months"
    assert rec.loc[7, "amount"] == -100.0
    assert rec.loc[16, "key"] == int(VALID_8) and rec.loc[16, "domain"] == "overige_uitkering"
    rejected = result.rejected.set_index("line")["reason"].to_dict()
    assert rejected == {8: "BSN fails the eleven-test", 9: "no BSN", 10: "amount cannot be read as a number",
                        11: "start date cannot be read", 12: "end date before start date",
                        13: "period entirely outside the study period", 14: "domain label not in the domain mapping",
                        15: "exact duplicate of an earlier row"}
    # Every euro accounted for: read = used + rejected + clipped.
    readable = [300, 900, 1200, 920, 400, -100, 50, 60, 70, 80, 90, 110, 300, 25]
    assert result.amount_read == pytest.approx(sum(readable))
    used = 300 + 900 + 1200 + 450 + 200 - 100 + 25
    assert result.records["amount"].sum() == pytest.approx(used)
    assert result.amount_clipped == pytest.approx(470 + 200)
    assert result.rejected["amount"].sum() == pytest.approx(50 + 60 + 70 + 80 + 90 + 110 + 300)
    assert result.credit_notes == 1 and result.clipped_rows == 2


def test_comma_separated_english_file_with_bom_and_a_line_break_in_a_remark(tmp_path):
    header = HEADER.replace(";", ",")
    rows = [f'Zorg BV,{VALID},2019,2019,Jeugd,Residentieel,"12,345.60","twee\nregels"',
            f"Zorg BV,{VALID},2020,,Jeugd,Residentieel,100.25,",
            f"Zorg BV,{VALID},2020,,Jeugd,Residentieel,abc,"]
    result = read_appendix2(write(tmp_path, rows, "utf-8-sig", header=header), P0, P1, MAPPING)
    assert (result.encoding, result.separator, result.decimal) == ("utf-8-sig", ",", ".")
    assert result.records["amount"].tolist() == [12345.6, 100.25]
    assert result.records["line"].tolist() == [2, 4]            # the quoted line break moves the next row down
    assert result.rejected["line"].tolist() == [5]


def test_settings_for_pseudonymised_keys_and_kept_duplicates(tmp_path):
    rows = [f"Zorg BV;{INVALID};20190301;;Jeugd;A;10,00;", f"Zorg BV;{INVALID};20190301;;Jeugd;A;10,00;"]
    result = read_appendix2(write(tmp_path, rows), P0, P1, MAPPING, check_eleven=False, drop_duplicates=False)
    assert len(result.records) == 2 and result.records["amount"].sum() == 20
    # Kept, and reported all the same.
    assert (result.duplicate_rows, result.duplicate_amount) == (1, 10.0)
    assert result.duplicates.values.tolist() == [[3, 2, 10.0, True]]


def test_exact_duplicates_are_reported_when_dropped_too(tmp_path):
    row = f"Zorg BV;{VALID};20190301;;Jeugd;A;10,00;"
    rows = [row, f"Zorg BV;{VALID};20190301;;Jeugd;A;10,00;anders", row, "", row]
    result = read_appendix2(write(tmp_path, rows), P0, P1, MAPPING)
    assert result.records["line"].tolist() == [2, 3]
    assert result.rejected[["line", "reason"]].values.tolist() == [[4, "exact duplicate of an earlier row"],
                                                                  [6, "exact duplicate of an earlier row"]]
    assert result.duplicates.values.tolist() == [[4, 2, 10.0, False], [6, 2, 10.0, False]]
    assert (result.duplicate_rows, result.duplicate_amount) == (2, 20.0)


def test_what_each_amount_says_about_the_decimal_separator():
    s = pd.Series(["1.234,56", "1,234.56", "1.234.567", "1,234,567", "12,5", "12.50", "1234,567", "0,500",
                   "1,200", "12.000", "-1,200", "(1.500)", "950", "n.v.t.", ""])
    comma, point, ambiguous = amount_notation(s)
    assert comma.tolist() == [1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert point.tolist() == [0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert ambiguous.tolist() == [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0]


def test_a_file_that_cannot_tell_its_decimal_separator_is_never_guessed(tmp_path):
    header = HEADER.replace(";", ",")
    rows = [f'Care Ltd,{VALID},2019,,Jeugd,R,"1,200",', f'Care Ltd,{VALID},2020,,Jeugd,R,"12,000",',
            f"Care Ltd,{VALID},2021,,Jeugd,R,950,"]
    path = write(tmp_path, rows, "utf-8", name="care.csv", header=header)
    with pytest.raises(UserFacingError) as err:
        read_appendix2(path, P0, P1, MAPPING)
    assert str(err.value) == (
        f"{path}: cannot tell the decimal separator of the amounts (Bedrag): 2 such as '1,200' (line 2), '12,000' "
        "(line 3) can be read either way (one separator followed by three digits: 1,200 is 1200.00 with a thousands "
        "separator or 1.20 with a decimal comma), and no amount in the file settles it. Choose the reading for this "
        'file in the run configuration, under [sources.municipality]: decimal = { "care.csv" = "," } (decimal comma: '
        '1.234,56 and 1,20; then 1,200 is 1.20) or decimal = { "care.csv" = "." } (decimal point: 1,234.56 and 1.20; '
        "then 1,200 is 1200.00); or ask the provider to resend the file with two decimals in every amount (1200,00).")
    assert read_appendix2(path, P0, P1, MAPPING, decimal=".").records["amount"].tolist() == [1200.0, 12000.0, 950.0]
    assert read_appendix2(path, P0, P1, MAPPING, decimal=",").records["amount"].tolist() == [1.2, 12.0, 950.0]


def test_a_file_that_shows_both_notations_and_ambiguous_amounts_stops(tmp_path):
    rows = [f"Zorg BV;{VALID};2019;;Jeugd;A;12,50;", f"Zorg BV;{VALID};2020;;Jeugd;A;7.25;",
            f"Zorg BV;{VALID};2021;;Jeugd;A;1.200;"]
    with pytest.raises(UserFacingError, match=r"the amounts show both notations: decimal comma in 1 such as "
                                              r"'12,50' \(line 2\); decimal point in 1 such as '7.25' \(line 3\); "
                                              r"and 1 such as '1.200' \(line 4\) read either way"):
        read_appendix2(write(tmp_path, rows), P0, P1, MAPPING)


def test_whole_numbers_need_no_decimal_separator(tmp_path):
    rows = [f"Zorg BV;{VALID};2019;;Jeugd;A;1200;", f"Zorg BV;{VALID};2020;;Jeugd;A;-35;"]
    result = read_appendix2(write(tmp_path, rows), P0, P1, MAPPING)
    assert result.decimal == "" and result.records["amount"].tolist() == [1200.0, -35.0]


def test_whole_calendar_months_given_as_dates_are_spread_by_months(tmp_path):
    rows = [f"Zorg BV;{VALID};20190101;20191231;Jeugd;A;1200,00;",      # a year as dates
            f"Zorg BV;{VALID};1-3-2019;31-5-2019;Jeugd;A;900,00;",      # three months as dates
            f"Zorg BV;{VALID};20181101;20190228;Jeugd;A;400,00;",       # four months, two inside the study
            f"Zorg BV;{VALID};maart 2019;20190415;Jeugd;A;460,00;",     # ends inside a month: by days
            f"Zorg BV;{VALID};20190102;20191231;Jeugd;A;364,00;"]       # starts inside a month: by days
    result = read_appendix2(write(tmp_path, rows), P0, P1, MAPPING)
    rec = result.records.set_index("line")
    assert rec["spread"].to_dict() == {2: "months", 3: "months", 4: "months", 5: "days", 6: "days"}
    assert rec.loc[4, "amount"] == pytest.approx(200.0) and result.amount_clipped == pytest.approx(200.0)
    record, month, amount = spread_over_months(rec["start"], rec["end"], rec["amount"], rec["spread"] == "months")
    jan = int(month_index(d("2019-01-01")))
    by_record = pd.DataFrame({"record": record, "month": month - jan + 1, "amount": amount})
    year = by_record[by_record["record"] == 0]
    assert year["month"].tolist() == list(range(1, 13)) and np.allclose(year["amount"], 100.0)
    assert np.allclose(by_record.loc[by_record["record"] == 1, "amount"], 300.0)
    assert np.allclose(by_record.loc[by_record["record"] == 2, "amount"], 100.0)
    # 31 days of March and 15 of April: EUR 10 a day.
    assert by_record.loc[by_record["record"] == 3, "amount"].tolist() == pytest.approx([310.0, 150.0])
    assert by_record.loc[by_record["record"] == 4, "amount"].tolist()[:2] == pytest.approx([30.0, 28.0])


def test_unusable_files_say_what_is_wrong_and_what_to_do(tmp_path):
    bad_header = write(tmp_path, [f"X;{VALID};2019;10"], header="Naam;Nummer;Jaar;Prijs", name="kaal.csv")
    with pytest.raises(UserFacingError) as err:
        read_appendix2(bad_header, P0, P1, MAPPING)
    assert "kaal.csv" in str(err.value) and "lacks bsn, begindatum, einddatum, domein, bedrag" in str(err.value)
    assert "ask the provider" in str(err.value)
    binary = tmp_path / "binair.csv"
    binary.write_bytes(b"\x81\x8d\x8f\x90\x9d" * 10)
    with pytest.raises(UserFacingError, match="neither UTF-8 nor Windows-1252"):
        read_appendix2(binary, P0, P1, MAPPING)
    empty = tmp_path / "leeg.csv"
    empty.write_bytes(b"")
    with pytest.raises(UserFacingError, match="leeg.csv: the cost file is empty"):
        read_appendix2(empty, P0, P1, MAPPING)
    # An amount with a decimal comma, unquoted, in a ','-separated file: a field too many.
    unquoted = write(tmp_path, [f"Care Ltd,{VALID},2019,,Jeugd,R,300,50,"], "utf-8", name="los.csv",
                     header=HEADER.replace(";", ","))
    with pytest.raises(UserFacingError) as err:
        read_appendix2(unquoted, P0, P1, MAPPING)
    assert str(err.value) == (
        f"{unquoted}: line 2 has 9 fields where the header row has 8: 'Care Ltd,{VALID},2019,,Jeugd,R,300,50,'. A "
        "field that holds the separator ',' (an amount like 300,50, a name or a remark) must be in double quotes; "
        "save the cost file from Excel as 'CSV (gescheiden door lijstscheidingsteken)' or ask the sender to resend it")
