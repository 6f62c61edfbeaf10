"""Where the table sits in a grid of text cells: header row, platform layout, columns.

Shared by the delimited-text and workbook readers, which hand over the first rows of a file
as lists of cell texts (``None`` for an empty cell).

Header row rule: among the first :data:`HEADER_SEARCH_ROWS` rows, the header is the first row
whose non-blank cells number more than half of the widest row there and are mostly (more than
half) text rather than numbers. Title lines, notes and ``key | value`` lines above a table are
narrower than the table, so they are skipped as a preamble.

Qualtrics rule: the row two below the header holds import ids (``{"ImportId":"QID1"}``) in
at least half of its non-blank cells. Then the header row gives the column names, the next
row the question text, and data start after the import-id row.

SurveyMonkey rule: the header row names ``Respondent ID`` and the row below it says
``Response`` (or ``Open-Ended Response``) over at least one question. Then a question's
options sit in that second row, under the question (written once, over its first option
column); each option column is named ``question - option`` and data start below the second
row.

Aggregate-table rule: a published table of results (percentages by group) is not a file of
responses. It is recognised when, in the rows below the header, at least
:data:`AGGREGATE_SHARE` of the filled cells are percentages (``53%``), or one of the two rows
under the header is a row of units (``%`` in at least half of its filled cells).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toolkit.ingest.raw_export import (
    MAX_CELL_CHARS,
    by_text,
    column_letter,
    distinct_texts,
    parse_number,
    read_error,
)

#: How many rows from the top are searched for the header row.
HEADER_SEARCH_ROWS = 50

_IMPORT_ID = re.compile(r'\s*\{\s*"ImportId"\s*:')
_PERCENT = re.compile(r"\s*-?\d*\.?\d*\s*%\s*")
#: Share of percentage cells under the header that marks a published aggregate table.
AGGREGATE_SHARE = 0.3
#: Rows under the header examined by the aggregate-table rule.
AGGREGATE_SAMPLE_ROWS = 30
#: Second-row cells of a SurveyMonkey export over a question with a single answer column.
SURVEYMONKEY_ANSWER_CELLS = frozenset({"response", "open-ended response"})

Row = Sequence[str | None]


@dataclass(frozen=True)
class TableLayout:
    """Where a table starts.

    Attributes:
        header_index: 0-based index of the header row in the grid.
        data_start: 0-based index of the first data row.
        layout: ``"plain"``, ``"qualtrics"``, ``"surveymonkey"`` or ``"aggregate"``.
        names: the header cells as read (not yet stripped or checked).
        question_text: the Qualtrics question-text row, else ``None``.
    """

    header_index: int
    data_start: int
    layout: str
    names: list[str | None]
    question_text: list[str | None] | None


def _filled(row: Row) -> list[str]:
    """The non-blank cells of a row (whitespace-only cells count as blank)."""
    return [cell for cell in row if cell is not None and cell.strip()]


def find_header_row(rows: Sequence[Row]) -> int | None:
    """0-based index of the header row by the rule in the module docstring, or ``None``."""
    sample = rows[:HEADER_SEARCH_ROWS]
    widest = max((len(_filled(row)) for row in sample), default=0)
    for index, row in enumerate(sample):
        cells = _filled(row)
        if not cells or 2 * len(cells) <= widest:
            continue
        texts = sum(parse_number(cell) is None for cell in cells)
        if 2 * texts > len(cells):
            return index
    return None


def _is_qualtrics(rows: Sequence[Row], header_index: int) -> bool:
    """Whether the row two below the header holds Qualtrics import ids (module docstring)."""
    if len(rows) <= header_index + 2:
        return False
    cells = _filled(rows[header_index + 2])
    ids = sum(bool(_IMPORT_ID.match(cell)) for cell in cells)
    return bool(cells) and 2 * ids >= len(cells)


def locate_table(rows: Sequence[Row], *, header_row: int | None, path: Path) -> TableLayout:
    """Find the header row (or take the 1-based ``header_row`` given) and the layout.

    Raises ``read.no_table`` when no row looks like a header or ``header_row`` is past the
    rows given.
    """
    if header_row is not None:
        if not 1 <= header_row <= len(rows) or not _filled(rows[header_row - 1]):
            raise read_error(
                "read.no_table",
                f"row {header_row} is not a header row: it is blank or past the end of the table",
                path=path,
                row=header_row,
                fix="give the row that holds the column names",
            )
        index = header_row - 1
    else:
        found = find_header_row(rows)
        if found is None:
            raise read_error(
                "read.no_table",
                f"no row of column names found in the first {HEADER_SEARCH_ROWS} rows",
                path=path,
                expected="a row of column names above the data",
                fix="add a header row, or give the header row number",
            )
        index = found
    names = list(rows[index])
    if _is_qualtrics(rows, index):
        return TableLayout(index, index + 3, "qualtrics", names, list(rows[index + 1]))
    if _is_surveymonkey(rows, index):
        return TableLayout(
            index, index + 2, "surveymonkey", _surveymonkey_names(names, rows[index + 1]), None
        )
    if _is_aggregate(rows, index):
        return TableLayout(index, index + 1, "aggregate", names, None)
    return TableLayout(index, index + 1, "plain", names, None)


def _is_surveymonkey(rows: Sequence[Row], header_index: int) -> bool:
    """Whether the header names ``Respondent ID`` and the next row holds ``Response`` cells."""
    if len(rows) <= header_index + 1:
        return False
    header = {cell.strip().casefold() for cell in _filled(rows[header_index])}
    below = {cell.strip().casefold() for cell in _filled(rows[header_index + 1])}
    return "respondent id" in header and bool(below & SURVEYMONKEY_ANSWER_CELLS)


def _surveymonkey_names(questions: Row, options: Row) -> list[str | None]:
    """Column names from SurveyMonkey's two header rows (module docstring)."""
    names: list[str | None] = []
    question: str | None = None
    padded = list(options) + [None] * (len(questions) - len(options))
    for top, below in zip(questions, padded, strict=False):
        if top is not None and top.strip():
            question = top.strip()
        option = (below or "").strip()
        if not option or option.casefold() in SURVEYMONKEY_ANSWER_CELLS:
            names.append(top)
        else:
            names.append(f"{question} - {option}" if question else option)
    return names


