"""Every report, rendered once through `ptw report` (builtin engine) to html, docx and pdf, as a
reader would see it: axe-core in headless Chromium, PDF pages as images and text, Word XML.

The hostile group label (conftest.HOSTILE) belongs to a group suppressed in every row of the
bundle: it must be escaped in HTML and never appear next to a number in any format.
"""

from __future__ import annotations

import html
import re
import subprocess
import zipfile

import pytest
from browser_harness import describe_violations, require_executables, run_axe
from conftest import HOSTILE, MARKER
from openpyxl import load_workbook

from toolkit.disclosure.suppression import (
    REASON_BASE_MISSING,
    REASON_REFERENCE,
    REASON_SECONDARY,
    REASON_ZERO,
    primary_reason,
)
from toolkit.report.excel import write_bundle_excel
from toolkit.report.runner import REGIONS

#: Numeric columns that identify a row (not values): allowed in a suppressed row.
IDENTIFYING_NUMBERS = {"Cycle", "Previous cycle", "Order", "Year", "Cohort", "Time"}
EXPECTED = {"national", "trends", "methods", *(f"regional-{code}" for code in REGIONS)}
HEADINGS = {
    "national": ("Key findings", "How to read this report", "Context and data", "Intersections",
                 "Retention", "Trends", "Regional comparison", "Annex", "Suppression"),
    "regional": ("Key findings", "The region against England", "Context and data", "Retention",
                 "Trends", "Annex"),
    "trends": ("Summary", "Is bias reducing?", "What changed since the last cycle",
               "Retention over time"),
    "methods": ("Definitions", "Confidence intervals and tests", "Reference groups",
                "Suppression policy", "Instrument versions and data provenance"),
}  # fmt: skip


def _kind(name: str) -> str:
    return name.split("-")[0]


#: The fixed suppression reasons (they name the threshold, or "a base of 0": not counts).
KNOWN_REASONS = (REASON_ZERO, REASON_BASE_MISSING, REASON_SECONDARY, REASON_REFERENCE,
                 *(primary_reason(threshold) for threshold in range(5, 101)))  # fmt: skip


def _without_reasons(text: str) -> str:
    """``text`` with suppression reasons removed (they may name the threshold, a number).

    The fixed reasons are removed whole even where a PDF or Word line break falls inside one;
    any other reason up to the end of its cell or line.
    """
    for reason in KNOWN_REASONS:
        text = re.sub(r"\s+".join(map(re.escape, reason.split())), "", text)
    return re.sub(r"(primary|secondary|comparison withheld)[^|\n<]*", "", text)


def test_all_regions_and_methods_render_every_format(rendered):
    assert set(rendered) == EXPECTED
    for name, files in rendered.items():
        assert set(files) == {"html", "docx", "pdf"}, name
        assert files["pdf"].read_bytes().startswith(b"%PDF")
        assert zipfile.is_zipfile(files["docx"])


@pytest.mark.browser
def test_every_html_report_has_no_axe_violations(rendered):
    results = run_axe([files["html"] for _, files in sorted(rendered.items())])
    assert len(results) == len(EXPECTED)
    assert all(result["violations"] == [] for result in results), describe_violations(results)
    assert all(result["external_requests"] == [] for result in results)


def test_pdf_pages_convert_and_show_the_headings(rendered, tmp_path):
    require_executables("pdftoppm", "pdftotext")
    for name, files in rendered.items():
        stem = tmp_path / name
        subprocess.run(
            ["pdftoppm", "-r", "20", "-png", "-l", "2", str(files["pdf"]), str(stem)], check=True
        )
        pages = sorted(tmp_path.glob(f"{name}-*.png"))
        assert pages and all(page.read_bytes().startswith(b"\x89PNG") for page in pages)
        text = subprocess.run(["pdftotext", str(files["pdf"]), "-"], check=True, capture_output=True,
                              text=True).stdout  # fmt: skip
        for heading in HEADINGS[_kind(name)]:
            assert heading in text, (name, heading)


