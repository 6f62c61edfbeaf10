"""Exports of an instrument: codebook, import template, questionnaire and XLSForm.

Each writer takes a validated :class:`~toolkit.instruments.model.Instrument` and a folder and
returns the paths it wrote. Files are named ``NAME-VERSION-FORMAT.EXT``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from toolkit.errors import InstrumentError
from toolkit.instruments.export.codebook import write_codebook
from toolkit.instruments.export.questionnaire import write_questionnaire
from toolkit.instruments.export.template import write_template
from toolkit.instruments.export.xlsform import write_xlsform
from toolkit.instruments.model import Instrument

WRITERS: dict[str, Callable[[Instrument, Path], list[Path]]] = {
    "codebook": write_codebook,
    "template": write_template,
    "questionnaire": write_questionnaire,
    "xlsform": write_xlsform,
}


def export_instrument(instrument: Instrument, fmt: str, out_dir: Path) -> list[Path]:
    """Write ``instrument`` in format ``fmt`` into ``out_dir`` (created if needed).

    Args:
        instrument: a loaded instrument.
        fmt: one of :data:`WRITERS` (codebook, template, questionnaire, xlsform).
        out_dir: the folder to write into.

    Returns:
        The files written.

    Raises:
        InstrumentError: ``fmt`` is not a known format.
    """
    if fmt not in WRITERS:
        raise InstrumentError(
            code="instrument.unknown_export_format",
            message=f"unknown export format {fmt!r}",
            expected=", ".join(WRITERS),
            fix="choose one of the formats listed",
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    return WRITERS[fmt](instrument, out_dir)
