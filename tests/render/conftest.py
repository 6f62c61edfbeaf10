"""Fixtures for the report-engine tests: one real builtin render of the fixture template."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# tests/ holds browser_harness.py, shared by every test that opens a report in Chromium.
TESTS_DIR = Path(__file__).resolve().parents[1]
if str(TESTS_DIR) not in sys.path:
    sys.path.append(str(TESTS_DIR))

from toolkit.report.render import RenderResult, render_report  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_TEMPLATE = FIXTURES / "fixture_report.qmd"
#: The value injected through report_config; the template's default would fail to load.
INJECTED_REGION = "Injected Region Seven"


@pytest.fixture(scope="session")
def fixture_template() -> Path:
    """The fixture template's path (tests/render/fixtures/fixture_report.qmd)."""
    return FIXTURE_TEMPLATE


@pytest.fixture(scope="session")
def injected_region() -> str:
    """The region passed in the fixture render's config."""
    return INJECTED_REGION


@pytest.fixture(scope="session")
def rendered_fixture(tmp_path_factory: pytest.TempPathFactory) -> RenderResult:
    """The fixture template rendered by the builtin engine to html, docx and pdf (real kernel)."""
    return render_report(
        FIXTURE_TEMPLATE,
        config={"region": INJECTED_REGION},
        out_dir=tmp_path_factory.mktemp("rendered"),
        formats=("html", "docx", "pdf"),
        engine="builtin",
    )
