"""Delimited text (CSV, TSV) -> text cells. Encodings are found by ``text_encoding``.

Source rows: a record is one spreadsheet row, whatever newlines sit inside its quoted cells,
and a blank line is a row too, as when the file is opened in Excel. So the source row of a
data record is its record number counted from the top of the file (header and preamble
records included). Record boundaries are the newline bytes outside quotes: a numpy pass
counts the quote bytes before each newline (an even count means the newline ends a record; a
doubled ``""`` adds two and keeps the parity). That pass runs over the first 256 KiB always,
and over the whole file only when it is needed: when pyarrow returns fewer rows than the data
have lines (quoted newlines or blank lines) or the quotes do not pair up. Otherwise record k
after the header is simply line k. A file whose quotes leave a cell open at the end is
refused (``read.unterminated_quote``); a stray quote inside an unquoted cell (``5" tall``)
counts as opening one, as it would not in a file written by Excel.

Parsing: the first records go through Python's ``csv`` module to sniff the delimiter (the
one giving most records of one width over one cell, then the widest) and to find the header;
the data go through ``pyarrow.csv`` on one thread (the line and quote counts run beside it)
with every column read as dictionary-encoded text and only the empty string read as missing
("NA" stays text). Files pyarrow cannot take (ragged rows) go through
the ``csv`` module: short rows are padded with empty cells, a row with filled cells beyond
the header is refused (``read.ragged_row``), and so is a short last row without a line end
(``read.truncated``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from toolkit.ingest.layouts import TableLayout, locate_table, refuse_aggregate, settle_columns
from toolkit.ingest.raw_export import read_error, text_frame
from toolkit.ingest.text_encoding import (
    decode_to_utf8,
    first_decode_error,
    refuse_binary,
    utf8_at_first_sight,
)

#: Delimiters tried when sniffing, in order of preference on a tie.
DELIMITERS = (",", ";", "\t", "|")

_HEAD_BYTES = 256 * 1024
_CHUNK_BYTES = 16 * 1024 * 1024
_QUOTE, _NEWLINE, _RETURN = 34, 10, 13
_NOT_SPACE = re.compile(rb"\S")
_NO_CELL_CAP = 2**31 - 1


class _NotUtf8(Exception):
    """A file taken for UTF-8 at first sight holds bytes that are not UTF-8."""


@dataclass(frozen=True)
class DelimitedTable:
    """What :func:`read_delimited` found: the frame and how the file was read."""

    frame: pd.DataFrame
    source_rows: np.ndarray
    encoding: str
    delimiter: str
    table: TableLayout


@dataclass(frozen=True)
class Records:
    """Records of UTF-8 text: record k is ``buf[starts[k]:ends[k]]``; ``blank[k]`` if empty."""

    starts: np.ndarray
    ends: np.ndarray
    blank: np.ndarray


def record_breaks(buf: bytes | memoryview) -> tuple[np.ndarray, bool]:
    """Offsets of the newlines outside quotes, and whether the text ends inside quotes."""
    data = np.frombuffer(buf, dtype=np.uint8)
    inside = 0
    pieces = [np.empty(0, dtype=np.int64)]
    for start in range(0, len(data), _CHUNK_BYTES):
        chunk = data[start : start + _CHUNK_BYTES]
        newlines = np.flatnonzero(chunk == _NEWLINE)
        quotes = np.flatnonzero(chunk == _QUOTE)
        if len(quotes):
            before = np.searchsorted(quotes, newlines)
            newlines = newlines[(before + inside) % 2 == 0]
            inside = (inside + len(quotes)) % 2
        pieces.append(newlines + start)
    return np.concatenate(pieces), bool(inside)


def _records(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> Records:
    """Records from their byte spans; a record of no bytes or a lone carriage return is blank."""
    lengths = ends - starts
    last_byte = data[np.maximum(ends - 1, 0)] if len(data) else np.empty(0, dtype=np.uint8)
    return Records(starts, ends, (lengths == 0) | ((lengths == 1) & (last_byte == _RETURN)))


def split_records(buf: bytes | memoryview, *, path: Path, first_row: int = 1) -> Records:
    """Records of a whole text; ``first_row`` is the source row of its first record.

    Raises ``read.unterminated_quote`` when the text ends inside a quoted cell.
    """
    breaks, open_quote = record_breaks(buf)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(buf)]])
    if starts[-1] == len(buf):
        starts, ends = starts[:-1], ends[:-1]
    if open_quote:
        raise read_error(
            "read.unterminated_quote",
            "a quoted cell is never closed: the file may be cut short",
            path=path,
            row=first_row + len(starts) - 1,
            fix="check the file is complete and that quotes inside cells are doubled",
        )
    return _records(np.frombuffer(buf, dtype=np.uint8), starts, ends)


def _head_records(buf: bytes, wanted: int, path: Path) -> Records:
    """The complete records within the first 256 KiB, or of the whole text when it is
    shorter or when fewer than ``wanted`` records end there."""
    if len(buf) > _HEAD_BYTES:
        breaks, _ = record_breaks(buf[:_HEAD_BYTES])
        if len(breaks) >= wanted:
            starts = np.concatenate([[0], breaks[:-1] + 1])
            return _records(np.frombuffer(buf, dtype=np.uint8), starts, breaks)
    return split_records(buf, path=path)


def _decode(part: bytes) -> str:
    """UTF-8 bytes as text; :class:`_NotUtf8` when a file taken for UTF-8 is not."""
    try:
        return part.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _NotUtf8 from error


def _parse(text: str, delimiter: str) -> list[list[str]]:
    """Records of ``text`` by the ``csv`` module, with its cap on a cell's size (131,072
    characters) lifted so that over-long cells reach the ``read.cell_too_large`` check with
    their row and column."""
    previous = csv.field_size_limit(_NO_CELL_CAP)
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    finally:
        csv.field_size_limit(previous)


def sniff_delimiter(text: str) -> str:
    """The delimiter by the rule in the module docstring."""

    def score(delimiter: str) -> tuple[bool, float, int]:
        """(more than one cell, share of records of the modal width, that width)."""
        widths = [len(row) for row in _parse(text, delimiter) if row]
        if not widths:
            return (False, 0.0, 0)
        values, counts = np.unique(widths, return_counts=True)
        modal = int(np.argmax(counts))
        return (int(values[modal]) > 1, counts[modal] / len(widths), int(values[modal]))

    return max(DELIMITERS, key=score)


def _cells(rows: Sequence[list[str]]) -> list[list[str | None]]:
    """Parsed records as cells, with ``None`` for an empty cell."""
    return [[cell if cell != "" else None for cell in row] for row in rows]


@dataclass(frozen=True)
class Body:
    """The data records of a text: ``text[offset:]``, kept without copying the bytes."""

    text: bytes
    offset: int

    def view(self) -> memoryview:
        """The data bytes."""
        return memoryview(self.text)[self.offset :]

    def counts(self) -> tuple[int, int]:
        """``(lines, quote bytes)`` in the data; a last line without a line end counts."""
        data = np.frombuffer(self.view(), dtype=np.uint8)
        newlines = quotes = 0
        for start in range(0, len(data), _CHUNK_BYTES):
            chunk = data[start : start + _CHUNK_BYTES]
            newlines += int(np.count_nonzero(chunk == _NEWLINE))
            quotes += int(np.count_nonzero(chunk == _QUOTE))
        return newlines + (not self.text.endswith(b"\n")), quotes


#: How ``pyarrow.csv`` reads every column: dictionary-encoded text (each distinct text once
#: per block of the file), so a million answers drawn from a few labels are not a million texts.
_TEXT_CELLS = pa.dictionary(pa.int32(), pa.large_string())


def _arrow_read(body: memoryview, width: int, delimiter: str, quoted_newlines: bool) -> pa.Table:
    """The data records by ``pyarrow.csv``: ``width`` dictionary-encoded text columns, only
    ``""`` missing.

    One thread: pyarrow's threaded reader spent 40-70% more CPU on a 1 M-row export (its
    blocks are chunked, parsed and dictionary-encoded apart) for little gain in time on two
    busy cores; the file's hash and line counts run beside it instead.
    """
    names = [f"c{index}" for index in range(width)]
    return pacsv.read_csv(
        pa.BufferReader(pa.py_buffer(body)),
        read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, newlines_in_values=quoted_newlines, ignore_empty_lines=True
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, _TEXT_CELLS),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )


def _python_columns(
    body: Body, delimiter: str, width: int, first_row: int, path: Path
) -> tuple[list[pa.Array], np.ndarray]:
    """Columns and source rows of the data records, parsed by the ``csv`` module."""
    rows: list[list[str | None]] = []
    source_rows: list[int] = []
    records = _parse(_decode(bytes(body.view())), delimiter)
    last_row = first_row + len(records) - 1
    for row_number, record in enumerate(records, start=first_row):
        if not record:
            continue
        extra = [cell for cell in record[width:] if cell.strip()]
        if extra:
            raise read_error(
                "read.ragged_row",
                f"row {row_number} has {len(record)} cells but the header names {width} columns",
                path=path,
                row=row_number,
                value=extra[0],
                fix="check the delimiter and the quotes, or add the missing column names",
            )
        if len(record) < width and row_number == last_row and not body.text.endswith(b"\n"):
            raise read_error(
                "read.truncated",
                f"the last row has {len(record)} of {width} cells and no line end",
                path=path,
                row=row_number,
                fix="the file seems cut short: download or export it again",
            )
        cells = _cells([record[:width]])[0]
        rows.append(cells + [None] * (width - len(cells)))
        source_rows.append(row_number)
    columns = [pa.array([row[i] for row in rows], type=pa.large_string()) for i in range(width)]
    return columns, np.asarray(source_rows, dtype=np.int64)


def _data_columns(
    body: Body, delimiter: str, width: int, first_row: int, *, quoted_newlines: bool, path: Path
) -> tuple[list[pa.ChunkedArray] | list[pa.Array], np.ndarray]:
    """One text column per header cell and the source rows of the data records.

    ``first_row`` is the source row of the first data record.
    """
    table, lines, quotes = _read_counting(body, width, delimiter, quoted_newlines)
    if table is not None and table.num_rows == lines and quotes % 2 == 0:
        return list(table.columns), np.arange(first_row, first_row + lines, dtype=np.int64)
    records = split_records(body.view(), path=path, first_row=first_row)
    try:
        if table is not None and len(records.starts) < lines and not quoted_newlines:
            table = _arrow_read(body.view(), width, delimiter, quoted_newlines=True)
        filled = np.flatnonzero(~records.blank)
        if table is not None and table.num_rows == len(filled):
            return list(table.columns), filled + first_row
    except pa.ArrowInvalid:
        pass
    return _python_columns(body, delimiter, width, first_row, path)


def _read_counting(
    body: Body, width: int, delimiter: str, quoted_newlines: bool
) -> tuple[pa.Table | None, int, int]:
    """pyarrow's reading of the data records (``None`` when it cannot parse them) and the
    body's ``(lines, quote bytes)``, counted on a second thread while pyarrow parses (both
    release the GIL)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        counting = pool.submit(body.counts)
        try:
            table = _arrow_read(body.view(), width, delimiter, quoted_newlines)
        except pa.ArrowInvalid:
            table = None
        lines, quotes = counting.result()
    return table, lines, quotes


