"""Write the bad-input corpus: one file per failure kind (run from the repository root).

    .venv/bin/python tests/ingest/bad/make_bad_inputs.py

The expected outcome of each file is in EXPECTED.csv beside it. Survey files answer the
culture survey (cycle 2024); ``wf_``/``rec_`` files are workforce / recruitment records.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook

from toolkit.instruments.model import load_instrument
from toolkit.resources import surveys_dir

HERE = Path(__file__).parent
CULTURE = load_instrument(surveys_dir() / "culture.yaml")


def good_survey() -> pd.DataFrame:
    """Five valid culture responses as labels (London)."""
    rows = {
        "respondent_id": [f"B-{k}" for k in range(1, 6)],
        "ethnicity": ["White British", "Indian", "African", "Irish", "Prefer not to say"],
        "long_term_condition": ["No", "Yes", "No", "No", "Yes"],
        "condition_reduces_activity": ["", "Not at all", "", "", "Yes, a little"],
        "region": ["London"] * 5,
        "sector": ["HOSP", "COMM", "HOSP", "CHS", "HOSP"],
        "career_stage": ["GT10", "PTPT", "Y2TO5", "GT10", "LT2"],
        "harassment_public": ["1", "2", "1", "3", "1"],
        "discrimination_colleagues": ["No", "Yes", "No", "No", "No"],
        "discrimination_grounds": ["", "Age;Gender", "", "", ""],
    }
    return pd.DataFrame(rows)


def good_workforce() -> pd.DataFrame:
    """Three valid workforce records."""
    return pd.DataFrame({
        "person_id": ["P1", "P2", "P3"], "start_date": ["2019-04-01", "01/09/2021", "2022-01-10"],
        "end_date": ["", "2024-03-31", ""], "leaving_reason": ["", "Retirement", ""],
        "fte": ["1", "0.6", "1"], "ethnicity": ["A", "H", "N"], "long_term_condition": ["N", "N", "Y"],
        "condition_reduces_activity": ["", "", "NONE"], "region": ["LON", "LON", "LON"],
        "sector": ["HOSP", "HOSP", "COMM"], "career_stage": ["GT10", "Y2TO5", "Y2TO5"],
    })  # fmt: skip


def good_recruitment() -> pd.DataFrame:
    """Three valid recruitment records."""
    return pd.DataFrame({
        "application_id": ["A1", "A2", "A3"], "year": ["2024", "2024", "2024"], "stage": ["Applied", "Shortlisted", "Appointed"],
        "ethnicity": ["A", "H", "N"], "long_term_condition": ["N", "N", "N"], "region": ["LON"] * 3,
        "sector": ["HOSP"] * 3, "career_stage": ["GT10"] * 3,
    })  # fmt: skip


def _csv(frame: pd.DataFrame, name: str, **options: object) -> None:
    frame.to_csv(HERE / name, index=False, **options)


def _edit(frame: pd.DataFrame, row: int, column: str, value: str) -> pd.DataFrame:
    edited = frame.copy()
    edited.loc[row, column] = value
    return edited


def _text(name: str, data: bytes) -> None:
    (HERE / name).write_bytes(data)


def _xlsx_with_formula(name: str) -> None:
    book = Workbook()
    sheet = book.active
    frame = good_survey()
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append(list(row))
    sheet["H3"] = "=1+1"  # harassment_public of respondent B-2, saved without a cached value
    book.save(HERE / name)


def zip_bomb(path: Path, *, expanded_mb: int) -> None:
    """A valid .xlsx of a few hundred KB whose first sheet's XML expands to ``expanded_mb`` MB
    (a row, then spaces between the rows, which deflate packs about a thousandfold; written
    in chunks, never held whole in memory)."""
    book = Workbook()
    book.active.append(list(good_survey().columns))
    buffer = io.BytesIO()
    book.save(buffer)
    row = b'<row r="2"><c r="A2" t="inlineStr"><is><t>B-1</t></is></c></row>'
    chunk = b" " * 2**20
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for member in source.infolist():
            data = source.read(member)
            if member.filename != "xl/worksheets/sheet1.xml":
                target.writestr(member, data)
                continue
            head, tail = data.split(b"</sheetData>")
            with target.open(member.filename, "w", force_zip64=True) as sheet:
                sheet.write(head + row)
                for _ in range(expanded_mb):
                    sheet.write(chunk)
                sheet.write(b"</sheetData>" + tail)


def write_all() -> None:
    """Every corpus file."""
    survey = good_survey()
    text = survey.to_csv(index=False)
    _text("empty.csv", b"")
    _text("whitespace_only.csv", b"  \n\n \n")
    _text("header_only.csv", text.splitlines()[0].encode() + b"\n")
    _text("truncated.csv", text.rstrip("\n").rsplit(",", 5)[0].encode())
    _text("unterminated_quote.csv", (text + '"B-6,White British,No\n').encode())
    _text(
        "binary_junk.csv", np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    )
    _text(
        "bom_declares_utf8_but_cp1252.csv",
        b"\xef\xbb\xbf" + text.replace("Irish", "Ir\xe9sh").encode("cp1252"),
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    _text("zip_not_xlsx.xlsx", buffer.getvalue())
    _text("text_named_xlsx.xlsx", text.encode())
    _text("report.pdf", b"%PDF-1.4\n%junk\n")
    _text("corrupt.parquet", b"PAR1" + b"\x00" * 64)
    _text("corrupt.sav", b"$FL2" + b"\x00" * 64)
    _text("duplicate_columns.csv", text.replace("sector", "ethnicity", 1).encode())
    _text("blank_header.csv", text.replace("sector", "", 1).encode())
    _text("ragged_row.csv", (text + "B-6,African,No,,London,HOSP,GT10,1,No,,EXTRA,MORE\n").encode())
    _csv(_edit(survey, 2, "sector", "x" * 40_000), "enormous_cell.csv")
    _text("no_table.csv", b"1,2,3\n4,5,6\n7,8,9\n")
    _xlsx_with_formula("formula_cells.xlsx")
    _csv(survey.drop(columns=["ethnicity"]), "missing_required_column.csv")
    _csv(good_workforce(), "wrong_instrument.csv")
    _csv(survey, "unknown_region.csv")
    _csv(_edit(survey, 1, "ethnicity", "Martian"), "strict_refused.csv")
    _csv(survey.rename(columns={"sector": "Sectr"}), "mapping_to_unknown_item.csv")
    _text("mapping_to_unknown_item.yaml", b"Sectr: sectorr\n")
    _csv(_edit(survey, 1, "ethnicity", "Martian"), "unknown_option.csv")
    _csv(_edit(survey, 1, "discrimination_grounds", "Age;Star sign"), "unknown_multi_option.csv")
    _csv(_edit(survey, 3, "ethnicity", ""), "required_blank.csv")
    _csv(_edit(survey, 4, "respondent_id", "B-1"), "duplicate_respondent.csv")
    _csv(survey.assign(cycle=["2024", "2024", "2023", "2024", "2024"]), "mixed_cycles.csv")
    _csv(_edit(survey, 0, "region", "Midlands"), "region_mismatch.csv")
    _csv(_edit(survey, 0, "condition_reduces_activity", "Yes, a lot"), "not_relevant.csv")
    _csv(survey.rename(columns={"harassment_public": "Harassment publik"}), "unknown_column.csv")
    workforce = good_workforce()
    _csv(_edit(workforce, 0, "start_date", "31/02/2024"), "wf_no_such_date.csv")
    _csv(_edit(workforce, 0, "start_date", "02/13/2024"), "wf_month_first_date.csv")
    _csv(_edit(workforce, 0, "start_date", "01/02/24"), "wf_two_digit_year.csv")
    _csv(_edit(workforce, 0, "start_date", "1850-01-01"), "wf_date_out_of_range.csv")
    _csv(_edit(workforce, 2, "fte", "2.5"), "wf_out_of_range.csv")
    _csv(_edit(workforce, 2, "fte", "full time"), "wf_not_a_number.csv")
    _csv(_edit(workforce, 2, "leaving_reason", "Retirement"), "wf_reason_without_end.csv")
    _csv(pd.concat([workforce, workforce.iloc[[1]]]), "wf_duplicate_record.csv")
    _csv(_edit(good_recruitment(), 1, "year", "2024.5"), "rec_not_whole.csv")
    _csv(_edit(good_recruitment(), 1, "stage", "Interviewed"), "rec_unknown_stage.csv")
    zip_bomb(HERE / "zip_bomb.xlsx", expanded_mb=400)
    _csv(_edit(workforce, 2, "fte", "1e400"), "wf_overflowing_number.csv")
    _csv(_edit(good_recruitment(), 1, "year", "99999999999999999999"), "rec_absurd_year.csv")
    _text(
        "control_characters.csv",
        _edit(survey, 1, "sector", "=1+1\x00\rx").to_csv(index=False).encode(),
    )


if __name__ == "__main__":
    write_all()
