"""The builtin report engine: Quarto's pipeline without the quarto binary.

Steps (DESIGN.md decision 5): read the ``.qmd`` with jupytext's Rmd reader and parse the ``#|``
options -> inject ``report_config`` after the ``parameters`` cell -> execute on a real Jupyter
kernel (nbclient) in the render's own working folder -> pandoc markdown -> pandoc 3 (+ typst
for PDF).

Figures are PNG at 150 dpi, chosen over SVG because one raster looks the same in HTML, Word
and the typst PDF: SVG with ``svg.fonttype: none`` depends on the reader's fonts, Word shows
SVG only from 2016 on (pandoc adds no PNG fallback without rsvg-convert) and typst draws SVG
text with its own fonts. 150 dpi keeps text sharp at A4 width and the files small; alt text
carries the figure's content for screen readers. The figure settings are passed the way Quarto
passes them (``QUARTO_FIG_*`` variables, read by plotnine at import; matplotlib rcParams), so a
template renders the same figures under both engines.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbformat import NotebookNode, v4

from toolkit.errors import RenderError
from toolkit.report.render.markdown import notebook_to_markdown
from toolkit.report.render.pandoc import SUFFIXES, write_format
from toolkit.report.render.qmd import QmdDocument, cell_label, inject_parameters, read_qmd

#: Figure defaults (inches, dots per inch); the front matter's fig-width/fig-height/fig-dpi win.
FIGURE_DEFAULTS: dict[str, float] = {"fig-width": 7.0, "fig-height": 5.0, "fig-dpi": 150}
#: Seconds one cell may run before the render is abandoned.
CELL_TIMEOUT = 600
DEFAULT_LANGUAGE = "en-GB"

_SETUP_SOURCE = """\
import os
os.environ.update({{"QUARTO_FIG_WIDTH": "{width}", "QUARTO_FIG_HEIGHT": "{height}",
                   "QUARTO_FIG_DPI": "{dpi}", "QUARTO_FIG_FORMAT": "png"}})
import matplotlib
matplotlib.rcParams.update({{"figure.figsize": ({width}, {height}), "figure.dpi": {dpi},
                             "savefig.dpi": {dpi}}})
from matplotlib_inline.backend_inline import set_matplotlib_formats
set_matplotlib_formats("png")
del os, matplotlib, set_matplotlib_formats
"""


def render(
    qmd_file: Path,
    *,
    source: Path,
    config_path: Path,
    formats: Sequence[str],
    out_dir: Path,
    output_name: str,
) -> dict[str, Path]:
    """Render ``qmd_file`` (inside its own disposable working folder) to ``formats``.

    Inputs: the template copy, the original template (named in errors), the JSON config path
    given to the template as ``report_config``, the formats (html, docx, pdf), the folder and
    file stem for the outputs.
    Output: ``{format: path}`` of the files written into ``out_dir``.

    Raises:
        RenderError: the template is malformed, a cell fails, or pandoc/typst fail.
    """
    workdir = qmd_file.parent
    document = inject_parameters(
        read_qmd(qmd_file, shown_as=source), {"report_config": str(config_path)}
    )
    executed = execute(document, workdir=workdir)
    markdown_file = workdir / "_ptw_report.md"
    body = notebook_to_markdown(executed, document.front_matter, workdir / "_ptw_media")
    markdown_file.write_text(_metadata_block(document) + body, encoding="utf-8")
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs: dict[str, Path] = {}
    for fmt in formats:
        built = write_format(
            markdown_file,
            fmt,
            workdir / f"_ptw_output{SUFFIXES[fmt]}",
            options=format_options(document.front_matter, fmt),
        )
        outputs[fmt] = Path(shutil.move(built, out_dir / f"{output_name}{SUFFIXES[fmt]}"))
    return outputs


def execute(document: QmdDocument, *, workdir: Path) -> NotebookNode:
    """Run every cell of ``document`` on a fresh kernel with ``workdir`` as working directory.

    A hidden setup cell first applies the figure settings. Returns the executed notebook
    (the setup cell removed).

    Raises:
        RenderError: a cell raised (naming the template, the cell's label/line and the Python
            error), timed out, or the kernel died.
    """
    notebook = document.notebook
    notebook.cells.insert(0, v4.new_code_cell(_setup_source(document.front_matter)))
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name=_kernel_name(document.front_matter),
        resources={"metadata": {"path": str(workdir)}},
    )
    kernel_log = workdir / "_ptw_kernel.log"
    try:
        # The kernel process's own stderr (start-up notices, crashes) goes to a log, not to the
        # user's terminal; cell output is captured by nbclient regardless.
        with kernel_log.open("w", encoding="utf-8") as log:
            client.execute(stderr=log)
    except CellExecutionError as error:
        raise _cell_error(document, error) from error
    except (CellTimeoutError, DeadKernelError) as error:
        log_tail = kernel_log.read_text(encoding="utf-8", errors="replace")[-2000:].strip()
        raise RenderError(
            code="render.kernel_failed",
            message=f"the Python kernel stopped while running the report: {error}",
            file=str(document.path),
            fix=f"make every cell finish within {CELL_TIMEOUT} s and within memory",
            details={"kernel_log": log_tail},
        ) from error
    notebook.cells.pop(0)
    return notebook


def format_options(front_matter: Mapping[str, Any], fmt: str) -> dict[str, Any]:
    """The front matter's ``format:`` options for ``fmt`` (``pdf`` also reads ``typst``)."""
    formats = front_matter.get("format")
    if not isinstance(formats, Mapping):
        return {}
    keys = ("pdf", "typst") if fmt == "pdf" else (fmt,)
    options: dict[str, Any] = {}
    for key in keys:
        value = formats.get(key)
        if isinstance(value, Mapping):
            options.update(value)
    return options


