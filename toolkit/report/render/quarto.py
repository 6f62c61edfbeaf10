"""The quarto report engine: ``quarto render`` on a temporary copy of the template folder.

One ``quarto render FILE.qmd --to FMT --output NAME.EXT -P report_config:PATH`` per format
(``--output`` takes a file name only, never a path; Quarto parses ``-P`` values as YAML, so the
only parameter is a path string). The output is found in the working copy (also inside a
project's ``output-dir``) and moved to ``out_dir``. A non-zero exit raises with Quarto's stderr.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from toolkit.errors import RenderError
from toolkit.report.render.pandoc import reference_doc

#: Formats passed to ``quarto render --to`` and the suffix each output file takes.
SUFFIXES: dict[str, str] = {"html": ".html", "docx": ".docx", "pdf": ".pdf"}
_FORMAT_METADATA: dict[str, tuple[str, ...]] = {"html": ("-M", "embed-resources:true")}


def quarto_path() -> str | None:
    """The ``quarto`` executable on PATH, or None."""
    return shutil.which("quarto")


def quarto_version() -> str | None:
    """``quarto --version`` output, or None when Quarto is absent or does not answer."""
    executable = quarto_path()
    if executable is None:
        return None
    completed = subprocess.run(
        [executable, "--version"], capture_output=True, text=True, check=False, timeout=60
    )
    if completed.returncode != 0:
        return None
    return completed.stdout.strip() or None


def render_command(
    executable: str, qmd_name: str, fmt: str, output_name: str, config_path: Path
) -> list[str]:
    """The ``quarto render`` argument list for one format (``output_name`` has no folder)."""
    return [
        executable,
        "render",
        qmd_name,
        "--to",
        fmt,
        "--output",
        f"{output_name}{SUFFIXES[fmt]}",
        "-P",
        f"report_config:{config_path}",
        *_FORMAT_METADATA.get(fmt, ()),
    ]


def render(
    qmd_file: Path,
    *,
    source: Path,
    config_path: Path,
    formats: Sequence[str],
    out_dir: Path,
    output_name: str,
) -> dict[str, Path]:
    """Render ``qmd_file`` (inside its own disposable working folder) with Quarto.

    Inputs and output as :func:`toolkit.report.render.builtin.render`.

    Raises:
        RenderError: Quarto is missing, exits non-zero (its stderr is in the message), or
            leaves no output file.
    """
    executable = quarto_path()
    if executable is None:
        raise RenderError(
            code="render.no_quarto",
            message="the quarto engine was asked for but `quarto` is not on PATH",
            fix="install Quarto (https://quarto.org) or use `--engine builtin`",
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs: dict[str, Path] = {}
    for fmt in formats:
        command = render_command(executable, qmd_file.name, fmt, output_name, config_path)
        if fmt == "docx":  # A4, 10 pt tables, en-GB: the builtin engine's Word settings
            command += ["-M", f"reference-doc:{reference_doc(qmd_file.parent)}"]
        _run(command, cwd=qmd_file.parent, source=source)
        built = _find_output(qmd_file.parent, f"{output_name}{SUFFIXES[fmt]}", source)
        outputs[fmt] = Path(shutil.move(built, out_dir / built.name))
    return outputs


def _run(command: list[str], *, cwd: Path, source: Path) -> None:
    environment = {**os.environ, "QUARTO_PYTHON": sys.executable}
    completed = subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RenderError(
            code="render.quarto_failed",
            message=f"quarto exited with code {completed.returncode}: "
            f"{completed.stderr.strip() or completed.stdout.strip()}",
            file=str(source),
            fix="read Quarto's message; `--engine builtin` renders without Quarto",
        )


def _find_output(workdir: Path, name: str, source: Path) -> Path:
    found = sorted(workdir.rglob(name))
    if not found:
        raise RenderError(
            code="render.quarto_no_output",
            message=f"quarto finished but wrote no {name}",
            file=str(source),
            fix="check the template's `format:` options and the project's `output-dir`",
        )
    return found[0]
