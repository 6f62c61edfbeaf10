"""The Lua filters on small documents, through the real pandoc 3 binary."""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

from browser_harness import require_executables

from toolkit.report.render.pandoc import (
    _FORMAT_ARGUMENTS,
    FILTERS,
    pandoc_path,
    reference_doc,
    write_format,
)

DOCUMENT = """\
See @fig-b, @tbl-counts and @fig-missing.

![Second](b.png){#fig-b fig-alt="B alt"}

Then @fig-a.

::: {#tbl-counts .ptw-table tbl-cap="Counts"}
```{=html}
<table><thead><tr><th>group</th><th>n</th></tr></thead>
<tbody><tr><td>Asian</td><td>12</td></tr></tbody></table>
```
:::

![First](a.png){#fig-a}

::: {.callout-important title="Read me"}
Body text.
:::
"""


def _convert(to: str) -> str:
    arguments = [pandoc_path(), "--from=markdown", f"--to={to}"]
    arguments += [f"--lua-filter={path}" for path in FILTERS]
    completed = subprocess.run(
        arguments, input=DOCUMENT, capture_output=True, text=True, check=True
    )
    return completed.stdout


def test_figures_and_tables_numbered_in_document_order():
    html = _convert("html5")
    assert '<a href="#fig-b">Figure 1</a>' in html
    assert '<a href="#tbl-counts">Table 1</a>' in html
    assert '<a href="#fig-a">Figure 2</a>' in html
    assert "<strong>?@fig-missing</strong>" in html
    assert "Figure 1: Second" in html and "Figure 2: First" in html
    assert "Table 1: Counts" in html


def test_fig_alt_becomes_the_alt_text():
    html = _convert("html5")
    assert 'alt="B alt"' in html and "fig-alt" not in html
    assert '#box(image("b.png", alt: "B alt"))' in _convert("typst")


def test_callout_title_attribute_html_and_blockquote_elsewhere():
    html = _convert("html5")
    assert '<div class="callout callout-important" role="note">' in html
    assert "<strong>Read me</strong>" in html
    native = _convert("native")
    assert "BlockQuote" in native and 'Strong [ Str "Read" , Space , Str "me" ]' in native


def test_raw_html_table_becomes_a_pandoc_table_outside_html():
    native = _convert("native")
    assert "Table" in native and "RawBlock" not in native
    assert 'Str "Asian"' in native
    assert "<table><thead><tr><th>group</th>" in _convert("html5")  # HTML keeps the raw table


