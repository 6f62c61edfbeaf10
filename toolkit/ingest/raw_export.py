"""The reader result (:class:`RawExport`), reader errors and cell-text helpers.

Every reader turns a file into text cells: a number, a date or a boolean becomes the text a
person would read, and the coder (``toolkit.ingest.coding``) decides what the text means.

A column of cells is held dictionary-encoded (a pandas categorical of :data:`TEXT_DTYPE`
texts): each distinct text once and a code per row. Survey answers repeat a handful of
labels over millions of rows, so the coder works on the distinct texts (:func:`by_text`)
and no text is made per row.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toolkit.errors import IngestError

#: Excel's own limit on the characters in one cell; a longer cell is refused.
MAX_CELL_CHARS = 32_767

#: pandas dtype of every frame column: pyarrow-backed strings with ``<NA>`` for an empty cell.
TEXT_DTYPE = pd.StringDtype("pyarrow")


@dataclass(frozen=True)
class RawExport:
    """One data file read as text.

    Attributes:
        frame: one column per source column, named as in the header (stripped, unique);
            every cell a ``str`` or ``<NA>``, dictionary-encoded (a pandas categorical whose
            categories are :data:`TEXT_DTYPE`, see :func:`text_cells`). Rows whose cells are
            all empty are dropped.
        source_rows: for each frame row, the 1-based row a person sees when the file is
            opened in a spreadsheet (header and preamble rows count; a quoted newline keeps
            its record in one row; a blank line is a row). SPSS and Parquet: the case number.
        path: the file read.
        sha256: hex digest of the file bytes.
        reader: ``"csv"``, ``"tsv"``, ``"xlsx"``, ``"xls"``, ``"ods"``, ``"spss"`` or ``"parquet"``.
        encoding: text encoding used for CSV/TSV (``"utf-8"``, ``"utf-8-sig"``, ``"utf-16"``,
            ``"cp1252"``...); ``None`` for other formats.
        layout: ``"plain"`` or ``"qualtrics"``; the coder may later decide ``"question_text"``.
        header_row: 1-based row of the column names; 0 when the format has no header row
            (SPSS, Parquet).
        sheet: the worksheet read, for workbooks.
        question_text: column -> question wording (Qualtrics second header row, SPSS variable
            labels); empty otherwise.
        value_labels: SPSS value labels, column -> {code text: label}.
        missing_values: SPSS user-missing codes per column, as code texts; a range is written
            ``"LO thru HI"`` (SPSS syntax), see :func:`is_user_missing`.
    """

    frame: pd.DataFrame
    source_rows: np.ndarray
    path: Path
    sha256: str
    reader: str
    encoding: str | None
    layout: str
    header_row: int
    sheet: str | None
    question_text: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    missing_values: dict[str, list[str]] = field(default_factory=dict)


def _categorical(column: pa.Array | pa.ChunkedArray) -> pd.Categorical:
    """A pyarrow column of text (plain or dictionary-encoded) as a text categorical."""
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    if isinstance(column, pa.ChunkedArray):
        column = column.unify_dictionaries().combine_chunks()
    codes = pc.fill_null(column.indices, -1).to_numpy(zero_copy_only=False)
    texts = pd.Index(pd.array(column.dictionary.cast(pa.large_string()), dtype=TEXT_DTYPE))
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(texts), validate=False)


def text_frame(table: pa.Table) -> pd.DataFrame:
    """A pyarrow table of text columns (plain or dictionary-encoded) as a frame of text
    categoricals (:class:`RawExport` ``frame``); no text is copied per row."""
    return pd.DataFrame({name: _categorical(table.column(name)) for name in table.column_names})


def text_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every column a text categorical (a column that is one already is kept)."""
    return pd.DataFrame(
        {
            name: column
            if isinstance(column.dtype, pd.CategoricalDtype)
            else _categorical(pa.array(column.astype(TEXT_DTYPE).array))
            for name, column in frame.items()
        },
        index=frame.index,
    )


