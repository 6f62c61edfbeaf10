"""The codebook: a data dictionary of one instrument as HTML and XLSX."""

from __future__ import annotations

from html import escape
from pathlib import Path

import pandas as pd

from toolkit.instruments.export.html import page, table
from toolkit.instruments.export.tables import (
    choices_table,
    dimensions_table,
    items_table,
    output_path,
    scales_table,
)
from toolkit.instruments.model import Instrument


def codebook_sheets(instrument: Instrument) -> dict[str, pd.DataFrame]:
    """The codebook's tables by sheet name: items, choices, scales, dimensions."""
    return {
        "items": items_table(instrument),
        "choices": choices_table(instrument),
        "scales": scales_table(instrument),
        "dimensions": dimensions_table(instrument),
    }


def write_codebook(instrument: Instrument, out_dir: Path) -> list[Path]:
    """Write ``NAME-VERSION-codebook.html`` and ``.xlsx`` into ``out_dir``; return their paths."""
    sheets = codebook_sheets(instrument)
    intro = (
        f"<p>Version {escape(instrument.version)}, applies from the {instrument.applies_from} "
        "cycle. Option codes are what the store keeps; ingest also accepts labels and "
        "synonyms. Scales are scored as the NHS Staff Survey scores sub-scores (0, 2.5, 5, "
        "7.5, 10; favourable end high; reversed items flipped).</p>\n"
    )
    body = intro + "".join(
        f"<h2>{name.capitalize()}</h2>\n" + table(frame, f"{instrument.title}: {name}")
        for name, frame in sheets.items()
    )
    html_path = output_path(instrument, out_dir, "codebook", "html")
    html_path.write_text(page(f"Codebook: {instrument.title}", body), encoding="utf-8")
    xlsx_path = output_path(instrument, out_dir, "codebook", "xlsx")
    with pd.ExcelWriter(xlsx_path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return [html_path, xlsx_path]
