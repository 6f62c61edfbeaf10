"""Spreadsheets ptw writes for people to read or edit: safe cells that come back exactly.

ptw writes several files a person opens in a spreadsheet program: the issues file
(``ptw ingest --issues``), the quarantine export (``ptw quarantine export``, edited and read
back by ``ptw quarantine release``) and the results workbook (``ptw export --excel``). Their
text comes from the data, so it may be hostile or simply awkward:

- **Formula injection** (OWASP "CSV injection"): a cell starting with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return may run as a formula. :func:`neutralise` prefixes such
  text with an apostrophe, so it shows literally and never runs. To stay reversible, text
  that already starts with apostrophes followed by one of those characters gets one more
  apostrophe; :func:`restore` removes exactly one, so ``restore(neutralise(t)) == t`` for
  every text, and neutralised text never starts with a formula character.
- **Characters a sheet cannot carry**: XML (inside .xlsx) has no NUL and most control
  characters, and turns a carriage return into a line feed; a CSV reader may split a row at a
  lone carriage return. :func:`escape` writes every control character except tab and line
  feed as ``_xHHHH_``, the escape of the Office Open XML standard (ECMA-376 ``ST_Xstring``),
  which Excel, LibreOffice and calamine decode when they read an .xlsx; text that already
  looks like such an escape has its underscore escaped (``_x005F_``). :func:`unescape` reverses
  it for CSV, which no program decodes.

:func:`sheet_text` applies both (``escape(neutralise(t))``); reading back is
``restore(unescape(t))`` for CSV and ``restore(t)`` for .xlsx, whose reader has already
unescaped. :func:`write_sheet` writes a frame as CSV or .xlsx with every text cell made safe;
an .xlsx cell keeps at most 32,767 characters as written, so a text that grows past that
when made safe is refused for .xlsx (CSV has no limit).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from toolkit.errors import PtwError
from toolkit.ingest.raw_export import MAX_CELL_CHARS

#: First characters that make a spreadsheet read text as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NEEDS_PREFIX = re.compile(r"'*[=+\-@\t\r]")
_PREFIXED = re.compile(r"'+[=+\-@\t\r]")
#: Control characters a sheet cannot carry (all but tab and line feed), and XML's non-characters.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def neutralise(value: object) -> object:
    """Text safe from formula injection (module docstring); other values pass unchanged."""
    if isinstance(value, str) and _NEEDS_PREFIX.match(value):
        return "'" + value
    return value


def restore(text: str) -> str:
    """The text :func:`neutralise` was given: one leading apostrophe removed where it added one."""
    return text[1:] if _PREFIXED.match(text) else text


def escape(text: str) -> str:
    """Control characters (but tab and line feed) and escape look-alikes as ``_xHHHH_``."""
    return _UNSAFE.sub(lambda found: f"_x{ord(found.group()):04X}_", text)


def unescape(text: str) -> str:
    """The text :func:`escape` was given."""
    return _ESCAPED.sub(lambda found: chr(int(found.group(1), 16)), text)


def sheet_text(value: object) -> object:
    """A cell value for a sheet ptw writes: text neutralised and escaped; others unchanged."""
    return escape(neutralise(value)) if isinstance(value, str) else value


def read_back(text: str, *, reader: str) -> str:
    """The original text of a cell written with :func:`sheet_text` and read by ``reader``
    (``"xlsx"``, ``"xls"`` and ``"ods"`` readers have unescaped it already)."""
    return restore(text if reader in ("xlsx", "xls", "ods") else unescape(text))


def _plain(value: object) -> object:
    """A cell value openpyxl and the csv writer take: blanks as ``None``, numpy scalars as Python."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return value


def _check_lengths(header: list[object], rows: list[list[object]], path: Path) -> None:
    """``sheet.cell_too_long`` for the first text an .xlsx cell cannot hold whole."""
    for number, row in enumerate([header, *rows], start=1):
        for column, value in enumerate(row):
            if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                raise PtwError(
                    code="sheet.cell_too_long",
                    message=f"a cell would hold {len(value):,} characters once made safe, more "
                    "than an .xlsx cell keeps",
                    file=str(path),
                    row=number,
                    column=str(header[column]),
                    expected=f"at most {MAX_CELL_CHARS:,} characters",
                    fix="write the file as .csv instead, which keeps every character",
                )


#: The formats ptw writes its own sheets in (issues, quarantine exports), by file suffix.
SHEET_SUFFIXES = (".csv", ".xlsx")


def write_sheet(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` to ``path`` as .xlsx or .csv (by its suffix), every text safe.

    Headers and cells go through :func:`sheet_text`; numbers stay numbers in .xlsx. The CSV
    is UTF-8 with quoted cells where needed; no cell holds a carriage return or NUL.

    Raises:
        PtwError: ``sheet.cell_too_long`` when a text, made safe, is longer than an .xlsx cell
            holds (32,767 characters; a cell full of control characters grows sevenfold);
            nothing is written. A CSV has no such limit. ``sheet.unsupported_format`` for any
            other suffix (an .ods or .xls name must not receive CSV text).
    """
    path = Path(path)
    if path.suffix.lower() not in SHEET_SUFFIXES:
        raise PtwError(
            code="sheet.unsupported_format",
            message="ptw writes issues and quarantine sheets as CSV or Excel (.xlsx) only",
            file=str(path),
            value=path.suffix or "(no suffix)",
            expected=" or ".join(SHEET_SUFFIXES),
            fix="name the file with .xlsx or .csv; spreadsheet programs open both",
        )
    header = [sheet_text(str(column)) for column in frame.columns]
    rows = [
        [sheet_text(_plain(value)) for value in row]
        for row in frame.itertuples(index=False, name=None)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook  # loaded only when an .xlsx is written

        _check_lengths(header, rows, path)
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet()
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        workbook.save(path)
    else:
        pd.DataFrame(list(rows), columns=header).to_csv(path, index=False, lineterminator="\n")
    return path
