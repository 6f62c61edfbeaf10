"""The import template: the columns ingest accepts, as CSV and as XLSX with drop-downs.

Header row: item names (identifier first). Values are option labels; ingest also accepts
codes and synonyms, case- and space-insensitive. A select_multiple answer joins its labels
with ``;``. Items that do not apply (their ``relevant`` is false) are left blank.
"""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from toolkit.instruments.export.tables import MULTIPLE_JOIN, output_path, template_items
from toolkit.instruments.model import Instrument, Item

TEMPLATE_ROWS = 5000


def template_columns(instrument: Instrument) -> list[str]:
    """The header row of the template: names of the items a team collects."""
    return [item.name for item in template_items(instrument)]


def _column_note(instrument: Instrument, item: Item) -> str:
    note = item.label
    if item.base_type == "select_multiple":
        note += f" Several answers: separate their labels with '{MULTIPLE_JOIN}'."
    if item.relevant:
        note += f" Only when: {item.relevant}"
    return note


def _add_dropdowns(workbook: Workbook, instrument: Instrument, items: list[Item]) -> None:
    """A hidden ``lists`` sheet with each choice list, and a drop-down per single-choice column."""
    responses = workbook.active
    lists = workbook.create_sheet("lists")
    lists.sheet_state = "hidden"
    list_columns: dict[str, str] = {}
    for index, (list_name, choices) in enumerate(instrument.choice_lists.items(), start=1):
        letter = get_column_letter(index)
        lists.cell(row=1, column=index, value=list_name)
        for row, choice in enumerate(choices, start=2):
            lists.cell(row=row, column=index, value=choice.label)
        last = len(choices) + 1
        list_columns[list_name] = f"{quote_sheetname('lists')}!${letter}$2:${letter}${last}"
    for column, item in enumerate(items, start=1):
        header = responses.cell(row=1, column=column)
        header.comment = Comment(_column_note(instrument, item), "ptw")
        if item.base_type not in ("select_one", "likert") or not item.list_name:
            continue
        validation = DataValidation(
            type="list",
            formula1=list_columns[item.list_name],
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="Not an option",
            error=f"Choose one of the options of {item.name}, or leave blank.",
        )
        letter = get_column_letter(column)
        validation.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
        responses.add_data_validation(validation)


def write_template(instrument: Instrument, out_dir: Path) -> list[Path]:
    """Write ``NAME-VERSION-template.csv`` and ``.xlsx`` into ``out_dir``; return their paths."""
    items = template_items(instrument)
    header = [item.name for item in items]
    csv_path = output_path(instrument, out_dir, "template", "csv")
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerow(header)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "responses"
    sheet.append(header)
    sheet.freeze_panes = "A2"
    _add_dropdowns(workbook, instrument, items)
    xlsx_path = output_path(instrument, out_dir, "template", "xlsx")
    workbook.save(xlsx_path)
    return [csv_path, xlsx_path]
