"""The Excel export: one formatted sheet per bundle table, suppression kept, no formulas."""

from __future__ import annotations

import numpy as np
import pandas as pd
from openpyxl import load_workbook

from toolkit.bundle import Bundle
from toolkit.ingest.sheets import neutralise
from toolkit.report.excel import SUPPRESSED, write_bundle_excel

HOSTILE_CELLS = ["=1+1", "+SUM(A1:A2)", "-2+3", "@SUM(A1)", '=HYPERLINK("http://x")', "safe"]


def _bundle() -> Bundle:
    comparisons = pd.DataFrame({
        "group": HOSTILE_CELLS,
        "n": pd.array([40, 3, 50, 60, 70, 80], dtype="Int64"),
        "estimate": [0.25, np.nan, 0.5, 0.1, 0.2, 0.3],
        "suppressed": [False, True, False, False, False, False],
        "suppression_reason": [None, "primary: fewer than 10 respondents", None, None, None, None],
    })  # fmt: skip
    comparisons.loc[1, "n"] = pd.NA
    return Bundle(tables={"comparisons": comparisons, "response_profile": comparisons.head(2)},
                  manifest={"cycles": [2024, 2025], "toolkit_version": "=cmd|' /C calc'!A0"})  # fmt: skip


def test_neutralise_prefixes_every_formula_start():
    assert [neutralise(v) for v in HOSTILE_CELLS] == ["'" + v for v in HOSTILE_CELLS[:-1]] + [
        "safe"
    ]
    assert neutralise(-2.5) == -2.5  # numbers are not text: untouched


def test_every_table_is_a_formatted_sheet_without_formulas(tmp_path):
    path = write_bundle_excel(_bundle(), tmp_path / "bundle.xlsx")
    workbook = load_workbook(path)
    assert workbook.sheetnames == [
        "Contents",
        "Rates by group",
        "Respondents",
        "About this release",
    ]
    contents = [[c.value for c in row] for row in workbook["Contents"].iter_rows()]
    assert contents[0] == ["Sheet", "What it holds", "Rows"]
    assert [row[0] for row in contents[1:]] == workbook.sheetnames[1:]
    assert contents[1][2] == 6
    sheet = workbook["Rates by group"]
    assert [c.value for c in sheet[1]] == [
        "Group",
        "Respondents",
        "Estimate",
        "Suppressed?",
        "Why suppressed",
    ]
    assert sheet["C2"].number_format == "0.0%"  # a rate reads as a percentage
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["E"].width > sheet.column_dimensions["B"].width
    cells = [cell for ws in workbook for row in ws.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # no cell is a formula
    assert [sheet.cell(row=r, column=1).value for r in range(2, 8)] == [
        neutralise(v) for v in HOSTILE_CELLS
    ]
    assert workbook["About this release"]["B3"].value.startswith("'=")


def test_suppressed_row_reads_suppressed_not_blank_or_a_number(tmp_path):
    sheet = load_workbook(write_bundle_excel(_bundle(), tmp_path / "b.xlsx"))["Rates by group"]
    hidden = [cell.value for cell in sheet[3]]
    assert hidden == [
        "'+SUM(A1:A2)",
        SUPPRESSED,
        SUPPRESSED,
        True,
        "primary: fewer than 10 respondents",
    ]
    assert [cell.value for cell in sheet[2]][1:3] == [40, 0.25]


def test_the_group_order_table_is_not_published_in_the_workbook(tmp_path):
    """``group_order`` only sorts rows for the reports; its order numbers are no publication."""
    bundle = _bundle()
    order = pd.DataFrame({"dimension": ["ethnicity"], "level": ["binary"], "group": ["White"],
                          "dimension_order": [1], "level_order": [3], "group_order": [1],
                          "is_reference": [True]})  # fmt: skip
    tables = {**bundle.tables, "group_order": order}
    path = write_bundle_excel(Bundle(tables=tables, manifest=bundle.manifest), tmp_path / "b.xlsx")
    names = load_workbook(path).sheetnames
    assert "Group order" not in names and "group_order" not in names
    assert "Rates by group" in names
