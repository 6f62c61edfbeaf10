"""Write a report's pandoc markdown as HTML, Word or PDF with pandoc 3 and typst.

pandoc comes from the ``pypandoc_binary`` wheel (Debian's 2.17 has no typst writer). HTML is
one self-contained file (``--embed-resources``: images and CSS inlined, no MathJax, no CDN).
docx gets real Word tables that fill the text width (``filters/tables.lua``) on A4 pages
(:func:`reference_doc`). PDF: pandoc writes typst, the ``typst`` package compiles it
(pandoc's ``--pdf-engine=typst`` cannot find the Python package's binary).
"""

from __future__ import annotations

import io
import subprocess
import zipfile
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pypandoc
import typst

from toolkit.errors import RenderError

PACKAGE_DIR = Path(__file__).parent
#: Lua filters, in the order pandoc runs them.
FILTERS = tuple(
    PACKAGE_DIR / "filters" / name for name in ("tables.lua", "callouts.lua", "crossref.lua")
)
TEMPLATES = PACKAGE_DIR / "templates"

#: Output formats of the builtin engine and the file suffix each writes.
SUFFIXES: dict[str, str] = {"html": ".html", "docx": ".docx", "pdf": ".pdf"}

_FORMAT_ARGUMENTS: dict[str, list[str]] = {
    "html": [
        "--to=html5",
        "--standalone",
        "--embed-resources",
        f"--template={TEMPLATES / 'report.html'}",
        f"--css={TEMPLATES / 'report.css'}",
    ],
    "docx": ["--to=docx"],
    "pdf": [
        "--to=typst",
        "--standalone",
        f"--include-in-header={TEMPLATES / 'report-header.typ'}",
        f"--include-before-body={TEMPLATES / 'report-body.typ'}",
        "--variable=papersize:a4",
        "--variable=fontsize:10.5pt",
    ],
}


A4_SECTION = (
    b'<w:pgSz w:w="11906" w:h="16838" />'
    b'<w:pgMar w:top="1134" w:right="1134" w:bottom="1134" w:left="1134" w:header="567"'
    b' w:footer="567" w:gutter="0" />'
)
"""An A4 page with 2 cm margins, in twentieths of a point (NHS England publishes on A4)."""
TABLE_TEXT = b'<w:rPr><w:sz w:val="20" /><w:szCs w:val="20" /></w:rPr><w:tblPr>'
"""Table text at 10 pt (body text is 12 pt), before the table style's own properties."""


def reference_doc(folder: Path) -> Path:
    """pandoc's own reference document made fit for an NHS report (:func:`_reference_docx`),
    written to ``folder``; returns its path. pandoc takes the page, styles and language of
    every docx it writes from its reference document."""
    path = folder / "reference.docx"
    path.write_bytes(_reference_docx())
    return path


@cache
def _reference_docx() -> bytes:
    """pandoc's default reference document, edited (once per process):

    - Page: pandoc's sets no size, and Word and LibreOffice then use their locale's (US Letter
      here): A4 with 2 cm margins, after the footnote properties, where the Office Open XML
      schema orders them.
    - Tables: text at 10 pt in the default table style ("Table"), so that a seven-column table
      fits the width without breaking words.
    - Language: British English (pandoc's says en-US, and Word would mark "organisation").
    """
    default = subprocess.run(
        [pandoc_path(), "--print-default-data-file", "reference.docx"],
        capture_output=True,
        check=True,
    ).stdout
    edited = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(default)) as source, zipfile.ZipFile(edited, "w") as target:
        for item in source.infolist():
            target.writestr(item, _edited(item.filename, source.read(item)),
                            compress_type=zipfile.ZIP_DEFLATED)  # fmt: skip
    return edited.getvalue()


def _edited(name: str, data: bytes) -> bytes:
    """One part of the reference document with the edits of :func:`_reference_docx`."""
    if name == "word/document.xml":
        return data.replace(b"</w:sectPr>", A4_SECTION + b"</w:sectPr>", 1)
    if name == "word/styles.xml":
        return _table_text(data.replace(b'w:lang w:val="en-US"', b'w:lang w:val="en-GB"', 1))
    return data


def _table_text(styles: bytes) -> bytes:
    """``styles`` with :data:`TABLE_TEXT` in the "Table" style, before its table properties."""
    start = styles.index(b'w:styleId="Table">')
    at = styles.index(b"<w:tblPr>", start)
    return styles[:at] + TABLE_TEXT + styles[at + len(b"<w:tblPr>") :]


def pandoc_path() -> str:
    """The pandoc executable shipped by ``pypandoc_binary``."""
    return str(pypandoc.get_pandoc_path())


def pandoc_version() -> str:
    """pandoc's version, e.g. ``"3.9"``."""
    return str(pypandoc.get_pandoc_version())


def write_format(
    markdown_file: Path, fmt: str, output: Path, *, options: Mapping[str, Any]
) -> Path:
    """Convert ``markdown_file`` (images relative to its folder) to ``fmt`` at ``output``.

    ``options`` are the front matter's options for this format (``toc``, ``toc-title``,
    ``toc-depth``, ``number-sections``). Returns ``output``.

    Raises:
        RenderError: pandoc or typst fails; the message carries their error text.
    """
    if fmt not in SUFFIXES:
        raise RenderError(
            code="render.unknown_format",
            message=f"the builtin engine cannot write {fmt!r}",
            value=fmt,
            expected=", ".join(SUFFIXES),
            fix="ask for html, docx or pdf",
        )
    target = output.with_suffix(".typ") if fmt == "pdf" else output
    page = [f"--reference-doc={reference_doc(markdown_file.parent)}"] if fmt == "docx" else []
    arguments = [
        pandoc_path(),
        markdown_file.name,
        "--from=markdown",
        *(f"--lua-filter={path}" for path in FILTERS),
        *_FORMAT_ARGUMENTS[fmt],
        *page,
        *_option_arguments(options),
        f"--output={target}",
    ]
    _run(arguments, cwd=markdown_file.parent, what=f"pandoc ({fmt})")
    if fmt == "pdf":
        _compile_typst(target, output)
    return output


def _option_arguments(options: Mapping[str, Any]) -> list[str]:
    arguments: list[str] = []
    if options.get("toc"):
        arguments.append("--toc")
    if options.get("toc-title"):
        arguments.append(f"--metadata=toc-title:{options['toc-title']}")
    if options.get("toc-depth"):
        arguments.append(f"--toc-depth={int(options['toc-depth'])}")
    if options.get("number-sections"):
        arguments.append("--number-sections")
    return arguments


def _compile_typst(source: Path, output: Path) -> None:
    try:
        typst.compile(str(source), output=str(output), root=str(source.parent))
    except RuntimeError as error:
        raise RenderError(
            code="render.typst_failed",
            message=f"typst could not compile the PDF: {error}",
            file=str(source),
            fix="check the template's markdown for constructs typst cannot draw",
        ) from error


def _run(arguments: Sequence[str], *, cwd: Path, what: str) -> None:
    completed = subprocess.run(
        list(arguments), cwd=cwd, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RenderError(
            code="render.pandoc_failed",
            message=f"{what} failed with exit code {completed.returncode}: "
            f"{completed.stderr.strip()}",
            fix="read pandoc's message above; it names the construct it could not convert",
        )
