"""Turn an executed report notebook into pandoc markdown.

Rules (Quarto's, with the report default ``echo: false``):
- markdown cells pass through unchanged (callouts and ``@fig-`` references are left to the Lua
  filters);
- a code cell with ``include: false`` contributes nothing; ``echo: true`` shows its code;
- rich outputs, by preference: ``image/png`` and ``image/svg+xml`` become pandoc images (the
  first image of a cell labelled ``fig-...`` becomes the figure ``{#fig-...}`` with ``fig-cap``
  as caption and ``fig-alt`` as alt text), ``text/html`` passes through as a raw HTML block
  (great_tables tables), ``text/markdown`` as markdown;
- plain text results and stdout/stderr are dropped unless ``output: true`` (shown as code) or
  ``output: asis`` (emitted as markdown); ``warning: false`` drops stderr;
- a cell labelled ``tbl-...`` is wrapped in a div with that id and its ``tbl-cap``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from nbformat import NotebookNode

from toolkit.report.render.qmd import cell_options

_IMAGE_TYPES = {"image/png": "png", "image/svg+xml": "svg"}
_RICH_ORDER = ("image/png", "image/svg+xml", "text/html", "text/markdown")


def notebook_to_markdown(
    notebook: NotebookNode, front_matter: Mapping[str, Any], media_dir: Path
) -> str:
    """Pandoc markdown for the executed ``notebook``; images are written into ``media_dir``.

    Image paths in the markdown are relative to ``media_dir.parent`` (run pandoc there).
    """
    media_dir.mkdir(parents=True, exist_ok=True)
    blocks: list[str] = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            blocks.append(cell.source)
        elif cell.cell_type == "code":
            options = cell_options(cell, front_matter)
            if options.get("include") is not False:
                blocks.extend(_code_cell_blocks(cell, options, media_dir, index))
    return "\n\n".join(block.strip("\n") for block in blocks if block.strip()) + "\n"


def fenced(content: str, info: str) -> str:
    """A fenced block whose fence is longer than any backtick run inside ``content``."""
    longest = max((len(run) for run in re.findall(r"`+", content)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{content.rstrip()}\n{fence}"


def _code_cell_blocks(
    cell: NotebookNode, options: Mapping[str, Any], media_dir: Path, index: int
) -> Iterator[str]:
    if options.get("echo") is True:
        yield fenced(cell.source, "python")
    if options.get("output") is False:
        return
    label = str(options.get("label") or "")
    stem = re.sub(r"[^\w-]", "_", label or "cell")
    outputs = list(_output_blocks(cell, options, media_dir, f"{stem}-{index}"))
    if label.startswith("tbl-"):
        yield _table_div(label, options.get("tbl-cap"), outputs)
    else:
        yield from outputs


def _output_blocks(
    cell: NotebookNode, options: Mapping[str, Any], media_dir: Path, stem: str
) -> Iterator[str]:
    images = 0
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            text = _stream_text(output, options)
            if text:
                yield text
            continue
        data = output.get("data", {})
        kind = next((mime for mime in _RICH_ORDER if mime in data), None)
        if kind in _IMAGE_TYPES:
            images += 1
            path = _write_image(data[kind], kind, media_dir / f"{stem}-{images}")
            yield _image_markdown(path.relative_to(media_dir.parent), options, first=images == 1)
        elif kind == "text/html":
            yield fenced(_text(data[kind]), "{=html}")
        elif kind == "text/markdown":
            yield _text(data[kind])
        elif "text/plain" in data:
            yield _plain_text(_text(data["text/plain"]), options)


def _stream_text(output: NotebookNode, options: Mapping[str, Any]) -> str:
    if output.get("name") == "stderr" and options.get("warning") is False:
        return ""
    return _plain_text(_text(output.get("text", "")), options)


def _plain_text(text: str, options: Mapping[str, Any]) -> str:
    shown = options.get("output")
    if shown == "asis":
        return text
    if shown is True:
        return fenced(text, "")
    return ""


def _image_markdown(path: Path, options: Mapping[str, Any], *, first: bool) -> str:
    """``![caption](path){#fig-label fig-alt="..."}``; only the first image takes the label
    and the caption (later images of the same cell are plain images with the same alt text)."""
    label = str(options.get("label") or "")
    caption = _one_line(str(options.get("fig-cap") or "")) if first else ""
    attributes: list[str] = []
    if first and label.startswith("fig-"):
        attributes.append(f"#{label}")
    alt = options.get("fig-alt")
    if alt:
        attributes.append(f'fig-alt="{_attribute(str(alt))}"')
    attribute_text = "{" + " ".join(attributes) + "}" if attributes else ""
    # Without a caption pandoc writes a plain image, not a figure (its alt comes from fig-alt).
    return f"![{caption}]({path.as_posix()}){attribute_text}"


def _table_div(label: str, caption: object, outputs: list[str]) -> str:
    attributes = (
        f'#{label} .ptw-table tbl-cap="{_attribute(str(caption))}"'
        if caption
        else (f"#{label} .ptw-table")
    )
    body = "\n\n".join(outputs)
    return f"::::: {{{attributes}}}\n{body}\n:::::"


def _write_image(payload: str | list[str], kind: str, stem: Path) -> Path:
    path = stem.with_suffix(f".{_IMAGE_TYPES[kind]}")
    if kind == "image/svg+xml":
        path.write_text(_text(payload), encoding="utf-8")
    else:
        path.write_bytes(base64.b64decode(_text(payload)))
    return path


def _text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _attribute(text: str) -> str:
    return _one_line(text).replace("\\", "\\\\").replace('"', '\\"')
