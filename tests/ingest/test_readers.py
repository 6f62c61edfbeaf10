"""toolkit.ingest.readers on small files made here (or committed: .xls, .ods, encrypted .xlsx,
written by tests/ingest/fixtures/make_reader_fixtures.py).

Expected values are known by construction: each test writes the cells it then checks.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat
import pytest

from toolkit.errors import IngestError
from toolkit.ingest.readers import RawExport, is_user_missing, parse_number, read_export
from toolkit.ingest.text_encoding import detect_encoding

FIXTURES = Path(__file__).parent / "fixtures" / "readers"
CP1252_TEXT = "name,town,note\nJosé,£5 fee,it’s fine\nRené,Café,ok\n"


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def cells(found: RawExport) -> dict[str, list[str | None]]:
    return {name: [None if pd.isna(v) else v for v in found.frame[name]] for name in found.frame}


def refused(path: Path, code: str, **options: object) -> IngestError:
    with pytest.raises(IngestError) as caught:
        read_export(path, **options)
    assert caught.value.code == code, str(caught.value)
    return caught.value


# ---------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("name,town,note\nJosé,£5 fee,it’s fine\nRené,Café,ok\n".encode(), "utf-8"),
        (codecs.BOM_UTF8 + CP1252_TEXT.encode(), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + CP1252_TEXT.encode("utf-16-le"), "utf-16"),
        (CP1252_TEXT.encode("cp1252"), "cp1252"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le-bom", "cp1252"],
)
def test_each_encoding_is_detected_and_decoded(tmp_path, data, encoding):
    found = read_export(write(tmp_path, "export.csv", data))
    assert found.encoding == encoding
    assert list(found.frame.columns) == ["name", "town", "note"]
    assert cells(found) == {
        "name": ["José", "René"],
        "town": ["£5 fee", "Café"],
        "note": ["it’s fine", "ok"],
    }
    # cells are dictionary-encoded: a categorical of pyarrow-backed texts
    assert isinstance(found.frame["name"].dtype, pd.CategoricalDtype)
    assert found.frame["name"].cat.categories.dtype == pd.StringDtype("pyarrow")


def test_cp1252_is_preferred_to_cp1250_which_would_turn_pound_into_l_stroke():
    # charset-normalizer alone ranks cp1250 first for this text (seen on this machine).
    assert detect_encoding(CP1252_TEXT.encode("cp1252")) == "cp1252"
    assert detect_encoding(("Имя,Город\n" + "Иван,Москва\n" * 3).encode("cp1251")) == "cp1251"


def test_non_ascii_far_into_a_utf8_file_is_still_utf8(tmp_path):
    text = "id,name\n" + "".join(f"{i},plain\n" for i in range(300_000)) + "300000,Zoë\n"
    found = read_export(write(tmp_path, "late.csv", text))
    assert found.encoding == "utf-8"
    assert found.frame["name"].iloc[-1] == "Zoë"
    assert found.source_rows[-1] == 300_002


def test_cp1252_byte_past_the_first_megabytes_brings_full_detection(tmp_path):
    text = "id,name\n" + "".join(f"{i},plain\n" for i in range(300_000)) + "300000,£5\n"
    found = read_export(write(tmp_path, "late.csv", text.encode("cp1252")))
    assert found.encoding == "cp1252"
    assert found.frame["name"].iloc[-1] == "£5"


def test_declared_encoding_that_fails_names_byte_offset_and_line(tmp_path):
    data = CP1252_TEXT.encode("cp1252")
    error = refused(write(tmp_path, "x.csv", data), "read.wrong_encoding", encoding="utf-8")
    assert error.details["byte_offset"] == data.index("é".encode("cp1252"))
    assert error.line == 2
    assert "byte 18 (line 2)" in str(error)


def test_declared_encoding_is_used_and_reported(tmp_path):
    found = read_export(
        write(tmp_path, "x.csv", CP1252_TEXT.encode("cp1252")), encoding="windows-1252"
    )
    assert found.encoding == "cp1252"
    assert found.frame["town"].iloc[0] == "£5 fee"
    with_bom = read_export(
        write(tmp_path, "b.csv", codecs.BOM_UTF8 + b"a,b\n1,2\n"), encoding="utf-8"
    )
    assert with_bom.encoding == "utf-8-sig"
    assert list(with_bom.frame.columns) == ["a", "b"]


def test_unknown_encoding_name_is_refused(tmp_path):
    refused(write(tmp_path, "x.csv", "a\n1\n"), "read.wrong_encoding", encoding="klingon-8")


def test_binary_junk_is_undecodable(tmp_path):
    junk = np.random.default_rng(7).bytes(4000)
    refused(write(tmp_path, "junk.csv", junk), "read.undecodable")


def test_utf16_without_bom_is_recognised_by_its_nul_bytes(tmp_path):
    found = read_export(write(tmp_path, "x.csv", "a,b\n1,£\n".encode("utf-16-le")))
    assert found.encoding == "utf-16-le"
    assert cells(found) == {"a": ["1"], "b": ["£"]}


# ---------------------------------------------------------------- delimiters and cells


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed_with_other_delimiters_quoted_inside_cells(tmp_path, delimiter):
    other = "".join(d for d in ",;\t|" if d != delimiter)
    rows = [["id", "comment", "score"], ["1", f"x{other}y", "5"], ["2", "plain", "4"]]
    text = "".join(
        delimiter.join(f'"{c}"' if other[0] in c else c for c in row) + "\n" for row in rows
    )
    found = read_export(write(tmp_path, "x.txt", text))
    assert cells(found) == {
        "id": ["1", "2"],
        "comment": [f"x{other}y", "plain"],
        "score": ["5", "4"],
    }
    assert found.reader == ("tsv" if delimiter == "\t" else "csv")


def test_tsv_extension_reads_tabs(tmp_path):
    found = read_export(write(tmp_path, "x.tsv", "a\tb\n1,5\t2\n"))
    assert found.reader == "tsv"
    assert cells(found) == {"a": ["1,5"], "b": ["2"]}


def test_cells_are_text_without_type_guessing(tmp_path):
    found = read_export(write(tmp_path, "x.csv", 'id,x,y,z\n007,NA,1e5,""\n008,,12%," 220,419 "\n'))
    assert cells(found) == {
        "id": ["007", "008"],
        "x": ["NA", None],
        "y": ["1e5", "12%"],
        "z": [None, " 220,419 "],
    }


def test_quoted_newlines_keep_a_record_in_one_source_row(tmp_path):
    text = (
        'id,comment,score\r\n1,"line one\r\nline two\nline three",5\r\n2,plain,4\r\n\r\n3,x,3\r\n'
    )
    found = read_export(write(tmp_path, "x.csv", text))
    assert cells(found)["comment"] == ["line one\r\nline two\nline three", "plain", "x"]
    # record 2 spans three lines but is row 2; the row after it is row 3; the blank line is row 4
    assert found.source_rows.tolist() == [2, 3, 5]


def test_source_rows_stay_right_through_a_large_file_with_quoted_newlines(tmp_path):
    # ~700 KB: the first multi-line cell comes after the first 256 KiB the reader looks at
    lines, expected, row = ["id,comment"], [], 1
    for i in range(30_000):
        row += 1
        if i % 5000 == 4999:
            lines.append("")  # a blank line is a row in a spreadsheet
            row += 1
        multi_line = i >= 20_000 and i % 100 == 0
        comment = f'"first\nsecond {i}"' if multi_line else f"comment number {i}"
        lines.append(f"{i},{comment}")
        expected.append(row)
    path = write(tmp_path, "big.csv", "\n".join(lines) + "\n")
    assert path.stat().st_size > 2 * 256 * 1024
    found = read_export(path)
    assert len(found.frame) == 30_000
    assert found.source_rows.tolist() == expected
    assert found.frame["comment"].iloc[20_000] == "first\nsecond 20000"
    assert found.frame["id"].iloc[20_001] == "20001"
    assert found.frame["comment"].iloc[-1] == "comment number 29999"


def test_rows_whose_cells_are_all_empty_are_dropped(tmp_path):
    found = read_export(write(tmp_path, "x.csv", "a,b\n1,2\n,\n3,4\n"))
    assert cells(found) == {"a": ["1", "3"], "b": ["2", "4"]}
    assert found.source_rows.tolist() == [2, 4]


def test_short_rows_are_padded_with_empty_cells(tmp_path):
    found = read_export(write(tmp_path, "x.csv", "a,b,c\n1,2\n4,5,6\n"))
    assert cells(found) == {"a": ["1", "4"], "b": ["2", "5"], "c": [None, "6"]}


def test_blank_header_column_without_data_is_dropped(tmp_path):
    found = read_export(write(tmp_path, "x.csv", "a,,c,\n1,,3,\n"))
    assert list(found.frame.columns) == ["a", "c"]


def test_header_names_are_stripped(tmp_path):
    found = read_export(write(tmp_path, "x.csv", " id , Q1 \n1,2\n"))
    assert list(found.frame.columns) == ["id", "Q1"]


# ---------------------------------------------------------------- header row and layouts


def test_preamble_above_a_csv_table_is_skipped(tmp_path):
    text = "Staff survey export\nGenerated,2024-05-01\n\nid,q1,q2,q3\n1,Agree,Disagree,5\n"
    found = read_export(write(tmp_path, "x.csv", text))
    assert found.header_row == 4
    assert found.source_rows.tolist() == [5]
    assert list(found.frame.columns) == ["id", "q1", "q2", "q3"]


def test_header_row_can_be_given(tmp_path):
    found = read_export(write(tmp_path, "x.csv", "id,a\n1,x\n2,y\n"), header_row=2)
    assert list(found.frame.columns) == ["1", "x"]
    assert found.source_rows.tolist() == [3]


def test_qualtrics_three_header_rows(tmp_path):
    text = (
        "StartDate,ResponseId,Q1,Q2_1\n"
        '"Start Date","Response ID","How long have you worked here?","Which apply? - Nights"\n'
        '"{""ImportId"":""startDate""}","{""ImportId"":""_recordId""}",'
        '"{""ImportId"":""QID1""}","{""ImportId"":""QID2_1""}"\n'
        "2024-05-01,R_1,3,1\n2024-05-02,R_2,5,\n"
    )
    found = read_export(write(tmp_path, "qualtrics.csv", text))
    assert found.layout == "qualtrics"
    assert found.header_row == 1
    assert found.question_text["Q1"] == "How long have you worked here?"
    assert found.question_text["Q2_1"] == "Which apply? - Nights"
    assert found.source_rows.tolist() == [4, 5]
    assert cells(found)["ResponseId"] == ["R_1", "R_2"]


def test_plain_csv_is_not_taken_for_qualtrics(tmp_path):
    found = read_export(write(tmp_path, "x.csv", "a,b\n1,2\n3,4\n"))
    assert found.layout == "plain"
    assert found.question_text == {}


# ---------------------------------------------------------------- workbooks


def _preamble_workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "Notes"
    notes.append(["Read me first"])
    sheet = book.create_sheet("Responses")
    sheet.append(["Pharmacy technician survey"])
    sheet.append([])
    sheet.append(["Region", "North West"])
    sheet.append(["respondent", "age", "score", "start", "consented", "total"])
    sheet.append(["007", 42, 12.345, dt.date(2024, 3, 1), True, "=SUM(B5:B6)"])
    sheet.append(["008", 37.5, None, dt.datetime(2024, 3, 2, 9, 30), False, None])
    book.save(path)
    return path


def test_xlsx_preamble_sheet_choice_and_cell_text(tmp_path):
    found = read_export(_preamble_workbook(tmp_path / "book.xlsx"))
    assert (found.reader, found.sheet, found.header_row) == ("xlsx", "Responses", 4)
    assert found.source_rows.tolist() == [5, 6]
    assert cells(found) == {
        "respondent": ["007", "008"],
        "age": ["42", "37.5"],
        "score": ["12.345", None],
        "start": ["2024-03-01", "2024-03-02 09:30:00"],
        "consented": ["TRUE", "FALSE"],
        # openpyxl saves formulas without a cached value: kept as text for the coder
        "total": ["=SUM(B5:B6)", None],
    }
    assert found.encoding is None


def test_xlsx_sheet_by_name_index_and_case(tmp_path):
    path = _preamble_workbook(tmp_path / "book.xlsx")
    assert read_export(path, sheet="responses").sheet == "Responses"
    assert read_export(path, sheet=1).sheet == "Responses"
    refused(path, "read.header_only", sheet="Notes")
    error = refused(path, "read.no_sheet", sheet="Data")
    assert "'Notes', 'Responses'" in str(error)
    refused(path, "read.no_sheet", sheet=5)


def test_xls_fixture_with_preamble():
    found = read_export(FIXTURES / "preamble.xls")
    assert (found.reader, found.sheet, found.header_row) == ("xls", "Responses", 4)
    assert found.source_rows.tolist() == [5, 6]
    assert cells(found) == {
        "respondent": ["007", "008"],
        "age": ["42", "37.5"],
        "ethnicity": ["Black British", "White: Irish"],
        "start_date": ["2024-03-01", "2024-03-02"],
    }


def test_ods_fixture_skips_the_notes_sheet_and_the_preamble():
    found = read_export(FIXTURES / "preamble.ods")
    assert (found.reader, found.sheet, found.header_row) == ("ods", "Responses", 3)
    assert found.source_rows.tolist() == [4, 5]
    assert cells(found)["respondent"] == ["007", "008"]
    assert cells(found)["age"] == ["42", "37.5"]
    assert cells(found)["start_date"] == ["2024-03-01", "2024-03-02"]


def test_qualtrics_layout_in_a_workbook(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["ResponseId", "Q1"])
    book.active.append(["Response ID", "How old are you?"])
    book.active.append(['{"ImportId":"_recordId"}', '{"ImportId":"QID1"}'])
    book.active.append(["R_1", 30])
    book.save(tmp_path / "q.xlsx")
    found = read_export(tmp_path / "q.xlsx")
    assert found.layout == "qualtrics"
    assert found.source_rows.tolist() == [4]
    assert found.question_text == {"ResponseId": "Response ID", "Q1": "How old are you?"}


# ---------------------------------------------------------------- SPSS and Parquet


def test_spss_codes_labels_and_user_missing(tmp_path):
    data = pd.DataFrame({"id": ["a", "b", "c"], "q1": [1.0, 2.0, 9.0], "q2": [1.0, None, 8.0]})
    pyreadstat.write_sav(
        data,
        str(tmp_path / "s.sav"),
        column_labels={"q1": "Do you feel valued?"},
        variable_value_labels={"q1": {1: "Yes", 2: "No", 9: "Refused"}},
        missing_ranges={"q1": [9], "q2": [{"lo": 8, "hi": 9}]},
    )
    found = read_export(tmp_path / "s.sav")
    assert (found.reader, found.header_row, found.encoding) == ("spss", 0, None)
    assert cells(found) == {"id": ["a", "b", "c"], "q1": ["1", "2", "9"], "q2": ["1", None, "8"]}
    assert found.source_rows.tolist() == [1, 2, 3]
    assert found.value_labels == {"q1": {"1": "Yes", "2": "No", "9": "Refused"}}
    assert found.missing_values == {"q1": ["9"], "q2": ["8 thru 9"]}
    assert found.question_text == {"q1": "Do you feel valued?"}
    assert is_user_missing("9", found.missing_values["q1"])
    assert is_user_missing("8.5", found.missing_values["q2"])
    assert not is_user_missing("1", found.missing_values["q2"])


def test_parquet_columns_become_text(tmp_path):
    table = pa.table(
        {
            "id": pa.array([7, 8, None], pa.int64()),
            "score": pa.array([1.0, 2.5, float("nan")]),
            "ok": pa.array([True, False, None]),
            "when": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5)] * 3, pa.timestamp("us")),
            "group": pa.array(["Black", "", "White"]).dictionary_encode(),
        }
    )
    pq.write_table(table, tmp_path / "p.parquet")
    found = read_export(tmp_path / "p.parquet")
    assert (found.reader, found.header_row) == ("parquet", 0)
    assert cells(found) == {
        "id": ["7", "8", None],
        "score": ["1", "2.5", None],
        "ok": ["TRUE", "FALSE", None],
        "when": ["2024-01-02 03:04:05"] * 3,
        "group": ["Black", None, "White"],
    }
    assert found.source_rows.tolist() == [1, 2, 3]


def test_sha256_is_of_the_file_bytes(tmp_path):
    import hashlib

    path = write(tmp_path, "x.csv", "a\n1\n")
    assert read_export(path).sha256 == hashlib.sha256(b"a\n1\n").hexdigest()


# ---------------------------------------------------------------- parse_number


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("220,419", 220419.0),
        ("1,234.5", 1234.5),
        ("12%", 12.0),
        ("12 %", 12.0),
        (" 3.5 ", 3.5),
        ("\u22124", -4.0),
        ("+7", 7.0),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("1,5", None),
        ("1,23", None),
        ("nan", None),
        ("inf", None),
        ("Agree", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_number(text, number):
    assert parse_number(text) == number


# ---------------------------------------------------------------- every error code


def test_missing_file(tmp_path):
    refused(tmp_path / "nothing.csv", "read.file_not_found")


@pytest.mark.parametrize("name", ["empty.csv", "empty.xlsx", "empty.sav"])
def test_zero_byte_file(tmp_path, name):
    refused(write(tmp_path, name, b""), "read.empty_file")


def test_whitespace_only_csv(tmp_path):
    refused(write(tmp_path, "x.csv", " \r\n\n"), "read.empty_file")


def test_workbook_without_cells(tmp_path):
    openpyxl.Workbook().save(tmp_path / "blank.xlsx")
    refused(tmp_path / "blank.xlsx", "read.empty_file")


def test_header_only(tmp_path):
    error = refused(write(tmp_path, "x.csv", "a,b,c\n\n"), "read.header_only")
    assert error.row == 1
    book = openpyxl.Workbook()
    book.active.append(["a", "b", "c"])
    book.save(tmp_path / "h.xlsx")
    refused(tmp_path / "h.xlsx", "read.header_only")


def test_unsupported_format(tmp_path):
    refused(write(tmp_path, "answers.pdf", b"%PDF-1.4"), "read.unsupported_format")


@pytest.mark.parametrize(
    "data",
    [b"respondent,age\n1,2\n", b"PK\x03\x04" + b"\x00" * 60],
    ids=["text-named-xlsx", "broken-zip"],
)
def test_not_a_workbook(tmp_path, data):
    refused(write(tmp_path, "x.xlsx", data), "read.not_a_workbook")


def test_zip_that_is_not_an_xlsx(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("answers.csv", "a,b\n1,2\n")
    refused(write(tmp_path, "x.xlsx", buffer.getvalue()), "read.not_a_workbook")


def test_truncated_xlsx(tmp_path):
    whole = _preamble_workbook(tmp_path / "whole.xlsx").read_bytes()
    refused(write(tmp_path, "cut.xlsx", whole[: len(whole) // 2]), "read.not_a_workbook")


def test_password_protected_workbook():
    refused(FIXTURES / "protected.xlsx", "read.password_protected")


def test_corrupt_spss_and_parquet(tmp_path):
    refused(write(tmp_path, "x.sav", b"$FL2" + b"\x00" * 100), "read.corrupt_file")
    refused(write(tmp_path, "x.parquet", b"PAR1 not really"), "read.corrupt_file")
    refused(write(tmp_path, "y.sav", b"id,age\n1,2\n"), "read.corrupt_file")


def test_nested_parquet_column(tmp_path):
    pq.write_table(pa.table({"choices": [[1, 2], [3]]}), tmp_path / "n.parquet")
    error = refused(tmp_path / "n.parquet", "read.unsupported_column")
    assert error.column == "choices"


def test_unterminated_quote_names_the_row_where_it_opens(tmp_path):
    error = refused(
        write(tmp_path, "x.csv", 'a,b\n1,2\n3,"never closed\n4,5\n'), "read.unterminated_quote"
    )
    assert error.row == 3


def test_ragged_row(tmp_path):
    error = refused(write(tmp_path, "x.csv", "a,b\n1,2\n3,4,surprise\n"), "read.ragged_row")
    assert (error.row, error.value) == (3, "surprise")


def test_truncated_last_row(tmp_path):
    error = refused(write(tmp_path, "x.csv", "a,b,c\n1,2,3\n4,5"), "read.truncated")
    assert error.row == 3


def test_no_table(tmp_path):
    book = openpyxl.Workbook()
    for row in ([1, 2, 3], [4, 5, 6]):
        book.active.append(row)
    book.save(tmp_path / "numbers.xlsx")
    refused(tmp_path / "numbers.xlsx", "read.no_table")
    refused(write(tmp_path, "x.csv", "a,b\n1,2\n"), "read.no_table", header_row=9)


def test_duplicate_columns_named_with_positions(tmp_path):
    error = refused(write(tmp_path, "x.csv", "id,q1,q2,q1\n1,2,3,4\n"), "read.duplicate_columns")
    assert error.details["duplicates"] == {"q1": ["B", "D"]}
    assert '"q1" in columns B, D' in str(error)


def test_blank_header_over_data(tmp_path):
    error = refused(write(tmp_path, "x.csv", "id,,q2\n1,2,3\n"), "read.blank_header")
    assert error.column == "B"


@pytest.mark.parametrize("size", [32_768, 200_000])
def test_cell_too_large(tmp_path, size):
    text = "id,comment\n1,short\n2," + "x" * size + "\n"
    error = refused(write(tmp_path, "x.csv", text), "read.cell_too_large")
    assert (error.row, error.column) == (3, "comment")


def test_cell_at_the_limit_is_accepted(tmp_path):
    found = read_export(write(tmp_path, "x.csv", "id,comment\n1," + "é" * 32_767 + "\n"))
    assert len(found.frame["comment"].iloc[0]) == 32_767


def test_cell_too_large_in_a_workbook(tmp_path):
    # openpyxl cuts cells at 32,767 characters, as Excel would; write the longer cell into
    # the sheet XML directly, as a file damaged or made by another program could hold.
    book = openpyxl.Workbook()
    book.active.append(["id", "comment"])
    book.active.append(["1", "y" * 32_767])
    book.save(tmp_path / "made.xlsx")
    with (
        zipfile.ZipFile(tmp_path / "made.xlsx") as source,
        zipfile.ZipFile(tmp_path / "big.xlsx", "w") as target,
    ):
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"y" * 32_767, b"y" * 40_000)
            target.writestr(item, data)
    error = refused(tmp_path / "big.xlsx", "read.cell_too_large")
    assert (error.row, error.column) == (2, "comment")
