"""Dictionary-encoded text cells: the CSV reader and the coder work once per distinct text and
must give exactly what reading and coding every cell as its own text gives.

Truths: Python's ``csv`` module for the cells of a file, and the same pandas operation or
coder run on plain ``string[pyarrow]`` columns (one text per row, as before the cells were
dictionary-encoded).
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tests.ingest.conftest import culture_codes, to_labels
from toolkit.ingest.coding import code_answers
from toolkit.ingest.mapping import match_columns
from toolkit.ingest.raw_export import TEXT_DTYPE, RawExport, by_text, text_cells, text_frame
from toolkit.ingest.readers import read_export

TRICKY = ["  padded ", "padded", None, "", " ", "Yes", "yes", "Prefer not to say", "NA", "£5 ’"]


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as one text per row (``string[pyarrow]``)."""
    return frame.apply(lambda column: column.astype(TEXT_DTYPE))


@pytest.mark.parametrize(
    "compute",
    [
        lambda texts: texts.str.strip(),
        lambda texts: texts.fillna("").str.strip() == "yes",
        lambda texts: texts.str.len(),
        lambda texts: texts.isna(),
    ],
    ids=["strip", "equals", "length", "missing"],
)
def test_by_text_equals_the_operation_on_every_cell(compute):
    rng = np.random.default_rng(3)
    cells = pd.Series(rng.choice(np.array(TRICKY, dtype=object), 500), dtype=TEXT_DTYPE)
    cells.index = pd.RangeIndex(10, 510)
    expected = compute(cells)
    for given in (cells, text_cells(cells.to_frame("c"))["c"]):
        got = by_text(given, compute)
        pd.testing.assert_series_equal(got, expected)


def test_text_frame_unifies_the_dictionaries_of_the_blocks():
    blocks = [["b", None, "a"], ["c", "a", None], [None, None, None]]
    column = pa.chunked_array([pa.array(b, pa.large_string()).dictionary_encode() for b in blocks])
    plain = pa.chunked_array([pa.array(b, pa.large_string()) for b in blocks])
    frame = text_frame(pa.table({"coded": column, "plain": plain}))
    cells = [cell for block in blocks for cell in block]
    for name in ("coded", "plain"):
        assert isinstance(frame[name].dtype, pd.CategoricalDtype)
        assert frame[name].cat.categories.dtype == TEXT_DTYPE
        assert [None if pd.isna(v) else v for v in frame[name]] == cells


def _tricky_files() -> dict[str, bytes]:
    """Name -> bytes of CSV files whose cells the reader must get exactly."""
    rng = np.random.default_rng(11)
    header = ["id", "answer", "note"]
    rows = [
        [f"R{k:05d}", str(rng.choice(np.array(TRICKY[5:], dtype=object))), rng.choice(TRICKY[:5])]
        for k in range(40_000)  # about 1.3 MB: several blocks, each with its own dictionary
    ]

    def text(body: list[list[str | None]], *, delimiter: str = ",", newline: str = "\n",
             quoting: int = csv.QUOTE_MINIMAL) -> str:  # fmt: skip
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter, lineterminator=newline, quoting=quoting).writerows(
            [header, *[[c or "" for c in r] for r in body]]
        )
        return out.getvalue()

    quoted_newlines = [r.copy() for r in rows[:300]]
    quoted_newlines[5][2] = "two\nlines"
    quoted_newlines[9][1] = "Yes\r\n"
    lines = text(rows[:100]).splitlines(keepends=True)
    duplicates = rows[:100] + rows[:10]
    return {
        "large.csv": text(rows).encode(),
        "quoted_newlines.csv": text(quoted_newlines).encode(),
        "blank_lines.csv": "".join([*lines[:20], "\n", "\n", ",,\n", *lines[20:]]).encode(),
        "all_quoted.csv": text(rows[:200], quoting=csv.QUOTE_ALL).encode(),
        "bom.csv": codecs.BOM_UTF8 + text(rows[:200]).encode(),
        "cp1252.csv": text(rows[:200]).encode("cp1252"),
        "crlf_semicolons.csv": text(rows[:200], delimiter=";", newline="\r\n").encode(),
        "duplicates.csv": text(duplicates).encode(),
    }


def _expected(data: bytes) -> tuple[list[list[str | None]], list[int]]:
    """Cells by the ``csv`` module ('' read as missing, all-empty rows dropped) and each
    row's record number counted from the header (row 1)."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            decoded = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    delimiter = ";" if decoded.startswith("id;") else ","
    records = list(csv.reader(io.StringIO(decoded, newline=""), delimiter=delimiter))
    cells, rows = [], []
    for number, record in enumerate(records[1:], start=2):
        if any(record):
            cells.append([c if c != "" else None for c in record])
            rows.append(number)
    return cells, rows


@pytest.mark.parametrize("name", list(_tricky_files()))
def test_csv_cells_are_exactly_those_of_the_csv_module(tmp_path: Path, name: str):
    data = _tricky_files()[name]
    path = tmp_path / name
    path.write_bytes(data)
    found = read_export(path)
    cells, rows = _expected(data)
    got = found.frame.astype(object).where(found.frame.notna(), None).to_numpy().tolist()
    assert got == cells
    assert found.source_rows.tolist() == rows
    assert all(isinstance(found.frame[c].dtype, pd.CategoricalDtype) for c in found.frame)


def test_coding_dictionary_encoded_cells_equals_coding_every_cell(instruments):
    culture = instruments["culture"]
    labels = to_labels(culture_codes(culture, responses=400), culture)
    labels.loc[3, "ethnicity"] = "Martian"
    labels.loc[5, "harassment_public"] = "  never  "
    labels.loc[7, "sector"] = None
    labels.loc[9, "respondent_id"] = labels.loc[8, "respondent_id"]
    frame = labels.astype(TEXT_DTYPE).replace("", None)
    match = match_columns(list(frame.columns), culture)
    results = []
    for cells in (_plain(frame), text_cells(frame)):
        export = RawExport(frame=cells, source_rows=np.arange(2, len(cells) + 2), path=Path("x.csv"),
                           sha256="", reader="csv", encoding="utf-8", layout="plain", header_row=1,
                           sheet=None)  # fmt: skip
        coded = code_answers(export, culture, match, cells["respondent_id"].astype(TEXT_DTYPE))
        results.append(coded)
    plain, encoded = results
    assert not plain.issues.empty
    pd.testing.assert_frame_equal(encoded.issues, plain.issues)
    pd.testing.assert_frame_equal(
        encoded.values.astype(object).where(encoded.values.notna(), None),
        plain.values.astype(object).where(plain.values.notna(), None),
    )
    for name in plain.values:
        assert encoded.values[name].dtype == plain.values[name].dtype, name
