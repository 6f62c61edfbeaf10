"""SPSS .sav/.zsav -> text cells plus value labels and user-missing codes (pyreadstat).

Values are read as stored (``user_missing=True`` keeps user-missing codes as values rather
than blanks), codes become text by :func:`toolkit.ingest.raw_export.cell_text` (``1.0`` ->
``"1"``). Variable labels are kept as question text. A user-missing range is written
``"LO thru HI"``; a single code as its text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

from toolkit.ingest.raw_export import TEXT_DTYPE, cell_text, read_error


@dataclass(frozen=True)
class SpssTable:
    """What :func:`read_spss` found: the frame (cases in file order) and the metadata."""

    frame: pd.DataFrame
    question_text: dict[str, str]
    value_labels: dict[str, dict[str, str]]
    missing_values: dict[str, list[str]]


def _missing_code(bounds: dict[str, object]) -> str:
    """One pyreadstat missing range as ``"9"`` or ``"8 thru 9"``."""
    low, high = cell_text(bounds["lo"]) or "", cell_text(bounds["hi"]) or ""
    return low if low == high else f"{low} thru {high}"


def read_spss(path: Path) -> SpssTable:
    """Read an SPSS file; raises ``read.corrupt_file`` when pyreadstat cannot parse it."""
    try:
        data, meta = pyreadstat.read_sav(str(path), user_missing=True)
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError) as error:
        raise read_error(
            "read.corrupt_file",
            f"the SPSS file cannot be read ({error})",
            path=path,
            fix="save the file again from SPSS, or export it as CSV",
        ) from error
    frame = pd.DataFrame(
        {
            str(name): pd.array(
                [cell_text(value) for value in data[name].to_numpy()], dtype=TEXT_DTYPE
            )
            for name in data.columns
        },
        index=np.arange(len(data)),
    )
    labels = {
        name: {cell_text(code) or "": str(label) for code, label in mapping.items()}
        for name, mapping in meta.variable_value_labels.items()
    }
    missing = {
        name: [_missing_code(bounds) for bounds in ranges]
        for name, ranges in meta.missing_ranges.items()
        if ranges
    }
    questions = {name: text for name, text in meta.column_names_to_labels.items() if text}
    return SpssTable(frame, questions, labels, missing)
