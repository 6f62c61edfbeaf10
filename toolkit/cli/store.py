"""`ptw export --parquet DIR | --excel FILE` and `ptw merge OTHER`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toolkit.cli.common import (
    WorkspaceOption,
    batch_instruments,
    console,
    user_errors,
    workspace,
)
from toolkit.errors import PtwError


def export(
    parquet: Annotated[
        Path | None,
        typer.Option(
            "--parquet",
            help="Folder to write pseudonymised microdata to: batches and one Parquet file "
            "per responses/records table, free-text items left out.",
        ),
    ] = None,
    excel: Annotated[
        Path | None,
        typer.Option(
            "--excel",
            help="Workbook to write the results bundle to, one sheet per table (publishable).",
        ),
    ] = None,
    workspace_dir: WorkspaceOption = None,
) -> None:
    """Export the store to Parquet (--parquet) and/or the results bundle to Excel (--excel).

    The Parquet export holds pseudonymised microdata for other engines (no identifier, no
    free-text item, no quarantined or issue cells); the Excel workbook holds
    only the suppressed results bundle, with suppressed cells written as "suppressed" and text
    that a spreadsheet would run as a formula neutralised (`toolkit.ingest.sheets`). The workbook
    is written only when every bundle file matches its digest and the bundle's audit seal
    verifies with this workspace's key at its threshold or higher (`toolkit.bundle.verify_seal`).
    """
    from toolkit.bundle import read_bundle, verify_seal
    from toolkit.ingest.batch import table_name
    from toolkit.report.excel import write_bundle_excel
    from toolkit.store.database import ResponseStore
    from toolkit.store.merge import export_parquet

    with user_errors():
        space = workspace(workspace_dir)
        if parquet is None and excel is None:
            raise PtwError(
                code="export.nothing",
                message="nothing to export",
                fix="pass --parquet DIR (the store) and/or --excel FILE.xlsx (the results bundle)",
            )
        if parquet is not None:
            with ResponseStore(space.store_path, read_only=True) as store:
                free_text = {
                    table_name("responses" if kind == "survey" else "records", name): [
                        item.name for item in instrument.items if item.base_type == "text"
                    ]
                    for (kind, name), instrument in batch_instruments(space, store).items()
                }
                counts = export_parquet(store, parquet, free_text=free_text)
            console.print(
                f"{len(counts)} tables, {sum(counts.values()):,} rows written to {parquet}"
            )
        if excel is not None:
            bundle = read_bundle(space.bundle_dir)
            verify_seal(bundle.manifest, key=space.secret(), threshold=space.threshold,
                        where=space.bundle_dir)  # fmt: skip
            write_bundle_excel(bundle, excel)
            console.print(f"{len(bundle.tables)} bundle tables written to {excel}")


def merge(
    other: Annotated[
        Path, typer.Argument(help="Another workspace's store file, or a Parquet export folder.")
    ],
    workspace_dir: WorkspaceOption = None,
) -> None:
    """Merge a regional store into this one; batches held already are not added twice."""
    from toolkit.store.database import ResponseStore
    from toolkit.store.merge import merge_store

    with user_errors():
        space = workspace(workspace_dir)
        with ResponseStore(space.store_path) as store:
            report = merge_store(store, other, secret=space.secret())
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
