"""Fixtures for the report tests: one small real bundle and one render of every report.

The bundle comes from the real pipeline (synthetic exports -> ingest -> ``run_plan`` with the
default plan cut to three indicators, for speed). One group that is suppressed in every row of
every table is renamed to a hostile label (HTML, quotes, an ampersand), so the tests can look
for it in every output: it must be escaped and never shown with a number. Every report is then
rendered once, through the ``ptw report`` command, to html, docx and pdf.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

TESTS_DIR = Path(__file__).resolve().parents[1]
if str(TESTS_DIR) not in sys.path:
    sys.path.append(str(TESTS_DIR))

from toolkit.analysis.plan import load_plan  # noqa: E402
from toolkit.analysis.runner import run_plan  # noqa: E402
from toolkit.bundle import read_bundle, write_bundle  # noqa: E402
from toolkit.cli.report import report  # noqa: E402
from toolkit.config import Workspace, init_workspace  # noqa: E402
from toolkit.disclosure.suppression import SuppressionPolicy  # noqa: E402
from toolkit.ingest.pipeline import ingest_survey_file  # noqa: E402
from toolkit.instruments.model import instrument_path, load_instrument  # noqa: E402
from toolkit.store.database import ResponseStore  # noqa: E402
from toolkit.synth.responses import parse_cycles, spec_for, write_platform_exports  # noqa: E402

#: A label no real group has: HTML tags, quotes and an ampersand, with a unique marker "Zq".
HOSTILE = '<script>alert("x")</script> Zq&Roma'
MARKER = "Zq"
INDICATORS = ("harassment_public", "discrimination_colleagues", "think_leaving")


def _fully_suppressed_group(tables: dict[str, pd.DataFrame]) -> str:
    """A group suppressed in every row of every table that has it (and present in both)."""
    frames = [tables["comparisons"], tables["response_profile"]]
    candidates = set(frames[0]["group"].dropna()) & set(frames[1]["group"].dropna())
    for group in sorted(candidates):
        if all(frame.loc[frame["group"] == group, "suppressed"].all() for frame in frames):
            return group
    raise AssertionError("the small bundle has no group suppressed everywhere")


def build_workspace(root: Path) -> Workspace:
    """A workspace whose bundle holds 2 cycles x 7 regions of synthetic data (500 a survey)."""
    space = init_workspace(root)
    instruments = {
        s: load_instrument(instrument_path(space.surveys_dir, s)) for s in ("culture", "retention")
    }
    exports = write_platform_exports(
        spec_for(parse_cycles("2024,2025"), 1500, 11), instruments, root / "exports"
    )
    with ResponseStore(space.store_path) as store:
        for path in exports:
            survey, cycle, region = path.stem.split("_")
            ingest_survey_file(store, path, instrument=instruments[survey], cycle=int(cycle),
                               region=region, secret=space.secret())  # fmt: skip
    plan = load_plan(space.plan_path)
    plan = plan.model_copy(
        update={"indicators": tuple(i for i in plan.indicators if i.name in INDICATORS)}
    )
    policy = SuppressionPolicy(threshold=space.threshold)
    with ResponseStore(space.store_path, read_only=True) as store:
        bundle = run_plan(
            plan,
            store=store,
            surveys_dir=space.surveys_dir,
            policy=policy,
            plan_dir=space.plan_path.parent,
        )
    hidden = _fully_suppressed_group(bundle.tables)
    for frame in bundle.tables.values():
        if "group" in frame.columns:
            frame["group"] = frame["group"].replace({hidden: HOSTILE})
    # sealed as `ptw analyse` seals: run_plan's audit passed (the relabelling changes no number)
    write_bundle(bundle, space.bundle_dir, key=space.secret(), audited_threshold=policy.threshold)
    return space


@pytest.fixture(scope="session")
def report_space(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The small workspace with its bundle written."""
    return build_workspace(tmp_path_factory.mktemp("reports") / "ws")


@pytest.fixture(scope="session")
def bundle(report_space: Workspace):
    """The small bundle, read back."""
    return read_bundle(report_space.bundle_dir)


@pytest.fixture(scope="session")
def rendered(report_space: Workspace) -> dict[str, dict[str, Path]]:
    """Every report rendered via ``ptw report --all-regions`` and ``ptw report methods``:
    ``{output_name: {format: path}}``."""
    app = typer.Typer()
    app.command()(report)
    runner = CliRunner()
    common = [
        "--format",
        "html,docx,pdf",
        "--engine",
        "builtin",
        "--workspace",
        str(report_space.root),
    ]
    for arguments in (["national", "--all-regions"], ["methods"]):
        result = runner.invoke(app, [*arguments, *common])
        assert result.exit_code == 0, result.output
    out = report_space.report_dir
    return {path.stem: {p.suffix[1:]: p for p in sorted(out.glob(f"{path.stem}.*"))}
            for path in sorted(out.glob("*.html"))}  # fmt: skip
