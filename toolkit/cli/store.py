"""`ptw export --parquet DIR` and `ptw merge OTHER`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toolkit.cli.common import WorkspaceOption, console, user_errors, workspace
from toolkit.store import ResponseStore
from toolkit.store_merge import export_parquet, merge_store


def export(
    parquet: Annotated[
        Path, typer.Option("--parquet", help="Folder to write one Parquet file per table to.")
    ],
    workspace_dir: WorkspaceOption = None,
) -> None:
    """Export the whole store (responses, records, batches, quarantine, issues) to Parquet."""
    with user_errors():
        with ResponseStore(workspace(workspace_dir).store_path, read_only=True) as store:
            counts = export_parquet(store, parquet)
        console.print(f"{len(counts)} tables, {sum(counts.values()):,} rows written to {parquet}")


def merge(
    other: Annotated[
        Path, typer.Argument(help="Another workspace's store file, or a Parquet export folder.")
    ],
    workspace_dir: WorkspaceOption = None,
) -> None:
    """Merge a regional store into this one; batches held already are not added twice."""
    with user_errors():
        with ResponseStore(workspace(workspace_dir).store_path) as store:
            report = merge_store(store, other)
        rows = sum(report.rows_added.values())
        console.print(
            f"{len(report.batches_added)} batch(es) added ({rows:,} rows), "
            f"{len(report.batches_present)} already present, {report.skipped} row(s) already stored"
        )
        if not report.conflicts.empty:
            console.print(f"{len(report.conflicts)} conflicting respondent(s) quarantined:")
            for row in report.conflicts.head(20).itertuples():
                console.print(f"  {row.table} batch {row.batch_id} row {row.source_row}: "
                              f"already stored from batch {row.stored_batch_id}")  # fmt: skip
