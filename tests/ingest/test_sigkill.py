"""Fault: `ptw ingest` killed with SIGKILL in the middle of a large file leaves no partial
batch (no responses without their batch row, no batch without all its rows), the store
opens, and the same file then ingests completely."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from toolkit import errors as ptw_errors
from toolkit.config import init_workspace
from toolkit.store.database import ResponseStore

ROWS = 300_000
REPO = Path(__file__).resolve().parents[2]


def _big_export(path: Path) -> None:
    """ROWS culture responses: identifier, the required items and six likert answers."""
    rng = np.random.default_rng(3)
    columns = {
        "respondent_id": pa.array([f"K{k:07d}" for k in range(ROWS)]),
        "ethnicity": pa.array(np.array(["WBRI", "AIND", "BAFR"])[rng.integers(0, 3, ROWS)]),
        "long_term_condition": pa.array(np.array(["No"] * 3)[rng.integers(0, 3, ROWS)]),
        "region": pa.array(np.full(ROWS, "London")),
        "sector": pa.array(np.array(["HOSP", "COMM"])[rng.integers(0, 2, ROWS)]),
        "career_stage": pa.array(np.array(["GT10", "LT2"])[rng.integers(0, 2, ROWS)]),
    }
    for name in ("harassment_public", "harassment_managers", "harassment_colleagues"):
        columns[name] = pa.array(rng.integers(1, 6, ROWS).astype(str))
    pacsv.write_csv(pa.table(columns), path)


def _start(path: Path, root: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "toolkit.cli", "ingest", str(path), "--survey", "culture",
               "--cycle", "2024", "--region", "London", "-w", str(root)]  # fmt: skip
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill_when(child: subprocess.Popen, ready: callable, timeout: float = 120) -> None:
    """SIGKILL the child as soon as ``ready()``; fail if it finished first."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert child.poll() is None, "ingest finished before it could be killed"
        assert time.monotonic() < deadline, "the kill point never came"
        time.sleep(0.01)
    assert child.poll() is None, "ingest finished before it could be killed"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL


def _assert_no_partial_batch(store_path: Path) -> int:
    """Every stored row has its batch and every batch has exactly its rows; returns rows."""
    with ResponseStore(store_path) as store:
        batches = store.batches()
        if "responses_culture" not in store.tables():
            assert batches.empty
            return 0
        per_batch = store.con.execute(
            "SELECT batch_id, count(*) AS n FROM responses_culture GROUP BY batch_id"
        ).df()
    assert set(per_batch["batch_id"]) <= set(batches["batch_id"])
    merged = batches.merge(per_batch, on="batch_id", how="left").fillna({"n": 0})
    assert (merged["n"] == merged["accepted"]).all()
    return int(per_batch["n"].sum())


def _store_growing(store_path: Path) -> callable:
    """True once the store or its write-ahead log holds megabytes: the big write has begun."""
    wal = store_path.with_name(store_path.name + ".wal")

    def ready() -> bool:
        sizes = [p.stat().st_size for p in (store_path, wal) if p.exists()]
        return bool(sizes) and max(sizes) > 2_000_000

    return ready


@pytest.mark.parametrize("moment", ["while_reading", "while_writing"])
def test_sigkill_leaves_no_partial_batch_and_the_file_ingests_after(moment, tmp_path):
    path = tmp_path / "big.csv"
    _big_export(path)
    space = init_workspace(tmp_path / "ws")
    child = _start(path, space.root)
    if moment == "while_reading":
        _kill_when(child, space.store_path.exists)
    else:
        _kill_when(child, _store_growing(space.store_path))
    assert _assert_no_partial_batch(space.store_path) == 0

    finished = _start(path, space.root)
    assert finished.wait(timeout=300) == 0
    assert _assert_no_partial_batch(space.store_path) == ROWS


def test_a_store_file_left_empty_by_a_kill_at_creation_is_started_again(tmp_path: Path) -> None:
    # SIGKILL between DuckDB creating the file and writing its header leaves 0 bytes, which
    # DuckDB then refuses for ever ("not a valid DuckDB database file"); nothing is in it.
    store_path = tmp_path / "store" / "ptw.duckdb"
    store_path.parent.mkdir()
    store_path.touch()
    with pytest.raises(ptw_errors.StoreError) as missing:
        ResponseStore(store_path, read_only=True)
    assert missing.value.code == "store.missing"
    store_path.touch()
    with ResponseStore(store_path) as store:
        assert store.batches().empty
    assert store_path.stat().st_size > 0
    with ResponseStore(store_path, read_only=True) as store:
        assert store.batches().empty
