"""The independent auditor against a small `ptw demo` release: nothing may be recovered.

Issue 11's acceptance test for a whole release. It is expected to FAIL until the suppressor
that protects the whole release (branch ``suppress``) is merged: today's suppressor leaves cells
recoverable (England minus the regions, absent zeros, totals, linked tables), so `ptw analyse`
refuses to write the demo's bundle and `ptw demo` stops with the auditor's message. It is
neither skipped nor marked xfail, on purpose.
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from toolkit.bundle import read_bundle
from toolkit.cli import app
from toolkit.config import load_workspace
from toolkit.disclosure.audit import attack, summary


def test_an_attacker_recovers_nothing_from_the_demo_release(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--responses", "600", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output  # the analyse gate refuses a leaking release
    space = load_workspace(tmp_path)
    found = attack(read_bundle(space.bundle_dir).tables, threshold=space.threshold)
    assert len(found) > 0  # the demo has small groups, so the attack has targets
    failed = found[~found["protected"]]
    assert failed.empty, f"{len(failed)} cells recovered, by route {summary(found)}"
