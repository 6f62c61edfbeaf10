"""The release gates through the real command line: `ptw export --excel` and `ptw report`
refuse a tampered, malformed, under-threshold or leaking bundle with a plain message and exit
status 1, and publish a protected one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from toolkit.bundle import Bundle, write_bundle
from toolkit.config import Workspace, init_workspace, load_workspace

from .test_audit_routes import S, comparisons, ethnic

PROTECTED = comparisons(
    ethnic("LON", 200, 180, S, S)
    + ethnic("MID", 200, 170, S, S)
    + ethnic("England", 400, 350, S, S)
)
LEAKING = comparisons(ethnic("LON", 100, 90, S, S) + ethnic("MID", 200, 120, 64, 16)
                      + ethnic("England", 300, 210, 67, 23))  # fmt: skip
COMMANDS = {
    "export": lambda out: ["export", "--excel", str(out / "release.xlsx")],
    "report": lambda out: ["report", "national"],
}


def ptw(space: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real `ptw` command line in ``space``."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run([sys.executable, "-m", "toolkit.cli", *args, "--workspace", str(space.root)],
                          capture_output=True, text=True, env=env, check=False, timeout=300)  # fmt: skip


def release(
    space: Workspace, table: pd.DataFrame, *, analysed: int = 10, sealed: bool = True
) -> Path:
    """Write a bundle holding ``table`` as the comparisons (sealed as audited at ``analysed``)."""
    bundle = Bundle(tables={"comparisons": table},
                    manifest={"suppression": {"threshold": analysed, "rounding": "none"}})  # fmt: skip
    key = space.secret() if sealed else None
    return write_bundle(bundle, space.bundle_dir, audited=analysed if sealed else None, key=key)


@pytest.fixture()
def space(tmp_path: Path) -> Workspace:
    init_workspace(tmp_path)
    return load_workspace(tmp_path)


def refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    message = " ".join((result.stderr + result.stdout).split())
    for word in words:
        assert word in message, message


def test_export_writes_a_protected_release(space: Workspace, tmp_path: Path) -> None:
    release(space, PROTECTED)
    result = ptw(space, *COMMANDS["export"](tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "release.xlsx").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_an_edited_count_is_refused(space: Workspace, tmp_path: Path, command: str) -> None:
    folder = release(space, PROTECTED)
    table = pq.read_table(folder / "comparisons.parquet").to_pandas()
    table.loc[table["group"] == "White", "n"] = 3  # an edited n = 3
    pq.write_table(
        pa.Table.from_pandas(table, preserve_index=False), folder / "comparisons.parquet"
    )
    refused(ptw(space, *COMMANDS[command](tmp_path)), "comparisons", "changed after it was written")
    assert not (tmp_path / "release.xlsx").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_truncated_table_is_refused(space: Workspace, tmp_path: Path, command: str) -> None:
    path = release(space, PROTECTED) / "comparisons.parquet"
    path.write_bytes(path.read_bytes()[:100])
    refused(ptw(space, *COMMANDS[command](tmp_path)), "comparisons")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_broken_manifest_is_refused(space: Workspace, tmp_path: Path, command: str) -> None:
    path = release(space, PROTECTED) / "manifest.json"
    path.write_text(path.read_text()[:-40], encoding="utf-8")
    refused(ptw(space, *COMMANDS[command](tmp_path)), "manifest.json", "cannot be trusted")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_lower_threshold_than_the_workspace_is_refused(space: Workspace, tmp_path: Path,
                                                         command: str) -> None:  # fmt: skip
    release(space, PROTECTED, analysed=5)
    refused(ptw(space, *COMMANDS[command](tmp_path)), "threshold of 5", "below this workspace's 10")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_manifest_that_claims_a_higher_threshold_is_attacked_again(
    space: Workspace, tmp_path: Path, command: str
) -> None:
    # The leaking release sealed at 10 by another key, then its manifest edited: the seal does
    # not verify, so the gate attacks the files and finds London's Arab count.
    folder = release(space, LEAKING, sealed=False)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["audit"] = {"threshold": 50, "seal": "0" * 64}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    refused(ptw(space, *COMMANDS[command](tmp_path)), "England minus regions", "comparisons",
            "group Arab", "region LON")  # fmt: skip
