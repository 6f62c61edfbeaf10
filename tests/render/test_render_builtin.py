"""The builtin engine on a real Jupyter kernel, real pandoc 3 and real typst.

The fixture template (fixtures/fixture_report.qmd) has a parameters cell whose default
`report_config` points at a file that does not exist, a plotnine figure labelled `fig-rates`
with fig-cap and fig-alt, a great_tables table, two callouts and an `@fig-rates` reference.
"""

from __future__ import annotations

import re
import subprocess
import zipfile
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import pytest
from browser_harness import require_executables

from toolkit.errors import RenderError
from toolkit.report.render import render_report

# One xdist worker renders the fixture once for every test that reads it (tests/xdist_scopes.py
# keeps tests/render/ on one worker).

FIG_ALT = "Bar chart: White 52%, Asian 41%, Black 37%."
HEADINGS = ("Fixture equality report", "Summary", "Rates by group", "Table of rates")


class _Elements(HTMLParser):
    """Collects every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.tags


def test_render_result_lists_every_format(rendered_fixture):
    assert rendered_fixture.engine == "builtin"
    assert set(rendered_fixture.outputs) == {"html", "docx", "pdf"}
    for fmt, path in rendered_fixture.outputs.items():
        assert path.name == f"fixture_report.{fmt}"
        assert path.stat().st_size > 1000


def test_html_is_self_contained(rendered_fixture):
    html = rendered_fixture.outputs["html"].read_text(encoding="utf-8")
    linked = [
        value
        for _, attributes in _elements(html)
        for key, value in attributes.items()
        if key in {"src", "href"} and value and not value.startswith(("#", "data:"))
    ]
    assert linked == []
    assert not re.search(r"url\(\s*['\"]?https?:", html)
    assert "mathjax" not in html.lower()


def test_html_has_language_title_and_one_h1(rendered_fixture):
    tags = _elements(rendered_fixture.outputs["html"].read_text(encoding="utf-8"))
    assert [attributes.get("lang") for tag, attributes in tags if tag == "html"] == ["en-GB"]
    assert [tag for tag, _ in tags].count("h1") == 1
    assert [tag for tag, _ in tags].count("main") == 1
    assert "<title>Fixture equality report</title>" in rendered_fixture.outputs["html"].read_text()


def test_injected_parameter_overrides_the_default(rendered_fixture, injected_region):
    # The default report_config names a missing file: had the parameter been injected at the
    # top (papermill), the parameters cell would have overwritten it and the render failed.
    html = rendered_fixture.outputs["html"].read_text(encoding="utf-8")
    assert f"Region rendered: <strong>{injected_region}</strong>" in html


def test_figure_alt_text_caption_and_cross_reference(rendered_fixture):
    html = rendered_fixture.outputs["html"].read_text(encoding="utf-8")
    images = [attributes for tag, attributes in _elements(html) if tag == "img"]
    assert [image.get("alt") for image in images] == [FIG_ALT]
    assert images[0]["src"].startswith("data:image/png;base64,")
    assert '<figure id="fig-rates">' in html
    assert re.search(r"<figcaption>Figure 1: Share of respondents", html)
    assert '<a href="#fig-rates">Figure 1</a> shows the rates' in html
    assert "@fig-rates" not in html


def test_callouts_and_table_rendered(rendered_fixture):
    html = rendered_fixture.outputs["html"].read_text(encoding="utf-8")
    assert re.search(
        r'<div class="callout callout-note" role="note">\s*<div class="callout-title">'
        r"\s*<strong>About these figures</strong>",
        html,
    )
    assert re.search(r'class="callout callout-warning".*?<strong>Warning</strong>', html, re.S)
    assert ":::" not in html
    assert "Rates by ethnic group" in html and "<table" in html
    # stdout is dropped by default (output: true would show it)
    assert "stdout is not shown" not in html
    # code is hidden by default (echo: false)
    assert "ggplot(rates" not in html


def test_docx_has_real_word_table_and_alt_text(rendered_fixture):
    with zipfile.ZipFile(rendered_fixture.outputs["docx"]) as docx:
        document = docx.read("word/document.xml").decode("utf-8")
        media = [name for name in docx.namelist() if name.startswith("word/media/")]
    assert document.count("<w:tbl>") == 1
    table = document[document.index("<w:tbl>") : document.index("</w:tbl>")]
    for cell in ("Asian", "41%", "640"):
        assert f">{cell}</w:t>" in table
    assert f'descr="{FIG_ALT}"' in document
    assert len(media) == 1
    assert "Figure 1: Share of respondents" in document
    assert "About these figures" in document  # the callout's title comes from its heading


def test_pdf_text_and_pages(rendered_fixture, injected_region, tmp_path):
    require_executables("pdftotext", "pdftoppm")
    pdf = rendered_fixture.outputs["pdf"]
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for heading in HEADINGS:
        assert heading in text
    assert "Figure 1: Share of respondents" in text
    assert "Figure 1: Figure 1" not in text
    assert injected_region in text
    assert re.search(r"Asian\s+41%\s+120", text)
    assert FIG_ALT.encode("utf-8") in pdf.read_bytes()  # alt text in the tagged PDF
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 1
    assert all(page.read_bytes().startswith(b"\x89PNG") for page in pages)


def test_kernel_error_names_template_cell_and_python_error(tmp_path):
    template = tmp_path / "broken.qmd"
    template.write_text(
        "---\ntitle: Broken\n---\n\n```{python}\n#| tags: [parameters]\nreport_config = ''\n```\n"
        "\nText.\n\n```{python}\n#| label: fig-gaps\nrates = {}\nrates['missing']\n```\n",
        encoding="utf-8",
    )
    with pytest.raises(RenderError) as raised:
        render_report(template, config={}, out_dir=tmp_path / "out", engine="builtin")
    error = raised.value
    assert error.code == "render.cell_failed"
    assert error.file == str(template)
    assert error.line == 12
    assert 'label "fig-gaps" (line 12)' in str(error)
    assert "KeyError" in str(error) and "missing" in str(error)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_parallel_renders_of_one_template_do_not_collide(fixture_template, tmp_path):
    regions = ["North East and Yorkshire", "South West"]

    def render(region: str) -> Path:
        result = render_report(
            fixture_template,
            config={"region": region},
            out_dir=tmp_path,
            output_name=f"report-{region.split()[0].lower()}",
            engine="builtin",
        )
        return result.outputs["html"]

    with ThreadPoolExecutor(max_workers=2) as pool:
        outputs = list(pool.map(render, regions))
    for region, output in zip(regions, outputs, strict=True):
        html = output.read_text(encoding="utf-8")
        assert f"<strong>{region}</strong>" in html
        assert all(other not in html for other in regions if other != region)
    # nothing was written next to the template
    assert sorted(path.name for path in fixture_template.parent.iterdir()) == [
        "_fixture_setup.py",
        "fixture_report.qmd",
    ]
