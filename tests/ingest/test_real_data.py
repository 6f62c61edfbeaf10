"""The readers on real published files (../shared/real-data, see SOURCES.md there).

Each file is either read correctly (cell values below were looked up by hand in the file
opened in a spreadsheet) or refused with a clear error; both outcomes are covered. The
files are read in place, never copied into the repository. When the folder is missing the
tests fail under CI (CI=true) and are skipped elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from toolkit.errors import IngestError
from toolkit.ingest.readers import parse_number, read_export
from toolkit.ingest.text_encoding import detect_encoding

REAL = Path(__file__).parents[2] / ".." / "shared" / "real-data"


@pytest.fixture(scope="module")
def real() -> Path:
    if not REAL.is_dir():
        message = f"real data folder missing: {REAL.resolve()}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return REAL


def test_csps2024_ods_preamble_is_skipped_and_table_sheet_chosen(real):
    found = read_export(real / "csps2024_results_by_all_demographic_groups.ods")
    # Cover (1 column), Contents and Notes (2 columns) are passed over for Table_1
    assert (found.reader, found.sheet, found.header_row) == ("ods", "Table_1", 6)
    assert found.frame.shape == (196, 185)
    assert found.source_rows[0] == 7
    assert found.source_rows[-1] == 202
    first = found.frame.iloc[0]
    assert first["Demographic variable"] == "Z02. Civil Service equivalent grades (combined)"
    assert first["Response"] == "AO / AA"
    assert first["Count"] == "59989"
    assert first["EES\nEmployee engagement index (B47 to B51)"] == "58.907"
    last = found.frame.iloc[-1]
    assert last["Response"] == "No"
    assert last["Count"] == "161557"


def test_csps2024_ods_other_sheet_by_name(real):
    found = read_export(real / "csps2024_results_by_all_demographic_groups.ods", sheet="Annex_1")
    assert found.header_row == 5
    assert list(found.frame.columns) == ["Demographic code", "Demographic label", "Notes"]
    assert found.frame["Demographic label"].iloc[0] == "Civil Service equivalent grades (combined)"
    assert found.source_rows[0] == 6


def test_census_nomis_xlsx_preamble_and_counts(real):
    found = read_export(real / "census2021_ts021_region_nomis_2022_12_01_124621.xlsx")
    assert (found.reader, found.sheet, found.header_row) == ("xlsx", "Data", 8)
    assert list(found.frame.columns)[:3] == ["Ethnic group", "North East", "North West"]
    total = found.frame.iloc[0]
    assert total["Ethnic group"] == "Total: All usual residents"
    assert total["North East"] == "2647014"
    assert total["London"] == "8799725"
    bangladeshi = found.frame.iloc[1]
    assert bangladeshi["Ethnic group"] == "Asian, Asian British or Asian Welsh: Bangladeshi"
    assert bangladeshi["London"] == "322054"
    assert found.source_rows[:2].tolist() == [9, 10]
    # the footnote under the table is kept as a row (source row 30) for the coder to report
    assert found.source_rows[-1] == 30
    assert found.frame["Ethnic group"].iloc[-1].startswith("In order to protect against disclosure")


def test_csps2016_csv_is_cp1252_and_is_refused_as_a_published_table(real):
    path = real / "csps2016_results_by_demographic_groups.csv"
    raw = path.read_bytes()
    assert detect_encoding(raw) == "cp1252"
    with pytest.raises(IngestError) as caught:
        read_export(path)
    error = caught.value
    # row 2 holds the answer options over columns of percentages ("53%") by group
    assert (error.code, error.row) == ("read.aggregate_table", 2)
    assert "published table of results" in str(error)
    assert "toolkit.stats.proportions_from_counts" in str(error)
    assert "relative_likelihood_from_counts" in str(error)
    assert b'"220,419"' in raw
    assert parse_number("220,419") == 220419.0


def test_csps2016_csv_declared_as_utf8_names_the_first_bad_byte(real):
    path = real / "csps2016_results_by_demographic_groups.csv"
    with pytest.raises(IngestError) as caught:
        read_export(path, encoding="utf-8")
    # byte 56491 is 0x94, a cp1252 closing quote, on physical line 99
    assert caught.value.code == "read.wrong_encoding"
    assert caught.value.details["byte_offset"] == 56491
    assert caught.value.line == 99


def test_nhs_staff_survey_xls_is_refused_as_a_published_table(real):
    with pytest.raises(IngestError) as caught:
        read_export(real / "nhs_staff_survey_2018_abuse_sheet5_religion.xls")
    error = caught.value
    # row 4 (answer options) is the header; row 5 is a row of units ("%", "n") over
    # percentages by religion
    assert (error.code, error.row) == ("read.aggregate_table", 4)
    assert "percentages by group" in str(error)
    assert "toolkit.stats.relative_likelihood_from_counts" in str(error)


def test_nhs_staff_survey_xls_notes_sheet_reads(real):
    found = read_export(real / "nhs_staff_survey_2018_abuse_sheet5_religion.xls", sheet="Notes")
    assert found.reader == "xls"
    assert list(found.frame.columns) == ["National NHS Staff Survey 2018 - Detailed Spreadsheets"]
    assert found.source_rows[0] == 3
