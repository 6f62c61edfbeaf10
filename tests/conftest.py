"""Shared fixtures: real files, a real DuckDB store, a real synthetic workspace."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

from toolkit.config import Workspace, init_workspace
from toolkit.instruments.model import Instrument, load_instrument
from toolkit.resources import surveys_dir

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# Property tests are deterministic in CI and never fail on a slow, shared machine's timing.
settings.register_profile("ptw", derandomize=True, deadline=None)
settings.load_profile("ptw")


@pytest.fixture(scope="session")
def instruments() -> dict[str, Instrument]:
    """The shipped instruments, loaded once."""
    return {
        name: load_instrument(surveys_dir() / f"{name}.yaml") for name in ("culture", "retention")
    }


@pytest.fixture()
def workspace(tmp_path: Path) -> Workspace:
    """A fresh workspace on disk (ptw.toml, key, empty store folder)."""
    return init_workspace(tmp_path / "ws")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """Under ``--dist loadscope``, xdist_scopes.py's scheduler: a folder that shares a session
    fixture is one scope, and the long scopes go first. Other modes keep xdist's."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist_scopes import SharedFixtureScheduling

    return SharedFixtureScheduling(config, log)
