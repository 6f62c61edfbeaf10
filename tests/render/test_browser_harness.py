"""The browser harness fails under CI and skips elsewhere when its tools are missing."""

from __future__ import annotations

import pytest
from browser_harness import require_browser, require_executables


def test_missing_chromium_fails_when_ci_is_set(monkeypatch, tmp_path):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "no-chromium"))
    with pytest.raises(pytest.fail.Exception, match="Chromium not found"):
        require_browser()


def test_missing_program_skips_with_the_reason_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-such-program-ptw"):
        require_executables("no-such-program-ptw")