def read_delimited(
    raw: bytes,
    *,
    path: Path,
    delimiter: str | None,
    encoding: str | None,
    header_row: int | None,
) -> DelimitedTable:
    """Read CSV/TSV bytes into a frame of text cells (module docstring for the method).

    Args:
        raw: the file bytes.
        path: the file, for messages.
        delimiter: fixed delimiter (``"\\t"`` for .tsv) or ``None`` to sniff.
        encoding: declared encoding, or ``None`` to detect.
        header_row: 1-based header row, or ``None`` to find it.

    Raises ``read.empty_file``, ``read.header_only`` and the errors of the helpers.
    """
    if encoding is None and utf8_at_first_sight(raw):
        try:
            return _read_text(raw, "utf-8", delimiter, header_row, path)
        except _NotUtf8:
            pass
    used, utf8 = decode_to_utf8(raw, declared=encoding, path=path)
    try:
        return _read_text(utf8, used, delimiter, header_row, path)
    except _NotUtf8 as error:
        raise _bom_contradicted(raw, used, path) from error


def _bom_contradicted(raw: bytes, encoding: str, path: Path) -> Exception:
    """``read.wrong_encoding`` for a file whose UTF-8 byte-order mark is wrong about it."""
    bad = first_decode_error(raw, encoding) or 0
    line = raw.count(b"\n", 0, bad) + 1
    return read_error(
        "read.wrong_encoding",
        f"the file starts with a UTF-8 byte-order mark but is not UTF-8: byte {bad} "
        f"(line {line}) cannot be decoded",
        path=path,
        line=line,
        value=raw[bad : bad + 4],
        fix="save the file again as CSV UTF-8, or as CSV without the byte-order mark",
    )


