import numpy as np
import pandas as pd
import pytest

from lib.dates import day_number
from lib.readers import ReadError, normalise_rinpersoon, parse_yyyymmdd, read_cbs_table
from lib.sources import SourceFile, readable_formats


def test_parse_yyyymmdd_by_hand():
    days, blank, valid = parse_yyyymmdd(pd.Series(["20240229", "20230229", "", "2023013", "20231301",
                                                   " 20191231 ", None, "abcdefgh"]))
    assert valid.tolist() == [True, False, False, False, False, True, False, False]
    assert blank.tolist() == [False, False, True, False, False, False, True, False]
    assert days[0] == day_number("2024-02-29") and days[5] == day_number("2019-12-31")


def test_rinpersoon_normalised_from_numbers_and_text():
    # The 9-digit pseudonym as an integer key, however stored; -1 where it is not one.
    assert normalise_rinpersoon(pd.Series([12345, 987654321, np.nan, 1.5e9])).tolist() == [12345, 987654321, -1, -1]
    assert normalise_rinpersoon(pd.Series(["12345", " 000000007", "", "12345.0", "A1234", "1234567890"])).tolist() == [
        12345, 7, -1, 12345, -1, -1]


def test_keys_and_ids_of_text_follow_the_plain_rule_for_every_kind_of_value():
    # numpy's loops decide most values; the rest (spaces, '.0', other digits) the exact rules. A plain
    # rule per value, written independently: a key is 1 to 9 ASCII digits after stripping spaces and
    # one '.0'; an id (HUISHOUDNR) 1 to 18 ASCII digits after stripping, or empty.
    import re
    values = ["12345", " 000000007", "", None, np.nan, "12345.0", "A1234", "1234567890", "123456789", "-5", "1e5",
              "\u0663", "12 3", "00", "7 ", "\u00b2", "999999999999999999", "1" * 19, 5, "x" * 300]

    def plain_key(v):
        text = "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
        text = re.sub(r"\.0$", "", text)
        return int(text) if re.fullmatch(r"[0-9]{1,9}", text) else -1

    series = pd.Series(values * 3, dtype=object)
    assert normalise_rinpersoon(series).tolist() == [plain_key(v) for v in values * 3]
    from lib.readers import _id_numbers_pandas
    ids = [v for v in values if v is None or isinstance(v, float) or re.fullmatch(r"\s*([0-9]{1,18})?\s*", str(v))]
    assert _id_numbers_pandas(pd.Series(ids, dtype=object)).tolist() == [
        -1 if v is None or isinstance(v, float) or not str(v).strip() else int(str(v).strip()) for v in ids]
    assert _id_numbers_pandas(pd.Series(["12", "A7"], dtype=object)) is None
    assert _id_numbers_pandas(pd.Series(["12", "\u0663"], dtype=object)) is None


def write_all_formats(tmp_path, frame):
    files = [SourceFile("T", tmp_path / "T2023TABV1.csv", 2023, 1, "csv")]
    frame.to_csv(files[0].path, index=False)
    if "sav" in readable_formats(["sav"]):
        import pyreadstat
        pyreadstat.write_sav(frame, str(tmp_path / "T2023TABV1.sav"))
        files.append(SourceFile("T", tmp_path / "T2023TABV1.sav", 2023, 1, "sav"))
    if "parquet" in readable_formats(["parquet"]):
        frame.to_parquet(tmp_path / "T2023TABV1.parquet", index=False)
        files.append(SourceFile("T", tmp_path / "T2023TABV1.parquet", 2023, 1, "parquet"))
    return files


