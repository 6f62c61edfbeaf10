"""Undo and decide: `ptw batch list|remove`, `ptw quarantine reject`, and what release says
is still held. Every command runs for real on a DuckDB store on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.ingest.conftest import culture_codes, ptw, to_labels
from toolkit.cli import app
from toolkit.config import init_workspace
from toolkit.instruments.model import Instrument
from toolkit.store.database import ResponseStore

#: Columns that record when something happened, the only ones allowed to differ.
TIMES = {"ingested_at", "done_at"}
BAD_ROWS = (3, 10, 11)


@pytest.fixture()
def export(culture: Instrument, tmp_path: Path) -> Path:
    """A culture export with three rows whose ethnicity is not an option."""
    labels = to_labels(culture_codes(culture, responses=60), culture)
    labels.loc[list(BAD_ROWS), "ethnicity"] = "Martian"
    path = tmp_path / "culture.csv"
    labels.to_csv(path, index=False)
    return path


def flat(output: str) -> str:
    """Command output with the console's line wrapping undone."""
    return " ".join(output.split())


def _workspace(folder: Path) -> Path:
    space = init_workspace(folder)
    (space.root / ".ptw-secret").write_text("cd" * 32)
    return space.root


def _ingest(path: Path, root: Path) -> str:
    return ptw("ingest", path, "--survey", "culture", "--cycle", "2024", "-w", root)


def _tables(root: Path) -> dict[str, pd.DataFrame]:
    """Every table but the audit, times dropped, rows in a fixed order."""
    with ResponseStore(root / "store" / "ptw.duckdb") as store:
        frames = {t: store.read_table(t) for t in store.tables() if t != "audit"}
    return {
        name: frame.drop(columns=[c for c in frame.columns if c in TIMES])
        .sort_values(list(frame.columns.difference(TIMES)))
        .reset_index(drop=True)
        for name, frame in frames.items()
    }


def _batch_id(root: Path) -> str:
    with ResponseStore(root / "store" / "ptw.duckdb") as store:
        return str(store.batches()["batch_id"].iloc[0])


def test_remove_then_ingest_again_gives_the_store_of_one_ingest(export, tmp_path):
    once, twice = _workspace(tmp_path / "once"), _workspace(tmp_path / "twice")
    _ingest(export, once)
    _ingest(export, twice)
    batch = _batch_id(twice)
    listed = json.loads(ptw("batch", "list", "--json", "-w", twice))
    assert [(b["batch_id"], b["source_file"], b["accepted"]) for b in listed] == [
        (batch, "culture.csv", 57)
    ]
    out = flat(ptw("batch", "remove", batch, "--reason", "mapped to the wrong survey", "-w", twice))
    assert f"Batch {batch} (culture.csv) removed: 57 row(s) and 3 quarantined row(s)" in out
    with ResponseStore(twice / "store" / "ptw.duckdb") as store:
        assert store.batches().empty
        assert store.quarantine(include_released=True).empty
        assert store.read_table("issues").empty
        assert store.read_table("responses_culture").empty
        audit = store.audit()
    assert audit[["action", "batch_id", "source_file", "rows", "quarantined", "reason"]].to_dict(
        "records"
    ) == [{"action": "remove_batch", "batch_id": batch, "source_file": "culture.csv", "rows": 57,
           "quarantined": 3, "reason": "mapped to the wrong survey"}]  # fmt: skip
    assert audit["done_by"].iloc[0] and pd.notna(audit["done_at"].iloc[0])
    assert "57 accepted, 3 quarantined" in _ingest(export, twice)
    expected, found = _tables(once), _tables(twice)
    assert sorted(found) == sorted(expected)
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(found[name], frame, check_dtype=False, obj=name)


def test_remove_an_unknown_batch_names_it(tmp_path, export):
    root = _workspace(tmp_path / "ws")
    _ingest(export, root)
    result = CliRunner().invoke(
        app, ["batch", "remove", "nosuchbatch", "--reason", "typo", "-w", str(root)]
    )
    assert result.exit_code == 1
    assert "no such batch" in flat(result.output) and "nosuchbatch" in result.output


