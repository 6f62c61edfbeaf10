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


def test_all_regions_means_every_region_the_command_line_lists() -> None:
    """`ptw --help` lists reports and regions from toolkit.config without importing the report
    stack; `--all-regions` renders the national report, one regional report per listed region
    (in that order) and the trends report."""
    from toolkit import config
    from toolkit.report import runner

    jobs = runner.report_jobs("national", all_regions=True)
    assert [job.template for job in jobs] == ["national", *["regional"] * 7, "trends"]
    assert [job.region for job in jobs if job.template == "regional"] == list(config.REGION_NAMES)
    assert {job.template for job in jobs} <= set(config.REPORTS)