def _is_aggregate(rows: Sequence[Row], header_index: int) -> bool:
    """Whether the rows under the header are a published table of percentages (docstring)."""
    below = rows[header_index + 1 : header_index + 1 + AGGREGATE_SAMPLE_ROWS]
    for row in below[:2]:
        cells = _filled(row)
        if cells and 2 * sum(cell.strip() == "%" for cell in cells) >= len(cells):
            return True
    cells = [cell for row in below for cell in _filled(row)]
    share = sum(bool(_PERCENT.fullmatch(cell)) for cell in cells) / max(len(cells), 1)
    return share >= AGGREGATE_SHARE


def refuse_aggregate(table: TableLayout, *, path: Path) -> None:
    """Raise ``read.aggregate_table`` for a published table of results (module docstring)."""
    if table.layout != "aggregate":
        return
    raise read_error(
        "read.aggregate_table",
        "this is a published table of results (percentages by group), not one row per "
        "respondent, so it cannot be ingested",
        path=path,
        row=table.header_index + 1,
        expected="a survey export or records file with one row per respondent or record",
        fix="to compare groups from published figures, take the counts (not the percentages) "
        "and use toolkit.stats.proportions_from_counts and "
        "toolkit.stats.relative_likelihood_from_counts",
    )


def settle_columns(
    names: Sequence[str | None], has_data: Sequence[bool], *, path: Path, header_row: int
) -> list[tuple[int, str]]:
    """Columns to keep as ``(0-based position, stripped name)``.

    A column with a blank header and no data is dropped (trailing delimiters, spacer
    columns). Raises ``read.blank_header`` for a blank header over data and
    ``read.duplicate_columns`` (names with their column letters) for repeated names.
    """
    kept: list[tuple[int, str]] = []
    for position, (name, filled) in enumerate(zip(names, has_data, strict=True)):
        clean = (name or "").strip()
        if clean:
            kept.append((position, clean))
        elif filled:
            letter = column_letter(position + 1)
            raise read_error(
                "read.blank_header",
                f"column {letter} holds data but has no name in header row {header_row}",
                path=path,
                row=header_row,
                column=letter,
                fix="type a column name into the header cell, or give the right header row",
            )
    seen: dict[str, list[str]] = {}
    for position, name in kept:
        seen.setdefault(name, []).append(column_letter(position + 1))
    repeated = {name: letters for name, letters in seen.items() if len(letters) > 1}
    if repeated:
        listing = "; ".join(f'"{name}" in columns {", ".join(at)}' for name, at in repeated.items())
        raise read_error(
            "read.duplicate_columns",
            f"column names repeat in header row {header_row}: {listing}",
            path=path,
            row=header_row,
            fix="give each column its own name (a two-row header must be merged into one row)",
            details={"duplicates": repeated},
        )
    return kept


def drop_blank_rows(
    frame: pd.DataFrame, source_rows: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray]:
    """Remove rows whose cells are all empty, keeping ``source_rows`` aligned."""
    if frame.shape[1] == 0:
        return frame, source_rows
    keep = np.zeros(len(frame), dtype=bool)
    for _, column in frame.items():
        keep |= column.notna().to_numpy()
    if keep.all():
        return frame, source_rows
    return frame.loc[keep].reset_index(drop=True), source_rows[keep]


def _characters(texts: pd.Series) -> pd.Series:
    """Characters in each text (0 for a missing cell)."""
    lengths = pc.fill_null(pc.utf8_length(pa.array(texts.array)), 0)
    return pd.Series(lengths.to_numpy(zero_copy_only=False), index=texts.index)


def check_cell_sizes(
    frame: pd.DataFrame, source_rows: np.ndarray, *, path: Path, limit: int = MAX_CELL_CHARS
) -> None:
    """Raise ``read.cell_too_large`` for the first cell over ``limit`` characters (default
    Excel's 32,767); each distinct text is measured once."""
    for name in frame.columns:
        if _characters(distinct_texts(frame[name])).max() <= limit:
            continue
        lengths = by_text(frame[name], _characters).to_numpy()
        if lengths.max(initial=0) <= limit:
            continue
        first = int(np.argmax(lengths > limit))
        raise read_error(
            "read.cell_too_large",
            f"a cell holds {int(lengths[first]):,} characters, more than a spreadsheet cell can",
            path=path,
            row=int(source_rows[first]),
            column=str(name),
            expected=f"at most {limit:,} characters",
            fix="check the file is not damaged and that the delimiter and quotes are right",
        )
