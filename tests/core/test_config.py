"""Workspaces: ptw.toml, the private key, overrides and clear errors."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from toolkit.config import init_workspace, load_workspace
from toolkit.errors import PtwError


def test_init_creates_config_store_folder_and_private_key(tmp_path: Path) -> None:
    space = init_workspace(tmp_path / "ws")
    assert (space.root / "ptw.toml").exists()
    key = space.root / ".ptw-secret"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(space.secret()) == 32
    assert space.store_path.parent.is_dir() and space.output_dir.is_dir()


def test_init_keeps_an_existing_key(tmp_path: Path) -> None:
    first = init_workspace(tmp_path).secret()
    assert init_workspace(tmp_path).secret() == first


def test_missing_workspace_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(PtwError, match=r"ptw init") as caught:
        load_workspace(tmp_path)
    assert caught.value.code == "workspace.missing"


@pytest.mark.parametrize("value", [4, 0, "10"])
def test_threshold_below_five_or_not_a_number_is_refused(tmp_path: Path, value: object) -> None:
    init_workspace(tmp_path)
    toml = tmp_path / "ptw.toml"
    literal = f'"{value}"' if isinstance(value, str) else str(value)
    toml.write_text(toml.read_text().replace("threshold = 10", f"threshold = {literal}"))
    with pytest.raises(PtwError, match="at least 5") as caught:
        load_workspace(tmp_path)
    assert caught.value.line is None and caught.value.file.endswith("ptw.toml")


def test_threshold_override_is_checked_too(tmp_path: Path) -> None:
    space = init_workspace(tmp_path)
    assert space.with_threshold(20).threshold == 20
    with pytest.raises(PtwError):
        space.with_threshold(3)


def test_report_names_for_the_command_line_match_the_report_runner() -> None:
    """`ptw --help` lists reports and regions from toolkit.config without importing the report
    stack; they must be the runner's own."""
    from toolkit import config
    from toolkit.report import runner

    assert config.REPORTS == runner.REPORTS
    assert config.REGION_NAMES == runner.REGION_NAMES
