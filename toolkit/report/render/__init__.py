"""Report engines: render a Quarto template to HTML, Word and PDF.

Two engines (DESIGN.md decision 5): ``quarto`` when a ``quarto`` executable is on PATH, else
``builtin`` (jupytext + nbclient + pandoc 3 + typst). Either way the template receives exactly
one parameter, ``report_config``: the path of a JSON file holding ``config``. Every render runs
in its own temporary copy of the template's folder, so renders of one template in parallel
never collide, and the copy is deleted afterwards.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal

import typst

from toolkit.errors import RenderError
from toolkit.report.render import builtin, quarto
from toolkit.report.render.pandoc import SUFFIXES, pandoc_version

Engine = Literal["auto", "builtin", "quarto"]
#: Formats both engines write.
FORMATS: tuple[str, ...] = tuple(SUFFIXES)
#: Files and folders never copied into a render's working folder (earlier outputs, caches).
_COPY_IGNORE = shutil.ignore_patterns(
    ".quarto", "_freeze", "_site", "_output", "*_files", "__pycache__", ".ipynb_checkpoints"
)

__all__ = [
    "FORMATS",
    "RenderError",
    "RenderResult",
    "available_engines",
    "available_formats",
    "choose_engine",
    "render_report",
]


@dataclass(frozen=True)
class RenderResult:
    """What a render produced.

    Attributes:
        engine: ``"builtin"`` or ``"quarto"``: the engine that ran.
        outputs: ``{format: path}`` of every file written.
        seconds: wall-clock time of the whole render.
    """

    engine: str
    outputs: dict[str, Path]
    seconds: float


def render_report(
    template: Path,
    *,
    config: Mapping[str, object],
    out_dir: Path,
    formats: Sequence[str] = ("html",),
    engine: Engine = "auto",
    output_name: str | None = None,
    placeholders: Mapping[str, str] | None = None,
) -> RenderResult:
    """Render the Quarto ``template`` with ``config`` to ``formats`` in ``out_dir``.

    Inputs: the ``.qmd`` path; the report configuration (JSON-serialisable; paths and dates
    are written as strings; give absolute paths, since the template runs in a temporary
    folder); the output folder; formats among ``FORMATS``; the engine (``auto`` picks quarto
    when on PATH); the output file stem (default: the template's stem); ``placeholders``:
    ``{name}`` markers replaced in the front matter's title and subtitle (e.g. ``{place}`` in
    the regional template's title becomes the region's name), in the render's own copy.
    Output: a :class:`RenderResult` with the engine used and ``{format: path}``.

    Raises:
        RenderError: unknown format or engine, missing template, unserialisable config, or a
            failure of the template's code, pandoc, typst or Quarto.
    """
    started = time.perf_counter()
    template = Path(template).resolve()
    chosen = choose_engine(engine)
    wanted = _checked_formats(formats)
    if not template.is_file():
        raise RenderError(
            code="render.no_template",
            message="the report template does not exist",
            file=str(template),
            fix="check the template name (reports/*.qmd)",
        )
    run = builtin.render if chosen == "builtin" else quarto.render
    with tempfile.TemporaryDirectory(prefix="ptw-render-") as scratch:
        workdir = Path(scratch) / "template"
        shutil.copytree(template.parent, workdir, ignore=_COPY_IGNORE)
        if placeholders:
            fill_front_matter(workdir / template.name, placeholders)
        config_path = Path(scratch) / "report_config.json"
        write_config(config, config_path)
        outputs = run(
            workdir / template.name,
            source=template,
            config_path=config_path,
            formats=wanted,
            out_dir=Path(out_dir),
            output_name=output_name or template.stem,
        )
    return RenderResult(engine=chosen, outputs=outputs, seconds=time.perf_counter() - started)


def fill_front_matter(qmd_file: Path, placeholders: Mapping[str, str]) -> None:
    """Replace ``{name}`` markers in the ``title:`` and ``subtitle:`` lines of ``qmd_file``'s
    front matter with ``placeholders[name]`` (YAML double-quote escaped), in place."""
    lines = qmd_file.read_text(encoding="utf-8").split("\n")
    fences = [i for i, line in enumerate(lines) if line.strip() == "---"][:2]
    if len(fences) < 2:
        return
    for index in range(fences[0] + 1, fences[1]):
        if lines[index].startswith(("title:", "subtitle:")):
            for name, value in placeholders.items():
                safe = str(value).replace("\\", "\\\\").replace('"', '\\"')
                lines[index] = lines[index].replace("{" + name + "}", safe)
    qmd_file.write_text("\n".join(lines), encoding="utf-8")


def write_config(config: Mapping[str, object], path: Path) -> Path:
    """Write ``config`` as sorted, indented UTF-8 JSON at ``path`` (paths/dates as strings).

    Raises:
        RenderError: a value is not JSON-serialisable.
    """
    try:
        text = json.dumps(dict(config), indent=2, sort_keys=True, default=_json_value)
    except TypeError as error:
        raise RenderError(
            code="render.bad_config",
            message=f"the report configuration cannot be written as JSON: {error}",
            fix="pass strings, numbers, booleans, lists, mappings, paths or dates",
        ) from error
    path.write_text(text + "\n", encoding="utf-8")
    return path


def choose_engine(engine: Engine = "auto") -> str:
    """``"quarto"`` or ``"builtin"``: ``auto`` means quarto when it is on PATH.

    Raises:
        RenderError: an unknown engine name.
    """
    if engine == "auto":
        return "quarto" if quarto.quarto_path() else "builtin"
    if engine in ("builtin", "quarto"):
        return engine
    raise RenderError(
        code="render.unknown_engine",
        message="unknown report engine",
        value=engine,
        expected="auto, builtin or quarto",
        fix="pass --engine auto, builtin or quarto",
    )


def available_engines() -> dict[str, dict[str, object]]:
    """For ``ptw doctor``: each engine's availability, versions and the one ``auto`` picks.

    Output: ``{"builtin": {"available", "pandoc", "typst"}, "quarto": {"available", "path",
    "version"}, "auto": {"engine"}}``.
    """
    quarto_executable = quarto.quarto_path()
    return {
        "builtin": {
            "available": True,
            "pandoc": pandoc_version(),
            "typst": getattr(typst, "__version__", "unknown"),
        },
        "quarto": {
            "available": quarto_executable is not None,
            "path": quarto_executable,
            "version": quarto.quarto_version(),
        },
        "auto": {"engine": choose_engine("auto")},
    }


def available_formats(engine: Engine = "auto") -> tuple[str, ...]:
    """The formats ``engine`` can write (both engines: html, docx, pdf)."""
    chosen = choose_engine(engine)
    return tuple(builtin.SUFFIXES if chosen == "builtin" else quarto.SUFFIXES)


def _checked_formats(formats: Sequence[str]) -> list[str]:
    wanted = list(dict.fromkeys(formats))
    unknown = [fmt for fmt in wanted if fmt not in FORMATS]
    if unknown or not wanted:
        raise RenderError(
            code="render.unknown_format",
            message="unknown or missing report format",
            value=", ".join(unknown) or None,
            expected=", ".join(FORMATS),
            fix="pass --format html,docx,pdf (any of them)",
        )
    return wanted


def _json_value(value: object) -> str:
    if isinstance(value, Path | date | datetime):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
