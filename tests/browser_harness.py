"""Run the headless-Chromium + axe-core check (tests/browser/axe_check.mjs) from pytest.

What the browser tests need beyond Python: Node.js, Debian's ``chromium`` (``CHROMIUM``
overrides the path) and ``npm ci`` in tests/browser; the PDF tests need poppler-utils.
``.ci/install-system-deps`` installs all of them. When one is missing the test fails if
``CI`` is set (CI must run these checks) and is skipped with the reason otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

BROWSER_DIR = Path(__file__).resolve().parent / "browser"
AXE_CHECK = BROWSER_DIR / "axe_check.mjs"
NPM_PACKAGES = ("axe-core", "playwright-core")
INSTALL_HINT = "run .ci/install-system-deps (apt chromium poppler-utils nodejs npm; npm ci)"


def chromium_path() -> Path:
    """Debian's Chromium, or the browser the ``CHROMIUM`` environment variable names."""
    return Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))


def in_ci() -> bool:
    """True when the ``CI`` environment variable is set to a true value."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def fail_or_skip(reason: str) -> None:
    """Fail under CI (the check must run there), else skip with ``reason``."""
    message = f"{reason}; {INSTALL_HINT}"
    if in_ci():
        pytest.fail(f"CI is set and {message}", pytrace=False)
    pytest.skip(message)


def require_executables(*names: str) -> None:
    """Fail or skip (see :func:`fail_or_skip`) unless every program in ``names`` is on PATH."""
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        fail_or_skip(f"missing program(s): {', '.join(missing)}")


def require_browser() -> None:
    """Fail or skip unless node, Chromium and the npm packages of tests/browser are present."""
    require_executables("node")
    if not chromium_path().exists():
        fail_or_skip(f"Chromium not found at {chromium_path()}")
    missing = [name for name in NPM_PACKAGES if not (BROWSER_DIR / "node_modules" / name).is_dir()]
    if missing:
        fail_or_skip(f"npm packages missing in tests/browser: {', '.join(missing)}")


def run_axe(paths: Sequence[Path], *, screenshot_dir: Path | None = None) -> list[dict]:
    """axe-core results for each HTML file in ``paths``, opened in headless Chromium.

    Output: one dict per file: ``file``, ``violations`` (``id``, ``impact``, ``help``,
    ``nodes``: CSS targets), ``external_requests`` (URLs the page tried to load; all blocked),
    ``screenshot`` (full-page PNG path when ``screenshot_dir`` is given, else None).
    """
    require_browser()
    command = ["node", str(AXE_CHECK)]
    if screenshot_dir is not None:
        command += ["--screenshots", str(screenshot_dir)]
    command += [str(Path(path).resolve()) for path in paths]
    completed = subprocess.run(
        command,
        cwd=BROWSER_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, "CHROMIUM": str(chromium_path())},
    )
    if completed.returncode != 0:
        pytest.fail(f"axe_check.mjs failed: {completed.stderr.strip()}", pytrace=False)
    return json.loads(completed.stdout)


def describe_violations(results: Sequence[dict]) -> str:
    """One line per violation (``file: id (impact) at targets``) for assertion messages."""
    return "\n".join(
        f"{Path(result['file']).name}: {violation['id']} ({violation['impact']}) "
        f"at {', '.join(violation['nodes'])}"
        for result in results
        for violation in result["violations"]
    )
