"""The README's "your first survey cycle" walkthrough, run command by command.

The commands are read from the README's fenced block (between the ``first-cycle`` markers),
so the README cannot drift from what works. Each ``ptw`` line runs for real in a subprocess
on a fresh workspace; ``cd`` changes the folder the next commands run in; the steps a person
does by hand (the ``#`` lines) are done here before the command that needs them: filling the
template with small synthetic answers (one of them misspelt) and correcting the held row.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from tests.ingest.conftest import culture_codes, to_labels
from toolkit.instruments.model import Instrument

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"<!-- first-cycle:start -->\s*```sh\n(.*?)```\s*<!-- first-cycle:end -->", re.S)
MISSPELT = "Brtish"


def walkthrough() -> list[str]:
    """The README walkthrough's lines (commands and ``#`` steps), in order."""
    found = BLOCK.search((REPO / "README.md").read_text(encoding="utf-8"))
    assert found, "the README has no first-cycle block"
    return [line.strip() for line in found.group(1).splitlines() if line.strip()]


def run(command: str, cwd: Path) -> str:
    """Run one `ptw ...` line of the README for real; fail with its output if it fails."""
    args = shlex.split(command)
    assert args[0] == "ptw", command
    # this checkout's toolkit, whatever the folder the command runs in
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    result = subprocess.run([sys.executable, "-m", "toolkit.cli", *args[1:]], cwd=cwd,
                            env={**os.environ, "PYTHONPATH": path},
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def fill_template(culture: Instrument, folder: Path) -> None:
    """Answers in the template's columns, for London; one ethnicity misspelt."""
    codes = culture_codes(culture, responses=300, seed=11).assign(region="LON")
    columns = pd.read_csv(folder / "templates" / "culture-2025.1-template.csv", nrows=0).columns
    answers = to_labels(codes, culture).reindex(columns=columns)
    answers.loc[7, "ethnicity"] = MISSPELT
    answers.to_csv(folder / "responses.csv", index=False)


def correct_held(culture: Instrument, folder: Path) -> None:
    """Correct the misspelt answer in the quarantine export, as a person would."""
    held = pd.read_excel(folder / "held.xlsx", dtype=str, engine="calamine")
    assert held["ethnicity"].tolist() == [MISSPELT]
    held.loc[held["ethnicity"] == MISSPELT, "ethnicity"] = culture.choices("ethnicity")[0].label
    held.to_excel(folder / "held.xlsx", index=False)


def test_first_survey_cycle_walkthrough_runs_as_written(culture, tmp_path):
    by_hand: dict[str, Callable[[Instrument, Path], None]] = {
        "ptw ingest responses.csv": fill_template,
        "ptw quarantine release held.xlsx": correct_held,
    }
    lines = walkthrough()
    commands = [line for line in lines if not line.startswith("#")]
    assert [c.split()[:2] for c in commands] == [
        ["ptw", "init"], ["cd", "london-2025"], ["ptw", "survey"], ["ptw", "ingest"],
        ["ptw", "quarantine"], ["ptw", "quarantine"], ["ptw", "quarantine"], ["ptw", "status"],
        ["ptw", "analyse"], ["ptw", "report"],
    ]  # fmt: skip
    folder, outputs = tmp_path, {}
    for command in commands:
        if command.startswith("cd "):
            folder = folder / command.removeprefix("cd ").strip()
            continue
        for start, step in by_hand.items():
            if command.startswith(start):
                step(culture, folder)
        outputs[command] = run(command, folder)
    flat = {command: " ".join(out.split()) for command, out in outputs.items()}
    ingest = next(c for c in flat if c.startswith("ptw ingest"))
    assert "299 accepted, 1 quarantined" in flat[ingest]
    issues = pd.read_excel(folder / "issues.xlsx", engine="calamine")
    assert MISSPELT in set(issues.loc[issues["severity"] == "error", "value"])
    assert "1 row(s) released, 0 still held" in flat["ptw quarantine release held.xlsx"]
    assert "Nothing is held in quarantine now." in flat["ptw quarantine release held.xlsx"]
    status = json.loads(run("ptw status --json", folder))
    assert (status["responses"], status["quarantined"]) == (300, 0)
    report = folder / "out" / "reports" / "regional-LON.html"
    assert report.exists() and "London" in report.read_text(encoding="utf-8")
