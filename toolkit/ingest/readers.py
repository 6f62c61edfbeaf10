"""Files -> :class:`RawExport`: every cell as text, with source rows and how it was read.

``read_export`` picks the reader from the file's first bytes (zip, OLE, ``PAR1``, ``$FL2``)
and its extension, reads every cell as text (no type guessing: ``"007"`` stays ``"007"``),
and drops rows whose cells are all empty. The methods are described in the modules:
``read_csv`` (encoding, delimiter, quoted newlines, source rows), ``read_workbook`` (sheet,
formula cells), ``layouts`` (header row, Qualtrics), ``read_spss`` and ``read_parquet``.
Numeric clean-up is the coder's job, with :func:`parse_number`.

Error codes (``IngestError.code``), each raised for the whole file:

- ``read.file_not_found``: no file at the path (or it is a folder).
- ``read.empty_file``: zero bytes, only whitespace, or a workbook without filled cells.
- ``read.header_only``: column names but no data rows.
- ``read.unsupported_format``: an extension and content none of the readers take.
- ``read.not_a_workbook``: .xlsx/.xls/.ods that is not a workbook (not a zip, a corrupt zip).
- ``read.password_protected``: an encrypted workbook.
- ``read.corrupt_file``: an SPSS or Parquet file its library cannot parse.
- ``read.undecodable``: text in no encoding found, or bytes that look binary.
- ``read.wrong_encoding``: the declared encoding cannot decode the bytes (byte offset, line).
- ``read.unterminated_quote``: the file ends inside a quoted cell.
- ``read.ragged_row``: a row has filled cells beyond the named columns.
- ``read.truncated``: the last row is short and has no line end (a cut-off file).
- ``read.no_sheet``: the sheet asked for does not exist (the names are listed).
- ``read.no_table``: no header row found, or the header row given is blank.
- ``read.blank_header``: a column holds data under a blank header cell.
- ``read.duplicate_columns``: column names repeat (names and column letters listed).
- ``read.aggregate_table``: a published table of results (percentages by group), not responses.
- ``read.cell_too_large``: a cell over 32,767 characters (Excel's limit), with row and column.
- ``read.too_large_unzipped``: an .xlsx/.ods that would expand past the workspace's limit
  (``[ingest] max_unzipped_mb``), refused from the zip's declared sizes before decompressing.
- ``read.unsupported_column``: a Parquet column of nested values.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.config import MAX_UNZIPPED_BYTES
from toolkit.ingest.layouts import check_cell_sizes, drop_blank_rows
from toolkit.ingest.raw_export import (
    MAX_CELL_CHARS,
    RawExport,
    is_user_missing,
    parse_number,
    read_error,
    text_cells,
)

__all__ = ["RawExport", "is_user_missing", "parse_number", "read_export", "reader_for"]

_MAGIC = (
    (b"PK\x03\x04", "zip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls"),
    (b"PAR1", "parquet"),
    (b"$FL2", "spss"),
    (b"$FL3", "spss"),
)
_EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xls",
    ".ods": "ods",
    ".sav": "spss",
    ".zsav": "spss",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_WORKBOOKS = ("xlsx", "xls", "ods")


def _magic_kind(raw: bytes, by_extension: str | None) -> str | None:
    """The format told by the first bytes (an .ods zip says so in its mimetype), else ``None``."""
    for magic, kind in _MAGIC:
        if raw.startswith(magic):
            if kind == "zip":
                return (
                    "ods"
                    if by_extension == "ods" or b"opendocument.spreadsheet" in raw[:100]
                    else "xlsx"
                )
            return kind
    return None


def reader_for(path: Path, raw: bytes) -> str:
    """The reader for a file: its magic bytes, else its extension.

    A workbook, SPSS or Parquet extension on bytes without that format's magic is refused
    (``read.not_a_workbook`` / ``read.corrupt_file``); an unknown extension on bytes of no
    known format is ``read.unsupported_format``.
    """
    by_extension = _EXTENSIONS.get(path.suffix.lower())
    by_magic = _magic_kind(raw, by_extension)
    if by_magic is not None:
        return by_magic
    if by_extension in _WORKBOOKS:
        raise read_error(
            "read.not_a_workbook",
            f"the file is named {path.suffix} but is not a spreadsheet workbook",
            path=path,
            expected="an .xlsx/.ods (zip) or .xls workbook",
            fix="open it in the program that made it and save it as .xlsx or as CSV",
        )
    if by_extension in ("spss", "parquet"):
        raise read_error(
            "read.corrupt_file",
            f"the file is named {path.suffix} but does not start like one",
            path=path,
            fix="write the file again, or export it as CSV",
        )
    if by_extension is None:
        raise read_error(
            "read.unsupported_format",
            f'files named "{path.suffix or path.name}" cannot be read',
            path=path,
            expected="one of " + ", ".join(sorted(_EXTENSIONS)),
            fix="export the responses as CSV or .xlsx",
        )
    return by_extension


def _read_bytes(path: Path) -> bytes:
    """The file bytes, or ``read.file_not_found``."""
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as error:
        raise read_error(
            "read.file_not_found",
            "there is no file here",
            path=path,
            fix="check the path and the file name",
        ) from error


def read_export(
    path: Path,
    *,
    sheet: str | int | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
    max_unzipped: int = MAX_UNZIPPED_BYTES,
    max_cell_chars: int = MAX_CELL_CHARS,
) -> RawExport:
    """Read one data file as text cells.

    Args:
        path: the file.
        sheet: workbook sheet name or 0-based index; default: the first sheet with a table.
            Ignored for other formats.
        encoding: the text encoding of a CSV/TSV; default: detected.
        header_row: 1-based row of the column names; default: found (preamble skipped).
            Ignored for SPSS and Parquet, which have no header row.
        max_unzipped: bytes an .xlsx/.ods may expand to (``read.too_large_unzipped``).
        max_cell_chars: characters a cell may hold (``read.cell_too_large``).

    Returns:
        The :class:`RawExport`. Raises :class:`toolkit.errors.IngestError` with a ``read.*``
        code (module docstring) when the file cannot be read as a whole.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if not raw:
        raise read_error("read.empty_file", "the file is empty (0 bytes)", path=path)
    kind = reader_for(path, raw)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # hashlib releases the GIL on a large buffer: the file is hashed while it is parsed
        digest = pool.submit(lambda: hashlib.sha256(raw).hexdigest())
        found = _read_format(kind, raw, path=path, sheet=sheet, encoding=encoding,
                             header_row=header_row, max_unzipped=max_unzipped)  # fmt: skip
        found = replace(found, sha256=digest.result())
    return _finish(found, max_cell_chars)