def test_table_columns_keep_great_tables_alignment_in_typst_and_word():
    """great_tables aligns by cell class; the PDF and Word tables align their columns the same
    way (labels left, numbers right), not all centred; a cell without a class is left."""
    table = ('```{=html}\n<table><thead><tr><th>group</th><th>n</th><th>note</th></tr></thead>'
             '<tbody><tr><td class="gt_row gt_left">Ethnic minority</td>'
             '<td class="gt_row gt_right">12</td><td>x</td></tr></tbody></table>\n```\n')  # fmt: skip
    arguments = [pandoc_path(), "--from=markdown", "--to=typst"]
    arguments += [f"--lua-filter={path}" for path in FILTERS]
    typst = subprocess.run(arguments, input=table, capture_output=True, text=True, check=True)
    assert "align: (left,right,left,)" in typst.stdout
    native = subprocess.run([*arguments[:2], "--to=native", *arguments[3:]], input=table,
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "( AlignLeft , ColWidthDefault )" in native
    assert "( AlignRight , ColWidthDefault )" in native


def test_a_great_tables_title_becomes_the_caption_after_its_number():
    """great_tables puts its title in the table head (one cell across every column) and its
    id ``tbl-...`` on a wrapping div. In the PDF and Word the title moves into the caption:
    "Table 1: Respondents by group" on one line, not a lone "Table 1" above a title row."""
    table = ('```{=html}\n<div id="tbl-0a1b2c"><table><thead>'
             '<tr><td colspan="2" class="gt_heading gt_title">Respondents by group</td></tr>'
             '<tr><th>group</th><th>n</th></tr></thead>'
             '<tbody><tr><td>Asian</td><td>12</td></tr></tbody></table></div>\n```\n')  # fmt: skip
    arguments = [pandoc_path(), "--from=markdown", "--to=native"]
    arguments += [f"--lua-filter={path}" for path in FILTERS]
    native = subprocess.run(arguments, input=table, capture_output=True, text=True, check=True)
    text = " ".join(native.stdout.split())
    assert 'Str "Table 1:" , Space , Str "Respondents" , Space , Str "by"' in text
    assert text.count('Str "Respondents"') == 1 and "ColSpan 2" not in text  # row removed
    assert text.index('Str "Respondents"') < text.index("TableHead")


def test_pdf_paragraphs_are_not_justified_after_pandocs_own_rule():
    """pandoc's typst template justifies every paragraph in its ``conf`` show rule, after the
    header; the report's body rule must come after it, or narrow table cells are stretched."""
    arguments = [pandoc_path(), "--from=markdown", *_FORMAT_ARGUMENTS["pdf"]]
    typst = subprocess.run(arguments, input="Text.", capture_output=True, text=True, check=True)
    source = typst.stdout
    assert source.index("#set par(justify: false)") > source.index("#show: doc => conf(")


def _table_div(name: str, caption: str, rows: int) -> str:
    body = "".join(f"<tr><td>{name}-row-{i:03d}</td><td>{i}</td></tr>" for i in range(1, rows + 1))
    return (f'::: {{#tbl-{name} .ptw-table tbl-cap="{caption}"}}\n```{{=html}}\n<div><table>'
            f"<thead><tr><th>group</th><th>n</th></tr></thead><tbody>{body}</tbody></table>"
            "</div>\n```\n:::\n")  # fmt: skip


def test_a_short_table_stays_whole_with_its_label_and_a_long_one_breaks(tmp_path):
    """Known layout: 57 filler paragraphs leave the short table (25 rows) starting near the foot
    of page 2, where a breakable table left its first rows (and label) behind. In the PDF
    the label "Table 1" and all 25 rows are on one page; the 150-row table spans pages."""
    require_executables("pdftotext")
    filler = "\n\n".join(f"Filler paragraph {i} about the workforce." for i in range(57))
    markdown = tmp_path / "tables.md"
    markdown.write_text(f"{filler}\n\n{_table_div('short', 'Short', 25)}\n"
                        f"{_table_div('long', 'Long', 150)}", encoding="utf-8")  # fmt: skip
    pdf = write_format(markdown, "pdf", tmp_path / "tables.pdf", options={})
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    pages = text.split("\f")
    short = [n for n, page in enumerate(pages) if "short-row-" in page]
    assert len(short) == 1, f"the short table is split over pages {short}"
    page = pages[short[0]]
    assert "Table 1" in page and "short-row-001" in page and "short-row-025" in page
    assert len([page for page in pages if "long-row-" in page]) >= 2


def test_word_tables_fill_the_page_and_no_column_is_narrower_than_its_longest_word(
    tmp_path: Path,
) -> None:
    """Word sizes a table without widths to its content, and LibreOffice broke words in narrow
    columns ("Respond-ents"). Each Word table fills the text width; a column of long labels is
    wider than a column of numbers, and a column's share of the width is at least its longest
    word plus padding out of an 86-character line (the filter's ``LINE`` and ``PADDING``)."""
    table = ('```{=html}\n<table><thead><tr><th>Group</th><th>Respondents</th>'
             '<th>Rate (95% CI)</th></tr></thead><tbody>'
             '<tr><td class="gt_left">Black, Black British, Caribbean or African</td>'
             '<td class="gt_right">3,998</td><td>27.5% (26.2% to 28.9%)</td></tr>'
             '</tbody></table>\n```\n')  # fmt: skip
    output = tmp_path / "table.docx"
    arguments = [pandoc_path(), "--from=markdown", "--to=docx", f"--output={output}"]
    arguments += [f"--lua-filter={path}" for path in FILTERS]
    subprocess.run(arguments, input=table, text=True, check=True)
    with zipfile.ZipFile(output) as docx:
        document = docx.read("word/document.xml").decode("utf-8")
    assert '<w:tblW w:type="pct" w:w="5000" />' in document  # the whole text width
    columns = [int(w) for w in re.findall(r'<w:gridCol w:w="(\d+)" />', document)]
    shares = [width / sum(columns) for width in columns]
    assert len(shares) == 3
    assert shares[0] > shares[2] > shares[1]
    assert shares[1] >= (len("Respondents") + 3) / 86 - 0.005


def test_word_pages_are_a4_in_british_english_with_10_point_tables(tmp_path: Path) -> None:
    """pandoc's own reference document sets no page size (Word and LibreOffice then use US
    Letter) and says en-US; ptw's sets A4 with 2 cm margins, en-GB and 10 pt table text, and
    pandoc carries them into the document."""
    reference = reference_doc(tmp_path)
    output = tmp_path / "page.docx"
    subprocess.run([pandoc_path(), "--from=markdown", f"--reference-doc={reference}",
                    f"--output={output}"], input="Text.", text=True, check=True)  # fmt: skip
    with zipfile.ZipFile(output) as docx:
        document = docx.read("word/document.xml").decode("utf-8")
        styles = docx.read("word/styles.xml").decode("utf-8")
    table_style = styles[styles.index('w:styleId="Table"') :]
    table_style = table_style[: table_style.index("</w:style>")]
    assert '<w:rPr><w:sz w:val="20" />' in table_style
    assert table_style.index("<w:rPr>") < table_style.index("<w:tblPr>")  # the schema's order
    assert re.search(r'<w:lang [^>]*w:val="en-GB"', styles) and "en-US" not in styles
    section = document[document.rindex("<w:sectPr>") :]
    assert re.search(r'<w:pgSz w:h="16838" w:w="11906" />', section)  # attributes re-sorted
    assert section.index("<w:footnotePr>") < section.index("<w:pgSz")  # the schema's order
