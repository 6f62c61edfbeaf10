"""Versions: the demonstration version 2026.1 of retention against 2025.1, and `ptw survey diff`."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.errors import InstrumentError
from toolkit.instruments.model import load_instrument
from toolkit.instruments.versions import (
    DIFF_COLUMNS,
    bring_forward,
    comparable_items,
    diff_instruments,
    instrument_for_cycle,
    instrument_versions,
)


@pytest.fixture(scope="module")
def versions(surveys):
    return instrument_versions(surveys, "retention")


def test_versions_are_found_and_chosen_by_cycle(surveys, versions):
    assert [v.version for v in versions] == ["2025.1", "2026.1"]
    assert instrument_for_cycle(surveys, "retention", 2025).version == "2025.1"
    assert instrument_for_cycle(surveys, "retention", 2026).version == "2026.1"
    with pytest.raises(InstrumentError, match="no version"):
        instrument_for_cycle(surveys, "retention", 2020)


def test_diff_lists_each_declared_change_and_comparability(versions):
    diff = diff_instruments(*versions)
    assert tuple(diff.columns) == DIFF_COLUMNS
    changed = diff[diff["change"] != "unchanged"]
    seen = {
        (row.name if isinstance(row.name, str) else row.previous_name, row.change, row.comparable)
        for row in changed.itertuples()
    }
    assert seen == {
        ("intend_leave_12m", "recoded", True),
        ("dev_digital", "reworded", False),
        ("sat_skills_used", "renamed", True),
        ("ai_tools_use", "new", False),
        ("trainee_supervisor_time", "dropped", False),
        ("trainee_support", "items_changed", False),
    }
    assert diff["declared"].all()
    summary = comparable_items(diff)
    assert summary.loc[summary["name"] == "thinking_about_leaving", "comparable"].item()
    assert summary.loc[summary["name"] == "pay_and_recognition", "comparable"].item()  # rename only


def _edited_version(tmp_path, surveys, *replacements):
    """A copy of retention 2026.1 with text replaced (includes point back at surveys/)."""
    text = (surveys / "versions" / "retention-2026.1.yaml").read_text(encoding="utf-8")
    for old, new in [
        *replacements,
        (
            "include: [demographics, response_scales]",
            f"include: [{surveys}/demographics, {surveys}/response_scales]",
        ),
    ]:
        assert old in text
        text = text.replace(old, new)
    edited = tmp_path / "retention-edited.yaml"
    edited.write_text(text, encoding="utf-8")
    return edited


def test_undeclared_changes_are_reported(tmp_path, surveys, versions):
    edited = _edited_version(
        tmp_path,
        surveys,
        ("  reworded: [dev_digital]\n", ""),
        ("I often think about leaving", "I sometimes think about leaving"),
    )
    diff = diff_instruments(versions[0], load_instrument(edited))
    undeclared = diff[~diff["declared"]]
    assert set(zip(undeclared["name"], undeclared["change"], strict=True)) == {
        ("dev_digital", "reworded"),
        ("think_leaving", "reworded"),
    }
    assert not comparable_items(diff).set_index("name").loc["thinking_about_leaving", "comparable"]


def test_bring_forward_renames_recodes_and_drops(versions):
    old_answers = pd.DataFrame(
        {
            "intend_leave_12m": ["Y", "UNSURE", "N"],
            "sat_use_of_skills": ["4", "2", "5"],
            "trainee_supervisor_time": ["3", "3", "3"],
        }
    )
    forward = bring_forward(old_answers, versions[1])
    assert list(forward.columns) == ["intend_leave_12m", "sat_skills_used"]
    assert forward["intend_leave_12m"].tolist() == ["Y", "DK", "N"]


def test_diff_refuses_the_wrong_previous_version(versions):
    with pytest.raises(InstrumentError, match=r"maps onto 2025\.1, not 2026\.1"):
        diff_instruments(versions[1], versions[1])


def test_cli_diff_prints_changes_and_comparability():
    result = CliRunner().invoke(
        app, ["survey", "diff", "retention", "retention@2026.1"], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    assert "keep comparable trends" in result.output and "dev_digital" in result.output


def test_cli_diff_fails_on_undeclared_changes(tmp_path, surveys):
    edited = _edited_version(tmp_path, surveys, ("  new: [ai_tools_use]\n", ""))
    result = CliRunner().invoke(
        app, ["survey", "diff", "retention", str(edited)], terminal_width=200
    )
    assert result.exit_code == 1
    assert "ai_tools_use (new)" in result.output