def test_same_table_reads_identically_from_every_format(tmp_path):
    frame = pd.DataFrame({"rinpersoons": ["R", "r", "F"], "RinPersoon": [12345, 7, 999999999],
                          "DatumBegin": ["20190101", "20201231", ""], "Bedrag": [10.5, 0.0, -3.25],
                          "unused": ["x", "y", "z"]})
    expected = pd.DataFrame({"RINPERSOONS": ["R", "R", "F"], "RINPERSOON": [12345, 7, 999999999],
                             "DATUMBEGIN": ["20190101", "20201231", ""], "BEDRAG": [10.5, 0.0, -3.25]})
    for source in write_all_formats(tmp_path, frame):
        got = read_cbs_table(source, ["RINPERSOONS", "rinpersoon", "DATUMBEGIN", "Bedrag"], numeric=("BEDRAG",))
        assert isinstance(got["DATUMBEGIN"].dtype, pd.CategoricalDtype) and got["RINPERSOON"].dtype == np.int64
        got = got.astype({"RINPERSOONS": object, "DATUMBEGIN": object})
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, obj=source.format)


def test_numeric_ids_become_integers_and_text_ids_stay_text(tmp_path):
    frame = pd.DataFrame({"HUISHOUDNR": ["000000000012", "", "000000000013"], "RINOBJECTNUMMER": ["12", "A7", "3"]})
    source = write_all_formats(tmp_path, frame)
    for s in source:
        got = read_cbs_table(s, ["HUISHOUDNR", "RINOBJECTNUMMER"])
        assert got["HUISHOUDNR"].tolist() == [12, -1, 13], s.format
        assert got["RINOBJECTNUMMER"].astype(object).tolist() == ["12", "A7", "3"], s.format


def test_missing_column_names_the_file_and_the_columns_it_has(tmp_path):
    frame = pd.DataFrame({"A": ["1"], "B": ["2"]})
    source = write_all_formats(tmp_path, frame)[0]
    with pytest.raises(ReadError, match="column\\(s\\) \\['C'\\] not found \\(the file has: A, B\\)"):
        read_cbs_table(source, ["A", "C"])


def test_amounts_of_text_by_hand():
    from lib.readers import (AMOUNT_AMBIGUOUS, AMOUNT_BLANK, AMOUNT_NOT_A_NUMBER, AMOUNT_OK, AMOUNT_OTHER_NOTATION,
                             amounts_of_text)
    values = pd.Series(["12345.67", " -3.25 ", "1e3", "12.345,67", "1234,5", "1,234,567.50", "1,200", "", None, "abc",
                        "1.234"])
    amount, status = amounts_of_text(values)
    assert status.tolist() == [AMOUNT_OK, AMOUNT_OK, AMOUNT_OK, AMOUNT_OTHER_NOTATION, AMOUNT_OTHER_NOTATION,
                               AMOUNT_OTHER_NOTATION, AMOUNT_AMBIGUOUS, AMOUNT_BLANK, AMOUNT_BLANK, AMOUNT_NOT_A_NUMBER,
                               AMOUNT_AMBIGUOUS]   # '1.234' beside decimal commas: 1.234 or 1234
    assert amount[:6].tolist() == [12345.67, -3.25, 1000.0, 12345.67, 1234.5, 1234567.5]
    assert np.isnan(amount[6:]).all()
    # Without decimal commas in the column, '1.234' is what CBS writes: 1.234.
    amount, status = amounts_of_text(pd.Series(["1.234", "0.30000000000000004"]))
    assert status.tolist() == [AMOUNT_OK, AMOUNT_OK] and amount.tolist() == [1.234, 0.1 + 0.2]


def test_optional_columns_come_out_blank_in_every_format(tmp_path):
    frame = pd.DataFrame({"RINPERSOONS": ["R", "R"], "RINPERSOON": ["000000001", "000000002"]})
    for source in write_all_formats(tmp_path, frame):
        got = read_cbs_table(source, ["RINPERSOON", "X", "N", "HUISHOUDNR"], numeric=("N",),
                             optional=("X", "N", "HUISHOUDNR"))
        assert list(got.columns) == ["RINPERSOON", "X", "N", "HUISHOUDNR"], source.format
        assert got["X"].astype(str).tolist() == ["", ""] and np.isnan(got["N"]).all()
        assert got["HUISHOUDNR"].tolist() == [-1, -1] and got["RINPERSOON"].tolist() == [1, 2]
