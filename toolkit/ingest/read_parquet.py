"""Parquet -> text cells (pyarrow).

Each column is cast to text the way the other readers write cells: integral floats without
``.0``, other floats as their shortest round-trip text, booleans ``TRUE``/``FALSE``,
timestamps ``YYYY-MM-DD HH:MM:SS`` (fractions of a second only when not zero), dates ISO 8601, an empty string as ``<NA>``. Dictionary columns are decoded first.
A nested column (list, struct, map) cannot be a survey answer and is refused.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from toolkit.ingest.raw_export import read_error, text_frame


def _float_text(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Floats as text: integral values without ``.0``, NaN as missing."""
    values = pc.if_else(pc.is_nan(values), pa.scalar(None, pa.float64()), values)
    integral = pc.and_(pc.equal(pc.floor(values), values), pc.less(pc.abs(values), 1e16))
    as_int = pc.cast(pc.if_else(integral, values, 0.0), pa.int64()).cast(pa.string())
    return pc.if_else(integral, as_int, pc.cast(values, pa.string()))


def column_text(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """One Parquet column as text by the rules in the module docstring."""
    kind = values.type
    if pa.types.is_dictionary(kind):
        return column_text(values.cast(kind.value_type))
    if pa.types.is_floating(kind):
        return _float_text(values.cast(pa.float64()))
    if pa.types.is_boolean(kind):
        return pc.if_else(values, "TRUE", "FALSE")
    if pa.types.is_timestamp(kind):
        text = pc.replace_substring_regex(values.cast(pa.string()), r"\.0+$", "")
    else:
        text = values.cast(pa.string())
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def read_parquet(raw: bytes, *, path: Path) -> pd.DataFrame:
    """Read Parquet bytes into a frame of text cells (module docstring for the rules).

    Raises ``read.corrupt_file`` for bytes pyarrow cannot read and ``read.unsupported_column``
    for a nested column.
    """
    try:
        table = pq.read_table(io.BytesIO(raw))
    except (pa.ArrowException, OSError) as error:
        raise read_error(
            "read.corrupt_file",
            f"the Parquet file cannot be read ({error})",
            path=path,
            fix="write the file again, or export it as CSV",
        ) from error
    columns = {}
    for name, values in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_nested(values.type):
            raise read_error(
                "read.unsupported_column",
                f"column holds nested values ({values.type}), not one answer per cell",
                path=path,
                column=name,
                fix="flatten the column into one column per answer",
            )
        columns[name] = column_text(values)
    return text_frame(pa.table(columns))