def test_detailed_tables_are_in_the_workbook_not_the_pdf(rendered, bundle, tmp_path):
    """The page budget's class: no per-group table of every indicator in a report; the annex
    names the workbook sheets that hold them instead (the same names the workbook gets)."""
    require_executables("pdftotext")
    sheets = load_workbook(write_bundle_excel(bundle, tmp_path / "b.xlsx")).sheetnames
    for name in ("national", "regional-LON"):
        text = subprocess.run(["pdftotext", str(rendered[name]["pdf"]), "-"], check=True,
                              capture_output=True, text=True).stdout  # fmt: skip
        assert not re.search(r"(Ethnic group|Sector|Career stage): every indicator", text), name
        assert "Detailed tables in the Excel workbook" in text, name
        assert "Rates by group" in text and "Rates by group" in sheets, name


def test_figures_have_captions_and_alt_text_from_the_data(rendered):
    page = rendered["national"]["html"].read_text(encoding="utf-8")
    figures = re.findall(r"<figure[^>]*>.*?</figure>", page, flags=re.S)
    assert len(figures) >= 5
    for figure in figures:
        alt = re.search(r'alt="([^"]*)"', figure).group(1)
        assert re.search(r"\d", alt), alt  # numbers from the bundle, not a fixed sentence
        assert "Figure" in figure and "<figcaption" in figure


def test_group_labels_are_escaped_in_html(rendered):
    for name, files in rendered.items():
        page = files["html"].read_text(encoding="utf-8")
        assert '<script>alert("x")' not in page, name
        assert "<script" not in page.lower(), name


def test_hostile_label_is_named_as_suppressed_in_the_reports(rendered):
    page = html.unescape(rendered["national"]["html"].read_text(encoding="utf-8"))
    assert HOSTILE in page
    assert re.search(re.escape(HOSTILE) + r"[^<]{0,10}suppressed", page)


def _html_units(path) -> list[str]:
    page = path.read_text(encoding="utf-8")
    return [html.unescape(re.sub(r"<[^>]+>", " ", unit))
            for unit in re.findall(r"<(?:li|tr|p|figcaption)\b.*?</(?:li|tr|p|figcaption)>", page, flags=re.S)]  # fmt: skip


def _docx_units(path) -> list[str]:
    xml = zipfile.ZipFile(path).read("word/document.xml").decode("utf-8")
    units = re.findall(r"<w:tr\b.*?</w:tr>|<w:p\b.*?</w:p>", xml, flags=re.S)
    descriptions = re.findall(r'descr="([^"]*)"', xml)
    return [html.unescape(re.sub(r"<[^>]+>", " ", unit)) for unit in units] + [
        html.unescape(d) for d in descriptions
    ]


def _pdf_units(path) -> list[str]:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout.splitlines()  # fmt: skip


def _numbers_beside_marker(units: list[str]) -> list[str]:
    """Units (list item, table row, paragraph, line) naming the marker that also hold a digit."""
    return [unit for unit in units if MARKER in unit
            and re.search(r"\d", _without_reasons(unit.replace(HOSTILE, "")))]  # fmt: skip


def test_suppressed_group_never_appears_with_a_number(rendered, bundle, tmp_path):
    require_executables("pdftotext")
    seen = 0
    for files in rendered.values():
        for units in (
            _html_units(files["html"]),
            _docx_units(files["docx"]),
            _pdf_units(files["pdf"]),
        ):
            seen += sum(MARKER in unit for unit in units)
            assert _numbers_beside_marker(units) == []
    assert seen > 0  # the label is shown (as suppressed), not silently dropped
    # read-only: the same cell values, 15% less time on this 20,000-row workbook
    workbook = load_workbook(write_bundle_excel(bundle, tmp_path / "bundle.xlsx"), read_only=True)
    shown = 0
    for sheet in workbook:
        header, *rows = list(sheet.iter_rows(values_only=True))
        for row in rows:
            if any(isinstance(value, str) and MARKER in value for value in row):
                shown += 1
                numbers = {column: value for column, value in zip(header, row, strict=True)
                           if isinstance(value, int | float) and not isinstance(value, bool)}  # fmt: skip
                assert set(numbers) <= IDENTIFYING_NUMBERS, (sheet.title, numbers)
    workbook.close()
    assert shown
