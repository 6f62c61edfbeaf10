"""The command line: every command documents itself and user errors are plain messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from toolkit.cli import app

RUNNER = CliRunner()


def _command_paths() -> list[list[str]]:
    """Every command and sub-command of `ptw`, as argument lists."""
    root = get_command(app)
    paths = []
    for name, command in root.commands.items():
        paths.append([name])
        paths.extend([name, sub] for sub in getattr(command, "commands", {}))
    return paths


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p))
def test_every_command_has_help(path: list[str]) -> None:
    result = RUNNER.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output and len(result.output.strip().splitlines()) > 3


def test_the_commands_the_design_card_names_exist() -> None:
    names = {" ".join(p) for p in _command_paths()}
    expected = {"demo", "init", "survey list", "survey show", "survey export", "survey diff", "ingest",
                "records ingest", "status", "quarantine list", "quarantine export", "quarantine release",
                "analyse", "report", "export", "merge", "synth", "doctor"}  # fmt: skip
    assert expected <= names


def test_a_user_error_is_a_message_and_exit_status_one(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["analyse", "--workspace", str(tmp_path)])
    assert result.exit_code == 1
    assert "no ptw workspace" in result.output and "ptw init" in result.output
    assert "Traceback" not in result.output


def test_analyse_refuses_a_threshold_below_five(tmp_path: Path) -> None:
    RUNNER.invoke(app, ["init", str(tmp_path)])
    result = RUNNER.invoke(app, ["analyse", "--threshold", "3", "--workspace", str(tmp_path)])
    assert result.exit_code == 1
    assert "at least 5" in result.output
