"""The rough edges a regional team met (issue 14), each pinned by the behaviour it fixes."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.ingest.conftest import culture_codes, ptw, to_labels
from toolkit.cli import app
from toolkit.config import init_workspace
from toolkit.ingest.coding import code_select_one
from toolkit.instruments.model import Instrument
from toolkit.stats.workforce import time_in_post
from toolkit.store.database import ResponseStore


def flat(output: str) -> str:
    """Command output with the console's line wrapping undone."""
    return " ".join(output.split())


def fails(*args: str | Path) -> str:
    """Run `ptw`; assert it failed with exit status 1; return its output, unwrapped."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 1, result.output
    return flat(result.output)


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    return init_workspace(tmp_path / "ws").root


@pytest.fixture()
def export(culture: Instrument, tmp_path: Path) -> Path:
    """60 culture responses; data rows 12 and 4 (source rows 14 and 6) have bad answers."""
    labels = to_labels(culture_codes(culture, responses=60), culture)
    labels.loc[12, "ethnicity"] = "Martian"
    labels.loc[4, "sector"] = "Moon base"
    path = tmp_path / "culture.csv"
    labels.to_csv(path, index=False)
    return path


def _ingest(path: Path, root: Path, *more: str | Path) -> str:
    return ptw("ingest", path, "--survey", "culture", "--cycle", "2024", "-w", root, *more)


def test_status_prints_counts_as_whole_numbers(export, root):
    _ingest(export, root)
    out = ptw("status", "-w", root)
    assert "58" in out and "58.0" not in out and ".0 " not in out
    batch_group = json.loads(ptw("status", "--json", "-w", root))["by_batch_group"][0]
    assert (batch_group["accepted"], batch_group["quarantined"]) == (58, 2)
    assert isinstance(batch_group["accepted"], int)


def _last_column(table: str) -> str:
    """The text of a printed table's last column, its wrapped lines joined."""
    cells = [line.split("│")[-2].strip() for line in table.splitlines() if line.count("│") > 2]
    return " ".join(c for c in cells if c)


def test_issue_messages_are_wrapped_whole_not_cut_at_the_terminal_width(export, root):
    messages = _last_column(_ingest(export, root))
    # the last option of the accepted list ends a message far longer than 80 characters
    assert "Prefer not to say (PNTS)" in messages.split("not an option of ethnicity")[1]
    assert "Any other ethnic group (OOTH)" in messages


def test_issues_workbook_is_sorted_by_source_row(export, root, tmp_path):
    _ingest(export, root, "--issues", tmp_path / "issues.xlsx")
    issues = pd.read_excel(tmp_path / "issues.xlsx", engine="calamine")
    rows = issues["source_row"].tolist()
    assert rows == sorted(rows)
    assert rows[-2:] == [6, 14]  # the sector error (row 6) before the ethnicity error (row 14)


def test_ingest_summary_says_how_the_file_was_read_in_words(export, root):
    out = flat(_ingest(export, root))
    assert "read as CSV, UTF-8, one header row" in out
    assert "binary" not in out and "plain)" not in out


def test_record_kind_is_accepted_under_either_name(root, tmp_path):
    records = pd.DataFrame({"person_id": ["P1", "P2"], "start_date": ["2019-04-01", "2021-09-01"],
                            "end_date": ["", "2024-03-31"], "ethnicity": ["A", "N"],
                            "long_term_condition": ["N", "N"], "region": ["LON"] * 2,
                            "sector": ["HOSP"] * 2, "career_stage": ["GT10"] * 2})  # fmt: skip
    records.to_csv(tmp_path / "staff.csv", index=False)
    out = ptw(
        "records", "ingest", tmp_path / "staff.csv", "--kind", "workforce_records", "-w", root
    )
    assert "2 accepted, 0 quarantined" in out
    with ResponseStore(root / "store" / "ptw.duckdb") as store:
        assert store.batches()["survey"].tolist() == ["workforce"]
        assert len(store.read_table("records_workforce")) == 2
    ptw(
        "survey", "export", "workforce", "--format", "template", "--out", tmp_path / "t", "-w", root
    )
    assert (tmp_path / "t" / "workforce_records-2025.1-template.csv").exists()
    assert "--kind workforce" in flat(
        fails("records", "ingest", tmp_path / "staff.csv", "--kind", "staff", "-w", root)
    )


