"""Shared fixtures: real files, a real DuckDB store, a real synthetic workspace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings
from threadpoolctl import threadpool_limits

# One BLAS thread per process. `make test` runs two xdist workers on two cores: OpenBLAS's
# default of a thread per core puts four busy threads on two cores, and the analysis' many
# small solves then run 2-3x slower (the shared pitfalls notes, "BLAS threads and small
# matrices"). The variables reach the OpenBLAS copies loaded from now on, and the `ptw`
# subprocesses and report kernels the tests start; numpy's is already loaded (pytest imports
# pandas to read the Pandas4Warning filter of pyproject.toml), so it is limited directly.
# Values set by the caller are kept.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
threadpool_limits(int(os.environ["OPENBLAS_NUM_THREADS"]), user_api="blas")

from toolkit.config import Workspace, init_workspace  # noqa: E402
from toolkit.instruments.model import Instrument, load_instrument  # noqa: E402
from toolkit.resources import surveys_dir  # noqa: E402

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
