"""Where the default instruments, analysis plan and report templates live.

In a source checkout they are the top-level ``surveys/``, ``analysis/`` and ``reports/``
folders; an installed wheel carries copies under ``toolkit/_defaults/``. A workspace made
by ``ptw init`` may hold edited copies, which take precedence (see :mod:`toolkit.config`).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def default_folder(name: str) -> Path:
    """The shipped folder ``name`` (``surveys``, ``analysis`` or ``reports``)."""
    packaged = _PACKAGE / "_defaults" / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / name


def surveys_dir() -> Path:
    """The default instrument folder."""
    return default_folder("surveys")


def analysis_dir() -> Path:
    """The default analysis folder (holds ``plan.yaml``)."""
    return default_folder("analysis")


def reports_dir() -> Path:
    """The default report templates folder."""
    return default_folder("reports")
