"""Shared fixtures: the shipped instruments, loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.instruments.model import Instrument, instrument_path, load_instrument
from toolkit.resources import surveys_dir

SURVEYS = surveys_dir()


@pytest.fixture(scope="session")
def retention() -> Instrument:
    return load_instrument(instrument_path(SURVEYS, "retention"))


@pytest.fixture(scope="session")
def culture() -> Instrument:
    return load_instrument(instrument_path(SURVEYS, "culture"))


@pytest.fixture(scope="session")
def surveys() -> Path:
    return SURVEYS