def test_band_9_is_its_own_agenda_for_change_band(instruments):
    culture = instruments["culture"]
    item = culture.item_map["afc_band"]
    codes, _ = code_select_one(culture, item, pd.Series(["Band 9", "9", "Very senior manager"]))
    assert codes.tolist() == ["B9", "B9", "VSM"]
    band9 = next(c for c in culture.choices(item) if c.code == "B9")
    assert band9.label == "Band 9" and band9.groups == {"grouped": "Band 7 or above"}


def test_training_extract_year_ignores_planned_end_dates_in_the_future(root, tmp_path):
    trainees = pd.DataFrame({"trainee_id": ["T1", "T2", "T3"],
                             "cohort_start": ["2024-09-02", "2024-09-02", "2023-09-04"],
                             "planned_end": ["2026-08-31", "2026-08-31", "2025-09-01"],
                             "withdrawal_date": ["", "2025-01-17", ""],
                             "ethnicity": ["A", "N", "H"], "long_term_condition": ["N", "N", "Y"],
                             "region": ["LON"] * 3, "sector": ["HOSP"] * 3,
                             "career_stage": ["LT2"] * 3})  # fmt: skip
    path = tmp_path / "trainees.csv"
    trainees.to_csv(path, index=False)
    saved = dt.datetime(2025, 3, 31, 12).timestamp()
    os.utime(path, (saved, saved))  # the extract was made on 31 March 2025
    issues = tmp_path / "issues.csv"
    ptw("records", "ingest", path, "--kind", "training", "-w", root, "--issues", issues)
    with ResponseStore(root / "store" / "ptw.duckdb") as store:
        assert store.batches()["cycle"].tolist() == [2025]  # the withdrawal, not 2026
    note = pd.read_csv(issues).query("rule == 'extract_year'")["message"].item()
    assert "extract year 2025 taken from the latest date on or before the file's date " \
           "2025-03-31 (withdrawal_date 2025-01-17)" in note  # fmt: skip


def test_training_extract_year_falls_back_to_start_dates(root, tmp_path):
    trainees = pd.DataFrame({"trainee_id": ["T1"], "cohort_start": ["2025-09-01"],
                             "planned_end": ["2027-08-30"], "ethnicity": ["A"],
                             "long_term_condition": ["N"], "region": ["LON"], "sector": ["HOSP"],
                             "career_stage": ["LT2"]})  # fmt: skip
    path = tmp_path / "trainees.csv"
    trainees.to_csv(path, index=False)
    saved = dt.datetime(2025, 6, 1).timestamp()
    os.utime(path, (saved, saved))  # a list of next September's starters
    issues = tmp_path / "issues.csv"
    ptw("records", "ingest", path, "--kind", "training", "-w", root, "--issues", issues)
    note = pd.read_csv(issues).query("rule == 'extract_year'")["message"].item()
    assert "extract year 2025 taken from the latest start date (cohort_start 2025-09-01)" in note


def test_a_batch_region_must_be_a_region(export, root):
    out = fails("ingest", export, "--survey", "culture", "--cycle", "2024",
                "--region", "Prefer not to say", "-w", root)  # fmt: skip
    assert "not a region a batch can belong to" in out and "Prefer not to say" in out
    assert "London" in out
    assert (
        not (root / "store" / "ptw.duckdb").exists()
        or ptw("status", "-w", root).count("culture") == 0
    )


def test_threshold_option_error_blames_the_option_not_ptw_toml(root):
    out = fails("analyse", "--threshold", "4", "-w", root)
    assert "(--threshold)" in out and "pass --threshold 5 or higher" in out
    assert "ptw.toml," not in out.split("Fix:")[0]


def test_error_text_in_square_brackets_is_printed_not_eaten_as_markup(root):
    config = root / "ptw.toml"
    config.write_text(config.read_text().replace("threshold = 10", "threshold = 3"))
    out = fails("status", "-w", root)
    assert "set [suppression] threshold = 10" in out


def test_time_in_post_takes_the_templates_person_id():
    records = pd.DataFrame({"person_id": ["P1", "P2"], "start_date": ["2020-04-01", "2022-04-01"],
                            "end_date": ["2021-03-31", None]})  # fmt: skip
    found = time_in_post(records, as_of="2024-04-01")
    assert found["person"].tolist() == ["P1", "P2"]
    assert found["event"].tolist() == [1, 0]
    assert found["duration_years"].round(2).tolist() == [1.0, 2.0]
