"""Executed notebook -> pandoc markdown, on hand-built outputs (no kernel needed)."""

from __future__ import annotations

import base64

from nbformat import v4

from toolkit.report.render.markdown import fenced, notebook_to_markdown

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode("ascii")


def _cell(source, options, outputs):
    cell = v4.new_code_cell(source)
    cell.metadata["ptw"] = {"options": options, "line": 1}
    cell.outputs = outputs
    return cell


def _markdown(cells, tmp_path, front_matter=None):
    notebook = v4.new_notebook(cells=cells)
    return notebook_to_markdown(notebook, front_matter or {}, tmp_path / "media")


def test_figure_gets_label_caption_and_alt_and_the_png_is_written(tmp_path):
    image = v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})
    cell = _cell(
        "plot",
        {"label": "fig-gap", "fig-cap": "Gap\n by year", "fig-alt": 'Line "chart"'},
        [image],
    )
    text = _markdown([cell], tmp_path)
    assert text == ('![Gap by year](media/fig-gap-0-1.png){#fig-gap fig-alt="Line \\"chart\\""}\n')
    assert (tmp_path / "media" / "fig-gap-0-1.png").read_bytes() == base64.b64decode(PNG)


def test_code_and_streams_hidden_by_default(tmp_path):
    outputs = [
        v4.new_output("stream", name="stdout", text="progress\n"),
        v4.new_output("execute_result", data={"text/plain": "42"}, execution_count=1),
        v4.new_output("display_data", data={"text/markdown": "**Result**"}),
    ]
    assert _markdown([_cell("print(1)", {}, outputs)], tmp_path) == "**Result**\n"


def test_echo_output_true_and_warning_false(tmp_path):
    outputs = [
        v4.new_output("stream", name="stdout", text="shown\n"),
        v4.new_output("stream", name="stderr", text="a warning\n"),
    ]
    cell = _cell("print(1)", {"echo": True, "output": True, "warning": False}, outputs)
    assert _markdown([cell], tmp_path) == "```python\nprint(1)\n```\n\n```\nshown\n```\n"


def test_output_asis_is_markdown_and_include_false_is_nothing(tmp_path):
    asis = _cell("", {"output": "asis"}, [v4.new_output("stream", name="stdout", text="## Hi\n")])
    hidden = _cell("", {"include": False}, [v4.new_output("stream", name="stdout", text="x")])
    assert _markdown([asis, hidden], tmp_path) == "## Hi\n"


def test_html_passes_through_raw_and_tables_get_a_captioned_div(tmp_path):
    table = v4.new_output("display_data", data={"text/html": "<table><tr><td>1</td></tr></table>"})
    cell = _cell("", {"label": "tbl-rates", "tbl-cap": "Rates"}, [table])
    text = _markdown([cell], tmp_path)
    assert text == (
        '::::: {#tbl-rates .ptw-table tbl-cap="Rates"}\n'
        "```{=html}\n<table><tr><td>1</td></tr></table>\n```\n:::::\n"
    )


def test_front_matter_execute_options_apply(tmp_path):
    cell = _cell("x = 1", {}, [])
    assert _markdown([cell], tmp_path, {"execute": {"echo": True}}) == "```python\nx = 1\n```\n"


def test_fence_is_longer_than_any_backtick_run():
    assert fenced("a ```` b", "{=html}") == "`````{=html}\na ```` b\n`````"


def test_second_image_and_unlabelled_image_are_plain_images(tmp_path):
    image = v4.new_output("display_data", data={"image/png": PNG})
    labelled = _cell("", {"label": "fig-two", "fig-cap": "Two", "fig-alt": "Alt"}, [image, image])
    plain = _cell("", {"fig-alt": "Plain alt"}, [image])
    assert _markdown([labelled, plain], tmp_path).split("\n\n") == [
        '![Two](media/fig-two-0-1.png){#fig-two fig-alt="Alt"}',
        '![](media/fig-two-0-2.png){fig-alt="Alt"}',
        '![](media/cell-1-1.png){fig-alt="Plain alt"}\n',
    ]


def test_image_file_names_are_safe_whatever_the_label(tmp_path):
    image = v4.new_output("display_data", data={"image/png": PNG})
    _markdown([_cell("", {"label": "../../escape me"}, [image])], tmp_path)
    assert [path.name for path in (tmp_path / "media").iterdir()] == ["______escape_me-0-1.png"]
