"""Workbooks (.xlsx, .xls, .ods) -> text cells, through python-calamine.

Sheet: a name, a 0-based index (as ``pandas.read_excel``), or by default the first visible
sheet holding a table of at least three columns, else the first holding any table, else the
first with a header row (which is then refused as header-only). A cover sheet of notes or a
two-column contents list is passed over.

Cells: calamine gives each formula's cached value. A formula saved without a cached value
(files written by scripts, e.g. openpyxl) would read as empty, so for .xlsx the sheet XML is
scanned and such a cell is kept as its formula text, ``"=..."``, for the coder to refuse.
Source rows are the spreadsheet's own row numbers (row 1 is the top of the sheet).

Size: an .xlsx or .ods is a zip whose XML can expand a thousandfold (a 1.5 MB "zip bomb"
becomes 1.5 GB). Before anything is decompressed, the sizes the zip declares for its
members are added up and the workbook is refused (``read.too_large_unzipped``) past the
limit (``[ingest] max_unzipped_mb``), and so is a member whose declared size is not what a
deflated member can hold (more than :data:`MAX_DEFLATE_RATIO` times its compressed size).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import numpy as np
import pandas as pd
from python_calamine import (
    CalamineError,
    CalamineWorkbook,
    PasswordError,
    SheetVisibleEnum,
    XmlError,
    ZipError,
)

from toolkit.errors import IngestError
from toolkit.ingest.layouts import TableLayout, locate_table, refuse_aggregate, settle_columns
from toolkit.ingest.raw_export import TEXT_DTYPE, cell_text, read_error

Grid = list[list[str | None]]

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
_FORMULA_TAG = re.compile(rb"<(\w+:)?f[ >/]")
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_MIN_TABLE_COLUMNS = 3
#: Deflate expands at most about 1032-fold; a zip declaring more is malformed or hostile.
MAX_DEFLATE_RATIO = 1100


@dataclass(frozen=True)
class SheetTable:
    """What :func:`read_workbook` found: the frame, the sheet and where the table sits."""

    frame: pd.DataFrame
    source_rows: np.ndarray
    sheet: str
    table: TableLayout


def _local(tag: str) -> str:
    """An XML tag without its namespace."""
    return tag.rsplit("}", 1)[-1]


def _sheet_member(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """Path inside an .xlsx of the XML of the named sheet (workbook.xml + its relationships)."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
    for element in workbook.iter():
        if _local(element.tag) == "sheet" and element.get("name") == sheet:
            target = targets.get(element.get(_REL_NS), "")
            return (
                target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl", target))
            )
    return None


def _cell_index(reference: str) -> tuple[int, int] | None:
    """0-based ``(row, column)`` of a cell reference such as ``"D4"``; ``None`` if malformed."""
    match = _CELL_REF.fullmatch(reference)
    if match is None:
        return None
    column = 0
    for letter in match.group(1):
        column = column * 26 + ord(letter) - ord("A") + 1
    return int(match.group(2)) - 1, column - 1


def uncached_formulas(raw: bytes, sheet: str) -> dict[tuple[int, int], str]:
    """``{(row, column) 0-based: "=formula"}`` for .xlsx formula cells saved without a value."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            member = _sheet_member(archive, sheet)
            data = archive.read(member) if member else b""
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return {}
    if not _FORMULA_TAG.search(data):
        return {}
    found: dict[tuple[int, int], str] = {}
    for _, element in ElementTree.iterparse(io.BytesIO(data)):
        if _local(element.tag) != "c":
            continue
        children = {_local(child.tag): child for child in element}
        formula, value = children.get("f"), children.get("v")
        at = _cell_index(element.get("r", ""))
        if formula is not None and (value is None or not value.text) and at is not None:
            found[at] = "=" + (formula.text or "")
        element.clear()
    return found


def _overlay(grid: Grid, cells: dict[tuple[int, int], str]) -> Grid:
    """The grid with ``cells`` written in, grown to hold them."""
    if not cells:
        return grid
    height = max(len(grid), *(row + 1 for row, _ in cells))
    width = max(max((len(row) for row in grid), default=0), *(col + 1 for _, col in cells))
    padded = [row + [None] * (width - len(row)) for row in grid]
    padded += [[None] * width for _ in range(height - len(grid))]
    for (row, col), text in cells.items():
        padded[row][col] = text
    return padded


def check_expansion(raw: bytes, *, path: Path, limit: int) -> None:
    """Refuse a zipped workbook that would expand past ``limit`` bytes (module docstring).

    Reads only the zip's directory; a file that is not a readable zip is left to the reader.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        return
    total = sum(member.file_size for member in members)
    packed = sum(member.compress_size for member in members)
    forged = [m for m in members if m.file_size > MAX_DEFLATE_RATIO * max(m.compress_size, 1)]
    if total <= limit and not forged:
        return
    raise read_error(
        "read.too_large_unzipped",
        f"the workbook would expand from {packed:,} to {total:,} bytes when opened"
        + (f" ({forged[0].filename} declares an impossible size)" if forged else ""),
        path=path,
        value=f"{total / 2**20:,.0f} MB",
        expected=f"at most {limit / 2**20:,.0f} MB unpacked, at most {MAX_DEFLATE_RATIO} times "
        "the packed size of each part",
        fix="check where the file came from; if it is a genuine large export, save it as CSV, "
        "or raise [ingest] max_unzipped_mb in ptw.toml",
    )


