"""The XLSForm workbook (survey, choices, settings sheets) for ODK and KoboToolbox.

Mapping: ``likert LIST`` becomes ``select_one LIST`` with the ``likert`` appearance; the
identifier item becomes a ``calculate`` of ``once(uuid())`` so the platform assigns it;
``relevant`` is already XLSForm syntax; items not asked (``ask: false``) are left out.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from toolkit.instruments.export.tables import output_path, template_items
from toolkit.instruments.model import Instrument, Item

SURVEY_COLUMNS = (
    "type",
    "name",
    "label",
    "hint",
    "required",
    "relevant",
    "constraint",
    "appearance",
    "calculation",
)
CHOICE_COLUMNS = ("list_name", "name", "label")


def _survey_row(item: Item) -> dict[str, str]:
    if item.identifier:
        return {"type": "calculate", "name": item.name, "calculation": "once(uuid())"}
    kind = f"select_one {item.list_name}" if item.base_type == "likert" else item.type
    return {
        "type": kind,
        "name": item.name,
        "label": item.label,
        "hint": item.hint or "",
        "required": "yes" if item.required else "",
        "relevant": item.relevant or "",
        "constraint": item.constraint or "",
        "appearance": "likert" if item.base_type == "likert" else "",
    }


def xlsform_sheets(instrument: Instrument) -> dict[str, pd.DataFrame]:
    """The three XLSForm sheets as tables."""
    items = template_items(instrument)
    used = {item.list_name for item in items if item.list_name}
    survey = pd.DataFrame([_survey_row(item) for item in items], columns=list(SURVEY_COLUMNS))
    choices = pd.DataFrame(
        [
            (list_name, choice.code, choice.label)
            for list_name, options in instrument.choice_lists.items()
            if list_name in used
            for choice in options
        ],
        columns=list(CHOICE_COLUMNS),
    )
    settings = pd.DataFrame(
        [(instrument.title, f"ptw_{instrument.name}", instrument.version.replace(".", ""))],
        columns=["form_title", "form_id", "version"],
    )
    return {"survey": survey.fillna(""), "choices": choices, "settings": settings}


def write_xlsform(instrument: Instrument, out_dir: Path) -> list[Path]:
    """Write ``NAME-VERSION-xlsform.xlsx`` into ``out_dir``; return its path."""
    path = output_path(instrument, out_dir, "xlsform", "xlsx")
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in xlsform_sheets(instrument).items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return [path]