def test_reject_records_the_decision_and_the_row_is_no_longer_held(export, tmp_path):
    root = _workspace(tmp_path / "ws")
    _ingest(export, root)
    batch = _batch_id(root)
    duplicate = f"{batch}:{BAD_ROWS[0] + 2}"  # data row 3 is source row 5 (header row 1)
    out = flat(ptw("quarantine", "reject", duplicate, "--reason", "true duplicate", "-w", root))
    assert "1 row(s) rejected" in out
    assert "Still held in quarantine: 2 row(s)" in out
    assert duplicate not in out.split("Still held")[1]
    with ResponseStore(root / "store" / "ptw.duckdb") as store:
        held = store.quarantine()
        every = store.quarantine(include_released=True).set_index("quarantine_id")
        audit = store.audit()
        batch_row = store.find_batch(batch)
    assert duplicate not in set(held["quarantine_id"]) and len(held) == 2
    assert bool(every.loc[duplicate, "rejected"]) and not bool(every.loc[duplicate, "released"])
    assert audit[["action", "quarantine_id", "reason"]].to_dict("records") == [
        {"action": "reject_quarantined", "quarantine_id": duplicate, "reason": "true duplicate"}
    ]
    assert batch_row["quarantined"] == 2
    again = CliRunner().invoke(
        app, ["quarantine", "reject", duplicate, "--reason", "again", "-w", str(root)]
    )
    assert again.exit_code == 1 and "not held in quarantine" in flat(again.output)


def test_release_says_what_is_still_held_and_why(export, tmp_path):
    root = _workspace(tmp_path / "ws")
    _ingest(export, root)
    sheet = tmp_path / "held.csv"
    ptw("quarantine", "export", sheet, "-w", root)
    fixed = pd.read_csv(sheet, dtype=str)
    fixed.loc[0, "ethnicity"] = "African"
    fixed.to_csv(sheet, index=False)
    out = flat(ptw("quarantine", "release", sheet, "-w", root))
    assert "1 row(s) released, 2 still held" in out
    assert "Still held in quarantine: 2 row(s)" in out
    assert "ethnicity: not an option of ethnicity" in out


def test_removing_a_corrected_file_holds_the_rows_it_released_again(export, tmp_path):
    root = _workspace(tmp_path / "ws")
    _ingest(export, root)
    first = _batch_id(root)
    corrected = tmp_path / "corrected.csv"
    frame = pd.read_csv(export, dtype=str, keep_default_na=False)
    frame.loc[list(BAD_ROWS), "ethnicity"] = "African"
    frame.to_csv(corrected, index=False)
    assert "3 row(s) quarantined earlier are now released" in flat(_ingest(corrected, root))
    with ResponseStore(root / "store" / "ptw.duckdb") as store:
        second = next(b for b in store.batches()["batch_id"] if b != first)
        assert store.quarantine().empty
    ptw("batch", "remove", second, "--reason", "released too early", "-w", root)
    with ResponseStore(root / "store" / "ptw.duckdb") as store:
        held = store.quarantine()
        assert sorted(held["quarantine_id"]) == sorted(f"{first}:{r + 2}" for r in BAD_ROWS)
        assert store.find_batch(first)["quarantined"] == 3
        assert len(store.read_table("responses_culture")) == 57


def test_a_store_from_before_rejections_lists_its_quarantine_read_only(export, tmp_path):
    root = _workspace(tmp_path / "ws")
    _ingest(export, root)
    with ResponseStore(root / "store" / "ptw.duckdb") as store:
        store.con.execute("ALTER TABLE quarantine DROP COLUMN rejected")  # as an older ptw wrote it
    with ResponseStore(root / "store" / "ptw.duckdb", read_only=True) as store:
        held = store.quarantine()
    assert len(held) == 3 and not held["rejected"].any()
    listed = json.loads(ptw("quarantine", "list", "--json", "-w", root))
    assert [row["rejected"] for row in listed] == [False] * 3