def _setup_source(front_matter: Mapping[str, Any]) -> str:
    settings = {key: front_matter.get(key, value) for key, value in FIGURE_DEFAULTS.items()}
    return _SETUP_SOURCE.format(
        width=float(settings["fig-width"]),
        height=float(settings["fig-height"]),
        dpi=int(settings["fig-dpi"]),
    )


def _kernel_name(front_matter: Mapping[str, Any]) -> str:
    kernel = front_matter.get("jupyter")
    return kernel if isinstance(kernel, str) else "python3"


def _metadata_block(document: QmdDocument) -> str:
    """The pandoc YAML metadata block: title, subtitle, date (``today`` resolved), language,
    and the typst format's page ``margin`` (as Quarto reads it), which only typst uses."""
    front = document.front_matter
    metadata: dict[str, object] = {
        "pagetitle": str(front.get("title") or document.path.stem),
        "lang": str(front.get("lang") or DEFAULT_LANGUAGE),
    }
    for key in ("title", "subtitle", "date"):
        if front.get(key):
            metadata[key] = str(front[key])
    if metadata.get("date") in {"today", "now", "last-modified"}:
        metadata["date"] = date.today().isoformat()
    typst_options = (front.get("format") or {}).get("typst")
    if isinstance(typst_options, dict) and isinstance(typst_options.get("margin"), dict):
        metadata["margin"] = {str(k): str(v) for k, v in typst_options["margin"].items()}
    return "---\n" + yaml.safe_dump(metadata, allow_unicode=True, sort_keys=True) + "---\n\n"


def _cell_error(document: QmdDocument, error: CellExecutionError) -> RenderError:
    failed = next(
        (
            cell
            for cell in document.notebook.cells
            if any(output.get("output_type") == "error" for output in cell.get("outputs", []))
        ),
        None,
    )
    where = cell_label(failed) if failed is not None else "an unknown cell"
    line = failed.get("metadata", {}).get("ptw", {}).get("line") if failed is not None else None
    return RenderError(
        code="render.cell_failed",
        message=f"the report's code failed in the cell at {where}: {error.ename}: {error.evalue}",
        file=str(document.path),
        line=line,
        fix="correct the cell (run the template in Jupyter to see the full traceback)",
        details={"traceback": str(error)},
    )