def _open(raw: bytes, path: Path) -> CalamineWorkbook:
    """The workbook, or ``read.password_protected`` / ``read.not_a_workbook``."""
    if raw.startswith(_OLE_MAGIC) and _ENCRYPTED in raw:
        raise _password_protected(path)
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(raw))
    except PasswordError as error:
        raise _password_protected(path) from error
    except (CalamineError, ZipError, XmlError, ValueError, OSError) as error:
        raise read_error(
            "read.not_a_workbook",
            f"the file is not a readable workbook ({error})",
            path=path,
            expected="an .xlsx, .xls or .ods spreadsheet",
            fix="open it in the spreadsheet program and save it again, or export it as CSV",
        ) from error


def _password_protected(path: Path) -> IngestError:
    """The ``read.password_protected`` error."""
    return read_error(
        "read.password_protected",
        "the workbook is protected by a password",
        path=path,
        fix="open it with the password, remove the protection and save it again",
    )


def _grid(workbook: CalamineWorkbook, name: str, raw: bytes, kind: str) -> Grid:
    """A sheet as text cells from row 1, column A, with uncached .xlsx formulas kept."""
    rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
    grid = [[cell_text(value) for value in row] for row in rows]
    return _overlay(grid, uncached_formulas(raw, name)) if kind == "xlsx" else grid


def _no_sheet(path: Path, wanted: str | int, names: Sequence[str]) -> IngestError:
    """The ``read.no_sheet`` error listing the sheet names."""
    return read_error(
        "read.no_sheet",
        f"the workbook has no sheet {wanted!r}",
        path=path,
        value=wanted,
        expected="one of " + ", ".join(repr(name) for name in names),
        fix="give a sheet name from the list (or a 0-based index)",
    )


def _named_sheet(names: Sequence[str], wanted: str | int, path: Path) -> str:
    """The sheet named (exactly, else ignoring case) or at a 0-based index."""
    if isinstance(wanted, int):
        if 0 <= wanted < len(names):
            return names[wanted]
        raise _no_sheet(path, wanted, names)
    folded = {name.casefold(): name for name in names}
    if wanted in names:
        return wanted
    if wanted.casefold() in folded:
        return folded[wanted.casefold()]
    raise _no_sheet(path, wanted, names)


def _table_rank(grid: Grid, path: Path) -> int:
    """0: no header row; 1: a header without data; 2: a table; 3: a table of 3+ columns."""
    try:
        table = locate_table(grid, header_row=None, path=path)
    except IngestError:
        return 0
    if not any(any(row) for row in grid[table.data_start :]):
        return 1
    width = sum(bool(name and name.strip()) for name in table.names)
    return 3 if width >= _MIN_TABLE_COLUMNS else 2


def _default_sheet(
    workbook: CalamineWorkbook, raw: bytes, kind: str, path: Path
) -> tuple[str, Grid]:
    """The first visible sheet of the highest rank (see :func:`_table_rank`)."""
    best: tuple[int, str, Grid] = (0, "", [])
    any_cells = False
    for meta in workbook.sheets_metadata:
        if meta.visible != SheetVisibleEnum.Visible:
            continue
        grid = _grid(workbook, meta.name, raw, kind)
        any_cells = any_cells or any(any(row) for row in grid)
        rank = _table_rank(grid, path)
        if rank == 3:
            return meta.name, grid
        if rank > best[0]:
            best = (rank, meta.name, grid)
    if best[0]:
        return best[1], best[2]
    if not any_cells:
        raise read_error("read.empty_file", "the workbook has no filled cells", path=path)
    raise read_error(
        "read.no_table",
        "no sheet holds a table (a row of column names with rows of data below)",
        path=path,
        fix="give the sheet and header row, or put the column names in one row above the data",
    )


def read_workbook(
    raw: bytes,
    *,
    path: Path,
    kind: str,
    sheet: str | int | None,
    header_row: int | None,
    max_unzipped: int,
) -> SheetTable:
    """Read one sheet of a workbook into a frame of text cells (module docstring).

    Args:
        raw: the file bytes.
        path: the file, for messages.
        kind: ``"xlsx"``, ``"xls"`` or ``"ods"``.
        sheet: sheet name or 0-based index, or ``None`` for the default rule.
        header_row: 1-based header row, or ``None`` to find it.
        max_unzipped: bytes an .xlsx/.ods may expand to (:func:`check_expansion`).
    """
    if kind in ("xlsx", "ods"):
        check_expansion(raw, path=path, limit=max_unzipped)
    workbook = _open(raw, path)
    if sheet is None:
        name, grid = _default_sheet(workbook, raw, kind, path)
    else:
        name = _named_sheet(workbook.sheet_names, sheet, path)
        grid = _grid(workbook, name, raw, kind)
    table = locate_table(grid, header_row=header_row, path=path)
    refuse_aggregate(table, path=path)
    body = grid[table.data_start :]
    if not any(any(row) for row in body):
        raise read_error(
            "read.header_only",
            f'sheet "{name}" has column names but no rows of data',
            path=path,
            row=table.header_index + 1,
        )
    width = max(len(row) for row in grid)
    names = table.names + [None] * (width - len(table.names))
    columns = [[row[i] if i < len(row) else None for row in body] for i in range(width)]
    has_data = [any(cell is not None for cell in column) for column in columns]
    kept = settle_columns(names, has_data, path=path, header_row=table.header_index + 1)
    frame = pd.DataFrame({label: pd.array(columns[i], dtype=TEXT_DTYPE) for i, label in kept})
    source_rows = np.arange(table.data_start + 1, len(grid) + 1, dtype=np.int64)
    return SheetTable(frame, source_rows, name, table)