def _read_text(
    buf: bytes, encoding: str, delimiter: str | None, header_row: int | None, path: Path
) -> DelimitedTable:
    """Read UTF-8 text (encoding already settled): header, layout, data, columns."""
    if _NOT_SPACE.search(buf) is None:
        raise read_error("read.empty_file", "the file holds no text", path=path)
    refuse_binary(buf[:65536], path)
    if b"\n" not in buf and b"\r" in buf:
        buf = buf.replace(b"\r", b"\n")
    head = _head_records(buf, 1, path)
    head_text = _decode(buf[: head.ends[-1]])
    chosen = delimiter or sniff_delimiter(head_text)
    table = locate_table(_cells(_parse(head_text, chosen)), header_row=header_row, path=path)
    refuse_aggregate(table, path=path)
    if table.data_start >= len(head.starts):
        head = _head_records(buf, table.data_start + 1, path)
    offset = head.starts[table.data_start] if table.data_start < len(head.starts) else len(buf)
    body = Body(buf, int(offset))
    if _NOT_SPACE.search(body.view()) is None:
        raise read_error(
            "read.header_only",
            "the file has column names but no rows of data",
            path=path,
            row=table.header_index + 1,
        )
    quoted_newlines = head_text.count("\n") > len(head.starts) - 1
    columns, source_rows = _data_columns(
        body,
        chosen,
        len(table.names),
        table.data_start + 1,
        quoted_newlines=quoted_newlines,
        path=path,
    )
    has_data = [column.null_count < len(column) for column in columns]
    kept = settle_columns(table.names, has_data, path=path, header_row=table.header_index + 1)
    frame = text_frame(pa.table({name: columns[position] for position, name in kept}))
    return DelimitedTable(frame, source_rows, encoding, chosen, table)
