"""The rendered HTML report, opened in headless Chromium, passes axe-core (WCAG 2.2 AA and
best practice) with zero violations and loads nothing from the network.

A negative control proves the harness really checks: a page with known faults (image without
alt text, empty table header, no lang, no title, a CDN script) must be reported.
"""

from __future__ import annotations

import pytest
from browser_harness import describe_violations, run_axe

# browser: needs Chromium.
pytestmark = pytest.mark.browser

BAD_PAGE = (
    "<!DOCTYPE html><html><head></head><body><img src='chart.png'>"
    "<table><tr><th></th><th>rate</th></tr><tr><td>Asian</td><td>41%</td></tr></table>"
    "<script src='https://cdn.example.org/mathjax.js'></script></body></html>"
)


def test_fixture_report_has_no_axe_violations(rendered_fixture, tmp_path):
    results = run_axe([rendered_fixture.outputs["html"]], screenshot_dir=tmp_path)
    assert len(results) == 1
    assert results[0]["violations"] == [], describe_violations(results)
    assert results[0]["external_requests"] == []
    assert tmp_path.joinpath("fixture_report.html.png").read_bytes().startswith(b"\x89PNG")


def test_harness_reports_known_faults(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(BAD_PAGE, encoding="utf-8")
    [result] = run_axe([page])
    found = {violation["id"] for violation in result["violations"]}
    assert {"image-alt", "empty-table-header", "html-has-lang", "document-title"} <= found
    assert result["external_requests"] == ["https://cdn.example.org/mathjax.js"]
