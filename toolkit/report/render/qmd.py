"""Read a Quarto ``.qmd`` template into a notebook without the quarto binary.

jupytext's ``qmd`` format shells out to quarto, so the text is read with its ``Rmd`` reader
(the chunk syntax is the same). Quarto's ``#|`` cell options stay in the cell source there;
:func:`read_qmd` parses them (YAML, as Quarto does) into ``cell.metadata["ptw"]`` and removes
them from the source that runs. Parameters are injected in a new cell right after the cell
tagged ``parameters``, as Quarto does (papermill's injection at the top would be overwritten by
the template's defaults).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import yaml
from nbformat import NotebookNode

from toolkit.errors import RenderError

#: Options a report cell takes when neither the cell nor the front matter's ``execute:`` sets
#: them. ``echo: false`` is the report default: readers see results, not code.
DEFAULT_CELL_OPTIONS: dict[str, object] = {
    "echo": False,
    "include": True,
    "warning": True,
}

_OPTION_LINE = re.compile(r"^#\|\s?(.*)$")
# The chunk openings jupytext's Rmd reader turns into code cells: ```{python ...}, ```{r}, ...
_CHUNK_START = re.compile(r"^```\{[A-Za-z]\w*[^}]*\}\s*$")
_FRONT_MATTER = re.compile(r"^---\s*$")


@dataclass(frozen=True)
class QmdDocument:
    """A parsed template.

    Attributes:
        path: the ``.qmd`` file read.
        front_matter: the YAML header (title, subtitle, date, format, execute, ...).
        notebook: cells in order; each code cell has ``metadata["ptw"]`` with ``options``
            (the parsed ``#|`` options) and ``line`` (1-based line of its chunk in ``path``).
    """

    path: Path
    front_matter: dict[str, Any]
    notebook: NotebookNode


def read_qmd(path: Path, *, shown_as: Path | None = None) -> QmdDocument:
    """Read ``path`` (a ``.qmd``) with jupytext's Rmd reader and parse its cell options.

    ``shown_as`` is the path errors and the document name (default ``path``); a render reads a
    temporary copy but reports the original template.

    Raises:
        RenderError: the front matter or a cell's ``#|`` options are not valid YAML mappings.
    """
    text = path.read_text(encoding="utf-8")
    notebook = jupytext.reads(text, fmt="Rmd")
    path = shown_as or path
    front_matter = _pop_front_matter(notebook, path)
    chunk_lines = _chunk_lines(text)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell, line in zip(code_cells, chunk_lines, strict=False):
        options, source = parse_cell_options(cell.source, path=path, line=line)
        cell.source = source
        cell.metadata["ptw"] = {"options": options, "line": line}
        tags = options.get("tags", [])
        if tags:
            cell.metadata["tags"] = list(tags) if isinstance(tags, list) else [str(tags)]
    return QmdDocument(path=path, front_matter=front_matter, notebook=notebook)


def parse_cell_options(source: str, *, path: Path, line: int) -> tuple[dict[str, Any], str]:
    """Split a chunk's leading ``#| key: value`` lines from its code.

    Input: the cell source as jupytext gives it. Output: the options (parsed as one YAML
    mapping, like Quarto) and the remaining source.

    Raises:
        RenderError: the option lines are not a YAML mapping.
    """
    lines = source.splitlines()
    option_lines: list[str] = []
    for text in lines:
        match = _OPTION_LINE.match(text)
        if match is None:
            break
        option_lines.append(match.group(1))
    code = "\n".join(lines[len(option_lines) :])
    if not option_lines:
        return {}, code
    try:
        options = yaml.safe_load("\n".join(option_lines)) or {}
    except yaml.YAMLError as error:
        raise _options_error(path, line, "\n".join(option_lines), str(error)) from error
    if not isinstance(options, dict):
        raise _options_error(path, line, "\n".join(option_lines), "not a mapping")
    return options, code


def cell_options(cell: NotebookNode, front_matter: Mapping[str, Any]) -> dict[str, Any]:
    """The effective options of ``cell``: report defaults < front matter ``execute:`` < cell."""
    execute = front_matter.get("execute") or {}
    own = cell.get("metadata", {}).get("ptw", {}).get("options", {})
    return {**DEFAULT_CELL_OPTIONS, **execute, **own}


def inject_parameters(document: QmdDocument, parameters: Mapping[str, str]) -> QmdDocument:
    """Return a copy of ``document`` with a cell assigning ``parameters`` after the parameters cell.

    The new cell is tagged ``injected-parameters`` and never shown, as in Quarto.

    Raises:
        RenderError: no cell is tagged ``parameters``, so the defaults would be silently used.
    """
    notebook = nbformat.from_dict(document.notebook)
    index = next(
        (
            position
            for position, cell in enumerate(notebook.cells)
            if "parameters" in cell.get("metadata", {}).get("tags", [])
        ),
        None,
    )
    if index is None:
        raise RenderError(
            code="render.no_parameters_cell",
            message="the template has no cell tagged `parameters`, so the report configuration "
            "cannot be passed to it",
            file=str(document.path),
            expected="a Python cell starting with `#| tags: [parameters]`",
            fix="add `#| tags: [parameters]` to the cell that sets the default `report_config`",
        )
    source = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    injected = nbformat.v4.new_code_cell(source)
    injected.metadata["tags"] = ["injected-parameters"]
    injected.metadata["ptw"] = {"options": {"include": False}, "line": None}
    notebook.cells.insert(index + 1, injected)
    return QmdDocument(path=document.path, front_matter=document.front_matter, notebook=notebook)


def cell_label(cell: NotebookNode) -> str:
    """``label "fig-x" (line 12)``, ``line 12`` or ``an injected cell``: names a cell in errors."""
    ptw = cell.get("metadata", {}).get("ptw", {})
    label = ptw.get("options", {}).get("label")
    line = ptw.get("line")
    where = f"line {line}" if line else "an injected cell"
    return f'label "{label}" ({where})' if label else where


def _pop_front_matter(notebook: NotebookNode, path: Path) -> dict[str, Any]:
    """Remove the leading raw ``---`` cell and return its YAML (``{}`` when absent)."""
    if not notebook.cells or notebook.cells[0].cell_type != "raw":
        return {}
    lines = notebook.cells[0].source.splitlines()
    if not lines or not _FRONT_MATTER.match(lines[0]):
        return {}
    notebook.cells.pop(0)
    body = "\n".join(line for line in lines[1:] if not _FRONT_MATTER.match(line))
    try:
        front_matter = yaml.safe_load(body) or {}
    except yaml.YAMLError as error:
        raise RenderError(
            code="render.bad_front_matter",
            message=f"the YAML front matter cannot be read: {error}",
            file=str(path),
            line=1,
            fix="correct the YAML between the two `---` lines at the top of the template",
        ) from error
    if not isinstance(front_matter, dict):
        raise RenderError(
            code="render.bad_front_matter",
            message="the YAML front matter is not a mapping of keys to values",
            file=str(path),
            line=1,
            fix="write the front matter as `key: value` lines",
        )
    return front_matter


def _chunk_lines(text: str) -> list[int]:
    """1-based line numbers of the code chunk openings, in order."""
    return [
        number for number, line in enumerate(text.splitlines(), start=1) if _CHUNK_START.match(line)
    ]


def _options_error(path: Path, line: int, value: str, reason: str) -> RenderError:
    return RenderError(
        code="render.bad_cell_options",
        message=f"the `#|` options of a code cell are not valid YAML ({reason})",
        file=str(path),
        line=line,
        value=value,
        expected="`#| key: value` lines, e.g. `#| label: fig-rates`",
        fix="correct the `#|` lines at the top of the cell",
    )