def distinct_texts(cells: pd.Series) -> pd.Series:
    """The texts a column holds: a text categorical's categories and ``<NA>`` (for its
    missing cells), or the cells themselves as :data:`TEXT_DTYPE` for another column."""
    if not isinstance(cells.dtype, pd.CategoricalDtype):
        return cells.astype(TEXT_DTYPE)
    return pd.concat(
        [pd.Series(cells.cat.categories.astype(TEXT_DTYPE)), pd.Series([None], dtype=TEXT_DTYPE)],
        ignore_index=True,
    )


def by_text(cells: pd.Series, compute: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``compute(cells.astype(TEXT_DTYPE))``, computed once per distinct text.

    ``compute`` must be elementwise (each result depends on its own cell only), as pandas'
    ``.str`` methods and comparisons with a scalar are. A text categorical is computed on
    :func:`distinct_texts` and spread to the rows by its codes; another column row by row.
    """
    result = compute(distinct_texts(cells))
    if not isinstance(cells.dtype, pd.CategoricalDtype):
        return result
    codes = cells.cat.codes.to_numpy()
    missing = len(cells.cat.categories)
    return result.take(np.where(codes < 0, missing, codes)).set_axis(cells.index)


def read_error(
    code: str,
    message: str,
    *,
    path: Path,
    fix: str | None = None,
    row: int | None = None,
    column: str | None = None,
    value: object = None,
    expected: str | None = None,
    line: int | None = None,
    details: dict[str, object] | None = None,
) -> IngestError:
    """Build the :class:`IngestError` a reader raises; ``code`` is ``read.<kind>``."""
    return IngestError(
        code=code,
        message=message,
        file=str(path),
        line=line,
        row=row,
        column=column,
        value=value,
        expected=expected,
        fix=fix,
        details=details or {},
    )


def column_letter(position: int) -> str:
    """Spreadsheet letters of a 1-based column position: 1 -> ``A``, 28 -> ``AB``."""
    letters = ""
    while position > 0:
        position, rest = divmod(position - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def format_number(value: float) -> str:
    """Text of a stored number: integral values without ``.0`` (``7.0`` -> ``"7"``), others
    as the shortest text that reads back to the same double (``repr``), as pyarrow casts do."""
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def cell_text(value: Any) -> str | None:
    """Text of one cell from a workbook or SPSS reader; ``None`` for an empty cell.

    Numbers follow :func:`format_number`, booleans are ``"TRUE"``/``"FALSE"`` (as Excel shows
    them), dates and times ISO 8601 (``2024-01-02``, ``2024-01-02 03:04:05``, ``03:04:05``).
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else format_number(float(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_GROUPED_NUMBER = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")


def parse_number(text: str | None) -> float | None:
    """The number written in a cell, or ``None`` when the text is not a number.

    Accepts surrounding spaces, a unicode minus (U+2212), thousands separators in groups of
    three (``"220,419"`` -> 220419.0), and a trailing percent sign, which is dropped
    (``"12%"`` -> 12.0: the number as written, not a fraction). A comma that does not
    separate groups of three (``"1,5"``) is not a number here: UK exports use a decimal point.
    ``nan`` and ``inf`` are not numbers either.
    """
    if text is None:
        return None
    cleaned = text.strip().replace("\u2212", "-")
    if cleaned.endswith("%"):
        cleaned = cleaned[:-1].rstrip()
    if _GROUPED_NUMBER.fullmatch(cleaned):
        cleaned = cleaned.replace(",", "")
    if not _PLAIN_NUMBER.fullmatch(cleaned):
        return None
    return float(cleaned)


def is_user_missing(text: str | None, missing: list[str]) -> bool:
    """Whether a cell text is one of a column's SPSS user-missing codes.

    ``missing`` is a :attr:`RawExport.missing_values` entry: code texts and ranges written
    ``"LO thru HI"`` (inclusive, numeric).
    """
    if text is None:
        return False
    number = parse_number(text)
    for code in missing:
        low, sep, high = code.partition(" thru ")
        if not sep:
            if text == code:
                return True
        elif number is not None and float(low) <= number <= float(high):
            return True
    return False
