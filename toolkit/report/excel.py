"""Write a results bundle as an Excel workbook: one formatted sheet per bundle table.

Each sheet has a bold, filled header row, frozen panes below the header, an autofilter and
column widths fitted to the content (capped). Suppression is preserved: in a row flagged
``suppressed`` every blank number cell reads "suppressed" (the reason stays in its column).
Text cells go through :func:`toolkit.ingest.sheets.sheet_text`, as in every sheet ptw writes:
text a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, or a tab
or carriage return, the OWASP CSV-injection list) is prefixed with an apostrophe and stored as
text, so it is shown literally and never runs, and control characters are escaped. A
``manifest`` sheet lists the manifest's top-level entries.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from toolkit.bundle import Bundle
from toolkit.ingest.sheets import sheet_text

SUPPRESSED = "suppressed"
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
MAX_WIDTH = 60
#: Excel's sheet-name limit.
SHEET_NAME_LENGTH = 31


def _cell_value(value: object, *, suppressed: bool) -> object:
    """The value written: NaN/None -> blank, or "suppressed" in a suppressed row."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return SUPPRESSED if suppressed else None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return sheet_text(value)


def _write_sheet(sheet: Worksheet, table: pd.DataFrame) -> None:
    columns = [str(column) for column in table.columns]
    sheet.append([sheet_text(column) for column in columns])
    flags = (
        table["suppressed"].astype("boolean").fillna(False).astype(bool).tolist()
        if "suppressed" in table.columns
        else [False] * len(table)
    )
    for values, hidden in zip(table.itertuples(index=False, name=None), flags, strict=True):
        sheet.append([_cell_value(value, suppressed=hidden) for value in values])
    _format(sheet, len(columns))


def _format(sheet: Worksheet, n_columns: int) -> None:
    for cell in sheet[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=False, vertical="center")
    sheet.freeze_panes = "A2"
    if n_columns:
        sheet.auto_filter.ref = f"A1:{get_column_letter(n_columns)}{max(sheet.max_row, 1)}"
    for index, column in enumerate(sheet.iter_cols(min_row=1, max_row=min(sheet.max_row, 500)),
                                   start=1):  # fmt: skip
        longest = max(
            (len(str(cell.value)) for cell in column if cell.value is not None), default=8
        )
        sheet.column_dimensions[get_column_letter(index)].width = min(MAX_WIDTH, longest + 2)


def sheet_name(table: str, used: set[str]) -> str:
    """An Excel-legal, unique sheet name for ``table`` (31 characters, no ``[]:*?/\\``)."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in table)[:SHEET_NAME_LENGTH]
    name, number = clean, 2
    while name.lower() in used:
        suffix = f"_{number}"
        name, number = clean[: SHEET_NAME_LENGTH - len(suffix)] + suffix, number + 1
    used.add(name.lower())
    return name


def _manifest_rows(manifest: dict[str, object]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "entry": list(manifest),
            "value": [
                value if isinstance(value, str | int | float) else json.dumps(value, default=str)
                for value in manifest.values()
            ],
        }
    )


def write_bundle_excel(bundle: Bundle, path: Path) -> Path:
    """Write every table of ``bundle`` (sorted by name) and its manifest to the workbook ``path``.

    Output: ``path``. The workbook has one sheet per table plus ``manifest``; see the module
    docstring for formatting, suppression and formula-injection rules.
    """
    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for name in sorted(bundle.tables):
        _write_sheet(workbook.create_sheet(sheet_name(name, used)), bundle.tables[name])
    _write_sheet(
        workbook.create_sheet(sheet_name("manifest", used)), _manifest_rows(bundle.manifest)
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path