def _read_format(
    kind: str,
    raw: bytes,
    *,
    path: Path,
    sheet: str | int | None,
    encoding: str | None,
    header_row: int | None,
    max_unzipped: int,
) -> RawExport:
    """The file read by the reader of ``kind`` (its ``sha256`` left blank for the caller)."""
    common = {"path": path, "sha256": ""}
    # each reader (and the library behind it) is imported only for a file of its format
    if kind in ("csv", "tsv"):
        from toolkit.ingest.read_csv import read_delimited

        text = read_delimited(
            raw,
            path=path,
            delimiter="\t" if kind == "tsv" else None,
            encoding=encoding,
            header_row=header_row,
        )
        found = RawExport(
            frame=text.frame,
            source_rows=text.source_rows,
            reader="tsv" if text.delimiter == "\t" else "csv",
            encoding=text.encoding,
            layout=text.table.layout,
            header_row=text.table.header_index + 1,
            sheet=None,
            question_text=_question_text(text.table.names, text.table.question_text),
            **common,
        )
    elif kind in _WORKBOOKS:
        from toolkit.ingest.read_workbook import read_workbook

        book = read_workbook(
            raw,
            path=path,
            kind=kind,
            sheet=sheet,
            header_row=header_row,
            max_unzipped=max_unzipped,
        )
        found = RawExport(
            frame=book.frame,
            source_rows=book.source_rows,
            reader=kind,
            encoding=None,
            layout=book.table.layout,
            header_row=book.table.header_index + 1,
            sheet=book.sheet,
            question_text=_question_text(book.table.names, book.table.question_text),
            **common,
        )
    elif kind == "spss":
        from toolkit.ingest.read_spss import read_spss

        spss = read_spss(path)
        found = replace(
            _headerless(spss.frame, "spss", **common),
            question_text=spss.question_text,
            value_labels=spss.value_labels,
            missing_values=spss.missing_values,
        )
    else:
        from toolkit.ingest.read_parquet import read_parquet

        found = _headerless(read_parquet(raw, path=path), "parquet", **common)
    return found


def _question_text(names: list[str | None], questions: list[str | None] | None) -> dict[str, str]:
    """Column name -> Qualtrics question text, for columns that have both."""
    if questions is None:
        return {}
    pairs = zip(names, questions + [None] * (len(names) - len(questions)), strict=False)
    return {name.strip(): text for name, text in pairs if name and name.strip() and text}


def _headerless(frame: pd.DataFrame, reader: str, *, path: Path, sha256: str) -> RawExport:
    """A file without a header row: source rows are case numbers 1..n."""
    return RawExport(
        frame=frame,
        source_rows=np.arange(1, len(frame) + 1, dtype=np.int64),
        path=path,
        sha256=sha256,
        reader=reader,
        encoding=None,
        layout="plain",
        header_row=0,
        sheet=None,
    )


def _finish(found: RawExport, max_cell_chars: int) -> RawExport:
    """Cells as text categoricals; drop all-empty rows, refuse over-long cells and a file
    without data rows."""
    frame, source_rows = drop_blank_rows(text_cells(found.frame), found.source_rows)
    if frame.empty:
        raise read_error(
            "read.header_only",
            "the file has column names but no rows of data",
            path=found.path,
            row=found.header_row or None,
        )
    check_cell_sizes(frame, source_rows, path=found.path, limit=max_cell_chars)
    return replace(found, frame=frame, source_rows=source_rows)
